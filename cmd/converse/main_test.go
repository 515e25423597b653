package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests: a stream the
// client dropped must not leave its upstream call or handler behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server is a `converse serve` running in this process on 127.0.0.1, started
// through the same command a user runs.
type server struct {
	URL string
	log *syncBuffer
}

// startServer runs `converse serve --addr 127.0.0.1:0` with the given YAML
// configuration ("" for the built-in default) and stops it when the test
// ends.
func startServer(t *testing.T, yaml string, extraArgs ...string) *server {
	t.Helper()
	args := []string{"--addr", "127.0.0.1:0"}
	if yaml != "" {
		path := filepath.Join(t.TempDir(), "converse.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	args = append(args, extraArgs...)
	log := &syncBuffer{}
	addrc := make(chan net.Addr, 1)
	cmd := &ServeCommand{Stdout: io.Discard, Stderr: log, OnListen: func(a net.Addr) { addrc <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.Run(ctx, args) }()
	select {
	case a := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		return &server{URL: "http://" + a.String(), log: log}
	case err := <-done:
		cancel()
		t.Fatalf("serve exited: %v\n%s", err, log.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not start listening")
	}
	return nil
}

// client returns an AWS SDK for Go v2 Bedrock Runtime client pointed at s,
// with SDK retries off so each test sees the first answer.
func (s *server) client(t *testing.T) *bedrockruntime.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return bedrockruntime.New(bedrockruntime.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       bufferedBodies{&http.Client{Transport: tr}},
	})
}

// bufferedBodies hands the transport an in-memory copy of each request body.
// The SDK may close a request body while net/http still reads it
// (aws-sdk-go-v2 #1825, #2737), which shows up under load as "use of closed
// network connection"; it is a client race, not a server fault.
type bufferedBodies struct{ c *http.Client }

func (b bufferedBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	return b.c.Do(r)
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunRejectsUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("run(frobnicate) = %v", err)
	}
	if err := run(context.Background(), []string{"version"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "converse") {
		t.Fatalf("run(version) = %v, %q", err, out.String())
	}
}
