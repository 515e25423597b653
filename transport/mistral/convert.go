package mistral

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/converse-project/converse/transport"
)

// Mistral's API answers (§5.4): a chat.completion, or a
// chat.completion.chunk whose choices carry a delta.
type (
	apiResponse struct {
		Choices []apiChoice `json:"choices"`
		Usage   *apiUsage   `json:"usage"`
		// An error object sent in place of a chunk.
		Object  string          `json:"object"`
		Message json.RawMessage `json:"message"`
	}
	apiChoice struct {
		Index        int         `json:"index"`
		Message      *apiMessage `json:"message"`
		Delta        *apiMessage `json:"delta"`
		FinishReason *string     `json:"finish_reason"`
	}
	apiMessage struct {
		Content   json.RawMessage `json:"content"`
		ToolCalls []apiToolCall   `json:"tool_calls"`
	}
	apiToolCall struct {
		ID       string `json:"id"`
		Function struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"function"`
	}
	apiUsage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	}
)

// Bedrock's native Mistral chat answer and chunks (§4.11).
type (
	bedrockResponse struct {
		Choices []bedrockChoice `json:"choices"`
		Metrics *metrics        `json:"amazon-bedrock-invocationMetrics,omitempty"`
	}
	// bedrockChoice carries the stop reason twice: AWS's page names it
	// stop_reason while clients of the live service read finish_reason
	// (model-families.md §6 row 14), so both are written with the same
	// value and either kind of InvokeModel client works.
	bedrockChoice struct {
		Index        int            `json:"index"`
		Message      bedrockMessage `json:"message"`
		StopReason   *string        `json:"stop_reason"`
		FinishReason *string        `json:"finish_reason"`
	}
	bedrockMessage struct {
		Role      string            `json:"role"`
		Content   string            `json:"content"`
		ToolCalls []bedrockToolCall `json:"tool_calls,omitempty"`
	}
	bedrockToolCall struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	metrics struct {
		InputTokenCount   int   `json:"inputTokenCount"`
		OutputTokenCount  int   `json:"outputTokenCount"`
		InvocationLatency int64 `json:"invocationLatency"`
		FirstByteLatency  int64 `json:"firstByteLatency"`
	}
)

// ErrMalformed is matched (errors.Is) by the error for a 2xx upstream
// answer, or stream event, that is not a chat completion.
var ErrMalformed = errors.New("mistral: the answer is not a chat completion")

// toBedrock converts a chat.completion into Bedrock's native answer:
// choices with message {role, content, tool_calls} and the stop reason;
// Bedrock's body has no usage (its token counts travel in headers,
// §4.12), so usage is returned as the token counts instead (-1 when
// absent).
func toBedrock(body []byte) (out []byte, in, outTokens int, err error) {
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Choices == nil {
		return nil, 0, 0, ErrMalformed
	}
	var b bedrockResponse
	for _, ch := range r.Choices {
		c, err := toBedrockChoice(ch)
		if err != nil {
			return nil, 0, 0, err
		}
		b.Choices = append(b.Choices, c)
	}
	in, outTokens = -1, -1
	if r.Usage != nil {
		in, outTokens = r.Usage.PromptTokens, r.Usage.CompletionTokens
	}
	out, err = json.Marshal(b)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("mistral: encode answer: %w", err)
	}
	return out, in, outTokens, nil
}

func toBedrockChoice(ch apiChoice) (bedrockChoice, error) {
	m := ch.Message
	if m == nil {
		m = ch.Delta
	}
	c := bedrockChoice{Index: ch.Index, Message: bedrockMessage{Role: "assistant"}}
	if ch.FinishReason != nil {
		r := bedrockReason(*ch.FinishReason)
		c.StopReason, c.FinishReason = &r, &r
	}
	if m == nil {
		return c, nil
	}
	text, err := contentText(m.Content)
	if err != nil {
		return c, err
	}
	c.Message.Content = text
	for _, tc := range m.ToolCalls {
		var b bedrockToolCall
		b.ID, b.Function.Name = tc.ID, tc.Function.Name
		b.Function.Arguments, err = argumentsText(tc.Function.Arguments)
		if err != nil {
			return c, err
		}
		c.Message.ToolCalls = append(c.Message.ToolCalls, b)
	}
	return c, nil
}

// bedrockReason maps Mistral's finish_reason to Bedrock's values (stop,
// length, tool_calls): model_length (the context window ran out) reads as
// length; others pass through.
func bedrockReason(r string) string {
	if r == "model_length" {
		return "length"
	}
	return r
}

// contentText reads message content: a string, null, or (newer models)
// an array of chunks whose text members are joined.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("%w: content is neither text nor chunks", ErrMalformed)
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// argumentsText returns tool call arguments as JSON text: Mistral's API
// may send them as a string or as an object, Bedrock's body has a string.
func argumentsText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", fmt.Errorf("%w: bad tool call arguments", ErrMalformed)
	}
	return buf.String(), nil
}

// streamState turns Mistral's chunks into Bedrock's, one stream at a time.
type streamState struct {
	start, first time.Time
	usage        *apiUsage
	held         *bedrockResponse // the chunk with the stop reason
}

// next converts one upstream event; it returns nil when there is nothing
// to send yet (the finish chunk is held, and chunks after it only bring
// usage).
func (s *streamState) next(data []byte) ([]byte, error) {
	if s.first.IsZero() {
		s.first = time.Now()
	}
	var r apiResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("mistral: invoke stream: %w", ErrMalformed)
	}
	if r.Object == "error" || (r.Choices == nil && len(r.Message) > 0) {
		msg := errorMessage(data)
		return nil, &transport.StatusError{StatusCode: http.StatusInternalServerError, Body: data, Message: msg}
	}
	if r.Usage != nil {
		s.usage = r.Usage
	}
	if s.held != nil {
		return nil, nil
	}
	var b bedrockResponse
	finished := false
	for _, ch := range r.Choices {
		c, err := toBedrockChoice(ch)
		if err != nil {
			return nil, err
		}
		finished = finished || c.StopReason != nil
		b.Choices = append(b.Choices, c)
	}
	if finished {
		s.held = &b
		return nil, nil
	}
	if len(b.Choices) == 0 {
		return nil, nil // a usage-only chunk
	}
	for i := range b.Choices {
		b.Choices[i].StopReason, b.Choices[i].FinishReason = nil, nil
	}
	out, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("mistral: encode chunk: %w", err)
	}
	return out, nil
}

// end returns the held finish chunk with the invocation metrics, or fails
// when the model never finished.
func (s *streamState) end() ([]byte, error) {
	if s.held == nil {
		return nil, fmt.Errorf("mistral: invoke stream: the stream ended before the model finished: %w", io.ErrUnexpectedEOF)
	}
	m := &metrics{InvocationLatency: time.Since(s.start).Milliseconds(), FirstByteLatency: s.first.Sub(s.start).Milliseconds()}
	if s.usage != nil {
		m.InputTokenCount, m.OutputTokenCount = s.usage.PromptTokens, s.usage.CompletionTokens
	}
	s.held.Metrics = m
	out, err := json.Marshal(s.held)
	if err != nil {
		return nil, fmt.Errorf("mistral: encode chunk: %w", err)
	}
	return out, nil
}
