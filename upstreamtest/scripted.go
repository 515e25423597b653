package upstreamtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// scripted is the plumbing every fake server shares: the queue of
// scripted replies (R is the fake's reply type), the key it requires, the
// last request body, the request count, the notice of a client going
// away, and the release of hanging handlers when the test ends. It is
// safe for concurrent use; a fake embeds it so that its methods are the
// fake's.
type scripted[R any] struct {
	quit      chan struct{}
	cancelled chan struct{}
	fallback  R // the reply once the queue is empty

	mu       sync.Mutex
	queue    []R
	key      string
	last     []byte
	requests int
	noticed  bool
}

// newScripted returns the plumbing of a fake answering with replies in
// order, then with fallback, and requiring key ("" for none).
func newScripted[R any](replies []R, fallback R, key string) scripted[R] {
	return scripted[R]{queue: replies, fallback: fallback, key: key, quit: make(chan struct{}), cancelled: make(chan struct{})}
}

// start serves h on 127.0.0.1 until the test ends and returns the
// server's URL. Hanging handlers are released before the server closes.
func (s *scripted[R]) start(t testing.TB, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(s.quit) }) // runs first: releases hanging handlers
	return srv.URL
}

// Reply queues r as the answer to the next request not yet scripted.
func (s *scripted[R]) Reply(r R) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r)
}

// RequireKey makes the server answer 401, as the vendor does, to
// requests without the key.
func (s *scripted[R]) RequireKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// LastRequest returns the body of the latest request received, accepted or
// not (nil before any).
func (s *scripted[R]) LastRequest() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Requests returns how many requests the server received.
func (s *scripted[R]) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Cancelled is closed once the server noticed a client going away before
// its answer was complete (a Hang reply, or a stream the client stopped
// reading).
func (s *scripted[R]) Cancelled() <-chan struct{} { return s.cancelled }

// take records a request with body and returns the reply to give it and
// the key required.
func (s *scripted[R]) take(body []byte) (reply R, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.last = body
	reply = s.fallback
	if len(s.queue) > 0 {
		reply, s.queue = s.queue[0], s.queue[1:]
	}
	return reply, s.key
}

func (s *scripted[R]) noticeCancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.noticed {
		s.noticed = true
		close(s.cancelled)
	}
}

// hang waits for the client to go away (noticed) or the test to end.
func (s *scripted[R]) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
		s.noticeCancel()
	case <-s.quit:
	}
}

// sendFrames writes a stream's frames (each already framed: an SSE event,
// an NDJSON line) in order, flushing each, and plays the reply's stream
// faults. With hang it waits for the client to go away before frame
// hangAfter (defaultHangAt when 0), or after the last frame when the
// stream is shorter; with cutAfter > 0 it closes the connection before
// that frame, so the client sees the body end without its terminator. A
// client that stops reading is noticed (Cancelled).
func (s *scripted[R]) sendFrames(w http.ResponseWriter, r *http.Request, frames []string, hang bool, hangAfter, defaultHangAt, cutAfter int) {
	rc := http.NewResponseController(w)
	hangAt := hangAfter
	if hangAt == 0 {
		hangAt = defaultHangAt
	}
	for i, f := range frames {
		if hang && i == hangAt {
			s.hang(r)
			return
		}
		if cutAfter > 0 && i == cutAfter {
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		if _, err := io.WriteString(w, f); err != nil {
			s.noticeCancel()
			return
		}
		if err := rc.Flush(); err != nil {
			s.noticeCancel()
			return
		}
	}
	if hang {
		s.hang(r)
	}
}
