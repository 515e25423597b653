//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// blockQ4K is ggml's block_q4_K (144 bytes), read in place from a mapping.
type blockQ4K struct {
	d, dmin uint16
	scales  [12]uint8
	qs      [128]uint8
}

// q4kHas512 says whether this CPU runs the AVX-512 Q4_K matrix-vector
// kernel; q4kUse512 selects it (tests flip it to exercise both paths).
var (
	q4kHas512 = archsimd.X86.AVX512()
	q4kUse512 = q4kHas512
)

// q4kConsts holds the byte shuffles and masks that unpack a Q4_K block's
// 6-bit scales and mins with vector operations (ggml's kmask trick), and
// spread them for VPMADDWD.
//
// A block starts with d, dmin (fp16) and the 12 scale bytes s0..s11; with
// h = those 16 bytes in each 128-bit half, scale j and min j are
//
//	j < 4:  sc = s[j] & 63,                           mn = s[j+4] & 63
//	j >= 4: sc = s[j+4]&15 | (s[j-4]>>6)<<4,          mn = s[j+4]>>4 | (s[j]>>6)<<4
//
// u (bytes 0..7 the scales, 8..15 the mins, in each half) is
// a&maskL | (a>>4)&maskH | (b>>2)&0x30 with a = h shuffled by idxA and
// b = h shuffled by idxB (32-bit shifts: the masks drop what crosses bytes).
type q4kConsts struct {
	low, maskL, maskH, m30 archsimd.Uint8x32
	// Shift counts for VPSRLVD: archsimd's shifts by a scalar count move
	// it into an XMM register with a legacy-SSE MOVQ (see hsum).
	two, four             archsimd.Uint32x8
	idxA, idxB, minSpread archsimd.Int8x32
	// shuf[j] spreads scale j (byte j of u) to every 16-bit lane.
	shuf [8]archsimd.Int8x32
}

// q4kTab holds the constant vectors of the Q4_K kernels as bytes, filled
// once: the kernels load them. Building them in a kernel would take stack
// arrays, which Go zeroes and copies with legacy-SSE moves, and those cost
// the dirty-upper-state penalty once vector code has run (see hsum).
var q4kTab struct {
	idxA, idxB, maskL, maskH, minSpread [32]int8
	shuf                                [8][32]int8
	// The AVX-512 kernel's scale spreads (see q4kConsts512) for its
	// weight vectors (sub-blocks 0|2, 1|3, 4|6, 5|7).
	scale512 [4][64]int8
	// 512-bit versions of the scale unpacking (the 256-bit ones twice),
	// and minSpread in the high 256 bits only.
	idxA512, idxB512, maskL512, maskH512, minSpread512 [64]int8
	// headPerm copies a block's first 16 bytes to all 128-bit lanes;
	// fold and scalePerm: see rowsQ4_K512.
	headPerm, foldLo, foldHi [8]uint64
	scalePerm, pairPerm      [16]uint32
}

func init() {
	t := &q4kTab
	for half := 0; half < 32; half += 16 {
		for j := range 4 {
			t.idxA[half+j], t.idxB[half+j], t.maskL[half+j] = int8(4+j), -128, 63                // sc j
			t.idxA[half+4+j], t.idxB[half+4+j], t.maskL[half+4+j] = int8(12+j), int8(4+j), 15    // sc 4+j
			t.idxA[half+8+j], t.idxB[half+8+j], t.maskL[half+8+j] = int8(8+j), -128, 63          // mn j
			t.idxA[half+12+j], t.idxB[half+12+j], t.maskH[half+12+j] = int8(12+j), int8(8+j), 15 // mn 4+j
		}
	}
	// minSpread: low half m0 m0 m1 m1 m2 m2 m3 m3, high half m4 … m7 as
	// 16-bit lanes, to multiply the activations' 16-value sums pairwise.
	for k := range 8 {
		t.minSpread[2*k], t.minSpread[2*k+1] = int8(8+k/2), -128
		t.minSpread[16+2*k], t.minSpread[16+2*k+1] = int8(12+k/2), -128
	}
	for j := range t.shuf {
		for k := 0; k < 32; k += 2 {
			t.shuf[j][k], t.shuf[j][k+1] = int8(j), -128
		}
	}
	for k := range 32 {
		t.idxA512[k], t.idxA512[32+k] = t.idxA[k], t.idxA[k]
		t.idxB512[k], t.idxB512[32+k] = t.idxB[k], t.idxB[k]
		t.maskL512[k], t.maskL512[32+k] = t.maskL[k], t.maskL[k]
		t.maskH512[k], t.maskH512[32+k] = t.maskH[k], t.maskH[k]
		t.minSpread512[k], t.minSpread512[32+k] = -128, t.minSpread[k]
	}
	t.headPerm = [8]uint64{0, 1, 0, 1, 0, 1, 0, 1}
	t.foldLo = [8]uint64{0, 1, 2, 3, 12, 13, 14, 15}
	t.foldHi = [8]uint64{4, 5, 6, 7, 8, 9, 10, 11}
	for k := range 16 {
		t.scalePerm[k] = uint32(k / 8)
		t.pairPerm[k] = uint32(k/2 + 8*(k%2))
	}
	for j, subs := range [4][2]int{{0, 2}, {1, 3}, {4, 6}, {5, 7}} {
		for k := 0; k < 64; k += 2 {
			t.scale512[j][k], t.scale512[j][k+1] = int8(subs[k/32]), -128
		}
	}
}

