package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// ClaudeVersion is the anthropic_version every Claude Messages body on
// Bedrock carries (model-families.md §4.5): Bedrock takes the API version
// in the body, where Anthropic's own API takes it as a header.
const ClaudeVersion = "bedrock-2023-05-31"

// DefaultClaudeMaxTokens is the max_tokens a Claude value sends when the
// request has no maxTokens and Claude.MaxTokens is zero. Anthropic requires
// max_tokens, and Bedrock fills in the model's maximum output when Converse
// omits it (§4.5: "default is the maximum allowed value"); 4096 is the
// maximum of Claude 3 Haiku, Sonnet and Opus.
const DefaultClaudeMaxTokens = 4096

// Claude is the codec of the "anthropic.claude-messages" family: Claude 3
// and 3.5 through Anthropic's Messages body (model-families.md §4.5). The
// zero value is ready to use.
type Claude struct {
	// MaxTokens is the model's maximum output, sent as max_tokens when the
	// request sets no maxTokens; 0 means DefaultClaudeMaxTokens.
	MaxTokens int
}

var _ Family = Claude{}

// The Claude Messages wire shapes: only the members this codec writes or
// reads.
type (
	claudeRequest struct {
		AnthropicVersion string            `json:"anthropic_version"`
		MaxTokens        int               `json:"max_tokens"`
		System           string            `json:"system,omitempty"`
		Messages         []claudeMessage   `json:"messages"`
		Temperature      *float64          `json:"temperature,omitempty"`
		TopP             *float64          `json:"top_p,omitempty"`
		StopSequences    []string          `json:"stop_sequences,omitempty"`
		Tools            []claudeTool      `json:"tools,omitempty"`
		ToolChoice       *claudeToolChoice `json:"tool_choice,omitempty"`
	}
	claudeMessage struct {
		Role    string        `json:"role"`
		Content []claudeBlock `json:"content"`
	}
	// claudeBlock is every content block kind in one struct: text, image,
	// tool_use, tool_result, thinking and redacted_thinking. Text is a
	// pointer so that a text block always has its text member.
	claudeBlock struct {
		Type      string             `json:"type"`
		Text      *string            `json:"text,omitempty"`
		Source    *claudeImageSource `json:"source,omitempty"`
		ID        string             `json:"id,omitempty"`
		Name      string             `json:"name,omitempty"`
		Input     json.RawMessage    `json:"input,omitempty"`
		ToolUseID string             `json:"tool_use_id,omitempty"`
		Content   []claudeBlock      `json:"content,omitempty"`
		IsError   bool               `json:"is_error,omitempty"`
		Thinking  *string            `json:"thinking,omitempty"`
		Signature string             `json:"signature,omitempty"`
		Data      string             `json:"data,omitempty"`
	}
	claudeImageSource struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
	}
	claudeTool struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	claudeToolChoice struct {
		Type string `json:"type"`
		Name string `json:"name,omitempty"`
	}
)

func claudeText(s string) claudeBlock { return claudeBlock{Type: "text", Text: &s} }

