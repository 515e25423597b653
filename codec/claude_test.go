package codec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

// claudeGolden runs the golden cases of one family directory: in each
// testdata/<family>/<case>/,
//   - converse.json → native.json (the request body), and native.txt (the
//     prompt string, verbatim) when prompt is set;
//   - native-response.json → response.json (read with converse.json's
//     request, or none);
//   - native-stream.jsonl (one chunk per line) → stream.json, the events
//     as [{"<event type>": payload}, …].
func claudeGolden(t *testing.T, family string, f Family, prompt func(body []byte) string) {
	dirs, err := filepath.Glob(filepath.Join("testdata", family, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var req *converse.Request
			if _, err := os.Stat(filepath.Join(dir, "converse.json")); err == nil {
				req = readRequest(t, filepath.Join(dir, "converse.json"))
				body, err := f.Request(req)
				if err != nil {
					t.Fatalf("Request: %v", err)
				}
				golden(t, filepath.Join(dir, "native.json"), body)
				if prompt != nil {
					claudeGoldenText(t, filepath.Join(dir, "native.txt"), prompt(body))
				}
			}
			if native, ok := claudeReadOptional(t, filepath.Join(dir, "native-response.json")); ok {
				resp, err := f.Response(req, native)
				if err != nil {
					t.Fatalf("Response: %v", err)
				}
				out, err := json.Marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(dir, "response.json"), out)
			}
			if chunks, ok := claudeReadOptional(t, filepath.Join(dir, "native-stream.jsonl")); ok {
				evs, err := claudeDecodeAll(f.NewStream(req), bytes.Split(bytes.TrimSpace(chunks), []byte("\n")))
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
				golden(t, filepath.Join(dir, "stream.json"), claudeEventsJSON(t, evs))
			}
		})
	}
}

func claudeReadOptional(t *testing.T, path string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

// claudeGoldenText is golden for a text file compared byte for byte.
func claudeGoldenText(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./codec -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (go test ./codec -update rewrites it):\ngot:\n%q\nwant:\n%q", filepath.ToSlash(path), got, want)
	}
}

// claudeDecodeAll feeds every chunk to d, then ends it, copying the events
// (the decoder may reuse its slice).
func claudeDecodeAll(d ChunkDecoder, chunks [][]byte) ([]converse.StreamEvent, error) {
	var all []converse.StreamEvent
	for _, c := range chunks {
		evs, err := d.Next(c)
		if err != nil {
			return all, err
		}
		all = append(all, evs...)
	}
	evs, err := d.End()
	return append(all, evs...), err
}

func claudeEventsJSON(t *testing.T, evs []converse.StreamEvent) []byte {
	t.Helper()
	list := make([]map[string]any, 0, len(evs))
	for _, ev := range evs {
		list = append(list, map[string]any{ev.Type(): ev.Payload()})
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func claudeChunks(lines ...string) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = []byte(l)
	}
	return out
}

func TestClaudeGolden(t *testing.T) { claudeGolden(t, "claude", Claude{}, nil) }

func claudeMsgs(msgs ...converse.Message) *converse.Request {
	return &converse.Request{Messages: msgs}
}

