//go:build goexperiment.simd && amd64

package kernels

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/converse-project/converse/engine/gguf"
)

// q4kMatrix returns a random rows×cols Q4_K matrix and prepared
// activations. With raw, the blocks are random bytes (every scale and min
// bit pattern) with fp16 d and dmin of moderate size.
func q4kMatrix(t testing.TB, r *rand.Rand, rows, cols int, raw bool) (Matrix, *prepared) {
	var enc []byte
	if raw {
		enc = make([]byte, rows*cols/256*144)
		for i := range enc {
			enc[i] = byte(r.Uint32())
		}
		for b := 0; b < len(enc); b += 144 {
			binary.LittleEndian.PutUint16(enc[b:], uint16(0x1000+r.IntN(0x2000)))
			binary.LittleEndian.PutUint16(enc[b+2:], uint16(0x1000+r.IntN(0x2000)))
		}
	} else {
		var err error
		enc, err = Quantize(gguf.TypeQ4_K, randomVector(r, rows*cols))
		if err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewMatrix(gguf.TypeQ4_K, rows, cols, enc)
	if err != nil {
		t.Fatal(err)
	}
	p := new(prepared)
	p.prepare(randomVector(r, cols), kernelFor(gguf.TypeQ4_K))
	return m, p
}

// q4kPaths runs f once per Q4_K code path this CPU has (AVX-512 and AVX2).
func q4kPaths(t *testing.T, f func(t *testing.T)) {
	saved := q4kUse512
	defer func() { q4kUse512 = saved }()
	for _, on := range []bool{false, true} {
		if on && !q4kHas512 {
			continue
		}
		q4kUse512 = on
		t.Run(fmt.Sprintf("avx512=%v", on), f)
	}
}

// The kernels keep the float operations of the previous version: same
// results, bit for bit, for any row length (one chunk or several, an odd
// number of blocks), row range and block contents.
func TestQ4KMatchesPreviousKernel(t *testing.T) {
	q4kPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		for _, raw := range []bool{false, true} {
			for _, shape := range [][2]int{{9, 256}, {33, 512}, {17, 256 * 7}, {5, 256 * 70}, {40, 5632}, {3, 256 * 129}} {
				m, p := q4kMatrix(t, r, shape[0], shape[1], raw)
				want := make([]float32, m.Rows)
				rowsQ4_KRef(want, m, p, 0, m.Rows)
				got := make([]float32, m.Rows)
				rowsQ4_K(got, m, p, 0, m.Rows)
				if !slices.Equal(got, want) {
					t.Fatalf("raw=%v %dx%d: %v, want %v", raw, m.Rows, m.Cols, got, want)
				}
				clear(got)
				rowsQ4_K(got, m, p, 1, m.Rows-1)
				if !slices.Equal(got[1:m.Rows-1], want[1:m.Rows-1]) || got[0] != 0 || got[m.Rows-1] != 0 {
					t.Fatalf("raw=%v %dx%d rows 1..%d: %v, want %v", raw, m.Rows, m.Cols, m.Rows-1, got, want)
				}
				// The batched kernel gives each vector what rowsQ4_K gives it.
				for _, nv := range []int{1, 2, 3, 5} {
					ps := make([]prepared, nv)
					dst := make([][]float32, nv)
					for v := range ps {
						ps[v].prepare(randomVector(r, m.Cols), kernelFor(gguf.TypeQ4_K))
						dst[v] = make([]float32, m.Rows)
					}
					rowsQ4_KBatch(dst, m, ps, 0, m.Rows)
					for v := range ps {
						rowsQ4_K(want, m, &ps[v], 0, m.Rows)
						if !slices.Equal(dst[v], want) {
							t.Fatalf("raw=%v %dx%d, vector %d of %d: %v, want %v", raw, m.Rows, m.Cols, v, nv, dst[v], want)
						}
					}
				}
			}
		}
	})
}

