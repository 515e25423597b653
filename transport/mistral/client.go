package mistral

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
	DefaultBaseURL = "https://api.mistral.ai"
	DefaultTimeout = 5 * time.Minute
)

// Size limits on what is read from upstream: they only stop a misbehaving
// server from exhausting memory.
const (
	maxReplyBytes = 64 << 20 // a whole JSON answer
	maxEventBytes = 16 << 20 // one SSE line
	maxErrorBytes = 1 << 20  // the body of a non-2xx answer
)

const chatPath = "/v1/chat/completions"

// Client calls Mistral AI's chat completions API. The zero value calls
// DefaultBaseURL without a key; a Client is safe for concurrent use and
// must not be changed once in use.
type Client struct {
	// BaseURL is the API base without the version: "https://api.mistral.ai".
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

// Invoke sends a native Mistral chat body (§4.11) as POST
// {BaseURL}/v1/chat/completions, with "model" set to req.Model, and
// returns the answer in Bedrock's native shape (see toBedrock) with the
// token counts of its usage (-1 when it has none) and the measured
// latency.
//
// A native Mistral text-completion body ({prompt, …}, §4.10) is refused
// with a *transport.StatusError of 400: Mistral's chat API cannot take a
// rendered prompt. A non-2xx answer is a *transport.StatusError carrying
// Mistral's message; running out of time is an error matching
// transport.ErrTimeout; a cancelled ctx is an error matching ctx.Err().
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
		return nil, fmt.Errorf("mistral: invoke: the answer is larger than %d bytes", maxReplyBytes)
	}
	out, in, outTokens, err := toBedrock(reply)
	if err != nil {
		return nil, err
	}
	return &transport.Response{Body: out, ContentType: "application/json", InputTokens: in, OutputTokens: outTokens,
		LatencyMs: time.Since(start).Milliseconds()}, nil
}

// InvokeStream sends the body as Invoke does, with "stream": true, and
// yields Bedrock's native Mistral chat chunks (see streamState): one
// per upstream event that carries content, and last the chunk with the
// stop reason, to which "amazon-bedrock-invocationMetrics" is added
// (token counts from the stream's usage, latencies measured here). The
// finish chunk is held until the upstream stream ends ([DONE]) so that
// usage sent after it is counted.
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
			yield(nil, errors.New("mistral: invoke stream: the stream was already read"))
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

// requestBody returns the body for Mistral's API: the native body with
// "model", and "stream" when streaming (Bedrock bodies never carry it,
// §1.1, so one found in the body is replaced).
func requestBody(req transport.Request, stream bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &m); err != nil || m == nil {
		return nil, refuse("Malformed input request, please reformat your input and try again.")
	}
	if _, ok := m["messages"]; !ok {
		if _, ok := m["prompt"]; ok {
			return nil, refuse("This destination serves Mistral chat bodies ({\"messages\": …}); a Mistral text-completion body ({\"prompt\": …}) needs a text-completion destination.")
		}
		return nil, refuse("Malformed input request: messages is required.")
	}
	model, err := json.Marshal(req.Model)
	if err != nil {
		return nil, fmt.Errorf("mistral: encode model: %w", err)
	}
	m["model"] = model
	delete(m, "stream")
	if stream {
		m["stream"] = json.RawMessage("true")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("mistral: encode request: %w", err)
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

// errorMessage reads Mistral's error JSON: {"message": "…"}, a message
// that is itself an object (422 schema details, given as compact JSON),
// or FastAPI's {"detail": …}.
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
		return fmt.Errorf("mistral: %s: %w", op, transport.ErrTimeout)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("mistral: %s: %w", op, context.Cause(ctx))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("mistral: %s: %w (%w)", op, transport.ErrTimeout, err)
	}
	return fmt.Errorf("mistral: %s: %w", op, err)
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
