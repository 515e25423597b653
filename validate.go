package converse

import (
	"regexp"
	"strconv"
	"strings"
)

// Validate checks req against every constraint of Bedrock's Converse data model and the rules of
// AWS's Converse guide, and against what a model supports (f), before any backend is called.
// stream is true for ConverseStream. It returns nil or a *Error of KindValidation whose Message is
// Bedrock's message (byte-exact where the spec gives it).
//
// Validate reads req and never modifies it. It reports the first failing
// stage, in this order:
//
//  1. The data model (service model 2026-07-31, wire-protocol.md §3 and
//     Appendix A): required members, enums, lengths, patterns and number
//     ranges are all collected and reported together the way AWS's Coral
//     validator does ("2 validation errors detected: …; …"). Field paths
//     use the Converse form Bedrock's own messages use: dotted, 0-based,
//     no ".member" (messages.0.content.1.image.format). Only then, the
//     first union with zero or several members ("ContentBlock object at
//     messages.0.content.1 must set one of the following keys: …") or JSON
//     value that must be an object and is not.
//  2. What the model supports, in the order model-families.md §3.3
//     recommends: streaming itself, system prompts, tool use (and the
//     toolConfig that tool blocks require), toolChoice, tools while
//     streaming, image/document/video/audio blocks, guardrails, then
//     conversation history.
//  3. The conversation: a first message and role order, empty content,
//     blank text, which role may carry which block, the tool rules
//     (unique names, toolChoice.tool declared, each toolResult answering a
//     toolUse of the turn before), then documents and images as AWS's
//     Converse guide limits them.
//
// Messages of the 2026 system role (mid-conversation toolAddition and
// toolRemoval) are accepted; the role-order and tool-pairing rules skip
// them, so a turn's "previous turn" is the previous user or assistant
// message.
func Validate(req *Request, f Features, stream bool) error {
	if req == nil {
		req = &Request{}
	}
	var s shapeCheck
	s.request(req, stream)
	if n := len(s.coral); n > 0 {
		head := "1 validation error detected: "
		if n > 1 {
			head = strconv.Itoa(n) + " validation errors detected: "
		}
		return invalid(head + strings.Join(s.coral, "; "))
	}
	if s.other != "" {
		return invalid(s.other)
	}
	if msg := checkFeatures(req, f, stream); msg != "" {
		return invalid(msg)
	}
	for _, check := range [...]func(*Request) string{
		checkRoleOrder, checkContent, checkPlacement, checkTools, checkDocuments, checkImages,
	} {
		if msg := check(req); msg != "" {
			return invalid(msg)
		}
	}
	return nil
}

func invalid(msg string) error { return &Error{Kind: KindValidation, Message: msg} }

// Limits from AWS's Converse guide (the Message.content documentation).
const (
	maxImages        = 20
	maxImageBytes    = 3932160 // 3.75 MB
	maxImagePixels   = 8000    // per side
	maxDocuments     = 5
	maxDocumentBytes = 4718592 // 4.5 MB
)

// Enum value sets, in service-model order, as Coral prints them.
const (
	enumRole          = "user, assistant, system"
	enumImageFormat   = "png, jpeg, gif, webp"
	enumDocFormat     = "pdf, csv, doc, docx, xls, xlsx, html, txt, md"
	enumVideoFormat   = "mkv, mov, mp4, webm, flv, mpeg, mpg, wmv, three_gp"
	enumAudioFormat   = "mp3, opus, wav, aac, flac, mp4, ogg, mkv, mka, x-aac, m4a, mpeg, mpga, pcm, webm"
	enumGuardFormat   = "png, jpeg"
	enumQualifier     = "grounding_source, query, guard_content"
	enumCacheType     = "default"
	enumCacheTTL      = "5m, 1h"
	enumToolStatus    = "success, error"
	enumToolUseType   = "server_tool_use"
	enumTrace         = "enabled, disabled, enabled_full"
	enumStreamMode    = "sync, async"
	enumLatency       = "standard, optimized"
	enumServiceTier   = "priority, default, flex, reserved"
	enumOutputFormat  = "json_schema"
	keysContentBlock  = "text, image, document, video, audio, toolUse, toolResult, guardContent, cachePoint, reasoningContent, citationsContent, searchResult, toolAddition, toolRemoval"
	keysSystemBlock   = "text, guardContent, cachePoint"
	keysToolResult    = "json, text, image, document, video, searchResult"
	keysDocSource     = "bytes, s3Location, text, content"
	keysMediaSource   = "bytes, s3Location"
	patToolName       = "[a-zA-Z0-9_-]+"
	patToolUseID      = "[a-zA-Z0-9_.:-]+"
	patS3URI          = `s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?`
	patAccountID      = "[0-9]{12}"
	patGuardrailID    = `(|([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))`
	patGuardrailVer   = `(|([1-9][0-9]{0,7})|(DRAFT))`
	patMetadataKey    = `[a-zA-Z0-9\s:_@$#=/+,-.]{1,256}`
	patMetadataValue  = `[a-zA-Z0-9\s:_@$#=/+,-.]{0,256}`
	constraintNotNull = "Member must not be null"
)

// Service-model patterns match the whole value, as Coral applies them.
var (
	s3URIRe       = regexp.MustCompile(`^(?:` + patS3URI + `)$`)
	guardrailIDRe = regexp.MustCompile(`^(?:` + patGuardrailID + `)$`)
	guardrailVeRe = regexp.MustCompile(`^(?:` + patGuardrailVer + `)$`)
)

