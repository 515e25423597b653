package backend

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/transport"
)

// Native serves a model through its family's native InvokeModel format: the
// codec turns Converse into the native body, the transport takes that body
// to a destination (real Bedrock, a vendor's API, a text-completion server)
// and brings the native answer back. The same transport serves InvokeModel
// with the caller's own native bodies, so Native is both a
// converse.Backend and a converse.Invoker. It is safe for concurrent use
// and must not be changed once in use.
type Native struct {
	Family    codec.Family      // the model family's format
	Transport transport.Invoker // where native bodies go
	// Model is the model as the destination names it; "" sends the
	// caller's model ID (right for Bedrock, which takes profiles and ARNs).
	Model string
}

var (
	_ converse.Backend = (*Native)(nil)
	_ converse.Invoker = (*Native)(nil)
)

func (n *Native) model(id string) string {
	if n.Model == "" {
		return id
	}
	return n.Model
}

// Converse translates req, invokes the model once and translates the
// answer. Usage the native body lacks (Jurassic, Claude 2, Command,
// Mistral) comes from the token counts Bedrock reports beside it; the
// fields additionalModelResponseFieldPaths names are picked from the
// native answer.
func (n *Native) Converse(ctx context.Context, req *converse.Request) (*converse.Response, error) {
	body, err := n.Family.Request(req)
	if err != nil {
		return nil, err
	}
	out, err := n.Transport.Invoke(ctx, transport.Request{Model: n.model(req.ModelID), Body: body})
	if err != nil {
		return nil, nativeError(err, true)
	}
	resp, err := n.Family.Response(req, out.Body)
	if err != nil {
		return nil, replyError(err)
	}
	if resp.Usage.InputTokens == 0 && out.InputTokens > 0 {
		resp.Usage.InputTokens = out.InputTokens
	}
	if resp.Usage.OutputTokens == 0 && out.OutputTokens > 0 {
		resp.Usage.OutputTokens = out.OutputTokens
	}
	resp.Usage.TotalTokens = resp.Usage.InputTokens + resp.Usage.OutputTokens
	if resp.Metrics.LatencyMs == 0 {
		resp.Metrics.LatencyMs = out.LatencyMs
	}
	if resp.AdditionalModelResponseFields == nil {
		resp.AdditionalModelResponseFields = codec.ResponseFields(out.Body, req.AdditionalModelResponseFieldPaths)
	}
	return resp, nil
}

// ConverseStream translates req, opens a native stream and decodes its
// chunks into events as they arrive. The fields
// additionalModelResponseFieldPaths names come from the chunk that ended
// the message, unless the codec picked them itself. A destination that refuses the call
// fails here, before anything is streamed; a failure afterwards ends the
// sequence with a ModelStreamErrorException (or the in-stream exception
// Bedrock sent). Stopping early, or cancelling ctx, ends the upstream call.
func (n *Native) ConverseStream(ctx context.Context, req *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
	var body []byte
	var err error
	if sr, ok := n.Family.(streamRequester); ok {
		body, err = sr.StreamRequest(req)
	} else {
		body, err = n.Family.Request(req)
	}
	if err != nil {
		return nil, err
	}
	chunks, err := n.Transport.InvokeStream(ctx, transport.Request{Model: n.model(req.ModelID), Body: body})
	if err != nil {
		return nil, nativeError(err, true)
	}
	return func(yield func(converse.StreamEvent, error) bool) {
		dec := n.Family.NewStream(req)
		var last []byte // the chunk being decoded: messageStop's fields come from it
		emit := func(evs []converse.StreamEvent, err error) bool {
			for _, ev := range evs {
				if ev.MessageStop != nil && ev.MessageStop.AdditionalModelResponseFields == nil && len(req.AdditionalModelResponseFieldPaths) > 0 {
					ms := *ev.MessageStop
					ms.AdditionalModelResponseFields = codec.ResponseFields(last, req.AdditionalModelResponseFieldPaths)
					ev.MessageStop = &ms
				}
				if !yield(ev, nil) {
					return false
				}
			}
			if err != nil {
				yield(converse.StreamEvent{}, nativeStreamError(err))
				return false
			}
			return true
		}
		for chunk, err := range chunks {
			if err != nil {
				emit(nil, err)
				return
			}
			last = chunk
			if !emit(dec.Next(chunk)) {
				return
			}
		}
		emit(dec.End())
	}, nil
}

