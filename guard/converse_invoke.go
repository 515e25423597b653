package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/converse-project/converse"
)

// invokerBackend is a Backend whose Inner also serves InvokeModel: it
// honours the X-Amzn-Bedrock-GuardrailIdentifier, -GuardrailVersion and
// -Trace headers and the body's amazon-bedrock-guardrailConfig (§3.1, §3.7).
//
// The input assessed is the text of the native body, read without knowing
// the family: every string under the keys prompt, inputText, message,
// content, text and system (Claude's prompt and messages[].content, Titan's
// inputText, Llama's and Mistral's prompt, Cohere's message, prompt and
// chat_history, AI21's prompt and messages), skipping tool definitions,
// tool calls and results, documents and images. With a tagSuffix, text
// inside <amazon-bedrock-guardrails-guardContent_SUFFIX> tags is all that
// is assessed when any tag is present (grounding sources and queries go to
// contextual grounding), and the tags are removed before the model sees
// the text (§3.7). The answer's text is read the same way from the keys
// completion, generation, outputText, text and content (Claude's content
// and completion, Titan's outputText, Llama's generation, Mistral's and
// Cohere's text, the chat families' message content).
//
// The answer body gains "amazon-bedrock-guardrailAction" (INTERVENED or
// NONE) and, with trace on, "amazon-bedrock-trace". A blocked input is
// answered with Backend.NativeBlocked's body without calling the model. A
// stream is assessed as a whole before any chunk is released, in either
// streamProcessingMode: once blocked or masked, its first text field holds
// the whole replacement and the others are emptied; the last chunk carries
// the action and trace.
type invokerBackend struct {
	*Backend
	inner converse.Invoker
}

// invokeRun is one InvokeModel request's guardrail.
type invokeRun struct {
	run
	modelID   string
	grounding []Content
}

// Keys whose strings are a native body's input or output text, and keys
// whose subtrees are never text to assess.
var (
	invokeInputKeys  = []string{"prompt", "inputText", "message", "content", "text", "system"}
	invokeOutputKeys = []string{"completion", "generation", "outputText", "text", "content"}
	invokeSkipKeys   = []string{"tools", "tool_calls", "tool_choice", "tool_results", "toolConfig", "documents", "citations",
		"search_queries", "search_results", "usage", "amazon-bedrock-invocationMetrics", "amazon-bedrock-guardrailConfig", "response_format", "tokens", "image", "images"}
	invokeSkipTypes = []string{"tool_use", "tool_result", "image", "document", "thinking", "redacted_thinking"}
)

// strRef is one string of a decoded JSON document, with a way to replace it.
type strRef struct {
	text    string
	set     func(string)
	summary bool // under "response": a copy of the whole answer (Cohere's stream end)
}

// collect lists the strings of v under keys, in a stable order.
func collect(v any, keys []string) []strRef {
	var out []strRef
	var walk func(v any, key string, summary bool, set func(any))
	walk = func(v any, key string, summary bool, set func(any)) {
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["type"].(string); ok && slices.Contains(invokeSkipTypes, t) {
				return
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if slices.Contains(invokeSkipKeys, k) {
					continue
				}
				walk(x[k], k, summary || k == "response", func(n any) { x[k] = n })
			}
		case []any:
			for i := range x {
				walk(x[i], key, summary, func(n any) { x[i] = n })
			}
		case string:
			if slices.Contains(keys, key) {
				out = append(out, strRef{text: x, set: func(s string) { set(s) }, summary: summary})
			}
		}
	}
	walk(v, "", false, func(any) {})
	return out
}