// Request returns the native Claude Messages body for req (§4.5 "Converse
// mapping"):
//   - system blocks become system, texts joined with "\n";
//   - text (and guardContent text) becomes a text block; an image (or a
//     guardContent image) a base64 image block;
//   - a document becomes a text block holding its extracted text framed
//     as <document name="…" format="…">, placed before the message's
//     other blocks: Claude 3 has no native document block (§4.5), and
//     Anthropic advises putting long documents first; searchResult is
//     framed the same way, citationsContent is sent as its text;
//   - toolUse becomes tool_use; toolResult becomes tool_result, its json
//     content serialised to a text block (Anthropic has no JSON block),
//     images kept as image blocks, and is_error set for status "error";
//   - reasoningContent in assistant history becomes thinking (or
//     redacted_thinking) for the models that produce it;
//   - a final assistant turn (a prefill) loses its trailing white space,
//     which Anthropic rejects;
//   - maxTokens, temperature, topP and stopSequences map to max_tokens,
//     temperature, top_p and stop_sequences; max_tokens is required, so
//     an absent maxTokens sends the model's maximum (Claude.MaxTokens);
//   - toolConfig maps to tools and tool_choice (auto, any, tool);
//   - additionalModelRequestFields (top_k, anthropic_beta, …) is merged
//     into the top level, its members winning.
//
// What the format cannot carry is a ValidationException: video, audio,
// toolAddition and toolRemoval blocks, mid-conversation system messages,
// system tools, structured output (outputConfig.textFormat), S3 sources
// and unreadable documents. cachePoint carries no content and is skipped.
func (c Claude) Request(req *converse.Request) ([]byte, error) {
	out := claudeRequest{AnthropicVersion: ClaudeVersion, MaxTokens: c.MaxTokens, Messages: []claudeMessage{}}
	if out.MaxTokens <= 0 {
		out.MaxTokens = DefaultClaudeMaxTokens
	}
	sys, err := systemText(req.System)
	if err != nil {
		return nil, err
	}
	out.System = sys
	for i := range req.Messages {
		m, err := claudeMessageOf(&req.Messages[i], fmt.Sprintf("messages.%d", i))
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, m)
	}
	claudeTrimPrefill(out.Messages)
	if ic := req.InferenceConfig; ic != nil {
		if ic.MaxTokens != nil {
			out.MaxTokens = *ic.MaxTokens
		}
		out.Temperature, out.TopP, out.StopSequences = ic.Temperature, ic.TopP, ic.StopSequences
	}
	if tc := req.ToolConfig; tc != nil {
		if err := claudeTools(tc, &out); err != nil {
			return nil, err
		}
	}
	if err := claudeRejectOutputConfig(req); err != nil {
		return nil, err
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("codec: encode claude request: %w", err)
	}
	if len(req.AdditionalModelRequestFields) > 0 && string(req.AdditionalModelRequestFields) != "null" {
		return mergeFields(body, req.AdditionalModelRequestFields)
	}
	return body, nil
}

// claudeRejectOutputConfig rejects structured output, which neither Claude
// family has natively; Bedrock's wording for an unsupported field (§3.3).
func claudeRejectOutputConfig(req *converse.Request) error {
	if oc := req.OutputConfig; oc != nil && oc.TextFormat != nil {
		return converse.Errorf(converse.KindValidation, "This model doesn't support the outputConfig.textFormat field. Remove outputConfig.textFormat and try again.")
	}
	return nil
}

