package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/converse-project/converse/transport"
)

// DefaultTimeout bounds a call when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Minute

// ErrTruncated is matched (errors.Is) by the error ending a stream whose
// body ended before the chunk carrying "amazon-bedrock-invocationMetrics",
// which Bedrock always sends last (wire-protocol.md §4.6). The SDK reads a
// body cut short, even mid-frame, as the stream's normal end (smithy-go's
// event-stream codec takes io.ErrUnexpectedEOF for io.EOF), so this is how
// a broken connection shows.
var ErrTruncated = errors.New("bedrock: the stream ended before its last chunk")

// metricsKey marks Bedrock's last chunk. Model text cannot fake it: inside
// a JSON string its quotes would be escaped.
var metricsKey = []byte(`"amazon-bedrock-invocationMetrics"`)

// Config configures a Client. Region is required unless Credentials is
// nil and the default chain supplies one (AWS_REGION, the shared config
// file); every other zero field means "default".
type Config struct {
	// Region is the AWS region to call and sign for ("us-east-1").
	Region string
	// EndpointURL replaces the SDK's endpoint for Region
	// (https://bedrock-runtime.<region>.amazonaws.com), as the SDK's
	// BaseEndpoint: a VPC endpoint, a proxy, a test server.
	EndpointURL string
	// HTTPClient sends the requests; nil means the SDK's default client.
	HTTPClient *http.Client
	// Credentials sign the requests. nil means the SDK's default chain
	// (environment, shared files, SSO, web identity, container and
	// instance roles), loaded once by New. Whichever is used, the SDK
	// itself prefers a Bedrock API key in AWS_BEARER_TOKEN_BEDROCK when
	// that is set (wire-protocol.md §6.1).
	Credentials aws.CredentialsProvider
	// Timeout bounds an Invoke from start to the end of the answer, and an
	// InvokeStream's wait for the answer's headers and then for each chunk,
	// so that a long but live stream is not cut. 0 means DefaultTimeout; a
	// negative value means no timeout.
	Timeout time.Duration
	// MaxAttempts is how many times the SDK tries a call that failed in a
	// retryable way (throttling, 5xx, ModelNotReady). 0 means 1, no retry:
	// the AWS SDKs calling this server retry on their own, and retrying
	// here too would multiply their attempts and hide Bedrock's throttling
	// from them.
	MaxAttempts int
}

// Client calls Amazon Bedrock's InvokeModel and
// InvokeModelWithResponseStream. It is safe for concurrent use.
type Client struct {
	rt      *bedrockruntime.Client
	timeout time.Duration // ≤ 0: none
}

var _ transport.Invoker = (*Client)(nil)

// New returns a Client for cfg. With nil Credentials it loads the SDK's
// default configuration (ctx bounds that loading, not later calls); it
// fails when no region is configured anywhere.
func New(ctx context.Context, cfg Config) (*Client, error) {
	opts := func(o *bedrockruntime.Options) {
		if cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.EndpointURL)
		}
		var doer bedrockruntime.HTTPClient = awshttp.NewBuildableClient()
		if cfg.HTTPClient != nil {
			doer = cfg.HTTPClient
		}
		o.HTTPClient = bufferedBody{doer}
		o.RetryMaxAttempts = max(cfg.MaxAttempts, 1)
	}
	var rt *bedrockruntime.Client
	if cfg.Credentials == nil {
		var load []func(*config.LoadOptions) error
		if cfg.Region != "" {
			load = append(load, config.WithRegion(cfg.Region))
		}
		awsCfg, err := config.LoadDefaultConfig(ctx, load...)
		if err != nil {
			return nil, fmt.Errorf("bedrock: load the default AWS configuration: %w", err)
		}
		if awsCfg.Region == "" {
			return nil, errors.New("bedrock: no region: set Config.Region or AWS_REGION")
		}
		rt = bedrockruntime.NewFromConfig(awsCfg, opts)
	} else {
		if cfg.Region == "" {
			return nil, errors.New("bedrock: Config.Region is required with explicit credentials")
		}
		rt = bedrockruntime.New(bedrockruntime.Options{Region: cfg.Region, Credentials: cfg.Credentials}, opts)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Client{rt: rt, timeout: timeout}, nil
}

