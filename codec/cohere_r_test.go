package codec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

func TestCohereCommandRRequest(t *testing.T) {
	tool := converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}}
	call := converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{"a": 1}`)}}}}
	result := func(c ...converse.ToolResultContent) converse.Message {
		return converse.Message{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "t1", Content: c}}}}
	}
	tests := []struct {
		name string
		req  converse.Request
		key  string
		want string
	}{
		{"no system prompt sends no preamble", converse.Request{Messages: []converse.Message{userText("hi")}}, "preamble", ``},
		{"system blocks are joined", converse.Request{System: []converse.SystemBlock{{Text: ptr("a")}, {Text: ptr("b")}}, Messages: []converse.Message{userText("hi")}}, "preamble", `"a\nb"`},
		{"json that is not an object is wrapped", converse.Request{ToolConfig: &tool, Messages: []converse.Message{userText("hi"), call, result(converse.ToolResultContent{JSON: json.RawMessage(`[1, 2]`)})}},
			"tool_results", `[{"call":{"name":"f","parameters":{"a":1}},"outputs":[{"result":[1,2]}]}]`},
		{"a document in a tool result is a document output", converse.Request{ToolConfig: &tool, Messages: []converse.Message{userText("hi"), call,
			result(converse.ToolResultContent{Document: &converse.DocumentBlock{Format: "txt", Name: "N", Source: &converse.DocumentSource{Text: ptr("body\n")}}})}},
			"tool_results", `[{"call":{"name":"f","parameters":{"a":1}},"outputs":[{"title":"N","snippet":"body"}]}]`},
		{"tool results in history are a TOOL entry", converse.Request{ToolConfig: &tool, Messages: []converse.Message{userText("hi"), call,
			result(converse.ToolResultContent{Text: ptr("ok")}), {Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock("Done.")}}, userText("Thanks.")}},
			"chat_history", `[{"role":"USER","message":"hi"},{"role":"CHATBOT","message":"","tool_calls":[{"name":"f","parameters":{"a":1}}]},{"role":"TOOL","tool_results":[{"call":{"name":"f","parameters":{"a":1}},"outputs":[{"text":"ok"}]}]},{"role":"CHATBOT","message":"Done."}]`},
		{"reasoning in history is not sent", converse.Request{Messages: []converse.Message{userText("a"), {Role: converse.RoleAssistant, Content: []converse.Block{
			{ReasoningContent: &converse.ReasoningContent{ReasoningText: &converse.ReasoningText{Text: "hmm"}}}, converse.TextBlock("b")}}, userText("c")}},
			"chat_history", `[{"role":"USER","message":"a"},{"role":"CHATBOT","message":"b"}]`},
		{"a document's context goes with it", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{
			{Document: &converse.DocumentBlock{Format: "txt", Name: "N", Context: "notes", Source: &converse.DocumentSource{Text: ptr("x")}}}, converse.TextBlock("q")}}}},
			"documents", `[{"title":"N","snippet":"x","context":"notes"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := CohereCommandR{}.Request(&tt.req)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := field(t, body, tt.key); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.key, got, tt.want)
			}
		})
	}
}

