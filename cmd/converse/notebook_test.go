package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/converse-project/converse/upstreamtest"
)

// The flows of AWS's getting-started notebook for the Converse API, driven by
// the AWS SDK for Go through `converse serve` to a fake OpenAI-compatible
// upstream that speaks the real wire format (JSON and SSE).

// openAIServer starts a fake upstream and converse in front of it, serving
// every catalog model from it.
func openAIServer(t *testing.T) (*upstreamtest.OpenAIServer, *bedrockruntime.Client) {
	t.Helper()
	up := upstreamtest.NewOpenAI(t)
	s := startServer(t, fmt.Sprintf(`
models:
  "*":
    backend: openai
    base_url: %s
    model: upstream-model
    timeout: 10s
`, up.URL))
	return up, s.client(t)
}

// openAIRequest is the part of an OpenAI chat request the tests look at.
type openAIRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Temperature *float64 `json:"temperature"`
	TopP        *float64 `json:"top_p"`
	MaxTokens   *int     `json:"max_tokens"`
	TopK        *int     `json:"top_k"`
	Stream      bool     `json:"stream"`
}

func lastRequest(t *testing.T, up *upstreamtest.OpenAIServer) openAIRequest {
	t.Helper()
	var r openAIRequest
	if err := json.Unmarshal(up.LastRequest(), &r); err != nil {
		t.Fatalf("upstream request %s: %v", up.LastRequest(), err)
	}
	return r
}

// content flattens an OpenAI message content (a string or parts) to text,
// with image parts as their URL.
func content(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		ImageURL struct {
			URL string `json:"url"`
		} `json:"image_url"`
	}
	json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text + p.ImageURL.URL + "\n")
	}
	return b.String()
}

func TestNotebookOneShotAcrossModels(t *testing.T) {
	up, c := openAIServer(t)
	ctx := context.Background()
	const answer = "The capital of Italy is Rome."
	for _, id := range notebookModels {
		t.Run(id, func(t *testing.T) {
			up.Reply(upstreamtest.Reply{Text: answer, PromptTokens: 14, CompletionTokens: 7})
			msgs := []types.Message{userText("What is the capital of Italy?")}
			out, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(id), Messages: msgs,
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(512), Temperature: aws.Float32(0.5), TopP: aws.Float32(0.9)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := replyText(t, out); got != answer {
				t.Errorf("text = %q", got)
			}
			if *out.Usage.InputTokens != 14 || *out.Usage.OutputTokens != 7 || *out.Usage.TotalTokens != 21 {
				t.Errorf("usage = in %d out %d total %d", *out.Usage.InputTokens, *out.Usage.OutputTokens, *out.Usage.TotalTokens)
			}
			if out.StopReason != types.StopReasonEndTurn || *out.Metrics.LatencyMs < 1 {
				t.Errorf("stop %q latency %d", out.StopReason, *out.Metrics.LatencyMs)
			}
			req := lastRequest(t, up)
			if req.Model != "upstream-model" || len(req.Messages) != 1 || req.Messages[0].Role != "user" ||
				!strings.Contains(content(req.Messages[0].Content), "What is the capital of Italy?") ||
				req.MaxTokens == nil || *req.MaxTokens != 512 || req.Temperature == nil || *req.Temperature != 0.5 || req.TopP == nil || *req.TopP < 0.89 {
				t.Errorf("upstream request = %s", up.LastRequest())
			}

			up.Reply(upstreamtest.Reply{Text: answer, Chunks: 4, PromptTokens: 14, CompletionTokens: 7})
			st, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(id), Messages: msgs})
			if err != nil {
				t.Fatal(err)
			}
			text, order, stop, usage, err := streamText(t, st)
			if err != nil {
				t.Fatal(err)
			}
			if text != answer || stop != types.StopReasonEndTurn || usage == nil || *usage.InputTokens != 14 || *usage.OutputTokens != 7 {
				t.Errorf("stream: text %q stop %q usage %+v", text, stop, usage)
			}
			if strings.Join(order, ",") != strings.Join(bedrockOrder, ",") {
				t.Errorf("event order = %v", order)
			}
			if !lastRequest(t, up).Stream {
				t.Error("upstream was not asked to stream")
			}
		})
	}
}

