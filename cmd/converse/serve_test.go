package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// notebookModels are the ten model IDs of AWS's getting-started notebook for
// the Converse API.
var notebookModels = []string{
	"amazon.titan-text-express-v1",
	"amazon.titan-text-lite-v1",
	"anthropic.claude-3-5-sonnet-20240620-v1:0",
	"anthropic.claude-3-haiku-20240307-v1:0",
	"cohere.command-r-plus-v1:0",
	"cohere.command-r-v1:0",
	"meta.llama3-1-70b-instruct-v1:0",
	"meta.llama3-1-8b-instruct-v1:0",
	"mistral.mistral-large-2407-v1:0",
	"mistral.mixtral-8x7b-instruct-v0:1",
}

func userText(s string) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: s}}}
}

func replyText(t *testing.T, out *bedrockruntime.ConverseOutput) string {
	t.Helper()
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		t.Fatalf("output is %T", out.Output)
	}
	var b strings.Builder
	for _, c := range msg.Value.Content {
		if tb, ok := c.(*types.ContentBlockMemberText); ok {
			b.WriteString(tb.Value)
		}
	}
	return b.String()
}

// streamText drains a ConverseStream, returning the text, the order of event
// kinds (repeats collapsed), the stop reason and the stream's error.
func streamText(t *testing.T, out *bedrockruntime.ConverseStreamOutput) (text string, order []string, stop types.StopReason, usage *types.TokenUsage, err error) {
	t.Helper()
	s := out.GetStream()
	defer s.Close()
	var b strings.Builder
	for ev := range s.Events() {
		var kind string
		switch ev := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			kind = "messageStart"
		case *types.ConverseStreamOutputMemberContentBlockStart:
			kind = "contentBlockStart"
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			kind = "contentBlockDelta"
			if d, ok := ev.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				b.WriteString(d.Value)
			}
		case *types.ConverseStreamOutputMemberContentBlockStop:
			kind = "contentBlockStop"
		case *types.ConverseStreamOutputMemberMessageStop:
			kind, stop = "messageStop", ev.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			kind, usage = "metadata", ev.Value.Usage
		default:
			kind = "unknown"
		}
		if len(order) == 0 || order[len(order)-1] != kind {
			order = append(order, kind)
		}
	}
	return b.String(), order, stop, usage, s.Err()
}

var bedrockOrder = []string{"messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}

// The README's promise: with no configuration every catalog model answers
// from the test backend, through Converse and ConverseStream.
func TestDefaultConfigServesEveryNotebookModel(t *testing.T) {
	c := startServer(t, "").client(t)
	ctx := context.Background()
	for _, id := range notebookModels {
		t.Run(id, func(t *testing.T) {
			msgs := []types.Message{userText("What is the capital of Italy?")}
			out, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(id), Messages: msgs,
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(512), Temperature: aws.Float32(0.5), TopP: aws.Float32(0.9)}})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := replyText(t, out), "You said: What is the capital of Italy?"; got != want {
				t.Errorf("text = %q, want %q", got, want)
			}
			if *out.Usage.InputTokens == 0 || *out.Usage.OutputTokens == 0 || *out.Usage.TotalTokens != *out.Usage.InputTokens+*out.Usage.OutputTokens {
				t.Errorf("usage = %+v", *out.Usage)
			}
			if out.Metrics == nil || out.Metrics.LatencyMs == nil || *out.Metrics.LatencyMs < 1 {
				t.Errorf("metrics = %+v", out.Metrics)
			}
			if out.StopReason != types.StopReasonEndTurn {
				t.Errorf("stopReason = %q", out.StopReason)
			}
			if id == "amazon.titan-text-express-v1" || id == "amazon.titan-text-lite-v1" {
				return // the notebook streams with the others
			}
			st, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(id), Messages: msgs})
			if err != nil {
				t.Fatal(err)
			}
			text, order, stop, usage, err := streamText(t, st)
			if err != nil {
				t.Fatal(err)
			}
			if text != "You said: What is the capital of Italy?" || stop != types.StopReasonEndTurn || usage == nil || *usage.OutputTokens == 0 {
				t.Errorf("stream: text %q stop %q usage %+v", text, stop, usage)
			}
			if strings.Join(order, ",") != strings.Join(bedrockOrder, ",") {
				t.Errorf("event order = %v, want %v", order, bedrockOrder)
			}
		})
	}
}