// BenchmarkQ4KRows times rowsQ4_K on one thread against the previous
// kernel, on a matrix that fits in L2 and one that does not.
func BenchmarkQ4KRows(b *testing.B) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, shape := range [][2]int{{64, 4096}, {256, 4096}, {2048, 5632}} {
		m, p := q4kMatrix(b, r, shape[0], shape[1], false)
		dst := make([]float32, m.Rows)
		for _, k := range []struct {
			name string
			f    func([]float32, Matrix, *prepared, int, int)
		}{{"ref", rowsQ4_KRef}, {"new", rowsQ4_K}, {"avx2one", rowsQ4_KOne}, {"avx2", rowsQ4_K}, {"avx512one", rowsQ4_K512One}} {
			b.Run(fmt.Sprintf("%dx%d/%s", m.Rows, m.Cols, k.name), func(b *testing.B) {
				// avx2*: the AVX2 kernels whatever this CPU has.
				saved := q4kUse512
				defer func() { q4kUse512 = saved }()
				if strings.HasPrefix(k.name, "avx2") {
					q4kUse512 = false
				} else if k.name == "avx512one" && !q4kHas512 {
					b.Skip("no AVX-512")
				}
				for b.Loop() {
					k.f(dst, m, p, 0, m.Rows)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m.Rows*m.Cols), "ns/weight")
			})
		}
	}
}

// BenchmarkQ4KBatch times rowsQ4_KBatch per vector of an 8-vector batch.
func BenchmarkQ4KBatch(b *testing.B) {
	r := rand.New(rand.NewPCG(19, 20))
	m, _ := q4kMatrix(b, r, 512, 2048, false)
	const nv = 8
	ps := make([]prepared, nv)
	dst := make([][]float32, nv)
	for v := range ps {
		ps[v].prepare(randomVector(r, m.Cols), kernelFor(gguf.TypeQ4_K))
		dst[v] = make([]float32, m.Rows)
	}
	for _, k := range []struct {
		name string
		f    func([][]float32, Matrix, []prepared, int, int)
	}{{"ref", rowsQ4_KBatchRef}, {"new", rowsQ4_KBatch}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				k.f(dst, m, ps, 0, m.Rows)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(nv*m.Rows*m.Cols), "ns/weight")
		})
	}
}

