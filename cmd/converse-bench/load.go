package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// replyKind is how a target answers, and so how the client reads it.
type replyKind int

const (
	replyJSON        replyKind = iota // one JSON body
	replySSE                          // server-sent events ending in [DONE]
	replyEventStream                  // application/vnd.amazon.eventstream frames
)

// target is one configuration under load: where the request goes, what it
// carries, and which process (if any) is charged for the hop.
type target struct {
	name   string
	url    string
	body   []byte
	header http.Header
	reply  replyKind
	pid    int // the gateway process; 0 for the upstream reached directly
}

// sample is one request's timings, from just before the request is sent:
// to the first event of a stream (for JSON: the end of the body) and to
// the end of the reply.
type sample struct {
	first, last time.Duration
}

// phase is the outcome of driving one target for a while.
type phase struct {
	samples  []sample
	errors   int
	firstErr error
	wall     time.Duration
	cpu      time.Duration // the gateway process's CPU time during the phase
	events   int           // stream events received, all requests
}

// drive sends requests to t from conc workers, each sending one after the
// other, until d has passed or max requests were sent, and records each
// one. The gateway's CPU time is read before and after.
func drive(ctx context.Context, client *http.Client, t target, conc int, d time.Duration, max int) phase {
	var (
		mu   sync.Mutex
		p    phase
		sent int
		wg   sync.WaitGroup
	)
	cpu0 := gatewayCPU(t.pid)
	begin := time.Now()
	deadline := begin.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				if sent >= max || time.Now().After(deadline) {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				s, events, err := send(ctx, client, t)
				mu.Lock()
				if err != nil {
					p.errors++
					if p.firstErr == nil {
						p.firstErr = err
					}
				} else {
					p.samples = append(p.samples, s)
					p.events += events
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	p.wall = time.Since(begin)
	p.cpu = gatewayCPU(t.pid) - cpu0
	return p
}

func gatewayCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	d, _ := cpuTime(pid) // a failure shows as zero CPU, never as a wrong one
	return d
}

// send makes one request and reads the whole reply the way its client
// would, returning its timings and the number of stream events.
func send(ctx context.Context, client *http.Client, t target) (sample, int, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return sample{}, 0, err
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return sample{}, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return sample{}, 0, fmt.Errorf("%s: status %d: %s", t.name, resp.StatusCode, b)
	}
	var s sample
	first := func() {
		if s.first == 0 {
			s.first = time.Since(start)
		}
	}
	var n int
	switch t.reply {
	case replyJSON:
		_, err = io.Copy(io.Discard, resp.Body)
		first()
	case replySSE:
		n, err = readSSE(resp.Body, first)
	case replyEventStream:
		n, err = readEventStream(resp.Body, first)
	}
	if err != nil {
		return sample{}, 0, fmt.Errorf("%s: %w", t.name, err)
	}
	s.last = time.Since(start)
	return s, n, nil
}

// readSSE reads server-sent events up to "data: [DONE]", calling first
// when the first event is complete; it returns the number of events.
func readSSE(r io.Reader, first func()) (int, error) {
	br := bufio.NewReader(r)
	n, data := 0, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("read SSE after %d events: %w", n, err)
		}
		switch {
		case bytes.HasPrefix(line, []byte("data:")):
			data = true
			if bytes.Equal(bytes.TrimSpace(line[5:]), []byte("[DONE]")) {
				return n + 1, nil
			}
		case len(bytes.TrimSpace(line)) == 0 && data:
			if n++; n == 1 {
				first()
			}
			data = false
		}
	}
}

// readEventStream reads event-stream frames with the decoder the AWS SDK
// for Go v2 uses, until the body ends, calling first after the first
// frame; it returns the number of frames. An exception frame is an error.
func readEventStream(r io.Reader, first func()) (int, error) {
	r = bufio.NewReader(r)
	dec := eventstream.NewDecoder()
	var buf []byte
	n := 0
	for {
		msg, err := dec.Decode(r, buf)
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return 0, errors.New("event stream: no frames")
			}
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("event stream after %d frames: %w", n, err)
		}
		buf = msg.Payload[:0]
		if h := msg.Headers.Get(":message-type"); h != nil && h.String() != "event" {
			return n, fmt.Errorf("event stream: %s frame: %s", h.String(), msg.Payload)
		}
		if n++; n == 1 {
			first()
		}
	}
}
