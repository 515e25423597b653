//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"sync"
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
	q6kHas512 = archsimd.X86.AVX512()
	q6kUse512 = q6kHas512
)

// q6kEvenOdd orders a block's 16 scale bytes evens first, then odds: sign
// extended to 16 bits, the low 128-bit half then holds the scales of the
// even sub-blocks (the first 16 values of each 32) and the high half those
// of the odd ones, as VPMADDUBSW's output is laid out.
var q6kEvenOdd = [16]int8{0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15}

// q6kSpread[k] copies 16-bit lane k of each 128-bit half into all of that
// half (VPSHUFB): the scales of sub-blocks 2k and 2k+1 for one VPMADDWD.
var q6kSpread = func() (s [8][32]int8) {
	for k := range s {
		for i := 0; i < 32; i += 2 {
			s[k][i], s[k][i+1] = int8(2*k), int8(2*k+1)
		}
	}
	return s
}()

// q6kGroup is how many blocks rowsQ6_KBatch's scale pass converts at once,
// and how many blocks of a row q6kBlocks handles per call.
const q6kGroup = 256

// q6kHalfTable maps fp16 bit patterns to float32, padded so that a 4-lane
// load at any index stays inside: q6kBlocks reads each block's scale from it
// with a vector load (256 KB, mostly cold: a model's scales take few
// values) instead of a separate pass over the rows, whose loads would be
// the first to touch each block's memory. It is filled with integer code
// only (no legacy-SSE float moves, see hsum).
var q6kHalfTable = sync.OnceValue(func() *[1<<16 + 4]float32 {
	t := new([1<<16 + 4]float32)
	u := (*[1<<16 + 4]uint32)(unsafe.Pointer(t))
	for i := range 1 << 16 {
		u[i] = q6kHalfBits(uint16(i))
	}
	return t
})

// q6kHalfBits is math.Float32bits(halfToFloat(h)) in integer arithmetic.
func q6kHalfBits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return sign | 0x7f800000 | mant<<13
	case exp == 0 && mant == 0:
		return sign
	case exp == 0:
		// Subnormal, mant·2^-24: normalise (2^-14 has biased exponent 113).
		e := uint32(113)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return sign | e<<23 | (mant&0x3ff)<<13
	}
	return sign | (exp+112)<<23 | mant<<13
}

// rowsQ6_K multiplies rows lo..hi-1 of a Q6_K matrix with Q8_K activations:
// q6kBlocks (or q6kBlocks512) per row. The float operations per block are
// those of the first version of this kernel (kept in q6k_ref_test.go):
// d = half(d)·(activation scale), acc = float(sum)·d + acc.
//
// Several rows are walked in step, each with its own accumulator and the
// float operations of the one-row kernel in the same order (the same
// results, bit for bit): rowsQ6_KFour when a row is at most q6kGroup
// blocks and there are four rows or more, otherwise rowsQ6_KOne.
func rowsQ6_K(dst []float32, m Matrix, p *prepared, lo, hi int) {
	if m.Cols/256 <= q6kGroup && hi-lo >= 4 {
		rowsQ6_KFour(dst, m, p, lo, hi)
		return
	}
	rowsQ6_KOne(dst, m, p, lo, hi)
}

// q6kChunk is how many blocks rowsQ6_KFour's two pairs of rows take in
// turn.
const q6kChunk = 4

// rowsQ6_KFour walks the four quarters of the range in step (rows lo+i,
// lo+q+i, lo+2q+i, lo+3q+i): two pairs of rows take turns every q6kChunk
// blocks through q6kBlocksTwo (or q6kBlocks512Two), four memory streams
// per thread. On 40 distinct 2048×5632 matrices with two threads
// (TestQ6KStreamTiming) it took 10-15 % less time than two rows in step,
// which took 10-20 % less than rowsQ6_KOne. The rows left over (at most
// three) go to rowsQ6_KOne.
func rowsQ6_KFour(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // see rowsQ4_K
	nb := m.Cols / 256
	q := (hi - lo) / 4
	if nb == 0 || q == 0 || nb > q6kGroup {
		rowsQ6_KOne(dst, m, p, lo, hi)
		return
	}
	if rest := lo + 4*q; rest < hi {
		rowsQ6_KOne(dst, m, p, rest, hi)
		archsimd.ClearAVXUpperBits()
	}
	tab := q6kHalfTable()
	var kd [2*q6kGroup + 8]float32 // padded: blocks reads kd[c:] as a q6kGroup+8 array
	blocks := q6kBlocksTwo
	if q6kUse512 {
		blocks = q6kBlocks512Two
	}
	x := p.q8k[:nb]
	for i := 0; i < nb; i += 8 {
		archsimd.LoadFloat32x8Slice(p.kd[i:]).StoreSlice(kd[i:])
	}
	for i := range q {
		r0, r1, r2, r3 := lo+i, lo+q+i, lo+2*q+i, lo+3*q+i
		var a0, a1, a2, a3 archsimd.Float32x8
		for c := 0; c < nb; c += q6kChunk {
			n := min(q6kChunk, nb-c)
			k := (*[q6kGroup + 8]float32)(kd[c:])
			px := unsafe.Pointer(&x[c])
			a0, a1 = blocks(unsafe.Pointer(&m.Data[r0*m.rowBytes+210*c]), unsafe.Pointer(&m.Data[r1*m.rowBytes+210*c]), px, tab, k, n, a0, a1)
			a2, a3 = blocks(unsafe.Pointer(&m.Data[r2*m.rowBytes+210*c]), unsafe.Pointer(&m.Data[r3*m.rowBytes+210*c]), px, tab, k, n, a2, a3)
		}
		dst[r0] = hsum(a0)
		dst[r1] = hsum(a1)
		dst[r2] = hsum(a2)
		dst[r3] = hsum(a3)
	}
}

