package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/converse-project/converse"
)

// InvokeRouter resolves a model ID for InvokeModel and
// InvokeModelWithResponseStream, as Router does for Converse: the ID as
// sent, already path-unescaped. Its errors are *converse.Error; any other
// error is answered as an InternalServerException.
type InvokeRouter interface {
	RouteInvoke(modelID string) (converse.Invoker, error)
}

// maxInvokeBody is the InvokeModel body limit of Bedrock's model
// (InvokeModelRequest.body: Body blob, len 0..25,000,000; wire-protocol.md
// §2.3, Appendix A).
const maxInvokeBody = 25_000_000

// Constraint patterns of the InvokeModel headers (wire-protocol.md
// Appendix A: GuardrailIdentifier, GuardrailVersion) and enum sets (Trace,
// PerformanceConfigLatency), written as Coral prints them in messages.
const (
	invokePatGuardrailID  = `(|([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))`
	invokePatGuardrailVer = `(|([1-9][0-9]{0,7})|(DRAFT))`
	invokeEnumTrace       = "ENABLED, DISABLED, ENABLED_FULL"
	invokeEnumLatency     = "standard, optimized"
)

// Messages of the invoke operations. Bedrock documents the guardrail rules
// (§2.3) but not their wording; these are ours.
const (
	msgInvokeBodyTooLarge   = "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 25000000"
	msgGuardrailNoVersion   = "A guardrail version is required when a guardrail identifier is specified. Set the X-Amzn-Bedrock-GuardrailVersion header and try again."
	msgGuardrailNoID        = "The request body contains amazon-bedrock-guardrailConfig, but no guardrail identifier was specified. Set the X-Amzn-Bedrock-GuardrailIdentifier header and try again."
	guardrailConfigBodyKey  = "amazon-bedrock-guardrailConfig"
	invokeStreamContentType = "application/json" // X-Amzn-Bedrock-Content-Type of every stream (§2.4)
)

// The compiled header patterns: constants in all but name, compiled once
// and never written (as validate.go's).
var (
	invokeGuardrailIDRe  = regexp.MustCompile(`^(?:` + invokePatGuardrailID + `)$`)
	invokeGuardrailVerRe = regexp.MustCompile(`^(?:` + invokePatGuardrailVer + `)$`)
)

// payloadPart is the ResponseStream chunk event's payload (§4.6): the
// native chunk, base64-encoded by encoding/json as restJson1 blobs are.
type payloadPart struct {
	Bytes []byte `json:"bytes"`
}

// invoke serves InvokeModel (§2.3): the native body goes to the model's
// Invoker as is, and its answer comes back as is, with the token and
// latency headers the real service adds.
func (h *handler) invoke(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	req, invoker, err := h.prepareInvoke(w, r, c, "Accept")
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}
	start := h.now()
	resp, err := invoker.Invoke(ctx, req)
	elapsed := h.now().Sub(start)
	if err == nil && resp == nil {
		err = fmt.Errorf("wire: invoke %s: invoker returned no response and no error", c.modelID)
	}
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}
	if h.logContent {
		h.log.LogAttrs(ctx, slog.LevelDebug, "response body", slog.String("request_id", c.requestID), slog.String("body", string(resp.Body)))
	}
	c.status = http.StatusOK
	hd := w.Header()
	ct := resp.ContentType
	if ct == "" {
		ct = "application/json"
	}
	hd.Set("Content-Type", ct)
	hd.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	lat := resp.LatencyMs
	if lat <= 0 {
		lat = latencyMs(elapsed)
	}
	hd.Set("X-Amzn-Bedrock-Invocation-Latency", strconv.FormatInt(lat, 10))
	if resp.InputTokens >= 0 {
		hd.Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(resp.InputTokens))
	}
	if resp.OutputTokens >= 0 {
		hd.Set("X-Amzn-Bedrock-Output-Token-Count", strconv.Itoa(resp.OutputTokens))
	}
	w.WriteHeader(http.StatusOK)
	w.Write(resp.Body) // a failed write means the client left; nothing more to do
}

