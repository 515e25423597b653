package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/converse-project/converse"
)

// Messages of our own for failures whose Bedrock wording is unknown.
const (
	// Bedrock's model layer answers unparseable bodies with this text
	// (wire-protocol.md §5.4, InvokeModel); we use it for Converse too.
	msgMalformed       = "Malformed input request, please reformat your input and try again."
	msgBodyTooLarge    = "The request body exceeds the maximum size of %d bytes. Reduce the size of the request and try again."
	msgBodyUnreadable  = "The request body could not be read."
	msgContentType     = "The request Content-Type must be application/json."
	msgModelIDTooLong  = "1 validation error detected: Value at 'modelId' failed to satisfy constraint: Member must have length less than or equal to 2048"
	msgModelIDTooShort = "1 validation error detected: Value at 'modelId' failed to satisfy constraint: Member must have length greater than or equal to 1"
)

// converse serves Converse (§2.1): read the request, route, validate, call
// the backend, answer 200 with the ConverseResponse.
func (h *handler) converse(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	req, backend, err := h.prepare(w, r, c, false)
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}
	start := h.now()
	resp, err := backend.Converse(ctx, req)
	elapsed := h.now().Sub(start)
	if err == nil && resp == nil {
		err = fmt.Errorf("wire: converse %s: backend returned no response and no error", c.modelID)
	}
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}
	if resp.Metrics.LatencyMs == 0 {
		resp.Metrics.LatencyMs = latencyMs(elapsed)
	}
	var buf bytes.Buffer
	b, err := encodeJSON(&buf, resp)
	if err != nil {
		h.writeError(ctx, w, c, fmt.Errorf("wire: encode converse response: %w", err))
		return
	}
	if h.logContent {
		h.log.LogAttrs(ctx, slog.LevelDebug, "response body", slog.String("request_id", c.requestID), slog.String("body", string(b)))
	}
	h.writeJSON(w, c, b)
}

// converseStream serves ConverseStream (§2.2). A failure before the backend
// starts streaming is a plain JSON error; after the 200 every event is one
// frame, and an error ends the stream with an exception frame (§4.5). If the
// client goes away the loop stops, which tells the backend's sequence to
// release its upstream call.
func (h *handler) converseStream(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	req, backend, err := h.prepare(w, r, c, true)
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}
	start := h.now()
	seq, err := backend.ConverseStream(ctx, req)
	if err == nil && seq == nil {
		err = fmt.Errorf("wire: converse stream %s: backend returned no stream and no error", c.modelID)
	}
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}

	c.status = http.StatusOK
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// Send the headers now: the SDK returns from ConverseStream on them,
	// before the first token. Flush fails only when the client left, which
	// the first frame write reports too.
	rc.Flush()
	fw := newFrameWriter(w, rc.Flush)

	for ev, err := range seq {
		if ctx.Err() != nil {
			c.gone = true
			break
		}
		if err == nil {
			err = h.writeEvent(ctx, fw, c, ev, start)
		}
		if err == nil {
			continue
		}
		if errors.Is(err, errWrite) {
			c.gone = true
		} else {
			h.endStream(ctx, fw, c, err)
		}
		break
	}
}

// writeEvent writes one stream event, filling the metadata event's latency
// when the backend left it zero (the Backend contract).
func (h *handler) writeEvent(ctx context.Context, fw *frameWriter, c *call, ev converse.StreamEvent, start time.Time) error {
	typ := ev.Type()
	if typ == "" {
		return fmt.Errorf("wire: converse stream %s: backend yielded an empty event", c.modelID)
	}
	if ev.Metadata != nil && ev.Metadata.Metrics.LatencyMs == 0 {
		md := *ev.Metadata // the backend's value stays untouched
		md.Metrics.LatencyMs = latencyMs(h.now().Sub(start))
		ev.Metadata = &md
	}
	if err := fw.WriteEvent(typ, ev.Payload()); err != nil {
		return err
	}
	c.events++
	if h.logContent {
		payload := bytes.TrimSuffix(fw.payload.Bytes(), []byte("\n"))
		h.log.LogAttrs(ctx, slog.LevelDebug, "stream event", slog.String("request_id", c.requestID), slog.String("event", typ), slog.String("payload", string(payload)))
	}
	return nil
}

// endStream ends a stream whose sequence failed with err: one exception
// frame, then nothing (§4.5: no messageStop or metadata after it).
func (h *handler) endStream(ctx context.Context, fw *frameWriter, c *call, err error) {
	e, internal := asError(err)
	if internal {
		h.log.LogAttrs(ctx, slog.LevelError, "internal error in stream", slog.String("request_id", c.requestID), slog.Any("error", err))
	}
	member, body := streamError(e)
	c.errorKind = member
	if err := fw.WriteException(member, body); err != nil {
		c.gone = true
	}
}

// prepare reads and decodes the request, routes its model ID and validates
// it for the model's features: everything that happens before the backend.
func (h *handler) prepare(w http.ResponseWriter, r *http.Request, c *call, stream bool) (*converse.Request, converse.Backend, error) {
	req, err := h.readRequest(w, r, c)
	if err != nil {
		return nil, nil, err
	}
	backend, features, err := h.router.Route(req.ModelID)
	if err != nil {
		return nil, nil, err
	}
	if backend == nil {
		return nil, nil, fmt.Errorf("wire: route %s: router returned no backend and no error", req.ModelID)
	}
	if err := converse.Validate(req, features, stream); err != nil {
		return nil, nil, err
	}
	return req, backend, nil
}

// readRequest checks the model ID and Content-Type, reads the whole body
// (never streamed into an upstream: see the spec README) under the size
// limit, and decodes it into a converse.Request.
func (h *handler) readRequest(w http.ResponseWriter, r *http.Request, c *call) (*converse.Request, error) {
	switch n := len(c.modelID); {
	case n < 1:
		return nil, converse.Errorf(converse.KindValidation, msgModelIDTooShort)
	case n > 2048:
		return nil, converse.Errorf(converse.KindValidation, msgModelIDTooLong)
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return nil, converse.Errorf(converse.KindValidation, msgContentType)
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, converse.Errorf(converse.KindValidation, msgBodyTooLarge, h.maxBody)
		}
		return nil, converse.Errorf(converse.KindValidation, msgBodyUnreadable)
	}
	if h.logContent {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "request body", slog.String("request_id", c.requestID), slog.String("body", string(body)))
	}
	req := &converse.Request{}
	// An empty body is an input with no members, as restJson1 reads it.
	if len(bytes.TrimSpace(body)) > 0 {
		// Malformed JSON and wrong JSON types both get a 400
		// ValidationException with Bedrock's "Malformed input request" text.
		// AWS's coral front door would more likely say SerializationException,
		// but that shape is not in Bedrock's model, so SDKs would surface it
		// only as a generic error; ValidationException arrives typed.
		// Unknown members are ignored: newer SDKs may send newer fields.
		if err := json.Unmarshal(body, req); err != nil {
			return nil, converse.Errorf(converse.KindValidation, msgMalformed)
		}
	}
	req.ModelID = c.modelID
	return req, nil
}

// readBody reads r's whole body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, limit)) + 1) // +1: ReadFrom's EOF probe needs no regrow
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

// isJSON reports whether a request Content-Type is JSON: application/json
// (parameters such as charset ignored), a +json type, or absent (as some
// clients send for a JSON body; compare InvokeModel, §8 item 8).
func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
