package llama

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/converse-project/converse/engine/kernels"
)

// SamplerConfig chooses how a Sampler picks tokens; the zero value is greedy
// decoding.
type SamplerConfig struct {
	// Temperature divides the logits; 0 or less means always the most likely
	// token (ties go to the lowest id).
	Temperature float32
	// TopK keeps only the K most likely tokens (0: all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probabilities
	// sum to at least TopP (0 or ≥1: all).
	TopP float32
	// Seed fixes the random stream: equal configs and logits give equal
	// tokens.
	Seed uint64
}

// Sampler picks the next token from logits. It holds a random stream and
// scratch space, so it is not safe for concurrent use; use one per sequence.
type Sampler struct {
	cfg   SamplerConfig
	rng   *rand.Rand
	cands []candidate
}

type candidate struct {
	id int
	p  float32
}

// NewSampler returns a Sampler for cfg.
func NewSampler(cfg SamplerConfig) *Sampler {
	return &Sampler{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
}

// Sample returns the index of the chosen logit. The order of the filters
// follows Meta's reference generation (and Hugging Face's warpers):
// temperature first, then top-k, then top-p on the tempered probabilities,
// then a draw from what remains renormalised. It panics on empty logits.
//
// Candidates are visited from the most likely down (ties to the lowest id),
// but only as far as the filters and the draw need: the order is made by
// partial selection of a growing prefix (64, 128, … candidates), not by
// sorting the whole vocabulary, since top-p and the draw almost always stop
// within the first few dozen tokens.
func (s *Sampler) Sample(logits []float32) int {
	kernels.ClearUpper() // scalar float code next: see kernels.ClearUpper
	if s.cfg.Temperature <= 0 || s.cfg.TopK == 1 {
		return argmax(logits)
	}
	c := s.cands[:0]
	for i, l := range logits {
		c = append(c, candidate{id: i, p: l})
	}
	s.cands = c
	n := len(c)
	if k := s.cfg.TopK; k > 0 && k < n {
		n = k
	}
	partition(c, n) // c[:n] is the top-k set (all of c without top-k)
	sorted := 0     // c[:sorted] holds the best candidates in order
	grow := func(want int) {
		want = min(max(want, 2*sorted, 64), n)
		if want > sorted {
			selectBest(c[sorted:n], want-sorted)
			sorted = want
		}
	}
	grow(1)
	maxL := c[0].p
	// Probabilities of the top-n set, unnormalised; kept beside the logits
	// so the order (by logit) stays exact.
	e := func(i int) float64 { return math.Exp(float64((c[i].p - maxL) / s.cfg.Temperature)) }
	var sum float64
	for i := range n {
		sum += e(i)
	}
	cut := n
	if p := float64(s.cfg.TopP); p > 0 && p < 1 {
		var cum, kept float64
		for i := 0; i < n; i++ {
			if i == sorted {
				grow(i + 1)
			}
			v := e(i)
			cum += v / sum
			kept += v
			if cum >= p {
				cut = i + 1
				break
			}
		}
		if cut < n {
			sum = kept
		}
	}
	r := s.rng.Float64() * sum
	for i := 0; i < cut; i++ {
		if i == sorted {
			grow(i + 1)
		}
		r -= e(i)
		if r < 0 {
			return c[i].id
		}
	}
	grow(cut)
	return c[cut-1].id // r landed on rounding error at the very end
}

// better orders candidates by logit, ties to the lower id.
func better(a, b candidate) int {
	switch {
	case a.p > b.p:
		return -1
	case a.p < b.p:
		return 1
	}
	return a.id - b.id
}

// selectBest moves the k best candidates of c, in order, to c[:k].
func selectBest(c []candidate, k int) {
	partition(c, k)
	slices.SortFunc(c[:min(k, len(c))], better)
}

// partition moves the k best candidates of c to c[:k], in no particular
// order (quickselect with a median-of-three pivot).
func partition(c []candidate, k int) {
	if k > 0 && k < len(c) {
		lo, hi := 0, len(c)-1
		for lo < hi {
			// Median of three as pivot, moved to hi.
			mid := lo + (hi-lo)/2
			if better(c[mid], c[lo]) < 0 {
				c[mid], c[lo] = c[lo], c[mid]
			}
			if better(c[hi], c[lo]) < 0 {
				c[hi], c[lo] = c[lo], c[hi]
			}
			if better(c[mid], c[hi]) < 0 {
				c[mid], c[hi] = c[hi], c[mid]
			}
			pivot, store := c[hi], lo
			for i := lo; i < hi; i++ {
				if better(c[i], pivot) < 0 {
					c[i], c[store] = c[store], c[i]
					store++
				}
			}
			c[store], c[hi] = c[hi], c[store]
			switch {
			case store == k-1 || store == k:
				lo = hi
			case store < k:
				lo = store + 1
			default:
				hi = store - 1
			}
		}
	}
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
