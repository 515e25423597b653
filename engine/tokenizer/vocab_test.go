package tokenizer

import (
	"fmt"
	"testing"
)

// spmVocab is a tiny SentencePiece vocabulary in Llama 2's layout: <unk>, <s>, </s>, the 256
// byte tokens, then scored pieces. Its scores make "ll" merge before anything else, so
// "▁hello" is reached through ▁h, ▁he, ▁hell rather than ▁hel.
func spmVocab(t testing.TB) *Tokenizer {
	t.Helper()
	v := Defaults("llama", "")
	add := func(text string, score float32, typ int32) {
		v.Tokens = append(v.Tokens, text)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 0, TypeByte)
	}
	for _, p := range []struct {
		text  string
		score float32
	}{
		{"▁", -20}, {"e", -21}, {"o", -22}, {"h", -23}, {"l", -24}, {"w", -25}, {"r", -26}, {"d", -27},
		{"ll", -3}, {"▁h", -10}, {"▁he", -9}, {"▁hel", -8}, {"▁hell", -7}, {"▁hello", -6},
		{"▁w", -10}, {"▁wo", -9}, {"▁wor", -8}, {"▁worl", -7}, {"▁world", -6},
		{"1", -30}, {"2", -30}, {"▁1", -12}, {"12", -11},
	} {
		add(p.text, p.score, TypeNormal)
	}
	add("[INST]", 0, TypeControl)
	add("[/INST]", 0, TypeControl)
	add("<a>", 0, TypeControl)
	add("<a><b>", 0, TypeControl)
	add("<user>", 0, TypeUserDefined)
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bpeVocab is a tiny byte-level BPE vocabulary in Llama 3's layout: the 256 GPT-2 byte
// characters, merged words, then control tokens, with the given pre-tokenizer.
func bpeVocab(t testing.TB, pre string) *Tokenizer {
	t.Helper()
	v := Defaults("gpt2", pre)
	for b := range 256 {
		v.Tokens = append(v.Tokens, string(byteRunes[b]))
	}
	v.Merges = []string{
		"e l", "l o", "h el", "hel lo", "Ġ h", "Ġh el", "Ġhel lo", // ranks 0-6
		"o r", "Ġ w", "Ġw or", "l d", "Ġwor ld", // 7-11
		"1 2", "12 3", "' s", "i t", "Ġ Ġ", "Ċ Ċ", // 12-17
	}
	for _, m := range v.Merges {
		var l, r string
		fmt.Sscanf(m, "%s %s", &l, &r)
		v.Tokens = append(v.Tokens, l+r)
	}
	v.Types = make([]int32, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	for _, s := range []string{"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"} {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, TypeControl)
	}
	v.BOS, v.EOS = int32(len(v.Tokens)-5), int32(len(v.Tokens)-4)
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ids maps token texts to their ids, failing the test on an unknown text.
func ids(t testing.TB, tok *Tokenizer, texts ...string) []int32 {
	t.Helper()
	out := make([]int32, 0, len(texts))
	for _, s := range texts {
		id, ok := tok.Lookup(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		out = append(out, id)
	}
	return out
}

func TestNewRejectsBadVocabularies(t *testing.T) {
	tests := []struct {
		name string
		v    Vocab
	}{
		{"unknown model", Vocab{Model: "bert", Tokens: []string{"a"}}},
		{"unknown pre-tokenizer", Vocab{Model: "gpt2", Pre: "no-such-pre", Tokens: []string{"a"}}},
		{"no tokens", Defaults("llama", "")},
		{"duplicate token", Vocab{Model: "llama", Tokens: []string{"a", "a"}, BOS: NoToken, EOS: NoToken}},
		{"short scores", Vocab{Model: "llama", Tokens: []string{"a", "b"}, Scores: []float32{0}, BOS: NoToken, EOS: NoToken}},
		{"short types", Vocab{Model: "llama", Tokens: []string{"a", "b"}, Types: []int32{1}, BOS: NoToken, EOS: NoToken}},
		{"add_bos without bos", Vocab{Model: "gpt2", Pre: "gpt-2", Tokens: []string{"a"}, AddBOS: true, BOS: NoToken}},
		{"add_eos with bos out of range", Vocab{Model: "gpt2", Pre: "gpt-2", Tokens: []string{"a"}, AddEOS: true, EOS: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.v); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestDefaultsFollowLlamaCpp(t *testing.T) {
	tests := []struct {
		name          string
		model, pre    string
		bos, eos, unk int32
		addBOS, space bool
	}{
		{"sentencepiece adds bos and a space prefix", "llama", "default", 1, 2, 0, true, true},
		{"llama 3 adds bos", "gpt2", "llama-bpe", 11, 11, NoToken, true, false},
		{"qwen2 adds no bos", "gpt2", "qwen2", 11, 11, NoToken, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Defaults(tt.model, tt.pre)
			if v.BOS != tt.bos || v.EOS != tt.eos || v.UNK != tt.unk || v.AddBOS != tt.addBOS || v.AddSpacePrefix != tt.space {
				t.Fatalf("Defaults = %+v", v)
			}
		})
	}
}

func TestEmptyTokenIsRenamed(t *testing.T) {
	tok, err := New(Vocab{Model: "llama", Tokens: []string{"a", ""}, BOS: NoToken, EOS: NoToken})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Token(1); got != "[EMPTY_1]" {
		t.Fatalf("Token(1) = %q", got)
	}
}