// invokeStream serves InvokeModelWithResponseStream (§2.4, §4.6). As for
// ConverseStream, a failure before the invoker starts streaming is a plain
// JSON error; after the 200 each native chunk is one chunk frame, and an
// error ends the stream with an exception frame (§4.5). If the client goes
// away the loop stops, which tells the invoker's sequence to release its
// upstream call.
func (h *handler) invokeStream(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	req, invoker, err := h.prepareInvoke(w, r, c, "X-Amzn-Bedrock-Accept")
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}
	seq, err := invoker.InvokeStream(ctx, req)
	if err == nil && seq == nil {
		err = fmt.Errorf("wire: invoke stream %s: invoker returned no stream and no error", c.modelID)
	}
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}

	c.status = http.StatusOK
	hd := w.Header()
	hd.Set("Content-Type", "application/vnd.amazon.eventstream")
	hd.Set("X-Amzn-Bedrock-Content-Type", invokeStreamContentType)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush() // the SDK returns on the headers; a failure shows on the first frame
	fw := newFrameWriter(w, rc.Flush)

	for chunk, err := range seq {
		if ctx.Err() != nil {
			c.gone = true
			break
		}
		if err == nil {
			err = h.writeChunk(ctx, fw, c, chunk)
		}
		if err == nil {
			continue
		}
		if errors.Is(err, errWrite) {
			c.gone = true
		} else {
			h.endInvokeStream(ctx, fw, c, err)
		}
		break
	}
}

// writeChunk writes one native chunk as a chunk event.
func (h *handler) writeChunk(ctx context.Context, fw *frameWriter, c *call, chunk []byte) error {
	if chunk == nil {
		chunk = []byte{} // "bytes":"" rather than null: PayloadPart.bytes is a blob
	}
	if err := fw.WriteEvent("chunk", payloadPart{Bytes: chunk}); err != nil {
		return err
	}
	c.events++
	if h.logContent {
		h.log.LogAttrs(ctx, slog.LevelDebug, "stream chunk", slog.String("request_id", c.requestID), slog.String("chunk", string(chunk)))
	}
	return nil
}

// endInvokeStream ends a stream whose sequence failed with err with one
// exception frame.
func (h *handler) endInvokeStream(ctx context.Context, fw *frameWriter, c *call, err error) {
	e, internal := asError(err)
	if internal {
		h.log.LogAttrs(ctx, slog.LevelError, "internal error in stream", slog.String("request_id", c.requestID), slog.Any("error", err))
	}
	member, body := invokeStreamError(e)
	c.errorKind = member
	if err := fw.WriteException(member, body); err != nil {
		c.gone = true
	}
}

// invokeStreamError is streamError for ResponseStream, whose union has one
// member ConverseStreamOutput lacks: modelTimeoutException (§4.5), which a
// timeout therefore keeps.
func invokeStreamError(e *converse.Error) (member string, body errorBody) {
	if e.Kind == converse.KindModelTimeout {
		return "modelTimeoutException", errorBody{Message: e.Message}
	}
	return streamError(e)
}

// prepareInvoke reads the request, routes its model ID and returns the
// converse.InvokeRequest to send: everything before the invoker. accept
// names the header carrying the wanted response type, which differs
// between the two operations (§2.4).
func (h *handler) prepareInvoke(w http.ResponseWriter, r *http.Request, c *call, accept string) (*converse.InvokeRequest, converse.Invoker, error) {
	req, err := h.readInvokeRequest(w, r, c, accept)
	if err != nil {
		return nil, nil, err
	}
	invoker, err := h.invokeRouter.RouteInvoke(req.ModelID)
	if err != nil {
		return nil, nil, err
	}
	if invoker == nil {
		return nil, nil, fmt.Errorf("wire: route invoke %s: router returned no invoker and no error", req.ModelID)
	}
	return req, invoker, nil
}

