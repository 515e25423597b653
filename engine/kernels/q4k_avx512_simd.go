//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"sync/atomic"
	"unsafe"
)

// The AVX-512 Q4_K matrix-vector kernel (AVX512F+BW, behind q4kUse512)
// works on 64 bytes at a time: a block's 128 weight bytes are two loads,
// whose low and high nibbles make four 64-value vectors, each covering two
// 32-value sub-blocks. Their integer sums end in the same Int32x8 lanes as
// the AVX2 kernel's (lane k sums bytes 4k..4k+3 of every sub-block), so
// the float operations and results are the AVX2 kernel's, bit for bit.

// q4kConsts512 holds the AVX-512 kernel's vectors.
type q4kConsts512 struct {
	low  archsimd.Uint8x64
	four archsimd.Uint32x16
	// scale[j] spreads the scales of the two sub-blocks weight vector j
	// covers over its two 256-bit halves (VPSHUFB, within 128-bit lanes
	// that each hold all 16 scale and min bytes).
	scale [4]archsimd.Int8x64
}

// init loads the constants for weight vectors whose scale spreads are
// tab (q4kTab.scale512).
func (c *q4kConsts512) init(tab *[4][64]int8) {
	c.low = archsimd.BroadcastUint8x64(0x0f)
	c.four = archsimd.BroadcastUint32x16(4)
	for j := range c.scale {
		c.scale[j] = archsimd.LoadInt8x64(&tab[j])
	}
}

// q4kPermuted holds Q8_K activations reordered for rowsQ4_K512: per
// block, the 32-value sub-blocks 0 2 1 3 4 6 5 7, the order in which the
// nibbles of 64 loaded weight bytes come.
type q4kPermuted [kchunk][256]int8

func (xp *q4kPermuted) set(x []blockQ8K) {
	// Unrolled: a ranged array literal would be copied with legacy-SSE
	// moves, which cost the dirty-upper-state penalty here (see hsum).
	for i := range x {
		src, dst := &x[i].qs, &xp[i]
		archsimd.LoadInt8x32((*[32]int8)(src[0:])).Store((*[32]int8)(dst[0:]))
		archsimd.LoadInt8x32((*[32]int8)(src[64:])).Store((*[32]int8)(dst[32:]))
		archsimd.LoadInt8x32((*[32]int8)(src[32:])).Store((*[32]int8)(dst[64:]))
		archsimd.LoadInt8x32((*[32]int8)(src[96:])).Store((*[32]int8)(dst[96:]))
		archsimd.LoadInt8x32((*[32]int8)(src[128:])).Store((*[32]int8)(dst[128:]))
		archsimd.LoadInt8x32((*[32]int8)(src[192:])).Store((*[32]int8)(dst[160:]))
		archsimd.LoadInt8x32((*[32]int8)(src[160:])).Store((*[32]int8)(dst[192:]))
		archsimd.LoadInt8x32((*[32]int8)(src[224:])).Store((*[32]int8)(dst[224:]))
	}
}

// q4kHalvesPairs is q4kHalves (the same operations) storing d and dmin
// scales interleaved: dms[2i] for block i's d, dms[2i+1] for its dmin.
func q4kHalvesPairs(hdm []uint32, kd, dms []float32, n int) {
	mag, sign := archsimd.BroadcastUint32x8(0x7fff), archsimd.BroadcastUint32x8(0x8000)
	thirteen, sixteen := archsimd.BroadcastUint32x8(13), archsimd.BroadcastUint32x8(16)
	pow112 := archsimd.BroadcastFloat32x8(0x1p112)
	pairs := archsimd.LoadUint32x16(&q4kTab.pairPerm)
	for i := 0; i < n; i += 8 {
		v := archsimd.LoadUint32x8Slice(hdm[i:])
		xd := archsimd.LoadFloat32x8Slice(kd[i:])
		d := q4kHalf8(v, mag, sign, thirteen, sixteen, pow112).Mul(xd)
		dm := q4kHalf8(v.ShiftRight(sixteen), mag, sign, thirteen, sixteen, pow112).Mul(xd)
		archsimd.Float32x16{}.SetLo(d).SetHi(dm).Permute(pairs).StoreSlice(dms[2*i:])
	}
}

