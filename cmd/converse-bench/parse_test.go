package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

func TestParseListen(t *testing.T) {
	for _, c := range []struct {
		name, line, addr string
	}{
		{"converse slog line", `time=2026-01-01T00:00:00.000Z level=INFO msg="converse listening" addr=127.0.0.1:41234 config=/tmp/c.yaml entries=2`, "127.0.0.1:41234"},
		{"proxy line", "proxy listening addr=127.0.0.1:80", "127.0.0.1:80"},
		{"access log line is not a listening line", `level=INFO msg=request addr=127.0.0.1:1`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, ok := parseListen(c.line)
			if addr != c.addr || ok != (c.addr != "") {
				t.Errorf("parseListen = %q, %v; want %q", addr, ok, c.addr)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		name, stat string
		want       time.Duration
		ok         bool
	}{
		{"utime plus stime", "42 (converse) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 1000 0 0", 3250 * time.Millisecond, true},
		{"command name with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", 70 * time.Millisecond, true},
		{"truncated", "7 (x) R 1 2", 0, false},
		{"no command", "garbage", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStat([]byte(c.stat))
			if (err == nil) != c.ok || got != c.want {
				t.Errorf("parseStat = %v, %v; want %v (ok %v)", got, err, c.want, c.ok)
			}
		})
	}
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Errorf("cpuTime(self): %v", err)
	}
}

func TestParseRSS(t *testing.T) {
	got, err := parseRSS([]byte("Name:\tconverse\nVmPeak:\t  9000 kB\nVmRSS:\t   20432 kB\nThreads:\t8\n"))
	if err != nil || got != 20432<<10 {
		t.Errorf("parseRSS = %d, %v", got, err)
	}
	if _, err := parseRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("no VmRSS: no error")
	}
	if n, err := rss(os.Getpid()); err != nil || n <= 0 {
		t.Errorf("rss(self) = %d, %v", n, err)
	}
}

func TestQuantile(t *testing.T) {
	sorted := make([]time.Duration, 100)
	for i := range sorted {
		sorted[i] = time.Duration(i + 1)
	}
	for _, c := range []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"median of 1..100", sorted, .5, 50},
		{"p99 of 1..100", sorted, .99, 99},
		{"p100 is the maximum", sorted, 1, 100},
		{"single sample", []time.Duration{7}, .99, 7},
		{"no samples", nil, .5, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := quantile(c.in, c.q); got != c.want {
				t.Errorf("quantile = %v, want %v", got, c.want)
			}
		})
	}
}

func frame(t *testing.T, messageType string) []byte {
	t.Helper()
	var buf bytes.Buffer
	msg := eventstream.Message{Payload: []byte(`{}`)}
	msg.Headers.Set(":message-type", eventstream.StringValue(messageType))
	if err := eventstream.NewEncoder().Encode(&buf, msg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadEventStream(t *testing.T) {
	ev, exc := frame(t, "event"), frame(t, "exception")
	for _, c := range []struct {
		name    string
		body    []byte
		n       int
		wantErr bool
	}{
		{"three events", bytes.Join([][]byte{ev, ev, ev}, nil), 3, false},
		{"exception frame is an error", append(append([]byte{}, ev...), exc...), 1, true},
		{"empty body is an error", nil, 0, true},
		{"cut frame is an error", append(append([]byte{}, ev...), ev[:9]...), 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			firsts := 0
			n, err := readEventStream(bytes.NewReader(c.body), func() { firsts++ })
			if n != c.n || (err != nil) != c.wantErr || firsts != min(n, 1) {
				t.Errorf("readEventStream = %d, %v (first called %d times)", n, err, firsts)
			}
		})
	}
}

func TestReadSSE(t *testing.T) {
	for _, c := range []struct {
		name, body string
		n          int
		err        error
	}{
		{"events then DONE", "data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: [DONE]\n\n", 3, nil},
		{"comments and CRLF", ": ping\r\ndata: x\r\n\r\ndata: [DONE]\r\n\r\n", 2, nil},
		{"cut before DONE", "data: x\n\ndata: y\n", 1, io.ErrUnexpectedEOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := readSSE(strings.NewReader(c.body), func() {})
			if n != c.n || !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
				t.Errorf("readSSE = %d, %v; want %d, %v", n, err, c.n, c.err)
			}
		})
	}
}
