package converse

import (
	"context"
	"iter"
)

// Backend serves Converse for the models routed to it.
//
// Converse returns the whole reply or an error; an error that is not an
// *Error is reported as an InternalServerException.
//
// ConverseStream starts a streamed reply. An error it returns happened before
// anything was streamed, and the caller answers it as a plain HTTP error.
// Otherwise the sequence yields the events in Bedrock's order; a non-nil
// error ends the sequence and becomes an exception frame. The caller either
// ranges to the end or stops early; either way the backend releases the
// upstream call, and it must also stop promptly when ctx is cancelled.
//
// Both receive a request that passed Validate for the model's Features.
// Backends leave Metrics.LatencyMs at zero unless the upstream reports it;
// the caller then fills in the time it measured.
type Backend interface {
	Converse(ctx context.Context, req *Request) (*Response, error)
	ConverseStream(ctx context.Context, req *Request) (iter.Seq2[StreamEvent, error], error)
}

// Features are what a model supports through Converse, as AWS's
// supported-models table gives them. Validate rejects what a model lacks with
// Bedrock's message.
type Features struct {
	Chat             bool // more than one message (false: "Limited – no chat")
	Stream           bool // ConverseStream
	System           bool // system prompts
	Documents        bool // document blocks
	Vision           bool // image blocks
	ToolUse          bool // toolConfig, toolUse and toolResult blocks
	StreamingToolUse bool // tools in ConverseStream
	ToolChoice       bool // toolChoice any and tool
	Guardrails       bool // guardrailConfig
}

// AllFeatures supports everything; it suits models outside the catalog.
var AllFeatures = Features{Chat: true, Stream: true, System: true, Documents: true, Vision: true,
	ToolUse: true, StreamingToolUse: true, ToolChoice: true, Guardrails: true}
