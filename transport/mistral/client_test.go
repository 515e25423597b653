package mistral

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/upstreamtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const nativeBody = `{"messages":[{"role":"system","content":"You are a terse geography tutor."},{"role":"user","content":"And Italy?"}],"max_tokens":64,"temperature":0.2}`

func client(srv *upstreamtest.MistralServer) *Client {
	return &Client{BaseURL: srv.URL, APIKey: upstreamtest.MistralKey, Timeout: 5 * time.Second}
}

func request() transport.Request {
	return transport.Request{Model: "mistral-large-latest", Body: []byte(nativeBody)}
}

func TestInvoke(t *testing.T) {
	tests := []struct {
		name       string
		reply      upstreamtest.Reply
		want       string
		wantTokens [2]int
	}{
		{"text with usage", upstreamtest.Reply{Text: "Rome.", PromptTokens: 30, CompletionTokens: 3},
			`{"choices":[{"index":0,"message":{"role":"assistant","content":"Rome."},"stop_reason":"stop","finish_reason":"stop"}]}`, [2]int{30, 3}},
		{"tool calls keep their ids and arguments", upstreamtest.Reply{ToolCalls: []upstreamtest.ToolCall{{ID: "abcDEF123", Name: "get_weather", Arguments: `{"city":"Rome"}`}}},
			`{"choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"id":"abcDEF123","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},"stop_reason":"tool_calls","finish_reason":"tool_calls"}]}`, [2]int{0, 0}},
		{"model_length reads as length, no usage is unknown", upstreamtest.Reply{Text: "Ro", FinishReason: "model_length", NoUsage: true},
			`{"choices":[{"index":0,"message":{"role":"assistant","content":"Ro"},"stop_reason":"length","finish_reason":"length"}]}`, [2]int{-1, -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewMistral(t, tt.reply)
			resp, err := client(srv).Invoke(context.Background(), request())
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Body) != tt.want || resp.ContentType != "application/json" {
				t.Errorf("body %s\nwant %s", resp.Body, tt.want)
			}
			if [2]int{resp.InputTokens, resp.OutputTokens} != tt.wantTokens {
				t.Errorf("tokens %d %d, want %v", resp.InputTokens, resp.OutputTokens, tt.wantTokens)
			}
			var sent map[string]json.RawMessage
			json.Unmarshal(srv.LastRequest(), &sent)
			if string(sent["model"]) != `"mistral-large-latest"` || sent["stream"] != nil || string(sent["max_tokens"]) != "64" {
				t.Errorf("sent %s", srv.LastRequest())
			}
		})
	}
}

func TestInvokeErrors(t *testing.T) {
	tests := []struct {
		name       string
		reply      upstreamtest.Reply
		key        string
		body       string
		timeout    time.Duration
		wantStatus int
		wantMsg    string
		wantErr    error
	}{
		{"429 is a status error with Mistral's message", upstreamtest.Reply{Status: 429, Message: "Requests rate limit exceeded"}, upstreamtest.MistralKey, nativeBody, 0, 429, "Requests rate limit exceeded", nil},
		{"500 is a status error", upstreamtest.Reply{Status: 500}, upstreamtest.MistralKey, nativeBody, 0, 500, "Internal Server Error", nil},
		{"a wrong key is a 401", upstreamtest.Reply{}, "nope", nativeBody, 0, 401, "Unauthorized", nil},
		{"a schema error gives its details", upstreamtest.Reply{}, upstreamtest.MistralKey, `{"messages":[{"role":"user","content":"hi"}],"top_k":3}`, 0, 422, "Extra inputs are not permitted: body.top_k", nil},
		{"a text-completion body is refused here", upstreamtest.Reply{}, upstreamtest.MistralKey, `{"prompt":"<s>[INST] hi [/INST]","max_tokens":5}`, 0, 400, "text-completion destination", nil},
		{"a body that is not JSON is refused here", upstreamtest.Reply{}, upstreamtest.MistralKey, `{`, 0, 400, "Malformed input request", nil},
		{"an answer that is not a completion", upstreamtest.Reply{Malformed: true}, upstreamtest.MistralKey, nativeBody, 0, 0, "", ErrMalformed},
		{"a hanging upstream times out", upstreamtest.Reply{Hang: true}, upstreamtest.MistralKey, nativeBody, 50 * time.Millisecond, 0, "", transport.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewMistral(t, tt.reply)
			c := client(srv)
			c.APIKey = tt.key
			if tt.timeout != 0 {
				c.Timeout = tt.timeout
			}
			_, err := c.Invoke(context.Background(), transport.Request{Model: "m", Body: []byte(tt.body)})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			var se *transport.StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.wantStatus || !strings.Contains(se.Message, tt.wantMsg) {
				t.Fatalf("err = %#v, want status %d with %q", err, tt.wantStatus, tt.wantMsg)
			}
			if tt.wantStatus == 400 && srv.Requests() != 0 {
				t.Error("a refused body was sent upstream")
			}
		})
	}
	t.Run("a timeout reaches the upstream", func(t *testing.T) {
		srv := upstreamtest.NewMistral(t, upstreamtest.Reply{Hang: true})
		c := client(srv)
		c.Timeout = 20 * time.Millisecond
		c.Invoke(context.Background(), request())
		<-srv.Cancelled()
	})
}

// collect ranges over a stream, returning its chunks and its error.
func collect(seq func(func([]byte, error) bool)) ([]string, error) {
	var out []string
	for chunk, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, string(chunk))
	}
	return out, nil
}

