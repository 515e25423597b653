package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/backend"
	"github.com/converse-project/converse/catalog"
	"github.com/converse-project/converse/codec"
	"github.com/converse-project/converse/config"
	"github.com/converse-project/converse/route"
	"github.com/converse-project/converse/testbackend"
	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/ai21"
	"github.com/converse-project/converse/transport/anthropic"
	"github.com/converse-project/converse/transport/bedrock"
	"github.com/converse-project/converse/transport/cohere"
	"github.com/converse-project/converse/transport/completions"
	"github.com/converse-project/converse/transport/mistral"
	"github.com/converse-project/converse/transport/openai"
)

// chatBackends build the backends that serve Converse in a format of their
// own, whatever the model's family.
var chatBackends = map[string]func(config.Model) (converse.Backend, error){
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

// transports build the destinations of the native backend kinds: each
// takes a family's native InvokeModel body somewhere. family is the model's
// family, for destinations that speak several.
var transports = map[string]func(ctx context.Context, m config.Model, family string) (transport.Invoker, error){
	config.BackendBedrock: func(ctx context.Context, m config.Model, _ string) (transport.Invoker, error) {
		return bedrock.New(ctx, bedrock.Config{Region: m.Region, EndpointURL: m.Endpoint, Timeout: m.Timeout})
	},
	config.BackendAnthropic: func(_ context.Context, m config.Model, _ string) (transport.Invoker, error) {
		return &anthropic.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout}, nil
	},
	config.BackendCompletions: func(_ context.Context, m config.Model, family string) (transport.Invoker, error) {
		return &completions.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, API: completions.OpenAI, Dialect: dialects[family], Timeout: m.Timeout}, nil
	},
	config.BackendOllama: func(_ context.Context, m config.Model, family string) (transport.Invoker, error) {
		base := m.BaseURL
		if base == "" {
			base = "http://127.0.0.1:11434"
		}
		return &completions.Client{BaseURL: base, APIKey: m.APIKey, API: completions.Ollama, Dialect: dialects[family], Timeout: m.Timeout}, nil
	},
	config.BackendCohere: func(_ context.Context, m config.Model, _ string) (transport.Invoker, error) {
		return &cohere.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout}, nil
	},
	config.BackendMistral: func(_ context.Context, m config.Model, _ string) (transport.Invoker, error) {
		return &mistral.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout}, nil
	},
	config.BackendAI21: func(_ context.Context, m config.Model, _ string) (transport.Invoker, error) {
		return &ai21.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout}, nil
	},
}

// dialects tell a text-completion server which native body and answer a
// template family uses.
var dialects = map[string]completions.Dialect{
	catalog.FamilyLlama2:          completions.Llama,
	catalog.FamilyLlama3:          completions.Llama,
	catalog.FamilyMistralInstruct: completions.Mistral,
	catalog.FamilyTitanText:       completions.Titan,
}

// buildRouter builds the route table of a loaded configuration. A native
// backend serves each model through its family's codec, so a wildcard entry
// of such a backend becomes one entry per catalog model it covers, sharing
// one transport.
func buildRouter(ctx context.Context, cfg *config.Config) (*route.Table, error) {
	ids := make([]string, 0, len(cfg.Models))
	for id := range cfg.Models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var entries []route.Entry
	for _, id := range ids {
		m := cfg.Models[id]
		if build, ok := chatBackends[m.Backend]; ok {
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
			continue
		}
		newTransport, ok := transports[m.Backend]
		if !ok {
			return nil, fmt.Errorf("models[%q]: unknown backend %q", id, m.Backend)
		}
		// The models this entry serves, with their families.
		type served struct{ id, family string }
		var models []served
		switch cm, inCatalog := catalog.Lookup(id); {
		case id == route.Wildcard:
			for _, cm := range catalog.All() {
				if _, listed := cfg.Models[cm.ID]; !listed {
					models = append(models, served{cm.ID, cm.Family})
				}
			}
		case inCatalog:
			models = []served{{id, cm.Family}}
		default:
			models = []served{{id, m.Family}}
		}
		var tr transport.Invoker
		for _, sm := range models {
			fam, ok := codec.For(sm.family)
			if !ok {
				return nil, fmt.Errorf("models[%q]: no codec for family %q", id, sm.family)
			}
			if tr == nil || m.Backend == config.BackendCompletions || m.Backend == config.BackendOllama {
				// Text-completion servers answer in the family's dialect,
				// so each family needs its own client.
				var err error
				if tr, err = newTransport(ctx, m, sm.family); err != nil {
					return nil, fmt.Errorf("models[%q]: %w", id, err)
				}
			}
			e := route.Entry{ID: sm.id, Kind: m.Backend, Backend: &backend.Native{Family: fam, Transport: tr, Model: m.Model}}
			if _, inCatalog := catalog.Lookup(sm.id); !inCatalog {
				f := m.Features.Narrow(converse.AllFeatures)
				e.Features = &f
			}
			entries = append(entries, e)
		}
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
