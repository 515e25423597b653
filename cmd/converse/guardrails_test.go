package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/converse-project/converse/upstreamtest"
)

// guardedServer is `converse serve` with a model and a classifier model on
// fake OpenAI-compatible upstreams, and two guardrails: gr1 (words, PII,
// deterministic) and gr2 (an INSULTS content filter judged by the
// classifier model).
type guardedServer struct {
	up, judge *upstreamtest.OpenAIServer
	client    *bedrockruntime.Client
}

const (
	msgInputBlocked  = "Sorry, the guardrail blocked your input."
	msgOutputBlocked = "Sorry, the guardrail blocked the answer."
)

func startGuarded(t *testing.T) *guardedServer {
	t.Helper()
	up, judge := upstreamtest.NewOpenAI(t), upstreamtest.NewOpenAI(t)
	cfg := fmt.Sprintf(`
models:
  my-model: {backend: openai, base_url: %q, model: chat}
  my-judge: {backend: openai, base_url: %q, model: llama-guard}
guardrails:
  gr1:
    name: words-and-pii
    blockedInputMessaging: %q
    blockedOutputsMessaging: %q
    wordPolicyConfig:
      wordsConfig: [{text: forbidden}]
    sensitiveInformationPolicyConfig:
      piiEntitiesConfig: [{type: EMAIL, action: ANONYMIZE}]
  gr2:
    name: insults
    blockedInputMessaging: %q
    blockedOutputsMessaging: %q
    contentPolicyConfig:
      filtersConfig: [{type: INSULTS, inputStrength: HIGH, outputStrength: HIGH}]
    classifier: {model: my-judge}
`, up.URL, judge.URL, msgInputBlocked, msgOutputBlocked, msgInputBlocked, msgOutputBlocked)
	return &guardedServer{up: up, judge: judge, client: startServer(t, cfg).client(t)}
}

func guardCfg(id, trace string) *types.GuardrailConfiguration {
	return &types.GuardrailConfiguration{GuardrailIdentifier: aws.String(id), GuardrailVersion: aws.String("DRAFT"), Trace: types.GuardrailTrace(trace)}
}

func guardText(s string) *types.ContentBlockMemberGuardContent {
	return &types.ContentBlockMemberGuardContent{Value: &types.GuardrailConverseContentBlockMemberText{Value: types.GuardrailConverseTextBlock{Text: aws.String(s)}}}
}

func TestGuardrailBlocksInputBeforeTheModel(t *testing.T) {
	s := startGuarded(t)
	out, err := s.client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("my-model"),
		Messages: []types.Message{userText("Tell me the FORBIDDEN recipe.")}, GuardrailConfig: guardCfg("gr1", "enabled")})
	if err != nil {
		t.Fatal(err)
	}
	if got := replyText(t, out); got != msgInputBlocked {
		t.Errorf("text = %q, want the blocked input message", got)
	}
	if out.StopReason != types.StopReasonGuardrailIntervened {
		t.Errorf("stopReason = %q", out.StopReason)
	}
	if *out.Usage.TotalTokens != 0 {
		t.Errorf("usage = %+v, want zeros", *out.Usage)
	}
	if n := s.up.Requests(); n != 0 {
		t.Errorf("the model got %d requests, want none", n)
	}
	g := out.Trace.Guardrail
	words := g.InputAssessment["gr1"].WordPolicy
	if words == nil || len(words.CustomWords) != 1 || aws.ToString(words.CustomWords[0].Match) != "FORBIDDEN" || words.CustomWords[0].Action != types.GuardrailWordPolicyActionBlocked {
		t.Errorf("input word assessment = %+v", words)
	}
	if aws.ToString(g.ActionReason) != "Guardrail blocked." || len(g.OutputAssessments) != 0 {
		t.Errorf("trace = %+v", g)
	}
}

