package wire_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

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

// streamOf yields evs, then err if non-nil.
func streamOf(evs []converse.StreamEvent, err error) iter.Seq2[converse.StreamEvent, error] {
	return func(yield func(converse.StreamEvent, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
		if err != nil {
			yield(converse.StreamEvent{}, err)
		}
	}
}

func str(s string) *string { return &s }

func TestConverseStreamEvents(t *testing.T) {
	evs := []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.Delta{Text: str("Hel")}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.Delta{Text: str("lo <b>&")}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 0}},
		{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 1, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseStart{ToolUseID: "tooluse_1", Name: "get_weather"}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: converse.Delta{ToolUse: &converse.ToolUseDelta{Input: `{"city":`}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: converse.Delta{ToolUse: &converse.ToolUseDelta{Input: `"Paris"}`}}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 1}},
		{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopToolUse}},
		{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 10, OutputTokens: 7, TotalTokens: 17}}},
	}
	b := &fakeBackend{stream: func(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
		return streamOf(evs, nil), nil
	}}
	srv := newServer(t, wire.Options{Router: serveBackend(b)})
	out, err := newClient(srv, nil).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"), Messages: userText("Weather?"),
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()

	var types_ []string
	var text, toolInput strings.Builder
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			types_ = append(types_, "messageStart")
			if v.Value.Role != types.ConversationRoleAssistant {
				t.Errorf("role = %q", v.Value.Role)
			}
		case *types.ConverseStreamOutputMemberContentBlockStart:
			types_ = append(types_, "contentBlockStart")
			tu, ok := v.Value.Start.(*types.ContentBlockStartMemberToolUse)
			if !ok || *tu.Value.ToolUseId != "tooluse_1" || *tu.Value.Name != "get_weather" || *v.Value.ContentBlockIndex != 1 {
				t.Errorf("start = %#v", v.Value.Start)
			}
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			types_ = append(types_, "contentBlockDelta")
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				text.WriteString(d.Value)
			case *types.ContentBlockDeltaMemberToolUse:
				toolInput.WriteString(*d.Value.Input)
			default:
				t.Errorf("delta %T", d)
			}
		case *types.ConverseStreamOutputMemberContentBlockStop:
			types_ = append(types_, "contentBlockStop")
		case *types.ConverseStreamOutputMemberMessageStop:
			types_ = append(types_, "messageStop")
			if v.Value.StopReason != types.StopReasonToolUse {
				t.Errorf("stopReason = %q", v.Value.StopReason)
			}
		case *types.ConverseStreamOutputMemberMetadata:
			types_ = append(types_, "metadata")
			if *v.Value.Usage.TotalTokens != 17 {
				t.Errorf("totalTokens = %d", *v.Value.Usage.TotalTokens)
			}
			if *v.Value.Metrics.LatencyMs < 1 {
				t.Errorf("latencyMs not filled: %d", *v.Value.Metrics.LatencyMs)
			}
		default:
			t.Errorf("unexpected event %T", ev)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "contentBlockStart",
		"contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
	if !slices.Equal(types_, want) {
		t.Errorf("events\n got %v\nwant %v", types_, want)
	}
	if text.String() != "Hello <b>&" || toolInput.String() != `{"city":"Paris"}` {
		t.Errorf("text %q, tool input %q", text.String(), toolInput.String())
	}
}

// as reports whether err holds an error of type T, and returns it.
func as[T error](err error) (T, bool) { return errors.AsType[T](err) }

