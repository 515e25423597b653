package guard

import (
	"context"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/converse-project/converse"
)

// outStream applies a guardrail to a ConverseStream answer (§3.6).
type outStream struct {
	r         *run
	grounding []Content
	segment   int
}

// assess evaluates one segment of streamed text as OUTPUT and records the
// assessment (one outputAssessments entry per segment, §3.4).
func (s *outStream) assess(ctx context.Context, text string) (*Result, error) {
	res, err := s.r.g.Apply(ctx, SourceOutput, outputContent(s.grounding, []string{text}), s.r.scope)
	if err != nil {
		return nil, err
	}
	s.r.outputs = append(s.r.outputs, res.Assessments...)
	return res, nil
}

// cutSegment splits the first segment ready for assessment off buf: once
// buf holds size bytes, everything up to its last sentence boundary (end
// punctuation or a newline, with the whitespace after it); without a
// boundary, everything up to the last space once buf holds 4×size bytes.
// ok is false while buf must wait for more text.
func cutSegment(buf string, size int) (seg, rest string, ok bool) {
	if len(buf) < size {
		return "", buf, false
	}
	if i := lastBoundary(buf); i > 0 {
		return buf[:i], buf[i:], true
	}
	if len(buf) < 4*size {
		return "", buf, false
	}
	i := strings.LastIndexFunc(buf, unicode.IsSpace)
	if i <= 0 {
		i = len(buf)
		for i > 0 && !utf8.RuneStart(buf[i-1]) { // never split a character
			i--
		}
		if i > 0 {
			i--
		}
	}
	if i <= 0 {
		return buf, "", true
	}
	return buf[:i], buf[i:], true
}

// lastBoundary returns the index just after the last sentence boundary of
// s (a newline, or '.', '!' or '?' followed by whitespace, which it
// includes), or -1.
func lastBoundary(s string) int {
	for i := len(s) - 1; i > 0; i-- {
		if s[i] == '\n' {
			return i + 1
		}
		if (s[i] == ' ' || s[i] == '\t') && strings.ContainsRune(".!?", rune(s[i-1])) {
			return i + 1
		}
	}
	return -1
}

func textDelta(idx int, text string) converse.StreamEvent {
	return converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: idx, Delta: converse.Delta{Text: &text}}}
}

// blockedEvents end a stream the guardrail blocked: the blocked output
// message as the last text of block idx, its stop, messageStop with
// guardrail_intervened, and metadata (usage as far as known) with the trace.
func (s *outStream) blockedEvents(idx int, md *converse.MetadataEvent, raw string) ([]converse.StreamEvent, error) {
	s.r.changed, s.r.outReason = true, ReasonBlocked
	s.r.model = []string{raw}
	meta := converse.MetadataEvent{}
	if md != nil {
		meta = *md
	}
	if err := s.r.attachTrace(&meta.Trace); err != nil {
		return nil, err
	}
	return []converse.StreamEvent{
		textDelta(idx, s.r.g.BlockedOutputsMessaging),
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: idx}},
		{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopGuardrailIntervened}},
		{Metadata: &meta},
	}, nil
}

// emit yields evs in order, reporting whether the consumer wants more.
func emit(yield func(converse.StreamEvent, error) bool, evs []converse.StreamEvent, err error) bool {
	if err != nil {
		yield(converse.StreamEvent{}, err)
		return false
	}
	for _, ev := range evs {
		if !yield(ev, nil) {
			return false
		}
	}
	return true
}

