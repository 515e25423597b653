//go:build goexperiment.simd && amd64

package kernels

import (
	"runtime"
	"simd/archsimd"
	"unsafe"

	"github.com/converse-project/converse/engine/gguf"
)

// hasVNNI says whether this CPU runs the packed kernels (vnni_amd64.s):
// AVX-512 F/BW/VL for 512-bit integer work, VNNI for VPDPBUSD.
var hasVNNI = hasAVX2 && archsimd.X86.AVX512() && archsimd.X86.AVX512VNNI()

// canPack reports whether Pack has a layout for t on this CPU.
func canPack(t gguf.Type) bool {
	return hasVNNI && (t == gguf.TypeQ8_0 || t == gguf.TypeQ4_0 || t == gguf.TypeQ4_K || t == gguf.TypeQ6_K)
}

// packedKernel returns the kernel for a packed t matrix.
func packedKernel(t gguf.Type) kernel {
	switch t {
	case gguf.TypeQ8_0:
		return kernel{prep: prepQ8_0, form: formQ8_0, rows: rowsPackedQ8_0, batch: rowsPackedQ8_0Batch, prepBatch: prepX4, batchForm: formX4}
	case gguf.TypeQ4_0:
		return kernel{prep: prepQ8_0, form: formQ8_0, rows: rowsPackedQ4_0, batch: rowsPackedQ4_0Batch, prepBatch: prepX4, batchForm: formX4}
	case gguf.TypeQ4_K:
		return kernel{prep: prepQ8K, form: formQ8K, rows: rowsPackedQ4_K, batch: rowsPackedQ4_KBatch, prepBatch: prepK4, batchForm: formK4}
	case gguf.TypeQ6_K:
		return kernel{prep: prepQ8K, form: formQ8K, rows: rowsPackedQ6_K, batch: rowsPackedQ6_KBatch, prepBatch: prepK4, batchForm: formK4}
	}
	panic("kernels: no packed kernel for " + t.String())
}

// The assembly kernels: dst[16·i+r] = row r of group i of the packed tiles
// at w times the activations (groups groups of nb blocks or super-blocks
// each); the x4 ones do four activation vectors into dst[0..3]. See
// vnni_amd64.s and pack.go for the layouts.
//
//go:noescape
func vnniQ8_0(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, xd *float32, xc *int32, dst *float32)

//go:noescape
func vnniQ4_0(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, xd *float32, xc *int32, dst *float32)

//go:noescape
func vnniQ4_K(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, bs *int32, dst *float32)

//go:noescape
func vnniQ6_K(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, c6 *int32, dst *float32)

//go:noescape
func vnniQ6_Kx4(w unsafe.Pointer, groups, nb int, a unsafe.Pointer, dst *[4]*float32)

func rowsPackedQ4_K(dst []float32, m Matrix, p *prepared, lo, hi int) {
	rowsPackedK(dst, m, p, lo, hi, vnniQ4_K, p.kbs)
}

func rowsPackedQ6_K(dst []float32, m Matrix, p *prepared, lo, hi int) {
	rowsPackedK(dst, m, p, lo, hi, vnniQ6_K, p.k6c)
}

// rowsPackedK is rowsPacked for the k-quants (tiles of 256 columns, Q8_K
// activations, with aux the kernel's per-block activation sums).
func rowsPackedK(dst []float32, m Matrix, p *prepared, lo, hi int,
	kern func(unsafe.Pointer, int, int, unsafe.Pointer, *int32, *float32), aux []int32) {
	defer runtime.KeepAlive(m.mem) // the kernels read m.Data through pointers
	nb := m.Cols / 256
	tb := nb * packTileBytes(m.Type)
	forGroups(dst, lo, hi, func(g, n int, out *float32) {
		kern(unsafe.Pointer(&m.Data[g*tb]), n, nb, unsafe.Pointer(&p.q8k[0]), &aux[0], out)
	})
}

func rowsPackedQ8_0(dst []float32, m Matrix, p *prepared, lo, hi int) {
	rowsPacked(dst, m, p, lo, hi, vnniQ8_0, 0)
}

func rowsPackedQ4_0(dst []float32, m Matrix, p *prepared, lo, hi int) {
	rowsPacked(dst, m, p, lo, hi, vnniQ4_0, len(p.qc)/2)
}

// rowsPacked sets dst[lo:hi] with kern over the groups of 16 rows that
// rows lo..hi-1 fall in; groups only partly in the range go through a
// buffer. qc is where kern's corrections start in p.qc.
func rowsPacked(dst []float32, m Matrix, p *prepared, lo, hi int,
	kern func(unsafe.Pointer, int, int, unsafe.Pointer, *float32, *int32, *float32), qc int) {
	defer runtime.KeepAlive(m.mem) // the kernels read m.Data through pointers
	nb := m.Cols / 32
	tb := nb * packTileBytes(m.Type) // bytes per group of rows
	x := unsafe.Pointer(&p.q8[0].qs[0])
	forGroups(dst, lo, hi, func(g, n int, out *float32) {
		kern(unsafe.Pointer(&m.Data[g*tb]), n, nb, x, &p.q8d[0], &p.qc[qc], out)
	})
}

