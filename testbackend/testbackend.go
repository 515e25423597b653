package testbackend

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/converse-project/converse"
)

// Config holds the test backend's canned replies. The zero Config echoes
// every request.
type Config struct {
	// Replies is tried in order; the first whose Match is a substring of the
	// last user message's text answers. None matching → echo.
	Replies []Reply
}

// Reply is one canned answer.
type Reply struct {
	Match      string        // substring of the last user text; "" matches everything
	Text       string        // the reply text; "" with no ToolUse → echo (see the package doc)
	ToolUse    *ToolUse      // optional tool call made after Text; stop reason tool_use
	StopReason string        // stop reason at the natural end; default end_turn (tool_use with ToolUse)
	Fault      Fault         // failure to inject instead of (or, for stream_cut, part-way through) the reply
	CutAfter   int           // stream_cut: text deltas sent before the stream fails
	ChunkDelay time.Duration // pause before each text delta; cut short by ctx cancellation
}

// ToolUse is a tool call a Reply makes.
type ToolUse struct {
	Name  string          // the tool's name; required
	Input json.RawMessage // the tool's input, a JSON object; empty means {}
}

// Backend is the test backend. It is safe for concurrent use and holds no
// state between requests.
type Backend struct {
	replies []Reply
}

var _ converse.Backend = (*Backend)(nil)

// New returns a Backend serving c. It rejects an unknown Fault, a negative
// CutAfter or ChunkDelay, and a ToolUse without a name or whose input is not a
// JSON object, naming the reply ("replies[2].fault: …"). New copies c.
func New(c Config) (*Backend, error) {
	b := &Backend{replies: make([]Reply, len(c.Replies))}
	for i, r := range c.Replies {
		if !r.Fault.known() {
			return nil, fmt.Errorf("testbackend: replies[%d].fault: unknown fault %q (known: %s)", i, r.Fault, joinFaults())
		}
		if r.CutAfter < 0 {
			return nil, fmt.Errorf("testbackend: replies[%d].cut_after: %d is negative", i, r.CutAfter)
		}
		if r.ChunkDelay < 0 {
			return nil, fmt.Errorf("testbackend: replies[%d].chunk_delay: %v is negative", i, r.ChunkDelay)
		}
		if r.ToolUse != nil {
			tu := *r.ToolUse
			if tu.Name == "" {
				return nil, fmt.Errorf("testbackend: replies[%d].tool_use.name: required", i)
			}
			if len(tu.Input) == 0 {
				tu.Input = json.RawMessage("{}")
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(tu.Input, &obj); err != nil || obj == nil {
				return nil, fmt.Errorf("testbackend: replies[%d].tool_use.input: not a JSON object", i)
			}
			tu.Input = append(json.RawMessage(nil), tu.Input...)
			r.ToolUse = &tu
		}
		b.replies[i] = r
	}
	return b, nil
}

// Converse answers req with the matching reply, or fails with its fault
// (stream_cut fails as model_error). It waits ChunkDelay once per text word
// first, returning the context's error if ctx ends meanwhile.
func (b *Backend) Converse(ctx context.Context, req *converse.Request) (*converse.Response, error) {
	p, err := b.plan(req)
	if err != nil {
		return nil, err
	}
	if p.fault != FaultNone {
		return nil, p.fault.err()
	}
	if err := wait(ctx, p.delay*time.Duration(len(p.chunks))); err != nil {
		return nil, err
	}
	msg := &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{}}
	if text := strings.Join(p.chunks, ""); text != "" || p.tool == nil {
		msg.Content = append(msg.Content, converse.TextBlock(text))
	}
	if p.tool != nil {
		msg.Content = append(msg.Content, converse.Block{ToolUse: p.tool})
	}
	return &converse.Response{Output: converse.Output{Message: msg}, StopReason: p.stop, Usage: p.usage}, nil
}

