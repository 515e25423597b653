package converse

import (
	"encoding/json"
	"iter"
	"strings"
)

// StreamEvent is one ConverseStreamOutput event: exactly one field is set.
type StreamEvent struct {
	MessageStart      *MessageStartEvent
	ContentBlockStart *ContentBlockStartEvent
	ContentBlockDelta *ContentBlockDeltaEvent
	ContentBlockStop  *ContentBlockStopEvent
	MessageStop       *MessageStopEvent
	Metadata          *MetadataEvent
}

// Type is the event's name on the wire (its :event-type header).
func (e StreamEvent) Type() string {
	switch {
	case e.MessageStart != nil:
		return "messageStart"
	case e.ContentBlockStart != nil:
		return "contentBlockStart"
	case e.ContentBlockDelta != nil:
		return "contentBlockDelta"
	case e.ContentBlockStop != nil:
		return "contentBlockStop"
	case e.MessageStop != nil:
		return "messageStop"
	case e.Metadata != nil:
		return "metadata"
	}
	return ""
}

// Payload is the value whose JSON is the event's payload.
func (e StreamEvent) Payload() any {
	switch {
	case e.MessageStart != nil:
		return e.MessageStart
	case e.ContentBlockStart != nil:
		return e.ContentBlockStart
	case e.ContentBlockDelta != nil:
		return e.ContentBlockDelta
	case e.ContentBlockStop != nil:
		return e.ContentBlockStop
	case e.MessageStop != nil:
		return e.MessageStop
	case e.Metadata != nil:
		return e.Metadata
	}
	return nil
}

// MessageStartEvent opens the assistant message.
type MessageStartEvent struct {
	Role Role `json:"role"`
}

// ContentBlockStartEvent opens a block that has a start (tool use, tool
// result, image). Text and reasoning blocks have none: Bedrock goes straight
// to their deltas.
type ContentBlockStartEvent struct {
	ContentBlockIndex int               `json:"contentBlockIndex"`
	Start             ContentBlockStart `json:"start"`
}

// ContentBlockStart is the ContentBlockStart union.
type ContentBlockStart struct {
	ToolUse    *ToolUseStart    `json:"toolUse,omitempty"`
	ToolResult *ToolResultStart `json:"toolResult,omitempty"`
	Image      *ImageStart      `json:"image,omitempty"`
}

// ToolUseStart names the tool a toolUse block calls.
type ToolUseStart struct {
	ToolUseID string `json:"toolUseId"`
	Name      string `json:"name"`
	Type      string `json:"type,omitempty"`
}

// ToolResultStart opens a toolResult block.
type ToolResultStart struct {
	ToolUseID string `json:"toolUseId"`
	Type      string `json:"type,omitempty"`
	Status    string `json:"status,omitempty"`
}

// ImageStart opens an image block.
type ImageStart struct {
	Format string `json:"format"`
}

// ContentBlockDeltaEvent carries part of a block.
type ContentBlockDeltaEvent struct {
	ContentBlockIndex int   `json:"contentBlockIndex"`
	Delta             Delta `json:"delta"`
}

// Delta is the ContentBlockDelta union.
type Delta struct {
	Text             *string         `json:"text,omitempty"`
	ToolUse          *ToolUseDelta   `json:"toolUse,omitempty"`
	ReasoningContent *ReasoningDelta `json:"reasoningContent,omitempty"`
	Citation         json.RawMessage `json:"citation,omitempty"`
	ToolResult       json.RawMessage `json:"toolResult,omitempty"`
}

// ToolUseDelta is a fragment of a tool call's JSON input.
type ToolUseDelta struct {
	Input string `json:"input"`
}

// ReasoningDelta is the ReasoningContentBlockDelta union.
type ReasoningDelta struct {
	Text            *string `json:"text,omitempty"`
	RedactedContent []byte  `json:"redactedContent,omitempty"`
	Signature       *string `json:"signature,omitempty"`
}

// ContentBlockStopEvent closes a block.
type ContentBlockStopEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
}

// MessageStopEvent ends the message.
type MessageStopEvent struct {
	StopReason                    StopReason      `json:"stopReason"`
	AdditionalModelResponseFields json.RawMessage `json:"additionalModelResponseFields,omitempty"`
}

// MetadataEvent is always the last event: usage and metrics.
type MetadataEvent struct {
	Usage             Usage              `json:"usage"`
	Metrics           Metrics            `json:"metrics"`
	Trace             json.RawMessage    `json:"trace,omitempty"`
	PerformanceConfig *PerformanceConfig `json:"performanceConfig,omitempty"`
	ServiceTier       *ServiceTier       `json:"serviceTier,omitempty"`
}

