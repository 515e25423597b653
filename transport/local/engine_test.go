package local

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/llamatest"
	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/textgen"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, o Options) *Engine {
	t.Helper()
	e, err := Open(llamatest.Write(t, t.TempDir(), "tiny.gguf", llamatest.Model{Seed: 3}), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

const llama3Prompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of Italy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"

type llamaAnswer struct {
	Generation string `json:"generation"`
	Prompt     *int   `json:"prompt_token_count"`
	Generated  *int   `json:"generation_token_count"`
	Stop       string `json:"stop_reason"`
	Metrics    *struct {
		In  int `json:"inputTokenCount"`
		Out int `json:"outputTokenCount"`
	} `json:"amazon-bedrock-invocationMetrics"`
}

func body(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInvokeAndStreamAgree(t *testing.T) {
	c := &Client{Engine: open(t, Options{}), Dialect: textgen.Llama}
	ctx := context.Background()
	req := transport.Request{Body: body(t, map[string]any{"prompt": llama3Prompt, "max_gen_len": 12})}
	resp, err := c.Invoke(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var a llamaAnswer
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		t.Fatal(err)
	}
	j, err := c.prepare(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := len(j.prompt) // this vocabulary's BOS is <s>, so one is prepended
	if want != len(c.Engine.tok.Encode(llama3Prompt, false))+1 {
		t.Fatalf("prompt of %d tokens", want)
	}
	if a.Generation == "" || a.Stop != "length" || *a.Generated != 12 || *a.Prompt != want || resp.InputTokens != want || resp.OutputTokens != 12 {
		t.Fatalf("Invoke = %s (tokens %d/%d)", resp.Body, resp.InputTokens, resp.OutputTokens)
	}

	seq, err := c.InvokeStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var last llamaAnswer
	var n int
	for chunk, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		last = llamaAnswer{}
		if err := json.Unmarshal(chunk, &last); err != nil {
			t.Fatal(err)
		}
		text.WriteString(last.Generation)
		n++
	}
	if text.String() != a.Generation {
		t.Errorf("stream text %q, Invoke text %q (greedy decoding must agree)", text.String(), a.Generation)
	}
	if n < 2 || last.Stop != "length" || last.Metrics == nil || last.Metrics.Out != 12 || last.Metrics.In != want {
		t.Errorf("last of %d chunks = %+v", n, last)
	}
}

func TestStopSequences(t *testing.T) {
	c := &Client{Engine: open(t, Options{}), Dialect: textgen.Mistral}
	ctx := context.Background()
	const prompt = "<s>[INST] What is the capital of Italy? [/INST]"
	full, err := c.Invoke(ctx, transport.Request{Body: body(t, map[string]any{"prompt": prompt, "max_tokens": 16})})
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Outputs []struct{ Text, StopReason string } `json:"outputs"`
	}
	json.Unmarshal(full.Body, &a)
	text := a.Outputs[0].Text
	if len(text) < 8 {
		t.Fatalf("generated %q: too short to cut", text)
	}
	stop := text[5:7]
	cut := text[:strings.Index(text, stop)]
	for _, stream := range []bool{false, true} {
		req := transport.Request{Body: body(t, map[string]any{"prompt": prompt, "max_tokens": 16, "stop": []string{stop}})}
		var got string
		if stream {
			seq, err := c.InvokeStream(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for chunk, err := range seq {
				if err != nil {
					t.Fatal(err)
				}
				var ch struct {
					Outputs []struct{ Text string } `json:"outputs"`
				}
				json.Unmarshal(chunk, &ch)
				got += ch.Outputs[0].Text
			}
		} else {
			resp, err := c.Invoke(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			json.Unmarshal(resp.Body, &a)
			got = a.Outputs[0].Text
		}
		if got != cut {
			t.Errorf("stream %v: text %q, want %q (cut before %q)", stream, got, cut, stop)
		}
	}
}

func TestPromptLongerThanTheContext(t *testing.T) {
	c := &Client{Engine: open(t, Options{Context: 16}), Dialect: textgen.Llama}
	_, err := c.Invoke(context.Background(), transport.Request{Body: body(t, map[string]any{"prompt": llama3Prompt})})
	var se *transport.StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 || se.Message != MsgInputTooLong {
		t.Fatalf("err = %v", err)
	}
}

// Requests beyond the slots wait; one whose caller leaves while waiting, or
// while generating, frees its place; concurrent sequences never mix.
func TestSlots(t *testing.T) {
	e := open(t, Options{Slots: 1})
	c := &Client{Engine: e, Dialect: textgen.Llama}
	req := transport.Request{Body: body(t, map[string]any{"prompt": llama3Prompt, "max_gen_len": 200})}

	seq, err := c.InvokeStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	next, stop := iterPull(seq)
	if _, err, ok := next(); !ok || err != nil {
		t.Fatal("the first stream produced nothing")
	}
	// The only slot is busy: a second caller waits, then gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Invoke(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued caller: %v", err)
	}
	stop() // the first caller leaves mid-stream: its slot is freed

	small := transport.Request{Body: body(t, map[string]any{"prompt": llama3Prompt, "max_gen_len": 6})}
	want, err := c.Invoke(context.Background(), small)
	if err != nil {
		t.Fatal(err)
	}
	e2 := open(t, Options{Slots: 2})
	c2 := &Client{Engine: e2, Dialect: textgen.Llama}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			got, err := c2.Invoke(context.Background(), small)
			if err != nil || string(got.Body) != string(want.Body) {
				t.Errorf("concurrent answer %s, %v; want %s", got.Body, err, want.Body)
			}
		})
	}
	wg.Wait()
}

// TestQuantizedModels generates from models whose weights are in each
// quantised type the kernels pack (in a GOEXPERIMENT=simd build on a CPU
// with AVX-512 VNNI, the packed kernels; otherwise the others): Invoke and
// the stream agree, and four requests at once on two slots each get the
// answer one request alone gets.
func TestQuantizedModels(t *testing.T) {
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		t.Run(typ.String(), func(t *testing.T) {
			path := llamatest.Write(t, t.TempDir(), "q.gguf", llamatest.Model{Seed: 7, Type: typ, Dim: 256})
			e, err := Open(path, Options{Slots: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			c := &Client{Engine: e, Dialect: textgen.Llama}
			req := transport.Request{Body: body(t, map[string]any{"prompt": llama3Prompt, "max_gen_len": 10})}
			want, err := c.Invoke(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var a llamaAnswer
			if err := json.Unmarshal(want.Body, &a); err != nil || a.Generation == "" || *a.Generated != 10 {
				t.Fatalf("Invoke = %s, %v", want.Body, err)
			}
			seq, err := c.InvokeStream(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			for chunk, err := range seq {
				var part llamaAnswer
				if err != nil || json.Unmarshal(chunk, &part) != nil {
					t.Fatalf("stream: %s, %v", chunk, err)
				}
				text.WriteString(part.Generation)
			}
			if text.String() != a.Generation {
				t.Errorf("stream text %q, Invoke text %q", text.String(), a.Generation)
			}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					got, err := c.Invoke(context.Background(), req)
					if err != nil || string(got.Body) != string(want.Body) {
						t.Errorf("concurrent answer %s, %v; want %s", got.Body, err, want.Body)
					}
				})
			}
			wg.Wait()
		})
	}
}
