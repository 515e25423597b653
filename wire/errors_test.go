package wire_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/wire"
)

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
				e, ok := errors.AsType[*types.ModelErrorException](err)
				if !ok || e.OriginalStatusCode == nil || *e.OriginalStatusCode != 502 || aws.ToString(e.ResourceName) != "claude" {
					t.Errorf("ModelErrorException = %#v", e)
				}
			}},
		{"model stream error carries the original status and message",
			&converse.Error{Kind: converse.KindModelStreamError, Message: "stream failed", OriginalStatusCode: 500, OriginalMessage: "overloaded"},
			424, "ModelStreamErrorException", func(t *testing.T, err error) {
				e, ok := errors.AsType[*types.ModelStreamErrorException](err)
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
			if ae, _ := errors.AsType[smithy.APIError](err); ae != nil && ae.ErrorMessage() != want {
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
	ae, ok := errors.AsType[smithy.APIError](err)
	if !ok {
		t.Fatalf("err = %v (%T), want an API error", err, err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("code = %q, want %q", ae.ErrorCode(), code)
	}
	if _, generic := errors.AsType[*smithy.GenericAPIError](err); generic && code != "UnknownOperationException" {
		t.Errorf("%s arrived as a generic API error, want the modeled type", code)
	}
	re, ok := errors.AsType[*awshttp.ResponseError](err)
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
	if ae, _ := errors.AsType[smithy.APIError](err); ae.ErrorMessage() != converse.MsgInvalidModelID {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	_, err = c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("no.such-model"), Messages: userText("hi")})
	checkAPIError(t, err, 400, "ValidationException")
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
			if ae, _ := errors.AsType[smithy.APIError](err); ae.ErrorMessage() != tt.message {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), tt.message)
			}
			if called {
				t.Error("the backend was called")
			}
		})
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
	if ae, _ := errors.AsType[smithy.APIError](err); ae.ErrorMessage() != "A conversation must start with a user message. Try again with a conversation that starts with a user message." {
		t.Errorf("message = %q", ae.ErrorMessage())
	}
	// The stream flag reaches Validate: this model cannot stream.
	_, err = c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: userText("hi")})
	checkAPIError(t, err, 400, "ValidationException")
	if called {
		t.Error("the backend was called")
	}
}
