package anthropic_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/anthropic"
	"github.com/converse-project/converse/upstreamtest"
)

// These tests join the Claude codecs and this transport through the fake
// upstream: what the codecs build is what Anthropic accepts, and what the
// transport brings back is what the codecs read, streamed or not.

func textOf(t *testing.T, resp *converse.Response) string {
	t.Helper()
	b, err := json.Marshal(resp.Output.Message.Content)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCodecRoundTrip(t *testing.T) {
	toolTurn := []converse.Message{
		{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("Weather in Rome?")}},
		{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "tooluse_a1", Name: "get_weather", Input: json.RawMessage(`{"city":"Rome"}`)}}}},
		{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "tooluse_a1", Content: []converse.ToolResultContent{{JSON: json.RawMessage(`{"tempC":24}`)}}}}}},
	}
	tools := &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "get_weather", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}}
	sys := []converse.SystemBlock{{Text: ptr("Be terse.")}}
	tests := []struct {
		name    string
		family  codec.Family
		req     *converse.Request
		reply   upstreamtest.AnthropicReply
		content string
		stop    converse.StopReason
		usage   converse.Usage
	}{
		{"claude messages text", codec.Claude{}, &converse.Request{System: sys, Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("Capital of Italy?")}}}},
			upstreamtest.AnthropicReply{Text: "Rome.", Chunks: 3, InputTokens: 9, OutputTokens: 2}, `[{"text":"Rome."}]`, converse.StopEndTurn, converse.Usage{InputTokens: 9, OutputTokens: 2, TotalTokens: 11}},
		{"claude messages tool round trip", codec.Claude{}, &converse.Request{Messages: toolTurn, ToolConfig: tools},
			upstreamtest.AnthropicReply{Text: "Checking.", ToolUses: []upstreamtest.AnthropicToolUse{{ID: "toolu_2", Name: "get_weather", Input: `{"city":"Paris"}`, Fragments: 3}}, InputTokens: 40, OutputTokens: 12},
			`[{"text":"Checking."},{"toolUse":{"toolUseId":"toolu_2","name":"get_weather","input":{"city":"Paris"}}}]`, converse.StopToolUse, converse.Usage{InputTokens: 40, OutputTokens: 12, TotalTokens: 52}},
		{"claude text completion", codec.ClaudeText{}, &converse.Request{System: sys, Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("Capital of Italy?")}}}},
			upstreamtest.AnthropicReply{Text: " Rome.", Chunks: 2}, `[{"text":"Rome."}]`, converse.StopEndTurn, converse.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewAnthropic(t, tt.reply, tt.reply)
			c := &anthropic.Client{BaseURL: srv.URL, APIKey: "k"}
			body, err := tt.family.Request(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			treq := transport.Request{Model: "claude", Body: body}

			native, err := c.Invoke(context.Background(), treq)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			resp, err := tt.family.Response(tt.req, native.Body)
			if err != nil {
				t.Fatalf("Response: %v", err)
			}
			if got := textOf(t, resp); got != tt.content || resp.StopReason != tt.stop || resp.Usage != tt.usage {
				t.Errorf("Invoke: %s %s %+v, want %s %s %+v", got, resp.StopReason, resp.Usage, tt.content, tt.stop, tt.usage)
			}

			seq, err := c.InvokeStream(context.Background(), treq)
			if err != nil {
				t.Fatalf("InvokeStream: %v", err)
			}
			dec := tt.family.NewStream(tt.req)
			streamed, err := converse.Collect(func(yield func(converse.StreamEvent, error) bool) {
				for chunk, err := range seq {
					if err != nil {
						yield(converse.StreamEvent{}, err)
						return
					}
					evs, err := dec.Next(chunk)
					for _, ev := range evs {
						if !yield(ev, nil) {
							return
						}
					}
					if err != nil {
						yield(converse.StreamEvent{}, err)
						return
					}
				}
				evs, err := dec.End()
				for _, ev := range evs {
					if !yield(ev, nil) {
						return
					}
				}
				if err != nil {
					yield(converse.StreamEvent{}, err)
				}
			})
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if got := textOf(t, streamed); got != tt.content || streamed.StopReason != tt.stop {
				t.Errorf("InvokeStream: %s %s, want %s %s", got, streamed.StopReason, tt.content, tt.stop)
			}
			if tt.usage != (converse.Usage{}) && streamed.Usage != tt.usage {
				t.Errorf("InvokeStream usage %+v, want %+v", streamed.Usage, tt.usage)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
