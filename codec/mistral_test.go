package codec

import (
	"testing"

	"github.com/converse-project/converse"
)

func TestMistralInstructPrompt(t *testing.T) {
	tests := []struct {
		name string
		req  *converse.Request
		want string
	}{
		{"single turn", llamaConversation(llamaTurn(converse.RoleUser, "Hi")), "<s>[INST] Hi [/INST]"},
		{"final assistant turn is a prefill", llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleAssistant, " Hello")),
			"<s>[INST] Hi [/INST] Hello"},
		{"mid-conversation system message goes before the next user text", llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleAssistant, "Hello."),
			llamaTurn(converse.RoleSystem, "Now in French."), llamaTurn(converse.RoleUser, "Bye")),
			"<s>[INST] Hi [/INST] Hello.</s> [INST] Now in French.\n\nBye [/INST]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MistralInstruct{}.Prompt(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("prompt:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMistralInstructStopReason(t *testing.T) {
	tests := []struct {
		name, body string
		want       converse.StopReason
	}{
		{"stop_reason stop is end_turn", `{"outputs":[{"text":"a","stop_reason":"stop"}]}`, converse.StopEndTurn},
		{"finish_reason length is max_tokens", `{"outputs":[{"text":"a","finish_reason":"length"}]}`, converse.StopMaxTokens},
		{"missing reason is end_turn", `{"outputs":[{"text":"a"}]}`, converse.StopEndTurn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := MistralInstruct{}.Response(&converse.Request{}, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StopReason != tt.want {
				t.Errorf("stop reason = %s, want %s", resp.StopReason, tt.want)
			}
		})
	}
}
