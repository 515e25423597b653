package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/transport/openai"
	"github.com/converse-project/converse/upstreamtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newBackend(srv *upstreamtest.OpenAIServer) *OpenAIChat {
	return &OpenAIChat{Client: &openai.Client{BaseURL: srv.URL, APIKey: "sk-test"}, Model: "llama3.1:8b"}
}

func request(text string) *converse.Request {
	maxTokens, temp := 100, 0.2
	return &converse.Request{
		ModelID:         "meta.llama3-1-8b-instruct-v1:0",
		System:          []converse.SystemBlock{{Text: &[]string{"Be brief."}[0]}},
		Messages:        []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock(text)}}},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: &maxTokens, Temperature: &temp},
	}
}

func TestOpenAIChatConverse(t *testing.T) {
	srv := upstreamtest.NewOpenAI(t, upstreamtest.Reply{Text: "Rome.", PromptTokens: 12, CompletionTokens: 3})
	srv.RequireKey("sk-test")
	resp, err := newBackend(srv).Converse(context.Background(), request("Capital of Italy?"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(resp)
	want := `{"output":{"message":{"role":"assistant","content":[{"text":"Rome."}]}},"stopReason":"end_turn","usage":{"inputTokens":12,"outputTokens":3,"totalTokens":15},"metrics":{"latencyMs":0}}`
	if string(got) != want {
		t.Errorf("response:\n%s\nwant:\n%s", got, want)
	}
	var sent struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		Stream    bool   `json:"stream"`
		Messages  []struct{ Role, Content string }
	}
	if err := json.Unmarshal(srv.LastRequest(), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Model != "llama3.1:8b" || sent.MaxTokens != 100 || sent.Stream || len(sent.Messages) != 2 || sent.Messages[0].Role != "system" || sent.Messages[1].Content != "Capital of Italy?" {
		t.Errorf("upstream received %s", srv.LastRequest())
	}
}

func TestOpenAIChatModelDefaultsToModelID(t *testing.T) {
	srv := upstreamtest.NewOpenAI(t)
	b := &OpenAIChat{Client: &openai.Client{BaseURL: srv.URL}}
	if _, err := b.Converse(context.Background(), request("hi")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(srv.LastRequest()), `"model":"meta.llama3-1-8b-instruct-v1:0"`) {
		t.Errorf("upstream received %s", srv.LastRequest())
	}
}

// describe renders an event compactly.
func describe(ev converse.StreamEvent) string {
	switch {
	case ev.ContentBlockStart != nil:
		return fmt.Sprintf("start %d %s", ev.ContentBlockStart.ContentBlockIndex, ev.ContentBlockStart.Start.ToolUse.Name)
	case ev.ContentBlockDelta != nil && ev.ContentBlockDelta.Delta.Text != nil:
		return fmt.Sprintf("text %d %q", ev.ContentBlockDelta.ContentBlockIndex, *ev.ContentBlockDelta.Delta.Text)
	case ev.ContentBlockDelta != nil && ev.ContentBlockDelta.Delta.ToolUse != nil:
		return fmt.Sprintf("tool %d %q", ev.ContentBlockDelta.ContentBlockIndex, ev.ContentBlockDelta.Delta.ToolUse.Input)
	case ev.ContentBlockStop != nil:
		return fmt.Sprintf("stop %d", ev.ContentBlockStop.ContentBlockIndex)
	case ev.MessageStop != nil:
		return "messageStop " + string(ev.MessageStop.StopReason)
	case ev.Metadata != nil:
		return fmt.Sprintf("metadata %d/%d/%d", ev.Metadata.Usage.InputTokens, ev.Metadata.Usage.OutputTokens, ev.Metadata.Usage.TotalTokens)
	}
	return ev.Type()
}

// drain ranges over seq, returning the events and the error ending it.
func drain(seq iter.Seq2[converse.StreamEvent, error]) ([]string, error) {
	var out []string
	for ev, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, describe(ev))
	}
	return out, nil
}

