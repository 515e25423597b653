package completions

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
	"github.com/converse-project/converse/transport/textgen"
)

// API is the upstream's text-completion API.
type API int

const (
	// OpenAI is POST {BaseURL}/completions, BaseURL including /v1
	// (OpenAI, vLLM, llama.cpp server, Ollama's /v1): JSON answers, and
	// server-sent events ending in "data: [DONE]" when streaming, with
	// stream_options.include_usage asked for.
	OpenAI API = iota
	// Ollama is POST {BaseURL}/api/generate with "raw": true, so that
	// Ollama applies no template of its own: a JSON answer, or
	// newline-delimited JSON when streaming.
	Ollama
)

// DefaultTimeout is used when Client.Timeout is zero.
const DefaultTimeout = 5 * time.Minute

// ErrIncomplete is matched (errors.Is) by the error ending a stream that
// stopped before the model finished: the connection closed, or the server
// ended the stream, with no finish reason.
var ErrIncomplete = errors.New("completions: the stream ended before the model finished")

// Client is a transport.Invoker for a text-completion server. The zero
// value is not usable: BaseURL must be set. A Client is safe for concurrent
// use and must not be changed once in use.
type Client struct {
	// BaseURL is the API base: "http://127.0.0.1:8000/v1" for OpenAI,
	// "http://127.0.0.1:11434" for Ollama.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// API selects the upstream API; the zero value is OpenAI.
	API API
	// Dialect selects the native body read and the native answer written;
	// the zero value is Llama.
	Dialect Dialect
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds Invoke from start to the end of the answer, and an
	// InvokeStream's wait for the answer's headers and then for each
	// event, so that a long but live stream is not cut. 0 means
	// DefaultTimeout; a negative value means no timeout.
	Timeout time.Duration
	// KeepBOS sends the prompt as it is. By default a leading "<s>" or
	// "<|begin_of_text|>" is removed: the templates write the BOS token as
	// text, as Bedrock's prompts do, but self-hosted servers add BOS
	// themselves (vLLM's /v1/completions, llama.cpp and Ollama tokenise
	// with the model's add_bos_token), and a second one degrades the
	// answer (model-families.md §4.8). Set KeepBOS for a server that does
	// not add it.
	KeepBOS bool
}

var _ transport.Invoker = (*Client)(nil)

// Invoke sends the prompt of the native body req.Body to req.Model and
// returns the native answer with its token counts (-1 when the server
// gave none) and the measured latency.
//
// A body Bedrock would refuse, a non-2xx answer, or an answer that cannot
// be read is a *transport.StatusError (400 for the body; 502 for an
// unreadable answer); running out of time is an error matching
// transport.ErrTimeout; a cancelled ctx is an error matching ctx.Err().
func (c *Client) Invoke(ctx context.Context, req transport.Request) (*transport.Response, error) {
	start := time.Now()
	p, err := c.Dialect.Parse(req.Body)
	if err != nil {
		return nil, err
	}
	body, err := c.request(req.Model, p, false)
	if err != nil {
		return nil, err
	}
	call := transport.StartCall(ctx, c.timeout(), nil)
	defer call.Stop()
	ctx = call.Context()
	resp, err := c.send(ctx, body, false)
	if err != nil {
		return nil, fail(call, "invoke", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, transport.MaxReplyBytes+1))
	if err != nil {
		return nil, fail(call, "invoke: read answer", err)
	}
	if len(reply) > transport.MaxReplyBytes {
		return nil, badAnswer(fmt.Sprintf("the answer is larger than %d bytes", transport.MaxReplyBytes), nil)
	}
	var r textgen.Result
	if c.API == Ollama {
		r, err = ollamaResult(reply)
	} else {
		r, err = openAIResult(reply)
	}
	if err != nil {
		return nil, err
	}
	native, err := c.Dialect.Response(r)
	if err != nil {
		return nil, err
	}
	return &transport.Response{Body: native, ContentType: "application/json", InputTokens: r.Input, OutputTokens: r.Output, LatencyMs: time.Since(start).Milliseconds()}, nil
}