// Invoke serves InvokeModel: the caller's native body goes to the
// destination as it is, and the native answer comes back with Bedrock's
// token counts. Model errors pass without Converse's "The model returned
// the following errors:" prefix, as Bedrock's InvokeModel sends them.
func (n *Native) Invoke(ctx context.Context, req *converse.InvokeRequest) (*converse.InvokeResponse, error) {
	out, err := n.Transport.Invoke(ctx, transport.Request{Model: n.model(req.ModelID), Body: req.Body, Accept: req.Accept})
	if err != nil {
		return nil, nativeError(err, false)
	}
	ct := out.ContentType
	if ct == "" {
		ct = "application/json"
	}
	return &converse.InvokeResponse{Body: out.Body, ContentType: ct, InputTokens: out.InputTokens, OutputTokens: out.OutputTokens, LatencyMs: out.LatencyMs}, nil
}

// InvokeStream serves InvokeModelWithResponseStream: native chunks, each
// as the transport delivered it.
func (n *Native) InvokeStream(ctx context.Context, req *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
	chunks, err := n.Transport.InvokeStream(ctx, transport.Request{Model: n.model(req.ModelID), Body: req.Body, Accept: req.Accept})
	if err != nil {
		return nil, nativeError(err, false)
	}
	return func(yield func([]byte, error) bool) {
		for chunk, err := range chunks {
			if err != nil {
				yield(nil, nativeStreamError(err))
				return
			}
			if !yield(chunk, nil) {
				return
			}
		}
	}, nil
}

// streamRequester is a family whose native body itself asks for a stream
// (Cohere Command's generate body carries "stream": true, model-families.md
// §4.6); every other family streams by the path alone.
type streamRequester interface {
	StreamRequest(req *converse.Request) ([]byte, error)
}

// bedrockKinds maps the exception names real Bedrock sends (through the
// bedrock transport) to the kinds we answer with: the caller gets Bedrock's
// own exception back.
var bedrockKinds = map[string]converse.ErrorKind{
	"ValidationException":           converse.KindValidation,
	"AccessDeniedException":         converse.KindAccessDenied,
	"ResourceNotFoundException":     converse.KindResourceNotFound,
	"ThrottlingException":           converse.KindThrottling,
	"ServiceQuotaExceededException": converse.KindServiceQuotaExceeded,
	"ModelTimeoutException":         converse.KindModelTimeout,
	"ModelErrorException":           converse.KindModelError,
	"ModelStreamErrorException":     converse.KindModelStreamError,
	"ModelNotReadyException":        converse.KindModelNotReady,
	"InternalServerException":       converse.KindInternalServer,
	"ServiceUnavailableException":   converse.KindServiceUnavailable,
}

// nativeError maps a transport's failure before any answer. A Bedrock
// exception keeps its kind and message; an HTTP refusal is mapped as
// statusError says. For InvokeModel (converse false) a model's validation
// message is passed without Converse's prefix.
func nativeError(err error, converseCall bool) error {
	var se *transport.StatusError
	if errors.As(err, &se) {
		if se.Exception != "" {
			return bedrockError(se)
		}
		ce := statusError(se.StatusCode, se.Body)
		if se.Message != "" && (ce.Kind == converse.KindValidation || ce.Kind == converse.KindModelError) && ce.Message != msgUpstreamAuth {
			ce.Message = msgModelErrors + se.Message
		}
		if !converseCall && ce.Kind == converse.KindValidation {
			ce.Message = strings.TrimPrefix(ce.Message, msgModelErrors)
		}
		return ce
	}
	return transportError(err, func(error) (int, []byte, bool) { return 0, nil, false }, isTransportTimeout)
}

// nativeStreamError maps a failure after a stream started.
func nativeStreamError(err error) error {
	var se *transport.StatusError
	if errors.As(err, &se) {
		if se.Exception != "" {
			return bedrockError(se)
		}
		msg := se.Message
		if msg == "" {
			msg = upstreamMessage(se.StatusCode, se.Body)
		}
		return &converse.Error{Kind: converse.KindModelStreamError, Message: "The model stream ended unexpectedly.", OriginalStatusCode: se.StatusCode, OriginalMessage: msg}
	}
	return streamError(err, isTransportTimeout)
}

func bedrockError(se *transport.StatusError) *converse.Error {
	kind, ok := bedrockKinds[se.Exception]
	if !ok {
		kind = converse.KindInternalServer
	}
	e := &converse.Error{Kind: kind, Message: se.Message}
	if e.Message == "" {
		e.Message = http.StatusText(se.StatusCode)
	}
	if kind == converse.KindModelError || kind == converse.KindModelStreamError {
		e.OriginalStatusCode = se.StatusCode
	}
	return e
}

func isTransportTimeout(err error) bool { return errors.Is(err, transport.ErrTimeout) }
