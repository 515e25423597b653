//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// blockQ4_0 is ggml's block_q4_0 (18 bytes), read in place from a mapping:
// value j of the block is (qs[j]&15 − 8)·d and value j+16 is
// (qs[j]>>4 − 8)·d.
type blockQ4_0 struct {
	d  uint16
	qs [16]uint8
}

// q4Order is the order in which a group of eight Q4_0 blocks comes out of
// rowsQ4_0's reduction (see there); prepQ8_0 lays the activations' scales
// out in it.
var q4Order = [8]int{0, 2, 4, 6, 1, 3, 5, 7}

// rowsQ4_0One multiplies rows lo..hi-1 of a Q4_0 matrix with Q8_0
// activations, as llama.cpp does, but with the nibbles taken as unsigned
// (VPMADDUBSW of 0..15 with the activations) and the −8 applied once per
// block through the activations' sums (prepQ8_0). Two blocks at a time:
// two loads and one VPERM2I128 put their 16 bytes side by side, the low
// and high nibbles multiply the activations laid out to match (q8[n8:]),
// and one VPMADDWD leaves block i's sum in lanes 0..3 and block i+1's in
// lanes 4..7. Four such pairs reduce with three VPHADDD to one vector
// whose lanes are the eight blocks' sums in q4Order, which is scaled by the
// weights' scales (fp16 converted in a vector, halfConv) and the
// activations' (with the −8 terms, q8d[n8:]) in two FMAs. A row's last
// partial group is copied into a zeroed buffer first.
func rowsQ4_0One(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	var tail [2][8]blockQ4_0
	var hd [2][8]int32
	nb := m.Cols / 32
	n8 := (nb + 7) &^ 7
	ones := archsimd.BroadcastInt16x16(1)
	low := archsimd.BroadcastUint8x32(0x0f)
	hc := newHalfConv()
	x := p.q8[n8 : 2*n8]
	xd, xc := p.q8d[n8:2*n8], p.q8d[2*n8:3*n8]
	// group: as in rowsQ8_0One.
	group := func(r, g int, t *[8]blockQ4_0) unsafe.Pointer {
		pw := unsafe.Pointer(&m.Data[r*m.rowBytes+18*g])
		if nb-g >= 8 {
			return pw
		}
		archsimd.ClearAVXUpperBits() // legacy-SSE copy next: see hsum
		*t = [8]blockQ4_0{}
		copy(t[:], unsafe.Slice((*blockQ4_0)(pw), nb-g))
		return unsafe.Pointer(t)
	}
	if lo >= hi || nb == 0 {
		clear(dst[lo:hi])
		return
	}
	// Scales are gathered one group ahead, as in rowsQ8_0One.
	k := 0
	pw := group(lo, 0, &tail[0])
	gatherQ4_0(&hd[0], pw)
	for r := lo; r < hi; r++ {
		acc := archsimd.Float32x8{}
		// px walks the activations' groups, as in rowsQ8_0One.
		px := unsafe.Pointer(&x[0])
		for g := 0; g < nb; g += 8 {
			if g > 0 {
				px = unsafe.Add(px, 8*34)
			}
			var next unsafe.Pointer
			if g+8 < nb {
				next = group(r, g+8, &tail[(k+1)&1])
			} else if r+1 < hi {
				next = group(r+1, 0, &tail[(k+1)&1])
			}
			if next != nil {
				gatherQ4_0(&hd[(k+1)&1], next)
			}
			h01 := q4Pair(pw, px, 0, low, ones).AddPairsGrouped(q4Pair(pw, px, 1, low, ones))
			h23 := q4Pair(pw, px, 2, low, ones).AddPairsGrouped(q4Pair(pw, px, 3, low, ones))
			s := h01.AddPairsGrouped(h23).ConvertToFloat32()
			t := s.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(xd[g:g+8])), archsimd.LoadFloat32x8((*[8]float32)(xc[g:g+8])))
			acc = t.MulAdd(hc.conv(archsimd.LoadInt32x8(&hd[k&1])), acc)
			pw = next
			k++
		}
		dst[r] = hsum(acc)
	}
}

