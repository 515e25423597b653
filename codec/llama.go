package codec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// Llama2 is the Family of Meta Llama 2 Chat (model-families.md §4.8): the
// conversation is rendered into the native prompt with Meta's reference
// template (§6 row 3). The zero value is ready to use.
//
// Llama's native body has no stop-sequence field, so Request does not send
// stopSequences: Response and the stream decoder cut the generated text at
// the first stop sequence instead and report stop_sequence (a stream holds
// back any tail that could begin one, so no part of a stop sequence is
// ever sent). The model keeps generating upstream until its own end;
// those tokens still count in the usage.
type Llama2 struct{}

// Llama3 is the Family of Meta Llama 3, 3.1 and 3.2 Instruct
// (model-families.md §4.9), rendered with Meta's canonical template (§6
// row 4). The zero value renders Llama 3.0's template, which Bedrock
// parity testing wants (§6 row 5). Stop sequences are handled as for
// Llama2.
type Llama3 struct {
	// KnowledgeCutoff renders Llama 3.1's system header as Hugging Face's
	// 3.1 template does: a system turn is always sent, starting with
	// "Cutting Knowledge Date: December 2023\nToday Date: <Today>\n\n".
	KnowledgeCutoff bool
	// Today is the date on the "Today Date" line, as "26 Jul 2024" (the
	// HF template's default, used when Today is ""). Codecs read no clock:
	// whoever builds the Llama3 value chooses the date.
	Today string
}

var (
	_ Family = Llama2{}
	_ Family = Llama3{}
)

// Meta's special tokens, written as text (model-families.md §4.8-§4.9).
const (
	llama3BOT        = "<|begin_of_text|>"
	llama3EOT        = "<|eot_id|>"
	llama3HeaderOpen = "<|start_header_id|>"
	llama3HeaderEnd  = "<|end_header_id|>\n\n"
	llama3Today      = "26 Jul 2024"
)

// Prompt renders req with Meta's reference Llama 2 template
// (model-families.md §4.8): the system text is folded into the first user
// turn as "<<SYS>>\n{system}\n<</SYS>>\n\n{user}"; each completed exchange
// is "<s>[INST] {user} [/INST] {assistant} </s>"; the pending user turn is
// "<s>[INST] {user} [/INST]" with nothing after it. Turn contents are
// trimmed, as Meta's code strips them. A mid-conversation system message
// is folded the same way into the next user turn (it fails when no user
// turn follows); a final assistant turn is a prefill, left open after its
// text.
func (Llama2) Prompt(req *converse.Request) (string, error) {
	system, turns, err := promptConversation(req)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	sys, sysAt := system, -1
	for i, t := range turns {
		switch t.role {
		case converse.RoleSystem:
			if sys != "" {
				sys += "\n"
			}
			sys, sysAt = sys+t.text, i
		case converse.RoleUser:
			content := t.text
			if sys != "" {
				content = "<<SYS>>\n" + sys + "\n<</SYS>>\n\n" + content
				sys, sysAt = "", -1
			}
			b.WriteString(promptBOS + "[INST] " + strings.TrimSpace(content) + " [/INST]")
		case converse.RoleAssistant:
			b.WriteString(" " + strings.TrimSpace(t.text))
			if i < len(turns)-1 {
				b.WriteString(" " + promptEOS)
			}
		}
	}
	if sysAt >= 0 {
		return "", converse.Errorf(converse.KindValidation, "The system message at messages.%d must be followed by a user message for this model.", sysAt)
	}
	return b.String(), nil
}

// Prompt renders req with Meta's canonical Llama 3 template
// (model-families.md §4.9): "<|begin_of_text|>", then per message
// "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>" with
// the content trimmed (the system prompt first, mid-conversation system
// messages in place), and finally an open assistant header
// "<|start_header_id|>assistant<|end_header_id|>\n\n". A final assistant
// turn is a prefill: it is left open, without "<|eot_id|>", and no new
// header follows.
func (l Llama3) Prompt(req *converse.Request) (string, error) {
	system, turns, err := promptConversation(req)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(llama3BOT)
	switch {
	case l.KnowledgeCutoff:
		today := l.Today
		if today == "" {
			today = llama3Today
		}
		b.WriteString(llama3HeaderOpen + "system" + llama3HeaderEnd +
			"Cutting Knowledge Date: December 2023\nToday Date: " + today + "\n\n" +
			strings.TrimSpace(system) + llama3EOT)
	case system != "":
		b.WriteString(llama3HeaderOpen + "system" + llama3HeaderEnd + strings.TrimSpace(system) + llama3EOT)
	}
	prefill := false
	for i, t := range turns {
		b.WriteString(llama3HeaderOpen + string(t.role) + llama3HeaderEnd + strings.TrimSpace(t.text))
		if prefill = t.role == converse.RoleAssistant && i == len(turns)-1; !prefill {
			b.WriteString(llama3EOT)
		}
	}
	if !prefill {
		b.WriteString(llama3HeaderOpen + "assistant" + llama3HeaderEnd)
	}
	return b.String(), nil
}

