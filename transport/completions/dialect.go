package completions

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/converse-project/converse/transport/textgen"
)

// Dialect is the native Bedrock body shape a Client reads, and answers in
// (model-families.md §4); see textgen.Dialect.
type Dialect = textgen.Dialect

// The dialects, one per prompt family.
const (
	Llama   = textgen.Llama
	Mistral = textgen.Mistral
	Titan   = textgen.Titan
)

// DefaultMaxTokens is textgen.DefaultMaxTokens: always sent, because
// OpenAI's /v1/completions would otherwise stop after 16 tokens.
const DefaultMaxTokens = textgen.DefaultMaxTokens

// marshal is json.Marshal without HTML escaping: prompts hold "<s>" and
// "<|eot_id|>", which should stay readable on the wire.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("completions: encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
