package llama

import (
	"fmt"
	"runtime"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/kernels"
)

// Model is a loaded network. It is immutable after New and safe for
// concurrent use by many States; its matrices alias the gguf.File, which must
// stay open while the Model is used.
type Model struct {
	Config Config

	embed   kernels.Matrix
	output  kernels.Matrix
	norm    []float32
	layers  []layer
	invFreq []float64 // per rotated pair: base^(−2i/d) / freq factor / scale
	// pool runs every matrix product and attention of every State; its
	// workers stop when the Model is garbage collected.
	pool *kernels.Pool
}

type layer struct {
	attnNorm, ffnNorm   []float32
	q, k, v, o          kernels.Matrix
	qBias, kBias, vBias []float32
	gate, up, down      kernels.Matrix
}

// Options tune a Model; the zero value is the default.
type Options struct {
	// Threads is how many goroutines each matrix-vector product uses
	// (0: GOMAXPROCS). They are started once, by New, and shared by all
	// States of the Model.
	Threads int
	// NoPack keeps every weight matrix in place in f, even those a faster
	// kernel of this build and CPU would read from a packed copy (see
	// kernels.Pack: Q8_0 and Q4_0 with AVX-512 VNNI).
	NoPack bool
}

// New builds the Model stored in f. Weight matrices are used in place from
// f, or copied once into a kernel's packed layout (kernels.Pack) unless
// opts.NoPack; the token embeddings are always read in place. Small vectors
// (norms, biases) are decoded to float32 copies.
func New(f *gguf.File, opts Options) (*Model, error) {
	c, err := ConfigFrom(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: c}
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	l := loader{f: f}
	m.embed = l.matrix("token_embd.weight", c.Vocab, c.Dim)
	m.norm = l.vector("output_norm.weight", c.Dim)
	if _, ok := f.Tensor("output.weight"); ok {
		m.output = l.matrix("output.weight", c.Vocab, c.Dim)
	} else {
		m.output = m.embed // tied embeddings (SmolLM2, Llama 3.2 1B/3B)
	}
	for i := range c.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		ly := layer{
			attnNorm: l.vector(p+"attn_norm.weight", c.Dim),
			ffnNorm:  l.vector(p+"ffn_norm.weight", c.Dim),
			q:        l.matrix(p+"attn_q.weight", qDim, c.Dim),
			k:        l.matrix(p+"attn_k.weight", kvDim, c.Dim),
			v:        l.matrix(p+"attn_v.weight", kvDim, c.Dim),
			o:        l.matrix(p+"attn_output.weight", c.Dim, qDim),
			gate:     l.matrix(p+"ffn_gate.weight", c.Hidden, c.Dim),
			up:       l.matrix(p+"ffn_up.weight", c.Hidden, c.Dim),
			down:     l.matrix(p+"ffn_down.weight", c.Dim, c.Hidden),
		}
		if c.Bias {
			ly.qBias = l.vector(p+"attn_q.bias", qDim)
			ly.kBias = l.vector(p+"attn_k.bias", kvDim)
			ly.vBias = l.vector(p+"attn_v.bias", kvDim)
		}
		m.layers = append(m.layers, ly)
	}
	factors := make([]float32, c.RopeDim/2)
	for i := range factors {
		factors[i] = 1
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		factors = l.vector("rope_freqs.weight", c.RopeDim/2)
	}
	if l.err != nil {
		return nil, l.err
	}
	if !opts.NoPack {
		// The packed copies replace the file's pages in memory (the
		// token embeddings, read in place, may share output's pages).
		pack := func(w *kernels.Matrix, release bool) {
			p := kernels.Pack(*w)
			if p.Packed() && release {
				f.Release(w.Data)
			}
			*w = p
		}
		pack(&m.output, &m.output.Data[0] != &m.embed.Data[0])
		for i := range m.layers {
			ly := &m.layers[i]
			for _, w := range []*kernels.Matrix{&ly.q, &ly.k, &ly.v, &ly.o, &ly.gate, &ly.up, &ly.down} {
				pack(w, true)
			}
		}
	}
	m.invFreq = make([]float64, c.RopeDim/2)
	for i := range m.invFreq {
		m.invFreq[i] = pow(c.RopeBase, -float64(2*i)/float64(c.RopeDim)) / float64(factors[i]) / c.RopeScale
	}
	m.pool = kernels.NewPool(opts.Threads)
	// The Model has no Close (callers drop it with its file): stop the
	// pool's idle workers once the Model is unreachable. The workers refer
	// to the pool only, never to the Model, so it can become unreachable.
	runtime.AddCleanup(m, func(p *kernels.Pool) { p.Close() }, m.pool)
	return m, nil
}

// loader reads tensors by name and checks their shapes; the first error
// sticks.
type loader struct {
	f   *gguf.File
	err error
}

func (l *loader) tensor(name string, dims ...int) (gguf.Tensor, bool) {
	if l.err != nil {
		return gguf.Tensor{}, false
	}
	t, ok := l.f.Tensor(name)
	if !ok {
		l.err = fmt.Errorf("llama: tensor %s missing", name)
		return gguf.Tensor{}, false
	}
	same := len(t.Dims) == len(dims)
	for i := 0; same && i < len(dims); i++ {
		same = t.Dims[i] == uint64(dims[i])
	}
	if !same {
		l.err = fmt.Errorf("llama: tensor %s has shape %v, want %v", name, t.Dims, dims)
		return gguf.Tensor{}, false
	}
	return t, true
}

func (l *loader) matrix(name string, rows, cols int) kernels.Matrix {
	t, ok := l.tensor(name, cols, rows)
	if !ok {
		return kernels.Matrix{}
	}
	m, err := kernels.NewMatrix(t.Type, rows, cols, t.Data)
	if err != nil {
		l.err = fmt.Errorf("llama: tensor %s: %w", name, err)
	}
	return m
}

func (l *loader) vector(name string, n int) []float32 {
	t, ok := l.tensor(name, n)
	if !ok {
		return nil
	}
	v := make([]float32, n)
	if err := kernels.Dequantize(t.Type, t.Data, v); err != nil {
		l.err = fmt.Errorf("llama: tensor %s: %w", name, err)
	}
	return v
}

// Close stops the Model's worker pool. The Model must not be used
// afterwards. Calling it is optional (the pool also stops when the Model is
// garbage-collected) but makes the stop immediate; it is idempotent.
func (m *Model) Close() { m.pool.Close() }
