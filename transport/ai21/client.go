package ai21

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
	DefaultBaseURL = "https://api.ai21.com"
	DefaultTimeout = chatapi.DefaultTimeout
)

// Client calls AI21 Studio's chat completions API. The zero value calls
// DefaultBaseURL without a key; a Client is safe for concurrent use and
// must not be changed once in use.
type Client struct {
	// BaseURL is the API base without /studio/v1: "https://api.ai21.com".
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

// dialect is AI21's chat API: the shared chat-completions call with
// AI21's endpoint. Its answers and chunks already have Bedrock's Jamba
// shapes, so only the token counts and the invocation metrics are added.
func dialect() chatapi.Dialect {
	return chatapi.Dialect{
		Name:           "ai21",
		DefaultBaseURL: DefaultBaseURL,
		Path:           "/studio/v1/chat/completions",
		PromptRefusal:  "This destination serves Jamba chat bodies ({\"messages\": …}); a Jurassic-2 body ({\"prompt\": …}) cannot be sent to AI21's chat API.",
		Answer: func(reply []byte) ([]byte, int, int, error) {
			in, out := tokenCounts(reply)
			return reply, in, out, nil
		},
		NewStream: func(start time.Time) (func([]byte) ([]byte, error), func() ([]byte, error)) {
			s := &streamState{start: start}
			return s.next, s.end
		},
	}
}

func (c *Client) config() chatapi.Config {
	return chatapi.Config{BaseURL: c.BaseURL, APIKey: c.APIKey, HTTPClient: c.HTTPClient, Timeout: c.Timeout}
}

// Invoke sends a native Jamba body (§4.1) as POST
// {BaseURL}/studio/v1/chat/completions, with "model" set to req.Model,
// and returns AI21's answer as is: it already has Bedrock's Jamba shape
// (choices[].message, finish_reason, usage; §4.1 against §5.5). The token
// counts come from its usage (-1 when it has none); the latency is
// measured. Bedrock's Jamba-Instruct page and AI21's API give different
// temperature defaults (§6 row 13): a body without temperature gets the
// destination's.
//
// A Jurassic-2 body ({prompt, …}, §4.2) is refused with a
// *transport.StatusError of 400: AI21's chat API cannot take it. A
// non-2xx answer is a *transport.StatusError carrying AI21's detail;
// running out of time is an error matching transport.ErrTimeout; a
// cancelled ctx is an error matching ctx.Err().
func (c *Client) Invoke(ctx context.Context, req transport.Request) (*transport.Response, error) {
	return dialect().Invoke(ctx, c.config(), req)
}

// InvokeStream sends the body as Invoke does, with "stream": true, and
// yields AI21's chunks, which have Bedrock's Jamba chunk shape, as they
// come, except that the chunk with the finish_reason is held until the
// upstream stream ends ([DONE]) and sent last with
// "amazon-bedrock-invocationMetrics" added (token counts from the
// stream's usage, which it also gets when AI21 sent usage in a later
// chunk; latencies measured here). Chunks after the finish are not sent.
//
// An error returned by InvokeStream happened before any chunk: what Invoke
// returns. In the sequence, a read failure, a cut connection, or an end
// without a stop reason is the last error. The sequence can be ranged over
// once; ending the range, early or not, closes the answer and so cancels
// the upstream request.
func (c *Client) InvokeStream(ctx context.Context, req transport.Request) (iter.Seq2[[]byte, error], error) {
	return dialect().InvokeStream(ctx, c.config(), req)
}
