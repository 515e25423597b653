package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/converse-project/converse/upstreamtest"
)

// The agent loop of the Bedrock function-calling samples, driven by the AWS
// SDK for Go through `converse serve` against each tool-capable family's
// fake upstream: the model asks for the weather tool twice, the client
// answers each call with a toolResult, and the model then answers in text.

var weatherTool = &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
	Name:        aws.String("get_weather"),
	Description: aws.String("Current weather for a city."),
	InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{
		"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}})},
}}}}

// toolVendor scripts one fake upstream for the loop.
type toolVendor struct {
	model     string
	toolCall  func(id, city string)  // the next answer asks for get_weather(city)
	final     func(text string)      // the next answer is text
	last      func() string          // the last request the upstream received
	resultRef func(id string) string // what the upstream must receive for the answer to call id
}

// agentLoop runs the loop with Converse (stream false) or ConverseStream.
func agentLoop(t *testing.T, c *bedrockruntime.Client, v toolVendor, stream bool) {
	t.Helper()
	ctx := context.Background()
	msgs := []types.Message{userText("What is the weather in Paris and in Rome?")}
	for i, city := range []string{"Paris", "Rome", ""} {
		id := fmt.Sprintf("call%d%s", i, strings.Repeat("x", 4))
		if city != "" {
			v.toolCall(id, city)
		} else {
			v.final("Paris is 21°C and Rome is 24°C.")
		}
		var (
			content []types.ContentBlock
			stop    types.StopReason
		)
		if stream {
			content, stop = streamTurn(t, c, v.model, msgs)
		} else {
			out, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(v.model), Messages: msgs, ToolConfig: weatherTool})
			if err != nil {
				t.Fatalf("turn %d: %v", i, err)
			}
			content, stop = out.Output.(*types.ConverseOutputMemberMessage).Value.Content, out.StopReason
		}
		if i > 0 {
			// The upstream got the previous turn's result, matched to its call.
			if ref := v.resultRef(lastToolID(msgs)); !strings.Contains(v.last(), ref) {
				t.Errorf("turn %d: upstream request lacks %q:\n%s", i, ref, v.last())
			}
			if !strings.Contains(v.last(), "get_weather") {
				t.Errorf("turn %d: toolConfig did not reach the upstream", i)
			}
		}
		if city == "" {
			if stop != types.StopReasonEndTurn || len(content) == 0 {
				t.Fatalf("final turn: stop %q content %v", stop, content)
			}
			if tb, ok := content[len(content)-1].(*types.ContentBlockMemberText); !ok || !strings.Contains(tb.Value, "Rome is 24") {
				t.Errorf("final text = %#v", content)
			}
			return
		}
		if stop != types.StopReasonToolUse {
			t.Fatalf("turn %d: stopReason %q, want tool_use", i, stop)
		}
		tu, ok := content[len(content)-1].(*types.ContentBlockMemberToolUse)
		if !ok {
			t.Fatalf("turn %d: last block %T, want toolUse", i, content[len(content)-1])
		}
		var in map[string]any
		raw, err := tu.Value.Input.MarshalSmithyDocument()
		if err == nil {
			err = json.Unmarshal(raw, &in)
		}
		if err != nil || in["city"] != city || *tu.Value.Name != "get_weather" {
			t.Fatalf("turn %d: toolUse %s %v (%v)", i, aws.ToString(tu.Value.Name), in, err)
		}
		msgs = append(msgs,
			types.Message{Role: types.ConversationRoleAssistant, Content: content},
			types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: tu.Value.ToolUseId,
				Content:   []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberJson{Value: document.NewLazyDocument(map[string]any{"city": city, "tempC": 21 + 3*i})}},
				Status:    types.ToolResultStatusSuccess,
			}}}})
	}
}

func lastToolID(msgs []types.Message) string {
	m := msgs[len(msgs)-1]
	return *m.Content[0].(*types.ContentBlockMemberToolResult).Value.ToolUseId
}

