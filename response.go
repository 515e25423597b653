package converse

import "encoding/json"

// StopReason says why the model stopped. Unknown values pass through.
type StopReason string

// The StopReason values of the 2026 service model.
const (
	StopEndTurn                    StopReason = "end_turn"
	StopToolUse                    StopReason = "tool_use"
	StopMaxTokens                  StopReason = "max_tokens"
	StopStopSequence               StopReason = "stop_sequence"
	StopGuardrailIntervened        StopReason = "guardrail_intervened"
	StopContentFiltered            StopReason = "content_filtered"
	StopMalformedModelOutput       StopReason = "malformed_model_output"
	StopMalformedToolUse           StopReason = "malformed_tool_use"
	StopModelContextWindowExceeded StopReason = "model_context_window_exceeded"
)

// Response is a ConverseResponse.
type Response struct {
	Output                        Output             `json:"output"`
	StopReason                    StopReason         `json:"stopReason"`
	Usage                         Usage              `json:"usage"`
	Metrics                       Metrics            `json:"metrics"`
	AdditionalModelResponseFields json.RawMessage    `json:"additionalModelResponseFields,omitempty"`
	Trace                         json.RawMessage    `json:"trace,omitempty"`
	PerformanceConfig             *PerformanceConfig `json:"performanceConfig,omitempty"`
	ServiceTier                   *ServiceTier       `json:"serviceTier,omitempty"`
}

// Output is the ConverseOutput union; Message is its only member.
type Output struct {
	Message *Message `json:"message,omitempty"`
}

// Usage is TokenUsage. TotalTokens is InputTokens + OutputTokens.
type Usage struct {
	InputTokens           int  `json:"inputTokens"`
	OutputTokens          int  `json:"outputTokens"`
	TotalTokens           int  `json:"totalTokens"`
	CacheReadInputTokens  *int `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens *int `json:"cacheWriteInputTokens,omitempty"`
}

// Metrics is ConverseMetrics.
type Metrics struct {
	LatencyMs int64 `json:"latencyMs"`
}
