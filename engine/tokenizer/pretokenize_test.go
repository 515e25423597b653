package tokenizer

import (
	"slices"
	"testing"
)

// words runs a pre-tokenizer over text and returns its words.
func words(pre string, text string) []string {
	cpts := []rune(text)
	segs := []int{len(cpts)}
	for _, split := range preTokenizers[pre].split {
		segs = split(cpts, segs)
	}
	out := make([]string, 0, len(segs))
	start := 0
	for _, n := range segs {
		out = append(out, string(cpts[start:start+n]))
		start += n
	}
	return out
}

func TestPreTokenizers(t *testing.T) {
	tests := []struct {
		name string
		pre  string
		text string
		want []string // checked by hand against the regex of each pre-tokenizer
	}{
		{"llama 3 words keep their leading space", "llama-bpe", "Hello world", []string{"Hello", " world"}},
		{"llama 3 punctuation takes a leading space", "llama-bpe", "Hi , there!", []string{"Hi", " ,", " there", "!"}},
		{"llama 3 letters take a leading symbol", "llama-bpe", "$dollars", []string{"$dollars"}},
		{"llama 3 digits in threes", "llama-bpe", "1234567", []string{"123", "456", "7"}},
		{"llama 3 contractions ignore case", "llama-bpe", "I'M YOU'LL", []string{"I", "'M", " YOU", "'LL"}},
		{"llama 3 trailing spaces stay together", "llama-bpe", "a   ", []string{"a", "   "}},
		{"llama 3 spaces before a word leave one", "llama-bpe", "a   b", []string{"a", "  ", " b"}},
		{"llama 3 spaces then newlines group", "llama-bpe", "a  \n\n b", []string{"a", "  \n\n", " b"}},
		{"llama 3 punctuation swallows newlines", "llama-bpe", "end.\n\nNext", []string{"end", ".\n\n", "Next"}},
		{"llama 3 tab before digits", "llama-bpe", "x\t12", []string{"x", "\t", "12"}},
		{"llama 3 emoji is punctuation-like", "llama-bpe", "hi 😀😀", []string{"hi", " 😀😀"}},
		{"llama 3 non-latin letters", "llama-bpe", "日本語 テキスト", []string{"日本語", " テキスト"}},
		{"qwen2 single digits", "qwen2", "a 12", []string{"a", " ", "1", "2"}},
		{"gpt-2 contractions are case-sensitive", "gpt-2", "I'M it's", []string{"I", "'", "M", " it", "'s"}},
		{"gpt-2 digit runs stay whole", "gpt-2", "x 12345", []string{"x", " 12345"}},
		{"gpt-2 newline is whitespace", "gpt-2", "a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"gpt-2 letters do not take a symbol", "gpt-2", "$dollars", []string{"$", "dollars"}},
		{"smollm digits alone", "smollm", "ab 123", []string{"ab", " ", "1", "2", "3"}},
		{"default splits punctuation and digit triples", "default", "a,b 12345", []string{"a", ",", "b", " ", "123", "45"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := words(tt.pre, tt.text); !slices.Equal(got, tt.want) {
				t.Fatalf("words(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}
