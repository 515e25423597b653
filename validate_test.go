package converse

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// Builders for small requests. Each returns fresh values, so a case may
// modify what it gets.

func ptr[T any](v T) *T { return &v }

func user(blocks ...Block) Message { return Message{Role: RoleUser, Content: blocks} }

func assistant(blocks ...Block) Message { return Message{Role: RoleAssistant, Content: blocks} }

func conversation(msgs ...Message) *Request { return &Request{ModelID: "m", Messages: msgs} }

func hello() *Request { return conversation(user(TextBlock("Hello"))) }

// with returns hello() changed by f.
func with(f func(r *Request)) *Request {
	r := hello()
	f(r)
	return r
}

func imageBlock(format string, data []byte) Block {
	return Block{Image: &ImageBlock{Format: format, Source: &MediaSource{Bytes: data}}}
}

func docBlock(name string, data []byte) Block {
	return Block{Document: &DocumentBlock{Format: "txt", Name: name, Source: &DocumentSource{Bytes: data}}}
}

func toolUseBlock(id, name string) Block {
	return Block{ToolUse: &ToolUseBlock{ToolUseID: id, Name: name, Input: json.RawMessage(`{"city":"Paris"}`)}}
}

func toolResultBlock(id string) Block {
	return Block{ToolResult: &ToolResultBlock{ToolUseID: id, Content: []ToolResultContent{{Text: ptr("18C")}}}}
}

func weatherTools() *ToolConfig {
	return &ToolConfig{Tools: []Tool{{ToolSpec: &ToolSpec{
		Name: "get_weather", InputSchema: &InputSchema{JSON: json.RawMessage(`{"type":"object"}`)},
	}}}}
}

// toolTurns is a user question, an assistant turn calling tools ids, and a
// user turn answering answers.
func toolTurns(ids, answers []string) *Request {
	var calls, results []Block
	for _, id := range ids {
		calls = append(calls, toolUseBlock(id, "get_weather"))
	}
	for _, id := range answers {
		results = append(results, toolResultBlock(id))
	}
	r := conversation(user(TextBlock("Weather?")), assistant(calls...), user(results...))
	r.ToolConfig = weatherTools()
	return r
}

func messagesPath(i, j int) string {
	return "messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j)
}

const allContentKeys = "text, image, document, video, audio, toolUse, toolResult, guardContent, cachePoint, reasoningContent, citationsContent, searchResult, toolAddition, toolRemoval"

type validateCase struct {
	name     string
	req      *Request
	features *Features // nil: AllFeatures
	stream   bool
	want     string // "" when the request is valid
}

