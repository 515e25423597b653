package llama

import (
	"math"
	"math/rand/v2"
	"slices"
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
func (s *Sampler) Sample(logits []float32) int {
	if s.cfg.Temperature <= 0 || s.cfg.TopK == 1 {
		return argmax(logits)
	}
	c := s.cands[:0]
	for i, l := range logits {
		c = append(c, candidate{id: i, p: l})
	}
	s.cands = c
	slices.SortFunc(c, func(a, b candidate) int {
		switch {
		case a.p > b.p:
			return -1
		case a.p < b.p:
			return 1
		}
		return a.id - b.id
	})
	if k := s.cfg.TopK; k > 0 && k < len(c) {
		c = c[:k]
	}
	maxL := c[0].p
	var sum float64
	for i := range c {
		e := math.Exp(float64((c[i].p - maxL) / s.cfg.Temperature))
		c[i].p = float32(e)
		sum += e
	}
	if p := float64(s.cfg.TopP); p > 0 && p < 1 {
		var cum float64
		for i := range c {
			cum += float64(c[i].p) / sum
			if cum >= p {
				c = c[:i+1]
				break
			}
		}
		sum = 0
		for _, x := range c {
			sum += float64(x.p)
		}
	}
	r := s.rng.Float64() * sum
	for _, x := range c {
		r -= float64(x.p)
		if r < 0 {
			return x.id
		}
	}
	return c[len(c)-1].id // r landed on rounding error at the very end
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
