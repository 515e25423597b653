package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/converse-project/converse/catalog"
	"github.com/converse-project/converse/guard"
)

// Guardrail is one guardrail of the configuration: a definition in the
// shape of Bedrock's CreateGuardrail body (guard.Guardrail: the DRAFT at
// the top level, numbered versions under versions), plus the classifier
// that judges its content filters, denied topics and contextual grounding.
type Guardrail struct {
	guard.Guardrail `yaml:",inline"`
	// Classifier names the model that judges the model-judged policies;
	// required when the guardrail or any of its versions uses them.
	Classifier *Classifier `yaml:"classifier"`
}

// Classifier is the model a guardrail's classifier asks (guard.Chat).
type Classifier struct {
	// Model is a model ID this configuration serves (a models key, or a
	// catalog model when "*" is configured). The guardrail's prompt goes to
	// it through that model's own backend.
	Model string `yaml:"model"`
}

// guardrailID is a bare guardrail identifier (guardrails.md §1.1).
var guardrailID = regexp.MustCompile(`^[a-z0-9]{1,64}$`)

// validateGuardrails checks every guardrail: its identifier, its
// definition against Bedrock's limits (guard's Check, each error naming
// the field path under guardrails["id"]), and its classifier.
func (c *Config) validateGuardrails() []error {
	var errs []error
	ids := make([]string, 0, len(c.Guardrails))
	for id := range c.Guardrails {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g := c.Guardrails[id]
		path := fmt.Sprintf("guardrails[%q]", id)
		fail := func(field, format string, args ...any) {
			p := path
			if field != "" {
				p += "." + field
			}
			errs = append(errs, fmt.Errorf("config: %s: %s", p, fmt.Sprintf(format, args...)))
		}
		if !guardrailID.MatchString(id) {
			fail("", "a guardrail identifier is 1 to 64 of a-z 0-9")
		}
		if g == nil {
			fail("", "the guardrail has no definition")
			continue
		}
		for _, err := range flatten(g.Check()) {
			if fe, ok := errors.AsType[*guard.FieldError](err); ok {
				fail(fe.Path, "%s", fe.Msg)
			} else {
				fail("", "%v", err)
			}
		}
		needs := needsClassifier(&g.Guardrail)
		switch {
		case g.Classifier == nil && needs != "":
			fail("classifier", "required: %s is judged by a model; add classifier: {model: <a model ID this configuration serves>}", needs)
		case g.Classifier == nil:
		case g.Classifier.Model == "":
			fail("classifier.model", "required: a model ID this configuration serves")
		case !c.serves(g.Classifier.Model):
			fail("classifier.model", "%q is not a model this configuration serves", g.Classifier.Model)
		}
	}
	return errs
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// needsClassifier names the first model-judged policy g (or a version of
// it) uses, or "".
func needsClassifier(g *guard.Guardrail) string {
	check := func(g *guard.Guardrail, at string) string {
		switch {
		case g.ContentPolicyConfig != nil:
			return at + "contentPolicyConfig"
		case g.TopicPolicyConfig != nil:
			return at + "topicPolicyConfig"
		case g.ContextualGroundingPolicyConfig != nil:
			return at + "contextualGroundingPolicyConfig"
		}
		return ""
	}
	if n := check(g, ""); n != "" {
		return n
	}
	keys := make([]string, 0, len(g.Versions))
	for k := range g.Versions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := g.Versions[k]; v != nil {
			if n := check(v, "versions."+k+"."); n != "" {
				return n
			}
		}
	}
	return ""
}

// serves reports whether a request for model id would be routed to one of
// c's entries.
func (c *Config) serves(id string) bool {
	if _, ok := c.Models[id]; ok {
		return true
	}
	m, ok := catalog.Resolve(id)
	if !ok {
		return false
	}
	_, own := c.Models[m.ID]
	_, wild := c.Models[Wildcard]
	return own || wild
}
