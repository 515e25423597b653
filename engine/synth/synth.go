// Package synth writes GGUF models with random weights in the shapes of
// real Llama-family releases, for measuring the engine without downloading
// one: decode speed depends on the shapes and tensor types, not on the
// values. Each file carries a full SentencePiece-style vocabulary (control
// tokens, the 256 byte tokens, filler pieces) so that llama.cpp loads the
// same file, and the two engines can be compared on one file and CPU.
package synth

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/kernels"
)

// Shape is a model's architecture hyperparameters.
type Shape struct {
	Dim, Layers, Hidden, Heads, KVHeads, Vocab, Context int
	RopeBase                                            float32
}

// Shapes are the named shapes, after the releases' config.json files.
var Shapes = map[string]Shape{
	"tinyllama":  {Dim: 2048, Layers: 22, Hidden: 5632, Heads: 32, KVHeads: 4, Vocab: 32000, Context: 2048, RopeBase: 10000},
	"llama2-7b":  {Dim: 4096, Layers: 32, Hidden: 11008, Heads: 32, KVHeads: 32, Vocab: 32000, Context: 4096, RopeBase: 10000},
	"mistral-7b": {Dim: 4096, Layers: 32, Hidden: 14336, Heads: 32, KVHeads: 8, Vocab: 32000, Context: 32768, RopeBase: 1000000},
}

// Mix is a quantisation mix: the type of most matrices, and of the output
// head and ffn_down (Q6_K in llama.cpp's Q4_K_M, like the rest otherwise).
type Mix struct{ Main, Big gguf.Type }

// Mixes are the named mixes, after llama.cpp's quantize presets.
var Mixes = map[string]Mix{
	"q4_k_m": {gguf.TypeQ4_K, gguf.TypeQ6_K},
	"q4_0":   {gguf.TypeQ4_0, gguf.TypeQ4_0},
	"q8_0":   {gguf.TypeQ8_0, gguf.TypeQ8_0},
	"f16":    {gguf.TypeF16, gguf.TypeF16},
}

// Names lists the accepted "shape-mix" names, such as "tinyllama-q4_k_m".
func Names() []string {
	var out []string
	for s := range Shapes {
		for m := range Mixes {
			out = append(out, s+"-"+m)
		}
	}
	sort.Strings(out)
	return out
}

// Parse splits a "shape-mix" name.
func Parse(name string) (Shape, Mix, error) {
	for s, shape := range Shapes {
		if m, ok := strings.CutPrefix(name, s+"-"); ok {
			if mix, ok := Mixes[m]; ok {
				return shape, mix, nil
			}
		}
	}
	return Shape{}, Mix{}, fmt.Errorf("synth: unknown model %q (one of %s)", name, strings.Join(Names(), ", "))
}

// WriteFile writes a random-weight model of the named shape and mix to path.
// Every layer shares one set of random matrices (the file still holds a
// copy per layer, so every token reads every byte), which keeps generation
// to seconds.
func WriteFile(path, name string) error {
	shape, mix, err := Parse(name)
	if err != nil {
		return err
	}
	return Write(path, shape, mix, "synthetic "+name)
}

