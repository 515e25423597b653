//go:build goexperiment.simd && amd64

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/converse-project/converse/engine/gguf"
)

// q6kMatrix returns a random rows×cols Q6_K matrix and prepared activations.
func q6kMatrix(t testing.TB, r *rand.Rand, rows, cols int) (Matrix, *prepared) {
	enc, err := Quantize(gguf.TypeQ6_K, randomVector(r, rows*cols))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatrix(gguf.TypeQ6_K, rows, cols, enc)
	if err != nil {
		t.Fatal(err)
	}
	p := new(prepared)
	p.prepare(randomVector(r, cols), kernelFor(gguf.TypeQ6_K))
	return m, p
}

// q6kPaths runs f once per Q6_K code path this CPU has (AVX-512 and AVX2).
func q6kPaths(t *testing.T, f func(t *testing.T)) {
	saved := q6kUse512
	defer func() { q6kUse512 = saved }()
	for _, on := range []bool{false, true} {
		if on && !q6kHas512 {
			continue
		}
		q6kUse512 = on
		t.Run(fmt.Sprintf("avx512=%v", on), f)
	}
}

// The kernels keep the float operations of the previous version: same
// results, bit for bit, for any row length (one chunk or several, an odd
// number of blocks) and row range.
func TestQ6KMatchesPreviousKernel(t *testing.T) {
	q6kPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, shape := range [][2]int{{9, 256}, {33, 512}, {17, 256 * 7}, {5, 256 * 70}, {40, 5632}, {3, 256 * 129}, {2, 256 * 300}, {3, 256 * 300}} {
			m, p := q6kMatrix(t, r, shape[0], shape[1])
			want := make([]float32, m.Rows)
			rowsQ6_KRef(want, m, p, 0, m.Rows)
			got := make([]float32, m.Rows)
			rowsQ6_K(got, m, p, 0, m.Rows)
			if !slices.Equal(got, want) {
				t.Fatalf("%dx%d: %v, want %v", m.Rows, m.Cols, got, want)
			}
			clear(got)
			rowsQ6_K(got, m, p, 1, m.Rows-1)
			if !slices.Equal(got[1:m.Rows-1], want[1:m.Rows-1]) || got[0] != 0 || got[m.Rows-1] != 0 {
				t.Fatalf("%dx%d rows 1..%d: %v, want %v", m.Rows, m.Cols, m.Rows-1, got, want)
			}
			// The batched kernel gives each vector what rowsQ6_K gives it.
			for _, nv := range []int{1, 2, 3, 5} {
				ps := make([]prepared, nv)
				dst := make([][]float32, nv)
				for v := range ps {
					ps[v].prepare(randomVector(r, m.Cols), kernelFor(gguf.TypeQ6_K))
					dst[v] = make([]float32, m.Rows)
				}
				rowsQ6_KBatch(dst, m, ps, 0, m.Rows)
				for v := range ps {
					rowsQ6_K(want, m, &ps[v], 0, m.Rows)
					if !slices.Equal(dst[v], want) {
						t.Fatalf("%dx%d, vector %d of %d: %v, want %v", m.Rows, m.Cols, v, nv, dst[v], want)
					}
				}
			}
		}
	})
}

// rowsQ6_K walks four rows at a time (and the rows left over
// alone): every row range gives each row what the one-row kernel gives it.
func TestQ6KRowRanges(t *testing.T) {
	q6kPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, cols := range []int{256 * 3, 256 * 258} {
			m, p := q6kMatrix(t, r, 7, cols)
			want := make([]float32, m.Rows)
			rowsQ6_KOne(want, m, p, 0, m.Rows)
			for lo := 0; lo <= m.Rows; lo++ {
				for hi := lo; hi <= m.Rows; hi++ {
					got := make([]float32, m.Rows)
					rowsQ6_K(got, m, p, lo, hi)
					for i := range got {
						if w := want[i]; i < lo || i >= hi {
							w = 0
						} else if got[i] != w {
							t.Fatalf("%dx%d rows %d..%d: row %d = %v, want %v", m.Rows, m.Cols, lo, hi, i, got[i], w)
						}
						if (i < lo || i >= hi) && got[i] != 0 {
							t.Fatalf("%dx%d rows %d..%d: row %d written", m.Rows, m.Cols, lo, hi, i)
						}
					}
				}
			}
		}
	})
}

func TestQ6KHalfTable(t *testing.T) {
	tab := q6kHalfTable()
	for i := range 1 << 16 {
		if got, want := math.Float32bits(tab[i]), math.Float32bits(halfToFloat(uint16(i))); got != want {
			t.Fatalf("%#04x: %#08x, want %#08x", i, got, want)
		}
	}
}

// BenchmarkQ6KRows times rowsQ6_K on one thread against the previous
// kernel, on a matrix that fits in L2 and one that does not.
func BenchmarkQ6KRows(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, shape := range [][2]int{{256, 4096}, {2048, 5632}} {
		m, p := q6kMatrix(b, r, shape[0], shape[1])
		dst := make([]float32, m.Rows)
		for _, k := range []struct {
			name string
			f    func([]float32, Matrix, *prepared, int, int)
		}{{"ref", rowsQ6_KRef}, {"new", rowsQ6_K}} {
			b.Run(fmt.Sprintf("%dx%d/%s", m.Rows, m.Cols, k.name), func(b *testing.B) {
				for b.Loop() {
					k.f(dst, m, p, 0, m.Rows)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m.Rows*m.Cols), "ns/weight")
			})
		}
	}
}

