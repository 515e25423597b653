package guard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/converse-project/converse"
)

// Request limits (§2.5).
const (
	maxImages         = 20
	maxImageBytes     = 4 << 20
	maxGroundingChars = 100000
	maxQueryChars     = 1000
	maxResponseChars  = 5000
	unitChars         = 1000 // a text unit is up to 1,000 characters (§4.8)
)

// Apply evaluates content as ApplyGuardrail does (§2, §4): source says
// whether it is user input or model output, scope whether non-detected
// entries are listed too. Text blocks are scoped by their qualifiers
// (§2.4): when any block is marked guard_content only the marked blocks are
// evaluated, otherwise every text block is; grounding_source and query
// blocks feed contextual grounding, which judges the remaining blocks (the
// response) and runs on OUTPUT only. Images are judged by content filters
// whose modalities include IMAGE.
//
// A malformed request returns a *converse.Error of kind KindValidation; a
// classifier failure returns its error, and no result.
func (g *Guardrail) Apply(ctx context.Context, source Source, content []Content, scope Scope) (*Result, error) {
	p := g.compiled
	if p == nil {
		return nil, ErrNotLoaded
	}
	if err := checkRequest(source, content, scope); err != nil {
		return nil, err
	}
	start := p.now()
	ev := newEvaluation(g, source, scope, content)
	var a Assessment
	a.WordPolicy = ev.words()
	a.SensitiveInformationPolicy = ev.sensitive()
	if err := ev.judge(ctx, &a); err != nil {
		return nil, err
	}
	res := ev.decide()
	a.InvocationMetrics = &InvocationMetrics{
		GuardrailProcessingLatency: p.now().Sub(start).Milliseconds(),
		Usage:                      ev.usage,
		GuardrailCoverage:          ev.coverage(),
	}
	res.Assessments = []Assessment{a}
	res.Usage = ev.usage
	res.GuardrailCoverage = a.InvocationMetrics.GuardrailCoverage
	return res, nil
}

// checkRequest applies ApplyGuardrail's request constraints (§2.1, §2.5).
func checkRequest(source Source, content []Content, scope Scope) error {
	if source != SourceInput && source != SourceOutput {
		return validation("Value '%s' at 'source' failed to satisfy constraint: Member must satisfy enum value set: [INPUT, OUTPUT]", source)
	}
	if scope != "" && scope != ScopeInterventions && scope != ScopeFull {
		return validation("Value '%s' at 'outputScope' failed to satisfy constraint: Member must satisfy enum value set: [INTERVENTIONS, FULL]", scope)
	}
	images := 0
	for i, c := range content {
		switch {
		case (c.Text == nil) == (c.Image == nil):
			return validation("content.%d must hold exactly one of text and image", i)
		case c.Text != nil:
			for j, q := range c.Text.Qualifiers {
				if q != QualifierGroundingSource && q != QualifierQuery && q != QualifierGuardContent {
					return validation("Value '%s' at 'content.%d.text.qualifiers.%d' failed to satisfy constraint: Member must satisfy enum value set: [grounding_source, query, guard_content]", q, i, j)
				}
			}
		default:
			images++
			im := c.Image
			if im.Format != "png" && im.Format != "jpeg" {
				return validation("Value '%s' at 'content.%d.image.format' failed to satisfy constraint: Member must satisfy enum value set: [png, jpeg]", im.Format, i)
			}
			if im.Source == nil || len(im.Source.Bytes) == 0 {
				return validation("content.%d.image.source must hold the image bytes", i)
			}
			if len(im.Source.Bytes) > maxImageBytes {
				return validation("content.%d.image is larger than 4 MB", i)
			}
		}
	}
	if images > maxImages {
		return validation("at most %d images can be evaluated in one request, got %d", maxImages, images)
	}
	return nil
}

func validation(format string, args ...any) error {
	return converse.Errorf(converse.KindValidation, format, args...)
}

// textBlock is one text block of the request.
type textBlock struct {
	text                      string
	guarded                   bool // evaluated by the policies other than grounding
	isSource, isQuery, isResp bool // its roles in contextual grounding
	masks                     []mask
}

// mask is one span to anonymise.
type mask struct {
	start, end int
	label      string // "{EMAIL}", "{Account Number}"
}

// evaluation is the state of one Apply.
type evaluation struct {
	g        *Guardrail
	p        *policies
	source   Source
	full     bool
	texts    []textBlock
	images   []Image
	blocked  bool
	usage    Usage
	guarded  bool // some policy evaluated the guarded text
	grounded bool // contextual grounding evaluated its blocks
	imaged   bool // a content filter judged the images
}

