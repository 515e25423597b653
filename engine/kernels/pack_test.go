package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
)

// packTestMatrix returns a rows×cols matrix of typ with gaussian weights,
// and with zero, negative tiny (subnormal fp16) scales in some blocks.
func packTestMatrix(t *testing.T, r *rand.Rand, typ gguf.Type, rows, cols int) Matrix {
	t.Helper()
	w := randomVector(r, rows*cols)
	for i := range w {
		switch (i / 32) % 5 {
		case 1:
			w[i] = 0
		case 3:
			w[i] = -abs32(w[i]) * 1e-4
		}
	}
	enc, err := Quantize(typ, w)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatrix(typ, rows, cols, slices.Clip(enc))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// packAlways packs m whether or not this build and CPU have a packed kernel.
func packAlways(m Matrix) Matrix {
	out := make([]byte, m.Rows/packRows*m.Cols/packCols(m.Type)*packTileBytes(m.Type))
	for g := range m.Rows / packRows {
		packGroup(out, m, g)
	}
	m.Data, m.packed = out, true
	return m
}

// TestPackKeepsEveryWeight packs Q8_0 and Q4_0 matrices (in every build)
// and reads every row back, byte for byte, and dequantised.
func TestPackKeepsEveryWeight(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		for _, shape := range [][2]int{{16, 256}, {32, 768}, {48, 2048}} {
			m := packTestMatrix(t, r, typ, shape[0], shape[1])
			pm := packAlways(m)
			if slices.Equal(pm.Data, m.Data) {
				t.Fatalf("%v %v: packing changed nothing", typ, shape)
			}
			a, b := make([]float32, m.Cols), make([]float32, m.Cols)
			for i := range m.Rows {
				if !slices.Equal(pm.Row(i), m.Row(i)) {
					t.Fatalf("%v %v: row %d differs after packing", typ, shape, i)
				}
				if err := pm.DequantizeRow(i, a); err != nil {
					t.Fatal(err)
				}
				m.DequantizeRow(i, b)
				if !slices.Equal(a, b) {
					t.Fatalf("%v %v: row %d dequantises differently after packing", typ, shape, i)
				}
			}
		}
	}
}

// packedRef is the packed kernels' arithmetic in Go, on the unpacked
// matrix: per block, the exact integer dot product of the weights and the
// Q8_0 activations, times (weight scale × activation scale), added to the
// row's sum, every step rounded to float32 in this order.
func packedRef(m Matrix, p *prepared, i int) float32 {
	switch m.Type {
	case gguf.TypeQ4_K:
		return packedRefQ4K(m, p, i)
	case gguf.TypeQ6_K:
		return packedRefQ6K(m, p, i)
	}
	row := m.Row(i)
	var acc float32
	for b := range m.Cols / 32 {
		xq := &p.q8[b].qs
		var dot int32
		var dw float32
		switch m.Type {
		case gguf.TypeQ8_0:
			blk := row[34*b:][:34]
			dw = halfToFloat(binary.LittleEndian.Uint16(blk))
			for j := range 32 {
				dot += int32(int8(blk[2+j])) * int32(xq[j])
			}
		case gguf.TypeQ4_0:
			blk := row[18*b:][:18]
			dw = halfToFloat(binary.LittleEndian.Uint16(blk))
			for j := range 16 {
				dot += (int32(blk[2+j]&15)-8)*int32(xq[j]) + (int32(blk[2+j]>>4)-8)*int32(xq[16+j])
			}
		}
		s := float32(dw * p.q8d[b])
		acc = float32(acc + float32(float32(dot)*s))
	}
	return acc
}

