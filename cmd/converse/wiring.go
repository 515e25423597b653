package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

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
	"github.com/converse-project/converse/transport/local"
	"github.com/converse-project/converse/transport/mistral"
	"github.com/converse-project/converse/transport/openai"
)

// upstreamHTTP is the HTTP client every upstream transport shares: one
// connection pool for the process, keeping enough idle connections per
// upstream for a gateway's concurrency (http.DefaultTransport keeps 2, so
// under load most requests would open a new connection).
var upstreamHTTP = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: t}
}()

// chatBackends build the backends that serve Converse in a format of their
// own, whatever the model's family.
var chatBackends = map[string]func(config.Model) (converse.Backend, error){
	config.BackendOpenAI: func(m config.Model) (converse.Backend, error) {
		return &backend.OpenAIChat{
			Client: &openai.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout, HTTPClient: upstreamHTTP},
			Model:  m.Model,
		}, nil
	},
	config.BackendTest: func(m config.Model) (converse.Backend, error) {
		return testbackend.New(testConfig(m.Test))
	},
}

// transports build the destinations of the native backend kinds. Each is
// called once per configuration entry and returns the destination for each
// family that entry serves, and what to close when the server stops (nil
// when nothing is held open): most are one client for all; a text-completion
// server answers in the family's dialect, so it gets a client per family;
// the local engine loads the model once and serves each family's dialect
// from it.
var transports = map[string]func(ctx context.Context, m config.Model) (func(family string) transport.Invoker, io.Closer, error){
	config.BackendBedrock: func(ctx context.Context, m config.Model) (func(string) transport.Invoker, io.Closer, error) {
		c, err := bedrock.New(ctx, bedrock.Config{Region: m.Region, EndpointURL: m.Endpoint, Timeout: m.Timeout, HTTPClient: upstreamHTTP})
		return same(c), nil, err
	},
	config.BackendAnthropic: func(_ context.Context, m config.Model) (func(string) transport.Invoker, io.Closer, error) {
		return same(&anthropic.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout, HTTPClient: upstreamHTTP}), nil, nil
	},
	config.BackendCompletions: func(_ context.Context, m config.Model) (func(string) transport.Invoker, io.Closer, error) {
		return func(family string) transport.Invoker {
			return &completions.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, API: completions.OpenAI, Dialect: dialects[family], Timeout: m.Timeout, HTTPClient: upstreamHTTP}
		}, nil, nil
	},
	config.BackendOllama: func(_ context.Context, m config.Model) (func(string) transport.Invoker, io.Closer, error) {
		base := cmp.Or(m.BaseURL, "http://127.0.0.1:11434")
		return func(family string) transport.Invoker {
			return &completions.Client{BaseURL: base, APIKey: m.APIKey, API: completions.Ollama, Dialect: dialects[family], Timeout: m.Timeout, HTTPClient: upstreamHTTP}
		}, nil, nil
	},
	config.BackendCohere: func(_ context.Context, m config.Model) (func(string) transport.Invoker, io.Closer, error) {
		return same(&cohere.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout, HTTPClient: upstreamHTTP}), nil, nil
	},
	config.BackendMistral: func(_ context.Context, m config.Model) (func(string) transport.Invoker, io.Closer, error) {
		return same(&mistral.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout, HTTPClient: upstreamHTTP}), nil, nil
	},
	config.BackendAI21: func(_ context.Context, m config.Model) (func(string) transport.Invoker, io.Closer, error) {
		return same(&ai21.Client{BaseURL: m.BaseURL, APIKey: m.APIKey, Timeout: m.Timeout, HTTPClient: upstreamHTTP}), nil, nil
	},
	config.BackendLocal: func(_ context.Context, m config.Model) (func(string) transport.Invoker, io.Closer, error) {
		e, err := local.Open(m.ModelPath, local.Options{Slots: m.Slots, Context: m.Context, Threads: m.Threads})
		if err != nil {
			return nil, nil, err
		}
		return func(family string) transport.Invoker { return &local.Client{Engine: e, Dialect: dialects[family]} }, e, nil
	},
}

// same serves every family from one destination.
func same(t transport.Invoker) func(string) transport.Invoker {
	return func(string) transport.Invoker { return t }
}

