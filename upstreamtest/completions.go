package upstreamtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
)

// CompletionReply scripts the answer to one text-completion request, on
// either API the CompletionsServer speaks. The zero CompletionReply
// answers the empty text, finished normally.
type CompletionReply struct {
	Text   string // the generated text
	Chunks int    // streamed: the text is sent in this many pieces (default 1)

	// FinishReason is OpenAI's finish_reason and Ollama's done_reason:
	// "stop" (the default) or "length".
	FinishReason string
	// StopReason, when set, is sent on /v1/completions as vLLM's
	// stop_reason: the stop string that ended generation.
	StopReason string

	// PromptTokens and CompletionTokens are the usage (OpenAI) or
	// prompt_eval_count and eval_count (Ollama). NoUsage leaves them out.
	PromptTokens, CompletionTokens int
	NoUsage                        bool

	// Faults. Status answers that HTTP status with the API's error JSON
	// carrying Message (the status text when empty). Malformed answers 200
	// with a body (or, streamed, an event) that is not JSON. CutAfter
	// closes a stream's connection after that many events. StreamError
	// ends a stream, after the text, with an in-stream error carrying this
	// message. Hang sends the first HangAfter events of a stream (default
	// 1: the first piece of text), or nothing when not streaming, then
	// waits for the client to go away and records it (see Cancelled).
	Status      int
	Message     string
	Malformed   bool
	CutAfter    int
	StreamError string
	Hang        bool
	HangAfter   int
}

// CompletionsServer is a fake text-completion server speaking two APIs on
// one port (model-families.md §5.6, §5.8):
//   - OpenAI's legacy POST /v1/completions, as OpenAI, vLLM and llama.cpp
//     serve it: a text_completion object, or server-sent events ending in
//     "data: [DONE]" with usage in a last chunk when
//     stream_options.include_usage is set;
//   - Ollama's POST /api/generate: one JSON object, or newline-delimited
//     JSON (Ollama's default, stream true) ending in an object with
//     done:true, done_reason, prompt_eval_count and eval_count. Requests
//     without "raw": true are rejected: the prompts sent here are already
//     templated, and Ollama would template them again.
//
// It rejects what a real server would reject (and, to catch typos, unknown
// request members and Ollama options, which the real servers may only
// warn about), records the prompt it received, and answers with scripted
// replies and faults. Its methods are safe for concurrent use.
type CompletionsServer struct {
	// URL is the server's root, "http://127.0.0.1:port": the OpenAI API
	// base is URL+"/v1", Ollama's base is URL itself.
	URL string

	// scripted's RequireKey makes the server answer 401 to requests
	// without "Authorization: Bearer <key>".
	scripted[CompletionReply]
	lastPath string // under scripted's mu
	prompt   string
}

// NewCompletions starts a server on 127.0.0.1 that answers with replies
// in order, then with CompletionReply{Text: "Hello."}; it is closed when
// the test ends.
func NewCompletions(t testing.TB, replies ...CompletionReply) *CompletionsServer {
	t.Helper()
	s := &CompletionsServer{scripted: newScripted(replies, CompletionReply{Text: "Hello."}, "")}
	s.URL = s.start(t, s.serve)
	return s
}

// LastRequest returns the body and path of the latest request received,
// accepted or not (nil and "" before any).
func (s *CompletionsServer) LastRequest() (body []byte, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.lastPath
}

// LastPrompt returns the prompt of the latest request that had a string
// prompt, exactly as received.
func (s *CompletionsServer) LastPrompt() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prompt
}

// completionsAPI is what differs between the two APIs.
type completionsAPI struct {
	ollama bool
}

