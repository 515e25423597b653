package upstreamtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// AI21Key is the API key an AI21Server requires until RequireKey changes
// it.
const AI21Key = "upstreamtest-ai21-key"

// AI21Server is a fake AI21 Studio API serving POST
// /studio/v1/chat/completions (model-families.md §5.5) in JSON and
// server-sent events: a Bearer key is required, and requests outside
// AI21's documented ranges (max_tokens ≤ 4096, temperature 0–2, top_p
// 0–1, n 1–16, no temperature 0 with n above 1) are refused with 422 and
// FastAPI-style details, as AI21 answers. Its methods are safe for
// concurrent use.
//
// Replies are scripted with Reply. Honoured: Text, Chunks, ToolCalls
// (Jamba 1.5 and later), FinishReason, PromptTokens, CompletionTokens,
// NoUsage, Status, Message, Malformed, CutAfter, Hang, HangAfter.
// StopReason and StreamError are not.
type AI21Server struct {
	// URL is the API base, without /studio/v1.
	URL string

	scripted[Reply]
}

// NewAI21 starts a fake AI21 API on 127.0.0.1 that requires AI21Key and
// answers with replies in order, then with Reply{Text: "Hello."}; it is
// closed when the test ends.
func NewAI21(t testing.TB, replies ...Reply) *AI21Server {
	t.Helper()
	s := &AI21Server{scripted: newScripted(replies, Reply{Text: "Hello."}, AI21Key)}
	s.URL = s.start(t, s.serve)
	return s
}

// ai21Detail writes AI21's error JSON: {"detail": msg}, or for 422 a list
// of FastAPI validation details.
func ai21Detail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var d any = msg
	if status == http.StatusUnprocessableEntity {
		d = []any{map[string]any{"loc": []string{"body"}, "msg": msg, "type": "value_error"}}
	}
	json.NewEncoder(w).Encode(map[string]any{"detail": d})
}

func (s *AI21Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body) // also lets net/http notice a client going away
	reply, key := s.take(body)
	if err != nil {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/studio/v1/chat/completions" {
		ai21Detail(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+key {
		ai21Detail(w, http.StatusUnauthorized, "Forbidden: Bad or missing API token.")
		return
	}
	model, stream, msg := ai21CheckRequest(r.Header.Get("Content-Type"), body)
	if msg != "" {
		ai21Detail(w, http.StatusUnprocessableEntity, msg)
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
		ai21Detail(w, reply.Status, m)
		return
	}
	if stream {
		s.stream(w, r, reply)
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
	json.NewEncoder(w).Encode(ai21Completion(model, reply))
}

func ai21Calls(r Reply) any {
	if len(r.ToolCalls) == 0 {
		return nil
	}
	var calls []any
	for i, tc := range r.ToolCalls {
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", i)
		}
		calls = append(calls, map[string]any{"id": id, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Arguments}})
	}
	return calls
}

// ai21Completion is the answer to a chat request.
func ai21Completion(model string, r Reply) map[string]any {
	msg := map[string]any{"role": "assistant", "content": r.Text, "tool_calls": ai21Calls(r)}
	out := map[string]any{"id": "chat-upstreamtest", "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finishReason(r)}},
		"meta":    map[string]any{"requestDurationMillis": 12}}
	if !r.NoUsage {
		out["usage"] = usage(r)
	}
	return out
}

// stream answers with server-sent events: a role delta, the text deltas,
// the tool calls, the finish with usage, then [DONE].
func (s *AI21Server) stream(w http.ResponseWriter, r *http.Request, reply Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	chunk := func(delta map[string]any, finish any, u any) map[string]any {
		return map[string]any{"id": "chat-upstreamtest",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}, "usage": u}
	}
	var events []string
	add := func(v any) {
		b, _ := json.Marshal(v)
		events = append(events, string(b))
	}
	add(chunk(map[string]any{"role": "assistant"}, nil, nil))
	if reply.Malformed {
		events = append(events, `{"choices":[{"delta":`)
	}
	for _, part := range split(reply.Text, reply.Chunks) {
		add(chunk(map[string]any{"content": part}, nil, nil))
	}
	if calls := ai21Calls(reply); calls != nil {
		add(chunk(map[string]any{"tool_calls": calls}, nil, nil))
	}
	var u any
	if !reply.NoUsage {
		u = usage(reply)
	}
	add(chunk(map[string]any{"content": ""}, finishReason(reply), u))
	events = append(events, "[DONE]")
	mistralSendEvents(&s.scripted, w, r, events, reply) // the same SSE framing
}

// ai21CheckRequest validates a chat request against AI21's documented
// schema (§5.5), returning the model, whether it streams, and a message
// for what it refuses.
func ai21CheckRequest(contentType string, body []byte) (model string, stream bool, msg string) {
	if !strings.HasPrefix(contentType, "application/json") {
		return "", false, "Content-Type must be application/json"
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return "", false, "JSON decode error"
	}
	model, _ = m["model"].(string)
	if model == "" {
		return "", false, "field required: model"
	}
	msgs, ok := m["messages"].([]any)
	if !ok || len(msgs) == 0 {
		return model, false, "field required: messages must be a non-empty list"
	}
	for i, v := range msgs {
		mm, _ := v.(map[string]any)
		role, _ := mm["role"].(string)
		switch role {
		case "system", "user", "assistant", "tool":
		default:
			return model, false, fmt.Sprintf("messages.%d.role: value is not a valid enumeration member; permitted: 'system', 'user', 'assistant', 'tool'", i)
		}
		switch mm["content"].(type) {
		case string:
		case nil:
			if role != "assistant" {
				return model, false, fmt.Sprintf("messages.%d.content: field required", i)
			}
		default:
			return model, false, fmt.Sprintf("messages.%d.content: str type expected", i)
		}
	}
	if v, ok := m["stream"]; ok {
		if stream, ok = v.(bool); !ok {
			return model, false, "stream: value could not be parsed to a boolean"
		}
	}
	num := func(k string, lo, hi float64, integer bool) string {
		v, ok := m[k]
		if !ok || v == nil {
			return ""
		}
		f, ok := v.(float64)
		switch {
		case !ok:
			return k + ": value is not a valid number"
		case integer && f != float64(int64(f)):
			return k + ": value is not a valid integer"
		case f < lo || f > hi:
			return fmt.Sprintf("%s: ensure this value is between %v and %v", k, lo, hi)
		}
		return ""
	}
	for _, c := range []string{num("max_tokens", 0, 4096, true), num("temperature", 0, 2, false), num("top_p", 0, 1, false),
		num("n", 1, 16, true), num("frequency_penalty", -2, 2, false), num("presence_penalty", -2, 2, false)} {
		if c != "" {
			return model, stream, c
		}
	}
	if n, _ := m["n"].(float64); n > 1 {
		if t, ok := m["temperature"].(float64); ok && t == 0 {
			return model, stream, "n: temperature 0 is not allowed when n is above 1"
		}
	}
	if v, ok := m["stop"]; ok && checkStop(v) != "" {
		return model, stream, "stop: str or list of str expected"
	}
	return model, stream, ""
}