// rowsQ6_KOne is rowsQ6_K one row at a time (q6kBlocks or q6kBlocks512).
func rowsQ6_KOne(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // see rowsQ4_K
	nb := m.Cols / 256
	if nb == 0 || lo >= hi {
		return
	}
	tab := q6kHalfTable()
	var kd [q6kGroup + 8]float32 // the activations' block scales, padded
	blocks := q6kBlocks
	if q6kUse512 {
		blocks = q6kBlocks512
	}
	x := p.q8k[:nb]
	px := unsafe.Pointer(&x[0])
	if nb <= q6kGroup {
		for i := 0; i < nb; i += 8 {
			archsimd.LoadFloat32x8Slice(p.kd[i:]).StoreSlice(kd[i:])
		}
		for r := lo; r < hi; r++ {
			dst[r] = hsum(blocks(unsafe.Pointer(&m.Data[r*m.rowBytes]), px, tab, &kd, nb, archsimd.Float32x8{}))
		}
		return
	}
	for r := lo; r < hi; r++ {
		w := unsafe.Slice((*blockQ6K)(unsafe.Pointer(&m.Data[r*m.rowBytes])), nb)
		acc := archsimd.Float32x8{}
		for c := 0; c < nb; c += q6kGroup {
			n := min(q6kGroup, nb-c)
			for i := 0; i < n; i += 8 {
				archsimd.LoadFloat32x8Slice(p.kd[c+i:]).StoreSlice(kd[i:])
			}
			acc = blocks(unsafe.Pointer(&w[c]), unsafe.Pointer(&x[c]), tab, &kd, n, acc)
		}
		dst[r] = hsum(acc)
	}
}

// q6kScales converts the fp16 scales of blocks w (at most q6kGroup) into
// dw, in three passes: a scalar gather, then half8 on eight at a time.
func q6kScales(w []blockQ6K, dw *[q6kGroup + 8]float32, hd *[q6kGroup]uint32, hc *halfConsts) {
	archsimd.ClearAVXUpperBits() // scalar pass next: see hsum
	hd2 := hd[:len(w)]
	for i := range hd2 {
		hd2[i] = uint32(w[i].d[0]) | uint32(w[i].d[1])<<8
	}
	for i := 0; i < len(w); i += 8 {
		half8(archsimd.LoadUint32x8Slice(hd[i:]), hc).StoreSlice(dw[i:])
	}
}

// q6kBlocks adds the products of n Q6_K blocks at pb with the Q8_K blocks
// at pq, block i weighted by its fp16 scale (through tab) times kd[i], to
// acc (AVX2).
//
// Per 256-value block: the 6-bit values are put together from the low
// nibbles and high 2-bit pairs with 16-bit immediate shifts and masks (right
// shifts are arithmetic, VPSRAW: the bits shifted in are masked off, and Go
// 1.26 has no immediate form of VPSRLW; it loads the count with a
// legacy-SSE MOVQ, which costs the dirty-upper penalty); the 16 scales are
// sign-extended once (evens in the low half, odds in the high half) and
// spread for each VPMADDWD with one VPSHUFB (q6kSpread); the offset of 32
// is taken off through the activations' 16-value sums. Every operation is a
// direct intrinsic: inlined wrappers such as PermuteScalarsGrouped are
// scheduled after everything else in the block and made the compiler spill.
func q6kBlocks(pb, pq unsafe.Pointer, tab *[1<<16 + 4]float32, kd *[q6kGroup + 8]float32, n int, acc archsimd.Float32x8) archsimd.Float32x8 {
	m4 := archsimd.BroadcastUint8x32(0x0f)
	m30 := archsimd.BroadcastUint8x32(0x30)
	// pb and pq walk the blocks (a pointer register plus constant offsets
	// addresses every load in one instruction); they never step past the
	// last block.
	n = min(n, q6kGroup)
	for i := range n {
		if i > 0 {
			pb, pq = unsafe.Add(pb, 210), unsafe.Add(pq, 292)
		}
		sc := archsimd.LoadInt8x16((*[16]int8)(unsafe.Add(pb, 192)))
		// The stored values are q+32: take 32·Σ scale·(16-value sum) off.
		off := sc.ExtendToInt16().DotProductPairs(archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(pq, 260)))).ShiftAllLeft(5)
		t := sc.PermuteOrZero(archsimd.LoadInt8x16(&q6kEvenOdd)).ExtendToInt16().AsInt8x32()
		var s0, s1 archsimd.Int32x8
		{
			ql1 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 0)))
			ql2 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 32)))
			qh := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 128))).AsUint16x16()
			q0 := ql1.And(m4).Or(qh.ShiftAllLeft(4).AsUint8x32().And(m30))
			q1 := ql2.And(m4).Or(qh.ShiftAllLeft(2).AsUint8x32().And(m30))
			q2 := ql1.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsUint8x32().And(m30))
			q3 := ql2.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsInt16x16().ShiftAllRight(2).AsUint8x32().And(m30))
			p0 := q0.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 4)))).DotProductPairs(t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[0])).AsInt16x16())
			p1 := q1.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 36)))).DotProductPairs(t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[1])).AsInt16x16())
			p2 := q2.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 68)))).DotProductPairs(t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[2])).AsInt16x16())
			p3 := q3.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 100)))).DotProductPairs(t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[3])).AsInt16x16())
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
			p0 := q0.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 132)))).DotProductPairs(t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[4])).AsInt16x16())
			p1 := q1.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 164)))).DotProductPairs(t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[5])).AsInt16x16())
			p2 := q2.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 196)))).DotProductPairs(t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[6])).AsInt16x16())
			p3 := q3.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 228)))).DotProductPairs(t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[7])).AsInt16x16())
			s1 = p0.Add(p1).Add(p2.Add(p3))
		}
		sumi := s0.Add(s1).Sub(off)
		h := *(*uint16)(unsafe.Add(pb, 208))
		dw := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&tab[h]))).Broadcast1To8()
		d := dw.Mul(archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&kd[i]))).Broadcast1To8())
		acc = sumi.ConvertToFloat32().MulAdd(d, acc)
	}
	return acc
}