// BenchmarkQ6KBatch times rowsQ6_KBatch per vector of an 8-vector batch.
func BenchmarkQ6KBatch(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	m, _ := q6kMatrix(b, r, 512, 2048)
	const nv = 8
	ps := make([]prepared, nv)
	dst := make([][]float32, nv)
	for v := range ps {
		ps[v].prepare(randomVector(r, m.Cols), kernelFor(gguf.TypeQ6_K))
		dst[v] = make([]float32, m.Rows)
	}
	for _, k := range []struct {
		name string
		f    func([][]float32, Matrix, []prepared, int, int)
	}{{"ref", rowsQ6_KBatchRef}, {"new", rowsQ6_KBatch}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				k.f(dst, m, ps, 0, m.Rows)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(nv*m.Rows*m.Cols), "ns/weight")
		})
	}
}

// TestQ6KTiming (run with Q6K_TIMING=1 -v) times the kernels against the
// previous ones, alternating, and prints the best of many runs: the machine
// this was written on is shared, and single runs vary by 1.5×.
func TestQ6KTiming(t *testing.T) {
	if os.Getenv("Q6K_TIMING") == "" {
		t.Skip("set Q6K_TIMING=1 to run")
	}
	r := rand.New(rand.NewPCG(7, 8))
	shapes := [][2]int{{256, 4096}, {2048, 5632}}
	if s := os.Getenv("Q6K_SHAPES"); s != "" {
		shapes = nil
		for _, f := range strings.Fields(s) {
			var rows, cols int
			fmt.Sscanf(f, "%dx%d", &rows, &cols)
			shapes = append(shapes, [2]int{rows, cols})
		}
	}
	saved := q6kUse512
	defer func() { q6kUse512 = saved }()
	for _, shape := range shapes {
		m, p := q6kMatrix(t, r, shape[0], shape[1])
		dst := make([]float32, m.Rows)
		nv := 8
		if s := os.Getenv("Q6K_NV"); s != "" {
			fmt.Sscan(s, &nv)
		}
		ps := make([]prepared, nv)
		dsts := make([][]float32, len(ps))
		for v := range ps {
			ps[v].prepare(randomVector(r, m.Cols), kernelFor(gguf.TypeQ6_K))
			dsts[v] = make([]float32, m.Rows)
		}
		fs := []struct {
			name string
			f    func()
			n    int // weights per call
		}{
			{"ref", func() { rowsQ6_KRef(dst, m, p, 0, m.Rows) }, m.Rows * m.Cols},
			{"avx2", func() { q6kUse512 = false; rowsQ6_K(dst, m, p, 0, m.Rows) }, m.Rows * m.Cols},
			{"avx512", func() { q6kUse512 = q6kHas512; rowsQ6_K(dst, m, p, 0, m.Rows) }, m.Rows * m.Cols},
			{"batch ref", func() { rowsQ6_KBatchRef(dsts, m, ps, 0, m.Rows) }, len(ps) * m.Rows * m.Cols},
			{"batch avx2", func() { q6kUse512 = false; rowsQ6_KBatch(dsts, m, ps, 0, m.Rows) }, len(ps) * m.Rows * m.Cols},
			{"batch 512", func() { q6kUse512 = q6kHas512; rowsQ6_KBatch(dsts, m, ps, 0, m.Rows) }, len(ps) * m.Rows * m.Cols},
		}
		best := make([]time.Duration, len(fs))
		for round := range 40 {
			for i, f := range fs {
				reps := max(1, 20_000_000/f.n)
				t0 := time.Now()
				for range reps {
					f.f()
				}
				d := time.Since(t0) / time.Duration(reps)
				if round == 0 || d < best[i] {
					best[i] = d
				}
			}
		}
		for i, f := range fs {
			t.Logf("%dx%d %-11s %8.1f µs  %.4f ns/weight", m.Rows, m.Cols, f.name, float64(best[i].Nanoseconds())/1e3, float64(best[i].Nanoseconds())/float64(f.n))
		}
	}
}

// TestQ6KStreamTiming (run with Q6K_TIMING=1 -v) times one pass over 40
// distinct 2048×5632 matrices (not cache-resident) on two threads, the one-,
// two- and four-row kernels, alternating, best of several passes.
func TestQ6KStreamTiming(t *testing.T) {
	if os.Getenv("Q6K_TIMING") == "" {
		t.Skip("set Q6K_TIMING=1 to run")
	}
	r := rand.New(rand.NewPCG(11, 12))
	m0, p := q6kMatrix(t, r, 2048, 5632)
	ms := make([]Matrix, 40)
	for i := range ms {
		ms[i] = m0
		ms[i].Data = slices.Clone(m0.Data)
	}
	pool := NewPool(2)
	defer pool.Close()
	dst := make([]float32, m0.Rows)
	saved := q6kUse512
	defer func() { q6kUse512 = saved }()
	fs := []struct {
		name string
		f    func([]float32, Matrix, *prepared, int, int)
		u512 bool
	}{{"avx2 one", rowsQ6_KOne, false}, {"avx2 four", rowsQ6_KFour, false},
		{"avx512 one", rowsQ6_KOne, true}, {"512 four", rowsQ6_KFour, true}}
	best := make([]time.Duration, len(fs))
	for round := range 12 {
		for i, f := range fs {
			if f.u512 && !q6kHas512 {
				continue
			}
			q6kUse512 = f.u512
			t0 := time.Now()
			for _, m := range ms {
				pool.Parallel(2, func(k int) {
					lo, hi := k*m.Rows/2, (k+1)*m.Rows/2
					f.f(dst, m, p, lo, hi)
				})
			}
			d := time.Since(t0) / time.Duration(len(ms))
			if round == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	for i, f := range fs {
		t.Logf("2048x5632 x40, 2 threads, %-10s %7.1f µs per matrix  %.4f ns/weight", f.name, float64(best[i].Nanoseconds())/1e3, float64(best[i].Nanoseconds())/float64(m0.Rows*m0.Cols))
	}
}
