package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// roundTripCorpus holds text without special tokens, which every vocabulary must give back.
var roundTripCorpus = []string{
	"",
	"hello world",
	"Hello, World! It's 2025; we're here.",
	" leading space",
	"trailing space ",
	"   three leading spaces",
	"multiple   inner    spaces",
	"\n",
	"line one\nline two\r\nline three\n\n\n",
	"\ttabs\tand  \t mixed \n whitespace",
	"digits 0 12 345 6789 1234567890",
	"naïve café, Ünïcödé",
	"日本語のテキスト、中文文本",
	"Ελληνικά и русский текст",
	"emoji 😀👍🏽 and ZWJ 👩‍💻 family 👨‍👩‍👧",
	"symbols €£¥ © ® ™ ∑ √ ∞",
	"code: func main() { fmt.Println(\"hi\") }",
	"I'M SHOUTING, YOU'LL SEE, WE'D GO",
	"\u00a0no-break\u3000ideographic space\u2028line separator",
	"    ",
}

func TestRoundTrip(t *testing.T) {
	vocabs := map[string]*Tokenizer{
		"sentencepiece":     spmVocab(t),
		"llama 3":           bpeVocab(t, "llama-bpe"),
		"qwen2":             bpeVocab(t, "qwen2"),
		"gpt-2":             bpeVocab(t, "gpt-2"),
		"smollm":            bpeVocab(t, "smollm"),
		"llama.cpp default": bpeVocab(t, "default"),
	}
	for name, tok := range vocabs {
		for _, s := range roundTripCorpus {
			t.Run(name+"/"+s, func(t *testing.T) {
				if got := tok.Decode(tok.Encode(s, false)); got != s {
					t.Fatalf("Decode(Encode(%q)) = %q", s, got)
				}
			})
		}
	}
}

func TestDecode(t *testing.T) {
	spm, bpe := spmVocab(t), bpeVocab(t, "llama-bpe")
	tests := []struct {
		name string
		tok  *Tokenizer
		ids  []int32
		want string
	}{
		{"sentencepiece strips the prefix space of the first token", spm, ids(t, spm, "▁hello", "▁world"), "hello world"},
		{"sentencepiece renders special tokens and keeps the space after them", spm, ids(t, spm, "<s>", "▁hello", "</s>"), "<s> hello</s>"},
		{"sentencepiece byte tokens join into a character", spm, ids(t, spm, "<0xC3>", "<0xA9>"), "é"},
		{"byte-level characters become bytes", bpe, ids(t, bpe, "Ġhello", "Ċ", "Ã", "©"), " hello\né"},
		{"byte-level renders control tokens", bpe, ids(t, bpe, "<|begin_of_text|>", "hello", "<|eot_id|>"), "<|begin_of_text|>hello<|eot_id|>"},
		{"ids outside the vocabulary render as nothing", bpe, []int32{-1, 1 << 20}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.Decode(tt.ids); got != tt.want {
				t.Fatalf("Decode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecoderNeverSplitsACharacter(t *testing.T) {
	for name, tok := range map[string]*Tokenizer{"sentencepiece": spmVocab(t), "llama 3": bpeVocab(t, "llama-bpe")} {
		for _, s := range roundTripCorpus {
			t.Run(name+"/"+s, func(t *testing.T) {
				ids := tok.Encode(s, false)
				d := tok.NewDecoder()
				var b strings.Builder
				for _, id := range ids {
					chunk := d.Add(id)
					if !utf8.ValidString(chunk) {
						t.Fatalf("Add returned invalid UTF-8 %q", chunk)
					}
					b.WriteString(chunk)
				}
				b.WriteString(d.Flush())
				// The decoder strips nothing: it gives back every piece.
				var want strings.Builder
				for _, id := range ids {
					want.WriteString(tok.Piece(id))
				}
				if b.String() != want.String() {
					t.Fatalf("streamed %q, pieces are %q", b.String(), want.String())
				}
			})
		}
	}
}

func TestDecoderChunks(t *testing.T) {
	spm, bpe := spmVocab(t), bpeVocab(t, "llama-bpe")
	tests := []struct {
		name    string
		tok     *Tokenizer
		special bool
		ids     []int32
		want    []string // what each Add returns, then Flush
	}{
		{"two-byte character waits for its second byte", spm, false, ids(t, spm, "▁h", "<0xC3>", "<0xA9>"), []string{" h", "", "é", ""}},
		{"four-byte emoji waits for all four", bpe, false, ids(t, bpe, "ð", "Ł", "ĺ", "Ģ", "Ġhello"), []string{"", "", "", "😀", " hello", ""}},
		{"character cut by the end of the stream is flushed", bpe, false, ids(t, bpe, "hello", "ð", "Ł"), []string{"hello", "", "", "\xf0\x9f"}},
		{"invalid byte passes through", spm, false, ids(t, spm, "<0xFF>", "▁h"), []string{"\xff", " h", ""}},
		{"control tokens render as nothing by default", bpe, false, ids(t, bpe, "hello", "<|eot_id|>"), []string{"hello", "", ""}},
		{"control tokens render as text when asked", bpe, true, ids(t, bpe, "hello", "<|eot_id|>"), []string{"hello", "<|eot_id|>", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.tok.NewDecoder()
			d.Special = tt.special
			var got []string
			for _, id := range tt.ids {
				got = append(got, d.Add(id))
			}
			got = append(got, d.Flush())
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Fatalf("chunks = %q, want %q", got, tt.want)
			}
		})
	}
}
