// Package gguf reads and writes GGUF files, the single-file model format of
// llama.cpp (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
//
// Open maps a file into memory with syscall.Mmap and parses only the header,
// the metadata and the tensor directory; tensor data is never copied: each
// Tensor's Data is a slice of the mapping, valid until Close. Parse does the
// same over a byte slice the caller owns. Write produces a GGUF file from
// metadata and raw tensor bytes; tests use it to make tiny models.
//
// Type names the ggml tensor encodings and their block geometry, so that a
// reader can check that every tensor lies inside the file. Encoding and
// decoding the blocks themselves belongs to package kernels.
//
// Package gguf is part of the embedded engine: it must never import the
// converse root package, wire, codec, route, backend or transport (style.md
// §2), nor any other engine package.
package gguf