func TestGuardrailMasksInputAndOutput(t *testing.T) {
	s := startGuarded(t)
	s.up.Reply(upstreamtest.Reply{Text: "Sure, write to alice@example.org today.", PromptTokens: 9, CompletionTokens: 7})
	out, err := s.client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("my-model"),
		Messages: []types.Message{userText("My address is bob@example.com, who do I write to?")}, GuardrailConfig: guardCfg("gr1", "enabled")})
	if err != nil {
		t.Fatal(err)
	}
	if sent := string(s.up.LastRequest()); strings.Contains(sent, "bob@example.com") || !strings.Contains(sent, "My address is {EMAIL}") {
		t.Errorf("the model got %s, want the masked input", sent)
	}
	if got := replyText(t, out); got != "Sure, write to {EMAIL} today." {
		t.Errorf("text = %q", got)
	}
	if out.StopReason != types.StopReasonGuardrailIntervened || *out.Usage.OutputTokens != 7 {
		t.Errorf("stopReason = %q, usage = %+v", out.StopReason, *out.Usage)
	}
	g := out.Trace.Guardrail
	outs := g.OutputAssessments["gr1"]
	if len(outs) != 1 || outs[0].SensitiveInformationPolicy == nil || aws.ToString(outs[0].SensitiveInformationPolicy.PiiEntities[0].Match) != "alice@example.org" ||
		outs[0].SensitiveInformationPolicy.PiiEntities[0].Action != types.GuardrailSensitiveInformationPolicyActionAnonymized {
		t.Errorf("output assessments = %+v", outs)
	}
	if len(g.ModelOutput) != 1 || g.ModelOutput[0] != "Sure, write to alice@example.org today." {
		t.Errorf("modelOutput = %q", g.ModelOutput)
	}
	if aws.ToString(g.ActionReason) != "Guardrail masked.\nGuardrail masked." {
		t.Errorf("actionReason = %q", aws.ToString(g.ActionReason))
	}
}

func TestGuardrailTraceSettings(t *testing.T) {
	tests := []struct {
		trace             string
		wantTrace         bool
		wantUndetectedPII bool // enabled_full lists the entity types that found nothing
	}{
		{"disabled", false, false},
		{"enabled", true, false},
		{"enabled_full", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.trace, func(t *testing.T) {
			s := startGuarded(t)
			s.up.Reply(upstreamtest.Reply{Text: "Nothing to hide here."})
			out, err := s.client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("my-model"),
				Messages: []types.Message{userText("Hello there.")}, GuardrailConfig: guardCfg("gr1", tt.trace)})
			if err != nil {
				t.Fatal(err)
			}
			if out.StopReason != types.StopReasonEndTurn || replyText(t, out) != "Nothing to hide here." {
				t.Errorf("stopReason = %q, text %q", out.StopReason, replyText(t, out))
			}
			if got := out.Trace != nil && out.Trace.Guardrail != nil; got != tt.wantTrace {
				t.Fatalf("trace present = %v, want %v", got, tt.wantTrace)
			}
			if !tt.wantTrace {
				return
			}
			g := out.Trace.Guardrail
			in, ok := g.InputAssessment["gr1"]
			if !ok || in.InvocationMetrics == nil || in.InvocationMetrics.Usage == nil || aws.ToInt32(in.InvocationMetrics.Usage.SensitiveInformationPolicyUnits) != 1 {
				t.Errorf("input assessment = %+v", in)
			}
			outs := g.OutputAssessments["gr1"]
			if len(outs) != 1 {
				t.Fatalf("output assessments = %+v", outs)
			}
			undetected := outs[0].SensitiveInformationPolicy != nil && len(outs[0].SensitiveInformationPolicy.PiiEntities) == 1 &&
				!aws.ToBool(outs[0].SensitiveInformationPolicy.PiiEntities[0].Detected)
			if undetected != tt.wantUndetectedPII {
				t.Errorf("undetected PII entries listed = %v, want %v (%+v)", undetected, tt.wantUndetectedPII, outs[0].SensitiveInformationPolicy)
			}
			if len(g.ModelOutput) != 0 {
				t.Errorf("modelOutput = %q for an unchanged answer", g.ModelOutput)
			}
		})
	}
}

