package upstreamtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// AnthropicReply scripts the answer to one request, on either endpoint.
// The zero AnthropicReply answers the empty text with stop reason
// "end_turn" (Messages) or "stop_sequence" on "\n\nHuman:" (Complete).
type AnthropicReply struct {
	Text     string             // the assistant's text (Complete: the completion)
	Chunks   int                // streamed: the text is sent in this many deltas (default 1)
	ToolUses []AnthropicToolUse // tool_use blocks after the text (Messages only)

	// StopReason is the stop_reason; "" means "tool_use" when there are
	// tool uses and "end_turn" otherwise (Messages), "stop_sequence"
	// (Complete). StopSequence is the matched stop sequence; Complete
	// reports "\n\nHuman:" for a stop_sequence stop when it is empty.
	StopReason   string
	StopSequence string

	InputTokens, OutputTokens int // usage (Messages only: Complete reports none)

	// Faults. Status answers that HTTP status with Anthropic's error JSON
	// carrying Message (a default per status when empty) and the error
	// type Anthropic uses for the status (429 rate_limit_error, 529
	// overloaded_error, …). Malformed answers 200 with a body (or,
	// streamed, an event) that is not JSON. CutAfter closes a stream's
	// connection after that many events. StreamError ends a stream, after
	// the text, with an error event of type overloaded_error carrying this
	// message. Hang sends the first HangAfter events of a stream (default
	// 2), or nothing when not streaming, then waits for the client to go
	// away and records it (see Cancelled).
	Status      int
	Message     string
	Malformed   bool
	CutAfter    int
	StreamError string
	Hang        bool
	HangAfter   int
}

// AnthropicToolUse is one tool_use block of a reply. Input is its JSON
// object; streamed, it is sent in Fragments input_json_delta pieces
// (default 2) after Anthropic's leading empty one.
type AnthropicToolUse struct {
	ID, Name, Input string
	Fragments       int
}

// AnthropicServer is a fake Anthropic API: POST /v1/messages and the
// legacy POST /v1/complete (model-families.md §5.1), JSON or server-sent
// events with the real event names and shapes. It requires the x-api-key
// and anthropic-version headers and rejects malformed requests with
// Anthropic's 400 invalid_request_error. Its methods are safe for
// concurrent use.
type AnthropicServer struct {
	// URL is the API base without /v1, as Anthropic's SDKs take it.
	URL string

	// scripted's RequireKey makes the server accept only x-api-key: key;
	// by default any non-empty key is accepted.
	scripted[AnthropicReply]
	header http.Header // of the latest request, under scripted's mu
	path   string
}

// NewAnthropic starts a server on 127.0.0.1 that answers with replies in
// order, then with AnthropicReply{Text: "Hello."}; it is closed when the
// test ends.
func NewAnthropic(t testing.TB, replies ...AnthropicReply) *AnthropicServer {
	t.Helper()
	s := &AnthropicServer{scripted: newScripted(replies, AnthropicReply{Text: "Hello."}, "")}
	s.URL = s.start(t, s.serve)
	return s
}

// LastHeader returns the headers of the latest request received.
func (s *AnthropicServer) LastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.header.Clone()
}

// LastPath returns the URL path of the latest request received.
func (s *AnthropicServer) LastPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path
}