func TestClaudeRequest(t *testing.T) {
	tests := []struct {
		name  string
		codec Claude
		req   *converse.Request
		key   string
		want  string
	}{
		{"absent maxTokens sends the default maximum", Claude{}, claudeMsgs(userText("hi")), "max_tokens", "4096"},
		{"absent maxTokens sends the configured maximum", Claude{MaxTokens: 8192}, claudeMsgs(userText("hi")), "max_tokens", "8192"},
		{"maxTokens wins over the maximum", Claude{MaxTokens: 8192}, &converse.Request{Messages: []converse.Message{userText("hi")},
			InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(10)}}, "max_tokens", "10"},
		{"the body carries Bedrock's version", Claude{}, claudeMsgs(userText("hi")), "anthropic_version", `"bedrock-2023-05-31"`},
		{"no system prompt sends no system", Claude{}, claudeMsgs(userText("hi")), "system", ``},
		{"additional field wins over ours", Claude{}, &converse.Request{Messages: []converse.Message{userText("hi")},
			InferenceConfig: &converse.InferenceConfig{Temperature: ptr(0.5)}, AdditionalModelRequestFields: json.RawMessage(`{"temperature":0.1}`)}, "temperature", "0.1"},
		{"toolChoice tool names the tool", Claude{}, &converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}, ToolChoice: &converse.ToolChoice{Tool: &converse.SpecificTool{Name: "f"}}}},
			"tool_choice", `{"type":"tool","name":"f"}`},
		{"toolChoice auto is auto", Claude{}, &converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}, ToolChoice: &converse.ToolChoice{Auto: &converse.Empty{}}}},
			"tool_choice", `{"type":"auto"}`},
		{"an error result sets is_error and keeps its text", Claude{}, claudeMsgs(userText("hi"),
			converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{}`)}}}},
			converse.Message{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "t1", Status: "error", Content: []converse.ToolResultContent{{Text: ptr("boom")}}}}}}),
			"messages", `[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"boom"}],"is_error":true}]}]`},
		{"a prefill loses its trailing white space", Claude{}, claudeMsgs(userText("hi"), converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock("The answer is \n")}}),
			"messages", `[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":[{"type":"text","text":"The answer is"}]}]`},
		{"reasoning in history becomes thinking", Claude{}, claudeMsgs(userText("hi"), converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{
			{ReasoningContent: &converse.ReasoningContent{ReasoningText: &converse.ReasoningText{Text: "hmm", Signature: "sig"}}}, converse.TextBlock("Hello.")}}, userText("again")),
			"messages", `[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"text","text":"Hello."}]},{"role":"user","content":[{"type":"text","text":"again"}]}]`},
		{"cache points are skipped", Claude{}, claudeMsgs(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("hi"), {CachePoint: &converse.CachePoint{Type: "default"}}}}),
			"messages", `[{"role":"user","content":[{"type":"text","text":"hi"}]}]`},
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

// claudeWantValidation checks that err is a ValidationException whose
// message starts with want.
func claudeWantValidation(t *testing.T, err error, want string) {
	t.Helper()
	var ce *converse.Error
	if !errors.As(err, &ce) || ce.Kind != converse.KindValidation {
		t.Fatalf("error = %v, want a ValidationException", err)
	}
	if !strings.HasPrefix(ce.Message, want) {
		t.Errorf("message = %q, want %q", ce.Message, want)
	}
}

func TestClaudeRequestRejects(t *testing.T) {
	s3 := &converse.S3Location{URI: "s3://bucket/key"}
	tests := []struct {
		name string
		req  *converse.Request
		want string
	}{
		{"video block", claudeMsgs(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Video: &converse.VideoBlock{Format: "mp4", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}),
			"This model doesn't support the video content block that you provided. Update the content block and try again."},
		{"image from S3", claudeMsgs(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{S3Location: s3}}}}}),
			"S3 locations aren't supported for this model: messages.0.content.1.image.source.s3Location. Provide the content as bytes and try again."},
		{"unreadable document names it", claudeMsgs(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Document: &converse.DocumentBlock{Format: "pdf", Name: "MyDocument", Source: &converse.DocumentSource{Bytes: []byte("not a pdf")}}}}}),
			"The document MyDocument could not be read: "},
		{"mid-conversation system message", claudeMsgs(userText("x"), converse.Message{Role: converse.RoleSystem, Content: []converse.Block{converse.TextBlock("y")}}),
			"The role at messages.1.role isn't supported. Use user or assistant and try again."},
		{"system tool", &converse.Request{Messages: []converse.Message{userText("x")}, ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{SystemTool: &converse.SystemTool{Name: "web"}}}}},
			"This model doesn't support the toolConfig.tools.0.systemTool field. Remove toolConfig.tools.0.systemTool and try again."},
		{"structured output", &converse.Request{Messages: []converse.Message{userText("x")}, OutputConfig: &converse.OutputConfig{TextFormat: &converse.OutputFormat{Type: "json_schema"}}},
			"This model doesn't support the outputConfig.textFormat field. Remove outputConfig.textFormat and try again."},
		{"tool input that is not JSON", claudeMsgs(userText("x"), converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "t", Name: "f", Input: json.RawMessage(`{`)}}}}),
			"The input field at messages.1.content.0.toolUse.input is not valid JSON."},
		{"additional fields that are not an object", &converse.Request{Messages: []converse.Message{userText("x")}, AdditionalModelRequestFields: json.RawMessage(`[1]`)},
			"The additionalModelRequestFields field must be a JSON object."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Claude{}.Request(tt.req)
			claudeWantValidation(t, err, tt.want)
		})
	}
}

