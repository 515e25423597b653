//go:build goexperiment.simd && amd64

package kernels

import (
	"math/rand/v2"
	"testing"
)

// quantInputs are the activation vectors the quantiser tests try: gaussian
// values, exact halves after scaling (where round-to-even and math.Round
// differ: a block's largest magnitude 127 makes the scale 1), zero, tiny
// and huge blocks, and blocks of each of those mixed with a spike.
func quantInputs(r *rand.Rand, n, block int) map[string][]float32 {
	in := map[string][]float32{}
	for _, kind := range []string{"gaussian", "halves", "zero", "tiny", "huge", "mixed"} {
		x := randomVector(r, n)
		for i := range x {
			switch {
			case kind == "halves":
				x[i] = float32(r.IntN(254)-127) + 0.5
				if i%block == 0 {
					x[i] = 127
				}
			case kind == "zero":
				x[i] = 0
			case kind == "tiny":
				x[i] *= 1e-30
			case kind == "huge":
				x[i] *= 1e30
			case kind == "mixed" && (i/32)%3 == 0:
				x[i] = 0
			case kind == "mixed" && (i/32)%3 == 1:
				x[i] = float32(r.IntN(20)) - 9.5
			case kind == "mixed" && i%block == 100:
				x[i] = -50
			}
		}
		in[kind] = x
	}
	return in
}

// TestQuantizeSIMDMatchesScalar checks the vector quantisers against
// quantizeQ8_0 and quantizeQ8K block for block, byte for byte, and the
// Q8_0 block sums.
func TestQuantizeSIMDMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, n := range []int{32, 64, 96, 2048, 5632} {
		for kind, x := range quantInputs(r, n, 32) {
			want := quantizeQ8_0(x, nil)
			got := make([]blockQ8_0, n/32)
			sums := make([]int32, n/32)
			quantizeQ8_0SIMD(x, got, sums)
			for b := range want {
				var s int32
				for _, v := range want[b].qs {
					s += int32(v)
				}
				if got[b] != want[b] || sums[b] != s {
					t.Fatalf("Q8_0, %d values, %s: block %d is %v summing to %d, want %v and %d", n, kind, b, got[b], sums[b], want[b], s)
				}
			}
		}
	}
	for _, n := range []int{256, 512, 2048, 5632} {
		for kind, x := range quantInputs(r, n, 256) {
			want := quantizeQ8K(x, nil)
			got := make([]blockQ8K, n/256)
			quantizeQ8KSIMD(x, got)
			for b := range want {
				if got[b] != want[b] {
					t.Fatalf("Q8_K, %d values, %s: block %d differs:\n got %v\nwant %v", n, kind, b, got[b], want[b])
				}
			}
		}
	}
}

// BenchmarkQuantizeQ8_0 times quantising one 2048-value activation vector
// (TinyLlama's width) with the vector and the scalar code.
func BenchmarkQuantizeQ8_0(b *testing.B) {
	x := randomVector(rand.New(rand.NewPCG(1, 2)), 2048)
	q := make([]blockQ8_0, 64)
	s := make([]int32, 64)
	b.Run("simd", func(b *testing.B) {
		for b.Loop() {
			quantizeQ8_0SIMD(x, q, s)
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			quantizeQ8_0(x, q)
		}
	})
}
