//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"sync"
	"unsafe"

	"github.com/converse-project/converse/engine/gguf"
)

// hasAVX2 says whether this CPU runs the archsimd kernels below (AVX2 for
// the integer dot products, FMA for the float accumulation).
var hasAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

// simdKernel returns the archsimd kernel for t, if there is one and the CPU
// has AVX2 and FMA. F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K (issue 7,
// item 7: Q4_K_M files keep output and ffn_down in Q6_K) have one.
func simdKernel(t gguf.Type) (kernel, bool) {
	if !hasAVX2 {
		return kernel{}, false
	}
	switch t {
	case gguf.TypeF32:
		return kernel{rows: dotRows(dotF32SIMD)}, true
	case gguf.TypeF16:
		return kernel{rows: dotRows(dotF16SIMD)}, true
	case gguf.TypeBF16:
		return kernel{rows: dotRows(dotBF16SIMD)}, true
	case gguf.TypeQ8_0:
		return kernel{prep: prepQ8_0, form: formQ8_0, rows: rowsQ8_0, batch: rowsQ8_0Batch}, true
	case gguf.TypeQ4_0:
		return kernel{prep: prepQ4_0, form: formQ4_0, rows: rowsQ4_0, batch: rowsQ4_0Batch}, true
	case gguf.TypeQ4_K:
		return kernel{prep: prepQ8K, form: formQ8K, rows: rowsQ4_K, batch: rowsQ4_KBatch}, true
	case gguf.TypeQ6_K:
		return kernel{prep: prepQ8K, form: formQ8K, rows: rowsQ6_K, batch: rowsQ6_KBatch}, true
	}
	return kernel{}, false
}

// Accel names the instruction set MatVec uses in this build on this CPU, for
// logs and benchmark reports.
func Accel() string {
	if hasAVX2 {
		s := "AVX2 (simd/archsimd) for F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K"
		if q4kUse512 && q6kUse512 {
			s += "; AVX-512 for Q4_K and Q6_K matrix-vector products"
		}
		if hasVNNI {
			s += "; AVX-512 VNNI on packed Q8_0, Q4_0, Q4_K and Q6_K weights"
		}
		return s
	}
	return "portable Go (CPU lacks AVX2/FMA)"
}

// QuantizesActivations reports whether MatVec over a t matrix quantises the
// activations to 8 bits in this build and on this CPU, so that its results
// carry that error on top of float32 rounding (callers comparing against
// float math widen their tolerance by it).
func QuantizesActivations(t gguf.Type) bool {
	return hasAVX2 && (t == gguf.TypeQ8_0 || t == gguf.TypeQ4_0 || t == gguf.TypeQ4_K || t == gguf.TypeQ6_K)
}

// halfTable maps every fp16 bit pattern to float32: archsimd has no F16C
// conversions, and block scales are converted once per 32 or 256 values
// (go-dependencies.md §9). Built on first use, read-only afterwards.
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = halfToFloat(uint16(i))
	}
	return &t
})

// prepQ8_0 quantises the activations to Q8_0 for rowsQ8_0 and the packed
// kernels. With n blocks and n8 = n rounded up to a multiple of 8:
//   - p.q8[0:n] are the blocks and p.q8[n:n8] zero blocks (so whole groups
//     of eight can be read);
//   - p.q8d[0:n8] are the block scales as float32 (zero-padded);
//   - p.qc[0:n] is −128·Σq of each block and p.qc[n:2n] −8·Σq, where the
//     packed Q8_0 and Q4_0 kernels start their integer sums (vnni_simd.go).
//
// prepQ4_0 extends q8 and q8d with the unpacked Q4_0 kernel's forms, made
// only for that kernel.
func prepQ8_0(p *prepared) {
	n := len(p.f) / 32
	n8 := (n + 7) &^ 7
	q := make([]blockQ8_0, n8)
	qc := make([]int32, 2*n)
	quantizeQ8_0SIMD(p.f, q, qc)
	tab := halfTable()
	d := make([]float32, n8)
	for i := range n {
		d[i] = tab[q[i].d]
		qc[i], qc[n+i] = -128*qc[i], -8*qc[i]
	}
	p.q8, p.q8d, p.qc = q, d, qc
}

