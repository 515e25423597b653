package guard

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Options are what Load attaches to a guardrail. The zero value suits a
// guardrail with deterministic policies only.
type Options struct {
	// Classifier judges content filters, denied topics and contextual
	// grounding. Required when the guardrail (or any version) uses them.
	Classifier Classifier
	// Now reads the clock for guardrailProcessingLatency; nil means
	// time.Now. Tests pass a fixed clock for reproducible assessments.
	Now func() time.Time
}

// ErrNotLoaded is returned by Apply on a guardrail that Load has not made
// ready.
var ErrNotLoaded = errors.New("guard: guardrail not loaded")

// Load checks g and every numbered version against Bedrock's limits and
// compiles them, so Apply can run. It fails when a policy that needs a
// classifier is configured and opts has none, and for automated reasoning,
// which the engine does not implement: a guardrail never claims a check it
// cannot make. Load must be called once, before g is shared.
func (g *Guardrail) Load(opts Options) error {
	if err := g.Check(); err != nil {
		return err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := g.compile(opts, ""); err != nil {
		return err
	}
	for k, v := range g.Versions {
		if err := v.compile(opts, "versions."+k+"."); err != nil {
			return err
		}
	}
	return nil
}

// policies is a definition compiled for evaluation.
type policies struct {
	classifier Classifier
	now        func() time.Time
	words      phraseSet
	profanity  *profanity
	pii        map[bool]*piiFinder // by "is OUTPUT": each side finds only its enabled types
	piiRules   map[string]PiiEntityConfig
	regexes    []*regexp.Regexp
}

func (g *Guardrail) compile(opts Options, at string) error {
	var needs []string
	if g.ContentPolicyConfig != nil {
		needs = append(needs, at+"contentPolicyConfig")
	}
	if g.TopicPolicyConfig != nil {
		needs = append(needs, at+"topicPolicyConfig")
	}
	if g.ContextualGroundingPolicyConfig != nil {
		needs = append(needs, at+"contextualGroundingPolicyConfig")
	}
	if len(needs) > 0 && opts.Classifier == nil {
		return fmt.Errorf("guard: guardrail %q: %s need a classifier to judge content, and none is configured", g.Name, strings.Join(needs, ", "))
	}
	if g.AutomatedReasoningPolicyConfig != nil {
		return &FieldError{Path: at + "automatedReasoningPolicyConfig", Msg: "automated reasoning checks are not supported by the local guardrail engine"}
	}
	p := &policies{classifier: opts.Classifier, now: opts.Now}
	if w := g.WordPolicyConfig; w != nil {
		texts := make([]string, len(w.WordsConfig))
		for i, c := range w.WordsConfig {
			texts[i] = c.Text
		}
		p.words = newPhraseSet(texts)
		if len(w.ManagedWordListsConfig) > 0 {
			p.profanity = newProfanity()
		}
	}
	if s := g.SensitiveInformationPolicyConfig; s != nil {
		p.piiRules = map[string]PiiEntityConfig{}
		var in, out []string
		for _, e := range s.PiiEntitiesConfig {
			p.piiRules[e.Type] = e
			if _, on := e.side(SourceInput, e.Action); on {
				in = append(in, e.Type)
			}
			if _, on := e.side(SourceOutput, e.Action); on {
				out = append(out, e.Type)
			}
		}
		p.pii = map[bool]*piiFinder{false: newPIIFinder(in), true: newPIIFinder(out)}
		for _, r := range s.RegexesConfig {
			p.regexes = append(p.regexes, regexp.MustCompile(r.Pattern)) // Check compiled it already
		}
	}
	g.compiled = p
	return nil
}
