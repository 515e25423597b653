package codec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/converse-project/converse"
)

// DefaultClaudeTextMaxTokens is the max_tokens_to_sample a ClaudeText value
// sends when the request has no maxTokens and ClaudeText.MaxTokens is zero:
// the native default AWS documents for the field (model-families.md §4.4),
// since Converse applies the model's own default when maxTokens is omitted
// (§2.1) and the native schema requires the field.
const DefaultClaudeTextMaxTokens = 200

// claudeHumanStop is the turn marker the Text Completions models stop on
// by themselves; it is always among the stop sequences.
const claudeHumanStop = "\n\nHuman:"

// ClaudeText is the codec of the "anthropic.claude-text" family: Claude
// Instant 1.2 and Claude 2.x through the Text Completions body
// (model-families.md §4.4). The zero value is ready to use.
type ClaudeText struct {
	// MaxTokens is sent as max_tokens_to_sample when the request sets no
	// maxTokens; 0 means DefaultClaudeTextMaxTokens.
	MaxTokens int
}

var _ Family = ClaudeText{}

// claudeTextRequest is the Text Completions body.
type claudeTextRequest struct {
	Prompt            string   `json:"prompt"`
	MaxTokensToSample int      `json:"max_tokens_to_sample"`
	Temperature       *float64 `json:"temperature,omitempty"`
	TopP              *float64 `json:"top_p,omitempty"`
	StopSequences     []string `json:"stop_sequences"`
}

// Request returns the native Text Completions body for req (§4.4):
//   - the prompt is Anthropic's convention, the system text first (no
//     leading newlines), then "\n\nHuman: …" and "\n\nAssistant: …" for
//     each turn, ending in "\n\nAssistant:" with no trailing space (§6
//     rows 8 and 9); a final assistant turn (a prefill) is left open as
//     "\n\nAssistant: <text>" instead; with no system prompt the prompt
//     starts with "\n\nHuman: ";
//   - a turn's text blocks are joined with "\n"; documents (their text
//     framed as <document name="…" format="…">) come first in the turn,
//     each followed by a blank line; searchResult is framed the same way
//     and citationsContent sent as its text;
//   - maxTokens becomes max_tokens_to_sample (required natively: when
//     absent, ClaudeText.MaxTokens); temperature and topP become
//     temperature and top_p; stop_sequences is always sent, "\n\nHuman:"
//     first, then the request's stop sequences;
//   - additionalModelRequestFields ({"top_k": 50}) is merged into the top
//     level, its members winning.
//
// The format has no images, tools or reasoning: image, video, audio,
// toolUse, toolResult, reasoningContent, toolAddition and toolRemoval
// blocks, a toolConfig, mid-conversation system messages and structured
// output are ValidationExceptions, never dropped. cachePoint carries no
// content and is skipped.
func (c ClaudeText) Request(req *converse.Request) ([]byte, error) {
	if req.ToolConfig != nil {
		return nil, converse.Errorf(converse.KindValidation, "This model doesn't support tool use.")
	}
	if err := claudeRejectOutputConfig(req); err != nil {
		return nil, err
	}
	prompt, err := claudeTextPrompt(req)
	if err != nil {
		return nil, err
	}
	out := claudeTextRequest{Prompt: prompt, MaxTokensToSample: c.MaxTokens, StopSequences: []string{claudeHumanStop}}
	if out.MaxTokensToSample <= 0 {
		out.MaxTokensToSample = DefaultClaudeTextMaxTokens
	}
	if ic := req.InferenceConfig; ic != nil {
		if ic.MaxTokens != nil {
			out.MaxTokensToSample = *ic.MaxTokens
		}
		out.Temperature, out.TopP = ic.Temperature, ic.TopP
		for _, s := range ic.StopSequences {
			if !slices.Contains(out.StopSequences, s) {
				out.StopSequences = append(out.StopSequences, s)
			}
		}
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("codec: encode claude text request: %w", err)
	}
	if len(req.AdditionalModelRequestFields) > 0 && string(req.AdditionalModelRequestFields) != "null" {
		return mergeFields(body, req.AdditionalModelRequestFields)
	}
	return body, nil
}

