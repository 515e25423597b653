package wire

import (
	"bytes"
	"io"
	"testing"

	"github.com/converse-project/converse"
)

func BenchmarkEncodeResponse(b *testing.B) {
	text := "The capital of France is Paris. It has been the capital since the 10th century."
	resp := &converse.Response{
		Output: converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{
			converse.TextBlock(text),
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_0ae1", Name: "get_weather", Input: []byte(`{"location":"Paris"}`)}},
		}}},
		StopReason: converse.StopToolUse,
		Usage:      converse.Usage{InputTokens: 408, OutputTokens: 100, TotalTokens: 508},
		Metrics:    converse.Metrics{LatencyMs: 2930},
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if _, err := encodeJSON(&buf, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteEvent(b *testing.B) {
	text := "Hello"
	ev := converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.Delta{Text: &text}}}
	f := newFrameWriter(io.Discard, func() error { return nil })
	b.ReportAllocs()
	for b.Loop() {
		if err := f.WriteEvent(ev.Type(), ev.Payload()); err != nil {
			b.Fatal(err)
		}
	}
}
