package guard

import (
	"context"
	"encoding/json"
	"iter"
	"slices"
	"strings"

	"github.com/converse-project/converse"
)

// MsgGuardrailNotFound answers a request naming a guardrail identifier or
// version that is not configured (guardrails.md §2.5: ResourceNotFound).
// Bedrock's exact wording is not documented; this follows the fragment
// users have quoted (§5 item 8).
const MsgGuardrailNotFound = "The guardrail identifier or version provided in the request does not exist."

// Set is the guardrails a server knows, keyed by guardrail identifier
// ([a-z0-9]+). Every guardrail in it must have been loaded (Load). A Set is
// read-only once built and safe for concurrent use.
type Set map[string]*Guardrail

// Lookup resolves a guardrail identifier, bare or as a guardrail ARN
// (arn:aws:bedrock:<region>:<account>:guardrail/<id>, §1.1), and a version
// ("" or DRAFT for the working draft, else a number). It returns the bare
// identifier, which keys the trace maps, and the definition; an unknown
// identifier or version is a *converse.Error of kind KindResourceNotFound.
func (s Set) Lookup(identifier, version string) (id string, g *Guardrail, err error) {
	id = identifier
	if i := strings.LastIndex(identifier, ":guardrail/"); strings.HasPrefix(identifier, "arn:") && i >= 0 {
		id = identifier[i+len(":guardrail/"):]
	}
	if base, ok := s[id]; ok && base != nil {
		if v, ok := base.Version(version); ok {
			return id, v, nil
		}
	}
	return id, nil, converse.Errorf(converse.KindResourceNotFound, "%s", MsgGuardrailNotFound)
}

// ApplyGuardrail serves the ApplyGuardrail operation (§2): it looks the
// guardrail up and evaluates content with it. Errors are *converse.Error
// (ResourceNotFound, Validation) or a classifier failure.
func (s Set) ApplyGuardrail(ctx context.Context, identifier, version string, source Source, content []Content, scope Scope) (*Result, error) {
	_, g, err := s.Lookup(identifier, version)
	if err != nil {
		return nil, err
	}
	return g.Apply(ctx, source, content, scope)
}

// Backend puts local guardrails in front of another backend: it honours a
// Converse or ConverseStream request's guardrailConfig (§3) and, through
// Wrap, InvokeModel's guardrail headers (§3.1, §3.7). Requests without a
// guardrail go to Inner untouched.
//
// With a guardrail, the input the guardrail evaluates (Scope, §3.3) is
// assessed first: a block answers with the guardrail's
// blockedInputMessaging and stop reason guardrail_intervened without
// calling Inner; a mask rewrites the masked blocks before Inner sees them.
// Inner then gets the request without its guardrailConfig (the guardrail
// is local, so the destination must not apply it again), and its answer's
// text is assessed as OUTPUT: a block replaces the whole reply with
// blockedOutputsMessaging, a mask replaces each text block with its masked
// text, and either sets the stop reason to guardrail_intervened. With trace
// enabled or enabled_full the assessments are in trace.guardrail of the
// response (the final metadata event when streaming).
//
// Streams follow the guardrail's streamProcessingMode (§3.6): sync (the
// default) holds text back until its segment passed the output policies;
// async forwards text at once, assesses segments in the background and
// cuts the stream after a violation, without masking.
type Backend struct {
	// Inner serves the model; required.
	Inner converse.Backend
	// Guardrails are the configured guardrails.
	Guardrails Set
	// PassThrough sends requests naming a guardrail that is not in
	// Guardrails to Inner unchanged, guardrailConfig included, instead of
	// answering ResourceNotFoundException: for destinations that evaluate
	// guardrails of their own (Amazon Bedrock itself).
	PassThrough bool
	// SegmentChars is the size from which a sync stream's buffered text is
	// assessed and released at the next sentence boundary; 0 means
	// DefaultSegmentChars. A segment is also cut at 4×SegmentChars without
	// a boundary, and at the end of each text block.
	SegmentChars int
	// NativeBlocked returns the native InvokeModel response body of the
	// model modelID answering text, for an InvokeModel request whose input
	// the guardrail blocked (the model is not called). nil: a generic
	// chat-completions body.
	NativeBlocked func(modelID, text string) []byte
}

// DefaultSegmentChars is the default stream segment size. AWS does not
// document its chunk size (§3.6); a few sentences keep the added latency
// low while giving the classifier context.
const DefaultSegmentChars = 200

// Wrap returns b as a converse.Backend; the result also implements
// converse.Invoker when b.Inner does, so InvokeModel keeps working and
// honours the guardrail headers.
func Wrap(b *Backend) converse.Backend {
	if inv, ok := b.Inner.(converse.Invoker); ok {
		return &invokerBackend{Backend: b, inner: inv}
	}
	return b
}

