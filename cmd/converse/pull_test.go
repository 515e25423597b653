package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPullCommand(t *testing.T) {
	data := bytes.Repeat([]byte("GGUF"), 1<<14)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "tiny.gguf", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"pull", "--dir", dir, srv.URL + "/tiny.gguf"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	path := strings.TrimSpace(out.String())
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("pulled file %s: %v", path, err)
	}
	if !strings.Contains(errOut.String(), "100%") {
		t.Errorf("no progress bar reaching 100%%: %q", errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"pull", "--list"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "tinyllama") {
		t.Errorf("pull --list: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"pull", "--dir", dir, "--sha256", strings.Repeat("0", 64), srv.URL + "/other.gguf"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("a wrong --sha256 was accepted: %v", err)
	}
}
