package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/guard"
)

// Guardrails serves ApplyGuardrail (guardrails.md §2): it looks the
// guardrail up by identifier (bare or ARN) and version (DRAFT, a number or
// "") and evaluates content with it. An unknown guardrail or version is a
// *converse.Error of kind KindResourceNotFound, a malformed request one of
// kind KindValidation; other errors are answered as InternalServerException.
// guard.Set implements it. wire imports guard only for these types, which
// are the operation's wire shapes.
type Guardrails interface {
	ApplyGuardrail(ctx context.Context, identifier, version string, source guard.Source, content []guard.Content, scope guard.Scope) (*guard.Result, error)
}

// applyRequest is ApplyGuardrail's request body (§2.1).
type applyRequest struct {
	Source      *guard.Source   `json:"source"`
	Content     []guard.Content `json:"content"`
	OutputScope guard.Scope     `json:"outputScope"`
}

// applyGuardrail serves ApplyGuardrail: POST
// /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply. The
// path members are checked against the model's patterns (the same ones
// InvokeModel's guardrail headers have), the body's required members
// (source, content) must be present, and the answer is the guardrail's
// Result as JSON.
func (h *handler) applyGuardrail(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	id, ver := r.PathValue("guardrailIdentifier"), r.PathValue("guardrailVersion")
	var v []string
	if len(id) > 2048 {
		v = append(v, "Value '"+id+"' at 'guardrailIdentifier' failed to satisfy constraint: Member must have length less than or equal to 2048")
	} else if !invokeGuardrailIDRe.MatchString(id) {
		v = append(v, "Value '"+id+"' at 'guardrailIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: "+invokePatGuardrailID)
	}
	if !invokeGuardrailVerRe.MatchString(ver) {
		v = append(v, "Value '"+ver+"' at 'guardrailVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: "+invokePatGuardrailVer)
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		h.writeError(ctx, w, c, converse.Errorf(converse.KindValidation, msgContentType))
		return
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.writeError(ctx, w, c, converse.Errorf(converse.KindValidation, msgBodyTooLarge, h.maxBody))
			return
		}
		h.writeError(ctx, w, c, converse.Errorf(converse.KindValidation, msgBodyUnreadable))
		return
	}
	if h.logContent {
		h.log.LogAttrs(ctx, slog.LevelDebug, "request body", slog.String("request_id", c.requestID), slog.String("body", string(body)))
	}
	var req applyRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			h.writeError(ctx, w, c, converse.Errorf(converse.KindValidation, msgMalformed))
			return
		}
	}
	if req.Source == nil {
		v = append(v, "Value null at 'source' failed to satisfy constraint: Member must not be null")
	}
	if req.Content == nil {
		v = append(v, "Value null at 'content' failed to satisfy constraint: Member must not be null")
	}
	if len(v) > 0 {
		h.writeError(ctx, w, c, converse.Errorf(converse.KindValidation, "%s", violations(v)))
		return
	}
	res, err := h.guardrails.ApplyGuardrail(ctx, id, ver, *req.Source, req.Content, req.OutputScope)
	if err == nil && res == nil {
		err = fmt.Errorf("wire: apply guardrail %s: no result and no error", id)
	}
	if err != nil {
		h.writeError(ctx, w, c, err)
		return
	}
	var buf bytes.Buffer
	b, err := encodeJSON(&buf, res)
	if err != nil {
		h.writeError(ctx, w, c, fmt.Errorf("wire: encode apply guardrail response: %w", err))
		return
	}
	if h.logContent {
		h.log.LogAttrs(ctx, slog.LevelDebug, "response body", slog.String("request_id", c.requestID), slog.String("body", string(b)))
	}
	h.writeJSON(w, c, b)
}

// violations is Coral's "N validation error(s) detected: …" message.
func violations(v []string) string {
	if len(v) == 1 {
		return "1 validation error detected: " + v[0]
	}
	return fmt.Sprintf("%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}
