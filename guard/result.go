package guard

import "github.com/converse-project/converse"

// Source says whose content is evaluated: the user's (INPUT) or the model's
// (OUTPUT); ApplyGuardrail's "source" (§2.1).
type Source string

// The two sources.
const (
	SourceInput  Source = "INPUT"
	SourceOutput Source = "OUTPUT"
)

// Scope is ApplyGuardrail's outputScope: INTERVENTIONS (the default, also
// the zero value) lists only detected entries; FULL also lists the entries
// that found nothing, except for words and regexes (§2.1). Converse's
// trace "enabled_full" corresponds to FULL.
type Scope string

// The two scopes.
const (
	ScopeInterventions Scope = "INTERVENTIONS"
	ScopeFull          Scope = "FULL"
)

// Content is one GuardrailContentBlock / GuardrailConverseContentBlock: a
// text with optional qualifiers, or a png or jpeg image (§2.1, §3.2). It is
// the root package's type, so blocks decoded by the wire package pass
// straight through.
type Content = converse.GuardContent

// Qualifiers a text block can carry (§2.4).
const (
	QualifierGroundingSource = "grounding_source"
	QualifierQuery           = "query"
	QualifierGuardContent    = "guard_content"
)

// Result is ApplyGuardrail's response body (§2.2), ready to be serialised as
// it is. For a Converse trace, Assessments[0] is the assessment to put under
// the guardrail's ID.
type Result struct {
	// Action is GUARDRAIL_INTERVENED when anything was blocked or masked,
	// else NONE; detect-mode hits do not intervene (§4.7).
	Action string `json:"action"`
	// ActionReason is "Guardrail blocked.", "Guardrail masked." or "No action.".
	ActionReason string `json:"actionReason,omitempty"`
	// Outputs is empty without intervention; the blocked message alone when
	// blocked; otherwise one masked text per input text block, in order.
	Outputs []Output `json:"outputs"`
	// Output repeats Outputs under the legacy key AWS has been seen sending
	// (§2.2), for lenient clients.
	Output            []Output     `json:"output"`
	Assessments       []Assessment `json:"assessments"`
	Usage             Usage        `json:"usage"`
	GuardrailCoverage Coverage     `json:"guardrailCoverage"`
}

// Output is one GuardrailOutputContent.
type Output struct {
	Text string `json:"text"`
}

// Values of Result.Action and Result.ActionReason.
const (
	ResultIntervened = "GUARDRAIL_INTERVENED"
	ResultNone       = "NONE"

	ReasonBlocked = "Guardrail blocked."
	ReasonMasked  = "Guardrail masked."
	ReasonNone    = "No action."
)

// Blocked reports whether some policy blocked the content, as opposed to
// only masking it: Outputs then holds the blocked message.
func (r *Result) Blocked() bool { return r.ActionReason == ReasonBlocked }

// Masked reports whether the content was masked and not blocked: Outputs
// then holds one masked text per input text block.
func (r *Result) Masked() bool { return r.ActionReason == ReasonMasked }

// Assessment is GuardrailAssessment (§2.3). A policy object is nil when it
// has nothing to list for the scope; InvocationMetrics is always set.
type Assessment struct {
	TopicPolicy                *TopicPolicyAssessment     `json:"topicPolicy,omitempty"`
	ContentPolicy              *ContentPolicyAssessment   `json:"contentPolicy,omitempty"`
	WordPolicy                 *WordPolicyAssessment      `json:"wordPolicy,omitempty"`
	SensitiveInformationPolicy *SensitiveInfoAssessment   `json:"sensitiveInformationPolicy,omitempty"`
	ContextualGroundingPolicy  *GroundingPolicyAssessment `json:"contextualGroundingPolicy,omitempty"`
	InvocationMetrics          *InvocationMetrics         `json:"invocationMetrics,omitempty"`
}

// TopicPolicyAssessment lists denied-topic entries.
type TopicPolicyAssessment struct {
	Topics []TopicEntry `json:"topics"`
}

// TopicEntry is one GuardrailTopic.
type TopicEntry struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Action   string `json:"action"`
	Detected bool   `json:"detected"`
}

// ContentPolicyAssessment lists content-filter entries.
type ContentPolicyAssessment struct {
	Filters []ContentFilterEntry `json:"filters"`
}