// Model IDs reach the same model in every form Bedrock takes.
func TestModelIDForms(t *testing.T) {
	c := startServer(t, `
models:
  anthropic.claude-3-haiku-20240307-v1:0:
    backend: test
    test: {replies: [{text: haiku here}]}
`).client(t)
	for _, id := range []string{
		"anthropic.claude-3-haiku-20240307-v1:0",
		"us.anthropic.claude-3-haiku-20240307-v1:0",
		"eu.anthropic.claude-3-haiku-20240307-v1:0",
		"apac.anthropic.claude-3-haiku-20240307-v1:0",
		"global.anthropic.claude-3-haiku-20240307-v1:0",
		"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
	} {
		out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(id), Messages: []types.Message{userText("hi")}})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if got := replyText(t, out); got != "haiku here" {
			t.Errorf("%s: text %q", id, got)
		}
	}
}

// Errors come back as the SDK's typed exceptions with Bedrock's status codes
// and messages.
func TestErrorsAsBedrockAnswersThem(t *testing.T) {
	c := startServer(t, `
models:
  anthropic.claude-3-haiku-20240307-v1:0: {backend: test}
  amazon.titan-text-express-v1: {backend: test}
  ai21.j2-ultra-v1: {backend: test}
  meta.llama3-1-8b-instruct-v1:0: {backend: test}
  anthropic.claude-3-5-sonnet-20241022-v2:0: {backend: test}
`).client(t)
	ctx := context.Background()
	png := tinyPNG(t)
	cases := []struct {
		name    string
		model   string
		in      bedrockruntime.ConverseInput
		stream  bool
		status  int
		check   func(error) bool
		message string
	}{
		{name: "unknown model ID", model: "acme.no-such-model-v1:0", status: 400,
			check: isA[*types.ValidationException], message: "The provided model identifier is invalid."},
		{name: "catalog model without a backend", model: "cohere.command-r-v1:0", status: 403,
			check: isA[*types.AccessDeniedException], message: "You don't have access to the model with the specified model ID."},
		{name: "profile-only model by its bare ID", model: "anthropic.claude-3-5-sonnet-20241022-v2:0", status: 400,
			check: isA[*types.ValidationException], message: "Invocation of model ID anthropic.claude-3-5-sonnet-20241022-v2:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model."},
		{name: "system prompt to Titan", model: "amazon.titan-text-express-v1", status: 400,
			in:      bedrockruntime.ConverseInput{System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Be terse."}}},
			check:   isA[*types.ValidationException],
			message: "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."},
		{name: "image to Llama 3.1", model: "meta.llama3-1-8b-instruct-v1:0", status: 400,
			in: bedrockruntime.ConverseInput{Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
				&types.ContentBlockMemberText{Value: "What's in this image?"},
				&types.ContentBlockMemberImage{Value: types.ImageBlock{Format: types.ImageFormatPng, Source: &types.ImageSourceMemberBytes{Value: png}}}}}}},
			check:   isA[*types.ValidationException],
			message: "This model doesn't support the image content block that you provided. Update the content block and try again."},
		{name: "history to Jurassic-2", model: "ai21.j2-ultra-v1", status: 400,
			in:      bedrockruntime.ConverseInput{Messages: []types.Message{userText("a"), {Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "b"}}}, userText("c")}},
			check:   isA[*types.ValidationException],
			message: "This model doesn't support conversation history. Try again with input that only includes one user message."},
		{name: "ConverseStream to Jurassic-2", model: "ai21.j2-ultra-v1", stream: true, status: 400,
			check: isA[*types.ValidationException], message: "The model is unsupported for streaming."},
		{name: "conversation starting with the assistant", model: "anthropic.claude-3-haiku-20240307-v1:0", status: 400,
			in:      bedrockruntime.ConverseInput{Messages: []types.Message{{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "b"}}}}},
			check:   isA[*types.ValidationException],
			message: "A conversation must start with a user message. Try again with a conversation that starts with a user message."},
		{name: "two user turns in a row", model: "anthropic.claude-3-haiku-20240307-v1:0", status: 400,
			in:      bedrockruntime.ConverseInput{Messages: []types.Message{userText("a"), userText("b")}},
			check:   isA[*types.ValidationException],
			message: "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."},
		{name: "blank text", model: "anthropic.claude-3-haiku-20240307-v1:0", status: 400,
			in:      bedrockruntime.ConverseInput{Messages: []types.Message{userText(" \n ")}},
			check:   isA[*types.ValidationException],
			message: "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again."},
		{name: "throttling injected by the test backend", model: "anthropic.claude-3-haiku-20240307-v1:0", status: 429,
			in:      bedrockruntime.ConverseInput{Messages: []types.Message{userText("hello [[fault:throttling]]")}},
			check:   isA[*types.ThrottlingException],
			message: "Too many requests, please wait before trying again."},
		{name: "model error injected by the test backend", model: "anthropic.claude-3-haiku-20240307-v1:0", status: 424,
			in:    bedrockruntime.ConverseInput{Messages: []types.Message{userText("hello [[fault:model_error]]")}},
			check: isA[*types.ModelErrorException]},
		{name: "model timeout on ConverseStream, before the stream", model: "anthropic.claude-3-haiku-20240307-v1:0", stream: true, status: 408,
			in:    bedrockruntime.ConverseInput{Messages: []types.Message{userText("hello [[fault:model_timeout]]")}},
			check: isA[*types.ModelTimeoutException]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs := tc.in.Messages
			if msgs == nil {
				msgs = []types.Message{userText("What is the capital of Italy?")}
			}
			var err error
			if tc.stream {
				_, err = c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(tc.model), Messages: msgs, System: tc.in.System})
			} else {
				_, err = c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(tc.model), Messages: msgs, System: tc.in.System})
			}
			if err == nil || !tc.check(err) {
				t.Fatalf("err = %T %v", err, err)
			}
			var re *smithyhttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
				t.Errorf("status = %v, want %d", re, tc.status)
			}
			if re != nil && re.Response.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if tc.message != "" && !strings.HasSuffix(err.Error(), tc.message) {
				t.Errorf("message = %q\nwant      %q", err.Error(), tc.message)
			}
		})
	}
}

