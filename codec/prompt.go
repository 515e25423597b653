package codec

import (
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// This file holds what the prompt-template families (Llama 2, Llama 3,
// Mistral Instruct, Titan; model-families.md §4.3, §4.8-§4.10) share: the
// conversation flattened to plain-text turns, the Converse response built
// from a generated text, and one ChunkDecoder driven by a family's chunk
// parser. Each family file only knows its template and its native shapes.

// promptTurn is one turn of a conversation as plain text.
type promptTurn struct {
	role converse.Role // user, assistant or system (a mid-conversation system message)
	text string
}

// promptPartSep separates the parts of one turn: each document, then the
// turn's text blocks. A blank line keeps a framed document visibly apart
// from the question that follows it.
const promptPartSep = "\n\n"

// msgPromptNoToolUse is Bedrock's answer to tools sent to a model that
// cannot take them (model-families.md §3.3). The prompt families render no
// tool prompts, so even Llama 3.1, which Bedrock serves tools for, gets it
// here rather than having its tools silently dropped.
const msgPromptNoToolUse = "This model doesn't support tool use."

// msgPromptNoSystem is Bedrock's answer to a system prompt for a model
// without one, in the shorter of the two observed wordings
// (model-families.md §6 row 15).
const msgPromptNoSystem = "This model doesn't support system messages. Try again without a system message."

// promptConversation flattens req into its system text and turns, as the
// prompt templates consume them:
//   - system blocks join with "\n" (as ToOpenAIChat joins them);
//   - a turn's documents (their text read and framed by documentText) come
//     first, then its text blocks (guardContent text and citationsContent
//     text count as text, a searchResult is framed like a document), all
//     joined with a blank line;
//   - cache points and reasoningContent carry nothing a text prompt can
//     hold and are skipped, as ToOpenAIChat skips them;
//   - images, video, audio, tool blocks and toolConfig are rejected with a
//     ValidationException: a text prompt cannot carry them, and Bedrock
//     rejects rather than drops (model-families.md §3.2).
func promptConversation(req *converse.Request) (system string, turns []promptTurn, err error) {
	if req.ToolConfig != nil {
		return "", nil, converse.Errorf(converse.KindValidation, msgPromptNoToolUse)
	}
	if system, err = systemText(req.System); err != nil {
		return "", nil, err
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role != converse.RoleUser && m.Role != converse.RoleAssistant && m.Role != converse.RoleSystem {
			return "", nil, converse.Errorf(converse.KindValidation, "The role at messages.%d.role isn't supported. Use user or assistant and try again.", i)
		}
		var docs, parts []string
		for j := range m.Content {
			b, at := &m.Content[j], fmt.Sprintf("messages.%d.content.%d", i, j)
			switch {
			case b.Text != nil:
				parts = append(parts, *b.Text)
			case b.GuardContent != nil && b.GuardContent.Text != nil:
				parts = append(parts, b.GuardContent.Text.Text)
			case b.GuardContent != nil:
				return "", nil, unsupportedBlock("image")
			case b.Document != nil:
				s, err := documentText(b.Document, at+".document")
				if err != nil {
					return "", nil, err
				}
				docs = append(docs, s)
			case b.SearchResult != nil:
				parts = append(parts, searchResultText(b.SearchResult))
			case b.CitationsContent != nil:
				for _, c := range b.CitationsContent.Content {
					if c.Text != nil {
						parts = append(parts, *c.Text)
					}
				}
			case b.ToolUse != nil, b.ToolResult != nil, b.ToolAddition != nil, b.ToolRemoval != nil:
				return "", nil, converse.Errorf(converse.KindValidation, msgPromptNoToolUse)
			case b.CachePoint != nil, b.ReasoningContent != nil:
			default:
				return "", nil, unsupportedBlock(b.Kind())
			}
		}
		turns = append(turns, promptTurn{role: m.Role, text: strings.Join(append(docs, parts...), promptPartSep)})
	}
	return system, turns, nil
}

// promptStop finds the earliest stop sequence in text: the index where it
// starts, or -1. It serves the families whose native body has no stop
// field (Llama, model-families.md §4.8): the codec cuts the text itself.
func promptStop(text string, stops []string) int {
	at := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	return at
}

// promptHold is how many bytes at the end of text could be the start of a
// stop sequence and must be held back from a stream until the next chunk
// tells whether the stop sequence follows.
func promptHold(text string, stops []string) int {
	hold := 0
	for _, s := range stops {
		for k := min(len(s)-1, len(text)); k > hold; k-- {
			if strings.HasSuffix(text, s[:k]) {
				hold = k
				break
			}
		}
	}
	return hold
}

// The SentencePiece BOS and EOS tokens of Llama 2 and Mistral, written as
// text (model-families.md §4.8, §4.10).
const (
	promptBOS = "<s>"
	promptEOS = "</s>"
)

// promptStopReason maps stop → end_turn (also for a missing reason) and
// length → max_tokens for Llama and Mistral (model-families.md §4.12); other values pass
// through.
func promptStopReason(r *string) converse.StopReason {
	switch {
	case r == nil || *r == "" || *r == "stop":
		return converse.StopEndTurn
	case *r == "length":
		return converse.StopMaxTokens
	}
	return converse.StopReason(*r)
}

// promptUsage is a Converse usage from token counts.
func promptUsage(in, out int) converse.Usage {
	return converse.Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
}

// promptResponse is the Converse response for a generated text: one text
// block (empty when nothing was generated: Bedrock always returns content),
// the stop reason, the usage, and the native members the request's
// additionalModelResponseFieldPaths name.
func promptResponse(req *converse.Request, body []byte, text string, reason converse.StopReason, u converse.Usage) *converse.Response {
	return &converse.Response{
		Output:                        converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(text)}}},
		StopReason:                    reason,
		Usage:                         u,
		AdditionalModelResponseFields: ResponseFields(body, req.AdditionalModelResponseFieldPaths),
	}
}

