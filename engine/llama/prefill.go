package llama

import (
	"fmt"

	"github.com/converse-project/converse/engine/kernels"
)

// PrefillBatch is how many tokens Prefill runs through the layers at once.
// Each weight row is read once per batch instead of once per token (issue 7
// item 7: prompt speed bound by compute, not memory bandwidth); 32 keeps the
// batch's activations (32 × the hidden size) in L2 next to the row tiles.
const PrefillBatch = 32

// batch is the scratch space of Prefill: one vector per token of a batch,
// made on the first Prefill and kept by the State.
type batch struct {
	x, xb, xb2, q, k, v, att, hb, hb2 [][]float32
}

func newBatch(c Config, n int) *batch {
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	vecs := func(size int) [][]float32 {
		v := make([][]float32, n)
		for i := range v {
			v[i] = make([]float32, size)
		}
		return v
	}
	return &batch{
		x: vecs(c.Dim), xb: vecs(c.Dim), xb2: vecs(c.Dim),
		q: vecs(qDim), k: vecs(kvDim), v: vecs(kvDim), att: vecs(qDim),
		hb: vecs(c.Hidden), hb2: vecs(c.Hidden),
	}
}

// Prefill appends tokens at the next positions, as len(tokens) calls of
// Forward would, and returns the logits for the token after the last one
// (the same slice Forward returns, overwritten by the next call). It runs
// the tokens through the layers PrefillBatch at a time, so each weight is
// read once per batch; the logits equal Forward's bit for bit (the same
// kernels run on the same values). Only the last token's logits are
// computed. It checks every token and the room in the context before
// changing the State, so on error the State is unchanged. It fails on no
// tokens, a token outside the vocabulary or a context without room.
func (s *State) Prefill(tokens []int) ([]float32, error) {
	c := s.m.Config
	if len(tokens) == 0 {
		return nil, fmt.Errorf("llama: prefill of no tokens")
	}
	for _, t := range tokens {
		if t < 0 || t >= c.Vocab {
			return nil, fmt.Errorf("llama: token %d outside the vocabulary of %d", t, c.Vocab)
		}
	}
	if s.pos+len(tokens) > s.ctx {
		return nil, ErrContextFull
	}
	if s.batch == nil {
		s.batch = newBatch(c, PrefillBatch)
	}
	for lo := 0; lo < len(tokens); lo += PrefillBatch {
		if err := s.prefill(tokens[lo:min(lo+PrefillBatch, len(tokens))]); err != nil {
			return nil, err
		}
	}
	return s.logits, nil
}

// prefill runs up to PrefillBatch tokens through the layers, then the last
// one through the output head into s.logits.
func (s *State) prefill(tokens []int) error {
	m, c, n := s.m, s.m.Config, len(tokens)
	bt := s.batch
	sub := func(v [][]float32) [][]float32 { return v[:n] }
	x, xb, xb2, q, k, v, att, hb, hb2 := sub(bt.x), sub(bt.xb), sub(bt.xb2), sub(bt.q), sub(bt.k), sub(bt.v), sub(bt.att), sub(bt.hb), sub(bt.hb2)
	for i, t := range tokens {
		if err := m.embed.DequantizeRow(t, x[i]); err != nil {
			return fmt.Errorf("llama: embed token %d: %w", t, err)
		}
	}
	kvDim := c.KVHeads * c.HeadDim
	for li := range m.layers {
		ly := &m.layers[li]
		for i := range n {
			rmsNorm(xb[i], x[i], ly.attnNorm, c.NormEps)
		}
		m.pool.MatMuls(xb, kernels.Batch{Dst: q, M: ly.q}, kernels.Batch{Dst: k, M: ly.k}, kernels.Batch{Dst: v, M: ly.v})
		for i := range n {
			pos := s.pos + i
			if ly.qBias != nil {
				add(q[i], ly.qBias)
				add(k[i], ly.kBias)
				add(v[i], ly.vBias)
			}
			m.rope(q[i], c.Heads, pos)
			m.rope(k[i], c.KVHeads, pos)
			copy(s.kCache[li][pos*kvDim:], k[i])
			copy(s.vCache[li][pos*kvDim:], v[i])
		}
		// Causal attention: token i sees positions up to its own, which
		// are all in the cache now that the whole batch is written. Groups
		// of heads go to the pool, each taking the batch's tokens in turn
		// (a head owns its row of s.scores), so short prompts use every
		// core too.
		sub := m.headsPerUnit()
		m.pool.Parallel(c.Heads/sub, func(u int) {
			for i := range n {
				s.heads(li, u*sub, sub, s.pos+i+1, q[i], att[i])
			}
		})
		m.pool.MatMuls(att, kernels.Batch{Dst: xb2, M: ly.o})
		for i := range n {
			add(x[i], xb2[i])
			rmsNorm(xb[i], x[i], ly.ffnNorm, c.NormEps)
		}
		m.pool.MatMuls(xb, kernels.Batch{Dst: hb, M: ly.gate}, kernels.Batch{Dst: hb2, M: ly.up})
		for i := range n {
			kernels.SwiGLU(hb[i], hb[i], hb2[i])
		}
		m.pool.MatMuls(hb, kernels.Batch{Dst: xb2, M: ly.down})
		for i := range n {
			add(x[i], xb2[i])
		}
	}
	last := x[n-1]
	rmsNorm(s.x, last, m.norm, c.NormEps)
	m.pool.MatVec(s.logits, m.output, s.x)
	s.pos += n
	return nil
}
