package converse

import "encoding/json"

// Request is a Converse or ConverseStream request. ModelID comes from the URL
// path; every other field is the JSON body.
type Request struct {
	ModelID string `json:"-"`

	Messages                          []Message                 `json:"messages,omitempty"`
	System                            []SystemBlock             `json:"system,omitempty"`
	InferenceConfig                   *InferenceConfig          `json:"inferenceConfig,omitempty"`
	ToolConfig                        *ToolConfig               `json:"toolConfig,omitempty"`
	GuardrailConfig                   *GuardrailConfig          `json:"guardrailConfig,omitempty"`
	AdditionalModelRequestFields      json.RawMessage           `json:"additionalModelRequestFields,omitempty"`
	AdditionalModelResponseFieldPaths []string                  `json:"additionalModelResponseFieldPaths,omitempty"`
	PromptVariables                   map[string]PromptVariable `json:"promptVariables,omitempty"`
	RequestMetadata                   map[string]string         `json:"requestMetadata,omitempty"`
	PerformanceConfig                 *PerformanceConfig        `json:"performanceConfig,omitempty"`
	ServiceTier                       *ServiceTier              `json:"serviceTier,omitempty"`
	OutputConfig                      *OutputConfig             `json:"outputConfig,omitempty"`
}

// Role is a ConversationRole.
type Role string

// The conversation roles. RoleSystem is the 2026 mid-conversation system
// message role.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleSystem    Role = "system"
)

// Message is one turn of the conversation.
type Message struct {
	Role    Role    `json:"role"`
	Content []Block `json:"content"`
}

// Block is Bedrock's ContentBlock union: exactly one field is set.
type Block struct {
	Text             *string           `json:"text,omitempty"`
	Image            *ImageBlock       `json:"image,omitempty"`
	Document         *DocumentBlock    `json:"document,omitempty"`
	Video            *VideoBlock       `json:"video,omitempty"`
	Audio            *AudioBlock       `json:"audio,omitempty"`
	ToolUse          *ToolUseBlock     `json:"toolUse,omitempty"`
	ToolResult       *ToolResultBlock  `json:"toolResult,omitempty"`
	GuardContent     *GuardContent     `json:"guardContent,omitempty"`
	CachePoint       *CachePoint       `json:"cachePoint,omitempty"`
	ReasoningContent *ReasoningContent `json:"reasoningContent,omitempty"`
	CitationsContent *CitationsContent `json:"citationsContent,omitempty"`
	SearchResult     *SearchResult     `json:"searchResult,omitempty"`
	ToolAddition     *ToolReferenceBox `json:"toolAddition,omitempty"`
	ToolRemoval      *ToolReferenceBox `json:"toolRemoval,omitempty"`
}

// TextBlock returns a Block holding text.
func TextBlock(s string) Block { return Block{Text: &s} }

// Kind names the member that is set ("text", "image", …), or "" when none is.
// When several are set it names the first; Validate rejects such a block.
func (b *Block) Kind() string {
	switch {
	case b.Text != nil:
		return "text"
	case b.Image != nil:
		return "image"
	case b.Document != nil:
		return "document"
	case b.Video != nil:
		return "video"
	case b.Audio != nil:
		return "audio"
	case b.ToolUse != nil:
		return "toolUse"
	case b.ToolResult != nil:
		return "toolResult"
	case b.GuardContent != nil:
		return "guardContent"
	case b.CachePoint != nil:
		return "cachePoint"
	case b.ReasoningContent != nil:
		return "reasoningContent"
	case b.CitationsContent != nil:
		return "citationsContent"
	case b.SearchResult != nil:
		return "searchResult"
	case b.ToolAddition != nil:
		return "toolAddition"
	case b.ToolRemoval != nil:
		return "toolRemoval"
	}
	return ""
}

// ImageBlock is an image. Format is png, jpeg, gif or webp.
type ImageBlock struct {
	Format string       `json:"format"`
	Source *MediaSource `json:"source"`
	Error  *ErrorBlock  `json:"error,omitempty"`
}

// MediaSource is the ImageSource / VideoSource / AudioSource union.
type MediaSource struct {
	Bytes      []byte      `json:"bytes,omitempty"`
	S3Location *S3Location `json:"s3Location,omitempty"`
}

// S3Location points at an object in Amazon S3.
type S3Location struct {
	URI         string `json:"uri"`
	BucketOwner string `json:"bucketOwner,omitempty"`
}

// ErrorBlock is the error member of output media blocks.
type ErrorBlock struct {
	Message string `json:"message,omitempty"`
}

// DocumentBlock is a document. Name is what the model sees the document as.
type DocumentBlock struct {
	Format    string           `json:"format,omitempty"`
	Name      string           `json:"name"`
	Source    *DocumentSource  `json:"source"`
	Context   string           `json:"context,omitempty"`
	Citations *CitationsConfig `json:"citations,omitempty"`
}

// DocumentSource is the DocumentSource union.
type DocumentSource struct {
	Bytes      []byte              `json:"bytes,omitempty"`
	S3Location *S3Location         `json:"s3Location,omitempty"`
	Text       *string             `json:"text,omitempty"`
	Content    []DocumentTextBlock `json:"content,omitempty"`
}

// DocumentTextBlock is one member of DocumentSource.content.
type DocumentTextBlock struct {
	Text *string `json:"text,omitempty"`
}

// CitationsConfig turns citations on for a document.
type CitationsConfig struct {
	Enabled bool `json:"enabled"`
}

// VideoBlock is a video.
type VideoBlock struct {
	Format string       `json:"format"`
	Source *MediaSource `json:"source"`
}

// AudioBlock is an audio clip.
type AudioBlock struct {
	Format string       `json:"format"`
	Source *MediaSource `json:"source"`
	Error  *ErrorBlock  `json:"error,omitempty"`
}

// ToolUseBlock is a tool call made by the model. Input is a JSON object.
type ToolUseBlock struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Type      string          `json:"type,omitempty"`
}

// ToolResultBlock answers a ToolUseBlock of the previous assistant turn.
type ToolResultBlock struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []ToolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
	Type      string              `json:"type,omitempty"`
}

// ToolResultContent is the ToolResultContentBlock union.
type ToolResultContent struct {
	JSON         json.RawMessage `json:"json,omitempty"`
	Text         *string         `json:"text,omitempty"`
	Image        *ImageBlock     `json:"image,omitempty"`
	Document     *DocumentBlock  `json:"document,omitempty"`
	Video        *VideoBlock     `json:"video,omitempty"`
	SearchResult *SearchResult   `json:"searchResult,omitempty"`
}

// GuardContent is the GuardrailConverseContentBlock union.
type GuardContent struct {
	Text  *GuardText  `json:"text,omitempty"`
	Image *GuardImage `json:"image,omitempty"`
}

// GuardText is text a guardrail evaluates.
type GuardText struct {
	Text       string   `json:"text"`
	Qualifiers []string `json:"qualifiers,omitempty"`
}

// GuardImage is an image a guardrail evaluates (png or jpeg).
type GuardImage struct {
	Format string       `json:"format"`
	Source *MediaSource `json:"source"`
}

// CachePoint marks a prompt-cache checkpoint.
type CachePoint struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// ReasoningContent is the ReasoningContentBlock union.
type ReasoningContent struct {
	ReasoningText   *ReasoningText `json:"reasoningText,omitempty"`
	RedactedContent []byte         `json:"redactedContent,omitempty"`
}

// ReasoningText is the model's visible reasoning.
type ReasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

// CitationsContent is generated text with its citations.
type CitationsContent struct {
	Content   []CitationText  `json:"content,omitempty"`
	Citations json.RawMessage `json:"citations,omitempty"`
}

// CitationText is one CitationGeneratedContent member.
type CitationText struct {
	Text *string `json:"text,omitempty"`
}

