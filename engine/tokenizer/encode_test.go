package tokenizer

import (
	"slices"
	"testing"
)

func TestSentencePieceEncode(t *testing.T) {
	tok := spmVocab(t)
	tests := []struct {
		name       string
		text       string
		addSpecial bool
		want       []string // expected token texts, checked by hand against llm_tokenizer_spm
	}{
		{"highest score merges first", "hello", false, []string{"▁hello"}},
		{"two words", "hello world", false, []string{"▁hello", "▁world"}},
		{"bos is prepended with addSpecial", "hello", true, []string{"<s>", "▁hello"}},
		{"empty text with addSpecial is bos alone", "", true, []string{"<s>"}},
		{"empty text is nothing", "", false, nil},
		{"character outside the vocabulary falls back to bytes", "hé", false, []string{"▁h", "<0xC3>", "<0xA9>"}},
		{"capital falls back to its byte", "Hello", false, []string{"▁", "<0x48>", "e", "ll", "o"}},
		{"newline is a byte token", "hello\nworld", false, []string{"▁hello", "<0x0A>", "w", "o", "r", "l", "d"}},
		{"leading space adds a second ▁", " hello", false, []string{"▁", "▁hello"}},
		{"higher score beats the earlier pair", "12", false, []string{"▁", "12"}},
		{"control tokens in text are single tokens", "<s>hello</s>", false, []string{"<s>", "▁hello", "</s>"}},
		{"text after a special token gets a space prefix", "[INST]hello[/INST]", false, []string{"[INST]", "▁hello", "[/INST]"}},
		{"longest special token wins", "<a><b><a>", false, []string{"<a><b>", "<a>"}},
		{"user-defined token is recognised", "hello<user>", false, []string{"▁hello", "<user>"}},
		{"special token split across text is not matched", "<s", false, []string{"▁", "<0x3C>", "<0x73>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tok.Encode(tt.text, tt.addSpecial)
			if want := ids(t, tok, tt.want...); !slices.Equal(got, want) {
				t.Fatalf("Encode(%q) = %v %q, want %v %q", tt.text, got, texts(tok, got), want, tt.want)
			}
		})
	}
}

func TestSentencePieceLiteralKeepsControlTokensAsText(t *testing.T) {
	tok := spmVocab(t)
	got := tok.EncodeLiteral("<s>hello<user>")
	want := ids(t, tok, "▁", "<0x3C>", "<0x73>", "<0x3E>", "h", "e", "ll", "o", "<user>")
	if !slices.Equal(got, want) {
		t.Fatalf("EncodeLiteral = %q, want %q", texts(tok, got), texts(tok, want))
	}
}

func TestByteLevelEncode(t *testing.T) {
	tests := []struct {
		name       string
		pre        string
		text       string
		addSpecial bool
		want       []string // expected token texts, checked by hand against llm_tokenizer_bpe
	}{
		{"whole word in vocabulary skips merges (llama 3)", "llama-bpe", " hello", false, []string{"Ġhello"}},
		{"merges run by rank (gpt-2)", "gpt-2", " hello", false, []string{"Ġ", "hello"}},
		{"word not in vocabulary merges by rank", "llama-bpe", "hello world", false, []string{"hello", "Ġworld"}},
		{"bos is prepended with addSpecial", "llama-bpe", "hello", true, []string{"<|begin_of_text|>", "hello"}},
		{"qwen2 adds no bos", "qwen2", "hello", true, []string{"hello"}},
		{"llama 3 groups three digits", "llama-bpe", "12345", false, []string{"123", "4", "5"}},
		{"gpt-2 keeps a digit run whole", "gpt-2", "12345", false, []string{"123", "4", "5"}},
		{"qwen2 splits every digit", "qwen2", "123", false, []string{"1", "2", "3"}},
		{"smollm splits every digit", "smollm", "123", false, []string{"1", "2", "3"}},
		{"contraction is its own word", "llama-bpe", "it's", false, []string{"it", "'s"}},
		{"llama 3 contractions ignore case", "llama-bpe", "IT'S", false, []string{"I", "T", "'", "S"}},
		{"multi-byte character is its bytes", "llama-bpe", "é", false, []string{"Ã", "©"}},
		{"spaces before a word leave one space to it", "llama-bpe", "   hello", false, []string{"ĠĠ", "Ġhello"}},
		{"newlines group", "llama-bpe", "hello\n\nworld", false, []string{"hello", "ĊĊ", "w", "or", "ld"}},
		{"control tokens in text are single tokens", "llama-bpe", "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>", false,
			[]string{"<|start_header_id|>", "u", "s", "e", "r", "<|end_header_id|>", "ĊĊ", "hello", "<|eot_id|>"}},
		{"special token text inside a word is still cut out", "gpt-2", "hello<|eot_id|>hello", false, []string{"hello", "<|eot_id|>", "hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := bpeVocab(t, tt.pre)
			got := tok.Encode(tt.text, tt.addSpecial)
			if want := ids(t, tok, tt.want...); !slices.Equal(got, want) {
				t.Fatalf("Encode(%q) = %v %q, want %v %q", tt.text, got, texts(tok, got), want, tt.want)
			}
		})
	}
}

func TestByteLevelLiteralKeepsControlTokensAsText(t *testing.T) {
	tok := bpeVocab(t, "llama-bpe")
	got := tok.EncodeLiteral("hello<|eot_id|>")
	if slices.Contains(got, ids(t, tok, "<|eot_id|>")[0]) {
		t.Fatalf("EncodeLiteral kept <|eot_id|> as a control token: %q", texts(tok, got))
	}
	if dec := tok.Decode(got); dec != "hello<|eot_id|>" {
		t.Fatalf("Decode(EncodeLiteral) = %q", dec)
	}
}

func TestEndOfGeneration(t *testing.T) {
	tok := bpeVocab(t, "llama-bpe")
	eot := ids(t, tok, "<|eot_id|>")[0]
	tests := []struct {
		name string
		id   int32
		want bool
	}{
		{"eot found by its text", eot, true},
		{"eos", tok.EOS(), true},
		{"bos does not end generation", tok.BOS(), false},
		{"normal token", ids(t, tok, "hello")[0], false},
		{"out of range", -5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.IsEOG(tt.id); got != tt.want {
				t.Fatalf("IsEOG(%d) = %v", tt.id, got)
			}
		})
	}
	if tok.EOT() != eot {
		t.Fatalf("EOT() = %d, want %d", tok.EOT(), eot)
	}
}

func texts(tok *Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tok.Token(id)
	}
	return out
}