// claudeMessageOf returns the native message for one Converse message.
func claudeMessageOf(m *converse.Message, path string) (claudeMessage, error) {
	if m.Role != converse.RoleUser && m.Role != converse.RoleAssistant {
		return claudeMessage{}, converse.Errorf(converse.KindValidation, "The role at %s.role isn't supported. Use user or assistant and try again.", path)
	}
	var docs, parts []claudeBlock // documents go before the other blocks
	for j := range m.Content {
		b, at := &m.Content[j], fmt.Sprintf("%s.content.%d", path, j)
		switch {
		case b.Text != nil:
			parts = append(parts, claudeText(*b.Text))
		case b.GuardContent != nil && b.GuardContent.Text != nil:
			parts = append(parts, claudeText(b.GuardContent.Text.Text))
		case b.GuardContent != nil && b.GuardContent.Image != nil:
			img, err := claudeImage(b.GuardContent.Image.Format, b.GuardContent.Image.Source, at+".guardContent.image")
			if err != nil {
				return claudeMessage{}, err
			}
			parts = append(parts, img)
		case b.Image != nil:
			img, err := claudeImage(b.Image.Format, b.Image.Source, at+".image")
			if err != nil {
				return claudeMessage{}, err
			}
			parts = append(parts, img)
		case b.Document != nil:
			s, err := documentText(b.Document, at+".document")
			if err != nil {
				return claudeMessage{}, err
			}
			docs = append(docs, claudeText(s))
		case b.SearchResult != nil:
			parts = append(parts, claudeText(searchResultText(b.SearchResult)))
		case b.CitationsContent != nil:
			for _, ct := range b.CitationsContent.Content {
				if ct.Text != nil {
					parts = append(parts, claudeText(*ct.Text))
				}
			}
		case b.ToolUse != nil:
			in, err := claudeToolInput(b.ToolUse.Input, at+".toolUse.input")
			if err != nil {
				return claudeMessage{}, err
			}
			parts = append(parts, claudeBlock{Type: "tool_use", ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Input: in})
		case b.ToolResult != nil:
			r, err := claudeToolResult(b.ToolResult, at+".toolResult")
			if err != nil {
				return claudeMessage{}, err
			}
			parts = append(parts, r)
		case b.ReasoningContent != nil:
			if rt := b.ReasoningContent.ReasoningText; rt != nil {
				parts = append(parts, claudeBlock{Type: "thinking", Thinking: &rt.Text, Signature: rt.Signature})
			} else if b.ReasoningContent.RedactedContent != nil {
				parts = append(parts, claudeBlock{Type: "redacted_thinking", Data: string(b.ReasoningContent.RedactedContent)})
			}
		case b.CachePoint != nil:
			// A cache checkpoint carries no content.
		default:
			return claudeMessage{}, unsupportedBlock(b.Kind())
		}
	}
	return claudeMessage{Role: string(m.Role), Content: append(docs, parts...)}, nil
}

// claudeTrimPrefill trims trailing white space from the text that ends a
// final assistant turn: Anthropic rejects "final assistant content cannot
// end with trailing whitespace" (§4.5, rules a gateway must pre-apply).
func claudeTrimPrefill(msgs []claudeMessage) {
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != "assistant" {
		return
	}
	content := msgs[len(msgs)-1].Content
	if n := len(content); n > 0 && content[n-1].Type == "text" && content[n-1].Text != nil {
		s := strings.TrimRight(*content[n-1].Text, " \t\r\n")
		content[n-1].Text = &s
	}
}

// claudeImage returns a base64 image block.
func claudeImage(format string, src *converse.MediaSource, at string) (claudeBlock, error) {
	if src == nil || (src.Bytes == nil && src.S3Location == nil) {
		return claudeBlock{}, converse.Errorf(converse.KindValidation, "ImageSource object at %s.source must set one of the following keys: bytes, s3Location.", at)
	}
	if src.S3Location != nil {
		return claudeBlock{}, errS3(at)
	}
	return claudeBlock{Type: "image", Source: &claudeImageSource{Type: "base64", MediaType: "image/" + format, Data: base64.StdEncoding.EncodeToString(src.Bytes)}}, nil
}