// TestQ4KTimingStream (Q4KTIME=1) times the kernels on one thread over
// 16 matrices of 2048×5632 (104 MB, not cache-resident), alternating.
func TestQ4KTimingStream(t *testing.T) {
	if os.Getenv("Q4KTIME") == "" {
		t.Skip("set Q4KTIME=1")
	}
	r := rand.New(rand.NewPCG(23, 24))
	m0, p := q4kMatrix(t, r, 2048, 5632, false)
	ms := []Matrix{m0}
	for range 15 {
		m, err := NewMatrix(m0.Type, m0.Rows, m0.Cols, append([]byte(nil), m0.Data...))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	dst := make([]float32, m0.Rows)
	avx2 := func(dst []float32, m Matrix, p *prepared, lo, hi int) {
		saved := q4kUse512
		q4kUse512 = false
		rowsQ4_K(dst, m, p, lo, hi)
		q4kUse512 = saved
	}
	fs := []func([]float32, Matrix, *prepared, int, int){rowsQ4_KRef, rowsQ4_K, avx2}
	var times [3][]time.Duration
	for range 8 {
		for i, f := range fs {
			t0 := time.Now()
			for _, m := range ms {
				f(dst, m, p, 0, m.Rows)
			}
			times[i] = append(times[i], time.Since(t0))
		}
	}
	bytes := float64(len(m0.Data) * len(ms))
	for i, name := range []string{"ref", "new", "avx2"} {
		slices.Sort(times[i])
		t.Logf("stream %s: best %.2f GB/s, median %.2f GB/s", name, bytes/times[i][0].Seconds()/1e9, bytes/times[i][len(times[i])/2].Seconds()/1e9)
	}
}

// TestQ4KTiming (Q4KTIME=1) prints the best of many alternating runs of the
// previous and current kernels, on one thread: single runs on a shared
// machine vary too much to compare.
func TestQ4KTiming(t *testing.T) {
	if os.Getenv("Q4KTIME") == "" {
		t.Skip("set Q4KTIME=1")
	}
	r := rand.New(rand.NewPCG(21, 22))
	for _, shape := range [][2]int{{256, 2048}, {64, 4096}, {256, 4096}, {2048, 2048}, {2048, 5632}} {
		m, p := q4kMatrix(t, r, shape[0], shape[1], false)
		dst := make([]float32, m.Rows)
		avx2 := func(dst []float32, m Matrix, p *prepared, lo, hi int) {
			saved := q4kUse512
			q4kUse512 = false
			rowsQ4_K(dst, m, p, lo, hi)
			q4kUse512 = saved
		}
		fs := []func([]float32, Matrix, *prepared, int, int){rowsQ4_KRef, rowsQ4_K, avx2}
		var times [3][]time.Duration
		for range 200 * 4096 * 256 / (m.Rows * m.Cols) {
			for i, f := range fs {
				t0 := time.Now()
				f(dst, m, p, 0, m.Rows)
				times[i] = append(times[i], time.Since(t0))
			}
		}
		n := float64(m.Rows * m.Cols)
		for i, name := range []string{"ref", "new", "avx2"} {
			slices.Sort(times[i])
			t.Logf("%dx%d %s: best %.4f, median %.4f ns/weight", m.Rows, m.Cols, name, float64(times[i][0].Nanoseconds())/n, float64(times[i][len(times[i])/2].Nanoseconds())/n)
		}
		// Batched, per vector of 8.
		const nv = 8
		ps := make([]prepared, nv)
		dsts := make([][]float32, nv)
		for v := range ps {
			ps[v].prepare(randomVector(r, m.Cols), kernelFor(gguf.TypeQ4_K))
			dsts[v] = make([]float32, m.Rows)
		}
		avx2b := func(dst [][]float32, m Matrix, ps []prepared, lo, hi int) {
			saved := q4kUse512
			q4kUse512 = false
			rowsQ4_KBatch(dst, m, ps, lo, hi)
			q4kUse512 = saved
		}
		bfs := []func([][]float32, Matrix, []prepared, int, int){rowsQ4_KBatchRef, rowsQ4_KBatch, avx2b}
		best := []time.Duration{time.Hour, time.Hour, time.Hour}
		for range 10 {
			for i, f := range bfs {
				t0 := time.Now()
				f(dsts, m, ps, 0, m.Rows)
				best[i] = min(best[i], time.Since(t0))
			}
		}
		t.Logf("%dx%d batch of 8: ref %.4f ns/weight, new %.4f, avx2 %.4f", m.Rows, m.Cols, float64(best[0].Nanoseconds())/n/nv, float64(best[1].Nanoseconds())/n/nv, float64(best[2].Nanoseconds())/n/nv)
	}
}

// TestQ4KTimingBatch (Q4KTIME=1) times the batched kernels as prefill runs
// them: 32 vectors, 16-row tiles, one thread, alternating.
func TestQ4KTimingBatch(t *testing.T) {
	if os.Getenv("Q4KTIME") == "" {
		t.Skip("set Q4KTIME=1")
	}
	r := rand.New(rand.NewPCG(25, 26))
	for _, shape := range [][2]int{{2048, 2048}, {5632, 2048}} {
		m, _ := q4kMatrix(t, r, shape[0], shape[1], false)
		const nv = 32
		ps := make([]prepared, nv)
		dst := make([][]float32, nv)
		for v := range ps {
			ps[v].prepare(randomVector(r, m.Cols), kernelFor(gguf.TypeQ4_K))
			dst[v] = make([]float32, m.Rows)
		}
		tiles := func(use512 bool) func() {
			return func() {
				saved := q4kUse512
				q4kUse512 = use512
				for lo := 0; lo < m.Rows; lo += 16 {
					rowsQ4_KBatch(dst, m, ps, lo, min(lo+16, m.Rows))
				}
				q4kUse512 = saved
			}
		}
		ref := func() {
			for lo := 0; lo < m.Rows; lo += 16 {
				rowsQ4_KBatchRef(dst, m, ps, lo, min(lo+16, m.Rows))
			}
		}
		v1 := func() {
			for lo := 0; lo < m.Rows; lo += 16 {
				rowsQ4_KBatchV1(dst, m, ps, lo, min(lo+16, m.Rows))
			}
		}
		fs := []func(){ref, v1, tiles(false)}
		var times [3][]time.Duration
		for range 12 {
			for i, f := range fs {
				t0 := time.Now()
				f()
				times[i] = append(times[i], time.Since(t0))
			}
		}
		n := float64(m.Rows * m.Cols * nv)
		for i, name := range []string{"ref", "v1", "new"} {
			slices.Sort(times[i])
			t.Logf("%dx%d, 32 vectors: %s best %.4f, median %.4f ns/weight per vector", m.Rows, m.Cols, name, float64(times[i][0].Nanoseconds())/n, float64(times[i][len(times[i])/2].Nanoseconds())/n)
		}
	}
}

// TestQ4KTimingDecode (Q4KTIME=1) times the Q4_K products of a decode step
// of a TinyLlama-shaped model (16 layers of Q, K, V, O, gate and up: 290 MB,
// not cache-resident) on two goroutines taking 8-unit shares of each
// matrix, as the pool does, alternating the kernels.
func TestQ4KTimingDecode(t *testing.T) {
	if os.Getenv("Q4KTIME") == "" {
		t.Skip("set Q4KTIME=1")
	}
	r := rand.New(rand.NewPCG(27, 28))
	shapes := [][2]int{{2048, 2048}, {256, 2048}, {256, 2048}, {2048, 2048}, {5632, 2048}, {5632, 2048}}
	var ms []Matrix
	var ps []*prepared
	var bytes int
	for _, s := range shapes {
		m, p := q4kMatrix(t, r, s[0], s[1], false)
		for range 16 {
			c, err := NewMatrix(m.Type, m.Rows, m.Cols, append([]byte(nil), m.Data...))
			if err != nil {
				t.Fatal(err)
			}
			ms, ps = append(ms, c), append(ps, p)
			bytes += len(c.Data)
		}
	}
	dst := make([]float32, 5632)
	run := func(f func([]float32, Matrix, *prepared, int, int)) time.Duration {
		t0 := time.Now()
		for i, m := range ms {
			per := (m.Rows/8 + 7) &^ 7
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						lo := int(next.Add(int64(per))) - per
						if lo >= m.Rows {
							return
						}
						f(dst, m, ps[i], lo, min(lo+per, m.Rows))
					}
				}()
			}
			wg.Wait()
		}
		return time.Since(t0)
	}
	// The AVX2 kernels too when this CPU has AVX-512: they run with
	// q4kUse512 off (set by every call; both goroutines set the same).
	saved := q4kUse512
	defer func() { q4kUse512 = saved }()
	with := func(use512 bool, f func([]float32, Matrix, *prepared, int, int)) func([]float32, Matrix, *prepared, int, int) {
		return func(dst []float32, m Matrix, p *prepared, lo, hi int) {
			q4kUse512 = use512
			f(dst, m, p, lo, hi)
		}
	}
	fs := []func([]float32, Matrix, *prepared, int, int){rowsQ4_KRef, with(q4kHas512, rowsQ4_K), with(false, rowsQ4_KOne), with(false, rowsQ4_K)}
	names := []string{"ref", "new", "AVX2 one row", "AVX2 new"}
	if q4kHas512 {
		fs = append(fs, rowsQ4_K512One)
		names = append(names, "AVX-512 one row")
	}
	times := make([][]time.Duration, len(fs))
	for range 10 {
		for i, f := range fs {
			times[i] = append(times[i], run(f))
		}
	}
	for i, name := range names {
		slices.Sort(times[i])
		t.Logf("decode step's Q4_K products, 2 threads: %s best %.1f ms (%.2f GB/s), median %.1f ms", name, float64(times[i][0].Microseconds())/1000, float64(bytes)/times[i][0].Seconds()/1e9, float64(times[i][len(times[i])/2].Microseconds())/1000)
	}
}