// prepQ4_0 adds to the Q8_0 form (made first if need be) the forms rowsQ4_0
// reads, growing q8 and q8d, with n8 as in prepQ8_0:
//   - p.q8[n8:2·n8] the blocks' values laid out for Q4_0 weights: for each
//     pair of blocks (i, i+1), q8[n8+i] holds the first 16 values of block
//     i then those of block i+1, and q8[n8+i+1] their last 16 values (a
//     Q4_0 block keeps values j and j+16 in one byte); their d is unused;
//   - p.q8d[n8:2·n8] the scales in the order a group of eight Q4_0 blocks
//     reduces to (q4Order), and p.q8d[2·n8:3·n8], in that order, −8·d·Σq
//     per block: a Q4_0 weight is its nibble minus 8, and the −8 is applied
//     once per block through the activations' sum.
func prepQ4_0(p *prepared) {
	if p.made&(1<<formQ8_0) == 0 {
		prepQ8_0(p)
		p.made |= 1 << formQ8_0
	}
	archsimd.ClearAVXUpperBits() // scalar float code next: see hsum
	n := len(p.f) / 32
	n8 := (n + 7) &^ 7
	q := append(p.q8[:n8:n8], make([]blockQ8_0, n8)...)
	d := append(p.q8d[:n8:n8], make([]float32, 2*n8)...)
	p.q8, p.q8d = q, d
	for i := 0; i < n8; i += 2 {
		lo, hi := &q[n8+i].qs, &q[n8+i+1].qs
		copy(lo[:16], q[i].qs[:16])
		copy(lo[16:], q[i+1].qs[:16])
		copy(hi[:16], q[i].qs[16:])
		copy(hi[16:], q[i+1].qs[16:])
	}
	for g := 0; g < n8; g += 8 {
		for j, b := range q4Order {
			i := g + b
			d[n8+g+j] = d[i]
			if i < n {
				d[2*n8+g+j] = d[i] * float32(p.qc[n+i]) // −8·Σq·d
			}
		}
	}
}

// prepQ8K quantises the activations to Q8_K and lays their scales out
// contiguously, padded to a multiple of 8 with zeros, and each sub-block
// of 32's sum in kbs (for the packed Q4_K kernel) and −32 × each sum of 16
// in k6c (for the packed Q6_K kernel).
func prepQ8K(p *prepared) {
	n := len(p.f) / 256
	p.q8k = make([]blockQ8K, n)
	quantizeQ8KSIMD(p.f, p.q8k)
	p.kd = make([]float32, (n+7)&^7)
	p.kbs = make([]int32, 8*n)
	p.k6c = make([]int32, 16*n)
	for i := range p.q8k {
		p.kd[i] = p.q8k[i].d
		for j := range 8 {
			p.kbs[8*i+j] = int32(p.q8k[i].bsums[2*j]) + int32(p.q8k[i].bsums[2*j+1])
		}
		for j := range 16 {
			p.k6c[16*i+j] = -32 * int32(p.q8k[i].bsums[j])
		}
	}
}

// hsum adds the lanes of v. It clears the upper halves of the vector
// registers first: the scalar float code Go emits uses legacy SSE encodings,
// which on many Intel cores pay a state-transition penalty (tens of cycles)
// whenever the upper halves are dirty. That penalty inside the block loops
// made the first cut of these kernels 100× slower on this project's Xeon.
func hsum(v archsimd.Float32x8) float32 {
	var t [8]float32
	v.Store(&t)
	archsimd.ClearAVXUpperBits()
	return (t[0] + t[1]) + (t[2] + t[3]) + (t[4] + t[5]) + (t[6] + t[7])
}

// dotF32SIMD: two FMA accumulators of 8 lanes; rows are 4-byte aligned in a
// GGUF mapping (tensor data is 32-byte aligned and rows whole floats).
func dotF32SIMD(row []byte, p *prepared) float32 {
	x := p.f
	w := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(row))), len(x))
	a0, a1 := archsimd.BroadcastFloat32x8(0), archsimd.BroadcastFloat32x8(0)
	i := 0
	for ; i+16 <= len(x); i += 16 {
		a0 = archsimd.LoadFloat32x8Slice(w[i:]).MulAdd(archsimd.LoadFloat32x8Slice(x[i:]), a0)
		a1 = archsimd.LoadFloat32x8Slice(w[i+8:]).MulAdd(archsimd.LoadFloat32x8Slice(x[i+8:]), a1)
	}
	s := hsum(a0.Add(a1))
	for ; i < len(x); i++ {
		s += w[i] * x[i]
	}
	return s
}

