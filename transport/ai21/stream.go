package ai21

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrMalformed is matched (errors.Is) by the error for a stream event
// that is not a chat completion chunk.
var ErrMalformed = errors.New("ai21: the event is not a chat completion chunk")

// apiChunk is what this package reads of an answer or a chunk.
type apiChunk struct {
	Choices []struct {
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *apiUsage `json:"usage"`
}

type apiUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// metrics is Bedrock's "amazon-bedrock-invocationMetrics" (§1.3).
type metrics struct {
	InputTokenCount   int   `json:"inputTokenCount"`
	OutputTokenCount  int   `json:"outputTokenCount"`
	InvocationLatency int64 `json:"invocationLatency"`
	FirstByteLatency  int64 `json:"firstByteLatency"`
}

// tokenCounts reads an answer's usage; -1 each when it has none (an
// answer that is not JSON is passed on for the caller to reject).
func tokenCounts(body []byte) (in, out int) {
	var r apiChunk
	if json.Unmarshal(body, &r) != nil || r.Usage == nil {
		return -1, -1
	}
	return r.Usage.PromptTokens, r.Usage.CompletionTokens
}

// streamState holds one stream's finish chunk and usage.
type streamState struct {
	start, first time.Time
	usage        *apiUsage
	held         map[string]json.RawMessage // the chunk with the finish_reason
}

// next takes one upstream event and returns the chunk to send now: the
// event itself, or nil for the finish chunk (held) and what follows it.
func (s *streamState) next(data []byte) ([]byte, error) {
	if s.first.IsZero() {
		s.first = time.Now()
	}
	var c apiChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("ai21: invoke stream: %w", ErrMalformed)
	}
	if c.Usage != nil {
		s.usage = c.Usage
	}
	if s.held != nil {
		return nil, nil
	}
	for _, ch := range c.Choices {
		if ch.FinishReason != nil {
			if err := json.Unmarshal(data, &s.held); err != nil || s.held == nil {
				return nil, fmt.Errorf("ai21: invoke stream: %w", ErrMalformed)
			}
			return nil, nil
		}
	}
	return data, nil
}

// end returns the held finish chunk with usage (when AI21 sent it later)
// and the invocation metrics, or fails when the model never finished.
func (s *streamState) end() ([]byte, error) {
	if s.held == nil {
		return nil, fmt.Errorf("ai21: invoke stream: the stream ended before the model finished: %w", io.ErrUnexpectedEOF)
	}
	m := metrics{InvocationLatency: time.Since(s.start).Milliseconds(), FirstByteLatency: s.first.Sub(s.start).Milliseconds()}
	if s.usage != nil {
		m.InputTokenCount, m.OutputTokenCount = s.usage.PromptTokens, s.usage.CompletionTokens
		if u := s.held["usage"]; len(u) == 0 || string(u) == "null" {
			b, err := json.Marshal(map[string]int{"prompt_tokens": s.usage.PromptTokens, "completion_tokens": s.usage.CompletionTokens,
				"total_tokens": s.usage.PromptTokens + s.usage.CompletionTokens})
			if err != nil {
				return nil, fmt.Errorf("ai21: encode usage: %w", err)
			}
			s.held["usage"] = b
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("ai21: encode metrics: %w", err)
	}
	s.held["amazon-bedrock-invocationMetrics"] = b
	out, err := json.Marshal(s.held)
	if err != nil {
		return nil, fmt.Errorf("ai21: encode chunk: %w", err)
	}
	return out, nil
}
