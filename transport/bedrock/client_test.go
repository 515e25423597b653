package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"go.uber.org/goleak"

	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/upstreamtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newClient returns a Client for the fake, with static credentials.
func newClient(t *testing.T, srv *upstreamtest.BedrockServer, timeout time.Duration) *Client {
	t.Helper()
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "") // the SDK would prefer it to the credentials
	c, err := New(context.Background(), Config{
		Region: "us-west-2", EndpointURL: srv.URL, Timeout: timeout,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitCancelled fails the test unless the fake saw the client go away.
func waitCancelled(t *testing.T, srv *upstreamtest.BedrockServer) {
	t.Helper()
	select {
	case <-srv.Cancelled():
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("the upstream never saw the call end")
	}
}

const llamaBody = `{"prompt":"<|begin_of_text|>Capital of France?","max_gen_len":64,"temperature":0.5}`

func TestInvoke(t *testing.T) {
	tests := []struct {
		name       string
		reply      upstreamtest.BedrockReply
		accept     string
		wantAccept string
		want       transport.Response
	}{
		{
			name:       "body, content type, token counts and latency come back",
			reply:      upstreamtest.BedrockReply{Body: []byte(`{"generation":"Paris.","stop_reason":"stop"}`), InputTokens: 12, OutputTokens: 3, LatencyMs: 250},
			wantAccept: "application/json",
			want:       transport.Response{Body: []byte(`{"generation":"Paris.","stop_reason":"stop"}`), ContentType: "application/json", InputTokens: 12, OutputTokens: 3, LatencyMs: 250},
		},
		{
			name:       "missing token headers are unknown",
			reply:      upstreamtest.BedrockReply{Body: []byte(`{}`), NoCounts: true},
			wantAccept: "application/json",
			want:       transport.Response{Body: []byte(`{}`), ContentType: "application/json", InputTokens: -1, OutputTokens: -1},
		},
		{
			name:       "accept and the model's content type pass through",
			reply:      upstreamtest.BedrockReply{Body: []byte("\x89PNG"), ContentType: "image/png"},
			accept:     "image/png",
			wantAccept: "image/png",
			want:       transport.Response{Body: []byte("\x89PNG"), ContentType: "image/png"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewBedrock(t, tt.reply)
			const model = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0"
			got, err := newClient(t, srv, 0).Invoke(context.Background(), transport.Request{Model: model, Body: []byte(llamaBody), Accept: tt.accept})
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Body) != string(tt.want.Body) || got.ContentType != tt.want.ContentType || got.InputTokens != tt.want.InputTokens ||
				got.OutputTokens != tt.want.OutputTokens || got.LatencyMs != tt.want.LatencyMs {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			req := srv.LastRequest()
			if req.Operation != "InvokeModel" || req.ModelID != model || string(req.Body) != llamaBody {
				t.Errorf("upstream saw %s %q %s", req.Operation, req.ModelID, req.Body)
			}
			if req.Header.Get("Accept") != tt.wantAccept || req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("upstream saw Accept %q Content-Type %q", req.Header.Get("Accept"), req.Header.Get("Content-Type"))
			}
			if auth := req.Header.Get("Authorization"); !strings.Contains(auth, "Credential=AKIDTEST/") || !strings.Contains(auth, "/us-west-2/bedrock/aws4_request") {
				t.Errorf("Authorization = %q", auth)
			}
		})
	}
}

// statusCheck checks that err is a *transport.StatusError with these
// fields.
func statusCheck(status int, exception, message string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		se, ok := errors.AsType[*transport.StatusError](err)
		if !ok {
			t.Fatalf("err = %v (%T), want a *transport.StatusError", err, err)
		}
		if se.StatusCode != status || se.Exception != exception || se.Message != message {
			t.Errorf("got %d %q %q, want %d %q %q", se.StatusCode, se.Exception, se.Message, status, exception, message)
		}
	}
}

func isTimeout(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
}

