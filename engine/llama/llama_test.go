package llama_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/llama"
)

func TestStateReplaysAfterTruncate(t *testing.T) {
	m := load(t, small(gguf.TypeQ8_0).write(t, t.TempDir()), llama.Options{})
	tokens := []int{3, 1, 4, 1, 5, 9, 2, 6}
	want := run(t, m, tokens)
	s := m.NewState(0)
	for _, tok := range tokens[:6] {
		if _, err := s.Forward(tok); err != nil {
			t.Fatal(err)
		}
	}
	s.Truncate(3)
	for p := 3; p < len(tokens); p++ {
		got, err := s.Forward(tokens[p])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[p]) {
			t.Fatalf("position %d differs after truncation", p)
		}
	}
}

func TestStatesOverOneModelAreIndependent(t *testing.T) {
	m := load(t, small(gguf.TypeQ4_0).write(t, t.TempDir()), llama.Options{})
	a, b := []int{1, 2, 3, 4, 5}, []int{9, 8, 7, 6, 5}
	wantA, wantB := run(t, m, a), run(t, m, b)
	done := make(chan [][]float32)
	go func() { done <- run(t, m, a) }()
	gotB := run(t, m, b)
	gotA := <-done
	for p := range a {
		if !slices.Equal(gotA[p], wantA[p]) || !slices.Equal(gotB[p], wantB[p]) {
			t.Fatalf("position %d: concurrent states disturbed each other", p)
		}
	}
}

func TestThreadCountDoesNotChangeLogits(t *testing.T) {
	path := small(gguf.TypeQ4_K).write(t, t.TempDir())
	tokens := []int{5, 6, 7}
	one, all := run(t, load(t, path, llama.Options{Threads: 1}), tokens), run(t, load(t, path, llama.Options{}), tokens)
	for p := range tokens {
		if !slices.Equal(one[p], all[p]) {
			t.Fatalf("position %d: logits depend on the thread count", p)
		}
	}
}

func TestForwardRejects(t *testing.T) {
	m := load(t, small(gguf.TypeF32).write(t, t.TempDir()), llama.Options{})
	cases := []struct {
		name    string
		ctx     int
		tokens  []int
		wantErr error
	}{
		{"token beyond the vocabulary", 8, []int{32}, nil},
		{"negative token", 8, []int{-1}, nil},
		{"a token past the context window", 2, []int{1, 2, 3}, llama.ErrContextFull},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := m.NewState(c.ctx)
			var err error
			for _, tok := range c.tokens {
				if _, err = s.Forward(tok); err != nil {
					break
				}
			}
			if err == nil || (c.wantErr != nil && !errors.Is(err, c.wantErr)) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
		})
	}
}

func TestNewRejectsBrokenFiles(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(meta []gguf.KV, tensors []gguf.TensorData) ([]gguf.KV, []gguf.TensorData)
		wantErr string
	}{
		{"unknown architecture", func(m []gguf.KV, ts []gguf.TensorData) ([]gguf.KV, []gguf.TensorData) {
			m[0].Value = "mamba"
			return m, ts
		}, `architecture "mamba"`},
		{"missing head count", func(m []gguf.KV, ts []gguf.TensorData) ([]gguf.KV, []gguf.TensorData) {
			return slices.DeleteFunc(m, func(kv gguf.KV) bool { return kv.Key == "llama.attention.head_count" }), ts
		}, "attention.head_count missing"},
		{"heads not divisible by KV heads", func(m []gguf.KV, ts []gguf.TensorData) ([]gguf.KV, []gguf.TensorData) {
			for i := range m {
				if m[i].Key == "llama.attention.head_count_kv" {
					m[i].Value = uint32(3)
				}
			}
			return m, ts
		}, "cannot share"},
		{"missing layer tensor", func(m []gguf.KV, ts []gguf.TensorData) ([]gguf.KV, []gguf.TensorData) {
			return m, slices.DeleteFunc(ts, func(td gguf.TensorData) bool { return td.Name == "blk.1.ffn_up.weight" })
		}, "blk.1.ffn_up.weight missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := gguf.Open(small(gguf.TypeF32).write(t, t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var tensors []gguf.TensorData
			for _, tn := range src.Tensors {
				tensors = append(tensors, gguf.TensorData{Name: tn.Name, Type: tn.Type, Dims: tn.Dims, Data: tn.Data})
			}
			meta, tensors := c.edit(slices.Clone(src.KV), tensors)
			var buf bytes.Buffer
			if err := gguf.Write(&buf, meta, tensors); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "broken.gguf")
			os.WriteFile(path, buf.Bytes(), 0o600)
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := llama.New(f, llama.Options{}); err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, c.wantErr)
			}
		})
	}
}

