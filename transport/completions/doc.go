// Package completions serves Bedrock's native InvokeModel bodies of the
// prompt-template families (Llama, Mistral Instruct, Titan Text;
// model-families.md §4.3, §4.8-§4.10) from a self-hosted text-completion
// server: OpenAI's legacy POST /v1/completions (vLLM, llama.cpp, OpenAI)
// or Ollama's POST /api/generate in raw mode (§5.6, §5.8).
//
// A Client reads the family's native body (the prompt is already
// templated by package codec), sends the prompt and sampling parameters
// upstream, and answers in the family's native Bedrock response or stream
// chunk shape, with token counts and, on the last chunk,
// "amazon-bedrock-invocationMetrics" (§1.3). It knows destinations and
// bytes, not Converse.
//
// This package must never import the module's root package converse or
// codec (transport.Invoker's contract is in standard-library types, style.md
// §2), and it never logs bodies: they carry user content.
package completions
