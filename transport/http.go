package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Size limits on what a destination reads from upstream. Answers are a few
// kilobytes; the limits only stop a misbehaving server from exhausting
// memory.
const (
	MaxReplyBytes = 64 << 20 // a whole JSON answer
	MaxEventBytes = 16 << 20 // one stream line (SSE or NDJSON)
	MaxErrorBytes = 1 << 20  // the body of a non-2xx answer, as StatusError.Body keeps it
)

// Call bounds one upstream call in time: its context is cancelled with
// the timeout sentinel (ErrTimeout, or a destination's own) when the time
// runs out. A streaming call calls Alive after each event, so the bound is
// per event and a long but live stream is not cut. Every Call must be
// stopped.
type Call struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	d       time.Duration
	timeout error
}

// StartCall starts a call under ctx bounded by d; d <= 0 means no bound
// other than ctx's. timeout is the cause the context is cancelled with
// when d runs out, and what Fail reports then; nil means ErrTimeout.
func StartCall(ctx context.Context, d time.Duration, timeout error) *Call {
	if timeout == nil {
		timeout = ErrTimeout
	}
	c := &Call{d: d, timeout: timeout}
	c.ctx, c.cancel = context.WithCancelCause(ctx)
	if d > 0 {
		c.timer = time.AfterFunc(d, func() { c.cancel(timeout) })
	}
	return c
}

// Context is the call's context: the HTTP request must be made with it.
func (c *Call) Context() context.Context { return c.ctx }

// Alive restarts the bound: the stream has shown it is alive.
func (c *Call) Alive() {
	if c.timer != nil {
		c.timer.Reset(c.d)
	}
}

// Stop ends the call: the timer is stopped and the context cancelled,
// which ends an HTTP request still in flight. Stop may be called more than
// once.
func (c *Call) Stop() {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.cancel(nil)
}

// Fail wraps err as "<name>: <op>: …", telling apart a timeout (the
// call's or the HTTP client's) and a cancellation by the caller, which are
// reported as the call's timeout sentinel and the caller's ctx.Err()
// whatever error the HTTP stack surfaced them as. A *StatusError is
// returned as it is: the destination answered.
func (c *Call) Fail(name, op string, err error) error {
	var se *StatusError
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(context.Cause(c.ctx), c.timeout) {
		return fmt.Errorf("%s: %s: %w", name, op, c.timeout)
	}
	if c.ctx.Err() != nil {
		// The parent was cancelled or hit its own deadline.
		return fmt.Errorf("%s: %s: %w", name, op, context.Cause(c.ctx))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: %s: %w (%w)", name, op, c.timeout, err)
	}
	return fmt.Errorf("%s: %s: %w", name, op, err)
}

// PostJSON posts body (JSON) to url with the headers of header (added to
// Content-Type: application/json) through hc (nil means
// http.DefaultClient) and returns a 2xx answer, open, for the caller to
// read and close.
//
// Any other answer is read (at most MaxErrorBytes: a partial body still
// says something) and closed, and reported as a *StatusError with that
// body and message(body) as its Message (message may be nil). The answer
// is returned with it, closed, so that a caller may read its headers.
func PostJSON(ctx context.Context, hc *http.Client, url string, body []byte, header http.Header, message func([]byte) string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBytes))
		se := &StatusError{StatusCode: resp.StatusCode, Body: b}
		if message != nil {
			se.Message = message(b)
		}
		return resp, se
	}
	return resp, nil
}

// ErrTooLarge is matched by ReadAnswer's error for an answer over its
// limit.
var ErrTooLarge = errors.New("the answer is too large")

// ReadAnswer reads a whole answer of at most limit bytes. A longer answer
// is an error matching ErrTooLarge, with the bytes read so far (limit+1).
func ReadAnswer(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return b, err
	}
	if len(b) > limit {
		return b, fmt.Errorf("the answer is larger than %d bytes: %w", limit, ErrTooLarge)
	}
	return b, nil
}

// BearerHeader is the header carrying key as "Authorization: Bearer
// <key>" with Accept set to accept; an empty key sends no Authorization,
// an empty accept no Accept.
func BearerHeader(key, accept string) http.Header {
	h := http.Header{}
	if accept != "" {
		h.Set("Accept", accept)
	}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	return h
}