func TestClaudeResponse(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		content string
		stop    converse.StopReason
		usage   converse.Usage
	}{
		{"max_tokens maps 1:1", `{"type":"message","content":[{"type":"text","text":"a"}],"stop_reason":"max_tokens","usage":{"input_tokens":2,"output_tokens":1}}`,
			`[{"text":"a"}]`, converse.StopMaxTokens, converse.Usage{InputTokens: 2, OutputTokens: 1, TotalTokens: 3}},
		{"a newer stop reason passes through", `{"type":"message","content":[{"type":"text","text":"a"}],"stop_reason":"model_context_window_exceeded"}`,
			`[{"text":"a"}]`, converse.StopModelContextWindowExceeded, converse.Usage{}},
		{"empty content gets an empty text block", `{"type":"message","content":[],"stop_reason":"end_turn"}`, `[{"text":""}]`, converse.StopEndTurn, converse.Usage{}},
		{"tool input that is not an object is malformed_tool_use", `{"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":"x"}],"stop_reason":"tool_use"}`,
			`[{"toolUse":{"toolUseId":"t","name":"f","input":{}}}]`, converse.StopMalformedToolUse, converse.Usage{}},
		{"thinking becomes reasoning", `{"type":"message","content":[{"type":"thinking","thinking":"2+2","signature":"s"},{"type":"redacted_thinking","data":"xyz"},{"type":"text","text":"4"}],"stop_reason":"end_turn"}`,
			`[{"reasoningContent":{"reasoningText":{"text":"2+2","signature":"s"}}},{"reasoningContent":{"redactedContent":"eHl6"}},{"text":"4"}]`, converse.StopEndTurn, converse.Usage{}},
		{"cache counts are reported and totalled", `{"type":"message","content":[{"type":"text","text":"a"}],"stop_reason":"end_turn","usage":{"input_tokens":4,"output_tokens":6,"cache_read_input_tokens":100,"cache_creation_input_tokens":0}}`,
			`[{"text":"a"}]`, converse.StopEndTurn, converse.Usage{InputTokens: 4, OutputTokens: 6, TotalTokens: 110, CacheReadInputTokens: ptr(100)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := Claude{}.Response(&converse.Request{}, []byte(tt.body))
			if err != nil {
				t.Fatalf("Response: %v", err)
			}
			content, _ := json.Marshal(resp.Output.Message.Content)
			if string(content) != tt.content {
				t.Errorf("content = %s, want %s", content, tt.content)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("stop reason = %q, want %q", resp.StopReason, tt.stop)
			}
			gotU, _ := json.Marshal(resp.Usage)
			wantU, _ := json.Marshal(tt.usage)
			if string(gotU) != string(wantU) {
				t.Errorf("usage = %s, want %s", gotU, wantU)
			}
		})
	}
}

func TestClaudeResponseErrors(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantMsg    string
		wantStatus int
	}{
		{"not JSON", `{"type":`, MsgMalformedReply, 0},
		{"not a message", `{"type":"completion","completion":"x"}`, MsgMalformedReply, 0},
		{"an object without a type", `{}`, MsgMalformedReply, 0},
		{"anthropic error object", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "The model returned the following errors: Overloaded", 529},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Claude{}.Response(nil, []byte(tt.body))
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindModelError {
				t.Fatalf("error = %v, want a ModelErrorException", err)
			}
			if ce.Message != tt.wantMsg || ce.OriginalStatusCode != tt.wantStatus {
				t.Errorf("error = %q (%d), want %q (%d)", ce.Message, ce.OriginalStatusCode, tt.wantMsg, tt.wantStatus)
			}
		})
	}
}