// ConverseStream streams the matching reply word by word. A fault other than
// stream_cut is returned before anything is streamed; stream_cut ends the
// sequence with a ModelStreamErrorException after CutAfter text deltas. When
// ctx ends during a ChunkDelay wait the sequence ends with the context's
// error.
func (b *Backend) ConverseStream(ctx context.Context, req *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
	p, err := b.plan(req)
	if err != nil {
		return nil, err
	}
	if p.fault != FaultNone && p.fault != FaultStreamCut {
		return nil, p.fault.err()
	}
	return p.events(ctx), nil
}

// plan is everything a reply will send, decided before anything is sent.
type plan struct {
	chunks   []string // the text deltas
	tool     *converse.ToolUseBlock
	stop     converse.StopReason
	usage    converse.Usage
	fault    Fault
	cutAfter int
	delay    time.Duration
}

// plan chooses the reply for req and applies the request's limits to it.
func (b *Backend) plan(req *converse.Request) (plan, error) {
	userText := lastUserText(req)
	rest, markFault, markCut, marked, err := marker(userText)
	if err != nil {
		return plan{}, err
	}
	r := b.match(userText)
	p := plan{fault: r.Fault, cutAfter: r.CutAfter, delay: r.ChunkDelay}
	if marked {
		p.fault = markFault
		if markCut >= 0 {
			p.cutAfter = markCut
		}
	}

	text := r.Text
	if text == "" && r.ToolUse == nil {
		text = echo(rest)
	}
	p.stop = converse.StopEndTurn
	if r.ToolUse != nil {
		p.stop = converse.StopToolUse
	}
	if r.StopReason != "" {
		p.stop = converse.StopReason(r.StopReason)
	}
	cut := false
	if ic := req.InferenceConfig; ic != nil {
		if i := firstStop(text, ic.StopSequences); i >= 0 {
			text, p.stop, cut = text[:i], converse.StopStopSequence, true
		}
	}
	p.chunks = words(text)
	if ic := req.InferenceConfig; ic != nil && ic.MaxTokens != nil && *ic.MaxTokens < len(p.chunks) {
		p.chunks, p.stop, cut = p.chunks[:max(*ic.MaxTokens, 0)], converse.StopMaxTokens, true
	}
	if r.ToolUse != nil && !cut {
		p.tool = &converse.ToolUseBlock{ToolUseID: toolUseID(r.ToolUse, userText), Name: r.ToolUse.Name, Input: slices.Clone(r.ToolUse.Input)}
	}

	p.usage.InputTokens = inputWords(req)
	p.usage.OutputTokens = len(strings.Fields(strings.Join(p.chunks, "")))
	if p.tool != nil {
		p.usage.OutputTokens += len(strings.Fields(string(p.tool.Input)))
	}
	p.usage.TotalTokens = p.usage.InputTokens + p.usage.OutputTokens
	return p, nil
}

// match returns the first reply matching userText, or the zero Reply (echo).
func (b *Backend) match(userText string) Reply {
	for _, r := range b.replies {
		if strings.Contains(userText, r.Match) {
			return r
		}
	}
	return Reply{}
}

