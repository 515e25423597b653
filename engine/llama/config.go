package llama

import (
	"fmt"
	"math"

	"github.com/converse-project/converse/engine/gguf"
)

// Config is a model's shape, read from GGUF metadata under the
// architecture's prefix (llama.cpp's LLM_KV names, e.g.
// "llama.attention.head_count").
type Config struct {
	Arch          string  // general.architecture: "llama" or "qwen2"
	Dim           int     // embedding_length
	Layers        int     // block_count
	Hidden        int     // feed_forward_length
	Heads         int     // attention.head_count
	KVHeads       int     // attention.head_count_kv (default Heads)
	HeadDim       int     // attention.key_length (default Dim/Heads)
	Vocab         int     // rows of token_embd.weight
	ContextLength int     // context_length (0 if absent)
	NormEps       float32 // attention.layer_norm_rms_epsilon (default 1e-5)
	RopeBase      float64 // rope.freq_base (default 10000)
	RopeDim       int     // rope.dimension_count (default HeadDim)
	// RopeScale divides positions before rotation: rope.scaling.factor
	// when rope.scaling.type is "linear", else 1.
	RopeScale float64
	// RopeNeox rotates the pairs (i, i+RopeDim/2) instead of (2i, 2i+1):
	// llama.cpp's LLAMA_ROPE_TYPE_NEOX, used by qwen2. Llama GGUFs have their
	// Q and K rows permuted by the converter so that adjacent pairs apply.
	RopeNeox bool
	// Bias says the attention projections have bias vectors (qwen2).
	Bias bool
}

// ConfigFrom reads the Config of the model in f. It fails on an
// architecture this package does not run or on missing or inconsistent
// shape keys.
func ConfigFrom(f *gguf.File) (Config, error) {
	arch, _ := f.String("general.architecture")
	c := Config{Arch: arch}
	switch arch {
	case "llama":
	case "qwen2":
		c.RopeNeox, c.Bias = true, true
	default:
		return Config{}, fmt.Errorf("llama: architecture %q is not supported (want llama or qwen2)", arch)
	}
	need := func(key string, dst *int) error {
		v, ok := f.Uint(arch + "." + key)
		if !ok || v == 0 || v > math.MaxInt32 {
			return fmt.Errorf("llama: metadata %s.%s missing or invalid", arch, key)
		}
		*dst = int(v)
		return nil
	}
	for key, dst := range map[string]*int{
		"embedding_length": &c.Dim, "block_count": &c.Layers,
		"feed_forward_length": &c.Hidden, "attention.head_count": &c.Heads,
	} {
		if err := need(key, dst); err != nil {
			return Config{}, err
		}
	}
	c.KVHeads, c.HeadDim = c.Heads, c.Dim/c.Heads
	optional := func(key string, dst *int) error {
		if _, ok := f.Value(arch + "." + key); !ok {
			return nil
		}
		return need(key, dst)
	}
	if err := optional("attention.head_count_kv", &c.KVHeads); err != nil {
		return Config{}, err
	}
	if err := optional("attention.key_length", &c.HeadDim); err != nil {
		return Config{}, err
	}
	c.RopeDim = c.HeadDim
	if err := optional("rope.dimension_count", &c.RopeDim); err != nil {
		return Config{}, err
	}
	if v, ok := f.Uint(arch + ".context_length"); ok {
		c.ContextLength = int(min(v, math.MaxInt32))
	}
	c.NormEps, c.RopeBase, c.RopeScale = 1e-5, 10000, 1
	if v, ok := f.Float(arch + ".attention.layer_norm_rms_epsilon"); ok {
		c.NormEps = float32(v)
	}
	if v, ok := f.Float(arch + ".rope.freq_base"); ok {
		c.RopeBase = v
	}
	if typ, _ := f.String(arch + ".rope.scaling.type"); typ == "linear" {
		if v, ok := f.Float(arch + ".rope.scaling.factor"); ok && v > 0 {
			c.RopeScale = v
		}
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || len(emb.Dims) != 2 {
		return Config{}, fmt.Errorf("llama: tensor token_embd.weight missing or not a matrix")
	}
	c.Vocab = int(emb.Dims[1])
	switch {
	case c.Heads%c.KVHeads != 0:
		return Config{}, fmt.Errorf("llama: %d heads cannot share %d KV heads", c.Heads, c.KVHeads)
	case c.RopeDim%2 != 0 || c.RopeDim > c.HeadDim:
		return Config{}, fmt.Errorf("llama: rope dimension %d does not fit head dimension %d", c.RopeDim, c.HeadDim)
	case int(emb.Dims[0]) != c.Dim:
		return Config{}, fmt.Errorf("llama: token_embd.weight rows have %d values, embedding_length is %d", emb.Dims[0], c.Dim)
	}
	return c, nil
}

// Llama3FreqFactors returns the per-frequency divisors of Llama 3.1's rope
// scaling (Meta's apply_scaling; llama.cpp's converter stores them as the
// rope_freqs.weight tensor): one per rotated pair of a head of ropeDim
// values. Low frequencies are divided by factor, high ones kept, and those
// in between interpolated.
func Llama3FreqFactors(ropeDim int, base, factor, lowFreqFactor, highFreqFactor float64, originalContext int) []float32 {
	lowWavelen := float64(originalContext) / lowFreqFactor
	highWavelen := float64(originalContext) / highFreqFactor
	out := make([]float32, ropeDim/2)
	for i := range out {
		freq := math.Pow(base, -float64(2*i)/float64(ropeDim))
		wavelen := 2 * math.Pi / freq
		switch {
		case wavelen < highWavelen:
			out[i] = 1
		case wavelen > lowWavelen:
			out[i] = float32(factor)
		default:
			smooth := (float64(originalContext)/wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}
