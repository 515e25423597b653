package upstreamtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// MistralKey is the API key a MistralServer requires until RequireKey
// changes it.
const MistralKey = "upstreamtest-mistral-key"

// MistralServer is a fake Mistral AI API serving POST /v1/chat/completions
// (model-families.md §5.4) in JSON and server-sent events, as La
// Plateforme does: a Bearer key is required, unknown request members are
// refused with 422 (Mistral's schema forbids extra inputs), tool call ids
// must be 9 characters of [a-zA-Z0-9], and the conversation must end with
// a user or tool message. Its methods are safe for concurrent use.
//
// Replies are scripted with Reply. Honoured: Text, Chunks, ToolCalls
// (streamed whole in one delta, as Mistral does; a call without an ID gets
// "call0000<n>"), FinishReason, PromptTokens, CompletionTokens, NoUsage,
// Status, Message, Malformed, CutAfter, Hang, HangAfter. StopReason and
// StreamError are not (Mistral has no such members).
type MistralServer struct {
	// URL is the API base without /v1, as Mistral's SDKs' server_url.
	URL string

	scripted[Reply]
}

// NewMistral starts a fake Mistral API on 127.0.0.1 that requires
// MistralKey and answers with replies in order, then with
// Reply{Text: "Hello."}; it is closed when the test ends.
func NewMistral(t testing.TB, replies ...Reply) *MistralServer {
	t.Helper()
	s := &MistralServer{scripted: newScripted(replies, Reply{Text: "Hello."}, MistralKey)}
	s.URL = s.start(t, s.serve)
	return s
}

func (s *MistralServer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body) // also lets net/http notice a client going away
	reply, key := s.take(body)
	if err != nil {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"detail":"Not Found"}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+key {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Unauthorized","request_id":"upstreamtest"}`)
		return
	}
	req, status, msg := mistralCheckRequest(r.Header.Get("Content-Type"), body)
	if status != 0 {
		mistralError(w, status, msg)
		return
	}
	if reply.Status != 0 {
		m := reply.Message
		if m == "" {
			m = http.StatusText(reply.Status)
		}
		if reply.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		mistralError(w, reply.Status, m)
		return
	}
	if req.stream {
		s.stream(w, r, req.model, reply)
		return
	}
	if reply.Hang {
		s.hang(r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.Malformed {
		io.WriteString(w, `{"choices":[{"message":`)
		return
	}
	json.NewEncoder(w).Encode(mistralCompletion(req.model, reply))
}

// mistralError writes Mistral's error JSON. A 422 carries FastAPI-style
// details in message, as Mistral's schema errors do.
func mistralError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var m any = msg
	typ := "invalid_request_error"
	switch {
	case status == http.StatusUnprocessableEntity:
		m = map[string]any{"detail": []any{map[string]any{"type": "value_error", "msg": msg}}}
		typ = "invalid_request_message_error"
	case status == http.StatusTooManyRequests:
		typ = "rate_limited"
	case status >= 500:
		typ = "internal_server_error"
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "error", "message": m, "type": typ, "param": nil, "code": nil})
}

func mistralCalls(r Reply, stream bool) []any {
	var calls []any
	for i, tc := range r.ToolCalls {
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call%05d", i)
		}
		c := map[string]any{"id": id, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Arguments}}
		if stream {
			c["index"] = i
		}
		calls = append(calls, c)
	}
	return calls
}

// mistralCompletion is the chat.completion object answering a request.
func mistralCompletion(model string, r Reply) map[string]any {
	msg := map[string]any{"role": "assistant", "content": r.Text, "tool_calls": nil, "prefix": false}
	if len(r.ToolCalls) > 0 {
		msg["tool_calls"] = mistralCalls(r, false)
	}
	out := map[string]any{"id": "cmpl-upstreamtest", "object": "chat.completion", "created": 1767225600, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finishReason(r)}}}
	if !r.NoUsage {
		out["usage"] = usage(r)
	}
	return out
}

