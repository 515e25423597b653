package backend

import (
	"context"
	"errors"
	"iter"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/transport/openai"
)

// chatPath is the chat completions path under an OpenAI base URL.
const chatPath = "/chat/completions"

// OpenAIChat serves Converse and ConverseStream from an OpenAI-compatible
// chat completions API (OpenAI, vLLM, llama.cpp server, Ollama's /v1),
// translating with codec.ToOpenAIChat / FromOpenAIChat / OpenAIChatStream.
// It is safe for concurrent use and must not be changed once in use.
type OpenAIChat struct {
	// Client reaches the upstream; nil means a zero openai.Client.
	Client *openai.Client
	// Model is the upstream's model name; "" sends the request's model ID.
	Model string
}

var _ converse.Backend = (*OpenAIChat)(nil)

func (b *OpenAIChat) client() *openai.Client {
	if b.Client == nil {
		return &openai.Client{}
	}
	return b.Client
}

func (b *OpenAIChat) model(req *converse.Request) string {
	if b.Model == "" {
		return req.ModelID
	}
	return b.Model
}

// Converse sends req as one chat completion. Errors are *converse.Error
// (mapped as statusError and transportError say), or the caller's
// cancellation.
func (b *OpenAIChat) Converse(ctx context.Context, req *converse.Request) (*converse.Response, error) {
	body, err := codec.ToOpenAIChat(req, b.model(req), false)
	if err != nil {
		return nil, err
	}
	reply, err := b.client().Post(ctx, chatPath, body)
	if err != nil {
		return nil, openAIError(err)
	}
	resp, err := codec.FromOpenAIChat(reply)
	if err != nil {
		return nil, replyError(err)
	}
	return resp, nil
}

// ConverseStream sends req as a streamed chat completion. An upstream that
// refuses the request fails here, before anything is streamed; afterwards
// each server-sent event is translated as it arrives, and a failure (the
// upstream's error event, a cut connection, a stream that never finishes)
// ends the sequence with a ModelStreamErrorException. Stopping the range
// early, or cancelling ctx, cancels the upstream request.
func (b *OpenAIChat) ConverseStream(ctx context.Context, req *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
	body, err := codec.ToOpenAIChat(req, b.model(req), true)
	if err != nil {
		return nil, err
	}
	events, err := b.client().Stream(ctx, chatPath, body)
	if err != nil {
		return nil, openAIError(err)
	}
	return func(yield func(converse.StreamEvent, error) bool) {
		s := codec.NewOpenAIChatStream()
		emit := func(evs []converse.StreamEvent, err error) bool {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return false
				}
			}
			if err != nil {
				yield(converse.StreamEvent{}, streamError(err, isOpenAITimeout))
				return false
			}
			return true
		}
		for data, err := range events {
			if err != nil {
				emit(nil, err)
				return
			}
			if !emit(s.Next(data)) {
				return
			}
		}
		emit(s.End())
	}, nil
}

func openAIError(err error) error {
	return transportError(err, openAIStatus, isOpenAITimeout)
}

func openAIStatus(err error) (int, []byte, bool) {
	var se *openai.StatusError
	if errors.As(err, &se) {
		return se.StatusCode, se.Body, true
	}
	return 0, nil, false
}

func isOpenAITimeout(err error) bool { return errors.Is(err, openai.ErrTimeout) }
