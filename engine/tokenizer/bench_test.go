package tokenizer

import (
	"strings"
	"testing"
)

// benchText is about 4 KB of mixed prose, code, digits and non-Latin text.
var benchText = strings.Repeat("The quick brown fox jumps over the lazy dog. It's 12:45 and we'll pay $1,234.56!\n"+
	"func main() { fmt.Println(\"héllo, wörld\") } // 日本語のテキスト 😀\n", 28)

func BenchmarkEncode(b *testing.B) {
	for _, tc := range []struct {
		name string
		tok  *Tokenizer
	}{
		{"sentencepiece", spmVocab(b)},
		{"llama-bpe", bpeVocab(b, "llama-bpe")},
		{"gpt-2", bpeVocab(b, "gpt-2")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchText)))
			for b.Loop() {
				tc.tok.Encode(benchText, true)
			}
		})
	}
}

func BenchmarkDecoder(b *testing.B) {
	tok := bpeVocab(b, "llama-bpe")
	ids := tok.Encode(benchText, false)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		d := tok.NewDecoder()
		for _, id := range ids {
			d.Add(id)
		}
		d.Flush()
	}
}
