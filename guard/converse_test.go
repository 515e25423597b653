package guard

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

// fakeInner answers with a fixed text, streamed in pieces, and records
// what it got.
type fakeInner struct {
	text   string
	pieces int
	got    []*converse.Request
	inv    []*converse.InvokeRequest
	body   string   // InvokeModel answer
	chunks []string // InvokeStream chunks
}

func (f *fakeInner) Converse(ctx context.Context, req *converse.Request) (*converse.Response, error) {
	f.got = append(f.got, req)
	return &converse.Response{Output: converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(f.text)}}},
		StopReason: converse.StopEndTurn, Usage: converse.Usage{InputTokens: 3, OutputTokens: 4, TotalTokens: 7}}, nil
}

func (f *fakeInner) ConverseStream(ctx context.Context, req *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
	f.got = append(f.got, req)
	evs := []converse.StreamEvent{{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant}}}
	n := max(f.pieces, 1)
	size := (len(f.text) + n - 1) / n
	for i := 0; i < len(f.text); i += size {
		evs = append(evs, textDelta(0, f.text[i:min(i+size, len(f.text))]))
	}
	evs = append(evs, converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{}},
		converse.StreamEvent{MessageStop: &converse.MessageStopEvent{StopReason: converse.StopEndTurn}},
		converse.StreamEvent{Metadata: &converse.MetadataEvent{Usage: converse.Usage{InputTokens: 3, OutputTokens: 4, TotalTokens: 7}}})
	return replay(ctx, evs), nil
}

func (f *fakeInner) Invoke(ctx context.Context, req *converse.InvokeRequest) (*converse.InvokeResponse, error) {
	f.inv = append(f.inv, req)
	return &converse.InvokeResponse{Body: []byte(f.body), ContentType: "application/json"}, nil
}

func (f *fakeInner) InvokeStream(ctx context.Context, req *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
	f.inv = append(f.inv, req)
	return func(yield func([]byte, error) bool) {
		for _, c := range f.chunks {
			if !yield([]byte(c), nil) {
				return
			}
		}
	}, nil
}

