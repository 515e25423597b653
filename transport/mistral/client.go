package mistral

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/chatapi"
)

// Defaults used when a Client field is zero.
const (
	DefaultBaseURL = "https://api.mistral.ai"
	DefaultTimeout = chatapi.DefaultTimeout
)

// Client calls Mistral AI's chat completions API. The zero value calls
// DefaultBaseURL without a key; a Client is safe for concurrent use and
// must not be changed once in use.
type Client struct {
	// BaseURL is the API base without the version: "https://api.mistral.ai".
	// "" means DefaultBaseURL.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds an Invoke from start to the end of the answer, and an
	// InvokeStream's wait for the answer's headers and then for each event,
	// so that a long but live stream is not cut. 0 means DefaultTimeout; a
	// negative value means no timeout.
	Timeout time.Duration
}

var _ transport.Invoker = (*Client)(nil)

// dialect is Mistral's chat API: the shared chat-completions call with
// Mistral's endpoint and its conversions to Bedrock's shapes.
func dialect() chatapi.Dialect {
	return chatapi.Dialect{
		Name:           "mistral",
		DefaultBaseURL: DefaultBaseURL,
		Path:           "/v1/chat/completions",
		PromptRefusal:  "This destination serves Mistral chat bodies ({\"messages\": …}); a Mistral text-completion body ({\"prompt\": …}) needs a text-completion destination.",
		Answer:         toBedrock,
		NewStream: func(start time.Time) (func([]byte) ([]byte, error), func() ([]byte, error)) {
			s := &streamState{start: start}
			return s.next, s.end
		},
	}
}

func (c *Client) config() chatapi.Config {
	return chatapi.Config{BaseURL: c.BaseURL, APIKey: c.APIKey, HTTPClient: c.HTTPClient, Timeout: c.Timeout}
}

// Invoke sends a native Mistral chat body (§4.11) as POST
// {BaseURL}/v1/chat/completions, with "model" set to req.Model, and
// returns the answer in Bedrock's native shape (see toBedrock) with the
// token counts of its usage (-1 when it has none) and the measured
// latency.
//
// A native Mistral text-completion body ({prompt, …}, §4.10) is refused
// with a *transport.StatusError of 400: Mistral's chat API cannot take a
// rendered prompt. A non-2xx answer is a *transport.StatusError carrying
// Mistral's message; running out of time is an error matching
// transport.ErrTimeout; a cancelled ctx is an error matching ctx.Err().
func (c *Client) Invoke(ctx context.Context, req transport.Request) (*transport.Response, error) {
	return dialect().Invoke(ctx, c.config(), req)
}

// InvokeStream sends the body as Invoke does, with "stream": true, and
// yields Bedrock's native Mistral chat chunks (see streamState): one
// per upstream event that carries content, and last the chunk with the
// stop reason, to which "amazon-bedrock-invocationMetrics" is added
// (token counts from the stream's usage, latencies measured here). The
// finish chunk is held until the upstream stream ends ([DONE]) so that
// usage sent after it is counted.
//
// An error returned by InvokeStream happened before any chunk: what Invoke
// returns. In the sequence, a read failure, a cut connection, or an end
// without a stop reason is the last error. The sequence can be ranged over
// once; ending the range, early or not, closes the answer and so cancels
// the upstream request.
func (c *Client) InvokeStream(ctx context.Context, req transport.Request) (iter.Seq2[[]byte, error], error) {
	return dialect().InvokeStream(ctx, c.config(), req)
}

// errorMessage reads Mistral's error JSON: {"message": "…"}, a message
// that is itself an object (422 schema details, given as compact JSON),
// or FastAPI's {"detail": …}.
func errorMessage(body []byte) string { return chatapi.ErrorMessage(body) }