// gatherQ4_0 stores the fp16 scales of the eight Q4_0 blocks at pw,
// sign-extended, in hd in q4Order.
func gatherQ4_0(hd *[8]int32, pw unsafe.Pointer) {
	hd[0], hd[1] = int32(*(*int16)(pw)), int32(*(*int16)(unsafe.Add(pw, 36)))
	hd[2], hd[3] = int32(*(*int16)(unsafe.Add(pw, 72))), int32(*(*int16)(unsafe.Add(pw, 108)))
	hd[4], hd[5] = int32(*(*int16)(unsafe.Add(pw, 18))), int32(*(*int16)(unsafe.Add(pw, 54)))
	hd[6], hd[7] = int32(*(*int16)(unsafe.Add(pw, 90))), int32(*(*int16)(unsafe.Add(pw, 126)))
}

// q4Pair returns the integer dot products of Q4_0 blocks 2k and 2k+1 at pw
// with the activations at px (Q4_0 layout), block 2k's in lanes 0..3 and
// block 2k+1's in lanes 4..7, the nibbles taken as 0..15.
func q4Pair(pw, px unsafe.Pointer, k uintptr, low archsimd.Uint8x32, ones archsimd.Int16x16) archsimd.Int32x8 {
	// a's low half is block 2k's qs; b's high half is block 2k+1's qs (it
	// starts 16 bytes before them, inside block 2k). Neither reads past
	// block 2k+1.
	a := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pw, 36*k+2)))
	b := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pw, 36*k+4)))
	v := a.Select128FromPair(0, 3, b)
	lo := v.And(low)
	// An arithmetic shift (the mask drops the sign bits): Go 1.26 compiles
	// Uint16x16.ShiftAllRight(4) with the count moved into an X register by
	// a legacy-SSE MOVQ, which costs the dirty-upper-state penalty (see
	// hsum) on every group; Int16x16's takes an immediate.
	hi := v.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(low)
	xl := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, 68*k+2)))
	xh := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, 68*k+36)))
	return lo.DotProductPairsSaturated(xl).Add(hi.DotProductPairsSaturated(xh)).DotProductPairs(ones)
}

// rowsQ4_0Batch is rowsQ4_0One for a batch of activation vectors, two at a
// time (rowsQ4_0x2: each weight pair's nibbles are unpacked and each
// group's scales converted once for both), as rowsQ8_0Batch does for
// Q8_0; every result equals MatVec's bit for bit.
func rowsQ4_0Batch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	for t := lo; t < hi; t += batchTile {
		te := min(t+batchTile, hi)
		b := 0
		for ; b+2 <= len(ps); b += 2 {
			rowsQ4_0x2(dst[b], dst[b+1], m, &ps[b], &ps[b+1], t, te)
		}
		if b < len(ps) {
			rowsQ4_0One(dst[b], m, &ps[b], t, te)
		}
	}
}

// rowsQ4_0x2 is rowsQ4_0One for two activation vectors, p into dst and q
// into dsq.
func rowsQ4_0x2(dst, dsq []float32, m Matrix, p, q *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	var tail [2][8]blockQ4_0
	var hd [2][8]int32
	nb := m.Cols / 32
	n8 := (nb + 7) &^ 7
	ones := archsimd.BroadcastInt16x16(1)
	low := archsimd.BroadcastUint8x32(0x0f)
	hc := newHalfConv()
	x, y := p.q8[n8:2*n8], q.q8[n8:2*n8]
	xd, xc := p.q8d[n8:2*n8], p.q8d[2*n8:3*n8]
	yd, yc := q.q8d[n8:2*n8], q.q8d[2*n8:3*n8]
	group := func(r, g int, t *[8]blockQ4_0) unsafe.Pointer {
		pw := unsafe.Pointer(&m.Data[r*m.rowBytes+18*g])
		if nb-g >= 8 {
			return pw
		}
		archsimd.ClearAVXUpperBits() // legacy-SSE copy next: see hsum
		*t = [8]blockQ4_0{}
		copy(t[:], unsafe.Slice((*blockQ4_0)(pw), nb-g))
		return unsafe.Pointer(t)
	}
	if lo >= hi || nb == 0 {
		clear(dst[lo:hi])
		clear(dsq[lo:hi])
		return
	}
	k := 0
	pw := group(lo, 0, &tail[0])
	gatherQ4_0(&hd[0], pw)
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
				gatherQ4_0(&hd[(k+1)&1], next)
			}
			a0, b0 := q4Pair2(pw, px, py, 0, low, ones)
			a1, b1 := q4Pair2(pw, px, py, 1, low, ones)
			a01, b01 := a0.AddPairsGrouped(a1), b0.AddPairsGrouped(b1)
			a0, b0 = q4Pair2(pw, px, py, 2, low, ones)
			a1, b1 = q4Pair2(pw, px, py, 3, low, ones)
			sa := a01.AddPairsGrouped(a0.AddPairsGrouped(a1)).ConvertToFloat32()
			sb := b01.AddPairsGrouped(b0.AddPairsGrouped(b1)).ConvertToFloat32()
			dw := hc.conv(archsimd.LoadInt32x8(&hd[k&1]))
			ta := sa.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(xd[g:g+8])), archsimd.LoadFloat32x8((*[8]float32)(xc[g:g+8])))
			tb := sb.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(yd[g:g+8])), archsimd.LoadFloat32x8((*[8]float32)(yc[g:g+8])))
			acc = ta.MulAdd(dw, acc)
			acq = tb.MulAdd(dw, acq)
			pw = next
			k++
		}
		dst[r] = hsum(acc)
		dsq[r] = hsum(acq)
	}
}

