package upstreamtest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// BedrockReply scripts the answer to one InvokeModel or
// InvokeModelWithResponseStream request. The zero BedrockReply answers
// InvokeModel with {"output":"Hello."} and streams that one chunk.
type BedrockReply struct {
	// Body is InvokeModel's answer body (default {"output":"Hello."});
	// ContentType its type (default application/json).
	Body        []byte
	ContentType string
	// Chunks are the native stream chunks, each sent as one PayloadPart
	// (default: Body). Unless NoMetrics, the last one, which must then be
	// a JSON object, gets "amazon-bedrock-invocationMetrics" merged in, as
	// Bedrock does (wire-protocol.md §4.6).
	Chunks    [][]byte
	NoMetrics bool
	// InputTokens, OutputTokens and LatencyMs are sent as the
	// X-Amzn-Bedrock-Input-Token-Count, -Output-Token-Count and
	// -Invocation-Latency headers (and in the stream's metrics); NoCounts
	// leaves the headers out.
	InputTokens, OutputTokens, LatencyMs int
	NoCounts                             bool

	// Faults before the answer. Exception answers with Bedrock's JSON
	// error: x-amzn-ErrorType "<Exception>:http://internal.amazon.com/coral/com.amazon.bedrock/"
	// and {"message":Message,…}, with Status (default: the exception's
	// modeled status, §5.1) and OriginalStatusCode / ResourceName /
	// OriginalMessage as extra members when set. Status alone, without
	// Exception, answers that status with a plain-text body, as a load
	// balancer in front of the service would.
	Exception          string
	Status             int
	Message            string
	OriginalStatusCode int
	ResourceName       string
	OriginalMessage    string

	// Faults in a stream. StreamException ends the stream, after the
	// chunks, with an exception frame of that member
	// ("throttlingException", "modelStreamErrorException", …) carrying
	// Message (and OriginalStatusCode, OriginalMessage). CutAfter closes
	// the connection after that many chunks. Hang waits for the client to
	// go away (see Cancelled) after HangAfter chunks (default 0: before
	// the answer; not streaming: always before the answer).
	StreamException string
	CutAfter        int
	Hang            bool
	HangAfter       int
}

// BedrockRequest is what the fake received in one request.
type BedrockRequest struct {
	Operation string // "InvokeModel" or "InvokeModelWithResponseStream"
	ModelID   string // path-unescaped
	Header    http.Header
	Body      []byte
}

// BedrockServer is a fake Amazon Bedrock Runtime serving InvokeModel and
// InvokeModelWithResponseStream in the real wire format: restJson1 with
// the model's bytes as the body and Bedrock's token headers, event-stream
// frames written with the AWS SDK's encoder, typed exception frames, and
// JSON errors named by x-amzn-ErrorType (wire-protocol.md §2.3, §2.4, §4,
// §5.2). It requires a SigV4 Authorization for the service "bedrock", or
// a bearer token (§6.1), without checking either against credentials. Its methods are safe for
// concurrent use.
type BedrockServer struct {
	// URL is the endpoint, as an SDK client's BaseEndpoint.
	URL string

	quit chan struct{}

	mu        sync.Mutex
	queue     []BedrockReply
	last      BedrockRequest
	requests  int
	cancelled chan struct{}
	noticed   bool
}

// NewBedrock starts a server on 127.0.0.1 that answers with replies in
// order, then with the zero BedrockReply; it is closed when the test ends.
func NewBedrock(t testing.TB, replies ...BedrockReply) *BedrockServer {
	t.Helper()
	s := &BedrockServer{queue: replies, quit: make(chan struct{}), cancelled: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /model/{modelId}/invoke", func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, "InvokeModel") })
	mux.HandleFunc("POST /model/{modelId}/invoke-with-response-stream", func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, "InvokeModelWithResponseStream")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		bedrockError(w, "UnknownOperationException", http.StatusNotFound, errorJSON{Message: "Unknown operation"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(s.quit) }) // runs first: releases hanging handlers
	s.URL = srv.URL
	return s
}

// Reply queues r as the answer to the next request not yet scripted.
func (s *BedrockServer) Reply(r BedrockReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r)
}

// LastRequest returns the latest request received on an invoke path,
// accepted or not (the zero value before any).
func (s *BedrockServer) LastRequest() BedrockRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Requests returns how many invoke requests the server received.
func (s *BedrockServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Cancelled is closed once the server noticed a client going away before
// its answer was complete (a Hang reply, or a stream the client stopped
// reading).
func (s *BedrockServer) Cancelled() <-chan struct{} { return s.cancelled }

func (s *BedrockServer) noticeCancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.noticed {
		s.noticed = true
		close(s.cancelled)
	}
}

