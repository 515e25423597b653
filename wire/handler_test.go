package wire_test

import (
	"bytes"
	"context"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/wire"
)

// fakeBackend is a function-field stand-in for a model backend.
type fakeBackend struct {
	converse func(ctx context.Context, req *converse.Request) (*converse.Response, error)
	stream   func(ctx context.Context, req *converse.Request) (iter.Seq2[converse.StreamEvent, error], error)
}

func (b *fakeBackend) Converse(ctx context.Context, req *converse.Request) (*converse.Response, error) {
	return b.converse(ctx, req)
}

func (b *fakeBackend) ConverseStream(ctx context.Context, req *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
	return b.stream(ctx, req)
}

// routerFunc adapts a function to wire.Router.
type routerFunc func(modelID string) (converse.Backend, converse.Features, error)

func (f routerFunc) Route(modelID string) (converse.Backend, converse.Features, error) {
	return f(modelID)
}

// serveBackend routes every model ID to b.
func serveBackend(b *fakeBackend) wire.Router {
	return routerFunc(func(string) (converse.Backend, converse.Features, error) { return b, converse.AllFeatures, nil })
}

// newServer serves wire.NewHandler on 127.0.0.1 and closes it (waiting for
// every handler) when the test ends.
func newServer(t *testing.T, o wire.Options) *httptest.Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	srv := httptest.NewServer(wire.NewHandler(o))
	t.Cleanup(srv.Close)
	return srv
}

// doerFunc adapts a function to the SDK's HTTPClient.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// bufferedBody hands the transport an in-memory copy of the request body,
// optionally replaced: it sidesteps a known SDK client race (aws-sdk-go-v2
// #1825, #2737) and lets tests send bodies the SDK would not.
func bufferedBody(c *http.Client, replace func([]byte) []byte) doerFunc {
	return func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			r.Body.Close()
			if err != nil {
				return nil, err
			}
			body = b
		}
		if replace != nil {
			body = replace(body)
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		return c.Do(r)
	}
}

// newClient returns the real SDK client pointed at srv, without retries so
// that throttling and 5xx answers reach the test as they are.
func newClient(srv *httptest.Server, replace func([]byte) []byte) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       bufferedBody(srv.Client(), replace),
	})
}

func userText(s string) []types.Message {
	return []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: s}}}}
}

func textReply(s string) *converse.Response {
	return &converse.Response{
		Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(s)}}},
		StopReason: converse.StopEndTurn,
		Usage:      converse.Usage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5},
	}
}

func TestConverseRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		modelID string
	}{
		{"base model id with a colon reaches the router unescaped", "anthropic.claude-3-haiku-20240307-v1:0"},
		{"inference-profile id", "us.anthropic.claude-3-5-haiku-20241022-v1:0"},
		{"inference-profile ARN with a slash stays one model id",
			"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var routed string
			var got *converse.Request
			b := &fakeBackend{converse: func(_ context.Context, req *converse.Request) (*converse.Response, error) {
				got = req
				return textReply("Hi there"), nil
			}}
			srv := newServer(t, wire.Options{Router: routerFunc(func(id string) (converse.Backend, converse.Features, error) {
				routed = id
				return b, converse.AllFeatures, nil
			})})
			out, err := newClient(srv, nil).Converse(context.Background(), &bedrockruntime.ConverseInput{
				ModelId:         aws.String(tt.modelID),
				Messages:        userText("Hello"),
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(100)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if routed != tt.modelID || got.ModelID != tt.modelID {
				t.Errorf("router got %q, backend got %q, want %q", routed, got.ModelID, tt.modelID)
			}
			if len(got.Messages) != 1 || got.Messages[0].Content[0].Text == nil || *got.Messages[0].Content[0].Text != "Hello" {
				t.Errorf("backend got messages %+v", got.Messages)
			}
			if got.InferenceConfig == nil || got.InferenceConfig.MaxTokens == nil || *got.InferenceConfig.MaxTokens != 100 {
				t.Errorf("backend got inferenceConfig %+v", got.InferenceConfig)
			}
			msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
			if !ok {
				t.Fatalf("output is %T", out.Output)
			}
			if text, ok := msg.Value.Content[0].(*types.ContentBlockMemberText); !ok || text.Value != "Hi there" {
				t.Errorf("content = %#v", msg.Value.Content)
			}
			if out.StopReason != types.StopReasonEndTurn {
				t.Errorf("stopReason = %q", out.StopReason)
			}
			if u := out.Usage; *u.InputTokens != 3 || *u.OutputTokens != 2 || *u.TotalTokens != 5 {
				t.Errorf("usage = %d/%d/%d", *u.InputTokens, *u.OutputTokens, *u.TotalTokens)
			}
			if out.Metrics == nil || *out.Metrics.LatencyMs < 1 {
				t.Errorf("latencyMs not filled: %+v", out.Metrics)
			}
			if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || len(id) != 36 {
				t.Errorf("request id = %q", id)
			}
		})
	}
}

