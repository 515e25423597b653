package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/catalog"
	"github.com/converse-project/converse/testbackend"
)

const haiku = "anthropic.claude-3-haiku-20240307-v1:0"

func TestExampleLoads(t *testing.T) {
	t.Setenv("EXAMPLE_API_KEY", "sk-example")
	c, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := c.Models[haiku]
	if h.Backend != BackendOpenAI || h.Model != "llama3.1:8b" || h.Timeout != time.Minute {
		t.Errorf("haiku = %v", h)
	}
	if os.Getenv("OLLAMA_URL") == "" && h.BaseURL != "http://127.0.0.1:11434/v1" {
		t.Errorf("base_url default not applied: %q", h.BaseURL)
	}
	if got := c.Models["meta.llama3-1-8b-instruct-v1:0"].APIKey; got != "sk-example" {
		t.Errorf("api key = %q, want it read from EXAMPLE_API_KEY", got)
	}
	bot := c.Models["my-company.support-bot-v1"]
	if got := bot.Features.Narrow(converse.AllFeatures); got.Vision || got.Documents || got.Guardrails || !got.ToolUse || !got.System {
		t.Errorf("support-bot features = %+v", got)
	}
	replies := bot.Test.Replies
	if len(replies) != 4 || replies[0].ToolUse.Name != "get_weather" || replies[1].ChunkDelay != 100*time.Millisecond ||
		replies[2].Fault != "stream_cut" || replies[2].CutAfter != 3 {
		t.Errorf("replies = %+v", replies)
	}
	if in, err := replies[0].ToolUse.JSON(); err != nil || string(in) != `{"city":"Paris","unit":"celsius"}` {
		t.Errorf("tool input = %s, %v", in, err)
	}
	if c.Models[Wildcard].Backend != BackendTest {
		t.Errorf("wildcard = %v", c.Models[Wildcard])
	}
}

// The example's test settings must be accepted by the test backend itself.
func TestExampleTestSettingsSuitTheTestBackend(t *testing.T) {
	t.Setenv("EXAMPLE_API_KEY", "x")
	c, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tc testbackend.Config
	for _, r := range c.Models["my-company.support-bot-v1"].Test.Replies {
		tr := testbackend.Reply{Match: r.Match, Text: r.Text, StopReason: r.StopReason, Fault: testbackend.Fault(r.Fault),
			CutAfter: r.CutAfter, ChunkDelay: r.ChunkDelay}
		if r.ToolUse != nil {
			in, err := r.ToolUse.JSON()
			if err != nil {
				t.Fatal(err)
			}
			tr.ToolUse = &testbackend.ToolUse{Name: r.ToolUse.Name, Input: in}
		}
		tc.Replies = append(tc.Replies, tr)
	}
	if _, err := testbackend.New(tc); err != nil {
		t.Error(err)
	}
}