// The notebook's conversation: a system prompt, temperature and
// additionalModelRequestFields {"top_k": 200}, then a second turn carrying
// the first exchange.
func TestNotebookConversation(t *testing.T) {
	up, c := openAIServer(t)
	ctx := context.Background()
	const model = "anthropic.claude-3-sonnet-20240229-v1:0"
	system := []types.SystemContentBlock{&types.SystemContentBlockMemberText{
		Value: "You are an app that creates playlists for a radio station that plays rock and pop music. Only return song names and the artist."}}
	extra := document.NewLazyDocument(map[string]any{"top_k": 200})
	msgs := []types.Message{userText("Create a list of 3 pop songs.")}
	up.Reply(upstreamtest.Reply{Text: "1. Shake It Off - Taylor Swift"})
	out, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs, System: system,
		InferenceConfig: &types.InferenceConfiguration{Temperature: aws.Float32(0.5)}, AdditionalModelRequestFields: extra})
	if err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, types.Message{Role: types.ConversationRoleAssistant, Content: out.Output.(*types.ConverseOutputMemberMessage).Value.Content},
		userText("Make sure the songs are by artists from the United Kingdom."))
	up.Reply(upstreamtest.Reply{Text: "1. Bohemian Rhapsody - Queen"})
	out, err = c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs, System: system,
		InferenceConfig: &types.InferenceConfiguration{Temperature: aws.Float32(0.5)}, AdditionalModelRequestFields: extra})
	if err != nil {
		t.Fatal(err)
	}
	if replyText(t, out) != "1. Bohemian Rhapsody - Queen" {
		t.Errorf("text = %q", replyText(t, out))
	}
	req := lastRequest(t, up)
	var roles []string
	for _, m := range req.Messages {
		roles = append(roles, m.Role)
	}
	if strings.Join(roles, ",") != "system,user,assistant,user" ||
		!strings.Contains(content(req.Messages[0].Content), "playlists for a radio station") ||
		!strings.Contains(content(req.Messages[2].Content), "Shake It Off") ||
		!strings.Contains(content(req.Messages[3].Content), "United Kingdom") {
		t.Errorf("upstream messages = %s", up.LastRequest())
	}
	if req.TopK == nil || *req.TopK != 200 || req.Temperature == nil || *req.Temperature != 0.5 {
		t.Errorf("upstream top_k / temperature: %s", up.LastRequest())
	}
}

