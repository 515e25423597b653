//go:build goexperiment.simd && amd64

package kernels

// The Q4_K kernels as they were before this file's tests were written,
// kept to check that the new ones give the same results bit for bit.

import (
	"encoding/binary"
	"simd/archsimd"
	"unsafe"
)

// unpackQ4KScalesRef returns the eight 6-bit scales (bytes 0..7 of sc) and
// mins (bytes 0..7 of mn) of a Q4_K block, branch-free (ggml's kmask trick).
func unpackQ4KScalesRef(s *[12]uint8) (sc, mn uint64) {
	const kmask1, kmask2, kmask3 = 0x3f3f3f3f, 0x0f0f0f0f, 0x03030303
	u0 := binary.LittleEndian.Uint32(s[0:])
	u1 := binary.LittleEndian.Uint32(s[4:])
	u2 := binary.LittleEndian.Uint32(s[8:])
	u3 := (u2>>4)&kmask2 | ((u1>>6)&kmask3)<<4
	m0 := u1 & kmask1
	s1 := u2&kmask2 | ((u0>>6)&kmask3)<<4
	s0 := u0 & kmask1
	return uint64(s0) | uint64(s1)<<32, uint64(m0) | uint64(u3)<<32
}

// rowsQ4_K multiplies rows lo..hi-1 of a Q4_K matrix with Q8_K activations.
func rowsQ4_KRef(dst []float32, m Matrix, p *prepared, lo, hi int) {
	// Scalar set-up first, after clearing the upper halves (see hsum): the
	// arrays are zeroed with legacy-SSE stores.
	archsimd.ClearAVXUpperBits()
	var hd, hm [kchunk]uint32
	var packed [kchunk][4]uint64
	var dscale, mscale [kchunk + 8]float32
	var b, scaleIdx, minIdx [32]int8
	nb := m.Cols / 256
	hc := newHalfConsts()
	low := archsimd.BroadcastUint8x32(0x0f)
	four := archsimd.BroadcastUint32x8(4)
	// shuf[j] picks 16-bit lane j of the scales vector into every lane
	// (ggml get_scale_shuffle_k4), as VPSHUFB within each 128-bit half.
	var shuf [8]archsimd.Int8x32
	for j := range shuf {
		for k := 0; k < 32; k += 2 {
			b[k], b[k+1] = int8(2*j), int8(2*j+1)
		}
		shuf[j] = archsimd.LoadInt8x32(&b)
	}
	// packed[i] holds a block's 8 scale bytes then its 8 min bytes, twice
	// (once per 128-bit half, since VPSHUFB stays within halves). scaleIdx
	// zero-extends the scales to 16 bits; minIdx spreads the mins as
	// m0 m0 m1 m1 … (16-bit) to multiply the activations' 16-value sums
	// pairwise (VPMADDWD). Only 256-bit vectors are used: Go moves 128-bit
	// ones with legacy-SSE instructions, which cost the penalty at hsum.
	for i := range 8 {
		scaleIdx[2*i], scaleIdx[16+2*i] = int8(i), int8(i)
		scaleIdx[2*i+1], scaleIdx[16+2*i+1] = -128, -128
	}
	for k := range 8 { // low half: mins 0..3, high half: mins 4..7
		lo, hi := int8(8+k/2), int8(12+k/2)
		minIdx[2*k], minIdx[2*k+1] = lo, -128
		minIdx[16+2*k], minIdx[16+2*k+1] = hi, -128
	}
	scaleSpread, minSpread := archsimd.LoadInt8x32(&scaleIdx), archsimd.LoadInt8x32(&minIdx)
	x := p.q8k
	for r := lo; r < hi; r++ {
		row := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
		w := unsafe.Slice((*blockQ4K)(unsafe.Pointer(unsafe.SliceData(row))), nb)
		acc, accm := archsimd.Float32x8{}, archsimd.Float32x8{}
		for c := 0; c < nb; c += kchunk {
			n := min(kchunk, nb-c)
			w, x, kd := w[c:c+n], x[c:c+n], p.kd[c:]
			archsimd.ClearAVXUpperBits() // scalar pass next: see hsum
			for i := range w {
				b := &w[i]
				sc, mn := unpackQ4KScalesRef(&b.scales)
				hd[i], hm[i] = uint32(b.d), uint32(b.dmin)
				packed[i][0], packed[i][1], packed[i][2], packed[i][3] = sc, mn, sc, mn
			}
			for i := 0; i < n; i += 8 {
				xd := archsimd.LoadFloat32x8Slice(kd[i:])
				half8(archsimd.LoadUint32x8Slice(hd[i:]), &hc).Mul(xd).StoreSlice(dscale[i:])
				half8(archsimd.LoadUint32x8Slice(hm[i:]), &hc).Mul(xd).StoreSlice(mscale[i:])
			}
			for i := range w {
				b, q := &w[i], &x[i]
				raw := archsimd.LoadUint64x4(&packed[i]).AsInt8x32()
				sv := raw.PermuteOrZeroGrouped(scaleSpread)
				mins := raw.PermuteOrZeroGrouped(minSpread).AsInt16x16()
				msum := mins.DotProductPairs(archsimd.LoadInt16x16(&q.bsums))
				// The four 64-value steps, unrolled so that no index is
				// spilled, into two accumulators (integer: order-free).
				qs, xs := &b.qs, &q.qs
				b0 := archsimd.LoadUint8x32((*[32]uint8)(qs[0:]))
				b1 := archsimd.LoadUint8x32((*[32]uint8)(qs[32:]))
				b2 := archsimd.LoadUint8x32((*[32]uint8)(qs[64:]))
				b3 := archsimd.LoadUint8x32((*[32]uint8)(qs[96:]))
				s0 := b0.And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[0:]))).DotProductPairs(sv.PermuteOrZeroGrouped(shuf[0]).AsInt16x16())
				s1 := b0.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[32:]))).DotProductPairs(sv.PermuteOrZeroGrouped(shuf[1]).AsInt16x16())
				s0 = s0.Add(b1.And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[64:]))).DotProductPairs(sv.PermuteOrZeroGrouped(shuf[2]).AsInt16x16()))
				s1 = s1.Add(b1.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[96:]))).DotProductPairs(sv.PermuteOrZeroGrouped(shuf[3]).AsInt16x16()))
				s0 = s0.Add(b2.And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[128:]))).DotProductPairs(sv.PermuteOrZeroGrouped(shuf[4]).AsInt16x16()))
				s1 = s1.Add(b2.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[160:]))).DotProductPairs(sv.PermuteOrZeroGrouped(shuf[5]).AsInt16x16()))
				s0 = s0.Add(b3.And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[192:]))).DotProductPairs(sv.PermuteOrZeroGrouped(shuf[6]).AsInt16x16()))
				s1 = s1.Add(b3.AsUint32x8().ShiftRight(four).AsUint8x32().And(low).DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(xs[224:]))).DotProductPairs(sv.PermuteOrZeroGrouped(shuf[7]).AsInt16x16()))
				sumi := s0.Add(s1)
				acc = sumi.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(dscale[i:]).Broadcast1To8(), acc)
				accm = msum.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(mscale[i:]).Broadcast1To8(), accm)
			}
		}
		dst[r] = hsum(acc.Sub(accm))
	}
}

