package guard

import (
	"context"
	"strings"
	"testing"
)

// benchText is about 2 KB of support-chat text with PII and listed words.
func benchText() string {
	para := "Hi, my name is John Smith and my email is john.smith@example.com. " +
		"Please charge card 4111 1111 1111 1111, exp 09/27, and call me on +1 (555) 123-4567. " +
		"My SSN is 123-45-6789 and the server is 10.0.0.1. Is competitorX cheaper? This is shitty service. "
	var b strings.Builder
	for b.Len() < 2048 {
		b.WriteString(para)
	}
	return b.String()[:2048]
}

func benchGuardrail(b *testing.B) *Guardrail {
	g := &Guardrail{Name: "bench", BlockedInputMessaging: "in", BlockedOutputsMessaging: "out",
		WordPolicyConfig: &WordPolicyConfig{WordsConfig: []WordConfig{{Text: "competitorX"}, {Text: "secret project"}},
			ManagedWordListsConfig: []ManagedWordListConfig{{Type: "PROFANITY", SideActions: SideActions{InputAction: ActionNone}}}},
		SensitiveInformationPolicyConfig: &SensitiveInformationPolicyConfig{
			RegexesConfig: []RegexConfig{{Name: "Account Number", Pattern: `\bACC-\d{6}\b`, Action: ActionAnonymize}}},
	}
	for _, typ := range PIITypes() {
		g.SensitiveInformationPolicyConfig.PiiEntitiesConfig = append(g.SensitiveInformationPolicyConfig.PiiEntitiesConfig,
			PiiEntityConfig{Type: typ, Action: ActionAnonymize})
	}
	g.WordPolicyConfig.WordsConfig[0].InputAction = ActionNone
	if err := g.Load(Options{}); err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkApply evaluates 2 KB of text against every PII type, a regex,
// custom words and the profanity list.
func BenchmarkApply(b *testing.B) {
	g := benchGuardrail(b)
	content := textContent(benchText())
	b.SetBytes(2048)
	b.ReportAllocs()
	for b.Loop() {
		r, err := g.Apply(context.Background(), SourceInput, content, "")
		if err != nil || !r.Masked() {
			b.Fatalf("result %v, err %v", r, err)
		}
	}
}

// BenchmarkApplyWords isolates the word policy on the same text.
func BenchmarkApplyWords(b *testing.B) {
	g := benchGuardrail(b)
	g.SensitiveInformationPolicyConfig = nil
	if err := g.Load(Options{}); err != nil {
		b.Fatal(err)
	}
	content := textContent(benchText())
	b.SetBytes(2048)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Apply(context.Background(), SourceInput, content, ""); err != nil {
			b.Fatal(err)
		}
	}
}
