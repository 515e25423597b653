package codec

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

func TestJambaGolden(t *testing.T) { mistralRunGolden(t, Jamba{}, "jamba") }

func TestJambaRequest(t *testing.T) {
	tests := []struct {
		name string
		req  converse.Request
		key  string
		want string
	}{
		{"unset temperature is omitted", converse.Request{Messages: []converse.Message{userText("hi")}}, "temperature", ``},
		{"unset stop is omitted", converse.Request{Messages: []converse.Message{userText("hi")}, InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(5)}}, "stop", ``},
		{"guardContent text is sent as text", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{
			converse.TextBlock("a"), {GuardContent: &converse.GuardContent{Text: &converse.GuardText{Text: "b"}}}}}}},
			"messages", `[{"role":"user","content":"a\nb"}]`},
		{"system blocks are joined", converse.Request{System: []converse.SystemBlock{{Text: ptr("one")}, {CachePoint: &converse.CachePoint{Type: "default"}}, {Text: ptr("two")}}, Messages: []converse.Message{userText("hi")}},
			"messages", `[{"role":"system","content":"one\ntwo"},{"role":"user","content":"hi"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := Jamba{}.Request(&tt.req)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := field(t, body, tt.key); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.key, got, tt.want)
			}
		})
	}
}

func TestJambaRequestRejects(t *testing.T) {
	doc := converse.Block{Document: &converse.DocumentBlock{Format: "txt", Name: "d", Source: &converse.DocumentSource{Bytes: []byte("x")}}}
	tests := []struct {
		name string
		req  converse.Request
		want string
	}{
		{"tools", converse.Request{Messages: []converse.Message{userText("hi")}, ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "f"}}}}},
			"This model doesn't support tool use."},
		{"a tool result", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "t"}}}}}},
			"This model doesn't support tool use."},
		{"a document", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{doc}}}},
			"This model doesn't support the document content block that you provided. Update the content block and try again."},
		{"structured output", converse.Request{Messages: []converse.Message{userText("hi")}, OutputConfig: &converse.OutputConfig{TextFormat: &converse.OutputFormat{Type: "json_schema"}}},
			"This model doesn't support the outputConfig.textFormat field. Remove outputConfig.textFormat and try again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Jamba{}.Request(&tt.req)
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindValidation || ce.Message != tt.want {
				t.Errorf("err = %v, want ValidationException %q", err, tt.want)
			}
		})
	}
}

func TestJambaResponse(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantStop  converse.StopReason
		wantText  string
		wantUsage converse.Usage
	}{
		{"the first of several choices is read", `{"choices":[{"index":0,"message":{"content":"a"},"finish_reason":"stop"},{"index":1,"message":{"content":"b"},"finish_reason":"stop"}]}`,
			converse.StopEndTurn, "a", converse.Usage{}},
		{"null content is an empty text", `{"choices":[{"message":{"content":null},"finish_reason":"stop"}]}`, converse.StopEndTurn, "", converse.Usage{}},
		{"invocation metrics give usage when the body has none", `{"choices":[{"message":{"content":"a"},"finish_reason":"length"}],"amazon-bedrock-invocationMetrics":{"inputTokenCount":3,"outputTokenCount":1}}`,
			converse.StopMaxTokens, "a", converse.Usage{InputTokens: 3, OutputTokens: 1, TotalTokens: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := Jamba{}.Response(&converse.Request{}, []byte(tt.body))
			if err != nil {
				t.Fatalf("Response: %v", err)
			}
			if resp.StopReason != tt.wantStop || *resp.Output.Message.Content[0].Text != tt.wantText || resp.Usage != tt.wantUsage {
				t.Errorf("got %q %q %+v", resp.StopReason, *resp.Output.Message.Content[0].Text, resp.Usage)
			}
		})
	}
	for _, body := range []string{`[`, `{"choices":[]}`, `{"choices":[{"delta":{"content":"x"}}]}`} {
		_, err := Jamba{}.Response(&converse.Request{}, []byte(body))
		var ce *converse.Error
		if !errors.As(err, &ce) || ce.Kind != converse.KindModelError {
			t.Errorf("%s: err = %v, want a ModelErrorException", body, err)
		}
	}
}

func TestJambaStream(t *testing.T) {
	tests := []struct {
		name    string
		chunks  []string
		want    []string
		wantErr string
	}{
		{"an empty answer gets one empty text block", []string{`{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`, `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`},
			[]string{"messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, ""},
		{"a stream without a finish_reason fails at the end", []string{`{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`},
			[]string{"messageStart", "contentBlockDelta"}, MsgStreamEnded},
		{"a chunk that is not JSON fails", []string{`nope`}, nil, MsgMalformedStream},
		{"other choices are ignored", []string{`{"choices":[{"index":1,"delta":{"content":"b"},"finish_reason":null},{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}`},
			[]string{"messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chunks [][]byte
			for _, c := range tt.chunks {
				chunks = append(chunks, []byte(c))
			}
			evs, err := mistralDecodeAll(Jamba{}.NewStream(&converse.Request{}), chunks)
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

func TestJambaStreamCollectsToResponse(t *testing.T) {
	// The stream and the answer of the golden case describe the same reply.
	chunks := [][]byte{
		[]byte(`{"choices":[{"index":0,"delta":{"content":"Ro"},"finish_reason":null}]}`),
		[]byte(`{"choices":[{"index":0,"delta":{"content":"me."},"finish_reason":"stop"}],"amazon-bedrock-invocationMetrics":{"inputTokenCount":30,"outputTokenCount":2,"invocationLatency":10,"firstByteLatency":5}}`),
	}
	evs, err := mistralDecodeAll(Jamba{}.NewStream(&converse.Request{}), chunks)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := converse.Collect(func(yield func(converse.StreamEvent, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resp)
	want := `{"output":{"message":{"role":"assistant","content":[{"text":"Rome."}]}},"stopReason":"end_turn","usage":{"inputTokens":30,"outputTokens":2,"totalTokens":32},"metrics":{"latencyMs":10}}`
	if string(b) != want {
		t.Errorf("collected %s\nwant %s", b, want)
	}
}

func FuzzJambaResponse(f *testing.F) {
	mistralSeeds(f, "jamba")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := Jamba{}.Response(&converse.Request{}, body)
		if err == nil && (resp.Output.Message == nil || len(resp.Output.Message.Content) != 1) {
			t.Fatalf("not one content block for %q", body)
		}
	})
}

func FuzzJambaStream(f *testing.F) {
	mistralSeeds(f, "jamba")
	f.Fuzz(func(t *testing.T, chunk []byte) {
		d := Jamba{}.NewStream(&converse.Request{})
		d.Next(chunk)
		d.Next(chunk)
		d.End()
	})
}
