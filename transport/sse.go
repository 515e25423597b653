package transport

import (
	"bufio"
	"bytes"
	"io"
	"iter"
)

// Event is one server-sent event: its event field (the last one given)
// and its data lines joined with "\n".
type Event struct {
	Name string
	Data []byte
}

// SSE reads server-sent events (WHATWG HTML §9.2.6) from r and yields each
// event that has data; lines end in "\n" or "\r\n" and are at most
// maxLine bytes. Comments, id, retry and unknown fields are skipped. An
// event not followed by a blank line before the end is still delivered:
// WHATWG drops such an event, but servers that close right after
// "data: [DONE]" exist. A read failure is the last element. Yielded data
// belongs to the caller.
func SSE(r io.Reader, maxLine int) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		sc := newScanner(r, maxLine)
		var (
			ev  Event
			has bool
		)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 { // a blank line dispatches the event
				if has && !yield(ev, nil) {
					return
				}
				ev, has = Event{}, false
				continue
			}
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				ev.Name = string(value)
			case "data":
				if has {
					ev.Data = append(ev.Data, '\n')
				}
				ev.Data, has = append(ev.Data, value...), true
			}
		}
		if err := sc.Err(); err != nil {
			yield(Event{}, err)
			return
		}
		if has {
			yield(ev, nil)
		}
	}
}

// SSEData is SSE yielding only each event's data.
func SSEData(r io.Reader, maxLine int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for ev, err := range SSE(r, maxLine) {
			if !yield(ev.Data, err) {
				return
			}
		}
	}
}

// NDJSON yields each line of newline-delimited JSON, copied, lines being
// at most maxLine bytes; a read failure is the last element.
func NDJSON(r io.Reader, maxLine int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		sc := newScanner(r, maxLine)
		for sc.Scan() {
			if !yield(bytes.Clone(sc.Bytes()), nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// newScanner scans lines of at most maxLine bytes with a buffer that
// starts small and grows as needed, so that idle streams stay small.
func newScanner(r io.Reader, maxLine int) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), maxLine)
	return sc
}
