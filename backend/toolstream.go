package backend

import (
	"context"
	"iter"

	"github.com/converse-project/converse"
)

// SynthesizeToolStreams wraps b so that a ConverseStream request carrying a
// toolConfig is served by one non-streaming Converse call, whose complete
// reply is then sent as Bedrock's event sequence (converse.Events): a
// contentBlockStart for each tool call, its whole input as one delta, a
// contentBlockStop, messageStop with stop reason tool_use, metadata. It is
// for models AWS's table gives tool use but not streaming tool use (Llama
// 3.1, Mistral Large and Small), whose callers still stream: Bedrock
// rejects those requests, and users ask for exactly this instead. Requests
// without tools stream as before. The wrapper serves InvokeModel when b does.
func SynthesizeToolStreams(b converse.Backend) converse.Backend {
	s := &toolStream{b}
	if inv, ok := b.(converse.Invoker); ok {
		return &toolStreamInvoker{s, inv}
	}
	return s
}

type toolStream struct{ converse.Backend }

type toolStreamInvoker struct {
	*toolStream
	converse.Invoker
}

func (s *toolStream) ConverseStream(ctx context.Context, req *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
	if req.ToolConfig == nil {
		return s.Backend.ConverseStream(ctx, req)
	}
	resp, err := s.Backend.Converse(ctx, req)
	if err != nil {
		return nil, err
	}
	evs := converse.Events(resp)
	return func(yield func(converse.StreamEvent, error) bool) {
		for _, ev := range evs {
			if ctx.Err() != nil || !yield(ev, nil) {
				return
			}
		}
	}, nil
}