// claudeToolInput returns a tool call's input as compact JSON; a missing
// input is the empty object, as Anthropic requires an object.
func claudeToolInput(in json.RawMessage, at string) (json.RawMessage, error) {
	if len(in) == 0 || string(in) == "null" {
		return json.RawMessage("{}"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, in); err != nil {
		return nil, converse.Errorf(converse.KindValidation, "The input field at %s is not valid JSON.", at)
	}
	return buf.Bytes(), nil
}

// claudeToolResult returns the tool_result block answering one tool call.
func claudeToolResult(r *converse.ToolResultBlock, at string) (claudeBlock, error) {
	out := claudeBlock{Type: "tool_result", ToolUseID: r.ToolUseID, IsError: r.Status == "error"}
	for k, c := range r.Content {
		cat := fmt.Sprintf("%s.content.%d", at, k)
		switch {
		case c.Text != nil:
			out.Content = append(out.Content, claudeText(*c.Text))
		case c.JSON != nil:
			var buf bytes.Buffer
			if err := json.Compact(&buf, c.JSON); err != nil {
				return claudeBlock{}, converse.Errorf(converse.KindValidation, "The json field at %s is not valid JSON.", cat)
			}
			out.Content = append(out.Content, claudeText(buf.String()))
		case c.Image != nil:
			img, err := claudeImage(c.Image.Format, c.Image.Source, cat+".image")
			if err != nil {
				return claudeBlock{}, err
			}
			out.Content = append(out.Content, img)
		case c.Document != nil:
			s, err := documentText(c.Document, cat+".document")
			if err != nil {
				return claudeBlock{}, err
			}
			out.Content = append(out.Content, claudeText(s))
		case c.SearchResult != nil:
			out.Content = append(out.Content, claudeText(searchResultText(c.SearchResult)))
		case c.Video != nil:
			return claudeBlock{}, unsupportedBlock("video")
		}
	}
	return out, nil
}

// claudeTools sets tools and tool_choice.
func claudeTools(tc *converse.ToolConfig, out *claudeRequest) error {
	for i, t := range tc.Tools {
		switch {
		case t.ToolSpec != nil:
			ct := claudeTool{Name: t.ToolSpec.Name, InputSchema: json.RawMessage(`{"type":"object"}`)}
			if t.ToolSpec.Description != nil {
				ct.Description = *t.ToolSpec.Description
			}
			if t.ToolSpec.InputSchema != nil && len(t.ToolSpec.InputSchema.JSON) > 0 {
				ct.InputSchema = t.ToolSpec.InputSchema.JSON
			}
			out.Tools = append(out.Tools, ct)
		case t.SystemTool != nil:
			return converse.Errorf(converse.KindValidation, "This model doesn't support the toolConfig.tools.%d.systemTool field. Remove toolConfig.tools.%d.systemTool and try again.", i, i)
		}
	}
	switch ch := tc.ToolChoice; {
	case ch == nil:
	case ch.Auto != nil:
		out.ToolChoice = &claudeToolChoice{Type: "auto"}
	case ch.Any != nil:
		out.ToolChoice = &claudeToolChoice{Type: "any"}
	case ch.Tool != nil:
		out.ToolChoice = &claudeToolChoice{Type: "tool", Name: ch.Tool.Name}
	}
	return nil
}

// claudeResponse is Anthropic's Message object, or its error object.
type claudeResponse struct {
	Type       string        `json:"type"`
	Content    []claudeBlock `json:"content"`
	StopReason *string       `json:"stop_reason"`
	Usage      *claudeUsage  `json:"usage"`
	Error      *claudeError  `json:"error"`
}

type claudeUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
}

// claudeError is Anthropic's {"type":"error","error":{type,message}}.
type claudeError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// claudeErrorStatus is the HTTP status Anthropic answers each error type
// with, reported as the exception's originalStatusCode.
func claudeErrorStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return 400
	case "authentication_error":
		return 401
	case "permission_error":
		return 403
	case "not_found_error":
		return 404
	case "request_too_large":
		return 413
	case "rate_limit_error":
		return 429
	case "api_error":
		return 500
	case "timeout_error":
		return 504
	case "overloaded_error":
		return 529
	}
	return 0
}

