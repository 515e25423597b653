//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// blockQ6K is ggml's block_q6_K (210 bytes): low nibbles, high 2-bit pairs,
// 16 int8 scales, fp16 d. Its size is not a multiple of 2, so d is read as
// bytes.
type blockQ6K struct {
	ql     [128]uint8
	qh     [64]uint8
	scales [16]int8
	d      [2]uint8
}

// q6kHas512 says whether this CPU has the AVX-512 features of the 512-bit
// Q6_K path; q6kUse512 selects it (tests flip it to run both paths).
var (
	q6kHas512 = false
	q6kUse512 = q6kHas512
)

// q6kEvenOdd orders a block's 16 scale bytes evens first, then odds: sign
// extended to 16 bits, the low 128-bit half then holds the scales of the
// even sub-blocks (the first 16 values of each 32) and the high half those
// of the odd ones, as VPMADDUBSW's output is laid out.
var q6kEvenOdd = [16]int8{0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15}

// rowsQ6_K multiplies rows lo..hi-1 of a Q6_K matrix with Q8_K activations.
//
// Per 256-value block: the 6-bit values are put together from the low
// nibbles and high 2-bit pairs with 16-bit immediate shifts and masks;
// the 16 scales are sign-extended once (evens in the low half, odds in the
// high half) and spread for each VPMADDWD with an in-lane interleave and
// VPSHUFD; the offset of 32 is taken off through the activations' 16-value
// sums.
func rowsQ6_K(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // see rowsQ4_K
	var hd [kchunk]uint32
	var dscale [kchunk + 8]float32
	nb := m.Cols / 256
	hc := newHalfConsts()
	m4 := archsimd.BroadcastUint8x32(0x0f)
	m30 := archsimd.BroadcastUint8x32(0x30)
	x := p.q8k
	for r := lo; r < hi; r++ {
		row := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
		w := unsafe.Slice((*blockQ6K)(unsafe.Pointer(unsafe.SliceData(row))), nb)
		acc := archsimd.Float32x8{}
		for c := 0; c < nb; c += kchunk {
			n := min(kchunk, nb-c)
			w, x, kd := w[c:c+n], x[c:c+n], p.kd[c:]
			archsimd.ClearAVXUpperBits() // scalar pass next: see hsum
			for i := range w {
				hd[i] = uint32(w[i].d[0]) | uint32(w[i].d[1])<<8
			}
			for i := 0; i < n; i += 8 {
				half8(archsimd.LoadUint32x8Slice(hd[i:]), &hc).Mul(archsimd.LoadFloat32x8Slice(kd[i:])).StoreSlice(dscale[i:])
			}
			// pb and pq walk the blocks (a pointer register plus constant
			// offsets addresses every load in one instruction); they never
			// step past the last block.
			pb, pq := unsafe.Pointer(&w[0]), unsafe.Pointer(&x[0])
			for i := range w {
				if i > 0 {
					pb, pq = unsafe.Add(pb, 210), unsafe.Add(pq, 292)
				}
				sc := archsimd.LoadInt8x16((*[16]int8)(unsafe.Add(pb, 192)))
				// The stored values are q+32: take 32·Σ scale·(16-value sum) off.
				off := sc.ExtendToInt16().DotProductPairs(archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(pq, 260)))).ShiftAllLeft(5)
				t := sc.PermuteOrZero(archsimd.LoadInt8x16(&q6kEvenOdd)).ExtendToInt16()
				tlo, thi := t.InterleaveLoGrouped(t).AsInt32x8(), t.InterleaveHiGrouped(t).AsInt32x8()
				var s0, s1 archsimd.Int32x8
				{
					ql1 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 0)))
					ql2 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 32)))
					qh := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 128))).AsUint16x16()
					q0 := ql1.And(m4).Or(qh.ShiftAllLeft(4).AsUint8x32().And(m30))
					q1 := ql2.And(m4).Or(qh.ShiftAllLeft(2).AsUint8x32().And(m30))
					q2 := ql1.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsUint8x32().And(m30))
					q3 := ql2.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsInt16x16().ShiftAllRight(2).AsUint8x32().And(m30))
					p0 := q0.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 4)))).DotProductPairs(tlo.PermuteScalarsGrouped(0, 0, 0, 0).AsInt16x16())
					p1 := q1.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 36)))).DotProductPairs(tlo.PermuteScalarsGrouped(1, 1, 1, 1).AsInt16x16())
					p2 := q2.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 68)))).DotProductPairs(tlo.PermuteScalarsGrouped(2, 2, 2, 2).AsInt16x16())
					p3 := q3.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 100)))).DotProductPairs(tlo.PermuteScalarsGrouped(3, 3, 3, 3).AsInt16x16())
					s0 = p0.Add(p1).Add(p2.Add(p3))
				}
				{
					ql1 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 64)))
					ql2 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 96)))
					qh := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 160))).AsUint16x16()
					q0 := ql1.And(m4).Or(qh.ShiftAllLeft(4).AsUint8x32().And(m30))
					q1 := ql2.And(m4).Or(qh.ShiftAllLeft(2).AsUint8x32().And(m30))
					q2 := ql1.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsUint8x32().And(m30))
					q3 := ql2.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsInt16x16().ShiftAllRight(2).AsUint8x32().And(m30))
					p0 := q0.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 132)))).DotProductPairs(thi.PermuteScalarsGrouped(0, 0, 0, 0).AsInt16x16())
					p1 := q1.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 164)))).DotProductPairs(thi.PermuteScalarsGrouped(1, 1, 1, 1).AsInt16x16())
					p2 := q2.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 196)))).DotProductPairs(thi.PermuteScalarsGrouped(2, 2, 2, 2).AsInt16x16())
					p3 := q3.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 228)))).DotProductPairs(thi.PermuteScalarsGrouped(3, 3, 3, 3).AsInt16x16())
					s1 = p0.Add(p1).Add(p2.Add(p3))
				}
				sumi := s0.Add(s1).Sub(off)
				d := archsimd.LoadFloat32x4Slice(dscale[i:]).Broadcast1To8()
				acc = sumi.ConvertToFloat32().MulAdd(d, acc)
			}
		}
		dst[r] = hsum(acc)
	}
}

