package codec

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/converse-project/converse"
)

// MistralChat is the codec of family "mistral.chat": Mistral Large (24.02,
// 24.07) and Mistral Small through Bedrock's Mistral chat completion body
// (model-families.md §4.11). The zero value is ready to use.
//
// The native request is {messages, tools, tool_choice, max_tokens,
// temperature, top_p}, with system prompts as "system" messages, assistant
// tool calls as tool_calls and tool results as "tool" messages. The native
// response is choices[0].message with a stop reason that Bedrock's page
// calls stop_reason and clients read as finish_reason (§6 row 14): both
// are read. Bedrock sends no token counts in the body (§4.12: they travel
// in headers); usage is read when the body has it and left zero otherwise.
type MistralChat struct{}

var _ Family = MistralChat{}

// The native Mistral chat shapes (§4.11): only the members this codec
// writes or reads.
type (
	mistralRequest struct {
		Messages    []mistralMessage `json:"messages"`
		Tools       []mistralTool    `json:"tools,omitempty"`
		ToolChoice  string           `json:"tool_choice,omitempty"`
		MaxTokens   *int             `json:"max_tokens,omitempty"`
		Temperature *float64         `json:"temperature,omitempty"`
		TopP        *float64         `json:"top_p,omitempty"`
		Stop        []string         `json:"stop,omitempty"`
	}
	mistralMessage struct {
		Role       string            `json:"role"`
		Content    string            `json:"content"`
		ToolCalls  []mistralToolCall `json:"tool_calls,omitempty"`
		ToolCallID string            `json:"tool_call_id,omitempty"`
	}
	mistralToolCall struct {
		ID       string              `json:"id"`
		Function mistralFunctionCall `json:"function"`
	}
	mistralFunctionCall struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	mistralTool struct {
		Type     string          `json:"type"`
		Function mistralFunction `json:"function"`
	}
	mistralFunction struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	}
)

// Request builds the native body for req (§4.11 "Converse mapping"):
//   - system blocks become one leading "system" message, texts joined with
//     "\n"; a mid-conversation system-role message becomes a "system"
//     message in place;
//   - a turn's text is its text blocks (and guardContent text,
//     citationsContent text, framed searchResults) joined with "\n";
//     documents are framed by documentText and placed before the turn's
//     text (document chat is gated per model by converse.Validate);
//   - toolUse blocks become the assistant message's tool_calls (content ""
//     as in Bedrock's example), the input as a JSON string; each
//     toolResult becomes a "tool" message placed before the rest of its
//     user turn, its texts joined with "\n" and json content as compact
//     JSON text; a result's status has no native member and is not sent;
//   - tool call ids are re-minted to the 9 characters [a-zA-Z0-9] Mistral
//     requires (§4.11, §4.13 C) by mistralToolID, the same way for a call
//     and its result; ids that already fit are kept, so ids the model
//     minted round-trip unchanged;
//   - maxTokens, temperature, topP become max_tokens, temperature, top_p,
//     omitted when unset; stopSequences become "stop": Bedrock's chat
//     schema lists no stop field [U], but Mistral's API takes one and the
//     Mistral text schema names it so (our choice, pinned by the golden
//     case stop-sequences-and-additional-fields);
//   - toolSpecs become function tools; toolChoice auto → "auto", any →
//     "any", tool → rejected (the native tool_choice has no named form);
//   - additionalModelRequestFields are merged at the top level, theirs
//     winning.
//
// Images, video, audio, system tools, structured output and tool additions
// are rejected with a ValidationException; reasoningContent in assistant
// history and cache points carry nothing the format can hold and are
// skipped.
func (MistralChat) Request(req *converse.Request) ([]byte, error) {
	out := mistralRequest{Messages: []mistralMessage{}}
	sys, err := systemText(req.System)
	if err != nil {
		return nil, err
	}
	if sys != "" {
		out.Messages = append(out.Messages, mistralMessage{Role: "system", Content: sys})
	}
	for i := range req.Messages {
		msgs, err := mistralMessages(&req.Messages[i], fmt.Sprintf("messages.%d", i))
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	if ic := req.InferenceConfig; ic != nil {
		out.MaxTokens, out.Temperature, out.TopP, out.Stop = ic.MaxTokens, ic.Temperature, ic.TopP, ic.StopSequences
	}
	if tc := req.ToolConfig; tc != nil {
		if err := mistralTools(tc, &out); err != nil {
			return nil, err
		}
	}
	if err := mistralRejectOutputConfig(req); err != nil {
		return nil, err
	}
	body, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("codec: encode mistral chat request: %w", err)
	}
	if len(req.AdditionalModelRequestFields) > 0 && string(req.AdditionalModelRequestFields) != "null" {
		return mergeFields(body, req.AdditionalModelRequestFields)
	}
	return body, nil
}

