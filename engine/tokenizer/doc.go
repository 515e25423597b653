// Package tokenizer turns text into the token ids of a GGUF model and back, as llama.cpp does.
//
// The vocabulary comes from a GGUF file's tokenizer.ggml.* metadata, handed over as plain Go
// values in a [Vocab] (the package never reads GGUF itself). Two algorithms are implemented,
// each a port of llama.cpp's src/llama-vocab.cpp:
//
//   - "llama" (llm_tokenizer_spm): SentencePiece-style BPE. Spaces become "▁" (U+2581), a space
//     is prepended to the text and after every special token, the adjacent pair whose merged text
//     is the highest-scoring token is merged first, and a character that is not a token falls
//     back to its bytes as <0xXX> tokens. Llama 2, Mistral 7B and TinyLlama use it.
//   - "gpt2" (llm_tokenizer_bpe): byte-level BPE. The text is split by the pre-tokenizer named in
//     tokenizer.ggml.pre (Llama 3's regex, Qwen2's, GPT-2's, SmolLM's, llama.cpp's "default"),
//     each piece's bytes are mapped to GPT-2's printable characters, and pairs are merged by their
//     rank in tokenizer.ggml.merges. Llama 3.x, SmolLM2 and Qwen2 use it.
//
// Before either runs, special tokens (control, user-defined and unknown tokens such as "<s>" or
// "<|eot_id|>") written in the text are cut out and become single tokens, exactly as llama.cpp's
// tokenizer_st_partition does with parse_special=true: longer special tokens are matched first.
//
// Decoding works per token ([Tokenizer.Piece]), per sequence ([Tokenizer.Decode]) or
// incrementally ([Decoder]), which holds back the bytes of a UTF-8 character until it is
// complete, so a streamed reply never carries half a character.
//
// A Tokenizer is immutable after [New] and safe for concurrent use.
//
// This package must never import engine/gguf or any other package of this module (it is a leaf:
// the GGUF reader feeds it, the model runner uses it), nor net/http.
package tokenizer
