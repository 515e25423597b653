//go:build linux

package kernels

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
)

// TestQ8_0AndQ4_0KernelsStayInsideTheMatrix puts each matrix at the very
// end of a mapping followed by an inaccessible page, as the last tensor of
// a mapped GGUF file can be: a kernel reading one byte past the matrix
// faults. The results must also equal those of the same matrix elsewhere.
func TestQ8_0AndQ4_0KernelsStayInsideTheMatrix(t *testing.T) {
	page := syscall.Getpagesize()
	r := rand.New(rand.NewPCG(25, 26))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0} {
		for _, c := range []struct{ rows, cols int }{{1, 32}, {3, 96}, {2, 256}, {5, 288}, {7, 2048}} {
			t.Run(fmt.Sprintf("%v/%dx%d", typ, c.rows, c.cols), func(t *testing.T) {
				enc, err := Quantize(typ, randomVector(r, c.rows*c.cols))
				if err != nil {
					t.Fatal(err)
				}
				size := (len(enc) + page - 1) / page * page
				mem, err := syscall.Mmap(-1, 0, size+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
				if err != nil {
					t.Skip("mmap:", err)
				}
				defer syscall.Munmap(mem)
				if err := syscall.Mprotect(mem[size:], syscall.PROT_NONE); err != nil {
					t.Skip("mprotect:", err)
				}
				data := mem[size-len(enc) : size : size]
				copy(data, enc)
				m, err := NewMatrix(typ, c.rows, c.cols, data)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := NewMatrix(typ, c.rows, c.cols, enc)
				if err != nil {
					t.Fatal(err)
				}
				x := randomVector(r, c.cols)
				got, want := make([]float32, c.rows), make([]float32, c.rows)
				MatVec(got, m, x, 1)
				MatVec(want, ref, x, 1)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("row %d: %v at the end of a mapping, %v elsewhere", i, got[i], want[i])
					}
				}
				p := NewPool(1)
				defer p.Close()
				xs := [][]float32{x, randomVector(r, c.cols), randomVector(r, c.cols)}
				dst := [][]float32{make([]float32, c.rows), make([]float32, c.rows), make([]float32, c.rows)}
				p.MatMuls(xs, Batch{Dst: dst, M: m})
				for i := range got {
					if dst[0][i] != want[i] {
						t.Fatalf("row %d: MatMuls %v, MatVec %v", i, dst[0][i], want[i])
					}
				}
			})
		}
	}
}
