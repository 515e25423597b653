package completions

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzNative feeds arbitrary bytes to every dialect's body parser and to
// both upstream stream readers: none may panic, and every chunk produced
// must be JSON.
func FuzzNative(f *testing.F) {
	f.Add([]byte(`{"prompt":"<s>[INST] hi [/INST]","max_gen_len":5,"temperature":0.5}`))
	f.Add([]byte(`{"inputText":"User: hi\nBot:","textGenerationConfig":{"maxTokenCount":5,"stopSequences":["User:"]}}`))
	f.Add([]byte(`{"choices":[{"text":"a","finish_reason":null}]}` + "\n" + `{"choices":[{"text":"","finish_reason":"stop","stop_reason":"END"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`))
	f.Add([]byte(`{"response":"a","done":false}` + "\n" + `{"response":"","done":true,"done_reason":"length","eval_count":3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []Dialect{Llama, Mistral, Titan} {
			d.Parse(data)
			for _, ollama := range []bool{false, true} {
				s := &streamState{dialect: d, start: time.Now(), input: -1, output: -1}
				parse := s.openAIEvent
				if ollama {
					parse = s.ollamaLine
				}
				for _, line := range bytes.Split(data, []byte("\n")) {
					chunk, end, err := parse(line)
					if err != nil || end {
						break
					}
					if chunk != nil && !json.Valid(chunk) {
						t.Fatalf("chunk is not JSON: %s", chunk)
					}
				}
				if last, err := s.last(); err == nil && !json.Valid(last) {
					t.Fatalf("last chunk is not JSON: %s", last)
				}
			}
		}
	})
}