func newEvaluation(g *Guardrail, source Source, scope Scope, content []Content) *evaluation {
	ev := &evaluation{g: g, p: g.compiled, source: source, full: scope == ScopeFull}
	marked := slices.ContainsFunc(content, func(c Content) bool {
		return c.Text != nil && slices.Contains(c.Text.Qualifiers, QualifierGuardContent)
	})
	for _, c := range content {
		if c.Image != nil {
			ev.images = append(ev.images, Image{Format: c.Image.Format, Bytes: c.Image.Source.Bytes})
			continue
		}
		q := c.Text.Qualifiers
		guard := slices.Contains(q, QualifierGuardContent)
		ev.texts = append(ev.texts, textBlock{
			text:     c.Text.Text,
			guarded:  guard || !marked,
			isSource: slices.Contains(q, QualifierGroundingSource),
			isQuery:  slices.Contains(q, QualifierQuery),
			isResp:   guard || len(q) == 0,
		})
	}
	return ev
}

// guardedText returns the number of characters the policies evaluate.
func (ev *evaluation) guardedChars() int {
	n := 0
	for _, b := range ev.texts {
		if b.guarded {
			n += utf8.RuneCountInString(b.text)
		}
	}
	return n
}

// units is the number of text units of n characters, rounded up (§4.8).
func units(n int) int { return (n + unitChars - 1) / unitChars }

// entryAction maps a configured action to the assessment's.
func entryAction(action string) string {
	switch action {
	case ActionBlock:
		return EntryBlocked
	case ActionAnonymize:
		return EntryAnonymized
	}
	return EntryNone
}

// record notes the effect of a detected entry and returns its action.
func (ev *evaluation) record(action string) string {
	if action == ActionBlock {
		ev.blocked = true
	}
	return entryAction(action)
}

// words runs the word policy (§4.3); FULL scope adds nothing here.
func (ev *evaluation) words() *WordPolicyAssessment {
	cfg := ev.g.WordPolicyConfig
	if cfg == nil {
		return nil
	}
	var managed *ManagedWordListConfig
	if len(cfg.ManagedWordListsConfig) > 0 {
		managed = &cfg.ManagedWordListsConfig[0]
	}
	active := managed != nil && ev.enabled(managed.SideActions)
	for _, w := range cfg.WordsConfig {
		active = active || ev.enabled(w.SideActions)
	}
	if !active {
		return nil
	}
	ev.guarded = true
	ev.usage.WordPolicyUnits = units(ev.guardedChars())
	out := &WordPolicyAssessment{CustomWords: []CustomWordEntry{}, ManagedWordLists: []ManagedWordEntry{}}
	for _, b := range ev.texts {
		if !b.guarded {
			continue
		}
		toks := tokenize(b.text)
		for _, h := range ev.p.words.find(toks) {
			action, on := cfg.WordsConfig[h.rule].side(ev.source, "")
			if on {
				out.CustomWords = append(out.CustomWords, CustomWordEntry{Match: b.text[h.start:h.end], Action: ev.record(action), Detected: true})
			}
		}
		if managed == nil || !ev.enabled(managed.SideActions) {
			continue
		}
		action, _ := managed.side(ev.source, "")
		for _, h := range ev.p.profanity.find(toks) {
			out.ManagedWordLists = append(out.ManagedWordLists, ManagedWordEntry{Match: b.text[h.start:h.end], Type: "PROFANITY", Action: ev.record(action), Detected: true})
		}
	}
	if len(out.CustomWords) == 0 && len(out.ManagedWordLists) == 0 {
		return nil
	}
	return out
}

func (ev *evaluation) enabled(s SideActions) bool {
	_, on := s.side(ev.source, "")
	return on
}

