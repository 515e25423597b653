package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/converse-project/converse/upstreamtest"
)

// Every family through the bedrock transport: `converse serve` in front of
// a fake Amazon Bedrock Runtime that speaks the real InvokeModel wire format.
// The native answers are the codecs' own golden fixtures, so these tests and
// the codec goldens agree on each family's native shapes.

// bedrockCase is one family: a model, whether it takes a conversation (and
// a system prompt) and streams, and its fixtures under codec/testdata.
type bedrockCase struct {
	model                string
	chat, system, stream bool
	dir                  string // codec/testdata/<dir>
	request              string // native request fixture, for InvokeModel
	response             string // native response fixture
	chunks               string // native stream fixture (JSON lines)
}

var bedrockCases = []bedrockCase{
	{"anthropic.claude-3-haiku-20240307-v1:0", true, true, true, "claude/system-user-assistant-user", "native.json", "native-response.json", "native-stream.jsonl"},
	{"anthropic.claude-v2:1", true, true, true, "claude-text/system-user-assistant-user", "native.json", "native-response.json", "native-stream.jsonl"},
	{"cohere.command-r-v1:0", true, true, true, "cohere-command-r/system-user-assistant-user", "native.json", "response.native.json", "stream.native.jsonl"},
	{"cohere.command-text-v14", false, false, true, "cohere-command/user", "native.json", "response.native.json", "stream.native.jsonl"},
	{"ai21.jamba-instruct-v1:0", true, true, true, "jamba/system-user-assistant-user", "native.json", "reply.json", "chunks.jsonl"},
	{"ai21.j2-ultra-v1", false, false, false, "jurassic2/user", "native.json", "response.native.json", ""},
	{"meta.llama2-13b-chat-v1", true, true, true, "llama2/system-user-assistant-user", "native.json", "reply.native.json", "stream.native.jsonl"},
	{"meta.llama3-1-8b-instruct-v1:0", true, true, true, "llama3/system-user-assistant-user", "native.json", "reply.native.json", "stream.native.jsonl"},
	{"mistral.mistral-large-2407-v1:0", true, true, true, "mistral-chat/system-user-assistant-user", "native.json", "reply.json", "chunks.jsonl"},
	{"mistral.mistral-7b-instruct-v0:2", true, false, true, "mistral-instruct/user-assistant-user", "native.json", "reply.native.json", "stream.native.jsonl"},
	{"amazon.titan-text-express-v1", true, false, true, "titan/user-assistant-user", "native.json", "reply.native.json", "stream.native.jsonl"},
}

func fixture(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "codec", "testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureChunks(t *testing.T, dir, name string) [][]byte {
	var chunks [][]byte
	for _, line := range bytes.Split(bytes.TrimSpace(fixture(t, dir, name)), []byte("\n")) {
		var v map[string]any // strip metrics the fixture carries: the fake adds its own
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("%s/%s: %v", dir, name, err)
		}
		delete(v, "amazon-bedrock-invocationMetrics")
		b, _ := json.Marshal(v)
		chunks = append(chunks, b)
	}
	return chunks
}

func bedrockServer(t *testing.T) (*upstreamtest.BedrockServer, *bedrockruntime.Client) {
	t.Helper()
	// The bedrock transport signs with the SDK's default credential chain:
	// give it fixed keys and keep the developer's own AWS files out.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDUPSTREAM")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "upstream-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	os.Unsetenv("AWS_BEARER_TOKEN_BEDROCK")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	up := upstreamtest.NewBedrock(t)
	s := startServer(t, fmt.Sprintf(`
models:
  "*": {backend: bedrock, region: us-west-2, endpoint_url: %s, timeout: 10s}
`, up.URL))
	return up, s.client(t)
}

