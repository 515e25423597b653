package guard

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldError reports a guardrail definition field that breaks one of
// Bedrock's limits. Path names the field in CreateGuardrail's dotted form
// (list items by index), for example "contentPolicyConfig.filtersConfig.1.type";
// a numbered version's fields start with "versions.<n>.".
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return "guard: " + e.Path + ": " + e.Msg }

// Limits from the botocore model and the quotas page (guardrails.md §1, §4.9).
const (
	maxVersions          = 20
	maxTopics            = 30
	maxTopicExamples     = 5
	maxWords             = 10000
	maxRegexes           = 10
	maxContentFilters    = 6
	maxBlockedMessage    = 500
	maxTopicDefClassic   = 200
	maxTopicDefStandard  = 1000
	maxTags              = 200
	maxARPolicies        = 2
	maxRegexPattern      = 500
	maxRegexDescription  = 1000
	maxNameLen           = 50
	maxDescriptionLen    = 200
	maxItemText          = 100
	maxClientTokenLen    = 256
	maxKMSKeyLen         = 2048
	minProfileLen        = 15
	maxProfileLen        = 2048
	maxTagKeyLen         = 128
	maxTagValueLen       = 256
	maxGroundingThresh   = 0.99
	maxARPolicyARNLength = 2048
)

var (
	namePattern      = regexp.MustCompile(`^[0-9a-zA-Z-_]+$`)
	topicNamePattern = regexp.MustCompile(`^[0-9a-zA-Z-_ !?.]+$`)
	versionPattern   = regexp.MustCompile(`^[1-9][0-9]{0,7}$`)
)

// Enum value sets, in the model's order so messages list them as Bedrock does.
var (
	contentTypes   = []string{"SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK"}
	strengths      = []string{"NONE", "LOW", "MEDIUM", "HIGH"}
	modalities     = []string{"TEXT", "IMAGE"}
	blockActions   = []string{ActionBlock, ActionNone}
	piiActions     = []string{ActionBlock, ActionAnonymize, ActionNone}
	tiers          = []string{"CLASSIC", "STANDARD"}
	groundingTypes = []string{"GROUNDING", "RELEVANCE"}
)

// checker collects every violation, so an operator fixes a file in one pass.
type checker struct{ errs []error }

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) length(path, v string, lo, hi int) {
	if n := utf8.RuneCountInString(v); n < lo || n > hi {
		c.fail(path, "Member must have length between %d and %d, got %d", lo, hi, n)
	}
}

func (c *checker) optLength(path, v string, lo, hi int) {
	if v != "" {
		c.length(path, v, lo, hi)
	}
}

func (c *checker) pattern(path, v string, re *regexp.Regexp) {
	if v != "" && !re.MatchString(v) {
		c.fail(path, "Member must satisfy regular expression pattern: %s", strings.Trim(re.String(), "^$"))
	}
}

func (c *checker) enum(path, v string, set []string) {
	if !slices.Contains(set, v) {
		c.fail(path, "Member must satisfy enum value set: [%s], got %q", strings.Join(set, ", "), v)
	}
}

func (c *checker) optEnum(path, v string, set []string) {
	if v != "" {
		c.enum(path, v, set)
	}
}

func (c *checker) count(path string, n, lo, hi int) {
	if n < lo || n > hi {
		c.fail(path, "Member must have between %d and %d items, got %d", lo, hi, n)
	}
}

func (c *checker) sides(path string, s SideActions, set []string) {
	c.optEnum(path+".inputAction", s.InputAction, set)
	c.optEnum(path+".outputAction", s.OutputAction, set)
}

// Check reports every field of g (and of each numbered version) that breaks
// Bedrock's limits, joined into one error of *FieldError values; nil when
// the definition is valid. It does not need a classifier.
func (g *Guardrail) Check() error {
	var c checker
	g.check(&c, "")
	if len(g.Versions) > maxVersions {
		c.fail("versions", "at most %d versions per guardrail, got %d", maxVersions, len(g.Versions))
	}
	keys := make([]string, 0, len(g.Versions))
	for k := range g.Versions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		path := "versions." + k
		v := g.Versions[k]
		switch {
		case !versionPattern.MatchString(k):
			c.fail(path, "a version is a number matching [1-9][0-9]{0,7}")
		case v == nil:
			c.fail(path, "the version has no definition")
		case len(v.Versions) > 0:
			c.fail(path+".versions", "a numbered version cannot hold versions")
		default:
			v.check(&c, path+".")
		}
	}
	return errors.Join(c.errs...)
}