func TestLlama3FreqFactors(t *testing.T) {
	// Llama 3.1's published settings: factor 8, low 1, high 4, 8192 tokens.
	f := llama.Llama3FreqFactors(128, 500000, 8, 1, 4, 8192)
	if len(f) != 64 {
		t.Fatalf("%d factors", len(f))
	}
	if f[0] != 1 {
		t.Errorf("highest frequency scaled by %v, want 1", f[0])
	}
	if f[63] != 8 {
		t.Errorf("lowest frequency scaled by %v, want 8", f[63])
	}
	var between bool
	for i := 1; i < len(f); i++ {
		if f[i] < f[i-1] {
			t.Fatalf("factors not monotonic at %d: %v < %v", i, f[i], f[i-1])
		}
		between = between || (f[i] > 1 && f[i] < 8)
	}
	if !between {
		t.Error("no frequency is interpolated")
	}
	// Pair i has wavelength 2π·base^(i/64); the first above 8192/4 = 2048
	// must be the first one scaled.
	for i, v := range f {
		wavelen := 2 * math.Pi * math.Pow(500000, float64(2*i)/128)
		if (wavelen < 2048) != (v == 1) {
			t.Errorf("pair %d (wavelength %.0f) has factor %v", i, wavelen, v)
		}
	}
}

func TestSampler(t *testing.T) {
	logits := []float32{0.1, 2.5, -1, 2.4, 0.3, 2.5}
	t.Run("zero temperature is argmax with the lowest id on ties", func(t *testing.T) {
		if got := llama.NewSampler(llama.SamplerConfig{}).Sample(logits); got != 1 {
			t.Fatalf("got %d", got)
		}
	})
	t.Run("top-k 1 is argmax", func(t *testing.T) {
		if got := llama.NewSampler(llama.SamplerConfig{Temperature: 5, TopK: 1}).Sample(logits); got != 1 {
			t.Fatalf("got %d", got)
		}
	})
	draw := func(cfg llama.SamplerConfig, n int) []int {
		s := llama.NewSampler(cfg)
		counts := make([]int, len(logits))
		for range n {
			counts[s.Sample(logits)]++
		}
		return counts
	}
	t.Run("equal seeds give equal streams", func(t *testing.T) {
		a, b := llama.NewSampler(llama.SamplerConfig{Temperature: 1, Seed: 42}), llama.NewSampler(llama.SamplerConfig{Temperature: 1, Seed: 42})
		c := llama.NewSampler(llama.SamplerConfig{Temperature: 1, Seed: 43})
		var sa, sb, sc []int
		for range 64 {
			sa, sb, sc = append(sa, a.Sample(logits)), append(sb, b.Sample(logits)), append(sc, c.Sample(logits))
		}
		if !slices.Equal(sa, sb) {
			t.Fatal("same seed, different tokens")
		}
		if slices.Equal(sa, sc) {
			t.Fatal("different seeds, same 64 tokens")
		}
	})
	t.Run("top-k keeps only the k most likely", func(t *testing.T) {
		counts := draw(llama.SamplerConfig{Temperature: 10, TopK: 3, Seed: 1}, 3000)
		for i, n := range counts {
			if kept := i == 1 || i == 3 || i == 5; kept != (n > 0) {
				t.Fatalf("token %d drawn %d times (counts %v)", i, n, counts)
			}
		}
	})
	t.Run("top-p keeps the smallest set reaching p", func(t *testing.T) {
		// At temperature 1 tokens 1 and 5 hold about 0.36 each and token 3
		// 0.33 of what remains: 0.5 needs the first two only.
		counts := draw(llama.SamplerConfig{Temperature: 1, TopP: 0.5, Seed: 2}, 3000)
		for i, n := range counts {
			if kept := i == 1 || i == 5; kept != (n > 0) {
				t.Fatalf("token %d drawn %d times (counts %v)", i, n, counts)
			}
		}
	})
	t.Run("a large vocabulary draws only within top-k and top-p", func(t *testing.T) {
		big := make([]float32, 5000)
		for i := range big {
			big[i] = float32((i*7919)%5000) / 100 // distinct, shuffled
		}
		rank := func(id int) int { return 4999 - (id*7919)%5000 } // 0 is the best
		for _, cfg := range []llama.SamplerConfig{
			{Temperature: 50, TopK: 300, Seed: 4},
			{Temperature: 3, TopP: 0.9, Seed: 5},
		} {
			s := llama.NewSampler(cfg)
			worst := 0
			for range 1000 {
				worst = max(worst, rank(s.Sample(big)))
			}
			// At temperature 3 the probabilities fall by e^(1/300) per
			// rank: 90% of the mass lies in the best ~690 (ln 10 × 300).
			limit := 300
			if cfg.TopK == 0 {
				limit = 700
			}
			if worst >= limit || worst < limit/2 {
				t.Fatalf("%+v: worst rank drawn %d, want below %d and above %d", cfg, worst, limit, limit/2)
			}
		}
	})
	t.Run("high temperature reaches every token", func(t *testing.T) {
		for i, n := range draw(llama.SamplerConfig{Temperature: 100, Seed: 3}, 3000) {
			if n == 0 {
				t.Fatalf("token %d never drawn", i)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, typ := range []gguf.Type{gguf.TypeF32, gguf.TypeQ8_0, gguf.TypeQ4_K} {
		b.Run(typ.String(), func(b *testing.B) {
			spec := small(typ)
			spec.dim, spec.hidden, spec.heads, spec.kvHeads, spec.vocab, spec.layers = 512, 1536, 8, 4, 4096, 4
			m := load(b, spec.write(b, b.TempDir()), llama.Options{})
			s := m.NewState(256)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if s.Pos() == 256 {
					s.Truncate(0)
				}
				if _, err := s.Forward(n % spec.vocab); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
