package guard

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Guardrail is one guardrail as an operator configures it: the body of
// Bedrock's CreateGuardrail (guardrails.md §1.2), with the same field names in
// JSON and YAML so a CreateGuardrail body can be pasted in, plus the frozen
// numbered versions. The top-level fields are the DRAFT; Versions maps a
// version number ("1" … "99999999") to that version's complete definition,
// as CreateGuardrailVersion would have frozen it (§1.10). A version holds no
// versions of its own.
//
// A Guardrail is inert data until Load succeeds; after that it must not be
// modified, and Apply may be called from many goroutines at once.
type Guardrail struct {
	Name                             string                            `json:"name" yaml:"name"`
	Description                      string                            `json:"description,omitempty" yaml:"description,omitempty"`
	BlockedInputMessaging            string                            `json:"blockedInputMessaging" yaml:"blockedInputMessaging"`
	BlockedOutputsMessaging          string                            `json:"blockedOutputsMessaging" yaml:"blockedOutputsMessaging"`
	TopicPolicyConfig                *TopicPolicyConfig                `json:"topicPolicyConfig,omitempty" yaml:"topicPolicyConfig,omitempty"`
	ContentPolicyConfig              *ContentPolicyConfig              `json:"contentPolicyConfig,omitempty" yaml:"contentPolicyConfig,omitempty"`
	WordPolicyConfig                 *WordPolicyConfig                 `json:"wordPolicyConfig,omitempty" yaml:"wordPolicyConfig,omitempty"`
	SensitiveInformationPolicyConfig *SensitiveInformationPolicyConfig `json:"sensitiveInformationPolicyConfig,omitempty" yaml:"sensitiveInformationPolicyConfig,omitempty"`
	ContextualGroundingPolicyConfig  *ContextualGroundingPolicyConfig  `json:"contextualGroundingPolicyConfig,omitempty" yaml:"contextualGroundingPolicyConfig,omitempty"`
	AutomatedReasoningPolicyConfig   *AutomatedReasoningPolicyConfig   `json:"automatedReasoningPolicyConfig,omitempty" yaml:"automatedReasoningPolicyConfig,omitempty"`
	CrossRegionConfig                *CrossRegionConfig                `json:"crossRegionConfig,omitempty" yaml:"crossRegionConfig,omitempty"`
	KmsKeyID                         string                            `json:"kmsKeyId,omitempty" yaml:"kmsKeyId,omitempty"`
	Tags                             []Tag                             `json:"tags,omitempty" yaml:"tags,omitempty"`
	ClientRequestToken               string                            `json:"clientRequestToken,omitempty" yaml:"clientRequestToken,omitempty"`

	// Versions holds the numbered versions, keyed by their number.
	Versions map[string]*Guardrail `json:"versions,omitempty" yaml:"versions,omitempty"`

	compiled *policies // set by Load
}

// TopicPolicyConfig is GuardrailTopicPolicyConfig (§1.4).
type TopicPolicyConfig struct {
	TopicsConfig []TopicConfig `json:"topicsConfig" yaml:"topicsConfig"`
	TierConfig   *TierConfig   `json:"tierConfig,omitempty" yaml:"tierConfig,omitempty"`
}

// TopicConfig is one denied topic.
type TopicConfig struct {
	Name        string   `json:"name" yaml:"name"`
	Definition  string   `json:"definition" yaml:"definition"`
	Examples    []string `json:"examples,omitempty" yaml:"examples,omitempty"`
	Type        string   `json:"type" yaml:"type"` // DENY, the only value
	SideActions `yaml:",inline"`
}

// ContentPolicyConfig is GuardrailContentPolicyConfig (§1.3).
type ContentPolicyConfig struct {
	FiltersConfig []ContentFilterConfig `json:"filtersConfig" yaml:"filtersConfig"`
	TierConfig    *TierConfig           `json:"tierConfig,omitempty" yaml:"tierConfig,omitempty"`
}

// ContentFilterConfig is one content-filter category with its strengths.
type ContentFilterConfig struct {
	Type             string   `json:"type" yaml:"type"`
	InputStrength    string   `json:"inputStrength" yaml:"inputStrength"`
	OutputStrength   string   `json:"outputStrength" yaml:"outputStrength"`
	InputModalities  []string `json:"inputModalities,omitempty" yaml:"inputModalities,omitempty"`
	OutputModalities []string `json:"outputModalities,omitempty" yaml:"outputModalities,omitempty"`
	SideActions      `yaml:",inline"`
}

// TierConfig selects the CLASSIC or STANDARD safeguard tier (§1.9). The
// local engine judges both tiers with the same classifier; the tier only
// changes the limits checked on load.
type TierConfig struct {
	TierName string `json:"tierName" yaml:"tierName"`
}

// WordPolicyConfig is GuardrailWordPolicyConfig (§1.5).
type WordPolicyConfig struct {
	WordsConfig            []WordConfig            `json:"wordsConfig,omitempty" yaml:"wordsConfig,omitempty"`
	ManagedWordListsConfig []ManagedWordListConfig `json:"managedWordListsConfig,omitempty" yaml:"managedWordListsConfig,omitempty"`
}

// WordConfig is one custom word or phrase.
type WordConfig struct {
	Text        string `json:"text" yaml:"text"`
	SideActions `yaml:",inline"`
}

