package codec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFromOpenAIChat measures the reply half of the OpenAI
// translation, the counterpart of BenchmarkToOpenAIChat: a chat
// completion body from upstream into a converse.Response.
func BenchmarkFromOpenAIChat(b *testing.B) {
	words := strings.TrimSpace(strings.Repeat("word ", 100))
	text := []byte(fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":40,"completion_tokens":100,"total_tokens":140}}`, words))
	tool, err := os.ReadFile(filepath.Join("testdata", "openai", "tool-use-round-trip", "reply.openai.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"text reply of 100 words", text},
		{"tool call reply", tool},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FromOpenAIChat(c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
