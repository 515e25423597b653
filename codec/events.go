package codec

import (
	"encoding/json"

	"github.com/converse-project/converse"
)

// blockKind is the kind of the content block open in a stream.
type blockKind int

const (
	blockNone blockKind = iota
	blockReasoning
	blockText
	blockTool
)

// eventBuilder is the state machine every family's ChunkDecoder shares: it
// writes ConverseStream events in Bedrock's order (ChunkDecoder's doc,
// wire-protocol.md §4.1) into out, a slice reused from call to call, while
// each family keeps its own chunk parsing. Embed it in a decoder.
//
// Blocks may be tracked for the caller: openBlock and openTool give each
// new block the next index, in the order blocks open, and close the one
// open before it, as Bedrock never interleaves blocks. A family whose
// native stream numbers its blocks (Claude) uses the index-taking
// methods (delta, toolStart, blockStop) instead.
type eventBuilder struct {
	started bool // messageStart sent
	stopped bool // messageStop sent
	done    bool // metadata sent
	err     error

	open  blockKind // the kind of the open block; blockNone when none is
	index int       // the open block's index
	next  int       // the next block's index

	out []converse.StreamEvent
}

// begin starts a call of Next or End: it empties out and reports whether
// the call has events to build, false once the stream failed (b.err is
// then the error to return again) or its metadata was sent.
func (b *eventBuilder) begin() bool {
	if b.err != nil || b.done {
		return false
	}
	b.out = b.out[:0]
	return true
}

// fail makes err the stream's sticky error: every later call returns it.
func (b *eventBuilder) fail(err *converse.Error) error {
	b.err = err
	return err
}

// failf fails the stream with a ModelStreamErrorException saying msg.
func (b *eventBuilder) failf(msg string) error {
	return b.fail(&converse.Error{Kind: converse.KindModelStreamError, Message: msg})
}

func (b *eventBuilder) emit(ev converse.StreamEvent) { b.out = append(b.out, ev) }

// start sends messageStart, once.
func (b *eventBuilder) start() {
	if !b.started {
		b.started = true
		b.emit(converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}})
	}
}

// delta sends one contentBlockDelta for the block at index.
func (b *eventBuilder) delta(index int, d converse.Delta) {
	b.emit(converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: index, Delta: d}})
}

// toolStart sends the contentBlockStart of a tool use block at index.
func (b *eventBuilder) toolStart(index int, id, name string) {
	b.emit(converse.StreamEvent{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: index,
		Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseStart{ToolUseID: id, Name: name}}}})
}

// toolInput sends a fragment of a tool use's input to the block at index,
// as it comes: Bedrock does not buffer it either.
func (b *eventBuilder) toolInput(index int, fragment string) {
	b.delta(index, converse.Delta{ToolUse: &converse.ToolUseDelta{Input: fragment}})
}

// blockStop sends the contentBlockStop of the block at index.
func (b *eventBuilder) blockStop(index int) {
	b.emit(converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: index}})
}

// openBlock makes a block of kind k (text or reasoning; never a tool) the
// open one, closing the block open before it, and returns its index. A
// text block gets no contentBlockStart: Bedrock sends none.
func (b *eventBuilder) openBlock(k blockKind) int {
	if b.open != k {
		b.closeBlock()
		b.open, b.index = k, b.next
		b.next++
	}
	return b.index
}

// text sends a text delta, opening a text block if none is open. Callers
// that send no empty deltas check for "" themselves.
func (b *eventBuilder) text(t string) {
	b.delta(b.openBlock(blockText), converse.Delta{Text: &t})
}

// openTool closes the open block, opens a tool use block with its
// contentBlockStart and returns its index.
func (b *eventBuilder) openTool(id, name string) int {
	b.closeBlock()
	b.open, b.index = blockTool, b.next
	b.next++
	b.toolStart(b.index, id, name)
	return b.index
}

// closeBlock sends the contentBlockStop of the open block, if any.
func (b *eventBuilder) closeBlock() {
	if b.open != blockNone {
		b.blockStop(b.index)
		b.open = blockNone
	}
}

// emptyText sends one empty text delta when the answer has no block at
// all: Bedrock's answers always have content, as Response gives them.
func (b *eventBuilder) emptyText() {
	if b.next == 0 {
		b.text("")
	}
}

// stop closes the open block and sends messageStop with the stop reason
// and the additionalModelResponseFields, once.
func (b *eventBuilder) stop(reason converse.StopReason, fields json.RawMessage) {
	if b.stopped {
		return
	}
	b.closeBlock()
	b.stopped = true
	b.emit(converse.StreamEvent{MessageStop: &converse.MessageStopEvent{StopReason: reason, AdditionalModelResponseFields: fields}})
}

// metadata sends the metadata event, the stream's last.
func (b *eventBuilder) metadata(u converse.Usage, latencyMs int64) {
	b.done = true
	b.emit(converse.StreamEvent{Metadata: &converse.MetadataEvent{Usage: u, Metrics: converse.Metrics{LatencyMs: latencyMs}}})
}

// end is End for a decoder that sends metadata at the end of the input:
// the metadata event, or a ModelStreamErrorException with MsgStreamEnded
// when the model never stopped. After an error it returns it again; after
// the metadata, nothing.
func (b *eventBuilder) end(u converse.Usage, latencyMs int64) ([]converse.StreamEvent, error) {
	if !b.begin() {
		return nil, b.err
	}
	if !b.stopped {
		return nil, b.failf(MsgStreamEnded)
	}
	b.metadata(u, latencyMs)
	return b.out, nil
}

// usage is the Converse usage the invocation metrics count.
func (m InvocationMetrics) usage() converse.Usage {
	return converse.Usage{InputTokens: m.InputTokenCount, OutputTokens: m.OutputTokenCount, TotalTokens: m.InputTokenCount + m.OutputTokenCount}
}
