//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// attendSIMD is Attend on 8-lane vectors, for head sizes that are a multiple
// of 8 and at most 256 (every Llama-family model).
func attendSIMD(out, q, keys, values []float32, n, stride int, scale float32, scores []float32) bool {
	hd := len(q)
	if !hasAVX2 || hd%8 != 0 || hd > 256 {
		return false
	}
	scores = scores[:n]
	scoresSIMD(q, keys, 0, n, stride, scale, scores)
	sum := softmaxSIMD(scores)
	clear(out)
	accumulateSIMD(out, values, 0, n, stride, scores)
	scaleSIMD(out, 1/sum)
	return true
}

// attendGroupSIMD is AttendGroup on vectors: the same steps as attendSIMD
// for each head, with the positions taken in blocks and the heads inside,
// so that each block of keys and values comes from memory once for the
// group and from cache for its other heads. Each head's arithmetic is
// attendSIMD's, in the same order (blocks are whole multiples of the four
// keys a scores pass takes, and each output lane adds its terms in
// position order either way), so the results are the same bits.
func attendGroupSIMD(out, q []float32, g int, keys, values []float32, n, stride int, scale float32, scores []float32) bool {
	hd := len(q) / g
	if !hasAVX2 || hd%8 != 0 || hd > 256 {
		return false
	}
	const block = 64 // positions: 64 keys of 128 floats are 32 KB
	for t0 := 0; t0 < n; t0 += block {
		t1 := min(t0+block, n)
		for h := range g {
			scoresSIMD(q[h*hd:(h+1)*hd], keys, t0, t1, stride, scale, scores[h*n:(h+1)*n])
		}
	}
	var inv [64]float32
	invs := inv[:0]
	if g > len(inv) {
		invs = make([]float32, 0, g)
	}
	for h := range g {
		invs = append(invs, 1/softmaxSIMD(scores[h*n:(h+1)*n]))
	}
	clear(out)
	for t0 := 0; t0 < n; t0 += block {
		t1 := min(t0+block, n)
		for h := range g {
			accumulateSIMD(out[h*hd:(h+1)*hd], values, t0, t1, stride, scores[h*n:(h+1)*n])
		}
	}
	for h := range g {
		scaleSIMD(out[h*hd:(h+1)*hd], invs[h])
	}
	return true
}

// scoresSIMD sets scores[t] = scale·q·k_t for t in t0..t1-1, four
// positions per pass so that four dot products are in flight, their sums
// reduced together (t0 a multiple of 4 keeps the passes those of a run
// from 0). Callers clear the upper halves before calling (scale arrives
// in a register: see expAffine).
func scoresSIMD(q, keys []float32, t0, t1, stride int, scale float32, scores []float32) {
	archsimd.ClearAVXUpperBits()
	sv := archsimd.BroadcastFloat32x4(scale)
	hd := len(q)
	t := t0
	pq := unsafe.Pointer(unsafe.SliceData(q))
	for ; t+4 <= t1; t += 4 {
		// Four rows of keys through pointers plus constant offsets (Go
		// folds those into the loads; slices would add a bounds check to
		// each): the rows t..t+3 lie within keys (Attend checked n).
		_ = keys[(t+3)*stride+hd-1]
		p0 := unsafe.Pointer(&keys[t*stride])
		p1, p2, p3 := unsafe.Add(p0, 4*stride), unsafe.Add(p0, 8*stride), unsafe.Add(p0, 12*stride)
		var a0, a1, a2, a3 archsimd.Float32x8
		for i := 0; i < 4*hd; i += 32 {
			qv := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pq, i)))
			a0 = qv.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p0, i))), a0)
			a1 = qv.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p1, i))), a1)
			a2 = qv.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p2, i))), a2)
			a3 = qv.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p3, i))), a3)
		}
		// The four horizontal sums at once: pairwise adds (VHADDPS) leave
		// each key's two half-sums in the two 128-bit halves.
		h := a0.AddPairsGrouped(a1).AddPairsGrouped(a2.AddPairsGrouped(a3))
		h.GetLo().Add(h.GetHi()).Mul(sv).StoreSlice(scores[t:])
	}
	archsimd.ClearAVXUpperBits()
	for ; t < t1; t++ {
		k := keys[t*stride : t*stride+hd]
		var a archsimd.Float32x8
		for i := 0; i < hd; i += 8 {
			a = archsimd.LoadFloat32x8Slice(q[i:]).MulAdd(archsimd.LoadFloat32x8Slice(k[i:]), a)
		}
		var s [8]float32
		a.Store(&s)
		archsimd.ClearAVXUpperBits()
		scores[t] = sum8(&s) * scale
	}
}

