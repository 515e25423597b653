package wire_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/wire"
)

// fakeInvoker is a function-field stand-in for converse.Invoker.
type fakeInvoker struct {
	invoke func(ctx context.Context, req *converse.InvokeRequest) (*converse.InvokeResponse, error)
	stream func(ctx context.Context, req *converse.InvokeRequest) (iter.Seq2[[]byte, error], error)
}

func (f *fakeInvoker) Invoke(ctx context.Context, req *converse.InvokeRequest) (*converse.InvokeResponse, error) {
	return f.invoke(ctx, req)
}

func (f *fakeInvoker) InvokeStream(ctx context.Context, req *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
	return f.stream(ctx, req)
}

// invokeRouterFunc adapts a function to wire.InvokeRouter.
type invokeRouterFunc func(modelID string) (converse.Invoker, error)

func (f invokeRouterFunc) RouteInvoke(modelID string) (converse.Invoker, error) { return f(modelID) }

// newInvokeServer serves the handler with every model routed to inv for
// InvokeModel, and no model for Converse.
func newInvokeServer(t *testing.T, inv converse.Invoker, o wire.Options) *bedrockruntime.Client {
	t.Helper()
	o.Router = serveBackend(&fakeBackend{})
	o.InvokeRouter = invokeRouterFunc(func(string) (converse.Invoker, error) { return inv, nil })
	return newClient(newServer(t, o), nil)
}

