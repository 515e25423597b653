package ai21

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

func client(srv *upstreamtest.AI21Server) *Client {
	return &Client{BaseURL: srv.URL, APIKey: upstreamtest.AI21Key, Timeout: 5 * time.Second}
}

func request() transport.Request {
	return transport.Request{Model: "jamba-mini", Body: []byte(nativeBody)}
}

func TestInvoke(t *testing.T) {
	srv := upstreamtest.NewAI21(t, upstreamtest.Reply{Text: "Rome.", PromptTokens: 30, CompletionTokens: 2}, upstreamtest.Reply{Text: "Rome.", NoUsage: true})
	resp, err := client(srv).Invoke(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || body.Choices[0].Message.Content != "Rome." || body.Choices[0].FinishReason != "stop" {
		t.Errorf("body %s", resp.Body)
	}
	if resp.InputTokens != 30 || resp.OutputTokens != 2 || resp.ContentType != "application/json" {
		t.Errorf("tokens %d %d, type %q", resp.InputTokens, resp.OutputTokens, resp.ContentType)
	}
	var sent map[string]json.RawMessage
	json.Unmarshal(srv.LastRequest(), &sent)
	if string(sent["model"]) != `"jamba-mini"` || sent["stream"] != nil || string(sent["temperature"]) != "0.2" {
		t.Errorf("sent %s", srv.LastRequest())
	}
	resp, err = client(srv).Invoke(context.Background(), request())
	if err != nil || resp.InputTokens != -1 || resp.OutputTokens != -1 {
		t.Errorf("without usage: %v, tokens %d %d", err, resp.InputTokens, resp.OutputTokens)
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
		{"429 is a status error with AI21's detail", upstreamtest.Reply{Status: 429, Message: "Too many requests"}, upstreamtest.AI21Key, nativeBody, 0, 429, "Too many requests", nil},
		{"503 is a status error", upstreamtest.Reply{Status: 503}, upstreamtest.AI21Key, nativeBody, 0, 503, "Service Unavailable", nil},
		{"a wrong key is a 401", upstreamtest.Reply{}, "nope", nativeBody, 0, 401, "missing API token", nil},
		{"a range error gives its details", upstreamtest.Reply{}, upstreamtest.AI21Key, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":9000}`, 0, 422, "max_tokens", nil},
		{"a Jurassic-2 body is refused here", upstreamtest.Reply{}, upstreamtest.AI21Key, `{"prompt":"hi","maxTokens":5}`, 0, 400, "Jurassic-2", nil},
		{"a body that is not JSON is refused here", upstreamtest.Reply{}, upstreamtest.AI21Key, `[1]`, 0, 400, "Malformed input request", nil},
		{"a hanging upstream times out", upstreamtest.Reply{Hang: true}, upstreamtest.AI21Key, nativeBody, 50 * time.Millisecond, 0, "", transport.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewAI21(t, tt.reply)
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
				<-srv.Cancelled()
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
}

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
	srv := upstreamtest.NewAI21(t, upstreamtest.Reply{Text: "Rome.", Chunks: 2, PromptTokens: 30, CompletionTokens: 2})
	seq, err := client(srv).InvokeStream(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := collect(seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 4 || !strings.Contains(chunks[1], `"content":"Ro"`) || strings.Contains(chunks[2], "invocationMetrics") {
		t.Fatalf("chunks:\n%s", strings.Join(chunks, "\n"))
	}
	var last struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		}
		Metrics *struct{ InputTokenCount, OutputTokenCount int } `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal([]byte(chunks[3]), &last); err != nil || last.Choices[0].FinishReason != "stop" || last.Metrics == nil ||
		last.Metrics.InputTokenCount != 30 || last.Metrics.OutputTokenCount != 2 {
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
		srv := upstreamtest.NewAI21(t, upstreamtest.Reply{Status: 429})
		_, err := client(srv).InvokeStream(context.Background(), request())
		var se *transport.StatusError
		if !errors.As(err, &se) || se.StatusCode != 429 {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a stream cut mid-way ends in an error", func(t *testing.T) {
		srv := upstreamtest.NewAI21(t, upstreamtest.Reply{Text: "abcdef", Chunks: 6, CutAfter: 3})
		seq, err := client(srv).InvokeStream(context.Background(), request())
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := collect(seq)
		if len(chunks) != 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%d chunks, err %v; want 3 then an unexpected EOF", len(chunks), err)
		}
	})
	t.Run("an event that is not JSON ends in an error", func(t *testing.T) {
		srv := upstreamtest.NewAI21(t, upstreamtest.Reply{Text: "ab", Malformed: true})
		seq, err := client(srv).InvokeStream(context.Background(), request())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := collect(seq); !errors.Is(err, ErrMalformed) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a silent upstream times out per event", func(t *testing.T) {
		srv := upstreamtest.NewAI21(t, upstreamtest.Reply{Text: "abcdef", Chunks: 6, Hang: true})
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
		srv := upstreamtest.NewAI21(t, upstreamtest.Reply{Text: "abcdef", Chunks: 6, Hang: true, HangAfter: 3})
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
		srv := upstreamtest.NewAI21(t, upstreamtest.Reply{Text: "abcdef", Chunks: 6, Hang: true})
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
		wantEnd string
	}{
		{"an end without a finish is an error", []string{`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`}, "ended before the model finished", ""},
		{"usage after the finish goes into the finish chunk", []string{`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`, `{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1}}`},
			"", `"usage":{"completion_tokens":1,"prompt_tokens":4,"total_tokens":5}`},
		{"unknown members pass through", []string{`{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"meta":{"a":1}}`}, "", `"meta":{"a":1}`},
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
