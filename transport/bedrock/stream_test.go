package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/upstreamtest"
)

var llamaChunks = [][]byte{
	[]byte(`{"generation":"Par","prompt_token_count":12,"generation_token_count":1,"stop_reason":null}`),
	[]byte(`{"generation":"is.","prompt_token_count":null,"generation_token_count":2,"stop_reason":null}`),
	[]byte(`{"generation":"","prompt_token_count":null,"generation_token_count":3,"stop_reason":"stop"}`),
}

// collect ranges over seq, returning the chunks and the error that ended it.
func collect(seq func(func([]byte, error) bool)) ([]string, error) {
	var chunks []string
	for c, err := range seq {
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, string(c))
	}
	return chunks, nil
}

func TestInvokeStream(t *testing.T) {
	srv := upstreamtest.NewBedrock(t, upstreamtest.BedrockReply{Chunks: llamaChunks, InputTokens: 12, OutputTokens: 3, LatencyMs: 90})
	seq, err := newClient(t, srv, 0).InvokeStream(context.Background(), transport.Request{Model: "meta.llama3-8b-instruct-v1:0", Body: []byte(llamaBody)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := collect(seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != string(llamaChunks[0]) || got[1] != string(llamaChunks[1]) {
		t.Fatalf("chunks = %q", got)
	}
	var last struct {
		StopReason string `json:"stop_reason"`
		Metrics    struct {
			InputTokenCount, OutputTokenCount int
		} `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal([]byte(got[2]), &last); err != nil || last.StopReason != "stop" || last.Metrics.InputTokenCount != 12 || last.Metrics.OutputTokenCount != 3 {
		t.Errorf("last chunk = %s", got[2])
	}
	req := srv.LastRequest()
	if req.Operation != "InvokeModelWithResponseStream" || req.Header.Get("X-Amzn-Bedrock-Accept") != "application/json" || string(req.Body) != llamaBody {
		t.Errorf("upstream saw %s accept %q body %s", req.Operation, req.Header.Get("X-Amzn-Bedrock-Accept"), req.Body)
	}
}

func TestInvokeStreamErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     upstreamtest.BedrockReply
		timeout   time.Duration
		preStream bool // the error comes from InvokeStream itself
		chunks    int  // chunks before the error
		check     func(*testing.T, error)
		gone      bool
	}{
		{name: "429 before the stream is a typed ThrottlingException", preStream: true,
			reply: upstreamtest.BedrockReply{Exception: "ThrottlingException", Message: "Too many requests, please wait before trying again."},
			check: statusCheck(429, "ThrottlingException", "Too many requests, please wait before trying again.")},
		{name: "503 before the stream is a typed ServiceUnavailableException", preStream: true,
			reply: upstreamtest.BedrockReply{Exception: "ServiceUnavailableException", Message: "Bedrock is unable to process your request."},
			check: statusCheck(503, "ServiceUnavailableException", "Bedrock is unable to process your request.")},
		{name: "an in-stream throttlingException carries its modeled status", chunks: 2,
			reply: upstreamtest.BedrockReply{Chunks: llamaChunks[:2], NoMetrics: true, StreamException: "throttlingException", Message: "Too many tokens, please wait before trying again."},
			check: statusCheck(429, "ThrottlingException", "Too many tokens, please wait before trying again.")},
		{name: "an in-stream modelStreamErrorException keeps its original status", chunks: 1,
			reply: upstreamtest.BedrockReply{Chunks: llamaChunks[:1], NoMetrics: true, StreamException: "modelStreamErrorException", Message: "The model stream ended unexpectedly.", OriginalStatusCode: 500, OriginalMessage: "overloaded"},
			check: func(t *testing.T, err error) {
				statusCheck(424, "ModelStreamErrorException", "The model stream ended unexpectedly.")(t, err)
				se, _ := errors.AsType[*transport.StatusError](err)
				if !strings.Contains(string(se.Body), `"originalStatusCode":500`) || !strings.Contains(string(se.Body), `"originalMessage":"overloaded"`) {
					t.Errorf("body = %s", se.Body)
				}
			}},
		{name: "an in-stream modelTimeoutException", chunks: 0,
			reply: upstreamtest.BedrockReply{Chunks: [][]byte{}, StreamException: "modelTimeoutException", Message: "Model has timed out in processing the request. Try your request again."},
			check: statusCheck(408, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again.")},
		{name: "a stream cut mid-way ends with a read error", chunks: 1,
			reply: upstreamtest.BedrockReply{Chunks: llamaChunks, CutAfter: 1},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrTruncated) {
					t.Errorf("err = %v, want ErrTruncated", err)
				}
			}},
		{name: "a stream ending without Bedrock's closing metrics is truncated", chunks: 2,
			reply: upstreamtest.BedrockReply{Chunks: llamaChunks[:2], NoMetrics: true},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrTruncated) {
					t.Errorf("err = %v, want ErrTruncated", err)
				}
			}},
		{name: "an upstream that stops sending times out", chunks: 1, timeout: 200 * time.Millisecond,
			reply: upstreamtest.BedrockReply{Chunks: llamaChunks, Hang: true, HangAfter: 1},
			check: isTimeout, gone: true},
		{name: "an upstream that never answers times out", preStream: true, timeout: 100 * time.Millisecond,
			reply: upstreamtest.BedrockReply{Hang: true},
			check: isTimeout, gone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewBedrock(t, tt.reply)
			seq, err := newClient(t, srv, tt.timeout).InvokeStream(context.Background(), transport.Request{Model: "m", Body: []byte(llamaBody)})
			if tt.preStream {
				if seq != nil {
					t.Error("a sequence came with the error")
				}
				tt.check(t, err)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got, err := collect(seq)
				if len(got) != tt.chunks {
					t.Errorf("%d chunks before the error, want %d", len(got), tt.chunks)
				}
				tt.check(t, err)
			}
			if tt.gone {
				waitCancelled(t, srv)
			}
		})
	}
}

func TestInvokeStreamEndsTheUpstreamCall(t *testing.T) {
	tests := []struct {
		name string
		stop func(cancel context.CancelFunc) bool // called after the first chunk; true: stop ranging
	}{
		{"breaking out of the range", func(context.CancelFunc) bool { return true }},
		{"cancelling the caller's context", func(cancel context.CancelFunc) bool { cancel(); return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewBedrock(t, upstreamtest.BedrockReply{Chunks: llamaChunks, Hang: true, HangAfter: 1})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seq, err := newClient(t, srv, 0).InvokeStream(ctx, transport.Request{Model: "m", Body: []byte(llamaBody)})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			var last error
			for _, err := range seq {
				if err != nil {
					last = err
					break
				}
				n++
				if tt.stop(cancel) {
					break
				}
			}
			if n != 1 {
				t.Errorf("%d chunks, want 1", n)
			}
			if last != nil && !errors.Is(last, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", last)
			}
			waitCancelled(t, srv)
		})
	}
}

func TestInvokeStreamIsReadOnce(t *testing.T) {
	srv := upstreamtest.NewBedrock(t)
	seq, err := newClient(t, srv, 0).InvokeStream(context.Background(), transport.Request{Model: "m", Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(seq); err != nil {
		t.Fatal(err)
	}
	if _, err := collect(seq); err == nil {
		t.Error("a second range succeeded")
	}
}