// Response reads Anthropic's Message object (§4.5 "Native response"):
// text blocks become text, tool_use blocks toolUse (an input that is not
// a JSON object becomes {} and the stop reason malformed_tool_use),
// thinking and redacted_thinking become reasoningContent; block types this
// codec does not know are left out. stop_reason passes through 1:1
// (end_turn, max_tokens, stop_sequence, tool_use, and newer values such as
// model_context_window_exceeded). usage maps to inputTokens and
// outputTokens, with cache_read_input_tokens and
// cache_creation_input_tokens as cacheRead/cacheWriteInputTokens; the
// total counts all four, as Bedrock's does for prompt caching. A message
// with no content gets one empty text block, as Bedrock always returns
// content. The paths of additionalModelResponseFieldPaths ("/stop_sequence")
// are read from the body.
//
// A body that is not a Message (or is Anthropic's error object) is a
// ModelErrorException.
func (Claude) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	var r claudeResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	if r.Error != nil {
		return nil, &converse.Error{Kind: converse.KindModelError, Message: "The model returned the following errors: " + r.Error.Message,
			OriginalMessage: r.Error.Message, OriginalStatusCode: claudeErrorStatus(r.Error.Type)}
	}
	if r.Type != "message" {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	msg := &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{}}
	malformed := false
	for _, b := range r.Content {
		switch b.Type {
		case "text":
			if b.Text != nil {
				msg.Content = append(msg.Content, converse.TextBlock(*b.Text))
			}
		case "tool_use":
			in, ok := claudeInputObject(b.Input)
			malformed = malformed || !ok
			msg.Content = append(msg.Content, converse.Block{ToolUse: &converse.ToolUseBlock{ToolUseID: b.ID, Name: b.Name, Input: in}})
		case "thinking":
			rt := &converse.ReasoningText{Signature: b.Signature}
			if b.Thinking != nil {
				rt.Text = *b.Thinking
			}
			msg.Content = append(msg.Content, converse.Block{ReasoningContent: &converse.ReasoningContent{ReasoningText: rt}})
		case "redacted_thinking":
			msg.Content = append(msg.Content, converse.Block{ReasoningContent: &converse.ReasoningContent{RedactedContent: []byte(b.Data)}})
		}
	}
	if len(msg.Content) == 0 {
		msg.Content = append(msg.Content, converse.TextBlock(""))
	}
	resp := &converse.Response{Output: converse.Output{Message: msg}, StopReason: converse.StopEndTurn}
	if r.StopReason != nil && *r.StopReason != "" {
		resp.StopReason = converse.StopReason(*r.StopReason)
	}
	if malformed && resp.StopReason == converse.StopToolUse {
		resp.StopReason = converse.StopMalformedToolUse
	}
	if r.Usage != nil {
		resp.Usage = claudeUsageOf(*r.Usage)
	}
	if req != nil {
		resp.AdditionalModelResponseFields = ResponseFields(body, req.AdditionalModelResponseFieldPaths)
	}
	return resp, nil
}

// claudeInputObject returns a tool_use input as compact JSON; ok is false
// when it is not a JSON object, and the input is then {}.
func claudeInputObject(in json.RawMessage) (json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if len(in) == 0 || json.Unmarshal(in, &obj) != nil || obj == nil {
		return json.RawMessage("{}"), false
	}
	var buf bytes.Buffer
	if json.Compact(&buf, in) != nil {
		return json.RawMessage("{}"), false
	}
	return buf.Bytes(), true
}

func claudeUsageOf(u claudeUsage) converse.Usage {
	out := converse.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
	out.TotalTokens = u.InputTokens + u.OutputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	if u.CacheReadInputTokens > 0 {
		n := u.CacheReadInputTokens
		out.CacheReadInputTokens = &n
	}
	if u.CacheCreationInputTokens > 0 {
		n := u.CacheCreationInputTokens
		out.CacheWriteInputTokens = &n
	}
	return out
}

// NewStream returns a decoder for one InvokeModelWithResponseStream answer
// of a Claude Messages model.
func (Claude) NewStream(req *converse.Request) ChunkDecoder {
	s := &claudeStream{blocks: map[int]string{}}
	if req != nil {
		s.paths = req.AdditionalModelResponseFieldPaths
	}
	return s
}

// claudeChunk is one decoded Claude stream chunk: an Anthropic SSE data
// object (§4.5 "Stream"), the last also carrying the invocation metrics.
type claudeChunk struct {
	Type    string `json:"type"`
	Message *struct {
		Usage *claudeUsage `json:"usage"`
	} `json:"message"`
	Index        int                `json:"index"`
	ContentBlock *claudeBlock       `json:"content_block"`
	Delta        json.RawMessage    `json:"delta"`
	Usage        *claudeUsage       `json:"usage"`
	Error        *claudeError       `json:"error"`
	Metrics      *InvocationMetrics `json:"amazon-bedrock-invocationMetrics"`
}