// decodeObject decodes a JSON object, keeping numbers as written.
func decodeObject(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

func encodeObject(m map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Input tag kinds (§3.7).
const (
	tagNone = iota
	tagGuard
	tagSource
	tagQuery
)

// segment is a part of a string: outside any tag, or inside one.
type segment struct {
	text string
	kind int
}

// splitTags splits s at the input tags of suffix sfx; found reports
// whether any tag was present.
func splitTags(s, sfx string) (segs []segment, found bool) {
	if sfx == "" {
		return []segment{{s, tagNone}}, false
	}
	names := map[int]string{tagGuard: "guardContent", tagSource: "groundingSource", tagQuery: "query"}
	for s != "" {
		first, kind := -1, 0
		for k, n := range names {
			if i := strings.Index(s, "<amazon-bedrock-guardrails-"+n+"_"+sfx+">"); i >= 0 && (first < 0 || i < first) {
				first, kind = i, k
			}
		}
		if first < 0 {
			segs = append(segs, segment{s, tagNone})
			break
		}
		open := "<amazon-bedrock-guardrails-" + names[kind] + "_" + sfx + ">"
		closing := "</amazon-bedrock-guardrails-" + names[kind] + "_" + sfx + ">"
		if first > 0 {
			segs = append(segs, segment{s[:first], tagNone})
		}
		rest := s[first+len(open):]
		end := strings.Index(rest, closing)
		if end < 0 {
			end = len(rest) // an unclosed tag runs to the end of the string
			closing = ""
		}
		segs = append(segs, segment{rest[:end], kind})
		found = true
		s = rest[min(len(rest), end+len(closing)):]
	}
	return segs, found
}

// startInvoke resolves the request's guardrail. A nil run with a nil
// error sends the request to the inner invoker as it is.
func (b *invokerBackend) startInvoke(req *converse.InvokeRequest) (*invokeRun, error) {
	if req.GuardrailIdentifier == "" {
		return nil, nil
	}
	id, g, err := b.Guardrails.Lookup(req.GuardrailIdentifier, req.GuardrailVersion)
	if err != nil {
		if b.PassThrough {
			return nil, nil
		}
		return nil, err
	}
	r := &invokeRun{run: run{id: id, g: g, scope: ScopeInterventions}, modelID: req.ModelID}
	switch strings.ToUpper(req.Trace) {
	case "ENABLED":
		r.trace = true
	case "ENABLED_FULL":
		r.trace, r.scope = true, ScopeFull
	}
	return r, nil
}

// assessInvokeInput assesses a native request body. It returns the body
// to send on (without amazon-bedrock-guardrailConfig and input tags,
// masked when the guardrail masked), or blocked true.
func (r *invokeRun) assessInvokeInput(ctx context.Context, body []byte) (out []byte, blocked bool, err error) {
	doc, ok := decodeObject(body)
	if !ok {
		return nil, false, converse.Errorf(converse.KindValidation, "Malformed input request, please reformat your input and try again.")
	}
	var sfx string
	if cfg, ok := doc["amazon-bedrock-guardrailConfig"].(map[string]any); ok {
		sfx, _ = cfg["tagSuffix"].(string)
	}
	delete(doc, "amazon-bedrock-guardrailConfig")
	refs := collect(doc, invokeInputKeys)
	split := make([][]segment, len(refs))
	tagged := false
	for i, ref := range refs {
		var found bool
		split[i], found = splitTags(ref.text, sfx)
		tagged = tagged || found
	}
	type at struct{ ref, seg int }
	var content []Content
	var where []at
	inScope := false
	for i, segs := range split {
		for j, sg := range segs {
			switch {
			case sg.kind == tagSource || sg.kind == tagQuery:
				q := QualifierGroundingSource
				if sg.kind == tagQuery {
					q = QualifierQuery
				}
				r.grounding = append(r.grounding, Content{Text: &converse.GuardText{Text: sg.text, Qualifiers: []string{q}}})
				continue
			case sg.kind == tagGuard || !tagged:
				content = append(content, Content{Text: &converse.GuardText{Text: sg.text, Qualifiers: []string{QualifierGuardContent}}})
				inScope = true
			default:
				content = append(content, Content{Text: &converse.GuardText{Text: sg.text}})
			}
			where = append(where, at{i, j})
		}
	}
	if !inScope {
		content, where = nil, nil
	}
	res, err := r.g.Apply(ctx, SourceInput, content, r.scope)
	if err != nil {
		return nil, false, err
	}
	r.input, r.inReason = res, res.ActionReason
	if res.Blocked() {
		return nil, true, nil
	}
	if res.Masked() {
		for k, w := range where {
			if k < len(res.Outputs) && content[k].Text.Qualifiers != nil {
				split[w.ref][w.seg].text = res.Outputs[k].Text
			}
		}
	}
	for i, ref := range refs {
		var sb strings.Builder
		for _, sg := range split[i] {
			sb.WriteString(sg.text)
		}
		if s := sb.String(); s != ref.text {
			ref.set(s)
		}
	}
	out, err = encodeObject(doc)
	return out, false, err
}

// assessInvokeOutput assesses the answer text of the decoded native
// documents (one body, or every chunk of a stream) as a whole and rewrites
// it when the guardrail blocks or masks it. It returns the guardrail action
// for amazon-bedrock-guardrailAction.
func (r *invokeRun) assessInvokeOutput(ctx context.Context, docs []map[string]any) (string, error) {
	var refs, summaries []strRef
	for _, d := range docs {
		for _, ref := range collect(d, invokeOutputKeys) {
			if ref.summary {
				summaries = append(summaries, ref)
			} else {
				refs = append(refs, ref)
			}
		}
	}
	var sb strings.Builder
	for _, ref := range refs {
		sb.WriteString(ref.text)
	}
	text := sb.String()
	r.model = []string{text}
	res, err := r.g.Apply(ctx, SourceOutput, outputContent(r.grounding, []string{text}), r.scope)
	if err != nil {
		return "", err
	}
	r.outputs, r.outReason = res.Assessments, res.ActionReason
	var replacement string
	switch {
	case res.Blocked():
		replacement = r.g.BlockedOutputsMessaging
	case res.Masked() && len(r.grounding) < len(res.Outputs):
		replacement = res.Outputs[len(r.grounding)].Text
	default:
		return "NONE", nil
	}
	r.changed = true
	for i, ref := range refs {
		if i == 0 {
			ref.set(replacement)
		} else {
			ref.set("")
		}
	}
	for _, ref := range summaries {
		ref.set(replacement)
	}
	return "INTERVENED", nil
}

// decorate adds the guardrail action and, with trace on, the trace to a
// native answer document (§3.1). InvokeModel's trace names its members
// input and outputs, unlike Converse's.
func (r *invokeRun) decorate(doc map[string]any, action string) {
	doc["amazon-bedrock-guardrailAction"] = action
	if !r.trace {
		return
	}
	t := r.traceAssessment()
	g := map[string]any{"actionReason": t.ActionReason}
	if t.InputAssessment != nil {
		g["input"] = t.InputAssessment
	}
	if len(r.outputs) > 0 {
		outs := make([]map[string]Assessment, len(r.outputs))
		for i, a := range r.outputs {
			outs[i] = map[string]Assessment{r.id: a}
		}
		g["outputs"] = outs
	}
	if t.ModelOutput != nil {
		g["modelOutput"] = t.ModelOutput
	}
	doc["amazon-bedrock-trace"] = map[string]any{"guardrail": g}
}

// blockedBody is the answer to a request whose input was blocked.
func (b *invokerBackend) blockedBody(r *invokeRun, stream bool) ([]byte, error) {
	var body []byte
	if b.NativeBlocked != nil {
		body = b.NativeBlocked(r.modelID, r.g.BlockedInputMessaging)
	}
	doc, ok := decodeObject(body)
	if !ok {
		doc = map[string]any{"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": r.g.BlockedInputMessaging}, "finish_reason": "stop"}}}
	}
	r.decorate(doc, "INTERVENED")
	if stream {
		doc["amazon-bedrock-invocationMetrics"] = map[string]any{"inputTokenCount": 0, "outputTokenCount": 0, "invocationLatency": 0, "firstByteLatency": 0}
	}
	return encodeObject(doc)
}