// rowsQ8_0One is sketch G of go-dependencies.md with the scales applied once
// per eight blocks instead of once per block: for each group of eight
// blocks it takes the integer dot products (|w|·sign(x, w) with VPMADDUBSW,
// pairs summed with VPMADDWD), reduces the eight vectors to one whose lane
// j is block j's sum (VPHADDD, q8Reduce), and adds that times the eight
// weight scales (converted from fp16 in a vector, halfConv) times the
// activations' scales into one accumulator. Weight blocks are read in
// place (blockQ8_0 has the GGUF layout) through a pointer plus constant
// offsets, which Go folds into each load; a row's last partial group is
// copied into a zeroed buffer first.
func rowsQ8_0One(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	var tail [2][8]blockQ8_0
	var hd [2][8]int32
	nb := m.Cols / 32
	n8 := (nb + 7) &^ 7
	ones := archsimd.BroadcastInt16x16(1)
	hc := newHalfConv()
	x := p.q8[:n8]
	xd := p.q8d[:n8]
	// group returns where the eight blocks from block g of row r on are
	// read: in place, or copied into t, zero-padded, for a row's last
	// partial group.
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
		return
	}
	// The scales of each group are gathered one group ahead (across rows
	// too), into the other half of hd: a vector load of eight just-stored
	// scalars cannot be forwarded from the store buffer and waits for the
	// stores to retire (measured: 0.076 -> 0.054 ns/weight). k counts the
	// groups done: hd[k&1] and tail[k&1] hold the current group's, the
	// other halves the next group's.
	k := 0
	pw := group(lo, 0, &tail[0])
	gatherQ8_0(&hd[0], pw)
	for r := lo; r < hi; r++ {
		acc := archsimd.Float32x8{}
		// px walks the activations' groups (one pointer register plus
		// constant offsets addresses every load in one instruction); it
		// never steps past the last group.
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
				gatherQ8_0(&hd[(k+1)&1], next)
			}
			h01 := q8Dot(pw, px, 0, ones).AddPairsGrouped(q8Dot(pw, px, 34, ones))
			h23 := q8Dot(pw, px, 68, ones).AddPairsGrouped(q8Dot(pw, px, 102, ones))
			h45 := q8Dot(pw, px, 136, ones).AddPairsGrouped(q8Dot(pw, px, 170, ones))
			h67 := q8Dot(pw, px, 204, ones).AddPairsGrouped(q8Dot(pw, px, 238, ones))
			s := q8Reduce(h01.AddPairsGrouped(h23), h45.AddPairsGrouped(h67))
			sc := hc.conv(archsimd.LoadInt32x8(&hd[k&1])).Mul(archsimd.LoadFloat32x8((*[8]float32)(xd[g : g+8])))
			acc = s.ConvertToFloat32().MulAdd(sc, acc)
			pw = next
			k++
		}
		dst[r] = hsum(acc)
	}
}

// rowsQ8_0 multiplies rows lo..hi-1 of a Q8_0 matrix with Q8_0
// activations. Every row gets exactly rowsQ8_0One's result, bit for bit:
// rowsQ8_0Four when there are four rows or more, otherwise rowsQ8_0One (a
// few rows, or rows shorter than a group).
func rowsQ8_0(dst []float32, m Matrix, p *prepared, lo, hi int) {
	if hi-lo >= 4 && m.Cols >= 8*32 {
		rowsQ8_0Four(dst, m, p, lo, hi)
		return
	}
	rowsQ8_0One(dst, m, p, lo, hi)
}

// q8Chunk is how many groups of eight blocks rowsQ8_0Four's two pairs of
// rows take in turn.
const q8Chunk = 4