// rowsQ6_KBatch is rowsQ6_K for a batch of activation vectors, as
// rowsQ4_KBatch is for rowsQ4_K: each weight block's 6-bit values and
// spread scales are decoded once and used for every vector, with the same
// floating-point operations per vector as rowsQ6_K (same results, bit for
// bit).
func rowsQ6_KBatch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // see rowsQ4_K
	nv := len(ps)
	var hd [kchunk]uint32
	var wd [kchunk + 8]float32
	scales := make([]float32, nv*(kchunk+8))
	accs := make([]float32, nv*8)
	var b [16]int8
	nb := m.Cols / 256
	hc := newHalfConsts()
	m4 := archsimd.BroadcastUint8x32(0x0f)
	m2 := archsimd.BroadcastUint8x32(3)
	two, four, six := archsimd.BroadcastUint32x8(2), archsimd.BroadcastUint32x8(4), archsimd.BroadcastUint32x8(6)
	var shuf [8]archsimd.Int8x16 // as in rowsQ6_K
	for k := range shuf {
		for i := range 8 {
			b[i], b[8+i] = int8(2*k), int8(2*k+1)
		}
		shuf[k] = archsimd.LoadInt8x16(&b)
	}
	five := archsimd.BroadcastUint32x8(5)
	zero := archsimd.Float32x8{}
	for r := lo; r < hi; r++ {
		row := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
		w := unsafe.Slice((*blockQ6K)(unsafe.Pointer(unsafe.SliceData(row))), nb)
		for v := range nv {
			zero.StoreSlice(accs[8*v:])
		}
		for c := 0; c < nb; c += kchunk {
			n := min(kchunk, nb-c)
			w := w[c : c+n]
			archsimd.ClearAVXUpperBits() // scalar pass next: see hsum
			for i := range w {
				hd[i] = uint32(w[i].d[0]) | uint32(w[i].d[1])<<8
			}
			for i := 0; i < n; i += 8 {
				half8(archsimd.LoadUint32x8Slice(hd[i:]), &hc).StoreSlice(wd[i:])
			}
			for v := range nv {
				ds, kd := scales[v*(kchunk+8):], ps[v].kd[c:]
				for i := 0; i < n; i += 8 {
					archsimd.LoadFloat32x8Slice(wd[i:]).Mul(archsimd.LoadFloat32x8Slice(kd[i:])).StoreSlice(ds[i:])
				}
			}
			for i := range w {
				blk := &w[i]
				sc := archsimd.LoadInt8x16(&blk.scales)
				sc16 := sc.ExtendToInt16()
				var qv [8]archsimd.Uint8x32
				var ws [8]archsimd.Int16x16
				for h := range 2 {
					ql1 := archsimd.LoadUint8x32((*[32]uint8)(blk.ql[64*h:]))
					ql2 := archsimd.LoadUint8x32((*[32]uint8)(blk.ql[64*h+32:]))
					qh := archsimd.LoadUint8x32((*[32]uint8)(blk.qh[32*h:]))
					qh32 := qh.AsUint32x8()
					h0 := qh.And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h1 := qh32.ShiftRight(two).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h2 := qh32.ShiftRight(four).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h3 := qh32.ShiftRight(six).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					qv[4*h] = ql1.And(m4).Or(h0)
					qv[4*h+1] = ql2.And(m4).Or(h1)
					qv[4*h+2] = ql1.AsUint32x8().ShiftRight(four).AsUint8x32().And(m4).Or(h2)
					qv[4*h+3] = ql2.AsUint32x8().ShiftRight(four).AsUint8x32().And(m4).Or(h3)
					for k := range 4 {
						ws[4*h+k] = sc.PermuteOrZero(shuf[4*h+k]).ExtendToInt16()
					}
				}
				for v := range nv {
					q := &ps[v].q8k[c+i]
					// The stored values are q+32: take 32·Σ scale·(16-value sum) off.
					off := sc16.DotProductPairs(archsimd.LoadInt16x16(&q.bsums))
					sumi := archsimd.Int32x8{}.Sub(off.AsUint32x8().ShiftLeft(five).AsInt32x8())
					for k := range 8 {
						x8 := archsimd.LoadInt8x32((*[32]int8)(q.qs[32*k:]))
						sumi = sumi.Add(qv[k].DotProductPairsSaturated(x8).DotProductPairs(ws[k]))
					}
					ds := scales[v*(kchunk+8):]
					acc := sumi.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(ds[i:]).Broadcast1To8(), archsimd.LoadFloat32x8Slice(accs[8*v:]))
					acc.StoreSlice(accs[8*v:])
				}
			}
		}
		for v := range nv {
			dst[v][r] = hsum(archsimd.LoadFloat32x8Slice(accs[8*v:]))
		}
	}
}

