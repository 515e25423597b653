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

// cohereGolden runs the golden cases of one family, each a directory
// testdata/<family>/<case>/ holding any of:
//   - converse.json, a request: Request gives native.json;
//   - response.native.json, an answer to it (or to an empty request):
//     Response gives response.converse.json;
//   - stream.native.jsonl, one native chunk a line: NewStream's events,
//     End's included, give stream.events.json, an array of
//     {"<event type>": payload} ending in {"error": …} when it failed.
func cohereGolden(t *testing.T, f Family, family string) {
	dirs, err := filepath.Glob(filepath.Join("testdata", family, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			req := &converse.Request{}
			if _, err := os.Stat(filepath.Join(dir, "converse.json")); err == nil {
				req = readRequest(t, filepath.Join(dir, "converse.json"))
				body, err := f.Request(req)
				if err != nil {
					t.Fatalf("Request: %v", err)
				}
				golden(t, filepath.Join(dir, "native.json"), body)
			}
			if body, ok := cohereReadOptional(t, filepath.Join(dir, "response.native.json")); ok {
				resp, err := f.Response(req, body)
				if err != nil {
					t.Fatalf("Response: %v", err)
				}
				out, err := json.Marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(dir, "response.converse.json"), out)
			}
			if data, ok := cohereReadOptional(t, filepath.Join(dir, "stream.native.jsonl")); ok {
				out, err := json.Marshal(cohereDecodeStream(f.NewStream(req), bytes.Split(bytes.TrimSpace(data), []byte("\n"))))
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(dir, "stream.events.json"), out)
			}
		})
	}
}

func cohereReadOptional(t *testing.T, path string) ([]byte, bool) {
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

// cohereDecodeStream feeds chunks to d and returns every event, as
// {type: payload}, then {"error": message} if it failed.
func cohereDecodeStream(d ChunkDecoder, chunks [][]byte) []map[string]any {
	var out []map[string]any
	add := func(evs []converse.StreamEvent, err error) bool {
		for _, ev := range evs {
			out = append(out, map[string]any{ev.Type(): ev.Payload()})
		}
		if err != nil {
			out = append(out, map[string]any{"error": err.Error()})
			return false
		}
		return true
	}
	for _, c := range chunks {
		if !add(d.Next(c)) {
			return out
		}
	}
	add(d.End())
	return out
}

func TestCohereCommandGolden(t *testing.T) { cohereGolden(t, CohereCommand{}, "cohere-command") }

func TestCohereCommandRGolden(t *testing.T) { cohereGolden(t, CohereCommandR{}, "cohere-command-r") }

// cohereWantError checks that err is a *converse.Error of kind whose
// message starts with want.
func cohereWantError(t *testing.T, err error, kind converse.ErrorKind, want string) {
	t.Helper()
	var ce *converse.Error
	if !errors.As(err, &ce) || ce.Kind != kind {
		t.Fatalf("error = %v, want a %v error", err, kind)
	}
	if !strings.HasPrefix(ce.Message, want) {
		t.Errorf("message = %q, want %q", ce.Message, want)
	}
}

func TestCohereCommandStreamRequestAsksForAStream(t *testing.T) {
	req := &converse.Request{Messages: []converse.Message{userText("hi")}}
	body, err := CohereCommand{}.StreamRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, body, "stream"); got != "true" {
		t.Errorf("stream = %s, want true", got)
	}
	body, err = CohereCommand{}.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, body, "stream"); got != "" {
		t.Errorf("Request sent stream = %s", got)
	}
}

func TestCohereCommandRejects(t *testing.T) {
	tests := []struct {
		name string
		req  converse.Request
		want string
	}{
		{"a system prompt", converse.Request{System: []converse.SystemBlock{{Text: ptr("Be terse.")}}, Messages: []converse.Message{userText("hi")}}, cohereMsgNoSystem},
		{"conversation history", converse.Request{Messages: []converse.Message{userText("a"), {Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock("b")}}, userText("c")}}, cohereMsgNoHistory},
		{"an image", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"), {Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{Bytes: []byte{1}}}}}}}},
			"This model doesn't support the image content block that you provided."},
		{"a document from S3", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"),
			{Document: &converse.DocumentBlock{Format: "txt", Name: "D", Source: &converse.DocumentSource{S3Location: &converse.S3Location{URI: "s3://b/k"}}}}}}}},
			"S3 locations aren't supported for this model: messages.0.content.1.document.source.s3Location."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CohereCommand{}.Request(&tt.req)
			cohereWantError(t, err, converse.KindValidation, tt.want)
		})
	}
}