// q4Pair2 is q4Pair for two activation vectors.
func q4Pair2(pw, px, py unsafe.Pointer, k uintptr, low archsimd.Uint8x32, ones archsimd.Int16x16) (archsimd.Int32x8, archsimd.Int32x8) {
	a := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pw, 36*k+2)))
	b := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pw, 36*k+4)))
	v := a.Select128FromPair(0, 3, b)
	lo := v.And(low)
	hi := v.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(low)
	xl := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, 68*k+2)))
	xh := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, 68*k+36)))
	yl := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(py, 68*k+2)))
	yh := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(py, 68*k+36)))
	return lo.DotProductPairsSaturated(xl).Add(hi.DotProductPairsSaturated(xh)).DotProductPairs(ones),
		lo.DotProductPairsSaturated(yl).Add(hi.DotProductPairsSaturated(yh)).DotProductPairs(ones)
}

// rowsQ4_0 multiplies rows lo..hi-1 of a Q4_0 matrix with Q8_0
// activations. Every row gets exactly rowsQ4_0One's result, bit for bit:
// rowsQ4_0Four when there are four rows or more, otherwise rowsQ4_0One (a
// few rows, or rows shorter than a group).
func rowsQ4_0(dst []float32, m Matrix, p *prepared, lo, hi int) {
	if hi-lo >= 4 && m.Cols >= 8*32 {
		rowsQ4_0Four(dst, m, p, lo, hi)
		return
	}
	rowsQ4_0One(dst, m, p, lo, hi)
}

// q4Chunk is how many groups of eight blocks rowsQ4_0Four's two pairs of
// rows take in turn.
const q4Chunk = 4

// rowsQ4_0Four walks the four quarters of the range in step (rows lo+i,
// lo+q+i, lo+2q+i, lo+3q+i): two pairs of rows take turns every q4Chunk
// groups of eight blocks through q4GroupsTwo, four memory streams per
// thread (as rowsQ8_0Four). Per row the float operations are rowsQ4_0One's,
// in the same order.
// The rows left over (at most three) go to rowsQ4_0One.
func rowsQ4_0Four(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	nb := m.Cols / 32
	q := (hi - lo) / 4
	if nb == 0 || q == 0 {
		rowsQ4_0One(dst, m, p, lo, hi)
		return
	}
	if rest := lo + 4*q; rest < hi {
		rowsQ4_0One(dst, m, p, rest, hi)
		archsimd.ClearAVXUpperBits()
	}
	var tail [4][8]blockQ4_0
	nf := nb / 8 // whole groups; a partial last one is copied into tail
	n8 := (nb + 7) &^ 7
	x := p.q8[n8 : 2*n8]
	xd, xc := p.q8d[n8:2*n8], p.q8d[2*n8:3*n8]
	hc := newHalfConv()
	for i := range q {
		r0, r1, r2, r3 := lo+i, lo+q+i, lo+2*q+i, lo+3*q+i
		var a0, a1, a2, a3 archsimd.Float32x8
		for c := 0; c < nf; c += q4Chunk {
			n := min(q4Chunk, nf-c)
			px := unsafe.Pointer(&x[8*c])
			pd, po := (*[8]float32)(xd[8*c:]), (*[8]float32)(xc[8*c:])
			o := 18 * 8 * c
			a0, a1 = q4GroupsTwo(unsafe.Pointer(&m.Data[r0*m.rowBytes+o]), unsafe.Pointer(&m.Data[r1*m.rowBytes+o]), px, pd, po, n, &hc, a0, a1)
			a2, a3 = q4GroupsTwo(unsafe.Pointer(&m.Data[r2*m.rowBytes+o]), unsafe.Pointer(&m.Data[r3*m.rowBytes+o]), px, pd, po, n, &hc, a2, a3)
		}
		if g := 8 * nf; g < nb {
			archsimd.ClearAVXUpperBits() // legacy-SSE copy next: see hsum
			tail = [4][8]blockQ4_0{}
			for j, r := range [4]int{r0, r1, r2, r3} {
				copy(tail[j][:], unsafe.Slice((*blockQ4_0)(unsafe.Pointer(&m.Data[r*m.rowBytes+18*g])), nb-g))
			}
			px := unsafe.Pointer(&x[g])
			pd, po := (*[8]float32)(xd[g:]), (*[8]float32)(xc[g:])
			a0, a1 = q4GroupsTwo(unsafe.Pointer(&tail[0]), unsafe.Pointer(&tail[1]), px, pd, po, 1, &hc, a0, a1)
			a2, a3 = q4GroupsTwo(unsafe.Pointer(&tail[2]), unsafe.Pointer(&tail[3]), px, pd, po, 1, &hc, a2, a3)
		}
		dst[r0] = hsum(a0)
		dst[r1] = hsum(a1)
		dst[r2] = hsum(a2)
		dst[r3] = hsum(a3)
	}
}

