// Package transport holds what every destination package under it shares:
// the contract for sending a model family's native InvokeModel body
// somewhere and the errors a destination reports.
//
// A transport knows where a request goes and how that destination speaks
// HTTP: the AWS SDK for real Bedrock, a vendor's API, a text-completion
// server. It never sees Converse: this package and its subpackages must not
// import the module's root package or codec (the codec knows formats, the
// transport knows destinations; backend joins the two). Besides the
// contract it holds the plumbing every HTTP destination uses (http.go: the
// timed call, the POST, the error answer; sse.go: the SSE and NDJSON line
// readers).
package transport

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
)

// Request is one native InvokeModel call.
type Request struct {
	// Model is the model as the destination names it: a Bedrock model ID
	// for Bedrock, the vendor's or server's model name otherwise.
	Model string
	// Body is the family's native InvokeModel body (model-families.md §4).
	Body []byte
	// Accept is the wanted response type; "" means application/json.
	Accept string
}

// Response is a native InvokeModel answer in Bedrock's form: Body is what
// Bedrock's InvokeModel would return for the family, whatever the
// destination answered.
type Response struct {
	Body        []byte
	ContentType string
	// InputTokens and OutputTokens are the counts Bedrock puts in its
	// X-Amzn-Bedrock-*-Token-Count headers; -1 when unknown.
	InputTokens, OutputTokens int
	// LatencyMs is the invocation latency, 0 when unknown.
	LatencyMs int64
}

// Invoker sends native bodies to one destination. Implementations are safe
// for concurrent use.
//
// InvokeStream yields native stream chunks in Bedrock's form (each the
// bytes of one PayloadPart), the last carrying
// "amazon-bedrock-invocationMetrics" (model-families.md §1.3): a destination
// that does not send it has it added by the transport. An error returned by
// InvokeStream happened before any chunk; an error in the sequence ends it.
// Stopping the range early, or cancelling ctx, ends the upstream call.
type Invoker interface {
	Invoke(ctx context.Context, req Request) (*Response, error)
	InvokeStream(ctx context.Context, req Request) (iter.Seq2[[]byte, error], error)
}

// ErrTimeout is matched (errors.Is) by the error of a call that ran out of
// time.
var ErrTimeout = errors.New("transport: upstream timed out")

// StatusError is a destination's refusal: a non-2xx HTTP answer, or a
// typed exception from Bedrock (before or during a stream).
type StatusError struct {
	StatusCode int    // the HTTP status; for an in-stream exception, the status its type carries
	Body       []byte // the answer's body, at most 1 MiB; it may quote the request, so Error leaves it out
	// Exception is Bedrock's exception name when the destination is Bedrock
	// ("ThrottlingException", "ModelStreamErrorException", …), else "".
	Exception string
	// Message is the destination's own message, when it gave one.
	Message string
}

func (e *StatusError) Error() string {
	if e.Exception != "" {
		return fmt.Sprintf("transport: upstream answered %s (%d)", e.Exception, e.StatusCode)
	}
	return fmt.Sprintf("transport: upstream answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}
