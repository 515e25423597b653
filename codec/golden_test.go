package codec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites golden files instead of comparing with them, as
// go/printer's tests do: go test ./codec -update, then review the diff.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got, indented JSON, with the file path, or rewrites the
// file under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: the output is not JSON: %v\n%s", path, err, got)
	}
	buf.WriteByte('\n')
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./codec -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the output (go test ./codec -update rewrites it):\ngot:\n%s\nwant:\n%s", filepath.ToSlash(path), buf.Bytes(), want)
	}
}
