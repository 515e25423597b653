package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSwiGLUMatchesFloat64 checks SwiGLU (the vector path in a SIMD build,
// and the scalar tail) against float64 math, over ordinary gate values and
// ones where e^−g underflows or overflows float32, and with dst = gate.
func TestSwiGLUMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, n := range []int{1, 7, 8, 9, 64, 5632 + 3} {
		gate, up := randomVector(r, n), randomVector(r, n)
		for i := range gate {
			switch i % 7 {
			case 1:
				gate[i] *= 30 // e^−g beyond float32's range either way
			case 2:
				gate[i] = float32(i%2*2-1) * 95
			case 3:
				gate[i] = 0
			case 4:
				gate[i] *= 1e-20
			}
		}
		check := func(name string, got []float32, gate []float32) {
			t.Helper()
			for i, g := range gate {
				want := float64(g) / (1 + math.Exp(-float64(g))) * float64(up[i])
				if d := math.Abs(float64(got[i]) - want); d > 1e-6*math.Abs(want)+1e-37 {
					t.Fatalf("%s, %d values: SwiGLU(%v, %v) = %v, want %v", name, n, g, up[i], got[i], want)
				}
			}
		}
		dst := make([]float32, n)
		SwiGLU(dst, gate, up)
		check("into dst", dst, gate)
		g2 := append([]float32(nil), gate...)
		SwiGLU(g2, g2, up)
		check("in place", g2, gate)
	}
}

func BenchmarkSwiGLU(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	gate, up := randomVector(r, 11008), randomVector(r, 11008)
	dst := make([]float32, len(gate))
	for b.Loop() {
		SwiGLU(dst, gate, up)
	}
}