// q4GroupsTwo adds n consecutive groups of eight blocks of two rows (at pw
// and pv, read in place) times the activations' groups at px (scales at pd,
// −8 terms at po) into acc and acq, with rowsQ4_0One's float operations.
// Each group's weight scales are gathered one group ahead.
func q4GroupsTwo(pw, pv, px unsafe.Pointer, pd, po *[8]float32, n int, hc *halfConv, acc, acq archsimd.Float32x8) (archsimd.Float32x8, archsimd.Float32x8) {
	var hd, hdB [2][8]int32
	ones := archsimd.BroadcastInt16x16(1)
	low := archsimd.BroadcastUint8x32(0x0f)
	gatherQ4_0(&hd[0], pw)
	gatherQ4_0(&hdB[0], pv)
	for k := range n {
		if k > 0 { // never past the last group: checkptr, and the matrix may end there
			pw, pv, px = unsafe.Add(pw, 8*18), unsafe.Add(pv, 8*18), unsafe.Add(px, 8*34)
		}
		if k+1 < n {
			gatherQ4_0(&hd[(k+1)&1], unsafe.Add(pw, 8*18))
			gatherQ4_0(&hdB[(k+1)&1], unsafe.Add(pv, 8*18))
		}
		a0, b0 := q4PairTwo(pw, pv, px, 0, low, ones)
		a1, b1 := q4PairTwo(pw, pv, px, 1, low, ones)
		a01, b01 := a0.AddPairsGrouped(a1), b0.AddPairsGrouped(b1)
		a0, b0 = q4PairTwo(pw, pv, px, 2, low, ones)
		a1, b1 = q4PairTwo(pw, pv, px, 3, low, ones)
		sa := a01.AddPairsGrouped(a0.AddPairsGrouped(a1)).ConvertToFloat32()
		sb := b01.AddPairsGrouped(b0.AddPairsGrouped(b1)).ConvertToFloat32()
		xs := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(unsafe.Pointer(pd), 32*k)))
		xo := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(unsafe.Pointer(po), 32*k)))
		acc = sa.MulAdd(xs, xo).MulAdd(hc.conv(archsimd.LoadInt32x8(&hd[k&1])), acc)
		acq = sb.MulAdd(xs, xo).MulAdd(hc.conv(archsimd.LoadInt32x8(&hdB[k&1])), acq)
	}
	return acc, acq
}

// q4PairTwo is q4Pair for two weight rows and one activation vector.
func q4PairTwo(pw, pv, px unsafe.Pointer, k uintptr, low archsimd.Uint8x32, ones archsimd.Int16x16) (archsimd.Int32x8, archsimd.Int32x8) {
	xl := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, 68*k+2)))
	xh := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, 68*k+36)))
	v := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pw, 36*k+2))).Select128FromPair(0, 3, archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pw, 36*k+4))))
	u := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pv, 36*k+2))).Select128FromPair(0, 3, archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pv, 36*k+4))))
	a := v.And(low).DotProductPairsSaturated(xl).Add(v.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(low).DotProductPairsSaturated(xh)).DotProductPairs(ones)
	b := u.And(low).DotProductPairsSaturated(xl).Add(u.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(low).DotProductPairsSaturated(xh)).DotProductPairs(ones)
	return a, b
}
