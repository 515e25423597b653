package upstreamtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const ai21Hello = `{"model":"jamba-mini","messages":[{"role":"user","content":"hi"}]}`

func TestAI21Rejects(t *testing.T) {
	tests := []struct {
		name, path, key, body string
		status                int
		want                  string
	}{
		{"a missing key", "/studio/v1/chat/completions", "", ai21Hello, 401, "missing API token"},
		{"another path", "/v1/chat/completions", AI21Key, ai21Hello, 404, "Not Found"},
		{"a body that is not JSON", "/studio/v1/chat/completions", AI21Key, `{`, 422, "JSON"},
		{"no model", "/studio/v1/chat/completions", AI21Key, `{"messages":[{"role":"user","content":"hi"}]}`, 422, "model"},
		{"no messages", "/studio/v1/chat/completions", AI21Key, `{"model":"m","messages":[]}`, 422, "messages"},
		{"content that is not a string", "/studio/v1/chat/completions", AI21Key, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, 422, "str type expected"},
		{"max_tokens above 4096", "/studio/v1/chat/completions", AI21Key, `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5000}`, 422, "max_tokens"},
		{"temperature above 2", "/studio/v1/chat/completions", AI21Key, `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":2.5}`, 422, "temperature"},
		{"temperature 0 with n above 1", "/studio/v1/chat/completions", AI21Key, `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0,"n":2}`, 422, "n is above 1"},
		{"stop of a wrong type", "/studio/v1/chat/completions", AI21Key, `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":5}`, 422, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewAI21(t)
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

func TestAI21Replies(t *testing.T) {
	srv := NewAI21(t, Reply{Text: "Rome.", PromptTokens: 30, CompletionTokens: 2}, Reply{Status: 503})
	url := srv.URL + "/studio/v1/chat/completions"
	var c struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	json.NewDecoder(mistralPost(t, context.Background(), url, AI21Key, ai21Hello).Body).Decode(&c)
	if c.Choices[0].Message.Content != "Rome." || c.Choices[0].FinishReason != "stop" || c.Usage.TotalTokens != 32 {
		t.Errorf("reply = %+v", c)
	}
	resp := mistralPost(t, context.Background(), url, AI21Key, ai21Hello)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 503 || !strings.Contains(string(b), `"detail"`) {
		t.Errorf("503 reply: %d %s", resp.StatusCode, b)
	}
}

func TestAI21Stream(t *testing.T) {
	const streamReq = `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`
	t.Run("text in chunks, usage on the finish, [DONE]", func(t *testing.T) {
		srv := NewAI21(t, Reply{Text: "Rome.", Chunks: 2, PromptTokens: 1, CompletionTokens: 2})
		evs, err := mistralEvents(mistralPost(t, context.Background(), srv.URL+"/studio/v1/chat/completions", AI21Key, streamReq).Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 5 || evs[4] != "[DONE]" || !strings.Contains(evs[3], `"finish_reason":"stop"`) || !strings.Contains(evs[3], `"total_tokens":3`) {
			t.Errorf("events:\n%s", strings.Join(evs, "\n"))
		}
	})
	t.Run("CutAfter closes the connection without [DONE]", func(t *testing.T) {
		srv := NewAI21(t, Reply{Text: "abcdef", Chunks: 6, CutAfter: 3})
		evs, err := mistralEvents(mistralPost(t, context.Background(), srv.URL+"/studio/v1/chat/completions", AI21Key, streamReq).Body)
		if len(evs) != 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("events %q, error %v; want 3 events then an unexpected EOF", evs, err)
		}
	})
	t.Run("Hang without streaming notices the client going away", func(t *testing.T) {
		srv := NewAI21(t, Reply{Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for srv.Requests() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/studio/v1/chat/completions", strings.NewReader(ai21Hello))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+AI21Key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("a hanging answer completed")
		}
		<-srv.Cancelled()
	})
}