func validateCases(t testing.TB) []validateCase {
	smallPNG := pngImage(t, 2, 2)
	var none Features
	noChat := AllFeatures
	noChat.Chat = false
	noSystem := AllFeatures
	noSystem.System = false
	noVision := AllFeatures
	noVision.Vision = false
	noDocs := AllFeatures
	noDocs.Documents = false
	noTools := AllFeatures
	noTools.ToolUse = false
	noChoice := AllFeatures
	noChoice.ToolChoice = false
	noStreamTools := AllFeatures
	noStreamTools.StreamingToolUse = false
	noStream := AllFeatures
	noStream.Stream = false
	noGuard := AllFeatures
	noGuard.Guardrails = false

	coral := func(value, path, constraint string) string {
		return "1 validation error detected: Value '" + value + "' at '" + path + "' failed to satisfy constraint: " + constraint
	}
	null := func(path string) string {
		return "1 validation error detected: Value null at '" + path + "' failed to satisfy constraint: Member must not be null"
	}
	hidden := func(path, constraint string) string {
		return "1 validation error detected: Value at '" + path + "' failed to satisfy constraint: " + constraint
	}
	enum := func(value, path, set string) string {
		return coral(value, path, "Member must satisfy enum value set: ["+set+"]")
	}
	unsupported := func(kind string) string {
		return "This model doesn't support the " + kind + " content block that you provided. Update the content block and try again."
	}
	blank := func(path string) string {
		return "The text field in the ContentBlock object at " + path + " is blank. Add text to the text field, and try again."
	}

	return []validateCase{
		// Valid requests.
		{name: "single user text is valid", req: hello()},
		{name: "full conversation with every kind of member is valid", req: func() *Request {
			r := toolTurns([]string{"tooluse_1", "call.2:x"}, []string{"call.2:x", "tooluse_1"})
			r.Messages[0].Content = append(r.Messages[0].Content, imageBlock("png", smallPNG),
				docBlock("Quarterly report (v2) [final]", []byte("a,b\n1,2\n")),
				Block{CachePoint: &CachePoint{Type: "default", TTL: "1h"}})
			r.Messages[1].Content = append([]Block{TextBlock("Checking.")}, r.Messages[1].Content...)
			r.Messages = append(r.Messages, assistant(Block{ReasoningContent: &ReasoningContent{
				ReasoningText: &ReasoningText{Text: "ok", Signature: "sig"}}}, TextBlock("Sunny.")),
				user(TextBlock("Thanks"), Block{GuardContent: &GuardContent{Text: &GuardText{Text: "t", Qualifiers: []string{"query"}}}}))
			r.System = []SystemBlock{{Text: ptr("Be brief.")}, {CachePoint: &CachePoint{Type: "default"}}}
			r.InferenceConfig = &InferenceConfig{MaxTokens: ptr(1), Temperature: ptr(0.0), TopP: ptr(1.0), StopSequences: []string{"\n\nHuman:"}}
			r.ToolConfig.ToolChoice = &ToolChoice{Tool: &SpecificTool{Name: "get_weather"}}
			r.GuardrailConfig = &GuardrailConfig{GuardrailIdentifier: "abc123", GuardrailVersion: "DRAFT", Trace: "enabled_full"}
			r.AdditionalModelRequestFields = json.RawMessage(` {"top_k": 5}`)
			r.AdditionalModelResponseFieldPaths = []string{"/stop_sequence", "/a~0b~1c"}
			r.RequestMetadata = map[string]string{"tenant": "acme-1", "trace id": ""}
			r.PerformanceConfig = &PerformanceConfig{Latency: "optimized"}
			r.ServiceTier = &ServiceTier{Type: "flex"}
			r.OutputConfig = &OutputConfig{Effort: "high", TextFormat: &OutputFormat{Type: "json_schema",
				Structure: &OutputStructure{JSONSchema: &JSONSchemaDefinition{Schema: `{"type":"object"}`}}}}
			return r
		}()},
		{name: "jpeg gif and webp images are valid", req: conversation(user(TextBlock("Compare"),
			imageBlock("jpeg", jpegImage(t, 3, 3)), imageBlock("gif", gifImage(t, 3, 3)), imageBlock("webp", webpImage(3, 3))))},
		{name: "image of 8000 pixels a side is valid", req: conversation(user(imageBlock("png", pngImage(t, 8000, 1))))},
		{name: "image in s3 is not fetched", req: conversation(user(Block{Image: &ImageBlock{Format: "png",
			Source: &MediaSource{S3Location: &S3Location{URI: "s3://my-bucket/a.png", BucketOwner: "123456789012"}}}}))},
		{name: "twenty images are valid", req: conversation(user(repeat(20, func(int) Block { return imageBlock("png", smallPNG) })...))},
		{name: "five documents with a text block are valid", req: conversation(user(append(repeat(5, func(i int) Block {
			return docBlock("doc"+strconv.Itoa(i), []byte("x"))
		}), TextBlock("Summarize"))...))},
		{name: "document names may have leading and trailing single spaces", req: conversation(user(TextBlock("Read"), docBlock(" a b ", []byte("x"))))},
		{name: "system role message with tool addition is accepted mid-conversation", req: func() *Request {
			r := conversation(user(TextBlock("Hi")), assistant(TextBlock("Hello")),
				Message{Role: RoleSystem, Content: []Block{{ToolAddition: &ToolReferenceBox{Tool: &ToolReference{Name: "get_weather"}}}}},
				user(TextBlock("Weather?")))
			r.ToolConfig = weatherTools()
			return r
		}()},
		{name: "prompt ARN needs no messages", req: &Request{ModelID: "arn:aws:bedrock:us-east-1:123456789012:prompt/ABC123:1"}},
		{name: "stream processing mode is ignored outside streaming", req: with(func(r *Request) {
			r.GuardrailConfig = &GuardrailConfig{StreamProcessingMode: "fast"}
		})},
		{name: "assistant turn calling a tool may end the conversation", req: func() *Request {
			r := conversation(user(TextBlock("Weather?")), assistant(toolUseBlock("t1", "get_weather")))
			r.ToolConfig = weatherTools()
			return r
		}()},
		{name: "streaming with every feature is valid", req: hello(), stream: true},

		// Data model: Coral-style constraint violations.
		{name: "unknown role is rejected", req: conversation(Message{Role: "tool", Content: []Block{TextBlock("x")}}),
			want: enum("tool", "messages.0.role", "user, assistant, system")},
		{name: "missing role is rejected", req: conversation(Message{Content: []Block{TextBlock("x")}}),
			want: null("messages.0.role")},
		{name: "missing content is rejected", req: conversation(Message{Role: RoleUser}), want: null("messages.0.content")},
		{name: "unknown image format is rejected", req: conversation(user(TextBlock("x"), imageBlock("bmp", smallPNG))),
			want: enum("bmp", "messages.0.content.1.image.format", "png, jpeg, gif, webp")},
		{name: "missing image source is rejected", req: conversation(user(Block{Image: &ImageBlock{Format: "png"}})),
			want: null("messages.0.content.0.image.source")},
		{name: "empty image bytes are rejected without echoing them", req: conversation(user(imageBlock("png", []byte{}))),
			want: hidden("messages.0.content.0.image.source.bytes", "Member must have length greater than or equal to 1")},
		{name: "malformed s3 uri is rejected", req: conversation(user(Block{Video: &VideoBlock{Format: "mp4",
			Source: &MediaSource{S3Location: &S3Location{URI: "https://bucket/a.mp4"}}}})),
			want: coral("https://bucket/a.mp4", "messages.0.content.0.video.source.s3Location.uri",
				`Member must satisfy regular expression pattern: s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?`)},
		{name: "bucket owner must be 12 digits", req: conversation(user(Block{Image: &ImageBlock{Format: "png",
			Source: &MediaSource{S3Location: &S3Location{URI: "s3://bucket/a.png", BucketOwner: "12345"}}}})),
			want: coral("12345", "messages.0.content.0.image.source.s3Location.bucketOwner", "Member must satisfy regular expression pattern: [0-9]{12}")},
		{name: "unknown document format is rejected", req: conversation(user(TextBlock("x"), Block{Document: &DocumentBlock{
			Format: "rtf", Name: "a", Source: &DocumentSource{Text: ptr("x")}}})),
			want: enum("rtf", "messages.0.content.1.document.format", "pdf, csv, doc, docx, xls, xlsx, html, txt, md")},
		{name: "document name longer than 200 is rejected", req: conversation(user(TextBlock("x"), docBlock(strings.Repeat("a", 201), []byte("x")))),
			want: coral(strings.Repeat("a", 201), "messages.0.content.1.document.name", "Member must have length less than or equal to 200")},
		{name: "missing document name is rejected", req: conversation(user(TextBlock("x"), docBlock("", []byte("x")))),
			want: null("messages.0.content.1.document.name")},
		{name: "unknown video format is rejected", req: conversation(user(Block{Video: &VideoBlock{Format: "avi", Source: &MediaSource{Bytes: []byte{1}}}})),
			want: enum("avi", "messages.0.content.0.video.format", "mkv, mov, mp4, webm, flv, mpeg, mpg, wmv, three_gp")},
		{name: "unknown audio format is rejected", req: conversation(user(Block{Audio: &AudioBlock{Format: "midi", Source: &MediaSource{Bytes: []byte{1}}}})),
			want: enum("midi", "messages.0.content.0.audio.format", "mp3, opus, wav, aac, flac, mp4, ogg, mkv, mka, x-aac, m4a, mpeg, mpga, pcm, webm")},
		{name: "tool use id longer than 64 is rejected", req: toolTurns([]string{strings.Repeat("a", 65)}, []string{"t1"}),
			want: coral(strings.Repeat("a", 65), "messages.1.content.0.toolUse.toolUseId", "Member must have length less than or equal to 64")},
		{name: "tool use id with a space is rejected", req: toolTurns([]string{"bad id"}, []string{"bad id"}),
			want: "2 validation errors detected: Value 'bad id' at 'messages.1.content.0.toolUse.toolUseId' failed to satisfy constraint: " +
				"Member must satisfy regular expression pattern: [a-zA-Z0-9_.:-]+; Value 'bad id' at 'messages.2.content.0.toolResult.toolUseId' " +
				"failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.:-]+"},
		{name: "tool name with a dot is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.Tools[0].ToolSpec.Name = "feed.list"
		}), want: coral("feed.list", "toolConfig.tools.0.toolSpec.name", "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+")},
		{name: "tool name longer than 64 is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.Tools[0].ToolSpec.Name = strings.Repeat("t", 65)
		}), want: coral(strings.Repeat("t", 65), "toolConfig.tools.0.toolSpec.name", "Member must have length less than or equal to 64")},
		{name: "missing tool name is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.Tools[0].ToolSpec.Name = ""
		}), want: null("toolConfig.tools.0.toolSpec.name")},
		{name: "empty tool description is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.Tools[0].ToolSpec.Description = ptr("")
		}), want: coral("", "toolConfig.tools.0.toolSpec.description", "Member must have length greater than or equal to 1")},
		{name: "missing input schema is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.Tools[0].ToolSpec.InputSchema = nil
		}), want: null("toolConfig.tools.0.toolSpec.inputSchema")},
		{name: "empty tool list is rejected", req: with(func(r *Request) { r.ToolConfig = &ToolConfig{Tools: []Tool{}} }),
			want: coral("[]", "toolConfig.tools", "Member must have length greater than or equal to 1")},
		{name: "missing tool list is rejected", req: with(func(r *Request) { r.ToolConfig = &ToolConfig{} }),
			want: null("toolConfig.tools")},
		{name: "unknown tool result status is rejected", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.Messages[2].Content[0].ToolResult.Status = "failed"
			return r
		}(), want: enum("failed", "messages.2.content.0.toolResult.status", "success, error")},
		{name: "unknown tool use type is rejected", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.Messages[1].Content[0].ToolUse.Type = "client"
			return r
		}(), want: enum("client", "messages.1.content.0.toolUse.type", "server_tool_use")},
		{name: "unknown cache point type is rejected", req: conversation(user(TextBlock("x"), Block{CachePoint: &CachePoint{Type: "ephemeral"}})),
			want: enum("ephemeral", "messages.0.content.1.cachePoint.type", "default")},
		{name: "unknown cache ttl is rejected", req: with(func(r *Request) {
			r.System = []SystemBlock{{Text: ptr("s")}, {CachePoint: &CachePoint{Type: "default", TTL: "10m"}}}
		}), want: enum("10m", "system.1.cachePoint.ttl", "5m, 1h")},
		{name: "unknown guard qualifier is rejected", req: conversation(user(Block{GuardContent: &GuardContent{
			Text: &GuardText{Text: "x", Qualifiers: []string{"query", "answer"}}}})),
			want: enum("answer", "messages.0.content.0.guardContent.text.qualifiers.1", "grounding_source, query, guard_content")},
		{name: "guard image must be png or jpeg", req: with(func(r *Request) {
			r.System = []SystemBlock{{GuardContent: &GuardContent{Image: &GuardImage{Format: "gif", Source: &MediaSource{Bytes: []byte{1}}}}}}
		}), want: enum("gif", "system.0.guardContent.image.format", "png, jpeg")},
		{name: "malformed guardrail identifier is rejected", req: with(func(r *Request) {
			r.GuardrailConfig = &GuardrailConfig{GuardrailIdentifier: "My-Guardrail", GuardrailVersion: "1"}
		}), want: coral("My-Guardrail", "guardrailConfig.guardrailIdentifier",
			"Member must satisfy regular expression pattern: (|([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))")},
		{name: "guardrail ARN is accepted", req: with(func(r *Request) {
			r.GuardrailConfig = &GuardrailConfig{GuardrailIdentifier: "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc", GuardrailVersion: "12"}
		})},
		{name: "guardrail version 0 is rejected", req: with(func(r *Request) {
			r.GuardrailConfig = &GuardrailConfig{GuardrailIdentifier: "abc", GuardrailVersion: "0"}
		}), want: coral("0", "guardrailConfig.guardrailVersion", "Member must satisfy regular expression pattern: (|([1-9][0-9]{0,7})|(DRAFT))")},
		{name: "unknown guardrail trace is rejected", req: with(func(r *Request) { r.GuardrailConfig = &GuardrailConfig{Trace: "on"} }),
			want: enum("on", "guardrailConfig.trace", "enabled, disabled, enabled_full")},
		{name: "unknown stream processing mode is rejected when streaming", stream: true,
			req:  with(func(r *Request) { r.GuardrailConfig = &GuardrailConfig{StreamProcessingMode: "fast"} }),
			want: enum("fast", "guardrailConfig.streamProcessingMode", "sync, async")},
		{name: "max tokens of 0 is rejected", req: with(func(r *Request) { r.InferenceConfig = &InferenceConfig{MaxTokens: ptr(0)} }),
			want: "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{name: "temperature above 1 is rejected", req: with(func(r *Request) { r.InferenceConfig = &InferenceConfig{Temperature: ptr(99.0)} }),
			want: "1 validation error detected: Value '99.0' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"},
		{name: "negative top p is rejected", req: with(func(r *Request) { r.InferenceConfig = &InferenceConfig{TopP: ptr(-0.5)} }),
			want: coral("-0.5", "inferenceConfig.topP", "Member must have value greater than or equal to 0")},
		{name: "empty stop sequence is rejected", req: with(func(r *Request) { r.InferenceConfig = &InferenceConfig{StopSequences: []string{"a", ""}} }),
			want: coral("", "inferenceConfig.stopSequences.1", "Member must have length greater than or equal to 1")},
		{name: "more than 2500 stop sequences are rejected", req: with(func(r *Request) {
			r.InferenceConfig = &InferenceConfig{StopSequences: strings.Split(strings.Repeat("x,", 2500)+"x", ",")}
		}), want: hidden("inferenceConfig.stopSequences", "Member must have length less than or equal to 2500")},
		{name: "several violations are reported together", req: with(func(r *Request) {
			r.InferenceConfig = &InferenceConfig{MaxTokens: ptr(-1), Temperature: ptr(1.5)}
		}), want: "2 validation errors detected: Value '-1' at 'inferenceConfig.maxTokens' failed to satisfy constraint: " +
			"Member must have value greater than or equal to 1; Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: " +
			"Member must have value less than or equal to 1"},
		{name: "more than 10 response field paths are rejected", req: with(func(r *Request) {
			r.AdditionalModelResponseFieldPaths = strings.Split(strings.Repeat("/a,", 10)+"/a", ",")
		}), want: hidden("additionalModelResponseFieldPaths", "Member must have length less than or equal to 10")},
		{name: "empty response field path is rejected", req: with(func(r *Request) { r.AdditionalModelResponseFieldPaths = []string{""} }),
			want: coral("", "additionalModelResponseFieldPaths.0", "Member must have length greater than or equal to 1")},
		{name: "response field path longer than 256 is rejected", req: with(func(r *Request) {
			r.AdditionalModelResponseFieldPaths = []string{"/" + strings.Repeat("a", 256)}
		}), want: coral("/"+strings.Repeat("a", 256), "additionalModelResponseFieldPaths.0", "Member must have length less than or equal to 256")},
		{name: "empty request metadata is rejected", req: with(func(r *Request) { r.RequestMetadata = map[string]string{} }),
			want: hidden("requestMetadata", "Member must have length greater than or equal to 1")},
		{name: "more than 16 metadata entries are rejected", req: with(func(r *Request) {
			r.RequestMetadata = map[string]string{}
			for i := range 17 {
				r.RequestMetadata["k"+strconv.Itoa(i)] = "v"
			}
		}), want: hidden("requestMetadata", "Member must have length less than or equal to 16")},
		{name: "metadata key outside the charset is rejected", req: with(func(r *Request) { r.RequestMetadata = map[string]string{"user!": "v"} }),
			want: coral("user!", "requestMetadata", `Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z0-9\s:_@$#=/+,-.]{1,256}]`)},
		{name: "metadata value outside the charset is rejected", req: with(func(r *Request) { r.RequestMetadata = map[string]string{"k": "50%"} }),
			want: coral("50%", "requestMetadata", `Map values must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z0-9\s:_@$#=/+,-.]{0,256}]`)},
		{name: "unknown latency is rejected", req: with(func(r *Request) { r.PerformanceConfig = &PerformanceConfig{Latency: "fast"} }),
			want: enum("fast", "performanceConfig.latency", "standard, optimized")},
		{name: "missing service tier type is rejected", req: with(func(r *Request) { r.ServiceTier = &ServiceTier{} }),
			want: null("serviceTier.type")},
		{name: "unknown service tier is rejected", req: with(func(r *Request) { r.ServiceTier = &ServiceTier{Type: "cheap"} }),
			want: enum("cheap", "serviceTier.type", "priority, default, flex, reserved")},
		{name: "unknown output format type is rejected", req: with(func(r *Request) {
			r.OutputConfig = &OutputConfig{TextFormat: &OutputFormat{Type: "json", Structure: &OutputStructure{JSONSchema: &JSONSchemaDefinition{Schema: "{}"}}}}
		}), want: enum("json", "outputConfig.textFormat.type", "json_schema")},
		{name: "effort longer than 16 is rejected", req: with(func(r *Request) { r.OutputConfig = &OutputConfig{Effort: strings.Repeat("e", 17)} }),
			want: coral(strings.Repeat("e", 17), "outputConfig.effort", "Member must have length less than or equal to 16")},
		{name: "missing output structure is rejected", req: with(func(r *Request) {
			r.OutputConfig = &OutputConfig{TextFormat: &OutputFormat{Type: "json_schema"}}
		}), want: null("outputConfig.textFormat.structure")},
		{name: "tool reference type longer than 64 is rejected", req: conversation(user(TextBlock("x")), assistant(TextBlock("y")),
			Message{Role: RoleSystem, Content: []Block{{ToolRemoval: &ToolReferenceBox{Tool: &ToolReference{Type: strings.Repeat("t", 65)}}}}}),
			want: coral(strings.Repeat("t", 65), "messages.2.content.0.toolRemoval.tool.type", "Member must have length less than or equal to 64")},
		{name: "missing tool reference is rejected", req: conversation(user(Block{ToolAddition: &ToolReferenceBox{}})),
			want: null("messages.0.content.0.toolAddition.tool")},
		{name: "search result without content is rejected", req: conversation(user(Block{SearchResult: &SearchResult{Source: "s", Title: "t"}})),
			want: null("messages.0.content.0.searchResult.content")},

		// Data model: unions and JSON objects.
		{name: "content block without a member is rejected", req: conversation(user(Block{})),
			want: "ContentBlock object at messages.0.content.0 must set one of the following keys: " + allContentKeys + "."},
		{name: "content block with two members is rejected", req: conversation(user(Block{Text: ptr("x"), CachePoint: &CachePoint{Type: "default"}})),
			want: "ContentBlock object at messages.0.content.0 must set only one of the following keys: " + allContentKeys + "."},
		{name: "system block without a member is rejected", req: with(func(r *Request) { r.System = []SystemBlock{{}} }),
			want: "SystemContentBlock object at system.0 must set one of the following keys: text, guardContent, cachePoint."},
		{name: "image source with bytes and s3 is rejected", req: conversation(user(Block{Image: &ImageBlock{Format: "png",
			Source: &MediaSource{Bytes: smallPNG, S3Location: &S3Location{URI: "s3://bucket/a.png"}}}})),
			want: "ImageSource object at messages.0.content.0.image.source must set only one of the following keys: bytes, s3Location."},
		{name: "document source without a member is rejected", req: conversation(user(TextBlock("x"), Block{Document: &DocumentBlock{
			Format: "pdf", Name: "a", Source: &DocumentSource{}}})),
			want: "DocumentSource object at messages.0.content.1.document.source must set one of the following keys: bytes, s3Location, text, content."},
		{name: "document content item without text is rejected", req: conversation(user(TextBlock("x"), Block{Document: &DocumentBlock{
			Name: "a", Source: &DocumentSource{Content: []DocumentTextBlock{{}}}}})),
			want: "DocumentContentBlock object at messages.0.content.1.document.source.content.0 must set one of the following keys: text."},
		{name: "tool result content without a member is rejected", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.Messages[2].Content[0].ToolResult.Content = []ToolResultContent{{JSON: json.RawMessage("null")}}
			return r
		}(), want: "ToolResultContentBlock object at messages.2.content.0.toolResult.content.0 must set one of the following keys: json, text, image, document, video, searchResult."},
		{name: "guard content with text and image is rejected", req: conversation(user(Block{GuardContent: &GuardContent{
			Text: &GuardText{Text: "x"}, Image: &GuardImage{Format: "png", Source: &MediaSource{Bytes: smallPNG}}}})),
			want: "GuardrailConverseContentBlock object at messages.0.content.0.guardContent must set only one of the following keys: text, image."},
		{name: "tool without a member is rejected", req: with(func(r *Request) { r.ToolConfig = &ToolConfig{Tools: []Tool{{}}} }),
			want: "Tool object at toolConfig.tools.0 must set one of the following keys: toolSpec, systemTool, cachePoint."},
		{name: "tool choice with two members is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.ToolChoice = &ToolChoice{Auto: &Empty{}, Any: &Empty{}}
		}), want: "ToolChoice object at toolConfig.toolChoice must set only one of the following keys: auto, any, tool."},
		{name: "input schema without json is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.Tools[0].ToolSpec.InputSchema.JSON = nil
		}), want: "ToolInputSchema object at toolConfig.tools.0.toolSpec.inputSchema must set one of the following keys: json."},
		{name: "reasoning block without a member is rejected", req: conversation(user(TextBlock("x")), assistant(Block{ReasoningContent: &ReasoningContent{}})),
			want: "ReasoningContentBlock object at messages.1.content.0.reasoningContent must set one of the following keys: reasoningText, redactedContent."},
		{name: "output structure without a member is rejected", req: with(func(r *Request) {
			r.OutputConfig = &OutputConfig{TextFormat: &OutputFormat{Type: "json_schema", Structure: &OutputStructure{}}}
		}), want: "OutputFormatStructure object at outputConfig.textFormat.structure must set one of the following keys: jsonSchema."},
		{name: "prompt variable without a member is rejected", req: with(func(r *Request) {
			r.PromptVariables = map[string]PromptVariable{"city": {}}
		}), want: "PromptVariableValues object at promptVariables.city must set one of the following keys: text."},
		{name: "input schema that is not an object is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.Tools[0].ToolSpec.InputSchema.JSON = json.RawMessage(`["type"]`)
		}), want: "The format of the value at toolConfig.tools.0.toolSpec.inputSchema.json is invalid. Provide a json object for the field and try again."},
		{name: "tool use input that is not an object is rejected", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.Messages[1].Content[0].ToolUse.Input = json.RawMessage(`"Paris"`)
			return r
		}(), want: "The format of the value at messages.1.content.0.toolUse.input is invalid. Provide a json object for the field and try again."},
		{name: "missing tool use input is rejected", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.Messages[1].Content[0].ToolUse.Input = nil
			return r
		}(), want: null("messages.1.content.0.toolUse.input")},
		{name: "additional request fields that are not an object are rejected", req: with(func(r *Request) {
			r.AdditionalModelRequestFields = json.RawMessage(`[1]`)
		}), want: "The format of the value at additionalModelRequestFields is invalid. Provide a json object for the field and try again."},
		{name: "response field path without a leading slash is rejected", req: with(func(r *Request) {
			r.AdditionalModelResponseFieldPaths = []string{"stop_sequence"}
		}), want: "The value at additionalModelResponseFieldPaths.0 isn't a valid JSON Pointer. Use a path such as /stop_sequence and try again."},
		{name: "response field path with a bare tilde is rejected", req: with(func(r *Request) {
			r.AdditionalModelResponseFieldPaths = []string{"/ok", "/a~2"}
		}), want: "The value at additionalModelResponseFieldPaths.1 isn't a valid JSON Pointer. Use a path such as /stop_sequence and try again."},
		{name: "constraint violations are reported before unions", req: conversation(user(Block{}), Message{Role: "bot", Content: []Block{TextBlock("x")}}),
			want: enum("bot", "messages.1.role", "user, assistant, system")},

		// Model features.
		{name: "model without streaming rejects ConverseStream", req: with(func(r *Request) { r.System = []SystemBlock{{Text: ptr("s")}} }),
			features: &none, stream: true, want: "The model is unsupported for streaming."},
		{name: "model without system prompts rejects a system block", req: with(func(r *Request) { r.System = []SystemBlock{{Text: ptr("s")}} }),
			features: &noSystem, want: "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."},
		{name: "model without system prompts rejects a system role message", req: conversation(user(TextBlock("x")), Message{Role: RoleSystem, Content: []Block{TextBlock("s")}}),
			features: &noSystem, want: "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."},
		{name: "system prompt is checked before tools", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.System = []SystemBlock{{Text: ptr("s")}}
			return r
		}(), features: &none, want: "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."},
		{name: "model without tool use rejects a tool config", req: with(func(r *Request) { r.ToolConfig = weatherTools() }),
			features: &noTools, want: "This model doesn't support tool use."},
		{name: "model without tool use rejects tool blocks", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.ToolConfig = nil
			return r
		}(), features: &noTools, want: "This model doesn't support tool use."},
		{name: "tool blocks need a tool config", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.ToolConfig = nil
			return r
		}(), want: "The toolConfig field must be defined when using toolUse and toolResult content blocks."},
		{name: "model without tool choice rejects any", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.ToolChoice = &ToolChoice{Any: &Empty{}}
		}), features: &noChoice, want: "This model doesn't support the toolConfig.toolChoice.any field. Remove toolConfig.toolChoice.any and try again."},
		{name: "model without tool choice rejects tool", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.ToolChoice = &ToolChoice{Tool: &SpecificTool{Name: "get_weather"}}
		}), features: &noChoice, want: "This model doesn't support the toolConfig.toolChoice.tool field. Remove toolConfig.toolChoice.tool and try again."},
		{name: "model without tool choice accepts auto", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.ToolChoice = &ToolChoice{Auto: &Empty{}}
		}), features: &noChoice},
		{name: "model without streaming tool use rejects tools when streaming", req: with(func(r *Request) { r.ToolConfig = weatherTools() }),
			features: &noStreamTools, stream: true, want: "This model doesn't support tool use in streaming mode."},
		{name: "model without streaming tool use accepts tools in Converse", req: with(func(r *Request) { r.ToolConfig = weatherTools() }),
			features: &noStreamTools},
		{name: "model without vision rejects an image", req: conversation(user(TextBlock("x"), imageBlock("png", smallPNG))),
			features: &noVision, want: unsupported("image")},
		{name: "model without vision rejects an image in a tool result", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.Messages[2].Content[0].ToolResult.Content = []ToolResultContent{{Image: &ImageBlock{Format: "png", Source: &MediaSource{Bytes: smallPNG}}}}
			return r
		}(), features: &noVision, want: unsupported("image")},
		{name: "model without document chat rejects a document", req: conversation(user(TextBlock("x"), docBlock("a", []byte("x")))),
			features: &noDocs, want: unsupported("document")},
		{name: "video is rejected for every model", req: conversation(user(Block{Video: &VideoBlock{Format: "mp4", Source: &MediaSource{Bytes: []byte{1}}}})),
			want: unsupported("video")},
		{name: "audio is rejected for every model", req: conversation(user(Block{Audio: &AudioBlock{Format: "mp3", Source: &MediaSource{Bytes: []byte{1}}}})),
			want: unsupported("audio")},
		{name: "model without guardrails rejects a guardrail config", req: with(func(r *Request) {
			r.GuardrailConfig = &GuardrailConfig{GuardrailIdentifier: "abc", GuardrailVersion: "1"}
		}), features: &noGuard, want: "This model doesn't support the guardrailConfig field. Remove guardrailConfig and try again."},
		{name: "model without chat rejects history", req: conversation(user(TextBlock("a")), assistant(TextBlock("b")), user(TextBlock("c"))),
			features: &noChat, want: "This model doesn't support conversation history. Try again with input that only includes one user message."},
		{name: "model without chat accepts one user message", req: hello(), features: &noChat},
		{name: "image gating comes before history length", req: conversation(user(imageBlock("png", smallPNG)), assistant(TextBlock("b"))),
			features: &none, want: unsupported("image")},

		// Conversation rules.
		{name: "request without messages is rejected", req: &Request{ModelID: "m"},
			want: "A conversation must start with a user message. Try again with a conversation that starts with a user message."},
		{name: "conversation starting with the assistant is rejected", req: conversation(assistant(TextBlock("a")), user(TextBlock("b"))),
			want: "A conversation must start with a user message. Try again with a conversation that starts with a user message."},
		{name: "two user messages in a row are rejected", req: conversation(user(TextBlock("a")), user(TextBlock("b"))),
			want: "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."},
		{name: "empty content is rejected", req: conversation(user(TextBlock("a")), Message{Role: RoleAssistant, Content: []Block{}}),
			want: "The content field in the Message object at messages.1 is empty. Add a ContentBlock object to the content field and try again."},
		{name: "empty text is rejected", req: conversation(user(TextBlock("a"), TextBlock(""))), want: blank(messagesPath(0, 1))},
		{name: "white space text is rejected", req: conversation(user(TextBlock("a")), assistant(TextBlock("\n\n \t"))), want: blank(messagesPath(1, 0))},
		{name: "blank system text is rejected", req: with(func(r *Request) { r.System = []SystemBlock{{Text: ptr("ok")}, {Text: ptr("  ")}} }),
			want: "The text field in the SystemContentBlock object at system.1 is blank. Add text to the text field, and try again."},
		{name: "image in an assistant message is rejected", req: conversation(user(TextBlock("a")), assistant(imageBlock("png", smallPNG))),
			want: "The image content block at messages.1.content.0 isn't supported in a message with the assistant role. Image, document, video and audio content blocks can only be included in user messages."},
		{name: "document in an assistant message is rejected", req: conversation(user(TextBlock("a")), assistant(TextBlock("b"), docBlock("d", []byte("x")))),
			want: "The document content block at messages.1.content.1 isn't supported in a message with the assistant role. Image, document, video and audio content blocks can only be included in user messages."},
		{name: "tool use in a user message is rejected", req: func() *Request {
			r := conversation(user(TextBlock("a"), toolUseBlock("t1", "get_weather")))
			r.ToolConfig = weatherTools()
			return r
		}(), want: "The toolUse content block at messages.0.content.1 isn't supported in a message with the user role. toolUse content blocks can only be included in assistant messages."},
		{name: "tool result in an assistant message is rejected", req: func() *Request {
			r := conversation(user(TextBlock("a")), assistant(toolResultBlock("t1")))
			r.ToolConfig = weatherTools()
			return r
		}(), want: "The toolResult content block at messages.1.content.0 isn't supported in a message with the assistant role. toolResult content blocks can only be included in user messages."},

		// Tool rules.
		{name: "duplicate tool names are rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.Tools = append(r.ToolConfig.Tools, r.ToolConfig.Tools[0])
		}), want: "The tools at toolConfig.tools contain duplicate names: get_weather"},
		{name: "tool choice naming an undeclared tool is rejected", req: with(func(r *Request) {
			r.ToolConfig = weatherTools()
			r.ToolConfig.ToolChoice = &ToolChoice{Tool: &SpecificTool{Name: "get_time"}}
		}), want: "The tool get_time in toolConfig.toolChoice.tool isn't defined in toolConfig.tools. Define the tool in toolConfig.tools or choose a defined tool, and try again."},
		{name: "duplicate tool use ids in a turn are rejected", req: toolTurns([]string{"t1", "t1"}, []string{"t1"}),
			want: "The toolUse blocks at messages.1.content contain duplicate Ids: t1"},
		{name: "more tool results than tool uses are rejected", req: toolTurns([]string{"t1"}, []string{"t1", "t2"}),
			want: "The number of toolResult blocks at messages.2.content exceeds the number of toolUse blocks of previous turn."},
		{name: "tool result without a previous tool use is rejected", req: func() *Request {
			r := conversation(user(toolResultBlock("t1")))
			r.ToolConfig = weatherTools()
			return r
		}(), want: "The number of toolResult blocks at messages.0.content exceeds the number of toolUse blocks of previous turn."},
		{name: "unanswered tool uses are rejected", req: toolTurns([]string{"t1", "t2", "t3"}, []string{"t2"}),
			want: "Expected toolResult blocks at messages.2.content for the following Ids: t1, t3"},
		{name: "tool result answering an unknown id is rejected", req: toolTurns([]string{"t1"}, []string{"t9"}),
			want: "Expected toolResult blocks at messages.2.content for the following Ids: t1"},
		{name: "user text instead of tool results is rejected", req: func() *Request {
			r := toolTurns([]string{"t1"}, nil)
			r.Messages[2].Content = []Block{TextBlock("never mind")}
			return r
		}(), want: "Expected toolResult blocks at messages.2.content for the following Ids: t1"},
		{name: "error tool result without content is rejected", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.Messages[2].Content[0].ToolResult.Status = "error"
			r.Messages[2].Content[0].ToolResult.Content = []ToolResultContent{}
			return r
		}(), want: "The content field at messages.2.content.0.toolResult cannot be empty when status value is error."},

		// Documents.
		{name: "more than 5 documents are rejected", req: conversation(user(append(repeat(6, func(i int) Block {
			return docBlock("doc"+strconv.Itoa(i), []byte("x"))
		}), TextBlock("Summarize"))...)), want: "You can't include more than 5 documents in a request."},
		{name: "document name with a dot is rejected", req: conversation(user(TextBlock("x"), docBlock("report.pdf", []byte("x")))), want: msgDocName},
		{name: "document name with two spaces in a row is rejected", req: conversation(user(TextBlock("x"), docBlock("a  b", []byte("x")))), want: msgDocName},
		{name: "document name with a tab is rejected", req: conversation(user(TextBlock("x"), docBlock("a\tb", []byte("x")))), want: msgDocName},
		{name: "document name with an accent is rejected", req: conversation(user(TextBlock("x"), docBlock("résumé", []byte("x")))), want: msgDocName},
		{name: "duplicate document names are rejected", req: conversation(user(TextBlock("x"), docBlock("a", []byte("x"))),
			assistant(TextBlock("y")), user(TextBlock("z"), docBlock("a", []byte("y")))),
			want: "Messages can't contain duplicate document names."},
		{name: "document without a text block is rejected", req: conversation(user(docBlock("a", []byte("x")))),
			want: "A text block must be included when using documents."},
		{name: "document larger than 4.5 MB is rejected", req: conversation(user(TextBlock("x"), docBlock("big", make([]byte, 4718593)))),
			want: "The document at messages.0.content.1.document exceeds the maximum document size of 4.5 MB. Reduce the document size and try again."},
		{name: "document of exactly 4.5 MB is valid", req: conversation(user(TextBlock("x"), docBlock("big", make([]byte, 4718592))))},

		// Images.
		{name: "more than 20 images are rejected", req: conversation(user(repeat(21, func(int) Block { return imageBlock("png", smallPNG) })...)),
			want: "You can't include more than 20 images in a request."},
		{name: "image larger than 3.75 MB is rejected", req: conversation(user(imageBlock("png", append(pngImage(t, 2, 2), make([]byte, 3932160)...)))),
			want: "The image at messages.0.content.0.image exceeds the maximum image size of 3.75 MB. Reduce the image size and try again."},
		{name: "jpeg bytes declared as png are rejected", req: conversation(user(TextBlock("x"), imageBlock("png", jpegImage(t, 2, 2)))),
			want: "The image at messages.0.content.1.image isn't a valid png image. Check that the image bytes match the format field, and try again."},
		{name: "bytes that are no image are rejected", req: conversation(user(imageBlock("gif", []byte("GIF? no")))),
			want: "The image at messages.0.content.0.image isn't a valid gif image. Check that the image bytes match the format field, and try again."},
		{name: "png wider than 8000 pixels is rejected", req: conversation(user(imageBlock("png", pngImage(t, 8001, 1)))),
			want: "The image at messages.0.content.0.image is 8001x1 pixels, which exceeds the maximum of 8000x8000 pixels. Resize the image and try again."},
		{name: "jpeg taller than 8000 pixels is rejected", req: conversation(user(imageBlock("jpeg", jpegImage(t, 1, 8001)))),
			want: "The image at messages.0.content.0.image is 1x8001 pixels, which exceeds the maximum of 8000x8000 pixels. Resize the image and try again."},
		{name: "webp wider than 8000 pixels is rejected", req: conversation(user(imageBlock("webp", webpImage(8001, 2)))),
			want: "The image at messages.0.content.0.image is 8001x2 pixels, which exceeds the maximum of 8000x8000 pixels. Resize the image and try again."},
		{name: "oversized image in a tool result is rejected", req: func() *Request {
			r := toolTurns([]string{"t1"}, []string{"t1"})
			r.Messages[2].Content[0].ToolResult.Content = []ToolResultContent{{Image: &ImageBlock{Format: "gif", Source: &MediaSource{Bytes: gifImage(t, 8001, 1)}}}}
			return r
		}(), want: "The image at messages.2.content.0.toolResult.content.0.image is 8001x1 pixels, which exceeds the maximum of 8000x8000 pixels. Resize the image and try again."},
	}
}