// Invoke implements converse.Invoker.
func (b *invokerBackend) Invoke(ctx context.Context, req *converse.InvokeRequest) (*converse.InvokeResponse, error) {
	r, err := b.startInvoke(req)
	if err != nil || r == nil {
		if err != nil {
			return nil, err
		}
		return b.inner.Invoke(ctx, req)
	}
	body, blocked, err := r.assessInvokeInput(ctx, req.Body)
	if err != nil {
		return nil, err
	}
	if blocked {
		out, err := b.blockedBody(r, false)
		if err != nil {
			return nil, err
		}
		return &converse.InvokeResponse{Body: out, ContentType: "application/json"}, nil
	}
	inner := *req
	inner.Body, inner.GuardrailIdentifier, inner.GuardrailVersion, inner.Trace = body, "", "", ""
	resp, err := b.inner.Invoke(ctx, &inner)
	if err != nil {
		return nil, err
	}
	doc, ok := decodeObject(resp.Body)
	if !ok {
		return resp, nil // not a JSON answer: nothing to assess or decorate
	}
	action, err := r.assessInvokeOutput(ctx, []map[string]any{doc})
	if err != nil {
		return nil, err
	}
	r.decorate(doc, action)
	out := *resp
	if out.Body, err = encodeObject(doc); err != nil {
		return nil, err
	}
	return &out, nil
}

// InvokeStream implements converse.Invoker.
func (b *invokerBackend) InvokeStream(ctx context.Context, req *converse.InvokeRequest) (iter.Seq2[[]byte, error], error) {
	r, err := b.startInvoke(req)
	if err != nil || r == nil {
		if err != nil {
			return nil, err
		}
		return b.inner.InvokeStream(ctx, req)
	}
	body, blocked, err := r.assessInvokeInput(ctx, req.Body)
	if err != nil {
		return nil, err
	}
	if blocked {
		out, err := b.blockedBody(r, true)
		if err != nil {
			return nil, err
		}
		return func(yield func([]byte, error) bool) { yield(out, nil) }, nil
	}
	inner := *req
	inner.Body, inner.GuardrailIdentifier, inner.GuardrailVersion, inner.Trace = body, "", "", ""
	seq, err := b.inner.InvokeStream(ctx, &inner)
	if err != nil {
		return nil, err
	}
	return func(yield func([]byte, error) bool) {
		var chunks [][]byte
		for chunk, err := range seq {
			if err != nil {
				yield(nil, err)
				return
			}
			chunks = append(chunks, chunk)
		}
		docs := make([]map[string]any, len(chunks))
		var parsed []map[string]any
		for i, c := range chunks {
			if d, ok := decodeObject(c); ok {
				docs[i] = d
				parsed = append(parsed, d)
			}
		}
		action, err := r.assessInvokeOutput(ctx, parsed)
		if err != nil {
			yield(nil, err)
			return
		}
		last := -1
		for i := range docs {
			if docs[i] != nil {
				last = i
			}
		}
		for i, c := range chunks {
			if d := docs[i]; d != nil && (r.changed || i == last) {
				if i == last {
					r.decorate(d, action)
				}
				var err error
				if c, err = encodeObject(d); err != nil {
					yield(nil, err)
					return
				}
			}
			if !yield(c, nil) {
				return
			}
		}
	}, nil
}