// rowsQ4_KBatch multiplies rows lo..hi-1 of a Q4_K matrix with every
// activation vector of a batch (ps[b] into dst[b]). It unpacks each weight
// block once (nibbles, and sub-block scales spread for VPMADDWD) and then
// runs it against every vector, so a batch costs little more than the
// integer products themselves; rowsQ4_K redoes that unpacking per vector.
// Per vector it does the same floating-point operations in the same order as
// rowsQ4_K, so the results are the same bit for bit.
func rowsQ4_KBatchRef(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	nv := len(ps)
	var hd, hm [kchunk]uint32
	var packed [kchunk][4]uint64
	var wd, wm [kchunk + 8]float32
	// Per vector: its block scales times the weights' (d then dmin, each
	// kchunk+8 long), and its two accumulators (8 lanes each).
	scales := make([]float32, nv*2*(kchunk+8))
	accs := make([]float32, nv*16)
	var b, scaleIdx, minIdx [32]int8
	nb := m.Cols / 256
	hc := newHalfConsts()
	low := archsimd.BroadcastUint8x32(0x0f)
	four := archsimd.BroadcastUint32x8(4)
	var shuf [8]archsimd.Int8x32 // as in rowsQ4_K
	for j := range shuf {
		for k := 0; k < 32; k += 2 {
			b[k], b[k+1] = int8(2*j), int8(2*j+1)
		}
		shuf[j] = archsimd.LoadInt8x32(&b)
	}
	for i := range 8 {
		scaleIdx[2*i], scaleIdx[16+2*i] = int8(i), int8(i)
		scaleIdx[2*i+1], scaleIdx[16+2*i+1] = -128, -128
	}
	for k := range 8 {
		lo, hi := int8(8+k/2), int8(12+k/2)
		minIdx[2*k], minIdx[2*k+1] = lo, -128
		minIdx[16+2*k], minIdx[16+2*k+1] = hi, -128
	}
	scaleSpread, minSpread := archsimd.LoadInt8x32(&scaleIdx), archsimd.LoadInt8x32(&minIdx)
	zero := archsimd.Float32x8{}
	for r := lo; r < hi; r++ {
		row := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
		w := unsafe.Slice((*blockQ4K)(unsafe.Pointer(unsafe.SliceData(row))), nb)
		for v := range nv {
			zero.StoreSlice(accs[16*v:])
			zero.StoreSlice(accs[16*v+8:])
		}
		for c := 0; c < nb; c += kchunk {
			n := min(kchunk, nb-c)
			w := w[c : c+n]
			archsimd.ClearAVXUpperBits() // scalar pass next: see hsum
			for i := range w {
				b := &w[i]
				sc, mn := unpackQ4KScalesRef(&b.scales)
				hd[i], hm[i] = uint32(b.d), uint32(b.dmin)
				packed[i][0], packed[i][1], packed[i][2], packed[i][3] = sc, mn, sc, mn
			}
			for i := 0; i < n; i += 8 {
				half8(archsimd.LoadUint32x8Slice(hd[i:]), &hc).StoreSlice(wd[i:])
				half8(archsimd.LoadUint32x8Slice(hm[i:]), &hc).StoreSlice(wm[i:])
			}
			for v := range nv {
				ds := scales[v*2*(kchunk+8):]
				ms := ds[kchunk+8:]
				kd := ps[v].kd[c:]
				for i := 0; i < n; i += 8 {
					xd := archsimd.LoadFloat32x8Slice(kd[i:])
					archsimd.LoadFloat32x8Slice(wd[i:]).Mul(xd).StoreSlice(ds[i:])
					archsimd.LoadFloat32x8Slice(wm[i:]).Mul(xd).StoreSlice(ms[i:])
				}
			}
			for i := range w {
				blk := &w[i]
				raw := archsimd.LoadUint64x4(&packed[i]).AsInt8x32()
				sv := raw.PermuteOrZeroGrouped(scaleSpread)
				mins := raw.PermuteOrZeroGrouped(minSpread).AsInt16x16()
				var ws [8]archsimd.Int16x16
				var nib [8]archsimd.Uint8x32
				for j := range 4 {
					bits := archsimd.LoadUint8x32((*[32]uint8)(blk.qs[32*j:]))
					nib[2*j] = bits.And(low)
					nib[2*j+1] = bits.AsUint32x8().ShiftRight(four).AsUint8x32().And(low)
					ws[2*j] = sv.PermuteOrZeroGrouped(shuf[2*j]).AsInt16x16()
					ws[2*j+1] = sv.PermuteOrZeroGrouped(shuf[2*j+1]).AsInt16x16()
				}
				// Two vectors per pass: each decoded weight vector loaded
				// from the stack serves both.
				v := 0
				for ; v+2 <= nv; v += 2 {
					q0, q1 := &ps[v].q8k[c+i], &ps[v+1].q8k[c+i]
					// Unrolled (constant indices: nothing spilled per step).
					x0, x1 := &q0.qs, &q1.qs
					n0, w0 := nib[0], ws[0]
					sumi0 := n0.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x0[0:]))).DotProductPairs(w0)
					sumi1 := n0.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x1[0:]))).DotProductPairs(w0)
					n1, w1 := nib[1], ws[1]
					sumi0 = sumi0.Add(n1.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x0[32:]))).DotProductPairs(w1))
					sumi1 = sumi1.Add(n1.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x1[32:]))).DotProductPairs(w1))
					n2, w2 := nib[2], ws[2]
					sumi0 = sumi0.Add(n2.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x0[64:]))).DotProductPairs(w2))
					sumi1 = sumi1.Add(n2.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x1[64:]))).DotProductPairs(w2))
					n3, w3 := nib[3], ws[3]
					sumi0 = sumi0.Add(n3.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x0[96:]))).DotProductPairs(w3))
					sumi1 = sumi1.Add(n3.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x1[96:]))).DotProductPairs(w3))
					n4, w4 := nib[4], ws[4]
					sumi0 = sumi0.Add(n4.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x0[128:]))).DotProductPairs(w4))
					sumi1 = sumi1.Add(n4.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x1[128:]))).DotProductPairs(w4))
					n5, w5 := nib[5], ws[5]
					sumi0 = sumi0.Add(n5.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x0[160:]))).DotProductPairs(w5))
					sumi1 = sumi1.Add(n5.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x1[160:]))).DotProductPairs(w5))
					n6, w6 := nib[6], ws[6]
					sumi0 = sumi0.Add(n6.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x0[192:]))).DotProductPairs(w6))
					sumi1 = sumi1.Add(n6.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x1[192:]))).DotProductPairs(w6))
					n7, w7 := nib[7], ws[7]
					sumi0 = sumi0.Add(n7.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x0[224:]))).DotProductPairs(w7))
					sumi1 = sumi1.Add(n7.DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(x1[224:]))).DotProductPairs(w7))
					q4accRef(accs[16*v:], scales[v*2*(kchunk+8):], i, sumi0, mins.DotProductPairs(archsimd.LoadInt16x16(&q0.bsums)))
					q4accRef(accs[16*(v+1):], scales[(v+1)*2*(kchunk+8):], i, sumi1, mins.DotProductPairs(archsimd.LoadInt16x16(&q1.bsums)))
				}
				for ; v < nv; v++ {
					q := &ps[v].q8k[c+i]
					var sumi archsimd.Int32x8
					for j := range 4 {
						pl := nib[2*j].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(q.qs[64*j:]))).DotProductPairs(ws[2*j])
						ph := nib[2*j+1].DotProductPairsSaturated(archsimd.LoadInt8x32((*[32]int8)(q.qs[64*j+32:]))).DotProductPairs(ws[2*j+1])
						sumi = sumi.Add(pl.Add(ph))
					}
					q4accRef(accs[16*v:], scales[v*2*(kchunk+8):], i, sumi, mins.DotProductPairs(archsimd.LoadInt16x16(&q.bsums)))
				}
			}
		}
		for v := range nv {
			acc := archsimd.LoadFloat32x8Slice(accs[16*v:])
			accm := archsimd.LoadFloat32x8Slice(accs[16*v+8:])
			dst[v][r] = hsum(acc.Sub(accm))
		}
	}
}