// Messages Bedrock sends, byte for byte, with the issue threads they were
// seen in (wire-protocol.md §5.4, model-families.md §3.3), and two of ours
// where Bedrock's wording is unknown.
const (
	// dify #12340
	msgStartWithUser = "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	// langchain-aws #130
	msgAlternate = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
	// Japanese study notes on Converse with Jurassic-2 (model-families.md §3.3)
	msgNoHistory = "This model doesn't support conversation history. Try again with input that only includes one user message."
	// LibreChat #6456
	msgNoSystem = "This model doesn't support system messages. Try again without a system message or use a model that supports system messages."
	// langchain-aws #447
	msgNoToolUse = "This model doesn't support tool use."
	// earendil-works/pi #3739
	msgNoStreamTools = "This model doesn't support tool use in streaming mode."
	// amazon-bedrock-client-for-mac #112
	msgNoStream = "The model is unsupported for streaming."
	// ai-dial-adapter-bedrock #344
	msgToolConfigNeed = "The toolConfig field must be defined when using toolUse and toolResult content blocks."
	// generative-ai-use-cases #1685
	msgTooManyDocs = "You can't include more than 5 documents in a request."
	// generative-ai-use-cases #1685
	msgDuplicateDocs = "Messages can't contain duplicate document names."
	// bifrost PR #5817
	msgDocNeedsText = "A text block must be included when using documents."
	// simonw/llm-bedrock #8, vercel/ai #20365
	msgDocName = "The document file name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can't contain more than one consecutive whitespace character. Check that the file name conforms to these restrictions and retry your request."
	// our wording, in the "doesn't support the <field> field" pattern of §3.3
	msgNoGuardrails = "This model doesn't support the guardrailConfig field. Remove guardrailConfig and try again."
	// our wording, after msgTooManyDocs
	msgTooManyImages = "You can't include more than 20 images in a request."
)

// checkFeatures gates what the model lacks, in the order model-families.md
// §3.3 recommends, with Bedrock's messages.
func checkFeatures(r *Request, f Features, stream bool) string {
	if stream && !f.Stream {
		return msgNoStream
	}
	if !f.System && (len(r.System) > 0 || hasRole(r, RoleSystem)) {
		return msgNoSystem
	}
	toolBlocks := false
	toolRefs := false
	for i := range r.Messages {
		for j := range r.Messages[i].Content {
			b := &r.Messages[i].Content[j]
			toolBlocks = toolBlocks || b.ToolUse != nil || b.ToolResult != nil
			toolRefs = toolRefs || b.ToolAddition != nil || b.ToolRemoval != nil
		}
	}
	if !f.ToolUse && (r.ToolConfig != nil || toolBlocks || toolRefs) {
		return msgNoToolUse
	}
	if toolBlocks && r.ToolConfig == nil {
		return msgToolConfigNeed
	}
	if tc := r.ToolConfig; tc != nil && tc.ToolChoice != nil && !f.ToolChoice {
		for _, field := range []struct {
			name string
			set  bool
		}{{"any", tc.ToolChoice.Any != nil}, {"tool", tc.ToolChoice.Tool != nil}} {
			if field.set {
				return "This model doesn't support the toolConfig.toolChoice." + field.name +
					" field. Remove toolConfig.toolChoice." + field.name + " and try again." // strands harness-sdk #1241
			}
		}
	}
	if stream && r.ToolConfig != nil && !f.StreamingToolUse {
		return msgNoStreamTools
	}
	if msg := checkMediaSupport(r, f); msg != "" {
		return msg
	}
	if r.GuardrailConfig != nil && !f.Guardrails {
		return msgNoGuardrails
	}
	if !f.Chat && len(r.Messages) > 1 {
		return msgNoHistory
	}
	return ""
}

// checkMediaSupport rejects the first image, document, video or audio block
// (tool results included) the model cannot take. No backend serves video or
// audio yet, so those are refused for every model.
func checkMediaSupport(r *Request, f Features) string {
	unsupported := func(kind string) string { // a Go proxy's test fixture, model-families.md §3.3
		return "This model doesn't support the " + kind + " content block that you provided. Update the content block and try again."
	}
	check := func(image, document, video, audio bool) string {
		switch {
		case image && !f.Vision:
			return unsupported("image")
		case document && !f.Documents:
			return unsupported("document")
		case video:
			return unsupported("video")
		case audio:
			return unsupported("audio")
		}
		return ""
	}
	for i := range r.Messages {
		for j := range r.Messages[i].Content {
			b := &r.Messages[i].Content[j]
			if msg := check(b.Image != nil, b.Document != nil, b.Video != nil, b.Audio != nil); msg != "" {
				return msg
			}
			if b.ToolResult == nil {
				continue
			}
			for k := range b.ToolResult.Content {
				c := &b.ToolResult.Content[k]
				if msg := check(c.Image != nil, c.Document != nil, c.Video != nil, false); msg != "" {
					return msg
				}
			}
		}
	}
	return ""
}

// isPromptARN reports whether modelID names a Prompt-management prompt,
// whose request may omit messages (wire-protocol.md §3.1).
func isPromptARN(modelID string) bool {
	return strings.HasPrefix(modelID, "arn:") && strings.Contains(modelID, ":prompt/")
}

// checkRoleOrder requires a conversation that starts with a user message
// and alternates. A request without messages gets the same message as one
// that starts with an assistant: it does not start with a user message.