func TestConverseKeepsBackendLatency(t *testing.T) {
	b := &fakeBackend{converse: func(context.Context, *converse.Request) (*converse.Response, error) {
		r := textReply("ok")
		r.Metrics.LatencyMs = 1234 // reported by the upstream
		return r, nil
	}}
	srv := newServer(t, wire.Options{Router: serveBackend(b)})
	out, err := newClient(srv, nil).Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("m"), Messages: userText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Metrics.LatencyMs != 1234 {
		t.Errorf("latencyMs = %d, want the backend's 1234", *out.Metrics.LatencyMs)
	}
}

func TestUnknownMembersAreIgnored(t *testing.T) {
	var got *converse.Request
	b := &fakeBackend{converse: func(_ context.Context, req *converse.Request) (*converse.Response, error) {
		got = req
		return textReply("ok"), nil
	}}
	srv := newServer(t, wire.Options{Router: serveBackend(b)})
	addField := func(body []byte) []byte {
		return append([]byte(`{"someFutureMember":{"x":[1]},`), body[1:]...)
	}
	if _, err := newClient(srv, addField).Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("m"), Messages: userText("hi")}); err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 {
		t.Errorf("messages = %+v", got.Messages)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAccessLog(t *testing.T) {
	const secret = "my-private-prompt-text"
	b := &fakeBackend{
		converse: func(context.Context, *converse.Request) (*converse.Response, error) {
			return textReply("private-reply"), nil
		},
		stream: func(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
			return streamOf(converse.Events(textReply("private-reply")), nil), nil
		},
	}
	for _, logContent := range []bool{false, true} {
		name := "request content is never logged"
		if logContent {
			name = "request content is logged only on opt-in"
		}
		t.Run(name, func(t *testing.T) {
			var logs syncBuffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			srv := newServer(t, wire.Options{Router: serveBackend(b), Logger: logger, LogContent: logContent})
			c := newClient(srv, nil)
			if _, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("m:0"), Messages: userText(secret)}); err != nil {
				t.Fatal(err)
			}
			out, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m:0"), Messages: userText(secret)})
			if err != nil {
				t.Fatal(err)
			}
			for range out.GetStream().Events() {
			}
			out.GetStream().Close()
			srv.Close() // wait for the handlers, and so for their log lines
			got := logs.String()
			for _, want := range []string{`"operation":"Converse"`, `"operation":"ConverseStream"`, `"model_id":"m:0"`, `"status":200`, `"events":5`} {
				if !strings.Contains(got, want) {
					t.Errorf("log lacks %s:\n%s", want, got)
				}
			}
			for _, s := range []string{secret, "private-reply"} {
				if strings.Contains(got, s) != logContent {
					t.Errorf("log contains %q = %v, want %v:\n%s", s, !logContent, logContent, got)
				}
			}
		})
	}
}
