// Package openai carries request bodies to an OpenAI-compatible HTTP API
// (OpenAI, vLLM, llama.cpp server, Ollama's /v1; model-families.md §5.6)
// and brings the replies back: whole JSON answers, or the data of each
// server-sent event of a streamed answer.
//
// It knows where a request goes and how the bytes travel (HTTP, SSE,
// timeouts, cancellation), not what they mean: bodies are opaque []byte,
// built and read by package codec.
//
// This package must never import converse or codec: its contract is in
// standard-library types only (style.md §2), so it can be tested, and
// reused, without the Converse data model; its HTTP, timeout and SSE
// plumbing is package transport's. It never logs bodies.
package openai
