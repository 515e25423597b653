package upstreamtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// Reply scripts the answer to one request. The zero Reply answers the
// empty text with finish_reason "stop".
type Reply struct {
	Text      string     // the assistant's text
	Chunks    int        // streamed: the text is sent in this many content deltas (default 1)
	ToolCalls []ToolCall // tool calls after the text

	// FinishReason is the choice's finish_reason; "" means "tool_calls"
	// when there are tool calls and "stop" otherwise.
	FinishReason string
	// StopReason, when set, is sent as vLLM's stop_reason: the stop string
	// that ended generation.
	StopReason string

	PromptTokens, CompletionTokens int  // usage; total is their sum
	NoUsage                        bool // send no usage at all

	// Faults. Status answers that HTTP status with OpenAI's error JSON
	// carrying Message (a default per status when empty). Malformed
	// answers 200 with a body (or, streamed, an event) that is not JSON.
	// CutAfter closes a stream's connection after that many events,
	// without [DONE]. StreamError ends a stream, after the text, with an
	// error event carrying this message. Hang sends the first HangAfter
	// events of a stream (default 2: the role delta and the first text
	// delta), or nothing when not streaming, then waits for the client to
	// go away and records it (see Cancelled).
	Status      int
	Message     string
	Malformed   bool
	CutAfter    int
	StreamError string
	Hang        bool
	HangAfter   int
}

// ToolCall is one tool call of a Reply. Arguments is its JSON text;
// streamed, it is sent in Fragments pieces (default 2) after a first delta
// carrying the id and name, as OpenAI does.
type ToolCall struct {
	ID, Name, Arguments string
	Fragments           int
}

// OpenAIServer is a fake OpenAI-compatible server. Its methods are safe
// for concurrent use.
type OpenAIServer struct {
	// URL is the API base, including /v1, as an OpenAI client's base_url.
	URL string

	scripted[Reply]
}

// NewOpenAI starts a server on 127.0.0.1 that answers with replies in
// order, then with Reply{Text: "Hello."}; it is closed when the test ends.
func NewOpenAI(t testing.TB, replies ...Reply) *OpenAIServer {
	t.Helper()
	s := &OpenAIServer{scripted: newScripted(replies, Reply{Text: "Hello."}, "")}
	s.URL = s.start(t, s.serve) + "/v1"
	return s
}

func (s *OpenAIServer) serve(w http.ResponseWriter, r *http.Request) {
	// Reading the whole body also lets net/http notice a client that goes
	// away later (it cancels r.Context() only once the body is consumed).
	body, err := io.ReadAll(r.Body)
	reply, key := s.take(body)
	if err != nil {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		apiError(w, http.StatusNotFound, "invalid_request_error", fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
		return
	}
	if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "Incorrect API key provided.")
		return
	}
	req, msg := checkRequest(r.Header.Get("Content-Type"), body)
	if msg != "" {
		apiError(w, http.StatusBadRequest, "invalid_request_error", msg)
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
		apiError(w, reply.Status, "upstreamtest_error", m)
		return
	}
	if req.Stream {
		s.stream(w, r, req, reply)
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
	json.NewEncoder(w).Encode(completion(req.Model, reply))
}

// apiError writes OpenAI's error JSON.
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
}

func finishReason(r Reply) string {
	switch {
	case r.FinishReason != "":
		return r.FinishReason
	case len(r.ToolCalls) > 0:
		return "tool_calls"
	}
	return "stop"
}

func usage(r Reply) map[string]int {
	return map[string]int{"prompt_tokens": r.PromptTokens, "completion_tokens": r.CompletionTokens, "total_tokens": r.PromptTokens + r.CompletionTokens}
}

func choice(r Reply, key string, value any, finish any) map[string]any {
	c := map[string]any{"index": 0, key: value, "finish_reason": finish}
	if r.StopReason != "" && finish != nil {
		c["stop_reason"] = r.StopReason
	}
	return c
}

