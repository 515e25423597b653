package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/catalog"
	"github.com/converse-project/converse/config"
	"github.com/converse-project/converse/guard"
	"github.com/converse-project/converse/route"
)

// classifierMaxTokens bounds a classifier's answer: one JSON object of
// scores (guard.Prompt).
const classifierMaxTokens = 512

// guardRoutes loads the configuration's guardrails and builds the route
// table with every entry's backend behind them (guard.Backend), so each
// model honours guardrailConfig and the InvokeModel guardrail headers.
// A classifier reaches its model through the unguarded table: the model a
// configuration names as classifier is served by its own entry's backend.
// Entries on the bedrock backend pass requests naming a guardrail that is
// not configured here on to Amazon Bedrock, which knows the account's own
// guardrails; every other backend answers them ResourceNotFoundException.
func guardRoutes(cfg *config.Config, entries []route.Entry) (*route.Table, error) {
	plain, err := route.New(entries)
	if err != nil {
		return nil, err
	}
	set, err := loadGuardrails(cfg, plain)
	if err != nil {
		return nil, err
	}
	guarded := make([]route.Entry, len(entries))
	for i, e := range entries {
		e.Backend = guard.Wrap(&guard.Backend{
			Inner:         e.Backend,
			Guardrails:    set,
			PassThrough:   e.Kind == config.BackendBedrock,
			NativeBlocked: func(modelID, text string) []byte { return nativeBlocked(familyOf(cfg, modelID), text) },
		})
		guarded[i] = e
	}
	return route.New(guarded)
}

// loadGuardrails loads every configured guardrail (guard's Load), its
// classifier asking the model the configuration names through table.
func loadGuardrails(cfg *config.Config, table *route.Table) (guard.Set, error) {
	set := guard.Set{}
	ids := make([]string, 0, len(cfg.Guardrails))
	for id := range cfg.Guardrails {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g := cfg.Guardrails[id]
		var opts guard.Options
		if g.Classifier != nil {
			opts.Classifier = classifierChat(table, g.Classifier.Model)
		}
		if err := g.Load(opts); err != nil {
			return nil, fmt.Errorf("guardrails[%q]: %w", id, err)
		}
		set[id] = &g.Guardrail
	}
	return set, nil
}

// guardrailSet returns the guardrails of cfg, which buildRouter loaded,
// for ApplyGuardrail. A configuration without guardrails still serves the
// operation: every identifier is then unknown (ResourceNotFoundException).
func guardrailSet(cfg *config.Config) guard.Set {
	set := guard.Set{}
	for id, g := range cfg.Guardrails {
		set[id] = &g.Guardrail
	}
	return set
}

// classifierChat is a guard.Chat whose prompt goes to model as one user
// message through the model's own route entry, with temperature 0 so the
// same content gets the same scores.
func classifierChat(table *route.Table, model string) guard.Chat {
	return guard.Chat{Complete: func(ctx context.Context, prompt string) (string, error) {
		b, features, err := table.Route(model)
		if err != nil {
			return "", err
		}
		temp, maxTokens := 0.0, classifierMaxTokens
		req := &converse.Request{
			ModelID:         model,
			Messages:        []converse.Message{{Role: converse.RoleUser, Content: []converse.Block{converse.TextBlock(prompt)}}},
			InferenceConfig: &converse.InferenceConfig{Temperature: &temp, MaxTokens: &maxTokens},
		}
		if err := converse.Validate(req, features, false); err != nil {
			return "", err
		}
		resp, err := b.Converse(ctx, req)
		if err != nil {
			return "", err
		}
		var sb strings.Builder
		if resp.Output.Message != nil {
			for _, blk := range resp.Output.Message.Content {
				if blk.Text != nil {
					sb.WriteString(*blk.Text)
				}
			}
		}
		return sb.String(), nil
	}}
}

// familyOf returns the model family a request for modelID is served as: the
// catalog's, or a custom entry's configured family.
func familyOf(cfg *config.Config, modelID string) string {
	if m, ok := catalog.Resolve(modelID); ok {
		return m.Family
	}
	return cfg.Models[modelID].Family
}

// nativeBlocked is family's native InvokeModel response body answering
// text, with no tokens used: what InvokeModel returns when a guardrail
// blocked the input and the model was not called (guardrails.md §3.1). The
// shapes are the families' response bodies (model-families.md §4).
func nativeBlocked(family, text string) []byte {
	var v any
	switch family {
	case catalog.FamilyClaudeMessages:
		v = map[string]any{"id": "msg_guardrail", "type": "message", "role": "assistant",
			"content": []any{map[string]any{"type": "text", "text": text}}, "stop_reason": "end_turn", "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": 0, "output_tokens": 0}}
	case catalog.FamilyClaudeText:
		v = map[string]any{"completion": text, "stop_reason": "stop_sequence", "stop": nil}
	case catalog.FamilyTitanText:
		v = map[string]any{"inputTextTokenCount": 0, "results": []any{map[string]any{"tokenCount": 0, "outputText": text, "completionReason": "FINISH"}}}
	case catalog.FamilyLlama2, catalog.FamilyLlama3:
		v = map[string]any{"generation": text, "prompt_token_count": 0, "generation_token_count": 0, "stop_reason": "stop"}
	case catalog.FamilyMistralInstruct:
		v = map[string]any{"outputs": []any{map[string]any{"text": text, "stop_reason": "stop"}}}
	case catalog.FamilyCohereCommand:
		v = map[string]any{"generations": []any{map[string]any{"text": text, "finish_reason": "COMPLETE"}}}
	case catalog.FamilyCohereCommandR:
		v = map[string]any{"text": text, "finish_reason": "COMPLETE", "chat_history": []any{}}
	case catalog.FamilyJurassic2:
		v = map[string]any{"completions": []any{map[string]any{"data": map[string]any{"text": text}, "finishReason": map[string]any{"reason": "endoftext"}}}}
	default: // Jamba, Mistral Large/Small and custom chat models: chat completions
		v = map[string]any{"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}}}
	}
	b, _ := json.Marshal(v) // maps of strings, numbers and nil: cannot fail
	return b
}