// chunksOf yields chunks, then err if non-nil.
func chunksOf(chunks []string, err error) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for _, c := range chunks {
			if !yield([]byte(c), nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

const nativeBody = `{"prompt":"<s>[INST] Capital of France? [/INST]","max_gen_len":64}`

func TestInvokeModelRoundTrip(t *testing.T) {
	tests := []struct {
		name        string
		in          bedrockruntime.InvokeModelInput
		want        converse.InvokeRequest
		resp        converse.InvokeResponse
		wantType    string
		wantHeaders map[string]string // "" means absent
	}{
		{
			name: "every request header reaches the invoker and token counts become headers",
			in: bedrockruntime.InvokeModelInput{
				ModelId: aws.String("meta.llama3-8b-instruct-v1:0"), Body: []byte(nativeBody),
				ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
				Trace: types.TraceEnabled, GuardrailIdentifier: aws.String("abc123"), GuardrailVersion: aws.String("DRAFT"),
				PerformanceConfigLatency: types.PerformanceConfigLatencyOptimized,
			},
			want: converse.InvokeRequest{
				ModelID: "meta.llama3-8b-instruct-v1:0", Body: []byte(nativeBody), ContentType: "application/json", Accept: "application/json",
				Trace: "ENABLED", GuardrailIdentifier: "abc123", GuardrailVersion: "DRAFT", PerformanceLatency: "optimized",
			},
			resp:     converse.InvokeResponse{Body: []byte(`{"generation":"Paris."}`), ContentType: "application/json", InputTokens: 12, OutputTokens: 3, LatencyMs: 321},
			wantType: "application/json",
			wantHeaders: map[string]string{
				"X-Amzn-Bedrock-Input-Token-Count": "12", "X-Amzn-Bedrock-Output-Token-Count": "3", "X-Amzn-Bedrock-Invocation-Latency": "321",
			},
		},
		{
			name: "unknown token counts are left out and the content type defaults to JSON",
			in: bedrockruntime.InvokeModelInput{
				ModelId: aws.String("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0"), Body: []byte(`{}`),
			},
			want: converse.InvokeRequest{
				ModelID: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0", Body: []byte(`{}`),
				ContentType: "application/octet-stream", // the Go SDK's default (§1.4)
			},
			resp:        converse.InvokeResponse{Body: []byte(`{"generation":""}`), InputTokens: -1, OutputTokens: -1},
			wantType:    "application/json",
			wantHeaders: map[string]string{"X-Amzn-Bedrock-Input-Token-Count": "", "X-Amzn-Bedrock-Output-Token-Count": ""},
		},
		{
			name:     "the model's content type and bytes go out as they are",
			in:       bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: []byte(`{"x":1}`), Accept: aws.String("image/png")},
			want:     converse.InvokeRequest{ModelID: "m", Body: []byte(`{"x":1}`), ContentType: "application/octet-stream", Accept: "image/png"},
			resp:     converse.InvokeResponse{Body: []byte("\x89PNG\r\n\x1a\n\x00"), ContentType: "image/png"},
			wantType: "image/png",
			wantHeaders: map[string]string{
				"X-Amzn-Bedrock-Input-Token-Count": "0", "X-Amzn-Bedrock-Output-Token-Count": "0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *converse.InvokeRequest
			c := newInvokeServer(t, &fakeInvoker{invoke: func(_ context.Context, req *converse.InvokeRequest) (*converse.InvokeResponse, error) {
				got = req
				r := tt.resp
				return &r, nil
			}}, wire.Options{})
			out, err := c.InvokeModel(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.ModelID != tt.want.ModelID || !bytes.Equal(got.Body, tt.want.Body) || got.ContentType != tt.want.ContentType ||
				got.Accept != tt.want.Accept || got.Trace != tt.want.Trace || got.GuardrailIdentifier != tt.want.GuardrailIdentifier ||
				got.GuardrailVersion != tt.want.GuardrailVersion || got.PerformanceLatency != tt.want.PerformanceLatency {
				t.Errorf("invoker got\n%+v\nwant\n%+v", got, tt.want)
			}
			if !bytes.Equal(out.Body, tt.resp.Body) || aws.ToString(out.ContentType) != tt.wantType {
				t.Errorf("body %q type %q, want %q %q", out.Body, aws.ToString(out.ContentType), tt.resp.Body, tt.wantType)
			}
			h := responseHeader(t, out.ResultMetadata)
			for k, want := range tt.wantHeaders {
				if v, ok := h[http.CanonicalHeaderKey(k)]; strings.Join(v, ",") != want || (want == "") == ok {
					t.Errorf("%s = %q (present %v), want %q", k, v, ok, want)
				}
			}
			if lat := h.Get("X-Amzn-Bedrock-Invocation-Latency"); lat == "" || lat == "0" {
				t.Errorf("invocation latency = %q, want a measured one", lat)
			}
			if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || len(id) != 36 {
				t.Errorf("request id = %q", id)
			}
		})
	}
}

// responseHeader returns the HTTP headers of the response behind an SDK
// output.
func responseHeader(t *testing.T, md middleware.Metadata) http.Header {
	t.Helper()
	raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok {
		t.Fatal("no raw response in the result metadata")
	}
	return raw.Header
}

func TestInvokeModelMeasuresLatencyTheInvokerLeftOut(t *testing.T) {
	c := newInvokeServer(t, &fakeInvoker{invoke: func(context.Context, *converse.InvokeRequest) (*converse.InvokeResponse, error) {
		return &converse.InvokeResponse{Body: []byte(`{}`), InputTokens: -1, OutputTokens: -1}, nil
	}}, wire.Options{Now: steppingClock(5 * time.Millisecond)})
	out, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if lat := responseHeader(t, out.ResultMetadata).Get("X-Amzn-Bedrock-Invocation-Latency"); lat != "5" {
		t.Errorf("invocation latency = %q, want the measured 5", lat)
	}
}

// steppingClock returns a clock that advances by step at every reading.
func steppingClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

func TestInvokeModelRejects(t *testing.T) {
	const malformed = "Malformed input request, please reformat your input and try again."
	tests := []struct {
		name    string
		in      bedrockruntime.InvokeModelInput
		message string
	}{
		{"unparseable JSON", bedrockruntime.InvokeModelInput{Body: []byte(`{"prompt":`)}, malformed},
		{"a JSON array", bedrockruntime.InvokeModelInput{Body: []byte(`[1,2]`)}, malformed},
		{"a JSON string", bedrockruntime.InvokeModelInput{Body: []byte(`"hello"`)}, malformed},
		{"JSON null", bedrockruntime.InvokeModelInput{Body: []byte(`null`)}, malformed},
		{"an empty body", bedrockruntime.InvokeModelInput{}, malformed},
		{"a content type that is not JSON", bedrockruntime.InvokeModelInput{Body: []byte(`{}`), ContentType: aws.String("text/plain")},
			"The request Content-Type must be application/json."},
		{"a trace outside its enum", bedrockruntime.InvokeModelInput{Body: []byte(`{}`), Trace: "ON"},
			"1 validation error detected: Value 'ON' at 'trace' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_FULL]"},
		{"a latency outside its enum", bedrockruntime.InvokeModelInput{Body: []byte(`{}`), PerformanceConfigLatency: "fast"},
			"1 validation error detected: Value 'fast' at 'performanceConfigLatency' failed to satisfy constraint: Member must satisfy enum value set: [standard, optimized]"},
		{"guardrail identifier and version off their patterns", bedrockruntime.InvokeModelInput{Body: []byte(`{}`), GuardrailIdentifier: aws.String("My-Guardrail"), GuardrailVersion: aws.String("0")},
			"2 validation errors detected: Value 'My-Guardrail' at 'guardrailIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+)); " +
				"Value '0' at 'guardrailVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (|([1-9][0-9]{0,7})|(DRAFT))"},
		{"guardrail identifier without a version", bedrockruntime.InvokeModelInput{Body: []byte(`{}`), GuardrailIdentifier: aws.String("abc123")},
			"A guardrail version is required when a guardrail identifier is specified. Set the X-Amzn-Bedrock-GuardrailVersion header and try again."},
		{"guardrail config in the body without an identifier", bedrockruntime.InvokeModelInput{Body: []byte(`{"prompt":"hi","amazon-bedrock-guardrailConfig":{"streamProcessingMode":"sync"}}`)},
			"The request body contains amazon-bedrock-guardrailConfig, but no guardrail identifier was specified. Set the X-Amzn-Bedrock-GuardrailIdentifier header and try again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			inv := &fakeInvoker{
				invoke: func(context.Context, *converse.InvokeRequest) (*converse.InvokeResponse, error) {
					called = true
					return &converse.InvokeResponse{Body: []byte(`{}`)}, nil
				},
				stream: func(context.Context, *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
					called = true
					return chunksOf(nil, nil), nil
				},
			}
			c := newInvokeServer(t, inv, wire.Options{})
			in := tt.in
			in.ModelId = aws.String("m")
			_, err := c.InvokeModel(context.Background(), &in)
			checkAPIError(t, err, 400, "ValidationException")
			if ae, _ := errors.AsType[smithy.APIError](err); ae.ErrorMessage() != tt.message {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), tt.message)
			}
			_, err = c.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
				ModelId: in.ModelId, Body: in.Body, ContentType: in.ContentType, Trace: in.Trace, PerformanceConfigLatency: in.PerformanceConfigLatency,
				GuardrailIdentifier: in.GuardrailIdentifier, GuardrailVersion: in.GuardrailVersion,
			})
			checkAPIError(t, err, 400, "ValidationException")
			if ae, _ := errors.AsType[smithy.APIError](err); ae.ErrorMessage() != tt.message {
				t.Errorf("stream: message = %q, want %q", ae.ErrorMessage(), tt.message)
			}
			if called {
				t.Error("the invoker was called")
			}
		})
	}
}

