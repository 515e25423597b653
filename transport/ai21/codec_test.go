package ai21_test

import (
	"context"
	"testing"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/ai21"
	"github.com/converse-project/converse/upstreamtest"
)

// TestCodecRoundTrip checks that what codec.Jamba writes is what AI21's
// API accepts, and that what the client answers is what the codec reads,
// whole and streamed.
func TestCodecRoundTrip(t *testing.T) {
	sys, maxTokens, temp := "You are a terse geography tutor.", 64, 0.2
	req := &converse.Request{
		System: []converse.SystemBlock{{Text: &sys}},
		Messages: []converse.Message{
			{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("Capital of France?")}},
			{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock("Paris.")}},
			{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("And Italy?")}},
		},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: &maxTokens, Temperature: &temp, StopSequences: []string{"\n\n"}},
	}
	body, err := codec.Jamba{}.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	srv := upstreamtest.NewAI21(t,
		upstreamtest.Reply{Text: "Rome.", PromptTokens: 30, CompletionTokens: 2},
		upstreamtest.Reply{Text: "Rome.", Chunks: 3, PromptTokens: 30, CompletionTokens: 2})
	c := &ai21.Client{BaseURL: srv.URL, APIKey: upstreamtest.AI21Key}

	resp, err := c.Invoke(context.Background(), transport.Request{Model: "jamba-mini", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	out, err := codec.Jamba{}.Response(req, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if *out.Output.Message.Content[0].Text != "Rome." || out.StopReason != converse.StopEndTurn || out.Usage.TotalTokens != 32 {
		t.Errorf("response %+v", out)
	}

	seq, err := c.InvokeStream(context.Background(), transport.Request{Model: "jamba-mini", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	d := codec.Jamba{}.NewStream(req)
	var evs []converse.StreamEvent
	for chunk, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Next(chunk)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got...)
	}
	end, err := d.End()
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, end...)
	collected, err := converse.Collect(func(yield func(converse.StreamEvent, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := *collected.Output.Message.Content[0].Text; got != "Rome." || collected.Usage.InputTokens != 30 || collected.Usage.OutputTokens != 2 {
		t.Errorf("streamed %q, usage %+v", got, collected.Usage)
	}
}
