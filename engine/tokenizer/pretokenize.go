package tokenizer

import (
	"strings"
	"unicode"
)

// A splitter refines a split of cpts: segs holds the length, in code points, of each segment
// in order, and the result splits every segment further. It mirrors one regex of llama.cpp's
// unicode_regex_split: text a regex does not match stays a segment of its own.
type splitter func(cpts []rune, segs []int) []int

// preTokenizer is what llama.cpp derives from tokenizer.ggml.pre (llm_tokenizer_bpe and
// llama_vocab::impl::load).
type preTokenizer struct {
	split        []splitter
	ignoreMerges bool // a whole word that is a token is emitted as is
	addBOS       bool // llama.cpp's default for tokenizer.ggml.add_bos_token
}

// llama3 is Llama 3's pre-tokenizer:
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func llama3(cpts []rune, segs []int) []int { return splitLlama3(cpts, segs, 3) }

// qwen2 is Llama 3's regex with single digits (\p{N} instead of \p{N}{1,3}).
func qwen2(cpts []rune, segs []int) []int { return splitLlama3(cpts, segs, 1) }

// preTokenizers maps each supported tokenizer.ggml.pre value to llama.cpp's regexes for it.
var preTokenizers = func() map[string]preTokenizer {
	m := map[string]preTokenizer{}
	add := func(p preTokenizer, names ...string) {
		for _, n := range names {
			m[n] = p
		}
	}
	add(preTokenizer{split: []splitter{llama3}, ignoreMerges: true, addBOS: true},
		"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2")
	add(preTokenizer{split: []splitter{llama3}}, "dbrx", "smaug-bpe")
	add(preTokenizer{split: []splitter{qwen2}}, "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2", "hunyuan")
	add(preTokenizer{split: []splitter{splitGPT2}},
		"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
		"mellum", "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4",
		"jina-v1-en", "jina-v2-code", "roberta-bpe")
	// "\p{N}" first: every digit is a word of its own.
	add(preTokenizer{split: []splitter{splitEachNumber, splitGPT2}},
		"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2")
	// llama.cpp's fallback: [\p{P}\$\+<=>\^~\|]+, GPT-2's regex, \p{N}+, [0-9][0-9][0-9].
	add(preTokenizer{split: []splitter{splitPunctRuns, splitGPT2, splitNumberRuns, splitDigitTriples}},
		"default", "")
	return m
}()

// Code point classes as llama.cpp's unicode_cpt_flags reports them. llama.cpp's whitespace set
// is Unicode's White_Space property, which is what unicode.IsSpace tests.
const (
	clLetter uint8 = 1 << iota
	clNumber
	clSpace
	clDefined // the code point is assigned (llama.cpp's flags.as_uint() != 0)
)

var asciiClass = func() (t [128]uint8) {
	for r := range rune(128) {
		t[r] = classOfSlow(r)
	}
	return t
}()

func classOfSlow(r rune) uint8 {
	var c uint8
	if unicode.IsLetter(r) {
		c |= clLetter
	}
	if unicode.IsNumber(r) {
		c |= clNumber
	}
	if unicode.IsSpace(r) {
		c |= clSpace
	}
	if unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C) {
		c |= clDefined
	}
	return c
}

func classOf(r rune) uint8 {
	if r >= 0 && r < 128 {
		return asciiClass[r]
	}
	return classOfSlow(r)
}

// outOfRange stands for a position outside the segment, which no class matches.
const outOfRange rune = -1

// segment is one segment being split: the code points in [ini, end) of cpts, with the
// boundary behaviour of llama.cpp's _get_cpt/_get_flags/_add_token lambdas.
type segment struct {
	cpts     []rune
	ini, end int
	prev     int
	out      []int
}

func (s *segment) cpt(p int) rune {
	if p >= s.ini && p < s.end {
		return s.cpts[p]
	}
	return outOfRange
}

func (s *segment) class(p int) uint8 {
	if p >= s.ini && p < s.end {
		return classOf(s.cpts[p])
	}
	return 0
}