// claudeTextPrompt renders the conversation as a Human/Assistant prompt.
func claudeTextPrompt(req *converse.Request) (string, error) {
	var b strings.Builder
	sys, err := systemText(req.System)
	if err != nil {
		return "", err
	}
	b.WriteString(sys)
	for i := range req.Messages {
		m := &req.Messages[i]
		path := fmt.Sprintf("messages.%d", i)
		switch m.Role {
		case converse.RoleUser:
			b.WriteString("\n\nHuman: ")
		case converse.RoleAssistant:
			b.WriteString("\n\nAssistant: ")
		default:
			return "", converse.Errorf(converse.KindValidation, "The role at %s.role isn't supported. Use user or assistant and try again.", path)
		}
		text, err := claudeTextTurn(m, path)
		if err != nil {
			return "", err
		}
		if i == len(req.Messages)-1 && m.Role == converse.RoleAssistant {
			// A prefill: the model continues this text. Trailing white
			// space would make it start a new word mid-token.
			b.WriteString(strings.TrimRight(text, " \t\r\n"))
			return b.String(), nil
		}
		b.WriteString(text)
	}
	b.WriteString("\n\nAssistant:")
	return b.String(), nil
}

// claudeTextTurn returns the text of one turn.
func claudeTextTurn(m *converse.Message, path string) (string, error) {
	var docs, parts []string
	for j := range m.Content {
		blk, at := &m.Content[j], fmt.Sprintf("%s.content.%d", path, j)
		switch {
		case blk.Text != nil:
			parts = append(parts, *blk.Text)
		case blk.GuardContent != nil && blk.GuardContent.Text != nil:
			parts = append(parts, blk.GuardContent.Text.Text)
		case blk.GuardContent != nil:
			return "", unsupportedBlock("image")
		case blk.Document != nil:
			s, err := documentText(blk.Document, at+".document")
			if err != nil {
				return "", err
			}
			docs = append(docs, s+"\n")
		case blk.SearchResult != nil:
			parts = append(parts, searchResultText(blk.SearchResult))
		case blk.CitationsContent != nil:
			for _, ct := range blk.CitationsContent.Content {
				if ct.Text != nil {
					parts = append(parts, *ct.Text)
				}
			}
		case blk.CachePoint != nil:
			// A cache checkpoint carries no content.
		default:
			return "", unsupportedBlock(blk.Kind())
		}
	}
	return strings.Join(append(docs, parts...), "\n"), nil
}

// claudeTextChunk is a Text Completions answer or stream chunk:
// {completion, stop_reason, stop}, the last chunk also carrying the
// invocation metrics.
type claudeTextChunk struct {
	Completion *string            `json:"completion"`
	StopReason *string            `json:"stop_reason"`
	Stop       *string            `json:"stop"`
	Error      *claudeError       `json:"error"`
	Metrics    *InvocationMetrics `json:"amazon-bedrock-invocationMetrics"`
}

// claudeTextStop maps a stop_reason and the matched stop sequence (§4.4
// "Stop reasons"): the model ends its turn by emitting "\n\nHuman:", so
// stop_sequence with that stop (or none named) is end_turn, and with a
// caller's sequence stop_sequence; max_tokens is max_tokens, and other
// values pass through.
func claudeTextStop(reason string, stop *string) converse.StopReason {
	switch {
	case reason == "stop_sequence" && (stop == nil || *stop == claudeHumanStop):
		return converse.StopEndTurn
	case reason == "stop_sequence":
		return converse.StopStopSequence
	case reason == "" || reason == "end_turn":
		return converse.StopEndTurn
	}
	return converse.StopReason(reason)
}

