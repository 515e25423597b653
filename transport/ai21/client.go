package ai21

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/converse-project/converse/transport"
)

// Defaults used when a Client field is zero.
const (
	DefaultBaseURL = "https://api.ai21.com"
	DefaultTimeout = 5 * time.Minute
)

// Size limits on what is read from upstream: they only stop a misbehaving
// server from exhausting memory.
const (
	maxReplyBytes = 64 << 20 // a whole JSON answer
	maxEventBytes = 16 << 20 // one SSE line
	maxErrorBytes = 1 << 20  // the body of a non-2xx answer
)

const chatPath = "/studio/v1/chat/completions"

// Client calls AI21 Studio's chat completions API. The zero value calls
// DefaultBaseURL without a key; a Client is safe for concurrent use and
// must not be changed once in use.
type Client struct {
	// BaseURL is the API base without /studio/v1: "https://api.ai21.com".
	// "" means DefaultBaseURL.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds an Invoke from start to the end of the answer, and an
	// InvokeStream's wait for the answer's headers and then for each event,
	// so that a long but live stream is not cut. 0 means DefaultTimeout; a
	// negative value means no timeout.
	Timeout time.Duration
}

var _ transport.Invoker = (*Client)(nil)

// Invoke sends a native Jamba body (§4.1) as POST
// {BaseURL}/studio/v1/chat/completions, with "model" set to req.Model,
// and returns AI21's answer as is: it already has Bedrock's Jamba shape
// (choices[].message, finish_reason, usage; §4.1 against §5.5). The token
// counts come from its usage (-1 when it has none); the latency is
// measured. Bedrock's Jamba-Instruct page and AI21's API give different
// temperature defaults (§6 row 13): a body without temperature gets the
// destination's.
//
// A Jurassic-2 body ({prompt, …}, §4.2) is refused with a
// *transport.StatusError of 400: AI21's chat API cannot take it. A
// non-2xx answer is a *transport.StatusError carrying AI21's detail;
// running out of time is an error matching transport.ErrTimeout; a
// cancelled ctx is an error matching ctx.Err().
func (c *Client) Invoke(ctx context.Context, req transport.Request) (*transport.Response, error) {
	body, err := requestBody(req, false)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if t := c.timeout(); t > 0 {
		tm := time.AfterFunc(t, func() { cancel(transport.ErrTimeout) })
		defer tm.Stop()
	}
	resp, err := c.send(ctx, body, "application/json")
	if err != nil {
		return nil, c.fail(ctx, "invoke", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return nil, c.fail(ctx, "invoke: read answer", err)
	}
	if len(reply) > maxReplyBytes {
		return nil, fmt.Errorf("ai21: invoke: the answer is larger than %d bytes", maxReplyBytes)
	}
	in, outTokens := tokenCounts(reply)
	return &transport.Response{Body: reply, ContentType: "application/json", InputTokens: in, OutputTokens: outTokens,
		LatencyMs: time.Since(start).Milliseconds()}, nil
}

// InvokeStream sends the body as Invoke does, with "stream": true, and
// yields AI21's chunks, which have Bedrock's Jamba chunk shape, as they
// come, except that the chunk with the finish_reason is held until the
// upstream stream ends ([DONE]) and sent last with
// "amazon-bedrock-invocationMetrics" added (token counts from the
// stream's usage, which it also gets when AI21 sent usage in a later
// chunk; latencies measured here). Chunks after the finish are not sent.
//
// An error returned by InvokeStream happened before any chunk: what Invoke
// returns. In the sequence, a read failure, a cut connection, or an end
// without a stop reason is the last error. The sequence can be ranged over
// once; ending the range, early or not, closes the answer and so cancels
// the upstream request.
func (c *Client) InvokeStream(ctx context.Context, req transport.Request) (iter.Seq2[[]byte, error], error) {
	body, err := requestBody(req, true)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	t := c.timeout()
	var tm *time.Timer
	if t > 0 {
		tm = time.AfterFunc(t, func() { cancel(transport.ErrTimeout) })
	}
	stop := func() {
		if tm != nil {
			tm.Stop()
		}
		cancel(nil)
	}
	resp, err := c.send(ctx, body, "text/event-stream")
	if err != nil {
		err = c.fail(ctx, "invoke stream", err)
		stop()
		return nil, err
	}
	used := false
	return func(yield func([]byte, error) bool) {
		if used {
			yield(nil, errors.New("ai21: invoke stream: the stream was already read"))
			return
		}
		used = true
		defer stop()
		defer resp.Body.Close()
		s := streamState{start: start}
		for data, err := range events(resp.Body) {
			if err != nil {
				yield(nil, c.fail(ctx, "invoke stream: read event", err))
				return
			}
			if tm != nil {
				tm.Reset(t) // the timeout is per event: the stream is alive
			}
			if string(data) == "[DONE]" {
				break
			}
			chunk, err := s.next(data)
			if err != nil {
				yield(nil, err)
				return
			}
			if chunk != nil && !yield(chunk, nil) {
				return
			}
		}
		last, err := s.end()
		if err != nil {
			yield(nil, err)
			return
		}
		yield(last, nil)
	}, nil
}

// requestBody returns the body for AI21's API: the native body with
// "model", and "stream" when streaming (Bedrock bodies never carry it,
// §1.1, so one found in the body is replaced).
func requestBody(req transport.Request, stream bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &m); err != nil || m == nil {
		return nil, refuse("Malformed input request, please reformat your input and try again.")
	}
	if _, ok := m["messages"]; !ok {
		if _, ok := m["prompt"]; ok {
			return nil, refuse("This destination serves Jamba chat bodies ({\"messages\": …}); a Jurassic-2 body ({\"prompt\": …}) cannot be sent to AI21's chat API.")
		}
		return nil, refuse("Malformed input request: messages is required.")
	}
	model, err := json.Marshal(req.Model)
	if err != nil {
		return nil, fmt.Errorf("ai21: encode model: %w", err)
	}
	m["model"] = model
	delete(m, "stream")
	if stream {
		m["stream"] = json.RawMessage("true")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("ai21: encode request: %w", err)
	}
	return b, nil
}

