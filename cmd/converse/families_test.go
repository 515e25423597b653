package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/converse-project/converse/upstreamtest"
)

// Every model family through each vendor transport that serves it: the AWS
// SDK for Go drives Converse and ConverseStream through `converse serve` to
// a fake upstream speaking the vendor's real wire format, and the test
// checks both the reply and what reached the upstream.

// conversation is the spec's running example (model-families.md §0).
func conversation(chat bool) ([]types.SystemContentBlock, []types.Message) {
	if !chat {
		return nil, []types.Message{userText("Capital of Italy?")}
	}
	return []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "You are a terse geography tutor."}},
		[]types.Message{
			userText("Capital of France?"),
			{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Paris."}}},
			userText("And Italy?"),
		}
}

// familyCase is one model served by one vendor transport.
type familyCase struct {
	model  string
	chat   bool // the model takes history and a system prompt
	stream bool // the model streams
	// upstream is what must have reached the upstream (a prompt fragment,
	// a JSON fragment).
	upstream string
	// native is the codec fixture directory whose native.json InvokeModel
	// sends (codec/testdata/<native>).
	native string
}

// runFamily runs Converse then ConverseStream for c, scripting the
// upstream's answer with reply(text, chunks) and reading what it received
// with last().
func runFamily(t *testing.T, client *bedrockruntime.Client, c familyCase, reply func(text string, chunks int), last func() string) {
	t.Helper()
	ctx := context.Background()
	system, msgs := conversation(c.chat)
	if !c.chat {
		system = nil
	}
	reply("Rome.", 1)
	out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(c.model), Messages: msgs, System: system,
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(64), Temperature: aws.Float32(0.2)}})
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	if got := strings.TrimSpace(replyText(t, out)); got != "Rome." {
		t.Errorf("Converse text = %q", got)
	}
	if out.StopReason != types.StopReasonEndTurn {
		t.Errorf("stopReason = %q", out.StopReason)
	}
	if got := last(); !strings.Contains(got, c.upstream) {
		t.Errorf("upstream received %q\nwant it to contain %q", got, c.upstream)
	}
	// InvokeModel with the family's native body, through the same transport.
	body := fixture(t, c.native, "native.json")
	reply("Rome.", 1)
	inv, err := client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(c.model), Body: body, ContentType: aws.String("application/json")})
	if err != nil {
		t.Fatalf("InvokeModel: %v", err)
	}
	if !json.Valid(inv.Body) || !strings.Contains(string(inv.Body), "Rome.") {
		t.Errorf("InvokeModel answered %s", inv.Body)
	}
	if !c.stream {
		return
	}
	reply("The capital is Rome.", 3)
	is, err := client.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(c.model), Body: body})
	if err != nil {
		t.Fatalf("InvokeModelWithResponseStream: %v", err)
	}
	var chunks [][]byte
	for ev := range is.GetStream().Events() {
		if ch, ok := ev.(*types.ResponseStreamMemberChunk); ok {
			chunks = append(chunks, ch.Value.Bytes)
		}
	}
	is.GetStream().Close()
	if err := is.GetStream().Err(); err != nil || len(chunks) == 0 || !strings.Contains(string(chunks[len(chunks)-1]), `"amazon-bedrock-invocationMetrics"`) {
		t.Errorf("invoke stream: %d chunks, err %v", len(chunks), err)
	}
	reply("The capital is Rome.", 3)
	st, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(c.model), Messages: msgs, System: system})
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	text, order, stop, usage, err := streamText(t, st)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if strings.TrimSpace(text) != "The capital is Rome." || stop != types.StopReasonEndTurn || usage == nil {
		t.Errorf("stream: text %q stop %q usage %v", text, stop, usage)
	}
	if strings.Join(order, ",") != strings.Join(bedrockOrder, ",") {
		t.Errorf("event order = %v", order)
	}
}

func TestFamiliesThroughAnthropic(t *testing.T) {
	t.Setenv("TEST_ANTHROPIC_KEY", "sk-test")
	up := upstreamtest.NewAnthropic(t)
	s := startServer(t, fmt.Sprintf(`
models:
  anthropic.claude-3-haiku-20240307-v1:0: {backend: anthropic, base_url: %[1]s, model: claude-3-haiku-20240307, api_key_env: TEST_ANTHROPIC_KEY}
  anthropic.claude-v2:1: {backend: anthropic, base_url: %[1]s, model: claude-2.1, api_key_env: TEST_ANTHROPIC_KEY}
`, up.URL))
	c := s.client(t)
	reply := func(text string, chunks int) {
		up.Reply(upstreamtest.AnthropicReply{Text: text, Chunks: chunks, InputTokens: 20, OutputTokens: 3})
	}
	last := func() string { return string(up.LastRequest()) }
	for _, tc := range []familyCase{
		{model: "anthropic.claude-3-haiku-20240307-v1:0", chat: true, stream: true, upstream: `"system":"You are a terse geography tutor."`, native: "claude/system-user-assistant-user"},
		{model: "anthropic.claude-v2:1", chat: true, stream: true, native: "claude-text/system-user-assistant-user", upstream: `You are a terse geography tutor.\n\nHuman: Capital of France?\n\nAssistant: Paris.\n\nHuman: And Italy?\n\nAssistant:`},
	} {
		t.Run(tc.model, func(t *testing.T) { runFamily(t, c, tc, reply, last) })
	}
}