func TestInvokeStream(t *testing.T) {
	srv := upstreamtest.NewMistral(t, upstreamtest.Reply{Text: "Rome.", Chunks: 2, PromptTokens: 30, CompletionTokens: 3})
	seq, err := client(srv).InvokeStream(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := collect(seq)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"choices":[{"index":0,"message":{"role":"assistant","content":""},"stop_reason":null,"finish_reason":null}]}`,
		`{"choices":[{"index":0,"message":{"role":"assistant","content":"Ro"},"stop_reason":null,"finish_reason":null}]}`,
		`{"choices":[{"index":0,"message":{"role":"assistant","content":"me."},"stop_reason":null,"finish_reason":null}]}`,
	}
	if len(chunks) != 4 || strings.Join(chunks[:3], "\n") != strings.Join(want, "\n") {
		t.Fatalf("chunks:\n%s", strings.Join(chunks, "\n"))
	}
	var last struct {
		Choices []struct {
			StopReason string `json:"stop_reason"`
		}
		Metrics *struct {
			InputTokenCount, OutputTokenCount int
			InvocationLatency                 int64
		} `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal([]byte(chunks[3]), &last); err != nil || last.Choices[0].StopReason != "stop" || last.Metrics == nil ||
		last.Metrics.InputTokenCount != 30 || last.Metrics.OutputTokenCount != 3 {
		t.Errorf("last chunk %s", chunks[3])
	}
	var sent map[string]json.RawMessage
	json.Unmarshal(srv.LastRequest(), &sent)
	if string(sent["stream"]) != "true" {
		t.Errorf("sent %s", srv.LastRequest())
	}
}

func TestInvokeStreamFaults(t *testing.T) {
	t.Run("a 429 comes before the stream", func(t *testing.T) {
		srv := upstreamtest.NewMistral(t, upstreamtest.Reply{Status: 429})
		_, err := client(srv).InvokeStream(context.Background(), request())
		var se *transport.StatusError
		if !errors.As(err, &se) || se.StatusCode != 429 {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a stream cut mid-way ends in an error", func(t *testing.T) {
		srv := upstreamtest.NewMistral(t, upstreamtest.Reply{Text: "abcdef", Chunks: 6, CutAfter: 3})
		seq, err := client(srv).InvokeStream(context.Background(), request())
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := collect(seq)
		if len(chunks) != 3 || err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%d chunks, err %v; want 3 then an unexpected EOF", len(chunks), err)
		}
	})
	t.Run("an event that is not JSON ends in an error", func(t *testing.T) {
		srv := upstreamtest.NewMistral(t, upstreamtest.Reply{Text: "ab", Malformed: true})
		seq, err := client(srv).InvokeStream(context.Background(), request())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := collect(seq); !errors.Is(err, ErrMalformed) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a silent upstream times out per event", func(t *testing.T) {
		srv := upstreamtest.NewMistral(t, upstreamtest.Reply{Text: "abcdef", Chunks: 6, Hang: true})
		c := client(srv)
		c.Timeout = 50 * time.Millisecond
		seq, err := c.InvokeStream(context.Background(), request())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := collect(seq); !errors.Is(err, transport.ErrTimeout) {
			t.Errorf("err = %v", err)
		}
		<-srv.Cancelled()
	})
	t.Run("an early break cancels the upstream", func(t *testing.T) {
		srv := upstreamtest.NewMistral(t, upstreamtest.Reply{Text: "abcdef", Chunks: 6, Hang: true, HangAfter: 3})
		seq, err := client(srv).InvokeStream(context.Background(), request())
		if err != nil {
			t.Fatal(err)
		}
		for range seq {
			break
		}
		<-srv.Cancelled()
	})
	t.Run("cancelling ctx ends the stream and the upstream", func(t *testing.T) {
		srv := upstreamtest.NewMistral(t, upstreamtest.Reply{Text: "abcdef", Chunks: 6, Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		seq, err := client(srv).InvokeStream(ctx, request())
		if err != nil {
			t.Fatal(err)
		}
		var last error
		for _, err := range seq {
			if err != nil {
				last = err
				break
			}
			cancel()
		}
		if !errors.Is(last, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", last)
		}
		<-srv.Cancelled()
	})
}

func TestStreamState(t *testing.T) {
	tests := []struct {
		name    string
		events  []string
		wantErr string
		wantEnd string // a fragment of the last chunk
	}{
		{"an end without a finish is an error", []string{`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`}, "ended before the model finished", ""},
		{"usage after the finish is counted", []string{`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}`, `{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1}}`},
			"", `"inputTokenCount":4,"outputTokenCount":1`},
		{"an error object is a status error", []string{`{"object":"error","message":"boom","type":"internal_server_error"}`}, "500", ""},
		{"content as chunks is joined", []string{`{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]}`}, "", `"content":"ab"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := streamState{start: time.Now()}
			var err error
			for _, ev := range tt.events {
				if _, err = s.next([]byte(ev)); err != nil {
					break
				}
			}
			var last []byte
			if err == nil {
				last, err = s.end()
			}
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("err = %v", err)
			case !strings.Contains(string(last), tt.wantEnd):
				t.Errorf("last chunk %s, want %s", last, tt.wantEnd)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"a message", `{"object":"error","message":"Invalid model"}`, "Invalid model"},
		{"a message object", `{"message":{"detail":[{"msg":"x"}]}}`, `{"detail":[{"msg":"x"}]}`},
		{"a FastAPI detail", `{"detail":"Not Found"}`, "Not Found"},
		{"not JSON", `<html>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("errorMessage = %q, want %q", got, tt.want)
			}
		})
	}
}
