package codec

import (
	"errors"
	"testing"

	"github.com/converse-project/converse"
)

func TestTitanPrompt(t *testing.T) {
	tests := []struct {
		name string
		req  *converse.Request
		want string
	}{
		{"single turn is AWS's documented form", llamaConversation(llamaTurn(converse.RoleUser, "Hi")), "User: Hi\nBot:"},
		{"final assistant turn is a prefill", llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleAssistant, "Hello")), "User: Hi\nBot: Hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Titan{}.Prompt(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("prompt:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTitanRejectsSystem(t *testing.T) {
	for name, req := range map[string]*converse.Request{
		"system prompt":  {System: []converse.SystemBlock{{Text: ptr("Be terse.")}}, Messages: []converse.Message{llamaTurn(converse.RoleUser, "Hi")}},
		"system message": llamaConversation(llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleSystem, "Be terse.")),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Titan{}.Request(req)
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindValidation || ce.Message != "This model doesn't support system messages. Try again without a system message." {
				t.Fatalf("error = %v", err)
			}
		})
	}
}

func TestTitanRequestWithoutParametersHasNoConfig(t *testing.T) {
	body, err := Titan{}.Request(llamaConversation(llamaTurn(converse.RoleUser, "Hi")))
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"inputText":"User: Hi\nBot:"}` {
		t.Errorf("body = %s", body)
	}
}

func TestTitanStopReason(t *testing.T) {
	tests := []struct {
		reason string
		want   converse.StopReason
	}{
		{"FINISH", converse.StopEndTurn},
		{"FINISHED", converse.StopEndTurn},
		{"LENGTH", converse.StopMaxTokens},
		{"STOP_CRITERIA_MET", converse.StopStopSequence},
		{"CONTENT_FILTERED", converse.StopContentFiltered},
		{"RAG_QUERY_WHEN_RAG_DISABLED", converse.StopEndTurn},
	}
	for _, tt := range tests {
		t.Run(tt.reason+" maps to "+string(tt.want), func(t *testing.T) {
			resp, err := Titan{}.Response(&converse.Request{}, []byte(`{"inputTextTokenCount":3,"results":[{"tokenCount":1,"outputText":"x","completionReason":"`+tt.reason+`"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StopReason != tt.want {
				t.Errorf("stop reason = %s, want %s", resp.StopReason, tt.want)
			}
		})
	}
}