// A failure after the stream started arrives as an exception frame, and the
// SDK reports it as a typed error from the stream.
func TestStreamCutMidway(t *testing.T) {
	c := startServer(t, "").client(t)
	out, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId:  aws.String("mistral.mistral-large-2407-v1:0"),
		Messages: []types.Message{userText("one two three four five [[fault:stream_cut:2]]")},
	})
	if err != nil {
		t.Fatal(err)
	}
	text, order, _, _, err := streamText(t, out)
	var mse *types.ModelStreamErrorException
	if !errors.As(err, &mse) {
		t.Fatalf("stream error = %T %v", err, err)
	}
	if strings.Join(order, ",") != "messageStart,contentBlockDelta" || text == "" {
		t.Errorf("before the cut: order %v text %q", order, text)
	}
}

// Nothing the caller sends reaches the log unless the operator asks.
func TestRequestContentIsNotLogged(t *testing.T) {
	const secret = "my-secret-passphrase-1234"
	for _, tc := range []struct {
		args   []string
		logged bool
	}{{nil, false}, {[]string{"--log-level", "debug", "--log-content"}, true}} {
		s := startServer(t, "", tc.args...)
		c := s.client(t)
		if _, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{
			ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"), Messages: []types.Message{userText(secret)}}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(s.log.String(), secret); got != tc.logged {
			t.Errorf("args %v: content in log = %v, want %v\n%s", tc.args, got, tc.logged, s.log.String())
		}
	}
}

// One port speaks HTTP/1.1 and cleartext HTTP/2 with prior knowledge: the
// AWS SDK for JavaScript talks only HTTP/2 to Bedrock Runtime.
func TestH2C(t *testing.T) {
	s := startServer(t, "")
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	defer tr.CloseIdleConnections()
	body := `{"messages":[{"role":"user","content":[{"text":"What is the capital of Italy?"}]}]}`
	for _, op := range []string{"converse", "converse-stream"} {
		req, _ := http.NewRequest("POST", s.URL+"/model/anthropic.claude-3-haiku-20240307-v1%3A0/"+op, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 || !strings.Contains(b.String(), "Italy?") {
			t.Errorf("%s: %s %d %q", op, resp.Proto, resp.StatusCode, b.String())
		}
	}
}

func TestModelsCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONVERSE_MODELS", dir)
	if err := os.WriteFile(filepath.Join(dir, "pulled.gguf"), []byte("GGUF"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"models"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"anthropic.claude-3-haiku-20240307-v1:0", "mistral.mixtral-8x7b-instruct-v0:1", "test", filepath.Join(dir, "pulled.gguf")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("models output lacks %q:\n%s", want, out.String())
		}
	}
}

func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}
