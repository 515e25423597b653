package tokenizer

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dlclark/regexp2"
)

// The pre-tokenizers are hand-written ports of llama.cpp's; this test checks them against the
// original regexes (from each model's tokenizer.json), run by a backtracking engine that has
// the (?!\S) lookahead Go's regexp lacks.
var referenceRegexes = map[string]string{
	"llama-bpe": `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	"qwen2":     `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	"gpt-2":     `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
}

// regexWords splits text as llama.cpp's unicode_regex_split_stl: matches and the text
// between them are words.
func regexWords(t *testing.T, re *regexp2.Regexp, text string) []string {
	t.Helper()
	cpts := []rune(text)
	var out []string
	prev := 0
	m, err := re.FindStringMatch(text)
	for ; m != nil && err == nil; m, err = re.FindNextMatch(m) {
		if m.Index > prev {
			out = append(out, string(cpts[prev:m.Index]))
		}
		out = append(out, m.String())
		prev = m.Index + m.Length
	}
	if err != nil {
		t.Fatal(err)
	}
	if prev < len(cpts) {
		out = append(out, string(cpts[prev:]))
	}
	return out
}

func TestPreTokenizersMatchTheirRegexes(t *testing.T) {
	// Assigned code points of every class the regexes distinguish; unassigned ones are left
	// out because llama.cpp's port deliberately differs there.
	alphabet := []rune("aZs'tTrREvVmMlLdD 0123456789\t\n\r\u000b\u00a0\u3000.,!?$-_()[]{}<>|~^+=éßÜñ日本語テキАя٣²½😀👍\u200d")
	r := rand.New(rand.NewPCG(7, 11))
	for pre, expr := range referenceRegexes {
		re := regexp2.MustCompile(expr, regexp2.None)
		for range 3000 {
			b := make([]rune, r.IntN(16))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			s := string(b)
			if got, want := words(pre, s), regexWords(t, re, s); !slices.Equal(got, want) {
				t.Fatalf("%s: words(%q) = %q, regex gives %q", pre, s, got, want)
			}
		}
	}
}
