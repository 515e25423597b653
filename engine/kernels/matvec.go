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

// Row returns the encoded bytes of row i.
func (m Matrix) Row(i int) []byte { return m.Data[i*m.rowBytes : (i+1)*m.rowBytes] }

// DequantizeRow decodes row i into dst, which must have length m.Cols.
func (m Matrix) DequantizeRow(i int, dst []float32) error {
	return Dequantize(m.Type, m.Row(i), dst)
}

// parallelMin is the number of weight bytes below which a product runs on
// the calling goroutine: starting workers costs more than it saves.
const parallelMin = 1 << 16

// MatVec sets dst = m·x, splitting the rows over threads goroutines (all of
// GOMAXPROCS when threads <= 0; one for small matrices). It panics if
// len(dst) != m.Rows or len(x) != m.Cols, as a slice index would. dst and x
// must not overlap. MatVec only reads m and x, so any number of products may
// run at once over the same Matrix.
func MatVec(dst []float32, m Matrix, x []float32, threads int) {
	if len(dst) != m.Rows || len(x) != m.Cols {
		panic(fmt.Sprintf("kernels: MatVec of %d×%d matrix with %d inputs into %d outputs", m.Rows, m.Cols, len(x), len(dst)))
	}
	k := kernelFor(m.Type)
	p := prepared{f: x}
	if k.prep != nil {
		k.prep(&p)
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if len(m.Data) < parallelMin || m.Rows < 2*threads {
		threads = 1
	}
	if threads == 1 {
		rows(dst, m, &p, k.dot, 0, m.Rows)
		return
	}
	// Chunks are a multiple of 4 rows so workers never write to neighbouring
	// elements of dst within one cache line more than once per chunk.
	chunk := (m.Rows + threads - 1) / threads
	chunk = (chunk + 3) &^ 3
	var wg sync.WaitGroup
	for lo := chunk; lo < m.Rows; lo += chunk {
		hi := min(lo+chunk, m.Rows)
		wg.Go(func() { rows(dst, m, &p, k.dot, lo, hi) })
	}
	rows(dst, m, &p, k.dot, 0, min(chunk, m.Rows))
	wg.Wait()
}

func rows(dst []float32, m Matrix, p *prepared, dot func([]byte, *prepared) float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		dst[i] = dot(m.Data[i*m.rowBytes:(i+1)*m.rowBytes], p)
	}
}

// prepared holds the activations of one product in the forms its kernel
// reads: always the float32 values, plus 8-bit blocks for integer kernels.
type prepared struct {
	f   []float32
	q8  []blockQ8_0
	q8k []blockQ8K
}

// kernel is one type's row dot product; prep, when set, fills the extra forms
// of the activations once per product.
type kernel struct {
	prep func(*prepared)
	dot  func(row []byte, p *prepared) float32
}

// kernelFor returns the fastest kernel built in for t: the SIMD one when this
// build and CPU have it, else the portable one.
func kernelFor(t gguf.Type) kernel {
	if k, ok := simdKernel(t); ok {
		return k
	}
	switch t {
	case gguf.TypeF32:
		return kernel{dot: dotF32}
	case gguf.TypeF16:
		return kernel{dot: dotF16}
	case gguf.TypeBF16:
		return kernel{dot: dotBF16}
	case gguf.TypeQ8_0:
		return kernel{dot: dotQ8_0}
	case gguf.TypeQ4_0:
		return kernel{dot: dotQ4_0}
	case gguf.TypeQ4_K:
		return kernel{dot: dotQ4_K}
	case gguf.TypeQ6_K:
		return kernel{dot: dotQ6_K}
	}
	panic("kernels: no kernel for " + t.String())
}
