//go:build !goexperiment.simd || !amd64

package kernels

import "github.com/converse-project/converse/engine/gguf"

// simdKernel reports that this build has no SIMD kernels; build with
// GOEXPERIMENT=simd on amd64 for them.
func simdKernel(gguf.Type) (kernel, bool) { return kernel{}, false }

// Accel names the instruction set MatVec uses in this build on this CPU, for
// logs and benchmark reports.
func Accel() string { return "portable Go" }

// QuantizesActivations reports whether MatVec over a t matrix quantises the
// activations to 8 bits in this build and on this CPU, so that its results
// carry that error on top of float32 rounding (callers comparing against
// float math widen their tolerance by it).
func QuantizesActivations(t gguf.Type) bool { return false }

// clearUpper has nothing to do without SIMD kernels.
func clearUpper() {}

// canPack reports that this build has no packed layouts (see Pack).
func canPack(gguf.Type) bool { return false }

// packedKernel is never called in this build: Pack packs nothing.
func packedKernel(t gguf.Type) kernel { panic("kernels: no packed kernel for " + t.String()) }

// swiGLUVec leaves all of SwiGLU to the scalar loop in this build.
func swiGLUVec(dst, gate, up []float32) int { return 0 }