// run is one request's guardrail: what was configured and what it found.
type run struct {
	id      string
	g       *Guardrail
	trace   bool  // trace is enabled or enabled_full
	scope   Scope // FULL for enabled_full
	async   bool
	input   *Result
	outputs []Assessment
	// inReason and outReason are the action reasons of the input and
	// output stages ("" for a stage that did not run).
	inReason, outReason string
	model               []string // the raw model output, for modelOutput
	changed             bool     // the output was blocked or masked
}

// start resolves req's guardrailConfig. A nil run with a nil error means
// the request goes to Inner as it is.
func (b *Backend) start(gc *converse.GuardrailConfig) (*run, error) {
	if gc == nil {
		return nil, nil
	}
	id, g, err := b.Guardrails.Lookup(gc.GuardrailIdentifier, gc.GuardrailVersion)
	if err != nil {
		if b.PassThrough {
			return nil, nil
		}
		return nil, err
	}
	r := &run{id: id, g: g, scope: ScopeInterventions, async: gc.StreamProcessingMode == "async"}
	switch gc.Trace {
	case "enabled":
		r.trace = true
	case "enabled_full":
		r.trace, r.scope = true, ScopeFull
	}
	return r, nil
}

// Converse implements converse.Backend.
func (b *Backend) Converse(ctx context.Context, req *converse.Request) (*converse.Response, error) {
	r, err := b.start(req.GuardrailConfig)
	if err != nil || r == nil {
		if err != nil {
			return nil, err
		}
		return b.Inner.Converse(ctx, req)
	}
	in := ConverseInput(req)
	inner, blocked, err := r.assessInput(ctx, req, in)
	if err != nil {
		return nil, err
	}
	if blocked != nil {
		return blocked, nil
	}
	resp, err := b.Inner.Converse(ctx, inner)
	if err != nil {
		return nil, err
	}
	if err := r.assessOutput(ctx, resp, in.Grounding); err != nil {
		return nil, err
	}
	return resp, r.attachTrace(&resp.Trace)
}

// ConverseStream implements converse.Backend.
func (b *Backend) ConverseStream(ctx context.Context, req *converse.Request) (iter.Seq2[converse.StreamEvent, error], error) {
	r, err := b.start(req.GuardrailConfig)
	if err != nil || r == nil {
		if err != nil {
			return nil, err
		}
		return b.Inner.ConverseStream(ctx, req)
	}
	in := ConverseInput(req)
	inner, blocked, err := r.assessInput(ctx, req, in)
	if err != nil {
		return nil, err
	}
	if blocked != nil {
		return replay(ctx, converse.Events(blocked)), nil
	}
	seq, err := b.Inner.ConverseStream(ctx, inner)
	if err != nil {
		return nil, err
	}
	s := &outStream{r: r, grounding: in.Grounding, segment: b.SegmentChars}
	if s.segment <= 0 {
		s.segment = DefaultSegmentChars
	}
	if r.async {
		return s.async(ctx, seq), nil
	}
	return s.sync(ctx, seq), nil
}

// replay yields evs in order.
func replay(ctx context.Context, evs []converse.StreamEvent) iter.Seq2[converse.StreamEvent, error] {
	return func(yield func(converse.StreamEvent, error) bool) {
		for _, ev := range evs {
			if ctx.Err() != nil || !yield(ev, nil) {
				return
			}
		}
	}
}

// InputScope is the content of a Converse request a guardrail evaluates
// (§3.3), ready for Apply with source INPUT.
type InputScope struct {
	// Content lists every text block of the system prompt and the messages
	// (in that order), the blocks in scope marked guard_content and the
	// others unqualified, so coverage counts both; then the guardContent
	// images in scope. It is empty when nothing is in scope.
	Content []Content
	// Grounding holds the guardContent text blocks qualified
	// grounding_source or query, which contextual grounding uses on the
	// output whatever the scope (§3.3).
	Grounding []Content

	refs []blockRef // where each text block of Content came from
}

// blockRef locates a text block of the request: system block i (msg < 0)
// or block i of message msg.
type blockRef struct {
	msg, i  int
	inScope bool
}