func TestCohereCommandResponse(t *testing.T) {
	tests := []struct {
		name string
		body string
		stop converse.StopReason
		kind converse.ErrorKind // for failures
		err  string
	}{
		{"complete is end_turn", `{"generations":[{"text":" Paris.","finish_reason":"COMPLETE"}]}`, converse.StopEndTurn, 0, ""},
		{"max tokens", `{"generations":[{"text":" Par","finish_reason":"MAX_TOKENS"}]}`, converse.StopMaxTokens, 0, ""},
		{"toxic is content_filtered", `{"generations":[{"text":"","finish_reason":"ERROR_TOXIC"}]}`, converse.StopContentFiltered, 0, ""},
		{"an unknown reason passes through", `{"generations":[{"text":"x","finish_reason":"SOMETHING"}]}`, "SOMETHING", 0, ""},
		{"error is a model error", `{"generations":[{"text":"","finish_reason":"ERROR"}]}`, "", converse.KindModelError, cohereMsgGenerationError},
		{"no generations", `{"generations":[]}`, "", converse.KindModelError, MsgMalformedReply},
		{"an error answer", `{"message":"too many tokens"}`, "", converse.KindModelError, "The model returned the following errors: too many tokens"},
		{"not JSON", `{`, "", converse.KindModelError, MsgMalformedReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := CohereCommand{}.Response(&converse.Request{}, []byte(tt.body))
			if tt.err != "" {
				cohereWantError(t, err, tt.kind, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("stop reason %q, want %q", resp.StopReason, tt.stop)
			}
			if resp.Usage != (converse.Usage{}) {
				t.Errorf("usage %+v, want zero: the body has no counts", resp.Usage)
			}
		})
	}
}

func TestCohereCommandStream(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string // the collected text
		stop   converse.StopReason
		err    string
	}{
		{"flat chunks", []string{`{"text":"a","is_finished":false}`, `{"text":"b","is_finished":false}`, `{"is_finished":true,"finish_reason":"COMPLETE","response":{"generations":[{"text":"ab"}]}}`}, "ab", converse.StopEndTurn, ""},
		{"generations chunks", []string{`{"generations":[{"text":"a"}]}`, `{"generations":[{"text":"b","finish_reason":"MAX_TOKENS"}]}`}, "ab", converse.StopMaxTokens, ""},
		{"other generations are skipped", []string{`{"text":"a","index":0}`, `{"text":"z","index":1}`, `{"is_finished":true,"finish_reason":"COMPLETE"}`}, "a", converse.StopEndTurn, ""},
		{"nothing written gives one empty text", []string{`{"is_finished":true,"finish_reason":"COMPLETE"}`}, "", converse.StopEndTurn, ""},
		{"a chunk that is not JSON", []string{`{"text":"a"}`, `nope`}, "", "", MsgMalformedStream},
		{"finish_reason ERROR", []string{`{"text":"a"}`, `{"is_finished":true,"finish_reason":"ERROR"}`}, "", "", cohereMsgGenerationError},
		{"a stream that never finishes", []string{`{"text":"a"}`}, "", "", MsgStreamEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := converse.Collect(cohereEvents(CohereCommand{}.NewStream(&converse.Request{}), tt.chunks))
			if tt.err != "" {
				cohereWantError(t, err, converse.KindModelStreamError, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := resp.Output.Message.Content; len(c) != 1 || c[0].Text == nil || *c[0].Text != tt.want {
				t.Errorf("content %+v, want one text %q", c, tt.want)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("stop reason %q, want %q", resp.StopReason, tt.stop)
			}
		})
	}
}

// cohereEvents turns a decoder and its chunks into an event sequence, as
// backend.Native does.
func cohereEvents(d ChunkDecoder, chunks []string) func(func(converse.StreamEvent, error) bool) {
	return func(yield func(converse.StreamEvent, error) bool) {
		emit := func(evs []converse.StreamEvent, err error) bool {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return false
				}
			}
			if err != nil {
				yield(converse.StreamEvent{}, err)
				return false
			}
			return true
		}
		for _, c := range chunks {
			if !emit(d.Next([]byte(c))) {
				return
			}
		}
		emit(d.End())
	}
}

// cohereSeeds adds every native file of a family's goldens to a fuzz
// corpus.
func cohereSeeds(f *testing.F, family, name string) {
	files, _ := filepath.Glob(filepath.Join("testdata", family, "*", name))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// cohereFuzzStream feeds data, one chunk a line, to a decoder: it must
// never panic, and after an error it must keep returning one.
func cohereFuzzStream(t *testing.T, d ChunkDecoder, data []byte) {
	for _, c := range bytes.Split(data, []byte("\n")) {
		if _, err := d.Next(c); err != nil {
			if _, again := d.Next(c); again == nil {
				t.Fatalf("Next succeeded after an error")
			}
			return
		}
	}
	d.End()
}

func FuzzCohereCommandResponse(f *testing.F) {
	cohereSeeds(f, "cohere-command", "response.native.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := CohereCommand{}.Response(&converse.Request{}, body)
		if err == nil && (resp.Output.Message == nil || len(resp.Output.Message.Content) == 0) {
			t.Fatal("a response without content")
		}
	})
}

func FuzzCohereCommandStream(f *testing.F) {
	cohereSeeds(f, "cohere-command", "stream.native.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		cohereFuzzStream(t, CohereCommand{}.NewStream(&converse.Request{}), data)
	})
}

func FuzzCohereCommandRResponse(f *testing.F) {
	cohereSeeds(f, "cohere-command-r", "response.native.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := CohereCommandR{}.Response(&converse.Request{}, body)
		if err == nil && (resp.Output.Message == nil || len(resp.Output.Message.Content) == 0) {
			t.Fatal("a response without content")
		}
	})
}

func FuzzCohereCommandRStream(f *testing.F) {
	cohereSeeds(f, "cohere-command-r", "stream.native.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		cohereFuzzStream(t, CohereCommandR{}.NewStream(&converse.Request{}), data)
	})
}
