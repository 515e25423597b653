package catalog

import (
	"cmp"
	"slices"

	"github.com/converse-project/converse"
)

// Model is one catalog row: a base model ID and what Converse supports for it.
type Model struct {
	ID          string            // base model ID, e.g. "anthropic.claude-3-haiku-20240307-v1:0"
	Provider    string            // the ID's provider prefix: "anthropic", "meta", …
	Family      string            // codec family key, one of the Family* constants
	Name        string            // human name, e.g. "Claude 3 Haiku"
	Features    converse.Features // per AWS's supported-models table
	ProfileOnly bool              // the bare ID is rejected: only inference profiles may invoke it
}

// The family keys. A family groups the models that share one native request
// format, so that a codec is chosen by Family and never by the model's name
// (model-families.md §4).
const (
	FamilyJamba           = "ai21.jamba"                // AI21 Jamba-Instruct (§4.1)
	FamilyJurassic2       = "ai21.j2"                   // AI21 Jurassic-2 (§4.2)
	FamilyTitanText       = "amazon.titan-text"         // Amazon Titan Text (§4.3)
	FamilyClaudeText      = "anthropic.claude-text"     // Claude Instant / 2.x, Text Completions (§4.4)
	FamilyClaudeMessages  = "anthropic.claude-messages" // Claude 3 and later, Messages (§4.5)
	FamilyCohereCommand   = "cohere.command"            // Cohere Command / Light, generate (§4.6)
	FamilyCohereCommandR  = "cohere.command-r"          // Cohere Command R / R+, chat (§4.7)
	FamilyLlama2          = "meta.llama2"               // Llama 2 Chat (§4.8)
	FamilyLlama3          = "meta.llama3"               // Llama 3, 3.1 and 3.2 Instruct (§4.9)
	FamilyMistralInstruct = "mistral.instruct"          // Mistral 7B / Mixtral 8x7B Instruct (§4.10)
	FamilyMistralChat     = "mistral.chat"              // Mistral Large / Small, chat (§4.11)
)

// Lookup returns the catalog row whose base ID is exactly id.
func Lookup(id string) (Model, bool) {
	i, ok := slices.BinarySearchFunc(models, id, func(m Model, id string) int { return cmp.Compare(m.ID, id) })
	if !ok {
		return Model{}, false
	}
	return models[i], true
}

// All returns every catalog row, sorted by ID. The slice is the caller's.
func All() []Model {
	return slices.Clone(models)
}

// Families returns every family key, sorted.
func Families() []string {
	return []string{FamilyJurassic2, FamilyJamba, FamilyTitanText, FamilyClaudeMessages, FamilyClaudeText,
		FamilyCohereCommand, FamilyCohereCommandR, FamilyLlama2, FamilyLlama3, FamilyMistralChat, FamilyMistralInstruct}
}
