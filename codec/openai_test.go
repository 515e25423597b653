package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

const testModel = "test-model"

func readRequest(t testing.TB, path string) *converse.Request {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var req converse.Request
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &req
}

// TestOpenAIChatGolden converts each testdata/openai/<case>/converse.json
// request to openai.json, and, where the case has one, reads
// reply.openai.json into reply.converse.json.
func TestOpenAIChatGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "openai", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			body, err := ToOpenAIChat(readRequest(t, filepath.Join(dir, "converse.json")), testModel, false)
			if err != nil {
				t.Fatalf("ToOpenAIChat: %v", err)
			}
			golden(t, filepath.Join(dir, "openai.json"), body)

			reply, err := os.ReadFile(filepath.Join(dir, "reply.openai.json"))
			if errors.Is(err, os.ErrNotExist) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp, err := FromOpenAIChat(reply)
			if err != nil {
				t.Fatalf("FromOpenAIChat: %v", err)
			}
			out, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, "reply.converse.json"), out)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func userText(s string) converse.Message {
	return converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock(s)}}
}

// field decodes the top-level member key of body.
func field(t *testing.T, body []byte, key string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v", err)
	}
	return string(m[key])
}

func TestToOpenAIChat(t *testing.T) {
	tests := []struct {
		name   string
		req    converse.Request
		stream bool
		key    string // top-level member to check
		want   string // its JSON
	}{
		{"stream asks for usage", converse.Request{Messages: []converse.Message{userText("hi")}}, true, "stream_options", `{"include_usage":true}`},
		{"no stream sends no stream member", converse.Request{Messages: []converse.Message{userText("hi")}}, false, "stream", ``},
		{"toolChoice auto is auto", converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}, ToolChoice: &converse.ToolChoice{Auto: &converse.Empty{}}}}, false, "tool_choice", `"auto"`},
		{"toolChoice tool names the function", converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}, ToolChoice: &converse.ToolChoice{Tool: &converse.SpecificTool{Name: "f"}}}}, false, "tool_choice", `{"function":{"name":"f"},"type":"function"}`},
		{"additional field wins over ours", converse.Request{Messages: []converse.Message{userText("hi")}, InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(10)},
			AdditionalModelRequestFields: json.RawMessage(`{"max_tokens":5,"min_p":0.1}`)}, false, "max_tokens", `5`},
		{"guardContent text is sent as text", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{{GuardContent: &converse.GuardContent{Text: &converse.GuardText{Text: "guarded"}}}}}}},
			false, "messages", `[{"role":"user","content":"guarded"}]`},
		{"reasoning and cache points are not sent", converse.Request{Messages: []converse.Message{userText("hi"), {Role: converse.RoleAssistant, Content: []converse.Block{
			{ReasoningContent: &converse.ReasoningContent{ReasoningText: &converse.ReasoningText{Text: "hmm", Signature: "sig"}}}, converse.TextBlock("Hello."), {CachePoint: &converse.CachePoint{Type: "default"}}}}}},
			false, "messages", `[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello."}]`},
		{"assistant turn with only a tool call has null content", converse.Request{Messages: []converse.Message{userText("hi"), {Role: converse.RoleAssistant, Content: []converse.Block{
			{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{}`)}}}}}},
			false, "messages", `[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]}]`},
		{"several text blocks are sent as parts", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("a"), converse.TextBlock("b")}}}},
			false, "messages", `[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]`},
		{"text document source is framed as is", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("Sum up."),
			{Document: &converse.DocumentBlock{Format: "txt", Name: "Notes", Source: &converse.DocumentSource{Text: ptr("line one\n")}}}}}}},
			false, "messages", `[{"role":"user","content":[{"type":"text","text":"<document name=\"Notes\" format=\"txt\">\nline one\n</document>"},{"type":"text","text":"Sum up."}]}]`},
		{"structured output becomes a json_schema response format", converse.Request{Messages: []converse.Message{userText("hi")}, OutputConfig: &converse.OutputConfig{TextFormat: &converse.OutputFormat{
			Type: "json_schema", Structure: &converse.OutputStructure{JSONSchema: &converse.JSONSchemaDefinition{Schema: `{"type":"object"}`}}}}},
			false, "response_format", `{"type":"json_schema","json_schema":{"name":"response","schema":{"type":"object"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := ToOpenAIChat(&tt.req, testModel, tt.stream)
			if err != nil {
				t.Fatalf("ToOpenAIChat: %v", err)
			}
			if got := field(t, body, tt.key); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.key, got, tt.want)
			}
		})
	}
}

func TestToOpenAIChatRejects(t *testing.T) {
	s3 := &converse.S3Location{URI: "s3://bucket/key"}
	tests := []struct {
		name string
		msg  converse.Message
		req  func(*converse.Request)
		want string
	}{
		{"video block", converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Video: &converse.VideoBlock{Format: "mp4", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}, nil,
			"This model doesn't support the video content block that you provided. Update the content block and try again."},
		{"audio block", converse.Message{Role: converse.RoleUser, Content: []converse.Block{{Audio: &converse.AudioBlock{Format: "mp3", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}, nil,
			"This model doesn't support the audio content block that you provided. Update the content block and try again."},
		{"image from S3", converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{S3Location: s3}}}}}, nil,
			"S3 locations aren't supported for this model: messages.0.content.1.image.source.s3Location. Provide the content as bytes and try again."},
		{"document from S3", converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Document: &converse.DocumentBlock{Format: "pdf", Name: "D", Source: &converse.DocumentSource{S3Location: s3}}}}}, nil,
			"S3 locations aren't supported for this model: messages.0.content.1.document.source.s3Location. Provide the content as bytes and try again."},
		{"unreadable pdf names the document", converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Document: &converse.DocumentBlock{Format: "pdf", Name: "MyDocument", Source: &converse.DocumentSource{Bytes: []byte("not a pdf")}}}}}, nil,
			"The document MyDocument could not be read: "},
		{"an unreadable xlsx names the document", converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Document: &converse.DocumentBlock{Format: "xlsx", Name: "Sheet", Source: &converse.DocumentSource{Bytes: []byte("PK")}}}}}, nil,
			"The document Sheet could not be read: read xlsx: zip: not a valid zip file."},
		{"a legacy doc says what to send instead", converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Document: &converse.DocumentBlock{Format: "doc", Name: "Memo", Source: &converse.DocumentSource{Bytes: []byte{0xd0, 0xcf}}}}}}, nil,
			"The document Memo could not be read: unsupported format: doc documents (the legacy binary Word format) can't be read; convert the document to docx, pdf or txt and try again."},
		{"image in a tool result", converse.Message{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "t", Content: []converse.ToolResultContent{{Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}}}}, nil,
			"This model doesn't support the image content block that you provided. Update the content block and try again."},
		{"system tool", userText("x"), func(r *converse.Request) {
			r.ToolConfig = &converse.ToolConfig{Tools: []converse.Tool{{SystemTool: &converse.SystemTool{Name: "web"}}}}
		}, "This model doesn't support the toolConfig.tools.0.systemTool field. Remove toolConfig.tools.0.systemTool and try again."},
		{"additional fields that are not an object", userText("x"), func(r *converse.Request) { r.AdditionalModelRequestFields = json.RawMessage(`[1]`) },
			"The additionalModelRequestFields field must be a JSON object."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &converse.Request{Messages: []converse.Message{tt.msg}}
			if tt.req != nil {
				tt.req(req)
			}
			_, err := ToOpenAIChat(req, testModel, false)
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindValidation {
				t.Fatalf("error = %v, want a ValidationException", err)
			}
			if !strings.HasPrefix(ce.Message, tt.want) {
				t.Errorf("message = %q, want %q", ce.Message, tt.want)
			}
		})
	}
}

