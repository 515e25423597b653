package guard

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// validJSON is a CreateGuardrail body using every policy, as an operator
// would paste it, with one frozen version.
const validJSON = `{
  "name": "support-bot",
  "description": "Guards the support assistant",
  "blockedInputMessaging": "Sorry, I cannot help with that.",
  "blockedOutputsMessaging": "Sorry, I cannot answer that.",
  "contentPolicyConfig": {"filtersConfig": [
    {"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"},
    {"type": "PROMPT_ATTACK", "inputStrength": "HIGH", "outputStrength": "NONE"}]},
  "topicPolicyConfig": {"topicsConfig": [
    {"name": "Investment Advice", "definition": "Recommendations about investing money.", "examples": ["Should I buy gold?"], "type": "DENY"}]},
  "wordPolicyConfig": {"wordsConfig": [{"text": "competitorX"}], "managedWordListsConfig": [{"type": "PROFANITY"}]},
  "sensitiveInformationPolicyConfig": {
    "piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}, {"type": "US_SOCIAL_SECURITY_NUMBER", "action": "BLOCK", "outputAction": "ANONYMIZE"}],
    "regexesConfig": [{"name": "Account Number", "pattern": "ACC-\\d{6}", "action": "ANONYMIZE"}]},
  "contextualGroundingPolicyConfig": {"filtersConfig": [{"type": "GROUNDING", "threshold": 0.7}, {"type": "RELEVANCE", "threshold": 0.5, "action": "NONE"}]},
  "tags": [{"key": "team", "value": "support"}],
  "versions": {"1": {"name": "support-bot", "blockedInputMessaging": "No.", "blockedOutputsMessaging": "No.",
                     "wordPolicyConfig": {"wordsConfig": [{"text": "legacy"}]}}}
}`

func TestParseAcceptsCreateGuardrailBody(t *testing.T) {
	g, err := Parse([]byte(validJSON))
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "support-bot" || len(g.ContentPolicyConfig.FiltersConfig) != 2 || g.Versions["1"].WordPolicyConfig.WordsConfig[0].Text != "legacy" {
		t.Errorf("decoded %+v", g)
	}
	for _, v := range []string{"", "DRAFT", "1"} {
		if _, ok := g.Version(v); !ok {
			t.Errorf("version %q not found", v)
		}
	}
	if _, ok := g.Version("2"); ok {
		t.Error("version 2 found")
	}
}

func TestParseRejectsUnknownField(t *testing.T) {
	_, err := Parse([]byte(`{"name":"a","blockedInputMessaging":"x","blockedOutputsMessaging":"y","wordPolicy":{}}`))
	if err == nil || !strings.Contains(err.Error(), "wordPolicy") {
		t.Errorf("err = %v, want an unknown-field error naming wordPolicy", err)
	}
}

// TestYAMLDecodesSameAsJSON: the configuration embeds guardrails in YAML
// with the same field names.
func TestYAMLDecodesSameAsJSON(t *testing.T) {
	src := `
name: support-bot
blockedInputMessaging: Sorry, I cannot help with that.
blockedOutputsMessaging: Sorry, I cannot answer that.
sensitiveInformationPolicyConfig:
  piiEntitiesConfig:
    - {type: EMAIL, action: ANONYMIZE, inputEnabled: false}
versions:
  "1":
    name: support-bot
    blockedInputMessaging: "No."
    blockedOutputsMessaging: "No."
    wordPolicyConfig:
      managedWordListsConfig: [{type: PROFANITY}]
`
	var g Guardrail
	if err := yaml.Load([]byte(src), &g, yaml.WithKnownFields()); err != nil {
		t.Fatal(err)
	}
	if err := g.Load(Options{}); err != nil {
		t.Fatal(err)
	}
	e := g.SensitiveInformationPolicyConfig.PiiEntitiesConfig[0]
	if e.Type != "EMAIL" || e.InputEnabled == nil || *e.InputEnabled || g.Versions["1"].WordPolicyConfig.ManagedWordListsConfig[0].Type != "PROFANITY" {
		t.Errorf("decoded %+v", g)
	}
}