// stream answers with server-sent events, flushing each: a role delta,
// the text deltas, one delta with all tool calls, the finish with usage,
// then [DONE].
func (s *MistralServer) stream(w http.ResponseWriter, r *http.Request, model string, reply Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "cmpl-upstreamtest", "object": "chat.completion.chunk", "created": 1767225600, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	var events []string
	add := func(v any) {
		b, _ := json.Marshal(v)
		events = append(events, string(b))
	}
	add(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	if reply.Malformed {
		events = append(events, `{"choices":[{"delta":`)
	}
	for _, part := range split(reply.Text, reply.Chunks) {
		add(chunk(map[string]any{"content": part}, nil))
	}
	if len(reply.ToolCalls) > 0 {
		add(chunk(map[string]any{"content": "", "tool_calls": mistralCalls(reply, true)}, nil))
	}
	last := chunk(map[string]any{"content": ""}, finishReason(reply))
	if !reply.NoUsage {
		last["usage"] = usage(reply)
	}
	add(last)
	events = append(events, "[DONE]")
	mistralSendEvents(&s.scripted, w, r, events, reply)
}

// mistralSendEvents writes events as server-sent events, flushing each, and
// plays the stream faults of reply: Hang (after HangAfter events, default
// 2) and CutAfter (the connection is closed after that many events).
func mistralSendEvents(s *scripted[Reply], w http.ResponseWriter, r *http.Request, events []string, reply Reply) {
	frames := make([]string, len(events))
	for i, ev := range events {
		frames[i] = "data: " + ev + "\n\n"
	}
	s.sendFrames(w, r, frames, reply.Hang, reply.HangAfter, 2, reply.CutAfter)
}

// mistralAllowed reports whether k is a request member Mistral's chat
// completions schema accepts; any other is an extra input it refuses.
func mistralAllowed(k string) bool {
	switch k {
	case "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed",
		"response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n",
		"safe_prompt", "prediction", "parallel_tool_calls", "prompt_mode", "metadata":
		return true
	}
	return false
}

type mistralRequestInfo struct {
	model  string
	stream bool
}

// mistralCheckRequest validates a chat completions request as Mistral
// does: 422 for what breaks the schema, 400 for what the model server
// refuses.
func mistralCheckRequest(contentType string, body []byte) (mistralRequestInfo, int, string) {
	var info mistralRequestInfo
	if !strings.HasPrefix(contentType, "application/json") {
		return info, 422, "Input should be a valid JSON object: Content-Type must be application/json"
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return info, 422, "JSON decode error"
	}
	for k := range m {
		if !mistralAllowed(k) {
			return info, 422, fmt.Sprintf("Extra inputs are not permitted: body.%s", k)
		}
	}
	model, _ := m["model"].(string)
	if model == "" {
		return info, 422, "Field required: body.model"
	}
	info.model = model
	msgs, ok := m["messages"].([]any)
	if !ok || len(msgs) == 0 {
		return info, 422, "Field required: body.messages must be a non-empty list"
	}
	calls := map[string]bool{}
	for i, v := range msgs {
		if status, msg := mistralCheckMessage(v, i, calls); status != 0 {
			return info, status, msg
		}
	}
	lastMsg, _ := msgs[len(msgs)-1].(map[string]any)
	if role := lastMsg["role"]; role != "user" && role != "tool" && !(role == "assistant" && lastMsg["prefix"] == true) {
		return info, 400, fmt.Sprintf("Expected last role User or Tool (or Assistant with prefix True) for serving but got %v", role)
	}
	if v, ok := m["stream"]; ok {
		if info.stream, ok = v.(bool); !ok {
			return info, 422, "Input should be a valid boolean: body.stream"
		}
	}
	for _, k := range []string{"temperature", "top_p", "presence_penalty", "frequency_penalty"} {
		if v, ok := m[k]; ok && v != nil {
			if _, ok := v.(float64); !ok {
				return info, 422, fmt.Sprintf("Input should be a valid number: body.%s", k)
			}
		}
	}
	for _, k := range []string{"max_tokens", "random_seed", "n"} {
		if v, ok := m[k]; ok && v != nil {
			if f, ok := v.(float64); !ok || f != float64(int64(f)) || f < 0 {
				return info, 422, fmt.Sprintf("Input should be a valid integer: body.%s", k)
			}
		}
	}
	if v, ok := m["top_p"].(float64); ok && (v < 0 || v > 1) {
		return info, 422, "Input should be less than or equal to 1: body.top_p"
	}
	if v, ok := m["stop"]; ok && checkStop(v) != "" {
		return info, 422, "Input should be a valid string or list of strings: body.stop"
	}
	if v, ok := m["tools"]; ok && v != nil {
		tools, ok := v.([]any)
		if !ok {
			return info, 422, "Input should be a valid list: body.tools"
		}
		for i, t := range tools {
			tm, _ := t.(map[string]any)
			f, _ := tm["function"].(map[string]any)
			name, _ := f["name"].(string)
			if f == nil || name == "" || (tm["type"] != nil && tm["type"] != "function") {
				return info, 422, fmt.Sprintf("Field required: body.tools.%d.function.name", i)
			}
			if p, ok := f["parameters"]; ok {
				if _, ok := p.(map[string]any); !ok {
					return info, 422, fmt.Sprintf("Input should be a valid dictionary: body.tools.%d.function.parameters", i)
				}
			}
		}
	}
	if v, ok := m["tool_choice"]; ok && v != nil {
		switch c := v.(type) {
		case string:
			if c != "auto" && c != "none" && c != "any" && c != "required" {
				return info, 422, "Input should be 'auto', 'none', 'any' or 'required': body.tool_choice"
			}
		case map[string]any:
			f, _ := c["function"].(map[string]any)
			if name, _ := f["name"].(string); name == "" {
				return info, 422, "Field required: body.tool_choice.function.name"
			}
		default:
			return info, 422, "Input should be a valid string or object: body.tool_choice"
		}
	}
	return info, 0, ""
}

// mistralIDOK reports whether id is 9 characters of [a-zA-Z0-9].
func mistralIDOK(id string) bool {
	if len(id) != 9 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// mistralCheckMessage validates messages[i]; calls collects the tool call
// ids seen so far, which tool messages must answer.
func mistralCheckMessage(v any, i int, calls map[string]bool) (int, string) {
	m, ok := v.(map[string]any)
	if !ok {
		return 422, fmt.Sprintf("Input should be a valid dictionary: body.messages.%d", i)
	}
	role, _ := m["role"].(string)
	switch role {
	case "system", "user", "assistant", "tool":
	default:
		return 422, fmt.Sprintf("Input tag '%v' found using 'role' does not match any of the expected tags: 'assistant', 'system', 'tool', 'user': body.messages.%d", m["role"], i)
	}
	if tc, ok := m["tool_calls"]; ok && tc != nil {
		list, ok := tc.([]any)
		if role != "assistant" || !ok {
			return 422, fmt.Sprintf("Extra inputs are not permitted: body.messages.%d.tool_calls", i)
		}
		for j, c := range list {
			cm, _ := c.(map[string]any)
			f, _ := cm["function"].(map[string]any)
			id, _ := cm["id"].(string)
			name, _ := f["name"].(string)
			if f == nil || name == "" {
				return 422, fmt.Sprintf("Field required: body.messages.%d.tool_calls.%d.function.name", i, j)
			}
			switch f["arguments"].(type) {
			case string, map[string]any:
			default:
				return 422, fmt.Sprintf("Input should be a valid string or dictionary: body.messages.%d.tool_calls.%d.function.arguments", i, j)
			}
			if !mistralIDOK(id) {
				return 400, fmt.Sprintf("Tool call id was %s but must be a-z, A-Z, 0-9, with a length of 9.", id)
			}
			calls[id] = true
		}
	}
	if role == "tool" {
		id, _ := m["tool_call_id"].(string)
		if !mistralIDOK(id) {
			return 400, fmt.Sprintf("Tool call id was %s but must be a-z, A-Z, 0-9, with a length of 9.", id)
		}
		if !calls[id] {
			return 400, fmt.Sprintf("Unexpected tool call id %s in tool results", id)
		}
	} else if _, ok := m["tool_call_id"]; ok {
		return 422, fmt.Sprintf("Extra inputs are not permitted: body.messages.%d.tool_call_id", i)
	}
	switch c := m["content"].(type) {
	case string:
	case nil:
		if role != "assistant" {
			return 422, fmt.Sprintf("Field required: body.messages.%d.content", i)
		}
	case []any:
		for j, p := range c {
			pm, _ := p.(map[string]any)
			if _, ok := pm["text"].(string); pm["type"] != "text" || !ok {
				return 422, fmt.Sprintf("Input should be a text chunk: body.messages.%d.content.%d", i, j)
			}
		}
	default:
		return 422, fmt.Sprintf("Input should be a valid string or list: body.messages.%d.content", i)
	}
	return 0, ""
}