// TestInvokeModelContentTypes sends raw requests: SDKs always set a
// Content-Type, boto3 without a contentType does not (§1.4).
func TestInvokeModelContentTypes(t *testing.T) {
	tests := []struct {
		name        string
		contentType string // "-" sends none
		status      int
	}{
		{"no content type is JSON", "-", 200},
		{"application/octet-stream is JSON", "application/octet-stream", 200},
		{"application/json with a charset", "application/json; charset=utf-8", 200},
		{"text/plain is refused", "text/plain", 400},
		{"an unparseable content type is refused", "application/", 400},
	}
	inv := &fakeInvoker{invoke: func(context.Context, *converse.InvokeRequest) (*converse.InvokeResponse, error) {
		return &converse.InvokeResponse{Body: []byte(`{"ok":true}`), InputTokens: -1, OutputTokens: -1}, nil
	}}
	srv := newServer(t, wire.Options{Router: serveBackend(&fakeBackend{}), InvokeRouter: invokeRouterFunc(func(string) (converse.Invoker, error) { return inv, nil })})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/model/m/invoke", strings.NewReader(`{"prompt":"hi"}`))
			if tt.contentType != "-" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
		})
	}
}

func TestInvokeModelBodyLimit(t *testing.T) {
	inv := &fakeInvoker{invoke: func(_ context.Context, req *converse.InvokeRequest) (*converse.InvokeResponse, error) {
		return &converse.InvokeResponse{Body: []byte(`{}`)}, nil
	}}
	c := newInvokeServer(t, inv, wire.Options{})
	pad := func(n int) []byte {
		b := bytes.Repeat([]byte(" "), n)
		b[0], b[1], b[n-1] = '{', '}', ' '
		return b
	}
	if _, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: pad(25_000_000)}); err != nil {
		t.Errorf("a body of exactly 25,000,000 bytes: %v", err)
	}
	_, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: pad(25_000_001)})
	checkAPIError(t, err, 400, "ValidationException")
	const want = "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 25000000"
	if ae, _ := errors.AsType[smithy.APIError](err); ae.ErrorMessage() != want {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
}