// ContentFilterEntry is one GuardrailContentFilter.
type ContentFilterEntry struct {
	Type           string `json:"type"`
	Confidence     string `json:"confidence"`
	FilterStrength string `json:"filterStrength,omitempty"`
	Action         string `json:"action"`
	Detected       bool   `json:"detected"`
}

// WordPolicyAssessment lists word hits; both lists are always present.
type WordPolicyAssessment struct {
	CustomWords      []CustomWordEntry  `json:"customWords"`
	ManagedWordLists []ManagedWordEntry `json:"managedWordLists"`
}

// CustomWordEntry is one GuardrailCustomWord hit; Match is the text as it
// appeared in the content.
type CustomWordEntry struct {
	Match    string `json:"match"`
	Action   string `json:"action"`
	Detected bool   `json:"detected"`
}

// ManagedWordEntry is one GuardrailManagedWord hit.
type ManagedWordEntry struct {
	Match    string `json:"match"`
	Type     string `json:"type"`
	Action   string `json:"action"`
	Detected bool   `json:"detected"`
}

// SensitiveInfoAssessment lists PII and regex hits; both lists are always
// present.
type SensitiveInfoAssessment struct {
	PiiEntities []PiiEntry   `json:"piiEntities"`
	Regexes     []RegexEntry `json:"regexes"`
}

// PiiEntry is one GuardrailPiiEntityFilter: one entry per occurrence, with
// the raw matched text (§4.4: the trace keeps the original value).
type PiiEntry struct {
	Match    string `json:"match"`
	Type     string `json:"type"`
	Action   string `json:"action"`
	Detected bool   `json:"detected"`
}

// RegexEntry is one GuardrailRegexFilter hit.
type RegexEntry struct {
	Name     string `json:"name,omitempty"`
	Regex    string `json:"regex,omitempty"`
	Match    string `json:"match,omitempty"`
	Action   string `json:"action"`
	Detected bool   `json:"detected"`
}

// GroundingPolicyAssessment lists contextual-grounding entries.
type GroundingPolicyAssessment struct {
	Filters []GroundingEntry `json:"filters"`
}

// GroundingEntry is one GuardrailContextualGroundingFilter.
type GroundingEntry struct {
	Type      string  `json:"type"`
	Threshold float64 `json:"threshold"`
	Score     float64 `json:"score"`
	Action    string  `json:"action"`
	Detected  bool    `json:"detected"`
}

// InvocationMetrics is GuardrailInvocationMetrics.
type InvocationMetrics struct {
	GuardrailProcessingLatency int64    `json:"guardrailProcessingLatency"`
	Usage                      Usage    `json:"usage"`
	GuardrailCoverage          Coverage `json:"guardrailCoverage"`
}

// Usage is GuardrailUsage: text units per policy (§4.8). All nine counters
// are always sent, as AWS does.
type Usage struct {
	TopicPolicyUnits                    int `json:"topicPolicyUnits"`
	ContentPolicyUnits                  int `json:"contentPolicyUnits"`
	WordPolicyUnits                     int `json:"wordPolicyUnits"`
	SensitiveInformationPolicyUnits     int `json:"sensitiveInformationPolicyUnits"`
	SensitiveInformationPolicyFreeUnits int `json:"sensitiveInformationPolicyFreeUnits"`
	ContextualGroundingPolicyUnits      int `json:"contextualGroundingPolicyUnits"`
	ContentPolicyImageUnits             int `json:"contentPolicyImageUnits"`
	AutomatedReasoningPolicyUnits       int `json:"automatedReasoningPolicyUnits"`
	AutomatedReasoningPolicies          int `json:"automatedReasoningPolicies"`
}

// Coverage is GuardrailCoverage: how much of the content was evaluated.
// Images is nil when the request held no image.
type Coverage struct {
	TextCharacters *Counts `json:"textCharacters,omitempty"`
	Images         *Counts `json:"images,omitempty"`
}

// Counts is a guarded/total pair of characters or images.
type Counts struct {
	Guarded int `json:"guarded"`
	Total   int `json:"total"`
}

// Entry actions in assessments (§2.3).
const (
	EntryBlocked    = "BLOCKED"
	EntryAnonymized = "ANONYMIZED"
	EntryNone       = "NONE"
)