func TestFromOpenAIChat(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		content string // JSON of the output message content
		stop    converse.StopReason
		usage   converse.Usage
	}{
		{"text reply", `{"choices":[{"index":0,"message":{"role":"assistant","content":"Rome."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`,
			`[{"text":"Rome."}]`, converse.StopEndTurn, converse.Usage{InputTokens: 12, OutputTokens: 3, TotalTokens: 15}},
		{"missing total is the sum", `{"choices":[{"message":{"content":"a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1}}`,
			`[{"text":"a"}]`, converse.StopEndTurn, converse.Usage{InputTokens: 2, OutputTokens: 1, TotalTokens: 3}},
		{"length is max_tokens", `{"choices":[{"message":{"content":"a"},"finish_reason":"length"}]}`, `[{"text":"a"}]`, converse.StopMaxTokens, converse.Usage{}},
		{"content_filter is content_filtered", `{"choices":[{"message":{"content":""},"finish_reason":"content_filter"}]}`, `[{"text":""}]`, converse.StopContentFiltered, converse.Usage{}},
		{"vLLM stop string is stop_sequence", `{"choices":[{"message":{"content":"a"},"finish_reason":"stop","stop_reason":"END"}]}`, `[{"text":"a"}]`, converse.StopStopSequence, converse.Usage{}},
		{"vLLM stop token id is end_turn", `{"choices":[{"message":{"content":"a"},"finish_reason":"stop","stop_reason":128009}]}`, `[{"text":"a"}]`, converse.StopEndTurn, converse.Usage{}},
		{"tool call with text", `{"choices":[{"message":{"content":"Checking.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\": 1}"}}]},"finish_reason":"tool_calls"}]}`,
			`[{"text":"Checking."},{"toolUse":{"toolUseId":"call_1","name":"f","input":{"a":1}}}]`, converse.StopToolUse, converse.Usage{}},
		{"tool call reported as stop is tool_use", `{"choices":[{"message":{"content":null,"tool_calls":[{"function":{"name":"f","arguments":""}}]},"finish_reason":"stop"}]}`,
			`[{"toolUse":{"toolUseId":"tooluse_0","name":"f","input":{}}}]`, converse.StopToolUse, converse.Usage{}},
		{"malformed arguments are malformed_tool_use", `{"choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":"tool_calls"}]}`,
			`[{"toolUse":{"toolUseId":"c","name":"f","input":{}}}]`, converse.StopMalformedToolUse, converse.Usage{}},
		{"reasoning comes first", `{"choices":[{"message":{"content":"4","reasoning_content":"2+2"},"finish_reason":"stop"}]}`,
			`[{"reasoningContent":{"reasoningText":{"text":"2+2"}}},{"text":"4"}]`, converse.StopEndTurn, converse.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := FromOpenAIChat([]byte(tt.body))
			if err != nil {
				t.Fatalf("FromOpenAIChat: %v", err)
			}
			got, _ := json.Marshal(resp.Output.Message.Content)
			if string(got) != tt.content || resp.Output.Message.Role != converse.RoleAssistant {
				t.Errorf("content = %s (role %s), want %s", got, resp.Output.Message.Role, tt.content)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("stopReason = %s, want %s", resp.StopReason, tt.stop)
			}
			if resp.Usage != tt.usage {
				t.Errorf("usage = %+v, want %+v", resp.Usage, tt.usage)
			}
		})
	}
}

func TestFromOpenAIChatErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `<html>`, MsgMalformedReply},
		{"no choices", `{"choices":[]}`, MsgMalformedReply},
		{"choice without message", `{"choices":[{"delta":{}}]}`, MsgMalformedReply},
		{"error object", `{"error":{"message":"model overloaded","code":503}}`, "The model returned the following errors: model overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromOpenAIChat([]byte(tt.body))
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindModelError || ce.Message != tt.want {
				t.Errorf("error = %v, want ModelErrorException %q", err, tt.want)
			}
		})
	}
}

// describe renders an event compactly for comparisons.
func describe(ev converse.StreamEvent) string {
	switch {
	case ev.MessageStart != nil:
		return "messageStart " + string(ev.MessageStart.Role)
	case ev.ContentBlockStart != nil:
		tu := ev.ContentBlockStart.Start.ToolUse
		return fmt.Sprintf("start %d %s %s", ev.ContentBlockStart.ContentBlockIndex, tu.ToolUseID, tu.Name)
	case ev.ContentBlockDelta != nil:
		d := ev.ContentBlockDelta.Delta
		switch {
		case d.Text != nil:
			return fmt.Sprintf("delta %d text %q", ev.ContentBlockDelta.ContentBlockIndex, *d.Text)
		case d.ToolUse != nil:
			return fmt.Sprintf("delta %d toolUse %q", ev.ContentBlockDelta.ContentBlockIndex, d.ToolUse.Input)
		case d.ReasoningContent != nil:
			return fmt.Sprintf("delta %d reasoning %q", ev.ContentBlockDelta.ContentBlockIndex, *d.ReasoningContent.Text)
		}
	case ev.ContentBlockStop != nil:
		return fmt.Sprintf("stop %d", ev.ContentBlockStop.ContentBlockIndex)
	case ev.MessageStop != nil:
		return "messageStop " + string(ev.MessageStop.StopReason)
	case ev.Metadata != nil:
		u := ev.Metadata.Usage
		return fmt.Sprintf("metadata %d/%d/%d", u.InputTokens, u.OutputTokens, u.TotalTokens)
	}
	return "?"
}

// feed runs chunks through a stream, calling End when they hold no
// "[DONE]", and returns the events (one line per Next call, so tests see
// when each event came out) and the error.
func feed(chunks []string) ([]string, error) {
	s := NewOpenAIChatStream()
	var out []string
	call := func(evs []converse.StreamEvent, err error) error {
		var line []string
		for _, ev := range evs {
			line = append(line, describe(ev))
		}
		out = append(out, strings.Join(line, " | "))
		return err
	}
	for _, c := range chunks {
		if err := call(s.Next([]byte(c))); err != nil {
			return out, err
		}
	}
	return out, call(s.End())
}

