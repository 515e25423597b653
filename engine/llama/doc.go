// Package llama runs Llama-family transformer models read from GGUF files:
// Llama 2 and 3.x, Mistral 7B, SmolLM2, TinyLlama (architecture "llama") and
// Qwen2 ("qwen2": the same network with biases on Q, K and V and NeoX-style
// RoPE).
//
// A Model is built once from a gguf.File and is read-only afterwards; its
// weights stay in the file's mapping. Each sequence being generated owns a
// State (its KV cache and scratch buffers), so any number of States may run
// over one Model at once. State.Forward feeds one token and returns the
// next-token logits; a Sampler turns logits into a token with temperature,
// top-k, top-p and a seed.
//
// The forward pass follows llama.cpp's graph for these architectures:
// RMSNorm, grouped-query attention with a KV cache, rotary position
// embeddings (with linear scaling or Llama 3's per-frequency factors from the
// rope_freqs tensor), SwiGLU feed-forward, and an output head that may be
// tied to the token embeddings. Matrix-vector products run on package kernels
// over all cores.
//
// Package llama must never import the converse root package, wire, codec,
// route, backend or transport (style.md §2); tokenisation lives in package
// tokenizer and is joined to this one by the local backend.
package llama
