package codec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// MistralInstruct is the Family of Mistral 7B Instruct and Mixtral 8x7B
// Instruct (model-families.md §4.10): the conversation is rendered into the
// native prompt with the Mistral v1 template in AWS's spacing (§6 row 7).
// The zero value is ready to use.
//
// Bedrock rejects system prompts for these models (converse.Validate does,
// from the catalog). A request that still carries one, for a self-hosted
// model routed with wider features, gets Mistral's v1 reference rendering
// (§6 row 6): the system text prepended to the first user message with a
// blank line.
//
// The native stop field carries stopSequences; the model's answer does not
// say whether it stopped on one (its stop_reason is "stop" either way), so
// such an answer reports end_turn (§4.10).
type MistralInstruct struct{}

var _ Family = MistralInstruct{}

// Prompt renders req as "<s>[INST] {user} [/INST] {assistant}</s> [INST]
// {user} [/INST]" (model-families.md §4.10): one BOS at the very start, a
// space after each "[/INST]" that an answer follows and after each "</s>",
// contents trimmed, nothing after the final "[/INST]". A final assistant
// turn is a prefill, left open after its text. System text (see
// MistralInstruct) goes before the first user turn's text, followed by a
// blank line; a mid-conversation system message goes before the next user
// turn's text the same way (it fails when no user turn follows).
func (MistralInstruct) Prompt(req *converse.Request) (string, error) {
	system, turns, err := promptConversation(req)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(promptBOS)
	sys, sysAt, closed := system, -1, false
	for i, t := range turns {
		switch t.role {
		case converse.RoleSystem:
			if sys != "" {
				sys += "\n"
			}
			sys, sysAt = sys+t.text, i
		case converse.RoleUser:
			content := strings.TrimSpace(t.text)
			if sys != "" {
				content = strings.TrimSpace(sys) + "\n\n" + content
				sys, sysAt = "", -1
			}
			if closed {
				b.WriteString(" ")
			}
			b.WriteString("[INST] " + content + " [/INST]")
			closed = false
		case converse.RoleAssistant:
			b.WriteString(" " + strings.TrimSpace(t.text))
			if i < len(turns)-1 {
				b.WriteString(promptEOS)
				closed = true
			}
		}
	}
	if sysAt >= 0 {
		return "", converse.Errorf(converse.KindValidation, "The system message at messages.%d must be followed by a user message for this model.", sysAt)
	}
	return b.String(), nil
}

// mistralInstRequest is the native text-completion body (model-families.md
// §4.10). top_k has no Converse field: it comes through
// additionalModelRequestFields.
type mistralInstRequest struct {
	Prompt      string   `json:"prompt"`
	MaxTokens   *int     `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	Stop        []string `json:"stop,omitempty"`
}

// Request builds {prompt, max_tokens, temperature, top_p, stop} with the
// prompt rendered by Prompt and additionalModelRequestFields (top_k)
// merged in.
func (m MistralInstruct) Request(req *converse.Request) ([]byte, error) {
	prompt, err := m.Prompt(req)
	if err != nil {
		return nil, err
	}
	p := promptInference(req)
	return promptBody(req, mistralInstRequest{Prompt: prompt, MaxTokens: p.maxTokens, Temperature: p.temperature, TopP: p.topP, Stop: p.stop}, "mistral")
}

// mistralInstReply is a native answer or stream chunk: {"outputs":[{"text",
// "stop_reason"}]}. finish_reason is read too (model-families.md §6 row 14).
type mistralInstReply struct {
	Outputs []struct {
		Text         *string `json:"text"`
		StopReason   *string `json:"stop_reason"`
		FinishReason *string `json:"finish_reason"`
	} `json:"outputs"`
}

func (r *mistralInstReply) reason() *string {
	if len(r.Outputs) == 0 {
		return nil
	}
	if o := r.Outputs[0]; o.StopReason != nil {
		return o.StopReason
	}
	return r.Outputs[0].FinishReason
}

// Response reads outputs[0]: its text, and its stop_reason (or
// finish_reason) mapped stop → end_turn, length → max_tokens. The body has
// no token counts: usage is left zero for the caller to fill from
// Bedrock's headers. A body without outputs is a ModelErrorException.
func (MistralInstruct) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	var r mistralInstReply
	if err := json.Unmarshal(body, &r); err != nil || len(r.Outputs) == 0 || r.Outputs[0].Text == nil {
		return nil, promptMalformed()
	}
	return promptResponse(req, body, *r.Outputs[0].Text, promptStopReason(r.reason()), converse.Usage{}), nil
}

// NewStream decodes chunks {"outputs":[{"text","stop_reason"}]}, the last
// one with the stop reason and the invocation metrics, which are the only
// source of usage.
func (MistralInstruct) NewStream(req *converse.Request) ChunkDecoder {
	return newPromptStream(req, nil, mistralInstChunk)
}

func mistralInstChunk(chunk []byte) (promptChunk, error) {
	var r mistralInstReply
	if err := json.Unmarshal(chunk, &r); err != nil {
		return promptChunk{}, fmt.Errorf("codec: mistral chunk: %w", err)
	}
	var c promptChunk
	if len(r.Outputs) > 0 && r.Outputs[0].Text != nil {
		c.text = *r.Outputs[0].Text
	}
	if reason := r.reason(); reason != nil {
		c.finished, c.reason = true, promptStopReason(reason)
	}
	return c, nil
}