// init loads the constants.
func (c *q4kConsts) init() {
	t := &q4kTab
	c.idxA, c.idxB, c.minSpread = archsimd.LoadInt8x32(&t.idxA), archsimd.LoadInt8x32(&t.idxB), archsimd.LoadInt8x32(&t.minSpread)
	c.maskL, c.maskH = archsimd.LoadInt8x32(&t.maskL).AsUint8x32(), archsimd.LoadInt8x32(&t.maskH).AsUint8x32()
	c.low, c.m30 = archsimd.BroadcastUint8x32(0x0f), archsimd.BroadcastUint8x32(0x30)
	c.two, c.four = archsimd.BroadcastUint32x8(2), archsimd.BroadcastUint32x8(4)
	for j := range c.shuf {
		c.shuf[j] = archsimd.LoadInt8x32(&t.shuf[j])
	}
}

// q4kUnpack returns the block's scales and mins (see q4kConsts) from its
// first 32 bytes.
func q4kUnpack(head archsimd.Uint8x32, c *q4kConsts) archsimd.Int8x32 {
	h := head.Select128FromPair(0, 0, head)
	a := h.PermuteOrZeroGrouped(c.idxA)
	b := h.PermuteOrZeroGrouped(c.idxB)
	u := a.And(c.maskL).Or(a.AsUint32x8().ShiftRight(c.four).AsUint8x32().And(c.maskH))
	return u.Or(b.AsUint32x8().ShiftRight(c.two).AsUint8x32().And(c.m30)).AsInt8x32()
}

// q4kUnpack2 is q4kUnpack for two blocks: h holds their first 16 bytes,
// one per 128-bit half, and so does the result.
func q4kUnpack2(h archsimd.Uint8x32, c *q4kConsts) archsimd.Uint8x32 {
	a := h.PermuteOrZeroGrouped(c.idxA)
	b := h.PermuteOrZeroGrouped(c.idxB)
	u := a.And(c.maskL).Or(a.AsUint32x8().ShiftRight(c.four).AsUint8x32().And(c.maskH))
	return u.Or(b.AsUint32x8().ShiftRight(c.two).AsUint8x32().And(c.m30))
}

// q4kScalesScalar returns the scales and mins of block b (see q4kConsts)
// with integer instructions (ggml's kmask trick), for a vector load.
func q4kScalesScalar(b *blockQ4K) (sc, mn uint64) {
	const kmask1, kmask2, kmask3 = 0x3f3f3f3f, 0x0f0f0f0f, 0x03030303
	p := unsafe.Pointer(b)
	u0, u1, u2 := *(*uint32)(unsafe.Add(p, 4)), *(*uint32)(unsafe.Add(p, 8)), *(*uint32)(unsafe.Add(p, 12))
	s1 := u2&kmask2 | (u0>>6&kmask3)<<4
	m1 := u2>>4&kmask2 | (u1>>6&kmask3)<<4
	return uint64(u0&kmask1) | uint64(s1)<<32, uint64(u1&kmask1) | uint64(m1)<<32
}

