package llama

import (
	"errors"
	"fmt"
	"math"

	"github.com/converse-project/converse/engine/kernels"
)

// ErrContextFull is returned by Forward when the State's KV cache has no
// room for another token.
var ErrContextFull = errors.New("llama: context window is full")

// DefaultContext is the context length of a State when neither the caller
// nor the file gives one.
const DefaultContext = 4096

// State is one sequence's position, KV cache and scratch space. It is not
// safe for concurrent use; use one State per sequence.
type State struct {
	m   *Model
	pos int
	ctx int
	// kCache[l] and vCache[l] hold ctx rows of KVHeads×HeadDim values.
	kCache, vCache [][]float32

	x, xb, xb2, q, k, v, att []float32
	hb, hb2, logits          []float32
	scores                   []float32
	// batch is Prefill's scratch space, made on its first call.
	batch *batch
}

// NewState returns an empty State with room for contextLength tokens (the
// model's context_length when contextLength <= 0, or DefaultContext when the
// file gives none). Its KV cache takes
// 2 × Layers × contextLength × KVHeads × HeadDim float32 values.
func (m *Model) NewState(contextLength int) *State {
	c := m.Config
	if contextLength <= 0 {
		contextLength = c.ContextLength
	}
	if contextLength <= 0 {
		contextLength = DefaultContext
	}
	kvDim := c.KVHeads * c.HeadDim
	s := &State{
		m: m, ctx: contextLength,
		x: make([]float32, c.Dim), xb: make([]float32, c.Dim), xb2: make([]float32, c.Dim),
		q: make([]float32, c.Heads*c.HeadDim), k: make([]float32, kvDim), v: make([]float32, kvDim),
		att: make([]float32, c.Heads*c.HeadDim),
		hb:  make([]float32, c.Hidden), hb2: make([]float32, c.Hidden),
		logits: make([]float32, c.Vocab),
		scores: make([]float32, c.Heads*contextLength),
	}
	for range c.Layers {
		s.kCache = append(s.kCache, make([]float32, contextLength*kvDim))
		s.vCache = append(s.vCache, make([]float32, contextLength*kvDim))
	}
	return s
}

// Pos returns how many tokens the State holds.
func (s *State) Pos() int { return s.pos }

// Truncate forgets every token from position n on, so that a sequence can be
// resumed from a shared prefix. It panics if n is negative or beyond Pos.
func (s *State) Truncate(n int) {
	if n < 0 || n > s.pos {
		panic(fmt.Sprintf("llama: Truncate(%d) of a state at position %d", n, s.pos))
	}
	s.pos = n
}

// Forward appends token at the next position and returns the logits for the
// token after it. The slice belongs to the State and is overwritten by the
// next call. It fails on a token outside the vocabulary or a full context.
func (s *State) Forward(token int) ([]float32, error) {
	m, c := s.m, s.m.Config
	if token < 0 || token >= c.Vocab {
		return nil, fmt.Errorf("llama: token %d outside the vocabulary of %d", token, c.Vocab)
	}
	if s.pos >= s.ctx {
		return nil, ErrContextFull
	}
	if err := m.embed.DequantizeRow(token, s.x); err != nil {
		return nil, fmt.Errorf("llama: embed token %d: %w", token, err)
	}
	kvDim := c.KVHeads * c.HeadDim
	for li := range m.layers {
		ly := &m.layers[li]
		rmsNorm(s.xb, s.x, ly.attnNorm, c.NormEps)
		// One pass for Q, K and V: the activations are quantised once and
		// the workers woken once (issue 7 item 7: fuse per-layer work).
		m.pool.MatVecs(s.xb, kernels.Product{Dst: s.q, M: ly.q}, kernels.Product{Dst: s.k, M: ly.k}, kernels.Product{Dst: s.v, M: ly.v})
		if ly.qBias != nil {
			add(s.q, ly.qBias)
			add(s.k, ly.kBias)
			add(s.v, ly.vBias)
		}
		m.rope(s.q, c.Heads, s.pos)
		m.rope(s.k, c.KVHeads, s.pos)
		copy(s.kCache[li][s.pos*kvDim:], s.k)
		copy(s.vCache[li][s.pos*kvDim:], s.v)
		s.attention(li)
		m.pool.MatVec(s.xb2, ly.o, s.att)
		add(s.x, s.xb2)

		rmsNorm(s.xb, s.x, ly.ffnNorm, c.NormEps)
		m.pool.MatVecs(s.xb, kernels.Product{Dst: s.hb, M: ly.gate}, kernels.Product{Dst: s.hb2, M: ly.up})
		kernels.SwiGLU(s.hb, s.hb, s.hb2)
		m.pool.MatVec(s.xb2, ly.down, s.hb)
		add(s.x, s.xb2)
	}
	rmsNorm(s.x, s.x, m.norm, c.NormEps)
	m.pool.MatVec(s.logits, m.output, s.x)
	s.pos++
	return s.logits, nil
}

