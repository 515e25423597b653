package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/converse-project/converse"
)

func TestTableIsSortedAndUnique(t *testing.T) {
	all := All()
	for i := 1; i < len(all); i++ {
		if all[i-1].ID >= all[i].ID {
			t.Errorf("rows %d and %d out of order or duplicated: %q, %q", i-1, i, all[i-1].ID, all[i].ID)
		}
	}
}

func TestEveryRowIsComplete(t *testing.T) {
	families := []string{FamilyJamba, FamilyJurassic2, FamilyTitanText, FamilyClaudeText, FamilyClaudeMessages,
		FamilyCohereCommand, FamilyCohereCommandR, FamilyLlama2, FamilyLlama3, FamilyMistralInstruct, FamilyMistralChat}
	for _, m := range All() {
		if m.Name == "" || !slices.Contains(families, m.Family) {
			t.Errorf("%s: name %q family %q", m.ID, m.Name, m.Family)
		}
		if !strings.HasPrefix(m.ID, m.Provider+".") {
			t.Errorf("%s: provider %q is not the ID's prefix", m.ID, m.Provider)
		}
		if m.Features.StreamingToolUse && !m.Features.ToolUse {
			t.Errorf("%s: streaming tool use without tool use", m.ID)
		}
	}
}

// The getting-started notebook's model IDs must all be served.
func TestNotebookModelsArePresent(t *testing.T) {
	for _, id := range []string{
		"amazon.titan-text-express-v1", "amazon.titan-text-lite-v1", "anthropic.claude-3-5-sonnet-20240620-v1:0",
		"anthropic.claude-3-haiku-20240307-v1:0", "cohere.command-r-plus-v1:0", "cohere.command-r-v1:0",
		"meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-8b-instruct-v1:0", "mistral.mistral-large-2407-v1:0",
		"mistral.mixtral-8x7b-instruct-v0:1",
	} {
		m, ok := Lookup(id)
		if !ok {
			t.Errorf("%s missing", id)
			continue
		}
		if m.ProfileOnly {
			t.Errorf("%s is profile-only; the notebook invokes it by base ID", id)
		}
	}
}

// Rows pinned against the supported-models matrix (model-families.md §3.1).
func TestFeaturesMatchTheMatrix(t *testing.T) {
	f := func(s string) converse.Features {
		var x converse.Features
		for _, k := range strings.Fields(s) {
			switch k {
			case "chat":
				x.Chat = true
			case "stream":
				x.Stream = true
			case "system":
				x.System = true
			case "docs":
				x.Documents = true
			case "vision":
				x.Vision = true
			case "tools":
				x.ToolUse = true
			case "streamtools":
				x.StreamingToolUse = true
			case "choice":
				x.ToolChoice = true
			case "guard":
				x.Guardrails = true
			default:
				panic(k)
			}
		}
		return x
	}
	tests := []struct {
		name string
		id   string
		want converse.Features
	}{
		{"jurassic-2 has no chat and no stream", "ai21.j2-ultra-v1", f("guard")},
		{"jamba-instruct has no guardrails", "ai21.jamba-instruct-v1:0", f("chat stream system")},
		{"titan has no system prompt", "amazon.titan-text-express-v1", f("chat stream docs guard")},
		{"titan premier has no document chat", "amazon.titan-text-premier-v1:0", f("chat stream guard")},
		{"claude 2.1 has no vision or tools", "anthropic.claude-v2:1", f("chat stream system docs guard")},
		{"claude 3 haiku has everything", "anthropic.claude-3-haiku-20240307-v1:0", f("chat stream system docs vision tools streamtools choice guard")},
		{"claude 3.5 sonnet v1 has document chat", "anthropic.claude-3-5-sonnet-20240620-v1:0", f("chat stream system docs vision tools streamtools choice guard")},
		{"command has no chat but documents", "cohere.command-text-v14", f("stream docs guard")},
		{"command light has no documents", "cohere.command-light-text-v14", f("stream guard")},
		{"command r+ has streaming tools and no guardrails", "cohere.command-r-plus-v1:0", f("chat stream system docs tools streamtools")},
		{"llama 3.1 has tools but not in streams", "meta.llama3-1-8b-instruct-v1:0", f("chat stream system docs tools guard")},
		{"llama 3.2 1b has no tools", "meta.llama3-2-1b-instruct-v1:0", f("chat stream system docs guard")},
		{"llama 3.2 90b has vision", "meta.llama3-2-90b-instruct-v1:0", f("chat stream system docs vision tools guard")},
		{"mixtral has no system prompt", "mistral.mixtral-8x7b-instruct-v0:1", f("chat stream docs guard")},
		{"mistral large has tools but not in streams", "mistral.mistral-large-2407-v1:0", f("chat stream system docs tools guard")},
		{"mistral small has no document chat", "mistral.mistral-small-2402-v1:0", f("chat stream system tools guard")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := Lookup(tt.id)
			if !ok {
				t.Fatalf("%s not in catalog", tt.id)
			}
			if m.Features != tt.want {
				t.Errorf("features = %+v, want %+v", m.Features, tt.want)
			}
		})
	}
}

func TestToolChoiceOnlyForClaude3AndLater(t *testing.T) {
	for _, m := range All() {
		if got, want := m.Features.ToolChoice, m.Family == FamilyClaudeMessages; got != want {
			t.Errorf("%s: ToolChoice = %v, want %v", m.ID, got, want)
		}
	}
}

func TestProfileOnlyModels(t *testing.T) {
	var got []string
	for _, m := range All() {
		if m.ProfileOnly {
			got = append(got, m.ID)
		}
	}
	want := []string{"anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-sonnet-20241022-v2:0"}
	if !slices.Equal(got, want) {
		t.Errorf("profile-only = %v, want %v", got, want)
	}
}

func TestAllReturnsACopy(t *testing.T) {
	a := All()
	a[0].ID = "changed"
	if All()[0].ID == "changed" {
		t.Error("All exposes the table")
	}
}

func TestFamiliesCoverTheCatalog(t *testing.T) {
	fams := Families()
	if !slices.IsSorted(fams) {
		t.Errorf("Families() not sorted: %v", fams)
	}
	for _, m := range All() {
		if !slices.Contains(fams, m.Family) {
			t.Errorf("%s: family %q missing from Families()", m.ID, m.Family)
		}
	}
}
