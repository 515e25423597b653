package testbackend

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/converse-project/converse"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func user(texts ...string) *converse.Request {
	req := &converse.Request{ModelID: "test"}
	for i, t := range texts {
		role := converse.RoleUser
		if i%2 == 1 {
			role = converse.RoleAssistant
		}
		req.Messages = append(req.Messages, converse.Message{Role: role, Content: []converse.Block{converse.TextBlock(t)}})
	}
	return req
}

func withLimits(req *converse.Request, maxTokens int, stops ...string) *converse.Request {
	req.InferenceConfig = &converse.InferenceConfig{StopSequences: stops}
	if maxTokens > 0 {
		req.InferenceConfig.MaxTokens = &maxTokens
	}
	return req
}

func mustNew(t *testing.T, c Config) *Backend {
	t.Helper()
	b, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func textOf(t *testing.T, resp *converse.Response) string {
	t.Helper()
	var b strings.Builder
	for _, blk := range resp.Output.Message.Content {
		if blk.Text != nil {
			b.WriteString(*blk.Text)
		}
	}
	return b.String()
}

var replies = Config{Replies: []Reply{
	{Match: "weather", ToolUse: &ToolUse{Name: "get_weather", Input: json.RawMessage(`{"city": "Paris"}`)}},
	{Match: "plan", Text: "Let me check.", ToolUse: &ToolUse{Name: "lookup"}},
	{Match: "hello", Text: "Hello there, friend."},
	{Match: "hello world", Text: "never chosen: an earlier reply matches first"},
	{Match: "refuse", Text: "I cannot.", StopReason: "content_filtered"},
	{Match: "parrot"}, // no text: echo
}}

func TestReplies(t *testing.T) {
	b := mustNew(t, replies)
	tests := []struct {
		name     string
		req      *converse.Request
		wantText string
		wantTool string
		stop     converse.StopReason
	}{
		{"first matching reply wins", user("hello world"), "Hello there, friend.", "", converse.StopEndTurn},
		{"match is on the last user message", user("weather", "ok", "hello"), "Hello there, friend.", "", converse.StopEndTurn},
		{"no match echoes", user("  what is this?\n"), "You said: what is this?", "", converse.StopEndTurn},
		{"reply without text echoes", user("parrot me"), "You said: parrot me", "", converse.StopEndTurn},
		{"empty user text echoes nothing", user(""), "You said nothing.", "", converse.StopEndTurn},
		{"reply stop reason passes through", user("refuse it"), "I cannot.", "", "content_filtered"},
		{"tool-only reply", user("weather in Paris?"), "", "get_weather", converse.StopToolUse},
		{"text then tool call", user("plan a trip"), "Let me check.", "lookup", converse.StopToolUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := b.Converse(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := textOf(t, resp); got != tt.wantText {
				t.Errorf("text = %q, want %q", got, tt.wantText)
			}
			var tool *converse.ToolUseBlock
			for _, blk := range resp.Output.Message.Content {
				if blk.ToolUse != nil {
					tool = blk.ToolUse
				}
			}
			switch {
			case tt.wantTool == "" && tool != nil:
				t.Errorf("unexpected tool call %q", tool.Name)
			case tt.wantTool != "" && (tool == nil || tool.Name != tt.wantTool):
				t.Errorf("tool call = %+v, want %q", tool, tt.wantTool)
			case tool != nil && (!strings.HasPrefix(tool.ToolUseID, "tooluse_") || len(tool.ToolUseID) != len("tooluse_")+22):
				t.Errorf("toolUseId %q is not shaped like Bedrock's", tool.ToolUseID)
			case tool != nil && !json.Valid(tool.Input):
				t.Errorf("tool input %q is not JSON", tool.Input)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("stopReason = %q, want %q", resp.StopReason, tt.stop)
			}
			if resp.Output.Message.Role != converse.RoleAssistant {
				t.Errorf("role = %q", resp.Output.Message.Role)
			}
		})
	}
}

func TestToolUseIDIsDeterministic(t *testing.T) {
	b := mustNew(t, replies)
	id := func(text string) string {
		resp, err := b.Converse(context.Background(), user(text))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Output.Message.Content[0].ToolUse.ToolUseID
	}
	if id("weather?") != id("weather?") {
		t.Error("same request, different toolUseId")
	}
	if id("weather?") == id("weather!") {
		t.Error("different requests, same toolUseId")
	}
}

// The stream must describe exactly the response Converse returns.
func TestStreamMatchesConverse(t *testing.T) {
	b := mustNew(t, replies)
	for _, req := range []*converse.Request{
		user("hello"), user("weather?"), user("plan it"), user("echo me please"), user(""),
		withLimits(user("hello"), 2), withLimits(user("plan"), 0, "check"), withLimits(user("hello"), 0, "Hello"),
	} {
		text := *req.Messages[len(req.Messages)-1].Content[0].Text
		t.Run(text, func(t *testing.T) {
			want, err := b.Converse(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			seq, err := b.ConverseStream(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := converse.Collect(seq)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				t.Errorf("stream collected to\n%s\nConverse returned\n%s", gj, wj)
			}
		})
	}
}

func TestStreamIsWordByWord(t *testing.T) {
	b := mustNew(t, Config{Replies: []Reply{{Text: " Hello,  big\nworld! "}}})
	seq, err := b.ConverseStream(context.Background(), user("hi"))
	if err != nil {
		t.Fatal(err)
	}
	var types, deltas []string
	for ev, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type())
		if d := ev.ContentBlockDelta; d != nil {
			if d.ContentBlockIndex != 0 {
				t.Errorf("delta index %d", d.ContentBlockIndex)
			}
			deltas = append(deltas, *d.Delta.Text)
		}
	}
	wantTypes := []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta",
		"contentBlockStop", "messageStop", "metadata"}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("events = %v, want %v", types, wantTypes)
	}
	if want := []string{" Hello,  ", "big\n", "world! "}; !reflect.DeepEqual(deltas, want) {
		t.Errorf("deltas = %q, want %q", deltas, want)
	}
}

