package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/upstreamtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	messagesBody = `{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["b1","b2"],"max_tokens":16,"messages":[{"role":"user","content":[{"type":"text","text":"<hi>"}]}]}`
	completeBody = `{"prompt":"\n\nHuman: hi\n\nAssistant:","max_tokens_to_sample":16,"stop_sequences":["\n\nHuman:"]}`
)

func client(srv *upstreamtest.AnthropicServer) *Client {
	return &Client{BaseURL: srv.URL, APIKey: "sk-ant-test"}
}

func TestInvoke(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		version    string
		reply      upstreamtest.AnthropicReply
		wantPath   string
		wantBody   string // the body the upstream received
		wantHeader map[string]string
		wantReply  string
		wantTokens [2]int
	}{
		{
			name: "messages body goes to /v1/messages with the model and without Bedrock's members", body: messagesBody,
			reply:      upstreamtest.AnthropicReply{Text: "Rome.", InputTokens: 12, OutputTokens: 3},
			wantPath:   "/v1/messages",
			wantBody:   `{"max_tokens":16,"messages":[{"role":"user","content":[{"type":"text","text":"<hi>"}]}],"model":"claude-3-haiku-20240307"}`,
			wantHeader: map[string]string{"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "anthropic-beta": "b1,b2", "Content-Type": "application/json"},
			wantReply:  `{"content":[{"text":"Rome.","type":"text"}],"id":"msg_upstreamtest","model":"claude-3-haiku-20240307","role":"assistant","stop_reason":"end_turn","stop_sequence":null,"type":"message","usage":{"input_tokens":12,"output_tokens":3}}`,
			wantTokens: [2]int{12, 3},
		},
		{
			name: "text completions body goes to /v1/complete and has no token counts", body: completeBody, version: "2023-01-01",
			reply:      upstreamtest.AnthropicReply{Text: " Hi."},
			wantPath:   "/v1/complete",
			wantBody:   `{"max_tokens_to_sample":16,"model":"claude-3-haiku-20240307","prompt":"\n\nHuman: hi\n\nAssistant:","stop_sequences":["\n\nHuman:"]}`,
			wantHeader: map[string]string{"anthropic-version": "2023-01-01", "anthropic-beta": ""},
			wantReply:  `{"completion":" Hi.","id":"compl_upstreamtest","model":"claude-3-haiku-20240307","stop":"\n\nHuman:","stop_reason":"stop_sequence","type":"completion"}`,
			wantTokens: [2]int{-1, -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewAnthropic(t, tt.reply)
			c := client(srv)
			c.Version = tt.version
			resp, err := c.Invoke(context.Background(), transport.Request{Model: "claude-3-haiku-20240307", Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(resp.Body)); got != tt.wantReply {
				t.Errorf("reply:\n%s\nwant:\n%s", got, tt.wantReply)
			}
			if resp.InputTokens != tt.wantTokens[0] || resp.OutputTokens != tt.wantTokens[1] || resp.ContentType != "application/json" {
				t.Errorf("tokens %d/%d type %q, want %v", resp.InputTokens, resp.OutputTokens, resp.ContentType, tt.wantTokens)
			}
			if srv.LastPath() != tt.wantPath || string(srv.LastRequest()) != tt.wantBody {
				t.Errorf("upstream saw %s %s\nwant %s %s", srv.LastPath(), srv.LastRequest(), tt.wantPath, tt.wantBody)
			}
			h := srv.LastHeader()
			for k, v := range tt.wantHeader {
				if h.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
				}
			}
		})
	}
}

func TestInvokeErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		reply   upstreamtest.AnthropicReply
		timeout time.Duration
		cancel  bool
		check   func(t *testing.T, err error)
	}{
		{"429 is a StatusError with Anthropic's message", messagesBody, upstreamtest.AnthropicReply{Status: 429, Message: "Number of request tokens has exceeded your rate limit"}, 0, false, func(t *testing.T, err error) {
			var se *transport.StatusError
			if !errors.As(err, &se) || se.StatusCode != 429 || se.Message != "Number of request tokens has exceeded your rate limit" || !strings.Contains(string(se.Body), "rate_limit_error") {
				t.Errorf("error = %#v", err)
			}
		}},
		{"529 overloaded is a StatusError", messagesBody, upstreamtest.AnthropicReply{Status: 529}, 0, false, func(t *testing.T, err error) {
			var se *transport.StatusError
			if !errors.As(err, &se) || se.StatusCode != 529 || se.Message != "Overloaded" {
				t.Errorf("error = %#v", err)
			}
		}},
		{"500 is a StatusError", completeBody, upstreamtest.AnthropicReply{Status: 500}, 0, false, func(t *testing.T, err error) {
			var se *transport.StatusError
			if !errors.As(err, &se) || se.StatusCode != 500 {
				t.Errorf("error = %#v", err)
			}
		}},
		{"a slow upstream is ErrTimeout", messagesBody, upstreamtest.AnthropicReply{Hang: true}, 50 * time.Millisecond, false, func(t *testing.T, err error) {
			if !errors.Is(err, transport.ErrTimeout) {
				t.Errorf("error = %v, want ErrTimeout", err)
			}
		}},
		{"cancelling ctx is context.Canceled", messagesBody, upstreamtest.AnthropicReply{Hang: true}, 0, true, func(t *testing.T, err error) {
			if !errors.Is(err, context.Canceled) || errors.Is(err, transport.ErrTimeout) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewAnthropic(t, tt.reply)
			c := client(srv)
			c.Timeout = tt.timeout
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				go func() {
					for srv.Requests() == 0 {
						time.Sleep(time.Millisecond)
					}
					cancel()
				}()
			}
			_, err := c.Invoke(ctx, transport.Request{Model: "m", Body: []byte(tt.body)})
			tt.check(t, err)
			if tt.reply.Hang {
				waitCancelled(t, srv)
			}
		})
	}
}

func TestInvokeRejectsBodiesThatAreNotClaude(t *testing.T) {
	for _, body := range []string{`[1]`, `{"inputText":"hi"}`, `{"messages":[],"anthropic_beta":5}`} {
		t.Run(body, func(t *testing.T) {
			srv := upstreamtest.NewAnthropic(t)
			if _, err := client(srv).Invoke(context.Background(), transport.Request{Model: "m", Body: []byte(body)}); err == nil {
				t.Error("Invoke succeeded")
			}
			if srv.Requests() != 0 {
				t.Error("the body was sent")
			}
		})
	}
}

func waitCancelled(t *testing.T, srv *upstreamtest.AnthropicServer) {
	t.Helper()
	select {
	case <-srv.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream call was not cancelled")
	}
}

// collect ranges over a whole stream.
func collect(seq func(func([]byte, error) bool)) (chunks []string, err error) {
	for c, e := range seq {
		if e != nil {
			return chunks, e
		}
		chunks = append(chunks, string(c))
	}
	return chunks, nil
}

func metricsOf(t *testing.T, chunk string) metrics {
	t.Helper()
	var v struct {
		M *metrics `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal([]byte(chunk), &v); err != nil || v.M == nil {
		t.Fatalf("chunk %s has no invocation metrics (%v)", chunk, err)
	}
	return *v.M
}

func TestInvokeStream(t *testing.T) {
	t.Run("messages events become chunks and message_stop carries the metrics", func(t *testing.T) {
		srv := upstreamtest.NewAnthropic(t, upstreamtest.AnthropicReply{Text: "Rome.", Chunks: 2, InputTokens: 31, OutputTokens: 4})
		seq, err := client(srv).InvokeStream(context.Background(), transport.Request{Model: "m", Body: []byte(messagesBody)})
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := collect(seq)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, c := range chunks {
			var v struct{ Type string }
			json.Unmarshal([]byte(c), &v)
			types = append(types, v.Type)
		}
		if got := strings.Join(types, " "); got != "message_start content_block_start content_block_delta content_block_delta content_block_stop message_delta message_stop" {
			t.Errorf("chunk types = %s", got)
		}
		if !strings.HasPrefix(chunks[len(chunks)-1], `{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":31,"outputTokenCount":4,`) {
			t.Errorf("last chunk = %s", chunks[len(chunks)-1])
		}
		if m := metricsOf(t, chunks[len(chunks)-1]); m.FirstByteLatency < 1 || m.InvocationLatency < 0 {
			t.Errorf("metrics = %+v", m)
		}
		if !strings.Contains(string(srv.LastRequest()), `"stream":true`) {
			t.Errorf("upstream body %s does not ask for a stream", srv.LastRequest())
		}
	})
	t.Run("completion events become chunks and the stopping one carries the metrics", func(t *testing.T) {
		srv := upstreamtest.NewAnthropic(t, upstreamtest.AnthropicReply{Text: " Hi.", Chunks: 2})
		seq, err := client(srv).InvokeStream(context.Background(), transport.Request{Model: "m", Body: []byte(completeBody)})
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := collect(seq)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) != 3 || !strings.Contains(chunks[2], `"stop_reason":"stop_sequence"`) {
			t.Fatalf("chunks = %q", chunks)
		}
		if m := metricsOf(t, chunks[2]); m.InputTokenCount != 0 || m.OutputTokenCount != 0 {
			t.Errorf("metrics = %+v", m)
		}
		if srv.LastPath() != "/v1/complete" {
			t.Errorf("path = %s", srv.LastPath())
		}
	})
}

