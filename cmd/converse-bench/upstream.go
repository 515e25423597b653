package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Upstream model names the fast server knows. Any other model is answered
// like modelFast.
const (
	// modelFast answers at once: a 100-word completion, or a stream of
	// upstreamConfig.Chunks content chunks.
	modelFast = "fast"
	// modelHold streams its first chunk and then keeps the stream open
	// until the client goes away or the server shuts down: an idle stream.
	modelHold = "hold"
)

// chatPath is where the fast server answers, under its /v1 base URL.
const chatPath = "/v1/chat/completions"

// upstreamConfig configures the fast server.
type upstreamConfig struct {
	// Chunks is the number of content chunks of a streamed reply; 0 means 200.
	Chunks int
	// Delay is waited before answering (before the JSON body, or before the
	// first chunk of a stream), to stand for a model's time to first token.
	Delay time.Duration
	// Done, when closed, releases held streams (at shutdown).
	Done <-chan struct{}
}

// upstream is a minimal, fast OpenAI-compatible chat completions server.
// Its replies are built once, so that its own cost per request is reading
// and decoding the request and writing bytes.
type upstream struct {
	cfg    upstreamConfig
	reply  []byte   // the chat.completion body
	chunks [][]byte // every SSE event of a streamed reply, "[DONE]" last
}

func newUpstream(cfg upstreamConfig) *upstream {
	if cfg.Chunks <= 0 {
		cfg.Chunks = 200
	}
	return &upstream{cfg: cfg, reply: completionBody(100), chunks: streamEvents(cfg.Chunks)}
}

// completionBody is a non-streamed chat.completion of n words.
func completionBody(n int) []byte {
	words := strings.TrimSpace(strings.Repeat("word ", n))
	return fmt.Appendf(nil, `{"id":"chatcmpl-bench","object":"chat.completion","created":1767225600,"model":"bench-model",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":40,"completion_tokens":%d,"total_tokens":%d}}`, strconv.Quote(words), n, n+40)
}

// streamEvents is a streamed reply as OpenAI sends it: n content chunks
// (the first also carrying the role), a chunk with the finish reason, a
// usage chunk (the codec asks for stream_options.include_usage), [DONE].
func streamEvents(n int) [][]byte {
	const head = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"bench-model",`
	events := make([][]byte, 0, n+3)
	for i := range n {
		role := ""
		if i == 0 {
			role = `"role":"assistant",`
		}
		events = append(events, fmt.Appendf(nil, `%s"choices":[{"index":0,"delta":{%s"content":" word%d"},"finish_reason":null}]}`+"\n\n", head, role, i))
	}
	events = append(events,
		[]byte(head+`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n"),
		fmt.Appendf(nil, `%s"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n", head, n, n+40),
		[]byte("data: [DONE]\n\n"))
	return events
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != chatPath {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var in struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, `{"error":{"message":"bad JSON"}}`, http.StatusBadRequest)
		return
	}
	if !wait(r.Context(), u.cfg.Delay) {
		return
	}
	if !in.Stream {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(u.reply)))
		w.Write(u.reply)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	events := u.chunks
	if in.Model == modelHold {
		events = events[:1]
	}
	// One write and flush per chunk, as a server generating tokens does.
	for _, ev := range events {
		if _, err := w.Write(ev); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
	if in.Model == modelHold {
		select {
		case <-r.Context().Done():
		case <-u.cfg.Done:
		}
	}
}

// wait waits d, or less if ctx ends first; it reports whether d elapsed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