// q6kBlocks512 is q6kBlocks with 512-bit vectors (AVX-512BW): one
// VPMADDUBSW per 64 values. It adds up exactly the same integers in each of
// the eight 32-bit lanes as q6kBlocks (the two 256-bit halves of each
// 512-bit sum are added), so the float operations and results are the same,
// bit for bit.
//
// For each half block (128 values) the 64 bytes of low nibbles are loaded
// whole: their low nibbles are values 0..63, their high nibbles 64..127.
// The 32 bytes of high bit pairs are copied into both 256-bit halves
// (VPERMQ) and shifted by a different count in each half (VPSLLVW,
// VPSRLVW). The scales are laid out once per block (VPERMW) so that one
// VPSHUFB gives each 128-bit lane (16 values, one sub-block) its scale.
func q6kBlocks512(pb, pq unsafe.Pointer, tab *[1<<16 + 4]float32, kd *[q6kGroup + 8]float32, n int, acc archsimd.Float32x8) archsimd.Float32x8 {
	c := &q6k512
	m4 := archsimd.BroadcastInt8x64(0x0f)
	mlo := archsimd.LoadInt16x32(&c.mlo)
	mhi := archsimd.LoadInt16x32(&c.mhi)
	shl := archsimd.LoadUint16x32(&c.shl)
	shr := archsimd.LoadUint16x32(&c.shr)
	spread := archsimd.LoadUint16x32(&c.spread)
	permA := archsimd.LoadUint64x8(&c.permA)
	permB := archsimd.LoadUint64x8(&c.permB)
	n = min(n, q6kGroup)
	for i := range n {
		if i > 0 {
			pb, pq = unsafe.Add(pb, 210), unsafe.Add(pq, 292)
		}
		// Bytes 176..207: the last 16 high-bit bytes, then the scales.
		t := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pb, 176))).ExtendToInt16()
		off := t.GetHi().DotProductPairs(archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(pq, 260)))).ShiftAllLeft(5)
		s := t.Permute(spread).AsInt8x64()
		qh := archsimd.LoadUint64x8((*[8]uint64)(unsafe.Add(pb, 128)))
		var sum archsimd.Int32x16
		{
			l := archsimd.LoadUint8x64((*[64]uint8)(unsafe.Add(pb, 0)))
			h := qh.Permute(permA).AsInt16x32()
			q0 := l.AsInt8x64().And(m4).Or(h.And(mlo).AsUint16x32().ShiftLeft(shl).AsInt8x64()).AsUint8x64()
			q1 := l.AsInt16x32().ShiftAllRight(4).AsInt8x64().And(m4).Or(h.And(mhi).AsUint16x32().ShiftRight(shr).AsInt8x64()).AsUint8x64()
			p0 := q0.DotProductPairsSaturated(archsimd.LoadInt8x64((*[64]int8)(unsafe.Add(pq, 4)))).DotProductPairs(s.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[0])).AsInt16x32())
			p1 := q1.DotProductPairsSaturated(archsimd.LoadInt8x64((*[64]int8)(unsafe.Add(pq, 68)))).DotProductPairs(s.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[1])).AsInt16x32())
			sum = p0.Add(p1)
		}
		{
			l := archsimd.LoadUint8x64((*[64]uint8)(unsafe.Add(pb, 64)))
			h := qh.Permute(permB).AsInt16x32()
			q0 := l.AsInt8x64().And(m4).Or(h.And(mlo).AsUint16x32().ShiftLeft(shl).AsInt8x64()).AsUint8x64()
			q1 := l.AsInt16x32().ShiftAllRight(4).AsInt8x64().And(m4).Or(h.And(mhi).AsUint16x32().ShiftRight(shr).AsInt8x64()).AsUint8x64()
			p0 := q0.DotProductPairsSaturated(archsimd.LoadInt8x64((*[64]int8)(unsafe.Add(pq, 132)))).DotProductPairs(s.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[2])).AsInt16x32())
			p1 := q1.DotProductPairsSaturated(archsimd.LoadInt8x64((*[64]int8)(unsafe.Add(pq, 196)))).DotProductPairs(s.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[3])).AsInt16x32())
			sum = sum.Add(p0.Add(p1))
		}
		sumi := sum.GetLo().Add(sum.GetHi()).Sub(off)
		h := *(*uint16)(unsafe.Add(pb, 208))
		dw := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&tab[h]))).Broadcast1To8()
		d := dw.Mul(archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&kd[i]))).Broadcast1To8())
		acc = sumi.ConvertToFloat32().MulAdd(d, acc)
	}
	return acc
}

