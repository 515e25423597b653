package kernels

import "math"

// Attend computes one attention head of one query over n cached positions:
// out = Σ_t softmax(scale·q·k_t)_t · v_t, where k_t and v_t are the
// len(q) values at keys[t*stride:] and values[t*stride:] (a KV cache of
// rows holding every KV head, sliced at this head's offset). scores, of
// length at least n, is scratch space. out may not overlap the others.
//
// It is the engine's attention inner loop, here beside the matrix kernels
// so that it gets the same SIMD treatment: with GOEXPERIMENT=simd on AVX2
// the dot products, the exponentials (a polynomial, relative error below
// 2e-7) and the weighted sum run on 8-lane vectors when len(q) is a
// multiple of 8. At a context of a few thousand tokens attention costs
// more than the weights' products; scalar Go made long prompts crawl.
func Attend(out, q, keys, values []float32, n, stride int, scale float32, scores []float32) {
	hd := len(q)
	if len(out) != hd || len(scores) < n || n < 1 || (n-1)*stride+hd > min(len(keys), len(values)) {
		panic("kernels: Attend shapes")
	}
	if attendSIMD(out, q, keys, values, n, stride, scale, scores) {
		return
	}
	scores = scores[:n]
	maxScore := float32(math.Inf(-1))
	for t := range scores {
		k := keys[t*stride : t*stride+hd]
		var dot float32
		for i, qi := range q {
			dot += qi * k[i]
		}
		scores[t] = dot * scale
		maxScore = max(maxScore, scores[t])
	}
	var sum float32
	for t := range scores {
		scores[t] = float32(math.Exp(float64(scores[t] - maxScore)))
		sum += scores[t]
	}
	clear(out)
	for t, a := range scores {
		v := values[t*stride : t*stride+hd]
		a /= sum
		for i, vi := range v {
			out[i] += a * vi
		}
	}
}

// AttendGroup is Attend for g query heads that share one KV head (grouped-
// query attention): q and out hold the g heads' len(q)/g values each, one
// after the other, and scores (scratch) at least g·n values. Each head
// gets exactly what Attend gives it; with SIMD kernels the positions are
// taken in blocks with the heads inside, so the group reads each key and
// value from memory once instead of g times.
func AttendGroup(out, q []float32, g int, keys, values []float32, n, stride int, scale float32, scores []float32) {
	if g < 1 || len(q)%g != 0 || len(out) != len(q) || len(scores) < g*n {
		panic("kernels: AttendGroup shapes")
	}
	hd := len(q) / g
	if n < 1 || (n-1)*stride+hd > min(len(keys), len(values)) {
		panic("kernels: AttendGroup shapes")
	}
	if attendGroupSIMD(out, q, g, keys, values, n, stride, scale, scores) {
		return
	}
	for h := range g {
		Attend(out[h*hd:(h+1)*hd], q[h*hd:(h+1)*hd], keys, values, n, stride, scale, scores[h*n:(h+1)*n])
	}
}
