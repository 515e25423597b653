package upstreamtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// CohereKey is the API key a CohereServer requires, as
// "Authorization: Bearer <CohereKey>".
const CohereKey = "upstreamtest-cohere-key"

// CohereReply scripts the answer to one Cohere chat request. The zero
// CohereReply answers the empty text with finish_reason COMPLETE.
type CohereReply struct {
	Text   string // the answer's text; with tool calls, the tool plan
	Chunks int    // streamed: the text is sent in this many events (default 1)
	// ToolCalls are the tool calls of the answer, after the text.
	ToolCalls []CohereToolCall
	// FinishReason is the answer's finish_reason; "" means COMPLETE.
	FinishReason string
	// InputTokens and OutputTokens are meta.billed_units; meta.tokens
	// adds Cohere's hidden preamble (100 tokens) to the input.
	InputTokens, OutputTokens int

	// Faults. Status answers that HTTP status with Cohere's error JSON
	// {"message": Message} (a default per status when empty); 429 also
	// sets Retry-After. Malformed answers 200 with a body (or, streamed,
	// an event) that is not JSON. CutAfter closes a stream's connection
	// after that many events, without stream-end. Hang sends the first
	// HangAfter events of a stream (default 2: stream-start and the first
	// text), or nothing when not streaming, then waits for the client to
	// go away and records it (see Cancelled).
	Status    int
	Message   string
	Malformed bool
	CutAfter  int
	Hang      bool
	HangAfter int
}

// CohereToolCall is one tool call of a CohereReply. Parameters is a JSON
// object's text ("" means {}).
type CohereToolCall struct {
	Name, Parameters string
}

// CohereServer is a fake Cohere Chat API v1 (model-families.md §5.2):
// POST /v1/chat answering JSON, or, with "stream": true, newline-delimited
// JSON events (server-sent events when the request accepts
// text/event-stream), as api.cohere.com does. Its methods are safe for
// concurrent use.
type CohereServer struct {
	// URL is the server's base, without /v1, as Cohere's base URL
	// https://api.cohere.com.
	URL string

	scripted[CohereReply]
}

// NewCohere starts a server on 127.0.0.1 that answers with replies in
// order, then with CohereReply{Text: "Hello."}; it requires CohereKey and
// is closed when the test ends.
func NewCohere(t testing.TB, replies ...CohereReply) *CohereServer {
	t.Helper()
	s := &CohereServer{scripted: newScripted(replies, CohereReply{Text: "Hello."}, CohereKey)}
	s.URL = s.start(t, s.serve)
	return s
}

