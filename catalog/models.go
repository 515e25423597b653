package catalog

import "github.com/converse-project/converse"

// Feature sets, one per row of AWS's supported-models table
// (model-families.md §3.1). ToolChoice (toolChoice any/tool) is set for
// Claude 3 and later only: AWS documents toolChoice `any` and `tool` for
// Claude 3+ (and Nova) alone; every other model accepts `auto` only.
var (
	// "Limited – no chat": one user message, no system prompt; no ConverseStream.
	featJurassic2 = converse.Features{Guardrails: true}
	featJamba     = converse.Features{Chat: true, Stream: true, System: true}
	featTitan     = converse.Features{Chat: true, Stream: true, Documents: true, Guardrails: true}
	// Titan Text Premier: "Yes (except Titan Text Premier)" for document chat.
	featTitanPremier = converse.Features{Chat: true, Stream: true, Guardrails: true}
	featClaudeText   = converse.Features{Chat: true, Stream: true, System: true, Documents: true, Guardrails: true}
	// Claude 3 and 3.5 Sonnet v1/v2. For 3.5 Sonnet v1 the 2024 table said
	// "Document chat: No" and the current one says Yes (§3.1 footnote); we
	// follow the current table.
	featClaude3 = converse.Features{Chat: true, Stream: true, System: true, Documents: true, Vision: true,
		ToolUse: true, StreamingToolUse: true, ToolChoice: true, Guardrails: true}
	// Claude 3.5 Haiku: the current AWS table lists no vision and no
	// guardrails for it (the spec's matrix has no row of its own for it).
	featClaude35Haiku = converse.Features{Chat: true, Stream: true, System: true, Documents: true,
		ToolUse: true, StreamingToolUse: true, ToolChoice: true}
	// Command and Command Light: "Limited – no chat" for both operations;
	// document chat for Command only.
	featCommand      = converse.Features{Stream: true, Documents: true, Guardrails: true}
	featCommandLight = converse.Features{Stream: true, Guardrails: true}
	featCommandR     = converse.Features{Chat: true, Stream: true, System: true, Documents: true,
		ToolUse: true, StreamingToolUse: true}
	featLlama       = converse.Features{Chat: true, Stream: true, System: true, Documents: true, Guardrails: true}
	featLlama31     = converse.Features{Chat: true, Stream: true, System: true, Documents: true, ToolUse: true, Guardrails: true}
	featLlama32V    = converse.Features{Chat: true, Stream: true, System: true, Documents: true, Vision: true, ToolUse: true, Guardrails: true}
	featMistralInst = converse.Features{Chat: true, Stream: true, Documents: true, Guardrails: true}
	featMistralL    = converse.Features{Chat: true, Stream: true, System: true, Documents: true, ToolUse: true, Guardrails: true}
	// Mistral Small: document chat "No [U]" — the row was truncated in every
	// stored copy of the table.
	featMistralS = converse.Features{Chat: true, Stream: true, System: true, ToolUse: true, Guardrails: true}
)

