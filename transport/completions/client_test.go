package completions

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/upstreamtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const llama3Prompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nCapital of Italy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"

// client returns a Client for srv speaking api in dialect d.
func client(srv *upstreamtest.CompletionsServer, api API, d Dialect) *Client {
	base := srv.URL + "/v1"
	if api == Ollama {
		base = srv.URL
	}
	return &Client{BaseURL: base, API: api, Dialect: d, Timeout: 5 * time.Second}
}

// upstream decodes the body the fake received.
func upstream(t *testing.T, srv *upstreamtest.CompletionsServer) map[string]any {
	t.Helper()
	body, _ := srv.LastRequest()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("upstream body %s: %v", body, err)
	}
	return m
}

func jsonEq(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s is not JSON: %s", what, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, gb, wb)
	}
}

func TestInvoke(t *testing.T) {
	tests := []struct {
		name         string
		api          API
		dialect      Dialect
		body         string
		reply        upstreamtest.CompletionReply
		wantPrompt   string
		wantUpstream string // the upstream body, minus model and prompt
		wantNative   string
	}{
		{"llama 3 over openai completions strips the BOS and defaults max_tokens", OpenAI, Llama,
			`{"prompt":` + quote(llama3Prompt) + `,"temperature":0.2,"top_p":0.9}`,
			upstreamtest.CompletionReply{Text: "Rome.", PromptTokens: 14, CompletionTokens: 3},
			strings.TrimPrefix(llama3Prompt, "<|begin_of_text|>"),
			`{"max_tokens":512,"temperature":0.2,"top_p":0.9}`,
			`{"generation":"Rome.","prompt_token_count":14,"generation_token_count":3,"stop_reason":"stop"}`},
		{"llama 2 over ollama sends raw with options", Ollama, Llama,
			`{"prompt":"<s>[INST] Capital of Italy? [/INST]","max_gen_len":32}`,
			upstreamtest.CompletionReply{Text: " Rome is", FinishReason: "length", PromptTokens: 12, CompletionTokens: 32},
			"[INST] Capital of Italy? [/INST]",
			`{"raw":true,"stream":false,"options":{"num_predict":32}}`,
			`{"generation":" Rome is","prompt_token_count":12,"generation_token_count":32,"stop_reason":"length"}`},
		{"mistral sends stop and top_k", OpenAI, Mistral,
			`{"prompt":"<s>[INST] Capital of Italy? [/INST]","max_tokens":64,"top_k":50,"stop":["END"]}`,
			upstreamtest.CompletionReply{Text: " Rome.", StopReason: "END"},
			"[INST] Capital of Italy? [/INST]",
			`{"max_tokens":64,"top_k":50,"stop":["END"]}`,
			`{"outputs":[{"text":" Rome.","stop_reason":"stop"}]}`},
		{"titan over ollama maps the generation config", Ollama, Titan,
			`{"inputText":"User: Capital of Italy?\nBot:","textGenerationConfig":{"maxTokenCount":64,"temperature":0,"topP":0.9,"stopSequences":["User:"]}}`,
			upstreamtest.CompletionReply{Text: " Rome.", PromptTokens: 9, CompletionTokens: 2},
			"User: Capital of Italy?\nBot:",
			`{"raw":true,"stream":false,"options":{"num_predict":64,"temperature":0,"top_p":0.9,"stop":["User:"]}}`,
			`{"inputTextTokenCount":9,"results":[{"tokenCount":2,"outputText":" Rome.","completionReason":"FINISH"}]}`},
		{"titan names a matched stop string STOP_CRITERIA_MET", OpenAI, Titan,
			`{"inputText":"User: Hi\nBot:"}`,
			upstreamtest.CompletionReply{Text: " Hello.", StopReason: "User:", NoUsage: true},
			"User: Hi\nBot:",
			`{"max_tokens":512}`,
			`{"inputTextTokenCount":null,"results":[{"tokenCount":null,"outputText":" Hello.","completionReason":"STOP_CRITERIA_MET"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewCompletions(t, tt.reply)
			resp, err := client(srv, tt.api, tt.dialect).Invoke(context.Background(), transport.Request{Model: "m1", Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.LastPrompt(); got != tt.wantPrompt {
				t.Errorf("upstream prompt = %q, want %q", got, tt.wantPrompt)
			}
			up := upstream(t, srv)
			if up["model"] != "m1" {
				t.Errorf("upstream model = %v", up["model"])
			}
			delete(up, "model")
			delete(up, "prompt")
			b, _ := json.Marshal(up)
			jsonEq(t, "upstream body", b, tt.wantUpstream)
			jsonEq(t, "native answer", resp.Body, tt.wantNative)
			wantIn, wantOut := tt.reply.PromptTokens, tt.reply.CompletionTokens
			if tt.reply.NoUsage {
				wantIn, wantOut = -1, -1
			}
			if resp.InputTokens != wantIn || resp.OutputTokens != wantOut || resp.ContentType != "application/json" {
				t.Errorf("response counts %d/%d type %q, want %d/%d", resp.InputTokens, resp.OutputTokens, resp.ContentType, wantIn, wantOut)
			}
		})
	}
}

func TestInvokeKeepBOS(t *testing.T) {
	srv := upstreamtest.NewCompletions(t)
	c := client(srv, OpenAI, Llama)
	c.KeepBOS = true
	if _, err := c.Invoke(context.Background(), transport.Request{Model: "m", Body: []byte(`{"prompt":"<s>[INST] Hi [/INST]"}`)}); err != nil {
		t.Fatal(err)
	}
	if got := srv.LastPrompt(); got != "<s>[INST] Hi [/INST]" {
		t.Errorf("upstream prompt = %q", got)
	}
}

func TestInvokeRejectsMalformedBodies(t *testing.T) {
	tests := []struct {
		name    string
		dialect Dialect
		body    string
		want    string
	}{
		{"body that is not JSON", Llama, `{"prompt":`, "Malformed input request: the body is not valid JSON, please reformat your input and try again."},
		{"llama body with an extraneous key", Llama, `{"prompt":"x","top_k":5}`, "Malformed input request: #: extraneous key [top_k] is not permitted, please reformat your input and try again."},
		{"llama body without a prompt", Llama, `{"max_gen_len":5}`, "Malformed input request: #: required key [prompt] not found, please reformat your input and try again."},
		{"llama body with images", Llama, `{"prompt":"x","images":["AAAA"]}`, "Malformed input request: #: images are not supported by this model endpoint, please reformat your input and try again."},
		{"titan config with an extraneous key", Titan, `{"inputText":"x","textGenerationConfig":{"topK":5}}`, "Malformed input request: #: extraneous key [topK] is not permitted, please reformat your input and try again."},
		{"mistral with a zero token limit", Mistral, `{"prompt":"x","max_tokens":0}`, "Malformed input request: #: the maximum number of tokens must be at least 1, please reformat your input and try again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewCompletions(t)
			_, err := client(srv, OpenAI, tt.dialect).Invoke(context.Background(), transport.Request{Model: "m", Body: []byte(tt.body)})
			var se *transport.StatusError
			if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest || se.Message != tt.want {
				t.Fatalf("error = %v, want a 400 StatusError %q", err, tt.want)
			}
			if srv.Requests() != 0 {
				t.Error("a malformed body reached the upstream")
			}
		})
	}
}

// collect ranges over a stream, returning its chunks and its error.
func collect(t *testing.T, c *Client, body string) ([]map[string]any, error) {
	t.Helper()
	seq, err := c.InvokeStream(context.Background(), transport.Request{Model: "m", Body: []byte(body)})
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for chunk, err := range seq {
		if err != nil {
			return out, err
		}
		var m map[string]any
		if err := json.Unmarshal(chunk, &m); err != nil {
			t.Fatalf("chunk %s: %v", chunk, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func TestInvokeStream(t *testing.T) {
	tests := []struct {
		name      string
		api       API
		dialect   Dialect
		body      string
		reply     upstreamtest.CompletionReply
		wantTexts []string
		textKey   func(map[string]any) any
		wantLast  string // the last chunk, metrics left out
		wantIn    float64
		wantOut   float64
	}{
		{"llama over openai sse", OpenAI, Llama, `{"prompt":"<s>[INST] Hi [/INST]"}`,
			upstreamtest.CompletionReply{Text: "Rome.", Chunks: 2, PromptTokens: 11, CompletionTokens: 3},
			[]string{"Ro", "me."}, func(m map[string]any) any { return m["generation"] },
			`{"generation":"","prompt_token_count":11,"generation_token_count":3,"stop_reason":"stop"}`, 11, 3},
		{"mistral over ollama ndjson", Ollama, Mistral, `{"prompt":"<s>[INST] Hi [/INST]"}`,
			upstreamtest.CompletionReply{Text: " Rome.", Chunks: 3, FinishReason: "length", PromptTokens: 7, CompletionTokens: 3},
			[]string{" R", "om", "e."}, func(m map[string]any) any { return m["outputs"].([]any)[0].(map[string]any)["text"] },
			`{"outputs":[{"text":"","stop_reason":"length"}]}`, 7, 3},
		{"titan over openai without usage counts the events", OpenAI, Titan, `{"inputText":"User: Hi\nBot:"}`,
			upstreamtest.CompletionReply{Text: " Hello.", Chunks: 2, NoUsage: true},
			[]string{" He", "llo."}, func(m map[string]any) any { return m["outputText"] },
			`{"outputText":"","index":0,"totalOutputTextTokenCount":2,"completionReason":"FINISH","inputTextTokenCount":null}`, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewCompletions(t, tt.reply)
			chunks, err := collect(t, client(srv, tt.api, tt.dialect), tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != len(tt.wantTexts)+1 {
				t.Fatalf("got %d chunks, want %d: %v", len(chunks), len(tt.wantTexts)+1, chunks)
			}
			for i, want := range tt.wantTexts {
				if got := tt.textKey(chunks[i]); got != want {
					t.Errorf("chunk %d text = %v, want %q", i, got, want)
				}
				if _, ok := chunks[i]["amazon-bedrock-invocationMetrics"]; ok {
					t.Errorf("chunk %d carries invocation metrics; only the last may", i)
				}
			}
			last := chunks[len(chunks)-1]
			m, ok := last["amazon-bedrock-invocationMetrics"].(map[string]any)
			if !ok {
				t.Fatalf("last chunk has no invocation metrics: %v", last)
			}
			if m["inputTokenCount"] != tt.wantIn || m["outputTokenCount"] != tt.wantOut {
				t.Errorf("metrics = %v, want %v/%v tokens", m, tt.wantIn, tt.wantOut)
			}
			delete(last, "amazon-bedrock-invocationMetrics")
			b, _ := json.Marshal(last)
			jsonEq(t, "last chunk", b, tt.wantLast)
			up := upstream(t, srv)
			if up["stream"] != true {
				t.Errorf("upstream stream = %v", up["stream"])
			}
		})
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name   string
		api    API
		stream bool
		reply  upstreamtest.CompletionReply
		check  func(t *testing.T, err error)
	}{
		{"429 is a StatusError", OpenAI, false, upstreamtest.CompletionReply{Status: 429, Message: "slow down"}, wantStatus(429, "slow down")},
		{"5xx is a StatusError", Ollama, false, upstreamtest.CompletionReply{Status: 500, Message: "runner crashed"}, wantStatus(500, "runner crashed")},
		{"5xx before a stream is a StatusError", OpenAI, true, upstreamtest.CompletionReply{Status: 503}, wantStatus(503, "Service Unavailable")},
		{"unreadable answer is a 502", OpenAI, false, upstreamtest.CompletionReply{Malformed: true}, wantStatus(502, "completions: the answer is not JSON")},
		{"unreadable stream event is a 502", Ollama, true, upstreamtest.CompletionReply{Text: "abc", Chunks: 3, Malformed: true}, wantStatus(502, "completions: a stream line is not JSON")},
		{"error sent mid-stream is a StatusError", OpenAI, true, upstreamtest.CompletionReply{Text: "ab", StreamError: "out of memory"}, wantStatus(500, "out of memory")},
		{"ollama error sent mid-stream is a StatusError", Ollama, true, upstreamtest.CompletionReply{Text: "ab", StreamError: "out of memory"}, wantStatus(500, "out of memory")},
		{"stream cut mid-way is ErrIncomplete", OpenAI, true, upstreamtest.CompletionReply{Text: "abc", Chunks: 3, CutAfter: 2}, wantIs(ErrIncomplete)},
		{"ndjson stream cut mid-way is ErrIncomplete", Ollama, true, upstreamtest.CompletionReply{Text: "abc", Chunks: 3, CutAfter: 2}, wantIs(ErrIncomplete)},
		{"upstream that hangs times out", OpenAI, false, upstreamtest.CompletionReply{Hang: true}, wantIs(transport.ErrTimeout)},
		{"stream that stalls times out", Ollama, true, upstreamtest.CompletionReply{Text: "abc", Chunks: 3, Hang: true}, wantIs(transport.ErrTimeout)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstreamtest.NewCompletions(t, tt.reply)
			c := client(srv, tt.api, Llama)
			c.Timeout = 200 * time.Millisecond
			var err error
			if tt.stream {
				_, err = collect(t, c, `{"prompt":"hi"}`)
			} else {
				_, err = c.Invoke(context.Background(), transport.Request{Model: "m", Body: []byte(`{"prompt":"hi"}`)})
			}
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
		})
	}
}

func wantStatus(code int, msg string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var se *transport.StatusError
		if !errors.As(err, &se) || se.StatusCode != code || se.Message != msg {
			t.Fatalf("error = %v (%#v), want StatusError %d %q", err, se, code, msg)
		}
	}
}

func wantIs(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Fatalf("error = %v, want %v", err, target)
		}
	}
}

func TestStopEarlyCancelsUpstream(t *testing.T) {
	for _, api := range []API{OpenAI, Ollama} {
		t.Run(map[API]string{OpenAI: "openai", Ollama: "ollama"}[api], func(t *testing.T) {
			t.Run("break after the first chunk", func(t *testing.T) {
				srv := upstreamtest.NewCompletions(t, upstreamtest.CompletionReply{Text: "abcdef", Chunks: 6, Hang: true, HangAfter: 2})
				seq, err := client(srv, api, Llama).InvokeStream(context.Background(), transport.Request{Model: "m", Body: []byte(`{"prompt":"hi"}`)})
				if err != nil {
					t.Fatal(err)
				}
				for _, err := range seq {
					if err != nil {
						t.Fatal(err)
					}
					break
				}
				waitCancelled(t, srv)
			})
			t.Run("context cancelled mid-stream", func(t *testing.T) {
				srv := upstreamtest.NewCompletions(t, upstreamtest.CompletionReply{Text: "abcdef", Chunks: 6, Hang: true, HangAfter: 1})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				seq, err := client(srv, api, Llama).InvokeStream(ctx, transport.Request{Model: "m", Body: []byte(`{"prompt":"hi"}`)})
				if err != nil {
					t.Fatal(err)
				}
				var last error
				for _, err := range seq {
					if err != nil {
						last = err
						break
					}
					cancel() // after the first chunk
				}
				if !errors.Is(last, context.Canceled) {
					t.Errorf("stream error = %v, want context.Canceled", last)
				}
				waitCancelled(t, srv)
			})
		})
	}
}

func waitCancelled(t *testing.T, srv *upstreamtest.CompletionsServer) {
	t.Helper()
	select {
	case <-srv.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream never saw the client go away")
	}
}

// TestThroughCodec renders a conversation with codec.Llama3, sends it, and
// decodes the native stream back into Converse events: the prompt that
// reaches the server is the template minus the BOS, and the events carry
// the text and the server's usage.
func TestThroughCodec(t *testing.T) {
	req := &converse.Request{
		System:          []converse.SystemBlock{{Text: ptr("You are a terse geography tutor.")}},
		Messages:        []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("And Italy?")}}},
		InferenceConfig: &converse.InferenceConfig{StopSequences: []string{"\nUser:"}},
	}
	fam := codec.Llama3{}
	body, err := fam.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	prompt, _ := fam.Prompt(req)
	srv := upstreamtest.NewCompletions(t, upstreamtest.CompletionReply{Text: "Rome.\nUser: next", Chunks: 4, PromptTokens: 30, CompletionTokens: 5})
	seq, err := client(srv, OpenAI, Llama).InvokeStream(context.Background(), transport.Request{Model: "m", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := srv.LastPrompt(), strings.TrimPrefix(prompt, "<|begin_of_text|>"); got != want {
		t.Errorf("upstream prompt = %q, want %q", got, want)
	}
	dec := fam.NewStream(req)
	var text strings.Builder
	var evs []converse.StreamEvent
	for chunk, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out, err := dec.Next(chunk)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, out...)
	}
	out, err := dec.End()
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, out...)
	var stop converse.StopReason
	var usage converse.Usage
	for _, ev := range evs {
		switch {
		case ev.ContentBlockDelta != nil:
			text.WriteString(*ev.ContentBlockDelta.Delta.Text)
		case ev.MessageStop != nil:
			stop = ev.MessageStop.StopReason
		case ev.Metadata != nil:
			usage = ev.Metadata.Usage
		}
	}
	if text.String() != "Rome." || stop != converse.StopStopSequence || usage.InputTokens != 30 || usage.OutputTokens != 5 {
		t.Errorf("got %q, %s, %+v", text.String(), stop, usage)
	}
}

func ptr[T any](v T) *T { return &v }

func quote(s string) string {
	b, _ := marshal(s)
	return string(b)
}
