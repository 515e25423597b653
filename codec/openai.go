package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/document"
)

// The OpenAI chat completions wire shapes (model-families.md §5.6): only the
// members this codec writes or reads.
type (
	oaiRequest struct {
		Model          string             `json:"model"`
		Messages       []oaiMessage       `json:"messages"`
		MaxTokens      *int               `json:"max_tokens,omitempty"`
		Temperature    *float64           `json:"temperature,omitempty"`
		TopP           *float64           `json:"top_p,omitempty"`
		Stop           []string           `json:"stop,omitempty"`
		Tools          []oaiTool          `json:"tools,omitempty"`
		ToolChoice     json.RawMessage    `json:"tool_choice,omitempty"`
		ResponseFormat *oaiResponseFormat `json:"response_format,omitempty"`
		Stream         bool               `json:"stream,omitempty"`
		StreamOptions  *oaiStreamOptions  `json:"stream_options,omitempty"`
	}
	oaiMessage struct {
		Role       string        `json:"role"`
		Content    oaiContent    `json:"content"`
		ToolCalls  []oaiToolCall `json:"tool_calls,omitempty"`
		ToolCallID string        `json:"tool_call_id,omitempty"`
	}
	oaiPart struct {
		Type     string       `json:"type"`
		Text     string       `json:"text,omitempty"`
		ImageURL *oaiImageURL `json:"image_url,omitempty"`
	}
	oaiImageURL struct {
		URL string `json:"url"`
	}
	oaiToolCall struct {
		Index    *int            `json:"index,omitempty"` // streamed deltas only
		ID       string          `json:"id,omitempty"`
		Type     string          `json:"type,omitempty"`
		Function oaiFunctionCall `json:"function"`
	}
	oaiFunctionCall struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	oaiTool struct {
		Type     string      `json:"type"`
		Function oaiFunction `json:"function"`
	}
	oaiFunction struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	}
	oaiResponseFormat struct {
		Type       string         `json:"type"`
		JSONSchema *oaiJSONSchema `json:"json_schema,omitempty"`
	}
	oaiJSONSchema struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema"`
	}
	oaiStreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	}
)

// oaiContent is a message's content: null when it has no parts (an
// assistant turn that only calls tools), a plain string when it is one text
// part (the form every OpenAI-compatible server accepts), and an array of
// parts otherwise.
type oaiContent []oaiPart

func (c oaiContent) MarshalJSON() ([]byte, error) {
	switch {
	case len(c) == 0:
		return []byte("null"), nil
	case len(c) == 1 && c[0].Type == "text":
		return marshal(c[0].Text)
	}
	return marshal([]oaiPart(c))
}

func textPart(s string) oaiPart { return oaiPart{Type: "text", Text: s} }

