package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/converse-project/converse"
	"github.com/google/uuid"
)

// Router resolves the model ID of a request (as sent, already
// path-unescaped: base IDs, IDs with ':', inference-profile IDs such as
// "us.anthropic.…", and ARNs) to the backend serving it and the model's
// features. Its errors are *converse.Error (ValidationException "The
// provided model identifier is invalid.", AccessDeniedException, …); any
// other error is answered as an InternalServerException.
type Router interface {
	Route(modelID string) (converse.Backend, converse.Features, error)
}

// Options configures the handler. The zero value of every field but Router
// is a usable default.
type Options struct {
	// Router resolves model IDs; NewHandler panics when it is nil.
	Router Router
	// InvokeRouter resolves model IDs for InvokeModel and
	// InvokeModelWithResponseStream. nil: the invoke operations answer
	// like an unknown operation.
	InvokeRouter InvokeRouter
	// Guardrails serves ApplyGuardrail (apply.go). nil: the operation
	// answers like an unknown operation.
	Guardrails Guardrails
	// Logger receives one access-log line per request; nil means
	// slog.Default(). Access-log lines never contain request content.
	Logger *slog.Logger
	// LogContent is the operator's opt-in to also log request and response
	// bodies at debug level. Off, nothing the user sends is ever logged.
	LogContent bool
	// MaxBodyBytes bounds the request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock for latency measurement and the Date header; nil
	// means time.Now.
	Now func() time.Time
}

// DefaultMaxBodyBytes is the default request-body limit: room for Bedrock's
// largest request, 20 images of 3.75 MB and 5 documents of 4.5 MB,
// base64-encoded (4/3 larger), plus 8 MiB for text and JSON.
const DefaultMaxBodyBytes = (20*3_932_160+5*4_718_592)*4/3 + 8<<20

// handler serves the Bedrock Runtime operations.
type handler struct {
	router       Router
	invokeRouter InvokeRouter // nil: the invoke operations are not served
	guardrails   Guardrails   // nil: ApplyGuardrail is not served
	log          *slog.Logger
	logContent   bool
	maxBody      int64
	now          func() time.Time
	mux          *http.ServeMux
}

// NewHandler returns the Bedrock Runtime HTTP handler. It works over
// HTTP/1.1 and HTTP/2 alike (it flushes with http.ResponseController and
// never hijacks). It panics if o.Router is nil: that is a wiring bug to
// catch at startup.
func NewHandler(o Options) http.Handler {
	if o.Router == nil {
		panic("wire: NewHandler: nil Router")
	}
	h := &handler{router: o.Router, invokeRouter: o.InvokeRouter, guardrails: o.Guardrails, log: o.Logger, logContent: o.LogContent, maxBody: o.MaxBodyBytes, now: o.Now}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.mux = h.routes()
	return h
}

// routes is the route table: one line per Bedrock Runtime operation
// (wire-protocol.md §2). Go 1.22 patterns match per escaped segment, so a
// model ARN with %2F stays one {modelId} and PathValue unescapes it (§1.3).
// Anything else, including a known path with the wrong method, is an
// unknown operation.
func (h *handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /model/{modelId}/converse", h.operation("Converse", h.converse))
	mux.Handle("POST /model/{modelId}/converse-stream", h.operation("ConverseStream", h.converseStream))
	if h.invokeRouter != nil {
		mux.Handle("POST /model/{modelId}/invoke", h.operation("InvokeModel", h.invoke))
		mux.Handle("POST /model/{modelId}/invoke-with-response-stream", h.operation("InvokeModelWithResponseStream", h.invokeStream))
	}
	if h.guardrails != nil {
		mux.Handle("POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply", h.operation("ApplyGuardrail", h.applyGuardrail))
	}
	mux.Handle("/", h.operation("", h.unknown))
	return mux
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// call is what one request's access-log line reports.
type call struct {
	requestID string
	operation string
	modelID   string
	status    int
	events    int    // frames sent on a stream
	errorKind string // exception shape sent, if any
	gone      bool   // the client went away mid-stream
}

// operation wraps an operation's handler with what every response needs:
// x-amzn-RequestId and Date (§1.1), and one access-log line.
func (h *handler) operation(name string, serve func(http.ResponseWriter, *http.Request, *call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := h.now()
		c := &call{requestID: uuid.NewString(), operation: name, modelID: r.PathValue("modelId")}
		// Exact casing of the real service; SDKs look it up case-insensitively.
		w.Header()["x-amzn-RequestId"] = []string{c.requestID}
		w.Header().Set("Date", start.UTC().Format(http.TimeFormat))
		serve(w, r, c)
		attrs := []slog.Attr{
			slog.String("request_id", c.requestID),
			slog.String("operation", c.operation),
			slog.String("model_id", c.modelID),
			slog.Int("status", c.status),
			slog.Duration("duration", h.now().Sub(start)),
		}
		if name == "" {
			attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()))
		}
		if name == "ConverseStream" || name == "InvokeModelWithResponseStream" {
			attrs = append(attrs, slog.Int("events", c.events), slog.Bool("client_gone", c.gone))
		}
		if c.errorKind != "" {
			attrs = append(attrs, slog.String("error", c.errorKind))
		}
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// unknown answers a path or method no operation is bound to.
func (h *handler) unknown(w http.ResponseWriter, r *http.Request, c *call) {
	h.writeException(w, c, unknownOperation, errorBody{Message: msgUnknownOperation})
}

// writeError answers err as a Bedrock JSON error response (§5.2).
func (h *handler) writeError(ctx context.Context, w http.ResponseWriter, c *call, err error) {
	e, internal := asError(err)
	if internal {
		h.log.LogAttrs(ctx, slog.LevelError, "internal error", slog.String("request_id", c.requestID), slog.Any("error", err))
	}
	x, body := httpError(e)
	h.writeException(w, c, x, body)
}

// writeException writes an error response: the status, x-amzn-ErrorType
// with the coral suffix the real service sends, and {"message":…} plus
// any extra members in the body.
func (h *handler) writeException(w http.ResponseWriter, c *call, x exception, body errorBody) {
	c.status, c.errorKind = x.status, x.shape
	b, err := json.Marshal(body)
	if err != nil { // cannot happen: errorBody has only strings and ints
		b = []byte(`{"message":"` + converse.MsgInternal + `"}`)
	}
	hd := w.Header()
	hd["x-amzn-ErrorType"] = []string{x.shape + errorTypeSuffix}
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(x.status)
	w.Write(b) // a failed write means the client left; nothing more to do
}

// writeJSON writes a 200 response whose body is b, already JSON.
func (h *handler) writeJSON(w http.ResponseWriter, c *call, b []byte) {
	c.status = http.StatusOK
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b) // a failed write means the client left; nothing more to do
}

// encodeJSON appends the JSON of v to buf, without HTML escaping (model text
// goes out as written) and without the trailing newline of json.Encoder.
func encodeJSON(buf *bytes.Buffer, v any) ([]byte, error) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil
}

// latencyMs is elapsed in whole milliseconds, rounded up and at least 1:
// Bedrock's latencyMs is never 0, and a sub-millisecond backend (a cache, a
// test fake) would otherwise report a latency clients read as "missing".
func latencyMs(elapsed time.Duration) int64 {
	ms := int64((elapsed + time.Millisecond - 1) / time.Millisecond)
	return max(ms, 1)
}