// §3.3: with guardContent in the messages only it is evaluated; the system
// prompt is evaluated only through its own guardContent.
func TestGuardContentScoping(t *testing.T) {
	plain := func(s string) types.SystemContentBlock { return &types.SystemContentBlockMemberText{Value: s} }
	guarded := func(s string) types.SystemContentBlock {
		return &types.SystemContentBlockMemberGuardContent{Value: &types.GuardrailConverseContentBlockMemberText{Value: types.GuardrailConverseTextBlock{Text: aws.String(s)}}}
	}
	tests := []struct {
		name    string
		system  []types.SystemContentBlock
		content []types.ContentBlock
		blocked bool
	}{
		{"untagged message text is evaluated", nil, []types.ContentBlock{&types.ContentBlockMemberText{Value: "the forbidden word"}}, true},
		{"text outside guardContent is not evaluated", nil,
			[]types.ContentBlock{&types.ContentBlockMemberText{Value: "the forbidden word"}, guardText("a harmless question")}, false},
		{"guardContent is evaluated", nil,
			[]types.ContentBlock{&types.ContentBlockMemberText{Value: "a harmless question"}, guardText("the forbidden word")}, true},
		{"untagged system prompt is not evaluated", []types.SystemContentBlock{plain("never say forbidden")},
			[]types.ContentBlock{&types.ContentBlockMemberText{Value: "hello"}}, false},
		{"system guardContent is evaluated", []types.SystemContentBlock{plain("be nice"), guarded("forbidden rules")},
			[]types.ContentBlock{&types.ContentBlockMemberText{Value: "hello"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startGuarded(t)
			s.up.Reply(upstreamtest.Reply{Text: "Fine."})
			out, err := s.client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("my-model"), System: tt.system,
				Messages: []types.Message{{Role: types.ConversationRoleUser, Content: tt.content}}, GuardrailConfig: guardCfg("gr1", "disabled")})
			if err != nil {
				t.Fatal(err)
			}
			if blocked := replyText(t, out) == msgInputBlocked; blocked != tt.blocked {
				t.Errorf("blocked = %v, want %v (reply %q)", blocked, tt.blocked, replyText(t, out))
			}
			if called := s.up.Requests() > 0; called == tt.blocked {
				t.Errorf("model called = %v with blocked = %v", called, tt.blocked)
			}
			if tt.blocked && out.Trace != nil {
				t.Errorf("trace %+v with trace disabled", out.Trace)
			}
		})
	}
}

func TestUnknownGuardrailIsNotFound(t *testing.T) {
	s := startGuarded(t)
	for _, cfg := range []*types.GuardrailConfiguration{guardCfg("nosuch", "enabled"), {GuardrailIdentifier: aws.String("gr1"), GuardrailVersion: aws.String("3")}} {
		_, err := s.client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("my-model"),
			Messages: []types.Message{userText("hello")}, GuardrailConfig: cfg})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("%s/%s: err = %v, want ResourceNotFoundException", *cfg.GuardrailIdentifier, *cfg.GuardrailVersion, err)
		}
	}
	if n := s.up.Requests(); n != 0 {
		t.Errorf("the model got %d requests", n)
	}
}

