//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// quantizeQ8_0SIMD is quantizeQ8_0 with the per-value arithmetic in
// vectors, bit for bit the same blocks, plus each block's Σq in sums (which
// must hold len(x)/32). It runs before every Q8_0 and Q4_0 product, on one
// thread while the others wait, so it matters: the scalar version took
// about 8% of a Q4_0 decode step.
//
// Three passes keep scalar float code (legacy SSE encodings, slow while
// the vector registers' upper halves are dirty: see hsum) apart from the
// vector code: the blocks' largest magnitudes in vectors; the scales in
// scalar code (fp16 rounding has no vector form in archsimd), each
// reciprocal written out eight times; then the values scaled, rounded half
// away from zero like math.Round (RoundToEven, corrected on exact halves),
// converted, narrowed to bytes and summed in vectors.
func quantizeQ8_0SIMD(x []float32, dst []blockQ8_0, sums []int32) {
	nb := len(x) / 32
	if nb == 0 {
		return
	}
	x, dst, sums = x[:32*nb], dst[:nb], sums[:nb]
	abs := archsimd.BroadcastUint32x8(0x7fffffff)
	swap4 := archsimd.LoadUint32x8(&[8]uint32{4, 5, 6, 7, 0, 1, 2, 3})
	swap2 := archsimd.LoadUint32x8(&[8]uint32{2, 3, 0, 1, 6, 7, 4, 5})
	swap1 := archsimd.LoadUint32x8(&[8]uint32{1, 0, 3, 2, 5, 4, 7, 6})
	scale := make([]float32, 8*nb) // amax, then 1/d, per block, eight times
	for b := range nb {
		p := unsafe.Pointer(&x[32*b])
		m := archsimd.LoadFloat32x8((*[8]float32)(p)).AsUint32x8().And(abs).AsFloat32x8()
		for i := 1; i < 4; i++ {
			v := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 32*i)))
			m = m.Max(v.AsUint32x8().And(abs).AsFloat32x8())
		}
		m = m.Max(m.Permute(swap4))
		m = m.Max(m.Permute(swap2))
		m = m.Max(m.Permute(swap1))
		m.Store((*[8]float32)(scale[8*b:]))
	}
	archsimd.ClearAVXUpperBits()
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
	half := archsimd.BroadcastFloat32x8(0.5)
	neg := archsimd.BroadcastFloat32x8(-0.5)
	one := archsimd.BroadcastFloat32x8(1)
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
	pickA, pickB := archsimd.LoadInt8x32(&lowA), archsimd.LoadInt8x32(&lowB)
	order := archsimd.LoadUint32x8(&[8]uint32{0, 4, 1, 5, 2, 6, 3, 7})
	part := make([]int32, 8*nb) // each block's sums by lane
	for b := range nb {
		id := archsimd.LoadFloat32x8((*[8]float32)(scale[8*b:]))
		p := unsafe.Pointer(&x[32*b])
		var q [4]archsimd.Int32x8
		for i := range 4 {
			v := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 32*i))).Mul(id)
			t := v.Trunc()
			f := v.Sub(t)
			r := v.RoundToEven()
			r = t.Add(one).Merge(r, f.Equal(half))
			r = t.Sub(one).Merge(r, f.Equal(neg))
			q[i] = r.ConvertToInt32()
		}
		a := q[0].SaturateToInt16ConcatGrouped(q[1]).AsInt8x32().PermuteOrZeroGrouped(pickA)
		c := q[2].SaturateToInt16ConcatGrouped(q[3]).AsInt8x32().PermuteOrZeroGrouped(pickB)
		a.Or(c).AsInt32x8().Permute(order).AsInt8x32().Store((*[32]int8)(&dst[b].qs))
		q[0].Add(q[1]).Add(q[2].Add(q[3])).Store((*[8]int32)(part[8*b:]))
	}
	for b := range nb {
		l := part[8*b : 8*b+8]
		sums[b] = (l[0] + l[1]) + (l[2] + l[3]) + (l[4] + l[5]) + (l[6] + l[7])
	}
	archsimd.ClearAVXUpperBits()
}

