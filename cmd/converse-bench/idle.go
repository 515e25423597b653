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

// idleResult is the memory a gateway holds for idle open streams.
type idleResult struct {
	streams       int
	before, after int64 // RSS in bytes
}

func (r idleResult) perStream() float64 {
	return float64(r.after-r.before) / float64(r.streams)
}

// idleStreams opens n streams to t (whose upstream sends one chunk and
// then holds the stream open), waits until every one has received its
// first event, reads the gateway's RSS, and closes them all. before is
// read once the gateway is warm and settled.
func idleStreams(ctx context.Context, t target, n int, settle time.Duration) (idleResult, error) {
	res := idleResult{streams: n}
	time.Sleep(settle)
	var err error
	if res.before, err = rss(t.pid); err != nil {
		return res, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		wg      sync.WaitGroup
		ready   = make(chan error, n)
		opening = make(chan struct{}, 32) // at most 32 handshakes at once
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opening <- struct{}{}
			body, err := openIdle(ctx, client, t)
			<-opening
			ready <- err
			if err == nil {
				io.Copy(io.Discard, body) // blocks until the stream is closed
				body.Close()
			}
		}()
	}
	defer func() {
		cancel() // closes every stream
		wg.Wait()
	}()
	timeout := time.After(60 * time.Second)
	for i := range n {
		select {
		case err := <-ready:
			if err != nil {
				return res, fmt.Errorf("idle stream %d: %w", i, err)
			}
		case <-timeout:
			return res, fmt.Errorf("only %d of %d idle streams opened within 60s", i, n)
		}
	}
	time.Sleep(settle)
	res.after, err = rss(t.pid)
	return res, err
}

// openIdle opens one stream and reads its first event; the body is left
// open for the caller.
func openIdle(ctx context.Context, client *http.Client, t target) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return nil, err
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	br := bufio.NewReaderSize(resp.Body, 512)
	switch t.reply {
	case replyEventStream:
		_, err = eventstream.NewDecoder().Decode(br, nil)
	case replySSE:
		err = firstSSE(br)
	default:
		err = errors.New("idle streams need a streaming target")
	}
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{br, resp.Body}, nil
}

// firstSSE reads up to the end of the first event.
func firstSSE(br *bufio.Reader) error {
	data := false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) > 0 && line[0] == 'd' {
			data = true
		} else if data && (len(line) == 1 || string(line) == "\r\n") {
			return nil
		}
	}
}
