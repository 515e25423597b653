package upstreamtest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func anthropicPost(t *testing.T, ctx context.Context, url, path, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", "k")
	req.Header.Set("anthropic-version", "2023-06-01")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const anthropicHello = `{"model":"claude-3-haiku-20240307","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`

func anthropicErrorOf(t *testing.T, resp *http.Response) (typ, msg string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct{ Type, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&e)
	if e.Type != "error" {
		t.Errorf("error body type = %q, want error", e.Type)
	}
	return e.Error.Type, e.Error.Message
}

func TestAnthropicRejectsMalformedRequests(t *testing.T) {
	tests := []struct {
		name, path, body string
		header           map[string]string
		status           int
		want             string
	}{
		{"missing api key", "/v1/messages", anthropicHello, map[string]string{"x-api-key": ""}, 401, "x-api-key"},
		{"missing version header", "/v1/messages", anthropicHello, map[string]string{"anthropic-version": ""}, 400, "anthropic-version"},
		{"not JSON", "/v1/messages", `{`, nil, 400, "not valid JSON"},
		{"missing model", "/v1/messages", `{"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "model: Field required"},
		{"missing max_tokens", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "max_tokens: Field required"},
		{"missing messages", "/v1/messages", `{"model":"m","max_tokens":1}`, nil, 400, "messages: Field required"},
		{"Bedrock's anthropic_version in the body", "/v1/messages", `{"anthropic_version":"bedrock-2023-05-31","model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "anthropic_version"},
		{"first message from the assistant", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":"hi"}]}`, nil, 400, "first message"},
		{"roles not alternating", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, nil, 400, "roles must alternate"},
		{"unknown block type", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"video","text":"x"}]}]}`, nil, 400, "Input tag 'video'"},
		{"empty text block", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, nil, 400, "non-empty"},
		{"tool result without its tool use", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"x"}]}]}`, nil, 400, "tool_use_id"},
		{"prefill with trailing space", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"text","text":"b "}]}]}`, nil, 400, "trailing whitespace"},
		{"image that is not base64", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"%%"}}]}]}`, nil, 400, "base64"},
		{"complete without prompt", "/v1/complete", `{"model":"m","max_tokens_to_sample":1}`, nil, 400, "prompt: Field required"},
		{"complete without the Assistant turn", "/v1/complete", `{"model":"m","max_tokens_to_sample":1,"prompt":"\n\nHuman: hi"}`, nil, 400, "Assistant"},
		{"complete without max_tokens_to_sample", "/v1/complete", `{"model":"m","prompt":"\n\nHuman: hi\n\nAssistant:"}`, nil, 400, "max_tokens_to_sample"},
		{"unknown path", "/v1/chat/completions", anthropicHello, nil, 404, "Not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewAnthropic(t)
			resp := anthropicPost(t, context.Background(), srv.URL, tt.path, tt.body, tt.header)
			_, msg := anthropicErrorOf(t, resp)
			if resp.StatusCode != tt.status || !strings.Contains(msg, tt.want) {
				t.Errorf("status %d message %q, want %d mentioning %q", resp.StatusCode, msg, tt.status, tt.want)
			}
			if string(srv.LastRequest()) != tt.body {
				t.Errorf("LastRequest = %s", srv.LastRequest())
			}
		})
	}
}

