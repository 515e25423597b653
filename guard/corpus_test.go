package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/converse-project/converse"
)

var update = flag.Bool("update", false, "rewrite the golden assessments in testdata/golden")

// corpusCase is one labelled example: the text, the rules it runs against
// and the matches a correct engine reports, in order.
type corpusCase struct {
	Name      string        `json:"name"`
	Type      string        `json:"type,omitempty"`      // PII entity type
	Words     []string      `json:"words,omitempty"`     // custom words
	Profanity bool          `json:"profanity,omitempty"` // managed list
	Regexes   []RegexConfig `json:"regexes,omitempty"`
	Text      string        `json:"text"`
	Want      []string      `json:"want"`
}

func fixedClock() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func textContent(texts ...string) []Content {
	out := make([]Content, len(texts))
	for i, t := range texts {
		out[i] = Content{Text: &converse.GuardText{Text: t}}
	}
	return out
}

// guardrailFor builds the guardrail a corpus case runs against: every rule
// ANONYMIZEs (PII, regexes) or BLOCKs (words), on both sides.
func guardrailFor(t testing.TB, c corpusCase) *Guardrail {
	g := &Guardrail{Name: "corpus", BlockedInputMessaging: "Blocked input.", BlockedOutputsMessaging: "Blocked output."}
	if c.Type != "" || len(c.Regexes) > 0 {
		g.SensitiveInformationPolicyConfig = &SensitiveInformationPolicyConfig{RegexesConfig: c.Regexes}
		if c.Type != "" {
			g.SensitiveInformationPolicyConfig.PiiEntitiesConfig = []PiiEntityConfig{{Type: c.Type, Action: ActionAnonymize}}
		}
		for i := range g.SensitiveInformationPolicyConfig.RegexesConfig {
			g.SensitiveInformationPolicyConfig.RegexesConfig[i].Action = ActionAnonymize
		}
	}
	if len(c.Words) > 0 || c.Profanity {
		w := &WordPolicyConfig{}
		for _, s := range c.Words {
			w.WordsConfig = append(w.WordsConfig, WordConfig{Text: s})
		}
		if c.Profanity {
			w.ManagedWordListsConfig = []ManagedWordListConfig{{Type: "PROFANITY"}}
		}
		g.WordPolicyConfig = w
	}
	if err := g.Load(Options{Now: fixedClock}); err != nil {
		t.Fatalf("load: %v", err)
	}
	return g
}

// matches lists every match a result's assessment reports, in order.
func matches(r *Result) []string {
	out := []string{}
	for _, a := range r.Assessments {
		if w := a.WordPolicy; w != nil {
			for _, e := range w.CustomWords {
				out = append(out, e.Match)
			}
			for _, e := range w.ManagedWordLists {
				out = append(out, e.Match)
			}
		}
		if s := a.SensitiveInformationPolicy; s != nil {
			for _, e := range s.PiiEntities {
				out = append(out, e.Match)
			}
			for _, e := range s.Regexes {
				out = append(out, e.Match)
			}
		}
	}
	return out
}

// TestCorpus runs each labelled corpus: the reported matches must equal the
// labels, and the whole ApplyGuardrail response must equal its golden.
func TestCorpus(t *testing.T) {
	for _, corpus := range []string{"pii", "words", "regex"} {
		t.Run(corpus, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "corpus", corpus+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var cases []corpusCase
			if err := json.Unmarshal(data, &cases); err != nil {
				t.Fatal(err)
			}
			type golden struct {
				Name   string  `json:"name"`
				Result *Result `json:"result"`
			}
			var got []golden
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					g := guardrailFor(t, c)
					r, err := g.Apply(context.Background(), SourceInput, textContent(c.Text), "")
					if err != nil {
						t.Fatal(err)
					}
					if m := matches(r); !slices.Equal(m, c.Want) {
						t.Errorf("text %q: matches %q, want %q", c.Text, m, c.Want)
					}
					got = append(got, golden{c.Name, r})
				})
			}
			checkGolden(t, filepath.Join("testdata", "golden", corpus+".json"), got)
		})
	}
}

// checkGolden compares v, as indented JSON, with a golden file, or
// rewrites the file under -update.
func checkGolden(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGoldenBytes(t, path, append(got, '\n'))
}

// checkGoldenBytes compares got with a golden file, or rewrites the file
// under -update.
func checkGoldenBytes(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./guard -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden; review with go test ./guard -update && git diff", path)
	}
}
