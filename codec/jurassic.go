package codec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// Jurassic2 is the codec of AI21 Jurassic-2 Mid and Ultra
// (catalog.FamilyJurassic2, model-families.md §4.2). The family is
// "Limited – no chat" with no ConverseStream (§3.1): one user message, no
// system prompt, the prompt being that message's text with no template.
//
// The zero value is ready to use; it holds no state.
type Jurassic2 struct{}

var _ Family = Jurassic2{}

// jurassicRequest is the native body (§4.2): only the members this codec
// writes. The penalties (countPenalty, presencePenalty, frequencyPenalty)
// come from additionalModelRequestFields as they are given; Bedrock
// spells their flags in the plural (applyToPunctuations) and takes float
// scales (§6 row 18).
type jurassicRequest struct {
	Prompt        string   `json:"prompt"`
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// jurassicMsgNoHistory and jurassicMsgNoSystem are converse.Validate's
// messages for a "no chat" model (§3.3); the codec repeats the check so
// that it never drops content on its own.
const (
	jurassicMsgNoHistory = "This model doesn't support conversation history. Try again with input that only includes one user message."
	jurassicMsgNoSystem  = "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."
)

// Request builds the Jurassic-2 body for req (§4.2 Converse mapping): the
// one user message's text blocks (and guardContent text), joined with
// "\n", become prompt; maxTokens, temperature, topP and stopSequences keep
// their names; unset ones are left out so that the model's defaults
// apply; additionalModelRequestFields is merged in, its members winning.
//
// A system prompt, more than one message or a non-user one, and any
// content but text (cache points are skipped) are a ValidationException:
// Jurassic-2 has no document chat, vision or tools.
func (Jurassic2) Request(req *converse.Request) ([]byte, error) {
	if len(req.System) > 0 {
		return nil, converse.Errorf(converse.KindValidation, jurassicMsgNoSystem)
	}
	if len(req.Messages) != 1 || req.Messages[0].Role != converse.RoleUser {
		return nil, converse.Errorf(converse.KindValidation, jurassicMsgNoHistory)
	}
	var texts []string
	for _, b := range req.Messages[0].Content {
		switch {
		case b.Text != nil:
			texts = append(texts, *b.Text)
		case b.GuardContent != nil && b.GuardContent.Text != nil:
			texts = append(texts, b.GuardContent.Text.Text)
		case b.CachePoint != nil:
		case b.GuardContent != nil:
			return nil, unsupportedBlock("image")
		default:
			return nil, unsupportedBlock(b.Kind())
		}
	}
	out := jurassicRequest{Prompt: strings.Join(texts, "\n")}
	if ic := req.InferenceConfig; ic != nil {
		out.MaxTokens, out.Temperature, out.TopP, out.StopSequences = ic.MaxTokens, ic.Temperature, ic.TopP, ic.StopSequences
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("codec: encode jurassic-2 request: %w", err)
	}
	if len(req.AdditionalModelRequestFields) > 0 && string(req.AdditionalModelRequestFields) != "null" {
		return mergeFields(body, req.AdditionalModelRequestFields)
	}
	return body, nil
}

// jurassicResponse is the native answer (§4.2): only the members read.
// id (a number or a string depending on the source) and the tokens are
// not read.
type jurassicResponse struct {
	Completions []struct {
		Data *struct {
			Text string `json:"text"`
		} `json:"data"`
		FinishReason struct {
			Reason string `json:"reason"`
		} `json:"finishReason"`
	} `json:"completions"`
	Metrics *InvocationMetrics `json:"amazon-bedrock-invocationMetrics"`
}

// Response reads a Jurassic-2 answer (§4.2): completions[0].data.text
// becomes the one text block, as the model wrote it (leading space
// included, §7 item 4), and finishReason.reason the stop reason:
// endoftext → end_turn, length → max_tokens, stop → stop_sequence (§4.12);
// other values pass through. The body carries no token counts, so usage
// is left zero for the caller to fill from Bedrock's headers, unless the
// body has "amazon-bedrock-invocationMetrics" (Spring AI reads it there,
// §1.3). An answer without a completion is a ModelErrorException.
func (Jurassic2) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	var r jurassicResponse
	if err := json.Unmarshal(body, &r); err != nil || len(r.Completions) == 0 || r.Completions[0].Data == nil {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	c := r.Completions[0]
	resp := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(c.Data.Text)}}},
		StopReason: jurassicStopReason(c.FinishReason.Reason),
	}
	if m := r.Metrics; m != nil {
		resp.Usage = m.usage()
		resp.Metrics.LatencyMs = m.InvocationLatency
	}
	return resp, nil
}

func jurassicStopReason(reason string) converse.StopReason {
	switch reason {
	case "endoftext", "":
		return converse.StopEndTurn
	case "length":
		return converse.StopMaxTokens
	case "stop":
		return converse.StopStopSequence
	}
	return converse.StopReason(reason)
}

// NewStream returns a decoder for a Jurassic-2 "stream". Jurassic-2
// cannot stream (§4.2; converse.Validate rejects ConverseStream for it),
// so the only stream it decodes is the one a gateway fakes from a whole
// answer, as LiteLLM does: a single chunk holding a complete Jurassic-2
// answer, which becomes the events converse.Events gives for Response's
// result (metadata at End). A second answer chunk is a
// ModelStreamErrorException.
func (Jurassic2) NewStream(req *converse.Request) ChunkDecoder {
	return &jurassicStream{req: req}
}

type jurassicStream struct {
	eventBuilder
	req *converse.Request
	evs []converse.StreamEvent // the events of the answer, metadata last
}

func (s *jurassicStream) Next(chunk []byte) ([]converse.StreamEvent, error) {
	if !s.begin() {
		return nil, s.err
	}
	if s.stopped { // a second answer
		return nil, s.failf(MsgMalformedStream)
	}
	resp, err := Jurassic2{}.Response(s.req, chunk)
	if err != nil {
		return nil, s.failf(MsgMalformedStream)
	}
	s.evs, s.stopped = converse.Events(resp), true
	return s.evs[:len(s.evs)-1], nil
}

func (s *jurassicStream) End() ([]converse.StreamEvent, error) {
	if !s.begin() {
		return nil, s.err
	}
	if !s.stopped {
		return nil, s.failf(MsgStreamEnded)
	}
	s.done = true
	return s.evs[len(s.evs)-1:], nil
}