// claudeTextTrims reports whether the completion's one leading space is
// to be cut: the prompt ends in "\n\nAssistant:" without a space, so the
// model starts its answer with one (" Rome."), an artefact of the template
// that Converse output does not show (§4.4, §7 item 4). After a prefill
// the space belongs to the continuation and is kept.
func claudeTextTrims(req *converse.Request) bool {
	if req == nil || len(req.Messages) == 0 {
		return true
	}
	return req.Messages[len(req.Messages)-1].Role != converse.RoleAssistant
}

// Response reads a Text Completions answer {completion, stop_reason,
// stop} (§4.4): the completion, its leading space cut (see above), is one
// text block; the stop reason is mapped as claudeTextStop says. The body
// has no token counts: usage is left zero for the caller to fill from
// Bedrock's headers. additionalModelResponseFieldPaths ("/stop") are read
// from the body. A body that is not such an answer is a
// ModelErrorException.
func (ClaudeText) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	var r claudeTextChunk
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	if r.Error != nil {
		return nil, &converse.Error{Kind: converse.KindModelError, Message: "The model returned the following errors: " + r.Error.Message,
			OriginalMessage: r.Error.Message, OriginalStatusCode: claudeErrorStatus(r.Error.Type)}
	}
	if r.Completion == nil {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	text := *r.Completion
	if claudeTextTrims(req) {
		text = strings.TrimPrefix(text, " ")
	}
	reason := ""
	if r.StopReason != nil {
		reason = *r.StopReason
	}
	resp := &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(text)}}},
		StopReason: claudeTextStop(reason, r.Stop),
	}
	if req != nil {
		resp.AdditionalModelResponseFields = ResponseFields(body, req.AdditionalModelResponseFieldPaths)
	}
	return resp, nil
}

// NewStream returns a decoder for one InvokeModelWithResponseStream answer
// of a Text Completions model.
func (ClaudeText) NewStream(req *converse.Request) ChunkDecoder {
	s := &claudeTextStream{trim: claudeTextTrims(req)}
	if req != nil {
		s.paths = req.AdditionalModelResponseFieldPaths
	}
	return s
}

// claudeTextStream decodes a stream of {completion, stop_reason, stop}
// chunks (§4.4 "Stream chunk") into messageStart, text deltas on block 0
// (empty completions are not sent; the first one loses its leading space
// as Response's text does), then, at the chunk with a stop_reason,
// contentBlockStop and messageStop, and metadata with the usage and
// latency of amazon-bedrock-invocationMetrics (on that chunk, or at End).
// A stream with no text at all gets one empty text delta, as Response
// gives an empty text block.
type claudeTextStream struct {
	eventBuilder
	paths []string
	trim  bool
}

func (s *claudeTextStream) Next(chunk []byte) ([]converse.StreamEvent, error) {
	if !s.begin() {
		return nil, s.err
	}
	var c claudeTextChunk
	if err := json.Unmarshal(chunk, &c); err != nil {
		return nil, s.failf(MsgMalformedStream)
	}
	if c.Error != nil {
		return nil, s.fail(&converse.Error{Kind: converse.KindModelStreamError, Message: "The model returned the following errors: " + c.Error.Message,
			OriginalMessage: c.Error.Message, OriginalStatusCode: claudeErrorStatus(c.Error.Type)})
	}
	s.start()
	if c.Completion != nil && !s.stopped {
		text := *c.Completion
		if s.trim && text != "" {
			text, s.trim = strings.TrimPrefix(text, " "), false
		}
		if text != "" {
			s.text(text)
		}
	}
	if c.StopReason != nil && *c.StopReason != "" && !s.stopped {
		s.emptyText()
		s.stop(claudeTextStop(*c.StopReason, c.Stop), ResponseFields(chunk, s.paths))
	}
	if c.Metrics != nil && s.stopped {
		s.metadata(c.Metrics.usage(), c.Metrics.InvocationLatency)
	}
	return s.out, nil
}

// End returns the closing events not yet sent, or a
// ModelStreamErrorException with MsgStreamEnded when no chunk carried a
// stop reason.
func (s *claudeTextStream) End() ([]converse.StreamEvent, error) {
	return s.end(converse.Usage{}, 0)
}