func TestToolCallEvents(t *testing.T) {
	b := mustNew(t, replies)
	seq, err := b.ConverseStream(context.Background(), user("plan"))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for ev, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type())
		if s := ev.ContentBlockStart; s != nil && (s.ContentBlockIndex != 1 || s.Start.ToolUse == nil || s.Start.ToolUse.Name != "lookup") {
			t.Errorf("tool start = %+v", s)
		}
	}
	want := []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
		"contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("events = %v, want %v", types, want)
	}
}

func TestLimits(t *testing.T) {
	b := mustNew(t, Config{Replies: []Reply{
		{Match: "tool", Text: "Calling the tool now.", ToolUse: &ToolUse{Name: "t"}},
		{Text: "one two three four five"},
	}})
	tests := []struct {
		name  string
		req   *converse.Request
		text  string
		stop  converse.StopReason
		tools int
	}{
		{"max tokens truncates to words", withLimits(user("x"), 3), "one two three ", converse.StopMaxTokens, 0},
		{"max tokens equal to length ends the turn", withLimits(user("x"), 5), "one two three four five", converse.StopEndTurn, 0},
		{"stop sequence cuts before it", withLimits(user("x"), 0, "three"), "one two ", converse.StopStopSequence, 0},
		{"earliest stop sequence wins", withLimits(user("x"), 0, "four", "wo"), "one t", converse.StopStopSequence, 0},
		{"max tokens reached before the stop sequence", withLimits(user("x"), 1, "four"), "one ", converse.StopMaxTokens, 0},
		{"stop sequence reached before max tokens", withLimits(user("x"), 4, "three"), "one two ", converse.StopStopSequence, 0},
		{"stop sequence absent", withLimits(user("x"), 0, "six", ""), "one two three four five", converse.StopEndTurn, 0},
		{"stop sequence at the start leaves empty text", withLimits(user("x"), 0, "one"), "", converse.StopStopSequence, 0},
		{"cut reply makes no tool call", withLimits(user("tool"), 2), "Calling the ", converse.StopMaxTokens, 0},
		{"uncut reply makes its tool call", withLimits(user("tool"), 10), "Calling the tool now.", converse.StopToolUse, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := b.Converse(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := textOf(t, resp); got != tt.text {
				t.Errorf("text = %q, want %q", got, tt.text)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("stopReason = %q, want %q", resp.StopReason, tt.stop)
			}
			tools := 0
			for _, blk := range resp.Output.Message.Content {
				if blk.ToolUse != nil {
					tools++
				}
			}
			if tools != tt.tools {
				t.Errorf("%d tool calls, want %d", tools, tt.tools)
			}
			if words := len(strings.Fields(tt.text)); resp.Usage.OutputTokens != words+tools {
				t.Errorf("outputTokens = %d, want %d", resp.Usage.OutputTokens, words+tools)
			}
		})
	}
}