// rowsQ8_0Four walks the four quarters of the range in step (rows lo+i,
// lo+q+i, lo+2q+i, lo+3q+i): two pairs of rows take turns every q8Chunk
// groups of eight blocks through q8GroupsTwo, four memory streams per
// thread (as rowsQ6_KFour). Per row the float operations are
// rowsQ8_0One's, in the same order.
// The rows left over (at most three) go to rowsQ8_0One.
func rowsQ8_0Four(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	nb := m.Cols / 32
	q := (hi - lo) / 4
	if nb == 0 || q == 0 {
		rowsQ8_0One(dst, m, p, lo, hi)
		return
	}
	if rest := lo + 4*q; rest < hi {
		rowsQ8_0One(dst, m, p, rest, hi)
		archsimd.ClearAVXUpperBits()
	}
	var tail [4][8]blockQ8_0
	nf := nb / 8 // whole groups; a partial last one is copied into tail
	n8 := (nb + 7) &^ 7
	x := p.q8[:n8]
	xd := p.q8d[:n8]
	hc := newHalfConv()
	for i := range q {
		r0, r1, r2, r3 := lo+i, lo+q+i, lo+2*q+i, lo+3*q+i
		var a0, a1, a2, a3 archsimd.Float32x8
		for c := 0; c < nf; c += q8Chunk {
			n := min(q8Chunk, nf-c)
			px := unsafe.Pointer(&x[8*c])
			pd := (*[8]float32)(xd[8*c:])
			o := 34 * 8 * c
			a0, a1 = q8GroupsTwo(unsafe.Pointer(&m.Data[r0*m.rowBytes+o]), unsafe.Pointer(&m.Data[r1*m.rowBytes+o]), px, pd, n, &hc, a0, a1)
			a2, a3 = q8GroupsTwo(unsafe.Pointer(&m.Data[r2*m.rowBytes+o]), unsafe.Pointer(&m.Data[r3*m.rowBytes+o]), px, pd, n, &hc, a2, a3)
		}
		if g := 8 * nf; g < nb {
			archsimd.ClearAVXUpperBits() // legacy-SSE copy next: see hsum
			tail = [4][8]blockQ8_0{}
			for j, r := range [4]int{r0, r1, r2, r3} {
				copy(tail[j][:], unsafe.Slice((*blockQ8_0)(unsafe.Pointer(&m.Data[r*m.rowBytes+34*g])), nb-g))
			}
			px := unsafe.Pointer(&x[g])
			pd := (*[8]float32)(xd[g:])
			a0, a1 = q8GroupsTwo(unsafe.Pointer(&tail[0]), unsafe.Pointer(&tail[1]), px, pd, 1, &hc, a0, a1)
			a2, a3 = q8GroupsTwo(unsafe.Pointer(&tail[2]), unsafe.Pointer(&tail[3]), px, pd, 1, &hc, a2, a3)
		}
		dst[r0] = hsum(a0)
		dst[r1] = hsum(a1)
		dst[r2] = hsum(a2)
		dst[r3] = hsum(a3)
	}
}

// q8GroupsTwo adds n consecutive groups of eight blocks of two rows (at pw
// and pv, read in place) times the activations' groups at px (scales at
// pd) into acc and acq, with rowsQ8_0One's float operations. Each group's
// weight scales are gathered one group ahead (see rowsQ8_0One).
func q8GroupsTwo(pw, pv, px unsafe.Pointer, pd *[8]float32, n int, hc *halfConv, acc, acq archsimd.Float32x8) (archsimd.Float32x8, archsimd.Float32x8) {
	var hd, hdB [2][8]int32
	ones := archsimd.BroadcastInt16x16(1)
	gatherQ8_0(&hd[0], pw)
	gatherQ8_0(&hdB[0], pv)
	for k := range n {
		if k > 0 { // never past the last group: checkptr, and the matrix may end there
			pw, pv, px = unsafe.Add(pw, 8*34), unsafe.Add(pv, 8*34), unsafe.Add(px, 8*34)
		}
		if k+1 < n {
			gatherQ8_0(&hd[(k+1)&1], unsafe.Add(pw, 8*34))
			gatherQ8_0(&hdB[(k+1)&1], unsafe.Add(pv, 8*34))
		}
		a0, b0 := q8DotTwo(pw, pv, px, 0, ones)
		a1, b1 := q8DotTwo(pw, pv, px, 34, ones)
		a01, b01 := a0.AddPairsGrouped(a1), b0.AddPairsGrouped(b1)
		a0, b0 = q8DotTwo(pw, pv, px, 68, ones)
		a1, b1 = q8DotTwo(pw, pv, px, 102, ones)
		a03, b03 := a01.AddPairsGrouped(a0.AddPairsGrouped(a1)), b01.AddPairsGrouped(b0.AddPairsGrouped(b1))
		a0, b0 = q8DotTwo(pw, pv, px, 136, ones)
		a1, b1 = q8DotTwo(pw, pv, px, 170, ones)
		a45, b45 := a0.AddPairsGrouped(a1), b0.AddPairsGrouped(b1)
		a0, b0 = q8DotTwo(pw, pv, px, 204, ones)
		a1, b1 = q8DotTwo(pw, pv, px, 238, ones)
		a47, b47 := a45.AddPairsGrouped(a0.AddPairsGrouped(a1)), b45.AddPairsGrouped(b0.AddPairsGrouped(b1))
		xs := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(unsafe.Pointer(pd), 32*k)))
		acc = q8Reduce(a03, a47).ConvertToFloat32().MulAdd(hc.conv(archsimd.LoadInt32x8(&hd[k&1])).Mul(xs), acc)
		acq = q8Reduce(b03, b47).ConvertToFloat32().MulAdd(hc.conv(archsimd.LoadInt32x8(&hdB[k&1])).Mul(xs), acq)
	}
	return acc, acq
}

