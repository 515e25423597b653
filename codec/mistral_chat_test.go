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

// mistralRunGolden runs the golden cases under testdata/<family>/: in each
// case directory, converse.json (a Converse request) gives native.json
// (the native body); reply.json (a native answer) gives response.json (the
// Converse response); chunks.jsonl (native stream chunks, one a line)
// gives events.json (the ConverseStream events, each as {type: payload}).
// Jamba's tests use it too.
func mistralRunGolden(t *testing.T, f Family, family string) {
	dirs, err := filepath.Glob(filepath.Join("testdata", family, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			req := &converse.Request{}
			if _, err := os.Stat(filepath.Join(dir, "converse.json")); err == nil {
				req = readRequest(t, filepath.Join(dir, "converse.json"))
				body, err := f.Request(req)
				if err != nil {
					t.Fatalf("Request: %v", err)
				}
				golden(t, filepath.Join(dir, "native.json"), body)
			}
			if reply, err := os.ReadFile(filepath.Join(dir, "reply.json")); err == nil {
				resp, err := f.Response(req, reply)
				if err != nil {
					t.Fatalf("Response: %v", err)
				}
				out, err := json.Marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(dir, "response.json"), out)
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if chunks, err := os.ReadFile(filepath.Join(dir, "chunks.jsonl")); err == nil {
				evs, err := mistralDecodeAll(f.NewStream(req), mistralLines(chunks))
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
				golden(t, filepath.Join(dir, "events.json"), mistralEventsJSON(t, evs))
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
		})
	}
}

func mistralLines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
	}
	return out
}

