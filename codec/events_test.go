package codec

import (
	"errors"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

func TestEventBuilder(t *testing.T) {
	tests := []struct {
		name string
		run  func(b *eventBuilder)
		want string
	}{
		{
			name: "messageStart is sent once",
			run:  func(b *eventBuilder) { b.start(); b.start() },
			want: "messageStart assistant",
		},
		{
			name: "text deltas share block 0 with no contentBlockStart",
			run: func(b *eventBuilder) {
				b.text("Ro")
				b.text("me")
				b.stop(converse.StopEndTurn, nil)
			},
			want: `delta 0 text "Ro" | delta 0 text "me" | stop 0 | messageStop end_turn`,
		},
		{
			name: "an answer with no block gets one empty text block",
			run: func(b *eventBuilder) {
				b.emptyText()
				b.stop(converse.StopEndTurn, nil)
			},
			want: `delta 0 text "" | stop 0 | messageStop end_turn`,
		},
		{
			name: "emptyText sends nothing once a block was opened",
			run: func(b *eventBuilder) {
				b.openTool("t1", "f")
				b.closeBlock()
				b.emptyText()
				b.stop(converse.StopToolUse, nil)
			},
			want: `start 0 t1 f | stop 0 | messageStop tool_use`,
		},
		{
			name: "a tool closes the open text block and takes the next index",
			run: func(b *eventBuilder) {
				b.text("Let me look.")
				i := b.openTool("t1", "weather")
				b.toolInput(i, `{"city":`)
				b.toolInput(i, `"Rome"}`)
				b.stop(converse.StopToolUse, nil)
			},
			want: `delta 0 text "Let me look." | stop 0 | start 1 t1 weather | delta 1 toolUse "{\"city\":" | delta 1 toolUse "\"Rome\"}" | stop 1 | messageStop tool_use`,
		},
		{
			name: "text after a tool opens a new block",
			run: func(b *eventBuilder) {
				i := b.openTool("t1", "f")
				b.toolInput(i, "{}")
				b.text("done")
				b.stop(converse.StopEndTurn, nil)
			},
			want: `start 0 t1 f | delta 0 toolUse "{}" | stop 0 | delta 1 text "done" | stop 1 | messageStop end_turn`,
		},
		{
			name: "reasoning then text are two blocks",
			run: func(b *eventBuilder) {
				r := "hmm"
				b.delta(b.openBlock(blockReasoning), converse.Delta{ReasoningContent: &converse.ReasoningDelta{Text: &r}})
				b.text("Rome")
				b.stop(converse.StopEndTurn, nil)
			},
			want: `delta 0 reasoning "hmm" | stop 0 | delta 1 text "Rome" | stop 1 | messageStop end_turn`,
		},
		{
			name: "messageStop is sent once",
			run: func(b *eventBuilder) {
				b.text("x")
				b.stop(converse.StopMaxTokens, nil)
				b.stop(converse.StopEndTurn, nil)
			},
			want: `delta 0 text "x" | stop 0 | messageStop max_tokens`,
		},
		{
			name: "metadata carries usage",
			run: func(b *eventBuilder) {
				b.metadata(InvocationMetrics{InputTokenCount: 3, OutputTokenCount: 4}.usage(), 12)
			},
			want: `metadata 3/4/7`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b eventBuilder
			tt.run(&b)
			var got []string
			for _, ev := range b.out {
				got = append(got, describe(ev))
			}
			if s := strings.Join(got, " | "); s != tt.want {
				t.Errorf("events:\n got %s\nwant %s", s, tt.want)
			}
		})
	}
}

func TestEventBuilderEnd(t *testing.T) {
	tests := []struct {
		name    string
		stopped bool
		wantErr string
		want    int // events
	}{
		{name: "a stopped stream ends with metadata", stopped: true, want: 1},
		{name: "a stream that never stopped fails", wantErr: MsgStreamEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b eventBuilder
			if tt.stopped {
				b.stop(converse.StopEndTurn, nil)
			}
			evs, err := b.end(converse.Usage{InputTokens: 1}, 5)
			if tt.wantErr != "" {
				var ce *converse.Error
				if !errors.As(err, &ce) || ce.Kind != converse.KindModelStreamError || ce.Message != tt.wantErr {
					t.Fatalf("err = %v, want ModelStreamErrorException %q", err, tt.wantErr)
				}
				if again, err2 := b.end(converse.Usage{}, 0); again != nil || err2 != err {
					t.Errorf("second end = %v, %v; want the same error again", again, err2)
				}
				return
			}
			if err != nil || len(evs) != tt.want || evs[0].Metadata == nil || evs[0].Metadata.Metrics.LatencyMs != 5 {
				t.Fatalf("end = %v, %v; want one metadata event with latency 5", evs, err)
			}
			if again, err := b.end(converse.Usage{}, 0); again != nil || err != nil {
				t.Errorf("end after metadata = %v, %v; want nothing", again, err)
			}
		})
	}
}

func TestEventBuilderReusesOut(t *testing.T) {
	var b eventBuilder
	if !b.begin() {
		t.Fatal("begin on a new builder = false")
	}
	b.start()
	b.text("a")
	first := b.out
	if !b.begin() {
		t.Fatal("begin before metadata = false")
	}
	b.text("b")
	if len(b.out) != 1 || &b.out[0] != &first[0] {
		t.Errorf("out was not reused: len %d", len(b.out))
	}
	err := b.failf(MsgMalformedStream)
	if b.begin() || b.err != err {
		t.Errorf("begin after fail = true or lost the error")
	}
}