// quantizeQ8KSIMD is quantizeQ8K (one scale per 256 values, ±127, sums per
// 16) with the arithmetic in vectors, bit for bit the same blocks; dst
// must hold len(x)/256. Passes as in quantizeQ8_0SIMD.
func quantizeQ8KSIMD(x []float32, dst []blockQ8K) {
	nb := len(x) / 256
	if nb == 0 {
		return
	}
	abs := archsimd.BroadcastUint32x8(0x7fffffff)
	swap4 := archsimd.LoadUint32x8(&[8]uint32{4, 5, 6, 7, 0, 1, 2, 3})
	swap2 := archsimd.LoadUint32x8(&[8]uint32{2, 3, 0, 1, 6, 7, 4, 5})
	swap1 := archsimd.LoadUint32x8(&[8]uint32{1, 0, 3, 2, 5, 4, 7, 6})
	scale := make([]float32, 8*nb) // amax, then 127/amax, eight times
	for b := range nb {
		p := unsafe.Pointer(&x[256*b])
		m := archsimd.LoadFloat32x8((*[8]float32)(p)).AsUint32x8().And(abs).AsFloat32x8()
		for i := 1; i < 32; i++ {
			v := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 32*i)))
			m = m.Max(v.AsUint32x8().And(abs).AsFloat32x8())
		}
		m = m.Max(m.Permute(swap4))
		m = m.Max(m.Permute(swap2))
		m = m.Max(m.Permute(swap1))
		m.Store((*[8]float32)(scale[8*b:]))
	}
	archsimd.ClearAVXUpperBits()
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
	half := archsimd.BroadcastFloat32x8(0.5)
	neg := archsimd.BroadcastFloat32x8(-0.5)
	one := archsimd.BroadcastFloat32x8(1)
	hi, lo := archsimd.BroadcastFloat32x8(127), archsimd.BroadcastFloat32x8(-127)
	var lowA, lowB [32]int8
	for j := range 32 {
		k := j % 16
		lowA[j], lowB[j] = -1, -1
		if k < 8 {
			lowA[j] = int8(2 * k)
		} else {
			lowB[j] = int8(2 * (k - 8))
		}
	}
	pickA, pickB := archsimd.LoadInt8x32(&lowA), archsimd.LoadInt8x32(&lowB)
	order := archsimd.LoadUint32x8(&[8]uint32{0, 4, 1, 5, 2, 6, 3, 7})
	var part [8]int32
	for b := range nb {
		id := archsimd.LoadFloat32x8((*[8]float32)(scale[8*b:]))
		blk := &dst[b]
		for g := range 8 { // 32 values at a time
			p := unsafe.Pointer(&x[256*b+32*g])
			var q [4]archsimd.Int32x8
			for i := range 4 {
				v := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 32*i))).Mul(id)
				t := v.Trunc()
				f := v.Sub(t)
				r := v.RoundToEven()
				r = t.Add(one).Merge(r, f.Equal(half))
				r = t.Sub(one).Merge(r, f.Equal(neg))
				q[i] = r.Min(hi).Max(lo).ConvertToInt32()
			}
			a := q[0].SaturateToInt16ConcatGrouped(q[1]).AsInt8x32().PermuteOrZeroGrouped(pickA)
			c := q[2].SaturateToInt16ConcatGrouped(q[3]).AsInt8x32().PermuteOrZeroGrouped(pickB)
			a.Or(c).AsInt32x8().Permute(order).AsInt8x32().Store((*[32]int8)(blk.qs[32*g:]))
			// Sums of 16: lanes of q[0]+q[1] and of q[2]+q[3].
			q[0].Add(q[1]).Store(&part)
			blk.bsums[2*g] = int16((part[0] + part[1]) + (part[2] + part[3]) + (part[4] + part[5]) + (part[6] + part[7]))
			q[2].Add(q[3]).Store(&part)
			blk.bsums[2*g+1] = int16((part[0] + part[1]) + (part[2] + part[3]) + (part[4] + part[5]) + (part[6] + part[7]))
		}
	}
	archsimd.ClearAVXUpperBits()
}