// q4acc adds one Q4_K block's integer sums, scaled, to a vector's two
// accumulators in accs (acc then accm, 8 lanes each); ds holds the
// vector's d scales then, kchunk+8 on, its dmin scales. The operations are
// rowsQ4_K's, in its order.
func q4accRef(accs, ds []float32, i int, sumi, msum archsimd.Int32x8) {
	ms := ds[kchunk+8:]
	acc := sumi.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(ds[i:]).Broadcast1To8(), archsimd.LoadFloat32x8Slice(accs))
	accm := msum.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(ms[i:]).Broadcast1To8(), archsimd.LoadFloat32x8Slice(accs[8:]))
	acc.StoreSlice(accs)
	accm.StoreSlice(accs[8:])
}

// rowsQ4_KBatchV1 is the batched kernel with one vector per pass, for
// timing comparisons.
func rowsQ4_KBatchV1(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	// No AVX-512 version: with 512-bit instructions in flight only two
	// ports run vector code, and this kernel, which decodes once per
	// block what many vectors use, is then slower than with 256-bit ones
	// on three (32 vectors, 16-row tiles: 0.039-0.051 against 0.050-0.058
	// ns/weight per vector on this project's Xeon).
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	nv := len(ps)
	var hdm [kchunk + 8]uint32
	var wd, wm, ds, ms [kchunk + 8]float32
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
			for v := range nv {
				x, kd := ps[v].q8k[c:c+n], ps[v].kd[c:]
				for i := 0; i < n; i += 8 {
					xd := archsimd.LoadFloat32x8Slice(kd[i:])
					archsimd.LoadFloat32x8Slice(wd[i:]).Mul(xd).StoreSlice(ds[i:])
					archsimd.LoadFloat32x8Slice(wm[i:]).Mul(xd).StoreSlice(ms[i:])
				}
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
					acc = s0.Add(s1).ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(ds[ii:]).Broadcast1To8(), acc)
					accm = msum.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(ms[ii:]).Broadcast1To8(), accm)
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