// models is the catalog, sorted by ID (Lookup binary-searches it; a test
// checks the order). It is never modified after initialisation.
var models = []Model{
	{ID: "ai21.j2-mid-v1", Provider: "ai21", Family: FamilyJurassic2, Name: "Jurassic-2 Mid", Features: featJurassic2},
	{ID: "ai21.j2-ultra-v1", Provider: "ai21", Family: FamilyJurassic2, Name: "Jurassic-2 Ultra", Features: featJurassic2},
	{ID: "ai21.jamba-instruct-v1:0", Provider: "ai21", Family: FamilyJamba, Name: "Jamba-Instruct", Features: featJamba},

	{ID: "amazon.titan-text-express-v1", Provider: "amazon", Family: FamilyTitanText, Name: "Titan Text G1 - Express", Features: featTitan},
	{ID: "amazon.titan-text-lite-v1", Provider: "amazon", Family: FamilyTitanText, Name: "Titan Text G1 - Lite", Features: featTitan},
	{ID: "amazon.titan-text-premier-v1:0", Provider: "amazon", Family: FamilyTitanText, Name: "Titan Text G1 - Premier", Features: featTitanPremier},
	{ID: "amazon.titan-tg1-large", Provider: "amazon", Family: FamilyTitanText, Name: "Titan Text Large", Features: featTitan},

	{ID: "anthropic.claude-3-5-haiku-20241022-v1:0", Provider: "anthropic", Family: FamilyClaudeMessages, Name: "Claude 3.5 Haiku", Features: featClaude35Haiku, ProfileOnly: true},
	{ID: "anthropic.claude-3-5-sonnet-20240620-v1:0", Provider: "anthropic", Family: FamilyClaudeMessages, Name: "Claude 3.5 Sonnet", Features: featClaude3},
	{ID: "anthropic.claude-3-5-sonnet-20241022-v2:0", Provider: "anthropic", Family: FamilyClaudeMessages, Name: "Claude 3.5 Sonnet v2", Features: featClaude3, ProfileOnly: true},
	{ID: "anthropic.claude-3-haiku-20240307-v1:0", Provider: "anthropic", Family: FamilyClaudeMessages, Name: "Claude 3 Haiku", Features: featClaude3},
	{ID: "anthropic.claude-3-opus-20240229-v1:0", Provider: "anthropic", Family: FamilyClaudeMessages, Name: "Claude 3 Opus", Features: featClaude3},
	{ID: "anthropic.claude-3-sonnet-20240229-v1:0", Provider: "anthropic", Family: FamilyClaudeMessages, Name: "Claude 3 Sonnet", Features: featClaude3},
	{ID: "anthropic.claude-instant-v1", Provider: "anthropic", Family: FamilyClaudeText, Name: "Claude Instant 1.2", Features: featClaudeText},
	{ID: "anthropic.claude-v2", Provider: "anthropic", Family: FamilyClaudeText, Name: "Claude 2.0", Features: featClaudeText},
	{ID: "anthropic.claude-v2:1", Provider: "anthropic", Family: FamilyClaudeText, Name: "Claude 2.1", Features: featClaudeText},

	{ID: "cohere.command-light-text-v14", Provider: "cohere", Family: FamilyCohereCommand, Name: "Command Light", Features: featCommandLight},
	{ID: "cohere.command-r-plus-v1:0", Provider: "cohere", Family: FamilyCohereCommandR, Name: "Command R+", Features: featCommandR},
	{ID: "cohere.command-r-v1:0", Provider: "cohere", Family: FamilyCohereCommandR, Name: "Command R", Features: featCommandR},
	{ID: "cohere.command-text-v14", Provider: "cohere", Family: FamilyCohereCommand, Name: "Command", Features: featCommand},

	{ID: "meta.llama2-13b-chat-v1", Provider: "meta", Family: FamilyLlama2, Name: "Llama 2 Chat 13B", Features: featLlama},
	{ID: "meta.llama2-70b-chat-v1", Provider: "meta", Family: FamilyLlama2, Name: "Llama 2 Chat 70B", Features: featLlama},
	{ID: "meta.llama3-1-405b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3.1 405B Instruct", Features: featLlama31},
	{ID: "meta.llama3-1-70b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3.1 70B Instruct", Features: featLlama31},
	{ID: "meta.llama3-1-8b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3.1 8B Instruct", Features: featLlama31},
	{ID: "meta.llama3-2-11b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3.2 11B Vision Instruct", Features: featLlama32V},
	{ID: "meta.llama3-2-1b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3.2 1B Instruct", Features: featLlama},
	{ID: "meta.llama3-2-3b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3.2 3B Instruct", Features: featLlama},
	{ID: "meta.llama3-2-90b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3.2 90B Vision Instruct", Features: featLlama32V},
	{ID: "meta.llama3-70b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3 70B Instruct", Features: featLlama},
	{ID: "meta.llama3-8b-instruct-v1:0", Provider: "meta", Family: FamilyLlama3, Name: "Llama 3 8B Instruct", Features: featLlama},

	{ID: "mistral.mistral-7b-instruct-v0:2", Provider: "mistral", Family: FamilyMistralInstruct, Name: "Mistral 7B Instruct", Features: featMistralInst},
	{ID: "mistral.mistral-large-2402-v1:0", Provider: "mistral", Family: FamilyMistralChat, Name: "Mistral Large (24.02)", Features: featMistralL},
	{ID: "mistral.mistral-large-2407-v1:0", Provider: "mistral", Family: FamilyMistralChat, Name: "Mistral Large 2 (24.07)", Features: featMistralL},
	{ID: "mistral.mistral-small-2402-v1:0", Provider: "mistral", Family: FamilyMistralChat, Name: "Mistral Small (24.02)", Features: featMistralS},
	{ID: "mistral.mixtral-8x7b-instruct-v0:1", Provider: "mistral", Family: FamilyMistralInstruct, Name: "Mixtral 8x7B Instruct", Features: featMistralInst},
}