func TestCohereCommandRRejects(t *testing.T) {
	tests := []struct {
		name string
		req  converse.Request
		want string
	}{
		{"a conversation ending with the assistant", converse.Request{Messages: []converse.Message{userText("a"), {Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock("b")}}}}, cohereMsgEndWithUser},
		{"an image", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}}},
			"This model doesn't support the image content block that you provided."},
		{"an image in a tool result", converse.Request{Messages: []converse.Message{userText("a"),
			{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{}`)}}}},
			{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "t1", Content: []converse.ToolResultContent{{Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}}}}}},
			"This model doesn't support the image content block that you provided."},
		{"a result answering no call", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "zz", Content: []converse.ToolResultContent{{Text: ptr("x")}}}}}}}},
			"The toolUseId zz at messages.0.content.0.toolResult.toolUseId doesn't match any toolUse block of an earlier assistant turn."},
		{"text beside a tool result", converse.Request{Messages: []converse.Message{userText("a"),
			{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{}`)}}}},
			{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "t1", Content: []converse.ToolResultContent{{Text: ptr("x")}}}}, converse.TextBlock("and?")}}}},
			"messages.2.content: Conversation blocks and tool result blocks cannot be provided in the same turn."},
		{"a system tool", converse.Request{Messages: []converse.Message{userText("x")}, ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{SystemTool: &converse.SystemTool{Name: "web"}}}}},
			"This model doesn't support the toolConfig.tools.0.systemTool field."},
		{"a schema that is not an object", converse.Request{Messages: []converse.Message{userText("x")}, ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`[1]`)}}}}}},
			"The JSON schema at toolConfig.tools.0.toolSpec.inputSchema.json could not be read."},
		{"additional fields that are not an object", converse.Request{Messages: []converse.Message{userText("x")}, AdditionalModelRequestFields: json.RawMessage(`"k"`)},
			"The additionalModelRequestFields field must be a JSON object."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CohereCommandR{}.Request(&tt.req)
			cohereWantError(t, err, converse.KindValidation, tt.want)
		})
	}
}

func TestCohereCommandRResponse(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		content string
		stop    converse.StopReason
	}{
		{"text", `{"text":"Rome.","finish_reason":"COMPLETE"}`, `[{"text":"Rome."}]`, converse.StopEndTurn},
		{"error limit is max_tokens", `{"text":"Ro","finish_reason":"ERROR_LIMIT"}`, `[{"text":"Ro"}]`, converse.StopMaxTokens},
		{"toxic is content_filtered", `{"text":"","finish_reason":"ERROR_TOXIC"}`, `[{"text":""}]`, converse.StopContentFiltered},
		{"tool calls without text", `{"text":"","finish_reason":"COMPLETE","tool_calls":[{"name":"f","parameters":null}]}`,
			`[{"toolUse":{"toolUseId":"` + cohereToolUseID(0, "f", json.RawMessage("{}")) + `","name":"f","input":{}}}]`, converse.StopToolUse},
		{"parameters that are not an object are malformed_tool_use", `{"text":"","finish_reason":"COMPLETE","tool_calls":[{"name":"f","parameters":[1]}]}`,
			`[{"toolUse":{"toolUseId":"` + cohereToolUseID(0, "f", json.RawMessage("{}")) + `","name":"f","input":{}}}]`, converse.StopMalformedToolUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := CohereCommandR{}.Response(&converse.Request{}, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(resp.Output.Message.Content)
			if string(got) != tt.content {
				t.Errorf("content %s, want %s", got, tt.content)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("stop reason %q, want %q", resp.StopReason, tt.stop)
			}
		})
	}
	for _, body := range []string{`{}`, `{"message":"invalid request: message must be at least 1 token long"}`, `[`} {
		_, err := CohereCommandR{}.Response(&converse.Request{}, []byte(body))
		cohereWantError(t, err, converse.KindModelError, "The model")
	}
}

func TestCohereToolUseIDsDifferByCall(t *testing.T) {
	a := cohereToolUseID(0, "f", json.RawMessage(`{"a":1}`))
	for _, b := range []string{cohereToolUseID(1, "f", json.RawMessage(`{"a":1}`)), cohereToolUseID(0, "g", json.RawMessage(`{"a":1}`)), cohereToolUseID(0, "f", json.RawMessage(`{"a":2}`))} {
		if a == b {
			t.Errorf("two calls share the id %s", a)
		}
	}
	if len(a) != len("tooluse_")+22 || !strings.HasPrefix(a, "tooluse_") {
		t.Errorf("id %q is not in Bedrock's form", a)
	}
}