func TestErrorKindsReachTheSDKTyped(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		check  func(t *testing.T, err error)
	}{
		{"validation", converse.Errorf(converse.KindValidation, converse.MsgInvalidModelID), 400, "ValidationException", nil},
		{"access denied", converse.Errorf(converse.KindAccessDenied, converse.MsgAccessDenied), 403, "AccessDeniedException", nil},
		{"resource not found", converse.Errorf(converse.KindResourceNotFound, "Model not found."), 404, "ResourceNotFoundException", nil},
		{"throttling", converse.Errorf(converse.KindThrottling, converse.MsgThrottled), 429, "ThrottlingException", nil},
		{"service quota exceeded", converse.Errorf(converse.KindServiceQuotaExceeded, "Quota exceeded."), 400, "ServiceQuotaExceededException", nil},
		{"model timeout", converse.Errorf(converse.KindModelTimeout, "Model has timed out in processing the request."), 408, "ModelTimeoutException", nil},
		{"model error carries the original status and resource",
			&converse.Error{Kind: converse.KindModelError, Message: "upstream failed", OriginalStatusCode: 502, ResourceName: "claude"},
			424, "ModelErrorException", func(t *testing.T, err error) {
				e, ok := as[*types.ModelErrorException](err)
				if !ok || e.OriginalStatusCode == nil || *e.OriginalStatusCode != 502 || aws.ToString(e.ResourceName) != "claude" {
					t.Errorf("ModelErrorException = %#v", e)
				}
			}},
		{"model stream error carries the original status and message",
			&converse.Error{Kind: converse.KindModelStreamError, Message: "stream failed", OriginalStatusCode: 500, OriginalMessage: "overloaded"},
			424, "ModelStreamErrorException", func(t *testing.T, err error) {
				e, ok := as[*types.ModelStreamErrorException](err)
				if !ok || e.OriginalStatusCode == nil || *e.OriginalStatusCode != 500 || aws.ToString(e.OriginalMessage) != "overloaded" {
					t.Errorf("ModelStreamErrorException = %#v", e)
				}
			}},
		{"model not ready", converse.Errorf(converse.KindModelNotReady, "Model is not ready."), 429, "ModelNotReadyException", nil},
		{"service unavailable", converse.Errorf(converse.KindServiceUnavailable, "Service unavailable."), 503, "ServiceUnavailableException", nil},
		{"internal server", converse.Errorf(converse.KindInternalServer, converse.MsgInternal), 500, "InternalServerException", nil},
		{"a plain Go error hides its text behind the generic message", errors.New("secret upstream detail"), 500, "InternalServerException",
			func(t *testing.T, err error) {
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("internal detail leaked: %v", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{converse: func(context.Context, *converse.Request) (*converse.Response, error) { return nil, tt.err }}
			srv := newServer(t, wire.Options{Router: serveBackend(b)})
			_, err := newClient(srv, nil).Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("m"), Messages: userText("hi")})
			checkAPIError(t, err, tt.status, tt.code)
			want := converse.MsgInternal
			if e, ok := tt.err.(*converse.Error); ok {
				want = e.Message
			}
			if ae, _ := as[smithy.APIError](err); ae != nil && ae.ErrorMessage() != want {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

// checkAPIError checks that err is a typed SDK error of the given code and
// HTTP status, with the request id the server sent.
func checkAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	ae, ok := as[smithy.APIError](err)
	if !ok {
		t.Fatalf("err = %v (%T), want an API error", err, err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("code = %q, want %q", ae.ErrorCode(), code)
	}
	if _, generic := as[*smithy.GenericAPIError](err); generic && code != "UnknownOperationException" {
		t.Errorf("%s arrived as a generic API error, want the modeled type", code)
	}
	re, ok := as[*awshttp.ResponseError](err)
	if !ok {
		t.Fatalf("no HTTP response error in %v", err)
	}
	if re.HTTPStatusCode() != status {
		t.Errorf("status = %d, want %d", re.HTTPStatusCode(), status)
	}
	if len(re.ServiceRequestID()) != 36 {
		t.Errorf("request id = %q", re.ServiceRequestID())
	}
}

func TestRouterErrorsAnswerBeforeTheStream(t *testing.T) {
	srv := newServer(t, wire.Options{Router: routerFunc(func(string) (converse.Backend, converse.Features, error) {
		return nil, converse.Features{}, converse.Errorf(converse.KindValidation, converse.MsgInvalidModelID)
	})})
	c := newClient(srv, nil)
	_, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("no.such-model"), Messages: userText("hi")})
	checkAPIError(t, err, 400, "ValidationException")
	if ae, _ := as[smithy.APIError](err); ae.ErrorMessage() != converse.MsgInvalidModelID {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	_, err = c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("no.such-model"), Messages: userText("hi")})
	checkAPIError(t, err, 400, "ValidationException")
}

