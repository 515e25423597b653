package converse

import "fmt"

// ErrorKind is the kind of failure a request ended in. Each kind is one of
// Bedrock's modeled exceptions; the wire package alone maps a kind to its
// exception name, HTTP status and event-stream member.
type ErrorKind int

// The error kinds, one per Bedrock Runtime exception.
const (
	KindInternalServer       ErrorKind = iota // InternalServerException, 500
	KindValidation                            // ValidationException, 400
	KindAccessDenied                          // AccessDeniedException, 403
	KindResourceNotFound                      // ResourceNotFoundException, 404
	KindThrottling                            // ThrottlingException, 429
	KindServiceQuotaExceeded                  // ServiceQuotaExceededException, 400
	KindModelTimeout                          // ModelTimeoutException, 408
	KindModelError                            // ModelErrorException, 424
	KindModelStreamError                      // ModelStreamErrorException, 424
	KindModelNotReady                         // ModelNotReadyException, 429
	KindServiceUnavailable                    // ServiceUnavailableException, 503
)

var kindNames = [...]string{"internal server error", "validation", "access denied", "resource not found",
	"throttling", "service quota exceeded", "model timeout", "model error", "model stream error",
	"model not ready", "service unavailable"}

func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Error is a failure to report to the caller as a Bedrock exception. Message
// is the exception's message, worded as Bedrock words it. The Original*
// and ResourceName fields are the extra members of ModelErrorException and
// ModelStreamErrorException.
type Error struct {
	Kind               ErrorKind
	Message            string
	OriginalStatusCode int
	OriginalMessage    string
	ResourceName       string
}

func (e *Error) Error() string { return e.Kind.String() + ": " + e.Message }

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Messages Bedrock sends, byte for byte (wire-protocol.md §5.4).
const (
	MsgInvalidModelID = "The provided model identifier is invalid."
	MsgAccessDenied   = "You don't have access to the model with the specified model ID."
	MsgInternal       = "The system encountered an unexpected error during processing. Try your request again."
	MsgThrottled      = "Too many requests, please wait before trying again."
)
