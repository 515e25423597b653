//go:build !goexperiment.simd || !amd64

package kernels

import "github.com/converse-project/converse/engine/gguf"

// simdKernel reports that this build has no SIMD kernels; build with
// GOEXPERIMENT=simd on amd64 for them.
func simdKernel(gguf.Type) (kernel, bool) { return kernel{}, false }

// Accel names the instruction set MatVec uses in this build on this CPU, for
// logs and benchmark reports.
func Accel() string { return "portable Go" }
