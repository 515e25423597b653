package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// memTransport answers requests from an http.Handler in this process, with
// no sockets: each Write of the handler becomes one Read of the response
// body, as a flushed chunk arrives over a connection. It takes the
// network and the upstream's connection handling out of the benchmarks
// below, leaving the gateways' own work.
type memTransport struct{ h http.Handler }

func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		t.h.ServeHTTP(w, req)
		w.WriteHeader(http.StatusOK) // no-op once written
		pw.Close()
	}()
	<-w.ready
	return &http.Response{
		Status: http.StatusText(w.code), StatusCode: w.code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: pr, ContentLength: -1, Request: req,
	}, nil
}

// pipeWriter is the upstream handler's ResponseWriter in memTransport.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	code   int
	once   sync.Once
	ready  chan struct{} // closed once the status and header are set
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.code = code
		w.header = w.header.Clone() // the caller's copy, frozen like a sent header
		close(w.ready)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}

func (w *pipeWriter) Flush() {}

// BenchmarkGateway drives each gateway's handler in this process, with the
// fast upstream behind memTransport, to show and profile what a gateway
// itself costs per request: for converse, reading and validating the
// Converse request, translating it, the upstream client, translating the
// reply and writing it (or its event-stream frames) and the access log;
// for the bare proxy, copying. The client side is an httptest recorder.
//
//	go test -run '^$' -bench Gateway -cpuprofile cpu.out ./cmd/converse-bench
//	go tool pprof -top cpu.out
func BenchmarkGateway(b *testing.B) {
	const chunks = 200
	done := make(chan struct{})
	defer close(done)
	up := memTransport{newUpstream(upstreamConfig{Chunks: chunks, Done: done})}
	gateways := map[string]http.Handler{
		"converse": converseGateway(b, "http://upstream", &http.Client{Transport: up}),
		"proxy":    proxyGateway(b, "http://upstream", up),
	}
	e := env{upstreamURL: "http://upstream", proxy: &process{addr: "proxy"}, converse: &process{addr: "converse"}}
	targets, err := e.targets()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, gateway, target string
		events                int
	}{
		{"converse", "converse", targetConverse, 0},
		{"proxy", "proxy", targetProxy, 0},
		{"converse-stream", "converse", targetConverseStream, chunks + 4},
		{"proxy-stream", "proxy", targetProxySSE, chunks + 3},
	} {
		b.Run(c.name, func(b *testing.B) {
			h, t := gateways[c.gateway], targets[c.target]
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
				for k, v := range t.header {
					r.Header[k] = v
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			if c.events > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.events), "ns/event")
			}
		})
	}
}
