package wire

import (
	"errors"
	"net/http"

	"github.com/converse-project/converse"
)

// exception is how one error kind appears on the wire.
type exception struct {
	shape  string // x-amzn-ErrorType shape name (wire-protocol.md §5.1)
	status int    // HTTP status (§5.1)
	// member is the ConverseStream in-stream exception member (§4.5). Only
	// internalServerException, modelStreamErrorException,
	// validationException, throttlingException and
	// serviceUnavailableException exist there, so kinds without a member of
	// their own map to the closest one.
	member string
}

// exceptions is the one table from error kind to Bedrock exception. It is
// indexed by converse.ErrorKind and never written.
//
// In-stream choices for kinds ConverseStream has no member for (ours; Bedrock
// never sends them after the 200, because it checks them before streaming):
//   - AccessDenied, ResourceNotFound, ServiceQuotaExceeded → validationException:
//     all are client faults the SDKs must not retry, and validationException is
//     the only client-fault, non-retryable member.
//   - ModelTimeout, ModelError → modelStreamErrorException, carrying the
//     original status code: the model failed mid-answer, which is exactly what
//     that member reports.
//   - ModelNotReady → serviceUnavailableException: the model cannot serve now
//     and a retry later may succeed; it is no quota problem (throttling).
var exceptions = [...]exception{
	converse.KindInternalServer:       {"InternalServerException", http.StatusInternalServerError, "internalServerException"},
	converse.KindValidation:           {"ValidationException", http.StatusBadRequest, "validationException"},
	converse.KindAccessDenied:         {"AccessDeniedException", http.StatusForbidden, "validationException"},
	converse.KindResourceNotFound:     {"ResourceNotFoundException", http.StatusNotFound, "validationException"},
	converse.KindThrottling:           {"ThrottlingException", http.StatusTooManyRequests, "throttlingException"},
	converse.KindServiceQuotaExceeded: {"ServiceQuotaExceededException", http.StatusBadRequest, "validationException"},
	converse.KindModelTimeout:         {"ModelTimeoutException", http.StatusRequestTimeout, "modelStreamErrorException"},
	converse.KindModelError:           {"ModelErrorException", http.StatusFailedDependency, "modelStreamErrorException"},
	converse.KindModelStreamError:     {"ModelStreamErrorException", http.StatusFailedDependency, "modelStreamErrorException"},
	converse.KindModelNotReady:        {"ModelNotReadyException", http.StatusTooManyRequests, "serviceUnavailableException"},
	converse.KindServiceUnavailable:   {"ServiceUnavailableException", http.StatusServiceUnavailable, "serviceUnavailableException"},
}

// errorTypeSuffix follows the shape name in x-amzn-ErrorType, as the real
// service sends it (§5.2). SDKs cut the value at the first ':'.
const errorTypeSuffix = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

// unknownOperation answers paths and methods no operation is bound to. AWS's
// front door answers them with UnknownOperationException and 404; the message
// is ours (Bedrock's exact text is unknown).
var unknownOperation = exception{shape: "UnknownOperationException", status: http.StatusNotFound}

const msgUnknownOperation = "The requested operation is not supported by this endpoint."

// errorBody is the JSON body of an error response and the payload of an
// exception frame: message plus the extra members of ModelErrorException
// (originalStatusCode, resourceName) and ModelStreamErrorException
// (originalStatusCode, originalMessage), §5.1.
type errorBody struct {
	Message            string `json:"message"`
	OriginalStatusCode *int   `json:"originalStatusCode,omitempty"`
	OriginalMessage    string `json:"originalMessage,omitempty"`
	ResourceName       string `json:"resourceName,omitempty"`
}

// asError returns err as a *converse.Error. Anything else (a bug, a backend
// that broke the contract) becomes InternalServerException with Bedrock's
// generic message; internal reports whether that happened, so the caller
// logs the real error instead of sending it.
func asError(err error) (e *converse.Error, internal bool) {
	if errors.As(err, &e) && e != nil && int(e.Kind) >= 0 && int(e.Kind) < len(exceptions) {
		return e, false
	}
	return &converse.Error{Kind: converse.KindInternalServer, Message: converse.MsgInternal}, true
}

// httpError returns the exception and body of e as a plain HTTP error
// response, the form every pre-stream failure takes.
func httpError(e *converse.Error) (exception, errorBody) {
	x := exceptions[e.Kind]
	body := errorBody{Message: e.Message}
	switch e.Kind {
	case converse.KindModelError:
		body.OriginalStatusCode = statusPtr(e.OriginalStatusCode)
		body.ResourceName = e.ResourceName
	case converse.KindModelStreamError:
		body.OriginalStatusCode = statusPtr(e.OriginalStatusCode)
		body.OriginalMessage = e.OriginalMessage
	}
	return x, body
}

// streamError returns the ConverseStream exception member and payload of e,
// for failures after the 200 (§4.5).
func streamError(e *converse.Error) (member string, body errorBody) {
	member = exceptions[e.Kind].member
	body = errorBody{Message: e.Message}
	if member == "modelStreamErrorException" {
		code := e.OriginalStatusCode
		if code == 0 && e.Kind == converse.KindModelTimeout {
			code = http.StatusRequestTimeout // the upstream timed out: say so
		}
		body.OriginalStatusCode = statusPtr(code)
		body.OriginalMessage = e.OriginalMessage
	}
	return member, body
}

// statusPtr returns code for an originalStatusCode member, or nil when it is
// outside the modeled range 100..599 (and so unknown).
func statusPtr(code int) *int {
	if code < 100 || code > 599 {
		return nil
	}
	return &code
}