// q6kBlocksTwo is q6kBlocks for two rows (blocks at pa and pb) against the
// same activations: each row's integer sums and float operations are those
// of q6kBlocks, and the activation loads are shared.
func q6kBlocksTwo(pa, pb, pq unsafe.Pointer, tab *[1<<16 + 4]float32, kd *[q6kGroup + 8]float32, n int, acc, acb archsimd.Float32x8) (archsimd.Float32x8, archsimd.Float32x8) {
	m4 := archsimd.BroadcastUint8x32(0x0f)
	m30 := archsimd.BroadcastUint8x32(0x30)
	n = min(n, q6kGroup)
	for i := range n {
		if i > 0 {
			pa, pb, pq = unsafe.Add(pa, 210), unsafe.Add(pb, 210), unsafe.Add(pq, 292)
		}
		bs := archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(pq, 260)))
		sa := archsimd.LoadInt8x16((*[16]int8)(unsafe.Add(pa, 192)))
		sb := archsimd.LoadInt8x16((*[16]int8)(unsafe.Add(pb, 192)))
		offa := sa.ExtendToInt16().DotProductPairs(bs).ShiftAllLeft(5)
		offb := sb.ExtendToInt16().DotProductPairs(bs).ShiftAllLeft(5)
		eo := archsimd.LoadInt8x16(&q6kEvenOdd)
		ta := sa.PermuteOrZero(eo).ExtendToInt16().AsInt8x32()
		tb := sb.PermuteOrZero(eo).ExtendToInt16().AsInt8x32()
		var a0, a1, b0, b1 archsimd.Int32x8
		{
			x0 := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 4)))
			x1 := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 36)))
			x2 := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 68)))
			x3 := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 100)))
			{
				ql1 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pa, 0)))
				ql2 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pa, 32)))
				qh := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pa, 128))).AsUint16x16()
				q0 := ql1.And(m4).Or(qh.ShiftAllLeft(4).AsUint8x32().And(m30))
				q1 := ql2.And(m4).Or(qh.ShiftAllLeft(2).AsUint8x32().And(m30))
				q2 := ql1.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsUint8x32().And(m30))
				q3 := ql2.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsInt16x16().ShiftAllRight(2).AsUint8x32().And(m30))
				p0 := q0.DotProductPairsSaturated(x0).DotProductPairs(ta.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[0])).AsInt16x16())
				p1 := q1.DotProductPairsSaturated(x1).DotProductPairs(ta.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[1])).AsInt16x16())
				p2 := q2.DotProductPairsSaturated(x2).DotProductPairs(ta.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[2])).AsInt16x16())
				p3 := q3.DotProductPairsSaturated(x3).DotProductPairs(ta.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[3])).AsInt16x16())
				a0 = p0.Add(p1).Add(p2.Add(p3))
			}
			{
				ql1 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 0)))
				ql2 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 32)))
				qh := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 128))).AsUint16x16()
				q0 := ql1.And(m4).Or(qh.ShiftAllLeft(4).AsUint8x32().And(m30))
				q1 := ql2.And(m4).Or(qh.ShiftAllLeft(2).AsUint8x32().And(m30))
				q2 := ql1.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsUint8x32().And(m30))
				q3 := ql2.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsInt16x16().ShiftAllRight(2).AsUint8x32().And(m30))
				p0 := q0.DotProductPairsSaturated(x0).DotProductPairs(tb.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[0])).AsInt16x16())
				p1 := q1.DotProductPairsSaturated(x1).DotProductPairs(tb.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[1])).AsInt16x16())
				p2 := q2.DotProductPairsSaturated(x2).DotProductPairs(tb.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[2])).AsInt16x16())
				p3 := q3.DotProductPairsSaturated(x3).DotProductPairs(tb.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[3])).AsInt16x16())
				b0 = p0.Add(p1).Add(p2.Add(p3))
			}
		}
		{
			x0 := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 132)))
			x1 := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 164)))
			x2 := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 196)))
			x3 := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 228)))
			{
				ql1 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pa, 64)))
				ql2 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pa, 96)))
				qh := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pa, 160))).AsUint16x16()
				q0 := ql1.And(m4).Or(qh.ShiftAllLeft(4).AsUint8x32().And(m30))
				q1 := ql2.And(m4).Or(qh.ShiftAllLeft(2).AsUint8x32().And(m30))
				q2 := ql1.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsUint8x32().And(m30))
				q3 := ql2.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsInt16x16().ShiftAllRight(2).AsUint8x32().And(m30))
				p0 := q0.DotProductPairsSaturated(x0).DotProductPairs(ta.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[4])).AsInt16x16())
				p1 := q1.DotProductPairsSaturated(x1).DotProductPairs(ta.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[5])).AsInt16x16())
				p2 := q2.DotProductPairsSaturated(x2).DotProductPairs(ta.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[6])).AsInt16x16())
				p3 := q3.DotProductPairsSaturated(x3).DotProductPairs(ta.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[7])).AsInt16x16())
				a1 = p0.Add(p1).Add(p2.Add(p3))
			}
			{
				ql1 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 64)))
				ql2 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 96)))
				qh := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 160))).AsUint16x16()
				q0 := ql1.And(m4).Or(qh.ShiftAllLeft(4).AsUint8x32().And(m30))
				q1 := ql2.And(m4).Or(qh.ShiftAllLeft(2).AsUint8x32().And(m30))
				q2 := ql1.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsUint8x32().And(m30))
				q3 := ql2.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsInt16x16().ShiftAllRight(2).AsUint8x32().And(m30))
				p0 := q0.DotProductPairsSaturated(x0).DotProductPairs(tb.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[4])).AsInt16x16())
				p1 := q1.DotProductPairsSaturated(x1).DotProductPairs(tb.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[5])).AsInt16x16())
				p2 := q2.DotProductPairsSaturated(x2).DotProductPairs(tb.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[6])).AsInt16x16())
				p3 := q3.DotProductPairsSaturated(x3).DotProductPairs(tb.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[7])).AsInt16x16())
				b1 = p0.Add(p1).Add(p2.Add(p3))
			}
		}
		k := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&kd[i]))).Broadcast1To8()
		ha := *(*uint16)(unsafe.Add(pa, 208))
		hb := *(*uint16)(unsafe.Add(pb, 208))
		da := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&tab[ha]))).Broadcast1To8().Mul(k)
		db := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&tab[hb]))).Broadcast1To8().Mul(k)
		acc = a0.Add(a1).Sub(offa).ConvertToFloat32().MulAdd(da, acc)
		acb = b0.Add(b1).Sub(offb).ConvertToFloat32().MulAdd(db, acb)
	}
	return acc, acb
}

