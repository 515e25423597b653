package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

// promptFamily is a prompt-template family: a Family that can show the
// prompt it renders.
type promptFamily interface {
	Family
	Prompt(req *converse.Request) (string, error)
}

// promptFamilies are the golden directories of the prompt-template
// families and the codec each is rendered with.
var promptFamilies = []struct {
	dir string
	fam promptFamily
}{
	{"llama2", Llama2{}},
	{"llama3", Llama3{}},
	{"mistral-instruct", MistralInstruct{}},
	{"titan", Titan{}},
}

// TestPromptFamiliesGolden renders each testdata/<family>/<case>/converse.json
// into native.txt (the prompt, byte for byte) and native.json (the body);
// where the case has them, it reads reply.native.json into
// reply.converse.json and decodes stream.native.jsonl (one chunk per line)
// into stream.converse.json (the events, as {type: payload}).
func TestPromptFamiliesGolden(t *testing.T) {
	for _, f := range promptFamilies {
		dirs, err := filepath.Glob(filepath.Join("testdata", f.dir, "*"))
		if err != nil || len(dirs) == 0 {
			t.Fatalf("%s: no golden cases: %v", f.dir, err)
		}
		for _, dir := range dirs {
			t.Run(f.dir+"/"+filepath.Base(dir), func(t *testing.T) {
				req := readRequest(t, filepath.Join(dir, "converse.json"))
				prompt, err := f.fam.Prompt(req)
				if err != nil {
					t.Fatalf("Prompt: %v", err)
				}
				promptGoldenText(t, filepath.Join(dir, "native.txt"), prompt)
				body, err := f.fam.Request(req)
				if err != nil {
					t.Fatalf("Request: %v", err)
				}
				golden(t, filepath.Join(dir, "native.json"), body)

				if reply, ok := promptReadOptional(t, filepath.Join(dir, "reply.native.json")); ok {
					resp, err := f.fam.Response(req, reply)
					if err != nil {
						t.Fatalf("Response: %v", err)
					}
					out, err := json.Marshal(resp)
					if err != nil {
						t.Fatal(err)
					}
					golden(t, filepath.Join(dir, "reply.converse.json"), out)
				}
				if chunks, ok := promptReadOptional(t, filepath.Join(dir, "stream.native.jsonl")); ok {
					evs, err := promptDecode(f.fam.NewStream(req), bytes.Split(bytes.TrimSpace(chunks), []byte("\n")))
					if err != nil {
						t.Fatalf("stream: %v", err)
					}
					golden(t, filepath.Join(dir, "stream.converse.json"), promptEventsJSON(t, evs))
				}
			})
		}
	}
}

// promptGoldenText compares got with the text file path, or rewrites it
// under -update.
func promptGoldenText(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./codec -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (go test ./codec -update rewrites it):\ngot:  %q\nwant: %q", filepath.ToSlash(path), got, want)
	}
}

