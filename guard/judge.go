package guard

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"
)

// judge runs the classifier-judged policies: content filters (§4.1),
// denied topics (§4.2) and contextual grounding (§4.5), with one classifier
// call for all of them.
func (ev *evaluation) judge(ctx context.Context, a *Assessment) error {
	req, filters, topics, grounding := ev.classifyRequest()
	if err := ev.checkGroundingSize(req); err != nil {
		return err
	}
	var sc Scores
	if len(req.Categories) > 0 || len(req.Topics) > 0 || req.Grounding || req.Relevance {
		var err error
		if sc, err = ev.p.classifier.Classify(ctx, req); err != nil {
			return err
		}
		if err := checkScores(req, sc); err != nil {
			return err
		}
	}
	a.ContentPolicy = ev.contentEntries(filters, req, sc)
	a.TopicPolicy = ev.topicEntries(topics, sc)
	a.ContextualGroundingPolicy = ev.groundingEntries(grounding, req, sc)
	return nil
}

// classifyRequest gathers what the classifier must score for this side,
// and the rules enabled on it.
func (ev *evaluation) classifyRequest() (ClassifyRequest, []ContentFilterConfig, []TopicConfig, []GroundingFilterConfig) {
	req := ClassifyRequest{Source: ev.source}
	var texts, source, query, response []string
	for _, b := range ev.texts {
		if b.guarded {
			texts = append(texts, b.text)
		}
		if b.isSource {
			source = append(source, b.text)
		}
		if b.isQuery {
			query = append(query, b.text)
		}
		if b.isResp {
			response = append(response, b.text)
		}
	}
	req.Text = strings.Join(texts, "\n\n")
	chars := ev.guardedChars()
	var filters []ContentFilterConfig
	if c := ev.g.ContentPolicyConfig; c != nil {
		for _, f := range c.FiltersConfig {
			if !ev.enabled(f.SideActions) {
				continue
			}
			filters = append(filters, f)
			strength, mods := f.InputStrength, f.InputModalities
			if ev.source == SourceOutput {
				strength, mods = f.OutputStrength, f.OutputModalities
			}
			if strength == "NONE" {
				continue
			}
			if len(mods) == 0 {
				mods = []string{"TEXT"} // TEXT is on by default, IMAGE must be switched on (§1.3)
			}
			text := slices.Contains(mods, "TEXT") && chars > 0
			image := slices.Contains(mods, "IMAGE") && len(ev.images) > 0
			if text || image {
				req.Categories = append(req.Categories, f.Type)
			}
			if text {
				ev.guarded = true
				ev.usage.ContentPolicyUnits = units(chars)
			}
			if image {
				ev.imaged = true
				req.Images = ev.images
				ev.usage.ContentPolicyImageUnits = len(ev.images)
			}
		}
	}
	var topics []TopicConfig
	if t := ev.g.TopicPolicyConfig; t != nil {
		for _, tc := range t.TopicsConfig {
			if ev.enabled(tc.SideActions) {
				topics = append(topics, tc)
				req.Topics = append(req.Topics, Topic{Name: tc.Name, Definition: tc.Definition, Examples: tc.Examples})
			}
		}
		if len(req.Topics) > 0 && chars > 0 {
			ev.guarded = true
			ev.usage.TopicPolicyUnits = units(chars)
		} else {
			req.Topics = nil
		}
	}
	var grounding []GroundingFilterConfig
	// Grounding runs on output only and needs a source and a query (§4.5);
	// without them it is skipped and bills nothing (§4.8).
	if gc := ev.g.ContextualGroundingPolicyConfig; gc != nil && ev.source == SourceOutput && len(source) > 0 && len(query) > 0 {
		req.GroundingSource, req.Query = strings.Join(source, "\n"), strings.Join(query, "\n")
		req.Response = strings.Join(response, "\n\n")
		for _, f := range gc.FiltersConfig {
			if f.Enabled != nil && !*f.Enabled {
				continue
			}
			grounding = append(grounding, f)
			req.Grounding = req.Grounding || f.Type == "GROUNDING"
			req.Relevance = req.Relevance || f.Type == "RELEVANCE"
		}
		if len(grounding) > 0 {
			ev.grounded = true
			ev.usage.ContextualGroundingPolicyUnits = units(utf8.RuneCountInString(req.GroundingSource)) +
				units(utf8.RuneCountInString(req.Query)) + units(utf8.RuneCountInString(req.Response))
		}
	}
	if !req.Grounding && !req.Relevance {
		req.GroundingSource, req.Query, req.Response = "", "", ""
	}
	return req, filters, topics, grounding
}

// checkGroundingSize applies the grounding length limits (§2.5).
func (ev *evaluation) checkGroundingSize(req ClassifyRequest) error {
	if !req.Grounding && !req.Relevance {
		return nil
	}
	for _, l := range [...]struct {
		what string
		text string
		max  int
	}{{"grounding source", req.GroundingSource, maxGroundingChars}, {"query", req.Query, maxQueryChars}, {"response", req.Response, maxResponseChars}} {
		if n := utf8.RuneCountInString(l.text); n > l.max {
			return validation("The %s for contextual grounding is %d characters long; the limit is %d.", l.what, n, l.max)
		}
	}
	return nil
}

// contentEntries reports each enabled filter (§2.3): detected ones always,
// the others in FULL scope.
func (ev *evaluation) contentEntries(filters []ContentFilterConfig, req ClassifyRequest, sc Scores) *ContentPolicyAssessment {
	var out []ContentFilterEntry
	for _, f := range filters {
		action, _ := f.side(ev.source, "")
		strength := f.InputStrength
		if ev.source == SourceOutput {
			strength = f.OutputStrength
		}
		e := ContentFilterEntry{Type: f.Type, Confidence: "NONE", FilterStrength: strength, Action: EntryNone}
		if slices.Contains(req.Categories, f.Type) {
			e.Confidence = Confidence(sc.Categories[f.Type])
			e.Detected = filterDetects(strength, e.Confidence)
		}
		if e.Detected {
			e.Action = ev.record(action)
		}
		if e.Detected || ev.full {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &ContentPolicyAssessment{Filters: out}
}

// topicEntries reports each enabled denied topic.
func (ev *evaluation) topicEntries(topics []TopicConfig, sc Scores) *TopicPolicyAssessment {
	var out []TopicEntry
	for _, t := range topics {
		action, _ := t.side(ev.source, "")
		p, asked := sc.Topics[t.Name]
		e := TopicEntry{Name: t.Name, Type: "DENY", Action: EntryNone, Detected: asked && p >= TopicThreshold}
		if e.Detected {
			e.Action = ev.record(action)
		}
		if e.Detected || ev.full {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &TopicPolicyAssessment{Topics: out}
}

// groundingEntries reports each enabled grounding filter: detected when the
// score is below its threshold (§4.5).
func (ev *evaluation) groundingEntries(filters []GroundingFilterConfig, req ClassifyRequest, sc Scores) *GroundingPolicyAssessment {
	var out []GroundingEntry
	for _, f := range filters {
		score := sc.Grounding
		if f.Type == "RELEVANCE" {
			score = sc.Relevance
		}
		e := GroundingEntry{Type: f.Type, Threshold: f.Threshold, Score: score, Action: EntryNone, Detected: score < f.Threshold}
		if e.Detected {
			action := f.Action
			if action == "" {
				action = ActionBlock
			}
			e.Action = ev.record(action)
		}
		if e.Detected || ev.full {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &GroundingPolicyAssessment{Filters: out}
}
