package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/converse-project/converse/engine/kernels"
	"github.com/converse-project/converse/engine/llamatest"
)

// The embedded engine end to end: a tiny random-weight GGUF model written by
// the test, served as Llama 3 and as Mistral Instruct by `converse serve`,
// driven by the Go SDK. Greedy decoding (temperature 0) makes every answer
// reproducible, so Converse and ConverseStream must agree token for token.
func TestLocalEngine(t *testing.T) {
	path := llamatest.Write(t, t.TempDir(), "tiny.gguf", llamatest.Model{Seed: 11})
	srv := startServer(t, fmt.Sprintf(`
models:
  meta.llama3-1-8b-instruct-v1:0: {backend: local, model_path: %[1]s, slots: 2}
  mistral.mistral-7b-instruct-v0:2: {backend: local, model_path: %[1]s}
`, path))
	// The operator learns which kernels the engine runs.
	if log := srv.log.String(); !strings.Contains(log, "embedded engine ready") || !strings.Contains(log, "models=2") || !strings.Contains(log, kernels.Accel()) {
		t.Errorf("serve log does not say which kernels run:\n%s", log)
	}
	c := srv.client(t)
	ctx := context.Background()
	zero := aws.Float32(0)
	for _, model := range []string{"meta.llama3-1-8b-instruct-v1:0", "mistral.mistral-7b-instruct-v0:2"} {
		t.Run(model, func(t *testing.T) {
			system, msgs := conversation(true)
			if strings.HasPrefix(model, "mistral") {
				system = nil // Mistral Instruct takes no system prompt
			}
			cfg := &types.InferenceConfiguration{MaxTokens: aws.Int32(10), Temperature: zero}
			out, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs, System: system, InferenceConfig: cfg})
			if err != nil {
				t.Fatal(err)
			}
			text := replyText(t, out)
			if text == "" || out.StopReason != types.StopReasonMaxTokens || *out.Usage.OutputTokens != 10 || *out.Usage.InputTokens < 20 {
				t.Fatalf("Converse: %q stop %q usage %d/%d", text, out.StopReason, *out.Usage.InputTokens, *out.Usage.OutputTokens)
			}

			st, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(model), Messages: msgs, System: system, InferenceConfig: cfg})
			if err != nil {
				t.Fatal(err)
			}
			streamed, order, stop, usage, err := streamText(t, st)
			if err != nil {
				t.Fatal(err)
			}
			if streamed != text || stop != types.StopReasonMaxTokens || *usage.OutputTokens != 10 || *usage.InputTokens != *out.Usage.InputTokens {
				t.Errorf("stream: %q (want %q) stop %q usage %d/%d", streamed, text, stop, *usage.InputTokens, *usage.OutputTokens)
			}
			if strings.Join(order, ",") != strings.Join(bedrockOrder, ",") {
				t.Errorf("event order %v", order)
			}

			// A stop sequence taken from the answer cuts it there.
			if len(text) > 6 {
				seq := text[3:5]
				cfg := &types.InferenceConfiguration{MaxTokens: aws.Int32(10), Temperature: zero, StopSequences: []string{seq}}
				out, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs, System: system, InferenceConfig: cfg})
				if err != nil {
					t.Fatal(err)
				}
				// Llama has no native stop field: the codec cuts, and knows
				// why. Mistral's native answer says only "stop", which
				// model-families.md §4.10 maps to end_turn.
				wantStop := types.StopReasonStopSequence
				if strings.HasPrefix(model, "mistral") {
					wantStop = types.StopReasonEndTurn
				}
				if got, want := replyText(t, out), text[:strings.Index(text, seq)]; got != want || out.StopReason != wantStop {
					t.Errorf("with stop %q: %q (%s), want %q", seq, got, out.StopReason, want)
				}
			}
		})
	}

	// InvokeModel with a native Llama body, and its stream.
	body := []byte(`{"prompt":"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n","max_gen_len":5,"temperature":0}`)
	inv, err := c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("meta.llama3-1-8b-instruct-v1:0"), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	var native struct {
		Generation string `json:"generation"`
		Count      int    `json:"generation_token_count"`
		Stop       string `json:"stop_reason"`
	}
	if err := json.Unmarshal(inv.Body, &native); err != nil || native.Generation == "" || native.Count != 5 || native.Stop != "length" {
		t.Errorf("InvokeModel = %s (%v)", inv.Body, err)
	}
	is, err := c.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String("meta.llama3-1-8b-instruct-v1:0"), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for ev := range is.GetStream().Events() {
		if ch, ok := ev.(*types.ResponseStreamMemberChunk); ok {
			var part struct {
				Generation string `json:"generation"`
			}
			json.Unmarshal(ch.Value.Bytes, &part)
			got.WriteString(part.Generation)
		}
	}
	is.GetStream().Close()
	if err := is.GetStream().Err(); err != nil || got.String() != native.Generation {
		t.Errorf("invoke stream: %q (want %q), %v", got.String(), native.Generation, err)
	}
}

// A local model of no Bedrock family is rendered with the Jinja chat
// template stored in its own GGUF file.
func TestLocalChatTemplate(t *testing.T) {
	const chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
		"{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
	dir := t.TempDir()
	withTemplate := llamatest.Write(t, dir, "chatml.gguf", llamatest.Model{Seed: 5, Template: chatml})
	c := startServer(t, fmt.Sprintf(`
models:
  tiny-chatml: {backend: local, model_path: %s, family: chat-template, features: {vision: false}}
`, withTemplate)).client(t)
	system, msgs := conversation(true)
	out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("tiny-chatml"), Messages: msgs, System: system,
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(6), Temperature: aws.Float32(0)}})
	if err != nil {
		t.Fatal(err)
	}
	// The rendered ChatML prompt is 4 turns of "<|im_start|>role\n…<|im_end|>\n" plus the
	// generation prompt, all bytes in this vocabulary: far more than the Llama 3 prompt's ids.
	if replyText(t, out) == "" || *out.Usage.OutputTokens != 6 || *out.Usage.InputTokens < 100 {
		t.Errorf("Converse: %q, usage %d/%d", replyText(t, out), *out.Usage.InputTokens, *out.Usage.OutputTokens)
	}

	// A file with no template cannot serve that family: serve refuses to start.
	without := llamatest.Write(t, dir, "plain.gguf", llamatest.Model{Seed: 5})
	cfg := filepath.Join(dir, "converse.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("models:\n  tiny-plain: {backend: local, model_path: %s, family: chat-template}\n", without)), 0o600)
	var stderr bytes.Buffer
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--config", cfg}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no tokenizer.chat_template") {
		t.Errorf("serve with a template-less model: %v", err)
	}
}