// The classifier model gets guard's documented prompt and its JSON answer
// decides the content filter.
func TestGuardrailClassifierJudges(t *testing.T) {
	s := startGuarded(t)
	s.judge.Reply(upstreamtest.Reply{Text: `{"categories":{"INSULTS":0.92}}`})
	out, err := s.client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("my-model"),
		Messages: []types.Message{userText("You are a useless heap of bolts.")}, GuardrailConfig: guardCfg("gr2", "enabled")})
	if err != nil {
		t.Fatal(err)
	}
	prompt := string(s.judge.LastRequest())
	for _, want := range []string{"You are the classifier of a content guardrail", "INSULTS", "useless heap of bolts", `\"model\":\"llama-guard\"`} {
		if !strings.Contains(prompt, want) && !strings.Contains(strings.ReplaceAll(prompt, `"`, `\"`), want) {
			t.Errorf("classifier request lacks %q: %s", want, prompt)
		}
	}
	if replyText(t, out) != msgInputBlocked || out.StopReason != types.StopReasonGuardrailIntervened || s.up.Requests() != 0 {
		t.Errorf("reply %q, stop %q, model requests %d", replyText(t, out), out.StopReason, s.up.Requests())
	}
	f := out.Trace.Guardrail.InputAssessment["gr2"].ContentPolicy
	if f == nil || len(f.Filters) != 1 || f.Filters[0].Confidence != types.GuardrailContentFilterConfidenceHigh || f.Filters[0].Action != types.GuardrailContentPolicyActionBlocked {
		t.Errorf("content policy = %+v", f)
	}

	// A clean exchange: the classifier is asked about the input, then the output.
	s.judge.Reply(upstreamtest.Reply{Text: `{"categories":{"INSULTS":0.02}}`})
	s.judge.Reply(upstreamtest.Reply{Text: "```json\n{\"categories\":{\"INSULTS\":0.6}}\n```"})
	s.up.Reply(upstreamtest.Reply{Text: "You clearly know nothing."})
	out, err = s.client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("my-model"),
		Messages: []types.Message{userText("What is a bolt?")}, GuardrailConfig: guardCfg("gr2", "disabled")})
	if err != nil {
		t.Fatal(err)
	}
	if replyText(t, out) != msgOutputBlocked || out.StopReason != types.StopReasonGuardrailIntervened || s.judge.Requests() != 3 {
		t.Errorf("reply %q, stop %q, classifier requests %d", replyText(t, out), out.StopReason, s.judge.Requests())
	}
}