func TestFamiliesThroughBedrock(t *testing.T) {
	up, c := bedrockServer(t)
	ctx := context.Background()
	for _, tc := range bedrockCases {
		t.Run(tc.model, func(t *testing.T) {
			system, msgs := conversation(tc.chat)
			if !tc.system {
				system = nil // the history stays
			}
			up.Reply(upstreamtest.BedrockReply{Body: fixture(t, tc.dir, tc.response), InputTokens: 31, OutputTokens: 3, LatencyMs: 40})
			out, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String("us." + tc.model), Messages: msgs, System: system,
				InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(64)}})
			if err != nil {
				t.Fatalf("Converse: %v", err)
			}
			if replyText(t, out) == "" || out.StopReason == "" || *out.Usage.OutputTokens == 0 || *out.Usage.InputTokens == 0 {
				t.Errorf("Converse: text %q stop %q usage in %d out %d", replyText(t, out), out.StopReason, *out.Usage.InputTokens, *out.Usage.OutputTokens)
			}
			got := up.LastRequest()
			if got.Operation != "InvokeModel" || got.ModelID != "us."+tc.model || !json.Valid(got.Body) {
				t.Errorf("upstream got %s %s %s", got.Operation, got.ModelID, got.Body)
			}

			// InvokeModel passes the caller's native body through untouched.
			native := fixture(t, tc.dir, tc.request)
			up.Reply(upstreamtest.BedrockReply{Body: fixture(t, tc.dir, tc.response), InputTokens: 31, OutputTokens: 3})
			inv, err := c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(tc.model), Body: native,
				ContentType: aws.String("application/json"), Accept: aws.String("application/json")})
			if err != nil {
				t.Fatalf("InvokeModel: %v", err)
			}
			if !bytes.Equal(up.LastRequest().Body, native) || !bytes.Equal(inv.Body, fixture(t, tc.dir, tc.response)) {
				t.Errorf("InvokeModel: body changed on the way: sent %d bytes, upstream got %d; reply %d bytes", len(native), len(up.LastRequest().Body), len(inv.Body))
			}

			if !tc.stream {
				_, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(tc.model), Messages: msgs})
				if !isA[*types.ValidationException](err) {
					t.Errorf("ConverseStream of a model without streaming: %v", err)
				}
				return
			}
			chunks := fixtureChunks(t, tc.dir, tc.chunks)
			up.Reply(upstreamtest.BedrockReply{Chunks: chunks, InputTokens: 31, OutputTokens: 3})
			st, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(tc.model), Messages: msgs, System: system})
			if err != nil {
				t.Fatalf("ConverseStream: %v", err)
			}
			text, order, stop, usage, err := streamText(t, st)
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if text == "" || stop == "" || usage == nil || *usage.OutputTokens == 0 {
				t.Errorf("stream: text %q stop %q usage %v", text, stop, usage)
			}
			if strings.Join(order, ",") != strings.Join(bedrockOrder, ",") {
				t.Errorf("event order = %v", order)
			}

			// InvokeModelWithResponseStream: the same chunks, in order, with
			// Bedrock's invocation metrics on the last.
			up.Reply(upstreamtest.BedrockReply{Chunks: chunks, InputTokens: 31, OutputTokens: 3})
			is, err := c.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(tc.model), Body: native,
				ContentType: aws.String("application/json")})
			if err != nil {
				t.Fatalf("InvokeModelWithResponseStream: %v", err)
			}
			events := is.GetStream()
			var n int
			var last []byte
			for ev := range events.Events() {
				if ch, ok := ev.(*types.ResponseStreamMemberChunk); ok {
					n++
					last = ch.Value.Bytes
				}
			}
			events.Close()
			if err := events.Err(); err != nil || n != len(chunks) || !bytes.Contains(last, []byte(`"amazon-bedrock-invocationMetrics"`)) {
				t.Errorf("invoke stream: %d chunks of %d, err %v, last %s", n, len(chunks), err, last)
			}
		})
	}
}

// Bedrock's own exceptions come back to the caller as they were sent.
func TestBedrockExceptionsPassThrough(t *testing.T) {
	up, c := bedrockServer(t)
	ctx := context.Background()
	in := &bedrockruntime.ConverseInput{ModelId: aws.String("meta.llama3-1-8b-instruct-v1:0"), Messages: []types.Message{userText("hi")}}
	up.Reply(upstreamtest.BedrockReply{Exception: "ThrottlingException", Message: "Too many tokens, please wait before trying again."})
	if _, err := c.Converse(ctx, in); !isA[*types.ThrottlingException](err) || !strings.Contains(err.Error(), "Too many tokens") {
		t.Errorf("throttling: %v", err)
	}
	up.Reply(upstreamtest.BedrockReply{Exception: "ValidationException", Message: "Malformed input request, please reformat your input and try again."})
	_, err := c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("meta.llama3-1-8b-instruct-v1:0"), Body: []byte(`{"prompt":"hi"}`)})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || ve.ErrorMessage() != "Malformed input request, please reformat your input and try again." {
		t.Errorf("InvokeModel validation: %v", err)
	}
	up.Reply(upstreamtest.BedrockReply{Chunks: [][]byte{[]byte(`{"generation":"Ro","prompt_token_count":5,"generation_token_count":1,"stop_reason":null}`)},
		StreamException: "throttlingException", Message: "Too many tokens, please wait before trying again."})
	st, err := c.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: in.ModelId, Messages: in.Messages})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, err := streamText(t, st); !isA[*types.ThrottlingException](err) {
		t.Errorf("in-stream throttling: %v", err)
	}
}
