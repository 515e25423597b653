package modelstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fileServer serves one generated model file with Range support
// (http.ServeContent), announcing its SHA-256 as Hugging Face does, and can
// cut the first answer short to simulate a dropped connection.
type fileServer struct {
	*httptest.Server
	data []byte

	mu      sync.Mutex
	cutOnce bool
	ranges  []string
	etag    string
}

func newFileServer(t *testing.T, size int) *fileServer {
	data := make([]byte, size)
	rand.Read(data)
	sum := sha256.Sum256(data)
	fs := &fileServer{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.ranges = append(fs.ranges, r.Header.Get("Range"))
		cut := fs.cutOnce
		fs.cutOnce = false
		etag := fs.etag
		fs.mu.Unlock()
		if etag != "" {
			w.Header().Set("X-Linked-Etag", etag)
		}
		if cut {
			// Promise the whole file, send a third, and drop the connection.
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:len(data)/3])
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "model.gguf", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(fs.Close)
	return fs
}

func TestPullResumesAndVerifies(t *testing.T) {
	fs := newFileServer(t, 3<<20)
	fs.cutOnce = true
	s := &Store{Dir: t.TempDir()}
	ctx := context.Background()

	if _, err := s.Pull(ctx, fs.URL+"/org/repo/resolve/main/model.gguf", PullOptions{}); err == nil {
		t.Fatal("the cut download succeeded")
	}
	part, err := os.Stat(filepath.Join(s.Dir, "model.gguf.part"))
	if err != nil || part.Size() == 0 || part.Size() >= int64(len(fs.data)) {
		t.Fatalf("after the cut: part file %v, %v", part, err)
	}

	var last, total int64
	p, err := s.Pull(ctx, fs.URL+"/org/repo/resolve/main/model.gguf", PullOptions{Progress: func(d, tot int64) { last, total = d, tot }})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, fs.data) {
		t.Fatal("the resumed file differs from the original")
	}
	if want := "bytes=" + strconv.FormatInt(part.Size(), 10) + "-"; fs.ranges[1] != want {
		t.Errorf("resume asked for %q, want %q", fs.ranges[1], want)
	}
	if last != int64(len(fs.data)) || total != int64(len(fs.data)) {
		t.Errorf("progress ended at %d of %d", last, total)
	}
	if _, err := os.Stat(p + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the part file is left behind: %v", err)
	}

	// Complete already: nothing is fetched again.
	n := len(fs.ranges)
	if _, err := s.Pull(ctx, fs.URL+"/org/repo/resolve/main/model.gguf", PullOptions{}); err != nil || len(fs.ranges) != n {
		t.Errorf("second pull: %v, %d requests", err, len(fs.ranges)-n)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Name != "model.gguf" || list[0].Size != int64(len(fs.data)) {
		t.Errorf("List = %+v, %v", list, err)
	}
}

func TestPullRejectsAChecksumMismatch(t *testing.T) {
	fs := newFileServer(t, 1<<16)
	s := &Store{Dir: t.TempDir()}
	for name, o := range map[string]PullOptions{
		"the expected sum given":     {SHA256: hex.EncodeToString(make([]byte, 32))},
		"the server's announced sum": {},
	} {
		t.Run(name, func(t *testing.T) {
			if o.SHA256 == "" {
				fs.mu.Lock()
				fs.etag = `"` + hex.EncodeToString(make([]byte, 32)) + `"`
				fs.mu.Unlock()
			}
			_, err := s.Pull(context.Background(), fs.URL+"/m/bad.gguf", o)
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("err = %v, want ErrChecksum", err)
			}
			if _, err := os.Stat(filepath.Join(s.Dir, "bad.gguf")); !errors.Is(err, os.ErrNotExist) {
				t.Error("a corrupt file was kept")
			}
		})
	}
}

func TestPullRefusesWhatIsNotAModel(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	for _, src := range []string{"no-such-model", "ftp://example.com/a.gguf", "http:///x"} {
		if _, err := s.Pull(context.Background(), src, PullOptions{}); err == nil {
			t.Errorf("Pull(%q) succeeded", src)
		}
	}
	fs := newFileServer(t, 10)
	if _, err := s.Pull(context.Background(), fs.URL+"/missing/", PullOptions{}); err == nil {
		t.Error("a URL naming no file was accepted")
	}
}

func TestKnownModelsAreURLs(t *testing.T) {
	for _, k := range KnownModels() {
		if _, ok := lookup(k.Name); !ok || k.URL == "" || k.Family == "" {
			t.Errorf("known model %+v is incomplete", k)
		}
	}
}