func TestApplyGuardrailServed(t *testing.T) {
	s := startGuarded(t)
	out, err := s.client.ApplyGuardrail(context.Background(), &bedrockruntime.ApplyGuardrailInput{
		GuardrailIdentifier: aws.String("gr1"), GuardrailVersion: aws.String("DRAFT"), Source: types.GuardrailContentSourceOutput,
		Content: []types.GuardrailContentBlock{
			&types.GuardrailContentBlockMemberText{Value: types.GuardrailTextBlock{Text: aws.String("mail carol@example.net")}},
			&types.GuardrailContentBlockMemberText{Value: types.GuardrailTextBlock{Text: aws.String("nothing here")}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != types.GuardrailActionGuardrailIntervened || len(out.Outputs) != 2 || aws.ToString(out.Outputs[0].Text) != "mail {EMAIL}" || aws.ToString(out.Outputs[1].Text) != "nothing here" {
		t.Errorf("action %s, outputs %+v", out.Action, out.Outputs)
	}
	_, err = s.client.ApplyGuardrail(context.Background(), &bedrockruntime.ApplyGuardrailInput{
		GuardrailIdentifier: aws.String("gr9"), GuardrailVersion: aws.String("DRAFT"), Source: types.GuardrailContentSourceInput,
		Content: []types.GuardrailContentBlock{&types.GuardrailContentBlockMemberText{Value: types.GuardrailTextBlock{Text: aws.String("x")}}}})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown guardrail: err = %v", err)
	}
}

// streamGuarded streams my-model's answer under gr1 and returns each text
// delta, the stop reason and the metadata trace.
func streamGuarded(t *testing.T, s *guardedServer, mode types.GuardrailStreamProcessingMode, question string) (deltas []string, stop types.StopReason, trace *types.GuardrailTraceAssessment) {
	t.Helper()
	out, err := s.client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("my-model"),
		Messages: []types.Message{userText(question)},
		GuardrailConfig: &types.GuardrailStreamConfiguration{GuardrailIdentifier: aws.String("gr1"), GuardrailVersion: aws.String("DRAFT"),
			Trace: types.GuardrailTraceEnabled, StreamProcessingMode: mode}})
	if err != nil {
		t.Fatal(err)
	}
	st := out.GetStream()
	defer st.Close()
	for ev := range st.Events() {
		switch ev := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			if d, ok := ev.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				deltas = append(deltas, d.Value)
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			stop = ev.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			if ev.Value.Trace != nil {
				trace = ev.Value.Trace.Guardrail
			}
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	return deltas, stop, trace
}

// long answers: several sentences, so sync mode assesses them in segments.
var (
	cleanPart = strings.Repeat("This sentence is perfectly harmless and says nothing at all. ", 5)
	maskAns   = cleanPart + "Write to dave@example.com for details. " + cleanPart
	blockAns  = cleanPart + "Now the forbidden part follows. " + cleanPart
)

func TestGuardrailStreamSync(t *testing.T) {
	t.Run("masked segments", func(t *testing.T) {
		s := startGuarded(t)
		s.up.Reply(upstreamtest.Reply{Text: maskAns, Chunks: 40})
		deltas, stop, trace := streamGuarded(t, s, types.GuardrailStreamProcessingModeSync, "hi")
		got := strings.Join(deltas, "")
		if want := strings.Replace(maskAns, "dave@example.com", "{EMAIL}", 1); got != want {
			t.Errorf("text = %q, want %q", got, want)
		}
		for _, d := range deltas {
			if strings.Contains(d, "dave@") {
				t.Errorf("an unmasked delta was released: %q", d)
			}
		}
		if stop != types.StopReasonGuardrailIntervened {
			t.Errorf("stop = %q", stop)
		}
		if trace == nil || len(trace.OutputAssessments["gr1"]) < 2 || len(trace.ModelOutput) != 1 || trace.ModelOutput[0] != maskAns {
			t.Errorf("trace = %+v", trace)
		}
	})
	t.Run("blocked segment", func(t *testing.T) {
		s := startGuarded(t)
		s.up.Reply(upstreamtest.Reply{Text: blockAns, Chunks: 40})
		deltas, stop, trace := streamGuarded(t, s, types.GuardrailStreamProcessingModeSync, "hi")
		got := strings.Join(deltas, "")
		if strings.Contains(got, "forbidden") || !strings.HasSuffix(got, msgOutputBlocked) || !strings.HasPrefix(got, "This sentence") {
			t.Errorf("text = %q: want the clean segments, then the blocked message, never the word", got)
		}
		if stop != types.StopReasonGuardrailIntervened || trace == nil || aws.ToString(trace.ActionReason) != "No action.\nGuardrail blocked." {
			t.Errorf("stop = %q, trace = %+v", stop, trace)
		}
	})
}

func TestGuardrailStreamAsync(t *testing.T) {
	t.Run("blocked after the fact", func(t *testing.T) {
		s := startGuarded(t)
		s.up.Reply(upstreamtest.Reply{Text: blockAns, Chunks: 40})
		deltas, stop, _ := streamGuarded(t, s, types.GuardrailStreamProcessingModeAsync, "hi")
		if len(deltas) < 2 || deltas[len(deltas)-1] != msgOutputBlocked || !strings.HasPrefix(strings.Join(deltas, ""), "This sentence") {
			t.Errorf("deltas = %q: want the streamed text cut off by the blocked message", deltas)
		}
		if stop != types.StopReasonGuardrailIntervened {
			t.Errorf("stop = %q", stop)
		}
	})
	t.Run("no masking", func(t *testing.T) {
		s := startGuarded(t)
		s.up.Reply(upstreamtest.Reply{Text: maskAns, Chunks: 40})
		deltas, stop, trace := streamGuarded(t, s, types.GuardrailStreamProcessingModeAsync, "hi")
		if got := strings.Join(deltas, ""); got != maskAns {
			t.Errorf("text = %q, want the answer as streamed", got)
		}
		if stop != types.StopReasonEndTurn || trace == nil || len(trace.OutputAssessments["gr1"]) == 0 {
			t.Errorf("stop = %q, trace = %+v", stop, trace)
		}
	})
}

// startGuardedNative serves Llama 3.1 8B from a fake text-completion
// server, under gr1.
func startGuardedNative(t *testing.T) (*upstreamtest.CompletionsServer, *bedrockruntime.Client) {
	t.Helper()
	up := upstreamtest.NewCompletions(t)
	cfg := fmt.Sprintf(`
models:
  meta.llama3-1-8b-instruct-v1:0: {backend: completions, base_url: %s/v1, model: llama}
guardrails:
  gr1:
    name: words-and-pii
    blockedInputMessaging: %q
    blockedOutputsMessaging: %q
    wordPolicyConfig:
      wordsConfig: [{text: forbidden}]
    sensitiveInformationPolicyConfig:
      piiEntitiesConfig: [{type: EMAIL, action: ANONYMIZE}]
`, up.URL, msgInputBlocked, msgOutputBlocked)
	return up, startServer(t, cfg).client(t)
}

const guardedLlama = "meta.llama3-1-8b-instruct-v1:0"

func TestInvokeModelHonoursGuardrailHeaders(t *testing.T) {
	tests := []struct {
		name, prompt, answer  string
		trace                 types.Trace
		wantText, wantAction  string
		wantCalled, wantTrace bool
	}{
		{"clean", "Say hello.", "Hello!", "", "Hello!", "NONE", true, false},
		{"input blocked", "Say the forbidden word.", "", types.TraceEnabled, msgInputBlocked, "INTERVENED", false, true},
		{"output masked", "Who do I mail?", "Mail erin@example.com.", types.TraceEnabledFull, "Mail {EMAIL}.", "INTERVENED", true, true},
		{"output blocked", "Go on.", "Here is the forbidden bit.", types.TraceDisabled, msgOutputBlocked, "INTERVENED", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, c := startGuardedNative(t)
			if tt.answer != "" {
				up.Reply(upstreamtest.CompletionReply{Text: tt.answer})
			}
			body, _ := json.Marshal(map[string]any{"prompt": tt.prompt, "max_gen_len": 50})
			out, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(guardedLlama), Body: body,
				GuardrailIdentifier: aws.String("gr1"), GuardrailVersion: aws.String("DRAFT"), Trace: tt.trace})
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Generation string          `json:"generation"`
				Action     string          `json:"amazon-bedrock-guardrailAction"`
				Trace      json.RawMessage `json:"amazon-bedrock-trace"`
			}
			if err := json.Unmarshal(out.Body, &got); err != nil {
				t.Fatalf("%v: %s", err, out.Body)
			}
			if got.Generation != tt.wantText || got.Action != tt.wantAction || (got.Trace != nil) != tt.wantTrace {
				t.Errorf("body = %s", out.Body)
			}
			if called := up.Requests() > 0; called != tt.wantCalled {
				t.Errorf("model called = %v", called)
			}
		})
	}
}

