package codec

import (
	"encoding/json"
	"strconv"
	"strings"
)

// ResponseFields picks the members of a native response that the request's
// additionalModelResponseFieldPaths name (JSON Pointers, RFC 6901, such as
// "/stop_sequence") and returns them as the additionalModelResponseFields
// object, keyed by each pointer's last token: Bedrock returns
// {"stop_sequence": …} for "/stop_sequence". A pointer that matches
// nothing is left out, as Bedrock ignores it (wire-protocol.md §3.1;
// converse.Validate already rejected malformed pointers). No paths, or no
// match, give nil.
func ResponseFields(body []byte, paths []string) json.RawMessage {
	if len(paths) == 0 {
		return nil
	}
	var root any
	if json.Unmarshal(body, &root) != nil {
		return nil
	}
	out := map[string]any{}
	for _, p := range paths {
		v, ok := lookup(root, p)
		if !ok {
			continue
		}
		name := p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			name = unescapeToken(p[i+1:])
		}
		out[name] = v
	}
	if len(out) == 0 {
		return nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return b
}

// lookup resolves a JSON Pointer in a decoded JSON value.
func lookup(v any, pointer string) (any, bool) {
	if pointer == "" {
		return v, true
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = unescapeToken(tok)
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) || (len(tok) > 1 && tok[0] == '0') {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func unescapeToken(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
}
