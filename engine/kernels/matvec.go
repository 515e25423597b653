package kernels

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/converse-project/converse/engine/gguf"
)

// Matrix is a row-major matrix of Rows rows of Cols values encoded as Type,
// over Data, which it never copies or writes (typically a tensor of a mapped
// GGUF file, whose Dims are {Cols, Rows}). Make one with NewMatrix.
type Matrix struct {
	Type       gguf.Type
	Rows, Cols int
	Data       []byte
	rowBytes   int
	// packed says Data is in the packed layout of Pack, not GGUF's, held
	// by mem.
	packed bool
	mem    *packedMem
}

// NewMatrix checks that data holds exactly rows×cols values of type t and
// returns the Matrix over it.
func NewMatrix(t gguf.Type, rows, cols int, data []byte) (Matrix, error) {
	rb, err := t.RowBytes(cols)
	if err != nil {
		return Matrix{}, fmt.Errorf("kernels: matrix: %w", err)
	}
	if rows < 0 || rb*rows != len(data) {
		return Matrix{}, fmt.Errorf("kernels: matrix: %d bytes for %d×%d %v, want %d", len(data), rows, cols, t, rb*rows)
	}
	return Matrix{Type: t, Rows: rows, Cols: cols, Data: data, rowBytes: rb}, nil
}

// Row returns the encoded bytes of row i, in GGUF's block layout (a copy,
// for a packed Matrix).
func (m Matrix) Row(i int) []byte {
	if m.packed {
		row := make([]byte, m.rowBytes)
		unpackRow(row, m, i)
		return row
	}
	return m.Data[i*m.rowBytes : (i+1)*m.rowBytes]
}

// DequantizeRow decodes row i into dst, which must have length m.Cols.
func (m Matrix) DequantizeRow(i int, dst []float32) error {
	return Dequantize(m.Type, m.Row(i), dst)
}

// parallelMin is the number of weight bytes below which a product runs on
// the calling goroutine: handing rows to other goroutines costs more than it
// saves.
const parallelMin = 1 << 16

// MatVec sets dst = m·x, splitting the rows over threads goroutines (all of
// GOMAXPROCS when threads <= 0; one for small matrices). It panics if
// len(dst) != m.Rows or len(x) != m.Cols, as a slice index would. dst and x
// must not overlap. MatVec only reads m and x, so any number of products may
// run at once over the same Matrix. It starts its goroutines per call; a
// Pool reuses a fixed set instead, which is what a forward pass wants.
func MatVec(dst []float32, m Matrix, x []float32, threads int) {
	checkShape(dst, m, x)
	k := kernelOf(m)
	var p prepared
	p.prepare(x, k)
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if len(m.Data) < parallelMin || m.Rows < 2*threads {
		threads = 1
	}
	if threads == 1 {
		k.rows(dst, m, &p, 0, m.Rows)
		return
	}
	// Chunks are a multiple of 16 rows: workers never write to neighbouring
	// elements of dst within one cache line more than once per chunk, and
	// a packed matrix's groups of 16 rows stay whole.
	chunk := (m.Rows + threads - 1) / threads
	chunk = (chunk + 15) &^ 15
	var wg sync.WaitGroup
	for lo := chunk; lo < m.Rows; lo += chunk {
		hi := min(lo+chunk, m.Rows)
		wg.Go(func() { k.rows(dst, m, &p, lo, hi) })
	}
	k.rows(dst, m, &p, 0, min(chunk, m.Rows))
	wg.Wait()
}

func checkShape(dst []float32, m Matrix, x []float32) {
	if len(dst) != m.Rows || len(x) != m.Cols {
		panic(fmt.Sprintf("kernels: MatVec of %d×%d matrix with %d inputs into %d outputs", m.Rows, m.Cols, len(x), len(dst)))
	}
}

// dotRows adapts a row dot product to a rows kernel.
func dotRows(dot func([]byte, *prepared) float32) func([]float32, Matrix, *prepared, int, int) {
	return func(dst []float32, m Matrix, p *prepared, lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = dot(m.Data[i*m.rowBytes:(i+1)*m.rowBytes], p)
		}
	}
}