func TestNotebookImage(t *testing.T) {
	up, c := openAIServer(t)
	png := tinyPNG(t)
	up.Reply(upstreamtest.Reply{Text: "A red diagonal line."})
	out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
			&types.ContentBlockMemberText{Value: "What's in this image?"},
			&types.ContentBlockMemberImage{Value: types.ImageBlock{Format: types.ImageFormatPng, Source: &types.ImageSourceMemberBytes{Value: png}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if replyText(t, out) != "A red diagonal line." {
		t.Errorf("text = %q", replyText(t, out))
	}
	got := content(lastRequest(t, up).Messages[0].Content)
	if !strings.Contains(got, "What's in this image?") || !strings.Contains(got, "data:image/png;base64,"+base64.StdEncoding.EncodeToString(png)) {
		t.Errorf("upstream content = %.300s", got)
	}
}

func TestNotebookDocument(t *testing.T) {
	up, c := openAIServer(t)
	pdf := tinyPDF("Amazon Bedrock offers a choice of foundation models.")
	up.Reply(upstreamtest.Reply{Text: "It is about Bedrock."})
	out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
			&types.ContentBlockMemberText{Value: "Briefly summarize the document I've attached."},
			&types.ContentBlockMemberDocument{Value: types.DocumentBlock{Format: types.DocumentFormatPdf, Name: aws.String("MyDocument"),
				Source: &types.DocumentSourceMemberBytes{Value: pdf}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if replyText(t, out) != "It is about Bedrock." {
		t.Errorf("text = %q", replyText(t, out))
	}
	got := content(lastRequest(t, up).Messages[0].Content)
	if !strings.Contains(got, "MyDocument") || !strings.Contains(got, "Amazon Bedrock offers a choice of foundation models.") ||
		!strings.Contains(got, "Briefly summarize") {
		t.Errorf("upstream content = %q", got)
	}
}

// Upstream failures arrive as the exceptions Bedrock sends for them.
func TestUpstreamFaults(t *testing.T) {
	up, c := openAIServer(t)
	ctx := context.Background()
	in := &bedrockruntime.ConverseInput{ModelId: aws.String("meta.llama3-1-8b-instruct-v1:0"), Messages: []types.Message{userText("hi")}}
	for _, tc := range []struct {
		name  string
		reply upstreamtest.Reply
		check func(error) bool
	}{
		{"429 is throttling", upstreamtest.Reply{Status: 429}, isA[*types.ThrottlingException]},
		{"500 is a model error", upstreamtest.Reply{Status: 500}, func(err error) bool {
			var me *types.ModelErrorException
			return errors.As(err, &me) && me.OriginalStatusCode != nil && *me.OriginalStatusCode == 500
		}},
		{"503 is service unavailable", upstreamtest.Reply{Status: 503}, isA[*types.ServiceUnavailableException]},
		{"a malformed reply is a model error", upstreamtest.Reply{Malformed: true}, isA[*types.ModelErrorException]},
		{"400 is the model's validation error", upstreamtest.Reply{Status: 400, Message: "context too long"}, func(err error) bool {
			var ve *types.ValidationException
			return errors.As(err, &ve) && strings.Contains(ve.ErrorMessage(), "The model returned the following errors: context too long")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up.Reply(tc.reply)
			_, err := c.Converse(ctx, in)
			if !tc.check(err) {
				t.Errorf("err = %T %v", err, err)
			}
		})
	}
}

// An upstream that dies mid-stream ends the stream with a
// modelStreamErrorException frame after the deltas already sent.
func TestUpstreamDiesMidStream(t *testing.T) {
	up, c := openAIServer(t)
	up.Reply(upstreamtest.Reply{Text: "one two three four five six", Chunks: 6, CutAfter: 3})
	st, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String("mistral.mistral-large-2407-v1:0"), Messages: []types.Message{userText("Count to six.")}})
	if err != nil {
		t.Fatal(err)
	}
	text, order, _, _, err := streamText(t, st)
	if !isA[*types.ModelStreamErrorException](err) {
		t.Fatalf("stream error = %T %v", err, err)
	}
	if text == "" || order[0] != "messageStart" || strings.Contains(strings.Join(order, ","), "messageStop") {
		t.Errorf("before the failure: text %q order %v", text, order)
	}
}

// A client that leaves mid-stream cancels the upstream request; TestMain's
// leak check then finds no goroutine left behind.
func TestClientLeavesMidStream(t *testing.T) {
	up, c := openAIServer(t)
	up.Reply(upstreamtest.Reply{Text: "this answer never finishes", Chunks: 4, Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"), Messages: []types.Message{userText("Tell me a long story.")}})
	if err != nil {
		t.Fatal(err)
	}
	events := st.GetStream()
	var got int
	for ev := range events.Events() {
		got++
		if _, ok := ev.(*types.ConverseStreamOutputMemberContentBlockDelta); ok {
			break // one delta arrived: the stream is live; now leave
		}
	}
	cancel()
	events.Close()
	select {
	case <-up.Cancelled():
	case <-time.After(10 * time.Second):
		t.Fatalf("the upstream never saw the client leave (after %d events)", got)
	}
}