func TestInvokeErrors(t *testing.T) {
	tests := []struct {
		name    string
		reply   upstreamtest.BedrockReply
		body    string
		timeout time.Duration
		cancel  bool // cancel the caller's context once the request hangs
		check   func(*testing.T, error)
		gone    bool // the upstream must see the call end
	}{
		{name: "429 is a typed ThrottlingException",
			reply: upstreamtest.BedrockReply{Exception: "ThrottlingException", Message: "Too many tokens, please wait before trying again."},
			check: statusCheck(429, "ThrottlingException", "Too many tokens, please wait before trying again.")},
		{name: "5xx is a typed InternalServerException",
			reply: upstreamtest.BedrockReply{Exception: "InternalServerException", Message: "The system encountered an unexpected error during processing. Try your request again."},
			check: statusCheck(500, "InternalServerException", "The system encountered an unexpected error during processing. Try your request again.")},
		{name: "a proxy's 502 keeps its status without an exception",
			reply: upstreamtest.BedrockReply{Status: 502}, check: func(t *testing.T, err error) {
				if se, ok := errors.AsType[*transport.StatusError](err); !ok || se.StatusCode != 502 || se.Exception != "" {
					t.Errorf("err = %#v", err)
				}
			}},
		{name: "ModelErrorException keeps its extra members in the body",
			reply: upstreamtest.BedrockReply{Exception: "ModelErrorException", Message: "boom", OriginalStatusCode: 500, ResourceName: "arn:aws:sagemaker:x"},
			check: func(t *testing.T, err error) {
				statusCheck(424, "ModelErrorException", "boom")(t, err)
				se, _ := errors.AsType[*transport.StatusError](err)
				var b struct {
					OriginalStatusCode int    `json:"originalStatusCode"`
					ResourceName       string `json:"resourceName"`
				}
				if json.Unmarshal(se.Body, &b) != nil || b.OriginalStatusCode != 500 || b.ResourceName != "arn:aws:sagemaker:x" {
					t.Errorf("body = %s", se.Body)
				}
			}},
		{name: "a body Bedrock cannot parse is its ValidationException", body: `[1]`,
			check: statusCheck(400, "ValidationException", "Malformed input request, please reformat your input and try again.")},
		{name: "a hanging upstream times out", reply: upstreamtest.BedrockReply{Hang: true}, timeout: 100 * time.Millisecond,
			check: isTimeout, gone: true},
		{name: "a cancelled caller cancels the upstream call", reply: upstreamtest.BedrockReply{Hang: true}, cancel: true,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
			}, gone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewBedrock(t, tt.reply)
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
			body := tt.body
			if body == "" {
				body = llamaBody
			}
			_, err := newClient(t, srv, tt.timeout).Invoke(ctx, transport.Request{Model: "meta.llama3-8b-instruct-v1:0", Body: []byte(body)})
			tt.check(t, err)
			if tt.gone {
				waitCancelled(t, srv)
			}
			if n := srv.Requests(); n != 1 {
				t.Errorf("%d requests upstream, want 1 (no retries)", n)
			}
		})
	}
}

func TestInvokeRetriesWhenAsked(t *testing.T) {
	srv := upstreamtest.NewBedrock(t, upstreamtest.BedrockReply{Exception: "ServiceUnavailableException"}, upstreamtest.BedrockReply{Body: []byte(`{"ok":1}`)})
	c, err := New(context.Background(), Config{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 2,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Invoke(context.Background(), transport.Request{Model: "m", Body: []byte(`{}`)})
	if err != nil || string(got.Body) != `{"ok":1}` || srv.Requests() != 2 {
		t.Errorf("got %v, %v after %d requests", got, err, srv.Requests())
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFrontDoorRefusalHasNoException(t *testing.T) {
	srv := upstreamtest.NewBedrock(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	unsigned := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Del("Authorization") // as if the signature never made it
		return tr.RoundTrip(r)
	})}
	c, err := New(context.Background(), Config{Region: "us-east-1", EndpointURL: srv.URL, HTTPClient: unsigned,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Invoke(context.Background(), transport.Request{Model: "m", Body: []byte(`{}`)})
	statusCheck(403, "", "Missing Authentication Token")(t, err)
}

func TestNewLoadsTheDefaultChain(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDFROMENV", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_BEARER_TOKEN_BEDROCK": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "",
	} {
		t.Setenv(k, v)
	}
	t.Run("no region anywhere is an error", func(t *testing.T) {
		if _, err := New(context.Background(), Config{}); err == nil {
			t.Error("New without a region succeeded")
		}
	})
	t.Run("explicit credentials need a region", func(t *testing.T) {
		if _, err := New(context.Background(), Config{Credentials: aws.AnonymousCredentials{}}); err == nil {
			t.Error("New without a region succeeded")
		}
	})
	t.Run("credentials come from the environment", func(t *testing.T) {
		srv := upstreamtest.NewBedrock(t)
		c, err := New(context.Background(), Config{Region: "eu-west-1", EndpointURL: srv.URL, HTTPClient: &http.Client{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Invoke(context.Background(), transport.Request{Model: "m", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if auth := srv.LastRequest().Header.Get("Authorization"); !strings.Contains(auth, "Credential=AKIDFROMENV/") || !strings.Contains(auth, "/eu-west-1/bedrock/") {
			t.Errorf("Authorization = %q", auth)
		}
	})
}