func TestInvokeStreamErrors(t *testing.T) {
	tests := []struct {
		name    string
		reply   upstreamtest.AnthropicReply
		timeout time.Duration
		before  bool // the error comes from InvokeStream, not the sequence
		check   func(t *testing.T, err error)
	}{
		{"429 before the stream is a StatusError", upstreamtest.AnthropicReply{Status: 429}, 0, true, func(t *testing.T, err error) {
			var se *transport.StatusError
			if !errors.As(err, &se) || se.StatusCode != 429 {
				t.Errorf("error = %#v", err)
			}
		}},
		{"an error event is a StatusError with its status and message", upstreamtest.AnthropicReply{Text: "a", StreamError: "Overloaded"}, 0, false, func(t *testing.T, err error) {
			var se *transport.StatusError
			if !errors.As(err, &se) || se.StatusCode != 529 || se.Message != "Overloaded" {
				t.Errorf("error = %#v", err)
			}
		}},
		{"a connection cut mid-stream is an error", upstreamtest.AnthropicReply{Text: "abc", Chunks: 3, CutAfter: 4}, 0, false, func(t *testing.T, err error) {
			var se *transport.StatusError
			if err == nil || errors.As(err, &se) {
				t.Errorf("error = %v, want a read error", err)
			}
		}},
		{"a stream that stalls is ErrTimeout", upstreamtest.AnthropicReply{Text: "abc", Hang: true}, 50 * time.Millisecond, false, func(t *testing.T, err error) {
			if !errors.Is(err, transport.ErrTimeout) {
				t.Errorf("error = %v, want ErrTimeout", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewAnthropic(t, tt.reply)
			c := client(srv)
			c.Timeout = tt.timeout
			seq, err := c.InvokeStream(context.Background(), transport.Request{Model: "m", Body: []byte(messagesBody)})
			if tt.before {
				tt.check(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = collect(seq)
			tt.check(t, err)
		})
	}
}

func TestInvokeStreamCancellationReachesUpstream(t *testing.T) {
	t.Run("breaking out of the range", func(t *testing.T) {
		srv := upstreamtest.NewAnthropic(t, upstreamtest.AnthropicReply{Text: "abc", Hang: true})
		seq, err := client(srv).InvokeStream(context.Background(), transport.Request{Model: "m", Body: []byte(messagesBody)})
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		waitCancelled(t, srv)
	})
	t.Run("cancelling ctx mid-stream", func(t *testing.T) {
		srv := upstreamtest.NewAnthropic(t, upstreamtest.AnthropicReply{Text: "abc", Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		seq, err := client(srv).InvokeStream(ctx, transport.Request{Model: "m", Body: []byte(messagesBody)})
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
			t.Errorf("error = %v, want context.Canceled", last)
		}
		waitCancelled(t, srv)
	})
}

func TestWithMetrics(t *testing.T) {
	m := metrics{InputTokenCount: 1, OutputTokenCount: 2, InvocationLatency: 3, FirstByteLatency: 4}
	const want = `"amazon-bedrock-invocationMetrics":{"inputTokenCount":1,"outputTokenCount":2,"invocationLatency":3,"firstByteLatency":4}`
	tests := []struct{ name, in, want string }{
		{"member appended", `{"type":"message_stop"}`, `{"type":"message_stop",` + want + `}`},
		{"empty object", ` { } `, `{` + want + `}`},
		{"not an object is unchanged", `[1]`, `[1]`},
		{"not JSON is unchanged", `{"type":`, `{"type":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(withMetrics([]byte(tt.in), m)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func FuzzEvents(f *testing.F) {
	f.Add([]byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Add([]byte("event: ping\r\ndata: {}\r\n\r\n:comment\ndata: a\ndata: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for ev, err := range transport.SSE(bytes.NewReader(data), transport.MaxEventBytes) {
			if err != nil {
				return
			}
			withMetrics(ev.Data, metrics{InputTokenCount: 1})
		}
	})
}