func TestStreamFailingAfterTwoEvents(t *testing.T) {
	two := []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.Delta{Text: str("Hi")}}},
	}
	tests := []struct {
		name  string
		err   error
		check func(t *testing.T, err error)
	}{
		{"throttling becomes throttlingException", converse.Errorf(converse.KindThrottling, converse.MsgThrottled), func(t *testing.T, err error) {
			if e, ok := as[*types.ThrottlingException](err); !ok || e.ErrorMessage() != converse.MsgThrottled {
				t.Errorf("err = %#v", err)
			}
		}},
		{"validation becomes validationException", converse.Errorf(converse.KindValidation, "The model returned the following errors: Input is too long for requested model."), func(t *testing.T, err error) {
			if _, ok := as[*types.ValidationException](err); !ok {
				t.Errorf("err = %#v", err)
			}
		}},
		{"model error becomes modelStreamErrorException with the original status", &converse.Error{Kind: converse.KindModelError, Message: "model failed", OriginalStatusCode: 529, OriginalMessage: "Overloaded"}, func(t *testing.T, err error) {
			e, ok := as[*types.ModelStreamErrorException](err)
			if !ok || e.OriginalStatusCode == nil || *e.OriginalStatusCode != 529 || aws.ToString(e.OriginalMessage) != "Overloaded" {
				t.Errorf("err = %#v", err)
			}
		}},
		{"model timeout becomes modelStreamErrorException with 408", converse.Errorf(converse.KindModelTimeout, "timed out"), func(t *testing.T, err error) {
			e, ok := as[*types.ModelStreamErrorException](err)
			if !ok || e.OriginalStatusCode == nil || *e.OriginalStatusCode != 408 {
				t.Errorf("err = %#v", err)
			}
		}},
		{"access denied becomes validationException", converse.Errorf(converse.KindAccessDenied, converse.MsgAccessDenied), func(t *testing.T, err error) {
			if _, ok := as[*types.ValidationException](err); !ok {
				t.Errorf("err = %#v", err)
			}
		}},
		{"model not ready becomes serviceUnavailableException", converse.Errorf(converse.KindModelNotReady, "not ready"), func(t *testing.T, err error) {
			if _, ok := as[*types.ServiceUnavailableException](err); !ok {
				t.Errorf("err = %#v", err)
			}
		}},
		{"a plain Go error becomes internalServerException", errors.New("secret upstream detail"), func(t *testing.T, err error) {
			if e, ok := as[*types.InternalServerException](err); !ok || e.ErrorMessage() != converse.MsgInternal {
				t.Errorf("err = %#v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{stream: func(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
				return streamOf(two, tt.err), nil
			}}
			srv := newServer(t, wire.Options{Router: serveBackend(b)})
			out, err := newClient(srv, nil).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: userText("hi")})
			if err != nil {
				t.Fatal(err)
			}
			stream := out.GetStream()
			defer stream.Close()
			n := 0
			for range stream.Events() {
				n++
			}
			if n != 2 {
				t.Errorf("got %d events before the exception, want 2", n)
			}
			tt.check(t, stream.Err())
		})
	}
}

