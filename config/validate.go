package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/converse-project/converse/catalog"
	"github.com/converse-project/converse/testbackend"
)

// Kind describes one backend kind: the settings it takes, which of them
// it requires, and the model families it can serve (nil: every family).
type Kind struct {
	Settings []string // of base_url, model, api_key_env, timeout, region, endpoint_url, family
	Required []string
	Families []string
}

// upstream is what every HTTP upstream takes.
var upstream = []string{"base_url", "model", "api_key_env", "timeout", "family"}

// templateFamilies are the families whose prompt converse renders itself
// (model-families.md §4.3, §4.8–§4.10), for text-completion servers.
var templateFamilies = []string{catalog.FamilyLlama2, catalog.FamilyLlama3, catalog.FamilyMistralInstruct, catalog.FamilyTitanText}

// Kinds is every backend kind a configuration may name.
var Kinds = map[string]Kind{
	BackendTest:        {},
	BackendOpenAI:      {Settings: upstream, Required: []string{"base_url", "model"}},
	BackendBedrock:     {Settings: []string{"region", "endpoint_url", "model", "timeout", "family"}},
	BackendAnthropic:   {Settings: upstream, Required: []string{"model"}, Families: []string{catalog.FamilyClaudeMessages, catalog.FamilyClaudeText}},
	BackendCompletions: {Settings: upstream, Required: []string{"base_url", "model"}, Families: templateFamilies},
	BackendOllama:      {Settings: upstream, Required: []string{"model"}, Families: templateFamilies},
	BackendCohere:      {Settings: upstream, Required: []string{"model"}, Families: []string{catalog.FamilyCohereCommandR}},
	BackendMistral:     {Settings: upstream, Required: []string{"model"}, Families: []string{catalog.FamilyMistralChat}},
	BackendAI21:        {Settings: upstream, Required: []string{"model"}, Families: []string{catalog.FamilyJamba}},
	// The engine runs Llama-architecture models, fed their family's
	// template, or for a model of no Bedrock family the chat template
	// stored in its GGUF file.
	BackendLocal: {Settings: []string{"model_path", "slots", "context", "threads", "family"}, Required: []string{"model_path"},
		Families: []string{catalog.FamilyLlama2, catalog.FamilyLlama3, catalog.FamilyMistralInstruct, FamilyChatTemplate}},
}

// FamilyChatTemplate is the family of a local model outside Bedrock's
// families (SmolLM2, Qwen2, TinyLlama…): its conversation is rendered with
// the Jinja chat template stored in its GGUF file.
const FamilyChatTemplate = "chat-template"

// Native reports whether kind serves models through their family's native
// format, so that each model needs its family (every kind but openai and
// test).
func Native(kind string) bool { return kind != BackendOpenAI && kind != BackendTest }

// Validate checks c and reports every problem at once, each naming its field
// path (models["x"].base_url): no models; an unknown or missing backend; a
// setting the backend does not take, or a required one missing; a base_url
// that is not http(s); a model whose family the backend cannot serve (the
// wildcard only with backends that serve every family); test-backend
// settings that are not the test backend's (an unknown fault; a tool call
// without a name); features or family on a catalog model; a key that is a
// catalog model's profile or ARN instead of its base ID; a malformed custom
// ID; and an api_key_env naming an unset environment variable.
func (c *Config) Validate() error {
	if len(c.Models) == 0 {
		return errors.New("config: models: at least one model is required")
	}
	var errs []error
	fail := func(id, field, format string, args ...any) {
		path := fmt.Sprintf("models[%q]", id)
		if field != "" {
			path += "." + field
		}
		errs = append(errs, fmt.Errorf("config: %s: %s", path, fmt.Sprintf(format, args...)))
	}
	ids := make([]string, 0, len(c.Models))
	for id := range c.Models {
		ids = append(ids, id)
	}
	slices.Sort(ids) // report in a stable order
	for _, id := range ids {
		m := c.Models[id]
		entry, inCatalog := catalog.Lookup(id)
		switch base, resolves := catalog.Resolve(id); {
		case id == Wildcard || inCatalog:
		case resolves:
			fail(id, "", "a profile or ARN of %s; configure the base model ID, its profiles and ARNs route to it", base.ID)
		case !validCustomID(id):
			fail(id, "", "not a valid model ID (1 to 2048 of A-Z a-z 0-9 . _ - : /)")
		}
		if m.Features != nil && (id == Wildcard || inCatalog) {
			fail(id, "features", "only for IDs outside the catalog; catalog models have the features AWS documents")
		}
		kind, ok := Kinds[m.Backend]
		if !ok {
			if m.Backend == "" {
				fail(id, "backend", "required (%s)", strings.Join(kindNames(), ", "))
			} else {
				fail(id, "backend", "unknown backend %q (want %s)", m.Backend, strings.Join(kindNames(), ", "))
			}
			continue
		}
		validateSettings(id, m, kind, fail)
		family := m.Family
		switch {
		case m.Family != "" && (id == Wildcard || inCatalog):
			fail(id, "family", "only for IDs outside the catalog; catalog models have their family")
		case inCatalog:
			family = entry.Family
		case m.Family == FamilyChatTemplate && m.Backend != BackendLocal:
			fail(id, "family", "%s is only for backend %s (the template comes from the model file)", FamilyChatTemplate, BackendLocal)
		case m.Family != "" && m.Family != FamilyChatTemplate && !slices.Contains(catalog.Families(), m.Family):
			fail(id, "family", "unknown family %q (want one of %s)", m.Family, strings.Join(catalog.Families(), ", "))
		case id != Wildcard && m.Family == "" && Native(m.Backend):
			fail(id, "family", "required for backend %s on a model outside the catalog (one of %s)", m.Backend, strings.Join(catalog.Families(), ", "))
		}
		if kind.Families != nil {
			if id == Wildcard {
				fail(id, "backend", "backend %s serves only %s models; the wildcard needs a backend that serves every family (bedrock, openai or test)", m.Backend, strings.Join(kind.Families, ", "))
			} else if family != "" && !slices.Contains(kind.Families, family) {
				fail(id, "backend", "backend %s cannot serve %s, whose family is %s (it serves %s)", m.Backend, id, family, strings.Join(kind.Families, ", "))
			}
		}
		if m.Backend == BackendTest {
			validateTest(id, m, fail)
		} else if m.Test != nil {
			fail(id, "test", "only for backend %s", BackendTest)
		}
	}
	errs = append(errs, c.validateGuardrails()...)
	return errors.Join(errs...)
}

