package mistral_test

import (
	"context"
	"testing"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/mistral"
	"github.com/converse-project/converse/upstreamtest"
)

// TestCodecRoundTrip checks that what codec.MistralChat writes is what
// Mistral's API accepts, and that what the client answers is what the
// codec reads, whole and streamed: the two are written against Bedrock's
// native shape independently.
func TestCodecRoundTrip(t *testing.T) {
	text, sys := "And Italy?", "You are a terse geography tutor."
	req := &converse.Request{
		System: []converse.SystemBlock{{Text: &sys}},
		Messages: []converse.Message{
			{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("Weather in Rome?")}},
			{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_a1", Name: "get_weather", Input: []byte(`{"city":"Rome"}`)}}}},
			{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "tooluse_a1", Content: []converse.ToolResultContent{{JSON: []byte(`{"tempC":24}`)}}}}, converse.TextBlock(text)}},
		},
		ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "get_weather", InputSchema: &converse.InputSchema{JSON: []byte(`{"type":"object"}`)}}}}},
	}
	body, err := codec.MistralChat{}.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	srv := upstreamtest.NewMistral(t,
		upstreamtest.Reply{ToolCalls: []upstreamtest.ToolCall{{ID: "abcDEF123", Name: "get_weather", Arguments: `{"city":"Milan"}`}}, PromptTokens: 9, CompletionTokens: 4},
		upstreamtest.Reply{Text: "Rome.", Chunks: 3, PromptTokens: 9, CompletionTokens: 2})
	c := &mistral.Client{BaseURL: srv.URL, APIKey: upstreamtest.MistralKey}

	resp, err := c.Invoke(context.Background(), transport.Request{Model: "mistral-large-latest", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	out, err := codec.MistralChat{}.Response(req, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out.StopReason != converse.StopToolUse || out.Output.Message.Content[0].ToolUse == nil || out.Output.Message.Content[0].ToolUse.ToolUseID != "abcDEF123" {
		t.Errorf("response %+v", out.Output.Message.Content)
	}

	seq, err := c.InvokeStream(context.Background(), transport.Request{Model: "mistral-large-latest", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	d := codec.MistralChat{}.NewStream(req)
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
	if got := *collected.Output.Message.Content[0].Text; got != "Rome." || collected.Usage.InputTokens != 9 || collected.Usage.OutputTokens != 2 {
		t.Errorf("streamed %q, usage %+v", got, collected.Usage)
	}
}