func (s *AnthropicServer) serve(w http.ResponseWriter, r *http.Request) {
	// Reading the whole body also lets net/http notice a client that goes
	// away later.
	body, err := io.ReadAll(r.Body)
	reply, key := s.take(body)
	s.mu.Lock()
	s.header, s.path = r.Header.Clone(), r.URL.Path
	s.mu.Unlock()
	if err != nil {
		return
	}
	complete := r.URL.Path == "/v1/complete"
	if r.Method != http.MethodPost || (r.URL.Path != "/v1/messages" && !complete) {
		anthropicError(w, http.StatusNotFound, "not_found_error", "Not found")
		return
	}
	if got := r.Header.Get("x-api-key"); got == "" {
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
		return
	} else if key != "" && got != key {
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	var (
		req anthropicRequest
		msg string
	)
	if complete {
		req, msg = anthropicCheckComplete(r.Header.Get("Content-Type"), body)
	} else {
		req, msg = anthropicCheckMessages(r.Header.Get("Content-Type"), body)
	}
	if msg != "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	if reply.Status != 0 {
		typ := anthropicErrorType(reply.Status)
		m := reply.Message
		if m == "" {
			m = http.StatusText(reply.Status)
			if reply.Status == 529 {
				m = "Overloaded"
			}
		}
		if reply.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		anthropicError(w, reply.Status, typ, m)
		return
	}
	var events []anthropicEvent
	if complete {
		events = anthropicCompleteEvents(req.Model, reply)
	} else {
		events = anthropicMessageEvents(req.Model, reply)
	}
	if req.Stream {
		s.stream(w, r, events, reply)
		return
	}
	if reply.Hang {
		s.hang(r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.Malformed {
		io.WriteString(w, `{"type":"message","content":[`)
		return
	}
	if complete {
		json.NewEncoder(w).Encode(anthropicCompletion(req.Model, reply))
		return
	}
	json.NewEncoder(w).Encode(anthropicMessage(req.Model, reply, true))
}

// anthropicError writes Anthropic's error JSON.
func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}

// anthropicErrorType is the error type Anthropic answers a status with.
func anthropicErrorType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	}
	return "api_error"
}

func anthropicStopReason(r AnthropicReply) string {
	switch {
	case r.StopReason != "":
		return r.StopReason
	case len(r.ToolUses) > 0:
		return "tool_use"
	}
	return "end_turn"
}

// anthropicMessage is the Message object answering a request; final says
// whether it is the finished answer (or message_start's empty shell).
func anthropicMessage(model string, r AnthropicReply, final bool) map[string]any {
	content := []any{}
	var stop, stopSeq any
	usage := map[string]any{"input_tokens": r.InputTokens, "output_tokens": 1}
	if final {
		if r.Text != "" || len(r.ToolUses) == 0 {
			content = append(content, map[string]any{"type": "text", "text": r.Text})
		}
		for _, tu := range r.ToolUses {
			content = append(content, map[string]any{"type": "tool_use", "id": tu.ID, "name": tu.Name, "input": json.RawMessage(tu.Input)})
		}
		stop = anthropicStopReason(r)
		if r.StopSequence != "" {
			stopSeq = r.StopSequence
		}
		usage["output_tokens"] = r.OutputTokens
	}
	return map[string]any{"id": "msg_upstreamtest", "type": "message", "role": "assistant", "model": model,
		"content": content, "stop_reason": stop, "stop_sequence": stopSeq, "usage": usage}
}

// anthropicCompletion is the legacy Completion object.
func anthropicCompletion(model string, r AnthropicReply) map[string]any {
	reason, stop := anthropicCompleteStop(r)
	return map[string]any{"type": "completion", "id": "compl_upstreamtest", "completion": r.Text, "stop_reason": reason, "stop": stop, "model": model}
}

func anthropicCompleteStop(r AnthropicReply) (reason string, stop any) {
	reason = r.StopReason
	if reason == "" {
		reason = "stop_sequence"
	}
	if reason == "stop_sequence" {
		stop = "\n\nHuman:"
		if r.StopSequence != "" {
			stop = r.StopSequence
		}
	}
	return reason, stop
}

// anthropicEvent is one server-sent event: its name and data.
type anthropicEvent struct {
	name string
	data string
}

func anthropicEventOf(name string, v any) anthropicEvent {
	b, _ := json.Marshal(v)
	return anthropicEvent{name, string(b)}
}