func TestOpenAIChatStream(t *testing.T) {
	const role = `{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`
	text := func(s string) string {
		return `{"choices":[{"index":0,"delta":{"content":` + fmt.Sprintf("%q", s) + `},"finish_reason":null}]}`
	}
	finish := func(r string) string { return `{"choices":[{"index":0,"delta":{},"finish_reason":"` + r + `"}]}` }
	const usage = `{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`
	tests := []struct {
		name   string
		chunks []string
		want   []string
	}{
		{"text then usage", []string{role, text("Ro"), text("me."), finish("stop"), usage, "[DONE]"}, []string{
			"messageStart assistant", `delta 0 text "Ro"`, `delta 0 text "me."`, "stop 0 | messageStop end_turn", "", "metadata 12/3/15", ""}},
		{"tool call fragments come out as they arrive, after the text block closes", []string{
			role, text("Let me check."),
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Rome\"}"}}]},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}]}`,
			finish("tool_calls"), usage, "[DONE]"}, []string{
			"messageStart assistant", `delta 0 text "Let me check."`, "stop 0 | start 1 call_1 get_weather", `delta 1 toolUse "{\"city\":"`, `delta 1 toolUse "\"Rome\"}"`,
			`stop 1 | start 2 call_2 get_time | delta 2 toolUse "{}"`, "stop 2 | messageStop tool_use", "", "metadata 12/3/15", ""}},
		{"tool calls without index are told apart by id", []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}`,
			finish("tool_calls"), "[DONE]"}, []string{
			`messageStart assistant | start 0 a f | delta 0 toolUse "{}"`, `stop 0 | start 1 b g | delta 1 toolUse "{}"`, "stop 1 | messageStop tool_use", "metadata 0/0/0", ""}},
		{"reasoning block then text block", []string{
			`{"choices":[{"index":0,"delta":{"reasoning_content":"2+2"}}]}`, text("4"), finish("stop"), "[DONE]"}, []string{
			`messageStart assistant | delta 0 reasoning "2+2"`, `stop 0 | delta 1 text "4"`, "stop 1 | messageStop end_turn", "metadata 0/0/0", ""}},
		{"empty reply is one empty text block", []string{role, finish("stop"), "[DONE]"}, []string{
			"messageStart assistant", `delta 0 text "" | stop 0 | messageStop end_turn`, "metadata 0/0/0", ""}},
		{"vLLM stop string is stop_sequence", []string{text("a"), `{"choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"END"}]}`, "[DONE]"}, []string{
			`messageStart assistant | delta 0 text "a"`, "stop 0 | messageStop stop_sequence", "metadata 0/0/0", ""}},
		{"length is max_tokens", []string{text("a"), finish("length"), "[DONE]"}, []string{
			`messageStart assistant | delta 0 text "a"`, "stop 0 | messageStop max_tokens", "metadata 0/0/0", ""}},
		{"finished stream without [DONE] still ends", []string{text("a"), finish("stop")}, []string{
			`messageStart assistant | delta 0 text "a"`, "stop 0 | messageStop end_turn", "metadata 0/0/0"}},
		{"usage in the finish chunk", []string{text("a"), `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`, "[DONE]"}, []string{
			`messageStart assistant | delta 0 text "a"`, "stop 0 | messageStop end_turn", "metadata 1/1/2", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := feed(tt.chunks)
			if err != nil {
				t.Fatalf("error %v after %q", err, got)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestOpenAIChatStreamErrors(t *testing.T) {
	tests := []struct {
		name     string
		chunks   []string
		want     string
		original string
		status   int
	}{
		{"ends without finish_reason", []string{`{"choices":[{"index":0,"delta":{"content":"a"}}]}`}, MsgStreamEnded, "", 0},
		{"[DONE] without finish_reason", []string{`{"choices":[{"index":0,"delta":{"content":"a"}}]}`, "[DONE]"}, MsgStreamEnded, "", 0},
		{"empty stream", nil, MsgStreamEnded, "", 0},
		{"malformed chunk", []string{`{"choices":[`}, MsgMalformedStream, "", 0},
		{"error chunk", []string{`{"choices":[{"index":0,"delta":{"content":"a"}}]}`, `{"error":{"message":"out of memory","code":500}}`},
			"The model returned the following errors: out of memory", "out of memory", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := feed(tt.chunks)
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindModelStreamError {
				t.Fatalf("error = %v, want a ModelStreamErrorException", err)
			}
			if ce.Message != tt.want || ce.OriginalMessage != tt.original || ce.OriginalStatusCode != tt.status {
				t.Errorf("error = %+v, want message %q original %q status %d", ce, tt.want, tt.original, tt.status)
			}
		})
	}
	t.Run("errors stick", func(t *testing.T) {
		s := NewOpenAIChatStream()
		_, err1 := s.Next([]byte("{"))
		_, err2 := s.Next([]byte(`{"choices":[]}`))
		_, err3 := s.End()
		if err1 == nil || err2 != err1 || err3 != err1 {
			t.Errorf("errors %v, %v, %v; want the first one three times", err1, err2, err3)
		}
	})
}

// TestOpenAIChatStreamCollectsLikeFromOpenAIChat checks that a streamed
// answer assembles into the response the same answer gives unstreamed.
func TestOpenAIChatStreamCollectsLikeFromOpenAIChat(t *testing.T) {
	chunks := []string{
		`{"choices":[{"index":0,"delta":{"role":"assistant","content":"Let "}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"me check."}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{\"a\":"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}`,
		`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`,
		"[DONE]",
	}
	whole := `{"choices":[{"index":0,"message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`
	s := NewOpenAIChatStream()
	var evs []converse.StreamEvent
	for _, c := range chunks {
		out, err := s.Next([]byte(c))
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, out...)
	}
	got, err := converse.Collect(func(yield func(converse.StreamEvent, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := FromOpenAIChat([]byte(whole))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("streamed:\n%s\nwhole:\n%s", g, w)
	}
}

func FuzzFromOpenAIChat(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "openai", "tool-use-round-trip", "reply.openai.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"choices":[{"message":{"content":"a","tool_calls":[{"function":{"arguments":"[1]"}}]},"finish_reason":"stop","stop_reason":"x"}]}`))
	f.Add([]byte(`{"error":{"message":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := FromOpenAIChat(body)
		if err == nil {
			if resp.Output.Message == nil || len(resp.Output.Message.Content) == 0 {
				t.Errorf("response without content: %+v", resp)
			}
			for _, b := range resp.Output.Message.Content {
				if b.ToolUse != nil && !json.Valid(b.ToolUse.Input) {
					t.Errorf("tool input %q is not JSON", b.ToolUse.Input)
				}
			}
		}
	})
}

func FuzzOpenAIChatStream(f *testing.F) {
	f.Add("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n[DONE]")
	f.Add("{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"{\"}}]}}]}\n{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"x\",\"function\":{\"name\":\"n\"}}]},\"finish_reason\":\"tool_calls\"}]}")
	f.Add("{\"error\":{\"message\":\"m\",\"code\":\"c\"}}")
	f.Fuzz(func(t *testing.T, input string) {
		s := NewOpenAIChatStream()
		var evs []converse.StreamEvent
		for line := range strings.SplitSeq(input, "\n") {
			out, err := s.Next([]byte(line))
			if err != nil {
				return
			}
			evs = append(evs, out...)
		}
		out, err := s.End()
		if err != nil {
			return
		}
		evs = append(evs, out...)
		// A stream that ended well is in Bedrock's order.
		if len(evs) < 3 || evs[0].MessageStart == nil || evs[len(evs)-2].MessageStop == nil || evs[len(evs)-1].Metadata == nil {
			t.Fatalf("events out of order: %d events", len(evs))
		}
		open := -1
		for _, ev := range evs[1 : len(evs)-2] {
			switch {
			case ev.ContentBlockStart != nil:
				if open >= 0 {
					t.Fatalf("block %d opened while %d is open", ev.ContentBlockStart.ContentBlockIndex, open)
				}
				open = ev.ContentBlockStart.ContentBlockIndex
			case ev.ContentBlockDelta != nil && open < 0:
				open = ev.ContentBlockDelta.ContentBlockIndex
			case ev.ContentBlockStop != nil:
				if ev.ContentBlockStop.ContentBlockIndex != open {
					t.Fatalf("stop %d while %d is open", ev.ContentBlockStop.ContentBlockIndex, open)
				}
				open = -1
			}
		}
		if open >= 0 {
			t.Fatalf("block %d never closed", open)
		}
	})
}

func BenchmarkToOpenAIChat(b *testing.B) {
	req := readRequest(b, filepath.Join("testdata", "openai", "tool-use-round-trip", "converse.json"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToOpenAIChat(req, testModel, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenAIChatStreamNext(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"m","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}`)
	s := NewOpenAIChatStream()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Next(chunk); err != nil {
			b.Fatal(err)
		}
	}
}