func TestInvokeErrorsReachTheSDKTyped(t *testing.T) {
	tests := []struct {
		name   string
		route  error
		invoke error
		status int
		code   string
	}{
		{"router refuses the model id", converse.Errorf(converse.KindValidation, converse.MsgInvalidModelID), nil, 400, "ValidationException"},
		{"router denies access", converse.Errorf(converse.KindAccessDenied, converse.MsgAccessDenied), nil, 403, "AccessDeniedException"},
		{"invoker is throttled", nil, converse.Errorf(converse.KindThrottling, converse.MsgThrottled), 429, "ThrottlingException"},
		{"invoker timed out", nil, converse.Errorf(converse.KindModelTimeout, "Model has timed out in processing the request. Try your request again."), 408, "ModelTimeoutException"},
		{"invoker's model failed", nil, &converse.Error{Kind: converse.KindModelError, Message: "boom", OriginalStatusCode: 500, ResourceName: "m"}, 424, "ModelErrorException"},
		{"a bug in the invoker", nil, errors.New("nil map"), 500, "InternalServerException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &fakeInvoker{
				invoke: func(context.Context, *converse.InvokeRequest) (*converse.InvokeResponse, error) {
					return nil, tt.invoke
				},
				stream: func(context.Context, *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
					return nil, tt.invoke
				},
			}
			srv := newServer(t, wire.Options{Router: serveBackend(&fakeBackend{}), InvokeRouter: invokeRouterFunc(func(string) (converse.Invoker, error) {
				if tt.route != nil {
					return nil, tt.route
				}
				return inv, nil
			})})
			c := newClient(srv, nil)
			_, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
			checkAPIError(t, err, tt.status, tt.code)
			if me, ok := errors.AsType[*types.ModelErrorException](err); ok && (aws.ToInt32(me.OriginalStatusCode) != 500 || aws.ToString(me.ResourceName) != "m") {
				t.Errorf("model error members = %v %v", me.OriginalStatusCode, me.ResourceName)
			}
			_, err = c.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
			checkAPIError(t, err, tt.status, tt.code)
		})
	}
}

func TestInvokeWithoutInvokeRouterIsUnknown(t *testing.T) {
	c := newClient(newServer(t, wire.Options{Router: serveBackend(&fakeBackend{})}), nil)
	_, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
	checkAPIError(t, err, 404, "UnknownOperationException")
	_, err = c.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
	checkAPIError(t, err, 404, "UnknownOperationException")
}