// events is the reply as Bedrock streams it (wire-protocol.md §4.1):
// messageStart, the text block's deltas and stop, the tool block's start,
// delta and stop, messageStop, metadata.
func (p plan) events(ctx context.Context) iter.Seq2[converse.StreamEvent, error] {
	return func(yield func(converse.StreamEvent, error) bool) {
		if !yield(converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}}, nil) {
			return
		}
		idx := 0
		if len(p.chunks) > 0 || p.tool == nil {
			chunks := p.chunks
			if len(chunks) == 0 {
				chunks = []string{""} // an empty reply is one empty text block, as Converse returns it
			}
			for i, c := range chunks {
				if p.fault == FaultStreamCut && i == p.cutAfter {
					yield(converse.StreamEvent{}, streamCutErr(i))
					return
				}
				if err := wait(ctx, p.delay); err != nil {
					yield(converse.StreamEvent{}, err)
					return
				}
				if !yield(converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{
					ContentBlockIndex: idx, Delta: converse.Delta{Text: &c}}}, nil) {
					return
				}
			}
			if p.fault == FaultStreamCut {
				yield(converse.StreamEvent{}, streamCutErr(len(chunks)))
				return
			}
			if !yield(converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: idx}}, nil) {
				return
			}
			idx++
		}
		if p.fault == FaultStreamCut { // a tool-only reply is cut before its tool call
			yield(converse.StreamEvent{}, streamCutErr(0))
			return
		}
		var evs []converse.StreamEvent
		if p.tool != nil {
			input := string(p.tool.Input)
			evs = append(evs,
				converse.StreamEvent{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: idx,
					Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseStart{ToolUseID: p.tool.ToolUseID, Name: p.tool.Name}}}},
				converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: idx,
					Delta: converse.Delta{ToolUse: &converse.ToolUseDelta{Input: input}}}},
				converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: idx}})
		}
		evs = append(evs,
			converse.StreamEvent{MessageStop: &converse.MessageStopEvent{StopReason: p.stop}},
			converse.StreamEvent{Metadata: &converse.MetadataEvent{Usage: p.usage}})
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// wait pauses for d, or until ctx ends (returning its error, wrapped).
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if err := ctx.Err(); err != nil { // an ended context wins over a timer that fires at once
		return fmt.Errorf("testbackend: chunk delay: %w", err)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("testbackend: chunk delay: %w", ctx.Err())
	}
}

// lastUserText joins the text blocks of the last user message with "\n".
func lastUserText(req *converse.Request) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != converse.RoleUser {
			continue
		}
		var parts []string
		for _, b := range m.Content {
			if b.Text != nil {
				parts = append(parts, *b.Text)
			}
		}
		return strings.Join(parts, "\n")
	}
	return ""
}

// echo is the default reply to userText.
func echo(userText string) string {
	if s := strings.TrimSpace(userText); s != "" {
		return "You said: " + s
	}
	return "You said nothing."
}

// firstStop returns the index of the earliest occurrence in text of any
// non-empty stop sequence, or -1.
func firstStop(text string, stops []string) int {
	first := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	return first
}

// words splits text into words, each with the white space that follows it;
// leading white space goes with the first word. The pieces concatenate to
// text, and there are as many as strings.Fields finds (same white space).
func words(text string) []string {
	var out []string
	for rest := text; rest != ""; {
		i := 0
		if len(out) == 0 {
			i = spaceEnd(rest, 0)
		}
		i = wordEnd(rest, i)
		i = spaceEnd(rest, i)
		out = append(out, rest[:i])
		rest = rest[i:]
	}
	return out
}

func wordEnd(s string, i int) int {
	if j := strings.IndexFunc(s[i:], unicode.IsSpace); j >= 0 {
		return i + j
	}
	return len(s)
}

func spaceEnd(s string, i int) int {
	if j := strings.IndexFunc(s[i:], func(r rune) bool { return !unicode.IsSpace(r) }); j >= 0 {
		return i + j
	}
	return len(s)
}

// inputWords counts the words of every text the request gives the model.
func inputWords(req *converse.Request) int {
	n := 0
	for _, s := range req.System {
		if s.Text != nil {
			n += len(strings.Fields(*s.Text))
		}
	}
	for _, m := range req.Messages {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				n += len(strings.Fields(*b.Text))
			case b.ToolUse != nil:
				n += len(strings.Fields(string(b.ToolUse.Input)))
			case b.ToolResult != nil:
				for _, c := range b.ToolResult.Content {
					if c.Text != nil {
						n += len(strings.Fields(*c.Text))
					}
					n += len(strings.Fields(string(c.JSON)))
				}
			}
		}
	}
	return n
}

// toolUseID is a deterministic ID shaped like Bedrock's ("tooluse_" and 22
// URL-safe characters), so that a test can replay a conversation.
func toolUseID(tu *ToolUse, userText string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", tu.Name, tu.Input, userText)
	return "tooluse_" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}
