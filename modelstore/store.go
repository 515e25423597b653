package modelstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Store is a directory of model files. The zero value is not usable: Dir
// is required.
type Store struct {
	// Dir holds the models, one file each, named after the download.
	Dir string
	// HTTPClient downloads; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// DefaultDir is where models live unless CONVERSE_MODELS says otherwise:
// the user's cache directory, under converse/models.
func DefaultDir() (string, error) {
	if d := os.Getenv("CONVERSE_MODELS"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("modelstore: no models directory: set CONVERSE_MODELS: %w", err)
	}
	return filepath.Join(base, "converse", "models"), nil
}

// Known is a model that `converse pull NAME` can fetch by its short name.
type Known struct {
	Name   string // short name, e.g. "smollm2-135m"
	URL    string // where the GGUF file is
	SHA256 string // its hex SHA-256; "" when the server's checksum header is trusted instead
	Family string // the catalog family whose prompt template the model uses
	About  string
}

// known are GGUF releases small enough to try on a laptop, from their
// publishers' Hugging Face repositories. Hugging Face sends each file's
// SHA-256 in the X-Linked-Etag header, which Pull verifies.
var known = []Known{
	{Name: "smollm2-135m", URL: "https://huggingface.co/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct-Q8_0.gguf", Family: "meta.llama3", About: "SmolLM2 135M Instruct, Q8_0 (ChatML template from the GGUF)"},
	{Name: "tinyllama-1.1b", URL: "https://huggingface.co/TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/resolve/main/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", Family: "meta.llama2", About: "TinyLlama 1.1B Chat v1.0, Q4_K_M"},
	{Name: "llama3.2-1b", URL: "https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q4_K_M.gguf", Family: "meta.llama3", About: "Llama 3.2 1B Instruct, Q4_K_M"},
	{Name: "mistral-7b-instruct", URL: "https://huggingface.co/TheBloke/Mistral-7B-Instruct-v0.2-GGUF/resolve/main/mistral-7b-instruct-v0.2.Q4_K_M.gguf", Family: "mistral.instruct", About: "Mistral 7B Instruct v0.2, Q4_K_M"},
}

// KnownModels lists the short names Pull accepts.
func KnownModels() []Known { return slices.Clone(known) }

// Progress receives a download's progress: done bytes of total (-1 when the
// server does not say).
type Progress func(done, total int64)

// PullOptions tunes a Pull.
type PullOptions struct {
	// SHA256 is the expected hex SHA-256 of the file. "" means the one the
	// known-model table or the server (X-Linked-Etag, as Hugging Face
	// sends) gives, if any; with none at all the file is not verified.
	SHA256 string
	// Progress, when set, is called as bytes arrive.
	Progress Progress
}

// ErrChecksum is matched by the error of a download whose SHA-256 differs
// from the expected one; the downloaded file is removed.
var ErrChecksum = errors.New("modelstore: checksum mismatch")

// Pull downloads a model, by a known short name or by URL, into the store
// and returns its path. An interrupted download leaves <name>.part, which
// the next Pull resumes with an HTTP Range request (or restarts, if the
// server does not honour it). A file already complete is not fetched
// again. ctx cancels the download.
func (s *Store) Pull(ctx context.Context, nameOrURL string, o PullOptions) (string, error) {
	src, want := nameOrURL, o.SHA256
	if k, ok := lookup(nameOrURL); ok {
		src = k.URL
		want = cmp.Or(want, k.SHA256)
	}
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("modelstore: %q is neither a known model (converse pull --list) nor an http(s) URL", nameOrURL)
	}
	name := path.Base(u.Path)
	if strings.HasSuffix(u.Path, "/") || name == "." || name == "/" || strings.ContainsAny(name, `\`) {
		return "", fmt.Errorf("modelstore: %s names no file", src)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", fmt.Errorf("modelstore: %w", err)
	}
	final := filepath.Join(s.Dir, name)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	part := final + ".part"
	server, err := s.download(ctx, src, part, o.Progress)
	if err != nil {
		return "", err
	}
	want = cmp.Or(want, server)
	if want != "" {
		got, err := fileSHA256(part)
		if err != nil {
			return "", err
		}
		if !strings.EqualFold(got, want) {
			os.Remove(part)
			return "", fmt.Errorf("%w: %s has SHA-256 %s, want %s", ErrChecksum, name, got, want)
		}
	}
	if err := os.Rename(part, final); err != nil {
		return "", fmt.Errorf("modelstore: %w", err)
	}
	return final, nil
}

func lookup(name string) (Known, bool) {
	for _, k := range known {
		if k.Name == name {
			return k, true
		}
	}
	return Known{}, false
}

// download fetches src into part, resuming what part already holds, and
// returns the SHA-256 the server announced ("" if none).
func (s *Store) download(ctx context.Context, src, part string, progress Progress) (string, error) {
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("modelstore: %w", err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return "", fmt.Errorf("modelstore: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", fmt.Errorf("modelstore: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	client := s.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("modelstore: download %s: %w", src, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		// Resuming: the server sends the rest.
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The part file is already whole (the rename was what failed).
		return etagSHA256(resp.Header), nil
	case resp.StatusCode == http.StatusOK:
		// A fresh start, or a server that ignores Range: start over.
		if err := f.Truncate(0); err != nil {
			return "", fmt.Errorf("modelstore: %w", err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", fmt.Errorf("modelstore: %w", err)
		}
		have = 0
	default:
		return "", fmt.Errorf("modelstore: download %s: %s", src, resp.Status)
	}
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = have + resp.ContentLength
	}
	w := io.Writer(f)
	if progress != nil {
		w = &progressWriter{w: f, done: have, total: total, report: progress}
		progress(have, total)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return "", fmt.Errorf("modelstore: download %s: %w (run the same command again to resume)", src, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("modelstore: %w", err)
	}
	return etagSHA256(resp.Header), nil
}

// etagSHA256 returns the SHA-256 Hugging Face announces for an LFS file in
// X-Linked-Etag (a quoted 64-digit hex string), or "".
func etagSHA256(h http.Header) string {
	tag := strings.Trim(h.Get("X-Linked-Etag"), `"`)
	if len(tag) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(tag); err != nil {
		return ""
	}
	return tag
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("modelstore: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("modelstore: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type progressWriter struct {
	w           io.Writer
	done, total int64
	report      Progress
	last        time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || p.done == p.total {
		p.last = now
		p.report(p.done, p.total)
	}
	return n, err
}

// Local is a model file in the store.
type Local struct {
	Name string // file name
	Path string
	Size int64
}

// List returns the complete model files in the store (not .part files),
// sorted by name. A store whose directory does not exist yet is empty.
func (s *Store) List() ([]Local, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("modelstore: %w", err)
	}
	var out []Local
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".gguf") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Local{Name: e.Name(), Path: filepath.Join(s.Dir, e.Name()), Size: info.Size()})
	}
	return out, nil
}
