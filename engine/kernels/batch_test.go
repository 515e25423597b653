package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
)

func TestMatMulsEqualsMatVecPerVector(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const cols = 512
	var ms []Matrix
	for _, c := range []struct {
		typ  gguf.Type
		rows int
	}{{gguf.TypeQ4_K, 300}, {gguf.TypeQ6_K, 77}, {gguf.TypeQ8_0, 129}, {gguf.TypeF32, 40}} {
		enc, err := Quantize(c.typ, randomVector(r, c.rows*cols))
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewMatrix(c.typ, c.rows, cols, enc)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	cases := []struct {
		name           string
		threads, batch int
	}{
		{"one vector, one thread", 1, 1},
		{"three vectors, one thread", 1, 3},
		{"seventeen vectors over three threads", 3, 17},
		{"a batch wider than a tile over all cores", 0, 33},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPool(c.threads)
			defer p.Close()
			xs := make([][]float32, c.batch)
			for b := range xs {
				xs[b] = randomVector(r, cols)
			}
			var bs []Batch
			for _, m := range ms {
				dst := make([][]float32, c.batch)
				for b := range dst {
					dst[b] = make([]float32, m.Rows)
				}
				bs = append(bs, Batch{Dst: dst, M: m})
			}
			p.MatMuls(xs, bs...)
			for i, m := range ms {
				for b, x := range xs {
					want := make([]float32, m.Rows)
					MatVec(want, m, x, 1)
					if !slices.Equal(bs[i].Dst[b], want) {
						t.Errorf("matrix %d (%v), vector %d differs from MatVec", i, m.Type, b)
					}
				}
			}
		})
	}
}

func TestMatMulsPanicsOnShapeMismatch(t *testing.T) {
	m, err := NewMatrix(gguf.TypeF32, 2, 4, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(1)
	defer p.Close()
	cases := []struct {
		name string
		xs   [][]float32
		dst  [][]float32
	}{
		{"fewer outputs than vectors", [][]float32{make([]float32, 4), make([]float32, 4)}, [][]float32{make([]float32, 2)}},
		{"a vector of the wrong length", [][]float32{make([]float32, 3)}, [][]float32{make([]float32, 2)}},
		{"an output of the wrong length", [][]float32{make([]float32, 4)}, [][]float32{make([]float32, 3)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			p.MatMuls(c.xs, Batch{Dst: c.dst, M: m})
		})
	}
}

// BenchmarkMatMuls reports the time per vector of a 32-vector batch, to
// set against BenchmarkMatVec's time per product.
func BenchmarkMatMuls(b *testing.B) {
	const rows, cols, batch = 2048, 2048, 32
	r := rand.New(rand.NewPCG(7, 8))
	w := randomVector(r, rows*cols)
	xs := make([][]float32, batch)
	dst := make([][]float32, batch)
	for i := range xs {
		xs[i], dst[i] = randomVector(r, cols), make([]float32, rows)
	}
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		enc, err := Quantize(typ, w)
		if err != nil {
			b.Fatal(err)
		}
		m, _ := NewMatrix(typ, rows, cols, enc)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/%dx%d/batch=%d/threads=%d", typ, rows, cols, batch, threads), func(b *testing.B) {
				p := NewPool(threads)
				defer p.Close()
				for b.Loop() {
					p.MatMuls(xs, Batch{Dst: dst, M: m})
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/vector")
			})
		}
	}
}
