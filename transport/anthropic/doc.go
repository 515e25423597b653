// Package anthropic sends Claude's native Bedrock bodies to Anthropic's
// own API (model-families.md §5.1) and brings the answers back in
// Bedrock's form, so that a Claude model can be served without AWS: a
// Messages body (Claude 3 and later, §4.5) goes to POST /v1/messages, a
// Text Completions body (Claude Instant and 2.x, §4.4) to the legacy
// POST /v1/complete.
//
// It knows where a request goes and how the bytes travel (headers, SSE,
// timeouts, cancellation), not what a conversation means: it only moves
// the members Bedrock and Anthropic place differently (the API version,
// the beta flags, the model, the stream flag) and adds the invocation
// metrics Bedrock puts on the last stream chunk.
//
// This package must never import converse or codec: its contract is
// transport.Invoker, in standard-library types only (style.md §2). It
// never logs bodies.
package anthropic
