package openai

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/converse-project/converse/transport"
)

// Defaults used when a Client field is zero.
const (
	DefaultBaseURL = "https://api.openai.com/v1"
	DefaultTimeout = 5 * time.Minute
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
	call := transport.StartCall(ctx, c.timeout(), ErrTimeout)
	defer call.Stop()
	resp, err := c.send(call.Context(), path, body, "application/json")
	if err != nil {
		return nil, fail(call, "post "+path, err)
	}
	defer resp.Body.Close()
	reply, err := transport.ReadAnswer(resp.Body, transport.MaxReplyBytes)
	if errors.Is(err, transport.ErrTooLarge) {
		return nil, fmt.Errorf("openai: post %s: the answer is larger than %d bytes", path, transport.MaxReplyBytes)
	}
	if err != nil {
		return nil, fail(call, "post "+path+": read answer", err)
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
	call := transport.StartCall(ctx, c.timeout(), ErrTimeout)
	resp, err := c.send(call.Context(), path, body, "text/event-stream")
	if err != nil {
		err = fail(call, "stream "+path, err)
		call.Stop()
		return nil, err
	}
	used := false
	return func(yield func([]byte, error) bool) {
		if used {
			yield(nil, fmt.Errorf("openai: stream %s: the stream was already read", path))
			return
		}
		used = true
		defer call.Stop()
		defer resp.Body.Close()
		for data, err := range transport.SSEData(resp.Body, transport.MaxEventBytes) {
			if err != nil {
				yield(nil, fail(call, "stream "+path+": read event", err))
				return
			}
			call.Alive() // the timeout is per event: the stream is alive
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
	resp, err := transport.PostJSON(ctx, c.HTTPClient, strings.TrimRight(base, "/")+path, body,
		transport.BearerHeader(c.APIKey, accept), nil)
	var se *transport.StatusError
	if errors.As(err, &se) {
		return nil, &StatusError{StatusCode: se.StatusCode, Body: se.Body, RetryAfter: resp.Header.Get("Retry-After")}
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// fail wraps err with op as call.Fail does (ErrTimeout for a timeout, the
// caller's ctx.Err() for a cancellation), leaving a *StatusError as it is.
func fail(call *transport.Call, op string, err error) error {
	var se *StatusError
	if errors.As(err, &se) {
		return err
	}
	return call.Fail("openai", op, err)
}
