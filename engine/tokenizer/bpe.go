package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// byteRunes is GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for
// U+0100 onwards in byte order, so that every byte has a visible character
// (llama.cpp's unicode_byte_to_utf8_map).
var byteRunes = func() (m [256]rune) {
	n := rune(0)
	for b := range 256 {
		if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = 256 + n
			n++
		}
	}
	return m
}()

// runeBytes inverts byteRunes; every rune it maps lies below U+0144.
var runeBytes = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b, r := range byteRunes {
		m[r] = byte(b)
	}
	return m
}()

// mapBytes appends the GPT-2 characters of s's bytes to dst.
func mapBytes(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = utf8.AppendRune(dst, byteRunes[s[i]])
	}
	return dst
}

// unmapBytes turns GPT-2 characters back into bytes; a character outside the mapping is kept
// as it is (llama.cpp writes an "[UNK_BYTE_…]" marker instead).
func unmapBytes(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if c, ok := runeBytes[r]; ok {
			b.WriteByte(c)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// bpeEncoder is llama.cpp's llm_tokenizer_bpe_session: it holds scratch space reused across
// the words of one Encode call.
type bpeEncoder struct {
	cpts []rune
	word []byte
	key  []byte
	syms []symbol
	q    queue
}

// encode appends the tokens of text: the pre-tokenizer splits it into words, each word's bytes
// become GPT-2 characters, and adjacent pairs merge by lowest rank in tokenizer.ggml.merges.
func (e *bpeEncoder) encode(t *Tokenizer, text string, out []int32) []int32 {
	e.cpts = e.cpts[:0]
	for _, r := range text { // invalid UTF-8 reads as U+FFFD, as unicode_cpts_from_utf8
		e.cpts = append(e.cpts, r)
	}
	segs := []int{len(e.cpts)}
	for _, split := range t.pre.split {
		segs = split(e.cpts, segs)
	}
	start := 0
	var raw []byte
	for _, n := range segs {
		raw = raw[:0]
		for _, r := range e.cpts[start : start+n] {
			raw = utf8.AppendRune(raw, r)
		}
		start += n
		e.word = mapBytes(e.word[:0], string(raw))
		out = e.encodeWord(t, string(e.word), out)
	}
	return out
}

func (e *bpeEncoder) encodeWord(t *Tokenizer, word string, out []int32) []int32 {
	if t.pre.ignoreMerges {
		if id, ok := t.ids[word]; ok {
			return append(out, id)
		}
	}
	e.syms = splitSymbols(word, e.syms)
	e.q = queue{items: e.q.items[:0], better: bpeBetter}
	syms := e.syms
	try := func(left, right int) {
		if left < 0 || right < 0 {
			return
		}
		l, r := syms[left], syms[right]
		e.key = append(append(append(e.key[:0], word[l.start:l.start+l.n]...), ' '), word[r.start:r.start+r.n]...)
		rank, ok := t.ranks[string(e.key)]
		if !ok {
			return
		}
		e.q.push(bigram{left: left, right: right, ln: l.n, rn: r.n, rank: rank})
	}
	merge(syms, &e.q, try)
	for i := 0; i >= 0 && i < len(syms); i = syms[i].next {
		s := syms[i]
		piece := word[s.start : s.start+s.n]
		if id, ok := t.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		// A merge produced a piece missing from the vocabulary: fall back to one token per
		// character, dropping characters that are not tokens either, as llama.cpp does.
		for _, r := range piece {
			if id, ok := t.ids[string(r)]; ok {
				out = append(out, id)
			}
		}
	}
	return out
}
