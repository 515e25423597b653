package llama_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/llama"
)

// tokensOf returns n tokens of a vocabulary of vocab, in a fixed mixed order.
func tokensOf(n, vocab int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = (7*i + 3) % vocab
	}
	return out
}

func TestPrefillMatchesTokenByTokenForward(t *testing.T) {
	cases := []struct {
		name          string
		spec          tiny
		before, batch int // tokens Forwarded first, then Prefilled
		threads       int
	}{
		{"F32, one token", small(gguf.TypeF32), 0, 1, 0},
		{"F32, a prompt shorter than a batch", small(gguf.TypeF32), 0, 9, 0},
		{"Q8_0, a prompt of two batches", small(gguf.TypeQ8_0), 0, llama.PrefillBatch + 20, 0},
		{"Q4_K after tokens already in the cache", small(gguf.TypeQ4_K), 3, llama.PrefillBatch + 1, 0},
		{"Q6_K on one thread", small(gguf.TypeQ6_K), 0, 12, 1},
		{"Q4_0, exactly one batch", small(gguf.TypeQ4_0), 0, llama.PrefillBatch, 0},
		{"Qwen2 with attention biases", func() tiny { s := small(gguf.TypeF32); s.arch = "qwen2"; return s }(), 1, 6, 0},
		{"F16 with tied embeddings", func() tiny { s := small(gguf.TypeF16); s.tied = true; return s }(), 2, 7, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := load(t, c.spec.write(t, t.TempDir()), llama.Options{Threads: c.threads})
			tokens := tokensOf(c.before+c.batch+2, c.spec.vocab)
			want := run(t, m, tokens)

			s := m.NewState(0)
			for _, tok := range tokens[:c.before] {
				if _, err := s.Forward(tok); err != nil {
					t.Fatal(err)
				}
			}
			end := c.before + c.batch
			got, err := s.Prefill(tokens[c.before:end])
			if err != nil {
				t.Fatal(err)
			}
			if s.Pos() != end {
				t.Fatalf("Pos = %d after Prefill, want %d", s.Pos(), end)
			}
			if d := maxDiff(got, want[end-1]); d > 1e-5 {
				t.Fatalf("last prefilled logits differ from Forward's by %g", d)
			}
			// The cache Prefill wrote must be what Forward would have
			// written: decoding on from it gives the same logits.
			for p := end; p < len(tokens); p++ {
				got, err := s.Forward(tokens[p])
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(got, want[p]); d > 1e-5 {
					t.Fatalf("position %d after Prefill: logits differ by %g", p, d)
				}
			}
		})
	}
}

func maxDiff(a []float32, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func TestPrefillRejectsAndLeavesTheStateUnchanged(t *testing.T) {
	m := load(t, small(gguf.TypeF32).write(t, t.TempDir()), llama.Options{})
	cases := []struct {
		name    string
		tokens  []int
		wantErr error
	}{
		{"no tokens", nil, nil},
		{"a token beyond the vocabulary after good ones", []int{1, 2, 32}, nil},
		{"a negative token", []int{-1}, nil},
		{"more tokens than the context has room for", tokensOf(8, 32), llama.ErrContextFull},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := m.NewState(8)
			if _, err := s.Forward(5); err != nil {
				t.Fatal(err)
			}
			_, err := s.Prefill(c.tokens)
			if err == nil || (c.wantErr != nil && !errors.Is(err, c.wantErr)) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if s.Pos() != 1 {
				t.Fatalf("Pos = %d after a failed Prefill, want 1", s.Pos())
			}
		})
	}
}

func BenchmarkPrefill(b *testing.B) {
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_K} {
		for _, batched := range []bool{false, true} {
			b.Run(fmt.Sprintf("%v/batched=%v", typ, batched), func(b *testing.B) {
				spec := small(typ)
				spec.dim, spec.hidden, spec.heads, spec.kvHeads, spec.vocab, spec.layers = 512, 1536, 8, 4, 4096, 4
				m := load(b, spec.write(b, b.TempDir()), llama.Options{})
				s := m.NewState(64)
				tokens := tokensOf(64, spec.vocab)
				for b.Loop() {
					s.Truncate(0)
					if batched {
						if _, err := s.Prefill(tokens); err != nil {
							b.Fatal(err)
						}
						continue
					}
					for _, tok := range tokens {
						if _, err := s.Forward(tok); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.N*len(tokens))/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}