// mistralRejectOutputConfig refuses structured output for families whose native
// body has no member for it.
func mistralRejectOutputConfig(req *converse.Request) error {
	if oc := req.OutputConfig; oc != nil && oc.TextFormat != nil {
		return converse.Errorf(converse.KindValidation, "This model doesn't support the outputConfig.textFormat field. Remove outputConfig.textFormat and try again.")
	}
	return nil
}

// mistralMessages returns the native messages for one Converse message:
// one, preceded by one "tool" message per tool result.
func mistralMessages(m *converse.Message, path string) ([]mistralMessage, error) {
	if m.Role != converse.RoleUser && m.Role != converse.RoleAssistant && m.Role != converse.RoleSystem {
		return nil, converse.Errorf(converse.KindValidation, "The role at %s.role isn't supported. Use user or assistant and try again.", path)
	}
	var (
		tools       []mistralMessage
		docs, texts []string
		calls       []mistralToolCall
	)
	for j := range m.Content {
		b, at := &m.Content[j], fmt.Sprintf("%s.content.%d", path, j)
		switch {
		case b.Text != nil:
			texts = append(texts, *b.Text)
		case b.GuardContent != nil && b.GuardContent.Text != nil:
			texts = append(texts, b.GuardContent.Text.Text)
		case b.Document != nil:
			s, err := documentText(b.Document, at+".document")
			if err != nil {
				return nil, err
			}
			docs = append(docs, s)
		case b.SearchResult != nil:
			texts = append(texts, searchResultText(b.SearchResult))
		case b.CitationsContent != nil:
			for _, c := range b.CitationsContent.Content {
				if c.Text != nil {
					texts = append(texts, *c.Text)
				}
			}
		case b.ToolUse != nil:
			args, err := mistralArguments(b.ToolUse.Input, at)
			if err != nil {
				return nil, err
			}
			calls = append(calls, mistralToolCall{ID: mistralToolID(b.ToolUse.ToolUseID), Function: mistralFunctionCall{Name: b.ToolUse.Name, Arguments: args}})
		case b.ToolResult != nil:
			msg, err := mistralToolResult(b.ToolResult, at+".toolResult")
			if err != nil {
				return nil, err
			}
			tools = append(tools, msg)
		case b.CachePoint != nil, b.ReasoningContent != nil:
			// No content to carry, or no native member to carry it in.
		case b.GuardContent != nil:
			return nil, unsupportedBlock("image")
		default:
			return nil, unsupportedBlock(b.Kind())
		}
	}
	out := tools
	if len(docs)+len(texts) > 0 || len(calls) > 0 {
		content := strings.Join(append(docs, texts...), "\n")
		out = append(out, mistralMessage{Role: string(m.Role), Content: content, ToolCalls: calls})
	}
	return out, nil
}

// mistralArguments returns a tool call's input as compact JSON text; no
// input is the empty object.
func mistralArguments(in json.RawMessage, at string) (string, error) {
	if len(in) == 0 || string(in) == "null" {
		return "{}", nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, in); err != nil {
		return "", converse.Errorf(converse.KindValidation, "The input field at %s.toolUse.input is not valid JSON.", at)
	}
	return buf.String(), nil
}

// mistralToolResult returns the "tool" message answering one tool call.
func mistralToolResult(r *converse.ToolResultBlock, at string) (mistralMessage, error) {
	text, err := toolResultText(r, at)
	if err != nil {
		return mistralMessage{}, err
	}
	return mistralMessage{Role: "tool", ToolCallID: mistralToolID(r.ToolUseID), Content: text}, nil
}

// mistralTools sets tools and tool_choice.
func mistralTools(tc *converse.ToolConfig, out *mistralRequest) error {
	for i, t := range tc.Tools {
		switch {
		case t.ToolSpec != nil:
			f := mistralFunction{Name: t.ToolSpec.Name}
			if t.ToolSpec.Description != nil {
				f.Description = *t.ToolSpec.Description
			}
			if t.ToolSpec.InputSchema != nil {
				f.Parameters = t.ToolSpec.InputSchema.JSON
			}
			out.Tools = append(out.Tools, mistralTool{Type: "function", Function: f})
		case t.SystemTool != nil:
			return converse.Errorf(converse.KindValidation, "This model doesn't support the toolConfig.tools.%d.systemTool field. Remove toolConfig.tools.%d.systemTool and try again.", i, i)
		}
	}
	switch c := tc.ToolChoice; {
	case c == nil:
	case c.Auto != nil:
		out.ToolChoice = "auto"
	case c.Any != nil:
		out.ToolChoice = "any"
	case c.Tool != nil:
		return converse.Errorf(converse.KindValidation, "This model doesn't support the toolConfig.toolChoice.tool field. Remove toolConfig.toolChoice.tool and try again.")
	}
	return nil
}

