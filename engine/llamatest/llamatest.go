// Package llamatest writes tiny Llama-architecture GGUF chat models with
// random weights, for tests: no test downloads a model. Each has a
// SentencePiece-style vocabulary with byte fallback and the control tokens
// of the Llama 2, Llama 3 and Mistral Instruct prompt templates, so every
// template renders to real token ids. It is imported only from _test.go
// files.
package llamatest

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/kernels"
)

// Controls are the control tokens of the vocabulary, in id order after
// <unk> (0), <s> (1) and </s> (2).
var Controls = []string{"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "[INST]", "[/INST]"}

// Model describes a generated model; the zero value is a usable default.
type Model struct {
	Type    gguf.Type // weight matrices (default F32)
	Dim     int       // default 32
	Layers  int       // default 1
	Context int       // context_length (default 256)
	Seed    uint64
	// Template is stored as tokenizer.chat_template when set.
	Template string
}

// Write generates the model in dir as name and returns its path.
func Write(t testing.TB, dir, name string, m Model) string {
	t.Helper()
	if m.Type == 0 && m.Dim == 0 {
		m.Type = gguf.TypeF32
	}
	m.Dim = max(m.Dim, 32)
	m.Layers = max(m.Layers, 1)
	if m.Context == 0 {
		m.Context = 256
	}
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3}
	for _, c := range Controls {
		tokens, types = append(tokens, c), append(types, 3)
	}
	for b := range 256 {
		tokens, types = append(tokens, fmt.Sprintf("<0x%02X>", b)), append(types, 6)
	}
	// A few whole pieces so that encoding merges, as real vocabularies do.
	for _, p := range []string{"▁", "▁the", "▁Rome", "▁Italy", "▁capital", "▁of", "?", "."} {
		tokens, types = append(tokens, p), append(types, 1)
	}
	scores := make([]float32, len(tokens))
	for i := range scores {
		scores[i] = -float32(i)
	}
	vocab := len(tokens)
	r := rand.New(rand.NewPCG(m.Seed, 7))
	heads, kvHeads, hidden := 4, 2, 2*m.Dim
	hd := m.Dim / heads
	var tensors []gguf.TensorData
	add := func(name string, typ gguf.Type, std float64, mean float32, rows, cols int, keep func(row int) bool) {
		x := make([]float32, rows*cols)
		for row := range rows {
			if keep != nil && !keep(row) {
				continue // a zero row
			}
			for c := range cols {
				x[row*cols+c] = mean + float32(r.NormFloat64()*std)
			}
		}
		data, err := kernels.Quantize(typ, x)
		if err != nil {
			t.Fatalf("llamatest: %s: %v", name, err)
		}
		tensors = append(tensors, gguf.TensorData{Name: name, Type: typ, Dims: []uint64{uint64(cols), uint64(rows)}, Data: data})
	}
	w := 1 / math.Sqrt(float64(m.Dim))
	add("token_embd.weight", m.Type, 1, 0, vocab, m.Dim, nil)
	add("output_norm.weight", gguf.TypeF32, 0.1, 1, 1, m.Dim, nil)
	// Only printable ASCII bytes can be generated: control and end-of-
	// generation tokens get zero output rows (logit 0, below the best of
	// the rest), so greedy decoding runs to the token limit with readable
	// text.
	printable := func(row int) bool {
		return row >= 3+len(Controls)+0x20 && row < 3+len(Controls)+0x7f
	}
	add("output.weight", m.Type, 4*w, 0, vocab, m.Dim, printable)
	for l := range m.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", gguf.TypeF32, 0.1, 1, 1, m.Dim, nil)
		add(p+"attn_q.weight", m.Type, w, 0, heads*hd, m.Dim, nil)
		add(p+"attn_k.weight", m.Type, w, 0, kvHeads*hd, m.Dim, nil)
		add(p+"attn_v.weight", m.Type, w, 0, kvHeads*hd, m.Dim, nil)
		add(p+"attn_output.weight", m.Type, w, 0, m.Dim, heads*hd, nil)
		add(p+"ffn_norm.weight", gguf.TypeF32, 0.1, 1, 1, m.Dim, nil)
		add(p+"ffn_gate.weight", m.Type, w, 0, hidden, m.Dim, nil)
		add(p+"ffn_up.weight", m.Type, w, 0, hidden, m.Dim, nil)
		add(p+"ffn_down.weight", m.Type, 1/math.Sqrt(float64(hidden)), 0, m.Dim, hidden, nil)
	}
	// Norm vectors were written as 1-row matrices; make them vectors.
	for i := range tensors {
		if d := tensors[i].Dims; len(d) == 2 && d[1] == 1 {
			tensors[i].Dims = d[:1]
		}
	}
	meta := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "llama.embedding_length", Value: uint32(m.Dim)},
		{Key: "llama.block_count", Value: uint32(m.Layers)},
		{Key: "llama.feed_forward_length", Value: uint32(hidden)},
		{Key: "llama.attention.head_count", Value: uint32(heads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(kvHeads)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-5)},
		{Key: "llama.rope.freq_base", Value: float32(10000)},
		{Key: "llama.context_length", Value: uint32(m.Context)},
		{Key: "tokenizer.ggml.model", Value: "llama"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.scores", Value: scores},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(2)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: uint32(0)},
		{Key: "tokenizer.ggml.add_bos_token", Value: true},
	}
	if m.Template != "" {
		meta = append(meta, gguf.KV{Key: "tokenizer.chat_template", Value: m.Template})
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, meta, tensors); err != nil {
		t.Fatalf("llamatest: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatalf("llamatest: %v", err)
	}
	return path
}