func kindNames() []string {
	names := make([]string, 0, len(Kinds))
	for k := range Kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// validateSettings checks the settings a kind takes and requires.
func validateSettings(id string, m Model, kind Kind, fail func(id, field, format string, args ...any)) {
	set := map[string]bool{"base_url": m.BaseURL != "", "model": m.Model != "", "api_key_env": m.APIKeyEnv != "",
		"timeout": m.Timeout != 0, "region": m.Region != "", "endpoint_url": m.Endpoint != "", "family": m.Family != "",
		"model_path": m.ModelPath != "", "slots": m.Slots != 0, "context": m.Context != 0, "threads": m.Threads != 0}
	for _, name := range []string{"base_url", "model", "api_key_env", "timeout", "region", "endpoint_url", "family", "model_path", "slots", "context", "threads"} {
		if set[name] && !slices.Contains(kind.Settings, name) {
			fail(id, name, "not a setting of backend %s", m.Backend)
		}
	}
	for _, name := range kind.Required {
		if !set[name] {
			fail(id, name, "required for backend %s", m.Backend)
		}
	}
	for _, u := range []struct{ name, value string }{{"base_url", m.BaseURL}, {"endpoint_url", m.Endpoint}} {
		if u.value == "" {
			continue
		}
		if p, err := url.Parse(u.value); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			fail(id, u.name, "%q is not an http or https URL", u.value)
		}
	}
	if m.APIKeyEnv != "" {
		if _, ok := os.LookupEnv(m.APIKeyEnv); !ok {
			fail(id, "api_key_env", "environment variable %s is not set", m.APIKeyEnv)
		}
	}
	if m.Timeout < 0 {
		fail(id, "timeout", "%v is negative", m.Timeout)
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"slots", m.Slots}, {"context", m.Context}, {"threads", m.Threads}} {
		if n.v < 0 {
			fail(id, n.name, "%d is negative", n.v)
		}
	}
	if m.ModelPath != "" {
		if _, err := os.Stat(m.ModelPath); err != nil {
			fail(id, "model_path", "%v (download a model with converse pull)", err)
		}
	}
}

func validateTest(id string, m Model, fail func(id, field, format string, args ...any)) {
	if m.Test == nil {
		return
	}
	for i, r := range m.Test.Replies {
		field := fmt.Sprintf("test.replies[%d]", i)
		if r.Fault != "" && !slices.Contains(testbackend.Faults(), testbackend.Fault(r.Fault)) {
			fail(id, field+".fault", "unknown fault %q", r.Fault)
		}
		if r.CutAfter < 0 {
			fail(id, field+".cut_after", "%d is negative", r.CutAfter)
		}
		if r.ChunkDelay < 0 {
			fail(id, field+".chunk_delay", "%v is negative", r.ChunkDelay)
		}
		if r.ToolUse != nil {
			if r.ToolUse.Name == "" {
				fail(id, field+".tool_use.name", "required")
			}
			if _, err := r.ToolUse.JSON(); err != nil {
				fail(id, field+".tool_use.input", "%v", err)
			}
		}
	}
}

// JSON returns the tool call's input as a JSON object ({} when absent).
func (t *TestToolUse) JSON() (json.RawMessage, error) {
	if t.Input == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(t.Input)
	if err != nil {
		return nil, fmt.Errorf("not expressible as JSON: %w", err)
	}
	return b, nil
}

// validCustomID accepts the IDs a caller can send for a model outside the
// catalog: 1 to 2048 characters (ConversationalModelId's length,
// wire-protocol.md §2.1) drawn from the characters Bedrock model IDs and
// ARNs use.
func validCustomID(id string) bool {
	if len(id) == 0 || len(id) > 2048 {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:/", r))
	})
}