// claudeDelta is a content_block_delta's or a message_delta's delta.
type claudeDelta struct {
	Type        string  `json:"type"`
	Text        string  `json:"text"`
	PartialJSON string  `json:"partial_json"`
	Thinking    string  `json:"thinking"`
	Signature   string  `json:"signature"`
	StopReason  *string `json:"stop_reason"`
}

// claudeStream decodes one Claude Messages stream (§4.5 "Stream mapping"):
//   - message_start → messageStart; its usage.input_tokens is the input
//     count;
//   - content_block_start of a tool_use → contentBlockStart naming the
//     tool; text and thinking blocks get no start, as Bedrock sends none;
//     a redacted_thinking block's data is sent as a redactedContent delta;
//   - text_delta → text delta, input_json_delta → toolUse delta with the
//     fragment as it comes, thinking_delta and signature_delta →
//     reasoningContent deltas; empty fragments are not sent;
//   - content_block_stop → contentBlockStop;
//   - message_delta → messageStop with its stop_reason (1:1; a tool call
//     whose input is not checked here, so no malformed_tool_use) and the
//     additionalModelResponseFieldPaths read from its delta
//     ("/stop_sequence"); its usage.output_tokens is cumulative;
//   - message_stop → metadata: usage from message_start and message_delta,
//     else from amazon-bedrock-invocationMetrics, and the metrics'
//     invocationLatency as latencyMs;
//   - ping and unknown types are skipped; an error object ends the stream
//     with a ModelStreamErrorException carrying its message and status.
//
// Block indices are Anthropic's, which count the same way as Bedrock's.
type claudeStream struct {
	eventBuilder
	paths    []string
	blocks   map[int]string // open blocks by index: their native type
	usage    claudeUsage
	hasUsage bool
}

func (s *claudeStream) Next(chunk []byte) ([]converse.StreamEvent, error) {
	if !s.begin() {
		return nil, s.err
	}
	var c claudeChunk
	if err := json.Unmarshal(chunk, &c); err != nil {
		return nil, s.failf(MsgMalformedStream)
	}
	if c.Type == "error" || c.Error != nil {
		e := &converse.Error{Kind: converse.KindModelStreamError, Message: MsgStreamEnded}
		if c.Error != nil {
			e.Message = "The model returned the following errors: " + c.Error.Message
			e.OriginalMessage, e.OriginalStatusCode = c.Error.Message, claudeErrorStatus(c.Error.Type)
		}
		return nil, s.fail(e)
	}
	switch c.Type {
	case "message_start":
		s.start()
		if c.Message != nil && c.Message.Usage != nil {
			s.usage.InputTokens = c.Message.Usage.InputTokens
			s.usage.CacheReadInputTokens = c.Message.Usage.CacheReadInputTokens
			s.usage.CacheCreationInputTokens = c.Message.Usage.CacheCreationInputTokens
			s.usage.OutputTokens = c.Message.Usage.OutputTokens
			s.hasUsage = true
		}
	case "content_block_start":
		s.start()
		if c.ContentBlock != nil && !s.stopped {
			s.blockStart(c.Index, c.ContentBlock)
		}
	case "content_block_delta":
		s.start()
		var d claudeDelta
		if json.Unmarshal(c.Delta, &d) != nil {
			return nil, s.failf(MsgMalformedStream)
		}
		if !s.stopped {
			s.blockDelta(c.Index, &d)
		}
	case "content_block_stop":
		if _, open := s.blocks[c.Index]; open {
			delete(s.blocks, c.Index)
			s.blockStop(c.Index)
		}
	case "message_delta":
		s.start()
		if c.Usage != nil {
			s.usage.OutputTokens = c.Usage.OutputTokens
			s.hasUsage = true
		}
		var d claudeDelta
		if len(c.Delta) > 0 && json.Unmarshal(c.Delta, &d) != nil {
			return nil, s.failf(MsgMalformedStream)
		}
		if d.StopReason != nil && *d.StopReason != "" {
			s.stop(converse.StopReason(*d.StopReason), ResponseFields(c.Delta, s.paths))
		}
	case "message_stop":
		s.start()
		s.stop(converse.StopEndTurn, nil) // no-op after message_delta
		s.finish(c.Metrics)
	}
	return s.out, nil
}