// ConverseInput works out what a guardrail evaluates in req (§3.3): in the system
// prompt only its guardContent blocks, and nothing when it has none; in the
// messages only their guardContent blocks when any message has one, else
// every text block. A guardContent text block whose qualifiers are only
// grounding_source or query is reference material for contextual grounding
// (§2.4), not input to judge. Tool results, tool calls, reasoning,
// documents, media and tool definitions are never evaluated.
func ConverseInput(req *converse.Request) InputScope {
	guarded := func(g *converse.GuardContent) bool {
		if g.Text == nil {
			return true
		}
		q := g.Text.Qualifiers
		return len(q) == 0 || slices.Contains(q, QualifierGuardContent)
	}
	var s InputScope
	var images []Content
	add := func(text string, ref blockRef) {
		s.refs = append(s.refs, ref)
		c := Content{Text: &converse.GuardText{Text: text}}
		if ref.inScope {
			c.Text.Qualifiers = []string{QualifierGuardContent}
		}
		s.Content = append(s.Content, c)
	}
	grounding := func(g *converse.GuardContent) {
		if g.Text == nil {
			return
		}
		var q []string
		for _, x := range g.Text.Qualifiers {
			if x == QualifierGroundingSource || x == QualifierQuery {
				q = append(q, x)
			}
		}
		if len(q) > 0 {
			s.Grounding = append(s.Grounding, Content{Text: &converse.GuardText{Text: g.Text.Text, Qualifiers: q}})
		}
	}
	block := func(text *string, g *converse.GuardContent, ref blockRef, tagged bool) {
		switch {
		case text != nil:
			ref.inScope = !tagged
			add(*text, ref)
		case g != nil:
			grounding(g)
			ref.inScope = guarded(g)
			if g.Text != nil {
				add(g.Text.Text, ref)
			} else if g.Image != nil && g.Image.Source != nil {
				images = append(images, Content{Image: g.Image})
			}
		}
	}
	sysTagged := slices.ContainsFunc(req.System, func(b converse.SystemBlock) bool { return b.GuardContent != nil })
	for i, b := range req.System {
		if b.Text != nil && !sysTagged {
			// An untagged system prompt is not evaluated at all, but it
			// is text the request holds: counted in coverage only.
			s.refs = append(s.refs, blockRef{msg: -1, i: i})
			s.Content = append(s.Content, Content{Text: &converse.GuardText{Text: *b.Text}})
			continue
		}
		block(b.Text, b.GuardContent, blockRef{msg: -1, i: i}, true)
	}
	msgTagged := slices.ContainsFunc(req.Messages, func(m converse.Message) bool {
		return slices.ContainsFunc(m.Content, func(b converse.Block) bool { return b.GuardContent != nil })
	})
	for mi, m := range req.Messages {
		for i, b := range m.Content {
			block(b.Text, b.GuardContent, blockRef{msg: mi, i: i}, msgTagged)
		}
	}
	if !slices.ContainsFunc(s.refs, func(r blockRef) bool { return r.inScope }) {
		// Apply evaluates every text block when none is marked; with no
		// text in scope, no text may be evaluated.
		s.Content, s.refs = nil, nil
	}
	s.Content = append(s.Content, images...)
	return s
}

// masked returns a copy of req whose in-scope text blocks hold the masked
// texts of res (one output per text block of s.Content, in order).
func (s InputScope) masked(req *converse.Request, res *Result) *converse.Request {
	out := *req
	out.System = slices.Clone(req.System)
	out.Messages = slices.Clone(req.Messages)
	copied := map[int]bool{}
	for k, ref := range s.refs {
		if !ref.inScope || k >= len(res.Outputs) {
			continue
		}
		text := res.Outputs[k].Text
		if ref.msg < 0 {
			out.System[ref.i] = maskSystem(out.System[ref.i], text)
			continue
		}
		if !copied[ref.msg] {
			out.Messages[ref.msg].Content = slices.Clone(out.Messages[ref.msg].Content)
			copied[ref.msg] = true
		}
		blk := &out.Messages[ref.msg].Content[ref.i]
		if blk.Text != nil {
			blk.Text = &text
		} else if blk.GuardContent != nil && blk.GuardContent.Text != nil {
			blk.GuardContent = maskGuard(blk.GuardContent, text)
		}
	}
	return &out
}

func maskSystem(b converse.SystemBlock, text string) converse.SystemBlock {
	if b.Text != nil {
		b.Text = &text
	} else if b.GuardContent != nil && b.GuardContent.Text != nil {
		b.GuardContent = maskGuard(b.GuardContent, text)
	}
	return b
}

func maskGuard(g *converse.GuardContent, text string) *converse.GuardContent {
	t := *g.Text
	t.Text = text
	return &converse.GuardContent{Text: &t}
}