// softmaxSIMD sets scores[t] = e^(scores[t] − max) and returns their sum.
func softmaxSIMD(scores []float32) float32 {
	archsimd.ClearAVXUpperBits()
	maxScore := float32(math.Inf(-1))
	for _, s := range scores {
		maxScore = max(maxScore, s)
	}
	return expShifted(scores, maxScore)
}

// accumulateSIMD adds Σ a_t v_t over t in t0..t1-1 to out (a = weights),
// in registers: 64 values (eight named accumulators; an array of vectors
// would live in memory) at a time, then any rest eight at a time.
func accumulateSIMD(out, values []float32, t0, t1, stride int, weights []float32) {
	archsimd.ClearAVXUpperBits()
	hd := len(out)
	w := weights[t0:t1]
	base := 0
	for ; base+64 <= hd; base += 64 {
		o := (*[64]float32)(out[base:])
		c0 := archsimd.LoadFloat32x8((*[8]float32)(o[0:]))
		c1 := archsimd.LoadFloat32x8((*[8]float32)(o[8:]))
		c2 := archsimd.LoadFloat32x8((*[8]float32)(o[16:]))
		c3 := archsimd.LoadFloat32x8((*[8]float32)(o[24:]))
		c4 := archsimd.LoadFloat32x8((*[8]float32)(o[32:]))
		c5 := archsimd.LoadFloat32x8((*[8]float32)(o[40:]))
		c6 := archsimd.LoadFloat32x8((*[8]float32)(o[48:]))
		c7 := archsimd.LoadFloat32x8((*[8]float32)(o[56:]))
		for i, a := range w {
			v := (*[64]float32)(values[(t0+i)*stride+base:])
			av := archsimd.BroadcastFloat32x8(a)
			c0 = av.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(v[0:])), c0)
			c1 = av.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(v[8:])), c1)
			c2 = av.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(v[16:])), c2)
			c3 = av.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(v[24:])), c3)
			c4 = av.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(v[32:])), c4)
			c5 = av.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(v[40:])), c5)
			c6 = av.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(v[48:])), c6)
			c7 = av.MulAdd(archsimd.LoadFloat32x8((*[8]float32)(v[56:])), c7)
		}
		c0.Store((*[8]float32)(o[0:]))
		c1.Store((*[8]float32)(o[8:]))
		c2.Store((*[8]float32)(o[16:]))
		c3.Store((*[8]float32)(o[24:]))
		c4.Store((*[8]float32)(o[32:]))
		c5.Store((*[8]float32)(o[40:]))
		c6.Store((*[8]float32)(o[48:]))
		c7.Store((*[8]float32)(o[56:]))
	}
	for ; base < hd; base += 8 {
		c := archsimd.LoadFloat32x8((*[8]float32)(out[base:]))
		for i, a := range w {
			c = archsimd.BroadcastFloat32x8(a).MulAdd(archsimd.LoadFloat32x8((*[8]float32)(values[(t0+i)*stride+base:])), c)
		}
		c.Store((*[8]float32)(out[base:]))
	}
	archsimd.ClearAVXUpperBits()
}

// scaleSIMD multiplies out by f.
func scaleSIMD(out []float32, f float32) {
	archsimd.ClearAVXUpperBits() // f arrives in a register loaded by scalar code
	fv := archsimd.BroadcastFloat32x8(f)
	for i := 0; i+8 <= len(out); i += 8 {
		archsimd.LoadFloat32x8Slice(out[i:]).Mul(fv).StoreSlice(out[i:])
	}
	archsimd.ClearAVXUpperBits()
}