func repeat(n int, f func(i int) Block) []Block {
	blocks := make([]Block, n)
	for i := range blocks {
		blocks[i] = f(i)
	}
	return blocks
}

func TestValidate(t *testing.T) {
	for _, tt := range validateCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			f := AllFeatures
			if tt.features != nil {
				f = *tt.features
			}
			err := Validate(tt.req, f, tt.stream)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate = %v, want *Error %q", err, tt.want)
			}
			if e.Kind != KindValidation {
				t.Errorf("Kind = %v, want %v", e.Kind, KindValidation)
			}
			if e.Message != tt.want {
				t.Errorf("Message:\n got %q\nwant %q", e.Message, tt.want)
			}
		})
	}
}

// TestValidateDecodedJSON checks what only the wire form can express: an
// empty base64 string is present-but-empty bytes, and JSON null leaves a
// Document member unset.
func TestValidateDecodedJSON(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{name: "empty bytes string is a present empty blob",
			body: `{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":""}}}]}]}`,
			want: "1 validation error detected: Value at 'messages.0.content.0.image.source.bytes' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "null input schema json is an unset union",
			body: `{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"t","inputSchema":{"json":null}}}]}}`,
			want: "ToolInputSchema object at toolConfig.tools.0.toolSpec.inputSchema must set one of the following keys: json."},
		{name: "null additional request fields are absent",
			body: `{"messages":[{"role":"user","content":[{"text":"x"}]}],"additionalModelRequestFields":null}`},
		{name: "unknown content block member leaves the union empty",
			body: `{"messages":[{"role":"user","content":[{"hologram":{}}]}]}`,
			want: "ContentBlock object at messages.0.content.0 must set one of the following keys: " + allContentKeys + "."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req Request
			if err := json.Unmarshal([]byte(tt.body), &req); err != nil {
				t.Fatalf("decode: %v", err)
			}
			err := Validate(&req, AllFeatures, false)
			got := ""
			if err != nil {
				got = err.(*Error).Message
			}
			if got != tt.want {
				t.Errorf("Validate:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidateNilRequest(t *testing.T) {
	if err := Validate(nil, AllFeatures, false); err == nil {
		t.Fatal("Validate(nil) = nil, want an error")
	}
}

func TestJavaFloat(t *testing.T) {
	for v, want := range map[float64]string{99: "99.0", 1.5: "1.5", -0.5: "-0.5", 1.1: "1.1", 1e7: "1.0E7", 2.5e-4: "2.5E-4", 0: "0.0"} {
		if got := javaFloat(v); got != want {
			t.Errorf("javaFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, tt := range validateCases(f) {
		if body, err := json.Marshal(tt.req); err == nil && len(body) < 64<<10 {
			f.Add(body)
		}
	}
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"image":{"format":"webp","source":{"bytes":"UklGRg=="}}}]}]}`))
	f.Add([]byte(`{"messages":null,"toolConfig":{"tools":[{}],"toolChoice":{"tool":{}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req Request
		if json.Unmarshal(body, &req) != nil {
			return
		}
		for _, features := range []Features{AllFeatures, {}} {
			for _, stream := range []bool{false, true} {
				err := Validate(&req, features, stream)
				if err == nil {
					continue
				}
				if e, ok := err.(*Error); !ok || e.Kind != KindValidation || e.Message == "" {
					t.Fatalf("Validate = %#v, want a validation *Error with a message", err)
				}
			}
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	r := toolTurns([]string{"tooluse_1"}, []string{"tooluse_1"})
	r.Messages[0].Content = append(r.Messages[0].Content, imageBlock("png", pngImage(b, 640, 480)))
	r.System = []SystemBlock{{Text: ptr("You are a weather assistant.")}}
	r.InferenceConfig = &InferenceConfig{MaxTokens: ptr(512), Temperature: ptr(0.5)}
	if err := Validate(r, AllFeatures, false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(r, AllFeatures, false); err != nil {
			b.Fatal(err)
		}
	}
}
