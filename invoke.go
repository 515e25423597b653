package converse

import (
	"context"
	"iter"
)

// InvokeRequest is an InvokeModel or InvokeModelWithResponseStream request:
// a model family's native body (model-families.md §4) and the headers that
// travel with it (wire-protocol.md §2.3).
type InvokeRequest struct {
	ModelID     string // as the caller sent it in the path
	Body        []byte // the native request body
	ContentType string // the Content-Type header ("" and application/octet-stream mean JSON)
	Accept      string // Accept (InvokeModel) or X-Amzn-Bedrock-Accept (streaming)

	Trace               string // X-Amzn-Bedrock-Trace
	GuardrailIdentifier string // X-Amzn-Bedrock-GuardrailIdentifier
	GuardrailVersion    string // X-Amzn-Bedrock-GuardrailVersion
	PerformanceLatency  string // X-Amzn-Bedrock-PerformanceConfig-Latency
}

// InvokeResponse is a native InvokeModel answer. The token counts and
// latency become Bedrock's X-Amzn-Bedrock-Input-Token-Count,
// -Output-Token-Count and -Invocation-Latency headers; a negative count is
// unknown and its header is left out.
type InvokeResponse struct {
	Body         []byte
	ContentType  string
	InputTokens  int
	OutputTokens int
	LatencyMs    int64
}

// Invoker serves InvokeModel for the models routed to it: native bodies in
// and out, through the same destinations Converse uses.
//
// InvokeStream yields the native stream chunks in order (each the decoded
// bytes of one PayloadPart); the last chunk carries
// "amazon-bedrock-invocationMetrics" (model-families.md §1.3). Errors it
// returns happened before the stream started; an error in the sequence
// becomes an exception frame. The contract on stopping early and on ctx is
// Backend.ConverseStream's.
type Invoker interface {
	Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResponse, error)
	InvokeStream(ctx context.Context, req *InvokeRequest) (iter.Seq2[[]byte, error], error)
}
