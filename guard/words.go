package guard

import (
	"strings"
	"unicode"
	"unicode/utf8"

	goaway "github.com/TwiN/go-away"
	"golang.org/x/text/unicode/norm"
)

// Word matching. AWS documents word filters only as "exact match" (§4.3);
// case, word boundaries and normalisation are not documented, so the
// engine matches as the spec recommends: case-insensitively, on whole
// tokens or consecutive tokens (phrases), after Unicode NFKC. A token is a
// run of letters, digits and combining marks; everything else (spaces,
// punctuation, hyphens, apostrophes) separates tokens, so "Competitor-X"
// matches the phrase "competitor x" but "competitorx" does not match
// "competitor". The reported match is the text as it appeared.

// token is one word of a text, with its byte span in the original text.
type token struct {
	key        string // NFKC, lower-cased
	start, end int
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// tokenize splits s into tokens.
func tokenize(s string) []token {
	var out []token
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, newToken(s, start, i))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, newToken(s, start, len(s)))
	}
	return out
}

func newToken(s string, start, end int) token {
	w := s[start:end]
	switch {
	case isASCIILower(w):
	case isASCII(w):
		w = strings.ToLower(w) // ASCII is already NFKC
	default:
		// NFKC folds compatibility forms (fullwidth letters, ligatures)
		// before lower-casing, so "ｆｕｃｋ" and "ﬁle" match "fuck" and "file".
		w = strings.ToLower(norm.NFKC.String(w))
	}
	return token{key: w, start: start, end: end}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIILower(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// phrase is one configured word or phrase, as its token keys.
type phrase struct {
	keys []string
	rule int // index into the policy's rule list
}

// phraseSet finds configured phrases in token lists: phrases are indexed by
// their first token, and at each position the longest phrase wins.
type phraseSet map[string][]phrase

func newPhraseSet(texts []string) phraseSet {
	set := phraseSet{}
	for i, t := range texts {
		toks := tokenize(t)
		if len(toks) == 0 {
			continue
		}
		keys := make([]string, len(toks))
		for j, tk := range toks {
			keys[j] = tk.key
		}
		set[keys[0]] = append(set[keys[0]], phrase{keys: keys, rule: i})
	}
	return set
}

// wordHit is one occurrence of a rule's word in a text.
type wordHit struct {
	start, end int
	rule       int
}

// find returns every non-overlapping occurrence in toks, left to right.
func (set phraseSet) find(toks []token) []wordHit {
	var hits []wordHit
	for i := 0; i < len(toks); {
		best := -1
		var rule int
		for _, p := range set[toks[i].key] {
			if len(p.keys) > len(toks)-i || len(p.keys) <= best {
				continue
			}
			if equalKeys(p.keys, toks[i:i+len(p.keys)]) {
				best, rule = len(p.keys), p.rule
			}
		}
		if best < 0 {
			i++
			continue
		}
		hits = append(hits, wordHit{start: toks[i].start, end: toks[i+best-1].end, rule: rule})
		i += best
	}
	return hits
}

func equalKeys(keys []string, toks []token) bool {
	for i, k := range keys {
		if toks[i].key != k {
			return false
		}
	}
	return true
}

// profanity is the managed PROFANITY list. AWS does not publish its list
// (§1.5); ours is github.com/TwiN/go-away's (MIT licence, kept with that
// module): DefaultProfanities and DefaultFalseNegatives. Several entries are
// stems ("masturbat"), so a token also matches an entry followed by a common
// English inflection; tokens starting with one of go-away's
// DefaultFalsePositives ("assassin", "butter", "scrap") never match.
type profanity struct {
	words          map[string]bool
	falsePositives []string
}

// inflections that may follow a profanity stem inside one token.
var inflections = []string{"s", "es", "ed", "er", "ers", "ing", "in", "y", "ies", "e", "ion", "ions", "ty", "ties", "head", "heads", "hole", "holes"}

func newProfanity() *profanity {
	p := &profanity{words: map[string]bool{}}
	for _, w := range goaway.DefaultProfanities {
		p.words[w] = true
	}
	for _, w := range goaway.DefaultFalseNegatives {
		p.words[w] = true
	}
	p.falsePositives = append(p.falsePositives, goaway.DefaultFalsePositives...)
	return p
}

// match reports whether one token is profane.
func (p *profanity) match(key string) bool {
	if !p.listed(key) {
		return false
	}
	for _, fp := range p.falsePositives {
		if strings.HasPrefix(key, fp) {
			return false
		}
	}
	return true
}

// listed reports whether key is a listed word or stem, possibly inflected.
func (p *profanity) listed(key string) bool {
	if p.words[key] {
		return true
	}
	for _, suf := range inflections {
		if stem, ok := strings.CutSuffix(key, suf); ok && p.words[stem] {
			return true
		}
	}
	// A doubled final consonant before the inflection: "shitty", "fagged".
	for _, suf := range []string{"ty", "ed", "er", "ers", "ing", "y", "ies"} {
		if stem, ok := strings.CutSuffix(key, suf); ok && len(stem) > 1 && stem[len(stem)-1] == stem[len(stem)-2] && p.words[stem[:len(stem)-1]] {
			return true
		}
	}
	return false
}

// find returns the profane tokens of toks.
func (p *profanity) find(toks []token) []wordHit {
	var hits []wordHit
	for _, t := range toks {
		if p.match(t.key) {
			hits = append(hits, wordHit{start: t.start, end: t.end})
		}
	}
	return hits
}
