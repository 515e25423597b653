package upstreamtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func completionsPost(t *testing.T, url, body string) (int, string, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestCompletionsRejects(t *testing.T) {
	tests := []struct {
		name, path, body, want string
	}{
		{"ollama without raw", "/api/generate", `{"model":"m","prompt":"hi"}`, `raw must be true`},
		{"ollama without a model", "/api/generate", `{"prompt":"hi","raw":true}`, `model is required`},
		{"ollama with an unknown option", "/api/generate", `{"model":"m","prompt":"hi","raw":true,"options":{"max_tokens":5}}`, `invalid option provided: max_tokens`},
		{"ollama with a template in raw mode", "/api/generate", `{"model":"m","prompt":"hi","raw":true,"template":"{{.Prompt}}"}`, `template has no meaning in raw mode`},
		{"openai without a prompt", "/v1/completions", `{"model":"m"}`, `Missing required parameter: 'prompt'.`},
		{"openai with an unknown member", "/v1/completions", `{"model":"m","prompt":"hi","max_gen_len":5}`, `Unrecognized request argument supplied: max_gen_len`},
		{"openai with a fractional max_tokens", "/v1/completions", `{"model":"m","prompt":"hi","max_tokens":1.5}`, `expected a non-negative integer`},
		{"openai stream_options without stream", "/v1/completions", `{"model":"m","prompt":"hi","stream_options":{"include_usage":true}}`, `only allowed when 'stream' is enabled`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewCompletions(t)
			code, _, body := completionsPost(t, s.URL+tt.path, tt.body)
			if code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want 400 containing %q", code, body, tt.want)
			}
		})
	}
}

func TestCompletionsAnswers(t *testing.T) {
	tests := []struct {
		name, path, body string
		reply            CompletionReply
		wantType         string
		want             []string // substrings of the answer, in order
	}{
		{"openai text completion", "/v1/completions", `{"model":"m","prompt":"[INST] hi [/INST]","max_tokens":5}`,
			CompletionReply{Text: "Hello.", FinishReason: "length", PromptTokens: 4, CompletionTokens: 5}, "application/json",
			[]string{`"finish_reason":"length"`, `"text":"Hello."`, `"object":"text_completion"`, `"prompt_tokens":4`}},
		{"openai stream with usage", "/v1/completions", `{"model":"m","prompt":"hi","stream":true,"stream_options":{"include_usage":true}}`,
			CompletionReply{Text: "Hello.", Chunks: 2, StopReason: "END", PromptTokens: 4, CompletionTokens: 2}, "text/event-stream",
			[]string{`data: {"choices":[{"finish_reason":null,"index":0,"logprobs":null,"text":"Hel"}]`, `"text":"lo."`, `"finish_reason":"stop"`, `"stop_reason":"END"`, `"choices":[]`, `"completion_tokens":2`, "data: [DONE]\n\n"}},
		{"ollama generate", "/api/generate", `{"model":"m","prompt":"hi","raw":true,"stream":false}`,
			CompletionReply{Text: "Hello.", PromptTokens: 4, CompletionTokens: 2}, "application/json",
			[]string{`"done":true`, `"done_reason":"stop"`, `"eval_count":2`, `"prompt_eval_count":4`, `"response":"Hello."`}},
		{"ollama streams by default", "/api/generate", `{"model":"m","prompt":"hi","raw":true}`,
			CompletionReply{Text: "Hello.", Chunks: 2}, "application/x-ndjson",
			[]string{`"done":false,"model":"m","response":"Hel"}` + "\n", `"response":"lo."`, `"done":true`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewCompletions(t, tt.reply)
			code, typ, body := completionsPost(t, s.URL+tt.path, tt.body)
			if code != http.StatusOK || typ != tt.wantType {
				t.Fatalf("got %d %s: %s", code, typ, body)
			}
			rest := body
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("answer lacks %q (in order):\n%s", w, body)
				}
				rest = rest[i+len(w):]
			}
			var req map[string]any
			json.Unmarshal([]byte(tt.body), &req)
			if s.LastPrompt() != req["prompt"] {
				t.Errorf("LastPrompt = %q, want %q", s.LastPrompt(), req["prompt"])
			}
		})
	}
}

func TestCompletionsStatusFault(t *testing.T) {
	s := NewCompletions(t, CompletionReply{Status: http.StatusTooManyRequests, Message: "slow down"}, CompletionReply{Status: http.StatusInternalServerError})
	code, _, body := completionsPost(t, s.URL+"/v1/completions", `{"model":"m","prompt":"hi"}`)
	if code != http.StatusTooManyRequests || !strings.Contains(body, `"message":"slow down"`) {
		t.Errorf("openai fault: %d %s", code, body)
	}
	code, _, body = completionsPost(t, s.URL+"/api/generate", `{"model":"m","prompt":"hi","raw":true}`)
	if code != http.StatusInternalServerError || body != `{"error":"Internal Server Error"}`+"\n" {
		t.Errorf("ollama fault: %d %s", code, body)
	}
}
