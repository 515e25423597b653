package codec

import (
	"encoding/json"

	"github.com/converse-project/converse"
)

// Family translates Converse to and from one model family's native
// InvokeModel body and stream chunks (model-families.md §4). Implementations
// are pure: no I/O, no clock, no globals; the same request always gives the
// same bytes.
type Family interface {
	// Request builds the native InvokeModel body for a request that passed
	// converse.Validate for the model: system prompt, history, inference
	// parameters under the family's names, additionalModelRequestFields
	// merged in. Content the family cannot carry is a ValidationException,
	// never dropped.
	Request(req *converse.Request) ([]byte, error)
	// Response reads the native InvokeModel answer to req. Usage it cannot
	// find in the body is left zero; the caller fills it from Bedrock's
	// token-count headers. req is what Request was given: a family with no
	// native stop-sequence field, for one, cuts the text at the first stop
	// sequence here.
	Response(req *converse.Request, body []byte) (*converse.Response, error)
	// NewStream returns a decoder for one stream of native chunks answering
	// req.
	NewStream(req *converse.Request) ChunkDecoder
}

// ChunkDecoder turns one stream's native chunks into ConverseStream events
// in Bedrock's order: messageStart; text deltas with no contentBlockStart;
// a contentBlockStart for each tool use; a contentBlockStop for every block;
// messageStop; metadata last, with usage from the chunks or from
// "amazon-bedrock-invocationMetrics". The slices returned may be reused by
// the next call.
type ChunkDecoder interface {
	// Next decodes one chunk (the decoded bytes of one PayloadPart).
	Next(chunk []byte) ([]converse.StreamEvent, error)
	// End is called after the last chunk; it fails with a
	// ModelStreamErrorException when the stream ended before the model
	// finished.
	End() ([]converse.StreamEvent, error)
}

// InvocationMetrics is the "amazon-bedrock-invocationMetrics" member Bedrock
// adds to the last native stream chunk (model-families.md §1.3).
type InvocationMetrics struct {
	InputTokenCount   int   `json:"inputTokenCount"`
	OutputTokenCount  int   `json:"outputTokenCount"`
	InvocationLatency int64 `json:"invocationLatency"`
	FirstByteLatency  int64 `json:"firstByteLatency"`
}

// invocationMetrics returns the invocation metrics of a native chunk, if it
// carries them.
func invocationMetrics(chunk []byte) (InvocationMetrics, bool) {
	var v struct {
		M *InvocationMetrics `json:"amazon-bedrock-invocationMetrics"`
	}
	if json.Unmarshal(chunk, &v) != nil || v.M == nil {
		return InvocationMetrics{}, false
	}
	return *v.M, true
}
