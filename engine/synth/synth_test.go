package synth_test

import (
	"path/filepath"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/llama"
	"github.com/converse-project/converse/engine/synth"
)

func TestWriteLoads(t *testing.T) {
	for name, mix := range synth.Mixes {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.gguf")
			shape := synth.Shape{Dim: 256, Layers: 2, Hidden: 512, Heads: 4, KVHeads: 2, Vocab: 1000, Context: 64, RopeBase: 10000}
			if err := synth.Write(path, shape, mix, "test"); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if model, _ := f.String("tokenizer.ggml.model"); model != "llama" {
				t.Fatalf("tokenizer.ggml.model = %q", model)
			}
			m, err := llama.New(f, llama.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Config.Vocab != 1000 || m.Config.Layers != 2 {
				t.Fatalf("config %+v", m.Config)
			}
			logits, err := m.NewState(8).Forward(300)
			if err != nil || len(logits) != 1000 {
				t.Fatalf("forward: %d logits, %v", len(logits), err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	if _, mix, err := synth.Parse("tinyllama-q4_k_m"); err != nil || mix.Main != gguf.TypeQ4_K || mix.Big != gguf.TypeQ6_K {
		t.Fatalf("tinyllama-q4_k_m: %v %v", mix, err)
	}
	if _, _, err := synth.Parse("tinyllama-q5"); err == nil {
		t.Fatal("unknown mix accepted")
	}
}
