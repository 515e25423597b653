package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/converse-project/converse"
)

// claudeTextPromptOf returns the prompt member of a Text Completions body.
func claudeTextPromptOf(body []byte) string {
	var v struct {
		Prompt string `json:"prompt"`
	}
	json.Unmarshal(body, &v)
	return v.Prompt
}

func TestClaudeTextGolden(t *testing.T) {
	claudeGolden(t, "claude-text", ClaudeText{}, claudeTextPromptOf)
}

func TestClaudeTextPrompt(t *testing.T) {
	assistant := func(s string) converse.Message {
		return converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(s)}}
	}
	tests := []struct {
		name string
		req  *converse.Request
		want string
	}{
		{"no system prompt starts with the first Human turn", claudeMsgs(userText("Hi")), "\n\nHuman: Hi\n\nAssistant:"},
		{"system text comes before the first Human turn", &converse.Request{System: []converse.SystemBlock{{Text: ptr("Be brief.")}}, Messages: []converse.Message{userText("Hi")}},
			"Be brief.\n\nHuman: Hi\n\nAssistant:"},
		{"a final assistant turn is left open without trailing space", claudeMsgs(userText("Hi"), assistant("The answer is ")),
			"\n\nHuman: Hi\n\nAssistant: The answer is"},
		{"text blocks of a turn are joined with a newline", claudeMsgs(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("a"), converse.TextBlock("b")}}),
			"\n\nHuman: a\nb\n\nAssistant:"},
		{"a document comes first in its turn", claudeMsgs(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("Sum up."),
			{Document: &converse.DocumentBlock{Format: "txt", Name: "Notes", Source: &converse.DocumentSource{Text: ptr("line one\n")}}}}}),
			"\n\nHuman: <document name=\"Notes\" format=\"txt\">\nline one\n</document>\n\nSum up.\n\nAssistant:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := ClaudeText{}.Request(tt.req)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := claudeTextPromptOf(body); got != tt.want {
				t.Errorf("prompt = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClaudeTextRequest(t *testing.T) {
	tests := []struct {
		name  string
		codec ClaudeText
		req   *converse.Request
		key   string
		want  string
	}{
		{"absent maxTokens sends the documented default", ClaudeText{}, claudeMsgs(userText("hi")), "max_tokens_to_sample", "200"},
		{"absent maxTokens sends the configured default", ClaudeText{MaxTokens: 4096}, claudeMsgs(userText("hi")), "max_tokens_to_sample", "4096"},
		{"the Human stop is always sent", ClaudeText{}, claudeMsgs(userText("hi")), "stop_sequences", `["\n\nHuman:"]`},
		{"user stops follow the Human stop once", ClaudeText{}, &converse.Request{Messages: []converse.Message{userText("hi")},
			InferenceConfig: &converse.InferenceConfig{StopSequences: []string{"\n\nHuman:", "END"}}}, "stop_sequences", `["\n\nHuman:","END"]`},
		{"top_k comes from additional fields", ClaudeText{}, &converse.Request{Messages: []converse.Message{userText("hi")},
			AdditionalModelRequestFields: json.RawMessage(`{"top_k":50}`)}, "top_k", "50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := tt.codec.Request(tt.req)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := field(t, body, tt.key); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.key, got, tt.want)
			}
		})
	}
}

func TestClaudeTextRequestRejects(t *testing.T) {
	tool := &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}}
	tests := []struct {
		name string
		req  *converse.Request
		want string
	}{
		{"image block", claudeMsgs(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}),
			"This model doesn't support the image content block that you provided. Update the content block and try again."},
		{"guarded image", claudeMsgs(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {GuardContent: &converse.GuardContent{Image: &converse.GuardImage{Format: "png", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}}),
			"This model doesn't support the image content block that you provided. Update the content block and try again."},
		{"tool config", &converse.Request{Messages: []converse.Message{userText("x")}, ToolConfig: tool}, "This model doesn't support tool use."},
		{"tool use in history", claudeMsgs(userText("x"), converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "t", Name: "f", Input: json.RawMessage(`{}`)}}}}),
			"This model doesn't support the toolUse content block that you provided. Update the content block and try again."},
		{"reasoning in history", claudeMsgs(userText("x"), converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{{ReasoningContent: &converse.ReasoningContent{ReasoningText: &converse.ReasoningText{Text: "r"}}}}}),
			"This model doesn't support the reasoningContent content block that you provided. Update the content block and try again."},
		{"mid-conversation system message", claudeMsgs(userText("x"), converse.Message{Role: converse.RoleSystem, Content: []converse.Block{converse.TextBlock("y")}}),
			"The role at messages.1.role isn't supported. Use user or assistant and try again."},
		{"structured output", &converse.Request{Messages: []converse.Message{userText("x")}, OutputConfig: &converse.OutputConfig{TextFormat: &converse.OutputFormat{Type: "json_schema"}}},
			"This model doesn't support the outputConfig.textFormat field. Remove outputConfig.textFormat and try again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ClaudeText{}.Request(tt.req)
			claudeWantValidation(t, err, tt.want)
		})
	}
}

