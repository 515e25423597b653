package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
)

// TestQ8_0AndQ4_0KernelsMatchFloatMath checks the Q8_0 and Q4_0 kernels of
// this build (AVX2 ones in a simd build) against float64 math on the
// dequantised weights, for row lengths that end in a partial group of
// eight blocks or an odd block, and for weights with negative, tiny
// (subnormal fp16) and zero scales.
func TestQ8_0AndQ4_0KernelsMatchFloatMath(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0} {
		for _, cols := range []int{32, 64, 96, 224, 256, 288, 480, 32 * 131, 5632} {
			for _, weights := range []string{"gaussian", "tiny", "mixed"} {
				t.Run(fmt.Sprintf("%v/%d/%s", typ, cols, weights), func(t *testing.T) {
					const rows = 19
					w := randomVector(r, rows*cols)
					for i := range w {
						switch {
						case weights == "tiny":
							w[i] *= 1e-4 // block scales below fp16's smallest normal
						case weights == "mixed" && (i/32)%3 == 0:
							w[i] = 0
						case weights == "mixed" && (i/32)%3 == 1:
							w[i] = -abs32(w[i]) * 1e-3
						}
					}
					enc, err := Quantize(typ, w)
					if err != nil {
						t.Fatal(err)
					}
					// An exactly sized copy: the kernel must not read past
					// the matrix.
					m, err := NewMatrix(typ, rows, cols, slices.Clip(append([]byte(nil), enc...)))
					if err != nil {
						t.Fatal(err)
					}
					x := randomVector(r, cols)
					want, bound := refMatVec(t, m, x)
					var xmax float64
					for _, v := range x {
						xmax = max(xmax, math.Abs(float64(v)))
					}
					got := make([]float32, rows)
					MatVec(got, m, x, 1)
					row := make([]float32, cols)
					for i := range rows {
						var wsum float64
						m.DequantizeRow(i, row)
						for _, v := range row {
							wsum += math.Abs(float64(v))
						}
						limit := 1e-5*bound[i] + 1e-30
						if QuantizesActivations(typ) {
							limit = 1e-4*bound[i] + 1.0/254*1.05*xmax*wsum + 1e-30
						}
						if d := math.Abs(float64(got[i]) - want[i]); d > limit {
							t.Fatalf("row %d: %v, want %v (error %g > %g)", i, got[i], want[i], d, limit)
						}
					}
				})
			}
		}
	}
}

// TestQ4_0MatMulsEqualsMatVec checks the batch-equals-MatVec property for
// Q4_0 (batch_test.go covers the other types).
func TestQ4_0MatMulsEqualsMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, cols := range []int{96, 512, 5632} {
		enc, err := Quantize(gguf.TypeQ4_0, randomVector(r, 70*cols))
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewMatrix(gguf.TypeQ4_0, 70, cols, enc)
		if err != nil {
			t.Fatal(err)
		}
		p := NewPool(2)
		xs := make([][]float32, 5)
		dst := make([][]float32, len(xs))
		for b := range xs {
			xs[b], dst[b] = randomVector(r, cols), make([]float32, m.Rows)
		}
		p.MatMuls(xs, Batch{Dst: dst, M: m})
		p.Close()
		for b, x := range xs {
			want := make([]float32, m.Rows)
			MatVec(want, m, x, 1)
			if !slices.Equal(dst[b], want) {
				t.Errorf("%d columns, vector %d differs from MatVec", cols, b)
			}
		}
	}
}

// TestQ8_0AndQ4_0RowRangesMatchOneRow runs the rows kernel of this build on
// every lo..hi range of small matrices (so that the four-, two- and one-row
// paths and their leftover rows are all taken, with whole and partial last
// groups of eight blocks) and checks each row against the kernel run on
// that row alone, bit for bit.
func TestQ8_0AndQ4_0RowRangesMatchOneRow(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0} {
		for _, cols := range []int{32, 96, 256, 288, 512, 32 * 131, 2048} {
			t.Run(fmt.Sprintf("%v/%d", typ, cols), func(t *testing.T) {
				const rows = 13
				enc, err := Quantize(typ, randomVector(r, rows*cols))
				if err != nil {
					t.Fatal(err)
				}
				m, err := NewMatrix(typ, rows, cols, slices.Clip(append([]byte(nil), enc...)))
				if err != nil {
					t.Fatal(err)
				}
				k := kernelFor(typ)
				var p prepared
				p.prepare(randomVector(r, cols), k)
				want := make([]float32, rows)
				for i := range rows {
					k.rows(want, m, &p, i, i+1)
				}
				got := make([]float32, rows)
				for lo := 0; lo <= rows; lo++ {
					for hi := lo; hi <= rows; hi++ {
						for i := range got {
							got[i] = float32(math.NaN())
						}
						k.rows(got, m, &p, lo, hi)
						for i := lo; i < hi; i++ {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("rows %d..%d: row %d is %v, alone %v", lo, hi, i, got[i], want[i])
							}
						}
					}
				}
			})
		}
	}
}
