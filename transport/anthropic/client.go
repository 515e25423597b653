package anthropic

import (
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
	DefaultBaseURL = "https://api.anthropic.com"
	DefaultVersion = "2023-06-01"
	DefaultTimeout = 5 * time.Minute
)

// The API paths.
const (
	pathMessages = "/v1/messages"
	pathComplete = "/v1/complete"
)

// Client sends native Claude bodies to Anthropic's API. The zero value is
// usable but has no key; a Client is safe for concurrent use and must not
// be changed once in use.
type Client struct {
	// BaseURL is the API base without /v1, as Anthropic's SDKs take it;
	// "" means DefaultBaseURL.
	BaseURL string
	// APIKey is sent as the x-api-key header.
	APIKey string
	// Version is sent as the anthropic-version header; "" means
	// DefaultVersion.
	Version string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds an Invoke from start to the end of the answer, and an
	// InvokeStream's wait for the answer's headers and then for each
	// event, so that a long but live stream is not cut. 0 means
	// DefaultTimeout; a negative value means no timeout.
	Timeout time.Duration
}

var _ transport.Invoker = (*Client)(nil)

// Invoke sends a native body and returns Anthropic's answer, which is
// already the body Bedrock returns for the family: the Message object for
// a Messages body, {completion, stop_reason, stop, …} for a Text
// Completions body. The token counts come from the Message's usage (-1
// for Text Completions, whose answer has none); LatencyMs is the time the
// call took.
//
// A non-2xx answer is a *transport.StatusError whose Message is
// Anthropic's error message; running out of time is an error matching
// transport.ErrTimeout; a cancelled ctx is an error matching ctx.Err(). A
// body that is not a Claude body is an error before anything is sent.
func (c *Client) Invoke(ctx context.Context, req transport.Request) (*transport.Response, error) {
	path, body, beta, err := toAnthropic(req.Body, req.Model, false)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	call := transport.StartCall(ctx, c.timeout(), nil)
	defer call.Stop()
	ctx = call.Context()
	resp, err := c.send(ctx, path, body, beta, "application/json")
	if err != nil {
		return nil, call.Fail("anthropic", "post "+path, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, transport.MaxReplyBytes+1))
	if err != nil {
		return nil, call.Fail("anthropic", "post "+path+": read answer", err)
	}
	if len(reply) > transport.MaxReplyBytes {
		return nil, fmt.Errorf("anthropic: post %s: the answer is larger than %d bytes", path, transport.MaxReplyBytes)
	}
	out := &transport.Response{Body: reply, ContentType: "application/json", InputTokens: -1, OutputTokens: -1, LatencyMs: time.Since(start).Milliseconds()}
	var m struct {
		Usage *struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	if path == pathMessages && json.Unmarshal(reply, &m) == nil && m.Usage != nil {
		out.InputTokens, out.OutputTokens = m.Usage.InputTokens, m.Usage.OutputTokens
	}
	return out, nil
}

// InvokeStream sends a native body asking for server-sent events and
// yields the data of each event as one Bedrock stream chunk: Anthropic's
// Messages events are the chunks Bedrock sends for Claude 3 (§4.5
// "Stream"), and its legacy completion events those of Claude 2 (§4.4).
// ping events are dropped. The chunk that ends the answer (message_stop,
// or the completion with a stop_reason) gets
// "amazon-bedrock-invocationMetrics" added: input and output token counts
// from message_start and the last message_delta (0 for Text Completions,
// which reports none), the call's latency and the latency of its first
// event, in milliseconds; the sequence ends after it. An error event ends
// the sequence with a *transport.StatusError carrying Anthropic's message
// and the status its error type stands for (529 for overloaded_error, …).
// A connection cut mid-stream ends it with the read error; an answer that
// simply stops ends the sequence, for the codec to notice.
//
// An error returned by InvokeStream itself happened before any event, as
// for Invoke. The sequence can be ranged over once; ending the range,
// early or not, closes the answer and so cancels the upstream request.
// Yielded slices belong to the caller.
func (c *Client) InvokeStream(ctx context.Context, req transport.Request) (iter.Seq2[[]byte, error], error) {
	path, body, beta, err := toAnthropic(req.Body, req.Model, true)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	call := transport.StartCall(ctx, c.timeout(), nil)
	ctx = call.Context()
	resp, err := c.send(ctx, path, body, beta, "text/event-stream")
	if err != nil {
		err = call.Fail("anthropic", "stream "+path, err)
		call.Stop()
		return nil, err
	}
	used := false
	return func(yield func([]byte, error) bool) {
		if used {
			yield(nil, fmt.Errorf("anthropic: stream %s: the stream was already read", path))
			return
		}
		used = true
		defer call.Stop()
		defer resp.Body.Close()
		var m metrics
		for ev, err := range transport.SSE(resp.Body, transport.MaxEventBytes) {
			if err != nil {
				yield(nil, call.Fail("anthropic", "stream "+path+": read event", err))
				return
			}
			call.Alive() // the timeout is per event: the stream is alive
			if m.FirstByteLatency == 0 {
				m.FirstByteLatency = max(time.Since(start).Milliseconds(), 1)
			}
			var d chunk
			json.Unmarshal(ev.Data, &d) // a chunk that is not JSON is passed on for the codec to reject
			if ev.Name == "" {
				ev.Name = d.Type
			}
			last := false
			switch ev.Name {
			case "ping":
				continue
			case "error":
				yield(nil, streamError(ev.Data, d.Error))
				return
			case "message_start":
				if d.Message != nil && d.Message.Usage != nil {
					m.InputTokenCount = d.Message.Usage.InputTokens
				}
			case "message_delta":
				if d.Usage != nil {
					m.OutputTokenCount = d.Usage.OutputTokens
				}
			case "message_stop":
				last = true
			case "completion":
				last = d.StopReason != nil
			}
			if last {
				m.InvocationLatency = time.Since(start).Milliseconds()
				ev.Data = withMetrics(ev.Data, m)
			}
			if !yield(ev.Data, nil) || last {
				return
			}
		}
	}, nil
}

// chunk holds the members of a stream event the client reads.
type chunk struct {
	Type    string `json:"type"`
	Message *struct {
		Usage *usage `json:"usage"`
	} `json:"message"`
	Usage      *usage    `json:"usage"`
	StopReason *string   `json:"stop_reason"`
	Error      *apiError `json:"error"`
}

type usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// apiError is the error member of Anthropic's
// {"type":"error","error":{"type":…,"message":…}}.
type apiError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// metrics is Bedrock's "amazon-bedrock-invocationMetrics" (§1.3).
type metrics struct {
	InputTokenCount   int   `json:"inputTokenCount"`
	OutputTokenCount  int   `json:"outputTokenCount"`
	InvocationLatency int64 `json:"invocationLatency"`
	FirstByteLatency  int64 `json:"firstByteLatency"`
}

// withMetrics adds the invocation metrics to a JSON object, keeping its
// members as they are. Data that is not an object is returned unchanged.
func withMetrics(data []byte, m metrics) []byte {
	obj := bytes.TrimSpace(data)
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' || !json.Valid(obj) {
		return data
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return data
	}
	out := make([]byte, 0, len(obj)+len(mb)+40)
	inner := bytes.TrimSpace(obj[1 : len(obj)-1])
	out = append(out, bytes.TrimRight(obj[:len(obj)-1], " \t\r\n")...)
	if len(inner) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"amazon-bedrock-invocationMetrics":`...)
	out = append(out, mb...)
	return append(out, '}')
}

// errorStatus is the HTTP status Anthropic answers each error type with.
func errorStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "timeout_error":
		return http.StatusGatewayTimeout
	case "overloaded_error":
		return 529
	}
	return http.StatusInternalServerError
}

// streamError is the error an in-stream error event ends the sequence
// with.
func streamError(data []byte, e *apiError) error {
	se := &transport.StatusError{StatusCode: http.StatusInternalServerError, Body: bytes.Clone(data)}
	if e != nil {
		se.StatusCode, se.Message = errorStatus(e.Type), e.Message
	}
	return se
}

// toAnthropic turns a Bedrock Claude body into the API's: the path it
// goes to (Messages or Complete, told apart by the messages and prompt
// members), the body minus anthropic_version and anthropic_beta plus
// model (and stream when streaming), and the beta flags for the
// anthropic-beta header.
func toAnthropic(native []byte, model string, stream bool) (path string, body []byte, beta string, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(native, &m); err != nil || m == nil {
		return "", nil, "", errors.New("anthropic: the request body is not a JSON object")
	}
	switch _, msgs := m["messages"]; {
	case msgs:
		path = pathMessages
	case m["prompt"] != nil:
		path = pathComplete
	default:
		return "", nil, "", errors.New("anthropic: the request body is neither a Messages body (messages) nor a Text Completions body (prompt)")
	}
	if raw, ok := m["anthropic_beta"]; ok {
		var flags []string
		if err := json.Unmarshal(raw, &flags); err != nil {
			var one string
			if json.Unmarshal(raw, &one) != nil {
				return "", nil, "", errors.New("anthropic: anthropic_beta is not a list of strings")
			}
			flags = []string{one}
		}
		beta = strings.Join(flags, ",")
	}
	delete(m, "anthropic_beta")
	delete(m, "anthropic_version")
	delete(m, "stream")
	if m["model"], err = json.Marshal(model); err != nil {
		return "", nil, "", fmt.Errorf("anthropic: encode model: %w", err)
	}
	if stream {
		m["stream"] = json.RawMessage("true")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", nil, "", fmt.Errorf("anthropic: encode request: %w", err)
	}
	return path, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), beta, nil
}

func (c *Client) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// send makes the request and returns a 2xx answer; any other answer is
// read into a *transport.StatusError and closed.
func (c *Client) send(ctx context.Context, path string, body []byte, beta, accept string) (*http.Response, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	version := c.Version
	if version == "" {
		version = DefaultVersion
	}
	h := http.Header{"Accept": {accept}, "X-Api-Key": {c.APIKey}, "Anthropic-Version": {version}}
	if beta != "" {
		h.Set("anthropic-beta", beta)
	}
	resp, err := transport.PostJSON(ctx, c.HTTPClient, strings.TrimRight(base, "/")+path, body, h, errorMessage)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// errorMessage reads Anthropic's error JSON {"error":{"message"}}.
func errorMessage(body []byte) string {
	var e struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		return e.Error.Message
	}
	return ""
}
