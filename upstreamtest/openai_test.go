package upstreamtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func post(t *testing.T, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const hello = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`

func TestOpenAIRejectsMalformedRequests(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not JSON", `{`, "could not parse"},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, "model"},
		{"missing messages", `{"model":"m"}`, "'messages'"},
		{"empty messages", `{"model":"m","messages":[]}`, "empty array"},
		{"unknown role", `{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, "'robot'"},
		{"content of a wrong type", `{"model":"m","messages":[{"role":"user","content":5}]}`, "content"},
		{"image that is not a data URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "data URL"},
		{"tool message without tool_call_id", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","content":"x"}]}`, "tool_call_id"},
		{"tool call without arguments string", `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":{}}}]}]}`, "tool_calls[0]"},
		{"stream_options without stream", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, "stream_options"},
		{"temperature of a wrong type", `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}`, "temperature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewOpenAI(t)
			resp := post(t, context.Background(), srv.URL, tt.body)
			var e struct {
				Error struct{ Message string } `json:"error"`
			}
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != 400 || !strings.Contains(e.Error.Message, tt.want) {
				t.Errorf("status %d message %q, want 400 mentioning %q", resp.StatusCode, e.Error.Message, tt.want)
			}
			if string(srv.LastRequest()) != tt.body {
				t.Errorf("LastRequest = %s", srv.LastRequest())
			}
		})
	}
}

func TestOpenAIReplies(t *testing.T) {
	srv := NewOpenAI(t, Reply{Text: "Rome.", PromptTokens: 12, CompletionTokens: 3})
	srv.Reply(Reply{Status: 429})
	srv.RequireKey("") // no key required
	resp := post(t, context.Background(), srv.URL, hello)
	var c struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if len(c.Choices) != 1 || c.Choices[0].Message.Content != "Rome." || c.Choices[0].FinishReason != "stop" || c.Usage.TotalTokens != 15 {
		t.Errorf("completion = %+v", c)
	}
	if resp := post(t, context.Background(), srv.URL, hello); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second reply: status %d", resp.StatusCode)
	}
	if srv.Requests() != 2 {
		t.Errorf("Requests = %d", srv.Requests())
	}
}

func TestOpenAIRequireKey(t *testing.T) {
	srv := NewOpenAI(t)
	srv.RequireKey("sk-1")
	if resp := post(t, context.Background(), srv.URL, hello); resp.StatusCode != 401 {
		t.Errorf("status %d without a key, want 401", resp.StatusCode)
	}
}

// events reads a stream's data lines.
func events(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out, sc.Err()
}

func TestOpenAIStream(t *testing.T) {
	const streamReq = `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`
	t.Run("text in chunks, tool call fragments, usage and [DONE]", func(t *testing.T) {
		srv := NewOpenAI(t, Reply{Text: "Rome is old.", Chunks: 3, ToolCalls: []ToolCall{{ID: "call_1", Name: "f", Arguments: `{"a":1}`, Fragments: 3}}, PromptTokens: 1, CompletionTokens: 2})
		evs, err := events(post(t, context.Background(), srv.URL, streamReq).Body)
		if err != nil {
			t.Fatal(err)
		}
		// role, 3 text, tool start, 3 fragments, finish, usage, [DONE]
		if len(evs) != 11 || evs[10] != "[DONE]" || !strings.Contains(evs[8], `"finish_reason":"tool_calls"`) || !strings.Contains(evs[9], `"total_tokens":3`) {
			t.Errorf("events:\n%s", strings.Join(evs, "\n"))
		}
		var text strings.Builder
		for _, ev := range evs[1:4] {
			var c struct {
				Choices []struct{ Delta struct{ Content string } }
			}
			json.Unmarshal([]byte(ev), &c)
			text.WriteString(c.Choices[0].Delta.Content)
		}
		if text.String() != "Rome is old." {
			t.Errorf("text = %q", text.String())
		}
	})
	t.Run("CutAfter closes the connection without [DONE]", func(t *testing.T) {
		srv := NewOpenAI(t, Reply{Text: "abcdef", Chunks: 6, CutAfter: 2})
		evs, err := events(post(t, context.Background(), srv.URL, streamReq).Body)
		if len(evs) != 2 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("events %q, error %v; want 2 events then an unexpected EOF", evs, err)
		}
	})
	t.Run("Hang notices the client going away", func(t *testing.T) {
		srv := NewOpenAI(t, Reply{Text: "abc", Chunks: 3, Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		resp := post(t, ctx, srv.URL, streamReq)
		sc := bufio.NewScanner(resp.Body)
		sc.Scan() // the first event arrived
		cancel()
		<-srv.Cancelled()
	})
}