func TestUsageCountsWords(t *testing.T) {
	b := mustNew(t, Config{Replies: []Reply{{Text: "four words of reply"}}})
	sys := "be brief"
	req := user("one two three", "ok then", "five six")
	req.System = []converse.SystemBlock{{Text: &sys}}
	res := "result text"
	req.Messages = append(req.Messages,
		converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "a", Name: "f", Input: json.RawMessage(`{"q": "x"}`)}}}},
		converse.Message{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "a",
			Content: []converse.ToolResultContent{{Text: &res}, {JSON: json.RawMessage(`{"a": 1}`)}}}}}})
	resp, err := b.Converse(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// system 2 + texts 3+2+2 + tool input 2 + result text 2 + result JSON 2
	want := converse.Usage{InputTokens: 15, OutputTokens: 4, TotalTokens: 19}
	if resp.Usage != want {
		t.Errorf("usage = %+v, want %+v", resp.Usage, want)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault Fault
		kind  converse.ErrorKind
		msg   string
	}{
		{FaultThrottling, converse.KindThrottling, "Too many requests, please wait before trying again."},
		{FaultModelError, converse.KindModelError, msgModelError},
		{FaultModelTimeout, converse.KindModelTimeout, "Model has timed out in processing the request. Try your request again."},
		{FaultServiceUnavailable, converse.KindServiceUnavailable, "Bedrock is unable to process your request."},
		{FaultInternal, converse.KindInternalServer, "The system encountered an unexpected error during processing. Try your request again."},
		{FaultModelNotReady, converse.KindModelNotReady, msgModelNotReady},
		{FaultValidation, converse.KindValidation, "The model returned the following errors: Input is too long for requested model."},
	}
	if len(tests) != len(Faults())-1 { // stream_cut has its own test
		t.Fatalf("%d faults tested, %d defined", len(tests), len(Faults()))
	}
	check := func(t *testing.T, err error, kind converse.ErrorKind, msg string) {
		t.Helper()
		var ce *converse.Error
		if !errors.As(err, &ce) || ce.Kind != kind || ce.Message != msg {
			t.Errorf("error = %v, want %v: %q", err, kind, msg)
		}
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			for name, b := range map[string]*Backend{
				"configured": mustNew(t, Config{Replies: []Reply{{Match: "boom", Fault: tt.fault}}}),
				"marker":     mustNew(t, Config{}),
			} {
				req := user("boom")
				if name == "marker" {
					req = user("please [[fault:" + string(tt.fault) + "]] now")
				}
				_, err := b.Converse(context.Background(), req)
				check(t, err, tt.kind, tt.msg)
				seq, err := b.ConverseStream(context.Background(), req)
				check(t, err, tt.kind, tt.msg)
				if seq != nil {
					t.Errorf("%s: stream returned with the error", name)
				}
			}
		})
	}
	t.Run("stream_cut on converse is a model error", func(t *testing.T) {
		b := mustNew(t, Config{})
		_, err := b.Converse(context.Background(), user("[[fault:stream_cut]]"))
		check(t, err, converse.KindModelError, msgModelError)
	})
	t.Run("marker overrides the configured fault", func(t *testing.T) {
		b := mustNew(t, Config{Replies: []Reply{{Fault: FaultThrottling}}})
		_, err := b.Converse(context.Background(), user("[[fault:model_timeout]]"))
		check(t, err, converse.KindModelTimeout, msgModelTimeout)
	})
	t.Run("unknown marker is a validation error", func(t *testing.T) {
		b := mustNew(t, Config{})
		_, err := b.Converse(context.Background(), user("[[fault:gremlins]]"))
		var ce *converse.Error
		if !errors.As(err, &ce) || ce.Kind != converse.KindValidation || !strings.Contains(ce.Message, `"gremlins"`) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("marker in an earlier user turn is ignored", func(t *testing.T) {
		b := mustNew(t, Config{})
		if _, err := b.Converse(context.Background(), user("[[fault:throttling]]", "ok", "again")); err != nil {
			t.Errorf("error = %v", err)
		}
	})
}

// streamUntilError returns the text deltas received and the error that ended the stream.
func streamUntilError(t *testing.T, b *Backend, ctx context.Context, req *converse.Request) ([]string, []string, error) {
	t.Helper()
	seq, err := b.ConverseStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var deltas, types []string
	for ev, err := range seq {
		if err != nil {
			return deltas, types, err
		}
		types = append(types, ev.Type())
		if d := ev.ContentBlockDelta; d != nil && d.Delta.Text != nil {
			deltas = append(deltas, *d.Delta.Text)
		}
	}
	return deltas, types, nil
}

func TestStreamCut(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		text   string
		deltas int
	}{
		{"after configured count", Config{Replies: []Reply{{Text: "a b c d e", Fault: FaultStreamCut, CutAfter: 2}}}, "x", 2},
		{"at once", Config{Replies: []Reply{{Text: "a b c", Fault: FaultStreamCut}}}, "x", 0},
		{"count beyond the reply sends it all then fails", Config{Replies: []Reply{{Text: "a b c", Fault: FaultStreamCut, CutAfter: 9}}}, "x", 3},
		{"marker with count", Config{Replies: []Reply{{Text: "a b c d e"}}}, "x [[fault:stream_cut:4]]", 4},
		{"marker count overrides the configured one", Config{Replies: []Reply{{Text: "a b c d e", CutAfter: 1}}}, "[[fault:stream_cut:3]]", 3},
		{"marker without count keeps the configured one", Config{Replies: []Reply{{Text: "a b c d e", CutAfter: 1}}}, "[[fault:stream_cut]]", 1},
		{"tool-only reply is cut before the call", Config{Replies: []Reply{{ToolUse: &ToolUse{Name: "t"}, Fault: FaultStreamCut}}}, "x", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deltas, types, err := streamUntilError(t, mustNew(t, tt.cfg), context.Background(), user(tt.text))
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindModelStreamError || ce.Message != converse.MsgInternal || ce.OriginalStatusCode != 500 {
				t.Fatalf("stream ended with %v, want a model stream error", err)
			}
			if len(deltas) != tt.deltas {
				t.Errorf("%d deltas before the cut, want %d", len(deltas), tt.deltas)
			}
			if types[0] != "messageStart" || types[len(types)-1] == "messageStop" {
				t.Errorf("events = %v", types)
			}
		})
	}
	t.Run("bad marker count", func(t *testing.T) {
		_, err := mustNew(t, Config{}).ConverseStream(context.Background(), user("[[fault:stream_cut:x]]"))
		var ce *converse.Error
		if !errors.As(err, &ce) || ce.Kind != converse.KindValidation {
			t.Errorf("error = %v", err)
		}
	})
}