// prepared holds the activations of one product in the forms its kernels
// read: always the float32 values, plus 8-bit blocks for integer kernels.
// One prepared serves every matrix type multiplied with the same x (a
// layer's Q, K and V may mix Q4_K and Q6_K): each form is made once.
type prepared struct {
	f []float32
	// q8 holds the Q8_0 blocks, and in SIMD builds the same values again
	// in the order the Q4_0 kernel reads them; q8d their scales as float32,
	// zero-padded to a multiple of 8 for kernels that load eight at once,
	// plus the Q4_0 kernel's forms of them (see prepQ8_0 and prepQ4_0).
	q8  []blockQ8_0
	q8d []float32
	q8k []blockQ8K
	// kd holds the Q8_K block scales contiguously, zero-padded to a
	// multiple of 8, for kernels that load eight of them at once.
	kd []float32
	// qc holds, for the packed kernels, −128·Σq of each Q8_0 block of q8
	// in qc[0:n] and −8·Σq in qc[n:2n]: the corrections for weights stored
	// plus 128 (Q8_0) or as nibbles 0..15 (Q4_0); see prepQ8_0.
	qc []int32
	// kbs holds the Q8_K blocks' sums per sub-block of 32 (eight per block).
	kbs []int32
	// k6c holds −32 × the Q8_K blocks' sums per 16 (sixteen per block).
	k6c []int32
	// x4, on the first of each four vectors of a batch, holds the four's
	// Q8_0 forms interleaved for the batched packed kernels (prepX4).
	x4 []actX4
	// k4 is x4 for the Q8_K form (prepK4).
	k4 []actK4
	// made records which prep functions have run (bit per prepKind).
	made uint8
}

// prepare sets x as the activations and makes the form k needs.
func (p *prepared) prepare(x []float32, k kernel) {
	if p.f == nil {
		p.f = x
	}
	if k.prep != nil && p.made&(1<<k.form) == 0 {
		k.prep(p)
		p.made |= 1 << k.form
	}
}

// The forms of activations a kernel may need beyond float32.
const (
	formF32 = iota
	formQ8_0
	formQ8K
	formQ4_0
	formX4
	formK4
)

// kernel is one type's rows product: rows sets dst[lo:hi] to the products of
// those rows of m with the activations. prep, when set, fills the extra form
// (form) of the activations once per product.
type kernel struct {
	prep func(*prepared)
	form uint8
	rows func(dst []float32, m Matrix, p *prepared, lo, hi int)
	// batch, when set, does rows for several activation vectors at once
	// (ps[b] into dst[b]), reusing each weight block's decoding; it must
	// give exactly what rows gives for each vector.
	batch func(dst [][]float32, m Matrix, ps []prepared, lo, hi int)
	// prepBatch, when set, makes a batch's joint form of its vectors once
	// per MatMuls call (after every vector's prep), marked by batchForm.
	prepBatch func(ps []prepared)
	batchForm uint8
}

// kernelOf returns the kernel for m: the one for its packed layout if it is
// packed (see Pack), else kernelFor its type.
func kernelOf(m Matrix) kernel {
	if m.packed {
		return packedKernel(m.Type)
	}
	return kernelFor(m.Type)
}

// kernelFor returns the fastest kernel built in for t: the SIMD one when this
// build and CPU have it, else the portable one.
func kernelFor(t gguf.Type) kernel {
	if int(t) < len(kernelTable) && kernelTable[t].rows != nil {
		return kernelTable[t]
	}
	panic("kernels: no kernel for " + t.String())
}

// kernelTable holds each type's kernel, chosen once; it is never written
// after package initialisation.
var kernelTable = buildKernelTable()

func buildKernelTable() []kernel {
	portable := map[gguf.Type]func([]byte, *prepared) float32{
		gguf.TypeF32: dotF32, gguf.TypeF16: dotF16, gguf.TypeBF16: dotBF16,
		gguf.TypeQ8_0: dotQ8_0, gguf.TypeQ4_0: dotQ4_0, gguf.TypeQ4_K: dotQ4_K, gguf.TypeQ6_K: dotQ6_K,
	}
	var table []kernel
	for _, t := range gguf.Types() {
		for int(t) >= len(table) {
			table = append(table, kernel{})
		}
		if k, ok := simdKernel(t); ok {
			table[t] = k
		} else {
			table[t] = kernel{rows: dotRows(portable[t])}
		}
	}
	return table
}
