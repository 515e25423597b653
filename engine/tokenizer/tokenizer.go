package tokenizer

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrVocab reports a vocabulary New cannot use; the wrapped message says why.
var ErrVocab = errors.New("tokenizer: invalid vocabulary")

// Tokenizer encodes text to token ids and decodes them back for one vocabulary. It is
// immutable and safe for concurrent use.
type Tokenizer struct {
	spm    bool // "llama" model; otherwise "gpt2"
	tokens []string
	scores []float32
	attrs  []attr
	ids    map[string]int32
	pieces []string // each token's bytes when rendered with special tokens as text

	// special lists the tokens cut out of the text before tokenizing, longest text first.
	special []int32

	// byte-level BPE only
	ranks map[string]int32 // "left right" → merge rank
	pre   preTokenizer

	// SentencePiece only: the <0xXX> token of each byte, or NoToken.
	byteTokens [256]int32

	bos, eos, eot, eom, unk, pad int32
	addBOS, addEOS, addSpace     bool
	eog                          []int32
}

// New builds a Tokenizer from v. It fails, wrapping ErrVocab, when v.Model is neither "llama"
// nor "gpt2", v.Pre names no pre-tokenizer llama.cpp knows for "gpt2", a token appears twice,
// Scores or Types is shorter than Tokens, or AddBOS/AddEOS is set without a valid BOS/EOS.
// Special ids outside the vocabulary are treated as NoToken, as llama.cpp does.
func New(v Vocab) (*Tokenizer, error) {
	t := &Tokenizer{addBOS: v.AddBOS, addEOS: v.AddEOS}
	switch v.Model {
	case "llama":
		t.spm, t.addSpace = true, v.AddSpacePrefix
	case "gpt2":
		p, ok := preTokenizers[v.Pre]
		if !ok {
			return nil, fmt.Errorf("%w: unknown pre-tokenizer %q", ErrVocab, v.Pre)
		}
		t.pre = p
	default:
		return nil, fmt.Errorf("%w: unsupported tokenizer model %q", ErrVocab, v.Model)
	}
	n := len(v.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("%w: no tokens", ErrVocab)
	}
	if v.Scores != nil && len(v.Scores) < n {
		return nil, fmt.Errorf("%w: %d scores for %d tokens", ErrVocab, len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) < n {
		return nil, fmt.Errorf("%w: %d token types for %d tokens", ErrVocab, len(v.Types), n)
	}

	t.tokens = make([]string, n)
	t.scores = make([]float32, n)
	t.attrs = make([]attr, n)
	t.ids = make(map[string]int32, n)
	for i, s := range v.Tokens {
		if s == "" {
			s = "[EMPTY_" + strconv.Itoa(i) + "]"
		}
		if j, dup := t.ids[s]; dup {
			return nil, fmt.Errorf("%w: duplicate token %q has ids %d and %d", ErrVocab, s, j, i)
		}
		t.ids[s] = int32(i)
		t.tokens[i] = s
		if v.Scores != nil {
			t.scores[i] = v.Scores[i]
		}
		t.attrs[i] = attrNormal
		if v.Types != nil {
			t.attrs[i] = attrOf(v.Types[i])
		}
	}

	valid := func(id int32) int32 {
		if id < 0 || int(id) >= n {
			return NoToken
		}
		return id
	}
	t.bos, t.eos, t.eot = valid(v.BOS), valid(v.EOS), valid(v.EOT)
	t.eom, t.unk, t.pad = valid(v.EOM), valid(v.UNK), valid(v.PAD)
	if t.addBOS && t.bos == NoToken {
		return nil, fmt.Errorf("%w: add_bos_token is true but bos_token_id is not set", ErrVocab)
	}
	if t.addEOS && t.eos == NoToken {
		return nil, fmt.Errorf("%w: add_eos_token is true but eos_token_id is not set", ErrVocab)
	}

	t.classifyControl()
	if t.spm {
		t.indexBytes()
	} else {
		t.ranks = make(map[string]int32, len(v.Merges))
		for i, m := range v.Merges {
			// llama.cpp splits at the first space after the first byte and keeps the first
			// rank of a duplicate pair.
			sp := strings.IndexByte(m[min(1, len(m)):], ' ')
			if sp < 0 {
				continue
			}
			if _, dup := t.ranks[m]; !dup {
				t.ranks[m] = int32(i)
			}
		}
	}

	for i := range n {
		if t.attrs[i].special() {
			t.special = append(t.special, int32(i))
		}
	}
	// Longest first, so "<|eot_id|>" wins over any special token inside it; ties by id keep
	// the order deterministic (llama.cpp's std::sort leaves it unspecified).
	slices.SortStableFunc(t.special, func(a, b int32) int {
		return cmp.Compare(len(t.tokens[b]), len(t.tokens[a]))
	})

	t.pieces = make([]string, n)
	for i := range n {
		t.pieces[i] = t.render(int32(i))
	}
	return t, nil
}

// classifyControl applies llama.cpp's text heuristics: end-of-turn and FIM tokens become
// control tokens, EOT and EOM are found by text when the file names none, and the set of
// end-of-generation tokens is collected.
func (t *Tokenizer) classifyControl() {
	eog := map[int32]bool{}
	for i, s := range t.tokens {
		id := int32(i)
		ends, ok := controlTexts[s]
		if !ok {
			continue
		}
		t.attrs[i] |= attrControl
		if ends {
			eog[id] = true
		}
	}
	if t.eot == NoToken {
		for _, s := range eotTexts {
			if id, ok := t.ids[s]; ok {
				t.eot = id
				break
			}
		}
	}
	if t.eom == NoToken {
		if id, ok := t.ids["<|eom_id|>"]; ok {
			t.eom = id
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != NoToken {
			eog[id] = true
		}
	}
	for id := range eog {
		t.eog = append(t.eog, id)
	}
	slices.Sort(t.eog)
}

// indexBytes finds the byte-fallback token of each byte: "<0xXX>", else the byte itself
// (llama_vocab::byte_to_token for SentencePiece vocabularies).
func (t *Tokenizer) indexBytes() {
	for b := range 256 {
		id, ok := t.ids[fmt.Sprintf("<0x%02X>", b)]
		if !ok {
			id, ok = t.ids[string([]byte{byte(b)})]
		}
		if !ok {
			id = NoToken
		}
		t.byteTokens[b] = id
	}
}

// render is llama.cpp's token_to_piece with special=true: control, unknown and user-defined
// tokens as their text, normal tokens with "▁" turned back into spaces (SentencePiece) or
// GPT-2's characters turned back into bytes (byte-level BPE), byte tokens as their byte, and
// unused or undefined tokens as nothing.
func (t *Tokenizer) render(id int32) string {
	a, text := t.attrs[id], t.tokens[id]
	switch {
	case a&(attrControl|attrUnknown|attrUserDefined) != 0:
		return text
	case a&attrNormal != 0:
		if t.spm {
			return strings.ReplaceAll(text, spaceMark, " ")
		}
		return unmapBytes(text)
	case a&attrByte != 0:
		if len(text) >= 6 {
			if b, err := strconv.ParseUint(text[3:5], 16, 8); err == nil {
				return string([]byte{byte(b)})
			}
		}
	}
	return ""
}

// spaceMark is SentencePiece's visible space, U+2581.
const spaceMark = "▁"

// fragment is a run of text or one special token cut out of it.
type fragment struct {
	text  string
	token int32 // NoToken for text
}

// partition cuts the special tokens out of text, as llama.cpp's tokenizer_st_partition: each
// special token in turn, longest first, splits every text fragment at each occurrence. With
// literal, control and unknown tokens stay text and only user-defined tokens are cut out.
func (t *Tokenizer) partition(text string, literal bool) []fragment {
	frags := []fragment{{text: text, token: NoToken}}
	var present [256]bool
	for i := 0; i < len(text); i++ {
		present[text[i]] = true
	}
	var next []fragment
	for _, id := range t.special {
		tok := t.tokens[id]
		if literal && t.attrs[id].hidden() {
			continue
		}
		if !present[tok[0]] || !strings.Contains(text, tok) {
			continue
		}
		next = next[:0]
		for _, f := range frags {
			if f.token != NoToken {
				next = append(next, f)
				continue
			}
			rest := f.text
			for {
				i := strings.Index(rest, tok)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{text: rest[:i], token: NoToken})
				}
				next = append(next, fragment{token: id})
				rest = rest[i+len(tok):]
			}
			if rest != "" {
				next = append(next, fragment{text: rest, token: NoToken})
			}
		}
		frags, next = next, frags
	}
	return frags
}