// streamTurn runs one ConverseStream turn and assembles its content, checking
// Bedrock's order for tool blocks: a start naming the tool, input deltas,
// then a stop, each block with its own index.
func streamTurn(t *testing.T, c *bedrockruntime.Client, model string, msgs []types.Message) ([]types.ContentBlock, types.StopReason) {
	t.Helper()
	out, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(model), Messages: msgs, ToolConfig: weatherTool})
	if err != nil {
		t.Fatal(err)
	}
	s := out.GetStream()
	defer s.Close()
	type block struct {
		text, input strings.Builder
		tool        *types.ToolUseBlockStart
		deltas      int
		stopped     bool
	}
	var (
		blocks []*block
		stop   types.StopReason
	)
	at := func(i int32) *block {
		for int(i) >= len(blocks) {
			blocks = append(blocks, &block{})
		}
		return blocks[i]
	}
	for ev := range s.Events() {
		switch ev := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockStart:
			if st, ok := ev.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
				at(*ev.Value.ContentBlockIndex).tool = &st.Value
			}
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			b := at(*ev.Value.ContentBlockIndex)
			if b.stopped {
				t.Errorf("delta for block %d after its stop", *ev.Value.ContentBlockIndex)
			}
			switch d := ev.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				b.text.WriteString(d.Value)
			case *types.ContentBlockDeltaMemberToolUse:
				if b.tool == nil {
					t.Errorf("tool input delta before contentBlockStart")
				}
				b.input.WriteString(*d.Value.Input)
				b.deltas++
			}
		case *types.ConverseStreamOutputMemberContentBlockStop:
			at(*ev.Value.ContentBlockIndex).stopped = true
		case *types.ConverseStreamOutputMemberMessageStop:
			stop = ev.Value.StopReason
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	var content []types.ContentBlock
	for i, b := range blocks {
		if !b.stopped {
			t.Errorf("block %d has no contentBlockStop", i)
		}
		if b.tool == nil {
			content = append(content, &types.ContentBlockMemberText{Value: b.text.String()})
			continue
		}
		var in map[string]any
		if err := json.Unmarshal([]byte(b.input.String()), &in); err != nil {
			t.Fatalf("block %d: tool input %q: %v", i, b.input.String(), err)
		}
		if b.deltas < minToolDeltas[model] {
			t.Errorf("block %d: tool input in %d deltas, want at least %d: it must flow as the upstream sends it", i, b.deltas, minToolDeltas[model])
		}
		content = append(content, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: b.tool.ToolUseId, Name: b.tool.Name, Input: document.NewLazyDocument(in)}})
	}
	return content, stop
}

// minToolDeltas is how many input deltas a streamed tool call must arrive
// in, for upstreams that send its arguments in fragments (3 here).
var minToolDeltas = map[string]int{"anthropic.claude-3-5-sonnet-20240620-v1:0": 3, "my-agent-model": 3}