func TestCohereCommandRStream(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string // the collected content's JSON
		stop   converse.StopReason
		usage  converse.Usage
		err    string
	}{
		{"billed units win over the metrics", []string{`{"event_type":"stream-start"}`, `{"event_type":"text-generation","text":"Hi"}`,
			`{"event_type":"stream-end","finish_reason":"COMPLETE","response":{"meta":{"billed_units":{"input_tokens":3,"output_tokens":1}}},"amazon-bedrock-invocationMetrics":{"inputTokenCount":200,"outputTokenCount":1,"invocationLatency":5,"firstByteLatency":2}}`},
			`[{"text":"Hi"}]`, converse.StopEndTurn, converse.Usage{InputTokens: 3, OutputTokens: 1, TotalTokens: 4}, ""},
		{"the metrics give usage when the body has none", []string{`{"event_type":"text-generation","text":"Hi"}`,
			`{"event_type":"stream-end","finish_reason":"MAX_TOKENS","amazon-bedrock-invocationMetrics":{"inputTokenCount":7,"outputTokenCount":1,"invocationLatency":5,"firstByteLatency":2}}`},
			`[{"text":"Hi"}]`, converse.StopMaxTokens, converse.Usage{InputTokens: 7, OutputTokens: 1, TotalTokens: 8}, ""},
		{"an empty answer is one empty text", []string{`{"event_type":"stream-end","finish_reason":"COMPLETE"}`}, `[{"text":""}]`, converse.StopEndTurn, converse.Usage{}, ""},
		{"streamed text is not repeated from the tool plan", []string{`{"event_type":"text-generation","text":"Plan."}`,
			`{"event_type":"tool-calls-generation","text":"Plan.","tool_calls":[{"name":"f","parameters":{}}]}`, `{"event_type":"stream-end","finish_reason":"COMPLETE"}`},
			`[{"text":"Plan."},{"toolUse":{"toolUseId":"` + cohereToolUseID(0, "f", json.RawMessage("{}")) + `","name":"f","input":{}}}]`, converse.StopToolUse, converse.Usage{}, ""},
		{"unknown events are skipped", []string{`{"event_type":"citation-generation","citations":[]}`, `{"generations":[{"text":"x"}]}`, `{"event_type":"stream-end","finish_reason":"COMPLETE"}`},
			`[{"text":""}]`, converse.StopEndTurn, converse.Usage{}, ""},
		{"finish_reason ERROR", []string{`{"event_type":"text-generation","text":"a"}`, `{"event_type":"stream-end","finish_reason":"ERROR"}`}, "", "", converse.Usage{}, cohereMsgGenerationError},
		{"a chunk that is not JSON", []string{`{"event_type":"text-generation","text":"a"}`, `]`}, "", "", converse.Usage{}, MsgMalformedStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := converse.Collect(cohereEvents(CohereCommandR{}.NewStream(&converse.Request{}), tt.chunks))
			if tt.err != "" {
				cohereWantError(t, err, converse.KindModelStreamError, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(resp.Output.Message.Content)
			if string(got) != tt.want {
				t.Errorf("content %s, want %s", got, tt.want)
			}
			if resp.StopReason != tt.stop || resp.Usage != tt.usage {
				t.Errorf("stop %q usage %+v, want %q %+v", resp.StopReason, resp.Usage, tt.stop, tt.usage)
			}
		})
	}
}

// TestCohereCommandRStreamMatchesResponse checks that a streamed answer
// collects into what Response reads from the same answer.
func TestCohereCommandRStreamMatchesResponse(t *testing.T) {
	final := `{"text":"Plan.","finish_reason":"COMPLETE","tool_calls":[{"name":"f","parameters":{"x":"y"}},{"name":"g","parameters":{}}],"meta":{"billed_units":{"input_tokens":9,"output_tokens":4}}}`
	want, err := CohereCommandR{}.Response(&converse.Request{}, []byte(final))
	if err != nil {
		t.Fatal(err)
	}
	got, err := converse.Collect(cohereEvents(CohereCommandR{}.NewStream(&converse.Request{}), []string{
		`{"event_type":"stream-start"}`,
		`{"event_type":"tool-calls-generation","text":"Plan.","tool_calls":[{"name":"f","parameters":{"x":"y"}},{"name":"g","parameters":{}}]}`,
		`{"event_type":"stream-end","finish_reason":"COMPLETE","response":` + final + `}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("streamed:\n%s\nwhole:\n%s", b, a)
	}
}