// blockStart opens a block: a tool_use block gets its contentBlockStart,
// a redacted_thinking block sends its data at once; a block kind Converse
// has no member for (a server tool's call or result) is skipped, its
// deltas and stop with it.
func (s *claudeStream) blockStart(index int, b *claudeBlock) {
	switch b.Type {
	case "text", "tool_use", "thinking", "redacted_thinking":
		s.blocks[index] = b.Type
	}
	switch b.Type {
	case "tool_use":
		s.toolStart(index, b.ID, b.Name)
	case "text":
		if b.Text != nil && *b.Text != "" {
			s.delta(index, converse.Delta{Text: b.Text})
		}
	case "redacted_thinking":
		s.delta(index, converse.Delta{ReasoningContent: &converse.ReasoningDelta{RedactedContent: []byte(b.Data)}})
	}
}

// blockDelta sends one content_block_delta's fragment, if not empty.
func (s *claudeStream) blockDelta(index int, d *claudeDelta) {
	if _, open := s.blocks[index]; !open {
		kind := claudeDeltaBlock(d.Type)
		if kind == "" {
			return
		}
		s.blocks[index] = kind
	}
	switch {
	case d.Type == "text_delta" && d.Text != "":
		s.delta(index, converse.Delta{Text: &d.Text})
	case d.Type == "input_json_delta" && d.PartialJSON != "":
		s.toolInput(index, d.PartialJSON)
	case d.Type == "thinking_delta" && d.Thinking != "":
		s.delta(index, converse.Delta{ReasoningContent: &converse.ReasoningDelta{Text: &d.Thinking}})
	case d.Type == "signature_delta" && d.Signature != "":
		s.delta(index, converse.Delta{ReasoningContent: &converse.ReasoningDelta{Signature: &d.Signature}})
	}
}

// claudeDeltaBlock is the block type a delta belongs to, for a delta whose
// block never had a content_block_start; "" for a delta Converse has no
// member for.
func claudeDeltaBlock(deltaType string) string {
	switch deltaType {
	case "input_json_delta":
		return "tool_use"
	case "thinking_delta", "signature_delta":
		return "thinking"
	case "text_delta":
		return "text"
	}
	return ""
}

// End returns the closing events not yet sent. A stream that stopped
// (message_delta with a stop reason) but lost its message_stop ends
// normally with the usage seen; one that never stopped is a
// ModelStreamErrorException with MsgStreamEnded.
func (s *claudeStream) End() ([]converse.StreamEvent, error) {
	return s.end(s.usageOf(nil))
}

// stop closes the blocks still open, in index order, and sends
// messageStop once.
func (s *claudeStream) stop(reason converse.StopReason, fields json.RawMessage) {
	if s.stopped {
		return
	}
	for len(s.blocks) > 0 {
		first := -1
		for i := range s.blocks {
			if first < 0 || i < first {
				first = i
			}
		}
		delete(s.blocks, first)
		s.blockStop(first)
	}
	s.eventBuilder.stop(reason, fields)
}

// finish sends metadata.
func (s *claudeStream) finish(m *InvocationMetrics) {
	s.metadata(s.usageOf(m))
}

// usageOf is the stream's usage and latency: the usage from the chunks,
// else from the invocation metrics m, if any (nil at End), and m's
// invocationLatency.
func (s *claudeStream) usageOf(m *InvocationMetrics) (converse.Usage, int64) {
	var u converse.Usage
	switch {
	case s.hasUsage:
		u = claudeUsageOf(s.usage)
	case m != nil:
		u = m.usage()
	}
	if m == nil {
		return u, 0
	}
	return u, m.InvocationLatency
}