func sum8(s *[8]float32) float32 {
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

// expShifted sets x[i] = e^(x[i]−m) (every x[i] ≤ m) and returns their sum.
func expShifted(x []float32, m float32) float32 {
	archsimd.ClearAVXUpperBits() // before the call: see expAffine
	i := expAffine(x, x, 1, -m)
	var total archsimd.Float32x8
	for j := 0; j < i; j += 8 {
		total = total.Add(archsimd.LoadFloat32x8Slice(x[j:]))
	}
	var s [8]float32
	total.Store(&s)
	archsimd.ClearAVXUpperBits()
	sum := sum8(&s)
	for ; i < len(x); i++ {
		x[i] = float32(math.Exp(float64(x[i] - m)))
		sum += x[i]
	}
	return sum
}

// expAffine sets dst[i] = e^(a·src[i] + b) for the whole groups of eight
// and returns how many values it did (dst may be src). The exponential is
// Cephes' expf: e^v = 2^k · e^r with k = round(v·log2 e) and |r| ≤ ln2/2,
// e^r by a degree-7 polynomial; relative error below 2e-7. Below −87.3,
// where float32 e^v underflows, it gives 0; above 88.3 (near the largest
// float32, e^88.72) +Inf. (One loop for every caller: a function of one
// vector is not inlined, and calling it per vector costs more than it
// computes.) Callers clear the vector registers' upper halves before
// calling: its prologue loads a and b with legacy-SSE moves, which cost
// about 500 cycles each with the upper halves dirty (see hsum).
func expAffine(dst, src []float32, a, b float32) int {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	archsimd.ClearAVXUpperBits()
	av, bv := archsimd.BroadcastFloat32x8(a), archsimd.BroadcastFloat32x8(b)
	lowest, highest := archsimd.BroadcastFloat32x8(-87.3), archsimd.BroadcastFloat32x8(88.3)
	inf := archsimd.BroadcastFloat32x8(float32(math.Inf(1)))
	l2e, lnhi, lnlo := archsimd.BroadcastFloat32x8(log2e), archsimd.BroadcastFloat32x8(-ln2hi), archsimd.BroadcastFloat32x8(-ln2lo)
	c0, c1, c2 := archsimd.BroadcastFloat32x8(1.9875691500e-4), archsimd.BroadcastFloat32x8(1.3981999507e-3), archsimd.BroadcastFloat32x8(8.3334519073e-3)
	c3, c4, c5 := archsimd.BroadcastFloat32x8(4.1665795894e-2), archsimd.BroadcastFloat32x8(1.6666665459e-1), archsimd.BroadcastFloat32x8(5.0000001201e-1)
	one, bias := archsimd.BroadcastFloat32x8(1), archsimd.BroadcastInt32x8(127)
	n := len(src) &^ 7
	dst = dst[:n]
	for i := 0; i < n; i += 8 {
		v := archsimd.LoadFloat32x8Slice(src[i:]).MulAdd(av, bv)
		under, over := v.Less(lowest), v.Greater(highest)
		v = v.Max(lowest).Min(highest)
		k := v.Mul(l2e).RoundToEven()
		r := k.MulAdd(lnhi, v)
		r = k.MulAdd(lnlo, r)
		p := c0.MulAdd(r, c1)
		p = p.MulAdd(r, c2)
		p = p.MulAdd(r, c3)
		p = p.MulAdd(r, c4)
		p = p.MulAdd(r, c5)
		p = p.MulAdd(r.Mul(r), r).Add(one)
		// 2^k: k+127 in the exponent field.
		pow2 := k.ConvertToInt32().Add(bias).ShiftAllLeft(23).AsFloat32x8()
		e := inf.Merge(archsimd.Float32x8{}.Merge(p.Mul(pow2), under), over)
		e.StoreSlice(dst[i:])
	}
	return n
}

// swiGLUSIMD does SwiGLU's whole groups of eight and returns how many
// values it did; the caller does the rest. e^−g goes through a buffer on
// the stack, 256 values at a time.
func swiGLUSIMD(dst, gate, up []float32) int {
	var buf [256]float32
	one := archsimd.BroadcastFloat32x8(1)
	n := len(dst) &^ 7
	for c := 0; c < n; c += len(buf) {
		m := min(len(buf), n-c)
		archsimd.ClearAVXUpperBits() // before the call: see expAffine
		expAffine(buf[:m], gate[c:c+m], -1, 0)
		for i := 0; i < m; i += 8 {
			g := archsimd.LoadFloat32x8Slice(gate[c+i:])
			e := archsimd.LoadFloat32x8Slice(buf[i:])
			g.Div(one.Add(e)).Mul(archsimd.LoadFloat32x8Slice(up[c+i:])).StoreSlice(dst[c+i:])
		}
	}
	archsimd.ClearAVXUpperBits()
	return n
}