func TestOpenAIChatStream(t *testing.T) {
	srv := upstreamtest.NewOpenAI(t, upstreamtest.Reply{
		Text: "Let me check.", Chunks: 2, PromptTokens: 20, CompletionTokens: 9,
		ToolCalls: []upstreamtest.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Rome"}`, Fragments: 2}},
	})
	seq, err := newBackend(srv).ConverseStream(context.Background(), request("Weather in Rome?"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := drain(seq)
	if err != nil {
		t.Fatalf("stream failed after %q: %v", got, err)
	}
	want := []string{"messageStart", `text 0 "Let me"`, `text 0 " check."`, "stop 0", "start 1 get_weather",
		`tool 1 "{\"city\""`, `tool 1 ":\"Rome\"}"`, "stop 1", "messageStop tool_use", "metadata 20/9/29"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(string(srv.LastRequest()), `"stream_options":{"include_usage":true}`) {
		t.Errorf("upstream received %s", srv.LastRequest())
	}
}

// TestOpenAIChatStreamToolFragmentsArriveEarly checks that tool call
// fragments are passed on while the upstream is still streaming, and that
// breaking out of the sequence cancels the upstream request.
func TestOpenAIChatStreamToolFragmentsArriveEarly(t *testing.T) {
	srv := upstreamtest.NewOpenAI(t, upstreamtest.Reply{
		ToolCalls: []upstreamtest.ToolCall{{ID: "call_1", Name: "f", Arguments: `{"a":1,"b":2}`, Fragments: 3}},
		Hang:      true, HangAfter: 4, // role, tool start, two fragments; then silence
	})
	seq, err := newBackend(srv).ConverseStream(context.Background(), request("go"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for ev, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, describe(ev))
		if len(got) == 4 {
			break // the upstream has not finished: it hangs after the second fragment
		}
	}
	want := []string{"messageStart", "start 0 f", `tool 0 "{\"a\""`, `tool 0 ":1,\""`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	<-srv.Cancelled() // the upstream saw the request go away
}

func TestOpenAIChatStreamCancel(t *testing.T) {
	srv := upstreamtest.NewOpenAI(t, upstreamtest.Reply{Text: "abc", Chunks: 3, Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seq, err := newBackend(srv).ConverseStream(ctx, request("go"))
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for ev, err := range seq {
		if err != nil {
			last = err
			break
		}
		if ev.ContentBlockDelta != nil {
			cancel()
		}
	}
	<-srv.Cancelled()
	if !errors.Is(last, context.Canceled) {
		t.Errorf("sequence ended with %v, want context.Canceled", last)
	}
}

func TestOpenAIChatConverseCancel(t *testing.T) {
	srv := upstreamtest.NewOpenAI(t, upstreamtest.Reply{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := newBackend(srv).Converse(ctx, request("go"))
		done <- err
	}()
	for srv.Requests() == 0 {
		time.Sleep(time.Millisecond) // wait for the request to arrive
	}
	cancel()
	<-srv.Cancelled()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Converse = %v, want context.Canceled", err)
	}
}

// wantError describes the *converse.Error a fault must end in.
type wantError struct {
	kind     converse.ErrorKind
	message  string
	original int
}

func checkError(t *testing.T, err error, want wantError) {
	t.Helper()
	var ce *converse.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v (%T), want a *converse.Error", err, err)
	}
	if ce.Kind != want.kind || ce.Message != want.message || ce.OriginalStatusCode != want.original {
		t.Errorf("error = {%s %q original %d}, want {%s %q original %d}", ce.Kind, ce.Message, ce.OriginalStatusCode, want.kind, want.message, want.original)
	}
}

func TestOpenAIChatFaults(t *testing.T) {
	tests := []struct {
		name    string
		reply   upstreamtest.Reply
		key     string // the upstream requires this key
		timeout time.Duration
		want    wantError
	}{
		{"429 is throttling", upstreamtest.Reply{Status: 429}, "", 0, wantError{converse.KindThrottling, "Too many requests, please wait before trying again.", 0}},
		{"400 is a validation error quoting the model", upstreamtest.Reply{Status: 400, Message: "This model's maximum context length is 8192 tokens."}, "", 0,
			wantError{converse.KindValidation, "The model returned the following errors: This model's maximum context length is 8192 tokens.", 0}},
		{"422 is a validation error", upstreamtest.Reply{Status: 422, Message: "bad field"}, "", 0, wantError{converse.KindValidation, "The model returned the following errors: bad field", 0}},
		{"408 is a model timeout", upstreamtest.Reply{Status: 408}, "", 0, wantError{converse.KindModelTimeout, msgModelTimeout, 0}},
		{"500 is a model error with the original status", upstreamtest.Reply{Status: 500, Message: "CUDA out of memory"}, "", 0,
			wantError{converse.KindModelError, "The model returned the following errors: CUDA out of memory", 500}},
		{"503 is service unavailable", upstreamtest.Reply{Status: 503}, "", 0, wantError{converse.KindServiceUnavailable, msgServiceUnavailable, 0}},
		{"a wrong upstream key is a model error", upstreamtest.Reply{}, "sk-other", 0, wantError{converse.KindModelError, msgUpstreamAuth, 401}},
		{"an upstream slower than the timeout is a model timeout", upstreamtest.Reply{Hang: true, HangAfter: 1}, "", 50 * time.Millisecond, wantError{converse.KindModelTimeout, msgModelTimeout, 0}},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			if stream && tt.reply.Hang {
				continue // headers arrive first: silence is a mid-stream failure (TestOpenAIChatStreamFaults)
			}
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				srv := upstreamtest.NewOpenAI(t, tt.reply)
				if tt.key != "" {
					srv.RequireKey(tt.key)
				}
				b := newBackend(srv)
				b.Client.Timeout = tt.timeout
				var err error
				if stream {
					_, err = b.ConverseStream(context.Background(), request("hi"))
				} else {
					_, err = b.Converse(context.Background(), request("hi"))
				}
				checkError(t, err, tt.want)
			})
		}
	}
}

func TestOpenAIChatMalformedReply(t *testing.T) {
	srv := upstreamtest.NewOpenAI(t, upstreamtest.Reply{Malformed: true})
	_, err := newBackend(srv).Converse(context.Background(), request("hi"))
	checkError(t, err, wantError{converse.KindModelError, "The model returned a response that could not be read.", 200})
}

func TestOpenAIChatUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more: connection refused
	b := &OpenAIChat{Client: &openai.Client{BaseURL: "http://" + addr + "/v1"}}
	_, err = b.Converse(context.Background(), request("hi"))
	checkError(t, err, wantError{converse.KindServiceUnavailable, msgServiceUnavailable, 0})
	_, err = b.ConverseStream(context.Background(), request("hi"))
	checkError(t, err, wantError{converse.KindServiceUnavailable, msgServiceUnavailable, 0})
}

func TestOpenAIChatRejectsBeforeCallingUpstream(t *testing.T) {
	srv := upstreamtest.NewOpenAI(t)
	req := request("hi")
	req.Messages[0].Content = append(req.Messages[0].Content, converse.Block{Video: &converse.VideoBlock{Format: "mp4", Source: &converse.MediaSource{Bytes: []byte{0}}}})
	_, err := newBackend(srv).Converse(context.Background(), req)
	checkError(t, err, wantError{converse.KindValidation, "This model doesn't support the video content block that you provided. Update the content block and try again.", 0})
	if srv.Requests() != 0 {
		t.Errorf("upstream received %d requests", srv.Requests())
	}
}

func TestOpenAIChatStreamFaults(t *testing.T) {
	tests := []struct {
		name       string
		reply      upstreamtest.Reply
		timeout    time.Duration
		wantEvents int
		want       wantError
	}{
		{"connection cut mid-stream", upstreamtest.Reply{Text: "abcdef", Chunks: 6, CutAfter: 3}, 0, 3,
			wantError{converse.KindModelStreamError, "The model stream ended unexpectedly.", 200}},
		{"error event mid-stream", upstreamtest.Reply{Text: "ab", Chunks: 2, StreamError: "engine crashed"}, 0, 3,
			wantError{converse.KindModelStreamError, "The model returned the following errors: engine crashed", 500}},
		{"malformed event", upstreamtest.Reply{Text: "ab", Malformed: true}, 0, 1,
			wantError{converse.KindModelStreamError, "The model stream returned an event that could not be read.", 200}},
		{"silent upstream times out", upstreamtest.Reply{Text: "ab", Chunks: 2, Hang: true}, 50 * time.Millisecond, 2,
			wantError{converse.KindModelStreamError, msgStreamTimeout, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewOpenAI(t, tt.reply)
			b := newBackend(srv)
			b.Client.Timeout = tt.timeout
			seq, err := b.ConverseStream(context.Background(), request("hi"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := drain(seq)
			if len(got) != tt.wantEvents {
				t.Errorf("events before the error: %q, want %d", got, tt.wantEvents)
			}
			checkError(t, err, tt.want)
		})
	}
}

// TestOpenAIChatStreamCollectsLikeConverse checks that the same upstream
// answer gives the same response streamed and not.
func TestOpenAIChatStreamCollectsLikeConverse(t *testing.T) {
	reply := upstreamtest.Reply{Text: "Sure.", Chunks: 2, PromptTokens: 4, CompletionTokens: 6,
		ToolCalls: []upstreamtest.ToolCall{{ID: "c1", Name: "f", Arguments: `{"x":[1,2]}`}, {ID: "c2", Name: "g", Arguments: `{}`}}}
	srv := upstreamtest.NewOpenAI(t, reply, reply)
	b := newBackend(srv)
	whole, err := b.Converse(context.Background(), request("hi"))
	if err != nil {
		t.Fatal(err)
	}
	seq, err := b.ConverseStream(context.Background(), request("hi"))
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := converse.Collect(seq)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := json.Marshal(whole)
	s, _ := json.Marshal(streamed)
	if string(w) != string(s) {
		t.Errorf("streamed:\n%s\nwhole:\n%s", s, w)
	}
}

func TestUpstreamMessage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"OpenAI error object", `{"error":{"message":"bad","type":"invalid_request_error"}}`, "bad"},
		{"error string", `{"error":"model not found"}`, "model not found"},
		{"message member", `{"message":"nope"}`, "nope"},
		{"FastAPI detail", `{"detail":"Not Found"}`, "Not Found"},
		{"FastAPI validation detail", `{"detail":[{"msg":"x"}]}`, `[{"msg":"x"}]`},
		{"plain text", "upstream exploded\n", "upstream exploded"},
		{"empty body", "", "Bad Gateway"},
		{"long message is cut", `{"error":{"message":"` + strings.Repeat("é", 600) + `"}}`, strings.Repeat("é", 500) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstreamMessage(502, []byte(tt.body)); got != tt.want {
				t.Errorf("upstreamMessage = %q, want %q", got, tt.want)
			}
		})
	}
}
