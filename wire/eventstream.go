package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// errWrite marks a frame that could not be written or flushed: the client
// has gone away, so the stream must stop.
var errWrite = errors.New("wire: write event-stream frame")

// frameWriter writes application/vnd.amazon.eventstream frames
// (wire-protocol.md §4.2) with the AWS SDK's own encoder, flushing after
// each one so every token reaches the client as it is produced. It reuses
// its payload buffer and header slice across frames; one frameWriter serves
// one stream and is not safe for concurrent use.
type frameWriter struct {
	w       io.Writer
	flush   func() error // nil: nothing to flush
	enc     *eventstream.Encoder
	payload bytes.Buffer
	json    *json.Encoder // writes into payload
	headers eventstream.Headers
	// values holds each header value boxed once per stream: a stream reuses
	// a handful of event types, and boxing a string allocates.
	values map[string]eventstream.Value
}

// newFrameWriter returns a frameWriter writing to w and calling flush, if
// non-nil, after each frame.
func newFrameWriter(w io.Writer, flush func() error) *frameWriter {
	f := &frameWriter{w: w, flush: flush, enc: eventstream.NewEncoder(), headers: make(eventstream.Headers, 0, 3),
		values: make(map[string]eventstream.Value, 8)}
	f.json = json.NewEncoder(&f.payload)
	f.json.SetEscapeHTML(false) // text goes out as the model wrote it, not with \u003c
	return f
}

// WriteEvent writes one event frame: headers :event-type, :content-type
// application/json and :message-type event, in the order the real service
// sends them (§4.3), and the JSON of payload. A payload that cannot be
// encoded is reported without writing anything; a failed write or flush is
// reported wrapping errWrite.
func (f *frameWriter) WriteEvent(eventType string, payload any) error {
	return f.write(":event-type", eventType, "event", payload)
}

// WriteException writes one modeled-exception frame: :exception-type is the
// lower-camel union member (validationException, …, §4.3), and payload is
// the exception structure ({"message":…} plus extra members). Errors are as
// for WriteEvent.
func (f *frameWriter) WriteException(member string, payload any) error {
	return f.write(":exception-type", member, "exception", payload)
}

func (f *frameWriter) write(typeHeader, typ, messageType string, payload any) error {
	f.payload.Reset()
	if err := f.json.Encode(payload); err != nil {
		return fmt.Errorf("wire: encode %s payload: %w", typ, err)
	}
	body := f.payload.Bytes()
	body = body[:len(body)-1] // json.Encoder ends every value with '\n'
	f.headers = append(f.headers[:0],
		eventstream.Header{Name: typeHeader, Value: f.value(typ)},
		eventstream.Header{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		eventstream.Header{Name: ":message-type", Value: f.value(messageType)},
	)
	if err := f.enc.Encode(f.w, eventstream.Message{Headers: f.headers, Payload: body}); err != nil {
		return fmt.Errorf("%w %s: %w", errWrite, typ, err)
	}
	if f.flush != nil {
		if err := f.flush(); err != nil {
			return fmt.Errorf("%w %s: flush: %w", errWrite, typ, err)
		}
	}
	return nil
}

// value returns s as a string header value, boxed once per stream.
func (f *frameWriter) value(s string) eventstream.Value {
	v, ok := f.values[s]
	if !ok {
		v = eventstream.StringValue(s)
		f.values[s] = v
	}
	return v
}