func (s *CohereServer) serve(w http.ResponseWriter, r *http.Request) {
	// Reading the whole body also lets net/http notice a client that goes
	// away later (it cancels r.Context() only once the body is consumed).
	body, err := io.ReadAll(r.Body)
	reply, key := s.take(body)
	if err != nil {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat" {
		cohereError(w, http.StatusNotFound, "404 page not found")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+key {
		cohereError(w, http.StatusUnauthorized, "invalid api token")
		return
	}
	req, msg := cohereCheckRequest(r.Header.Get("Content-Type"), body)
	if msg != "" {
		cohereError(w, http.StatusBadRequest, "invalid request: "+msg)
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
		cohereError(w, reply.Status, m)
		return
	}
	if req.stream {
		s.stream(w, r, req, reply)
		return
	}
	if reply.Hang {
		s.hang(r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.Malformed {
		io.WriteString(w, `{"text":`)
		return
	}
	json.NewEncoder(w).Encode(cohereResponse(req, reply))
}

// cohereError writes Cohere's error JSON.
func cohereError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func cohereToolCalls(r CohereReply) []any {
	var calls []any
	for _, tc := range r.ToolCalls {
		p := tc.Parameters
		if p == "" {
			p = "{}"
		}
		calls = append(calls, map[string]any{"name": tc.Name, "parameters": json.RawMessage(p)})
	}
	return calls
}

// cohereResponse is the non-streamed answer (§4.7 shape), which is also
// the response member of stream-end.
func cohereResponse(req cohereRequest, r CohereReply) map[string]any {
	finish := r.FinishReason
	if finish == "" {
		finish = "COMPLETE"
	}
	history := append(req.history, map[string]any{"role": "USER", "message": req.message})
	history = append(history, map[string]any{"role": "CHATBOT", "message": r.Text})
	out := map[string]any{
		"response_id":   "upstreamtest-response",
		"text":          r.Text,
		"generation_id": "upstreamtest-generation",
		"chat_history":  history,
		"finish_reason": finish,
		"meta": map[string]any{
			"api_version":  map[string]any{"version": "1"},
			"billed_units": map[string]int{"input_tokens": r.InputTokens, "output_tokens": r.OutputTokens},
			"tokens":       map[string]int{"input_tokens": r.InputTokens + 100, "output_tokens": r.OutputTokens},
		},
	}
	if calls := cohereToolCalls(r); calls != nil {
		out["tool_calls"] = calls
	}
	return out
}

// stream answers with Cohere's stream events, flushing each: NDJSON
// (application/stream+json, Cohere's default) or SSE data lines.
func (s *CohereServer) stream(w http.ResponseWriter, r *http.Request, req cohereRequest, reply CohereReply) {
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/stream+json")
	}
	var events []string
	add := func(typ string, members map[string]any) {
		ev := map[string]any{"is_finished": typ == "stream-end", "event_type": typ}
		for k, v := range members {
			ev[k] = v
		}
		b, _ := json.Marshal(ev)
		events = append(events, string(b))
	}
	add("stream-start", map[string]any{"generation_id": "upstreamtest-generation"})
	if reply.Malformed {
		events = append(events, `{"event_type":`)
	}
	if len(reply.ToolCalls) == 0 {
		for _, part := range split(reply.Text, reply.Chunks) {
			add("text-generation", map[string]any{"text": part})
		}
	} else {
		// Cohere streams the tool plan and the calls incrementally in
		// tool-calls-chunk events, then sends them whole.
		for _, part := range split(reply.Text, reply.Chunks) {
			add("tool-calls-chunk", map[string]any{"text": part})
		}
		for i, tc := range reply.ToolCalls {
			add("tool-calls-chunk", map[string]any{"tool_call_delta": map[string]any{"index": i, "name": tc.Name}})
			add("tool-calls-chunk", map[string]any{"tool_call_delta": map[string]any{"index": i, "parameters": tc.Parameters}})
		}
		add("tool-calls-generation", map[string]any{"text": reply.Text, "tool_calls": cohereToolCalls(reply)})
	}
	resp := cohereResponse(req, reply)
	add("stream-end", map[string]any{"finish_reason": resp["finish_reason"], "response": resp})

	frames := make([]string, len(events))
	for i, ev := range events {
		frames[i] = ev + "\n"
		if sse {
			frames[i] = "data: " + ev + "\n\n"
		}
	}
	s.sendFrames(w, r, frames, reply.Hang, reply.HangAfter, 2, reply.CutAfter)
}

// cohereRequest is what the server needs from a valid request.
type cohereRequest struct {
	stream  bool
	message string
	history []any
}

// cohereCheckRequest validates a chat v1 request as Cohere does (model
// and message required, types checked, the tool rules of §5.2),
// returning the text of its error message. model is optional at Cohere;
// the fake requires it, since a gateway must always name the model.
func cohereCheckRequest(contentType string, body []byte) (cohereRequest, string) {
	var req cohereRequest
	if !strings.HasPrefix(contentType, "application/json") {
		return req, "Content-Type must be application/json"
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return req, "invalid json body"
	}
	if model, ok := m["model"].(string); !ok || model == "" {
		return req, "model must be a non-empty string"
	}
	msg, ok := m["message"].(string)
	if !ok {
		return req, "message must be a string"
	}
	req.message = msg
	results, hasResults := m["tool_results"]
	if strings.TrimSpace(msg) == "" && !hasResults {
		return req, "message must be at least 1 token long or tool results must be specified."
	}
	if hasResults && msg != "" {
		return req, "cannot specify message if the last entry in chat history contains tool results"
	}
	if v, ok := m["stream"]; ok {
		if req.stream, ok = v.(bool); !ok {
			return req, "stream must be a boolean"
		}
	}
	for _, k := range []string{"preamble", "prompt_truncation"} {
		if v, ok := m[k]; ok {
			if _, ok := v.(string); !ok {
				return req, k + " must be a string"
			}
		}
	}
	for _, k := range []string{"max_tokens", "temperature", "p", "k", "seed", "frequency_penalty", "presence_penalty"} {
		if v, ok := m[k]; ok {
			if _, ok := v.(float64); !ok {
				return req, k + " must be a number"
			}
		}
	}
	if v, ok := m["stop_sequences"]; ok {
		if msg := cohereStrings(v, "stop_sequences"); msg != "" {
			return req, msg
		}
	}
	if v, ok := m["chat_history"]; ok {
		list, ok := v.([]any)
		if !ok {
			return req, "chat_history must be an array"
		}
		for i, e := range list {
			if msg := cohereCheckHistory(e, i); msg != "" {
				return req, msg
			}
		}
		req.history = list
	}
	if v, ok := m["documents"]; ok {
		list, ok := v.([]any)
		if !ok {
			return req, "documents must be an array"
		}
		for i, d := range list {
			dm, ok := d.(map[string]any)
			if !ok {
				return req, fmt.Sprintf("documents[%d] must be an object", i)
			}
			for k, v := range dm {
				if _, ok := v.(string); !ok {
					return req, fmt.Sprintf("documents[%d].%s must be a string", i, k)
				}
			}
		}
	}
	if v, ok := m["tools"]; ok {
		if msg := cohereCheckTools(v); msg != "" {
			return req, msg
		}
	}
	if hasResults {
		if msg := cohereCheckResults(results, "tool_results"); msg != "" {
			return req, msg
		}
	}
	return req, ""
}

func cohereStrings(v any, at string) string {
	list, ok := v.([]any)
	if !ok {
		return at + " must be an array of strings"
	}
	for _, s := range list {
		if _, ok := s.(string); !ok {
			return at + " must be an array of strings"
		}
	}
	return ""
}

func cohereCheckHistory(v any, i int) string {
	e, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprintf("chat_history[%d] must be an object", i)
	}
	role, _ := e["role"].(string)
	switch role {
	case "USER", "CHATBOT", "SYSTEM":
		if _, ok := e["message"].(string); !ok {
			return fmt.Sprintf("chat_history[%d].message must be a string", i)
		}
	case "TOOL":
		if _, ok := e["tool_results"]; !ok {
			return fmt.Sprintf("chat_history[%d].tool_results is required for role TOOL", i)
		}
		return cohereCheckResults(e["tool_results"], fmt.Sprintf("chat_history[%d].tool_results", i))
	default:
		return fmt.Sprintf("chat_history[%d].role must be one of USER, CHATBOT, SYSTEM, TOOL", i)
	}
	if calls, ok := e["tool_calls"]; ok {
		if role != "CHATBOT" {
			return fmt.Sprintf("chat_history[%d].tool_calls is only allowed for role CHATBOT", i)
		}
		list, ok := calls.([]any)
		if !ok {
			return fmt.Sprintf("chat_history[%d].tool_calls must be an array", i)
		}
		for j, c := range list {
			if msg := cohereCheckCall(c, fmt.Sprintf("chat_history[%d].tool_calls[%d]", i, j)); msg != "" {
				return msg
			}
		}
	}
	return ""
}

func cohereCheckCall(v any, at string) string {
	c, _ := v.(map[string]any)
	if name, _ := c["name"].(string); name == "" {
		return at + ".name must be a non-empty string"
	}
	if _, ok := c["parameters"].(map[string]any); !ok {
		return at + ".parameters must be an object"
	}
	return ""
}

func cohereCheckResults(v any, at string) string {
	list, ok := v.([]any)
	if !ok {
		return at + " must be an array"
	}
	for i, r := range list {
		rm, ok := r.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s[%d] must be an object", at, i)
		}
		if msg := cohereCheckCall(rm["call"], fmt.Sprintf("%s[%d].call", at, i)); msg != "" {
			return msg
		}
		outs, ok := rm["outputs"].([]any)
		if !ok {
			return fmt.Sprintf("%s[%d].outputs must be an array", at, i)
		}
		for j, o := range outs {
			if _, ok := o.(map[string]any); !ok {
				return fmt.Sprintf("%s[%d].outputs[%d] must be an object", at, i, j)
			}
		}
	}
	return ""
}

func cohereCheckTools(v any) string {
	list, ok := v.([]any)
	if !ok {
		return "tools must be an array"
	}
	for i, t := range list {
		tm, ok := t.(map[string]any)
		if !ok {
			return fmt.Sprintf("tools[%d] must be an object", i)
		}
		if name, _ := tm["name"].(string); name == "" {
			return fmt.Sprintf("tools[%d].name must be a non-empty string", i)
		}
		if _, ok := tm["description"].(string); !ok {
			return fmt.Sprintf("tools[%d].description must be a string", i)
		}
		defs, ok := tm["parameter_definitions"]
		if !ok {
			continue
		}
		dm, ok := defs.(map[string]any)
		if !ok {
			return fmt.Sprintf("tools[%d].parameter_definitions must be an object", i)
		}
		for name, d := range dm {
			pd, _ := d.(map[string]any)
			if typ, _ := pd["type"].(string); typ == "" {
				return fmt.Sprintf("tools[%d].parameter_definitions.%s.type must be a non-empty string", i, name)
			}
			if r, ok := pd["required"]; ok {
				if _, ok := r.(bool); !ok {
					return fmt.Sprintf("tools[%d].parameter_definitions.%s.required must be a boolean", i, name)
				}
			}
		}
	}
	return ""
}