func TestInvokeStreamChunks(t *testing.T) {
	chunks := []string{
		`{"generation":"Par","prompt_token_count":12,"generation_token_count":1,"stop_reason":null}`,
		`{"generation":"is <b>&é","prompt_token_count":null,"generation_token_count":2,"stop_reason":null}`,
		`{"generation":"","generation_token_count":3,"stop_reason":"stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":3,"invocationLatency":200,"firstByteLatency":100}}`,
	}
	var got *converse.InvokeRequest
	c := newInvokeServer(t, &fakeInvoker{stream: func(_ context.Context, req *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
		got = req
		return chunksOf(chunks, nil), nil
	}}, wire.Options{})
	out, err := c.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String("meta.llama3-8b-instruct-v1:0"), Body: []byte(nativeBody), Accept: aws.String("application/json"),
		ContentType: aws.String("application/json"), Trace: types.TraceDisabled,
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var gotChunks []string
	for ev := range stream.Events() {
		chunk, ok := ev.(*types.ResponseStreamMemberChunk)
		if !ok {
			t.Fatalf("event %T", ev)
		}
		gotChunks = append(gotChunks, string(chunk.Value.Bytes))
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(gotChunks, "\n") != strings.Join(chunks, "\n") {
		t.Errorf("chunks\n got %q\nwant %q", gotChunks, chunks)
	}
	if aws.ToString(out.ContentType) != "application/json" {
		t.Errorf("X-Amzn-Bedrock-Content-Type = %q", aws.ToString(out.ContentType))
	}
	if got.Accept != "application/json" || got.Trace != "DISABLED" || string(got.Body) != nativeBody || got.ModelID != "meta.llama3-8b-instruct-v1:0" {
		t.Errorf("invoker got %+v", got)
	}
}

func TestInvokeStreamFailingAfterAChunk(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		check func(t *testing.T, err error)
	}{
		{"throttling becomes throttlingException", converse.Errorf(converse.KindThrottling, converse.MsgThrottled), func(t *testing.T, err error) {
			if e, ok := errors.AsType[*types.ThrottlingException](err); !ok || e.ErrorMessage() != converse.MsgThrottled {
				t.Errorf("err = %#v", err)
			}
		}},
		{"a timeout keeps its own member, modelTimeoutException", converse.Errorf(converse.KindModelTimeout, "Model has timed out in processing the request. Try your request again."), func(t *testing.T, err error) {
			if _, ok := errors.AsType[*types.ModelTimeoutException](err); !ok {
				t.Errorf("err = %#v", err)
			}
		}},
		{"a model stream error carries its original status", &converse.Error{Kind: converse.KindModelStreamError, Message: "The model stream ended unexpectedly.", OriginalStatusCode: 200, OriginalMessage: "reset"}, func(t *testing.T, err error) {
			e, ok := errors.AsType[*types.ModelStreamErrorException](err)
			if !ok || aws.ToInt32(e.OriginalStatusCode) != 200 || aws.ToString(e.OriginalMessage) != "reset" {
				t.Errorf("err = %#v", err)
			}
		}},
		{"a bug becomes internalServerException", errors.New("nil map"), func(t *testing.T, err error) {
			if e, ok := errors.AsType[*types.InternalServerException](err); !ok || e.ErrorMessage() != converse.MsgInternal {
				t.Errorf("err = %#v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newInvokeServer(t, &fakeInvoker{stream: func(context.Context, *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
				return chunksOf([]string{`{"generation":"Hi"}`}, tt.err), nil
			}}, wire.Options{})
			out, err := c.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			stream := out.GetStream()
			defer stream.Close()
			n := 0
			for range stream.Events() {
				n++
			}
			if n != 1 {
				t.Errorf("%d chunks before the exception, want 1", n)
			}
			tt.check(t, stream.Err())
		})
	}
}

func TestClientGoneMidInvokeStreamCancelsInvoker(t *testing.T) {
	var (
		mu        sync.Mutex
		cancelled bool
		stopped   bool
	)
	done := make(chan struct{})
	c := newInvokeServer(t, &fakeInvoker{stream: func(ctx context.Context, _ *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
		return func(yield func([]byte, error) bool) {
			defer close(done)
			if !yield([]byte(`{"generation":"Hi"}`), nil) {
				return
			}
			<-ctx.Done() // an upstream waiting for its next token
			more := yield([]byte(`{"generation":"!"}`), nil)
			mu.Lock()
			cancelled, stopped = true, !more
			mu.Unlock()
		}, nil
	}}, wire.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := c.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	if _, ok := <-stream.Events(); !ok {
		t.Fatalf("stream ended early: %v", stream.Err())
	}
	cancel()
	stream.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("invoker sequence never saw the client leave")
	}
	mu.Lock()
	defer mu.Unlock()
	if !cancelled || !stopped {
		t.Errorf("cancelled = %v, stopped ranging = %v; want both", cancelled, stopped)
	}
}

func TestInvokeAccessLog(t *testing.T) {
	const secret = "my-private-prompt-text"
	inv := &fakeInvoker{
		invoke: func(context.Context, *converse.InvokeRequest) (*converse.InvokeResponse, error) {
			return &converse.InvokeResponse{Body: []byte(`{"generation":"private-reply"}`), InputTokens: 1, OutputTokens: 1}, nil
		},
		stream: func(context.Context, *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
			return chunksOf([]string{`{"generation":"private-reply"}`, `{"generation":""}`}, nil), nil
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
			srv := newServer(t, wire.Options{Router: serveBackend(&fakeBackend{}), Logger: logger, LogContent: logContent,
				InvokeRouter: invokeRouterFunc(func(string) (converse.Invoker, error) { return inv, nil })})
			c := newClient(srv, nil)
			body := []byte(`{"prompt":"` + secret + `"}`)
			if _, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("m:0"), Body: body}); err != nil {
				t.Fatal(err)
			}
			out, err := c.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String("m:0"), Body: body})
			if err != nil {
				t.Fatal(err)
			}
			for range out.GetStream().Events() {
			}
			out.GetStream().Close()
			srv.Close() // wait for the handlers, and so for their log lines
			got := logs.String()
			for _, want := range []string{`"operation":"InvokeModel"`, `"operation":"InvokeModelWithResponseStream"`, `"model_id":"m:0"`, `"status":200`, `"events":2`} {
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
