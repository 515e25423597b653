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
)

// mistralPost sends body to url with the given key and returns the answer.
func mistralPost(t *testing.T, ctx context.Context, url, key, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const mistralHello = `{"model":"mistral-large-latest","messages":[{"role":"user","content":"hi"}]}`

func TestMistralRejects(t *testing.T) {
	call := `{"role":"assistant","content":"","tool_calls":[{"id":"abcDEF123","function":{"name":"f","arguments":"{}"}}]}`
	tests := []struct {
		name, path, key, body string
		status                int
		want                  string
	}{
		{"a missing key", "/v1/chat/completions", "", mistralHello, 401, "Unauthorized"},
		{"a wrong key", "/v1/chat/completions", "nope", mistralHello, 401, "Unauthorized"},
		{"another path", "/v1/completions", MistralKey, mistralHello, 404, "Not Found"},
		{"a body that is not JSON", "/v1/chat/completions", MistralKey, `{`, 422, "JSON"},
		{"no model", "/v1/chat/completions", MistralKey, `{"messages":[{"role":"user","content":"hi"}]}`, 422, "body.model"},
		{"an unknown member", "/v1/chat/completions", MistralKey, `{"model":"m","messages":[{"role":"user","content":"hi"}],"top_k":5}`, 422, "body.top_k"},
		{"no messages", "/v1/chat/completions", MistralKey, `{"model":"m","messages":[]}`, 422, "body.messages"},
		{"an unknown role", "/v1/chat/completions", MistralKey, `{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, 422, "'robot'"},
		{"a tool call id of another length", "/v1/chat/completions", MistralKey,
			`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"","tool_calls":[{"id":"tooluse_a1","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"tooluse_a1","content":"x"}]}`,
			400, "length of 9"},
		{"a tool result for no call", "/v1/chat/completions", MistralKey, `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"abcDEF123","content":"x"}]}`, 400, "Unexpected tool call id"},
		{"a conversation ending with the assistant", "/v1/chat/completions", MistralKey, `{"model":"m","messages":[{"role":"user","content":"hi"},` + call + `]}`, 400, "Expected last role"},
		{"a temperature of a wrong type", "/v1/chat/completions", MistralKey, `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}`, 422, "body.temperature"},
		{"tool_choice of an unknown value", "/v1/chat/completions", MistralKey, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"always"}`, 422, "tool_choice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewMistral(t)
			resp := mistralPost(t, context.Background(), srv.URL+tt.path, tt.key, tt.body)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("status %d body %s, want %d mentioning %q", resp.StatusCode, b, tt.status, tt.want)
			}
			if string(srv.LastRequest()) != tt.body {
				t.Errorf("LastRequest = %s", srv.LastRequest())
			}
		})
	}
}

func TestMistralReplies(t *testing.T) {
	srv := NewMistral(t, Reply{Text: "Rome.", PromptTokens: 12, CompletionTokens: 3},
		Reply{ToolCalls: []ToolCall{{ID: "abcDEF123", Name: "get_weather", Arguments: `{"city":"Rome"}`}}},
		Reply{Status: 429})
	url := srv.URL + "/v1/chat/completions"
	var c struct {
		Choices []struct {
			Message struct {
				Content   string
				ToolCalls []struct {
					ID       string
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			}
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	json.NewDecoder(mistralPost(t, context.Background(), url, MistralKey, mistralHello).Body).Decode(&c)
	if c.Choices[0].Message.Content != "Rome." || c.Choices[0].FinishReason != "stop" || c.Usage.TotalTokens != 15 {
		t.Errorf("text reply = %+v", c)
	}
	json.NewDecoder(mistralPost(t, context.Background(), url, MistralKey, mistralHello).Body).Decode(&c)
	if tc := c.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].ID != "abcDEF123" || tc[0].Function.Arguments != `{"city":"Rome"}` || c.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("tool reply = %+v", c)
	}
	resp := mistralPost(t, context.Background(), url, MistralKey, mistralHello)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), `"type":"rate_limited"`) {
		t.Errorf("429 reply: %d %s", resp.StatusCode, b)
	}
	if srv.Requests() != 3 {
		t.Errorf("Requests = %d", srv.Requests())
	}
}

// mistralEvents reads a stream's data lines.
func mistralEvents(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out, sc.Err()
}

func TestMistralStream(t *testing.T) {
	const streamReq = `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`
	t.Run("text in chunks, whole tool calls, usage on the finish, [DONE]", func(t *testing.T) {
		srv := NewMistral(t, Reply{Text: "Rome.", Chunks: 2, ToolCalls: []ToolCall{{Name: "f", Arguments: `{}`}}, PromptTokens: 1, CompletionTokens: 2})
		evs, err := mistralEvents(mistralPost(t, context.Background(), srv.URL+"/v1/chat/completions", MistralKey, streamReq).Body)
		if err != nil {
			t.Fatal(err)
		}
		// role, 2 text, tool calls, finish with usage, [DONE]
		if len(evs) != 6 || evs[5] != "[DONE]" || !strings.Contains(evs[3], `"id":"call00000"`) ||
			!strings.Contains(evs[4], `"finish_reason":"tool_calls"`) || !strings.Contains(evs[4], `"total_tokens":3`) {
			t.Errorf("events:\n%s", strings.Join(evs, "\n"))
		}
	})
	t.Run("CutAfter closes the connection without [DONE]", func(t *testing.T) {
		srv := NewMistral(t, Reply{Text: "abcdef", Chunks: 6, CutAfter: 2})
		evs, err := mistralEvents(mistralPost(t, context.Background(), srv.URL+"/v1/chat/completions", MistralKey, streamReq).Body)
		if len(evs) != 2 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("events %q, error %v; want 2 events then an unexpected EOF", evs, err)
		}
	})
	t.Run("Hang notices the client going away", func(t *testing.T) {
		srv := NewMistral(t, Reply{Text: "abc", Chunks: 3, Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		resp := mistralPost(t, ctx, srv.URL+"/v1/chat/completions", MistralKey, streamReq)
		bufio.NewScanner(resp.Body).Scan() // the first event arrived
		cancel()
		<-srv.Cancelled()
	})
}