func TestClaudeTextResponse(t *testing.T) {
	prefill := claudeMsgs(userText("x"), converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock("The capital is")}})
	tests := []struct {
		name string
		req  *converse.Request
		body string
		text string
		stop converse.StopReason
	}{
		{"the Human stop is end_turn", claudeMsgs(userText("x")), `{"completion":" Rome.","stop_reason":"stop_sequence","stop":"\n\nHuman:"}`, "Rome.", converse.StopEndTurn},
		{"a stop sequence with no stop named is end_turn", claudeMsgs(userText("x")), `{"completion":" Rome.","stop_reason":"stop_sequence","stop":null}`, "Rome.", converse.StopEndTurn},
		{"a user stop is stop_sequence", claudeMsgs(userText("x")), `{"completion":" Rome","stop_reason":"stop_sequence","stop":"END"}`, "Rome", converse.StopStopSequence},
		{"max_tokens is max_tokens", claudeMsgs(userText("x")), `{"completion":" Ro","stop_reason":"max_tokens","stop":null}`, "Ro", converse.StopMaxTokens},
		{"after a prefill the leading space is kept", prefill, `{"completion":" Rome.","stop_reason":"stop_sequence","stop":"\n\nHuman:"}`, " Rome.", converse.StopEndTurn},
		{"only one leading space is cut", claudeMsgs(userText("x")), `{"completion":"  indented","stop_reason":"max_tokens"}`, " indented", converse.StopMaxTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ClaudeText{}.Response(tt.req, []byte(tt.body))
			if err != nil {
				t.Fatalf("Response: %v", err)
			}
			if got := *resp.Output.Message.Content[0].Text; got != tt.text || resp.StopReason != tt.stop {
				t.Errorf("got %q %q, want %q %q", got, resp.StopReason, tt.text, tt.stop)
			}
		})
	}
}

func TestClaudeTextResponseErrors(t *testing.T) {
	for _, body := range []string{`{"completion":`, `{"type":"message","content":[]}`, `[]`} {
		t.Run(body, func(t *testing.T) {
			_, err := ClaudeText{}.Response(nil, []byte(body))
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindModelError || ce.Message != MsgMalformedReply {
				t.Errorf("error = %v, want a ModelErrorException %q", err, MsgMalformedReply)
			}
		})
	}
}

func TestClaudeTextStream(t *testing.T) {
	tests := []struct {
		name   string
		chunks [][]byte
		want   string
		err    string
	}{
		{"no text gets one empty delta and usage waits for End", claudeChunks(`{"completion":"","stop_reason":"max_tokens","stop":null}`),
			`[{"messageStart":{"role":"assistant"}},{"contentBlockDelta":{"contentBlockIndex":0,"delta":{"text":""}}},{"contentBlockStop":{"contentBlockIndex":0}},{"messageStop":{"stopReason":"max_tokens"}},{"metadata":{"usage":{"inputTokens":0,"outputTokens":0,"totalTokens":0},"metrics":{"latencyMs":0}}}]`, ""},
		{"a first chunk of one space is dropped", claudeChunks(`{"completion":" ","stop_reason":null}`, `{"completion":"Hi","stop_reason":null}`,
			`{"completion":"","stop_reason":"stop_sequence","stop":"\n\nHuman:","amazon-bedrock-invocationMetrics":{"inputTokenCount":3,"outputTokenCount":2,"invocationLatency":7,"firstByteLatency":1}}`),
			`[{"messageStart":{"role":"assistant"}},{"contentBlockDelta":{"contentBlockIndex":0,"delta":{"text":"Hi"}}},{"contentBlockStop":{"contentBlockIndex":0}},{"messageStop":{"stopReason":"end_turn"}},{"metadata":{"usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5},"metrics":{"latencyMs":7}}}]`, ""},
		{"a stream cut before the stop reason is an error", claudeChunks(`{"completion":" Ro","stop_reason":null}`),
			`[{"messageStart":{"role":"assistant"}},{"contentBlockDelta":{"contentBlockIndex":0,"delta":{"text":"Ro"}}}]`, MsgStreamEnded},
		{"a chunk that is not JSON is an error", claudeChunks(`{"completion"`), `[]`, MsgMalformedStream},
		{"an error chunk ends the stream", claudeChunks(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`), `[]`,
			"The model returned the following errors: Overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := claudeDecodeAll(ClaudeText{}.NewStream(claudeMsgs(userText("x"))), tt.chunks)
			if got := string(claudeEventsJSON(t, evs)); got != tt.want {
				t.Errorf("events:\n%s\nwant:\n%s", got, tt.want)
			}
			if tt.err == "" {
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				return
			}
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindModelStreamError || ce.Message != tt.err {
				t.Errorf("error = %v, want a ModelStreamErrorException %q", err, tt.err)
			}
		})
	}
}

func FuzzClaudeTextResponse(f *testing.F) {
	claudeSeed(f, "claude-text", "native-response.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		ClaudeText{}.Response(&converse.Request{AdditionalModelResponseFieldPaths: []string{"/stop"}}, body)
	})
}

func FuzzClaudeTextStream(f *testing.F) {
	claudeSeed(f, "claude-text", "native-stream.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		d := ClaudeText{}.NewStream(&converse.Request{AdditionalModelResponseFieldPaths: []string{"/stop"}})
		for _, c := range bytes.Split(data, []byte("\n")) {
			d.Next(c)
		}
		d.End()
	})
}
