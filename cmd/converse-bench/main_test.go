package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/backend"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/config"
	"github.com/converse-project/converse/route"
	"github.com/converse-project/converse/transport/openai"
	"github.com/converse-project/converse/wire"
	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests: the idle
// streams and the held upstream streams must all be closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// converseGateway is converse's handler wired as `converse serve` wires the
// bench configuration: the bench model IDs on backend openai at baseURL,
// through hc (nil: the default client), with the access log formatted
// but discarded.
func converseGateway(tb testing.TB, baseURL string, hc *http.Client) http.Handler {
	tb.Helper()
	var entries []route.Entry
	for id, model := range map[string]string{"bench-fast": modelFast, "bench-hold": modelHold} {
		f := converse.AllFeatures
		entries = append(entries, route.Entry{ID: id, Kind: config.BackendOpenAI, Features: &f,
			Backend: &backend.OpenAIChat{Client: &openai.Client{BaseURL: baseURL + "/v1", HTTPClient: hc}, Model: model}})
	}
	table, err := route.New(entries)
	if err != nil {
		tb.Fatal(err)
	}
	return wire.NewHandler(wire.Options{Router: table, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// proxyGateway is the bare proxy's handler, as runProxy builds it.
func proxyGateway(tb testing.TB, target string, rt http.RoundTripper) http.Handler {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	return bufferBody(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }, Transport: rt})
}

// testEnv is the bench's setup in this process: the fast upstream, the
// bare proxy and converse, each on its own 127.0.0.1 port.
type testEnv struct {
	env
	targets map[string]target
}

func newTestEnv(t *testing.T, chunks int) *testEnv {
	t.Helper()
	done := make(chan struct{})
	up := httptest.NewServer(newUpstream(upstreamConfig{Chunks: chunks, Done: done}))
	hc := &http.Client{Transport: &http.Transport{}}
	proxy := httptest.NewServer(proxyGateway(t, up.URL, hc.Transport))
	conv := httptest.NewServer(converseGateway(t, up.URL, hc))
	t.Cleanup(func() {
		close(done)
		conv.Close()
		proxy.Close()
		up.Close()
		hc.CloseIdleConnections()
	})
	e := &testEnv{env: env{upstreamURL: up.URL, proxy: &process{addr: strings.TrimPrefix(proxy.URL, "http://")},
		converse: &process{addr: strings.TrimPrefix(conv.URL, "http://")}}}
	var err error
	if e.targets, err = e.env.targets(); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEveryTargetIsServedWithoutErrors(t *testing.T) {
	const chunks = 20
	e := newTestEnv(t, chunks)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for _, c := range []struct {
		target string
		events int // per reply; 0 for JSON
	}{
		{targetDirect, 0},
		{targetProxy, 0},
		{targetConverse, 0},
		// chunks + the finish chunk + the usage chunk + [DONE]
		{targetDirectSSE, chunks + 3},
		{targetProxySSE, chunks + 3},
		// messageStart, chunks deltas, contentBlockStop, messageStop, metadata
		{targetConverseStream, chunks + 4},
	} {
		t.Run(c.target, func(t *testing.T) {
			p := drive(context.Background(), client, e.targets[c.target], 4, time.Minute, 12)
			if p.errors > 0 || len(p.samples) != 12 {
				t.Fatalf("%d samples, %d errors, first: %v", len(p.samples), p.errors, p.firstErr)
			}
			if p.events != 12*c.events {
				t.Errorf("%d events, want %d per reply", p.events, c.events)
			}
			for _, s := range p.samples {
				if s.first <= 0 || s.first > s.last {
					t.Fatalf("sample %+v: first event not within the reply", s)
				}
			}
		})
	}
}

func TestIdleStreamsStayOpenUntilClosed(t *testing.T) {
	e := newTestEnv(t, 5)
	for _, name := range []string{targetProxySSE, targetConverseStream} {
		t.Run(name, func(t *testing.T) {
			tg := e.targets["hold "+name]
			tg.pid = os.Getpid()
			res, err := idleStreams(context.Background(), tg, 20, 0)
			if err != nil {
				t.Fatal(err)
			}
			if res.streams != 20 || res.before <= 0 || res.after <= 0 {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestUpstreamRepliesDecodeAsOpenAI(t *testing.T) {
	done := make(chan struct{})
	defer close(done)
	srv := httptest.NewServer(newUpstream(upstreamConfig{Chunks: 7, Done: done}))
	defer srv.Close()
	c := &openai.Client{BaseURL: srv.URL + "/v1"}

	t.Run("completion is a 100-word end_turn reply", func(t *testing.T) {
		body, err := c.Post(context.Background(), "/chat/completions", []byte(`{"model":"fast"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := codec.FromOpenAIChat(body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StopReason != converse.StopEndTurn || len(strings.Fields(*resp.Output.Message.Content[0].Text)) != 100 {
			t.Errorf("reply %+v", resp)
		}
	})
	t.Run("stream has every chunk, a stop and usage", func(t *testing.T) {
		events, err := c.Stream(context.Background(), "/chat/completions", []byte(`{"model":"fast","stream":true}`))
		if err != nil {
			t.Fatal(err)
		}
		s := codec.NewOpenAIChatStream()
		var deltas int
		var last converse.StreamEvent
		for data, err := range events {
			if err != nil {
				t.Fatal(err)
			}
			evs, err := s.Next(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if ev.ContentBlockDelta != nil {
					deltas++
				}
				last = ev
			}
		}
		if deltas != 7 || last.Metadata == nil || last.Metadata.Usage.OutputTokens != 7 {
			t.Errorf("%d deltas, last event %+v", deltas, last)
		}
	})
	t.Run("unknown path is 404", func(t *testing.T) {
		_, err := c.Post(context.Background(), "/completions", []byte(`{}`))
		if se, ok := errors.AsType[*openai.StatusError](err); !ok || se.StatusCode != http.StatusNotFound {
			t.Errorf("err = %v", err)
		}
	})
}

func TestConverseConfigIsValid(t *testing.T) {
	cfg, err := config.Parse([]byte(converseConfig("http://127.0.0.1:1")), "bench.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for id, model := range map[string]string{"bench-fast": modelFast, "bench-hold": modelHold} {
		if m := cfg.Models[id]; m.Backend != config.BackendOpenAI || m.Model != model || m.BaseURL != "http://127.0.0.1:1/v1" {
			t.Errorf("%s: %+v", id, m)
		}
	}
}

func TestParseOptionsRejectsUnboundedRuns(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"longer run", []string{"-duration", "10m", "-rounds", "20"}, true},
		{"zero rounds", []string{"-rounds", "0"}, false},
		{"phases under 10ms", []string{"-duration", "100ms"}, false},
		{"no request cap", []string{"-max-requests", "0"}, false},
		{"stray argument", []string{"now"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseOptions(c.args, io.Discard)
			if (err == nil) != c.ok {
				t.Errorf("err = %v, want ok %v", err, c.ok)
			}
		})
	}
}

func TestBufferBodyForwardsTheWholeBody(t *testing.T) {
	var got []byte
	h := bufferBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 5 {
			t.Errorf("ContentLength = %d", r.ContentLength)
		}
		got, _ = io.ReadAll(r.Body)
	}))
	r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(bytes.NewReader([]byte("hello"))))
	r.ContentLength = -1
	h.ServeHTTP(httptest.NewRecorder(), r)
	if string(got) != "hello" {
		t.Errorf("body %q", got)
	}
}
