package textgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/converse-project/converse/transport"
)

// Dialect is a prompt family's native Bedrock body shape: what a generator
// reads, and answers in (model-families.md §4).
type Dialect int

const (
	// Llama reads {prompt, max_gen_len, temperature, top_p} and answers
	// {generation, prompt_token_count, generation_token_count,
	// stop_reason} (§4.8; every Llama generation).
	Llama Dialect = iota
	// Mistral reads {prompt, max_tokens, temperature, top_p, top_k, stop}
	// and answers {outputs:[{text, stop_reason}]} (§4.10).
	Mistral
	// Titan reads {inputText, textGenerationConfig{maxTokenCount,
	// temperature, topP, stopSequences}} and answers {inputTextTokenCount,
	// results:[{tokenCount, outputText, completionReason}]} (§4.3).
	Titan
)

func (d Dialect) String() string {
	switch d {
	case Llama:
		return "llama"
	case Mistral:
		return "mistral"
	case Titan:
		return "titan"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// DefaultMaxTokens is the number of tokens generated when the native body
// sets no limit: Bedrock's default for every model of the three families
// (max_gen_len, max_tokens and maxTokenCount all default to 512,
// model-families.md §4.3, §4.8, §4.10). It is always sent, because
// OpenAI's /v1/completions would otherwise stop after 16 tokens.
const DefaultMaxTokens = 512

// Params is a native body in neutral terms.
type Params struct {
	Prompt      string
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	TopK        *int
	Stop        []string
}

// Native bodies, decoded strictly: Bedrock rejects members a model does
// not know.
type (
	llamaBody struct {
		Prompt      *string  `json:"prompt"`
		MaxGenLen   *int     `json:"max_gen_len"`
		Temperature *float64 `json:"temperature"`
		TopP        *float64 `json:"top_p"`
		Images      []string `json:"images"` // Llama 3.2 vision: a text-completion server cannot take them
	}
	mistralBody struct {
		Prompt      *string  `json:"prompt"`
		MaxTokens   *int     `json:"max_tokens"`
		Temperature *float64 `json:"temperature"`
		TopP        *float64 `json:"top_p"`
		TopK        *int     `json:"top_k"`
		Stop        []string `json:"stop"`
	}
	titanBody struct {
		InputText            *string `json:"inputText"`
		TextGenerationConfig *struct {
			MaxTokenCount *int     `json:"maxTokenCount"`
			Temperature   *float64 `json:"temperature"`
			TopP          *float64 `json:"topP"`
			StopSequences []string `json:"stopSequences"`
		} `json:"textGenerationConfig"`
	}
)

// malformed is the refusal of a native body, worded as Bedrock's
// ValidationException for InvokeModel ("Malformed input request: …").
func malformed(format string, args ...any) error {
	msg := "Malformed input request: " + fmt.Sprintf(format, args...) + ", please reformat your input and try again."
	body, _ := json.Marshal(map[string]string{"message": msg})
	return &transport.StatusError{StatusCode: http.StatusBadRequest, Body: body, Message: msg}
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return malformed("the body is not valid JSON")
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return malformed("#: extraneous key [%s] is not permitted", strings.Trim(name, `"`))
		}
		return malformed("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return malformed("the body holds more than one JSON value")
	}
	return nil
}

// Parse reads a native body. A body Bedrock would refuse is a
// *transport.StatusError with status 400.
func (d Dialect) Parse(body []byte) (Params, error) {
	p := Params{MaxTokens: DefaultMaxTokens}
	switch d {
	case Llama:
		var b llamaBody
		if err := decodeStrict(body, &b); err != nil {
			return p, err
		}
		if b.Prompt == nil {
			return p, malformed("#: required key [prompt] not found")
		}
		if len(b.Images) > 0 {
			return p, malformed("#: images are not supported by this model endpoint")
		}
		p.Prompt, p.Temperature, p.TopP = *b.Prompt, b.Temperature, b.TopP
		if b.MaxGenLen != nil {
			p.MaxTokens = *b.MaxGenLen
		}
	case Mistral:
		var b mistralBody
		if err := decodeStrict(body, &b); err != nil {
			return p, err
		}
		if b.Prompt == nil {
			return p, malformed("#: required key [prompt] not found")
		}
		p.Prompt, p.Temperature, p.TopP, p.TopK, p.Stop = *b.Prompt, b.Temperature, b.TopP, b.TopK, b.Stop
		if b.MaxTokens != nil {
			p.MaxTokens = *b.MaxTokens
		}
	case Titan:
		var b titanBody
		if err := decodeStrict(body, &b); err != nil {
			return p, err
		}
		if b.InputText == nil {
			return p, malformed("#: required key [inputText] not found")
		}
		p.Prompt = *b.InputText
		if c := b.TextGenerationConfig; c != nil {
			p.Temperature, p.TopP, p.Stop = c.Temperature, c.TopP, c.StopSequences
			if c.MaxTokenCount != nil {
				p.MaxTokens = *c.MaxTokenCount
			}
		}
	default:
		return p, fmt.Errorf("textgen: unknown dialect %v", d)
	}
	if p.MaxTokens < 1 {
		return p, malformed("#: the maximum number of tokens must be at least 1")
	}
	return p, nil
}

// Result is one generation as the upstream reported it.
type Result struct {
	Text   string
	Finish string // the generator's finish reason: "stop", "length", "content_filter", …
	// StopString is set when the generator names the stop string that
	// ended generation (vLLM's stop_reason).
	StopString bool
	// Input and Output are the token counts; -1 when unknown.
	Input, Output int
}

// Metrics is Bedrock's "amazon-bedrock-invocationMetrics".
type Metrics struct {
	InputTokenCount   int   `json:"inputTokenCount"`
	OutputTokenCount  int   `json:"outputTokenCount"`
	InvocationLatency int64 `json:"invocationLatency"`
	FirstByteLatency  int64 `json:"firstByteLatency"`
}

// reason is the native stop reason for an upstream finish: "length" is the
// token limit and "content_filter" a filtered answer; anything else
// ("stop", "eos", Ollama's "unload") is a normal end.
func (d Dialect) reason(r Result) string {
	switch {
	case d == Titan && r.Finish == "length":
		return "LENGTH"
	case d == Titan && r.Finish == "content_filter":
		return "CONTENT_FILTERED"
	case d == Titan && r.StopString:
		return "STOP_CRITERIA_MET"
	case d == Titan:
		return "FINISH" // the spelling clients see (model-families.md §6 row 1)
	case r.Finish == "length":
		return "length"
	}
	return "stop"
}

// count is a token count for a native body: null when unknown.
func count(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

// Response is the native InvokeModel answer for r.
func (d Dialect) Response(r Result) ([]byte, error) {
	var v any
	switch d {
	case Llama:
		v = map[string]any{"generation": r.Text, "prompt_token_count": count(r.Input), "generation_token_count": count(r.Output), "stop_reason": d.reason(r)}
	case Mistral:
		v = map[string]any{"outputs": []any{map[string]any{"text": r.Text, "stop_reason": d.reason(r)}}}
	case Titan:
		v = map[string]any{"inputTextTokenCount": count(r.Input), "results": []any{map[string]any{"tokenCount": count(r.Output), "outputText": r.Text, "completionReason": d.reason(r)}}}
	}
	return marshal(v)
}

// Chunk is one native stream chunk: text with the running output count;
// final, when set, makes it the last chunk, with the stop reason and the
// invocation Metrics.
func (d Dialect) Chunk(text string, output int, final *Result, m *Metrics) ([]byte, error) {
	var reason, input any // null until the last chunk
	if final != nil {
		reason, input = d.reason(*final), count(final.Input)
	}
	var v map[string]any
	switch d {
	case Llama:
		// prompt_token_count belongs on the first chunk, but the servers
		// report it only at the end: it comes on the last chunk, which the
		// codec reads as well.
		v = map[string]any{"generation": text, "prompt_token_count": input, "generation_token_count": output, "stop_reason": reason}
	case Mistral:
		v = map[string]any{"outputs": []any{map[string]any{"text": text, "stop_reason": reason}}}
	case Titan:
		v = map[string]any{"outputText": text, "index": 0, "totalOutputTextTokenCount": output, "completionReason": reason, "inputTextTokenCount": input}
	}
	if m != nil {
		v["amazon-bedrock-invocationMetrics"] = m
	}
	return marshal(v)
}

// marshal is json.Marshal without HTML escaping: prompts hold "<s>" and
// "<|eot_id|>", which should stay readable on the wire.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("textgen: encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