func promptReadOptional(t *testing.T, path string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

// promptDecode runs chunks through d and returns every event, copied.
func promptDecode(d ChunkDecoder, chunks [][]byte) ([]converse.StreamEvent, error) {
	var all []converse.StreamEvent
	for _, c := range chunks {
		evs, err := d.Next(c)
		if err != nil {
			return all, err
		}
		all = append(all, evs...)
	}
	evs, err := d.End()
	return append(all, evs...), err
}

// promptEventsJSON renders events as the wire shows them: [{type: payload}].
func promptEventsJSON(t *testing.T, evs []converse.StreamEvent) []byte {
	t.Helper()
	out := make([]map[string]any, 0, len(evs))
	for _, ev := range evs {
		out = append(out, map[string]any{ev.Type(): ev.Payload()})
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// promptStreamText is the text the events deliver and the stop reason.
func promptStreamText(evs []converse.StreamEvent) (string, converse.StopReason) {
	var b strings.Builder
	var reason converse.StopReason
	for _, ev := range evs {
		if d := ev.ContentBlockDelta; d != nil && d.Delta.Text != nil {
			b.WriteString(*d.Delta.Text)
		}
		if ev.MessageStop != nil {
			reason = ev.MessageStop.StopReason
		}
	}
	return b.String(), reason
}

func promptUser(blocks ...converse.Block) converse.Message {
	return converse.Message{Role: converse.RoleUser, Content: blocks}
}

func TestPromptFamiliesReject(t *testing.T) {
	png := &converse.MediaSource{Bytes: []byte{0x89, 'P', 'N', 'G'}}
	tests := []struct {
		name string
		req  converse.Request
		want string
	}{
		{"image block is rejected", converse.Request{Messages: []converse.Message{promptUser(converse.TextBlock("What is it?"), converse.Block{Image: &converse.ImageBlock{Format: "png", Source: png}})}},
			"This model doesn't support the image content block that you provided. Update the content block and try again."},
		{"guarded image is rejected", converse.Request{Messages: []converse.Message{promptUser(converse.Block{GuardContent: &converse.GuardContent{Image: &converse.GuardImage{Format: "png", Source: png}}})}},
			"This model doesn't support the image content block that you provided. Update the content block and try again."},
		{"video block is rejected", converse.Request{Messages: []converse.Message{promptUser(converse.TextBlock("x"), converse.Block{Video: &converse.VideoBlock{Format: "mp4", Source: png}})}},
			"This model doesn't support the video content block that you provided. Update the content block and try again."},
		{"toolConfig is rejected", converse.Request{Messages: []converse.Message{promptUser(converse.TextBlock("Weather?"))},
			ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{Name: "get_weather", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}}},
			"This model doesn't support tool use."},
		{"tool result is rejected", converse.Request{Messages: []converse.Message{promptUser(converse.Block{ToolResult: &converse.ToolResultBlock{ToolUseID: "t1", Content: []converse.ToolResultContent{{Text: ptr("24C")}}}})}},
			"This model doesn't support tool use."},
		{"document from S3 is rejected", converse.Request{Messages: []converse.Message{promptUser(converse.TextBlock("Sum up."), converse.Block{Document: &converse.DocumentBlock{Format: "txt", Name: "notes", Source: &converse.DocumentSource{S3Location: &converse.S3Location{URI: "s3://b/k"}}}})}},
			"S3 locations aren't supported for this model: messages.0.content.1.document.source.s3Location. Provide the content as bytes and try again."},
		{"additional fields that are not an object are rejected", converse.Request{Messages: []converse.Message{promptUser(converse.TextBlock("hi"))}, AdditionalModelRequestFields: json.RawMessage(`[1]`)},
			"The additionalModelRequestFields field must be a JSON object."},
	}
	for _, f := range promptFamilies {
		for _, tt := range tests {
			t.Run(f.dir+"/"+tt.name, func(t *testing.T) {
				_, err := f.fam.Request(&tt.req)
				var ce *converse.Error
				if !errors.As(err, &ce) || ce.Kind != converse.KindValidation || ce.Message != tt.want {
					t.Fatalf("Request error = %v, want ValidationException %q", err, tt.want)
				}
			})
		}
	}
}

func TestPromptFamiliesMalformedReply(t *testing.T) {
	for _, f := range promptFamilies {
		for _, body := range []string{``, `{`, `[]`, `{}`, `{"outputs":[]}`, `{"results":[]}`, `"text"`} {
			t.Run(f.dir+"/"+body, func(t *testing.T) {
				_, err := f.fam.Response(&converse.Request{}, []byte(body))
				var ce *converse.Error
				if !errors.As(err, &ce) || ce.Kind != converse.KindModelError || ce.Message != MsgMalformedReply {
					t.Fatalf("Response error = %v, want ModelErrorException %q", err, MsgMalformedReply)
				}
			})
		}
	}
}

func TestPromptStreamFailures(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"stream that ends before a stop reason", []string{`{"generation":"Ro","stop_reason":null}`}, MsgStreamEnded},
		{"empty stream", nil, MsgStreamEnded},
		{"chunk that is not JSON", []string{`{"generation":`}, MsgMalformedStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chunks [][]byte
			for _, c := range tt.chunks {
				chunks = append(chunks, []byte(c))
			}
			d := Llama3{}.NewStream(&converse.Request{})
			_, err := promptDecode(d, chunks)
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindModelStreamError || ce.Message != tt.want {
				t.Fatalf("error = %v, want ModelStreamErrorException %q", err, tt.want)
			}
			if _, again := d.End(); again != err {
				t.Errorf("End after the failure = %v, want the same error", again)
			}
		})
	}
}

