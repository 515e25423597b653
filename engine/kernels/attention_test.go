package kernels

import (
	"fmt"
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

// TestAttendGroupMatchesAttend checks that AttendGroup gives every head of
// a group exactly what Attend gives it alone, bit for bit, across the
// block boundaries of the grouped kernel (64 positions).
func TestAttendGroupMatchesAttend(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, g := range []int{1, 4, 8} {
		for _, hd := range []int{64, 128, 24, 8} {
			for _, n := range []int{1, 3, 5, 64, 65, 130, 300} {
				stride := 2*hd + 8
				keys, values := randomVector(r, n*stride), randomVector(r, n*stride)
				q := randomVector(r, g*hd)
				scale := float32(1 / math.Sqrt(float64(hd)))
				got := make([]float32, g*hd)
				AttendGroup(got, q, g, keys[hd:], values[hd:], n, stride, scale, make([]float32, g*n))
				for h := range g {
					want := make([]float32, hd)
					Attend(want, q[h*hd:(h+1)*hd], keys[hd:], values[hd:], n, stride, scale, make([]float32, n))
					for i := range want {
						if math.Float32bits(got[h*hd+i]) != math.Float32bits(want[i]) {
							t.Fatalf("g %d, hd %d, n %d: head %d value %d is %v, Attend %v", g, hd, n, h, i, got[h*hd+i], want[i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkAttendGroup times one layer's attention of TinyLlama's shape
// (32 query heads over 4 KV heads of 64) at 512 and 4096 positions, over
// several layers' caches so that they come from memory as in a forward
// pass, grouped and head by head. At 4096 positions a layer's keys no
// longer fit in L2 and the grouped version reads them once instead of 8
// times (here: 5-6.5 against 10-15 ms).
func BenchmarkAttendGroup(b *testing.B) {
	const heads, kv, hd = 32, 4, 64
	for _, c := range []struct{ n, layers int }{{512, 22}, {4096, 4}} {
		r := rand.New(rand.NewPCG(1, 2))
		keys, values := make([][]float32, c.layers), make([][]float32, c.layers)
		for l := range c.layers {
			keys[l], values[l] = randomVector(r, c.n*kv*hd), randomVector(r, c.n*kv*hd)
		}
		q := randomVector(r, heads*hd)
		out := make([]float32, heads*hd)
		scores := make([]float32, heads*c.n)
		g := heads / kv
		b.Run(fmt.Sprintf("%d/grouped", c.n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				l := i % c.layers
				for k := range kv {
					AttendGroup(out[k*g*hd:(k+1)*g*hd], q[k*g*hd:(k+1)*g*hd], g, keys[l][k*hd:], values[l][k*hd:], c.n, kv*hd, 0.125, scores[k*g*c.n:])
				}
			}
		})
		b.Run(fmt.Sprintf("%d/per head", c.n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				l := i % c.layers
				for h := range heads {
					k := h / g
					Attend(out[h*hd:(h+1)*hd], q[h*hd:(h+1)*hd], keys[l][k*hd:], values[l][k*hd:], c.n, kv*hd, 0.125, scores[h*c.n:(h+1)*c.n])
				}
			}
		})
	}
}