// ToOpenAIChat returns the body of an OpenAI chat completions request
// (POST /v1/chat/completions) for req, asking upstream model model; stream
// asks for server-sent events with usage in the last chunk.
//
// The mapping follows model-families.md §5.9:
//   - system blocks become one leading "system" message, texts joined with
//     "\n"; a mid-conversation system-role message becomes a "system"
//     message in place;
//   - text and guardContent text become text parts; image bytes (and
//     guardContent images) become image_url parts holding a data URL;
//   - a document becomes a text part placed before the message's other
//     parts, holding the document's text (package document) framed as
//     <document name="NAME" format="FORMAT">\nTEXT\n</document>, so the
//     model knows which document it reads (context, when set, is an extra
//     attribute); citations cannot be produced and are not requested;
//   - a searchResult is framed the same way as
//     <search_result source="…" title="…">;
//   - toolUse blocks become the assistant message's tool_calls, the input
//     as a JSON string; each toolResult becomes a "tool" message with its
//     tool_call_id, placed before the rest of its user turn (OpenAI wants
//     tool messages right after the calls), its text parts joined with
//     "\n" and json content as its JSON text; a result's status has no
//     OpenAI counterpart and is not sent;
//   - citationsContent in assistant history is sent as its text;
//     reasoningContent in assistant history is not sent: OpenAI chat has
//     no input member for it (servers that emit reasoning_content ask
//     clients not to send it back); cachePoint carries no content and is
//     skipped;
//   - inferenceConfig maps to max_tokens, temperature, top_p and stop;
//     toolConfig to tools and tool_choice (auto → "auto", any →
//     "required", tool → {type:function,function:{name}});
//     outputConfig.textFormat to a json_schema response_format;
//   - additionalModelRequestFields, a JSON object, is merged into the top
//     level of the body, its members replacing ours on collision, as
//     Bedrock merges them into a model's native body.
//
// What the format cannot carry is rejected with a ValidationException
// rather than dropped: video, audio, toolAddition and toolRemoval blocks,
// images in tool results, system tools, S3 sources (this gateway has no S3
// access), and documents whose text cannot be read.
func ToOpenAIChat(req *converse.Request, model string, stream bool) ([]byte, error) {
	out := oaiRequest{Model: model, Messages: []oaiMessage{}}
	if sys, err := systemText(req.System); err != nil {
		return nil, err
	} else if sys != "" {
		out.Messages = append(out.Messages, oaiMessage{Role: "system", Content: oaiContent{textPart(sys)}})
	}
	for i := range req.Messages {
		msgs, err := openAIMessages(&req.Messages[i], fmt.Sprintf("messages.%d", i))
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	if ic := req.InferenceConfig; ic != nil {
		out.MaxTokens, out.Temperature, out.TopP, out.Stop = ic.MaxTokens, ic.Temperature, ic.TopP, ic.StopSequences
	}
	if tc := req.ToolConfig; tc != nil {
		if err := openAITools(tc, &out); err != nil {
			return nil, err
		}
	}
	if oc := req.OutputConfig; oc != nil && oc.TextFormat != nil && oc.TextFormat.Structure != nil && oc.TextFormat.Structure.JSONSchema != nil {
		js := oc.TextFormat.Structure.JSONSchema
		if !json.Valid([]byte(js.Schema)) {
			return nil, converse.Errorf(converse.KindValidation, "The JSON schema at outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON. Fix the schema and try again.")
		}
		name := js.Name
		if name == "" {
			name = "response" // OpenAI requires a name; Bedrock's is optional
		}
		out.ResponseFormat = &oaiResponseFormat{Type: "json_schema", JSONSchema: &oaiJSONSchema{Name: name, Description: js.Description, Schema: json.RawMessage(js.Schema)}}
	}
	if stream {
		out.Stream, out.StreamOptions = true, &oaiStreamOptions{IncludeUsage: true}
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("codec: encode openai chat request: %w", err)
	}
	if len(req.AdditionalModelRequestFields) > 0 && string(req.AdditionalModelRequestFields) != "null" {
		return mergeFields(body, req.AdditionalModelRequestFields)
	}
	return body, nil
}

// systemText joins the system prompt's text, skipping cache points.
func systemText(blocks []converse.SystemBlock) (string, error) {
	var texts []string
	for i, b := range blocks {
		switch {
		case b.Text != nil:
			texts = append(texts, *b.Text)
		case b.GuardContent != nil && b.GuardContent.Text != nil:
			texts = append(texts, b.GuardContent.Text.Text)
		case b.GuardContent != nil:
			return "", converse.Errorf(converse.KindValidation, "This model doesn't support the image content block at system.%d.guardContent. Update the content block and try again.", i)
		}
	}
	return strings.Join(texts, "\n"), nil
}

// openAIMessages returns the OpenAI messages for one Converse message:
// usually one, plus one "tool" message per tool result.
func openAIMessages(m *converse.Message, path string) ([]oaiMessage, error) {
	role := string(m.Role)
	if m.Role != converse.RoleUser && m.Role != converse.RoleAssistant && m.Role != converse.RoleSystem {
		return nil, converse.Errorf(converse.KindValidation, "The role at %s.role isn't supported. Use user or assistant and try again.", path)
	}
	var (
		tools []oaiMessage
		docs  oaiContent // documents go before the other parts
		parts oaiContent
		calls []oaiToolCall
	)
	for j := range m.Content {
		b, at := &m.Content[j], fmt.Sprintf("%s.content.%d", path, j)
		switch {
		case b.Text != nil:
			parts = append(parts, textPart(*b.Text))
		case b.GuardContent != nil && b.GuardContent.Text != nil:
			parts = append(parts, textPart(b.GuardContent.Text.Text))
		case b.GuardContent != nil && b.GuardContent.Image != nil:
			p, err := imagePart(b.GuardContent.Image.Format, b.GuardContent.Image.Source, at+".guardContent.image")
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
		case b.Image != nil:
			p, err := imagePart(b.Image.Format, b.Image.Source, at+".image")
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
		case b.Document != nil:
			s, err := documentText(b.Document, at+".document")
			if err != nil {
				return nil, err
			}
			docs = append(docs, textPart(s))
		case b.SearchResult != nil:
			parts = append(parts, textPart(searchResultText(b.SearchResult)))
		case b.CitationsContent != nil:
			for _, c := range b.CitationsContent.Content {
				if c.Text != nil {
					parts = append(parts, textPart(*c.Text))
				}
			}
		case b.ToolUse != nil:
			args := "{}"
			var buf bytes.Buffer
			if len(b.ToolUse.Input) > 0 && string(b.ToolUse.Input) != "null" {
				if err := json.Compact(&buf, b.ToolUse.Input); err != nil {
					return nil, converse.Errorf(converse.KindValidation, "The input field at %s.toolUse.input is not valid JSON.", at)
				}
				args = buf.String()
			}
			calls = append(calls, oaiToolCall{ID: b.ToolUse.ToolUseID, Type: "function", Function: oaiFunctionCall{Name: b.ToolUse.Name, Arguments: args}})
		case b.ToolResult != nil:
			msg, err := toolMessage(b.ToolResult, at+".toolResult")
			if err != nil {
				return nil, err
			}
			tools = append(tools, msg)
		case b.CachePoint != nil, b.ReasoningContent != nil:
			// See ToOpenAIChat: no content to carry, or no member to carry it in.
		default:
			return nil, unsupportedBlock(b.Kind())
		}
	}
	content := append(docs, parts...)
	out := tools
	if len(content) > 0 || len(calls) > 0 {
		out = append(out, oaiMessage{Role: role, Content: content, ToolCalls: calls})
	}
	return out, nil
}

// unsupportedBlock is Bedrock's answer to a content block a model cannot
// take (model-families.md §3.3).
func unsupportedBlock(kind string) error {
	return converse.Errorf(converse.KindValidation, "This model doesn't support the %s content block that you provided. Update the content block and try again.", kind)
}

// errS3 rejects an S3 source: fetching from S3 needs AWS credentials and
// network access this gateway does not have.
func errS3(at string) error {
	return converse.Errorf(converse.KindValidation, "S3 locations aren't supported for this model: %s.source.s3Location. Provide the content as bytes and try again.", at)
}

// imagePart returns an image_url part holding the image as a data URL.
func imagePart(format string, src *converse.MediaSource, at string) (oaiPart, error) {
	if src == nil || (src.Bytes == nil && src.S3Location == nil) {
		return oaiPart{}, converse.Errorf(converse.KindValidation, "ImageSource object at %s.source must set one of the following keys: bytes, s3Location.", at)
	}
	if src.S3Location != nil {
		return oaiPart{}, errS3(at)
	}
	var b strings.Builder
	b.Grow(len("data:image/;base64,") + len(format) + base64.StdEncoding.EncodedLen(len(src.Bytes)))
	b.WriteString("data:image/")
	b.WriteString(format)
	b.WriteString(";base64,")
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	enc.Write(src.Bytes)
	enc.Close()
	return oaiPart{Type: "image_url", ImageURL: &oaiImageURL{URL: b.String()}}, nil
}

// documentText returns a document's text framed with its name and format.
func documentText(d *converse.DocumentBlock, at string) (string, error) {
	var text string
	switch src := d.Source; {
	case src == nil:
		return "", converse.Errorf(converse.KindValidation, "DocumentSource object at %s.source must set one of the following keys: bytes, s3Location.", at)
	case src.S3Location != nil:
		return "", errS3(at)
	case src.Text != nil:
		text = *src.Text
	case src.Content != nil:
		var parts []string
		for _, c := range src.Content {
			if c.Text != nil {
				parts = append(parts, *c.Text)
			}
		}
		text = strings.Join(parts, "\n")
	default:
		t, err := document.Text(d.Format, src.Bytes)
		if err != nil {
			return "", converse.Errorf(converse.KindValidation, "The document %s could not be read: %s.", d.Name, strings.TrimPrefix(err.Error(), "document: "))
		}
		text = t
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<document name=%q", html.EscapeString(d.Name))
	if d.Format != "" {
		fmt.Fprintf(&b, " format=%q", html.EscapeString(d.Format))
	}
	if d.Context != "" {
		fmt.Fprintf(&b, " context=%q", html.EscapeString(d.Context))
	}
	b.WriteString(">\n")
	b.WriteString(strings.TrimRight(text, "\n"))
	b.WriteString("\n</document>")
	return b.String(), nil
}

// searchResultText frames a search result like a document.
func searchResultText(r *converse.SearchResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<search_result source=%q title=%q>\n", html.EscapeString(r.Source), html.EscapeString(r.Title))
	for _, c := range r.Content {
		if c.Text != nil {
			b.WriteString(strings.TrimRight(*c.Text, "\n"))
			b.WriteByte('\n')
		}
	}
	b.WriteString("</search_result>")
	return b.String()
}

// toolMessage returns the "tool" message answering one tool call.
func toolMessage(r *converse.ToolResultBlock, at string) (oaiMessage, error) {
	text, err := toolResultText(r, at)
	if err != nil {
		return oaiMessage{}, err
	}
	return oaiMessage{Role: "tool", ToolCallID: r.ToolUseID, Content: oaiContent{textPart(text)}}, nil
}

// toolResultText renders a tool result's content as the text a chat
// format's "tool" message carries: texts as they are, json compacted,
// documents and search results framed, one per line. Images and videos
// have no place in such a message: ValidationException.
func toolResultText(r *converse.ToolResultBlock, at string) (string, error) {
	var texts []string
	for k, c := range r.Content {
		switch {
		case c.Text != nil:
			texts = append(texts, *c.Text)
		case c.JSON != nil:
			var buf bytes.Buffer
			if err := json.Compact(&buf, c.JSON); err != nil {
				return "", converse.Errorf(converse.KindValidation, "The json field at %s.content.%d is not valid JSON.", at, k)
			}
			texts = append(texts, buf.String())
		case c.Document != nil:
			s, err := documentText(c.Document, fmt.Sprintf("%s.content.%d.document", at, k))
			if err != nil {
				return "", err
			}
			texts = append(texts, s)
		case c.SearchResult != nil:
			texts = append(texts, searchResultText(c.SearchResult))
		case c.Image != nil:
			return "", unsupportedBlock("image")
		case c.Video != nil:
			return "", unsupportedBlock("video")
		}
	}
	return strings.Join(texts, "\n"), nil
}

// openAITools sets tools and tool_choice.
func openAITools(tc *converse.ToolConfig, out *oaiRequest) error {
	for i, t := range tc.Tools {
		switch {
		case t.ToolSpec != nil:
			f := oaiFunction{Name: t.ToolSpec.Name, Strict: t.ToolSpec.Strict}
			if t.ToolSpec.Description != nil {
				f.Description = *t.ToolSpec.Description
			}
			if t.ToolSpec.InputSchema != nil {
				f.Parameters = t.ToolSpec.InputSchema.JSON
			}
			out.Tools = append(out.Tools, oaiTool{Type: "function", Function: f})
		case t.SystemTool != nil:
			return converse.Errorf(converse.KindValidation, "This model doesn't support the toolConfig.tools.%d.systemTool field. Remove toolConfig.tools.%d.systemTool and try again.", i, i)
		}
	}
	switch c := tc.ToolChoice; {
	case c == nil:
	case c.Auto != nil:
		out.ToolChoice = json.RawMessage(`"auto"`)
	case c.Any != nil:
		out.ToolChoice = json.RawMessage(`"required"`)
	case c.Tool != nil:
		b, err := json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": c.Tool.Name}})
		if err != nil {
			return fmt.Errorf("codec: encode tool choice: %w", err)
		}
		out.ToolChoice = b
	}
	return nil
}

// marshal is json.Marshal without HTML escaping: the body goes to an API,
// not into a web page, and "<document …>" framing should stay readable.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// mergeFields merges the members of the JSON object extra into the JSON
// object body, extra's winning. The result's members are in key order.
func mergeFields(body, extra []byte) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(extra, &fields); err != nil || fields == nil {
		return nil, converse.Errorf(converse.KindValidation, "The additionalModelRequestFields field must be a JSON object.")
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(body, &merged); err != nil {
		return nil, fmt.Errorf("codec: merge additionalModelRequestFields: %w", err)
	}
	for k, v := range fields {
		merged[k] = v
	}
	out, err := marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("codec: merge additionalModelRequestFields: %w", err)
	}
	return out, nil
}

// oaiResponse is a chat completion (non-streamed) or a chunk (streamed).
type oaiResponse struct {
	Choices []oaiChoice `json:"choices"`
	Usage   *oaiUsage   `json:"usage"`
	Error   *oaiError   `json:"error"`
}

type oaiChoice struct {
	Index        int             `json:"index"`
	Message      *oaiReply       `json:"message"`
	Delta        *oaiReply       `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	StopReason   json.RawMessage `json:"stop_reason"` // vLLM: the matched stop string, or a token id
}

// oaiReply is a choice's message or delta. reasoning_content (vLLM,
// llama.cpp, DeepSeek) and reasoning (Ollama, newer vLLM) carry the
// model's reasoning.
type oaiReply struct {
	Content          *string       `json:"content"`
	ReasoningContent *string       `json:"reasoning_content"`
	Reasoning        *string       `json:"reasoning"`
	ToolCalls        []oaiToolCall `json:"tool_calls"`
}

func (r *oaiReply) reasoning() string {
	switch {
	case r.ReasoningContent != nil:
		return *r.ReasoningContent
	case r.Reasoning != nil:
		return *r.Reasoning
	}
	return ""
}

type oaiUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// oaiError is OpenAI's error object, as sent in an error answer or, by some
// servers, inside a stream.
type oaiError struct {
	Message string          `json:"message"`
	Code    json.RawMessage `json:"code"`
}

// MsgMalformedReply is the ModelErrorException message for an upstream
// answer that is not a chat completion (wording ours: Bedrock's is not
// known).
const MsgMalformedReply = "The model returned a response that could not be read."

// FromOpenAIChat reads a chat completion (the body of a 200 answer) into a
// Converse response, from choices[0]:
//   - reasoning_content (or reasoning) becomes a reasoningContent block,
//     content a text block, each tool call a toolUse block with its
//     arguments parsed as the input; when the answer has no content and no
//     tool calls at all, the message holds one empty text block, as
//     Bedrock always returns a message with content;
//   - finish_reason maps to the stop reason: length → max_tokens,
//     content_filter → content_filtered, tool_calls/function_call (or any
//     answer with tool calls) → tool_use, stop → end_turn, or
//     stop_sequence when the server names the stop string that matched
//     (vLLM's stop_reason); other values pass through;
//   - tool call arguments that are not a JSON object give that call the
//     input {} and the response the stop reason malformed_tool_use
//     (Bedrock's reason for a tool call the model got wrong); a call
//     without an id gets "tooluse_<n>";
//   - usage maps to inputTokens, outputTokens and totalTokens (their sum
//     when the server omits it).
//
// A body that is not a chat completion, or carries an error object or no
// choice, is a ModelErrorException (*converse.Error, KindModelError).
func FromOpenAIChat(body []byte) (*converse.Response, error) {
	var r oaiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	if r.Error != nil {
		return nil, &converse.Error{Kind: converse.KindModelError, Message: "The model returned the following errors: " + r.Error.Message, OriginalMessage: r.Error.Message}
	}
	if len(r.Choices) == 0 || r.Choices[0].Message == nil {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	ch := r.Choices[0]
	msg := &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{}}
	if s := ch.Message.reasoning(); s != "" {
		msg.Content = append(msg.Content, converse.Block{ReasoningContent: &converse.ReasoningContent{ReasoningText: &converse.ReasoningText{Text: s}}})
	}
	if c := ch.Message.Content; c != nil && *c != "" {
		msg.Content = append(msg.Content, converse.TextBlock(*c))
	}
	malformed := false
	for i, tc := range ch.Message.ToolCalls {
		in, ok := toolInput(tc.Function.Arguments)
		malformed = malformed || !ok
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("tooluse_%d", i)
		}
		msg.Content = append(msg.Content, converse.Block{ToolUse: &converse.ToolUseBlock{ToolUseID: id, Name: tc.Function.Name, Input: in}})
	}
	if len(msg.Content) == 0 {
		msg.Content = append(msg.Content, converse.TextBlock(""))
	}
	resp := &converse.Response{Output: converse.Output{Message: msg}}
	resp.StopReason = stopReason(ch.FinishReason, ch.StopReason, len(ch.Message.ToolCalls) > 0)
	if malformed && resp.StopReason == converse.StopToolUse {
		resp.StopReason = converse.StopMalformedToolUse
	}
	resp.Usage = usage(r.Usage)
	return resp, nil
}

// toolInput parses tool call arguments; ok is false when they are not a
// JSON object, and the input is then {}. Empty arguments are a call
// without arguments.
func toolInput(args string) (in json.RawMessage, ok bool) {
	args = strings.TrimSpace(args)
	if args == "" {
		return json.RawMessage("{}"), true
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(args), &obj); err != nil || obj == nil {
		return json.RawMessage("{}"), false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(args)); err != nil {
		return json.RawMessage("{}"), false
	}
	return buf.Bytes(), true
}

// stopReason maps a finish_reason to Converse's stop reason.
func stopReason(finish *string, vllmStop json.RawMessage, toolCalls bool) converse.StopReason {
	f := ""
	if finish != nil {
		f = *finish
	}
	switch {
	case f == "length":
		return converse.StopMaxTokens
	case f == "content_filter":
		return converse.StopContentFiltered
	case toolCalls || f == "tool_calls" || f == "function_call":
		return converse.StopToolUse
	case f == "stop" || f == "eos" || f == "":
		// vLLM names the stop string that ended generation; a token id
		// (a number) is the end-of-sequence token, a normal end of turn.
		var s string
		if json.Unmarshal(vllmStop, &s) == nil && s != "" {
			return converse.StopStopSequence
		}
		return converse.StopEndTurn
	}
	return converse.StopReason(f)
}

func usage(u *oaiUsage) converse.Usage {
	if u == nil {
		return converse.Usage{}
	}
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	return converse.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: total}
}
