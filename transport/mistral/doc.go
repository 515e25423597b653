// Package mistral sends Bedrock's native Mistral chat bodies (Mistral
// Large and Small, model-families.md §4.11) to Mistral AI's own chat
// completions API (§5.4) and brings the answers back in Bedrock's native
// Mistral chat shapes: a whole response, or stream chunks ending with
// "amazon-bedrock-invocationMetrics". Client implements
// transport.Invoker.
//
// It knows where a request goes and how the bytes travel (HTTP, SSE,
// timeouts, cancellation) and the few members where Mistral's API and
// Bedrock's body differ; it never logs bodies.
//
// This package must never import the module's root package (converse) or
// codec, and shares nothing with other destination packages but
// package transport and transport/chatapi (the chat-completions call it
// shares with the other destination of that dialect): its contract is in
// standard-library types, so it can be tested, and reused, without the
// Converse data model.
package mistral