// ManagedWordListConfig enables a managed word list; PROFANITY is the only one.
type ManagedWordListConfig struct {
	Type        string `json:"type" yaml:"type"`
	SideActions `yaml:",inline"`
}

// SensitiveInformationPolicyConfig is GuardrailSensitiveInformationPolicyConfig (§1.6).
type SensitiveInformationPolicyConfig struct {
	PiiEntitiesConfig []PiiEntityConfig `json:"piiEntitiesConfig,omitempty" yaml:"piiEntitiesConfig,omitempty"`
	RegexesConfig     []RegexConfig     `json:"regexesConfig,omitempty" yaml:"regexesConfig,omitempty"`
}

// PiiEntityConfig is one PII entity type and what to do with it. Action is
// the required per-entity action; InputAction and OutputAction override it
// for one side.
type PiiEntityConfig struct {
	Type        string `json:"type" yaml:"type"`
	Action      string `json:"action" yaml:"action"`
	SideActions `yaml:",inline"`
}

// RegexConfig is one custom regex (RE2 syntax, which like Bedrock has no
// lookaround, §4.4). Masks read {Name}.
type RegexConfig struct {
	Name        string `json:"name" yaml:"name"`
	Pattern     string `json:"pattern" yaml:"pattern"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	Action      string `json:"action" yaml:"action"`
	SideActions `yaml:",inline"`
}

// ContextualGroundingPolicyConfig is GuardrailContextualGroundingPolicyConfig (§1.7).
type ContextualGroundingPolicyConfig struct {
	FiltersConfig []GroundingFilterConfig `json:"filtersConfig" yaml:"filtersConfig"`
}

// GroundingFilterConfig is a GROUNDING or RELEVANCE threshold. Enabled
// defaults to true and Action to BLOCK.
type GroundingFilterConfig struct {
	Type      string  `json:"type" yaml:"type"`
	Threshold float64 `json:"threshold" yaml:"threshold"`
	Action    string  `json:"action,omitempty" yaml:"action,omitempty"`
	Enabled   *bool   `json:"enabled,omitempty" yaml:"enabled,omitempty"`
}

// AutomatedReasoningPolicyConfig is accepted and checked so a CreateGuardrail
// body can be pasted, but Load refuses it: the engine has no formal-logic
// backend (§4.6).
type AutomatedReasoningPolicyConfig struct {
	Policies            []string `json:"policies" yaml:"policies"`
	ConfidenceThreshold *float64 `json:"confidenceThreshold,omitempty" yaml:"confidenceThreshold,omitempty"`
}

// CrossRegionConfig names the guardrail profile Bedrock requires for the
// STANDARD tier. It is checked, then ignored: everything runs locally.
type CrossRegionConfig struct {
	GuardrailProfileIdentifier string `json:"guardrailProfileIdentifier" yaml:"guardrailProfileIdentifier"`
}

// Tag is a resource tag; kept only so CreateGuardrail bodies load.
type Tag struct {
	Key   string `json:"key" yaml:"key"`
	Value string `json:"value" yaml:"value"`
}

// SideActions are the per-side fields every rule shares (§1.2): the action
// and whether the rule runs at all on input and on output. Omitted actions
// default to the rule's Action, else BLOCK; omitted Enabled means true.
// A disabled side is neither evaluated, billed nor reported.
type SideActions struct {
	InputAction   string `json:"inputAction,omitempty" yaml:"inputAction,omitempty"`
	OutputAction  string `json:"outputAction,omitempty" yaml:"outputAction,omitempty"`
	InputEnabled  *bool  `json:"inputEnabled,omitempty" yaml:"inputEnabled,omitempty"`
	OutputEnabled *bool  `json:"outputEnabled,omitempty" yaml:"outputEnabled,omitempty"`
}

// side returns the action and enabled flag for one side; def is the rule's
// own Action ("" when the rule has none).
func (s SideActions) side(src Source, def string) (action string, enabled bool) {
	action, on := s.InputAction, s.InputEnabled
	if src == SourceOutput {
		action, on = s.OutputAction, s.OutputEnabled
	}
	if action == "" {
		action = def
	}
	if action == "" {
		action = ActionBlock
	}
	return action, on == nil || *on
}

// Actions a rule can take (§1.2).
const (
	ActionBlock     = "BLOCK"
	ActionAnonymize = "ANONYMIZE"
	ActionNone      = "NONE"
)

// Parse decodes one guardrail from JSON (a CreateGuardrail body, optionally
// with "versions"), rejecting unknown fields, and checks it against
// Bedrock's limits. The result still needs Load before Apply.
func Parse(data []byte) (*Guardrail, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g Guardrail
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("guard: decode guardrail: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("guard: decode guardrail: trailing data after the object")
	}
	if err := g.Check(); err != nil {
		return nil, err
	}
	return &g, nil
}

// Version returns the definition a request naming version v gets: the DRAFT
// for "" or "DRAFT" (ApplyGuardrail's pattern admits an empty version, §2.1),
// else the numbered version. ok is false for a version that does not exist,
// which the caller reports as ResourceNotFoundException.
func (g *Guardrail) Version(v string) (version *Guardrail, ok bool) {
	if v == "" || v == "DRAFT" {
		return g, true
	}
	version, ok = g.Versions[v]
	return version, ok && version != nil
}