// promptMalformed is the error for a native answer that cannot be read.
func promptMalformed() error { return converse.Errorf(converse.KindModelError, MsgMalformedReply) }

// promptChunk is what one native stream chunk of a text family says.
type promptChunk struct {
	text     string
	finished bool                // the chunk carries the stop reason
	reason   converse.StopReason // mapped, when finished
	input    *int                // prompt token count, when the chunk has it
	output   *int                // running generated token count, when the chunk has it
}

// promptStream is the ChunkDecoder of the prompt-template families: one
// text block at index 0, fed by parse, the family's chunk reader. It is
// not safe for concurrent use.
//
// Events follow model-families.md §2.4 and §4.13 B: messageStart with the
// first chunk; a text delta per chunk that has text (never an empty
// delta); at the chunk that carries the stop reason, contentBlockStop and
// messageStop; metadata last, as soon as the invocation metrics are known
// (usually on that same chunk) or at End. Usage comes from
// "amazon-bedrock-invocationMetrics" when present, else from the chunks'
// own counts.
//
// With stops set (families without a native stop field), text is cut at
// the first stop sequence and the stop reason becomes stop_sequence; a tail
// that could be the start of a stop sequence is held back until the next
// chunk settles it, so no part of a stop sequence reaches the caller. The
// model's text after the cut is discarded.
type promptStream struct {
	eventBuilder
	parse func([]byte) (promptChunk, error)
	stops []string
	paths []string

	cut           bool   // a stop sequence was found
	held          string // text held back: maybe the start of a stop sequence
	input, output int
	metrics       *InvocationMetrics
}

func newPromptStream(req *converse.Request, stops []string, parse func([]byte) (promptChunk, error)) *promptStream {
	return &promptStream{parse: parse, stops: stops, paths: req.AdditionalModelResponseFieldPaths}
}

// Next decodes one native chunk. A chunk that cannot be read ends the
// stream with a ModelStreamErrorException; after an error every call
// returns it again.
func (s *promptStream) Next(chunk []byte) ([]converse.StreamEvent, error) {
	if s.err != nil {
		return nil, s.err
	}
	s.out = s.out[:0]
	c, err := s.parse(chunk)
	if err != nil {
		return nil, s.failf(MsgMalformedStream)
	}
	if m, ok := invocationMetrics(chunk); ok {
		s.metrics = &m
	}
	if s.done {
		return nil, nil
	}
	s.start()
	if c.input != nil {
		s.input = *c.input
	}
	if c.output != nil {
		s.output = *c.output
	}
	if !s.stopped {
		s.generated(c.text)
		if c.finished {
			s.flush()
			reason := c.reason
			if s.cut {
				reason = converse.StopStopSequence
			}
			s.openBlock(blockText) // closed even when empty: the answer has one text block
			s.stop(reason, ResponseFields(chunk, s.paths))
		}
	}
	if s.stopped && s.metrics != nil {
		s.metadata(s.usage())
	}
	return s.out, nil
}

// End closes the stream: the metadata event if it is still due, or a
// ModelStreamErrorException (MsgStreamEnded) when no chunk carried a stop
// reason.
func (s *promptStream) End() ([]converse.StreamEvent, error) {
	return s.end(s.usage())
}

// generated passes generated text on, minus what a stop sequence cuts off
// or what is held back.
func (s *promptStream) generated(t string) {
	if s.cut || t == "" {
		return
	}
	if len(s.stops) == 0 {
		s.send(t)
		return
	}
	t = s.held + t
	if i := promptStop(t, s.stops); i >= 0 {
		s.cut, s.held = true, ""
		s.send(t[:i])
		return
	}
	k := promptHold(t, s.stops)
	s.held = t[len(t)-k:]
	s.send(t[:len(t)-k])
}

// flush sends the held-back tail: the stream ended without completing a
// stop sequence.
func (s *promptStream) flush() {
	if !s.cut {
		s.send(s.held)
	}
	s.held = ""
}

// send sends a text delta on block 0; empty text sends none.
func (s *promptStream) send(t string) {
	if t != "" {
		s.text(t)
	}
}

// usage is the usage and latency of the invocation metrics, else the
// chunks' own counts with no latency.
func (s *promptStream) usage() (converse.Usage, int64) {
	if m := s.metrics; m != nil {
		return m.usage(), m.InvocationLatency
	}
	return promptUsage(s.input, s.output), 0
}

// promptParams are the inference parameters every prompt family sends,
// under its own names.
type promptParams struct {
	maxTokens   *int
	temperature *float64
	topP        *float64
	stop        []string
}

func promptInference(req *converse.Request) promptParams {
	ic := req.InferenceConfig
	if ic == nil {
		return promptParams{}
	}
	return promptParams{maxTokens: ic.MaxTokens, temperature: ic.Temperature, topP: ic.TopP, stop: ic.StopSequences}
}

// promptBody marshals a native body and merges additionalModelRequestFields
// into its top level, theirs winning (as ToOpenAIChat does).
func promptBody(req *converse.Request, v any, family string) ([]byte, error) {
	body, err := marshal(v)
	if err != nil {
		return nil, fmt.Errorf("codec: encode %s request: %w", family, err)
	}
	if extra := req.AdditionalModelRequestFields; len(extra) > 0 && string(extra) != "null" {
		return mergeFields(body, extra)
	}
	return body, nil
}