// sensitive runs PII detection and the custom regexes (§4.4), recording
// the spans to anonymise on each block.
func (ev *evaluation) sensitive() *SensitiveInfoAssessment {
	cfg := ev.g.SensitiveInformationPolicyConfig
	if cfg == nil {
		return nil
	}
	out := &SensitiveInfoAssessment{PiiEntities: []PiiEntry{}, Regexes: []RegexEntry{}}
	var types []string
	for _, e := range cfg.PiiEntitiesConfig {
		if ev.enabled(e.SideActions) {
			types = append(types, e.Type)
		}
	}
	if len(types) > 0 {
		ev.guarded = true
		ev.usage.SensitiveInformationPolicyUnits = units(ev.guardedChars())
		ev.pii(types, out)
	}
	for i, r := range cfg.RegexesConfig {
		action, on := r.side(ev.source, r.Action)
		if !on {
			continue
		}
		ev.guarded = true
		ev.usage.SensitiveInformationPolicyFreeUnits = units(ev.guardedChars())
		for bi := range ev.texts {
			b := &ev.texts[bi]
			if !b.guarded {
				continue
			}
			for _, m := range ev.p.regexes[i].FindAllStringIndex(b.text, -1) {
				if m[0] == m[1] {
					continue
				}
				out.Regexes = append(out.Regexes, RegexEntry{Name: r.Name, Regex: r.Pattern, Match: b.text[m[0]:m[1]], Action: ev.record(action), Detected: true})
				if action == ActionAnonymize {
					b.masks = append(b.masks, mask{m[0], m[1], "{" + r.Name + "}"})
				}
			}
		}
	}
	if len(out.PiiEntities) == 0 && len(out.Regexes) == 0 {
		return nil
	}
	return out
}

// pii finds the enabled PII types in every guarded block.
func (ev *evaluation) pii(types []string, out *SensitiveInfoAssessment) {
	finder := ev.p.pii[ev.source == SourceOutput]
	found := map[string]bool{}
	for bi := range ev.texts {
		b := &ev.texts[bi]
		if !b.guarded {
			continue
		}
		for _, s := range finder.find(b.text) {
			rule := ev.p.piiRules[s.typ]
			action, _ := rule.side(ev.source, rule.Action)
			found[s.typ] = true
			out.PiiEntities = append(out.PiiEntities, PiiEntry{Match: b.text[s.start:s.end], Type: s.typ, Action: ev.record(action), Detected: true})
			if action == ActionAnonymize {
				b.masks = append(b.masks, mask{s.start, s.end, "{" + s.typ + "}"})
			}
		}
	}
	if ev.full {
		for _, t := range types {
			if !found[t] {
				out.PiiEntities = append(out.PiiEntities, PiiEntry{Type: t, Action: EntryNone})
			}
		}
	}
}

// decide turns the findings into ApplyGuardrail's action and outputs (§4.7).
func (ev *evaluation) decide() *Result {
	switch {
	case ev.blocked:
		msg := ev.g.BlockedInputMessaging
		if ev.source == SourceOutput {
			msg = ev.g.BlockedOutputsMessaging
		}
		out := []Output{{Text: msg}}
		return &Result{Action: ResultIntervened, ActionReason: ReasonBlocked, Outputs: out, Output: out}
	case slices.ContainsFunc(ev.texts, func(b textBlock) bool { return len(b.masks) > 0 }):
		out := make([]Output, len(ev.texts))
		for i, b := range ev.texts {
			out[i] = Output{Text: applyMasks(b.text, b.masks)}
		}
		return &Result{Action: ResultIntervened, ActionReason: ReasonMasked, Outputs: out, Output: out}
	}
	return &Result{Action: ResultNone, ActionReason: ReasonNone, Outputs: []Output{}, Output: []Output{}}
}

// applyMasks replaces each span by its label; where spans overlap the
// longest wins (§6 step 5).
func applyMasks(text string, masks []mask) string {
	slices.SortStableFunc(masks, func(a, b mask) int { return (b.end - b.start) - (a.end - a.start) })
	var kept []mask
	for _, m := range masks {
		if !slices.ContainsFunc(kept, func(k mask) bool { return m.start < k.end && k.start < m.end }) {
			kept = append(kept, m)
		}
	}
	slices.SortFunc(kept, func(a, b mask) int { return a.start - b.start })
	var sb strings.Builder
	at := 0
	for _, m := range kept {
		sb.WriteString(text[at:m.start])
		sb.WriteString(m.label)
		at = m.end
	}
	sb.WriteString(text[at:])
	return sb.String()
}

// coverage reports how much of the content was evaluated (§4.8).
func (ev *evaluation) coverage() Coverage {
	var text Counts
	for _, b := range ev.texts {
		n := utf8.RuneCountInString(b.text)
		text.Total += n
		if (ev.guarded && b.guarded) || (ev.grounded && (b.isSource || b.isQuery || b.isResp)) {
			text.Guarded += n
		}
	}
	c := Coverage{TextCharacters: &text}
	if len(ev.images) > 0 {
		c.Images = &Counts{Total: len(ev.images)}
		if ev.imaged {
			c.Images.Guarded = len(ev.images)
		}
	}
	return c
}

// String describes a result briefly, for logs and test failures.
func (r *Result) String() string {
	return fmt.Sprintf("%s (%s), %d outputs", r.Action, r.ActionReason, len(r.Outputs))
}