// q4kHalves converts the fp16 d and dmin of n blocks (hdm[i] = d |
// dmin<<16, as they sit at a block's start) to float32, times the
// activations' block scales kd when kd is not nil, into ds and ms.
func q4kHalves(hdm []uint32, kd, ds, ms []float32, n int) {
	mag, sign := archsimd.BroadcastUint32x8(0x7fff), archsimd.BroadcastUint32x8(0x8000)
	thirteen, sixteen := archsimd.BroadcastUint32x8(13), archsimd.BroadcastUint32x8(16)
	pow112 := archsimd.BroadcastFloat32x8(0x1p112)
	for i := 0; i < n; i += 8 {
		v := archsimd.LoadUint32x8Slice(hdm[i:])
		d := q4kHalf8(v, mag, sign, thirteen, sixteen, pow112)
		dm := q4kHalf8(v.ShiftRight(sixteen), mag, sign, thirteen, sixteen, pow112)
		if kd != nil {
			xd := archsimd.LoadFloat32x8Slice(kd[i:])
			d, dm = d.Mul(xd), dm.Mul(xd)
		}
		d.StoreSlice(ds[i:])
		dm.StoreSlice(ms[i:])
	}
}

// q4kScales sets a vector's block scales ds and ms: the weights' d and
// dmin (wd, wm) times its own (kd), for n blocks.
func q4kScales(wd, wm, kd, ds, ms []float32, n int) {
	for i := 0; i < n; i += 8 {
		xd := archsimd.LoadFloat32x8Slice(kd[i:])
		archsimd.LoadFloat32x8Slice(wd[i:]).Mul(xd).StoreSlice(ds[i:])
		archsimd.LoadFloat32x8Slice(wm[i:]).Mul(xd).StoreSlice(ms[i:])
	}
}

// q4kHalf8 is half8 (the same operations) with its constants in registers.
func q4kHalf8(h, magMask, signMask, thirteen, sixteen archsimd.Uint32x8, pow112 archsimd.Float32x8) archsimd.Float32x8 {
	mag := h.And(magMask).ShiftLeft(thirteen)
	f := mag.AsFloat32x8().Mul(pow112)
	sign := h.And(signMask).ShiftLeft(sixteen)
	return f.AsUint32x8().Or(sign).AsFloat32x8()
}