// refuse is a 400 for a body this destination cannot send, worded for the
// caller; nothing was sent upstream.
func refuse(msg string) error {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return &transport.StatusError{StatusCode: http.StatusBadRequest, Body: b, Message: msg}
}

func (c *Client) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// send makes the request and returns a 2xx answer; any other answer is
// read into a *transport.StatusError and closed.
func (c *Client) send(ctx context.Context, body []byte, accept string) (*http.Response, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+chatPath, bytes.NewReader(body))
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
		return nil, &transport.StatusError{StatusCode: resp.StatusCode, Body: b, Message: errorMessage(b)}
	}
	return resp, nil
}

// errorMessage reads AI21's error JSON: FastAPI's {"detail": "…"} or,
// for 422, a list of details (given as compact JSON); {"message": …} is
// read too.
func errorMessage(body []byte) string {
	var e struct {
		Message json.RawMessage `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	for _, raw := range []json.RawMessage{e.Message, e.Detail} {
		var s string
		switch {
		case len(raw) == 0 || string(raw) == "null":
		case json.Unmarshal(raw, &s) == nil:
			return s
		default:
			var buf bytes.Buffer
			if json.Compact(&buf, raw) == nil {
				return buf.String()
			}
		}
	}
	return ""
}

// fail wraps err, telling apart a timeout (ours or the HTTP client's) and
// a cancellation by the caller, which are reported as transport.ErrTimeout
// and the caller's ctx.Err() whatever error the HTTP stack surfaced them
// as.
func (c *Client) fail(ctx context.Context, op string, err error) error {
	var se *transport.StatusError
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(context.Cause(ctx), transport.ErrTimeout) {
		return fmt.Errorf("ai21: %s: %w", op, transport.ErrTimeout)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("ai21: %s: %w", op, context.Cause(ctx))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("ai21: %s: %w (%w)", op, transport.ErrTimeout, err)
	}
	return fmt.Errorf("ai21: %s: %w", op, err)
}

// events reads server-sent events (WHATWG HTML §9.2.6) from r and yields
// the data of each event that has any; an event not followed by a blank
// line before the end is still delivered.
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
			if len(line) == 0 {
				if has && !yield(data, nil) {
					return
				}
				data, has = nil, false
				continue
			}
			field, value, _ := bytes.Cut(line, []byte(":"))
			if string(field) != "data" {
				continue // comments, event, id, retry
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
		if has {
			yield(data, nil)
		}
	}
}