// q6kBlocks512Two is q6kBlocks512 for two rows (blocks at pa and pb)
// against the same activations: each row's integer sums and float
// operations are those of q6kBlocks512, and the activation loads are
// shared.
func q6kBlocks512Two(pa, pb, pq unsafe.Pointer, tab *[1<<16 + 4]float32, kd *[q6kGroup + 8]float32, n int, acc, acb archsimd.Float32x8) (archsimd.Float32x8, archsimd.Float32x8) {
	c := &q6k512
	m4 := archsimd.BroadcastInt8x64(0x0f)
	mlo := archsimd.LoadInt16x32(&c.mlo)
	mhi := archsimd.LoadInt16x32(&c.mhi)
	shl := archsimd.LoadUint16x32(&c.shl)
	shr := archsimd.LoadUint16x32(&c.shr)
	spread := archsimd.LoadUint16x32(&c.spread)
	permA := archsimd.LoadUint64x8(&c.permA)
	permB := archsimd.LoadUint64x8(&c.permB)
	n = min(n, q6kGroup)
	for i := range n {
		if i > 0 {
			pa, pb, pq = unsafe.Add(pa, 210), unsafe.Add(pb, 210), unsafe.Add(pq, 292)
		}
		bs := archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(pq, 260)))
		ta := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pa, 176))).ExtendToInt16()
		tb := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pb, 176))).ExtendToInt16()
		offa := ta.GetHi().DotProductPairs(bs).ShiftAllLeft(5)
		offb := tb.GetHi().DotProductPairs(bs).ShiftAllLeft(5)
		sa := ta.Permute(spread).AsInt8x64()
		sb := tb.Permute(spread).AsInt8x64()
		qha := archsimd.LoadUint64x8((*[8]uint64)(unsafe.Add(pa, 128)))
		qhb := archsimd.LoadUint64x8((*[8]uint64)(unsafe.Add(pb, 128)))
		var suma, sumb archsimd.Int32x16
		{
			x0 := archsimd.LoadInt8x64((*[64]int8)(unsafe.Add(pq, 4)))
			x1 := archsimd.LoadInt8x64((*[64]int8)(unsafe.Add(pq, 68)))
			{
				l := archsimd.LoadUint8x64((*[64]uint8)(unsafe.Add(pa, 0)))
				h := qha.Permute(permA).AsInt16x32()
				q0 := l.AsInt8x64().And(m4).Or(h.And(mlo).AsUint16x32().ShiftLeft(shl).AsInt8x64()).AsUint8x64()
				q1 := l.AsInt16x32().ShiftAllRight(4).AsInt8x64().And(m4).Or(h.And(mhi).AsUint16x32().ShiftRight(shr).AsInt8x64()).AsUint8x64()
				p0 := q0.DotProductPairsSaturated(x0).DotProductPairs(sa.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[0])).AsInt16x32())
				p1 := q1.DotProductPairsSaturated(x1).DotProductPairs(sa.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[1])).AsInt16x32())
				suma = p0.Add(p1)
			}
			{
				l := archsimd.LoadUint8x64((*[64]uint8)(unsafe.Add(pb, 0)))
				h := qhb.Permute(permA).AsInt16x32()
				q0 := l.AsInt8x64().And(m4).Or(h.And(mlo).AsUint16x32().ShiftLeft(shl).AsInt8x64()).AsUint8x64()
				q1 := l.AsInt16x32().ShiftAllRight(4).AsInt8x64().And(m4).Or(h.And(mhi).AsUint16x32().ShiftRight(shr).AsInt8x64()).AsUint8x64()
				p0 := q0.DotProductPairsSaturated(x0).DotProductPairs(sb.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[0])).AsInt16x32())
				p1 := q1.DotProductPairsSaturated(x1).DotProductPairs(sb.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[1])).AsInt16x32())
				sumb = p0.Add(p1)
			}
		}
		{
			x0 := archsimd.LoadInt8x64((*[64]int8)(unsafe.Add(pq, 132)))
			x1 := archsimd.LoadInt8x64((*[64]int8)(unsafe.Add(pq, 196)))
			{
				l := archsimd.LoadUint8x64((*[64]uint8)(unsafe.Add(pa, 64)))
				h := qha.Permute(permB).AsInt16x32()
				q0 := l.AsInt8x64().And(m4).Or(h.And(mlo).AsUint16x32().ShiftLeft(shl).AsInt8x64()).AsUint8x64()
				q1 := l.AsInt16x32().ShiftAllRight(4).AsInt8x64().And(m4).Or(h.And(mhi).AsUint16x32().ShiftRight(shr).AsInt8x64()).AsUint8x64()
				p0 := q0.DotProductPairsSaturated(x0).DotProductPairs(sa.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[2])).AsInt16x32())
				p1 := q1.DotProductPairsSaturated(x1).DotProductPairs(sa.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[3])).AsInt16x32())
				suma = suma.Add(p0.Add(p1))
			}
			{
				l := archsimd.LoadUint8x64((*[64]uint8)(unsafe.Add(pb, 64)))
				h := qhb.Permute(permB).AsInt16x32()
				q0 := l.AsInt8x64().And(m4).Or(h.And(mlo).AsUint16x32().ShiftLeft(shl).AsInt8x64()).AsUint8x64()
				q1 := l.AsInt16x32().ShiftAllRight(4).AsInt8x64().And(m4).Or(h.And(mhi).AsUint16x32().ShiftRight(shr).AsInt8x64()).AsUint8x64()
				p0 := q0.DotProductPairsSaturated(x0).DotProductPairs(sb.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[2])).AsInt16x32())
				p1 := q1.DotProductPairsSaturated(x1).DotProductPairs(sb.PermuteOrZeroGrouped(archsimd.LoadInt8x64(&c.dword[3])).AsInt16x32())
				sumb = sumb.Add(p0.Add(p1))
			}
		}
		k := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&kd[i]))).Broadcast1To8()
		ha := *(*uint16)(unsafe.Add(pa, 208))
		hb := *(*uint16)(unsafe.Add(pb, 208))
		da := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&tab[ha]))).Broadcast1To8().Mul(k)
		db := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&tab[hb]))).Broadcast1To8().Mul(k)
		acc = suma.GetLo().Add(suma.GetHi()).Sub(offa).ConvertToFloat32().MulAdd(da, acc)
		acb = sumb.GetLo().Add(sumb.GetHi()).Sub(offb).ConvertToFloat32().MulAdd(db, acb)
	}
	return acc, acb
}