func TestClaudeStream(t *testing.T) {
	start := `{"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}`
	tests := []struct {
		name   string
		chunks [][]byte
		want   string // events JSON
		err    string // the error message the stream ends in, if any
	}{
		{"a lost message_stop still ends with usage", claudeChunks(start,
			`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`,
			`{"type":"content_block_stop","index":0}`,
			`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}`),
			`[{"messageStart":{"role":"assistant"}},{"contentBlockDelta":{"contentBlockIndex":0,"delta":{"text":"hi"}}},{"contentBlockStop":{"contentBlockIndex":0}},{"messageStop":{"stopReason":"end_turn"}},{"metadata":{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7},"metrics":{"latencyMs":0}}}]`, ""},
		{"usage falls back to invocation metrics", claudeChunks(`{"type":"message_start","message":{}}`,
			`{"type":"message_delta","delta":{"stop_reason":"max_tokens"}}`,
			`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":9,"outputTokenCount":3,"invocationLatency":50,"firstByteLatency":10}}`),
			`[{"messageStart":{"role":"assistant"}},{"messageStop":{"stopReason":"max_tokens"}},{"metadata":{"usage":{"inputTokens":9,"outputTokens":3,"totalTokens":12},"metrics":{"latencyMs":50}}}]`, ""},
		{"pings are skipped and open blocks are closed before messageStop", claudeChunks(start, `{"type":"ping"}`,
			`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}`,
			`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}}`,
			`{"type":"message_stop"}`),
			`[{"messageStart":{"role":"assistant"}},{"contentBlockStart":{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t","name":"f"}}}},{"contentBlockStop":{"contentBlockIndex":0}},{"messageStop":{"stopReason":"tool_use"}},{"metadata":{"usage":{"inputTokens":5,"outputTokens":3,"totalTokens":8},"metrics":{"latencyMs":0}}}]`, ""},
		{"a block kind Converse has no member for is skipped", claudeChunks(start,
			`{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"s","name":"web_search","input":{}}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}}`,
			`{"type":"content_block_stop","index":0}`,
			`{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"hi"}}`,
			`{"type":"content_block_stop","index":1}`,
			`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}`, `{"type":"message_stop"}`),
			`[{"messageStart":{"role":"assistant"}},{"contentBlockDelta":{"contentBlockIndex":1,"delta":{"text":"hi"}}},{"contentBlockStop":{"contentBlockIndex":1}},{"messageStop":{"stopReason":"end_turn"}},{"metadata":{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7},"metrics":{"latencyMs":0}}}]`, ""},
		{"an error chunk ends the stream", claudeChunks(start, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`),
			`[{"messageStart":{"role":"assistant"}}]`, "The model returned the following errors: Overloaded"},
		{"a stream cut before the stop reason is an error", claudeChunks(start, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`),
			`[{"messageStart":{"role":"assistant"}},{"contentBlockDelta":{"contentBlockIndex":0,"delta":{"text":"hi"}}}]`, MsgStreamEnded},
		{"a chunk that is not JSON is an error", claudeChunks(start, `{"type":`),
			`[{"messageStart":{"role":"assistant"}}]`, MsgMalformedStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := claudeDecodeAll(Claude{}.NewStream(&converse.Request{}), tt.chunks)
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

// TestClaudeStreamCollectsAsResponse checks that a golden stream and the
// matching non-streamed answer describe the same reply.
func TestClaudeStreamCollectsAsResponse(t *testing.T) {
	dir := filepath.Join("testdata", "claude", "system-user-assistant-user")
	chunks, _ := claudeReadOptional(t, filepath.Join(dir, "native-stream.jsonl"))
	native, _ := claudeReadOptional(t, filepath.Join(dir, "native-response.json"))
	evs, err := claudeDecodeAll(Claude{}.NewStream(nil), bytes.Split(bytes.TrimSpace(chunks), []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := converse.Collect(func(yield func(converse.StreamEvent, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Claude{}.Response(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	streamed.Metrics = whole.Metrics
	a, _ := json.Marshal(streamed)
	b, _ := json.Marshal(whole)
	if string(a) != string(b) {
		t.Errorf("streamed %s\nwhole    %s", a, b)
	}
}

func FuzzClaudeResponse(f *testing.F) {
	claudeSeed(f, "claude", "native-response.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		Claude{}.Response(&converse.Request{AdditionalModelResponseFieldPaths: []string{"/stop_sequence"}}, body)
	})
}

func FuzzClaudeStream(f *testing.F) {
	claudeSeed(f, "claude", "native-stream.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		d := Claude{}.NewStream(&converse.Request{AdditionalModelResponseFieldPaths: []string{"/stop_sequence"}})
		for _, c := range bytes.Split(data, []byte("\n")) {
			d.Next(c)
		}
		d.End()
	})
}

// claudeSeed adds the named golden file of every case of a family to the
// fuzz corpus.
func claudeSeed(f *testing.F, family, name string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", family, "*", name))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f.Add(bytes.Clone(sc.Bytes()))
		}
	}
}