func TestInvokeModelStreamHonoursGuardrailHeaders(t *testing.T) {
	up, c := startGuardedNative(t)
	up.Reply(upstreamtest.CompletionReply{Text: "Please mail frank@example.com today.", Chunks: 6})
	body := []byte(`{"prompt":"Who do I mail?"}`)
	out, err := c.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(guardedLlama), Body: body,
		GuardrailIdentifier: aws.String("gr1"), GuardrailVersion: aws.String("DRAFT"), Trace: types.TraceEnabled})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var last map[string]any
	for ev := range out.GetStream().Events() {
		if ch, ok := ev.(*types.ResponseStreamMemberChunk); ok {
			last = nil
			if err := json.Unmarshal(ch.Value.Bytes, &last); err != nil {
				t.Fatal(err)
			}
			if g, ok := last["generation"].(string); ok {
				text.WriteString(g)
			}
		}
	}
	out.GetStream().Close()
	if err := out.GetStream().Err(); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(text.String()) != "Please mail {EMAIL} today." {
		t.Errorf("streamed text = %q", text.String())
	}
	if last["amazon-bedrock-guardrailAction"] != "INTERVENED" || last["amazon-bedrock-trace"] == nil || last["amazon-bedrock-invocationMetrics"] == nil {
		t.Errorf("last chunk = %v", last)
	}
}

func TestGuardrailStreamBlocksInput(t *testing.T) {
	s := startGuarded(t)
	deltas, stop, trace := streamGuarded(t, s, types.GuardrailStreamProcessingModeSync, "a forbidden question")
	if strings.Join(deltas, "") != msgInputBlocked || stop != types.StopReasonGuardrailIntervened || trace == nil || trace.InputAssessment["gr1"].WordPolicy == nil {
		t.Errorf("deltas %q, stop %q, trace %+v", deltas, stop, trace)
	}
	if n := s.up.Requests(); n != 0 {
		t.Errorf("the model got %d requests", n)
	}
}