// Encode returns the token ids of text. Special tokens written in the text ("<s>",
// "<|eot_id|>", "[INST]" where it is a control token, …) become single tokens, as llama.cpp's
// llama_tokenize with parse_special=true. With addSpecial, BOS is prepended when the
// vocabulary's add_bos_token is set and EOS appended when add_eos_token is set. Invalid UTF-8
// is read as U+FFFD by the byte-level tokenizer, as in llama.cpp.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int32 {
	return t.encode(text, addSpecial, false)
}

// EncodeLiteral is Encode for text that must not contain control tokens, such as a user's
// message: control and unknown tokens written in it are tokenized as plain text
// (parse_special=false), while user-defined tokens are still recognised, as in llama.cpp.
// It never adds BOS or EOS.
func (t *Tokenizer) EncodeLiteral(text string) []int32 {
	return t.encode(text, false, true)
}

func (t *Tokenizer) encode(text string, addSpecial, literal bool) []int32 {
	out := make([]int32, 0, len(text)/3+2)
	if addSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	var frags []fragment
	if text != "" {
		frags = t.partition(text, literal)
	}
	if t.spm {
		var e spmEncoder
		prevSpecial := true // llama.cpp prefixes a space to the first text and after each special token
		for _, f := range frags {
			if f.token != NoToken {
				out = append(out, f.token)
				prevSpecial = true
				continue
			}
			s := f.text
			if t.addSpace && prevSpecial {
				s = " " + s
			}
			out = e.encode(t, strings.ReplaceAll(s, " ", spaceMark), out)
			prevSpecial = false
		}
	} else {
		var e bpeEncoder
		for _, f := range frags {
			if f.token != NoToken {
				out = append(out, f.token)
				continue
			}
			out = e.encode(t, f.text, out)
		}
	}
	if addSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out
}

