package config

import (
	"strings"
	"testing"
)

func TestExampleGuardrailsLoad(t *testing.T) {
	t.Setenv("EXAMPLE_API_KEY", "x")
	c, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g := c.Guardrails["support01"]
	if g == nil || g.Name != "support-guardrail" || g.Classifier == nil || g.Classifier.Model != haiku {
		t.Fatalf("support01 = %+v", g)
	}
	if got := g.SensitiveInformationPolicyConfig.PiiEntitiesConfig[0]; got.Type != "EMAIL" || got.Action != "ANONYMIZE" {
		t.Errorf("first PII entity = %+v", got)
	}
	if v, ok := g.Version("1"); !ok || v.SensitiveInformationPolicyConfig.PiiEntitiesConfig[0].Action != "BLOCK" {
		t.Errorf("version 1 = %+v, %v", v, ok)
	}
}

func TestGuardrailConfigErrors(t *testing.T) {
	const models = "models:\n  my-judge: {backend: test}\n  \"*\": {backend: test}\n"
	const base = "    name: g\n    blockedInputMessaging: in\n    blockedOutputsMessaging: out\n"
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error; nil: loads
	}{
		{"words only needs no classifier", "guardrails:\n  abc123:\n" + base + "    wordPolicyConfig: {wordsConfig: [{text: foo}]}\n", nil},
		{"classifier policy with a custom model", "guardrails:\n  abc123:\n" + base +
			"    contentPolicyConfig: {filtersConfig: [{type: HATE, inputStrength: HIGH, outputStrength: HIGH}]}\n    classifier: {model: my-judge}\n", nil},
		{"classifier through the wildcard", "guardrails:\n  abc123:\n" + base +
			"    topicPolicyConfig: {topicsConfig: [{name: t, definition: d, type: DENY}]}\n    classifier: {model: us.anthropic.claude-3-haiku-20240307-v1:0}\n", nil},
		{"limit names the field path", "guardrails:\n  abc123:\n" + base +
			"    contentPolicyConfig: {filtersConfig: [{type: HATRED, inputStrength: HIGH, outputStrength: HIGH}]}\n    classifier: {model: my-judge}\n",
			[]string{`guardrails["abc123"].contentPolicyConfig.filtersConfig.0.type`}},
		{"missing blocked message", "guardrails:\n  abc123:\n    name: g\n    blockedOutputsMessaging: out\n    wordPolicyConfig: {wordsConfig: [{text: foo}]}\n",
			[]string{`guardrails["abc123"].blockedInputMessaging`}},
		{"classifier policy without classifier", "guardrails:\n  abc123:\n" + base +
			"    contentPolicyConfig: {filtersConfig: [{type: HATE, inputStrength: HIGH, outputStrength: HIGH}]}\n",
			[]string{`guardrails["abc123"].classifier: required`, "contentPolicyConfig"}},
		{"version with classifier policy needs one too", "guardrails:\n  abc123:\n" + base +
			"    wordPolicyConfig: {wordsConfig: [{text: foo}]}\n    versions:\n      \"1\":\n" +
			"        name: g\n        blockedInputMessaging: in\n        blockedOutputsMessaging: out\n" +
			"        topicPolicyConfig: {topicsConfig: [{name: t, definition: d, type: DENY}]}\n",
			[]string{`guardrails["abc123"].classifier: required`, "versions.1.topicPolicyConfig"}},
		{"classifier model not served", "guardrails:\n  abc123:\n" + base +
			"    contentPolicyConfig: {filtersConfig: [{type: HATE, inputStrength: HIGH, outputStrength: HIGH}]}\n    classifier: {model: nobody}\n",
			[]string{`guardrails["abc123"].classifier.model: "nobody" is not a model`}},
		{"bad identifier", "guardrails:\n  Bad-ID:\n" + base + "    wordPolicyConfig: {wordsConfig: [{text: foo}]}\n",
			[]string{`guardrails["Bad-ID"]: a guardrail identifier`}},
		{"unknown field names its line", "guardrails:\n  abc123:\n" + base + "    colour: blue\n", []string{"colour"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(models+tt.yaml), "test.yaml")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