// mistralDecodeAll feeds chunks to d and then calls End, copying events
// out (the decoder reuses its slice).
func mistralDecodeAll(d ChunkDecoder, chunks [][]byte) ([]converse.StreamEvent, error) {
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

func mistralEventsJSON(t *testing.T, evs []converse.StreamEvent) []byte {
	t.Helper()
	var list []map[string]any
	for _, ev := range evs {
		list = append(list, map[string]any{ev.Type(): ev.Payload()})
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMistralChatGolden(t *testing.T) { mistralRunGolden(t, MistralChat{}, "mistral-chat") }

func TestMistralChatRequest(t *testing.T) {
	tool := converse.Tool{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}
	tests := []struct {
		name string
		req  converse.Request
		key  string // top-level member to check
		want string // its JSON ("" for absent)
	}{
		{"unset inference parameters are omitted", converse.Request{Messages: []converse.Message{userText("hi")}}, "temperature", ``},
		{"toolChoice any is any", converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{tool}, ToolChoice: &converse.ToolChoice{Any: &converse.Empty{}}}}, "tool_choice", `"any"`},
		{"no toolChoice sends none", converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{tool}}}, "tool_choice", ``},
		{"a nine-character tool id is kept", converse.Request{Messages: []converse.Message{userText("hi"),
			{Role: converse.RoleAssistant, Content: []converse.Block{{ToolUse: &converse.ToolUseBlock{ToolUseID: "abcDEF123", Name: "f", Input: json.RawMessage(`{ "a" : 1 }`)}}}},
			{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "abcDEF123", Content: []converse.ToolResultContent{{Text: ptr("one")}, {Text: ptr("two")}}}}, converse.TextBlock("thanks")}}}},
			"messages", `[{"role":"user","content":"hi"},{"role":"assistant","content":"","tool_calls":[{"id":"abcDEF123","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","content":"one\ntwo","tool_call_id":"abcDEF123"},{"role":"user","content":"thanks"}]`},
		{"several text blocks are joined with a newline", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("a"), converse.TextBlock("b")}}}},
			"messages", `[{"role":"user","content":"a\nb"}]`},
		{"reasoning and cache points are not sent", converse.Request{Messages: []converse.Message{userText("hi"), {Role: converse.RoleAssistant, Content: []converse.Block{
			{ReasoningContent: &converse.ReasoningContent{ReasoningText: &converse.ReasoningText{Text: "hmm"}}}, converse.TextBlock("Hello."), {CachePoint: &converse.CachePoint{Type: "default"}}}}}},
			"messages", `[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello."}]`},
		{"a mid-conversation system message stays in place", converse.Request{Messages: []converse.Message{userText("hi"), {Role: converse.RoleSystem, Content: []converse.Block{converse.TextBlock("Be brief.")}}, userText("again")}},
			"messages", `[{"role":"user","content":"hi"},{"role":"system","content":"Be brief."},{"role":"user","content":"again"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := MistralChat{}.Request(&tt.req)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := field(t, body, tt.key); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.key, got, tt.want)
			}
		})
	}
}

func TestMistralChatRequestRejects(t *testing.T) {
	img := converse.Block{Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{Bytes: []byte{1}}}}
	tests := []struct {
		name string
		req  converse.Request
		want string
	}{
		{"an image", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{img}}}},
			"This model doesn't support the image content block that you provided. Update the content block and try again."},
		{"toolChoice tool", converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{
			Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f"}}}, ToolChoice: &converse.ToolChoice{Tool: &converse.SpecificTool{Name: "f"}}}},
			"This model doesn't support the toolConfig.toolChoice.tool field. Remove toolConfig.toolChoice.tool and try again."},
		{"a system tool", converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{SystemTool: &converse.SystemTool{Name: "web"}}}}},
			"This model doesn't support the toolConfig.tools.0.systemTool field. Remove toolConfig.tools.0.systemTool and try again."},
		{"structured output", converse.Request{Messages: []converse.Message{userText("hi")}, OutputConfig: &converse.OutputConfig{TextFormat: &converse.OutputFormat{Type: "json_schema"}}},
			"This model doesn't support the outputConfig.textFormat field. Remove outputConfig.textFormat and try again."},
		{"an S3 document", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{{Document: &converse.DocumentBlock{Format: "txt", Name: "d", Source: &converse.DocumentSource{S3Location: &converse.S3Location{URI: "s3://b/k"}}}}}}}},
			"S3 locations aren't supported for this model: messages.0.content.0.document.source.s3Location. Provide the content as bytes and try again."},
		{"additional fields that are not an object", converse.Request{Messages: []converse.Message{userText("hi")}, AdditionalModelRequestFields: json.RawMessage(`[1]`)},
			"The additionalModelRequestFields field must be a JSON object."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MistralChat{}.Request(&tt.req)
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindValidation || ce.Message != tt.want {
				t.Errorf("err = %v, want ValidationException %q", err, tt.want)
			}
		})
	}
}

func TestMistralToolID(t *testing.T) {
	tests := []struct{ name, id string }{
		{"a Bedrock id", "tooluse_a1b2c3d4e5"},
		{"an empty id", ""},
		{"a ten-character id", "abcdefghij"},
		{"nine characters with a dash", "abcd-fghi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mistralToolID(tt.id)
			if len(got) != 9 || strings.Trim(got, mistralIDAlphabet) != "" {
				t.Errorf("mistralToolID(%q) = %q, not 9 characters of [a-zA-Z0-9]", tt.id, got)
			}
			if again := mistralToolID(tt.id); again != got {
				t.Errorf("not deterministic: %q then %q", got, again)
			}
			if mistralToolID(got) != got {
				t.Errorf("a minted id is not kept")
			}
		})
	}
	if mistralToolID("tooluse_1") == mistralToolID("tooluse_2") {
		t.Error("two ids collide")
	}
}

func TestMistralChatResponse(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantStop  converse.StopReason
		wantBlock string // JSON of the first content block
	}{
		{"finish_reason is read when stop_reason is absent", `{"choices":[{"message":{"content":"x"},"finish_reason":"length"}]}`, converse.StopMaxTokens, `{"text":"x"}`},
		{"a null stop_reason falls back to finish_reason", `{"choices":[{"message":{"content":"x"},"stop_reason":null,"finish_reason":"length"}]}`, converse.StopMaxTokens, `{"text":"x"}`},
		{"arguments given as an object are accepted", `{"choices":[{"message":{"content":"","tool_calls":[{"id":"abcDEF123","function":{"name":"f","arguments":{"a":1}}}]},"stop_reason":"tool_calls"}]}`,
			converse.StopToolUse, `{"toolUse":{"toolUseId":"abcDEF123","name":"f","input":{"a":1}}}`},
		{"malformed arguments give malformed_tool_use", `{"choices":[{"message":{"content":null,"tool_calls":[{"id":"abcDEF123","function":{"name":"f","arguments":"{nope"}}]},"stop_reason":"tool_calls"}]}`,
			converse.StopMalformedToolUse, `{"toolUse":{"toolUseId":"abcDEF123","name":"f","input":{}}}`},
		{"content as text chunks is joined", `{"choices":[{"message":{"content":[{"type":"text","text":"Ro"},{"type":"text","text":"me."}]},"stop_reason":"stop"}]}`, converse.StopEndTurn, `{"text":"Rome."}`},
		{"an empty answer has one empty text block", `{"choices":[{"message":{"content":""},"stop_reason":"stop"}]}`, converse.StopEndTurn, `{"text":""}`},
		{"an unknown reason passes through", `{"choices":[{"message":{"content":"x"},"stop_reason":"error"}]}`, "error", `{"text":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := MistralChat{}.Response(&converse.Request{}, []byte(tt.body))
			if err != nil {
				t.Fatalf("Response: %v", err)
			}
			b, _ := json.Marshal(resp.Output.Message.Content[0])
			if resp.StopReason != tt.wantStop || string(b) != tt.wantBlock {
				t.Errorf("stop %q block %s, want %q %s", resp.StopReason, b, tt.wantStop, tt.wantBlock)
			}
		})
	}
}