// rowsQ4_K multiplies rows lo..hi-1 of a Q4_K matrix with Q8_K activations.
// With AVX-512 it runs rowsQ4_K512. Otherwise, like it, it walks the two
// halves of its row range in step (rows lo+i and mid+i together, an odd
// last row by rowsQ4_KOne), each row with rowsQ4_KOne's operations (the
// same results, bit for bit), touching the next two rows as it goes. On
// a decode step's Q4_K products (two threads, TestQ4KTimingDecode) it
// takes 20-25 % less time than rowsQ4_KOne.
func rowsQ4_K(dst []float32, m Matrix, p *prepared, lo, hi int) {
	// Scalar set-up first, after clearing the upper halves (see hsum): the
	// arrays are zeroed, and arguments copied, with legacy-SSE moves.
	archsimd.ClearAVXUpperBits()
	if q4kUse512 && m.Cols <= kchunk*256 {
		rowsQ4_K512(dst, m, p, lo, hi)
		return
	}
	n := (hi - lo) / 2
	if n == 0 {
		rowsQ4_KOne(dst, m, p, lo, hi)
		return
	}
	mid := lo + n
	if (hi-lo)%2 == 1 {
		rowsQ4_KOne(dst, m, p, hi-1, hi)
		archsimd.ClearAVXUpperBits()
	}
	var hdm [kchunk + 8]uint32
	var dsA, msA, dsB, msB [kchunk + 8]float32
	var packedA, packedB [kchunk][4]uint64
	var kc q4kConsts
	nb := m.Cols / 256
	kc.init()
	k := &kc
	x := p.q8k[:nb]
	var touch uint64
	for i := range n {
		r, s := lo+i, mid+i
		wa := unsafe.Slice((*blockQ4K)(unsafe.Pointer(&m.Data[r*m.rowBytes])), nb)
		wb := unsafe.Slice((*blockQ4K)(unsafe.Pointer(&m.Data[s*m.rowBytes])), nb)
		// Touch the next two rows, as rowsQ4_K512 does.
		aheadA, aheadB := unsafe.Pointer(&wa[0]), unsafe.Pointer(&wb[0])
		aheadEnd := uintptr(0)
		if i+1 < n {
			aheadA, aheadB = unsafe.Add(aheadA, m.rowBytes), unsafe.Add(aheadB, m.rowBytes)
			aheadEnd = uintptr(m.rowBytes)
		}
		off := uintptr(0)
		acc, accm := archsimd.Float32x8{}, archsimd.Float32x8{}
		acq, acqm := archsimd.Float32x8{}, archsimd.Float32x8{}
		for c := 0; c < nb; c += kchunk {
			cn := min(kchunk, nb-c)
			wa, wb, x := wa[c:c+cn], wb[c:c+cn], x[c:c+cn]
			q4kPrep256(wa, &packedA, &hdm, &dsA, &msA, p.kd[c:], k)
			q4kPrep256(wb, &packedB, &hdm, &dsB, &msB, p.kd[c:], k)
			dsA, msA, dsB, msB := dsA[:cn+3], msA[:cn+3], dsB[:cn+3], msB[:cn+3]
			wb = wb[:len(wa)]
			x = x[:len(wa)]
			for i := range wa {
				a, b, q := &wa[i], &wb[i], &x[i]
				if off < aheadEnd {
					touch ^= *(*uint64)(unsafe.Add(aheadA, off)) ^ *(*uint64)(unsafe.Add(aheadA, off+48)) ^ *(*uint64)(unsafe.Add(aheadA, off+96))
					touch ^= *(*uint64)(unsafe.Add(aheadB, off)) ^ *(*uint64)(unsafe.Add(aheadB, off+48)) ^ *(*uint64)(unsafe.Add(aheadB, off+96))
					off += 144
				}
				ua := archsimd.LoadUint64x4(&packedA[i&(kchunk-1)]).AsInt8x32()
				ub := archsimd.LoadUint64x4(&packedB[i&(kchunk-1)]).AsInt8x32()
				bsums := archsimd.LoadInt16x16(&q.bsums)
				msa := ua.PermuteOrZeroGrouped(k.minSpread).AsInt16x16().DotProductPairs(bsums)
				msb := ub.PermuteOrZeroGrouped(k.minSpread).AsInt16x16().DotProductPairs(bsums)
				qa, qb, xs := &a.qs, &b.qs, &q.qs
				low, four := k.low, k.four
				x0 := archsimd.LoadInt8x32((*[32]int8)(xs[0:]))
				x1 := archsimd.LoadInt8x32((*[32]int8)(xs[32:]))
				a0 := archsimd.LoadUint8x32((*[32]uint8)(qa[0:]))
				sa0 := a0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ua.PermuteOrZeroGrouped(k.shuf[0]).AsInt16x16())
				sa1 := a0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(x1).DotProductPairs(ua.PermuteOrZeroGrouped(k.shuf[1]).AsInt16x16())
				b0 := archsimd.LoadUint8x32((*[32]uint8)(qb[0:]))
				sb0 := b0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ub.PermuteOrZeroGrouped(k.shuf[0]).AsInt16x16())
				sb1 := b0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(x1).DotProductPairs(ub.PermuteOrZeroGrouped(k.shuf[1]).AsInt16x16())
				x0 = archsimd.LoadInt8x32((*[32]int8)(xs[64:]))
				x1 = archsimd.LoadInt8x32((*[32]int8)(xs[96:]))
				a0 = archsimd.LoadUint8x32((*[32]uint8)(qa[32:]))
				sa0 = sa0.Add(a0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ua.PermuteOrZeroGrouped(k.shuf[2]).AsInt16x16()))
				sa1 = sa1.Add(a0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(x1).DotProductPairs(ua.PermuteOrZeroGrouped(k.shuf[3]).AsInt16x16()))
				b0 = archsimd.LoadUint8x32((*[32]uint8)(qb[32:]))
				sb0 = sb0.Add(b0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ub.PermuteOrZeroGrouped(k.shuf[2]).AsInt16x16()))
				sb1 = sb1.Add(b0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(x1).DotProductPairs(ub.PermuteOrZeroGrouped(k.shuf[3]).AsInt16x16()))
				x0 = archsimd.LoadInt8x32((*[32]int8)(xs[128:]))
				x1 = archsimd.LoadInt8x32((*[32]int8)(xs[160:]))
				a0 = archsimd.LoadUint8x32((*[32]uint8)(qa[64:]))
				sa0 = sa0.Add(a0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ua.PermuteOrZeroGrouped(k.shuf[4]).AsInt16x16()))
				sa1 = sa1.Add(a0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(x1).DotProductPairs(ua.PermuteOrZeroGrouped(k.shuf[5]).AsInt16x16()))
				b0 = archsimd.LoadUint8x32((*[32]uint8)(qb[64:]))
				sb0 = sb0.Add(b0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ub.PermuteOrZeroGrouped(k.shuf[4]).AsInt16x16()))
				sb1 = sb1.Add(b0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(x1).DotProductPairs(ub.PermuteOrZeroGrouped(k.shuf[5]).AsInt16x16()))
				x0 = archsimd.LoadInt8x32((*[32]int8)(xs[192:]))
				x1 = archsimd.LoadInt8x32((*[32]int8)(xs[224:]))
				a0 = archsimd.LoadUint8x32((*[32]uint8)(qa[96:]))
				sa0 = sa0.Add(a0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ua.PermuteOrZeroGrouped(k.shuf[6]).AsInt16x16()))
				sa1 = sa1.Add(a0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(x1).DotProductPairs(ua.PermuteOrZeroGrouped(k.shuf[7]).AsInt16x16()))
				b0 = archsimd.LoadUint8x32((*[32]uint8)(qb[96:]))
				sb0 = sb0.Add(b0.And(low).DotProductPairsSaturated(x0).DotProductPairs(ub.PermuteOrZeroGrouped(k.shuf[6]).AsInt16x16()))
				sb1 = sb1.Add(b0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(x1).DotProductPairs(ub.PermuteOrZeroGrouped(k.shuf[7]).AsInt16x16()))
				acc = sa0.Add(sa1).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(dsA[i:]).Broadcast1To8(), acc)
				accm = msa.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(msA[i:]).Broadcast1To8(), accm)
				acq = sb0.Add(sb1).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(dsB[i:]).Broadcast1To8(), acq)
				acqm = msb.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(msB[i:]).Broadcast1To8(), acqm)
			}
		}
		dst[r] = hsum(acc.Sub(accm))
		dst[s] = hsum(acq.Sub(acqm))
	}
	q4kTouchSink.Store(touch)
}