// packedRefQ4K is packedRef for Q4_K: per super-block, the exact integer
// sums of scale × sub-block dot product and of min × sub-block activation
// sum, then acc = (acc + Isc·(d·dx)) − Imin·(dmin·dx), rounded step by
// step.
func packedRefQ4K(m Matrix, p *prepared, i int) float32 {
	row := m.Row(i)
	var acc float32
	for b := range m.Cols / 256 {
		blk, x := row[144*b:][:144], &p.q8k[b]
		d := halfToFloat(binary.LittleEndian.Uint16(blk[0:]))
		dmin := halfToFloat(binary.LittleEndian.Uint16(blk[2:]))
		var isc, imin, xs int32
		for j := range 8 {
			sc, mn := scaleMinK4(j, blk[4:16])
			var dot int32
			for k := range 32 {
				q := blk[16+32*(j/2)+k]
				if j%2 == 1 {
					q >>= 4
				}
				dot += int32(q&15) * int32(x.qs[32*j+k])
			}
			xs = 0
			for k := range 32 {
				xs += int32(x.qs[32*j+k])
			}
			isc += int32(sc) * dot
			imin += int32(mn) * xs
		}
		acc = float32(acc + float32(float32(isc)*float32(d*x.d)))
		acc = float32(acc - float32(float32(imin)*float32(dmin*x.d)))
	}
	return acc
}

// packedRefQ6K is packedRef for Q6_K: per super-block, the exact integer
// sum over sub-blocks of 16 of scale × Σ (q−32)·x, then
// acc += Isc·(d·dx).
func packedRefQ6K(m Matrix, p *prepared, i int) float32 {
	row := m.Row(i)
	var acc float32
	for b := range m.Cols / 256 {
		blk, x := row[210*b:][:210], &p.q8k[b]
		d := halfToFloat(binary.LittleEndian.Uint16(blk[208:]))
		var isc int32
		for j := range 16 {
			var dot int32
			for k := range 16 {
				col := 16*j + k
				n, l, part := col/128, col%32, col%128/32
				ql := blk[64*n+32*(part%2)+l]
				if part >= 2 {
					ql >>= 4
				}
				q := int32(ql&15) | int32(blk[128+32*n+l]>>(2*part)&3)<<4
				dot += (q - 32) * int32(x.qs[col])
			}
			isc += int32(int8(blk[192+j])) * dot
		}
		acc = float32(acc + float32(float32(isc)*float32(d*x.d)))
	}
	return acc
}

// TestPackedKernelsMatchTheirArithmetic runs the packed Q8_0 and Q4_0
// kernels (where this build and CPU have them) over every row range of
// small matrices and over whole products on 1–3 threads, and checks every
// result bit for bit against packedRef, and packedRef against the
// unpacked kernel of this build within float32 summation error.
func TestPackedKernelsMatchTheirArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		if !canPack(typ) {
			t.Skipf("no packed %v kernel in this build or on this CPU (%s)", typ, Accel())
		}
		shapes := [][2]int{{16, 32}, {48, 96}, {64, 32 * 131}, {256, 2048}}
		if typ.BlockSize() == 256 {
			shapes = [][2]int{{16, 256}, {48, 768}, {64, 256 * 11}, {256, 2048}}
		}
		for _, shape := range shapes {
			t.Run(fmt.Sprintf("%v/%dx%d", typ, shape[0], shape[1]), func(t *testing.T) {
				rows, cols := shape[0], shape[1]
				m := packTestMatrix(t, r, typ, rows, cols)
				pm := Pack(m)
				if !pm.Packed() {
					t.Fatal("Pack did not pack")
				}
				x := randomVector(r, cols)
				k := kernelOf(pm)
				var p prepared
				p.prepare(x, k)
				want := make([]float32, rows)
				for i := range rows {
					want[i] = packedRef(m, &p, i)
				}
				// The unpacked kernel sums in another order.
				plain := make([]float32, rows)
				MatVec(plain, m, x, 1)
				for i := range rows {
					var bound float64
					row := make([]float32, cols)
					m.DequantizeRow(i, row)
					for j, w := range row {
						bound += math.Abs(float64(w) * float64(x[j]))
					}
					if d := math.Abs(float64(want[i] - plain[i])); d > 1e-5*bound+1e-30 {
						t.Fatalf("row %d: reference %v, unpacked kernel %v", i, want[i], plain[i])
					}
				}
				same := func(what string, got []float32, lo, hi int) {
					t.Helper()
					for i := lo; i < hi; i++ {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: row %d is %v, want %v", what, i, got[i], want[i])
						}
					}
				}
				for _, threads := range []int{1, 2, 3} {
					got := make([]float32, rows)
					MatVec(got, pm, x, threads)
					same(fmt.Sprintf("MatVec on %d threads", threads), got, 0, rows)
				}
				if rows > 64 {
					return
				}
				got := make([]float32, rows)
				for lo := 0; lo <= rows; lo++ {
					for hi := lo; hi <= rows; hi++ {
						for i := range got {
							got[i] = float32(math.NaN())
						}
						k.rows(got, pm, &p, lo, hi)
						same(fmt.Sprintf("rows %d..%d", lo, hi), got, lo, hi)
						if lo > 0 && !math.IsNaN(float64(got[lo-1])) || hi < rows && !math.IsNaN(float64(got[hi])) {
							t.Fatalf("rows %d..%d wrote outside the range", lo, hi)
						}
					}
				}
			})
		}
	}
}

