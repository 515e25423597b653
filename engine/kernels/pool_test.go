package kernels

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
)

func TestPoolMatchesMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const cols = 512
	x := randomVector(r, cols)
	var ms []Matrix
	for _, c := range []struct {
		typ  gguf.Type
		rows int
	}{{gguf.TypeQ4_K, 300}, {gguf.TypeQ6_K, 77}, {gguf.TypeQ8_0, 129}, {gguf.TypeF16, 64}} {
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
	want := make([][]float32, len(ms))
	for i, m := range ms {
		want[i] = make([]float32, m.Rows)
		MatVec(want[i], m, x, 1)
	}
	check := func(t *testing.T, p *Pool) {
		t.Helper()
		got := make([][]float32, len(ms))
		var ps []Product
		for i, m := range ms {
			got[i] = make([]float32, m.Rows)
			ps = append(ps, Product{Dst: got[i], M: m})
		}
		p.MatVecs(x, ps...)
		for i := range ms {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("product %d (%v) differs from MatVec", i, ms[i].Type)
			}
		}
	}
	cases := []struct {
		name    string
		threads int
		callers int
		closed  bool
	}{
		{"one thread", 1, 1, false},
		{"all cores", 0, 1, false},
		{"more threads than cores", 5, 1, false},
		{"eight callers at once", 3, 8, false},
		{"after Close the caller works alone", 3, 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPool(c.threads)
			defer p.Close()
			if c.closed {
				p.Close()
			}
			var wg sync.WaitGroup
			for range c.callers {
				wg.Go(func() {
					for range 5 {
						check(t, p)
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestPoolParallelCallsEveryIndexOnce(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	for _, n := range []int{0, 1, 2, 100} {
		seen := make([]int32, n)
		var mu sync.Mutex
		p.Parallel(n, func(i int) {
			mu.Lock()
			seen[i]++
			mu.Unlock()
		})
		for i, s := range seen {
			if s != 1 {
				t.Fatalf("n=%d: index %d called %d times", n, i, s)
			}
		}
	}
}

// BenchmarkParallelHandoff measures what handing work to the Pool costs:
// Parallel calls with two units of about 20 µs each, the size of a small
// product in a forward pass, back to back as a forward pass makes them.
func BenchmarkParallelHandoff(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	var sink [2]float64
	work := func(i int) {
		v := 1.0
		for range 20000 {
			v = v*1.0000001 + 1e-9
		}
		sink[i] += v
	}
	for b.Loop() {
		p.Parallel(2, work)
	}
}

func BenchmarkParallelOneUnit(b *testing.B) {
	var sink float64
	for b.Loop() {
		v := 1.0
		for range 20000 {
			v = v*1.0000001 + 1e-9
		}
		sink += v
	}
	_ = sink
}
