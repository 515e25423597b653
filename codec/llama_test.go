package codec

import (
	"errors"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

func llamaConversation(msgs ...converse.Message) *converse.Request {
	return &converse.Request{Messages: msgs}
}

func llamaTurn(role converse.Role, text string) converse.Message {
	return converse.Message{Role: role, Content: []converse.Block{converse.TextBlock(text)}}
}

func TestLlamaPrompt(t *testing.T) {
	sys := []converse.SystemBlock{{Text: ptr("Be terse.")}}
	tests := []struct {
		name string
		fam  promptFamily
		req  *converse.Request
		want string
	}{
		{"llama 3.1 knowledge cutoff header without a system prompt", Llama3{KnowledgeCutoff: true},
			llamaConversation(llamaTurn(converse.RoleUser, "Hi")),
			"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"llama 3.1 knowledge cutoff header with the date given and a system prompt", Llama3{KnowledgeCutoff: true, Today: "01 Jan 2026"},
			&converse.Request{System: sys, Messages: []converse.Message{llamaTurn(converse.RoleUser, "Hi")}},
			"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 01 Jan 2026\n\nBe terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"llama 3 final assistant turn is a prefill", Llama3{},
			llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleAssistant, "Hello, ")),
			"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello,"},
		{"llama 3 mid-conversation system message stays in place", Llama3{},
			llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleSystem, "Now in French."), llamaTurn(converse.RoleAssistant, "Salut.")),
			"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>system<|end_header_id|>\n\nNow in French.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nSalut."},
		{"llama 3 content is trimmed", Llama3{},
			llamaConversation(llamaTurn(converse.RoleUser, "  Hi \n")),
			"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"llama 2 single turn without system", Llama2{},
			llamaConversation(llamaTurn(converse.RoleUser, "Hi")),
			"<s>[INST] Hi [/INST]"},
		{"llama 2 final assistant turn is a prefill", Llama2{},
			llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleAssistant, "Hello")),
			"<s>[INST] Hi [/INST] Hello"},
		{"llama 2 mid-conversation system message is folded into the next user turn", Llama2{},
			llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleAssistant, "Hello."), llamaTurn(converse.RoleSystem, "Now in French."), llamaTurn(converse.RoleUser, "Bye")),
			"<s>[INST] Hi [/INST] Hello. </s><s>[INST] <<SYS>>\nNow in French.\n<</SYS>>\n\nBye [/INST]"},
		{"several text blocks are joined with a blank line", Llama2{},
			llamaConversation(converse.Message{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock("One."), {CachePoint: &converse.CachePoint{Type: "default"}}, converse.TextBlock("Two.")}}),
			"<s>[INST] One.\n\nTwo. [/INST]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fam.Prompt(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("prompt:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLlama2TrailingSystemMessageIsRejected(t *testing.T) {
	_, err := Llama2{}.Request(llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleSystem, "Be terse.")))
	var ce *converse.Error
	if !errors.As(err, &ce) || ce.Kind != converse.KindValidation || ce.Message != "The system message at messages.1 must be followed by a user message for this model." {
		t.Fatalf("error = %v", err)
	}
}

func TestLlamaRequestSendsNoStopSequences(t *testing.T) {
	req := llamaConversation(llamaTurn(converse.RoleUser, "Hi"))
	req.InferenceConfig = &converse.InferenceConfig{StopSequences: []string{"END"}}
	body, err := Llama3{}.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "END") {
		t.Errorf("body %s carries the stop sequence; Llama's native body has no stop field", body)
	}
}

// TestLlamaStreamStopSequences checks that a stream cut at a stop sequence
// never lets any of it through, however the chunks split it.
func TestLlamaStreamStopSequences(t *testing.T) {
	tests := []struct {
		name       string
		stops      []string
		chunks     []string
		wantText   string
		wantReason converse.StopReason
	}{
		{"stop sequence split over three chunks", []string{"\nUser:"}, []string{"Rome.", "\nU", "se", "r: more"}, "Rome.", converse.StopStopSequence},
		{"partial match that does not complete is released", []string{"\nUser:"}, []string{"Rome.\n", "Us", "a is far."}, "Rome.\nUsa is far.", converse.StopEndTurn},
		{"held tail is released at the end", []string{"END"}, []string{"Rome. EN"}, "Rome. EN", converse.StopEndTurn},
		{"earliest of two stop sequences wins", []string{"b", "xa"}, []string{"zx", "ab"}, "z", converse.StopStopSequence},
		{"stop sequence at the start gives no text", []string{"END"}, []string{"END of it"}, "", converse.StopStopSequence},
		{"multibyte text is held whole", []string{"é!"}, []string{"café", "! yes"}, "caf", converse.StopStopSequence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &converse.Request{InferenceConfig: &converse.InferenceConfig{StopSequences: tt.stops}}
			var chunks [][]byte
			for i, c := range tt.chunks {
				reason := "null"
				if i == len(tt.chunks)-1 {
					reason = `"stop"`
				}
				chunks = append(chunks, []byte(`{"generation":`+quoteJSON(c)+`,"stop_reason":`+reason+`}`))
			}
			evs, err := promptDecode(Llama3{}.NewStream(req), chunks)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if d := ev.ContentBlockDelta; d != nil && *d.Delta.Text == "" {
					t.Error("an empty delta was sent")
				}
			}
			text, reason := promptStreamText(evs)
			if text != tt.wantText || reason != tt.wantReason {
				t.Errorf("stream gave %q, %s; want %q, %s", text, reason, tt.wantText, tt.wantReason)
			}
			// The non-streamed answer agrees.
			resp, err := Llama3{}.Response(req, []byte(`{"generation":`+quoteJSON(strings.Join(tt.chunks, ""))+`,"stop_reason":"stop"}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := *resp.Output.Message.Content[0].Text; got != tt.wantText || resp.StopReason != tt.wantReason {
				t.Errorf("Response gave %q, %s; want %q, %s", got, resp.StopReason, tt.wantText, tt.wantReason)
			}
		})
	}
}

func quoteJSON(s string) string {
	b, _ := marshal(s)
	return string(b)
}
