// Package ai21 sends Bedrock's native AI21 Jamba-Instruct bodies
// (model-families.md §4.1) to AI21 Studio's chat completions API (§5.5)
// and brings the answers back in Bedrock's native Jamba shapes: a whole
// response, or stream chunks ending with
// "amazon-bedrock-invocationMetrics". Client implements
// transport.Invoker.
//
// It knows where a request goes and how the bytes travel (HTTP, SSE,
// timeouts, cancellation); AI21's answers already have Bedrock's Jamba
// shape, so bodies pass through. It never logs bodies.
//
// This package must never import the module's root package (converse) or
// codec, and shares nothing with other destination packages but
// package transport and transport/chatapi (the chat-completions call it
// shares with the other destination of that dialect): its contract is in
// standard-library types, so it can be tested, and reused, without the
// Converse data model.
package ai21
