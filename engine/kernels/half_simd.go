//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// dotF16SIMD multiplies an F16 row with float32 activations: eight weights
// at a time are widened to 32 bits and converted with half8 (archsimd has no
// F16C), then accumulated with FMA into two accumulators. GGUF rows of F16
// are 2-byte aligned. Weights that are infinities or NaNs (never in a real
// model) are not converted exactly; see half8.
func dotF16SIMD(row []byte, p *prepared) float32 {
	x := p.f
	w := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(row))), len(x))
	hc := newHalfConsts()
	a0, a1 := archsimd.Float32x8{}, archsimd.Float32x8{}
	i := 0
	for ; i+16 <= len(x); i += 16 {
		w0 := half8(archsimd.LoadUint16x8Slice(w[i:]).ExtendToUint32(), &hc)
		w1 := half8(archsimd.LoadUint16x8Slice(w[i+8:]).ExtendToUint32(), &hc)
		a0 = w0.MulAdd(archsimd.LoadFloat32x8Slice(x[i:]), a0)
		a1 = w1.MulAdd(archsimd.LoadFloat32x8Slice(x[i+8:]), a1)
	}
	s := hsum(a0.Add(a1)) // clears the upper halves before the scalar tail
	for ; i < len(x); i++ {
		s += halfToFloat(w[i]) * x[i]
	}
	return s
}

// dotBF16SIMD is dotF16SIMD for BF16 rows, whose values are the upper 16
// bits of a float32: widening and shifting left by 16 converts them exactly.
func dotBF16SIMD(row []byte, p *prepared) float32 {
	x := p.f
	w := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(row))), len(x))
	sixteen := archsimd.BroadcastUint32x8(16)
	a0, a1 := archsimd.Float32x8{}, archsimd.Float32x8{}
	i := 0
	for ; i+16 <= len(x); i += 16 {
		w0 := archsimd.LoadUint16x8Slice(w[i:]).ExtendToUint32().ShiftLeft(sixteen).AsFloat32x8()
		w1 := archsimd.LoadUint16x8Slice(w[i+8:]).ExtendToUint32().ShiftLeft(sixteen).AsFloat32x8()
		a0 = w0.MulAdd(archsimd.LoadFloat32x8Slice(x[i:]), a0)
		a1 = w1.MulAdd(archsimd.LoadFloat32x8Slice(x[i+8:]), a1)
	}
	s := hsum(a0.Add(a1))
	for ; i < len(x); i++ {
		s += bf16ToFloat(w[i]) * x[i]
	}
	return s
}
