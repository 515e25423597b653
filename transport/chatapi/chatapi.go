package chatapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/converse-project/converse/transport"
)

// Dialect is what tells one chat-completions destination from another.
// All fields are required.
type Dialect struct {
	// Name prefixes every error: "mistral".
	Name string
	// DefaultBaseURL is used when Config.BaseURL is "".
	DefaultBaseURL string
	// Path is the chat endpoint below the base URL: "/v1/chat/completions".
	Path string
	// PromptRefusal is the message of the 400 answering a body with a
	// "prompt" and no "messages": a text-completion body the chat API
	// cannot take.
	PromptRefusal string
	// Answer turns the upstream's whole answer into Bedrock's native
	// answer, with the token counts of its usage (-1 when unknown).
	Answer func(reply []byte) (body []byte, in, out int, err error)
	// NewStream starts the conversion of one stream begun at start: next
	// takes each event's data and returns the chunk to send now (nil for
	// none), end returns the last chunk once the upstream sent [DONE].
	NewStream func(start time.Time) (next func(data []byte) ([]byte, error), end func() ([]byte, error))
}

// Config is where and how a Client of a dialect calls: the exported
// fields of mistral.Client and ai21.Client, with their meaning.
type Config struct {
	BaseURL    string
	APIKey     string
	HTTPClient *http.Client
	// Timeout bounds an Invoke from start to the end of the answer, and an
	// InvokeStream's wait for the headers and then for each event.
	// 0 means DefaultTimeout; a negative value means no timeout.
	Timeout time.Duration
}

// DefaultTimeout is the bound of a call whose Config.Timeout is 0.
const DefaultTimeout = 5 * time.Minute

func (c Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// Invoke sends the native chat body as POST {BaseURL}{Path} with "model"
// set to req.Model and returns d.Answer's conversion of the answer, with
// the measured latency. A body without "messages" is refused with a 400
// *transport.StatusError before anything is sent. A non-2xx answer is a
// *transport.StatusError carrying the upstream's message (ErrorMessage);
// running out of time is an error matching transport.ErrTimeout; a
// cancelled ctx is an error matching ctx.Err().
func (d Dialect) Invoke(ctx context.Context, c Config, req transport.Request) (*transport.Response, error) {
	body, err := d.requestBody(req, false)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	call := transport.StartCall(ctx, c.timeout(), nil)
	defer call.Stop()
	resp, err := d.send(call.Context(), c, body, "application/json")
	if err != nil {
		return nil, call.Fail(d.Name, "invoke", err)
	}
	defer resp.Body.Close()
	reply, err := transport.ReadAnswer(resp.Body, transport.MaxReplyBytes)
	if errors.Is(err, transport.ErrTooLarge) {
		return nil, fmt.Errorf("%s: invoke: the answer is larger than %d bytes", d.Name, transport.MaxReplyBytes)
	}
	if err != nil {
		return nil, call.Fail(d.Name, "invoke: read answer", err)
	}
	out, in, outTokens, err := d.Answer(reply)
	if err != nil {
		return nil, err
	}
	return &transport.Response{Body: out, ContentType: "application/json", InputTokens: in, OutputTokens: outTokens,
		LatencyMs: time.Since(start).Milliseconds()}, nil
}

// InvokeStream sends the body as Invoke does, with "stream": true, and
// yields d.NewStream's chunks, then its last chunk once the upstream sent
// [DONE]; the timeout is per event.
//
// An error returned by InvokeStream happened before any chunk: what Invoke
// returns. In the sequence, a read failure, a cut connection, or a
// conversion error is the last error. The sequence can be ranged over
// once; ending the range, early or not, closes the answer and so cancels
// the upstream request.
func (d Dialect) InvokeStream(ctx context.Context, c Config, req transport.Request) (iter.Seq2[[]byte, error], error) {
	body, err := d.requestBody(req, true)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	call := transport.StartCall(ctx, c.timeout(), nil)
	resp, err := d.send(call.Context(), c, body, "text/event-stream")
	if err != nil {
		err = call.Fail(d.Name, "invoke stream", err)
		call.Stop()
		return nil, err
	}
	used := false
	return func(yield func([]byte, error) bool) {
		if used {
			yield(nil, fmt.Errorf("%s: invoke stream: the stream was already read", d.Name))
			return
		}
		used = true
		defer call.Stop()
		defer resp.Body.Close()
		next, end := d.NewStream(start)
		for data, err := range transport.SSEData(resp.Body, transport.MaxEventBytes) {
			if err != nil {
				yield(nil, call.Fail(d.Name, "invoke stream: read event", err))
				return
			}
			call.Alive()
			if string(data) == "[DONE]" {
				break
			}
			chunk, err := next(data)
			if err != nil {
				yield(nil, err)
				return
			}
			if chunk != nil && !yield(chunk, nil) {
				return
			}
		}
		last, err := end()
		if err != nil {
			yield(nil, err)
			return
		}
		yield(last, nil)
	}, nil
}

// requestBody returns the body for the API: the native body with "model",
// and "stream" when streaming (Bedrock bodies never carry it, §1.1, so
// one found in the body is replaced).
func (d Dialect) requestBody(req transport.Request, stream bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &m); err != nil || m == nil {
		return nil, refuse("Malformed input request, please reformat your input and try again.")
	}
	if _, ok := m["messages"]; !ok {
		if _, ok := m["prompt"]; ok {
			return nil, refuse(d.PromptRefusal)
		}
		return nil, refuse("Malformed input request: messages is required.")
	}
	model, err := json.Marshal(req.Model)
	if err != nil {
		return nil, fmt.Errorf("%s: encode model: %w", d.Name, err)
	}
	m["model"] = model
	delete(m, "stream")
	if stream {
		m["stream"] = json.RawMessage("true")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", d.Name, err)
	}
	return b, nil
}

// refuse is a 400 for a body this destination cannot send, worded for the
// caller; nothing was sent upstream.
func refuse(msg string) error {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return &transport.StatusError{StatusCode: http.StatusBadRequest, Body: b, Message: msg}
}

// send makes the request and returns a 2xx answer; any other answer is
// read into a *transport.StatusError and closed.
func (d Dialect) send(ctx context.Context, c Config, body []byte, accept string) (*http.Response, error) {
	base := c.BaseURL
	if base == "" {
		base = d.DefaultBaseURL
	}
	resp, err := transport.PostJSON(ctx, c.HTTPClient, strings.TrimRight(base, "/")+d.Path, body,
		transport.BearerHeader(c.APIKey, accept), ErrorMessage)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// ErrorMessage reads a chat API's error JSON: {"message": "…"}, a message
// that is itself an object (422 schema details, given as compact JSON),
// or FastAPI's {"detail": …} (a string, or a list given as compact JSON).
func ErrorMessage(body []byte) string {
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