// q4kPrep256 is rowsQ4_KOne's first two passes over a chunk w of a row:
// it unpacks the blocks' scales and mins into packed and converts their
// d and dmin, times the activations' block scales kd, into ds and ms.
func q4kPrep256(w []blockQ4K, packed *[kchunk][4]uint64, hdm *[kchunk + 8]uint32, ds, ms *[kchunk + 8]float32, kd []float32, k *q4kConsts) {
	n := len(w)
	i := 0
	for ; i+2 <= n; i += 2 {
		b := w[i : i+2]
		hdm[i&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[0]))
		hdm[(i+1)&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[1]))
		h := archsimd.Uint8x32{}.SetLo(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[0])))).SetHi(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[1]))))
		u := q4kUnpack2(h, k)
		u.Select128FromPair(0, 0, u).AsUint64x4().Store(&packed[i&(kchunk-1)])
		u.Select128FromPair(1, 1, u).AsUint64x4().Store(&packed[(i+1)&(kchunk-1)])
	}
	for ; i < n; i++ {
		b := &w[i]
		hdm[i&(kchunk-1)] = *(*uint32)(unsafe.Pointer(b))
		sc, mn := q4kScalesScalar(b)
		packed[i&(kchunk-1)] = [4]uint64{sc, mn, sc, mn}
	}
	q4kHalves(hdm[:], kd, ds[:], ms[:], n)
}

