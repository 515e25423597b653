package backend

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/converse-project/converse"
)

// Messages for upstream failures. Bedrock's own wording where it is known
// (wire-protocol.md §5.4; ServiceUnavailableException as reported in
// darko-mesaros/bedrust#47); ours otherwise.
const (
	msgModelTimeout       = "Model has timed out in processing the request. Try your request again."
	msgServiceUnavailable = "Bedrock is unable to process your request."
	msgModelErrors        = "The model returned the following errors: "
	msgUpstreamAuth       = "The model endpoint rejected the gateway's credentials. Contact the administrator of this endpoint."
	msgStreamTimeout      = "The model stream timed out."
)

// maxUpstreamMessage bounds the upstream text quoted in a message.
const maxUpstreamMessage = 1000

// statusError maps an upstream's non-2xx answer, as Bedrock reports a
// model's failures (wire-protocol.md §5.1, §5.4):
//   - 429: ThrottlingException, Bedrock's message (SDKs retry it);
//   - 408: ModelTimeoutException;
//   - 400, 413, 422: the request was wrong for the model:
//     ValidationException "The model returned the following errors: …",
//     as Converse wraps a model's own validation message;
//   - 503: ServiceUnavailableException (SDKs retry it);
//   - 401, 403: the gateway's upstream key is wrong, which the caller can
//     neither fix nor should read as its own AccessDenied:
//     ModelErrorException with the original status;
//   - anything else (404 for an upstream model that does not exist, 5xx):
//     ModelErrorException with the original status and message.
//
// body is the upstream's error answer; its OpenAI-style error.message (or
// message, or detail, or the text itself) is quoted.
func statusError(status int, body []byte) *converse.Error {
	msg := upstreamMessage(status, body)
	switch status {
	case http.StatusTooManyRequests:
		return &converse.Error{Kind: converse.KindThrottling, Message: converse.MsgThrottled}
	case http.StatusRequestTimeout:
		return &converse.Error{Kind: converse.KindModelTimeout, Message: msgModelTimeout}
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return &converse.Error{Kind: converse.KindValidation, Message: msgModelErrors + msg}
	case http.StatusServiceUnavailable:
		return &converse.Error{Kind: converse.KindServiceUnavailable, Message: msgServiceUnavailable}
	case http.StatusUnauthorized, http.StatusForbidden:
		return &converse.Error{Kind: converse.KindModelError, Message: msgUpstreamAuth, OriginalStatusCode: status}
	}
	return &converse.Error{Kind: converse.KindModelError, Message: msgModelErrors + msg, OriginalStatusCode: status}
}

// upstreamMessage extracts the human-readable message of an error answer:
// OpenAI's {"error":{"message"}}, {"error":"…"}, {"message"} or
// {"detail"} (vLLM, FastAPI), else the body as text, else the status
// text.
func upstreamMessage(status int, body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	msg := ""
	if json.Unmarshal(body, &v) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(v.Error, &inner) == nil && inner.Message != "":
			msg = inner.Message
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			msg = s
		case v.Message != "":
			msg = v.Message
		case json.Unmarshal(v.Detail, &s) == nil && s != "":
			msg = s
		case len(v.Detail) > 0:
			msg = string(v.Detail)
		}
	} else if utf8.Valid(body) {
		msg = string(body)
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = http.StatusText(status)
	}
	if len(msg) > maxUpstreamMessage {
		cut := maxUpstreamMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// transportError maps a failed upstream call that got no usable answer.
// status extracts a transport's non-2xx answer (its StatusError type);
// timeout tells whether err is that transport's timeout.
//
// A cancelled caller is returned as it is, wrapped: the caller is gone and
// nothing is reported to it. Timeouts (the transport's, or the caller's
// deadline) are ModelTimeoutException. Any other failure to reach the
// upstream or read its answer (connection refused or reset, DNS) is
// ServiceUnavailableException: the model endpoint is down, and SDKs retry
// that exception.
func transportError(err error, status func(error) (int, []byte, bool), timeout func(error) bool) error {
	if code, body, ok := status(err); ok {
		return statusError(code, body)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case timeout(err) || errors.Is(err, context.DeadlineExceeded):
		return &converse.Error{Kind: converse.KindModelTimeout, Message: msgModelTimeout}
	}
	return &converse.Error{Kind: converse.KindServiceUnavailable, Message: msgServiceUnavailable}
}

// streamError maps a failure after a stream started, which the caller
// receives as an exception frame: a ModelStreamErrorException carrying
// the upstream's status (a stream starts with 200) and what went wrong.
// Errors the codec already classified keep their message. A cancelled
// caller is returned as it is.
func streamError(err error, timeout func(error) bool) error {
	var ce *converse.Error
	switch {
	case errors.As(err, &ce):
		if ce.Kind == converse.KindModelStreamError && ce.OriginalStatusCode == 0 {
			c := *ce
			c.OriginalStatusCode = http.StatusOK
			return &c
		}
		return ce
	case errors.Is(err, context.Canceled):
		return err
	case timeout(err) || errors.Is(err, context.DeadlineExceeded):
		return &converse.Error{Kind: converse.KindModelStreamError, Message: msgStreamTimeout, OriginalStatusCode: http.StatusOK, OriginalMessage: "no event arrived in time"}
	}
	return &converse.Error{Kind: converse.KindModelStreamError, Message: "The model stream ended unexpectedly.", OriginalStatusCode: http.StatusOK, OriginalMessage: err.Error()}
}

// replyError completes a codec's verdict on a 200 answer that could not be
// read: ModelErrorException carries the upstream status, 200.
func replyError(err error) error {
	var ce *converse.Error
	if errors.As(err, &ce) && ce.Kind == converse.KindModelError && ce.OriginalStatusCode == 0 {
		c := *ce
		c.OriginalStatusCode = http.StatusOK
		return &c
	}
	return err
}