// bedrockStatus is each modeled exception's HTTP status (§5.1), plus the
// front door's authentication errors (§5.3).
var bedrockStatus = map[string]int{
	"ValidationException": 400, "ServiceQuotaExceededException": 400, "AccessDeniedException": 403,
	"ResourceNotFoundException": 404, "ModelTimeoutException": 408, "ModelErrorException": 424,
	"ModelStreamErrorException": 424, "ThrottlingException": 429, "ModelNotReadyException": 429,
	"InternalServerException": 500, "ServiceUnavailableException": 503,
	"MissingAuthenticationTokenException": 403, "InvalidSignatureException": 403,
}

// errorJSON is the body of Bedrock's JSON error and the payload of an
// exception frame.
type errorJSON struct {
	Message            string `json:"message"`
	OriginalStatusCode int    `json:"originalStatusCode,omitempty"`
	ResourceName       string `json:"resourceName,omitempty"`
	OriginalMessage    string `json:"originalMessage,omitempty"`
}

// bedrockError writes Bedrock's JSON error response (§5.2).
func bedrockError(w http.ResponseWriter, exception string, status int, body errorJSON) {
	b, _ := json.Marshal(body)
	w.Header()["x-amzn-ErrorType"] = []string{exception + ":http://internal.amazon.com/coral/com.amazon.bedrock/"}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

const bedrockMalformed = "Malformed input request, please reformat your input and try again."

func (s *BedrockServer) serve(w http.ResponseWriter, r *http.Request, op string) {
	// Reading the whole body also lets net/http notice a client that goes
	// away later (it cancels r.Context() only once the body is consumed).
	body, err := io.ReadAll(io.LimitReader(r.Body, 25_000_001))
	s.mu.Lock()
	s.requests++
	s.last = BedrockRequest{Operation: op, ModelID: r.PathValue("modelId"), Header: r.Header.Clone(), Body: body}
	var reply BedrockReply
	if len(s.queue) > 0 {
		reply, s.queue = s.queue[0], s.queue[1:]
	}
	s.mu.Unlock()
	if err != nil {
		return
	}
	w.Header()["x-amzn-RequestId"] = []string{"8f0e3a9c-0000-4000-8000-" + strconv.FormatInt(int64(100000000000+s.Requests()), 10)}
	if exc, msg := bedrockCheckAuth(r.Header); exc != "" {
		bedrockError(w, exc, http.StatusForbidden, errorJSON{Message: msg})
		return
	}
	if msg := bedrockCheckRequest(r.Header.Get("Content-Type"), body); msg != "" {
		bedrockError(w, "ValidationException", http.StatusBadRequest, errorJSON{Message: msg})
		return
	}
	switch {
	case reply.Exception != "":
		status := reply.Status
		if status == 0 {
			status = bedrockStatus[reply.Exception]
		}
		msg := reply.Message
		if msg == "" {
			msg = http.StatusText(status)
		}
		bedrockError(w, reply.Exception, status, errorJSON{Message: msg, OriginalStatusCode: reply.OriginalStatusCode,
			ResourceName: reply.ResourceName, OriginalMessage: reply.OriginalMessage})
		return
	case reply.Status != 0:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(reply.Status)
		io.WriteString(w, http.StatusText(reply.Status))
		return
	}
	if op == "InvokeModelWithResponseStream" {
		s.stream(w, r, reply)
		return
	}
	if reply.Hang {
		s.hang(r)
		return
	}
	out := reply.Body
	if out == nil {
		out = []byte(`{"output":"Hello."}`)
	}
	ct := reply.ContentType
	if ct == "" {
		ct = "application/json"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(out)))
	if !reply.NoCounts {
		h.Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(reply.InputTokens))
		h.Set("X-Amzn-Bedrock-Output-Token-Count", strconv.Itoa(reply.OutputTokens))
		h.Set("X-Amzn-Bedrock-Invocation-Latency", strconv.Itoa(reply.LatencyMs))
	}
	w.Write(out)
}

