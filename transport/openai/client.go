package openai

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"strings"
	"time"
)

// Defaults used when a Client field is zero.
const (
	DefaultBaseURL = "https://api.openai.com/v1"
	DefaultTimeout = 5 * time.Minute
)

// Size limits on what is read from upstream. A chat completion is a few
// kilobytes; the limits only stop a misbehaving server from exhausting
// memory.
const (
	maxReplyBytes = 64 << 20 // a whole JSON answer
	maxEventBytes = 16 << 20 // one SSE line
	maxErrorBytes = 1 << 20  // the body of a non-2xx answer
)

// ErrTimeout is matched (errors.Is) by the error of a call that ran out of
// time: Client.Timeout, or the HTTP client's own timeout.
var ErrTimeout = errors.New("openai: upstream timed out")

// StatusError is a non-2xx answer. Body is the answer's body (at most
// 1 MiB), usually OpenAI's error JSON {"error":{"message":…}}; it may
// quote the request, so Error does not include it.
type StatusError struct {
	StatusCode int
	Body       []byte
	RetryAfter string // the Retry-After header, if any
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("openai: upstream answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// Client calls an OpenAI-compatible API. The zero value is usable and
// calls DefaultBaseURL without a key; a Client is safe for concurrent use
// and must not be changed once in use.
type Client struct {
	// BaseURL is the API base including its version, as the OpenAI SDKs'
	// base_url: "http://127.0.0.1:8000/v1". Paths are appended to it.
	// "" means DefaultBaseURL.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds a Post from start to the end of the body, and a
	// Stream's wait for the answer's headers and then for each event, so
	// that a long but live stream is not cut. 0 means DefaultTimeout;
	// a negative value means no timeout.
	Timeout time.Duration
}

// Post sends body as JSON to BaseURL+path and returns the body of a 2xx
// answer. A non-2xx answer is a *StatusError; running out of time is an
// error matching ErrTimeout; a cancelled ctx is an error matching
// ctx.Err().
func (c *Client) Post(ctx context.Context, path string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if t := c.timeout(); t > 0 {
		tm := time.AfterFunc(t, func() { cancel(ErrTimeout) })
		defer tm.Stop()
	}
	resp, err := c.send(ctx, path, body, "application/json")
	if err != nil {
		return nil, c.fail(ctx, "post "+path, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return nil, c.fail(ctx, "post "+path+": read answer", err)
	}
	if len(reply) > maxReplyBytes {
		return nil, fmt.Errorf("openai: post %s: the answer is larger than %d bytes", path, maxReplyBytes)
	}
	return reply, nil
}

// Stream sends body as JSON to BaseURL+path asking for server-sent events,
// and returns the data of each event as it arrives: multi-line data joined
// with "\n", comments and the event, id and retry fields ignored. The
// sequence ends after yielding "[DONE]" (OpenAI's end marker), or at the
// end of the body; a failure while reading is yielded as its last error.
//
// An error returned by Stream itself happened before any event: a
// *StatusError for a non-2xx answer, ErrTimeout, or ctx.Err().
//
// The sequence can be ranged over once. Ending the range, early or not,
// closes the answer's body and so cancels the upstream request; until the
// range ends the request lives as long as ctx. Yielded slices belong to
// the caller.
func (c *Client) Stream(ctx context.Context, path string, body []byte) (iter.Seq2[[]byte, error], error) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := c.timeout()
	var tm *time.Timer
	if t > 0 {
		tm = time.AfterFunc(t, func() { cancel(ErrTimeout) })
	}
	stop := func() {
		if tm != nil {
			tm.Stop()
		}
		cancel(nil)
	}
	resp, err := c.send(ctx, path, body, "text/event-stream")
	if err != nil {
		err = c.fail(ctx, "stream "+path, err)
		stop()
		return nil, err
	}
	used := false
	return func(yield func([]byte, error) bool) {
		if used {
			yield(nil, fmt.Errorf("openai: stream %s: the stream was already read", path))
			return
		}
		used = true
		defer stop()
		defer resp.Body.Close()
		for data, err := range events(resp.Body) {
			if err != nil {
				yield(nil, c.fail(ctx, "stream "+path+": read event", err))
				return
			}
			if tm != nil {
				tm.Reset(t) // the timeout is per event: the stream is alive
			}
			if !yield(data, nil) || string(data) == "[DONE]" {
				return
			}
		}
	}, nil
}

func (c *Client) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// send makes the request and returns a 2xx answer; any other answer is
// read into a *StatusError and closed.
func (c *Client) send(ctx context.Context, path string, body []byte, accept string) (*http.Response, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes)) // a partial body still says something
		return nil, &StatusError{StatusCode: resp.StatusCode, Body: b, RetryAfter: resp.Header.Get("Retry-After")}
	}
	return resp, nil
}

// fail wraps err with op, telling apart a timeout (ours or the HTTP
// client's) and a cancellation by the caller, which are reported as
// ErrTimeout and the caller's ctx.Err() whatever error the HTTP stack
// surfaced them as.
func (c *Client) fail(ctx context.Context, op string, err error) error {
	var se *StatusError
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(context.Cause(ctx), ErrTimeout) {
		return fmt.Errorf("openai: %s: %w", op, ErrTimeout)
	}
	if ctx.Err() != nil {
		// The parent was cancelled or hit its own deadline.
		return fmt.Errorf("openai: %s: %w", op, context.Cause(ctx))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("openai: %s: %w (%w)", op, ErrTimeout, err)
	}
	return fmt.Errorf("openai: %s: %w", op, err)
}

// events reads server-sent events (WHATWG HTML §9.2.6) from r and yields
// the data of each event that has any. Lines end in "\n" or "\r\n".
func events(r io.Reader) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4<<10), maxEventBytes) // grows as needed; idle streams stay small
		var (
			data []byte
			has  bool
		)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 { // a blank line dispatches the event
				if has {
					if !yield(data, nil) {
						return
					}
				}
				data, has = nil, false
				continue
			}
			field, value, _ := bytes.Cut(line, []byte(":"))
			if string(field) != "data" {
				continue // comments (":…"), event, id, retry, unknown fields
			}
			value = bytes.TrimPrefix(value, []byte(" "))
			if has {
				data = append(data, '\n')
			}
			data, has = append(data, value...), true
		}
		if err := sc.Err(); err != nil {
			yield(nil, err)
			return
		}
		// The stream ended without a blank line after the last event;
		// WHATWG drops such an event, but servers that close right after
		// "data: [DONE]" exist, so it is still delivered.
		if has {
			yield(data, nil)
		}
	}
}
