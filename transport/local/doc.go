// Package local is the destination that needs nothing else: it runs a
// Llama-architecture GGUF model inside converse with the pure-Go engine
// (engine/gguf, engine/tokenizer, engine/llama) and serves the prompt
// families' native InvokeModel bodies (transport/textgen: Llama and Mistral
// Instruct), the same bodies a text-completion server would get. The
// codec renders the family's prompt template, as Bedrock does for Meta and
// Mistral models; this package tokenizes it, runs the forward pass token by
// token, samples, and answers in the family's native shape.
//
// An Engine holds one model and a fixed number of slots (KV caches).
// Requests beyond the slots wait in line; a request whose caller goes away,
// while waiting or while generating, frees its place at once.
//
// Like every transport it must never import the module's root package or
// codec.
package local