// add closes the current word at end and returns its length.
func (s *segment) add(end int) int {
	n := end - s.prev
	if n > 0 {
		s.out = append(s.out, n)
	}
	s.prev = end
	return n
}

// contraction returns the length (2 or 3) of 's, 't, 're, 've, 'm, 'll or 'd at pos, or 0.
func (s *segment) contraction(pos int, fold bool) int {
	if s.cpts[pos] != '\'' || pos+1 >= s.end {
		return 0
	}
	lower := func(r rune) rune {
		if fold {
			return unicode.ToLower(r)
		}
		return r
	}
	next := lower(s.cpt(pos + 1))
	if next == 's' || next == 't' || next == 'm' || next == 'd' {
		return 2
	}
	if pos+2 < s.end {
		nn := lower(s.cpt(pos + 2))
		if (next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l') {
			return 3
		}
	}
	return 0
}

// whitespace handles the regex tail \s*[\r\n]+|\s+(?!\S)|\s+ (withNewlines) or \s+(?!\S)|\s+,
// then "no match": one code point alone. It returns the new position.
func (s *segment) whitespace(pos int, withNewlines bool) int {
	n, lastNewline := 0, 0
	for s.class(pos+n)&clSpace != 0 {
		if c := s.cpt(pos + n); withNewlines && (c == '\r' || c == '\n') {
			lastNewline = pos + n + 1
		}
		n++
	}
	switch {
	case lastNewline > 0: // \s*[\r\n]+
		pos = lastNewline
	case n > 1 && s.cpt(pos+n) != outOfRange: // \s+(?!\S): leave the last space to the next word
		pos += n - 1
	case n > 0: // \s+
		pos += n
	default: // no match
		pos++
	}
	s.add(pos)
	return pos
}

// splitLlama3 ports unicode_regex_split_custom_llama3, with the digit group length as a
// parameter so that Qwen2's \p{N} shares it.
func splitLlama3(cpts []rune, segs []int, maxDigits int) []int {
	s := segment{cpts: cpts, out: make([]int, 0, len(segs)*4)}
	for _, n := range segs {
		s.ini, s.end, s.prev = s.end, s.end+n, s.end
		for pos := s.ini; pos < s.end; {
			c := s.cpts[pos]
			cl := classOf(c)
			// (?i:'s|'t|'re|'ve|'m|'ll|'d)
			if k := s.contraction(pos, true); k > 0 {
				pos += s.add(pos + k)
				continue
			}
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if c != '\r' && c != '\n' && cl&clNumber == 0 && (cl&clLetter != 0 || s.class(pos+1)&clLetter != 0) {
				pos++
				for s.class(pos)&clLetter != 0 {
					pos++
				}
				s.add(pos)
				continue
			}
			// \p{N}{1,3}
			if cl&clNumber != 0 {
				start := pos
				for s.class(pos)&clNumber != 0 {
					pos++
					if pos-start >= maxDigits {
						s.add(pos)
						start = pos
					}
				}
				s.add(pos)
				continue
			}
			// " ?[^\s\p{L}\p{N}]+[\r\n]*". llama.cpp tests the current code point's flags for
			// "defined" here, not the one after the space; kept for identical splits.
			cl2 := cl
			if c == ' ' {
				cl2 = s.class(pos + 1)
			}
			if cl2&(clSpace|clLetter|clNumber) == 0 && cl&clDefined != 0 {
				if c == ' ' {
					pos++
				}
				for cl2&(clSpace|clLetter|clNumber) == 0 && cl2&clDefined != 0 {
					pos++
					cl2 = s.class(pos)
				}
				for c2 := s.cpt(pos); c2 == '\r' || c2 == '\n'; c2 = s.cpt(pos) {
					pos++
				}
				s.add(pos)
				continue
			}
			pos = s.whitespace(pos, true)
		}
	}
	return s.out
}