// completion is the chat.completion object answering req.
func completion(model string, r Reply) map[string]any {
	msg := map[string]any{"role": "assistant", "content": r.Text}
	if len(r.ToolCalls) > 0 {
		if r.Text == "" {
			msg["content"] = nil
		}
		var calls []map[string]any
		for _, tc := range r.ToolCalls {
			calls = append(calls, map[string]any{"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Arguments}})
		}
		msg["tool_calls"] = calls
	}
	out := map[string]any{"id": "chatcmpl-upstreamtest", "object": "chat.completion", "created": 1767225600, "model": model,
		"choices": []any{choice(r, "message", msg, finishReason(r))}}
	if !r.NoUsage {
		out["usage"] = usage(r)
	}
	return out
}

// stream answers with server-sent events, flushing each.
func (s *OpenAIServer) stream(w http.ResponseWriter, r *http.Request, req request, reply Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	chunk := func(choices []any) map[string]any {
		return map[string]any{"id": "chatcmpl-upstreamtest", "object": "chat.completion.chunk", "created": 1767225600, "model": req.Model, "choices": choices}
	}
	delta := func(d map[string]any) map[string]any { return chunk([]any{choice(reply, "delta", d, nil)}) }

	var events []string
	add := func(v any) {
		b, _ := json.Marshal(v)
		events = append(events, string(b))
	}
	add(delta(map[string]any{"role": "assistant", "content": ""}))
	if reply.Malformed {
		events = append(events, `{"choices":[{"delta":`)
	}
	for _, part := range split(reply.Text, reply.Chunks) {
		add(delta(map[string]any{"content": part}))
	}
	if reply.StreamError != "" {
		add(map[string]any{"error": map[string]any{"message": reply.StreamError, "type": "server_error", "code": 500}})
	}
	for i, tc := range reply.ToolCalls {
		add(delta(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": ""}}}}))
		n := tc.Fragments
		if n == 0 {
			n = 2
		}
		for _, frag := range split(tc.Arguments, n) {
			add(delta(map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": frag}}}}))
		}
	}
	if reply.StreamError == "" {
		add(chunk([]any{choice(reply, "delta", map[string]any{}, finishReason(reply))}))
		if req.IncludeUsage && !reply.NoUsage {
			c := chunk([]any{})
			c["usage"] = usage(reply)
			add(c)
		}
		events = append(events, "[DONE]")
	}

	frames := make([]string, len(events))
	for i, ev := range events {
		frames[i] = "data: " + ev + "\n\n"
	}
	s.sendFrames(w, r, frames, reply.Hang, reply.HangAfter, 2, reply.CutAfter)
}

// split cuts s into n pieces of about equal rune counts (at least one
// piece, none empty unless s is).
func split(s string, n int) []string {
	runes := utf8.RuneCountInString(s)
	if n < 1 {
		n = 1
	}
	if n > runes {
		n = max(runes, 1)
	}
	var out []string
	rs := []rune(s)
	for i := range n {
		out = append(out, string(rs[i*len(rs)/n:(i+1)*len(rs)/n]))
	}
	if s == "" {
		return nil
	}
	return out
}

// request is what the server needs from a valid request.
type request struct {
	Model        string
	Stream       bool
	IncludeUsage bool
}

// checkRequest validates a chat completions request as OpenAI does,
// returning OpenAI-style messages for what it rejects.
func checkRequest(contentType string, body []byte) (request, string) {
	var req request
	if !strings.HasPrefix(contentType, "application/json") {
		return req, "Content-Type must be application/json."
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return req, "We could not parse the JSON body of your request."
	}
	model, ok := m["model"].(string)
	if !ok || model == "" {
		return req, "you must provide a model parameter"
	}
	req.Model = model
	msgs, ok := m["messages"].([]any)
	if !ok {
		return req, "Missing required parameter: 'messages'."
	}
	if len(msgs) == 0 {
		return req, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."
	}
	for i, v := range msgs {
		if msg := checkMessage(v, fmt.Sprintf("messages[%d]", i)); msg != "" {
			return req, msg
		}
	}
	if v, ok := m["stream"]; ok {
		if req.Stream, ok = v.(bool); !ok {
			return req, "Invalid type for 'stream': expected a boolean."
		}
	}
	if v, ok := m["stream_options"]; ok && v != nil {
		if !req.Stream {
			return req, "The 'stream_options' parameter is only allowed when 'stream' is enabled."
		}
		opts, ok := v.(map[string]any)
		if !ok {
			return req, "Invalid type for 'stream_options': expected an object."
		}
		req.IncludeUsage, _ = opts["include_usage"].(bool)
	}
	for _, k := range []string{"max_tokens", "temperature", "top_p", "top_k"} {
		if v, ok := m[k]; ok {
			if _, ok := v.(float64); !ok {
				return req, fmt.Sprintf("Invalid type for '%s': expected a number.", k)
			}
		}
	}
	if v, ok := m["stop"]; ok {
		if msg := checkStop(v); msg != "" {
			return req, msg
		}
	}
	if v, ok := m["tools"]; ok {
		tools, ok := v.([]any)
		if !ok {
			return req, "Invalid type for 'tools': expected an array."
		}
		for i, t := range tools {
			tm, _ := t.(map[string]any)
			f, _ := tm["function"].(map[string]any)
			if tm["type"] != "function" || f == nil {
				return req, fmt.Sprintf("Invalid 'tools[%d]': expected a function tool.", i)
			}
			if name, _ := f["name"].(string); name == "" {
				return req, fmt.Sprintf("Missing required parameter: 'tools[%d].function.name'.", i)
			}
			if p, ok := f["parameters"]; ok {
				if _, ok := p.(map[string]any); !ok {
					return req, fmt.Sprintf("Invalid type for 'tools[%d].function.parameters': expected an object.", i)
				}
			}
		}
	}
	if v, ok := m["tool_choice"]; ok {
		switch c := v.(type) {
		case string:
			if c != "none" && c != "auto" && c != "required" {
				return req, "Invalid value for 'tool_choice': expected none, auto or required."
			}
		case map[string]any:
			f, _ := c["function"].(map[string]any)
			if name, _ := f["name"].(string); c["type"] != "function" || name == "" {
				return req, "Invalid 'tool_choice': expected {type: function, function: {name}}."
			}
		default:
			return req, "Invalid type for 'tool_choice'."
		}
	}
	return req, ""
}

func checkStop(v any) string {
	switch s := v.(type) {
	case string, nil:
		return ""
	case []any:
		for _, x := range s {
			if _, ok := x.(string); !ok {
				return "Invalid type for 'stop': expected a string or an array of strings."
			}
		}
		return ""
	}
	return "Invalid type for 'stop': expected a string or an array of strings."
}

func checkMessage(v any, at string) string {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprintf("Invalid type for '%s': expected an object.", at)
	}
	role, _ := m["role"].(string)
	switch role {
	case "system", "developer", "user", "assistant", "tool":
	default:
		return fmt.Sprintf("Invalid value: '%v'. Supported values are: 'system', 'assistant', 'user', 'tool', 'developer'.", m["role"])
	}
	calls, hasCalls := m["tool_calls"]
	if hasCalls {
		if role != "assistant" {
			return fmt.Sprintf("Invalid parameter: '%s.tool_calls' is only allowed for messages with role 'assistant'.", at)
		}
		list, ok := calls.([]any)
		if !ok {
			return fmt.Sprintf("Invalid type for '%s.tool_calls': expected an array.", at)
		}
		for j, c := range list {
			cm, _ := c.(map[string]any)
			f, _ := cm["function"].(map[string]any)
			id, _ := cm["id"].(string)
			name, _ := f["name"].(string)
			_, argsOK := f["arguments"].(string)
			if id == "" || cm["type"] != "function" || name == "" || !argsOK {
				return fmt.Sprintf("Invalid '%s.tool_calls[%d]': expected {id, type: function, function: {name, arguments: string}}.", at, j)
			}
		}
	}
	if role == "tool" {
		if id, _ := m["tool_call_id"].(string); id == "" {
			return "Missing parameter 'tool_call_id': messages with role 'tool' must have a 'tool_call_id'."
		}
	}
	switch c := m["content"].(type) {
	case string:
	case nil:
		if !(role == "assistant" && hasCalls) {
			return fmt.Sprintf("Invalid value for '%s.content': expected a string or an array of content parts, got null.", at)
		}
	case []any:
		if len(c) == 0 {
			return fmt.Sprintf("Invalid '%s.content': empty array.", at)
		}
		for j, p := range c {
			if msg := checkPart(p, role, fmt.Sprintf("%s.content[%d]", at, j)); msg != "" {
				return msg
			}
		}
	default:
		return fmt.Sprintf("Invalid type for '%s.content': expected a string or an array of content parts.", at)
	}
	return ""
}

func checkPart(v any, role, at string) string {
	p, _ := v.(map[string]any)
	switch p["type"] {
	case "text":
		if _, ok := p["text"].(string); !ok {
			return fmt.Sprintf("Missing required parameter: '%s.text'.", at)
		}
	case "image_url":
		if role != "user" {
			return fmt.Sprintf("Invalid '%s': image content parts are only allowed in user messages.", at)
		}
		iu, _ := p["image_url"].(map[string]any)
		url, _ := iu["url"].(string)
		if msg := checkDataURL(url); msg != "" {
			return fmt.Sprintf("Invalid '%s.image_url.url': %s", at, msg)
		}
	default:
		return fmt.Sprintf("Invalid value for '%s.type': expected 'text' or 'image_url'.", at)
	}
	return ""
}

// checkDataURL accepts data:image/<type>;base64,<data>: this fake, like a
// self-hosted server, does not fetch remote images.
func checkDataURL(url string) string {
	rest, ok := strings.CutPrefix(url, "data:image/")
	if !ok {
		return "expected a base64 data URL of an image."
	}
	typ, data, ok := strings.Cut(rest, ";base64,")
	if !ok || typ == "" {
		return "expected a base64 data URL of an image."
	}
	if _, err := base64.StdEncoding.DecodeString(data); err != nil {
		return "the image data is not valid base64."
	}
	return ""
}