// TestPackedMatMulsMatchMatVec checks that a batch through a Pool gives
// every vector exactly what MatVec gives it: packed Q8_0 and Q4_0 matrices
// with an unpacked Q4_K one in one call, and packed Q4_K and Q6_K ones
// (which share their batch form) in another, for batches with and without
// whole fours.
func TestPackedMatMulsMatchMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		if !canPack(typ) {
			t.Skipf("no packed %v kernel in this build or on this CPU (%s)", typ, Accel())
		}
	}
	const cols = 512
	calls := [][]Matrix{{
		Pack(packTestMatrix(t, r, gguf.TypeQ8_0, 320, cols)),
		Pack(packTestMatrix(t, r, gguf.TypeQ4_0, 96, cols)),
		packTestMatrix(t, r, gguf.TypeQ4_K, 40, cols),
	}, {
		Pack(packTestMatrix(t, r, gguf.TypeQ4_K, 64, 4*cols)),
		Pack(packTestMatrix(t, r, gguf.TypeQ6_K, 48, 4*cols)),
	}}
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		for _, n := range []int{1, 3, 4, 5, 9} {
			for _, ms := range calls {
				xs := make([][]float32, n)
				for b := range xs {
					xs[b] = randomVector(r, ms[0].Cols)
				}
				var bs []Batch
				for _, m := range ms {
					bt := Batch{M: m}
					for range n {
						bt.Dst = append(bt.Dst, make([]float32, m.Rows))
					}
					bs = append(bs, bt)
				}
				p.MatMuls(xs, bs...)
				for _, bt := range bs {
					for b, x := range xs {
						want := make([]float32, bt.M.Rows)
						p.MatVec(want, bt.M, x)
						for i := range want {
							if math.Float32bits(bt.Dst[b][i]) != math.Float32bits(want[i]) {
								t.Fatalf("%d threads, %d vectors, %v: vector %d row %d is %v, MatVec %v", threads, n, bt.M.Type, b, i, bt.Dst[b][i], want[i])
							}
						}
					}
				}
			}
		}
		p.Close()
	}
}

// TestPackKeepsWeightsOffTheHeap packs a 9 MB matrix and checks that the
// Go heap did not grow by it (the garbage collector paces itself by the
// heap: packed weights on it would let garbage grow as large).
func TestPackKeepsWeightsOffTheHeap(t *testing.T) {
	if !canPack(gguf.TypeQ8_0) || runtime.GOOS == "windows" {
		t.Skipf("nothing to pack in this build or on this CPU (%s)", Accel())
	}
	m := packTestMatrix(t, rand.New(rand.NewPCG(47, 48)), gguf.TypeQ8_0, 4096, 2048)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pm := Pack(m)
	runtime.ReadMemStats(&after)
	if !pm.Packed() {
		t.Fatal("Pack did not pack")
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > int64(len(pm.Data))/4 {
		t.Fatalf("the heap grew by %d bytes packing %d", grew, len(pm.Data))
	}
	runtime.KeepAlive(pm)
}