func TestFamiliesThroughTextCompletionServers(t *testing.T) {
	cases := []familyCase{
		{model: "meta.llama3-1-8b-instruct-v1:0", chat: true, stream: true, native: "llama3/system-user-assistant-user",
			upstream: "<|start_header_id|>system<|end_header_id|>\n\nYou are a terse geography tutor.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd Italy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{model: "meta.llama2-13b-chat-v1", chat: true, stream: true, native: "llama2/system-user-assistant-user",
			upstream: "[INST] <<SYS>>\nYou are a terse geography tutor.\n<</SYS>>\n\nCapital of France? [/INST] Paris. </s><s>[INST] And Italy? [/INST]"},
		{model: "mistral.mixtral-8x7b-instruct-v0:1", stream: true, upstream: "[INST] Capital of Italy? [/INST]", native: "mistral-instruct/user-assistant-user"},
		{model: "amazon.titan-text-express-v1", stream: true, upstream: "User: Capital of Italy?\nBot:", native: "titan/user-assistant-user"},
	}
	// Each family over both text-completion APIs: OpenAI's /v1/completions
	// (vLLM, llama.cpp server) and Ollama's /api/generate with raw prompts.
	for _, api := range []struct{ backend, path string }{{"completions", "/v1"}, {"ollama", ""}} {
		t.Run(api.backend, func(t *testing.T) {
			up := upstreamtest.NewCompletions(t)
			var yaml strings.Builder
			yaml.WriteString("models:\n")
			for _, tc := range cases {
				fmt.Fprintf(&yaml, "  %s: {backend: %s, base_url: %s%s, model: upstream-model}\n", tc.model, api.backend, up.URL, api.path)
			}
			c := startServer(t, yaml.String()).client(t)
			reply := func(text string, chunks int) {
				up.Reply(upstreamtest.CompletionReply{Text: text, Chunks: chunks, PromptTokens: 30, CompletionTokens: 4})
			}
			for _, tc := range cases {
				t.Run(tc.model, func(t *testing.T) {
					runFamily(t, c, tc, reply, up.LastPrompt)
					if _, path := up.LastRequest(); !strings.HasSuffix(path, map[string]string{"completions": "/v1/completions", "ollama": "/api/generate"}[api.backend]) {
						t.Errorf("upstream path %q", path)
					}
				})
			}
		})
	}
}

func TestFamiliesThroughChatVendors(t *testing.T) {
	t.Setenv("TEST_COHERE_KEY", upstreamtest.CohereKey)
	t.Setenv("TEST_MISTRAL_KEY", upstreamtest.MistralKey)
	t.Setenv("TEST_AI21_KEY", upstreamtest.AI21Key)
	co, mi, ai := upstreamtest.NewCohere(t), upstreamtest.NewMistral(t), upstreamtest.NewAI21(t)
	s := startServer(t, fmt.Sprintf(`
models:
  cohere.command-r-v1:0: {backend: cohere, base_url: %s, model: command-r, api_key_env: TEST_COHERE_KEY}
  mistral.mistral-large-2407-v1:0: {backend: mistral, base_url: %s, model: mistral-large-2407, api_key_env: TEST_MISTRAL_KEY}
  ai21.jamba-instruct-v1:0: {backend: ai21, base_url: %s, model: jamba-instruct, api_key_env: TEST_AI21_KEY}
`, co.URL, mi.URL, ai.URL))
	c := s.client(t)
	t.Run("cohere.command-r-v1:0", func(t *testing.T) {
		runFamily(t, c, familyCase{model: "cohere.command-r-v1:0", chat: true, stream: true, upstream: `"preamble":"You are a terse geography tutor."`, native: "cohere-command-r/system-user-assistant-user"},
			func(text string, chunks int) {
				co.Reply(upstreamtest.CohereReply{Text: text, Chunks: chunks, InputTokens: 20, OutputTokens: 3})
			}, func() string { return string(co.LastRequest()) })
	})
	t.Run("mistral.mistral-large-2407-v1:0", func(t *testing.T) {
		runFamily(t, c, familyCase{model: "mistral.mistral-large-2407-v1:0", chat: true, stream: true, upstream: `"role":"system"`, native: "mistral-chat/system-user-assistant-user"},
			func(text string, chunks int) {
				mi.Reply(upstreamtest.Reply{Text: text, Chunks: chunks, PromptTokens: 20, CompletionTokens: 3})
			}, func() string { return string(mi.LastRequest()) })
	})
	t.Run("ai21.jamba-instruct-v1:0", func(t *testing.T) {
		runFamily(t, c, familyCase{model: "ai21.jamba-instruct-v1:0", chat: true, stream: true, upstream: `"model":"jamba-instruct"`, native: "jamba/system-user-assistant-user"},
			func(text string, chunks int) {
				ai.Reply(upstreamtest.Reply{Text: text, Chunks: chunks, PromptTokens: 20, CompletionTokens: 3})
			}, func() string { return string(ai.LastRequest()) })
	})
}
