package gguf_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/converse-project/converse/engine/gguf"
)

// TestReleaseDropsPagesButKeepsData maps a file with a 4 MB tensor, reads
// it all, releases it, and checks through /proc/self/smaps that the
// mapping's resident size fell by about the tensor, and that the tensor
// still reads the same afterwards.
func TestReleaseDropsPagesButKeepsData(t *testing.T) {
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	tensors := []gguf.TensorData{{Name: "w", Type: gguf.TypeF32, Dims: []uint64{1 << 20}, Data: data}}
	if err := gguf.Write(&buf, []gguf.KV{{Key: "general.architecture", Value: "llama"}}, tensors); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, _ := f.Tensor("w")
	if !bytes.Equal(w.Data, data) { // reads every page
		t.Fatal("tensor differs from what was written")
	}
	before, ok := residentKB(t, w.Data)
	if !ok {
		t.Skip("no /proc/self/smaps on this system")
	}
	f.Release(w.Data)
	f.Release(data) // not in the mapping: nothing happens
	after, _ := residentKB(t, w.Data)
	if before < 4000 || before-after < 4000 {
		t.Fatalf("resident %d kB before Release, %d kB after; want the 4096 kB tensor gone", before, after)
	}
	if !bytes.Equal(w.Data, data) {
		t.Fatal("tensor differs after Release")
	}
}

// residentKB returns the Rss of the mapping that holds b, from
// /proc/self/smaps.
func residentKB(t *testing.T, b []byte) (int, bool) {
	t.Helper()
	fh, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, false
	}
	defer fh.Close()
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	in := false
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			var kb int
			fmt.Sscanf(strings.TrimPrefix(line, "Rss:"), "%d", &kb)
			return kb, true
		}
	}
	return 0, false
}