func TestAnthropicAnswers(t *testing.T) {
	tests := []struct {
		name, path, body string
		reply            AnthropicReply
		want             string
	}{
		{"message with text and usage", "/v1/messages", anthropicHello, AnthropicReply{Text: "Rome.", InputTokens: 3, OutputTokens: 2},
			`{"content":[{"text":"Rome.","type":"text"}],"id":"msg_upstreamtest","model":"claude-3-haiku-20240307","role":"assistant","stop_reason":"end_turn","stop_sequence":null,"type":"message","usage":{"input_tokens":3,"output_tokens":2}}`},
		{"message with a tool use", "/v1/messages", anthropicHello, AnthropicReply{ToolUses: []AnthropicToolUse{{ID: "toolu_1", Name: "f", Input: `{"a":1}`}}},
			`{"content":[{"id":"toolu_1","input":{"a":1},"name":"f","type":"tool_use"}],"id":"msg_upstreamtest","model":"claude-3-haiku-20240307","role":"assistant","stop_reason":"tool_use","stop_sequence":null,"type":"message","usage":{"input_tokens":0,"output_tokens":0}}`},
		{"completion stops on the Human turn", "/v1/complete", `{"model":"claude-2.1","max_tokens_to_sample":5,"prompt":"\n\nHuman: hi\n\nAssistant:"}`, AnthropicReply{Text: " Hi."},
			`{"completion":" Hi.","id":"compl_upstreamtest","model":"claude-2.1","stop":"\n\nHuman:","stop_reason":"stop_sequence","type":"completion"}`},
		{"429 is a rate_limit_error", "/v1/messages", anthropicHello, AnthropicReply{Status: 429},
			`{"error":{"message":"Too Many Requests","type":"rate_limit_error"},"type":"error"}`},
		{"529 is an overloaded_error", "/v1/messages", anthropicHello, AnthropicReply{Status: 529},
			`{"error":{"message":"Overloaded","type":"overloaded_error"},"type":"error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewAnthropic(t, tt.reply)
			resp := anthropicPost(t, context.Background(), srv.URL, tt.path, tt.body, nil)
			b, _ := io.ReadAll(resp.Body)
			if got := strings.TrimSpace(string(b)); got != tt.want {
				t.Errorf("body:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// anthropicSSE reads a whole event stream as "name data" lines.
func anthropicSSE(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			out = append(out, name+" "+strings.TrimPrefix(line, "data: "))
		}
	}
	return out
}

func TestAnthropicStreams(t *testing.T) {
	streamed := `{"model":"m","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	t.Run("messages stream with text and a tool use", func(t *testing.T) {
		srv := NewAnthropic(t, AnthropicReply{Text: "ab", Chunks: 2, ToolUses: []AnthropicToolUse{{ID: "t", Name: "f", Input: `{"a":1}`}}, InputTokens: 4, OutputTokens: 9})
		resp := anthropicPost(t, context.Background(), srv.URL, "/v1/messages", streamed, nil)
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type = %q", ct)
		}
		got := strings.Join(anthropicSSE(t, resp.Body), "\n")
		want := strings.Join([]string{
			`message_start {"message":{"content":[],"id":"msg_upstreamtest","model":"m","role":"assistant","stop_reason":null,"stop_sequence":null,"type":"message","usage":{"input_tokens":4,"output_tokens":1}},"type":"message_start"}`,
			`ping {"type":"ping"}`,
			`content_block_start {"content_block":{"text":"","type":"text"},"index":0,"type":"content_block_start"}`,
			`content_block_delta {"delta":{"text":"a","type":"text_delta"},"index":0,"type":"content_block_delta"}`,
			`content_block_delta {"delta":{"text":"b","type":"text_delta"},"index":0,"type":"content_block_delta"}`,
			`content_block_stop {"index":0,"type":"content_block_stop"}`,
			`content_block_start {"content_block":{"id":"t","input":{},"name":"f","type":"tool_use"},"index":1,"type":"content_block_start"}`,
			`content_block_delta {"delta":{"partial_json":"","type":"input_json_delta"},"index":1,"type":"content_block_delta"}`,
			`content_block_delta {"delta":{"partial_json":"{\"a","type":"input_json_delta"},"index":1,"type":"content_block_delta"}`,
			`content_block_delta {"delta":{"partial_json":"\":1}","type":"input_json_delta"},"index":1,"type":"content_block_delta"}`,
			`content_block_stop {"index":1,"type":"content_block_stop"}`,
			`message_delta {"delta":{"stop_reason":"tool_use","stop_sequence":null},"type":"message_delta","usage":{"output_tokens":9}}`,
			`message_stop {"type":"message_stop"}`,
		}, "\n")
		if got != want {
			t.Errorf("events:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("complete stream", func(t *testing.T) {
		srv := NewAnthropic(t, AnthropicReply{Text: " Hi", Chunks: 2, StopReason: "max_tokens"})
		resp := anthropicPost(t, context.Background(), srv.URL, "/v1/complete", `{"model":"m","max_tokens_to_sample":2,"stream":true,"prompt":"\n\nHuman: hi\n\nAssistant:"}`, nil)
		got := strings.Join(anthropicSSE(t, resp.Body), "\n")
		want := strings.Join([]string{
			`ping {"type":"ping"}`,
			`completion {"completion":" ","model":"m","stop":null,"stop_reason":null,"type":"completion"}`,
			`completion {"completion":"Hi","model":"m","stop":null,"stop_reason":null,"type":"completion"}`,
			`completion {"completion":"","model":"m","stop":null,"stop_reason":"max_tokens","type":"completion"}`,
		}, "\n")
		if got != want {
			t.Errorf("events:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("stream error event", func(t *testing.T) {
		srv := NewAnthropic(t, AnthropicReply{Text: "a", StreamError: "Overloaded"})
		resp := anthropicPost(t, context.Background(), srv.URL, "/v1/messages", streamed, nil)
		evs := anthropicSSE(t, resp.Body)
		if last := evs[len(evs)-1]; last != `error {"error":{"message":"Overloaded","type":"overloaded_error"},"type":"error"}` {
			t.Errorf("last event = %s", last)
		}
	})
	t.Run("cut mid-stream", func(t *testing.T) {
		srv := NewAnthropic(t, AnthropicReply{Text: "abc", Chunks: 3, CutAfter: 3})
		resp := anthropicPost(t, context.Background(), srv.URL, "/v1/messages", streamed, nil)
		_, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Error("reading a cut stream succeeded")
		}
	})
	t.Run("hang notices the client leaving", func(t *testing.T) {
		srv := NewAnthropic(t, AnthropicReply{Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		resp := anthropicPost(t, ctx, srv.URL, "/v1/messages", streamed, nil)
		r := bufio.NewReader(resp.Body)
		r.ReadString('\n') // the first event has arrived
		cancel()
		select {
		case <-srv.Cancelled():
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not notice the client going away")
		}
	})
}

func TestAnthropicRecordsHeaders(t *testing.T) {
	srv := NewAnthropic(t)
	srv.RequireKey("secret")
	resp := anthropicPost(t, context.Background(), srv.URL, "/v1/messages", anthropicHello, nil)
	if resp.StatusCode != 401 {
		t.Errorf("wrong key: status %d, want 401", resp.StatusCode)
	}
	resp = anthropicPost(t, context.Background(), srv.URL, "/v1/messages", anthropicHello, map[string]string{"x-api-key": "secret", "anthropic-beta": "b1"})
	if resp.StatusCode != 200 {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	if h := srv.LastHeader(); h.Get("anthropic-beta") != "b1" || srv.LastPath() != "/v1/messages" || srv.Requests() != 2 {
		t.Errorf("recorded beta %q path %q requests %d", h.Get("anthropic-beta"), srv.LastPath(), srv.Requests())
	}
}