// Piece returns the bytes token id stands for, with special tokens as their text (llama.cpp's
// token_to_piece with special=true). A piece need not be valid UTF-8 on its own: a byte token
// or a byte-level BPE token can carry part of a character. An id outside the vocabulary has an
// empty piece.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Decode returns the text of ids: the concatenation of their pieces, with special tokens as
// their text, and for a SentencePiece vocabulary with add_space_prefix the leading space of the
// first piece removed. This is llama.cpp's llama_detokenize(remove_special=false,
// unparse_special=true) without its clean_up_tokenization_spaces pass, so that
// Decode(Encode(s, false)) == s for any valid UTF-8 s without special tokens. (A SentencePiece
// vocabulary adds a space after each special token, which Decode keeps: "<s>hi" decodes as
// "<s> hi", as in llama.cpp and Hugging Face.)
func (t *Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		p := t.Piece(id)
		if i == 0 && t.spm && t.addSpace {
			p = strings.TrimPrefix(p, " ")
		}
		b.WriteString(p)
	}
	return b.String()
}

// Len returns the number of tokens in the vocabulary.
func (t *Tokenizer) Len() int { return len(t.tokens) }

// Token returns the vocabulary text of id ("▁Hello", "Ġworld", "<0x0A>"), or "" if id is
// outside the vocabulary.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Lookup returns the id of the token whose vocabulary text is exactly text.
func (t *Tokenizer) Lookup(text string) (int32, bool) {
	id, ok := t.ids[text]
	return id, ok
}

// IsControl reports whether id is a control or unknown token, which renders as nothing in
// generated text unless asked for (see Decoder.Special).
func (t *Tokenizer) IsControl(id int32) bool {
	return id >= 0 && int(id) < len(t.attrs) && t.attrs[id].hidden()
}

// IsEOG reports whether id ends generation: EOS, EOT, EOM, or a token llama.cpp recognises by
// its text ("<|eot_id|>", "<|im_end|>", "<|endoftext|>", "</s>", …).
func (t *Tokenizer) IsEOG(id int32) bool {
	_, ok := slices.BinarySearch(t.eog, id)
	return ok
}

// EOG returns the end-of-generation tokens in ascending order; the caller must not modify it.
func (t *Tokenizer) EOG() []int32 { return t.eog }

// BOS returns the beginning-of-sequence token, or NoToken.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence token, or NoToken.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn token, or NoToken.
func (t *Tokenizer) EOT() int32 { return t.eot }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }
