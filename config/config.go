package config

import (
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/converse-project/converse"
	"go.yaml.in/yaml/v4"
)

// The backend kinds a model may name. openai, bedrock and test serve
// every family; the others speak one vendor's API and serve the families
// that vendor's models belong to (see Kinds).
const (
	BackendOpenAI      = "openai"      // an OpenAI-compatible chat server (model-families.md §5.6); Converse only
	BackendTest        = "test"        // the built-in test backend
	BackendBedrock     = "bedrock"     // Amazon Bedrock itself, through the AWS SDK
	BackendAnthropic   = "anthropic"   // Anthropic's Messages (and legacy Complete) API
	BackendCompletions = "completions" // an OpenAI-compatible /v1/completions server, fed the family's prompt template
	BackendOllama      = "ollama"      // Ollama's /api/generate with raw prompts
	BackendCohere      = "cohere"      // Cohere's Chat API
	BackendMistral     = "mistral"     // Mistral's chat completions API
	BackendAI21        = "ai21"        // AI21's chat API
	BackendLocal       = "local"       // the embedded engine: a GGUF file run inside converse
)

// Wildcard is the model key that stands for every catalog model without an
// entry of its own.
const Wildcard = "*"

// Config is a whole configuration file.
type Config struct {
	// Models maps a catalog base ID, a custom model ID or Wildcard to the
	// model's settings.
	Models map[string]Model `yaml:"models"`
	// Guardrails maps a guardrail identifier ([a-z0-9]+) to its
	// definition (guardrails.go); requests name it in guardrailConfig,
	// the InvokeModel guardrail headers and ApplyGuardrail's path.
	Guardrails map[string]*Guardrail `yaml:"guardrails"`
}

// Model is how one model ID is served.
type Model struct {
	Backend   string        `yaml:"backend"`      // one of the Backend kinds; required
	BaseURL   string        `yaml:"base_url"`     // the upstream's base URL (openai, completions: including /v1)
	Model     string        `yaml:"model"`        // the upstream's model name (bedrock: a Bedrock model ID, "" for the caller's)
	APIKeyEnv string        `yaml:"api_key_env"`  // environment variable holding the upstream's API key; optional
	Timeout   time.Duration `yaml:"timeout"`      // per-request timeout; 0 means the backend's default
	Region    string        `yaml:"region"`       // bedrock: the AWS Region ("" for the SDK's default chain)
	Endpoint  string        `yaml:"endpoint_url"` // bedrock: a custom Bedrock Runtime endpoint; optional
	Family    string        `yaml:"family"`       // custom IDs on native backends: the model family (catalog family key)
	ModelPath string        `yaml:"model_path"`   // local: the GGUF file (see converse pull)
	Slots     int           `yaml:"slots"`        // local: sequences generated at once (default 1)
	Context   int           `yaml:"context"`      // local: context length per slot in tokens (default: the model's, at most 4096)
	Threads   int           `yaml:"threads"`      // local: threads per matrix product (default: all cores)
	Features  *Features     `yaml:"features"`     // custom IDs only: narrows converse.AllFeatures
	// SynthesizeToolStreams serves a ConverseStream request with tools by
	// one non-streaming call replayed as events, for models with tool use
	// but no streaming tool use (Bedrock rejects those requests).
	SynthesizeToolStreams bool         `yaml:"synthesize_tool_streams"`
	Test                  *TestBackend `yaml:"test"` // test: the test backend's settings; optional

	// APIKey is the value of APIKeyEnv, read by Parse and Load. Never log it.
	APIKey string `yaml:"-"`
}

// String describes m without its API key, so that printing a Model or a
// Config cannot leak the secret.
func (m Model) String() string {
	key := ""
	if m.APIKey != "" {
		key = " api_key=<redacted>"
	}
	return fmt.Sprintf("{backend=%s base_url=%s model=%s api_key_env=%s%s timeout=%v}",
		m.Backend, m.BaseURL, m.Model, m.APIKeyEnv, key, m.Timeout)
}

// Features narrows what a custom model supports: a key set to false turns
// that feature off; an absent key (or true) leaves it on.
type Features struct {
	Chat             *bool `yaml:"chat"`
	Stream           *bool `yaml:"stream"`
	System           *bool `yaml:"system"`
	Documents        *bool `yaml:"documents"`
	Vision           *bool `yaml:"vision"`
	ToolUse          *bool `yaml:"tool_use"`
	StreamingToolUse *bool `yaml:"streaming_tool_use"`
	ToolChoice       *bool `yaml:"tool_choice"`
	Guardrails       *bool `yaml:"guardrails"`
}

// Narrow returns base with every feature f sets to false turned off. A nil f
// returns base unchanged.
func (f *Features) Narrow(base converse.Features) converse.Features {
	if f == nil {
		return base
	}
	for _, p := range []struct {
		set *bool
		dst *bool
	}{
		{f.Chat, &base.Chat}, {f.Stream, &base.Stream}, {f.System, &base.System},
		{f.Documents, &base.Documents}, {f.Vision, &base.Vision}, {f.ToolUse, &base.ToolUse},
		{f.StreamingToolUse, &base.StreamingToolUse}, {f.ToolChoice, &base.ToolChoice}, {f.Guardrails, &base.Guardrails},
	} {
		if p.set != nil && !*p.set {
			*p.dst = false
		}
	}
	return base
}

// TestBackend holds the test backend's settings; main maps it onto
// testbackend.Config field by field.
type TestBackend struct {
	Replies []TestReply `yaml:"replies"`
}

// TestReply is one canned reply of the test backend (see testbackend.Reply).
type TestReply struct {
	Match      string        `yaml:"match"`
	Text       string        `yaml:"text"`
	ToolUse    *TestToolUse  `yaml:"tool_use"`
	StopReason string        `yaml:"stop_reason"`
	Fault      string        `yaml:"fault"`
	CutAfter   int           `yaml:"cut_after"`
	ChunkDelay time.Duration `yaml:"chunk_delay"`
}

// TestToolUse is a tool call a TestReply makes. Input is the tool's input
// written as a YAML mapping; JSON gives it as JSON.
type TestToolUse struct {
	Name  string         `yaml:"name"`
	Input map[string]any `yaml:"input"`
}

// Default is the configuration used when there is no file: every catalog
// model served by the test backend, which echoes.
func Default() *Config {
	return &Config{Models: map[string]Model{Wildcard: {Backend: BackendTest}}}
}

// Load reads and parses the configuration file at path (see Parse).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse parses a configuration. name (the file name) prefixes every error.
// It expands ${VAR} and ${VAR:-default} inside scalar values, decodes
// strictly (an unknown or duplicate key is an error naming its line), reads
// each api_key_env variable into APIKey, and validates the result.
func Parse(data []byte, name string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Load(data, &root); err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	expand(&root)
	var c Config
	if err := root.Load(&c, yaml.WithKnownFields()); err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for id, m := range c.Models {
		if m.APIKeyEnv != "" {
			m.APIKey = os.Getenv(m.APIKeyEnv)
			c.Models[id] = m
		}
	}
	return &c, nil
}

// envRef is a ${VAR} or ${VAR:-default} reference (go-dependencies.md sketch E).
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expand replaces environment references inside the scalar values below n.
// Working on the parsed tree rather than the text keeps an expanded value one
// scalar whatever it contains.
func expand(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		v := envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			g := envRef.FindStringSubmatch(ref)
			if v, ok := os.LookupEnv(g[1]); ok {
				return v
			}
			return g[2]
		})
		if v != n.Value && n.Style == 0 {
			// The parser resolved the plain scalar "${N:-3}" as a string;
			// clear the tag so that the expanded "3" resolves as YAML would
			// have resolved it written out (an int, a bool, …). Quoted
			// scalars stay strings.
			n.Tag = ""
		}
		n.Value = v
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 { // values only, never keys
			expand(n.Content[i])
		}
	default:
		for _, c := range n.Content {
			expand(c)
		}
	}
}
