package textgen

import (
	"errors"
	"strings"
	"testing"

	"github.com/converse-project/converse/transport"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       Dialect
		body    string
		prompt  string
		max     int
		stop    []string
		refusal string // part of the 400's message
	}{
		{"llama defaults", Llama, `{"prompt":"hi"}`, "hi", DefaultMaxTokens, nil, ""},
		{"llama limit", Llama, `{"prompt":"hi","max_gen_len":7,"temperature":0.2}`, "hi", 7, nil, ""},
		{"mistral stops", Mistral, `{"prompt":"[INST] hi [/INST]","max_tokens":9,"stop":["\n\n"]}`, "[INST] hi [/INST]", 9, []string{"\n\n"}, ""},
		{"titan config", Titan, `{"inputText":"User: hi\nBot:","textGenerationConfig":{"maxTokenCount":5,"stopSequences":["User:"]}}`, "User: hi\nBot:", 5, []string{"User:"}, ""},
		{"unknown member", Llama, `{"prompt":"hi","stream":true}`, "", 0, nil, "extraneous key [stream]"},
		{"no prompt", Mistral, `{"max_tokens":3}`, "", 0, nil, "required key [prompt]"},
		{"not JSON", Titan, `{"inputText":`, "", 0, nil, "not valid JSON"},
		{"no tokens", Llama, `{"prompt":"hi","max_gen_len":0}`, "", 0, nil, "at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.d.Parse([]byte(tc.body))
			if tc.refusal != "" {
				var se *transport.StatusError
				if !errors.As(err, &se) || se.StatusCode != 400 || !strings.Contains(se.Message, tc.refusal) {
					t.Fatalf("err = %v, want a 400 mentioning %q", err, tc.refusal)
				}
				return
			}
			if err != nil || p.Prompt != tc.prompt || p.MaxTokens != tc.max || strings.Join(p.Stop, "|") != strings.Join(tc.stop, "|") {
				t.Errorf("Parse = %+v, %v", p, err)
			}
		})
	}
}

func TestResponseAndChunks(t *testing.T) {
	r := Result{Text: "Rome.", Finish: "length", Input: 12, Output: 3}
	for _, tc := range []struct {
		d           Dialect
		resp, chunk string
	}{
		{Llama, `{"generation":"Rome.","generation_token_count":3,"prompt_token_count":12,"stop_reason":"length"}`,
			`{"amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":3,"invocationLatency":40,"firstByteLatency":5},"generation":"","generation_token_count":3,"prompt_token_count":12,"stop_reason":"length"}`},
		{Mistral, `{"outputs":[{"stop_reason":"length","text":"Rome."}]}`,
			`{"amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":3,"invocationLatency":40,"firstByteLatency":5},"outputs":[{"stop_reason":"length","text":""}]}`},
		{Titan, `{"inputTextTokenCount":12,"results":[{"completionReason":"LENGTH","outputText":"Rome.","tokenCount":3}]}`,
			`{"amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":3,"invocationLatency":40,"firstByteLatency":5},"completionReason":"LENGTH","index":0,"inputTextTokenCount":12,"outputText":"","totalOutputTextTokenCount":3}`},
	} {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got, err := tc.d.Response(r); err != nil || string(got) != tc.resp {
				t.Errorf("Response = %s, %v\nwant %s", got, err, tc.resp)
			}
			got, err := tc.d.Chunk("", 3, &r, &Metrics{InputTokenCount: 12, OutputTokenCount: 3, InvocationLatency: 40, FirstByteLatency: 5})
			if err != nil || string(got) != tc.chunk {
				t.Errorf("Chunk = %s, %v\nwant %s", got, err, tc.chunk)
			}
		})
	}
}
