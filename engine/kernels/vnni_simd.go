//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"

	"github.com/converse-project/converse/engine/gguf"
)

// hasVNNI says whether this CPU runs the packed Q8_0 and Q4_0 kernels
// (vnni_amd64.s): AVX-512 F/BW/VL for 512-bit integer work, VNNI for
// VPDPBUSD. packVNNI turns them off (tests compare both paths).
var (
	hasVNNI  = hasAVX2 && archsimd.X86.AVX512() && archsimd.X86.AVX512VNNI()
	packVNNI = hasVNNI
)

// canPack reports whether Pack has a layout for t on this CPU.
func canPack(t gguf.Type) bool {
	return packVNNI && (t == gguf.TypeQ8_0 || t == gguf.TypeQ4_0)
}

// packedKernel returns the kernel for a packed t matrix.
func packedKernel(t gguf.Type) kernel {
	switch t {
	case gguf.TypeQ8_0:
		return kernel{prep: prepQ8_0, form: formQ8_0, rows: rowsPackedQ8_0}
	case gguf.TypeQ4_0:
		return kernel{prep: prepQ8_0, form: formQ8_0, rows: rowsPackedQ4_0}
	}
	panic("kernels: no packed kernel for " + t.String())
}

// The assembly kernels: dst[16·i+r] = row r of group i of the packed tiles
// at w times the activations (groups groups of nb blocks each); see
// vnni_amd64.s and pack.go for the layouts.
//
//go:noescape
func vnniQ8_0(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, xd *float32, xc *int32, dst *float32)

//go:noescape
func vnniQ4_0(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, xd *float32, xc *int32, dst *float32)

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
	nb := m.Cols / 32
	if lo >= hi {
		return
	}
	tb := nb * packTileBytes(m.Type) // bytes per group of rows
	x := unsafe.Pointer(&p.q8[0].qs[0])
	run := func(g, n int, out *float32) {
		kern(unsafe.Pointer(&m.Data[g*tb]), n, nb, x, &p.q8d[0], &p.qc[qc], out)
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