func TestExpansion(t *testing.T) {
	t.Setenv("SECRET_URL", "http://127.0.0.1:1/v1")
	t.Setenv("TRICKY", "key: {not: yaml}\nsecond line # not a comment")
	t.Setenv("EMPTY", "")
	t.Setenv("CUT", "4")
	t.Setenv("WAIT", "250ms")
	t.Setenv("NO", "false")
	os.Unsetenv("UNSET_VAR")
	src := `
models:
  custom-a:
    backend: test
    features:
      vision: ${NO}
    test:
      replies:
        - match: ${TRICKY}
          text: "${UNSET_VAR:-fallback: {x}} and ${UNSET_VAR}."
          cut_after: ${CUT}
          chunk_delay: ${WAIT}
          stop_reason: "${CUT}"
        - match: "${EMPTY:-unused}"
          text: $PLAIN ${ TRICKY} ${1BAD} ${NO-dash}
  custom-b:
    backend: openai
    base_url: ${SECRET_URL}
    model: m
`
	c, err := Parse([]byte(src), "inline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := c.Models["custom-a"].Test.Replies
	tests := []struct{ name, got, want string }{
		{"value with colon, braces and newline stays one string", r[0].Match, "key: {not: yaml}\nsecond line # not a comment"},
		{"default used when unset, may hold punctuation", r[0].Text, "fallback: {x} and ."},
		{"set but empty wins over the default", r[1].Match, ""},
		{"malformed references stay literal", r[1].Text, "$PLAIN ${ TRICKY} ${1BAD} ${NO-dash}"},
		{"quoted scalar stays a string", r[0].StopReason, "4"},
		{"url", c.Models["custom-b"].BaseURL, "http://127.0.0.1:1/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	t.Run("keys are not expanded", func(t *testing.T) {
		t.Setenv("HAIKU_ID", haiku)
		_, err := Parse([]byte("models:\n  ${HAIKU_ID}: {backend: test}\n"), "keys.yaml")
		if err == nil || !strings.Contains(err.Error(), `models["${HAIKU_ID}"]: not a valid model ID`) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("plain scalar re-resolves to int, duration and bool", func(t *testing.T) {
		if r[0].CutAfter != 4 || r[0].ChunkDelay != 250*time.Millisecond {
			t.Errorf("cut_after %d, chunk_delay %v", r[0].CutAfter, r[0].ChunkDelay)
		}
		if f := c.Models["custom-a"].Features; f.Vision == nil || *f.Vision {
			t.Errorf("vision = %v, want false", f.Vision)
		}
	})
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error
	}{
		{"unknown key names key and line", "models:\n  \"*\":\n    backend: test\n  custom-b:\n    backend: openai\n    model: m\n    bse_url: http://x/v1\n",
			[]string{"f.yaml", "line 7", "bse_url"}},
		{"unknown top-level key", "model:\n  x: {backend: test}\n", []string{"f.yaml", "line 1", "model"}},
		{"duplicate model", "models:\n  a: {backend: test}\n  a: {backend: test}\n", []string{"f.yaml", "line 3", `"a"`}},
		{"syntax error", "models: [\n", []string{"f.yaml"}},
		{"empty file", "", []string{"f.yaml"}},
		{"bad duration", "models:\n  a: {backend: openai, base_url: 'http://h/v1', model: m, timeout: soon}\n", []string{"f.yaml", "line 2", "soon"}},
		{"validation errors carry the file name", "models:\n  a: {backend: nope}\n", []string{"f.yaml", `models["a"].backend`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "f.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("error = %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("SET_KEY", "k")
	os.Unsetenv("UNSET_KEY")
	openai := Model{Backend: BackendOpenAI, BaseURL: "http://127.0.0.1:1/v1", Model: "m"}
	with := func(m Model, f func(*Model)) Model { f(&m); return m }
	no := false
	tests := []struct {
		name   string
		models map[string]Model
		want   string // "" for valid
	}{
		{"openai model", map[string]Model{haiku: openai}, ""},
		{"api key from a set variable", map[string]Model{haiku: with(openai, func(m *Model) { m.APIKeyEnv = "SET_KEY" })}, ""},
		{"custom id with features", map[string]Model{"acme/model:1": {Backend: BackendTest, Features: &Features{Vision: &no}}}, ""},
		{"imported-model arn as custom id", map[string]Model{"arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdefghijkl": {Backend: BackendTest}}, ""},
		{"no models", map[string]Model{}, "models: at least one model is required"},
		{"missing backend", map[string]Model{haiku: {}}, `models["` + haiku + `"].backend: required`},
		{"unknown backend", map[string]Model{haiku: {Backend: "gpt-in-a-box"}}, `models["` + haiku + `"].backend: unknown backend "gpt-in-a-box"`},
		{"bedrock for every model", map[string]Model{Wildcard: {Backend: BackendBedrock, Region: "us-east-1"}}, ""},
		{"anthropic for a Claude model", map[string]Model{haiku: {Backend: BackendAnthropic, Model: "claude-3-haiku-20240307"}}, ""},
		{"ollama for a Llama model", map[string]Model{"meta.llama3-1-8b-instruct-v1:0": {Backend: BackendOllama, Model: "llama3.1:8b"}}, ""},
		{"ollama for a Claude model", map[string]Model{haiku: {Backend: BackendOllama, Model: "m"}}, `models["` + haiku + `"].backend: backend ollama cannot serve ` + haiku + `, whose family is anthropic.claude-messages`},
		{"a one-family backend for the wildcard", map[string]Model{Wildcard: {Backend: BackendAnthropic, Model: "m"}}, `models["*"].backend: backend anthropic serves only`},
		{"custom id on a native backend needs a family", map[string]Model{"acme-llama": {Backend: BackendCompletions, BaseURL: "http://h/v1", Model: "m"}}, `models["acme-llama"].family: required for backend completions`},
		{"custom id with a family", map[string]Model{"acme-llama": {Backend: BackendCompletions, BaseURL: "http://h/v1", Model: "m", Family: "meta.llama3"}}, ""},
		{"unknown family", map[string]Model{"acme-llama": {Backend: BackendBedrock, Family: "meta.llama9"}}, `models["acme-llama"].family: unknown family "meta.llama9"`},
		{"family on a catalog model", map[string]Model{haiku: {Backend: BackendBedrock, Family: "meta.llama3"}}, `.family: only for IDs outside the catalog`},
		{"region on an openai model", map[string]Model{haiku: with(openai, func(m *Model) { m.Region = "us-east-1" })}, `.region: not a setting of backend openai`},
		{"openai without base_url", map[string]Model{haiku: with(openai, func(m *Model) { m.BaseURL = "" })}, `models["` + haiku + `"].base_url: required`},
		{"openai with a relative base_url", map[string]Model{haiku: with(openai, func(m *Model) { m.BaseURL = "127.0.0.1:11434/v1" })}, `.base_url: "127.0.0.1:11434/v1" is not an http or https URL`},
		{"openai without upstream model", map[string]Model{haiku: with(openai, func(m *Model) { m.Model = "" })}, `.model: required`},
		{"openai with a test block", map[string]Model{haiku: with(openai, func(m *Model) { m.Test = &TestBackend{} })}, `models["` + haiku + `"].test: only for backend test`},
		{"openai with negative timeout", map[string]Model{haiku: with(openai, func(m *Model) { m.Timeout = -time.Second })}, `.timeout: -1s is negative`},
		{"api key variable unset", map[string]Model{haiku: with(openai, func(m *Model) { m.APIKeyEnv = "UNSET_KEY" })}, `models["` + haiku + `"].api_key_env: environment variable UNSET_KEY is not set`},
		{"test with base_url", map[string]Model{haiku: {Backend: BackendTest, BaseURL: "http://x/v1"}}, `.base_url: not a setting of backend test`},
		{"test with unknown fault", map[string]Model{haiku: {Backend: BackendTest, Test: &TestBackend{Replies: []TestReply{{}, {Fault: "gremlins"}}}}}, `models["` + haiku + `"].test.replies[1].fault: unknown fault "gremlins"`},
		{"test with nameless tool", map[string]Model{haiku: {Backend: BackendTest, Test: &TestBackend{Replies: []TestReply{{ToolUse: &TestToolUse{}}}}}}, `.test.replies[0].tool_use.name: required`},
		{"test with non-JSON tool input", map[string]Model{haiku: {Backend: BackendTest, Test: &TestBackend{Replies: []TestReply{{ToolUse: &TestToolUse{Name: "t", Input: map[string]any{"a": map[any]any{1: 2}}}}}}}}, `.test.replies[0].tool_use.input: not expressible as JSON`},
		{"test with negative delay", map[string]Model{haiku: {Backend: BackendTest, Test: &TestBackend{Replies: []TestReply{{ChunkDelay: -1}}}}}, `.test.replies[0].chunk_delay`},
		{"features on a catalog model", map[string]Model{haiku: {Backend: BackendTest, Features: &Features{}}}, `models["` + haiku + `"].features: only for IDs outside the catalog`},
		{"features on the wildcard", map[string]Model{Wildcard: {Backend: BackendTest, Features: &Features{}}}, `models["*"].features`},
		{"profile id as key", map[string]Model{"us." + haiku: {Backend: BackendTest}}, `models["us.` + haiku + `"]: a profile or ARN of ` + haiku},
		{"malformed custom id", map[string]Model{"my model": {Backend: BackendTest}}, `models["my model"]: not a valid model ID`},
		{"custom id with a query", map[string]Model{"m?x=1": {Backend: BackendTest}}, `not a valid model ID`},
		{"empty id", map[string]Model{"": {Backend: BackendTest}}, `models[""]: not a valid model ID`},
		{"overlong id", map[string]Model{strings.Repeat("a", 2049): {Backend: BackendTest}}, `not a valid model ID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Config{Models: tt.models}).Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("every problem is reported", func(t *testing.T) {
		err := (&Config{Models: map[string]Model{"a": {}, "b": {Backend: "x"}}}).Validate()
		if err == nil || !strings.Contains(err.Error(), `models["a"]`) || !strings.Contains(err.Error(), `models["b"]`) {
			t.Errorf("error = %v", err)
		}
	})
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Models) != 1 || c.Models[Wildcard].Backend != BackendTest {
		t.Errorf("Default() = %v, want every catalog model on the test backend", c.Models)
	}
	if len(catalog.All()) == 0 {
		t.Error("the catalog the wildcard stands for is empty")
	}
	if Default() == c {
		t.Error("Default shares its value between calls")
	}
}

func TestNarrow(t *testing.T) {
	yes, no := true, false
	if got := (*Features)(nil).Narrow(converse.AllFeatures); got != converse.AllFeatures {
		t.Errorf("nil narrows to %+v", got)
	}
	got := (&Features{Chat: &yes, Stream: &no, ToolChoice: &no}).Narrow(converse.AllFeatures)
	want := converse.AllFeatures
	want.Stream, want.ToolChoice = false, false
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := (&Features{Vision: &yes}).Narrow(converse.Features{}); got != (converse.Features{}) {
		t.Errorf("true must not widen: %+v", got)
	}
}

func TestAPIKeyIsNeverPrinted(t *testing.T) {
	t.Setenv("PRINT_KEY", "sk-very-secret")
	c, err := Parse([]byte("models:\n  "+haiku+": {backend: openai, base_url: 'http://h/v1', model: m, api_key_env: PRINT_KEY}\n"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Models[haiku].APIKey != "sk-very-secret" {
		t.Fatalf("key not loaded")
	}
	for _, format := range []string{"%v", "%+v", "%s"} {
		if s := fmt.Sprintf(format, c); strings.Contains(s, "sk-very-secret") {
			t.Errorf("%s prints the key: %s", format, s)
		}
	}
}
