package tokenizer

// spmEncoder is llama.cpp's llm_tokenizer_spm_session: it holds scratch space reused across
// the text fragments of one Encode call.
type spmEncoder struct {
	syms []symbol
	q    queue
}

// encode appends the tokens of text, whose spaces are already "▁". Starting from one symbol
// per character, it repeatedly merges the adjacent pair whose concatenation is the token with
// the highest score; a final symbol that is not a token is written as its bytes' <0xXX>
// tokens (byte fallback).
func (e *spmEncoder) encode(t *Tokenizer, text string, out []int32) []int32 {
	e.syms = splitSymbols(text, e.syms)
	e.q = queue{items: e.q.items[:0], better: spmBetter}
	syms := e.syms
	try := func(left, right int) {
		if left < 0 || right < 0 {
			return
		}
		l, r := syms[left], syms[right]
		id, ok := t.ids[text[l.start:l.start+l.n+r.n]]
		if !ok {
			return
		}
		e.q.push(bigram{left: left, right: right, ln: l.n, rn: r.n, score: t.scores[id]})
	}
	merge(syms, &e.q, try)
	for i := 0; i >= 0 && i < len(syms); i = syms[i].next {
		s := syms[i]
		piece := text[s.start : s.start+s.n]
		if id, ok := t.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			switch id := t.byteTokens[piece[j]]; {
			case id != NoToken:
				out = append(out, id)
			case t.unk != NoToken:
				// llama.cpp aborts on a vocabulary without byte tokens; fall back to <unk>.
				out = append(out, t.unk)
			}
		}
	}
	return out
}
