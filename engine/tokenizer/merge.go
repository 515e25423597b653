package tokenizer

// symbol is one piece of a word being merged: the bytes [start, start+n) of the word, linked
// to its neighbours (llama.cpp's llm_symbol). A symbol merged into its left neighbour has n 0.
type symbol struct {
	start, n   int
	prev, next int
}

// bigram is a candidate merge of two adjacent symbols. Both tokenizers pop the best candidate
// first: SentencePiece by highest score, byte-level BPE by lowest rank, ties going to the
// leftmost pair (llm_bigram_spm::comparator, llm_bigram_bpe::comparator).
type bigram struct {
	left, right int
	ln, rn      int // lengths of both symbols when the candidate was made; stale if they changed
	score       float32
	rank        int32
}

// queue is a binary heap of bigrams ordered by better.
type queue struct {
	items  []bigram
	better func(a, b *bigram) bool
}

func (q *queue) push(b bigram) {
	q.items = append(q.items, b)
	i := len(q.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.better(&q.items[i], &q.items[p]) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

func (q *queue) pop() bigram {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items = q.items[:last]
	for i := 0; ; {
		l, r, best := 2*i+1, 2*i+2, i
		if l < last && q.better(&q.items[l], &q.items[best]) {
			best = l
		}
		if r < last && q.better(&q.items[r], &q.items[best]) {
			best = r
		}
		if best == i {
			break
		}
		q.items[i], q.items[best] = q.items[best], q.items[i]
		i = best
	}
	return top
}

func spmBetter(a, b *bigram) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

func bpeBetter(a, b *bigram) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

// splitSymbols splits word into one symbol per UTF-8 character, sizing each by its lead byte
// alone as llama.cpp's unicode_len_utf8 does (so invalid UTF-8 never panics).
func splitSymbols(word string, syms []symbol) []symbol {
	syms = syms[:0]
	for off := 0; off < len(word); {
		n := min(utf8Len(word[off]), len(word)-off)
		next := len(syms) + 1
		if off+n == len(word) {
			next = -1
		}
		syms = append(syms, symbol{start: off, n: n, prev: len(syms) - 1, next: next})
		off += n
	}
	return syms
}

func utf8Len(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// merge runs the merge loop over syms: while a candidate is left, pop the best one, skip it
// if either symbol changed since, else merge the right symbol into the left and offer the
// new neighbours via try.
func merge(syms []symbol, q *queue, try func(left, right int)) {
	for i := 1; i < len(syms); i++ {
		try(i-1, i)
	}
	for len(q.items) > 0 {
		b := q.pop()
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n != b.ln || r.n != b.rn {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		try(l.prev, b.left)
		try(b.left, l.next)
	}
}