// Invoke calls InvokeModel with req's body as JSON and returns the model's
// answer with the token counts and latency Bedrock sent in its
// X-Amzn-Bedrock-* headers (-1 and 0 when absent). A Bedrock exception is
// a *transport.StatusError; running out of time matches
// transport.ErrTimeout; a cancelled ctx matches ctx.Err().
func (c *Client) Invoke(ctx context.Context, req transport.Request) (*transport.Response, error) {
	ctx, stop, _ := c.withTimeout(ctx)
	defer stop()
	out, err := c.rt.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId:     aws.String(req.Model),
		Body:        req.Body,
		ContentType: aws.String("application/json"),
		Accept:      aws.String(accept(req.Accept)),
	})
	if err != nil {
		return nil, fail(ctx, "invoke "+req.Model, err)
	}
	resp := &transport.Response{Body: out.Body, ContentType: aws.ToString(out.ContentType), InputTokens: -1, OutputTokens: -1}
	if h := rawHeader(out.ResultMetadata); h != nil {
		resp.InputTokens = headerInt(h, "X-Amzn-Bedrock-Input-Token-Count")
		resp.OutputTokens = headerInt(h, "X-Amzn-Bedrock-Output-Token-Count")
		resp.LatencyMs = max(int64(headerInt(h, "X-Amzn-Bedrock-Invocation-Latency")), 0)
	}
	return resp, nil
}

// InvokeStream calls InvokeModelWithResponseStream and yields the bytes of
// each PayloadPart as it arrives; Bedrock puts
// "amazon-bedrock-invocationMetrics" in the last one itself (§4.6). Event
// members newer than this SDK are skipped. An in-stream exception ends the
// sequence with a *transport.StatusError carrying the exception's modeled
// status; a broken connection ends it with the read error or ErrTruncated.
//
// An error returned by InvokeStream itself happened before any chunk, as
// for Invoke. The sequence can be ranged over once. Ending the range,
// early or not, closes the answer's body and so ends the upstream call;
// until the range ends the call lives as long as ctx. Yielded slices
// belong to the caller.
func (c *Client) InvokeStream(ctx context.Context, req transport.Request) (iter.Seq2[[]byte, error], error) {
	ctx, stop, reset := c.withTimeout(ctx)
	out, err := c.rt.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId:     aws.String(req.Model),
		Body:        req.Body,
		ContentType: aws.String("application/json"),
		Accept:      aws.String(accept(req.Accept)),
	})
	if err != nil {
		err = fail(ctx, "invoke stream "+req.Model, err)
		stop()
		return nil, err
	}
	stream := out.GetStream()
	used := false
	return func(yield func([]byte, error) bool) {
		if used {
			yield(nil, fmt.Errorf("bedrock: invoke stream %s: the stream was already read", req.Model))
			return
		}
		used = true
		defer stop()
		defer stream.Close()
		complete := false
		for ev := range stream.Events() {
			chunk, ok := ev.(*types.ResponseStreamMemberChunk)
			if !ok {
				continue // a union member newer than this SDK
			}
			reset() // the timeout is per chunk: the stream is alive
			complete = bytes.Contains(chunk.Value.Bytes, metricsKey)
			if !yield(chunk.Value.Bytes, nil) {
				return
			}
		}
		err := stream.Err()
		if err == nil {
			err = context.Cause(ctx) // the body ended because ctx did
		}
		if err == nil && !complete {
			err = ErrTruncated
		}
		if err != nil {
			yield(nil, fail(ctx, "invoke stream "+req.Model+": read chunk", err))
		}
	}, nil
}

// withTimeout derives the call's context: cancelled with cause
// transport.ErrTimeout when the timeout passes. reset restarts the
// timeout; stop releases the timer and the context.
func (c *Client) withTimeout(parent context.Context) (ctx context.Context, stop, reset func()) {
	ctx, cancel := context.WithCancelCause(parent)
	if c.timeout <= 0 {
		return ctx, func() { cancel(nil) }, func() {}
	}
	tm := time.AfterFunc(c.timeout, func() { cancel(transport.ErrTimeout) })
	return ctx, func() { tm.Stop(); cancel(nil) }, func() { tm.Reset(c.timeout) }
}

func accept(a string) string {
	if a == "" {
		return "application/json"
	}
	return a
}

// rawHeader returns the HTTP headers of the answer behind an SDK output,
// or nil if the SDK kept no raw response.
func rawHeader(md middleware.Metadata) http.Header {
	if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && resp.Response != nil {
		return resp.Header
	}
	return nil
}