func (g *Guardrail) check(c *checker, at string) {
	c.length(at+"name", g.Name, 1, maxNameLen)
	c.pattern(at+"name", g.Name, namePattern)
	c.optLength(at+"description", g.Description, 1, maxDescriptionLen)
	c.length(at+"blockedInputMessaging", g.BlockedInputMessaging, 1, maxBlockedMessage)
	c.length(at+"blockedOutputsMessaging", g.BlockedOutputsMessaging, 1, maxBlockedMessage)
	c.optLength(at+"kmsKeyId", g.KmsKeyID, 1, maxKMSKeyLen)
	c.optLength(at+"clientRequestToken", g.ClientRequestToken, 1, maxClientTokenLen)
	if len(g.Tags) > maxTags {
		c.fail(at+"tags", "Member must have at most %d items, got %d", maxTags, len(g.Tags))
	}
	for i, t := range g.Tags {
		p := at + "tags." + strconv.Itoa(i)
		c.length(p+".key", t.Key, 1, maxTagKeyLen)
		c.length(p+".value", t.Value, 0, maxTagValueLen)
	}
	if g.CrossRegionConfig != nil {
		c.length(at+"crossRegionConfig.guardrailProfileIdentifier", g.CrossRegionConfig.GuardrailProfileIdentifier, minProfileLen, maxProfileLen)
	}
	if g.TopicPolicyConfig == nil && g.ContentPolicyConfig == nil && g.WordPolicyConfig == nil &&
		g.SensitiveInformationPolicyConfig == nil && g.ContextualGroundingPolicyConfig == nil && g.AutomatedReasoningPolicyConfig == nil {
		// "A guardrail must contain at least one filter" (guardrails-create).
		c.fail(strings.TrimSuffix(at, ".")+"(policies)", "a guardrail must configure at least one policy")
	}
	if p := g.ContentPolicyConfig; p != nil {
		g.checkContent(c, at+"contentPolicyConfig", p)
	}
	if p := g.TopicPolicyConfig; p != nil {
		g.checkTopics(c, at+"topicPolicyConfig", p)
	}
	if p := g.WordPolicyConfig; p != nil {
		checkWords(c, at+"wordPolicyConfig", p)
	}
	if p := g.SensitiveInformationPolicyConfig; p != nil {
		checkSensitive(c, at+"sensitiveInformationPolicyConfig", p)
	}
	if p := g.ContextualGroundingPolicyConfig; p != nil {
		checkGrounding(c, at+"contextualGroundingPolicyConfig", p)
	}
	if p := g.AutomatedReasoningPolicyConfig; p != nil {
		path := at + "automatedReasoningPolicyConfig"
		c.count(path+".policies", len(p.Policies), 1, maxARPolicies)
		for i, arn := range p.Policies {
			c.length(path+".policies."+strconv.Itoa(i), arn, 1, maxARPolicyARNLength)
		}
		if t := p.ConfidenceThreshold; t != nil && (*t < 0 || *t > 1) {
			c.fail(path+".confidenceThreshold", "Member must be between 0 and 1, got %g", *t)
		}
	}
}

// checkTier checks a policy's tier and that STANDARD comes with the
// cross-Region profile Bedrock requires for it (§1.9).
func (g *Guardrail) checkTier(c *checker, path string, t *TierConfig) (standard bool) {
	if t == nil {
		return false
	}
	c.enum(path+".tierName", t.TierName, tiers)
	if t.TierName == "STANDARD" && g.CrossRegionConfig == nil {
		c.fail(path+".tierName", "the STANDARD tier requires crossRegionConfig")
	}
	return t.TierName == "STANDARD"
}

func (g *Guardrail) checkContent(c *checker, path string, p *ContentPolicyConfig) {
	g.checkTier(c, path+".tierConfig", p.TierConfig)
	c.count(path+".filtersConfig", len(p.FiltersConfig), 1, maxContentFilters)
	seen := map[string]bool{}
	for i, f := range p.FiltersConfig {
		fp := path + ".filtersConfig." + strconv.Itoa(i)
		c.enum(fp+".type", f.Type, contentTypes)
		if seen[f.Type] {
			c.fail(fp+".type", "filter type %s is configured twice", f.Type)
		}
		seen[f.Type] = true
		c.enum(fp+".inputStrength", f.InputStrength, strengths)
		c.enum(fp+".outputStrength", f.OutputStrength, strengths)
		if f.Type == "PROMPT_ATTACK" && f.OutputStrength != "NONE" {
			// Prompt attack applies to input only (§1.3).
			c.fail(fp+".outputStrength", "PROMPT_ATTACK applies to input only: outputStrength must be NONE")
		}
		for _, m := range [...]struct {
			name string
			list []string
		}{{"inputModalities", f.InputModalities}, {"outputModalities", f.OutputModalities}} {
			if m.list == nil {
				continue
			}
			c.count(fp+"."+m.name, len(m.list), 1, len(modalities))
			for j, v := range m.list {
				c.enum(fp+"."+m.name+"."+strconv.Itoa(j), v, modalities)
			}
		}
		c.sides(fp, f.SideActions, blockActions)
	}
}

