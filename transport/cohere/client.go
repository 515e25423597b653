package cohere

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/converse-project/converse/transport"
)

// Defaults used when a Client field is zero.
const (
	DefaultBaseURL = "https://api.cohere.com"
	DefaultTimeout = 5 * time.Minute
)

// MsgGenerateUnavailable is the message of the 400 *transport.StatusError
// answering a Command or Command Light (generate) body: Cohere retired its
// generate API, so this destination has nothing to send it to.
const MsgGenerateUnavailable = "The Cohere generate API (Command, Command Light) is not available on this destination: Cohere retired /v1/generate. Use Command R or Command R+."

// msgMalformedBody answers a body that is not a JSON object, as Bedrock
// words its answer to a malformed InvokeModel body.
const msgMalformedBody = "Malformed input request, please reformat your input and try again."

// Client sends Command R bodies to Cohere's Chat API v1. The zero value
// calls DefaultBaseURL without a key (Cohere then answers 401); a Client
// is safe for concurrent use and must not be changed once in use.
type Client struct {
	// BaseURL is the API's base without the version: "" means
	// DefaultBaseURL; requests go to BaseURL+"/v1/chat".
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds an Invoke from start to the end of the answer, and an
	// InvokeStream's wait for the answer's headers and then for each
	// event, so that a long but live stream is not cut. 0 means
	// DefaultTimeout; a negative value means no timeout.
	Timeout time.Duration
}

var _ transport.Invoker = (*Client)(nil)

// Invoke sends req.Body, a Command R body, to /v1/chat as the model
// req.Model and returns Cohere's answer as it is: Bedrock's Command R
// answer has the same shape. The token counts are meta.billed_units (-1
// when missing), the latency the time the call took.
//
// A generate body (Command, Command Light: a "prompt" and no "message")
// is refused with a 400 *transport.StatusError carrying
// MsgGenerateUnavailable, and a body that is not a JSON object with a 400
// too, both without calling Cohere. A non-2xx answer is a
// *transport.StatusError with Cohere's {"message"} as Message; running
// out of time is an error matching transport.ErrTimeout; a cancelled ctx
// an error matching ctx.Err().
func (c *Client) Invoke(ctx context.Context, req transport.Request) (*transport.Response, error) {
	body, err := chatBody(req, false)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	call := transport.StartCall(ctx, c.timeout(), nil)
	defer call.Stop()
	ctx = call.Context()
	resp, err := c.send(ctx, body)
	if err != nil {
		return nil, call.Fail("cohere", "chat", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, transport.MaxReplyBytes+1))
	if err != nil {
		return nil, call.Fail("cohere", "chat: read answer", err)
	}
	if len(reply) > transport.MaxReplyBytes {
		return nil, fmt.Errorf("cohere: chat: the answer is larger than %d bytes", transport.MaxReplyBytes)
	}
	var r struct {
		Meta *meta `json:"meta"`
	}
	json.Unmarshal(reply, &r) // a reply that is not JSON is the codec's to report
	in, out := r.Meta.tokens()
	return &transport.Response{Body: reply, ContentType: "application/json", InputTokens: in, OutputTokens: out, LatencyMs: time.Since(start).Milliseconds()}, nil
}

// InvokeStream sends req.Body with "stream": true and yields Cohere's
// stream events (NDJSON, or SSE data) as Bedrock's Command R stream
// chunks, one event each, in order: stream-start, text-generation,
// tool-calls-generation, … and stream-end, to which it adds
// "amazon-bedrock-invocationMetrics" (input and output token counts from
// the answer's meta.billed_units, the latencies it measured). The
// sequence ends after stream-end. tool-calls-chunk events, Cohere's
// incremental form of tool-calls-generation, are not passed on: Bedrock's
// Command R stream has none, and tool-calls-generation carries the whole
// calls.
//
// Errors returned by InvokeStream itself happened before any event, as
// Invoke's. In the sequence, a stream that ends before stream-end (an
// error matching io.ErrUnexpectedEOF), an event that is not JSON, a
// timeout between events (transport.ErrTimeout) or ctx's cancellation
// end it. Ending the range, early or not, closes the answer's body and so
// cancels the call to Cohere. Yielded slices belong to the caller.
func (c *Client) InvokeStream(ctx context.Context, req transport.Request) (iter.Seq2[[]byte, error], error) {
	body, err := chatBody(req, true)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	call := transport.StartCall(ctx, c.timeout(), nil)
	ctx = call.Context()
	resp, err := c.send(ctx, body)
	if err != nil {
		err = call.Fail("cohere", "chat stream", err)
		call.Stop()
		return nil, err
	}
	used := false
	return func(yield func([]byte, error) bool) {
		if used {
			yield(nil, errors.New("cohere: chat stream: the stream was already read"))
			return
		}
		used = true
		defer call.Stop()
		defer resp.Body.Close()
		var firstByte int64 = -1
		for line, err := range lines(resp.Body) {
			if err != nil {
				yield(nil, call.Fail("cohere", "chat stream: read event", err))
				return
			}
			call.Alive() // the timeout is per event: the stream is alive
			if firstByte < 0 {
				firstByte = time.Since(start).Milliseconds()
			}
			var ev struct {
				EventType string `json:"event_type"`
				Response  *struct {
					Meta *meta `json:"meta"`
				} `json:"response"`
			}
			if json.Unmarshal(line, &ev) != nil {
				yield(nil, errors.New("cohere: chat stream: an event is not JSON"))
				return
			}
			switch ev.EventType {
			case "tool-calls-chunk":
				continue
			case "stream-end":
				m := invocationMetrics{InvocationLatency: time.Since(start).Milliseconds(), FirstByteLatency: firstByte}
				if ev.Response != nil {
					in, out := ev.Response.Meta.tokens()
					m.InputTokenCount, m.OutputTokenCount = max(in, 0), max(out, 0)
				}
				last, err := withMetrics(line, m)
				if err != nil {
					yield(nil, err)
					return
				}
				yield(last, nil)
				return
			}
			if !yield(line, nil) {
				return
			}
		}
		yield(nil, fmt.Errorf("cohere: chat stream: the stream ended before stream-end: %w", io.ErrUnexpectedEOF))
	}, nil
}