// readInvokeRequest checks the model ID, the headers and the body of an
// invoke operation, in the order Coral checks them: modeled constraints
// first (lengths, patterns, enums), then the documented rules (§2.3).
func (h *handler) readInvokeRequest(w http.ResponseWriter, r *http.Request, c *call, accept string) (*converse.InvokeRequest, error) {
	switch n := len(c.modelID); {
	case n < 1:
		return nil, converse.Errorf(converse.KindValidation, msgModelIDTooShort)
	case n > 2048:
		return nil, converse.Errorf(converse.KindValidation, msgModelIDTooLong)
	}
	hd := r.Header
	req := &converse.InvokeRequest{
		ModelID:             c.modelID,
		ContentType:         hd.Get("Content-Type"),
		Accept:              hd.Get(accept),
		Trace:               hd.Get("X-Amzn-Bedrock-Trace"),
		GuardrailIdentifier: hd.Get("X-Amzn-Bedrock-GuardrailIdentifier"),
		GuardrailVersion:    hd.Get("X-Amzn-Bedrock-GuardrailVersion"),
		PerformanceLatency:  hd.Get("X-Amzn-Bedrock-PerformanceConfig-Latency"),
	}
	if msg := invokeHeaderViolations(req); msg != "" {
		return nil, converse.Errorf(converse.KindValidation, "%s", msg)
	}
	if !isInvokeJSON(req.ContentType) {
		return nil, converse.Errorf(converse.KindValidation, msgContentType)
	}
	limit := min(h.maxBody, maxInvokeBody)
	body, err := readBody(w, r, limit)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			if limit == maxInvokeBody {
				return nil, converse.Errorf(converse.KindValidation, msgInvokeBodyTooLarge)
			}
			return nil, converse.Errorf(converse.KindValidation, msgBodyTooLarge, limit)
		}
		return nil, converse.Errorf(converse.KindValidation, msgBodyUnreadable)
	}
	if h.logContent {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "request body", slog.String("request_id", c.requestID), slog.String("body", string(body)))
	}
	// The model layer answers a body that is not a JSON object with this
	// text (§5.4, InvokeModel). Every family's native body is an object.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return nil, converse.Errorf(converse.KindValidation, msgMalformed)
	}
	// §2.3's documented guardrail rules.
	if _, ok := members[guardrailConfigBodyKey]; ok && req.GuardrailIdentifier == "" {
		return nil, converse.Errorf(converse.KindValidation, msgGuardrailNoID)
	}
	if req.GuardrailIdentifier != "" && req.GuardrailVersion == "" {
		return nil, converse.Errorf(converse.KindValidation, msgGuardrailNoVersion)
	}
	req.Body = body
	return req, nil
}

// invokeHeaderViolations checks the header members against their modeled
// constraints (Appendix A), as converse.Validate does the body's: SDKs
// check none of them client-side (§8 item 9). It returns Coral's
// "N validation error(s) detected: …" message, or "".
func invokeHeaderViolations(req *converse.InvokeRequest) string {
	var v []string
	fail := func(value, member, constraint string) {
		v = append(v, "Value '"+value+"' at '"+member+"' failed to satisfy constraint: "+constraint)
	}
	if req.Trace != "" && !invokeInEnum(req.Trace, invokeEnumTrace) {
		fail(req.Trace, "trace", "Member must satisfy enum value set: ["+invokeEnumTrace+"]")
	}
	if id := req.GuardrailIdentifier; utf8.RuneCountInString(id) > 2048 {
		fail(id, "guardrailIdentifier", "Member must have length less than or equal to 2048")
	} else if !invokeGuardrailIDRe.MatchString(id) {
		fail(id, "guardrailIdentifier", "Member must satisfy regular expression pattern: "+invokePatGuardrailID)
	}
	if ver := req.GuardrailVersion; !invokeGuardrailVerRe.MatchString(ver) {
		fail(ver, "guardrailVersion", "Member must satisfy regular expression pattern: "+invokePatGuardrailVer)
	}
	if req.PerformanceLatency != "" && !invokeInEnum(req.PerformanceLatency, invokeEnumLatency) {
		fail(req.PerformanceLatency, "performanceConfigLatency", "Member must satisfy enum value set: ["+invokeEnumLatency+"]")
	}
	switch len(v) {
	case 0:
		return ""
	case 1:
		return "1 validation error detected: " + v[0]
	}
	return strconv.Itoa(len(v)) + " validation errors detected: " + strings.Join(v, "; ")
}

func invokeInEnum(v, set string) bool {
	for item := range strings.SplitSeq(set, ", ") {
		if item == v {
			return true
		}
	}
	return false
}

// isInvokeJSON reports whether an InvokeModel Content-Type is JSON. Beyond
// what Converse accepts, application/octet-stream is JSON too: the Go and
// JS SDKs send it when the caller set no content type (§1.4, §8 item 8).
func isInvokeJSON(contentType string) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "application/octet-stream" {
		return true
	}
	return isJSON(contentType)
}