func (a completionsAPI) fail(w http.ResponseWriter, status int, msg string) {
	if !a.ollama {
		apiError(w, status, "invalid_request_error", msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *CompletionsServer) serve(w http.ResponseWriter, r *http.Request) {
	// Reading the whole body also lets net/http notice a client that goes
	// away later (it cancels r.Context() only once the body is consumed).
	body, err := io.ReadAll(r.Body)
	reply, key := s.take(body)
	s.mu.Lock()
	s.lastPath = r.URL.Path
	s.mu.Unlock()
	if err != nil {
		return
	}
	var api completionsAPI
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/completions":
	case r.Method == http.MethodPost && r.URL.Path == "/api/generate":
		api.ollama = true
	default:
		apiError(w, http.StatusNotFound, "invalid_request_error", fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
		return
	}
	if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
		api.fail(w, http.StatusUnauthorized, "Incorrect API key provided.")
		return
	}
	check := completionsCheckOpenAI
	if api.ollama {
		check = completionsCheckOllama
	}
	req, msg := check(r.Header.Get("Content-Type"), body)
	if req.prompt != nil {
		s.mu.Lock()
		s.prompt = *req.prompt
		s.mu.Unlock()
	}
	if msg != "" {
		api.fail(w, http.StatusBadRequest, msg)
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
		api.fail(w, reply.Status, m)
		return
	}
	if req.stream {
		s.completionsStream(w, r, api, req, reply)
		return
	}
	if reply.Hang {
		s.hang(r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.Malformed {
		io.WriteString(w, `{"choices":[{"text":`)
		return
	}
	if api.ollama {
		json.NewEncoder(w).Encode(completionsOllamaFinal(req.model, reply, reply.Text))
		return
	}
	json.NewEncoder(w).Encode(completionsOpenAIObject(req.model, reply, reply.Text, completionsFinish(reply), true))
}

func completionsFinish(r CompletionReply) string {
	if r.FinishReason != "" {
		return r.FinishReason
	}
	return "stop"
}

// completionsOpenAIObject is a text_completion object: the whole answer,
// or one streamed chunk (finish nil until the last).
func completionsOpenAIObject(model string, r CompletionReply, text string, finish any, withUsage bool) map[string]any {
	c := map[string]any{"text": text, "index": 0, "logprobs": nil, "finish_reason": finish}
	if r.StopReason != "" && finish != nil {
		c["stop_reason"] = r.StopReason
	}
	out := map[string]any{"id": "cmpl-upstreamtest", "object": "text_completion", "created": 1767225600, "model": model, "choices": []any{c}}
	if withUsage && !r.NoUsage {
		out["usage"] = usage(Reply{PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens})
	}
	return out
}

// completionsOllamaFinal is Ollama's last (or only) generate object.
func completionsOllamaFinal(model string, r CompletionReply, text string) map[string]any {
	out := map[string]any{"model": model, "created_at": "2026-01-01T00:00:00Z", "response": text, "done": true, "done_reason": completionsFinish(r),
		"total_duration": 5000000, "load_duration": 1000000, "prompt_eval_duration": 2000000, "eval_duration": 2000000}
	if !r.NoUsage {
		out["prompt_eval_count"], out["eval_count"] = r.PromptTokens, r.CompletionTokens
	}
	return out
}

// completionsStream answers with server-sent events (OpenAI) or
// newline-delimited JSON (Ollama), flushing each event.
func (s *CompletionsServer) completionsStream(w http.ResponseWriter, r *http.Request, api completionsAPI, req completionsRequest, reply CompletionReply) {
	var events []string
	add := func(v any) {
		b, _ := json.Marshal(v)
		events = append(events, string(b))
	}
	for _, part := range split(reply.Text, reply.Chunks) {
		if api.ollama {
			add(map[string]any{"model": req.model, "created_at": "2026-01-01T00:00:00Z", "response": part, "done": false})
		} else {
			add(completionsOpenAIObject(req.model, reply, part, nil, false))
		}
	}
	switch {
	case reply.StreamError != "" && api.ollama:
		add(map[string]string{"error": reply.StreamError})
	case reply.StreamError != "":
		add(map[string]any{"error": map[string]any{"message": reply.StreamError, "type": "server_error", "code": 500}})
	case api.ollama:
		add(completionsOllamaFinal(req.model, reply, ""))
	default:
		add(completionsOpenAIObject(req.model, reply, "", completionsFinish(reply), false))
		if req.includeUsage && !reply.NoUsage {
			u := completionsOpenAIObject(req.model, reply, "", nil, true)
			u["choices"] = []any{}
			add(u)
		}
		events = append(events, "[DONE]")
	}

	if reply.Malformed { // after the first event: the stream breaks mid-way
		events = append(events[:1], append([]string{`{"choices":[{"text":`}, events[1:]...)...)
	}
	format := "data: %s\n\n"
	if api.ollama {
		w.Header().Set("Content-Type", "application/x-ndjson")
		format = "%s\n"
	} else {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
	}
	frames := make([]string, len(events))
	for i, ev := range events {
		frames[i] = fmt.Sprintf(format, ev)
	}
	s.sendFrames(w, r, frames, reply.Hang, reply.HangAfter, 1, reply.CutAfter)
}

// completionsRequest is what the server needs from a valid request.
type completionsRequest struct {
	model        string
	prompt       *string
	stream       bool
	includeUsage bool
}

// completionsOpenAIFields are the request members /v1/completions accepts:
// OpenAI's, and the sampling extras vLLM and llama.cpp take.
var completionsOpenAIFields = map[string]bool{"model": true, "prompt": true, "max_tokens": true, "temperature": true, "top_p": true,
	"n": true, "stream": true, "stream_options": true, "stop": true, "echo": true, "logprobs": true, "suffix": true, "seed": true,
	"presence_penalty": true, "frequency_penalty": true, "best_of": true, "logit_bias": true, "user": true,
	"top_k": true, "min_p": true, "repetition_penalty": true}

// completionsCheckOpenAI validates a /v1/completions request as OpenAI
// does, with OpenAI-style messages.
func completionsCheckOpenAI(contentType string, body []byte) (completionsRequest, string) {
	var req completionsRequest
	if !strings.HasPrefix(contentType, "application/json") {
		return req, "Content-Type must be application/json."
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return req, "We could not parse the JSON body of your request."
	}
	for k := range m {
		if !completionsOpenAIFields[k] {
			return req, fmt.Sprintf("Unrecognized request argument supplied: %s", k)
		}
	}
	model, ok := m["model"].(string)
	if !ok || model == "" {
		return req, "you must provide a model parameter"
	}
	req.model = model
	switch p := m["prompt"].(type) {
	case string:
		req.prompt = &p
	case []any:
		for _, x := range p {
			if _, ok := x.(string); !ok {
				return req, "Invalid type for 'prompt': expected a string or an array of strings."
			}
		}
		if len(p) != 1 {
			return req, "upstreamtest: send exactly one prompt."
		}
		s := p[0].(string)
		req.prompt = &s
	case nil:
		return req, "Missing required parameter: 'prompt'."
	default:
		return req, "Invalid type for 'prompt': expected a string or an array of strings."
	}
	if v, ok := m["stream"]; ok {
		if req.stream, ok = v.(bool); !ok {
			return req, "Invalid type for 'stream': expected a boolean."
		}
	}
	if v, ok := m["stream_options"]; ok && v != nil {
		if !req.stream {
			return req, "The 'stream_options' parameter is only allowed when 'stream' is enabled."
		}
		opts, ok := v.(map[string]any)
		if !ok {
			return req, "Invalid type for 'stream_options': expected an object."
		}
		req.includeUsage, _ = opts["include_usage"].(bool)
	}
	if msg := completionsNumbers(m, "'%s'", map[string]float64{"max_tokens": -1, "temperature": 2, "top_p": 1, "top_k": -1}); msg != "" {
		return req, msg
	}
	if v, ok := m["stop"]; ok {
		if msg := checkStop(v); msg != "" {
			return req, msg
		}
	}
	return req, ""
}

// completionsNumbers checks that the named members, where present, are
// numbers in [0, max] (no upper bound for max < 0, and then integers).
func completionsNumbers(m map[string]any, quote string, limits map[string]float64) string {
	for k, hi := range limits {
		v, ok := m[k]
		if !ok {
			continue
		}
		x, ok := v.(float64)
		name := fmt.Sprintf(quote, k)
		switch {
		case !ok:
			return fmt.Sprintf("Invalid type for %s: expected a number.", name)
		case hi < 0 && (x != math.Trunc(x) || x < 0):
			return fmt.Sprintf("Invalid value for %s: expected a non-negative integer.", name)
		case hi >= 0 && (x < 0 || x > hi):
			return fmt.Sprintf("Invalid value for %s: expected a number between 0 and %g.", name, hi)
		}
	}
	return ""
}

// completionsOllamaFields are /api/generate's members (Ollama's
// docs/api.md); completionsOllamaOptions the options this fake accepts.
var (
	completionsOllamaFields = map[string]bool{"model": true, "prompt": true, "suffix": true, "images": true, "format": true, "options": true,
		"system": true, "template": true, "stream": true, "raw": true, "keep_alive": true, "context": true, "think": true}
	completionsOllamaOptions = map[string]bool{"num_predict": true, "temperature": true, "top_p": true, "top_k": true, "min_p": true,
		"stop": true, "seed": true, "num_ctx": true, "repeat_penalty": true, "presence_penalty": true, "frequency_penalty": true}
)

// completionsCheckOllama validates an /api/generate request, with
// Ollama-style messages, and requires raw mode.
func completionsCheckOllama(contentType string, body []byte) (completionsRequest, string) {
	req := completionsRequest{stream: true} // Ollama streams unless told not to
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return req, "invalid character in request body"
	}
	for k := range m {
		if !completionsOllamaFields[k] {
			return req, fmt.Sprintf("upstreamtest: unknown member %q", k)
		}
	}
	model, _ := m["model"].(string)
	if model == "" {
		return req, "model is required"
	}
	req.model = model
	p, ok := m["prompt"].(string)
	if !ok {
		return req, "upstreamtest: prompt must be a string"
	}
	req.prompt = &p
	if raw, _ := m["raw"].(bool); !raw {
		return req, "upstreamtest: raw must be true: the prompt is already templated"
	}
	for _, k := range []string{"system", "template", "context"} {
		if _, ok := m[k]; ok {
			return req, fmt.Sprintf("upstreamtest: %s has no meaning in raw mode", k)
		}
	}
	if v, ok := m["stream"]; ok {
		if req.stream, ok = v.(bool); !ok {
			return req, "json: cannot unmarshal into Go struct field GenerateRequest.stream of type bool"
		}
	}
	if v, ok := m["options"]; ok {
		opts, ok := v.(map[string]any)
		if !ok {
			return req, "json: cannot unmarshal into Go struct field GenerateRequest.options of type map[string]interface {}"
		}
		for k := range opts {
			if !completionsOllamaOptions[k] {
				return req, fmt.Sprintf("upstreamtest: invalid option provided: %s", k)
			}
		}
		if msg := completionsNumbers(opts, "option %s", map[string]float64{"num_predict": -1, "temperature": 2, "top_p": 1, "top_k": -1}); msg != "" {
			return req, msg
		}
		if v, ok := opts["stop"]; ok {
			list, ok := v.([]any)
			for _, x := range list {
				if _, isStr := x.(string); !isStr {
					ok = false
				}
			}
			if !ok {
				return req, "upstreamtest: option stop must be an array of strings"
			}
		}
	}
	return req, ""
}