// mistralIDAlphabet is what Mistral allows in a tool call id.
const mistralIDAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// mistralToolID returns a tool call id Mistral accepts: exactly 9
// characters of [a-zA-Z0-9] (§4.11). An id that already fits is kept;
// any other (a Bedrock "tooluse_…" id from another family, say) is mapped
// to 9 characters drawn from its SHA-256, so that a call and its result,
// sent in the same request, get the same id without the codec keeping
// state. Two different ids collide with probability about 62^-9.
func mistralToolID(id string) string {
	if len(id) == 9 && strings.Trim(id, mistralIDAlphabet) == "" {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	var b [9]byte
	for i := range b {
		b[i] = mistralIDAlphabet[int(sum[i])%len(mistralIDAlphabet)]
	}
	return string(b[:])
}

// mistralResponse is Bedrock's Mistral chat answer, or one stream chunk.
type mistralResponse struct {
	Choices []mistralChoice `json:"choices"`
	Usage   *oaiUsage       `json:"usage"`
}

// mistralChoice carries the message under "message" (Bedrock's answer and
// chunks) or "delta" (vendor-style chunks), and the stop reason under
// "stop_reason" or "finish_reason" (§6 row 14).
type mistralChoice struct {
	Index        int           `json:"index"`
	Message      *mistralReply `json:"message"`
	Delta        *mistralReply `json:"delta"`
	StopReason   *string       `json:"stop_reason"`
	FinishReason *string       `json:"finish_reason"`
}

func (c *mistralChoice) reply() *mistralReply {
	if c.Message != nil {
		return c.Message
	}
	return c.Delta
}

func (c *mistralChoice) reason() string {
	switch {
	case c.StopReason != nil && *c.StopReason != "":
		return *c.StopReason
	case c.FinishReason != nil:
		return *c.FinishReason
	}
	return ""
}

type mistralReply struct {
	Content   mistralText            `json:"content"`
	ToolCalls []mistralToolCallReply `json:"tool_calls"`
}

// mistralToolCallReply is a tool call as the model sends it: arguments
// are a JSON string, or (Mistral's API allows it) a JSON object.
type mistralToolCallReply struct {
	ID       string `json:"id"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// mistralText is message content: a string, or an array of chunks whose
// "text" members are joined (newer Mistral models answer so).
type mistralText string

func (t *mistralText) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = ""
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var parts []struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var s strings.Builder
		for _, p := range parts {
			s.WriteString(p.Text)
		}
		*t = mistralText(s.String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = mistralText(s)
	return nil
}

// Response reads Bedrock's Mistral chat answer: choices[0].message's
// content becomes a text block and each tool call a toolUse block, its
// arguments parsed as the input (arguments that are not a JSON object give
// the input {} and the stop reason malformed_tool_use; a call without an
// id gets "tooluse_<n>"); an answer with neither holds one empty text
// block, as Bedrock always returns content. The stop reason maps stop →
// end_turn, length (and Mistral's model_length) → max_tokens, tool_calls
// (or any answer with tool calls) → tool_use; other values pass through.
// A stop caused by a stop sequence reads as "stop" natively and so gives
// end_turn: the model does not say which string matched. Usage comes from
// a "usage" member or "amazon-bedrock-invocationMetrics" when the body has
// one, and is otherwise left zero for the caller to fill from the headers.
//
// A body that is not such an answer is a ModelErrorException.
func (MistralChat) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	var r mistralResponse
	if err := json.Unmarshal(body, &r); err != nil || len(r.Choices) == 0 || r.Choices[0].reply() == nil {
		return nil, converse.Errorf(converse.KindModelError, MsgMalformedReply)
	}
	ch := &r.Choices[0]
	msg := &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{}}
	if c := ch.reply().Content; c != "" {
		msg.Content = append(msg.Content, converse.TextBlock(string(c)))
	}
	malformed := false
	for i, tc := range ch.reply().ToolCalls {
		in, ok := mistralToolInput(tc.Function.Arguments)
		malformed = malformed || !ok
		msg.Content = append(msg.Content, converse.Block{ToolUse: &converse.ToolUseBlock{ToolUseID: mistralReplyID(tc.ID, i), Name: tc.Function.Name, Input: in}})
	}
	if len(msg.Content) == 0 {
		msg.Content = append(msg.Content, converse.TextBlock(""))
	}
	resp := &converse.Response{Output: converse.Output{Message: msg}}
	resp.StopReason = mistralStopReason(ch.reason(), len(ch.reply().ToolCalls) > 0)
	if malformed && resp.StopReason == converse.StopToolUse {
		resp.StopReason = converse.StopMalformedToolUse
	}
	if r.Usage != nil {
		resp.Usage = usage(r.Usage)
	} else if m, ok := invocationMetrics(body); ok {
		resp.Usage = m.usage()
	}
	resp.AdditionalModelResponseFields = ResponseFields(body, req.AdditionalModelResponseFieldPaths)
	return resp, nil
}

func mistralReplyID(id string, i int) string {
	if id == "" || id == "null" { // Mistral's SDK defaults a missing id to "null"
		return fmt.Sprintf("tooluse_%d", i)
	}
	return id
}

// mistralToolInput parses tool call arguments, a JSON string or object.
func mistralToolInput(args json.RawMessage) (json.RawMessage, bool) {
	args = bytes.TrimSpace(args)
	if len(args) > 0 && args[0] == '"' {
		var s string
		if json.Unmarshal(args, &s) != nil {
			return json.RawMessage("{}"), false
		}
		return toolInput(s)
	}
	if len(args) == 0 || string(args) == "null" {
		return json.RawMessage("{}"), true
	}
	return toolInput(string(args))
}

// mistralStopReason maps a native stop reason (§4.12).
func mistralStopReason(reason string, toolCalls bool) converse.StopReason {
	switch {
	case reason == "length" || reason == "model_length":
		return converse.StopMaxTokens
	case toolCalls || reason == "tool_calls":
		return converse.StopToolUse
	case reason == "stop" || reason == "":
		return converse.StopEndTurn
	}
	return converse.StopReason(reason)
}

// NewStream returns a decoder for Bedrock's Mistral chat stream chunks
// (§4.11): {"choices":[{"index":0,"message":{"role","content"},
// "stop_reason":null}]}, the last with a stop reason and
// "amazon-bedrock-invocationMetrics". "delta" and "finish_reason" are read
// too (§6 row 14).
//
// Text becomes text deltas of block 0 (no contentBlockStart, as Bedrock
// does for text; empty strings give no delta); a tool call, which arrives
// whole in one chunk, becomes a contentBlockStart, one toolUse delta with
// its arguments and a contentBlockStop (Validate rejects tools on
// ConverseStream for these models, but a native stream may still carry
// them). The chunk with the stop reason closes the open block and sends
// messageStop; metadata follows at End, with usage from the invocation
// metrics (or a usage member) of any chunk and latencyMs from
// invocationLatency. A stream that ends before a stop reason fails at End
// with a ModelStreamErrorException.
func (MistralChat) NewStream(req *converse.Request) ChunkDecoder {
	return &mistralStream{}
}

// mistralStream is the state of one Mistral chat stream.
type mistralStream struct {
	eventBuilder
	tools     int // tool call blocks sent
	malformed bool
	usage     converse.Usage
	latency   int64
}

// Next decodes one chunk. A chunk that is not JSON ends the stream with a
// ModelStreamErrorException; after an error every call returns it again.
// Chunks after the stop reason only contribute usage.
func (s *mistralStream) Next(chunk []byte) ([]converse.StreamEvent, error) {
	if !s.begin() {
		return nil, s.err
	}
	var c mistralResponse
	if err := json.Unmarshal(chunk, &c); err != nil {
		return nil, s.failf(MsgMalformedStream)
	}
	if m, ok := invocationMetrics(chunk); ok {
		s.usage, s.latency = m.usage(), m.InvocationLatency
	} else if c.Usage != nil {
		s.usage = usage(c.Usage)
	}
	if s.stopped {
		return s.out, nil
	}
	s.start()
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue // Converse has one choice
		}
		if r := ch.reply(); r != nil {
			if r.Content != "" {
				s.text(string(r.Content))
			}
			for _, tc := range r.ToolCalls {
				s.toolCall(tc)
			}
		}
		if reason := ch.reason(); reason != "" {
			s.finish(reason)
			break
		}
	}
	return s.out, nil
}

// End sends metadata, or fails when no stop reason arrived.
func (s *mistralStream) End() ([]converse.StreamEvent, error) {
	return s.end(s.usage, s.latency)
}

// toolCall sends one whole tool call as its own block.
func (s *mistralStream) toolCall(tc mistralToolCallReply) {
	in, ok := mistralToolInput(tc.Function.Arguments)
	s.malformed = s.malformed || !ok
	i := s.openTool(mistralReplyID(tc.ID, s.tools), tc.Function.Name)
	s.toolInput(i, string(in))
	s.closeBlock()
	s.tools++
}

// finish closes the open block and sends messageStop. An answer without
// any content gets one empty text block, as Response gives it.
func (s *mistralStream) finish(reason string) {
	s.emptyText()
	stop := mistralStopReason(reason, s.tools > 0)
	if s.malformed && stop == converse.StopToolUse {
		stop = converse.StopMalformedToolUse
	}
	s.stop(stop, nil)
}
