package upstreamtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

const bedrockSigned = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"

// bedrockPost sends a raw request to the fake.
func bedrockPost(t *testing.T, url, path, auth, contentType, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestBedrockRejects(t *testing.T) {
	tests := []struct {
		name, path, auth, contentType, body string
		status                              int
		errorType                           string
	}{
		{"an unsigned request", "/model/m/invoke", "", "application/json", `{}`, 403, "MissingAuthenticationTokenException"},
		{"a signature scoped to another service", "/model/m/invoke", strings.Replace(bedrockSigned, "/bedrock/", "/s3/", 1), "application/json", `{}`, 403, "InvalidSignatureException"},
		{"a body that is not a JSON object", "/model/m/invoke", bedrockSigned, "application/json", `[1]`, 400, "ValidationException"},
		{"unparseable JSON", "/model/m/invoke-with-response-stream", bedrockSigned, "application/json", `{"prompt":`, 400, "ValidationException"},
		{"a content type that is not JSON", "/model/m/invoke", bedrockSigned, "text/plain", `{}`, 400, "ValidationException"},
		{"an unknown operation", "/model/m/converse-please", bedrockSigned, "application/json", `{}`, 404, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewBedrock(t)
			resp := bedrockPost(t, srv.URL, tt.path, tt.auth, tt.contentType, tt.body)
			var e struct{ Message string }
			json.NewDecoder(resp.Body).Decode(&e)
			got := resp.Header.Get("X-Amzn-ErrorType")
			if resp.StatusCode != tt.status || got != tt.errorType+":http://internal.amazon.com/coral/com.amazon.bedrock/" || e.Message == "" {
				t.Errorf("got %d %q %q, want %d %s", resp.StatusCode, got, e.Message, tt.status, tt.errorType)
			}
		})
	}
}

func TestBedrockAcceptsBedrockAPIKeys(t *testing.T) {
	srv := NewBedrock(t)
	if resp := bedrockPost(t, srv.URL, "/model/m/invoke", "Bearer bedrock-api-key-dGVzdA==", "application/json", `{}`); resp.StatusCode != 200 {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

func TestBedrockAcceptsMissingAndOctetStreamContentTypes(t *testing.T) {
	for _, ct := range []string{"", "application/octet-stream"} {
		srv := NewBedrock(t, BedrockReply{Body: []byte(`{"generation":"Paris."}`), InputTokens: 7, OutputTokens: 2, LatencyMs: 40})
		resp := bedrockPost(t, srv.URL, "/model/meta.llama3-8b-instruct-v1%3A0/invoke", bedrockSigned, ct, `{"prompt":"hi"}`)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != `{"generation":"Paris."}` {
			t.Errorf("content type %q: %d %s", ct, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Amzn-Bedrock-Input-Token-Count") != "7" || resp.Header.Get("X-Amzn-Bedrock-Output-Token-Count") != "2" ||
			resp.Header.Get("X-Amzn-Bedrock-Invocation-Latency") != "40" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", resp.Header)
		}
		if got := srv.LastRequest(); got.ModelID != "meta.llama3-8b-instruct-v1:0" || string(got.Body) != `{"prompt":"hi"}` {
			t.Errorf("recorded %+v", got)
		}
	}
}

func TestBedrockStreamFrames(t *testing.T) {
	srv := NewBedrock(t, BedrockReply{
		Chunks:      [][]byte{[]byte(`{"generation":"Par"}`), []byte(`{"generation":"is."}`)},
		InputTokens: 7, OutputTokens: 2, LatencyMs: 40,
		StreamException: "throttlingException", Message: "Too many tokens, please wait before trying again.",
	})
	resp := bedrockPost(t, srv.URL, "/model/m/invoke-with-response-stream", bedrockSigned, "application/json", `{}`)
	if resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" || resp.Header.Get("X-Amzn-Bedrock-Content-Type") != "application/json" {
		t.Errorf("headers %v", resp.Header)
	}
	dec := eventstream.NewDecoder()
	var got []string
	for {
		msg, err := dec.Decode(resp.Body, nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		typ := msg.Headers.Get(":event-type")
		if typ == nil {
			typ = msg.Headers.Get(":exception-type")
		}
		payload := string(msg.Payload)
		if typ.String() == "chunk" {
			var p struct{ Bytes []byte }
			if err := json.Unmarshal(msg.Payload, &p); err != nil {
				t.Fatal(err)
			}
			payload = string(p.Bytes)
		}
		got = append(got, msg.Headers.Get(":message-type").String()+" "+typ.String()+" "+payload)
	}
	want := []string{
		`event chunk {"generation":"Par"}`,
		`event chunk {"generation":"is.","amazon-bedrock-invocationMetrics":{"firstByteLatency":40,"inputTokenCount":7,"invocationLatency":40,"outputTokenCount":2}}`,
		`exception throttlingException {"message":"Too many tokens, please wait before trying again."}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frames\n got %q\nwant %q", got, want)
	}
}

// TestBedrockSpeaksToTheSDK checks the fake against the real client.
func TestBedrockSpeaksToTheSDK(t *testing.T) {
	srv := NewBedrock(t,
		BedrockReply{Body: []byte(`{"generation":"Paris."}`)},
		BedrockReply{Chunks: [][]byte{[]byte(`{"generation":"Rome."}`)}},
		BedrockReply{Exception: "ModelErrorException", Message: "boom", OriginalStatusCode: 500, ResourceName: "r"},
	)
	c := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	ctx := context.Background()
	out, err := c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
	if err != nil || string(out.Body) != `{"generation":"Paris."}` || aws.ToString(out.ContentType) != "application/json" {
		t.Fatalf("InvokeModel: %v %v", out, err)
	}
	sout, err := c.InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	var chunks [][]byte
	for ev := range sout.GetStream().Events() {
		chunks = append(chunks, ev.(*types.ResponseStreamMemberChunk).Value.Bytes)
	}
	sout.GetStream().Close()
	if err := sout.GetStream().Err(); err != nil || len(chunks) != 1 || !bytes.HasPrefix(chunks[0], []byte(`{"generation":"Rome.","amazon-bedrock-invocationMetrics":`)) {
		t.Errorf("stream: %q %v", chunks, err)
	}
	_, err = c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String("m"), Body: []byte(`{}`)})
	if me, ok := errors.AsType[*types.ModelErrorException](err); !ok || aws.ToInt32(me.OriginalStatusCode) != 500 || aws.ToString(me.ResourceName) != "r" {
		t.Errorf("err = %v", err)
	}
}
