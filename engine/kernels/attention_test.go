package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// attendRef is attention in float64, the reference Attend is checked against.
func attendRef(q, keys, values []float32, n, stride int, scale float32) []float64 {
	hd := len(q)
	s := make([]float64, n)
	m := math.Inf(-1)
	for t := range n {
		var d float64
		for i := range hd {
			d += float64(q[i]) * float64(keys[t*stride+i])
		}
		s[t] = d * float64(scale)
		m = max(m, s[t])
	}
	var sum float64
	for t := range s {
		s[t] = math.Exp(s[t] - m)
		sum += s[t]
	}
	out := make([]float64, hd)
	for t := range n {
		for i := range hd {
			out[i] += s[t] / sum * float64(values[t*stride+i])
		}
	}
	return out
}

func TestAttendMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, hd := range []int{64, 128, 24, 8} {
		for _, n := range []int{1, 3, 4, 5, 37, 300} {
			stride := 3*hd + 8 // a cache row of several heads
			keys := randomVector(r, n*stride)
			values := randomVector(r, n*stride)
			q := randomVector(r, hd)
			for i := range q {
				q[i] *= 3 // peaked softmax, to exercise the exponent range
			}
			out := make([]float32, hd)
			scores := make([]float32, n+5)
			scale := float32(1 / math.Sqrt(float64(hd)))
			Attend(out, q, keys[hd:], values[hd:], n, stride, scale, scores)
			want := attendRef(q, keys[hd:], values[hd:], n, stride, scale)
			for i := range out {
				if d := math.Abs(float64(out[i]) - want[i]); d > 2e-5*(1+math.Abs(want[i])) {
					t.Fatalf("hd=%d n=%d: out[%d] = %v, want %v", hd, n, i, out[i], want[i])
				}
			}
		}
	}
}

func TestAttendPanicsOnShortCache(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Attend(make([]float32, 8), make([]float32, 8), make([]float32, 15), make([]float32, 16), 2, 8, 1, make([]float32, 2))
}

func BenchmarkAttend(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const hd, n, stride = 64, 1024, 256
	keys, values := randomVector(r, n*stride), randomVector(r, n*stride)
	q, out, scores := randomVector(r, hd), make([]float32, hd), make([]float32, n)
	for b.Loop() {
		Attend(out, q, keys, values, n, stride, 0.125, scores)
	}
}