// rowsQ4_KOne is rowsQ4_K's AVX2 kernel one row at a time, for the odd
// row of a range. Per row and chunk of blocks, a first pass gathers the
// fp16 scales and unpacks the 6-bit scales and mins (vector operations,
// two blocks at a time), a second converts the fp16 scales eight at a
// time, and the main pass does the dot products; meanwhile it reads a
// word per cache line of the row after next, so that those memory loads
// overlap the arithmetic (the kernel streams its matrix: a single thread
// otherwise waits for memory about as long as it computes).
func rowsQ4_KOne(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // see rowsQ4_K
	var hdm [kchunk + 8]uint32
	var dscale, mscale [kchunk + 8]float32
	// Each block's scales and mins, twice (once per 128-bit half).
	var packed [kchunk][4]uint64
	var kc q4kConsts
	nb := m.Cols / 256
	kc.init()
	k := &kc
	x := p.q8k
	var touch uint64
	for r := lo; r < hi; r++ {
		row := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
		w := unsafe.Slice((*blockQ4K)(unsafe.Pointer(unsafe.SliceData(row))), nb)
		// Touch the row after next, as rowsQ4_K512 does.
		ahead := unsafe.Pointer(unsafe.SliceData(row))
		aheadEnd := uintptr(0)
		if r+2 < hi {
			ahead = unsafe.Add(ahead, 2*m.rowBytes)
			aheadEnd = uintptr(m.rowBytes)
		}
		off := uintptr(0)
		acc, accm := archsimd.Float32x8{}, archsimd.Float32x8{}
		for c := 0; c < nb; c += kchunk {
			n := min(kchunk, nb-c)
			w, x := w[c:c+n], x[c:c+n]
			// A pass for the fp16 scales and the 6-bit scales and mins:
			// two blocks at a time with vector operations (one block's
			// first 16 bytes per 128-bit half), the last one with integer
			// ones.
			i := 0
			for ; i+2 <= n; i += 2 {
				b := w[i : i+2]
				hdm[i&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[0]))
				hdm[(i+1)&(kchunk-1)] = *(*uint32)(unsafe.Pointer(&b[1]))
				h := archsimd.Uint8x32{}.SetLo(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[0])))).SetHi(archsimd.LoadUint8x16((*[16]uint8)(unsafe.Pointer(&b[1]))))
				u := q4kUnpack2(h, k)
				u.Select128FromPair(0, 0, u).AsUint64x4().Store(&packed[i&(kchunk-1)])
				u.Select128FromPair(1, 1, u).AsUint64x4().Store(&packed[(i+1)&(kchunk-1)])
			}
			for ; i < n; i++ {
				b := &w[i]
				hdm[i&(kchunk-1)] = *(*uint32)(unsafe.Pointer(b))
				sc, mn := q4kScalesScalar(b)
				packed[i&(kchunk-1)] = [4]uint64{sc, mn, sc, mn}
			}
			q4kHalves(hdm[:], p.kd[c:], dscale[:], mscale[:], n)
			dscale, mscale := dscale[:n+3], mscale[:n+3]
			for i := range w {
				b, q := &w[i], &x[i]
				if off < aheadEnd {
					touch ^= *(*uint64)(unsafe.Add(ahead, off)) ^ *(*uint64)(unsafe.Add(ahead, off+48)) ^ *(*uint64)(unsafe.Add(ahead, off+96))
					off += 144
				}
				u := archsimd.LoadUint64x4(&packed[i&(kchunk-1)]).AsInt8x32()
				msum := u.PermuteOrZeroGrouped(k.minSpread).AsInt16x16().DotProductPairs(archsimd.LoadInt16x16(&q.bsums))
				// The four 64-value steps, unrolled so that no index is
				// spilled, into two accumulators (integer: order-free).
				qs, xs := &b.qs, &q.qs
				low, four := k.low, k.four
				b0 := archsimd.LoadUint8x32((*[32]uint8)(qs[0:]))
				s0 := b0.And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[0:]))).DotProductPairs(u.PermuteOrZeroGrouped(k.shuf[0]).AsInt16x16())
				s1 := b0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[32:]))).DotProductPairs(u.PermuteOrZeroGrouped(k.shuf[1]).AsInt16x16())
				b1 := archsimd.LoadUint8x32((*[32]uint8)(qs[32:]))
				s0 = s0.Add(b1.And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[64:]))).DotProductPairs(u.PermuteOrZeroGrouped(k.shuf[2]).AsInt16x16()))
				s1 = s1.Add(b1.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[96:]))).DotProductPairs(u.PermuteOrZeroGrouped(k.shuf[3]).AsInt16x16()))
				b2 := archsimd.LoadUint8x32((*[32]uint8)(qs[64:]))
				s0 = s0.Add(b2.And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[128:]))).DotProductPairs(u.PermuteOrZeroGrouped(k.shuf[4]).AsInt16x16()))
				s1 = s1.Add(b2.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[160:]))).DotProductPairs(u.PermuteOrZeroGrouped(k.shuf[5]).AsInt16x16()))
				b3 := archsimd.LoadUint8x32((*[32]uint8)(qs[96:]))
				s0 = s0.Add(b3.And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[192:]))).DotProductPairs(u.PermuteOrZeroGrouped(k.shuf[6]).AsInt16x16()))
				s1 = s1.Add(b3.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[224:]))).DotProductPairs(u.PermuteOrZeroGrouped(k.shuf[7]).AsInt16x16()))
				acc = s0.Add(s1).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(dscale[i:]).Broadcast1To8(), acc)
				accm = msum.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(mscale[i:]).Broadcast1To8(), accm)
			}
		}
		dst[r] = hsum(acc.Sub(accm))
	}
	q4kTouchSink.Store(touch)
}