func TestPromptStreamEvents(t *testing.T) {
	t.Run("metrics after the stop chunk still reach the metadata", func(t *testing.T) {
		evs, err := promptDecode(Titan{}.NewStream(&converse.Request{}), [][]byte{
			[]byte(`{"outputText":"Hi","completionReason":"FINISH","inputTextTokenCount":4,"totalOutputTextTokenCount":1}`),
			[]byte(`{"outputText":"","amazon-bedrock-invocationMetrics":{"inputTokenCount":5,"outputTokenCount":2,"invocationLatency":9}}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1].Metadata
		if last == nil || last.Usage != promptUsage(5, 2) || last.Metrics.LatencyMs != 9 {
			t.Fatalf("last event = %+v, want metadata with the metrics' usage", evs[len(evs)-1])
		}
	})
	t.Run("chunk counts are the usage without metrics", func(t *testing.T) {
		evs, err := promptDecode(Llama2{}.NewStream(&converse.Request{}), [][]byte{
			[]byte(`{"generation":"Hi","prompt_token_count":7,"generation_token_count":1,"stop_reason":null}`),
			[]byte(`{"generation":"","prompt_token_count":null,"generation_token_count":2,"stop_reason":"length"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if md := evs[len(evs)-1].Metadata; md == nil || md.Usage != promptUsage(7, 2) {
			t.Fatalf("last event = %+v, want metadata with usage 7/2", evs[len(evs)-1])
		}
		if _, reason := promptStreamText(evs); reason != converse.StopMaxTokens {
			t.Errorf("stop reason = %s, want max_tokens", reason)
		}
	})
	t.Run("no text at all sends no empty delta", func(t *testing.T) {
		evs, err := promptDecode(MistralInstruct{}.NewStream(&converse.Request{}), [][]byte{[]byte(`{"outputs":[{"text":"","stop_reason":"stop"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type())
		}
		if got := strings.Join(types, " "); got != "messageStart contentBlockStop messageStop metadata" {
			t.Errorf("events = %s", got)
		}
	})
}

// FuzzPromptFamilies feeds arbitrary bytes to every prompt family's
// response parser and, split at newlines, to its chunk decoder with stop
// sequences set: neither may panic, and a stream that decodes must end in
// metadata.
func FuzzPromptFamilies(f *testing.F) {
	for _, fam := range promptFamilies {
		files, _ := filepath.Glob(filepath.Join("testdata", fam.dir, "*", "*.native.json*"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b, "User:")
			}
		}
	}
	f.Add([]byte(`{"generation":"a\nUs","stop_reason":null}`+"\n"+`{"generation":"er","stop_reason":"stop"}`), "\nUser:")
	f.Fuzz(func(t *testing.T, data []byte, stop string) {
		req := &converse.Request{InferenceConfig: &converse.InferenceConfig{StopSequences: []string{stop, "END"}}, AdditionalModelResponseFieldPaths: []string{"/stop_reason"}}
		for _, fam := range promptFamilies {
			if resp, err := fam.fam.Response(req, data); err == nil && resp.Output.Message == nil {
				t.Fatalf("%s: a response without a message", fam.dir)
			}
			evs, err := promptDecode(fam.fam.NewStream(req), bytes.Split(data, []byte("\n")))
			if err != nil {
				continue
			}
			if len(evs) == 0 || evs[len(evs)-1].Metadata == nil {
				t.Fatalf("%s: the stream did not end in metadata: %v", fam.dir, evs)
			}
			text, _ := promptStreamText(evs)
			if fam.dir[:5] == "llama" && (strings.Contains(text, "END") || stop != "" && strings.Contains(text, stop)) {
				t.Fatalf("%s: a stop sequence leaked: %q", fam.dir, text)
			}
		}
	})
}

func BenchmarkPromptFamilies(b *testing.B) {
	req := readRequest(b, filepath.Join("testdata", "llama3", "system-user-assistant-user", "converse.json"))
	chunks := [][]byte{
		[]byte(`{"generation":"Rome","prompt_token_count":52,"generation_token_count":1,"stop_reason":null}`),
		[]byte(`{"generation":".","prompt_token_count":null,"generation_token_count":2,"stop_reason":"stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":52,"outputTokenCount":2}}`),
	}
	b.Run("llama3 request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (Llama3{}).Request(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("llama3 stream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := promptDecode(Llama3{}.NewStream(req), chunks); err != nil {
				b.Fatal(err)
			}
		}
	})
}