// attention computes every head's causal attention over positions 0..pos of
// layer li into s.att. Query head h reads KV head h/(Heads/KVHeads)
// (grouped-query attention). Heads run on the Model's pool, a group of them
// per unit (headsPerUnit), once the context is long enough to pay for
// handing them out.
func (s *State) attention(li int) { s.attend(li, s.pos, s.q, s.att) }

// attend computes the attention of the query q of the token at position pos
// over positions 0..pos of layer li into out.
func (s *State) attend(li, pos int, q, out []float32) {
	c := s.m.Config
	n := pos + 1
	sub := s.m.headsPerUnit()
	if n*c.Heads*c.HeadDim < 1<<16 {
		for u := range c.Heads / sub {
			s.heads(li, u*sub, sub, n, q, out)
		}
		return
	}
	s.m.pool.Parallel(c.Heads/sub, func(u int) { s.heads(li, u*sub, sub, n, q, out) })
}

// headsPerUnit is how many query heads, all of one KV head, one unit of
// attention work takes: the whole group, so that the group reads its keys
// and values once (kernels.AttendGroup), unless that leaves fewer units
// than threads; then the groups are halved while they divide evenly.
func (m *Model) headsPerUnit() int {
	c := m.Config
	sub := c.Heads / c.KVHeads
	for c.Heads/sub < m.pool.Threads() && sub%2 == 0 {
		sub /= 2
	}
	return sub
}

// heads computes query heads h0..h0+g-1 (of one KV head) over positions
// 0..n-1 of layer li.
func (s *State) heads(li, h0, g, n int, qs, att []float32) {
	c := s.m.Config
	hd, kvDim := c.HeadDim, c.KVHeads*c.HeadDim
	kvOff := h0 / (c.Heads / c.KVHeads) * hd
	scale := float32(1 / math.Sqrt(float64(hd)))
	kernels.AttendGroup(att[h0*hd:(h0+g)*hd], qs[h0*hd:(h0+g)*hd], g, s.kCache[li][kvOff:], s.vCache[li][kvOff:], n, kvDim, scale, s.scores[h0*s.ctx:h0*s.ctx+g*n])
}

// rope rotates the first RopeDim values of each of heads heads in x by
// position pos (RoFormer; llama.cpp ggml_rope_ext in NORM or NEOX mode).
func (m *Model) rope(x []float32, heads, pos int) {
	c := m.Config
	half := c.RopeDim / 2
	for i, f := range m.invFreq {
		sin, cos := math.Sincos(float64(pos) * f)
		sn, cs := float32(sin), float32(cos)
		for h := range heads {
			v := x[h*c.HeadDim:]
			a, b := 2*i, 2*i+1
			if c.RopeNeox {
				a, b = i, i+half
			}
			v0, v1 := v[a], v[b]
			v[a], v[b] = v0*cs-v1*sn, v0*sn+v1*cs
		}
	}
}

// rmsNorm sets dst = x / sqrt(mean(x²) + eps) ⊙ w; dst may be x.
func rmsNorm(dst, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	r := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		dst[i] = v * r * w[i]
	}
}

func add(dst, x []float32) {
	for i, v := range x {
		dst[i] += v
	}
}

func pow(a, b float64) float64 { return math.Pow(a, b) }