// TestCheckNamesTheField: each of Bedrock's limits fails with an error
// naming the field path.
func TestCheckNamesTheField(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name   string
		mutate func(g *Guardrail)
		path   string
	}{
		{"name with a space", func(g *Guardrail) { g.Name = "support bot" }, "name"},
		{"name over 50 characters", func(g *Guardrail) { g.Name = long(51) }, "name"},
		{"missing blocked input message", func(g *Guardrail) { g.BlockedInputMessaging = "" }, "blockedInputMessaging"},
		{"blocked output message over 500", func(g *Guardrail) { g.BlockedOutputsMessaging = long(501) }, "blockedOutputsMessaging"},
		{"description over 200", func(g *Guardrail) { g.Description = long(201) }, "description"},
		{"unknown content filter type", func(g *Guardrail) { g.ContentPolicyConfig.FiltersConfig[0].Type = "RUDENESS" }, "contentPolicyConfig.filtersConfig.0.type"},
		{"duplicate content filter", func(g *Guardrail) { g.ContentPolicyConfig.FiltersConfig[1].Type = "HATE" }, "contentPolicyConfig.filtersConfig.1.type"},
		{"prompt attack on output", func(g *Guardrail) { g.ContentPolicyConfig.FiltersConfig[1].OutputStrength = "LOW" }, "contentPolicyConfig.filtersConfig.1.outputStrength"},
		{"bad strength", func(g *Guardrail) { g.ContentPolicyConfig.FiltersConfig[0].InputStrength = "EXTREME" }, "contentPolicyConfig.filtersConfig.0.inputStrength"},
		{"bad modality", func(g *Guardrail) { g.ContentPolicyConfig.FiltersConfig[0].InputModalities = []string{"AUDIO"} }, "contentPolicyConfig.filtersConfig.0.inputModalities.0"},
		{"anonymize on a content filter", func(g *Guardrail) { g.ContentPolicyConfig.FiltersConfig[0].InputAction = "ANONYMIZE" }, "contentPolicyConfig.filtersConfig.0.inputAction"},
		{"seven content filters", func(g *Guardrail) {
			f := g.ContentPolicyConfig.FiltersConfig
			g.ContentPolicyConfig.FiltersConfig = append(f, f[0], f[0], f[0], f[0], f[0])
		}, "contentPolicyConfig.filtersConfig"},
		{"topic definition over 200 on CLASSIC", func(g *Guardrail) { g.TopicPolicyConfig.TopicsConfig[0].Definition = long(201) }, "topicPolicyConfig.topicsConfig.0.definition"},
		{"six topic examples", func(g *Guardrail) {
			g.TopicPolicyConfig.TopicsConfig[0].Examples = []string{"a", "b", "c", "d", "e", "f"}
		}, "topicPolicyConfig.topicsConfig.0.examples"},
		{"topic example over 100", func(g *Guardrail) { g.TopicPolicyConfig.TopicsConfig[0].Examples = []string{long(101)} }, "topicPolicyConfig.topicsConfig.0.examples.0"},
		{"topic name with a comma", func(g *Guardrail) { g.TopicPolicyConfig.TopicsConfig[0].Name = "Money, advice" }, "topicPolicyConfig.topicsConfig.0.name"},
		{"topic type ALLOW", func(g *Guardrail) { g.TopicPolicyConfig.TopicsConfig[0].Type = "ALLOW" }, "topicPolicyConfig.topicsConfig.0.type"},
		{"31 topics", func(g *Guardrail) {
			for i := range 30 {
				g.TopicPolicyConfig.TopicsConfig = append(g.TopicPolicyConfig.TopicsConfig, TopicConfig{Name: "t" + long(i+1), Definition: "d", Type: "DENY"})
			}
		}, "topicPolicyConfig.topicsConfig"},
		{"STANDARD tier without cross-Region profile", func(g *Guardrail) { g.TopicPolicyConfig.TierConfig = &TierConfig{TierName: "STANDARD"} }, "topicPolicyConfig.tierConfig.tierName"},
		{"word over 100 characters", func(g *Guardrail) { g.WordPolicyConfig.WordsConfig[0].Text = long(101) }, "wordPolicyConfig.wordsConfig.0.text"},
		{"word of punctuation only", func(g *Guardrail) { g.WordPolicyConfig.WordsConfig[0].Text = "!!!" }, "wordPolicyConfig.wordsConfig.0.text"},
		{"managed list other than PROFANITY", func(g *Guardrail) { g.WordPolicyConfig.ManagedWordListsConfig[0].Type = "SLURS" }, "wordPolicyConfig.managedWordListsConfig.0.type"},
		{"unknown PII type", func(g *Guardrail) { g.SensitiveInformationPolicyConfig.PiiEntitiesConfig[0].Type = "SHOE_SIZE" }, "sensitiveInformationPolicyConfig.piiEntitiesConfig.0.type"},
		{"PII without action", func(g *Guardrail) { g.SensitiveInformationPolicyConfig.PiiEntitiesConfig[0].Action = "" }, "sensitiveInformationPolicyConfig.piiEntitiesConfig.0.action"},
		{"regex with lookahead", func(g *Guardrail) { g.SensitiveInformationPolicyConfig.RegexesConfig[0].Pattern = `a(?=b)` }, "sensitiveInformationPolicyConfig.regexesConfig.0.pattern"},
		{"regex pattern over 500", func(g *Guardrail) { g.SensitiveInformationPolicyConfig.RegexesConfig[0].Pattern = long(501) }, "sensitiveInformationPolicyConfig.regexesConfig.0.pattern"},
		{"eleven regexes", func(g *Guardrail) {
			r := g.SensitiveInformationPolicyConfig.RegexesConfig[0]
			for range 10 {
				g.SensitiveInformationPolicyConfig.RegexesConfig = append(g.SensitiveInformationPolicyConfig.RegexesConfig, r)
			}
		}, "sensitiveInformationPolicyConfig.regexesConfig"},
		{"grounding threshold of 1", func(g *Guardrail) { g.ContextualGroundingPolicyConfig.FiltersConfig[0].Threshold = 1 }, "contextualGroundingPolicyConfig.filtersConfig.0.threshold"},
		{"grounding type unknown", func(g *Guardrail) { g.ContextualGroundingPolicyConfig.FiltersConfig[0].Type = "TRUTH" }, "contextualGroundingPolicyConfig.filtersConfig.0.type"},
		{"no policy at all", func(g *Guardrail) {
			*g = Guardrail{Name: "empty", BlockedInputMessaging: "x", BlockedOutputsMessaging: "y"}
		}, "(policies)"},
		{"version that is not a number", func(g *Guardrail) { g.Versions["DRAFT"] = g.Versions["1"] }, "versions.DRAFT"},
		{"field of a numbered version", func(g *Guardrail) { g.Versions["1"].Name = "bad name" }, "versions.1.name"},
		{"21 versions", func(g *Guardrail) {
			for i := 2; i <= 21; i++ {
				g.Versions[strconv.Itoa(i)] = g.Versions["1"]
			}
		}, "versions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse([]byte(validJSON))
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(g)
			err = g.Check()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Check() = %v, want a *FieldError", err)
			}
			if !strings.Contains(err.Error(), "guard: "+tt.path+": ") {
				t.Errorf("Check() = %v, want an error naming %s", err, tt.path)
			}
		})
	}
}