// Events returns the event sequence Bedrock streams for a complete response:
// messageStart; for each content block its start (tool use only), one delta
// and its stop; messageStop; metadata. Backends that cannot stream serve
// ConverseStream with it.
func Events(resp *Response) []StreamEvent {
	evs := []StreamEvent{{MessageStart: &MessageStartEvent{Role: RoleAssistant}}}
	if resp.Output.Message != nil {
		for i, b := range resp.Output.Message.Content {
			switch {
			case b.Text != nil:
				evs = append(evs, StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: Delta{Text: b.Text}}})
			case b.ToolUse != nil:
				evs = append(evs,
					StreamEvent{ContentBlockStart: &ContentBlockStartEvent{ContentBlockIndex: i, Start: ContentBlockStart{ToolUse: &ToolUseStart{ToolUseID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name}}}},
					StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: Delta{ToolUse: &ToolUseDelta{Input: string(b.ToolUse.Input)}}}})
			case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
				rt := b.ReasoningContent.ReasoningText
				evs = append(evs, StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: Delta{ReasoningContent: &ReasoningDelta{Text: &rt.Text}}}})
				if rt.Signature != "" {
					evs = append(evs, StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: Delta{ReasoningContent: &ReasoningDelta{Signature: &rt.Signature}}}})
				}
			default:
				continue
			}
			evs = append(evs, StreamEvent{ContentBlockStop: &ContentBlockStopEvent{ContentBlockIndex: i}})
		}
	}
	evs = append(evs,
		StreamEvent{MessageStop: &MessageStopEvent{StopReason: resp.StopReason, AdditionalModelResponseFields: resp.AdditionalModelResponseFields}},
		StreamEvent{Metadata: &MetadataEvent{Usage: resp.Usage, Metrics: resp.Metrics, Trace: resp.Trace, PerformanceConfig: resp.PerformanceConfig, ServiceTier: resp.ServiceTier}})
	return evs
}

// Collect reads a whole event stream and assembles the Response it
// describes. It stops at the first error and returns it.
func Collect(seq iter.Seq2[StreamEvent, error]) (*Response, error) {
	type part struct {
		kind string
		text strings.Builder
		sig  string
		tool ToolUseStart
	}
	var (
		parts []*part
		resp  Response
	)
	at := func(i int) *part {
		for len(parts) <= i {
			parts = append(parts, &part{})
		}
		return parts[i]
	}
	for ev, err := range seq {
		if err != nil {
			return nil, err
		}
		switch {
		case ev.ContentBlockStart != nil && ev.ContentBlockStart.Start.ToolUse != nil:
			p := at(ev.ContentBlockStart.ContentBlockIndex)
			p.kind, p.tool = "toolUse", *ev.ContentBlockStart.Start.ToolUse
		case ev.ContentBlockDelta != nil:
			p, d := at(ev.ContentBlockDelta.ContentBlockIndex), ev.ContentBlockDelta.Delta
			switch {
			case d.Text != nil:
				p.kind = "text"
				p.text.WriteString(*d.Text)
			case d.ToolUse != nil:
				p.text.WriteString(d.ToolUse.Input)
			case d.ReasoningContent != nil:
				p.kind = "reasoning"
				if d.ReasoningContent.Text != nil {
					p.text.WriteString(*d.ReasoningContent.Text)
				}
				if d.ReasoningContent.Signature != nil {
					p.sig += *d.ReasoningContent.Signature
				}
			}
		case ev.MessageStop != nil:
			resp.StopReason = ev.MessageStop.StopReason
			resp.AdditionalModelResponseFields = ev.MessageStop.AdditionalModelResponseFields
		case ev.Metadata != nil:
			resp.Usage, resp.Metrics, resp.Trace = ev.Metadata.Usage, ev.Metadata.Metrics, ev.Metadata.Trace
			resp.PerformanceConfig, resp.ServiceTier = ev.Metadata.PerformanceConfig, ev.Metadata.ServiceTier
		}
	}
	msg := &Message{Role: RoleAssistant, Content: []Block{}}
	for _, p := range parts {
		switch p.kind {
		case "text":
			msg.Content = append(msg.Content, TextBlock(p.text.String()))
		case "toolUse":
			in := json.RawMessage(p.text.String())
			if len(in) == 0 {
				in = json.RawMessage("{}")
			}
			msg.Content = append(msg.Content, Block{ToolUse: &ToolUseBlock{ToolUseID: p.tool.ToolUseID, Name: p.tool.Name, Input: in}})
		case "reasoning":
			msg.Content = append(msg.Content, Block{ReasoningContent: &ReasoningContent{ReasoningText: &ReasoningText{Text: p.text.String(), Signature: p.sig}}})
		}
	}
	resp.Output.Message = msg
	return &resp, nil
}
