package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
)

func TestHalfConversion(t *testing.T) {
	cases := []struct {
		name string
		f    float32
		h    uint16
	}{
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"largest finite", 65504, 0x7bff},
		{"overflow saturates to infinity", 1e6, 0x7c00},
		{"smallest subnormal", 5.9604645e-8, 0x0001},
		{"below half the smallest subnormal flushes to zero", 2e-8, 0x0000},
		{"tie rounds to even", 1 + 1.0/2048, 0x3c00},
		{"above tie rounds up", 1 + 1.0/2048 + 1.0/65536, 0x3c01},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := floatToHalf(c.f); got != c.h {
				t.Errorf("floatToHalf(%v) = %#04x, want %#04x", c.f, got, c.h)
			}
		})
	}
	t.Run("every finite half round-trips", func(t *testing.T) {
		for h := range 1 << 16 {
			if h&0x7c00 == 0x7c00 {
				continue
			}
			if got := floatToHalf(halfToFloat(uint16(h))); got != uint16(h) {
				t.Fatalf("%#04x -> %v -> %#04x", h, halfToFloat(uint16(h)), got)
			}
		}
	})
	t.Run("bfloat16 keeps the top half", func(t *testing.T) {
		for _, f := range []float32{1, -3.5, 0x1p100, 0.15625} {
			if got := bf16ToFloat(floatToBF16(f)); got != f {
				t.Errorf("%v -> %v", f, got)
			}
		}
		if got := floatToBF16(1 + 1.0/256 + 1.0/65536); got != 0x3f81 {
			t.Errorf("rounding: %#04x", got)
		}
	})
}

// quantError bounds |decoded − x| per element relative to the largest
// magnitude in x, generous enough for the simple encoders.
var quantError = map[gguf.Type]float64{
	gguf.TypeF32:  0,
	gguf.TypeF16:  1e-3,
	gguf.TypeBF16: 8e-3,
	gguf.TypeQ8_0: 1.0 / 127,
	gguf.TypeQ4_0: 1.0 / 8,
	gguf.TypeQ4_K: 1.0 / 12,
	gguf.TypeQ6_K: 1.0 / 28,
}

func randomVector(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func TestQuantizeThenDequantizeStaysWithinFormatError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range gguf.Types() {
		for _, input := range []string{"gaussian", "all positive", "zeros", "one spike"} {
			t.Run(typ.String()+"/"+input, func(t *testing.T) {
				x := randomVector(r, 512)
				for i := range x {
					switch input {
					case "all positive":
						x[i] = abs32(x[i]) + 1
					case "zeros":
						x[i] = 0
					case "one spike":
						x[i] = 0.01 * x[i]
						if i == 300 {
							x[i] = 40
						}
					}
				}
				enc, err := Quantize(typ, x)
				if err != nil {
					t.Fatal(err)
				}
				y := make([]float32, len(x))
				if err := Dequantize(typ, enc, y); err != nil {
					t.Fatal(err)
				}
				var amax float64
				for _, v := range x {
					amax = max(amax, math.Abs(float64(v)))
				}
				for i := range x {
					if d := math.Abs(float64(y[i] - x[i])); d > quantError[typ]*amax+1e-7 {
						t.Fatalf("value %d: %v decoded as %v (error %v > %v)", i, x[i], y[i], d, quantError[typ]*amax)
					}
				}
			})
		}
	}
}