// rowsQ4_K512One is rowsQ4_K for rows of at most kchunk blocks with AVX-512.
// Per row, a first pass gathers the fp16 d and dmin and unpacks the
// blocks' scales and mins, four blocks per vector operation (one per
// 128-bit lane); q4kHalvesPairs converts d and dmin; then one pass does
// the rest: each block's min terms ride in the high half of the integer
// sums (msum) and of the float accumulator (accm), so that one FMA per
// block does both of rowsQ4_KOne's. It touches the row after next as
// rowsQ4_KOne does. The activations are reordered once per call (see
// q4kPermuted). With 512-bit instructions in flight only two ports run
// vector code (port 1's unit is off), so the gain over the 256-bit kernel
// comes from fewer instructions, not wider ones: 0.041-0.046 against
// 0.045-0.050 ns/weight in cache on one thread of this project's Xeon.
func rowsQ4_K512One(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	var hdm [kchunk + 8]uint32
	var dms [2*kchunk + 16]float32
	// Each block's scales then mins (8 bytes each); 6 spare entries for
	// the 64-byte loads of the last ones.
	var packed [kchunk + 6][2]uint64
	var xp q4kPermuted
	var k5 q4kConsts512
	nb := m.Cols / 256
	k5.init(&q4kTab.scale512)
	t := &q4kTab
	minSpread := archsimd.LoadInt8x64(&t.minSpread512)
	idxA, idxB := archsimd.LoadInt8x64(&t.idxA512), archsimd.LoadInt8x64(&t.idxB512)
	maskL, maskH := archsimd.LoadInt8x64(&t.maskL512).AsUint8x64(), archsimd.LoadInt8x64(&t.maskH512).AsUint8x64()
	m30, two := archsimd.BroadcastUint8x64(0x30), archsimd.BroadcastUint32x16(2)
	headPerm, foldLo, foldHi := archsimd.LoadUint64x8(&t.headPerm), archsimd.LoadUint64x8(&t.foldLo), archsimd.LoadUint64x8(&t.foldHi)
	scalePerm := archsimd.LoadUint32x16(&t.scalePerm)
	low, four := k5.low, k5.four
	x := p.q8k[:nb]
	xp.set(x)
	xs := xp[:nb]
	var touch uint64
	for r := lo; r < hi; r++ {
		row := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
		w := unsafe.Slice((*blockQ4K)(unsafe.Pointer(unsafe.SliceData(row))), nb)
		// Four blocks at a time with vector operations, one block's first
		// 16 bytes per 128-bit lane; the rest with integer ones.
		i := 0
		for ; i+4 <= nb; i += 4 {
			b := w[i : i+4]
			hdm[i&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[0]))
			hdm[(i+1)&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[1]))
			hdm[(i+2)&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[2]))
			hdm[(i+3)&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[3]))
			h01 := archsimd.Uint8x32{}.SetLo(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[0])))).SetHi(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[1]))))
			h23 := archsimd.Uint8x32{}.SetLo(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[2])))).SetHi(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[3]))))
			h := archsimd.Uint8x64{}.SetLo(h01).SetHi(h23)
			a, c := h.PermuteOrZeroGrouped(idxA), h.PermuteOrZeroGrouped(idxB)
			u := a.And(maskL).Or(a.AsUint32x16().ShiftRight(four).AsUint8x64().And(maskH)).Or(c.AsUint32x16().ShiftRight(two).AsUint8x64().And(m30))
			u.AsUint64x8().Store((*[8]uint64)(unsafe.Pointer(&packed[i&(kchunk-1)])))
		}
		for ; i < nb; i++ {
			b := &w[i]
			hdm[i&(kchunk-1)] = *(*uint32)(unsafe.Pointer(b))
			sc, mn := q4kScalesScalar(b)
			packed[i&(kchunk-1)] = [2]uint64{sc, mn}
		}
		q4kHalvesPairs(hdm[:], p.kd, dms[:], nb)
		// Lanes 0..7: rowsQ4_K's acc; 8..15: its accm.
		acc := archsimd.Float32x16{}
		// Touch the row after next, a cache line per step, so that its
		// memory loads overlap this row's arithmetic.
		ahead := unsafe.Pointer(unsafe.SliceData(row))
		aheadEnd := uintptr(0)
		if r+2 < hi {
			ahead = unsafe.Add(ahead, 2*m.rowBytes)
			aheadEnd = uintptr(m.rowBytes)
		}
		off := uintptr(0)
		for i := range w {
			b, q := &w[i], &xs[i]
			if off < aheadEnd {
				touch ^= *(*uint64)(unsafe.Add(ahead, off)) ^ *(*uint64)(unsafe.Add(ahead, off+48)) ^ *(*uint64)(unsafe.Add(ahead, off+96))
				off += 144
			}
			u := archsimd.LoadUint64x8((*[8]uint64)(unsafe.Pointer(&packed[i&(kchunk-1)]))).Permute(headPerm).AsInt8x64()
			// The activations' 16-value sums sit after their last 32 values.
			ms := u.PermuteOrZeroGrouped(minSpread).AsInt16x32().DotProductPairs(archsimd.LoadInt16x32((*[32]int16)(unsafe.Pointer(&x[i].qs[224]))))
			q0 := archsimd.LoadUint8x64((*[64]uint8)(b.qs[0:]))
			q1 := archsimd.LoadUint8x64((*[64]uint8)(b.qs[64:]))
			s0 := q0.And(low).DotProductPairsSaturated(archsimd.LoadInt8x64((*[64]int8)(q[0:]))).DotProductPairs(u.PermuteOrZeroGrouped(k5.scale[0]).AsInt16x32())
			s1 := q0.AsUint32x16().ShiftRight(four).AsUint8x64().And(low).DotProductPairsSaturated(archsimd.LoadInt8x64((*[64]int8)(q[64:]))).DotProductPairs(u.PermuteOrZeroGrouped(k5.scale[1]).AsInt16x32())
			s0 = s0.Add(q1.And(low).DotProductPairsSaturated(archsimd.LoadInt8x64((*[64]int8)(q[128:]))).DotProductPairs(u.PermuteOrZeroGrouped(k5.scale[2]).AsInt16x32()))
			s1 = s1.Add(q1.AsUint32x16().ShiftRight(four).AsUint8x64().And(low).DotProductPairsSaturated(archsimd.LoadInt8x64((*[64]int8)(q[192:]))).DotProductPairs(u.PermuteOrZeroGrouped(k5.scale[3]).AsInt16x32()))
			s := s0.Add(s1).AsUint64x8()
			// [sumi | msum] with sumi = s.lo + s.hi, as rowsQ4_K's.
			f := s.ConcatPermute(ms.AsUint64x8(), foldLo).AsInt32x16().Add(s.ConcatPermute(archsimd.Uint64x8{}, foldHi).AsInt32x16())
			sc := archsimd.LoadFloat32x16((*[16]float32)(dms[2*(i&(kchunk-1)):])).Permute(scalePerm)
			acc = f.ConvertToFloat32().MulAdd(sc, acc)
		}
		dst[r] = hsum(acc.GetLo().Sub(acc.GetHi()))
	}
	q4kTouchSink.Store(touch)
}