// SearchResult is a search result given to the model.
type SearchResult struct {
	Source    string              `json:"source"`
	Title     string              `json:"title"`
	Content   []DocumentTextBlock `json:"content"`
	Citations *CitationsConfig    `json:"citations,omitempty"`
}

// ToolReferenceBox wraps a ToolReference (toolAddition / toolRemoval).
type ToolReferenceBox struct {
	Tool *ToolReference `json:"tool"`
}

// ToolReference names a tool added or removed mid-conversation.
type ToolReference struct {
	Type       string `json:"type,omitempty"`
	Name       string `json:"name,omitempty"`
	ServerName string `json:"serverName,omitempty"`
}

// SystemBlock is the SystemContentBlock union.
type SystemBlock struct {
	Text         *string       `json:"text,omitempty"`
	GuardContent *GuardContent `json:"guardContent,omitempty"`
	CachePoint   *CachePoint   `json:"cachePoint,omitempty"`
}

// InferenceConfig holds the base inference parameters. A nil pointer means
// "the model's default": codecs omit the native field.
type InferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// ToolConfig declares the tools the model may call.
type ToolConfig struct {
	Tools      []Tool      `json:"tools"`
	ToolChoice *ToolChoice `json:"toolChoice,omitempty"`
}

// Tool is the Tool union.
type Tool struct {
	ToolSpec   *ToolSpec   `json:"toolSpec,omitempty"`
	SystemTool *SystemTool `json:"systemTool,omitempty"`
	CachePoint *CachePoint `json:"cachePoint,omitempty"`
}

// ToolSpec describes one tool.
type ToolSpec struct {
	Name        string       `json:"name"`
	Description *string      `json:"description,omitempty"`
	InputSchema *InputSchema `json:"inputSchema"`
	Strict      *bool        `json:"strict,omitempty"`
}

// InputSchema is the ToolInputSchema union; JSON is a JSON Schema object.
type InputSchema struct {
	JSON json.RawMessage `json:"json,omitempty"`
}

// SystemTool names a tool the model provider runs.
type SystemTool struct {
	Name string `json:"name"`
}

// Empty is an empty JSON object, as in {"auto":{}}.
type Empty struct{}

// ToolChoice is the ToolChoice union.
type ToolChoice struct {
	Auto *Empty        `json:"auto,omitempty"`
	Any  *Empty        `json:"any,omitempty"`
	Tool *SpecificTool `json:"tool,omitempty"`
}

// SpecificTool forces one named tool.
type SpecificTool struct {
	Name string `json:"name"`
}

// GuardrailConfig is GuardrailConfiguration, or GuardrailStreamConfiguration
// when StreamProcessingMode is set.
type GuardrailConfig struct {
	GuardrailIdentifier  string `json:"guardrailIdentifier,omitempty"`
	GuardrailVersion     string `json:"guardrailVersion,omitempty"`
	Trace                string `json:"trace,omitempty"`
	StreamProcessingMode string `json:"streamProcessingMode,omitempty"`
}

// PromptVariable is the PromptVariableValues union.
type PromptVariable struct {
	Text *string `json:"text,omitempty"`
}

// PerformanceConfig selects latency-optimized inference.
type PerformanceConfig struct {
	Latency string `json:"latency,omitempty"`
}

// ServiceTier selects a service tier.
type ServiceTier struct {
	Type string `json:"type"`
}

// OutputConfig asks for structured output.
type OutputConfig struct {
	TextFormat *OutputFormat `json:"textFormat,omitempty"`
	Effort     string        `json:"effort,omitempty"`
}

// OutputFormat is {type: json_schema, structure: {jsonSchema: …}}.
type OutputFormat struct {
	Type      string           `json:"type"`
	Structure *OutputStructure `json:"structure"`
}

// OutputStructure is the OutputFormatStructure union.
type OutputStructure struct {
	JSONSchema *JSONSchemaDefinition `json:"jsonSchema,omitempty"`
}

// JSONSchemaDefinition carries a JSON schema as a string.
type JSONSchemaDefinition struct {
	Schema      string `json:"schema"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}
