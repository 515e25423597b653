// Package cohere carries Cohere Command R bodies — Bedrock's native
// InvokeModel body for cohere.command-r and cohere.command-r-plus
// (model-families.md §4.7) — to Cohere's own Chat API v1 (§5.2), and
// brings the answers back in Bedrock's form: the whole JSON answer with
// its token counts, or the stream's events one chunk each, the last
// carrying "amazon-bedrock-invocationMetrics" (§1.3).
//
// Bedrock's Command R body is Cohere's chat v1 body, so the bytes travel
// almost unchanged: the client adds "model" (and "stream") and drops the
// stream events Bedrock does not send. Command and Command Light bodies
// (the generate API, §4.6) are refused: Cohere retired /v1/generate.
//
// This package must never import converse or codec: its contract is
// transport.Invoker, in standard-library types only (style.md §2), so
// it knows where bodies go and how they travel, not what Converse is. It
// never logs bodies.
package cohere