// llamaRequest is the native body shared by every Llama generation on
// Bedrock (model-families.md §4.8).
type llamaRequest struct {
	Prompt      string   `json:"prompt"`
	MaxGenLen   *int     `json:"max_gen_len,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
}

// llamaBody is the native body for a rendered prompt: maxTokens →
// max_gen_len, temperature, topP → top_p; stopSequences stay with the
// codec (there is no native field); additionalModelRequestFields merged.
func llamaBody(req *converse.Request, prompt string) ([]byte, error) {
	p := promptInference(req)
	return promptBody(req, llamaRequest{Prompt: prompt, MaxGenLen: p.maxTokens, Temperature: p.temperature, TopP: p.topP}, "llama")
}

// Request builds the native body: {prompt, max_gen_len, temperature,
// top_p} with the prompt rendered by Prompt.
func (l Llama2) Request(req *converse.Request) ([]byte, error) {
	prompt, err := l.Prompt(req)
	if err != nil {
		return nil, err
	}
	return llamaBody(req, prompt)
}

// Request builds the native body: {prompt, max_gen_len, temperature,
// top_p} with the prompt rendered by Prompt.
func (l Llama3) Request(req *converse.Request) ([]byte, error) {
	prompt, err := l.Prompt(req)
	if err != nil {
		return nil, err
	}
	return llamaBody(req, prompt)
}

// Response reads {generation, prompt_token_count, generation_token_count,
// stop_reason}; see llamaResponse.
func (Llama2) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	return llamaResponse(req, body)
}

// Response reads {generation, prompt_token_count, generation_token_count,
// stop_reason}; see llamaResponse.
func (Llama3) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	return llamaResponse(req, body)
}

// NewStream decodes Llama stream chunks; see llamaChunk.
func (Llama2) NewStream(req *converse.Request) ChunkDecoder {
	return newPromptStream(req, llamaStops(req), llamaChunk)
}

// NewStream decodes Llama stream chunks; see llamaChunk.
func (Llama3) NewStream(req *converse.Request) ChunkDecoder {
	return newPromptStream(req, llamaStops(req), llamaChunk)
}

func llamaStops(req *converse.Request) []string {
	if req.InferenceConfig == nil {
		return nil
	}
	return req.InferenceConfig.StopSequences
}

// llamaReply is a native Llama answer, or one stream chunk
// (model-families.md §4.8): every member may be null in a chunk.
type llamaReply struct {
	Generation           *string `json:"generation"`
	PromptTokenCount     *int    `json:"prompt_token_count"`
	GenerationTokenCount *int    `json:"generation_token_count"`
	StopReason           *string `json:"stop_reason"`
}

// llamaResponse reads a native Llama answer: generation is the text, cut
// at the first of the request's stop sequences (the stop reason is then
// stop_sequence); usage from prompt_token_count and
// generation_token_count. A body without generation is a
// ModelErrorException.
func llamaResponse(req *converse.Request, body []byte) (*converse.Response, error) {
	var r llamaReply
	if err := json.Unmarshal(body, &r); err != nil || r.Generation == nil {
		return nil, promptMalformed()
	}
	text, reason := *r.Generation, promptStopReason(r.StopReason)
	if i := promptStop(text, llamaStops(req)); i >= 0 {
		text, reason = text[:i], converse.StopStopSequence
	}
	in, out := 0, 0
	if r.PromptTokenCount != nil {
		in = *r.PromptTokenCount
	}
	if r.GenerationTokenCount != nil {
		out = *r.GenerationTokenCount
	}
	return promptResponse(req, body, text, reason, promptUsage(in, out)), nil
}

// llamaChunk reads one Llama stream chunk: prompt_token_count is set on
// the first chunk only, generation_token_count is a running total,
// stop_reason is null until the last chunk (model-families.md §4.8).
func llamaChunk(chunk []byte) (promptChunk, error) {
	var r llamaReply
	if err := json.Unmarshal(chunk, &r); err != nil {
		return promptChunk{}, fmt.Errorf("codec: llama chunk: %w", err)
	}
	c := promptChunk{input: r.PromptTokenCount, output: r.GenerationTokenCount}
	if r.Generation != nil {
		c.text = *r.Generation
	}
	if r.StopReason != nil {
		c.finished, c.reason = true, promptStopReason(r.StopReason)
	}
	return c, nil
}