func TestCheckAcceptsStandardTierLimits(t *testing.T) {
	g, err := Parse([]byte(validJSON))
	if err != nil {
		t.Fatal(err)
	}
	g.CrossRegionConfig = &CrossRegionConfig{GuardrailProfileIdentifier: "us.guardrail.v1:0"}
	g.TopicPolicyConfig.TierConfig = &TierConfig{TierName: "STANDARD"}
	g.TopicPolicyConfig.TopicsConfig[0].Definition = strings.Repeat("a", 1000)
	if err := g.Check(); err != nil {
		t.Errorf("Check() = %v; STANDARD allows 1,000-character definitions", err)
	}
}

// TestLoadRefusesUncheckedPolicies: a guardrail never claims a check it
// cannot make.
func TestLoadRefusesUncheckedPolicies(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(g *Guardrail)
		want   string
	}{
		{"content, topics and grounding without classifier", func(*Guardrail) {}, "contentPolicyConfig, topicPolicyConfig, contextualGroundingPolicyConfig need a classifier"},
		{"version needing a classifier", func(g *Guardrail) {
			g.ContentPolicyConfig, g.TopicPolicyConfig, g.ContextualGroundingPolicyConfig = nil, nil, nil
			g.Versions["1"].TopicPolicyConfig = &TopicPolicyConfig{TopicsConfig: []TopicConfig{{Name: "x", Definition: "y", Type: "DENY"}}}
		}, "versions.1.topicPolicyConfig need a classifier"},
		{"automated reasoning", func(g *Guardrail) {
			g.ContentPolicyConfig, g.TopicPolicyConfig, g.ContextualGroundingPolicyConfig = nil, nil, nil
			g.AutomatedReasoningPolicyConfig = &AutomatedReasoningPolicyConfig{Policies: []string{"arn:aws:bedrock:us-east-1:123456789012:automated-reasoning-policy/abcdefghijkl:1"}}
		}, "automatedReasoningPolicyConfig: automated reasoning checks are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse([]byte(validJSON))
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(g)
			if err := g.Load(Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() = %v, want %q", err, tt.want)
			}
		})
	}
}
