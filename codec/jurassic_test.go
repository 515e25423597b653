package codec

import (
	"testing"

	"github.com/converse-project/converse"
)

func TestJurassic2Golden(t *testing.T) { cohereGolden(t, Jurassic2{}, "jurassic2") }

func TestJurassic2Rejects(t *testing.T) {
	tests := []struct {
		name string
		req  converse.Request
		want string
	}{
		{"a system prompt", converse.Request{System: []converse.SystemBlock{{Text: ptr("Be terse.")}}, Messages: []converse.Message{userText("hi")}}, jurassicMsgNoSystem},
		{"conversation history", converse.Request{Messages: []converse.Message{userText("a"), {Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock("b")}}, userText("c")}}, jurassicMsgNoHistory},
		{"a document", converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("x"),
			{Document: &converse.DocumentBlock{Format: "txt", Name: "D", Source: &converse.DocumentSource{Text: ptr("d")}}}}}}},
			"This model doesn't support the document content block that you provided."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Jurassic2{}.Request(&tt.req)
			cohereWantError(t, err, converse.KindValidation, tt.want)
		})
	}
}

func TestJurassic2Response(t *testing.T) {
	tests := []struct {
		name string
		body string
		stop converse.StopReason
		err  string
	}{
		{"endoftext is end_turn", `{"completions":[{"data":{"text":" Rome."},"finishReason":{"reason":"endoftext"}}]}`, converse.StopEndTurn, ""},
		{"length is max_tokens", `{"completions":[{"data":{"text":" Ro"},"finishReason":{"reason":"length","length":2}}]}`, converse.StopMaxTokens, ""},
		{"stop is stop_sequence", `{"id":"7","completions":[{"data":{"text":" Ro"},"finishReason":{"reason":"stop","sequence":"me"}}]}`, converse.StopStopSequence, ""},
		{"no completion", `{"completions":[]}`, "", MsgMalformedReply},
		{"a completion without data", `{"completions":[{"finishReason":{"reason":"endoftext"}}]}`, "", MsgMalformedReply},
		{"not JSON", `nope`, "", MsgMalformedReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := Jurassic2{}.Response(&converse.Request{}, []byte(tt.body))
			if tt.err != "" {
				cohereWantError(t, err, converse.KindModelError, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StopReason != tt.stop {
				t.Errorf("stop reason %q, want %q", resp.StopReason, tt.stop)
			}
		})
	}
}

func TestJurassic2StreamWithoutChunksFails(t *testing.T) {
	_, err := Jurassic2{}.NewStream(&converse.Request{}).End()
	cohereWantError(t, err, converse.KindModelStreamError, MsgStreamEnded)
}

func FuzzJurassic2Response(f *testing.F) {
	cohereSeeds(f, "jurassic2", "response.native.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := Jurassic2{}.Response(&converse.Request{}, body)
		if err == nil && (resp.Output.Message == nil || len(resp.Output.Message.Content) == 0) {
			t.Fatal("a response without content")
		}
	})
}

func FuzzJurassic2Stream(f *testing.F) {
	cohereSeeds(f, "jurassic2", "stream.native.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		cohereFuzzStream(t, Jurassic2{}.NewStream(&converse.Request{}), data)
	})
}
