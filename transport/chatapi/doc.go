// Package chatapi is the one implementation behind the destinations that
// speak the OpenAI-style chat-completions dialect with a native Bedrock
// body that already is a chat request: Mistral (transport/mistral) and
// AI21 (transport/ai21). Each of them is a Dialect (name, endpoint, how
// the answer and the stream chunks become Bedrock's) over the same call,
// timeout, error and SSE plumbing.
//
// It must not import the module's root package or codec, as no package
// under transport may.
package chatapi
