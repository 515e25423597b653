package completions

import (
	"encoding/json"
	"net/http"

	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/textgen"
)

// The upstream wire shapes: only the members this package writes or reads
// (model-families.md §5.6 for /v1/completions, §5.8 for /api/generate).
type (
	openAIRequest struct {
		Model         string               `json:"model"`
		Prompt        string               `json:"prompt"`
		MaxTokens     int                  `json:"max_tokens"`
		Temperature   *float64             `json:"temperature,omitempty"`
		TopP          *float64             `json:"top_p,omitempty"`
		TopK          *int                 `json:"top_k,omitempty"` // vLLM and llama.cpp take it; only Mistral bodies carry it
		Stop          []string             `json:"stop,omitempty"`
		Stream        bool                 `json:"stream,omitempty"`
		StreamOptions *openAIStreamOptions `json:"stream_options,omitempty"`
	}
	openAIStreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	}
	// openAIReply is a text_completion object: a whole answer or one
	// streamed chunk ("both share the same shape").
	openAIReply struct {
		Choices []openAIChoice `json:"choices"`
		Usage   *openAIUsage   `json:"usage"`
		Error   *openAIError   `json:"error"`
	}
	openAIChoice struct {
		Text         string          `json:"text"`
		FinishReason *string         `json:"finish_reason"`
		StopReason   json.RawMessage `json:"stop_reason"` // vLLM: the matched stop string, or an EOS token id
	}
	openAIUsage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	}
	openAIError struct {
		Message string          `json:"message"`
		Code    json.RawMessage `json:"code"`
	}

	ollamaRequest struct {
		Model   string        `json:"model"`
		Prompt  string        `json:"prompt"`
		Raw     bool          `json:"raw"`
		Stream  bool          `json:"stream"` // always sent: Ollama streams by default
		Options ollamaOptions `json:"options"`
	}
	ollamaOptions struct {
		NumPredict  int      `json:"num_predict"`
		Temperature *float64 `json:"temperature,omitempty"`
		TopP        *float64 `json:"top_p,omitempty"`
		TopK        *int     `json:"top_k,omitempty"`
		Stop        []string `json:"stop,omitempty"`
	}
	ollamaReply struct {
		Response        string `json:"response"`
		Done            bool   `json:"done"`
		DoneReason      string `json:"done_reason"`
		PromptEvalCount *int   `json:"prompt_eval_count"`
		EvalCount       *int   `json:"eval_count"`
		Error           string `json:"error"`
	}
)

// stopString reports whether vLLM named the stop string that ended
// generation (a number is the EOS token: a normal end).
func (c *openAIChoice) stopString() bool {
	var s string
	return json.Unmarshal(c.StopReason, &s) == nil && s != ""
}

// statusError is the error for an error object sent in a 200 answer or
// mid-stream: its numeric code, when it is an HTTP status, else 500.
func (e *openAIError) statusError(body []byte) error {
	status := http.StatusInternalServerError
	var code int
	if json.Unmarshal(e.Code, &code) == nil && code >= 400 && code <= 599 {
		status = code
	}
	return &transport.StatusError{StatusCode: status, Body: body, Message: e.Message}
}

// counts returns prompt_eval_count and eval_count, -1 when absent
// (prompt_eval_count is left out when the prompt was fully cached).
func (r *ollamaReply) counts() (input, output int) {
	input, output = -1, -1
	if r.PromptEvalCount != nil {
		input = *r.PromptEvalCount
	}
	if r.EvalCount != nil {
		output = *r.EvalCount
	}
	return input, output
}

// openAIResult reads a whole text completion.
func openAIResult(body []byte) (textgen.Result, error) {
	var r openAIReply
	if err := json.Unmarshal(body, &r); err != nil {
		return textgen.Result{}, badAnswer("the answer is not JSON", body)
	}
	if r.Error != nil {
		return textgen.Result{}, r.Error.statusError(body)
	}
	if len(r.Choices) == 0 || r.Choices[0].FinishReason == nil {
		return textgen.Result{}, badAnswer("the answer has no finished choice", body)
	}
	ch := r.Choices[0]
	out := textgen.Result{Text: ch.Text, Finish: *ch.FinishReason, StopString: ch.stopString(), Input: -1, Output: -1}
	if r.Usage != nil {
		out.Input, out.Output = r.Usage.PromptTokens, r.Usage.CompletionTokens
	}
	return out, nil
}

// ollamaResult reads a whole generate answer.
func ollamaResult(body []byte) (textgen.Result, error) {
	var r ollamaReply
	if err := json.Unmarshal(body, &r); err != nil {
		return textgen.Result{}, badAnswer("the answer is not JSON", body)
	}
	if r.Error != "" {
		return textgen.Result{}, &transport.StatusError{StatusCode: http.StatusInternalServerError, Body: body, Message: r.Error}
	}
	if !r.Done {
		return textgen.Result{}, badAnswer("the answer is not done", body)
	}
	out := textgen.Result{Text: r.Response, Finish: r.DoneReason}
	out.Input, out.Output = r.counts()
	return out, nil
}