// InvokeStream sends the prompt asking for a stream and yields native
// chunks: one per upstream event that carries text, then a last chunk
// with the stop reason, the token counts and
// "amazon-bedrock-invocationMetrics". Output counts in earlier chunks are
// running counts of the events received (servers send about one token per
// event); the last chunk has the server's own counts when it reports them.
//
// An error returned by InvokeStream happened before any chunk (as for
// Invoke). An error in the sequence ends it: a *transport.StatusError for
// an error the server sent mid-stream or an event that cannot be read,
// transport.ErrTimeout, ErrIncomplete, or the reading error. The sequence
// can be ranged over once; ending the range, early or not, closes the
// answer and so cancels the upstream request.
func (c *Client) InvokeStream(ctx context.Context, req transport.Request) (iter.Seq2[[]byte, error], error) {
	start := time.Now()
	p, err := c.Dialect.Parse(req.Body)
	if err != nil {
		return nil, err
	}
	body, err := c.request(req.Model, p, true)
	if err != nil {
		return nil, err
	}
	call := transport.StartCall(ctx, c.timeout(), nil)
	ctx = call.Context()
	resp, err := c.send(ctx, body, true)
	if err != nil {
		err = fail(call, "invoke stream", err)
		call.Stop()
		return nil, err
	}
	used := false
	return func(yield func([]byte, error) bool) {
		if used {
			yield(nil, errors.New("completions: the stream was already read"))
			return
		}
		used = true
		defer call.Stop()
		defer resp.Body.Close()
		s := &streamState{dialect: c.Dialect, start: start, input: -1, output: -1}
		read := transport.SSEData
		parse := s.openAIEvent
		if c.API == Ollama {
			read, parse = transport.NDJSON, s.ollamaLine
		}
		for data, err := range read(resp.Body, transport.MaxEventBytes) {
			if err != nil {
				if s.final != nil {
					break // the model finished; only the end marker or usage was lost
				}
				yield(nil, fail(call, "invoke stream: read event", err))
				return
			}
			call.Alive() // the timeout is per event: the stream is alive
			chunk, end, err := parse(data)
			if err != nil {
				yield(nil, err)
				return
			}
			if chunk != nil && !yield(chunk, nil) {
				return
			}
			if end {
				break
			}
		}
		last, err := s.last()
		if err != nil {
			yield(nil, err)
			return
		}
		yield(last, nil)
	}, nil
}

// streamState turns one upstream stream into native chunks.
type streamState struct {
	dialect       Dialect
	start         time.Time
	firstByte     int64 // ms from start to the first event with text
	events        int   // events with text so far
	final         *textgen.Result
	input, output int // the server's counts, -1 until known
}

// text is the native chunk for one piece of text, or nil for none.
func (s *streamState) text(t string) ([]byte, error) {
	if t == "" {
		return nil, nil
	}
	if s.events == 0 {
		s.firstByte = time.Since(s.start).Milliseconds()
	}
	s.events++
	return s.dialect.Chunk(t, s.events, nil, nil)
}

// last is the closing chunk, or ErrIncomplete when the model never
// finished.
func (s *streamState) last() ([]byte, error) {
	if s.final == nil {
		return nil, ErrIncomplete
	}
	r := *s.final
	r.Input, r.Output = s.input, s.output
	if r.Output < 0 {
		r.Output = s.events
		if r.Text != "" {
			r.Output++
		}
	}
	m := &textgen.Metrics{InputTokenCount: max(r.Input, 0), OutputTokenCount: r.Output, InvocationLatency: time.Since(s.start).Milliseconds(), FirstByteLatency: s.firstByte}
	if s.events == 0 {
		m.FirstByteLatency = m.InvocationLatency
	}
	return s.dialect.Chunk(r.Text, r.Output, &r, m)
}