// q4kPrep512 is rowsQ4_K512One's first pass over row w: it unpacks the
// blocks' scales and mins into packed and their d and dmin, times the
// activations' block scales kd, into dms.
func q4kPrep512(w []blockQ4K, packed *[kchunk + 6][2]uint64, hdm *[kchunk + 8]uint32, dms *[2*kchunk + 16]float32, kd []float32) {
	t := &q4kTab
	idxA, idxB := archsimd.LoadInt8x64(&t.idxA512), archsimd.LoadInt8x64(&t.idxB512)
	maskL, maskH := archsimd.LoadInt8x64(&t.maskL512).AsUint8x64(), archsimd.LoadInt8x64(&t.maskH512).AsUint8x64()
	m30, two, four := archsimd.BroadcastUint8x64(0x30), archsimd.BroadcastUint32x16(2), archsimd.BroadcastUint32x16(4)
	nb := len(w)
	i := 0
	for ; i+4 <= nb; i += 4 {
		b := w[i : i+4]
		hdm[i&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[0]))
		hdm[(i+1)&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[1]))
		hdm[(i+2)&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[2]))
		hdm[(i+3)&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[3]))
		h01 := archsimd.Uint8x32{}.SetLo(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[0])))).SetHi(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[1]))))
		h23 := archsimd.Uint8x32{}.SetLo(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[2])))).SetHi(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[3]))))
		h := archsimd.Uint8x64{}.SetLo(h01).SetHi(h23)
		a, c := h.PermuteOrZeroGrouped(idxA), h.PermuteOrZeroGrouped(idxB)
		u := a.And(maskL).Or(a.AsUint32x16().ShiftRight(four).AsUint8x64().And(maskH)).Or(c.AsUint32x16().ShiftRight(two).AsUint8x64().And(m30))
		u.AsUint64x8().Store((*[8]uint64)(unsafe.Pointer(&packed[i&(kchunk-1)])))
	}
	for ; i < nb; i++ {
		b := &w[i]
		hdm[i&(kchunk-1)] = *(*uint32)(unsafe.Pointer(b))
		sc, mn := q4kScalesScalar(b)
		packed[i&(kchunk-1)] = [2]uint64{sc, mn}
	}
	q4kHalvesPairs(hdm[:], kd, dms[:], nb)
}