func (g *Guardrail) checkTopics(c *checker, path string, p *TopicPolicyConfig) {
	maxDef := maxTopicDefClassic
	if g.checkTier(c, path+".tierConfig", p.TierConfig) {
		maxDef = maxTopicDefStandard // guardrails-tiers allows 1,000 on STANDARD (§1.4)
	}
	c.count(path+".topicsConfig", len(p.TopicsConfig), 1, maxTopics)
	seen := map[string]bool{}
	for i, t := range p.TopicsConfig {
		tp := path + ".topicsConfig." + strconv.Itoa(i)
		c.length(tp+".name", t.Name, 1, maxItemText)
		c.pattern(tp+".name", t.Name, topicNamePattern)
		if seen[strings.ToLower(t.Name)] {
			c.fail(tp+".name", "topic %q is configured twice", t.Name)
		}
		seen[strings.ToLower(t.Name)] = true
		c.length(tp+".definition", t.Definition, 1, maxDef)
		c.count(tp+".examples", len(t.Examples), 0, maxTopicExamples)
		for j, e := range t.Examples {
			c.length(tp+".examples."+strconv.Itoa(j), e, 1, maxItemText)
		}
		c.enum(tp+".type", t.Type, []string{"DENY"})
		c.sides(tp, t.SideActions, blockActions)
	}
}

func checkWords(c *checker, path string, p *WordPolicyConfig) {
	if len(p.WordsConfig) == 0 && len(p.ManagedWordListsConfig) == 0 {
		c.fail(path, "a word policy needs wordsConfig or managedWordListsConfig")
	}
	if len(p.WordsConfig) > maxWords {
		c.fail(path+".wordsConfig", "Member must have at most %d items, got %d", maxWords, len(p.WordsConfig))
	}
	for i, w := range p.WordsConfig {
		wp := path + ".wordsConfig." + strconv.Itoa(i)
		c.length(wp+".text", w.Text, 1, maxItemText)
		if w.Text != "" && len(tokenize(w.Text)) == 0 {
			c.fail(wp+".text", "the word has no letters or digits to match")
		}
		c.sides(wp, w.SideActions, blockActions)
	}
	for i, m := range p.ManagedWordListsConfig {
		mp := path + ".managedWordListsConfig." + strconv.Itoa(i)
		c.enum(mp+".type", m.Type, []string{"PROFANITY"})
		c.sides(mp, m.SideActions, blockActions)
	}
}

func checkSensitive(c *checker, path string, p *SensitiveInformationPolicyConfig) {
	if len(p.PiiEntitiesConfig) == 0 && len(p.RegexesConfig) == 0 {
		c.fail(path, "a sensitive information policy needs piiEntitiesConfig or regexesConfig")
	}
	seen := map[string]bool{}
	for i, e := range p.PiiEntitiesConfig {
		ep := path + ".piiEntitiesConfig." + strconv.Itoa(i)
		c.enum(ep+".type", e.Type, PIITypes())
		if seen[e.Type] {
			c.fail(ep+".type", "entity type %s is configured twice", e.Type)
		}
		seen[e.Type] = true
		c.enum(ep+".action", e.Action, piiActions)
		c.sides(ep, e.SideActions, piiActions)
	}
	if len(p.RegexesConfig) > maxRegexes {
		c.fail(path+".regexesConfig", "Member must have at most %d items, got %d", maxRegexes, len(p.RegexesConfig))
	}
	for i, r := range p.RegexesConfig {
		rp := path + ".regexesConfig." + strconv.Itoa(i)
		c.length(rp+".name", r.Name, 1, maxItemText)
		c.length(rp+".pattern", r.Pattern, 1, maxRegexPattern)
		if _, err := regexp.Compile(r.Pattern); err != nil {
			// RE2 has no lookaround, which Bedrock forbids too (§4.4).
			c.fail(rp+".pattern", "invalid regular expression (RE2 syntax, no lookaround): %v", err)
		}
		c.optLength(rp+".description", r.Description, 1, maxRegexDescription)
		c.enum(rp+".action", r.Action, piiActions)
		c.sides(rp, r.SideActions, piiActions)
	}
}

func checkGrounding(c *checker, path string, p *ContextualGroundingPolicyConfig) {
	c.count(path+".filtersConfig", len(p.FiltersConfig), 1, len(groundingTypes))
	seen := map[string]bool{}
	for i, f := range p.FiltersConfig {
		fp := path + ".filtersConfig." + strconv.Itoa(i)
		c.enum(fp+".type", f.Type, groundingTypes)
		if seen[f.Type] {
			c.fail(fp+".type", "filter type %s is configured twice", f.Type)
		}
		seen[f.Type] = true
		if f.Threshold < 0 || f.Threshold > maxGroundingThresh {
			// The guide allows 0 to 0.99; 1 would block every answer (§1.7).
			c.fail(fp+".threshold", "Member must be between 0 and 0.99, got %g", f.Threshold)
		}
		c.optEnum(fp+".action", f.Action, blockActions)
	}
}