// assessInput evaluates the request's input (§3.4 step 1). It returns the
// request to send on (without guardrailConfig, masked if the guardrail
// masked), or the complete answer when the guardrail blocked the input.
func (r *run) assessInput(ctx context.Context, req *converse.Request, in InputScope) (*converse.Request, *converse.Response, error) {
	res, err := r.g.Apply(ctx, SourceInput, in.Content, r.scope)
	if err != nil {
		return nil, nil, err
	}
	r.input = res
	r.inReason = res.ActionReason
	if res.Blocked() {
		resp := &converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: converse.RoleAssistant, Content: []converse.Block{converse.TextBlock(r.g.BlockedInputMessaging)}}},
			StopReason: converse.StopGuardrailIntervened,
		}
		return nil, resp, r.attachTrace(&resp.Trace)
	}
	out := req
	if res.Masked() {
		out = in.masked(req, res)
	} else {
		c := *req
		out = &c
	}
	out.GuardrailConfig = nil
	return out, nil, nil
}

// outputContent is what Apply gets for a model answer: the grounding
// blocks, then the answer's texts marked guard_content.
func outputContent(grounding []Content, texts []string) []Content {
	content := slices.Clone(grounding)
	for _, t := range texts {
		content = append(content, Content{Text: &converse.GuardText{Text: t, Qualifiers: []string{QualifierGuardContent}}})
	}
	return content
}

// assessOutput evaluates a complete answer's text blocks and rewrites the
// answer when the guardrail blocks or masks it (§3.4 step 2).
func (r *run) assessOutput(ctx context.Context, resp *converse.Response, grounding []Content) error {
	msg := resp.Output.Message
	if msg == nil {
		return nil
	}
	var at []int
	var texts []string
	for i, b := range msg.Content {
		if b.Text != nil {
			at = append(at, i)
			texts = append(texts, *b.Text)
		}
	}
	if len(texts) == 0 {
		return nil
	}
	r.model = append(r.model, strings.Join(texts, ""))
	res, err := r.g.Apply(ctx, SourceOutput, outputContent(grounding, texts), r.scope)
	if err != nil {
		return err
	}
	r.outputs = append(r.outputs, res.Assessments...)
	r.outReason = res.ActionReason
	switch {
	case res.Blocked():
		resp.Output.Message = &converse.Message{Role: msg.Role, Content: []converse.Block{converse.TextBlock(r.g.BlockedOutputsMessaging)}}
	case res.Masked():
		content := slices.Clone(msg.Content)
		for k, i := range at {
			if j := len(grounding) + k; j < len(res.Outputs) {
				content[i] = converse.TextBlock(res.Outputs[j].Text)
			}
		}
		resp.Output.Message = &converse.Message{Role: msg.Role, Content: content}
	default:
		return nil
	}
	r.changed = true
	resp.StopReason = converse.StopGuardrailIntervened
	return nil
}

// TraceAssessment is GuardrailTraceAssessment, the value of
// trace.guardrail (§3.4): the input assessment and the list of output
// assessments (one per streamed segment) keyed by guardrail ID, the raw
// model output when the guardrail changed it, and the action reasons of
// the stages that ran, joined by a newline as Bedrock joins them.
type TraceAssessment struct {
	ModelOutput       []string                `json:"modelOutput,omitempty"`
	InputAssessment   map[string]Assessment   `json:"inputAssessment,omitempty"`
	OutputAssessments map[string][]Assessment `json:"outputAssessments,omitempty"`
	ActionReason      string                  `json:"actionReason,omitempty"`
}

func (r *run) traceAssessment() TraceAssessment {
	var t TraceAssessment
	if r.input != nil && len(r.input.Assessments) > 0 {
		t.InputAssessment = map[string]Assessment{r.id: r.input.Assessments[0]}
	}
	if len(r.outputs) > 0 {
		t.OutputAssessments = map[string][]Assessment{r.id: r.outputs}
	}
	if r.changed {
		t.ModelOutput = r.model
	}
	var reasons []string
	for _, s := range []string{r.inReason, r.outReason} {
		if s != "" {
			reasons = append(reasons, s)
		}
	}
	t.ActionReason = strings.Join(reasons, "\n")
	return t
}

// attachTrace sets trace.guardrail in *raw (a ConverseTrace) when the
// request asked for a trace, keeping any other member the backend set.
func (r *run) attachTrace(raw *json.RawMessage) error {
	if !r.trace {
		return nil
	}
	trace := map[string]any{}
	if len(*raw) > 0 {
		var other map[string]json.RawMessage
		if json.Unmarshal(*raw, &other) == nil {
			for k, v := range other {
				trace[k] = v
			}
		}
	}
	trace["guardrail"] = r.traceAssessment()
	b, err := json.Marshal(trace)
	if err != nil {
		return err
	}
	*raw = b
	return nil
}