func TestClientGoneMidStreamCancelsBackend(t *testing.T) {
	var (
		mu        sync.Mutex
		cancelled bool
		stopped   bool // the handler stopped ranging when asked for more
	)
	done := make(chan struct{})
	b := &fakeBackend{stream: func(ctx context.Context, _ *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
		return func(yield func(converse.StreamEvent, error) bool) {
			defer close(done)
			if !yield(converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}}, nil) {
				return
			}
			if !yield(converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.Delta{Text: str("Hi")}}}, nil) {
				return
			}
			<-ctx.Done() // an upstream waiting for its next token
			more := yield(converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{}}, nil)
			mu.Lock()
			cancelled, stopped = true, !more
			mu.Unlock()
		}, nil
	}}
	srv := newServer(t, wire.Options{Router: serveBackend(b)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := newClient(srv, nil).ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: userText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	events := stream.Events()
	for range 2 {
		if _, ok := <-events; !ok {
			t.Fatalf("stream ended early: %v", stream.Err())
		}
	}
	cancel()
	stream.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("backend sequence never saw the client leave")
	}
	mu.Lock()
	defer mu.Unlock()
	if !cancelled || !stopped {
		t.Errorf("cancelled = %v, stopped ranging = %v; want both", cancelled, stopped)
	}
}

func TestMalformedAndOversizeBodies(t *testing.T) {
	tests := []struct {
		name    string
		maxBody int64
		replace func([]byte) []byte
		message string
	}{
		{"unparseable JSON", 0, func([]byte) []byte { return []byte(`{"messages":[`) },
			"Malformed input request, please reformat your input and try again."},
		{"wrong JSON type for a member", 0, func([]byte) []byte { return []byte(`{"messages":"hello"}`) },
			"Malformed input request, please reformat your input and try again."},
		{"top level is not an object", 0, func([]byte) []byte { return []byte(`[1,2]`) },
			"Malformed input request, please reformat your input and try again."},
		{"body over the limit", 64, nil,
			"The request body exceeds the maximum size of 64 bytes. Reduce the size of the request and try again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			b := &fakeBackend{converse: func(context.Context, *converse.Request) (*converse.Response, error) {
				called = true
				return textReply("no"), nil
			}}
			srv := newServer(t, wire.Options{Router: serveBackend(b), MaxBodyBytes: tt.maxBody})
			_, err := newClient(srv, tt.replace).Converse(context.Background(), &bedrockruntime.ConverseInput{
				ModelId: aws.String("m"), Messages: userText(strings.Repeat("long text ", 20)),
			})
			checkAPIError(t, err, 400, "ValidationException")
			if ae, _ := as[smithy.APIError](err); ae.ErrorMessage() != tt.message {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), tt.message)
			}
			if called {
				t.Error("the backend was called")
			}
		})
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

func TestUnknownOperation(t *testing.T) {
	srv := newServer(t, wire.Options{Router: serveBackend(&fakeBackend{})})
	t.Run("an operation not served yet reaches the SDK as UnknownOperationException", func(t *testing.T) {
		_, err := newClient(srv, nil).CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
			ModelId: aws.String("m"), Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: userText("hi")}},
		})
		checkAPIError(t, err, 404, "UnknownOperationException")
	})
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/"},
		{http.MethodGet, "/model/m/converse"},
		{http.MethodPost, "/model/m/no-such-op"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 404 {
				t.Errorf("status = %d", resp.StatusCode)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != "UnknownOperationException:http://internal.amazon.com/coral/com.amazon.bedrock/" {
				t.Errorf("x-amzn-ErrorType = %q", got)
			}
			if !strings.HasPrefix(string(body), `{"message":"`) {
				t.Errorf("body = %s", body)
			}
		})
	}
}