// forGroups has run(g, n, out) set the 16·n results of groups g..g+n-1 of
// 16 rows at out, for the groups that rows lo..hi-1 fall in: in one call
// into dst when the range is whole groups, else group by group through a
// buffer.
func forGroups(dst []float32, lo, hi int, run func(g, n int, out *float32)) {
	if lo >= hi {
		return
	}
	g0, g1 := lo/packRows, (hi+packRows-1)/packRows
	if lo%packRows == 0 && hi%packRows == 0 {
		run(g0, g1-g0, &dst[lo])
		return
	}
	var buf [packRows]float32
	for g := g0; g < g1; g++ {
		run(g, 1, &buf[0])
		a, b := max(lo, g*packRows), min(hi, (g+1)*packRows)
		copy(dst[a:b], buf[a-g*packRows:b-g*packRows])
	}
}

//go:noescape
func vnniQ8_0x4(w unsafe.Pointer, groups, nb int, a unsafe.Pointer, dst *[4]*float32)

//go:noescape
func vnniQ4_0x4(w unsafe.Pointer, groups, nb int, a unsafe.Pointer, dst *[4]*float32)

// prepX4 interleaves the Q8_0 forms of each whole four of ps (ps[t:t+4]
// into ps[t].x4) for the batched kernels, once per batch.
func prepX4(ps []prepared) {
	for t := 0; t+4 <= len(ps); t += 4 {
		a := make([]actX4, len(ps[t].qc)/2)
		interleaveX4(a, ps[t:t+4])
		ps[t].x4 = a
	}
}

// interleaveX4 lays out the Q8_0 forms of ps[0:4] for the batched kernels.
func interleaveX4(a []actX4, ps []prepared) {
	n := len(a)
	for t := range 4 {
		p := &ps[t]
		for b := range a {
			a[b].qs[t] = p.q8[b].qs
			a[b].d[t] = p.q8d[b]
			a[b].c8[t], a[b].c4[t] = p.qc[b], p.qc[n+b]
		}
	}
}

// prepK4 interleaves the Q8_K forms of each whole four of ps into
// ps[t].k4 for the batched Q4_K kernel, once per batch.
func prepK4(ps []prepared) {
	for t := 0; t+4 <= len(ps); t += 4 {
		ps[t].k4 = interleaveK4(ps[t : t+4])
	}
}

// interleaveK4 lays out the Q8_K forms of ps[0:4] for vnniQ4_Kx4.
func interleaveK4(ps []prepared) []actK4 {
	a := make([]actK4, len(ps[0].q8k))
	for t := range 4 {
		p := &ps[t]
		for b := range a {
			a[b].qs[t] = p.q8k[b].qs
			a[b].d[t] = p.q8k[b].d
			a[b].bs[t] = [8]int32(p.kbs[8*b : 8*b+8])
			a[b].c6[t] = [16]int32(p.k6c[16*b : 16*b+16])
		}
	}
	return a
}

func rowsPackedQ8_0Batch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	rowsPackedBatch(dst, m, ps, lo, hi, vnniQ8_0x4, rowsPackedQ8_0, x4Of)
}

func rowsPackedQ4_0Batch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	rowsPackedBatch(dst, m, ps, lo, hi, vnniQ4_0x4, rowsPackedQ4_0, x4Of)
}

func rowsPackedQ4_KBatch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	rowsPackedBatch(dst, m, ps, lo, hi, vnniQ4_Kx4, rowsPackedQ4_K, k4Of)
}

func rowsPackedQ6_KBatch(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
	rowsPackedBatch(dst, m, ps, lo, hi, vnniQ6_Kx4, rowsPackedQ6_K, k4Of)
}

// x4Of returns the interleaved Q8_0 form of ps[0:4] (made by prepX4, or
// now if MatMuls did not).
func x4Of(ps []prepared, nb int) unsafe.Pointer {
	a := ps[0].x4
	if len(a) < nb {
		a = make([]actX4, nb)
		interleaveX4(a, ps[:4])
	}
	return unsafe.Pointer(&a[0])
}

// k4Of is x4Of for the Q8_K form (prepK4).
func k4Of(ps []prepared, nb int) unsafe.Pointer {
	a := ps[0].k4
	if len(a) < nb {
		a = interleaveK4(ps[:4])
	}
	return unsafe.Pointer(&a[0])
}

// rowsPackedBatch sets dst[t][lo:hi] for every vector t: four vectors at a
// time with kern over the whole groups of the range (whose weights then
// stay in cache from one four to the next), the rest with one. act gives
// a four's interleaved activations.
func rowsPackedBatch(dst [][]float32, m Matrix, ps []prepared, lo, hi int,
	kern func(unsafe.Pointer, int, int, unsafe.Pointer, *[4]*float32),
	one func([]float32, Matrix, *prepared, int, int),
	act func([]prepared, int) unsafe.Pointer) {
	defer runtime.KeepAlive(m.mem) // the kernels read m.Data through pointers
	nb := m.Cols / packCols(m.Type)
	if lo >= hi {
		return
	}
	t := 0
	if lo%packRows == 0 && hi%packRows == 0 && len(ps) >= 4 {
		tb := nb * packTileBytes(m.Type)
		for ; t+4 <= len(ps); t += 4 {
			out := [4]*float32{&dst[t][lo], &dst[t+1][lo], &dst[t+2][lo], &dst[t+3][lo]}
			kern(unsafe.Pointer(&m.Data[lo/packRows*tb]), (hi-lo)/packRows, nb, act(ps[t:], nb), &out)
		}
	}
	for ; t < len(ps); t++ {
		one(dst[t], m, &ps[t], lo, hi)
	}
}

//go:noescape
func vnniQ4_Kx4(w unsafe.Pointer, groups, nb int, a unsafe.Pointer, dst *[4]*float32)