// invocationMetrics is Bedrock's "amazon-bedrock-invocationMetrics"
// (model-families.md §1.3).
type invocationMetrics struct {
	InputTokenCount   int   `json:"inputTokenCount"`
	OutputTokenCount  int   `json:"outputTokenCount"`
	InvocationLatency int64 `json:"invocationLatency"`
	FirstByteLatency  int64 `json:"firstByteLatency"`
}

// withMetrics returns the event with the invocation metrics added.
func withMetrics(event []byte, m invocationMetrics) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(event, &fields); err != nil || fields == nil {
		return nil, errors.New("cohere: chat stream: stream-end is not a JSON object")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("cohere: chat stream: %w", err)
	}
	fields["amazon-bedrock-invocationMetrics"] = b
	return marshal(fields)
}

// meta is the answer's meta member. Cohere's schema types the counts as
// numbers, not integers.
type meta struct {
	BilledUnits *struct {
		InputTokens  *float64 `json:"input_tokens"`
		OutputTokens *float64 `json:"output_tokens"`
	} `json:"billed_units"`
}

// tokens returns the billed counts, -1 for those missing.
func (m *meta) tokens() (in, out int) {
	in, out = -1, -1
	if m == nil || m.BilledUnits == nil {
		return in, out
	}
	if p := m.BilledUnits.InputTokens; p != nil {
		in = int(*p)
	}
	if p := m.BilledUnits.OutputTokens; p != nil {
		out = int(*p)
	}
	return in, out
}

// chatBody turns a Command R body into a chat v1 request body: the body
// plus "model", and "stream": true when streaming (Bedrock's bodies have
// no stream member; a stray one is replaced).
func chatBody(req transport.Request, stream bool) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &fields); err != nil || fields == nil {
		return nil, &transport.StatusError{StatusCode: http.StatusBadRequest, Message: msgMalformedBody}
	}
	_, hasPrompt := fields["prompt"]
	_, hasMessage := fields["message"]
	if hasPrompt && !hasMessage {
		return nil, &transport.StatusError{StatusCode: http.StatusBadRequest, Message: MsgGenerateUnavailable}
	}
	if req.Model == "" {
		return nil, errors.New("cohere: no model name to send: set the model as Cohere names it")
	}
	model, err := json.Marshal(req.Model)
	if err != nil {
		return nil, fmt.Errorf("cohere: encode model: %w", err)
	}
	fields["model"] = model
	delete(fields, "stream")
	if stream {
		fields["stream"] = json.RawMessage("true")
	}
	return marshal(fields)
}

// marshal is json.Marshal without HTML escaping: the bodies go to an API
// and back to a client, not into a web page.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("cohere: encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (c *Client) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// send posts body to /v1/chat and returns a 2xx answer; any other answer
// is read into a *transport.StatusError and closed.
func (c *Client) send(ctx context.Context, body []byte) (*http.Response, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	resp, err := transport.PostJSON(ctx, c.HTTPClient, strings.TrimRight(base, "/")+"/v1/chat", body,
		transport.BearerHeader(c.APIKey, ""), errorMessage)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// lines yields the events of a chat v1 stream: one JSON object a line
// (NDJSON, Cohere's default), or the data of server-sent events (when a
// proxy asked for text/event-stream), whose Cohere events fit on one data
// line. Blank lines, SSE comments and event, id and retry fields are
// skipped.
func lines(r io.Reader) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4<<10), transport.MaxEventBytes) // grows as needed; idle streams stay small
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			switch {
			case len(line) == 0, line[0] == ':',
				bytes.HasPrefix(line, []byte("event:")), bytes.HasPrefix(line, []byte("id:")), bytes.HasPrefix(line, []byte("retry:")):
				continue
			case bytes.HasPrefix(line, []byte("data:")):
				line = bytes.TrimSpace(line[len("data:"):])
				if len(line) == 0 {
					continue
				}
			}
			if !yield(bytes.Clone(line), nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// errorMessage reads Cohere's error JSON {"message"}.
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	json.Unmarshal(body, &e)
	return e.Message
}