// openAIEvent reads the data of one server-sent event of a streamed
// text completion. The finishing event is held back: its usage arrives in
// a later event.
func (s *streamState) openAIEvent(data []byte) (chunk []byte, end bool, err error) {
	if string(data) == "[DONE]" {
		return nil, true, nil
	}
	var ev openAIReply
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, badAnswer("a stream event is not JSON", data)
	}
	if ev.Error != nil {
		return nil, false, ev.Error.statusError(data)
	}
	if ev.Usage != nil {
		s.input, s.output = ev.Usage.PromptTokens, ev.Usage.CompletionTokens
	}
	if len(ev.Choices) == 0 || s.final != nil {
		return nil, false, nil
	}
	ch := ev.Choices[0]
	if ch.FinishReason == nil {
		chunk, err := s.text(ch.Text)
		return chunk, false, err
	}
	s.final = &textgen.Result{Text: ch.Text, Finish: *ch.FinishReason, StopString: ch.stopString()}
	return nil, false, nil
}

// ollamaLine reads one line of a streamed generate answer; the line with
// done:true ends the stream.
func (s *streamState) ollamaLine(data []byte) (chunk []byte, end bool, err error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, false, nil
	}
	var ev ollamaReply
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, false, badAnswer("a stream line is not JSON", data)
	}
	if ev.Error != "" {
		return nil, false, &transport.StatusError{StatusCode: http.StatusInternalServerError, Body: data, Message: ev.Error}
	}
	if !ev.Done {
		chunk, err := s.text(ev.Response)
		return chunk, false, err
	}
	s.final = &textgen.Result{Text: ev.Response, Finish: ev.DoneReason}
	s.input, s.output = ev.counts()
	return nil, true, nil
}

// request is the upstream request body for p.
func (c *Client) request(model string, p textgen.Params, stream bool) ([]byte, error) {
	prompt := p.Prompt
	if !c.KeepBOS {
		for _, bos := range []string{"<s>", "<|begin_of_text|>"} {
			if rest, ok := strings.CutPrefix(prompt, bos); ok {
				prompt = rest
				break
			}
		}
	}
	if c.API == Ollama {
		return marshal(ollamaRequest{Model: model, Prompt: prompt, Raw: true, Stream: stream, Options: ollamaOptions{
			NumPredict: p.MaxTokens, Temperature: p.Temperature, TopP: p.TopP, TopK: p.TopK, Stop: p.Stop}})
	}
	r := openAIRequest{Model: model, Prompt: prompt, MaxTokens: p.MaxTokens, Temperature: p.Temperature, TopP: p.TopP, TopK: p.TopK, Stop: p.Stop, Stream: stream}
	if stream {
		r.StreamOptions = &openAIStreamOptions{IncludeUsage: true}
	}
	return marshal(r)
}

func (c *Client) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// send makes the request and returns a 2xx answer; any other answer is
// read into a *transport.StatusError and closed.
func (c *Client) send(ctx context.Context, body []byte, stream bool) (*http.Response, error) {
	url, accept := strings.TrimRight(c.BaseURL, "/")+"/completions", "application/json"
	switch {
	case c.API == Ollama:
		url = strings.TrimRight(c.BaseURL, "/") + "/api/generate"
		if stream {
			accept = "application/x-ndjson"
		}
	case stream:
		accept = "text/event-stream"
	}
	resp, err := transport.PostJSON(ctx, c.HTTPClient, url, body, transport.BearerHeader(c.APIKey, accept), errorMessage)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// fail wraps err with op as call.Fail does (transport.ErrTimeout for a
// timeout, the caller's ctx.Err() for a cancellation); a body cut short
// (io.ErrUnexpectedEOF) also matches ErrIncomplete.
func fail(call *transport.Call, op string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w (%w)", ErrIncomplete, err)
	}
	return call.Fail("completions", op, err)
}

// badAnswer is the error for an upstream answer that cannot be read: a
// 502, as a gateway reports a bad upstream.
func badAnswer(what string, body []byte) error {
	if len(body) > transport.MaxErrorBytes {
		body = body[:transport.MaxErrorBytes]
	}
	return &transport.StatusError{StatusCode: http.StatusBadGateway, Body: body, Message: "completions: " + what}
}

// errorMessage extracts the message of an error answer: OpenAI's
// {"error":{"message"}} or Ollama's {"error":"…"}.
func errorMessage(body []byte) string {
	var v struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(v.Error, &s) == nil {
		return s
	}
	var e openAIError
	if json.Unmarshal(v.Error, &e) == nil {
		return e.Message
	}
	return ""
}
