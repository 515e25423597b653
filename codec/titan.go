package codec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// Titan is the Family of Amazon Titan Text Lite, Express and Premier
// (model-families.md §4.3): the conversation is rendered into inputText in
// AWS's "User: …\nBot:" form (§6 row 2). Titan has no system prompt: one
// is rejected, as Bedrock rejects it, rather than dressed up as a user turn
// the way LiteLLM does. The zero value is ready to use.
type Titan struct{}

var _ Family = Titan{}

// Prompt renders req one line-block per turn, "User: {text}" and
// "Bot: {text}" joined with "\n", ending with "\nBot:" and nothing after
// it (model-families.md §4.3):
//
//	User: Capital of France?
//	Bot: Paris.
//	User: And Italy?
//	Bot:
//
// Contents are trimmed. A final assistant turn is a prefill: "Bot: {text}"
// ends the prompt. System prompts and system messages are rejected with
// Bedrock's message.
func (Titan) Prompt(req *converse.Request) (string, error) {
	system, turns, err := promptConversation(req)
	if err != nil {
		return "", err
	}
	if system != "" || len(req.System) > 0 {
		return "", converse.Errorf(converse.KindValidation, msgPromptNoSystem)
	}
	var b strings.Builder
	prefill := false
	for i, t := range turns {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch t.role {
		case converse.RoleUser:
			b.WriteString("User: " + strings.TrimSpace(t.text))
		case converse.RoleAssistant:
			b.WriteString("Bot: " + strings.TrimSpace(t.text))
			prefill = i == len(turns)-1
		default:
			return "", converse.Errorf(converse.KindValidation, msgPromptNoSystem)
		}
	}
	if !prefill {
		b.WriteString("\nBot:")
	}
	return b.String(), nil
}

// titanRequest is the native body (model-families.md §4.3).
type titanRequest struct {
	InputText            string       `json:"inputText"`
	TextGenerationConfig *titanConfig `json:"textGenerationConfig,omitempty"`
}

type titanConfig struct {
	MaxTokenCount *int     `json:"maxTokenCount,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// Request builds {inputText, textGenerationConfig{maxTokenCount,
// temperature, topP, stopSequences}}, leaving textGenerationConfig out
// when no parameter is set (as Spring AI does). additionalModelRequestFields
// is merged at the top level: a textGenerationConfig there replaces ours
// whole.
func (t Titan) Request(req *converse.Request) ([]byte, error) {
	prompt, err := t.Prompt(req)
	if err != nil {
		return nil, err
	}
	p := promptInference(req)
	out := titanRequest{InputText: prompt}
	if p.maxTokens != nil || p.temperature != nil || p.topP != nil || len(p.stop) > 0 {
		out.TextGenerationConfig = &titanConfig{MaxTokenCount: p.maxTokens, Temperature: p.temperature, TopP: p.topP, StopSequences: p.stop}
	}
	return promptBody(req, out, "titan")
}

// titanReply is a native answer (model-families.md §4.3).
type titanReply struct {
	InputTextTokenCount *int `json:"inputTextTokenCount"`
	Results             []struct {
		TokenCount       *int    `json:"tokenCount"`
		OutputText       *string `json:"outputText"`
		CompletionReason *string `json:"completionReason"`
	} `json:"results"`
}

// titanChunk is a native stream chunk (model-families.md §4.3).
type titanChunk struct {
	OutputText                *string `json:"outputText"`
	TotalOutputTextTokenCount *int    `json:"totalOutputTextTokenCount"`
	CompletionReason          *string `json:"completionReason"`
	InputTextTokenCount       *int    `json:"inputTextTokenCount"`
}

// titanStopReason maps completionReason (model-families.md §4.12): FINISH
// and FINISHED (§6 row 1: AWS documents one, clients see the other) and
// RAG_QUERY_WHEN_RAG_DISABLED → end_turn, LENGTH → max_tokens,
// STOP_CRITERIA_MET → stop_sequence, CONTENT_FILTERED → content_filtered.
// A missing reason is end_turn; other values pass through.
func titanStopReason(r *string) converse.StopReason {
	if r == nil {
		return converse.StopEndTurn
	}
	switch *r {
	case "", "FINISH", "FINISHED", "RAG_QUERY_WHEN_RAG_DISABLED":
		return converse.StopEndTurn
	case "LENGTH":
		return converse.StopMaxTokens
	case "STOP_CRITERIA_MET":
		return converse.StopStopSequence
	case "CONTENT_FILTERED":
		return converse.StopContentFiltered
	}
	return converse.StopReason(*r)
}

// Response reads results[0]: outputText is the text, completionReason the
// stop reason (titanStopReason); usage from inputTextTokenCount and
// results[0].tokenCount. A body without results is a ModelErrorException.
func (Titan) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	var r titanReply
	if err := json.Unmarshal(body, &r); err != nil || len(r.Results) == 0 || r.Results[0].OutputText == nil {
		return nil, promptMalformed()
	}
	res := r.Results[0]
	in, out := 0, 0
	if r.InputTextTokenCount != nil {
		in = *r.InputTextTokenCount
	}
	if res.TokenCount != nil {
		out = *res.TokenCount
	}
	return promptResponse(req, body, *res.OutputText, titanStopReason(res.CompletionReason), promptUsage(in, out)), nil
}

// NewStream decodes chunks {outputText, index, totalOutputTextTokenCount,
// completionReason, inputTextTokenCount}: completionReason is null until
// the last chunk; usage from the invocation metrics, else from
// inputTextTokenCount and the running totalOutputTextTokenCount.
func (Titan) NewStream(req *converse.Request) ChunkDecoder {
	return newPromptStream(req, nil, titanStreamChunk)
}

func titanStreamChunk(chunk []byte) (promptChunk, error) {
	var r titanChunk
	if err := json.Unmarshal(chunk, &r); err != nil {
		return promptChunk{}, fmt.Errorf("codec: titan chunk: %w", err)
	}
	c := promptChunk{input: r.InputTextTokenCount, output: r.TotalOutputTextTokenCount}
	if r.OutputText != nil {
		c.text = *r.OutputText
	}
	if r.CompletionReason != nil {
		c.finished, c.reason = true, titanStopReason(r.CompletionReason)
	}
	return c, nil
}
