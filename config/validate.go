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

// Validate checks c and reports every problem at once, each naming its field
// path (models["x"].base_url): no models; an unknown or missing backend; an
// openai model without a valid base_url or an upstream model name, or with a
// test block; test-backend settings that are not the test backend's (base_url,
// model, api_key_env, timeout on a test model; an unknown fault; a tool call
// without a name); features on a catalog model; a key that is a catalog
// model's profile or ARN instead of its base ID; a malformed custom ID; and an
// api_key_env naming an unset environment variable.
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
		_, inCatalog := catalog.Lookup(id)
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
		switch m.Backend {
		case BackendOpenAI:
			validateOpenAI(id, m, fail)
		case BackendTest:
			validateTest(id, m, fail)
		case "":
			fail(id, "backend", "required (%s or %s)", BackendOpenAI, BackendTest)
		default:
			fail(id, "backend", "unknown backend %q (want %s or %s)", m.Backend, BackendOpenAI, BackendTest)
		}
	}
	return errors.Join(errs...)
}

func validateOpenAI(id string, m Model, fail func(id, field, format string, args ...any)) {
	if m.BaseURL == "" {
		fail(id, "base_url", "required for backend %s", BackendOpenAI)
	} else if u, err := url.Parse(m.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail(id, "base_url", "%q is not an http or https URL", m.BaseURL)
	}
	if m.Model == "" {
		fail(id, "model", "required for backend %s (the upstream model name)", BackendOpenAI)
	}
	if m.APIKeyEnv != "" {
		if _, ok := os.LookupEnv(m.APIKeyEnv); !ok {
			fail(id, "api_key_env", "environment variable %s is not set", m.APIKeyEnv)
		}
	}
	if m.Timeout < 0 {
		fail(id, "timeout", "%v is negative", m.Timeout)
	}
	if m.Test != nil {
		fail(id, "test", "only for backend %s", BackendTest)
	}
}

func validateTest(id string, m Model, fail func(id, field, format string, args ...any)) {
	for _, f := range []struct {
		name string
		set  bool
	}{{"base_url", m.BaseURL != ""}, {"model", m.Model != ""}, {"api_key_env", m.APIKeyEnv != ""}, {"timeout", m.Timeout != 0}} {
		if f.set {
			fail(id, f.name, "only for backend %s", BackendOpenAI)
		}
	}
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
