package main

import (
	"fmt"
	"sort"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/backend"
	"github.com/converse-project/converse/catalog"
	"github.com/converse-project/converse/config"
	"github.com/converse-project/converse/route"
	"github.com/converse-project/converse/testbackend"
	"github.com/converse-project/converse/transport/openai"
)

// backends is every backend kind a configuration may name, and how to build
// one from a model's settings: the one place where configuration meets code.
var backends = map[string]func(config.Model) (converse.Backend, error){
	config.BackendOpenAI: func(m config.Model) (converse.Backend, error) {
		return &backend.OpenAIChat{
			Client: &openai.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout},
			Model:  m.Model,
		}, nil
	},
	config.BackendTest: func(m config.Model) (converse.Backend, error) {
		return testbackend.New(testConfig(m.Test))
	},
}

// buildRouter builds the route table of a loaded configuration.
func buildRouter(cfg *config.Config) (*route.Table, error) {
	ids := make([]string, 0, len(cfg.Models))
	for id := range cfg.Models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	entries := make([]route.Entry, 0, len(ids))
	for _, id := range ids {
		m := cfg.Models[id]
		build, ok := backends[m.Backend]
		if !ok {
			return nil, fmt.Errorf("models[%q]: unknown backend %q", id, m.Backend)
		}
		b, err := build(m)
		if err != nil {
			return nil, fmt.Errorf("models[%q]: %w", id, err)
		}
		e := route.Entry{ID: id, Kind: m.Backend, Backend: b}
		if _, inCatalog := catalog.Lookup(id); !inCatalog && id != route.Wildcard {
			f := m.Features.Narrow(converse.AllFeatures)
			e.Features = &f
		}
		entries = append(entries, e)
	}
	return route.New(entries)
}

// testConfig maps the configuration's test block onto the test backend's.
func testConfig(t *config.TestBackend) testbackend.Config {
	var c testbackend.Config
	if t == nil {
		return c
	}
	for _, r := range t.Replies {
		tr := testbackend.Reply{Match: r.Match, Text: r.Text, StopReason: r.StopReason,
			Fault: testbackend.Fault(r.Fault), CutAfter: r.CutAfter, ChunkDelay: r.ChunkDelay}
		if r.ToolUse != nil {
			// Validated by config.Parse, so JSON cannot fail here.
			in, _ := r.ToolUse.JSON()
			tr.ToolUse = &testbackend.ToolUse{Name: r.ToolUse.Name, Input: in}
		}
		c.Replies = append(c.Replies, tr)
	}
	return c
}
