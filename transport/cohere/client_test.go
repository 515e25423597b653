package cohere_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/cohere"
	"github.com/converse-project/converse/upstreamtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const body = `{"preamble":"You are a terse geography tutor.","chat_history":[{"role":"USER","message":"Capital of France?"},{"role":"CHATBOT","message":"Paris."}],"message":"And Italy?","max_tokens":64}`

func client(srv *upstreamtest.CohereServer) *cohere.Client {
	return &cohere.Client{BaseURL: srv.URL, APIKey: upstreamtest.CohereKey, Timeout: 5 * time.Second}
}

func request(b string) transport.Request {
	return transport.Request{Model: "command-r", Body: []byte(b)}
}

// sent decodes the body the fake received.
func sent(t *testing.T, srv *upstreamtest.CohereServer) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(srv.LastRequest(), &m); err != nil {
		t.Fatalf("request body: %v", err)
	}
	return m
}

func TestInvokeSendsTheBodyWithTheModel(t *testing.T) {
	srv := upstreamtest.NewCohere(t, upstreamtest.CohereReply{Text: "Rome.", InputTokens: 31, OutputTokens: 2})
	resp, err := client(srv).Invoke(context.Background(), request(body))
	if err != nil {
		t.Fatal(err)
	}
	m := sent(t, srv)
	if string(m["model"]) != `"command-r"` || m["stream"] != nil || string(m["message"]) != `"And Italy?"` || string(m["max_tokens"]) != "64" {
		t.Errorf("sent %s", srv.LastRequest())
	}
	var r struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(resp.Body, &r); r.Text != "Rome." {
		t.Errorf("body %s", resp.Body)
	}
	if resp.InputTokens != 31 || resp.OutputTokens != 2 || resp.ContentType != "application/json" {
		t.Errorf("response %+v", resp)
	}
}

func TestInvokeRefuses(t *testing.T) {
	tests := []struct {
		name   string
		reply  upstreamtest.CohereReply
		req    transport.Request
		status int
		msg    string
		called bool
	}{
		{"a generate body", upstreamtest.CohereReply{}, request(`{"prompt":"Capital of France?","max_tokens":64}`), 400, cohere.MsgGenerateUnavailable, false},
		{"a body that is not JSON", upstreamtest.CohereReply{}, request(`{`), 400, "Malformed input request, please reformat your input and try again.", false},
		{"throttling", upstreamtest.CohereReply{Status: 429, Message: "You are using a Trial key"}, request(body), 429, "You are using a Trial key", true},
		{"a server error", upstreamtest.CohereReply{Status: 503}, request(body), 503, "Service Unavailable", true},
		{"a request Cohere rejects", upstreamtest.CohereReply{}, request(`{"message":"hi","chat_history":[{"role":"BOT","message":"x"}]}`), 400, "invalid request: chat_history[0].role", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewCohere(t, tt.reply)
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					srv.Reply(tt.reply)
					_, err = client(srv).InvokeStream(context.Background(), tt.req)
				} else {
					_, err = client(srv).Invoke(context.Background(), tt.req)
				}
				var se *transport.StatusError
				if !errors.As(err, &se) || se.StatusCode != tt.status || !strings.HasPrefix(se.Message, tt.msg) {
					t.Errorf("stream %v: error %v (%+v), want %d %q", stream, err, se, tt.status, tt.msg)
				}
			}
			if called := srv.Requests() > 0; called != tt.called {
				t.Errorf("Cohere called: %v, want %v", called, tt.called)
			}
		})
	}
}

func TestInvokeTimesOut(t *testing.T) {
	srv := upstreamtest.NewCohere(t, upstreamtest.CohereReply{Hang: true})
	c := client(srv)
	c.Timeout = 50 * time.Millisecond
	_, err := c.Invoke(context.Background(), request(body))
	if !errors.Is(err, transport.ErrTimeout) {
		t.Fatalf("error %v, want a timeout", err)
	}
	<-srv.Cancelled()
}

// collect reads a whole chunk sequence.
func collect(seq iter.Seq2[[]byte, error]) ([]string, error) {
	var chunks []string
	for c, err := range seq {
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, string(c))
	}
	return chunks, nil
}

func eventType(t *testing.T, chunk string) string {
	t.Helper()
	var ev struct {
		EventType string `json:"event_type"`
	}
	if err := json.Unmarshal([]byte(chunk), &ev); err != nil {
		t.Fatalf("chunk %s: %v", chunk, err)
	}
	return ev.EventType
}

// acceptSSE makes the client's requests accept server-sent events, as a
// proxy in front of Cohere might.
type acceptSSE struct{}

func (acceptSSE) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "text/event-stream")
	return http.DefaultTransport.RoundTrip(r)
}

