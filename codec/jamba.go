package codec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// Jamba is the codec of family "ai21.jamba": AI21 Jamba-Instruct on
// Bedrock (model-families.md §4.1). The zero value is ready to use.
//
// The native request is {messages, max_tokens, temperature, top_p, stop}
// with string contents and the system prompt as a leading "system"
// message; n, frequency_penalty and presence_penalty come in through
// additionalModelRequestFields. The native response is OpenAI-like:
// choices[].message, finish_reason, usage. Jamba-Instruct has no tool use,
// vision or document chat on Bedrock (§3.1): such content is rejected,
// never dropped.
type Jamba struct{}

var _ Family = Jamba{}

type (
	jambaRequest struct {
		Messages    []jambaMessage `json:"messages"`
		MaxTokens   *int           `json:"max_tokens,omitempty"`
		Temperature *float64       `json:"temperature,omitempty"`
		TopP        *float64       `json:"top_p,omitempty"`
		Stop        []string       `json:"stop,omitempty"`
	}
	jambaMessage struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	// jambaResponse is the native answer or one stream chunk.
	jambaResponse struct {
		Choices []struct {
			Index   int `json:"index"`
			Message *struct {
				Content *string `json:"content"`
			} `json:"message"`
			Delta *struct {
				Content *string `json:"content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *oaiUsage `json:"usage"`
	}
)

// Request builds the native body for req (§4.1 "Converse mapping"):
// system blocks become a leading "system" message (texts joined with
// "\n"), a mid-conversation system-role message a "system" message in
// place; a turn's content is its text blocks (and guardContent or
// citationsContent text) joined with "\n"; maxTokens, temperature, topP
// and stopSequences become max_tokens, temperature, top_p and stop, each
// omitted when unset so that the model's own default applies (Bedrock's
// page gives temperature 1.0 and AI21's API 0.4: §6 row 13);
// additionalModelRequestFields are merged at the top level, theirs
// winning. Tool configuration, tool use and results, images, documents,
// video, audio, search results and structured output are rejected with a
// ValidationException; reasoningContent and cache points are skipped.
func (Jamba) Request(req *converse.Request) ([]byte, error) {
	out := jambaRequest{Messages: []jambaMessage{}}
	sys, err := systemText(req.System)
	if err != nil {
		return nil, err
	}
	if sys != "" {
		out.Messages = append(out.Messages, jambaMessage{Role: "system", Content: sys})
	}
	if req.ToolConfig != nil {
		return nil, converse.Errorf(converse.KindValidation, "This model doesn't support tool use.")
	}
	if err := jambaRejectOutputConfig(req); err != nil {
		return nil, err
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role != converse.RoleUser && m.Role != converse.RoleAssistant && m.Role != converse.RoleSystem {
			return nil, converse.Errorf(converse.KindValidation, "The role at messages.%d.role isn't supported. Use user or assistant and try again.", i)
		}
		var texts []string
		for j := range m.Content {
			switch b := &m.Content[j]; {
			case b.Text != nil:
				texts = append(texts, *b.Text)
			case b.GuardContent != nil && b.GuardContent.Text != nil:
				texts = append(texts, b.GuardContent.Text.Text)
			case b.CitationsContent != nil:
				for _, c := range b.CitationsContent.Content {
					if c.Text != nil {
						texts = append(texts, *c.Text)
					}
				}
			case b.CachePoint != nil, b.ReasoningContent != nil:
				// No content to carry, or no native member to carry it in.
			case b.ToolUse != nil, b.ToolResult != nil:
				return nil, converse.Errorf(converse.KindValidation, "This model doesn't support tool use.")
			case b.GuardContent != nil:
				return nil, unsupportedBlock("image")
			default:
				return nil, unsupportedBlock(b.Kind())
			}
		}
		if len(texts) > 0 {
			out.Messages = append(out.Messages, jambaMessage{Role: string(m.Role), Content: strings.Join(texts, "\n")})
		}
	}
	if ic := req.InferenceConfig; ic != nil {
		out.MaxTokens, out.Temperature, out.TopP, out.Stop = ic.MaxTokens, ic.Temperature, ic.TopP, ic.StopSequences
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("codec: encode jamba request: %w", err)
	}
	if len(req.AdditionalModelRequestFields) > 0 && string(req.AdditionalModelRequestFields) != "null" {
		return mergeFields(body, req.AdditionalModelRequestFields)
	}
	return body, nil
}

// Response reads the native answer: choices[0].message.content becomes the
// text block (one empty text block when there is none); finish_reason stop
// → end_turn, length → max_tokens, other values pass through. A stop
// caused by a stop sequence also reads "stop" natively (the stop string is
// not returned), so it gives end_turn: Bedrock cannot tell either (§4.1).
// usage maps to inputTokens and outputTokens (invocation metrics are read
// when there is no usage). With n > 1 only the first choice is read:
// Converse returns one message. A body that is not such an answer is a
// ModelErrorException.
func (Jamba) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	var r jambaResponse
	if err := json.Unmarshal(body, &r); err != nil || len(r.Choices) == 0 || r.Choices[0].Message == nil {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	ch := r.Choices[0]
	text := ""
	if ch.Message.Content != nil {
		text = *ch.Message.Content
	}
	resp := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(text)}}},
		StopReason: jambaStopReason(ch.FinishReason),
	}
	if r.Usage != nil {
		resp.Usage = usage(r.Usage)
	} else if m, ok := invocationMetrics(body); ok {
		resp.Usage = m.usage()
	}
	resp.AdditionalModelResponseFields = ResponseFields(body, req.AdditionalModelResponseFieldPaths)
	return resp, nil
}

// jambaStopReason maps finish_reason (§4.12).
func jambaStopReason(finish *string) converse.StopReason {
	if finish == nil {
		return converse.StopEndTurn
	}
	switch *finish {
	case "stop", "":
		return converse.StopEndTurn
	case "length":
		return converse.StopMaxTokens
	}
	return converse.StopReason(*finish)
}

// NewStream returns a decoder for Jamba's native stream chunks (§4.1):
// OpenAI-style {"choices":[{"index":0,"delta":{"content":"Ro"},
// "finish_reason":null}]}, the last with finish_reason set and
// "amazon-bedrock-invocationMetrics". Text becomes text deltas of block 0
// (no contentBlockStart; empty strings give no delta); the chunk with a
// finish_reason closes the block and sends messageStop; metadata follows
// at End with usage from the invocation metrics (or a usage member) and
// latencyMs from invocationLatency. A stream that ends before a
// finish_reason fails at End with a ModelStreamErrorException.
func (Jamba) NewStream(req *converse.Request) ChunkDecoder {
	return &jambaStream{}
}

// jambaStream is the state of one Jamba stream.
type jambaStream struct {
	eventBuilder
	usage   converse.Usage
	latency int64
}

// Next decodes one chunk. A chunk that is not JSON ends the stream with a
// ModelStreamErrorException; after an error every call returns it again.
// Chunks after the finish_reason only contribute usage.
func (s *jambaStream) Next(chunk []byte) ([]converse.StreamEvent, error) {
	if !s.begin() {
		return nil, s.err
	}
	var c jambaResponse
	if err := json.Unmarshal(chunk, &c); err != nil {
		return nil, s.failf(MsgMalformedStream)
	}
	if m, ok := invocationMetrics(chunk); ok {
		s.usage, s.latency = m.usage(), m.InvocationLatency
	} else if c.Usage != nil {
		s.usage = usage(c.Usage)
	}
	if s.stopped {
		return s.out, nil
	}
	s.start()
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // Converse has one choice
		}
		var text *string
		switch {
		case ch.Delta != nil:
			text = ch.Delta.Content
		case ch.Message != nil:
			text = ch.Message.Content
		}
		if text != nil && *text != "" {
			s.text(*text)
		}
		if ch.FinishReason != nil {
			s.emptyText() // an answer always has a content block
			s.stop(jambaStopReason(ch.FinishReason), nil)
			break
		}
	}
	return s.out, nil
}

// End sends metadata, or fails when no finish_reason arrived.
func (s *jambaStream) End() ([]converse.StreamEvent, error) {
	return s.end(s.usage, s.latency)
}

// jambaRejectOutputConfig refuses structured output: the native body has
// no member for it.
func jambaRejectOutputConfig(req *converse.Request) error {
	if oc := req.OutputConfig; oc != nil && oc.TextFormat != nil {
		return converse.Errorf(converse.KindValidation, "This model doesn't support the outputConfig.textFormat field. Remove outputConfig.textFormat and try again.")
	}
	return nil
}