// bedrockCheckAuth requires a SigV4 Authorization header scoped to the
// service "bedrock" and an X-Amz-Date, or a Bedrock API key as a bearer
// token (§6.1), answering as the AWS front door does otherwise (§5.3). The
// signature itself is not verified: the fake stands in for the wire
// format, not for IAM.
func bedrockCheckAuth(h http.Header) (exception, message string) {
	auth := h.Get("Authorization")
	if auth == "" {
		return "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	if token, ok := strings.CutPrefix(auth, "Bearer "); ok && token != "" {
		return "", ""
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 Credential=")
	if !ok || h.Get("X-Amz-Date") == "" || !strings.Contains(auth, "Signature=") {
		return "InvalidSignatureException", "Authorization header requires a SigV4 Credential, SignedHeaders and Signature."
	}
	cred, _, _ := strings.Cut(rest, ",")
	scope := strings.Split(cred, "/") // AKID/date/region/service/aws4_request
	if len(scope) != 5 || scope[3] != "bedrock" || scope[4] != "aws4_request" {
		return "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'."
	}
	return "", ""
}

// bedrockCheckRequest checks the content type (JSON; missing or
// application/octet-stream count as JSON, §2.3) and that the body is a
// JSON object, as every family's native body is.
func bedrockCheckRequest(contentType string, body []byte) string {
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || (mt != "application/json" && mt != "application/octet-stream") {
			return "The provided Content-Type is not supported. Use application/json."
		}
	}
	var m map[string]json.RawMessage
	if len(body) > 25_000_000 || json.Unmarshal(body, &m) != nil || m == nil {
		return bedrockMalformed
	}
	return ""
}

// hang waits for the client to go away, or the test to end.
func (s *BedrockServer) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
		s.noticeCancel()
	case <-s.quit:
	}
}

// stream answers with an event stream of ResponseStream (§4.6), flushing
// each frame.
func (s *BedrockServer) stream(w http.ResponseWriter, r *http.Request, reply BedrockReply) {
	chunks := reply.Chunks
	if chunks == nil {
		b := reply.Body
		if b == nil {
			b = []byte(`{"output":"Hello."}`)
		}
		chunks = [][]byte{b}
	}
	if !reply.NoMetrics && len(chunks) > 0 {
		last := len(chunks) - 1 // a fresh array: the script stays untouched
		chunks = append(chunks[:last:last], bedrockWithMetrics(chunks[last], reply))
	}
	if reply.Hang && reply.HangAfter == 0 {
		s.hang(r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("X-Amzn-Bedrock-Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	enc := eventstream.NewEncoder()
	send := func(msg eventstream.Message) bool {
		if err := enc.Encode(w, msg); err != nil {
			s.noticeCancel()
			return false
		}
		if err := rc.Flush(); err != nil {
			s.noticeCancel()
			return false
		}
		return true
	}
	for i, c := range chunks {
		if reply.Hang && i == reply.HangAfter {
			s.hang(r)
			return
		}
		if reply.CutAfter > 0 && i == reply.CutAfter {
			// Close the connection mid-body: the client sees the chunked
			// body end without its terminator.
			if conn, _, err := rc.Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		payload, _ := json.Marshal(struct {
			Bytes []byte `json:"bytes"`
		}{c})
		if !send(bedrockFrame(":event-type", "chunk", "event", payload)) {
			return
		}
	}
	if reply.StreamException != "" {
		payload, _ := json.Marshal(errorJSON{Message: reply.Message, OriginalStatusCode: reply.OriginalStatusCode, OriginalMessage: reply.OriginalMessage})
		send(bedrockFrame(":exception-type", reply.StreamException, "exception", payload))
		return
	}
	if reply.Hang {
		s.hang(r)
	}
}

// bedrockFrame is one event-stream message with the headers Bedrock sends
// (§4.3).
func bedrockFrame(typeHeader, typ, messageType string, payload []byte) eventstream.Message {
	return eventstream.Message{Headers: eventstream.Headers{
		{Name: typeHeader, Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue(messageType)},
	}, Payload: payload}
}

// bedrockWithMetrics merges "amazon-bedrock-invocationMetrics" into the
// last chunk, a JSON object (§4.6). A chunk that is no object is sent as
// it is: a test scripting one wants exactly those bytes.
func bedrockWithMetrics(chunk []byte, reply BedrockReply) []byte {
	trimmed := bytes.TrimSpace(chunk)
	if len(trimmed) < 2 || trimmed[0] != '{' || trimmed[len(trimmed)-1] != '}' {
		return chunk
	}
	m, _ := json.Marshal(map[string]int{"inputTokenCount": reply.InputTokens, "outputTokenCount": reply.OutputTokens,
		"invocationLatency": reply.LatencyMs, "firstByteLatency": reply.LatencyMs})
	var out bytes.Buffer
	out.Write(trimmed[:len(trimmed)-1])
	if len(bytes.TrimSpace(trimmed[1:len(trimmed)-1])) > 0 {
		out.WriteByte(',')
	}
	out.WriteString(`"amazon-bedrock-invocationMetrics":`)
	out.Write(m)
	out.WriteByte('}')
	return out.Bytes()
}