func TestInvokeStreamYieldsBedrockChunks(t *testing.T) {
	tests := []struct {
		name  string
		reply upstreamtest.CohereReply
		sse   bool
		want  string
	}{
		{"text", upstreamtest.CohereReply{Text: "Rome.", Chunks: 2, InputTokens: 31, OutputTokens: 2}, false, "stream-start text-generation text-generation stream-end"},
		{"text over SSE", upstreamtest.CohereReply{Text: "Rome.", InputTokens: 31, OutputTokens: 2}, true, "stream-start text-generation stream-end"},
		{"tool calls, without Cohere's incremental chunks", upstreamtest.CohereReply{Text: "Plan.", ToolCalls: []upstreamtest.CohereToolCall{{Name: "f", Parameters: `{"a":1}`}}, InputTokens: 31, OutputTokens: 2},
			false, "stream-start tool-calls-generation stream-end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewCohere(t, tt.reply)
			c := client(srv)
			if tt.sse {
				c.HTTPClient = &http.Client{Transport: acceptSSE{}}
			}
			seq, err := c.InvokeStream(context.Background(), request(body))
			if err != nil {
				t.Fatal(err)
			}
			chunks, err := collect(seq)
			if err != nil {
				t.Fatal(err)
			}
			if string(sent(t, srv)["stream"]) != "true" {
				t.Errorf("sent %s", srv.LastRequest())
			}
			var types []string
			for _, c := range chunks {
				types = append(types, eventType(t, c))
			}
			if got := strings.Join(types, " "); got != tt.want {
				t.Errorf("events %s, want %s", got, tt.want)
			}
			var last struct {
				M *struct {
					In  int `json:"inputTokenCount"`
					Out int `json:"outputTokenCount"`
				} `json:"amazon-bedrock-invocationMetrics"`
				FinishReason string `json:"finish_reason"`
			}
			json.Unmarshal([]byte(chunks[len(chunks)-1]), &last)
			if last.M == nil || last.M.In != 31 || last.M.Out != 2 || last.FinishReason != "COMPLETE" {
				t.Errorf("last chunk %s", chunks[len(chunks)-1])
			}
		})
	}
}

func TestInvokeStreamFailures(t *testing.T) {
	tests := []struct {
		name    string
		reply   upstreamtest.CohereReply
		timeout time.Duration
		want    func(error) bool
	}{
		{"a stream cut mid-way", upstreamtest.CohereReply{Text: "Rome.", Chunks: 3, CutAfter: 2}, 0, func(err error) bool { return err != nil && !errors.Is(err, transport.ErrTimeout) }},
		{"an event that is not JSON", upstreamtest.CohereReply{Text: "Rome.", Malformed: true}, 0, func(err error) bool { return err != nil && strings.Contains(err.Error(), "not JSON") }},
		{"a stalled stream", upstreamtest.CohereReply{Text: "Rome.", Hang: true}, 100 * time.Millisecond, func(err error) bool { return errors.Is(err, transport.ErrTimeout) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewCohere(t, tt.reply)
			c := client(srv)
			if tt.timeout > 0 {
				c.Timeout = tt.timeout
			}
			seq, err := c.InvokeStream(context.Background(), request(body))
			if err != nil {
				t.Fatal(err)
			}
			chunks, err := collect(seq)
			if !tt.want(err) {
				t.Errorf("error %v after %d chunks", err, len(chunks))
			}
		})
	}
}

func TestInvokeStreamStopsTheUpstream(t *testing.T) {
	t.Run("early break", func(t *testing.T) {
		srv := upstreamtest.NewCohere(t, upstreamtest.CohereReply{Text: "Rome.", Hang: true})
		seq, err := client(srv).InvokeStream(context.Background(), request(body))
		if err != nil {
			t.Fatal(err)
		}
		for range seq {
			break
		}
		<-srv.Cancelled()
	})
	t.Run("ctx cancellation", func(t *testing.T) {
		srv := upstreamtest.NewCohere(t, upstreamtest.CohereReply{Text: "Rome.", Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		seq, err := client(srv).InvokeStream(ctx, request(body))
		if err != nil {
			t.Fatal(err)
		}
		var last error
		for _, err := range seq {
			if err != nil {
				last = err
				break
			}
			cancel() // after the first chunk
		}
		if !errors.Is(last, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", last)
		}
		<-srv.Cancelled()
	})
}

// TestCommandRThroughCohere runs Converse requests through the Command R
// codec, this client and the fake: the codec's body is one Cohere takes,
// and the chunks the client yields decode into the answer.
func TestCommandRThroughCohere(t *testing.T) {
	req := &converse.Request{
		System:   []converse.SystemBlock{{Text: ptr("You are a terse geography tutor.")}},
		Messages: []converse.Message{text(converse.RoleUser, "Weather in Rome?")},
		ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "get_weather", Description: ptr("Weather."),
			InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}}}},
	}
	reply := upstreamtest.CohereReply{Text: "I will check.", ToolCalls: []upstreamtest.CohereToolCall{{Name: "get_weather", Parameters: `{"city":"Rome"}`}}, InputTokens: 20, OutputTokens: 9}
	srv := upstreamtest.NewCohere(t, reply, reply)
	nativeBody, err := codec.CohereCommandR{}.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client(srv).Invoke(context.Background(), transport.Request{Model: "command-r", Body: nativeBody})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := codec.CohereCommandR{}.Response(req, out.Body)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := client(srv).InvokeStream(context.Background(), transport.Request{Model: "command-r", Body: nativeBody})
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := converse.Collect(func(yield func(converse.StreamEvent, error) bool) {
		dec := codec.CohereCommandR{}.NewStream(req)
		emit := func(evs []converse.StreamEvent, err error) bool {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return false
				}
			}
			if err != nil {
				yield(converse.StreamEvent{}, err)
				return false
			}
			return true
		}
		for chunk, err := range seq {
			if err != nil {
				yield(converse.StreamEvent{}, err)
				return
			}
			if !emit(dec.Next(chunk)) {
				return
			}
		}
		emit(dec.End())
	})
	if err != nil {
		t.Fatal(err)
	}
	streamed.Metrics = whole.Metrics // the latency is the stream's own
	a, _ := json.Marshal(whole)
	b, _ := json.Marshal(streamed)
	if string(a) != string(b) {
		t.Errorf("streamed:\n%s\nwhole:\n%s", b, a)
	}
	if whole.StopReason != converse.StopToolUse || whole.Usage.TotalTokens != 29 {
		t.Errorf("answer %s", a)
	}
}

func ptr[T any](v T) *T { return &v }

func text(role converse.Role, s string) converse.Message {
	return converse.Message{Role: role, Content: []converse.Block{converse.TextBlock(s)}}
}
