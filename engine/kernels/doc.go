// Package kernels holds the numeric inner loops of the embedded engine:
// decoding ggml's block encodings (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)
// to float32, encoding float32 into them, and matrix-vector products that read
// the encoded weights in place (zero-copy from a GGUF mapping) and spread the
// rows over all cores.
//
// Two implementations sit behind one API. The portable one (plain Go, any
// GOARCH) decodes each weight block on the fly and multiplies it with float32
// activations, so its result equals float32 math on the dequantised weights
// up to rounding. Built with GOEXPERIMENT=simd on amd64 with AVX2, the Q8_0,
// Q4_0, Q4_K and Q6_K products instead quantise the activations once per
// product to 8 bits (Q8_0 / Q8_K blocks, as llama.cpp does) and use integer
// SIMD dot products from simd/archsimd (go-dependencies.md §9, sketch G),
// 512-bit ones for Q4_K and Q6_K on CPUs with AVX-512; their results carry
// that extra 8-bit activation error. On CPUs with AVX-512 VNNI, Pack copies
// a Q8_0, Q4_0, Q4_K or Q6_K matrix into a layout of 16 interleaved rows
// (pack.go) that assembly kernels multiply with VPDPBUSD (vnni_amd64.s),
// which simd/archsimd lacks. The simd files carry the build tag
// goexperiment.simd and the portable dispatch the opposite tag, so plain
// `go build ./...` and `go test ./...` never need the experiment.
// A Pool runs products on persistent workers, and Attend and AttendGroup run
// attention heads; docs/engine.md has the numbers and the pitfalls of Go's
// SIMD support.
//
// Package kernels must never import the converse root package, wire, codec,
// route, backend or transport (style.md §2); of the engine it imports only
// gguf, for the tensor type enumeration.
package kernels
