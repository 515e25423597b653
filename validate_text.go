package converse

// Small predicates and formatting shared by the validation files.

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// isDocumentName reports whether name uses only what Bedrock accepts:
// ASCII letters and digits, single spaces, hyphens, parentheses and square
// brackets (AWS's DocumentBlock documentation), plus underscores, which
// Bedrock accepts though undocumented (vercel/ai PR #20366,
// generative-ai-use-cases #1671, strands harness-sdk #3019, all checked
// live). Leading and trailing single spaces are accepted, as observed
// (generative-ai-use-cases #1671); tabs and other white space are not.
func isDocumentName(name string) bool {
	prevSpace := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
			continue
		case isAlnum(c), c == '-', c == '(', c == ')', c == '[', c == ']', c == '_':
		default:
			return false
		}
		prevSpace = false
	}
	return true
}

// isJSONPointer reports whether p is an RFC 6901 JSON Pointer: empty, or
// "/"-prefixed reference tokens in which "~" appears only as "~0" or "~1".
func isJSONPointer(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || (p[i+1] != '0' && p[i+1] != '1')) {
			return false
		}
	}
	return true
}

func isJSONNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

func isJSONObject(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '{' && json.Valid(v)
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func hasRole(r *Request, role Role) bool {
	for i := range r.Messages {
		if r.Messages[i].Role == role {
			return true
		}
	}
	return false
}

// inEnum reports whether v is one of set's ", "-separated values.
func inEnum(v, set string) bool {
	for set != "" {
		var item string
		item, set, _ = strings.Cut(set, ", ")
		if item == v {
			return true
		}
	}
	return false
}

func count(members ...bool) int {
	n := 0
	for _, m := range members {
		if m {
			n++
		}
	}
	return n
}

// javaLen is a string's length as the Java validator counts it, in UTF-16
// code units.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// javaFloat formats v as Java's Float.toString does: "99.0", "0.5",
// "1.0E7".
func javaFloat(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	if a != 0 && (a >= 1e7 || a < 1e-3) {
		mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'E', -1, 32), "E")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		e, _ := strconv.Atoi(exp)
		return mant + "E" + strconv.Itoa(e)
	}
	s := strconv.FormatFloat(v, 'f', -1, 32)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return utf8.ValidString(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isToolNameByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// isMetadataByte matches [a-zA-Z0-9\s:_@$#=/+,-.] (Java's \s: space, \t,
// \n, \x0B, \f, \r).
func isMetadataByte(c byte) bool {
	return isAlnum(c) || strings.IndexByte(" \t\n\x0B\f\r:_@$#=/+,-.", c) >= 0
}