// q6k512 holds q6kBlocks512's index and shift-count vectors.
var q6k512 = func() (c struct {
	shl, shr, spread [32]uint16
	mlo, mhi         [32]int16 // the bit pairs each 256-bit half takes, before shifting
	permA, permB     [8]uint64
	dword            [4][64]int8 // VPSHUFB: 32-bit lane k into all four of a 128-bit lane
}) {
	for k := range c.dword {
		for i := range 64 {
			c.dword[k][i] = int8(4*k + i%4)
		}
	}
	for i := range 16 {
		c.shl[i], c.shl[16+i] = 4, 2 // values 0..31 use bits 0-1, 32..63 bits 2-3
		c.shr[i], c.shr[16+i] = 0, 2 // values 64..95 use bits 4-5, 96..127 bits 6-7
		c.mlo[i], c.mlo[16+i] = 0x0303, 0x0c0c
		c.mhi[i], c.mhi[16+i] = 0x3030, -0x3f40 // 0xc0c0
	}
	// The extended scales sit in 16-bit lanes 16..31. Lane 8L+2c+e of the
	// spread vector (128-bit lane L, 32-bit lane c) takes scale 4c+L.
	for l := range 4 {
		for k := range 4 {
			c.spread[8*l+2*k], c.spread[8*l+2*k+1] = uint16(16+4*k+l), uint16(16+4*k+l)
		}
	}
	for i := range 8 {
		c.permA[i], c.permB[i] = uint64(i%4), uint64(4+i%4)
	}
	return c
}()

// rowsQ6_KBatch works on tiles of q6kTileRows rows and q6kDecChunk blocks:
// it decodes a tile (4 rows × 8 blocks: 17 KB), then runs it against every
// vector, two at a time (2 × 8 activation blocks: 5 KB), so that both stay
// in L1 and each vector's activations come from L2 once per tile rather
// than once per row (a 32-vector batch's activations are 200 KB for a
// 5632-wide matrix).
const (
	q6kTileRows = 4
	q6kDecChunk = 8
)

// q6kDecoded is one Q6_K block as rowsQ6_KBatch keeps it: the 6-bit values
// of each 32 (as VPMADDUBSW takes them), the scales spread for each
// VPMADDWD, and the 16 scales sign-extended to 16 bits (for the offset).
type q6kDecoded struct {
	q  [8][32]uint8
	w  [8][16]int16
	sc [16]int16
}

