package codec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// CohereCommand is the codec of Cohere Command and Command Light, the
// "generate" family (catalog.FamilyCohereCommand, model-families.md §4.6).
// The family is "Limited – no chat" (§3.1): one user message, no system
// prompt, so the prompt is that message's text with no template.
//
// The zero value is ready to use; it holds no state.
type CohereCommand struct{}

var _ Family = CohereCommand{}

// cohereGenerateRequest is the native body (§4.6): only the members this
// codec writes. Everything else (k, return_likelihoods, num_generations,
// logit_bias, truncate) comes from additionalModelRequestFields.
type cohereGenerateRequest struct {
	Prompt        string   `json:"prompt"`
	MaxTokens     *int     `json:"max_tokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	P             *float64 `json:"p,omitempty"`
	StopSequences []string `json:"stop_sequences,omitempty"`
	Stream        bool     `json:"stream,omitempty"`
}

// Messages of the ValidationException for what a "no chat" model cannot
// take, as converse.Validate words them (model-families.md §3.3). The
// codec repeats the check so that it never drops content on its own.
const (
	cohereMsgNoHistory = "This model doesn't support conversation history. Try again with input that only includes one user message."
	cohereMsgNoSystem  = "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."
)

// Request builds the generate body for req (§4.6 Converse mapping):
//   - the one user message becomes prompt: its text blocks (and
//     guardContent text) joined with "\n", after its documents, each
//     framed as in ToOpenAIChat (<document name="…" format="…">…);
//     Command has document chat and no native document field, so the
//     text is inlined (§4.6: "presumably inlined as text");
//   - maxTokens, temperature, topP and stopSequences become max_tokens,
//     temperature, p and stop_sequences; unset ones are left out, so the
//     model's defaults apply (§6 row 12);
//   - additionalModelRequestFields (k, return_likelihoods, …) is merged
//     into the body, its members winning.
//
// Request never sets "stream": StreamRequest does, for
// invoke-with-response-stream.
//
// A system prompt, more than one message, a non-user message, and
// content other than text, guardContent text and documents are a
// ValidationException; cache points are skipped.
func (CohereCommand) Request(req *converse.Request) ([]byte, error) {
	return cohereGenerateBody(req, false)
}

// StreamRequest is Request with "stream": true, which the generate API
// needs in the body to stream (§4.6: "must be true in the body to
// stream"; LiteLLM keeps stream in the body for this family alone).
// Family.Request cannot tell a ConverseStream from a Converse, so a
// backend that streams this family asks for this body instead.
func (CohereCommand) StreamRequest(req *converse.Request) ([]byte, error) {
	return cohereGenerateBody(req, true)
}

func cohereGenerateBody(req *converse.Request, stream bool) ([]byte, error) {
	if len(req.System) > 0 {
		return nil, converse.Errorf(converse.KindValidation, cohereMsgNoSystem)
	}
	if len(req.Messages) != 1 || req.Messages[0].Role != converse.RoleUser {
		return nil, converse.Errorf(converse.KindValidation, cohereMsgNoHistory)
	}
	var docs, texts []string
	for j := range req.Messages[0].Content {
		b, at := &req.Messages[0].Content[j], fmt.Sprintf("messages.0.content.%d", j)
		switch {
		case b.Text != nil:
			texts = append(texts, *b.Text)
		case b.GuardContent != nil && b.GuardContent.Text != nil:
			texts = append(texts, b.GuardContent.Text.Text)
		case b.Document != nil:
			s, err := documentText(b.Document, at+".document")
			if err != nil {
				return nil, err
			}
			docs = append(docs, s)
		case b.CachePoint != nil:
		case b.GuardContent != nil:
			return nil, unsupportedBlock("image")
		default:
			return nil, unsupportedBlock(b.Kind())
		}
	}
	out := cohereGenerateRequest{Prompt: strings.Join(append(docs, texts...), "\n"), Stream: stream}
	if ic := req.InferenceConfig; ic != nil {
		out.MaxTokens, out.Temperature, out.P, out.StopSequences = ic.MaxTokens, ic.Temperature, ic.TopP, ic.StopSequences
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("codec: encode cohere generate request: %w", err)
	}
	if len(req.AdditionalModelRequestFields) > 0 && string(req.AdditionalModelRequestFields) != "null" {
		return mergeFields(body, req.AdditionalModelRequestFields)
	}
	return body, nil
}

// cohereGeneration is one member of generations[], and also the shape of
// a flat stream chunk (§4.6, §6 row 10).
type cohereGeneration struct {
	Text         string `json:"text"`
	FinishReason string `json:"finish_reason"`
	Index        int    `json:"index"`
}

type cohereGenerateResponse struct {
	Generations []cohereGeneration `json:"generations"`
	Message     *string            `json:"message"` // an error answer's text
}

// Response reads a generate answer (§4.6): generations[0].text becomes
// the one text block (as the model wrote it, leading space included:
// whether Bedrock trims it is not known, §7 item 4), and finish_reason
// the stop reason: COMPLETE → end_turn (a stop sequence also ends in
// COMPLETE and the stop text is not returned, so it cannot be told
// apart), MAX_TOKENS → max_tokens, ERROR_TOXIC → content_filtered; other
// values pass through. ERROR is a ModelErrorException. The body carries
// no token counts: usage is left zero for the caller to fill from
// Bedrock's headers (§4.12).
func (CohereCommand) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	var r cohereGenerateResponse
	if err := json.Unmarshal(body, &r); err != nil || len(r.Generations) == 0 {
		if err == nil && r.Message != nil && *r.Message != "" {
			return nil, &converse.Error{Kind: converse.KindModelError, Message: "The model returned the following errors: " + *r.Message, OriginalMessage: *r.Message}
		}
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	g := r.Generations[0]
	if g.FinishReason == "ERROR" {
		return nil, converse.Errorf(converse.KindModelError, cohereMsgGenerationError)
	}
	return &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(g.Text)}}},
		StopReason: cohereStopReason(g.FinishReason, false),
	}, nil
}

// cohereMsgGenerationError is the message for a generation that ended in
// finish_reason ERROR, which carries no text of its own (wording ours).
const cohereMsgGenerationError = "The model returned the following errors: the generation ended with an error (finish_reason ERROR)."

// cohereStopReason maps a Cohere finish_reason (generate and chat v1, and
// chat v2's extra values) to Converse's (§4.6, §4.7, §4.12).
func cohereStopReason(finish string, toolCalls bool) converse.StopReason {
	switch finish {
	case "COMPLETE", "":
		if toolCalls {
			return converse.StopToolUse
		}
		return converse.StopEndTurn
	case "TOOL_CALL":
		return converse.StopToolUse
	case "STOP_SEQUENCE":
		return converse.StopStopSequence
	case "MAX_TOKENS", "ERROR_LIMIT":
		return converse.StopMaxTokens
	case "ERROR_TOXIC":
		return converse.StopContentFiltered
	}
	return converse.StopReason(finish)
}

// NewStream returns a decoder for the chunks of a streamed generate
// answer (asked for with StreamRequest).
func (CohereCommand) NewStream(req *converse.Request) ChunkDecoder {
	return &cohereCommandStream{}
}

// cohereGenerateChunk is one decoded stream chunk. Sources disagree on
// its shape (§6 row 10): Portkey and Spring AI read flat chunks
// {text, is_finished, finish_reason}, the AWS SDK example and a Vercel
// fixture read {generations:[{text}]}. Both are accepted. The final flat
// chunk also repeats the whole answer under "response", which is not
// read again.
type cohereGenerateChunk struct {
	cohereGeneration
	IsFinished  bool               `json:"is_finished"`
	Generations []cohereGeneration `json:"generations"`
}

// cohereCommandStream decodes one generate stream: messageStart, text
// deltas at index 0 (empty texts send none), then, at the chunk that is
// finished (is_finished, or a finish_reason), contentBlockStop and
// messageStop; metadata at End with the usage and latency of
// "amazon-bedrock-invocationMetrics". Chunks of other generations
// (index > 0, num_generations > 1) are skipped: Converse has one.
type cohereCommandStream struct {
	cohereTextStream
}

func (s *cohereCommandStream) Next(chunk []byte) ([]converse.StreamEvent, error) {
	if !s.begin() {
		return nil, s.err
	}
	var c cohereGenerateChunk
	if err := json.Unmarshal(chunk, &c); err != nil {
		return nil, s.failf(MsgMalformedStream)
	}
	s.metrics(chunk)
	if s.stopped {
		return nil, nil // metrics alone may follow the finished chunk
	}
	g := c.cohereGeneration
	if len(c.Generations) > 0 {
		g = c.Generations[0]
	}
	if g.Index != 0 {
		return nil, nil
	}
	s.generated(g.Text)
	if c.IsFinished || g.FinishReason != "" {
		if g.FinishReason == "ERROR" {
			return nil, s.failf(cohereMsgGenerationError)
		}
		s.finish(cohereStopReason(g.FinishReason, false))
	}
	return s.out, nil
}

// cohereTextStream is the state of a text-only stream: one text block at
// index 0, closed when the model finishes. Usage and latency come from
// "amazon-bedrock-invocationMetrics" (§1.3) unless set from the body.
type cohereTextStream struct {
	eventBuilder
	sawText bool
	usage   converse.Usage
	billed  bool // usage came from the body: the metrics do not replace it
	latency int64
}

// generated sends a text delta; empty text sends none (§4.13 B).
func (s *cohereTextStream) generated(t string) {
	s.start()
	if t == "" {
		return
	}
	s.sawText = true
	s.text(t)
}

// finish closes the text block (sending an empty one when the model
// wrote nothing, as Response gives one) and sends messageStop.
func (s *cohereTextStream) finish(reason converse.StopReason) {
	s.start()
	s.emptyText()
	s.stop(reason, nil)
}

// metrics records the chunk's invocation metrics, if any.
func (s *cohereTextStream) metrics(chunk []byte) {
	if m, ok := invocationMetrics(chunk); ok {
		if !s.billed {
			s.usage = m.usage()
		}
		s.latency = m.InvocationLatency
	}
}

// End sends metadata, or fails with MsgStreamEnded when the model never
// finished.
func (s *cohereTextStream) End() ([]converse.StreamEvent, error) {
	return s.end(s.usage, s.latency)
}