// sync holds each text block's deltas back until a segment is complete,
// assesses it, and releases it as one delta: masked when the guardrail
// masked it, or replaced by the blocked message, which ends the stream and
// releases the upstream call. Other events pass through in order.
func (s *outStream) sync(ctx context.Context, seq iter.Seq2[converse.StreamEvent, error]) iter.Seq2[converse.StreamEvent, error] {
	return func(yield func(converse.StreamEvent, error) bool) {
		bufs := map[int]*strings.Builder{}
		var raw strings.Builder
		masked := false
		// release assesses text and yields what may be shown; false ends
		// the stream.
		release := func(idx int, text string) bool {
			if text == "" {
				return true
			}
			res, err := s.assess(ctx, text)
			if err != nil {
				yield(converse.StreamEvent{}, err)
				return false
			}
			switch {
			case res.Blocked():
				evs, err := s.blockedEvents(idx, nil, raw.String())
				emit(yield, evs, err)
				return false
			case res.Masked():
				if j := len(s.grounding); j < len(res.Outputs) {
					text = res.Outputs[j].Text
				}
				masked = true
			}
			return yield(textDelta(idx, text), nil)
		}
		flush := func(idx int) bool {
			b, ok := bufs[idx]
			if !ok {
				return true
			}
			delete(bufs, idx)
			return release(idx, b.String())
		}
		for ev, err := range seq {
			if err != nil {
				yield(ev, err)
				return
			}
			switch {
			case ev.ContentBlockDelta != nil && ev.ContentBlockDelta.Delta.Text != nil:
				idx, text := ev.ContentBlockDelta.ContentBlockIndex, *ev.ContentBlockDelta.Delta.Text
				raw.WriteString(text)
				b := bufs[idx]
				if b == nil {
					b = &strings.Builder{}
					bufs[idx] = b
				}
				b.WriteString(text)
				for {
					seg, rest, ok := cutSegment(b.String(), s.segment)
					if !ok {
						break
					}
					b.Reset()
					b.WriteString(rest)
					if !release(idx, seg) {
						return
					}
				}
				continue
			case ev.ContentBlockStop != nil:
				if !flush(ev.ContentBlockStop.ContentBlockIndex) {
					return
				}
			case ev.MessageStop != nil:
				for _, idx := range slices.Sorted(maps.Keys(bufs)) {
					if !flush(idx) {
						return
					}
				}
				if masked {
					ms := *ev.MessageStop
					ms.StopReason = converse.StopGuardrailIntervened
					ev.MessageStop = &ms
				}
			case ev.Metadata != nil:
				md := *ev.Metadata
				s.r.model = []string{raw.String()}
				s.r.changed = masked
				s.r.outReason = ReasonNone
				if masked {
					s.r.outReason = ReasonMasked
				}
				if err := s.r.attachTrace(&md.Trace); err != nil {
					yield(converse.StreamEvent{}, err)
					return
				}
				ev.Metadata = &md
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// async forwards every event at once while a background goroutine assesses
// the text segment by segment (§3.6). Once a segment is blocked, nothing
// more is forwarded: the blocked message ends the stream as a final delta,
// with messageStop guardrail_intervened. messageStop and metadata wait
// until every segment was assessed. Async mode cannot mask (§3.6): masked
// findings are reported in the trace, and the text stays as it was sent.
func (s *outStream) async(ctx context.Context, seq iter.Seq2[converse.StreamEvent, error]) iter.Seq2[converse.StreamEvent, error] {
	return func(yield func(converse.StreamEvent, error) bool) {
		ectx, cancel := context.WithCancel(ctx)
		segs := make(chan string, 16)
		done := make(chan struct{})
		var (
			mu      sync.Mutex
			blocked bool
			evalErr error
		)
		go func() {
			defer close(done)
			for seg := range segs {
				if ectx.Err() != nil {
					continue // abandoned: drain
				}
				res, err := s.assess(ectx, seg)
				mu.Lock()
				if err != nil && evalErr == nil {
					evalErr = err
				}
				if err == nil && res.Blocked() {
					blocked = true
				}
				mu.Unlock()
			}
		}()
		closed := false
		finish := func(abort bool) {
			if abort {
				cancel()
			}
			if !closed {
				close(segs)
				closed = true
			}
			<-done
			cancel()
		}
		defer finish(true)
		state := func() (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return blocked, evalErr
		}
		send := func(seg string) bool {
			if seg == "" {
				return true
			}
			select {
			case segs <- seg:
				return true
			case <-ctx.Done():
				return false
			}
		}

		bufs := map[int]*strings.Builder{}
		var raw strings.Builder
		var (
			stop *converse.MessageStopEvent
			meta *converse.MetadataEvent
		)
		open, last := -1, -1
	read:
		for ev, err := range seq {
			if err != nil {
				yield(ev, err)
				return
			}
			if b, e := state(); b || e != nil {
				break read
			}
			switch {
			case ev.ContentBlockDelta != nil:
				idx := ev.ContentBlockDelta.ContentBlockIndex
				last = max(last, idx)
				if t := ev.ContentBlockDelta.Delta.Text; t != nil {
					open = idx
					raw.WriteString(*t)
					b := bufs[idx]
					if b == nil {
						b = &strings.Builder{}
						bufs[idx] = b
					}
					b.WriteString(*t)
					if !yield(ev, nil) {
						return
					}
					for {
						seg, rest, ok := cutSegment(b.String(), s.segment)
						if !ok {
							break
						}
						b.Reset()
						b.WriteString(rest)
						if !send(seg) {
							return
						}
					}
					continue
				}
			case ev.ContentBlockStart != nil:
				last = max(last, ev.ContentBlockStart.ContentBlockIndex)
			case ev.ContentBlockStop != nil:
				idx := ev.ContentBlockStop.ContentBlockIndex
				if b, ok := bufs[idx]; ok {
					delete(bufs, idx)
					if !send(b.String()) {
						return
					}
				}
				if idx == open {
					open = -1
				}
			case ev.MessageStop != nil:
				stop = ev.MessageStop
				continue
			case ev.Metadata != nil:
				meta = ev.Metadata
				continue
			}
			if !yield(ev, nil) {
				return
			}
		}
		if b, _ := state(); !b {
			for _, idx := range slices.Sorted(maps.Keys(bufs)) {
				if !send(bufs[idx].String()) {
					return
				}
			}
		}
		finish(false) // every segment is assessed before the end is sent
		b, err := state()
		if err != nil {
			yield(converse.StreamEvent{}, err)
			return
		}
		if b {
			idx := open
			if idx < 0 {
				idx = last + 1
			}
			evs, err := s.blockedEvents(idx, nil, raw.String())
			emit(yield, evs, err)
			return
		}
		s.r.model = []string{raw.String()}
		s.r.outReason = ReasonNone
		var evs []converse.StreamEvent
		if stop != nil {
			evs = append(evs, converse.StreamEvent{MessageStop: stop})
		}
		if meta != nil {
			md := *meta
			if err := s.r.attachTrace(&md.Trace); err != nil {
				yield(converse.StreamEvent{}, err)
				return
			}
			evs = append(evs, converse.StreamEvent{Metadata: &md})
		}
		emit(yield, evs, nil)
	}
}
