package testbackend

import (
	"slices"
	"strconv"
	"strings"

	"github.com/converse-project/converse"
)

// Fault names a failure the backend injects. The zero value injects none.
type Fault string

// The injectable faults; see the package documentation for what each returns.
const (
	FaultNone               Fault = ""
	FaultThrottling         Fault = "throttling"
	FaultModelError         Fault = "model_error"
	FaultModelTimeout       Fault = "model_timeout"
	FaultServiceUnavailable Fault = "service_unavailable"
	FaultInternal           Fault = "internal"
	FaultModelNotReady      Fault = "model_not_ready"
	FaultStreamCut          Fault = "stream_cut"
	FaultValidation         Fault = "validation"
)

// Faults lists every fault name a Reply or a marker may use.
func Faults() []Fault {
	return []Fault{FaultThrottling, FaultModelError, FaultModelTimeout, FaultServiceUnavailable,
		FaultInternal, FaultModelNotReady, FaultStreamCut, FaultValidation}
}

// Messages Bedrock sends with these exceptions. The model-error and
// model-not-ready texts are ours: Bedrock's exact wording is not on record.
const (
	msgModelError    = "The model returned an error. Try your request again."
	msgModelTimeout  = "Model has timed out in processing the request. Try your request again."
	msgUnavailable   = "Bedrock is unable to process your request."
	msgModelNotReady = "Model is not ready to serve inference requests. Try your request again later."
	msgValidation    = "The model returned the following errors: Input is too long for requested model."
)

// known reports whether f names a fault (or is FaultNone).
func (f Fault) known() bool {
	return f == FaultNone || slices.Contains(Faults(), f)
}

// joinFaults lists the fault names for error messages.
func joinFaults() string {
	var names []string
	for _, f := range Faults() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// err is the error a request with fault f fails with before streaming.
// stream_cut fails Converse as model_error.
func (f Fault) err() *converse.Error {
	switch f {
	case FaultThrottling:
		return &converse.Error{Kind: converse.KindThrottling, Message: converse.MsgThrottled}
	case FaultModelError, FaultStreamCut:
		return &converse.Error{Kind: converse.KindModelError, Message: msgModelError, OriginalStatusCode: 500}
	case FaultModelTimeout:
		return &converse.Error{Kind: converse.KindModelTimeout, Message: msgModelTimeout}
	case FaultServiceUnavailable:
		return &converse.Error{Kind: converse.KindServiceUnavailable, Message: msgUnavailable}
	case FaultInternal:
		return &converse.Error{Kind: converse.KindInternalServer, Message: converse.MsgInternal}
	case FaultModelNotReady:
		return &converse.Error{Kind: converse.KindModelNotReady, Message: msgModelNotReady}
	case FaultValidation:
		return &converse.Error{Kind: converse.KindValidation, Message: msgValidation}
	}
	return nil
}

// streamCutErr ends a stream cut after n deltas, as Bedrock ends a stream
// whose model failed mid-way (wire-protocol.md §4.5).
func streamCutErr(n int) *converse.Error {
	return &converse.Error{Kind: converse.KindModelStreamError, Message: converse.MsgInternal,
		OriginalStatusCode: 500, OriginalMessage: "test backend: stream cut after " + strconv.Itoa(n) + " deltas"}
}

const markerOpen, markerClose = "[[fault:", "]]"

// marker finds a "[[fault:NAME]]" or "[[fault:NAME:N]]" marker in text. It
// returns the text without the marker, the fault, the cut count (-1 when the
// marker gives none) and whether a marker was found. An unknown NAME or a bad
// N is an error.
func marker(text string) (rest string, f Fault, cutAfter int, found bool, err error) {
	i := strings.Index(text, markerOpen)
	if i < 0 {
		return text, FaultNone, -1, false, nil
	}
	j := strings.Index(text[i+len(markerOpen):], markerClose)
	if j < 0 {
		return text, FaultNone, -1, false, nil
	}
	spec := text[i+len(markerOpen) : i+len(markerOpen)+j]
	rest = text[:i] + text[i+len(markerOpen)+j+len(markerClose):]
	name, n, hasN := strings.Cut(spec, ":")
	f, cutAfter = Fault(name), -1
	if f == FaultNone || !f.known() {
		return rest, FaultNone, -1, true, converse.Errorf(converse.KindValidation,
			"test backend: unknown fault %q in a [[fault:…]] marker; known faults: %s", name, joinFaults())
	}
	if hasN {
		cutAfter, err = strconv.Atoi(n)
		if err != nil || cutAfter < 0 {
			return rest, FaultNone, -1, true, converse.Errorf(converse.KindValidation,
				"test backend: bad delta count %q in a [[fault:…]] marker", n)
		}
	}
	return rest, f, cutAfter, true, nil
}
