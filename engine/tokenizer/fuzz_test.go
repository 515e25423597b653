package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncode checks, for any input, that Encode never panics, that every id is in the
// vocabulary, and that valid UTF-8 free of special-token text round-trips through Decode and
// through the streaming Decoder.
func FuzzEncode(f *testing.F) {
	for _, s := range roundTripCorpus {
		f.Add(s)
	}
	f.Add("<s>[INST]hi[/INST]")
	f.Add("<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>")
	f.Add("\xff\xfe broken \xe2\x82 utf8")
	f.Add("a▁b")
	toks := map[string]*Tokenizer{
		"sentencepiece": spmVocab(f),
		"llama-bpe":     bpeVocab(f, "llama-bpe"),
		"qwen2":         bpeVocab(f, "qwen2"),
		"gpt-2":         bpeVocab(f, "gpt-2"),
		"smollm":        bpeVocab(f, "smollm"),
		"default":       bpeVocab(f, "default"),
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, tok := range toks {
			ids := tok.Encode(s, true)
			for _, id := range ids {
				if id < 0 || int(id) >= tok.Len() {
					t.Fatalf("%s: Encode(%q) gave id %d outside the vocabulary", name, s, id)
				}
			}
			tok.EncodeLiteral(s)
			if !utf8.ValidString(s) || hasSpecialText(tok, s) || (tok.spm && strings.Contains(s, spaceMark)) {
				continue
			}
			ids = tok.Encode(s, false)
			if got := tok.Decode(ids); got != s {
				t.Fatalf("%s: Decode(Encode(%q)) = %q", name, s, got)
			}
			d := tok.NewDecoder()
			var b strings.Builder
			for _, id := range ids {
				chunk := d.Add(id)
				if !utf8.ValidString(chunk) {
					t.Fatalf("%s: Decoder returned invalid UTF-8 %q for %q", name, chunk, s)
				}
				b.WriteString(chunk)
			}
			b.WriteString(d.Flush())
			if got := strings.TrimPrefix(b.String(), " "); tok.spm && got != s || !tok.spm && b.String() != s {
				t.Fatalf("%s: streamed %q for %q", name, b.String(), s)
			}
		}
	})
}

// hasSpecialText reports whether s contains the text of a special token, which Encode would
// turn into that token (and SentencePiece would follow with a space).
func hasSpecialText(tok *Tokenizer, s string) bool {
	for _, id := range tok.special {
		if strings.Contains(s, tok.tokens[id]) {
			return true
		}
	}
	return false
}
