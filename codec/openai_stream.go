package codec

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/converse-project/converse"
)

// Messages of the ModelStreamErrorException a broken upstream stream ends
// in (wording ours: Bedrock's is not known).
const (
	MsgStreamEnded     = "The model stream ended unexpectedly."
	MsgMalformedStream = "The model stream returned an event that could not be read."
)

// streamTool is one tool call of a streamed answer.
type streamTool struct {
	block   int    // its content block index; -1 until its start is sent
	id      string // toolUseId
	name    string
	pending string // argument fragments that arrived before the name
}

// OpenAIChatStream turns the server-sent events of a streamed OpenAI chat
// completion into ConverseStream events (wire-protocol.md §4.1), keeping
// the state between events explicitly. It is not safe for concurrent use;
// create one per stream with NewOpenAIChatStream.
//
// Events come out in Bedrock's order: messageStart first; then content
// blocks, each closed by contentBlockStop before the next opens — the
// model's reasoning (reasoningContent deltas), its text (text deltas, no
// contentBlockStart, as Bedrock does for text), and each tool call as a
// contentBlockStart naming the tool then one toolUse delta per argument
// fragment, passed on as it arrives; then messageStop with the stop reason
// (mapped as in FromOpenAIChat) when the finish_reason arrives, and
// metadata with the usage last, at "[DONE]" (or End). Block indices count
// from 0 in the order blocks open. An answer with no content at all gets
// one empty text block, as FromOpenAIChat gives it.
//
// Tool call arguments are not buffered, so they are not checked: a
// streamed call with malformed arguments ends in tool_use, not
// malformed_tool_use. A fragment for a tool call whose block was already
// closed (servers that interleave parallel calls) is sent with that
// block's index.
type OpenAIChatStream struct {
	eventBuilder

	tools    map[int]*streamTool // by the upstream's tool call index
	lastTool int                 // the upstream index of the latest tool call
	sawTools bool
	usage    converse.Usage
}

// NewOpenAIChatStream returns the state for one stream.
func NewOpenAIChatStream() *OpenAIChatStream {
	return &OpenAIChatStream{tools: map[int]*streamTool{}, lastTool: -1}
}

// Next takes the data of one server-sent event (a chunk's JSON, or
// "[DONE]") and returns the events it completes, possibly none. The
// returned slice is reused by the next call: consume it first.
//
// A chunk that is not JSON, or that carries an error object, ends the
// stream with a *converse.Error of KindModelStreamError (an error object's
// message and numeric code become OriginalMessage and OriginalStatusCode);
// so does "[DONE]" before any finish_reason. After an error every call
// returns it again. Data after "[DONE]" is ignored.
func (s *OpenAIChatStream) Next(data []byte) ([]converse.StreamEvent, error) {
	if !s.begin() {
		return nil, s.err
	}
	if string(data) == "[DONE]" {
		return s.End()
	}
	var c oaiResponse // a chat.completion.chunk
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, s.failf(MsgMalformedStream)
	}
	if c.Error != nil {
		e := &converse.Error{Kind: converse.KindModelStreamError, Message: "The model returned the following errors: " + c.Error.Message, OriginalMessage: c.Error.Message}
		var code int
		if json.Unmarshal(c.Error.Code, &code) == nil && code >= 100 && code <= 599 {
			e.OriginalStatusCode = code
		}
		return nil, s.fail(e)
	}
	s.start()
	if c.Usage != nil {
		s.usage = usage(c.Usage)
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 || s.stopped {
			continue // one choice is asked for; n > 1 is not Converse
		}
		if d := ch.Delta; d != nil {
			if r := d.reasoning(); r != "" {
				s.delta(s.openBlock(blockReasoning), converse.Delta{ReasoningContent: &converse.ReasoningDelta{Text: &r}})
			}
			if d.Content != nil && *d.Content != "" {
				s.text(*d.Content)
			}
			for _, tc := range d.ToolCalls {
				s.toolFragment(tc)
			}
		}
		if ch.FinishReason != nil {
			s.finish(stopReason(ch.FinishReason, ch.StopReason, s.sawTools))
		}
	}
	return s.out, nil
}

// End is called at the end of the input. It returns the closing events
// not yet sent, or, when the answer never finished (no finish_reason),
// a *converse.Error of KindModelStreamError with MsgStreamEnded. A stream
// that finished but lost its "[DONE]" ends normally; its usage is zero
// if the usage chunk was lost too.
func (s *OpenAIChatStream) End() ([]converse.StreamEvent, error) {
	return s.end(s.usage, 0)
}

// toolFragment handles one tool_calls delta: the first fragment of a call
// carries its id and name, the later ones argument text. Servers that omit
// the index (one call per chunk) are told apart by the id.
func (s *OpenAIChatStream) toolFragment(tc oaiToolCall) {
	s.sawTools = true
	key := s.lastTool
	switch {
	case tc.Index != nil:
		key = *tc.Index
	case key < 0:
		key = 0
	case tc.ID != "" && s.tools[key] != nil && s.tools[key].id != "" && s.tools[key].id != tc.ID:
		key++
		for s.tools[key] != nil {
			key++
		}
	}
	s.lastTool = key
	t := s.tools[key]
	if t == nil {
		t = &streamTool{block: -1}
		s.tools[key] = t
	}
	if tc.ID != "" && t.id == "" {
		t.id = tc.ID
	}
	if tc.Function.Name != "" && t.name == "" {
		t.name = tc.Function.Name
	}
	args := tc.Function.Arguments
	if t.block < 0 {
		if t.name == "" {
			t.pending += args // wait for the name: a start must name the tool
			return
		}
		s.startTool(t, key)
		args = t.pending + args
		t.pending = ""
	}
	if args != "" {
		s.toolInput(t.block, args)
	}
}

func (s *OpenAIChatStream) startTool(t *streamTool, key int) {
	if t.id == "" {
		t.id = fmt.Sprintf("tooluse_%d", key)
	}
	t.block = s.openTool(t.id, t.name)
}

// finish closes the open block and sends messageStop.
func (s *OpenAIChatStream) finish(reason converse.StopReason) {
	for _, key := range slices.Sorted(maps.Keys(s.tools)) { // calls that never got a name still become blocks
		if t := s.tools[key]; t.block < 0 {
			s.startTool(t, key)
			if t.pending != "" {
				s.toolInput(t.block, t.pending)
			}
		}
	}
	s.emptyText()
	s.stop(reason, nil)
}