func TestMistralChatResponseErrors(t *testing.T) {
	for _, body := range []string{`{`, `{}`, `{"choices":[]}`, `{"choices":[{"index":0}]}`, `{"choices":[{"message":{"content":5}}]}`} {
		_, err := MistralChat{}.Response(&converse.Request{}, []byte(body))
		var ce *converse.Error
		if !errors.As(err, &ce) || ce.Kind != converse.KindModelError || ce.Message != MsgMalformedReply {
			t.Errorf("%s: err = %v, want a ModelErrorException", body, err)
		}
	}
}

func TestMistralChatResponseFields(t *testing.T) {
	req := &converse.Request{AdditionalModelResponseFieldPaths: []string{"/choices/0/stop_reason"}}
	resp, err := MistralChat{}.Response(req, []byte(`{"choices":[{"message":{"content":"x"},"stop_reason":"stop"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.AdditionalModelResponseFields) != `{"stop_reason":"stop"}` {
		t.Errorf("additionalModelResponseFields = %s", resp.AdditionalModelResponseFields)
	}
}

func TestMistralChatStream(t *testing.T) {
	tests := []struct {
		name    string
		chunks  []string
		want    []string // event types in order
		wantErr string
	}{
		{"delta-style chunks are read", []string{`{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`, `{"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}]}`},
			[]string{"messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, ""},
		{"an empty answer gets one empty text block", []string{`{"choices":[{"index":0,"message":{"content":""},"stop_reason":"stop"}]}`},
			[]string{"messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, ""},
		{"a stream without a stop reason fails at the end", []string{`{"choices":[{"index":0,"message":{"content":"Hi"},"stop_reason":null}]}`},
			[]string{"messageStart", "contentBlockDelta"}, MsgStreamEnded},
		{"a chunk that is not JSON fails", []string{`{"choices":[{"index":0,"message":{"content":"Hi"},"stop_reason":null}]}`, `{"choi`},
			[]string{"messageStart", "contentBlockDelta"}, MsgMalformedStream},
		{"text then a tool call closes the text first", []string{`{"choices":[{"index":0,"message":{"content":"Let me check."},"stop_reason":null}]}`,
			`{"choices":[{"index":0,"message":{"content":"","tool_calls":[{"id":"abcDEF123","function":{"name":"f","arguments":"{}"}}]},"stop_reason":"tool_calls"}]}`},
			[]string{"messageStart", "contentBlockDelta", "contentBlockStop", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, ""},
		{"chunks after the stop reason add nothing", []string{`{"choices":[{"index":0,"message":{"content":"Hi"},"stop_reason":"stop"}]}`, `{"choices":[{"index":0,"message":{"content":"more"},"stop_reason":null}]}`},
			[]string{"messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chunks [][]byte
			for _, c := range tt.chunks {
				chunks = append(chunks, []byte(c))
			}
			evs, err := mistralDecodeAll(MistralChat{}.NewStream(&converse.Request{}), chunks)
			var types []string
			for _, ev := range evs {
				types = append(types, ev.Type())
			}
			if strings.Join(types, " ") != strings.Join(tt.want, " ") {
				t.Errorf("events %v, want %v", types, tt.want)
			}
			var ce *converse.Error
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.wantErr != "" && (!errors.As(err, &ce) || ce.Kind != converse.KindModelStreamError || ce.Message != tt.wantErr):
				t.Errorf("err = %v, want a ModelStreamErrorException %q", err, tt.wantErr)
			}
		})
	}
}

// mistralSeeds adds every native answer and chunk of the goldens of family
// to f.
func mistralSeeds(f *testing.F, family string) {
	for _, pattern := range []string{"*/reply.json", "*/chunks.jsonl"} {
		files, _ := filepath.Glob(filepath.Join("testdata", family, pattern))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			for _, line := range mistralLines(b) {
				f.Add(line)
			}
			f.Add(b)
		}
	}
}

func FuzzMistralChatResponse(f *testing.F) {
	mistralSeeds(f, "mistral-chat")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := MistralChat{}.Response(&converse.Request{}, body)
		if err == nil && (resp.Output.Message == nil || len(resp.Output.Message.Content) == 0) {
			t.Fatalf("a response without content for %q", body)
		}
	})
}

func FuzzMistralChatStream(f *testing.F) {
	mistralSeeds(f, "mistral-chat")
	f.Fuzz(func(t *testing.T, chunk []byte) {
		d := MistralChat{}.NewStream(&converse.Request{})
		d.Next(chunk)
		d.Next(chunk)
		d.End()
	})
}
