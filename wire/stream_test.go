package wire_test

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/wire"
)

// streamOf yields evs, then err if non-nil.
func streamOf(evs []converse.StreamEvent, err error) iter.Seq2[converse.StreamEvent, error] {
	return func(yield func(converse.StreamEvent, error) bool) {
		for _, ev := range evs {
			if !yield(ev, nil) {
				return
			}
		}
		if err != nil {
			yield(converse.StreamEvent{}, err)
		}
	}
}

func str(s string) *string { return &s }

func TestConverseStreamEvents(t *testing.T) {
	evs := []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.Delta{Text: str("Hel")}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: converse.Delta{Text: str("lo <b>&")}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 0}},
		{ContentBlockStart: &converse.ContentBlockStartEvent{ContentBlockIndex: 1, Start: converse.ContentBlockStart{ToolUse: &converse.ToolUseStart{ToolUseID: "tooluse_1", Name: "get_weather"}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: converse.Delta{ToolUse: &converse.ToolUseDelta{Input: `{"city":`}}}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: converse.Delta{ToolUse: &converse.ToolUseDelta{Input: `"Paris"}`}}}},
		{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: 1}},
		{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopToolUse}},
		{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 10, OutputTokens: 7, TotalTokens: 17}}},
	}
	b := &fakeBackend{stream: func(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
		return streamOf(evs, nil), nil
	}}
	srv := newServer(t, wire.Options{Router: serveBackend(b)})
	out, err := newClient(srv, nil).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String("anthropic.claude-3-haiku-20240307-v1:0"), Messages: userText("Weather?"),
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()

	var types_ []string
	var text, toolInput strings.Builder
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			types_ = append(types_, "messageStart")
			if v.Value.Role != types.ConversationRoleAssistant {
				t.Errorf("role = %q", v.Value.Role)
			}
		case *types.ConverseStreamOutputMemberContentBlockStart:
			types_ = append(types_, "contentBlockStart")
			tu, ok := v.Value.Start.(*types.ContentBlockStartMemberToolUse)
			if !ok || *tu.Value.ToolUseId != "tooluse_1" || *tu.Value.Name != "get_weather" || *v.Value.ContentBlockIndex != 1 {
				t.Errorf("start = %#v", v.Value.Start)
			}
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			types_ = append(types_, "contentBlockDelta")
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				text.WriteString(d.Value)
			case *types.ContentBlockDeltaMemberToolUse:
				toolInput.WriteString(*d.Value.Input)
			default:
				t.Errorf("delta %T", d)
			}
		case *types.ConverseStreamOutputMemberContentBlockStop:
			types_ = append(types_, "contentBlockStop")
		case *types.ConverseStreamOutputMemberMessageStop:
			types_ = append(types_, "messageStop")
			if v.Value.StopReason != types.StopReasonToolUse {
				t.Errorf("stopReason = %q", v.Value.StopReason)
			}
		case *types.ConverseStreamOutputMemberMetadata:
			types_ = append(types_, "metadata")
			if *v.Value.Usage.TotalTokens != 17 {
				t.Errorf("totalTokens = %d", *v.Value.Usage.TotalTokens)
			}
			if *v.Value.Metrics.LatencyMs < 1 {
				t.Errorf("latencyMs not filled: %d", *v.Value.Metrics.LatencyMs)
			}
		default:
			t.Errorf("unexpected event %T", ev)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "contentBlockStart",
		"contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
	if !slices.Equal(types_, want) {
		t.Errorf("events\n got %v\nwant %v", types_, want)
	}
	if text.String() != "Hello <b>&" || toolInput.String() != `{"city":"Paris"}` {
		t.Errorf("text %q, tool input %q", text.String(), toolInput.String())
	}
}

