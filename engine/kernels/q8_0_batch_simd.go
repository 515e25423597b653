//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// rowsQ8_0Batch is rowsQ8_0One for a batch of activation vectors: tiles of
// batchTile rows are multiplied with two vectors at a time (rowsQ8_0x2),
// which load each weight block, take its absolute value and convert its
// scale once for both; an odd last vector goes through rowsQ8_0One. Per
// vector the float operations are rowsQ8_0One's, in the same order, so every
// result equals MatVec's bit for bit.
func rowsQ8_0Batch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	for t := lo; t < hi; t += batchTile {
		te := min(t+batchTile, hi)
		b := 0
		for ; b+2 <= len(ps); b += 2 {
			rowsQ8_0x2(dst[b], dst[b+1], m, &ps[b], &ps[b+1], t, te)
		}
		if b < len(ps) {
			rowsQ8_0One(dst[b], m, &ps[b], t, te)
		}
	}
}

// rowsQ8_0x2 is rowsQ8_0One for two activation vectors, p into dst and q
// into dsq.
func rowsQ8_0x2(dst, dsq []float32, m Matrix, p, q *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	var tail [2][8]blockQ8_0
	var hd [2][8]int32
	nb := m.Cols / 32
	n8 := (nb + 7) &^ 7
	ones := archsimd.BroadcastInt16x16(1)
	hc := newHalfConv()
	x, y := p.q8[:n8], q.q8[:n8]
	xd, yd := p.q8d[:n8], q.q8d[:n8]
	group := func(r, g int, t *[8]blockQ8_0) unsafe.Pointer {
		pw := unsafe.Pointer(&m.Data[r*m.rowBytes+34*g])
		if nb-g >= 8 {
			return pw
		}
		archsimd.ClearAVXUpperBits() // legacy-SSE copy next: see hsum
		*t = [8]blockQ8_0{}
		copy(t[:], unsafe.Slice((*blockQ8_0)(pw), nb-g))
		return unsafe.Pointer(t)
	}
	if lo >= hi || nb == 0 {
		clear(dst[lo:hi])
		clear(dsq[lo:hi])
		return
	}
	k := 0
	pw := group(lo, 0, &tail[0])
	gatherQ8_0(&hd[0], pw)
	for r := lo; r < hi; r++ {
		acc, acq := archsimd.Float32x8{}, archsimd.Float32x8{}
		px, py := unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0])
		for g := 0; g < nb; g += 8 {
			if g > 0 {
				px, py = unsafe.Add(px, 8*34), unsafe.Add(py, 8*34)
			}
			var next unsafe.Pointer
			if g+8 < nb {
				next = group(r, g+8, &tail[(k+1)&1])
			} else if r+1 < hi {
				next = group(r+1, 0, &tail[(k+1)&1])
			}
			if next != nil {
				gatherQ8_0(&hd[(k+1)&1], next)
			}
			a0, b0 := q8Dot2(pw, px, py, 0, ones)
			a1, b1 := q8Dot2(pw, px, py, 34, ones)
			a01, b01 := a0.AddPairsGrouped(a1), b0.AddPairsGrouped(b1)
			a0, b0 = q8Dot2(pw, px, py, 68, ones)
			a1, b1 = q8Dot2(pw, px, py, 102, ones)
			a03, b03 := a01.AddPairsGrouped(a0.AddPairsGrouped(a1)), b01.AddPairsGrouped(b0.AddPairsGrouped(b1))
			a0, b0 = q8Dot2(pw, px, py, 136, ones)
			a1, b1 = q8Dot2(pw, px, py, 170, ones)
			a45, b45 := a0.AddPairsGrouped(a1), b0.AddPairsGrouped(b1)
			a0, b0 = q8Dot2(pw, px, py, 204, ones)
			a1, b1 = q8Dot2(pw, px, py, 238, ones)
			a47, b47 := a45.AddPairsGrouped(a0.AddPairsGrouped(a1)), b45.AddPairsGrouped(b0.AddPairsGrouped(b1))
			dw := hc.conv(archsimd.LoadInt32x8(&hd[k&1]))
			acc = q8Reduce(a03, a47).ConvertToFloat32().MulAdd(dw.Mul(archsimd.LoadFloat32x8((*[8]float32)(xd[g:g+8]))), acc)
			acq = q8Reduce(b03, b47).ConvertToFloat32().MulAdd(dw.Mul(archsimd.LoadFloat32x8((*[8]float32)(yd[g:g+8]))), acq)
			pw = next
			k++
		}
		dst[r] = hsum(acc)
		dsq[r] = hsum(acq)
	}
}

// q8Dot2 is q8Dot for one weight block and two activation vectors.
func q8Dot2(pw, px, py unsafe.Pointer, off uintptr, ones archsimd.Int16x16) (archsimd.Int32x8, archsimd.Int32x8) {
	qw := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pw, off+2)))
	aw := qw.Abs().AsUint8x32()
	qx := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, off+2)))
	qy := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(py, off+2)))
	return aw.DotProductPairsSaturated(qx.CopySign(qw)).DotProductPairs(ones), aw.DotProductPairsSaturated(qy.CopySign(qw)).DotProductPairs(ones)
}