func TestDequantizeRejectsWrongSizes(t *testing.T) {
	cases := []struct {
		name string
		typ  gguf.Type
		src  int
		dst  int
	}{
		{"partial block", gguf.TypeQ8_0, 34, 16},
		{"short source", gguf.TypeQ4_K, 100, 256},
		{"unknown type", gguf.Type(77), 4, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Dequantize(c.typ, make([]byte, c.src), make([]float32, c.dst)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// refMatVec is float64 math on the dequantised matrix.
func refMatVec(t *testing.T, m Matrix, x []float32) (y, bound []float64) {
	row := make([]float32, m.Cols)
	for i := range m.Rows {
		if err := m.DequantizeRow(i, row); err != nil {
			t.Fatal(err)
		}
		var s, a float64
		for j, w := range row {
			s += float64(w) * float64(x[j])
			a += math.Abs(float64(w) * float64(x[j]))
		}
		y, bound = append(y, s), append(bound, a)
	}
	return y, bound
}

func TestMatVecMatchesDequantizedFloatMath(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, typ := range gguf.Types() {
		shapes := [][2]int{{7, 256}, {300, 512}, {1030, 256}, {9, 256 * 70}}
		if typ.BlockSize() < 256 {
			// Block counts that are odd and not a multiple of 8, within
			// one kernel chunk and across several.
			shapes = append(shapes, [2]int{5, 96}, [2]int{3, 32 * 131})
		}
		for _, shape := range shapes {
			t.Run(fmt.Sprintf("%v/%dx%d", typ, shape[0], shape[1]), func(t *testing.T) {
				rows, cols := shape[0], shape[1]
				enc, err := Quantize(typ, randomVector(r, rows*cols))
				if err != nil {
					t.Fatal(err)
				}
				m, err := NewMatrix(typ, rows, cols, enc)
				if err != nil {
					t.Fatal(err)
				}
				x := randomVector(r, cols)
				want, bound := refMatVec(t, m, x)
				// Kernels that quantise the activations to 8 bits add up to
				// half a step (max|x|/254) per activation.
				tol, act := 1e-5, 0.0
				if kernelFor(typ).prep != nil {
					tol, act = 1e-3, 1.0/254*1.05
				}
				var xmax float64
				for _, v := range x {
					xmax = max(xmax, math.Abs(float64(v)))
				}
				got := make([]float32, rows)
				MatVec(got, m, x, 0)
				serial := make([]float32, rows)
				MatVec(serial, m, x, 1)
				row := make([]float32, cols)
				for i := range rows {
					var wsum float64
					m.DequantizeRow(i, row)
					for _, w := range row {
						wsum += math.Abs(float64(w))
					}
					limit := tol*bound[i] + act*xmax*wsum
					if d := math.Abs(float64(got[i]) - want[i]); d > limit {
						t.Fatalf("row %d: %v, want %v (error %g > %g)", i, got[i], want[i], d, limit)
					}
					if got[i] != serial[i] {
						t.Fatalf("row %d: %v on all cores, %v on one", i, got[i], serial[i])
					}
				}
			})
		}
	}
}

func TestNewMatrixRejectsWrongSize(t *testing.T) {
	if _, err := NewMatrix(gguf.TypeQ8_0, 2, 32, make([]byte, 34)); err == nil {
		t.Fatal("accepted one block for two rows")
	}
}

func TestMatVecPanicsOnShapeMismatch(t *testing.T) {
	m, _ := NewMatrix(gguf.TypeF32, 2, 4, make([]byte, 32))
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	MatVec(make([]float32, 2), m, make([]float32, 3), 1)
}

func TestActivationQuantizers(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randomVector(r, 512)
	q8 := quantizeQ8_0(x, nil)
	qk := quantizeQ8K(x, nil)
	for i, v := range x {
		b, k := q8[i/32], qk[i/256]
		if d := abs32(halfToFloat(b.d)*float32(b.qs[i%32]) - v); d > halfToFloat(b.d)*0.6 { // half a step plus the fp16 rounding of d (×127·2⁻¹¹)
			t.Fatalf("Q8_0 value %d: error %v", i, d)
		}
		if d := abs32(k.d*float32(k.qs[i%256]) - v); d > k.d*0.51 {
			t.Fatalf("Q8_K value %d: error %v", i, d)
		}
	}
	for b, blk := range qk {
		for g := range 16 {
			var s int16
			for _, q := range blk.qs[16*g : 16*g+16] {
				s += int16(q)
			}
			if s != blk.bsums[g] {
				t.Fatalf("block %d bsum %d = %d, want %d", b, g, blk.bsums[g], s)
			}
		}
	}
}

func BenchmarkMatVec(b *testing.B) {
	const rows, cols = 4096, 4096
	r := rand.New(rand.NewPCG(7, 8))
	w := randomVector(r, rows*cols)
	x := randomVector(r, cols)
	dst := make([]float32, rows)
	for _, typ := range gguf.Types() {
		enc, err := Quantize(typ, w)
		if err != nil {
			b.Fatal(err)
		}
		m, _ := NewMatrix(typ, rows, cols, enc)
		for _, threads := range []int{1, 0} {
			name := fmt.Sprintf("%v/%dx%d/threads=%d", typ, rows, cols, threads)
			if threads == 0 {
				name = fmt.Sprintf("%v/%dx%d/threads=all", typ, rows, cols)
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(enc)))
				b.ReportAllocs()
				for b.Loop() {
					MatVec(dst, m, x, threads)
				}
			})
		}
	}
}
