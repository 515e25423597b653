package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/converse-project/converse/engine/llamatest"
)

func TestBenchEngineCommand(t *testing.T) {
	path := llamatest.Write(t, t.TempDir(), "tiny.gguf", llamatest.Model{})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"bench-engine", "--prompt", "8", "--tokens", "4", path}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	for _, want := range []string{"prompt        8 tokens", "decode        4 tokens", "tokens/s", "decode bound"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