// rowsQ6_KBatch is rowsQ6_K for a batch of activation vectors: each weight
// block's 6-bit values and spread scales are decoded once (q6kDecode) and
// run against every vector (q6kDecodedBlocks2), with the same integer sums
// in each lane and the same float operations per vector and row, in the
// same order, as rowsQ6_K (same results, bit for bit).
func rowsQ6_KBatch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // see rowsQ4_K
	nv := len(ps)
	nb := m.Cols / 256
	if nb == 0 || lo >= hi || nv == 0 {
		return
	}
	const R = q6kTileRows
	var hd [q6kGroup]uint32
	var dw [R][q6kGroup + 8]float32
	var ds0, ds1 [q6kDecChunk + 8]float32
	dec := new([R][q6kDecChunk]q6kDecoded)
	accs := make([]float32, 8*R*nv) // vector v, row r0+rr at 8*(R*v+rr)
	hc := newHalfConsts()
	zero := archsimd.Float32x8{}
	for r0 := lo; r0 < hi; r0 += R {
		rows := min(R, hi-r0)
		for k := range R * nv {
			zero.StoreSlice(accs[8*k:])
		}
		for c := 0; c < nb; c += q6kDecChunk {
			n := min(q6kDecChunk, nb-c)
			for rr := range rows {
				w := unsafe.Slice((*blockQ6K)(unsafe.Pointer(&m.Data[(r0+rr)*m.rowBytes+c*210])), n)
				q6kScales(w, &dw[rr], &hd, &hc)
				q6kDecode(unsafe.Pointer(&w[0]), &dec[rr], n)
			}
			// Two vectors at a time share the loads of the decoded blocks;
			// their activations come from L2 once for the tile's rows.
			v := 0
			for ; v+2 <= nv; v += 2 {
				kd0, kd1 := ps[v].kd[c:], ps[v+1].kd[c:]
				x0, x1 := unsafe.Pointer(&ps[v].q8k[c]), unsafe.Pointer(&ps[v+1].q8k[c])
				for rr := range rows {
					for i := 0; i < n; i += 8 {
						dwi := archsimd.LoadFloat32x8Slice(dw[rr][i:])
						dwi.Mul(archsimd.LoadFloat32x8Slice(kd0[i:])).StoreSlice(ds0[i:])
						dwi.Mul(archsimd.LoadFloat32x8Slice(kd1[i:])).StoreSlice(ds1[i:])
					}
					a0, a1 := accs[8*(R*v+rr):], accs[8*(R*v+R+rr):]
					acc0, acc1 := q6kDecodedBlocks2(&dec[rr], x0, x1, &ds0, &ds1, n, archsimd.LoadFloat32x8Slice(a0), archsimd.LoadFloat32x8Slice(a1))
					acc0.StoreSlice(a0)
					acc1.StoreSlice(a1)
				}
			}
			if v < nv {
				kd := ps[v].kd[c:]
				x0 := unsafe.Pointer(&ps[v].q8k[c])
				for rr := range rows {
					for i := 0; i < n; i += 8 {
						archsimd.LoadFloat32x8Slice(dw[rr][i:]).Mul(archsimd.LoadFloat32x8Slice(kd[i:])).StoreSlice(ds0[i:])
					}
					a := accs[8*(R*v+rr):]
					q6kDecodedBlocks(&dec[rr], x0, &ds0, n, archsimd.LoadFloat32x8Slice(a)).StoreSlice(a)
				}
			}
		}
		for v := range nv {
			for rr := range rows {
				dst[v][r0+rr] = hsum(archsimd.LoadFloat32x8Slice(accs[8*(R*v+rr):]))
			}
		}
	}
}

// q6kDecode decodes n (at most q6kDecChunk) blocks at pb into dec, as
// q6kBlocks decodes them.
func q6kDecode(pb unsafe.Pointer, dec *[q6kDecChunk]q6kDecoded, n int) {
	m4 := archsimd.BroadcastUint8x32(0x0f)
	m30 := archsimd.BroadcastUint8x32(0x30)
	n = min(n, q6kDecChunk)
	d := &dec[0]
	for i := range n {
		if i > 0 {
			pb = unsafe.Add(pb, 210)
			d = (*q6kDecoded)(unsafe.Add(unsafe.Pointer(d), unsafe.Sizeof(*d)))
		}
		sc := archsimd.LoadInt8x16((*[16]int8)(unsafe.Add(pb, 192)))
		sc.ExtendToInt16().Store(&d.sc)
		t := sc.PermuteOrZero(archsimd.LoadInt8x16(&q6kEvenOdd)).ExtendToInt16().AsInt8x32()
		for k := range 8 {
			t.PermuteOrZeroGrouped(archsimd.LoadInt8x32(&q6kSpread[k])).AsInt16x16().Store(&d.w[k])
		}
		for h := range 2 {
			ql1 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 64*h)))
			ql2 := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 64*h+32)))
			qh := archsimd.LoadUint8x32((*[32]uint8)(unsafe.Add(pb, 128+32*h))).AsUint16x16()
			ql1.And(m4).Or(qh.ShiftAllLeft(4).AsUint8x32().And(m30)).Store(&d.q[4*h])
			ql2.And(m4).Or(qh.ShiftAllLeft(2).AsUint8x32().And(m30)).Store(&d.q[4*h+1])
			ql1.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsUint8x32().And(m30)).Store(&d.q[4*h+2])
			ql2.AsInt16x16().ShiftAllRight(4).AsUint8x32().And(m4).Or(qh.AsInt16x16().ShiftAllRight(2).AsUint8x32().And(m30)).Store(&d.q[4*h+3])
		}
	}
}