func TestChunkDelayHonoursCancellation(t *testing.T) {
	slow := Config{Replies: []Reply{{Text: "never arrives", ChunkDelay: time.Hour}}}
	t.Run("stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		deltas, _, err := streamUntilError(t, mustNew(t, slow), ctx, user("x"))
		if !errors.Is(err, context.Canceled) || len(deltas) != 0 {
			t.Errorf("deltas %q, error %v; want none and context.Canceled", deltas, err)
		}
	})
	t.Run("stream cancelled mid-way", func(t *testing.T) {
		b := mustNew(t, Config{Replies: []Reply{{Text: "a b c", ChunkDelay: time.Nanosecond}}})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		seq, err := b.ConverseStream(ctx, user("x"))
		if err != nil {
			t.Fatal(err)
		}
		var deltas int
		for ev, err := range seq {
			if err != nil {
				if !errors.Is(err, context.Canceled) || deltas != 1 {
					t.Errorf("after %d deltas: %v", deltas, err)
				}
				return
			}
			if ev.ContentBlockDelta != nil {
				deltas++
				cancel()
			}
		}
		t.Error("stream completed despite cancellation")
	})
	t.Run("converse", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := mustNew(t, slow).Converse(ctx, user("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
}

func TestStoppingEarlyIsSafe(t *testing.T) {
	b := mustNew(t, replies)
	for _, text := range []string{"hello", "plan"} {
		seq, err := b.ConverseStream(context.Background(), user(text))
		if err != nil {
			t.Fatal(err)
		}
		for n := range 9 {
			i := 0
			for range seq {
				if i == n {
					break
				}
				i++
			}
		}
	}
}

func TestNewRejectsBadReplies(t *testing.T) {
	tests := []struct {
		name  string
		reply Reply
		want  string
	}{
		{"unknown fault", Reply{Fault: "gremlins"}, "replies[0].fault"},
		{"negative cut", Reply{CutAfter: -1}, "replies[0].cut_after"},
		{"negative delay", Reply{ChunkDelay: -time.Second}, "replies[0].chunk_delay"},
		{"nameless tool", Reply{ToolUse: &ToolUse{}}, "replies[0].tool_use.name"},
		{"tool input not an object", Reply{ToolUse: &ToolUse{Name: "t", Input: json.RawMessage(`[1]`)}}, "replies[0].tool_use.input"},
		{"tool input null", Reply{ToolUse: &ToolUse{Name: "t", Input: json.RawMessage(`null`)}}, "replies[0].tool_use.input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Replies: []Reply{tt.reply}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestNewCopiesTheConfig(t *testing.T) {
	cfg := Config{Replies: []Reply{{Text: "original", ToolUse: &ToolUse{Name: "t", Input: json.RawMessage(`{"a":1}`)}}}}
	b := mustNew(t, cfg)
	cfg.Replies[0].Text = "changed"
	cfg.Replies[0].ToolUse.Input[5] = '2'
	resp, err := b.Converse(context.Background(), user("x"))
	if err != nil {
		t.Fatal(err)
	}
	if textOf(t, resp) != "original" || string(resp.Output.Message.Content[1].ToolUse.Input) != `{"a":1}` {
		t.Errorf("backend sees changes to its config: %+v", resp.Output.Message)
	}
}

func TestWords(t *testing.T) {
	for _, s := range []string{"", " ", "a", "a b", "  lead and trail  ", "tabs\tand\nnew lines", "日本語 テキスト"} {
		ws := words(s)
		if strings.Join(ws, "") != s {
			t.Errorf("words(%q) = %q does not concatenate back", s, ws)
		}
		if want := len(strings.Fields(s)); len(ws) != want && !(want == 0 && len(ws) == 1) {
			t.Errorf("words(%q) = %d pieces, strings.Fields finds %d", s, len(ws), want)
		}
	}
}