func TestAgentLoop(t *testing.T) {
	t.Setenv("TEST_ANTHROPIC_KEY", "sk-test")
	t.Setenv("TEST_COHERE_KEY", upstreamtest.CohereKey)
	t.Setenv("TEST_MISTRAL_KEY", upstreamtest.MistralKey)
	an, co, mi, oa := upstreamtest.NewAnthropic(t), upstreamtest.NewCohere(t), upstreamtest.NewMistral(t), upstreamtest.NewOpenAI(t)
	s := startServer(t, fmt.Sprintf(`
models:
  anthropic.claude-3-5-sonnet-20240620-v1:0: {backend: anthropic, base_url: %s, model: claude-3-5-sonnet-20240620, api_key_env: TEST_ANTHROPIC_KEY}
  cohere.command-r-plus-v1:0: {backend: cohere, base_url: %s, model: command-r-plus, api_key_env: TEST_COHERE_KEY}
  mistral.mistral-large-2407-v1:0: {backend: mistral, base_url: %[3]s, model: mistral-large-2407, api_key_env: TEST_MISTRAL_KEY}
  mistral.mistral-small-2402-v1:0: {backend: mistral, base_url: %[3]s, model: mistral-small-2402, api_key_env: TEST_MISTRAL_KEY, synthesize_tool_streams: true}
  my-agent-model: {backend: openai, base_url: %[4]s, model: qwen2.5}
`, an.URL, co.URL, mi.URL, oa.URL))
	c := s.client(t)
	args := func(city string) string { return fmt.Sprintf(`{"city":%q}`, city) }
	vendors := []struct {
		v      toolVendor
		stream bool // the family streams tool use (AWS's table)
	}{
		{toolVendor{model: "anthropic.claude-3-5-sonnet-20240620-v1:0",
			toolCall: func(id, city string) {
				an.Reply(upstreamtest.AnthropicReply{Text: "Let me check.", Chunks: 2, ToolUses: []upstreamtest.AnthropicToolUse{{ID: "toolu_" + id, Name: "get_weather", Input: args(city), Fragments: 3}}})
			},
			final:     func(text string) { an.Reply(upstreamtest.AnthropicReply{Text: text, Chunks: 3}) },
			last:      func() string { return string(an.LastRequest()) },
			resultRef: func(id string) string { return `"tool_use_id":"` + id + `"` },
		}, true},
		{toolVendor{model: "cohere.command-r-plus-v1:0",
			toolCall: func(_, city string) {
				co.Reply(upstreamtest.CohereReply{Text: "I will look it up.", ToolCalls: []upstreamtest.CohereToolCall{{Name: "get_weather", Parameters: args(city)}}})
			},
			final:     func(text string) { co.Reply(upstreamtest.CohereReply{Text: text, Chunks: 2}) },
			last:      func() string { return string(co.LastRequest()) },
			resultRef: func(string) string { return `"tool_results"` },
		}, true},
		{toolVendor{model: "mistral.mistral-large-2407-v1:0",
			toolCall: func(id, city string) {
				mi.Reply(upstreamtest.Reply{ToolCalls: []upstreamtest.ToolCall{{ID: id[:9], Name: "get_weather", Arguments: args(city)}}})
			},
			final:     func(text string) { mi.Reply(upstreamtest.Reply{Text: text}) },
			last:      func() string { return string(mi.LastRequest()) },
			resultRef: func(id string) string { return `"tool_call_id":"` + id + `"` },
		}, false},
		{toolVendor{model: "mistral.mistral-small-2402-v1:0", // streams by replaying one non-streaming call
			toolCall: func(id, city string) {
				mi.Reply(upstreamtest.Reply{ToolCalls: []upstreamtest.ToolCall{{ID: id[:9], Name: "get_weather", Arguments: args(city)}}})
			},
			final:     func(text string) { mi.Reply(upstreamtest.Reply{Text: text}) },
			last:      func() string { return string(mi.LastRequest()) },
			resultRef: func(id string) string { return `"tool_call_id":"` + id + `"` },
		}, true},
		{toolVendor{model: "my-agent-model",
			toolCall: func(id, city string) {
				oa.Reply(upstreamtest.Reply{ToolCalls: []upstreamtest.ToolCall{{ID: id, Name: "get_weather", Arguments: args(city), Fragments: 3}}})
			},
			final:     func(text string) { oa.Reply(upstreamtest.Reply{Text: text, Chunks: 2}) },
			last:      func() string { return string(oa.LastRequest()) },
			resultRef: func(id string) string { return `"tool_call_id":"` + id + `"` },
		}, true},
	}
	t.Run("streaming tool use where the model has none", func(t *testing.T) {
		_, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("mistral.mistral-large-2407-v1:0"),
			Messages: []types.Message{userText("Weather in Paris?")}, ToolConfig: weatherTool})
		if !isA[*types.ValidationException](err) || !strings.HasSuffix(err.Error(), "This model doesn't support tool use in streaming mode.") {
			t.Errorf("err = %v", err)
		}
	})
	for _, tc := range vendors {
		t.Run(tc.v.model+"/Converse", func(t *testing.T) { agentLoop(t, c, tc.v, false) })
		if tc.stream {
			t.Run(tc.v.model+"/ConverseStream", func(t *testing.T) { agentLoop(t, c, tc.v, true) })
		}
	}
}
