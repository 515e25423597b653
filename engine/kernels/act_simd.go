//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// The activation quantisers in vectors: quantizeQ8_0 and quantizeQ8K bit
// for bit. They run before every product, on one thread while the others
// wait, so they matter: the scalar versions took about 8 % of a Q4_0
// decode step and 10 % of a Q4_K_M prefill.
//
// Three passes keep scalar float code (legacy SSE encodings, slow while
// the vector registers' upper halves are dirty: see hsum) apart from the
// vector code: the blocks' largest magnitudes in vectors (absMax); the
// scales in scalar code (fp16 rounding has no vector form in archsimd),
// each reciprocal written out eight times; then the values scaled, rounded
// half away from zero like math.Round (RoundToEven, corrected on exact
// halves), clamped to ±127, converted, narrowed to bytes and summed in
// vectors (quantize32).

// absMax writes the largest magnitude of each block of n values of x (n a
// multiple of 8) eight times into out[8b:8b+8].
func absMax(x []float32, n int, out []float32) {
	abs := archsimd.BroadcastUint32x8(0x7fffffff)
	swap4 := archsimd.LoadUint32x8(&[8]uint32{4, 5, 6, 7, 0, 1, 2, 3})
	swap2 := archsimd.LoadUint32x8(&[8]uint32{2, 3, 0, 1, 6, 7, 4, 5})
	swap1 := archsimd.LoadUint32x8(&[8]uint32{1, 0, 3, 2, 5, 4, 7, 6})
	for b := range len(x) / n {
		p := unsafe.Pointer(&x[n*b])
		m := archsimd.LoadFloat32x8((*[8]float32)(p)).AsUint32x8().And(abs).AsFloat32x8()
		for i := 1; i < n/8; i++ {
			v := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 32*i)))
			m = m.Max(v.AsUint32x8().And(abs).AsFloat32x8())
		}
		m = m.Max(m.Permute(swap4))
		m = m.Max(m.Permute(swap2))
		m = m.Max(m.Permute(swap1))
		m.Store((*[8]float32)(out[8*b:]))
	}
	archsimd.ClearAVXUpperBits()
}

// quant32 holds quantize32's constants.
type quant32 struct {
	half, neg, one, hi, lo archsimd.Float32x8
	pickA, pickB           archsimd.Int8x32
	order                  archsimd.Uint32x8
}

func newQuant32() *quant32 {
	// Narrowing: VPACKSSDW pairs the int32 vectors into int16 per 128-bit
	// half, VPSHUFB takes the low bytes (into bytes 0..7 of each half for
	// the first pair, 8..15 for the second), and VPERMD puts the 4-byte
	// runs back in order. Values are within ±127, so nothing saturates.
	var lowA, lowB [32]int8
	for j := range 32 {
		k := j % 16
		lowA[j], lowB[j] = -1, -1 // zero
		if k < 8 {
			lowA[j] = int8(2 * k)
		} else {
			lowB[j] = int8(2 * (k - 8))
		}
	}
	return &quant32{
		half: archsimd.BroadcastFloat32x8(0.5), neg: archsimd.BroadcastFloat32x8(-0.5),
		one: archsimd.BroadcastFloat32x8(1),
		hi:  archsimd.BroadcastFloat32x8(127), lo: archsimd.BroadcastFloat32x8(-127),
		pickA: archsimd.LoadInt8x32(&lowA), pickB: archsimd.LoadInt8x32(&lowB),
		order: archsimd.LoadUint32x8(&[8]uint32{0, 4, 1, 5, 2, 6, 3, 7}),
	}
}

// quantize32 quantises the 32 values at x with the reciprocal scale id
// (eight copies) into dst, and returns the sums of the first 16 and of the
// last 16.
func (c *quant32) quantize32(x *[32]float32, id *[8]float32, dst *[32]int8) (int32, int32) {
	idv := archsimd.LoadFloat32x8(id)
	var q [4]archsimd.Int32x8
	for i := range 4 {
		v := archsimd.LoadFloat32x8((*[8]float32)(x[8*i:])).Mul(idv)
		t := v.Trunc()
		f := v.Sub(t)
		r := v.RoundToEven()
		r = t.Add(c.one).Merge(r, f.Equal(c.half))
		r = t.Sub(c.one).Merge(r, f.Equal(c.neg))
		q[i] = r.Min(c.hi).Max(c.lo).ConvertToInt32()
	}
	a := q[0].SaturateToInt16ConcatGrouped(q[1]).AsInt8x32().PermuteOrZeroGrouped(c.pickA)
	b := q[2].SaturateToInt16ConcatGrouped(q[3]).AsInt8x32().PermuteOrZeroGrouped(c.pickB)
	a.Or(b).AsInt32x8().Permute(c.order).AsInt8x32().Store(dst)
	var s0, s1 [8]int32
	q[0].Add(q[1]).Store(&s0)
	q[2].Add(q[3]).Store(&s1)
	return sum8i(&s0), sum8i(&s1)
}

func sum8i(s *[8]int32) int32 {
	return (s[0] + s[1]) + (s[2] + s[3]) + (s[4] + s[5]) + (s[6] + s[7])
}

// quantizeQ8_0SIMD is quantizeQ8_0 in vectors, plus each block's Σq in
// sums (which must hold len(x)/32).
func quantizeQ8_0SIMD(x []float32, dst []blockQ8_0, sums []int32) {
	nb := len(x) / 32
	if nb == 0 {
		return
	}
	x, dst, sums = x[:32*nb], dst[:nb], sums[:nb]
	scale := make([]float32, 8*nb) // amax, then 1/d, per block, eight times
	absMax(x, 32, scale)
	for b := range nb {
		d := scale[8*b] / 127
		dst[b].d = floatToHalf(d)
		var id float32
		if d != 0 {
			id = 1 / d
		}
		s := scale[8*b : 8*b+8]
		for i := range s {
			s[i] = id
		}
	}
	c := newQuant32()
	for b := range nb {
		s0, s1 := c.quantize32((*[32]float32)(x[32*b:]), (*[8]float32)(scale[8*b:]), &dst[b].qs)
		sums[b] = s0 + s1
	}
	archsimd.ClearAVXUpperBits()
}

// quantizeQ8KSIMD is quantizeQ8K (one scale per 256 values, ±127, sums per
// 16) in vectors; dst must hold len(x)/256.
func quantizeQ8KSIMD(x []float32, dst []blockQ8K) {
	nb := len(x) / 256
	if nb == 0 {
		return
	}
	scale := make([]float32, 8*nb) // amax, then 127/amax, eight times
	absMax(x[:256*nb], 256, scale)
	for b := range nb {
		amax := scale[8*b]
		var d, id float32
		if amax != 0 {
			d, id = amax/127, 127/amax
		}
		dst[b] = blockQ8K{d: d}
		s := scale[8*b : 8*b+8]
		for i := range s {
			s[i] = id
		}
	}
	c := newQuant32()
	for b := range nb {
		blk := &dst[b]
		for g := range 8 {
			s0, s1 := c.quantize32((*[32]float32)(x[256*b+32*g:]), (*[8]float32)(scale[8*b:]), (*[32]int8)(blk.qs[32*g:]))
			blk.bsums[2*g], blk.bsums[2*g+1] = int16(s0), int16(s1)
		}
	}
	archsimd.ClearAVXUpperBits()
}