// anthropicMessageEvents is the Messages stream answering a request, as
// Anthropic sends it: message_start, a ping, each block's start, deltas and
// stop, message_delta (cumulative output tokens), message_stop.
func anthropicMessageEvents(model string, r AnthropicReply) []anthropicEvent {
	evs := []anthropicEvent{
		anthropicEventOf("message_start", map[string]any{"type": "message_start", "message": anthropicMessage(model, r, false)}),
		anthropicEventOf("ping", map[string]any{"type": "ping"}),
	}
	index := 0
	if r.Text != "" || len(r.ToolUses) == 0 {
		evs = append(evs, anthropicEventOf("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}))
		if r.Malformed {
			evs = append(evs, anthropicEvent{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":`})
		}
		for _, part := range split(r.Text, r.Chunks) {
			evs = append(evs, anthropicEventOf("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": part}}))
		}
		evs = append(evs, anthropicEventOf("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}))
		index++
	}
	if r.StreamError != "" {
		return append(evs, anthropicEventOf("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": r.StreamError}}))
	}
	for _, tu := range r.ToolUses {
		evs = append(evs, anthropicEventOf("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "tool_use", "id": tu.ID, "name": tu.Name, "input": map[string]any{}}}))
		n := tu.Fragments
		if n == 0 {
			n = 2
		}
		for _, frag := range append([]string{""}, split(tu.Input, n)...) {
			evs = append(evs, anthropicEventOf("content_block_delta", map[string]any{"type": "content_block_delta", "index": index, "delta": map[string]any{"type": "input_json_delta", "partial_json": frag}}))
		}
		evs = append(evs, anthropicEventOf("content_block_stop", map[string]any{"type": "content_block_stop", "index": index}))
		index++
	}
	var stopSeq any
	if r.StopSequence != "" {
		stopSeq = r.StopSequence
	}
	return append(evs,
		anthropicEventOf("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": anthropicStopReason(r), "stop_sequence": stopSeq}, "usage": map[string]any{"output_tokens": r.OutputTokens}}),
		anthropicEventOf("message_stop", map[string]any{"type": "message_stop"}))
}

// anthropicCompleteEvents is the legacy Complete stream: completion events
// with a text fragment each, the last carrying the stop reason.
func anthropicCompleteEvents(model string, r AnthropicReply) []anthropicEvent {
	completion := func(text string, reason, stop any) anthropicEvent {
		return anthropicEventOf("completion", map[string]any{"type": "completion", "completion": text, "stop_reason": reason, "stop": stop, "model": model})
	}
	evs := []anthropicEvent{anthropicEventOf("ping", map[string]any{"type": "ping"})}
	if r.Malformed {
		evs = append(evs, anthropicEvent{"completion", `{"type":"completion","completion":`})
	}
	for _, part := range split(r.Text, r.Chunks) {
		evs = append(evs, completion(part, nil, nil))
	}
	if r.StreamError != "" {
		return append(evs, anthropicEventOf("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": r.StreamError}}))
	}
	reason, stop := anthropicCompleteStop(r)
	return append(evs, completion("", reason, stop))
}

// stream answers with server-sent events, flushing each.
func (s *AnthropicServer) stream(w http.ResponseWriter, r *http.Request, events []anthropicEvent, reply AnthropicReply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	frames := make([]string, len(events))
	for i, ev := range events {
		frames[i] = "event: " + ev.name + "\ndata: " + ev.data + "\n\n"
	}
	s.sendFrames(w, r, frames, reply.Hang, reply.HangAfter, 2, reply.CutAfter)
}

// anthropicRequest is what the server needs from a valid request.
type anthropicRequest struct {
	Model  string
	Stream bool
}

// anthropicCheckCommon checks what both endpoints share: a JSON object
// with model, no anthropic_version (that is Bedrock's body member; the API
// takes the version as a header), and typed sampling parameters.
func anthropicCheckCommon(contentType string, body []byte, maxKey string) (anthropicRequest, map[string]any, string) {
	var req anthropicRequest
	if !strings.HasPrefix(contentType, "application/json") {
		return req, nil, "Content-Type must be application/json"
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return req, nil, "There was an issue with your request body: not valid JSON"
	}
	if _, ok := m["anthropic_version"]; ok {
		return req, nil, "anthropic_version: Extra inputs are not permitted"
	}
	model, ok := m["model"].(string)
	if !ok || model == "" {
		return req, nil, "model: Field required"
	}
	req.Model = model
	n, ok := m[maxKey].(float64)
	if !ok {
		return req, nil, maxKey + ": Field required"
	}
	if n < 1 || n != float64(int(n)) {
		return req, nil, maxKey + ": Input should be a positive integer"
	}
	if v, ok := m["stream"]; ok {
		if req.Stream, ok = v.(bool); !ok {
			return req, nil, "stream: Input should be a valid boolean"
		}
	}
	for _, k := range []string{"temperature", "top_p", "top_k"} {
		if v, ok := m[k]; ok {
			if _, ok := v.(float64); !ok {
				return req, nil, k + ": Input should be a valid number"
			}
		}
	}
	if v, ok := m["stop_sequences"]; ok {
		list, ok := v.([]any)
		if !ok {
			return req, nil, "stop_sequences: Input should be a valid list"
		}
		for i, x := range list {
			if _, ok := x.(string); !ok {
				return req, nil, fmt.Sprintf("stop_sequences.%d: Input should be a valid string", i)
			}
		}
	}
	return req, m, ""
}

