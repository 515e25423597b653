package backend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/transport/completions"
	"github.com/converse-project/converse/upstreamtest"
)

// A Llama 3 model served from a text-completion server: the codec renders
// the prompt, the transport carries it, Native joins them.
func newNative(srv *upstreamtest.CompletionsServer, timeout time.Duration) *Native {
	return &Native{
		Family:    codec.Llama3{},
		Transport: &completions.Client{BaseURL: srv.URL + "/v1", API: completions.OpenAI, Dialect: completions.Llama, Timeout: timeout},
		Model:     "llama3.1",
	}
}

func TestNativeConverse(t *testing.T) {
	srv := upstreamtest.NewCompletions(t, upstreamtest.CompletionReply{Text: "Rome.", PromptTokens: 12, CompletionTokens: 3})
	req := request("Capital of Italy?")
	req.AdditionalModelResponseFieldPaths = []string{"/stop_reason", "/missing"}
	resp, err := newNative(srv, 0).Converse(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := *resp.Output.Message.Content[0].Text; got != "Rome." {
		t.Errorf("text = %q", got)
	}
	if resp.Usage != (converse.Usage{InputTokens: 12, OutputTokens: 3, TotalTokens: 15}) || resp.StopReason != converse.StopEndTurn {
		t.Errorf("usage %+v stop %q", resp.Usage, resp.StopReason)
	}
	if string(resp.AdditionalModelResponseFields) != `{"stop_reason":"stop"}` {
		t.Errorf("additionalModelResponseFields = %s", resp.AdditionalModelResponseFields)
	}
	if !strings.HasPrefix(srv.LastPrompt(), "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>") {
		t.Errorf("prompt = %q", srv.LastPrompt())
	}
}

// Upstream failures become the exceptions Bedrock sends for them, for
// Converse and for InvokeModel (whose model messages carry no Converse
// prefix).
func TestNativeFaults(t *testing.T) {
	srv := upstreamtest.NewCompletions(t)
	n := newNative(srv, 300*time.Millisecond)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		reply   upstreamtest.CompletionReply
		kind    converse.ErrorKind
		message string // Converse's message ("" to skip)
		invoke  string // InvokeModel's message ("" to skip)
		status  int    // OriginalStatusCode
	}{
		{"429 is throttling", upstreamtest.CompletionReply{Status: 429}, converse.KindThrottling, converse.MsgThrottled, converse.MsgThrottled, 0},
		{"400 is the model's validation error", upstreamtest.CompletionReply{Status: 400, Message: "prompt too long"}, converse.KindValidation,
			"The model returned the following errors: prompt too long", "prompt too long", 0},
		{"500 is a model error", upstreamtest.CompletionReply{Status: 500, Message: "boom"}, converse.KindModelError, "", "", 500},
		{"503 is service unavailable", upstreamtest.CompletionReply{Status: 503}, converse.KindServiceUnavailable, "", "", 0},
		{"a malformed answer is a model error", upstreamtest.CompletionReply{Malformed: true}, converse.KindModelError, "", "", 0},
		{"no answer in time is a model timeout", upstreamtest.CompletionReply{Hang: true}, converse.KindModelTimeout, "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(op string, err error, msg string) {
				t.Helper()
				var ce *converse.Error
				if !errors.As(err, &ce) || ce.Kind != tc.kind {
					t.Fatalf("%s: err = %v, want kind %v", op, err, tc.kind)
				}
				if msg != "" && ce.Message != msg {
					t.Errorf("%s: message %q, want %q", op, ce.Message, msg)
				}
				if tc.status != 0 && ce.OriginalStatusCode != tc.status {
					t.Errorf("%s: originalStatusCode %d, want %d", op, ce.OriginalStatusCode, tc.status)
				}
			}
			srv.Reply(tc.reply)
			_, err := n.Converse(ctx, request("hi"))
			check("Converse", err, tc.message)
			srv.Reply(tc.reply)
			_, err = n.Invoke(ctx, &converse.InvokeRequest{ModelID: "m", Body: []byte(`{"prompt":"hi","max_gen_len":5}`)})
			check("Invoke", err, tc.invoke)
		})
	}
}

// A stream cut mid-way ends with a ModelStreamErrorException after the
// events already sent; a caller that stops early cancels the upstream.
func TestNativeStream(t *testing.T) {
	srv := upstreamtest.NewCompletions(t)
	n := newNative(srv, 0)
	ctx := context.Background()

	srv.Reply(upstreamtest.CompletionReply{Text: "one two three four", Chunks: 4, CutAfter: 2})
	seq, err := n.ConverseStream(ctx, request("count"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var last error
	for ev, err := range seq {
		if err != nil {
			last = err
			break
		}
		kinds = append(kinds, ev.Type())
	}
	var ce *converse.Error
	if !errors.As(last, &ce) || ce.Kind != converse.KindModelStreamError || len(kinds) < 2 || kinds[0] != "messageStart" {
		t.Errorf("cut stream: events %v, error %v", kinds, last)
	}

	srv.Reply(upstreamtest.CompletionReply{Text: "never ends", Chunks: 3, Hang: true})
	seq, err = n.ConverseStream(ctx, request("go on"))
	if err != nil {
		t.Fatal(err)
	}
	for ev, err := range seq {
		if err != nil || ev.ContentBlockDelta != nil {
			break // leave after the first delta
		}
	}
	select {
	case <-srv.Cancelled():
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream never saw the caller leave")
	}
}

// additionalModelResponseFieldPaths pick fields of the chunk that ended a
// stream, as they pick fields of a whole answer.
func TestNativeStreamResponseFields(t *testing.T) {
	srv := upstreamtest.NewCompletions(t, upstreamtest.CompletionReply{Text: "Rome.", Chunks: 2, PromptTokens: 5, CompletionTokens: 2})
	req := request("Capital of Italy?")
	req.AdditionalModelResponseFieldPaths = []string{"/stop_reason"}
	seq, err := newNative(srv, 0).ConverseStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := converse.Collect(seq)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.AdditionalModelResponseFields) != `{"stop_reason":"stop"}` {
		t.Errorf("additionalModelResponseFields = %s", resp.AdditionalModelResponseFields)
	}
}