// rowsQ4_K512 is rowsQ4_K for rows of at most kchunk blocks with AVX-512.
// It walks the two halves of its row range in step, rows lo+i and mid+i
// together, with rowsQ4_K512One's operations for each (the same results,
// bit for bit): two memory streams per thread, and each activation
// vector loaded once for both rows. An odd last row goes to
// rowsQ4_K512One. On a decode step's Q4_K products (two threads,
// TestQ4KTimingDecode) it takes 20-25 % less time than rowsQ4_K512One;
// on 40 distinct 2048x5632 matrices on two threads, 1.15-1.40 against
// 1.45-1.65 ms per matrix.
func rowsQ4_K512(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	n := (hi - lo) / 2
	if n == 0 {
		rowsQ4_K512One(dst, m, p, lo, hi)
		return
	}
	mid := lo + n
	if (hi-lo)%2 == 1 {
		rowsQ4_K512One(dst, m, p, hi-1, hi)
		archsimd.ClearAVXUpperBits()
	}
	var hdm [kchunk + 8]uint32
	var dmsA, dmsB [2*kchunk + 16]float32
	var packedA, packedB [kchunk + 6][2]uint64
	var xp q4kPermuted
	nb := m.Cols / 256
	x := p.q8k[:nb]
	xp.set(x)
	xs := xp[:nb]
	var touch uint64
	for i := range n {
		r, s := lo+i, mid+i
		wa := unsafe.Slice((*blockQ4K)(unsafe.Pointer(&m.Data[r*m.rowBytes])), nb)
		wb := unsafe.Slice((*blockQ4K)(unsafe.Pointer(&m.Data[s*m.rowBytes])), nb)
		q4kPrep512(wa, &packedA, &hdm, &dmsA, p.kd)
		q4kPrep512(wb, &packedB, &hdm, &dmsB, p.kd)
		t := &q4kTab
		low, four := archsimd.BroadcastUint8x64(0x0f), archsimd.BroadcastUint32x16(4)
		sc0, sc1 := archsimd.LoadInt8x64(&t.scale512[0]), archsimd.LoadInt8x64(&t.scale512[1])
		sc2, sc3 := archsimd.LoadInt8x64(&t.scale512[2]), archsimd.LoadInt8x64(&t.scale512[3])
		minSpread := archsimd.LoadInt8x64(&t.minSpread512)
		headPerm, foldLo, foldHi := archsimd.LoadUint64x8(&t.headPerm), archsimd.LoadUint64x8(&t.foldLo), archsimd.LoadUint64x8(&t.foldHi)
		scalePerm := archsimd.LoadUint32x16(&t.scalePerm)
		acc, acq := archsimd.Float32x16{}, archsimd.Float32x16{}
		// Touch the next two rows, a cache line per step, so that their
		// memory loads overlap these rows' arithmetic (the hardware
		// prefetchers alone leave the loop waiting: a decode step's
		// products on 2 threads took 22.5/39.7/40.0 ms best against
		// 26.7/43.3/44.0 without, in three runs on a noisy machine).
		aheadA, aheadB := unsafe.Pointer(&wa[0]), unsafe.Pointer(&wb[0])
		aheadEnd := uintptr(0)
		if i+1 < n {
			aheadA, aheadB = unsafe.Add(aheadA, m.rowBytes), unsafe.Add(aheadB, m.rowBytes)
			aheadEnd = uintptr(m.rowBytes)
		}
		off := uintptr(0)
		for i := range wa {
			a, b, q := &wa[i], &wb[i], &xs[i]
			if off < aheadEnd {
				touch ^= *(*uint64)(unsafe.Add(aheadA, off)) ^ *(*uint64)(unsafe.Add(aheadA, off+48)) ^ *(*uint64)(unsafe.Add(aheadA, off+96))
				touch ^= *(*uint64)(unsafe.Add(aheadB, off)) ^ *(*uint64)(unsafe.Add(aheadB, off+48)) ^ *(*uint64)(unsafe.Add(aheadB, off+96))
				off += 144
			}
			ii := i & (kchunk - 1)
			ua := archsimd.LoadUint64x8((*[8]uint64)(unsafe.Pointer(&packedA[ii]))).Permute(headPerm).AsInt8x64()
			ub := archsimd.LoadUint64x8((*[8]uint64)(unsafe.Pointer(&packedB[ii]))).Permute(headPerm).AsInt8x64()
			bs := archsimd.LoadInt16x32((*[32]int16)(unsafe.Pointer(&x[i].qs[224])))
			msa := ua.PermuteOrZeroGrouped(minSpread).AsInt16x32().DotProductPairs(bs)
			msb := ub.PermuteOrZeroGrouped(minSpread).AsInt16x32().DotProductPairs(bs)
			x0 := archsimd.LoadInt8x64((*[64]int8)(q[0:]))
			a0 := archsimd.LoadUint8x64((*[64]uint8)(a.qs[0:]))
			b0 := archsimd.LoadUint8x64((*[64]uint8)(b.qs[0:]))
			sa0 := a0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ua.PermuteOrZeroGrouped(sc0).AsInt16x32())
			sb0 := b0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ub.PermuteOrZeroGrouped(sc0).AsInt16x32())
			x1 := archsimd.LoadInt8x64((*[64]int8)(q[64:]))
			sa1 := a0.AsUint32x16().ShiftRight(four).AsUint8x64().And(low).DotProductPairsSaturated(x1).DotProductPairs(ua.PermuteOrZeroGrouped(sc1).AsInt16x32())
			sb1 := b0.AsUint32x16().ShiftRight(four).AsUint8x64().And(low).DotProductPairsSaturated(x1).DotProductPairs(ub.PermuteOrZeroGrouped(sc1).AsInt16x32())
			x2 := archsimd.LoadInt8x64((*[64]int8)(q[128:]))
			a1 := archsimd.LoadUint8x64((*[64]uint8)(a.qs[64:]))
			b1 := archsimd.LoadUint8x64((*[64]uint8)(b.qs[64:]))
			sa0 = sa0.Add(a1.And(low).DotProductPairsSaturated(x2).DotProductPairs(ua.PermuteOrZeroGrouped(sc2).AsInt16x32()))
			sb0 = sb0.Add(b1.And(low).DotProductPairsSaturated(x2).DotProductPairs(ub.PermuteOrZeroGrouped(sc2).AsInt16x32()))
			x3 := archsimd.LoadInt8x64((*[64]int8)(q[192:]))
			sa1 = sa1.Add(a1.AsUint32x16().ShiftRight(four).AsUint8x64().And(low).DotProductPairsSaturated(x3).DotProductPairs(ua.PermuteOrZeroGrouped(sc3).AsInt16x32()))
			sb1 = sb1.Add(b1.AsUint32x16().ShiftRight(four).AsUint8x64().And(low).DotProductPairsSaturated(x3).DotProductPairs(ub.PermuteOrZeroGrouped(sc3).AsInt16x32()))
			sa, sb := sa0.Add(sa1).AsUint64x8(), sb0.Add(sb1).AsUint64x8()
			fa := sa.ConcatPermute(msa.AsUint64x8(), foldLo).AsInt32x16().Add(sa.ConcatPermute(archsimd.Uint64x8{}, foldHi).AsInt32x16())
			fb := sb.ConcatPermute(msb.AsUint64x8(), foldLo).AsInt32x16().Add(sb.ConcatPermute(archsimd.Uint64x8{}, foldHi).AsInt32x16())
			acc = fa.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x16((*[16]float32)(dmsA[2*ii:])).Permute(scalePerm), acc)
			acq = fb.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x16((*[16]float32)(dmsB[2*ii:])).Permute(scalePerm), acq)
		}
		dst[r] = hsum(acc.GetLo().Sub(acc.GetHi()))
		dst[s] = hsum(acq.GetLo().Sub(acq.GetHi()))
	}
	q4kTouchSink.Store(touch)
}

// q4kTouchSink keeps the touched words alive.
var q4kTouchSink atomic.Uint64