// anthropicCheckComplete validates a legacy Complete request: the prompt
// must hold a "\n\nHuman:" turn and end with an "\n\nAssistant:" turn.
func anthropicCheckComplete(contentType string, body []byte) (anthropicRequest, string) {
	req, m, msg := anthropicCheckCommon(contentType, body, "max_tokens_to_sample")
	if msg != "" {
		return req, msg
	}
	prompt, ok := m["prompt"].(string)
	if !ok {
		return req, "prompt: Field required"
	}
	h, a := strings.LastIndex(prompt, "\n\nHuman:"), strings.LastIndex(prompt, "\n\nAssistant:")
	if h < 0 {
		return req, `prompt must contain "\n\nHuman:" turns`
	}
	if a < h {
		return req, `prompt must end with "\n\nAssistant:" turn`
	}
	return req, ""
}

// anthropicCheckMessages validates a Messages request as Anthropic does,
// with messages worded after Anthropic's.
func anthropicCheckMessages(contentType string, body []byte) (anthropicRequest, string) {
	req, m, msg := anthropicCheckCommon(contentType, body, "max_tokens")
	if msg != "" {
		return req, msg
	}
	msgs, ok := m["messages"].([]any)
	if !ok {
		return req, "messages: Field required"
	}
	if len(msgs) == 0 {
		return req, "messages: at least one message is required"
	}
	switch sys := m["system"].(type) {
	case nil, string:
	case []any:
		for i, b := range sys {
			bm, _ := b.(map[string]any)
			if _, ok := bm["text"].(string); bm["type"] != "text" || !ok {
				return req, fmt.Sprintf("system.%d: Input should be a text block", i)
			}
		}
	default:
		return req, "system: Input should be a valid string or list of text blocks"
	}
	var prevToolUses []string
	for i, v := range msgs {
		mm, _ := v.(map[string]any)
		role, _ := mm["role"].(string)
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if role != "user" && role != "assistant" {
			return req, fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if i == 0 && role != "user" {
			return req, `messages: first message must use the "user" role`
		}
		if role != want {
			return req, fmt.Sprintf(`messages: roles must alternate between "user" and "assistant", but found multiple %q roles in a row`, role)
		}
		uses, msg := anthropicCheckContent(mm["content"], role, fmt.Sprintf("messages.%d", i), prevToolUses, i == len(msgs)-1)
		if msg != "" {
			return req, msg
		}
		prevToolUses = uses
	}
	if v, ok := m["tools"]; ok {
		tools, ok := v.([]any)
		if !ok {
			return req, "tools: Input should be a valid list"
		}
		for i, t := range tools {
			tm, _ := t.(map[string]any)
			if name, _ := tm["name"].(string); name == "" {
				return req, fmt.Sprintf("tools.%d.name: Field required", i)
			}
			if _, ok := tm["input_schema"].(map[string]any); !ok {
				return req, fmt.Sprintf("tools.%d.input_schema: Field required", i)
			}
		}
	}
	if v, ok := m["tool_choice"]; ok {
		tc, _ := v.(map[string]any)
		switch tc["type"] {
		case "auto", "any", "none":
		case "tool":
			if name, _ := tc["name"].(string); name == "" {
				return req, "tool_choice.tool.name: Field required"
			}
		default:
			return req, "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
		}
	}
	return req, ""
}

// anthropicCheckContent checks one message's content and returns the ids
// of its tool_use blocks; tool results must answer the previous turn's.
func anthropicCheckContent(content any, role, at string, prevToolUses []string, last bool) ([]string, string) {
	var blocks []any
	switch c := content.(type) {
	case string:
		if c == "" && !(last && role == "assistant") {
			return nil, at + ": text content blocks must be non-empty"
		}
		if last && role == "assistant" && strings.TrimRight(c, " \t\r\n") != c {
			return nil, "final assistant content cannot end with trailing whitespace"
		}
		return nil, ""
	case []any:
		blocks = c
	default:
		return nil, at + ".content: Input should be a valid string or list of content blocks"
	}
	var uses []string
	for j, b := range blocks {
		bm, _ := b.(map[string]any)
		bat := fmt.Sprintf("%s.content.%d", at, j)
		switch bm["type"] {
		case "text":
			text, ok := bm["text"].(string)
			if !ok || text == "" {
				return nil, "messages: text content blocks must be non-empty"
			}
			if last && role == "assistant" && j == len(blocks)-1 && strings.TrimRight(text, " \t\r\n") != text {
				return nil, "messages: final assistant content cannot end with trailing whitespace"
			}
		case "image":
			if msg := anthropicCheckImage(bm, bat); msg != "" {
				return nil, msg
			}
		case "tool_use":
			id, _ := bm["id"].(string)
			name, _ := bm["name"].(string)
			if _, ok := bm["input"].(map[string]any); id == "" || name == "" || !ok {
				return nil, bat + ": tool_use blocks need an id, a name and an object input"
			}
			if role != "assistant" {
				return nil, bat + ": tool_use blocks are only allowed in assistant messages"
			}
			uses = append(uses, id)
		case "tool_result":
			id, _ := bm["tool_use_id"].(string)
			if role != "user" {
				return nil, bat + ": tool_result blocks are only allowed in user messages"
			}
			found := false
			for _, u := range prevToolUses {
				found = found || u == id
			}
			if !found {
				return nil, fmt.Sprintf("%s: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", at, id)
			}
			if v, ok := bm["is_error"]; ok {
				if _, ok := v.(bool); !ok {
					return nil, bat + ".is_error: Input should be a valid boolean"
				}
			}
			switch rc := bm["content"].(type) {
			case nil, string:
			case []any:
				for k, x := range rc {
					xm, _ := x.(map[string]any)
					switch xm["type"] {
					case "text":
						if _, ok := xm["text"].(string); !ok {
							return nil, fmt.Sprintf("%s.content.%d.text: Field required", bat, k)
						}
					case "image":
						if msg := anthropicCheckImage(xm, fmt.Sprintf("%s.content.%d", bat, k)); msg != "" {
							return nil, msg
						}
					default:
						return nil, fmt.Sprintf("%s.content.%d: Input tag '%v' does not match any of the expected tags: 'text', 'image'", bat, k, xm["type"])
					}
				}
			default:
				return nil, bat + ".content: Input should be a valid string or list"
			}
		case "document", "thinking", "redacted_thinking":
		default:
			return nil, fmt.Sprintf("%s.type: Input tag '%v' found using 'type' does not match any of the expected tags: 'text', 'image', 'tool_use', 'tool_result', 'document', 'thinking', 'redacted_thinking'", bat, bm["type"])
		}
	}
	if len(blocks) == 0 && !(last && role == "assistant") {
		return nil, at + ": all messages must have non-empty content except for the optional final assistant message"
	}
	return uses, ""
}

// anthropicCheckImage accepts base64 image sources of the four types
// Anthropic takes.
func anthropicCheckImage(bm map[string]any, at string) string {
	src, _ := bm["source"].(map[string]any)
	if src["type"] != "base64" {
		return at + ".source.type: Input tag does not match the expected tag: 'base64'"
	}
	switch src["media_type"] {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
	default:
		return fmt.Sprintf("%s.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", at)
	}
	data, _ := src["data"].(string)
	if _, err := base64.StdEncoding.DecodeString(data); err != nil || data == "" {
		return at + ".source.data: the image data is not valid base64"
	}
	return ""
}