// headerInt is a non-negative integer header's value, or -1.
func headerInt(h http.Header, key string) int {
	n, err := strconv.Atoi(h.Get(key))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// fail wraps err with op. A timeout (ours, or the connection's) and a
// cancellation by the caller are reported as transport.ErrTimeout and the
// caller's ctx.Err() whatever the SDK surfaced them as; a Bedrock
// exception, before or during a stream, becomes a *transport.StatusError.
func fail(ctx context.Context, op string, err error) error {
	if errors.Is(context.Cause(ctx), transport.ErrTimeout) {
		return fmt.Errorf("bedrock: %s: %w", op, transport.ErrTimeout)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("bedrock: %s: %w", op, context.Cause(ctx))
	}
	if se := statusError(err); se != nil {
		return se
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return fmt.Errorf("bedrock: %s: %w (%w)", op, transport.ErrTimeout, err)
	}
	return fmt.Errorf("bedrock: %s: %w", op, err)
}

// modeledStatus is the HTTP status of each exception in Bedrock Runtime's
// model (wire-protocol.md §5.1): an in-stream exception arrives without
// one, and transport.StatusError promises the status its type carries.
var modeledStatus = map[string]int{
	"ValidationException": 400, "ServiceQuotaExceededException": 400, "AccessDeniedException": 403,
	"ResourceNotFoundException": 404, "ModelTimeoutException": 408, "ModelErrorException": 424,
	"ModelStreamErrorException": 424, "ThrottlingException": 429, "ModelNotReadyException": 429,
	"InternalServerException": 500, "ServiceUnavailableException": 503,
}

// exceptionBody is a re-encoding of a Bedrock exception for
// StatusError.Body: the SDK has consumed the original body, and the extra
// members of ModelErrorException and ModelStreamErrorException matter to
// whoever maps the error.
type exceptionBody struct {
	Type               string `json:"__type"`
	Message            string `json:"message"`
	OriginalStatusCode *int32 `json:"originalStatusCode,omitempty"`
	OriginalMessage    string `json:"originalMessage,omitempty"`
	ResourceName       string `json:"resourceName,omitempty"`
}

// statusError returns err's answer as a *transport.StatusError, or nil if
// err carries no answer from the service. Exception is set only for
// Bedrock's modeled exceptions; a front-door refusal
// (UnrecognizedClientException, …) or a proxy's non-JSON error keeps only
// its status and message.
func statusError(err error) *transport.StatusError {
	var status int
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		status = re.HTTPStatusCode()
	}
	ae, ok := errors.AsType[smithy.APIError](err)
	if !ok {
		if status == 0 {
			return nil
		}
		return &transport.StatusError{StatusCode: status}
	}
	code := ae.ErrorCode()
	modeled, known := modeledStatus[code]
	if status == 0 {
		if !known {
			return nil // not from the service: nothing to type
		}
		status = modeled
	}
	body := exceptionBody{Type: code, Message: ae.ErrorMessage()}
	switch e := ae.(type) {
	case *types.ModelErrorException:
		body.OriginalStatusCode, body.ResourceName = e.OriginalStatusCode, aws.ToString(e.ResourceName)
	case *types.ModelStreamErrorException:
		body.OriginalStatusCode, body.OriginalMessage = e.OriginalStatusCode, aws.ToString(e.OriginalMessage)
	}
	b, _ := json.Marshal(body) // strings and an int: cannot fail
	se := &transport.StatusError{StatusCode: status, Body: b, Message: ae.ErrorMessage()}
	if known {
		se.Exception = code
	}
	return se
}

// bufferedBody hands net/http an in-memory copy of the request body. The
// SDK closes the body it built as soon as Do returns (smithy-go's
// ClientHandler), while net/http's writeLoop may still be reading it to
// check its end; that read then fails, and net/http closes the connection
// under the event stream being read, which surfaces as "use of closed
// network connection" mid-stream (aws-sdk-go-v2 #1825, #2737). A copy
// nobody else closes cannot fail that way. Bodies are at most 25 MB and
// already in memory.
type bufferedBody struct{ next bedrockruntime.HTTPClient }

func (b bufferedBody) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return b.next.Do(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("bedrock: buffer the request body: %w", err)
	}
	r = r.Clone(r.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return b.next.Do(r)
}