// q4kDecoded256 is one Q4_K block made ready for rowsQ4_KBatch: its eight
// 32-value nibble vectors, their scales spread for VPMADDWD, and its mins
// spread against the activations' 16-value sums.
type q4kDecoded256 struct {
	w    [8]archsimd.Uint8x32
	s    [8]archsimd.Int16x16
	mins archsimd.Int16x16
}

// rowsQ4_KBatch multiplies rows lo..hi-1 of a Q4_K matrix with every
// activation vector of a batch (ps[b] into dst[b]). Per row and chunk of
// blocks it decodes each block once (nibbles, spread scales and mins) into
// a stack array, then runs every vector over the decoded chunk with its
// accumulators in registers. Per vector it does the same floating-point
// operations in the same order as rowsQ4_K, so the results are the same
// bit for bit.
func rowsQ4_KBatch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	// No AVX-512 version: with 512-bit instructions in flight only two
	// ports run vector code, and this kernel, which decodes once per
	// block what many vectors use, is then slower than with 256-bit ones
	// on three (32 vectors, 16-row tiles: 0.039-0.051 against 0.050-0.058
	// ns/weight per vector on this project's Xeon).
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	nv := len(ps)
	var hdm [kchunk + 8]uint32
	var wd, wm, dsa, msa, dsb, msb [kchunk + 8]float32
	var dec [kchunk]q4kDecoded256
	// Each vector's two accumulators between chunks.
	var accBuf [64]archsimd.Float32x8
	var kc q4kConsts
	nb := m.Cols / 256
	accs := accBuf[:]
	if 2*nv > len(accs) {
		accs = make([]archsimd.Float32x8, 2*nv)
	}
	kc.init()
	k := &kc
	low, four := k.low, k.four
	for r := lo; r < hi; r++ {
		row := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
		w := unsafe.Slice((*blockQ4K)(unsafe.Pointer(unsafe.SliceData(row))), nb)
		for c := 0; c < nb; c += kchunk {
			n := min(kchunk, nb-c)
			w := w[c : c+n]
			for i := range w {
				hdm[i] = *(*uint32)(unsafe.Pointer(&w[i]))
			}
			q4kHalves(hdm[:], nil, wd[:], wm[:], n)
			for i := range w {
				b, d := &w[i], &dec[i&(kchunk-1)]
				u := q4kUnpack(archsimd.LoadUint8x32((*[32]uint8)(unsafe.Pointer(b))), k)
				d.mins = u.PermuteOrZeroGrouped(k.minSpread).AsInt16x16()
				for j := range 4 {
					bits := archsimd.LoadUint8x32((*[32]uint8)(b.qs[32*j:]))
					d.w[2*j] = bits.And(low)
					d.w[2*j+1] = bits.AsUint32x8().ShiftRight(four).AsUint8x32().And(low)
					d.s[2*j] = u.PermuteOrZeroGrouped(k.shuf[2*j]).AsInt16x16()
					d.s[2*j+1] = u.PermuteOrZeroGrouped(k.shuf[2*j+1]).AsInt16x16()
				}
			}
			// Two vectors per pass: each decoded vector loaded serves both.
			v := 0
			for ; v+2 <= nv; v += 2 {
				xa, xb := ps[v].q8k[c:c+n], ps[v+1].q8k[c:c+n]
				q4kScales(wd[:], wm[:], ps[v].kd[c:], dsa[:], msa[:], n)
				q4kScales(wd[:], wm[:], ps[v+1].kd[c:], dsb[:], msb[:], n)
				acca, accma := archsimd.Float32x8{}, archsimd.Float32x8{}
				accb, accmb := archsimd.Float32x8{}, archsimd.Float32x8{}
				if c > 0 {
					acca, accma, accb, accmb = accs[2*v], accs[2*v+1], accs[2*v+2], accs[2*v+3]
				}
				xb = xb[:len(xa)]
				for i := range xa {
					d, qa, qb := &dec[i&(kchunk-1)], &xa[i], &xb[i]
					a, b := &qa.qs, &qb.qs
					w, s := d.w[0], d.s[0]
					sa0 := w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(a[0:]))).DotProductPairs(s)
					sb0 := w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(b[0:]))).DotProductPairs(s)
					w, s = d.w[1], d.s[1]
					sa1 := w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(a[32:]))).DotProductPairs(s)
					sb1 := w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(b[32:]))).DotProductPairs(s)
					w, s = d.w[2], d.s[2]
					sa0 = sa0.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(a[64:]))).DotProductPairs(s))
					sb0 = sb0.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(b[64:]))).DotProductPairs(s))
					w, s = d.w[3], d.s[3]
					sa1 = sa1.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(a[96:]))).DotProductPairs(s))
					sb1 = sb1.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(b[96:]))).DotProductPairs(s))
					w, s = d.w[4], d.s[4]
					sa0 = sa0.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(a[128:]))).DotProductPairs(s))
					sb0 = sb0.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(b[128:]))).DotProductPairs(s))
					w, s = d.w[5], d.s[5]
					sa1 = sa1.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(a[160:]))).DotProductPairs(s))
					sb1 = sb1.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(b[160:]))).DotProductPairs(s))
					w, s = d.w[6], d.s[6]
					sa0 = sa0.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(a[192:]))).DotProductPairs(s))
					sb0 = sb0.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(b[192:]))).DotProductPairs(s))
					w, s = d.w[7], d.s[7]
					sa1 = sa1.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(a[224:]))).DotProductPairs(s))
					sb1 = sb1.Add(w.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(b[224:]))).DotProductPairs(s))
					ii := i & (kchunk - 1)
					acca = sa0.Add(sa1).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(dsa[ii:]).Broadcast1To8(), acca)
					accma = d.mins.DotProductPairs(archsimd.LoadInt16x16(&qa.bsums)).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(msa[ii:]).Broadcast1To8(), accma)
					accb = sb0.Add(sb1).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(dsb[ii:]).Broadcast1To8(), accb)
					accmb = d.mins.DotProductPairs(archsimd.LoadInt16x16(&qb.bsums)).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(msb[ii:]).Broadcast1To8(), accmb)
				}
				if c+n < nb {
					accs[2*v], accs[2*v+1], accs[2*v+2], accs[2*v+3] = acca, accma, accb, accmb
				} else {
					dst[v][r] = hsum(acca.Sub(accma))
					dst[v+1][r] = hsum(accb.Sub(accmb))
				}
			}
			for ; v < nv; v++ {
				x := ps[v].q8k[c : c+n]
				q4kScales(wd[:], wm[:], ps[v].kd[c:], dsa[:], msa[:], n)
				acc, accm := archsimd.Float32x8{}, archsimd.Float32x8{}
				if c > 0 {
					acc, accm = accs[2*v], accs[2*v+1]
				}
				for i := range x {
					d, q := &dec[i&(kchunk-1)], &x[i]
					xs := &q.qs
					msum := d.mins.DotProductPairs(archsimd.LoadInt16x16(&q.bsums))
					s0 := d.w[0].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[0:]))).DotProductPairs(d.s[0])
					s1 := d.w[1].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[32:]))).DotProductPairs(d.s[1])
					s0 = s0.Add(d.w[2].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[64:]))).DotProductPairs(d.s[2]))
					s1 = s1.Add(d.w[3].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[96:]))).DotProductPairs(d.s[3]))
					s0 = s0.Add(d.w[4].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[128:]))).DotProductPairs(d.s[4]))
					s1 = s1.Add(d.w[5].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[160:]))).DotProductPairs(d.s[5]))
					s0 = s0.Add(d.w[6].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[192:]))).DotProductPairs(d.s[6]))
					s1 = s1.Add(d.w[7].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[224:]))).DotProductPairs(d.s[7]))
					ii := i & (kchunk - 1)
					acc = s0.Add(s1).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(dsa[ii:]).Broadcast1To8(), acc)
					accm = msum.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(msa[ii:]).Broadcast1To8(), accm)
				}
				if c+n < nb {
					accs[2*v], accs[2*v+1] = acc, accm
				} else {
					dst[v][r] = hsum(acc.Sub(accm))
				}
			}
		}
	}
}
