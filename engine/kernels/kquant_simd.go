//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
)

// The K-quant kernels follow llama.cpp's AVX2 ggml_vec_dot_q4_K_q8_K and
// ggml_vec_dot_q6_K_q8_K: integer dot products of 32 weights with 32 Q8_K
// activations (VPMADDUBSW), weighted by the sub-block scales (VPMADDWD) and
// summed to one Int32x8 per 256-value super-block; the Q4_K mins and the
// Q6_K offset of 32 are folded in through the activations' 16-value sums.
//
// Each row is done in chunks of up to kchunk super-blocks and three passes,
// so that vector and scalar work never interleave (see hsum): an integer
// pass gathers the fp16 scales and the min/offset sums with plain integer
// instructions; a vector pass converts eight scales at a time from fp16
// (half8) and accumulates the min terms; a vector pass does the dot
// products.

// kchunk is how many super-blocks a pass handles: 64 × 256 values covers
// rows of up to 16384 in one chunk.
const kchunk = 64

// half8 converts eight fp16 values (the low 16 bits of each lane) to
// float32 without F16C, which archsimd lacks: the magnitude bits shifted
// into float32 position and multiplied by 2^112 rebias the exponent and turn
// fp16 subnormals into the right float32 normals; the sign is copied over.
// Infinities and NaNs (never block scales) are not handled.
func half8(h archsimd.Uint32x8, c *halfConsts) archsimd.Float32x8 {
	mag := h.And(c.magMask).ShiftLeft(c.thirteen)
	f := mag.AsFloat32x8().Mul(c.pow112)
	sign := h.And(c.signMask).ShiftLeft(c.sixteen)
	return f.AsUint32x8().Or(sign).AsFloat32x8()
}

type halfConsts struct {
	magMask, signMask, thirteen, sixteen archsimd.Uint32x8
	pow112                               archsimd.Float32x8
}

func newHalfConsts() halfConsts {
	return halfConsts{
		magMask: archsimd.BroadcastUint32x8(0x7fff), signMask: archsimd.BroadcastUint32x8(0x8000),
		thirteen: archsimd.BroadcastUint32x8(13), sixteen: archsimd.BroadcastUint32x8(16),
		pow112: archsimd.BroadcastFloat32x8(0x1p112),
	}
}
