package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPostJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "bad headers", http.StatusTeapot)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) == "fail" {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"message":"slow down"}`)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	message := func(b []byte) string { return strings.TrimSuffix(string(b), "\n") }
	tests := []struct {
		name, body  string
		wantStatus  int
		wantMessage string
	}{
		{"a 2xx answer is returned open", "hello", 0, ""},
		{"a non-2xx answer is a StatusError with its message", "fail", http.StatusTooManyRequests, `{"message":"slow down"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := PostJSON(context.Background(), srv.Client(), srv.URL, []byte(tt.body), BearerHeader("k", "application/json"), message)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if b, _ := io.ReadAll(resp.Body); string(b) != tt.body {
					t.Errorf("body %q, want %q", b, tt.body)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.wantStatus || se.Message != tt.wantMessage {
				t.Fatalf("err = %#v, want status %d message %q", err, tt.wantStatus, tt.wantMessage)
			}
			if resp == nil || resp.Header.Get("Retry-After") != "3" {
				t.Errorf("the answer's headers are not returned with the StatusError")
			}
		})
	}
}

func TestCallFail(t *testing.T) {
	own := errors.New("own timeout")
	tests := []struct {
		name    string
		fail    func() error
		want    error
		wantMsg string
	}{
		{"a status error passes through", func() error {
			c := StartCall(context.Background(), 0, nil)
			defer c.Stop()
			return c.Fail("x", "op", &StatusError{StatusCode: 500})
		}, nil, "upstream answered 500"},
		{"running out of time is the timeout sentinel", func() error {
			c := StartCall(context.Background(), time.Nanosecond, own)
			defer c.Stop()
			<-c.Context().Done()
			return c.Fail("x", "op", context.Canceled)
		}, own, "x: op: own timeout"},
		{"a caller's cancellation is its ctx error", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			c := StartCall(ctx, time.Hour, nil)
			defer c.Stop()
			cancel()
			return c.Fail("x", "op", errors.New("read failed"))
		}, context.Canceled, "x: op: context canceled"},
		{"another error is wrapped with name and op", func() error {
			c := StartCall(context.Background(), -1, nil)
			defer c.Stop()
			return c.Fail("x", "op", io.ErrUnexpectedEOF)
		}, io.ErrUnexpectedEOF, "x: op: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fail()
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want it to match %v", err, tt.want)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want %q", err, tt.wantMsg)
			}
		})
	}
}

func TestReadAnswer(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		tooLong bool
	}{
		{"an answer within the limit is read whole", "12345", false},
		{"an answer over the limit is ErrTooLarge", "123456", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ReadAnswer(strings.NewReader(tt.body), 5)
			if got := errors.Is(err, ErrTooLarge); got != tt.tooLong {
				t.Fatalf("err = %v, want too large %v", err, tt.tooLong)
			}
			if !tt.tooLong && string(b) != tt.body {
				t.Errorf("read %q, want %q", b, tt.body)
			}
		})
	}
}