// q8DotTwo is q8Dot for two weight blocks and one activation block.
func q8DotTwo(pw, pv, px unsafe.Pointer, off uintptr, ones archsimd.Int16x16) (archsimd.Int32x8, archsimd.Int32x8) {
	qx := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, off+2)))
	qw := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pw, off+2)))
	qv := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pv, off+2)))
	return qw.Abs().AsUint8x32().DotProductPairsSaturated(qx.CopySign(qw)).DotProductPairs(ones),
		qv.Abs().AsUint8x32().DotProductPairsSaturated(qx.CopySign(qv)).DotProductPairs(ones)
}

// gatherQ8_0 stores the fp16 scales of the eight Q8_0 blocks at pw,
// sign-extended, in hd.
func gatherQ8_0(hd *[8]int32, pw unsafe.Pointer) {
	hd[0], hd[1] = int32(*(*int16)(pw)), int32(*(*int16)(unsafe.Add(pw, 34)))
	hd[2], hd[3] = int32(*(*int16)(unsafe.Add(pw, 68))), int32(*(*int16)(unsafe.Add(pw, 102)))
	hd[4], hd[5] = int32(*(*int16)(unsafe.Add(pw, 136))), int32(*(*int16)(unsafe.Add(pw, 170)))
	hd[6], hd[7] = int32(*(*int16)(unsafe.Add(pw, 204))), int32(*(*int16)(unsafe.Add(pw, 238)))
}

// q8Dot returns the integer dot product of the Q8_0 blocks at pw+off and
// px+off as eight partial sums.
func q8Dot(pw, px unsafe.Pointer, off uintptr, ones archsimd.Int16x16) archsimd.Int32x8 {
	qw := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(pw, off+2)))
	qx := archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(px, off+2)))
	return qw.Abs().AsUint8x32().DotProductPairsSaturated(qx.CopySign(qw)).DotProductPairs(ones)
}

// q8Reduce finishes the reduction of eight blocks' partial sums: q0 holds
// blocks 0..3's sums of lanes 0..3 in its low half and of lanes 4..7 in its
// high half (two rounds of VPHADDD), q1 those of blocks 4..7; the result's
// lane j is block j's total.
func q8Reduce(q0, q1 archsimd.Int32x8) archsimd.Int32x8 {
	return q0.Select128FromPair(0, 2, q1).Add(q0.Select128FromPair(1, 3, q1))
}

// halfConv converts fp16 values, sign-extended to 32-bit lanes, to float32
// without F16C: the exponent and mantissa bits shifted into float32
// position and multiplied by 2^112 rebias the exponent (and turn fp16
// subnormals into the right float32 normals); the sign bit is copied over.
// Infinities and NaNs (never block scales) are not handled.
type halfConv struct {
	mag, sign archsimd.Int32x8
	pow112    archsimd.Float32x8
}

func newHalfConv() halfConv {
	return halfConv{
		mag:    archsimd.BroadcastInt32x8(0x0fffe000),
		sign:   archsimd.BroadcastInt32x8(-0x80000000),
		pow112: archsimd.BroadcastFloat32x8(0x1p112),
	}
}

func (c *halfConv) conv(h archsimd.Int32x8) archsimd.Float32x8 {
	f := h.ShiftAllLeft(13).And(c.mag).AsFloat32x8().Mul(c.pow112)
	return f.AsInt32x8().Or(h.And(c.sign)).AsFloat32x8()
}

// clearUpper clears the upper halves of the vector registers before scalar
// float code (see hsum and SwiGLU).
func clearUpper() { archsimd.ClearAVXUpperBits() }

// swiGLUVec does SwiGLU's bulk in vectors where the CPU allows.
func swiGLUVec(dst, gate, up []float32) int {
	if !hasAVX2 {
		return 0
	}
	return swiGLUSIMD(dst, gate, up)
}