// dialects tell a text-completion server which native body and answer a
// template family uses.
var dialects = map[string]completions.Dialect{
	catalog.FamilyLlama2:          completions.Llama,
	catalog.FamilyLlama3:          completions.Llama,
	catalog.FamilyMistralInstruct: completions.Mistral,
	catalog.FamilyTitanText:       completions.Titan,
	config.FamilyChatTemplate:     completions.Llama, // a rendered prompt in Llama's native body
}

// buildRouter builds the route table of a loaded configuration: one entry
// per model served. A wildcard entry stands for every catalog model not
// listed on its own. A chat backend (openai, test) serves all its models
// from one instance; a native backend serves each through its family's
// codec and the destination its transport gives for that family.
//
// The returned closeAll releases what the table holds open (local models'
// files and workers); call it once the table is no longer used.
func buildRouter(ctx context.Context, cfg *config.Config) (table *route.Table, closeAll func(), err error) {
	ids := make([]string, 0, len(cfg.Models))
	for id := range cfg.Models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var (
		entries []route.Entry
		closers []io.Closer
	)
	closeAll = func() {
		for _, c := range closers {
			c.Close()
		}
	}
	for _, id := range ids {
		m := cfg.Models[id]
		built, err := entriesFor(ctx, cfg, id, m, &closers)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("models[%q]: %w", id, err)
		}
		entries = append(entries, built...)
	}
	table, err = guardRoutes(cfg, entries)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return table, closeAll, nil
}

// served is one model a configuration entry serves.
type served struct {
	id       string
	family   string
	features converse.Features
}

// modelsOf lists the models configuration entry id serves.
func modelsOf(cfg *config.Config, id string, m config.Model) []served {
	if id == route.Wildcard {
		var out []served
		for _, cm := range catalog.All() {
			if _, listed := cfg.Models[cm.ID]; !listed {
				out = append(out, served{cm.ID, cm.Family, cm.Features})
			}
		}
		return out
	}
	if cm, ok := catalog.Lookup(id); ok {
		return []served{{id, cm.Family, cm.Features}}
	}
	return []served{{id, m.Family, m.Features.Narrow(converse.AllFeatures)}}
}

// entriesFor builds the route entries of configuration entry id.
func entriesFor(ctx context.Context, cfg *config.Config, id string, m config.Model, closers *[]io.Closer) ([]route.Entry, error) {
	var (
		chat converse.Backend
		dest func(family string) transport.Invoker
	)
	if build, ok := chatBackends[m.Backend]; ok {
		b, err := build(m)
		if err != nil {
			return nil, err
		}
		chat = b
	} else if open, ok := transports[m.Backend]; ok {
		var (
			closer io.Closer
			err    error
		)
		if dest, closer, err = open(ctx, m); err != nil {
			return nil, err
		}
		if closer != nil { // a local model: one engine per entry, shared by its families
			*closers = append(*closers, closer)
		}
	} else {
		return nil, fmt.Errorf("unknown backend %q", m.Backend)
	}
	var entries []route.Entry
	for _, sm := range modelsOf(cfg, id, m) {
		b := chat
		if b == nil {
			tr := dest(sm.family)
			fam, err := familyCodec(sm.family, tr)
			if err != nil {
				return nil, err
			}
			b = &backend.Native{Family: fam, Transport: tr, Model: m.Model}
		}
		f := sm.features
		if m.SynthesizeToolStreams {
			b = backend.SynthesizeToolStreams(b)
			f.StreamingToolUse = f.ToolUse
		}
		entries = append(entries, route.Entry{ID: sm.id, Kind: m.Backend, Backend: b, Features: &f})
	}
	return entries, nil
}

// familyCodec returns the codec of a family. A local model of no Bedrock
// family gets one built from the chat template stored in its file.
func familyCodec(family string, tr transport.Invoker) (codec.Family, error) {
	if family == config.FamilyChatTemplate {
		lc, ok := tr.(*local.Client)
		if !ok {
			return nil, fmt.Errorf("family %s needs backend %s", family, config.BackendLocal)
		}
		if lc.Engine.Template == "" {
			return nil, fmt.Errorf("family %s: the model file has no tokenizer.chat_template; set the family whose prompt template it uses", family)
		}
		bos, eos := lc.Engine.SpecialTokens()
		ct, err := codec.NewChatTemplate(lc.Engine.Template, bos, eos)
		if err != nil {
			return nil, err
		}
		ct.Now = time.Now // strftime_now in templates that print today's date
		return ct, nil
	}
	fam, ok := codec.For(family)
	if !ok {
		return nil, fmt.Errorf("no codec for family %q", family)
	}
	return fam, nil
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