func TestStreamFailingAfterTwoEvents(t *testing.T) {
	two := []converse.StreamEvent{
		{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}},
		{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.Delta{Text: str("Hi")}}},
	}
	tests := []struct {
		name  string
		err   error
		check func(t *testing.T, err error)
	}{
		{"throttling becomes throttlingException", converse.Errorf(converse.KindThrottling, converse.MsgThrottled), func(t *testing.T, err error) {
			if e, ok := errors.AsType[*types.ThrottlingException](err); !ok || e.ErrorMessage() != converse.MsgThrottled {
				t.Errorf("err = %#v", err)
			}
		}},
		{"validation becomes validationException", converse.Errorf(converse.KindValidation, "The model returned the following errors: Input is too long for requested model."), func(t *testing.T, err error) {
			if _, ok := errors.AsType[*types.ValidationException](err); !ok {
				t.Errorf("err = %#v", err)
			}
		}},
		{"model error becomes modelStreamErrorException with the original status", &converse.Error{Kind: converse.KindModelError, Message: "model failed", OriginalStatusCode: 529, OriginalMessage: "Overloaded"}, func(t *testing.T, err error) {
			e, ok := errors.AsType[*types.ModelStreamErrorException](err)
			if !ok || e.OriginalStatusCode == nil || *e.OriginalStatusCode != 529 || aws.ToString(e.OriginalMessage) != "Overloaded" {
				t.Errorf("err = %#v", err)
			}
		}},
		{"model timeout becomes modelStreamErrorException with 408", converse.Errorf(converse.KindModelTimeout, "timed out"), func(t *testing.T, err error) {
			e, ok := errors.AsType[*types.ModelStreamErrorException](err)
			if !ok || e.OriginalStatusCode == nil || *e.OriginalStatusCode != 408 {
				t.Errorf("err = %#v", err)
			}
		}},
		{"access denied becomes validationException", converse.Errorf(converse.KindAccessDenied, converse.MsgAccessDenied), func(t *testing.T, err error) {
			if _, ok := errors.AsType[*types.ValidationException](err); !ok {
				t.Errorf("err = %#v", err)
			}
		}},
		{"model not ready becomes serviceUnavailableException", converse.Errorf(converse.KindModelNotReady, "not ready"), func(t *testing.T, err error) {
			if _, ok := errors.AsType[*types.ServiceUnavailableException](err); !ok {
				t.Errorf("err = %#v", err)
			}
		}},
		{"a plain Go error becomes internalServerException", errors.New("secret upstream detail"), func(t *testing.T, err error) {
			if e, ok := errors.AsType[*types.InternalServerException](err); !ok || e.ErrorMessage() != converse.MsgInternal {
				t.Errorf("err = %#v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{stream: func(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
				return streamOf(two, tt.err), nil
			}}
			srv := newServer(t, wire.Options{Router: serveBackend(b)})
			out, err := newClient(srv, nil).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: userText("hi")})
			if err != nil {
				t.Fatal(err)
			}
			stream := out.GetStream()
			defer stream.Close()
			n := 0
			for range stream.Events() {
				n++
			}
			if n != 2 {
				t.Errorf("got %d events before the exception, want 2", n)
			}
			tt.check(t, stream.Err())
		})
	}
}

func TestClientGoneMidStreamCancelsBackend(t *testing.T) {
	var (
		mu        sync.Mutex
		cancelled bool
		stopped   bool // the handler stopped ranging when asked for more
	)
	done := make(chan struct{})
	b := &fakeBackend{stream: func(ctx context.Context, _ *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
		return func(yield func(converse.StreamEvent, error) bool) {
			defer close(done)
			if !yield(converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}}, nil) {
				return
			}
			if !yield(converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{Delta: converse.Delta{Text: str("Hi")}}}, nil) {
				return
			}
			<-ctx.Done() // an upstream waiting for its next token
			more := yield(converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{}}, nil)
			mu.Lock()
			cancelled, stopped = true, !more
			mu.Unlock()
		}, nil
	}}
	srv := newServer(t, wire.Options{Router: serveBackend(b)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := newClient(srv, nil).ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: userText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	events := stream.Events()
	for range 2 {
		if _, ok := <-events; !ok {
			t.Fatalf("stream ended early: %v", stream.Err())
		}
	}
	cancel()
	stream.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("backend sequence never saw the client leave")
	}
	mu.Lock()
	defer mu.Unlock()
	if !cancelled || !stopped {
		t.Errorf("cancelled = %v, stopped ranging = %v; want both", cancelled, stopped)
	}
}

func TestH2C(t *testing.T) {
	var protos sync.Map
	b := &fakeBackend{
		converse: func(context.Context, *converse.Request) (*converse.Response, error) {
			return textReply("over h2c"), nil
		},
		stream: func(context.Context, *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
			return streamOf(converse.Events(textReply("over h2c")), nil), nil
		},
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	h := wire.NewHandler(wire.Options{Router: serveBackend(b), Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		h.ServeHTTP(w, r)
	}))
	srv.Config.Protocols = &p
	srv.Start()
	defer srv.Close()

	var cp http.Protocols
	cp.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &cp}
	defer tr.CloseIdleConnections()
	c := bedrockruntime.New(bedrockruntime.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:  bufferedBody(&http.Client{Transport: tr}, nil),
	})
	out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("m"), Messages: userText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if msg := out.Output.(*types.ConverseOutputMemberMessage); msg.Value.Content[0].(*types.ContentBlockMemberText).Value != "over h2c" {
		t.Errorf("content = %#v", msg.Value.Content)
	}
	sout, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("m"), Messages: userText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range sout.GetStream().Events() {
		n++
	}
	if err := sout.GetStream().Err(); err != nil {
		t.Fatal(err)
	}
	sout.GetStream().Close()
	if n != 5 {
		t.Errorf("got %d events, want 5", n)
	}
	if _, ok := protos.Load("HTTP/2.0"); !ok {
		t.Error("no request arrived over HTTP/2")
	}
	if _, ok := protos.Load("HTTP/1.1"); ok {
		t.Error("a request arrived over HTTP/1.1")
	}
}