func TestErrorResponseWireFormat(t *testing.T) {
	srv := newServer(t, wire.Options{Router: routerFunc(func(string) (converse.Backend, converse.Features, error) {
		return nil, converse.Features{}, converse.Errorf(converse.KindValidation, converse.MsgInvalidModelID)
	})})
	tests := []struct {
		name        string
		contentType string
		want        string
	}{
		{"invalid model id, exactly as Bedrock sends it", "application/json", `{"message":"The provided model identifier is invalid."}`},
		{"charset parameter is ignored", "application/json; charset=utf-8", `{"message":"The provided model identifier is invalid."}`},
		{"non-JSON content type is rejected", "text/plain", `{"message":"The request Content-Type must be application/json."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := srv.Client().Post(srv.URL+"/model/nope/converse", tt.contentType, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 400 || string(body) != tt.want {
				t.Errorf("got %d %s, want 400 %s", resp.StatusCode, body, tt.want)
			}
			for name, want := range map[string]string{
				"X-Amzn-Errortype": "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
				"Content-Type":     "application/json",
			} {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
				t.Errorf("Date: %v", err)
			}
			if len(resp.Header.Get("X-Amzn-Requestid")) != 36 {
				t.Errorf("x-amzn-RequestId = %q", resp.Header.Get("X-Amzn-Requestid"))
			}
		})
	}
}

func TestModelIDLength(t *testing.T) {
	b := &fakeBackend{converse: func(context.Context, *converse.Request) (*converse.Response, error) { return textReply("ok"), nil }}
	srv := newServer(t, wire.Options{Router: serveBackend(b)})
	c := newClient(srv, nil)
	_, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(strings.Repeat("a", 2048)), Messages: userText("hi")})
	if err != nil {
		t.Fatalf("2048 characters: %v", err)
	}
	_, err = c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(strings.Repeat("a", 2049)), Messages: userText("hi")})
	checkAPIError(t, err, 400, "ValidationException")
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

func TestH2C(t *testing.T) {
	var protos sync.Map
	b := &fakeBackend{
		converse: func(context.Context, *converse.Request) (*converse.Response, error) {
			return textReply("over h2c"), nil
		},
		stream: func(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
			return streamOf(converse.Events(textReply("over h2c")), nil), nil
		},
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	h := wire.NewHandler(wire.Options{Router: serveBackend(b), Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		h.ServeHTTP(w, r)
	}))
	srv.Config.Protocols = &p
	srv.Start()
	defer srv.Close()

	var cp http.Protocols
	cp.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &cp}
	defer tr.CloseIdleConnections()
	c := bedrockruntime.New(bedrockruntime.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:  bufferedBody(&http.Client{Transport: tr}, nil),
	})
	out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("m"), Messages: userText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if msg := out.Output.(*types.ConverseOutputMemberMessage); msg.Value.Content[0].(*types.ContentBlockMemberText).Value != "over h2c" {
		t.Errorf("content = %#v", msg.Value.Content)
	}
	sout, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: userText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range sout.GetStream().Events() {
		n++
	}
	if err := sout.GetStream().Err(); err != nil {
		t.Fatal(err)
	}
	sout.GetStream().Close()
	if n != 5 {
		t.Errorf("got %d events, want 5", n)
	}
	if _, ok := protos.Load("HTTP/2.0"); !ok {
		t.Error("no request arrived over HTTP/2")
	}
	if _, ok := protos.Load("HTTP/1.1"); ok {
		t.Error("a request arrived over HTTP/1.1")
	}
}

func TestValidationRunsBeforeTheBackend(t *testing.T) {
	called := false
	b := &fakeBackend{
		converse: func(context.Context, *converse.Request) (*converse.Response, error) {
			called = true
			return textReply("no"), nil
		},
		stream: func(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
			called = true
			return streamOf(nil, nil), nil
		},
	}
	noStream := converse.AllFeatures
	noStream.Stream = false
	srv := newServer(t, wire.Options{Router: routerFunc(func(string) (converse.Backend, converse.Features, error) { return b, noStream, nil })})
	c := newClient(srv, nil)
	assistantFirst := []types.Message{{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}}
	_, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("m"), Messages: assistantFirst})
	checkAPIError(t, err, 400, "ValidationException")
	if ae, _ := as[smithy.APIError](err); ae.ErrorMessage() != "A conversation must start with a user message. Try again with a conversation that starts with a user message." {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	// The stream flag reaches Validate: this model cannot stream.
	_, err = c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: userText("hi")})
	checkAPIError(t, err, 400, "ValidationException")
	if called {
		t.Error("the backend was called")
	}
}
