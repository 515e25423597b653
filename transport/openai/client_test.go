package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server starts an httptest server on 127.0.0.1 whose handler is h, closed
// at the end of the test. Unless h reads the request body itself, the body
// is read first: net/http notices a client going away (and cancels
// r.Context()) only once the body is consumed.
func server(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL + "/v1", HTTPClient: srv.Client()}
}

func TestPost(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		wantAuth string
	}{
		{"key is sent as a bearer token", "sk-test", "Bearer sk-test"},
		{"no key sends no authorization", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotPath, gotAuth, gotType, gotBody string
			c := server(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				gotPath, gotAuth, gotType, gotBody = r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)
				io.WriteString(w, `{"ok":true}`)
			})
			c.APIKey = tt.key
			reply, err := c.Post(context.Background(), "/chat/completions", []byte(`{"model":"m"}`))
			if err != nil {
				t.Fatal(err)
			}
			if string(reply) != `{"ok":true}` {
				t.Errorf("reply = %s", reply)
			}
			if gotPath != "/v1/chat/completions" || gotAuth != tt.wantAuth || gotType != "application/json" || gotBody != `{"model":"m"}` {
				t.Errorf("upstream saw path %q auth %q type %q body %q", gotPath, gotAuth, gotType, gotBody)
			}
		})
	}
}

func TestPostErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		cancel  bool // cancel the caller's context once the request arrived
		check   func(t *testing.T, err error)
	}{
		{
			name: "non-2xx answer is a StatusError with body and Retry-After",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"error":{"message":"slow down"}}`)
			},
			check: func(t *testing.T, err error) {
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("error %v is not a *StatusError", err)
				}
				if se.StatusCode != 429 || se.RetryAfter != "7" || string(se.Body) != `{"error":{"message":"slow down"}}` {
					t.Errorf("StatusError = %+v", se)
				}
				if strings.Contains(se.Error(), "slow down") {
					t.Errorf("Error() %q includes the body", se.Error())
				}
			},
		},
		{
			name:    "a server slower than Timeout is ErrTimeout",
			handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			timeout: 20 * time.Millisecond,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrTimeout) {
					t.Errorf("error %v is not ErrTimeout", err)
				}
			},
		},
		{
			name:    "cancelling the context is context.Canceled",
			handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			cancel:  true,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
					t.Errorf("error %v is not context.Canceled", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrived := make(chan struct{})
			c := server(t, func(w http.ResponseWriter, r *http.Request) {
				close(arrived)
				tt.handler(w, r)
			})
			c.Timeout = tt.timeout
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				go func() { <-arrived; cancel() }()
			}
			_, err := c.Post(ctx, "/chat/completions", []byte(`{}`))
			if err == nil {
				t.Fatal("Post succeeded")
			}
			tt.check(t, err)
		})
	}
}

func TestPostConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := &Client{BaseURL: "http://" + addr + "/v1"}
	_, err = c.Post(context.Background(), "/chat/completions", []byte(`{}`))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %v is not ECONNREFUSED", err)
	}
}

func TestStream(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"events end at [DONE]", "data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: [DONE]\n\ndata: ignored\n\n", []string{`{"a":1}`, `{"a":2}`, "[DONE]"}},
		{"comments and other fields are ignored", ": keep-alive\n\nevent: message\nid: 3\nretry: 10\ndata: x\n\n", []string{"x"}},
		{"multi-line data is joined with newlines", "data: one\ndata: two\n\n", []string{"one\ntwo"}},
		{"CRLF line ends are accepted", "data: x\r\n\r\ndata: [DONE]\r\n\r\n", []string{"x", "[DONE]"}},
		{"data without a space after the colon", "data:x\n\n", []string{"x"}},
		{"end of body without [DONE] ends the sequence", "data: x\n\ndata: y", []string{"x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var accept string
			c := server(t, func(w http.ResponseWriter, r *http.Request) {
				accept = r.Header.Get("Accept")
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, tt.body)
			})
			seq, err := c.Stream(context.Background(), "/chat/completions", []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for data, err := range seq {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(data))
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
			if accept != "text/event-stream" {
				t.Errorf("Accept = %q", accept)
			}
		})
	}
}

func TestStreamErrors(t *testing.T) {
	t.Run("non-2xx answer is a StatusError before any event", func(t *testing.T) {
		c := server(t, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":{"message":"down"}}`, http.StatusServiceUnavailable)
		})
		_, err := c.Stream(context.Background(), "/chat/completions", nil)
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != 503 {
			t.Errorf("error = %v, want a 503 StatusError", err)
		}
	})
	t.Run("a stream that goes silent for Timeout yields ErrTimeout", func(t *testing.T) {
		c := server(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		c.Timeout = 50 * time.Millisecond
		seq, err := c.Stream(context.Background(), "/chat/completions", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var last error
		for data, err := range seq {
			if err != nil {
				last = err
				continue
			}
			got = append(got, string(data))
		}
		if len(got) != 1 || !errors.Is(last, ErrTimeout) {
			t.Errorf("events %q, error %v; want one event then ErrTimeout", got, last)
		}
	})
	t.Run("a connection cut mid-event yields an error", func(t *testing.T) {
		c := server(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000") // promise more than is sent
			io.WriteString(w, "data: first\n\ndata: sec")
			w.(http.Flusher).Flush()
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		})
		seq, err := c.Stream(context.Background(), "/chat/completions", nil)
		if err != nil {
			t.Fatal(err)
		}
		var last error
		for _, err := range seq {
			last = err
		}
		if !errors.Is(last, io.ErrUnexpectedEOF) {
			t.Errorf("last error = %v, want io.ErrUnexpectedEOF", last)
		}
	})
	t.Run("a sequence ranges only once", func(t *testing.T) {
		c := server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "data: x\n\n") })
		seq, err := c.Stream(context.Background(), "/chat/completions", nil)
		if err != nil {
			t.Fatal(err)
		}
		for range seq {
		}
		for _, err := range seq {
			if err == nil {
				t.Error("second range yielded an event")
			}
		}
	})
}

// TestStreamCancelsUpstream checks that the upstream request ends when the
// caller stops reading, whether by breaking out of the range or by
// cancelling its context.
func TestStreamCancelsUpstream(t *testing.T) {
	for _, how := range []string{"break", "cancel"} {
		t.Run(how, func(t *testing.T) {
			gone := make(chan struct{})
			c := server(t, func(w http.ResponseWriter, r *http.Request) {
				for i := 0; ; i++ {
					if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
						break
					}
					w.(http.Flusher).Flush()
					if i > 0 {
						select {
						case <-r.Context().Done():
							close(gone)
							return
						case <-time.After(time.Millisecond):
						}
					}
				}
				close(gone)
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seq, err := c.Stream(ctx, "/chat/completions", nil)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			var last error
			for _, err := range seq {
				if err != nil {
					last = err
					break
				}
				n++
				if n == 2 {
					if how == "break" {
						break
					}
					cancel()
				}
			}
			<-gone // the handler saw the client go away
			if how == "cancel" && !errors.Is(last, context.Canceled) {
				t.Errorf("after cancel the sequence ended with %v, want context.Canceled", last)
			}
		})
	}
}
