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
// has AVX2 and FMA. F32, F16, BF16, Q8_0, Q4_K and Q6_K (issue 7, item 7:
// Q4_K_M files keep output and ffn_down in Q6_K) have one; Q4_0 uses the
// portable kernel.
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
		return kernel{prep: prepQ8_0, form: formQ8_0, rows: rowsQ8_0}, true
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
		return "AVX2 (simd/archsimd) for F32, F16, BF16, Q8_0, Q4_K, Q6_K; portable Go for Q4_0"
	}
	return "portable Go (CPU lacks AVX2/FMA)"
}

// QuantizesActivations reports whether MatVec over a t matrix quantises the
// activations to 8 bits in this build and on this CPU, so that its results
// carry that error on top of float32 rounding (callers comparing against
// float math widen their tolerance by it).
func QuantizesActivations(t gguf.Type) bool {
	return hasAVX2 && (t == gguf.TypeQ8_0 || t == gguf.TypeQ4_K || t == gguf.TypeQ6_K)
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

// prepQ8_0 quantises the activations to Q8_0 and lays their scales out as
// float32, padded to a multiple of 8 with zeros, for rowsQ8_0.
func prepQ8_0(p *prepared) {
	n := len(p.f) / 32
	p.q8 = quantizeQ8_0(p.f, make([]blockQ8_0, 0, n))
	tab := halfTable()
	p.q8d = make([]float32, (n+7)&^7)
	for i := range p.q8 {
		p.q8d[i] = tab[p.q8[i].d]
	}
}

// prepQ8K quantises the activations to Q8_K and lays their scales out
// contiguously, padded to a multiple of 8 with zeros.
func prepQ8K(p *prepared) {
	n := len(p.f) / 256
	p.q8k = quantizeQ8K(p.f, make([]blockQ8K, 0, n))
	p.kd = make([]float32, (n+7)&^7)
	for i := range p.q8k {
		p.kd[i] = p.q8k[i].d
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

// chunk is how many blocks a kernel handles per pass: a scalar pass computes
// their float scales (SSE), then a vector pass reads them with VEX loads
// only, so the two encodings never interleave (see hsum).
const chunk = 64

// rowsQ8_0 is sketch G of go-dependencies.md given the K-quant treatment
// (see kquant_simd.go): per row and chunk of blocks, an integer pass
// gathers the weights' fp16 scales, a vector pass converts eight at a time
// (half8) and multiplies them with the activations' scales, and a vector
// pass does the dot products (|w|·sign(x, w) with VPMADDUBSW, pairs summed
// with VPMADDWD) into two accumulators. Weight blocks are read in place:
// blockQ8_0 has the GGUF layout.
func rowsQ8_0(dst []float32, m Matrix, p *prepared, lo, hi int) {
	archsimd.ClearAVXUpperBits() // scalar set-up next: see hsum
	var hd [chunk]uint32
	var scale [chunk + 8]float32 // +8: each block loads 4 floats; half8 stores 8
	nb := m.Cols / 32
	hc := newHalfConsts()
	ones := archsimd.BroadcastInt16x16(1)
	x := p.q8
	for r := lo; r < hi; r++ {
		row := m.Data[r*m.rowBytes : (r+1)*m.rowBytes]
		w := unsafe.Slice((*blockQ8_0)(unsafe.Pointer(unsafe.SliceData(row))), nb)
		acc0, acc1 := archsimd.Float32x8{}, archsimd.Float32x8{}
		for c := 0; c < nb; c += chunk {
			n := min(chunk, nb-c)
			w, x, xd := w[c:c+n], x[c:c+n], p.q8d[c:]
			archsimd.ClearAVXUpperBits() // scalar pass next: see hsum
			for i := range w {
				hd[i] = uint32(w[i].d)
			}
			for i := 0; i < n; i += 8 {
				half8(archsimd.LoadUint32x8Slice(hd[i:]), &hc).Mul(archsimd.LoadFloat32x8Slice(xd[i:])).StoreSlice(scale[i:])
			}
			i := 0
			for ; i+2 <= n; i += 2 {
				qw0, qx0 := archsimd.LoadInt8x32(&w[i].qs), archsimd.LoadInt8x32(&x[i].qs)
				qw1, qx1 := archsimd.LoadInt8x32(&w[i+1].qs), archsimd.LoadInt8x32(&x[i+1].qs)
				s0 := qw0.Abs().AsUint8x32().DotProductPairsSaturated(qx0.CopySign(qw0)).DotProductPairs(ones)
				s1 := qw1.Abs().AsUint8x32().DotProductPairsSaturated(qx1.CopySign(qw1)).DotProductPairs(ones)
				acc0 = s0.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(scale[i:]).Broadcast1To8(), acc0)
				acc1 = s1.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(scale[i+1:]).Broadcast1To8(), acc1)
			}
			if i < n {
				qw, qx := archsimd.LoadInt8x32(&w[i].qs), archsimd.LoadInt8x32(&x[i].qs)
				s := qw.Abs().AsUint8x32().DotProductPairsSaturated(qx.CopySign(qw)).DotProductPairs(ones)
				acc0 = s.ConvertToFloat32().MulAdd(archsimd.LoadFloat32x4Slice(scale[i:]).Broadcast1To8(), acc0)
			}
		}
		dst[r] = hsum(acc0.Add(acc1))
	}
}

// clearUpper clears the upper halves of the vector registers before scalar
// float code (see hsum and SwiGLU).
func clearUpper() { archsimd.ClearAVXUpperBits() }