// q6kDecodedBlocks is q6kBlocks for blocks decoded by q6kDecode.
func q6kDecodedBlocks(dec *[q6kDecChunk]q6kDecoded, pq unsafe.Pointer, ds *[q6kDecChunk + 8]float32, n int, acc archsimd.Float32x8) archsimd.Float32x8 {
	n = min(n, q6kDecChunk)
	d := &dec[0]
	for i := range n {
		if i > 0 {
			pq = unsafe.Add(pq, 292)
			d = (*q6kDecoded)(unsafe.Add(unsafe.Pointer(d), unsafe.Sizeof(*d)))
		}
		off := archsimd.LoadInt16x16(&d.sc).DotProductPairs(archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(pq, 260)))).ShiftAllLeft(5)
		p0 := archsimd.LoadUint8x32(&d.q[0]).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 4)))).DotProductPairs(archsimd.LoadInt16x16(&d.w[0]))
		p1 := archsimd.LoadUint8x32(&d.q[1]).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 36)))).DotProductPairs(archsimd.LoadInt16x16(&d.w[1]))
		p2 := archsimd.LoadUint8x32(&d.q[2]).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 68)))).DotProductPairs(archsimd.LoadInt16x16(&d.w[2]))
		p3 := archsimd.LoadUint8x32(&d.q[3]).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 100)))).DotProductPairs(archsimd.LoadInt16x16(&d.w[3]))
		p4 := archsimd.LoadUint8x32(&d.q[4]).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 132)))).DotProductPairs(archsimd.LoadInt16x16(&d.w[4]))
		p5 := archsimd.LoadUint8x32(&d.q[5]).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 164)))).DotProductPairs(archsimd.LoadInt16x16(&d.w[5]))
		p6 := archsimd.LoadUint8x32(&d.q[6]).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 196)))).DotProductPairs(archsimd.LoadInt16x16(&d.w[6]))
		p7 := archsimd.LoadUint8x32(&d.q[7]).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq, 228)))).DotProductPairs(archsimd.LoadInt16x16(&d.w[7]))
		sumi := p0.Add(p1).Add(p2.Add(p3)).Add(p4.Add(p5).Add(p6.Add(p7))).Sub(off)
		dd := archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&ds[i]))).Broadcast1To8()
		acc = sumi.ConvertToFloat32().MulAdd(dd, acc)
	}
	return acc
}

// q6kDecodedBlocks2 is q6kDecodedBlocks for two vectors at once.
func q6kDecodedBlocks2(dec *[q6kDecChunk]q6kDecoded, pq0, pq1 unsafe.Pointer, ds0, ds1 *[q6kDecChunk + 8]float32, n int, acc0, acc1 archsimd.Float32x8) (archsimd.Float32x8, archsimd.Float32x8) {
	n = min(n, q6kDecChunk)
	d := &dec[0]
	for i := range n {
		if i > 0 {
			pq0, pq1 = unsafe.Add(pq0, 292), unsafe.Add(pq1, 292)
			d = (*q6kDecoded)(unsafe.Add(unsafe.Pointer(d), unsafe.Sizeof(*d)))
		}
		sc := archsimd.LoadInt16x16(&d.sc)
		s0 := sc.DotProductPairs(archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(pq0, 260)))).ShiftAllLeft(5)
		s1 := sc.DotProductPairs(archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(pq1, 260)))).ShiftAllLeft(5)
		s0, s1 = archsimd.Int32x8{}.Sub(s0), archsimd.Int32x8{}.Sub(s1)
		q, w := archsimd.LoadUint8x32(&d.q[0]), archsimd.LoadInt16x16(&d.w[0])
		s0 = s0.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq0, 4)))).DotProductPairs(w))
		s1 = s1.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq1, 4)))).DotProductPairs(w))
		q, w = archsimd.LoadUint8x32(&d.q[1]), archsimd.LoadInt16x16(&d.w[1])
		s0 = s0.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq0, 36)))).DotProductPairs(w))
		s1 = s1.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq1, 36)))).DotProductPairs(w))
		q, w = archsimd.LoadUint8x32(&d.q[2]), archsimd.LoadInt16x16(&d.w[2])
		s0 = s0.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq0, 68)))).DotProductPairs(w))
		s1 = s1.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq1, 68)))).DotProductPairs(w))
		q, w = archsimd.LoadUint8x32(&d.q[3]), archsimd.LoadInt16x16(&d.w[3])
		s0 = s0.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq0, 100)))).DotProductPairs(w))
		s1 = s1.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq1, 100)))).DotProductPairs(w))
		q, w = archsimd.LoadUint8x32(&d.q[4]), archsimd.LoadInt16x16(&d.w[4])
		s0 = s0.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq0, 132)))).DotProductPairs(w))
		s1 = s1.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq1, 132)))).DotProductPairs(w))
		q, w = archsimd.LoadUint8x32(&d.q[5]), archsimd.LoadInt16x16(&d.w[5])
		s0 = s0.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq0, 164)))).DotProductPairs(w))
		s1 = s1.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq1, 164)))).DotProductPairs(w))
		q, w = archsimd.LoadUint8x32(&d.q[6]), archsimd.LoadInt16x16(&d.w[6])
		s0 = s0.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq0, 196)))).DotProductPairs(w))
		s1 = s1.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq1, 196)))).DotProductPairs(w))
		q, w = archsimd.LoadUint8x32(&d.q[7]), archsimd.LoadInt16x16(&d.w[7])
		s0 = s0.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq0, 228)))).DotProductPairs(w))
		s1 = s1.Add(q.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pq1, 228)))).DotProductPairs(w))
		acc0 = s0.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&ds0[i]))).Broadcast1To8(), acc0)
		acc1 = s1.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4((*[4]float32)(unsafe.Pointer(&ds1[i]))).Broadcast1To8(), acc1)
	}
	return acc0, acc1
}
