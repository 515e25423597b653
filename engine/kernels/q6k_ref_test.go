//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// The Q6_K kernels as of commit 10893f2, kept to check the new ones bit for bit and to time them side by side.

// rowsQ6_K multiplies rows lo..hi-1 of a Q6_K matrix with Q8_K activations.
func rowsQ6_KRef(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // see rowsQ4_K
	var hd [kchunk]uint32
	var dscale [kchunk + 8]float32
	var b [16]int8
	nb := m.Cols / 256
	hc := newHalfConsts()
	m4 := archsimd.BroadcastUint8x32(0x0f)
	m2 := archsimd.BroadcastUint8x32(3)
	two, four, six := archsimd.BroadcastUint32x8(2), archsimd.BroadcastUint32x8(4), archsimd.BroadcastUint32x8(6)
	// shuf[k] spreads scales 2k and 2k+1 over eight bytes each (ggml
	// get_scale_shuffle), for the 32 values of one VPMADDUBSW.
	var shuf [8]archsimd.Int8x16
	for k := range shuf {
		for i := range 8 {
			b[i], b[8+i] = int8(2*k), int8(2*k+1)
		}
		shuf[k] = archsimd.LoadInt8x16(&b)
	}
	five := archsimd.BroadcastUint32x8(5)
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
			for i := range w {
				b, q := &w[i], &x[i]
				sc := archsimd.LoadInt8x16(&b.scales)
				// The stored values are q+32: take 32·Σ scale·(16-value sum) off.
				off := sc.ExtendToInt16().DotProductPairs(archsimd.LoadInt16x16(&q.bsums))
				sumi := archsimd.Int32x8{}.Sub(off.AsUint32x8().ShiftLeft(five).AsInt32x8())
				// Both halves unrolled (constant offsets: nothing spilled).
				{
					ql1 := archsimd.LoadUint8x32((*[32]uint8)(b.ql[0:]))
					ql2 := archsimd.LoadUint8x32((*[32]uint8)(b.ql[32:]))
					qh := archsimd.LoadUint8x32((*[32]uint8)(b.qh[0:]))
					qh32 := qh.AsUint32x8()
					h0 := qh.And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h1 := qh32.ShiftRight(two).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h2 := qh32.ShiftRight(four).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h3 := qh32.ShiftRight(six).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					q0 := ql1.And(m4).Or(h0)
					q1 := ql2.And(m4).Or(h1)
					q2 := ql1.AsUint32x8().ShiftRight(four).AsUint8x32().And(m4).Or(h2)
					q3 := ql2.AsUint32x8().ShiftRight(four).AsUint8x32().And(m4).Or(h3)
					x8 := q.qs[0:]
					p0 := q0.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x8[0:]))).DotProductPairs(sc.PermuteOrZero(shuf[0]).ExtendToInt16())
					p1 := q1.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x8[32:]))).DotProductPairs(sc.PermuteOrZero(shuf[1]).ExtendToInt16())
					p2 := q2.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x8[64:]))).DotProductPairs(sc.PermuteOrZero(shuf[2]).ExtendToInt16())
					p3 := q3.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x8[96:]))).DotProductPairs(sc.PermuteOrZero(shuf[3]).ExtendToInt16())
					sumi = sumi.Add(p0.Add(p1)).Add(p2.Add(p3))
				}
				{
					ql1 := archsimd.LoadUint8x32((*[32]uint8)(b.ql[64:]))
					ql2 := archsimd.LoadUint8x32((*[32]uint8)(b.ql[96:]))
					qh := archsimd.LoadUint8x32((*[32]uint8)(b.qh[32:]))
					qh32 := qh.AsUint32x8()
					h0 := qh.And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h1 := qh32.ShiftRight(two).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h2 := qh32.ShiftRight(four).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					h3 := qh32.ShiftRight(six).AsUint8x32().And(m2).AsUint32x8().ShiftLeft(four).AsUint8x32()
					q0 := ql1.And(m4).Or(h0)
					q1 := ql2.And(m4).Or(h1)
					q2 := ql1.AsUint32x8().ShiftRight(four).AsUint8x32().And(m4).Or(h2)
					q3 := ql2.AsUint32x8().ShiftRight(four).AsUint8x32().And(m4).Or(h3)
					x8 := q.qs[128:]
					p0 := q0.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x8[0:]))).DotProductPairs(sc.PermuteOrZero(shuf[4]).ExtendToInt16())
					p1 := q1.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x8[32:]))).DotProductPairs(sc.PermuteOrZero(shuf[5]).ExtendToInt16())
					p2 := q2.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x8[64:]))).DotProductPairs(sc.PermuteOrZero(shuf[6]).ExtendToInt16())
					p3 := q3.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x8[96:]))).DotProductPairs(sc.PermuteOrZero(shuf[7]).ExtendToInt16())
					sumi = sumi.Add(p0.Add(p1)).Add(p2.Add(p3))
				}
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
func rowsQ6_KBatchRef(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
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