// Write writes a random-weight model of the given shape and mix to path,
// with general.name set to name.
func Write(path string, s Shape, mix Mix, name string) error {
	var err error
	r := rand.New(rand.NewPCG(1, 2))
	matrix := func(t gguf.Type, rows, cols int, std float64) ([]byte, error) {
		x := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(r.NormFloat64() * std)
		}
		return kernels.Quantize(t, x)
	}
	ones := func(n int) []byte {
		b, _ := kernels.Quantize(gguf.TypeF32, slices.Repeat([]float32{1}, n))
		return b
	}
	hd := s.Dim / s.Heads
	w := 1 / math.Sqrt(float64(s.Dim))
	type spec struct {
		name       string
		typ        gguf.Type
		rows, cols int
		std        float64
	}
	specs := []spec{
		{"attn_q", mix.Main, s.Heads * hd, s.Dim, w},
		{"attn_k", mix.Main, s.KVHeads * hd, s.Dim, w},
		{"attn_v", mix.Main, s.KVHeads * hd, s.Dim, w},
		{"attn_output", mix.Main, s.Dim, s.Heads * hd, w},
		{"ffn_gate", mix.Main, s.Hidden, s.Dim, w},
		{"ffn_up", mix.Main, s.Hidden, s.Dim, w},
		{"ffn_down", mix.Big, s.Dim, s.Hidden, 1 / math.Sqrt(float64(s.Hidden))},
	}
	layer := map[string][]byte{}
	for _, sp := range specs {
		if layer[sp.name], err = matrix(sp.typ, sp.rows, sp.cols, sp.std); err != nil {
			return err
		}
	}
	embd, err := matrix(mix.Main, s.Vocab, s.Dim, 1)
	if err != nil {
		return err
	}
	out, err := matrix(mix.Big, s.Vocab, s.Dim, w)
	if err != nil {
		return err
	}
	d2 := func(cols, rows int) []uint64 { return []uint64{uint64(cols), uint64(rows)} }
	ts := []gguf.TensorData{
		{Name: "token_embd.weight", Type: mix.Main, Dims: d2(s.Dim, s.Vocab), Data: embd},
		{Name: "output_norm.weight", Type: gguf.TypeF32, Dims: []uint64{uint64(s.Dim)}, Data: ones(s.Dim)},
		{Name: "output.weight", Type: mix.Big, Dims: d2(s.Dim, s.Vocab), Data: out},
	}
	for l := range s.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts, gguf.TensorData{Name: p + "attn_norm.weight", Type: gguf.TypeF32, Dims: []uint64{uint64(s.Dim)}, Data: ones(s.Dim)})
		ts = append(ts, gguf.TensorData{Name: p + "ffn_norm.weight", Type: gguf.TypeF32, Dims: []uint64{uint64(s.Dim)}, Data: ones(s.Dim)})
		for _, sp := range specs {
			ts = append(ts, gguf.TensorData{Name: p + sp.name + ".weight", Type: sp.typ, Dims: d2(sp.cols, sp.rows), Data: layer[sp.name]})
		}
	}
	tokens, scores, types := vocabulary(s.Vocab)
	meta := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "general.name", Value: name},
		{Key: "llama.embedding_length", Value: uint32(s.Dim)},
		{Key: "llama.block_count", Value: uint32(s.Layers)},
		{Key: "llama.feed_forward_length", Value: uint32(s.Hidden)},
		{Key: "llama.attention.head_count", Value: uint32(s.Heads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(s.KVHeads)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-5)},
		{Key: "llama.rope.freq_base", Value: s.RopeBase},
		{Key: "llama.rope.dimension_count", Value: uint32(hd)},
		{Key: "llama.context_length", Value: uint32(s.Context)},
		{Key: "tokenizer.ggml.model", Value: "llama"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.scores", Value: scores},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(2)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: uint32(0)},
		{Key: "tokenizer.ggml.add_bos_token", Value: true},
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := gguf.Write(bw, meta, ts); err != nil {
		f.Close()
		return fmt.Errorf("synth: write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// vocabulary is a SentencePiece-style vocabulary of n tokens: <unk>, <s>,
// </s>, the byte tokens <0x00>…<0xFF>, single letters, then filler pieces.
func vocabulary(n int) ([]string, []float32, []int32) {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3}
	for b := range 256 {
		tokens, types = append(tokens, fmt.Sprintf("<0x%02X>", b)), append(types, 6)
	}
	for c := 'a'; c <= 'z'; c++ {
		tokens, types = append(tokens, string(c), "▁"+string(c)), append(types, 1, 1)
	}
	for i := 0; len(tokens) < n; i++ {
		tokens, types = append(tokens, fmt.Sprintf("▁w%d", i)), append(types, 1)
	}
	scores := make([]float32, len(tokens))
	for i := range scores {
		scores[i] = -float32(i)
	}
	return tokens, scores, types
}