// splitGPT2 ports unicode_regex_split_custom_gpt2, GPT-2's pre-tokenizer:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func splitGPT2(cpts []rune, segs []int) []int {
	s := segment{cpts: cpts, out: make([]int, 0, len(segs)*4)}
	for _, n := range segs {
		s.ini, s.end, s.prev = s.end, s.end+n, s.end
		for pos := s.ini; pos < s.end; {
			c := s.cpts[pos]
			if k := s.contraction(pos, false); k > 0 {
				pos += s.add(pos + k)
				continue
			}
			cl2 := classOf(c)
			if c == ' ' {
				cl2 = s.class(pos + 1)
			}
			// " ?\p{L}+", " ?\p{N}+" and " ?[^\s\p{L}\p{N}]+" share one shape: an optional
			// space, then a run of one class.
			var in func(uint8) bool
			switch {
			case cl2&clLetter != 0:
				in = func(c uint8) bool { return c&clLetter != 0 }
			case cl2&clNumber != 0:
				in = func(c uint8) bool { return c&clNumber != 0 }
			case cl2&(clSpace|clLetter|clNumber) == 0 && cl2&clDefined != 0:
				in = func(c uint8) bool { return c&(clSpace|clLetter|clNumber) == 0 && c&clDefined != 0 }
			}
			if in != nil {
				if c == ' ' {
					pos++
				}
				for in(s.class(pos)) {
					pos++
				}
				s.add(pos)
				continue
			}
			pos = s.whitespace(pos, false)
		}
	}
	return s.out
}

// splitRuns splits each segment into maximal runs of code points that are, or are not, in a
// class: a regex "[class]+" under llama.cpp's unicode_regex_split_stl.
func splitRuns(cpts []rune, segs []int, in func(rune) bool) []int {
	out := make([]int, 0, len(segs)*2)
	start := 0
	for _, n := range segs {
		end := start + n
		for i := start; i < end; {
			j := i + 1
			for j < end && in(cpts[j]) == in(cpts[i]) {
				j++
			}
			out = append(out, j-i)
			i = j
		}
		start = end
	}
	return out
}

// splitEachNumber is the regex \p{N}: every number code point is a word of its own; the text
// between them stays whole.
func splitEachNumber(cpts []rune, segs []int) []int {
	out := make([]int, 0, len(segs)*2)
	start := 0
	for _, n := range segs {
		end, gap := start+n, start
		for i := start; i < end; i++ {
			if classOf(cpts[i])&clNumber != 0 {
				if i > gap {
					out = append(out, i-gap)
				}
				out = append(out, 1)
				gap = i + 1
			}
		}
		if end > gap {
			out = append(out, end-gap)
		}
		start = end
	}
	return out
}

// splitNumberRuns is the regex \p{N}+.
func splitNumberRuns(cpts []rune, segs []int) []int {
	return splitRuns(cpts, segs, func(r rune) bool { return classOf(r)&clNumber != 0 })
}

// asciiPunct is what llama.cpp's collapsed form of [\p{P}\$\+<=>\^~\|] matches below U+0080.
const asciiPunct = "!\"#%&'()*,-./:;?@[\\]_{}$+<=>^~|"

// splitPunctRuns is the regex [\p{P}\$\+<=>\^~\|]+ over llama.cpp's collapsed text, where a
// non-ASCII code point counts as \p{P} when it is punctuation and not whitespace.
func splitPunctRuns(cpts []rune, segs []int) []int {
	return splitRuns(cpts, segs, func(r rune) bool {
		if r < 128 {
			return strings.ContainsRune(asciiPunct, r)
		}
		return unicode.IsPunct(r) && !unicode.IsSpace(r)
	})
}

// splitDigitTriples is the regex [0-9][0-9][0-9]: leftmost groups of three ASCII digits.
func splitDigitTriples(cpts []rune, segs []int) []int {
	digit := func(r rune) bool { return r >= '0' && r <= '9' }
	out := make([]int, 0, len(segs))
	start := 0
	for _, n := range segs {
		end, gap := start+n, start
		for i := start; i+3 <= end; {
			if digit(cpts[i]) && digit(cpts[i+1]) && digit(cpts[i+2]) {
				if i > gap {
					out = append(out, i-gap)
				}
				out = append(out, 3)
				i += 3
				gap = i
				continue
			}
			i++
		}
		if end > gap {
			out = append(out, end-gap)
		}
		start = end
	}
	return out
}