func testSet(t *testing.T) Set {
	t.Helper()
	g, err := Parse([]byte(`{"name":"g","blockedInputMessaging":"IN-BLOCKED","blockedOutputsMessaging":"OUT-BLOCKED",
		"wordPolicyConfig":{"wordsConfig":[{"text":"forbidden"}]},
		"sensitiveInformationPolicyConfig":{"piiEntitiesConfig":[{"type":"EMAIL","action":"ANONYMIZE"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Load(Options{}); err != nil {
		t.Fatal(err)
	}
	return Set{"g1": g}
}

func text(s string) converse.Block { return converse.TextBlock(s) }

func guardBlock(s string, q ...string) converse.Block {
	return converse.Block{GuardContent: &converse.GuardContent{Text: &converse.GuardText{Text: s, Qualifiers: q}}}
}

func TestConverseInputScope(t *testing.T) {
	sys := func(s string) converse.SystemBlock { return converse.SystemBlock{Text: &s} }
	sysGuard := func(s string) converse.SystemBlock {
		return converse.SystemBlock{GuardContent: &converse.GuardContent{Text: &converse.GuardText{Text: s}}}
	}
	tests := []struct {
		name      string
		system    []converse.SystemBlock
		content   []converse.Block
		evaluated []string // the texts marked guard_content
		grounding int
	}{
		{"every message text without guardContent", []converse.SystemBlock{sys("S")}, []converse.Block{text("a"), text("b")}, []string{"a", "b"}, 0},
		{"only guardContent when messages have it", nil, []converse.Block{text("a"), guardBlock("g")}, []string{"g"}, 0},
		{"system guardContent only", []converse.SystemBlock{sys("S"), sysGuard("SG")}, []converse.Block{text("a")}, []string{"SG", "a"}, 0},
		{"grounding blocks are reference, not input", nil, []converse.Block{guardBlock("src", "grounding_source"), guardBlock("q", "query"), guardBlock("g", "guard_content")}, []string{"g"}, 2},
		{"tool results are never evaluated", nil, []converse.Block{{ToolResult: &converse.ToolResultBlock{ToolUseID: "t"}}}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ConverseInput(&converse.Request{System: tt.system, Messages: []converse.Message{{Role: converse.RoleUser, Content: tt.content}}})
			var got []string
			for _, c := range in.Content {
				if c.Text != nil && len(c.Text.Qualifiers) == 1 && c.Text.Qualifiers[0] == QualifierGuardContent {
					got = append(got, c.Text.Text)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.evaluated, "|") || len(in.Grounding) != tt.grounding {
				t.Errorf("evaluated %q, grounding %d; want %q, %d", got, len(in.Grounding), tt.evaluated, tt.grounding)
			}
		})
	}
}

func TestCutSegment(t *testing.T) {
	tests := []struct {
		name, buf, seg string
		size           int
		ok             bool
	}{
		{"waits below the size", "One. Two", "", 20, false},
		{"cuts at the last boundary", "One. Two! Three", "One. Two! ", 5, true},
		{"newline is a boundary", "line one\nline", "line one\n", 5, true},
		{"no boundary waits until 4x", "abcdefgh ijk", "", 5, false},
		{"no boundary cuts at a space at 4x", "abcdefgh ijklmnopqrstu", "abcdefgh", 5, true},
		{"a dot inside a word is no boundary", "mail a.b@c.de now", "", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg, rest, ok := cutSegment(tt.buf, tt.size)
			if ok != tt.ok || seg != tt.seg || (ok && seg+rest != tt.buf) {
				t.Errorf("cutSegment(%q, %d) = %q, %q, %v", tt.buf, tt.size, seg, rest, ok)
			}
		})
	}
}

func TestBackendConverse(t *testing.T) {
	tests := []struct {
		name, question, answer, want string
		stop                         converse.StopReason
		calls                        int
	}{
		{"clean", "hi", "hello", "hello", converse.StopEndTurn, 1},
		{"input blocked", "the forbidden word", "x", "IN-BLOCKED", converse.StopGuardrailIntervened, 0},
		{"output blocked", "hi", "this is Forbidden!", "OUT-BLOCKED", converse.StopGuardrailIntervened, 1},
		{"output masked", "hi", "mail a@b.example", "mail {EMAIL}", converse.StopGuardrailIntervened, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &fakeInner{text: tt.answer}
			b := Wrap(&Backend{Inner: inner, Guardrails: testSet(t)})
			req := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{text(tt.question)}}},
				GuardrailConfig: &converse.GuardrailConfig{GuardrailIdentifier: "g1", Trace: "enabled"}}
			resp, err := b.Converse(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := *resp.Output.Message.Content[0].Text; got != tt.want || resp.StopReason != tt.stop || len(inner.got) != tt.calls {
				t.Errorf("got %q %s after %d calls", got, resp.StopReason, len(inner.got))
			}
			if tt.calls > 0 && inner.got[0].GuardrailConfig != nil {
				t.Error("the inner backend got the local guardrailConfig")
			}
			var tr struct {
				Guardrail TraceAssessment `json:"guardrail"`
			}
			if err := json.Unmarshal(resp.Trace, &tr); err != nil || tr.Guardrail.InputAssessment["g1"].InvocationMetrics == nil {
				t.Errorf("trace %s: %v", resp.Trace, err)
			}
		})
	}
}

func TestBackendUnknownGuardrail(t *testing.T) {
	req := &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{text("hi")}}},
		GuardrailConfig: &converse.GuardrailConfig{GuardrailIdentifier: "zz9"}}
	inner := &fakeInner{text: "ok"}
	_, err := (&Backend{Inner: inner, Guardrails: testSet(t)}).Converse(context.Background(), req)
	var e *converse.Error
	if !errors.As(err, &e) || e.Kind != converse.KindResourceNotFound || len(inner.got) != 0 {
		t.Errorf("err = %v after %d calls, want ResourceNotFound before the model", err, len(inner.got))
	}
	if _, err := (&Backend{Inner: inner, Guardrails: testSet(t), PassThrough: true}).Converse(context.Background(), req); err != nil || inner.got[0].GuardrailConfig == nil {
		t.Errorf("pass-through: err %v, the inner backend must get the request with its guardrailConfig", err)
	}
}

func collectStream(t *testing.T, seq iter.Seq2[converse.StreamEvent, error]) (deltas []string, stop converse.StopReason, trace json.RawMessage) {
	t.Helper()
	for ev, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.ContentBlockDelta != nil && ev.ContentBlockDelta.Delta.Text != nil:
			deltas = append(deltas, *ev.ContentBlockDelta.Delta.Text)
		case ev.MessageStop != nil:
			stop = ev.MessageStop.StopReason
		case ev.Metadata != nil:
			trace = ev.Metadata.Trace
		}
	}
	return deltas, stop, trace
}

func TestBackendStreamModes(t *testing.T) {
	const answer = "First part is fine. Second holds a@b.example here. Third has the forbidden word. Fourth."
	tests := []struct {
		name, mode, answer string
		want               []string
		stop               converse.StopReason
	}{
		{"sync releases assessed segments", "sync", "One is fine. Two is fine. Three.", []string{"One is fine. ", "Two is fine. ", "Three."}, converse.StopEndTurn},
		{"sync masks and blocks", "sync", answer, []string{"First part is fine. ", "Second holds {EMAIL} here. ", "OUT-BLOCKED"}, converse.StopGuardrailIntervened},
		{"async forwards, then cuts", "async", answer, nil, converse.StopGuardrailIntervened},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &fakeInner{text: tt.answer, pieces: len(tt.answer)}
			b := &Backend{Inner: inner, Guardrails: testSet(t), SegmentChars: 10}
			seq, err := b.ConverseStream(context.Background(), &converse.Request{
				Messages:        []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{text("hi")}}},
				GuardrailConfig: &converse.GuardrailConfig{GuardrailIdentifier: "g1", Trace: "enabled", StreamProcessingMode: tt.mode}})
			if err != nil {
				t.Fatal(err)
			}
			deltas, stop, trace := collectStream(t, seq)
			if tt.want != nil && strings.Join(deltas, "|") != strings.Join(tt.want, "|") {
				t.Errorf("deltas = %q, want %q", deltas, tt.want)
			}
			if tt.mode == "async" {
				// Every character before the cut went out as it came; the
				// blocked message ends the stream.
				got := strings.Join(deltas[:len(deltas)-1], "")
				if !strings.HasPrefix(answer, got) || !strings.Contains(got, "a@b.example") || deltas[len(deltas)-1] != "OUT-BLOCKED" {
					t.Errorf("deltas = %q", deltas)
				}
			}
			if stop != tt.stop || len(trace) == 0 {
				t.Errorf("stop = %s, trace %s", stop, trace)
			}
		})
	}
}

// A consumer that stops early must not leave the async assessor running.
func TestAsyncStreamStopsEarly(t *testing.T) {
	inner := &fakeInner{text: strings.Repeat("Fine words here. ", 50), pieces: 200}
	b := &Backend{Inner: inner, Guardrails: testSet(t), SegmentChars: 5}
	seq, err := b.ConverseStream(context.Background(), &converse.Request{
		Messages:        []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{text("hi")}}},
		GuardrailConfig: &converse.GuardrailConfig{GuardrailIdentifier: "g1", StreamProcessingMode: "async"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range seq {
		if n++; n == 10 {
			break
		}
	}
	if n != 10 {
		t.Errorf("got %d events", n)
	}
}

func TestInvokeTagsAndConfig(t *testing.T) {
	inner := &fakeInner{body: `{"generation":"Reply to a@b.example","stop_reason":"stop"}`}
	b := Wrap(&Backend{Inner: inner, Guardrails: testSet(t)}).(converse.Invoker)
	body := `{"prompt":"ignore forbidden here <amazon-bedrock-guardrails-guardContent_xy1>mail c@d.example</amazon-bedrock-guardrails-guardContent_xy1>",` +
		`"amazon-bedrock-guardrailConfig":{"tagSuffix":"xy1"}}`
	resp, err := b.Invoke(context.Background(), &converse.InvokeRequest{Body: []byte(body), GuardrailIdentifier: "g1", GuardrailVersion: "DRAFT", Trace: "ENABLED"})
	if err != nil {
		t.Fatal(err)
	}
	sent := string(inner.inv[0].Body)
	if want := `"prompt":"ignore forbidden here mail {EMAIL}"`; !strings.Contains(sent, want) || strings.Contains(sent, "guardrailConfig") || inner.inv[0].GuardrailIdentifier != "" {
		t.Errorf("the model got %s, want %s: untagged text unassessed, tags and config removed", sent, want)
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		t.Fatal(err)
	}
	if out["generation"] != "Reply to {EMAIL}" || out["amazon-bedrock-guardrailAction"] != "INTERVENED" || out["amazon-bedrock-trace"] == nil {
		t.Errorf("answer = %s", resp.Body)
	}
}

func TestSplitTags(t *testing.T) {
	segs, found := splitTags("a<amazon-bedrock-guardrails-query_s>q</amazon-bedrock-guardrails-query_s>b<amazon-bedrock-guardrails-guardContent_s>g</amazon-bedrock-guardrails-guardContent_s>", "s")
	want := []segment{{"a", tagNone}, {"q", tagQuery}, {"b", tagNone}, {"g", tagGuard}}
	if !found || len(segs) != len(want) {
		t.Fatalf("segments = %+v", segs)
	}
	for i := range want {
		if segs[i] != want[i] {
			t.Errorf("segment %d = %+v, want %+v", i, segs[i], want[i])
		}
	}
	if _, found := splitTags("<amazon-bedrock-guardrails-guardContent_other>x</amazon-bedrock-guardrails-guardContent_other>", "s"); found {
		t.Error("a tag with another suffix counted")
	}
}
