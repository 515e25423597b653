package converse

// The data-model constraints of the service model (wire-protocol.md §3,
// Appendix A), in the words of the Coral validator.

import (
	"encoding/json"
	"strconv"
	"strings"
)

// shapeCheck walks a request once, collecting data-model violations.
type shapeCheck struct {
	coral []string // Coral-style constraint violations, in request order
	other string   // the first union or JSON-object violation
}

func (s *shapeCheck) fail(value, path, constraint string) {
	s.coral = append(s.coral, "Value '"+value+"' at '"+path+"' failed to satisfy constraint: "+constraint)
}

// failHidden reports a violation without echoing the value: Coral's form
// for sensitive members, used here for blobs and long lists too.
func (s *shapeCheck) failHidden(path, constraint string) {
	s.coral = append(s.coral, "Value at '"+path+"' failed to satisfy constraint: "+constraint)
}

// null reports a missing required member. Go cannot tell an absent string
// from an empty one, so an empty required string is reported as absent.
func (s *shapeCheck) null(path string) {
	s.coral = append(s.coral, "Value null at '"+path+"' failed to satisfy constraint: "+constraintNotNull)
}

func (s *shapeCheck) setOther(msg string) {
	if s.other == "" {
		s.other = msg
	}
}

// union reports a union with zero or several members and says whether
// exactly one is set.
func (s *shapeCheck) union(typ, path, keys string, set int) bool {
	switch {
	case set == 1:
		return true
	case set == 0:
		s.setOther(typ + " object at " + path + " must set one of the following keys: " + keys + ".")
	default:
		s.setOther(typ + " object at " + path + " must set only one of the following keys: " + keys + ".")
	}
	return false
}

// jsonObject reports a Document member that must hold a JSON object, with
// the message Bedrock gives for toolSpec.inputSchema.json
// (aws/aws-sdk-net #3377).
func (s *shapeCheck) jsonObject(path string, v json.RawMessage) {
	if !isJSONObject(v) {
		s.setOther("The format of the value at " + path + " is invalid. Provide a json object for the field and try again.")
	}
}

func (s *shapeCheck) enum(path, v, set string) {
	if v != "" && !inEnum(v, set) {
		s.fail(v, path, "Member must satisfy enum value set: ["+set+"]")
	}
}

func (s *shapeCheck) requiredEnum(path, v, set string) {
	if v == "" {
		s.null(path)
		return
	}
	s.enum(path, v, set)
}

// length checks a string member's length bounds (max < 0: none).
func (s *shapeCheck) length(path, v string, lo, hi int) bool {
	n := javaLen(v)
	if n < lo {
		s.fail(v, path, "Member must have length greater than or equal to "+strconv.Itoa(lo))
		return false
	}
	if hi >= 0 && n > hi {
		s.fail(v, path, "Member must have length less than or equal to "+strconv.Itoa(hi))
		return false
	}
	return true
}

func (s *shapeCheck) pattern(path, v, pat string, ok bool) {
	if !ok {
		s.fail(v, path, "Member must satisfy regular expression pattern: "+pat)
	}
}

// toolName checks a required ToolName: 1..64, [a-zA-Z0-9_-]+.
func (s *shapeCheck) toolName(path, v string) {
	if v == "" {
		s.null(path)
		return
	}
	if s.length(path, v, 1, 64) {
		s.pattern(path, v, patToolName, allBytes(v, isToolNameByte))
	}
}

// toolUseID checks a required ToolUseId: 1..64, [a-zA-Z0-9_.:-]+.
func (s *shapeCheck) toolUseID(path, v string) {
	if v == "" {
		s.null(path)
		return
	}
	if s.length(path, v, 1, 64) {
		s.pattern(path, v, patToolUseID, allBytes(v, func(c byte) bool {
			return isToolNameByte(c) || c == '.' || c == ':'
		}))
	}
}

func (s *shapeCheck) request(r *Request, stream bool) {
	for i := range r.Messages {
		m := &r.Messages[i]
		p := "messages." + strconv.Itoa(i)
		s.requiredEnum(p+".role", string(m.Role), enumRole)
		if m.Content == nil {
			s.null(p + ".content")
		}
		for j := range m.Content {
			s.block(&m.Content[j], p+".content."+strconv.Itoa(j))
		}
	}
	for i := range r.System {
		b := &r.System[i]
		p := "system." + strconv.Itoa(i)
		// A blank text is reported later, with Converse's own message.
		s.union("SystemContentBlock", p, keysSystemBlock, count(b.Text != nil, b.GuardContent != nil, b.CachePoint != nil))
		if b.GuardContent != nil {
			s.guardContent(b.GuardContent, p+".guardContent")
		}
		if b.CachePoint != nil {
			s.cachePoint(b.CachePoint, p+".cachePoint")
		}
	}
	if c := r.InferenceConfig; c != nil {
		s.inference(c)
	}
	if c := r.ToolConfig; c != nil {
		s.toolConfig(c)
	}
	if g := r.GuardrailConfig; g != nil {
		if s.length("guardrailConfig.guardrailIdentifier", g.GuardrailIdentifier, 0, 2048) {
			s.pattern("guardrailConfig.guardrailIdentifier", g.GuardrailIdentifier, patGuardrailID, guardrailIDRe.MatchString(g.GuardrailIdentifier))
		}
		s.pattern("guardrailConfig.guardrailVersion", g.GuardrailVersion, patGuardrailVer, guardrailVeRe.MatchString(g.GuardrailVersion))
		s.enum("guardrailConfig.trace", g.Trace, enumTrace)
		// Converse's GuardrailConfiguration has no streamProcessingMode:
		// there it is an unknown member, which Bedrock ignores.
		if stream {
			s.enum("guardrailConfig.streamProcessingMode", g.StreamProcessingMode, enumStreamMode)
		}
	}
	if !isJSONNull(r.AdditionalModelRequestFields) {
		s.jsonObject("additionalModelRequestFields", r.AdditionalModelRequestFields)
	}
	if len(r.AdditionalModelResponseFieldPaths) > 10 {
		s.failHidden("additionalModelResponseFieldPaths", "Member must have length less than or equal to 10")
	}
	for i, v := range r.AdditionalModelResponseFieldPaths {
		p := "additionalModelResponseFieldPaths." + strconv.Itoa(i)
		if s.length(p, v, 1, 256) && !isJSONPointer(v) {
			s.setOther("The value at " + p + " isn't a valid JSON Pointer. Use a path such as /stop_sequence and try again.")
		}
	}
	for _, k := range sortedKeys(r.PromptVariables) {
		v := r.PromptVariables[k]
		s.union("PromptVariableValues", "promptVariables."+k, "text", count(v.Text != nil))
	}
	s.requestMetadata(r.RequestMetadata)
	if c := r.PerformanceConfig; c != nil {
		s.enum("performanceConfig.latency", c.Latency, enumLatency)
	}
	if t := r.ServiceTier; t != nil {
		s.requiredEnum("serviceTier.type", t.Type, enumServiceTier)
	}
	if c := r.OutputConfig; c != nil {
		s.length("outputConfig.effort", c.Effort, 0, 16)
		if tf := c.TextFormat; tf != nil {
			s.requiredEnum("outputConfig.textFormat.type", tf.Type, enumOutputFormat)
			if tf.Structure == nil {
				s.null("outputConfig.textFormat.structure")
			} else {
				s.union("OutputFormatStructure", "outputConfig.textFormat.structure", "jsonSchema", count(tf.Structure.JSONSchema != nil))
			}
		}
	}
}

func (s *shapeCheck) block(b *Block, p string) {
	s.union("ContentBlock", p, keysContentBlock, count(b.Text != nil, b.Image != nil, b.Document != nil,
		b.Video != nil, b.Audio != nil, b.ToolUse != nil, b.ToolResult != nil, b.GuardContent != nil,
		b.CachePoint != nil, b.ReasoningContent != nil, b.CitationsContent != nil, b.SearchResult != nil,
		b.ToolAddition != nil, b.ToolRemoval != nil))
	// Text has no modeled constraint; blank text is a Converse rule.
	if b.Image != nil {
		s.image(b.Image, p+".image")
	}
	if b.Document != nil {
		s.document(b.Document, p+".document")
	}
	if b.Video != nil {
		s.video(b.Video, p+".video")
	}
	if b.Audio != nil {
		s.requiredEnum(p+".audio.format", b.Audio.Format, enumAudioFormat)
		s.mediaSource(b.Audio.Source, p+".audio.source", "AudioSource")
	}
	if t := b.ToolUse; t != nil {
		p := p + ".toolUse"
		s.toolUseID(p+".toolUseId", t.ToolUseID)
		s.toolName(p+".name", t.Name)
		if isJSONNull(t.Input) {
			s.null(p + ".input")
		} else {
			s.jsonObject(p+".input", t.Input)
		}
		s.enum(p+".type", t.Type, enumToolUseType)
	}
	if t := b.ToolResult; t != nil {
		p := p + ".toolResult"
		s.toolUseID(p+".toolUseId", t.ToolUseID)
		if t.Content == nil {
			s.null(p + ".content")
		}
		for k := range t.Content {
			s.toolResultContent(&t.Content[k], p+".content."+strconv.Itoa(k))
		}
		s.enum(p+".status", t.Status, enumToolStatus)
	}
	if b.GuardContent != nil {
		s.guardContent(b.GuardContent, p+".guardContent")
	}
	if b.CachePoint != nil {
		s.cachePoint(b.CachePoint, p+".cachePoint")
	}
	if r := b.ReasoningContent; r != nil {
		s.union("ReasoningContentBlock", p+".reasoningContent", "reasoningText, redactedContent",
			count(r.ReasoningText != nil, r.RedactedContent != nil))
	}
	if c := b.CitationsContent; c != nil {
		for k, t := range c.Content {
			s.union("CitationGeneratedContent", p+".citationsContent.content."+strconv.Itoa(k), "text", count(t.Text != nil))
		}
	}
	if r := b.SearchResult; r != nil {
		s.searchResult(r, p+".searchResult")
	}
	if t := b.ToolAddition; t != nil {
		s.toolReference(t, p+".toolAddition")
	}
	if t := b.ToolRemoval; t != nil {
		s.toolReference(t, p+".toolRemoval")
	}
}

func (s *shapeCheck) image(im *ImageBlock, p string) {
	s.requiredEnum(p+".format", im.Format, enumImageFormat)
	s.mediaSource(im.Source, p+".source", "ImageSource")
}

func (s *shapeCheck) video(v *VideoBlock, p string) {
	s.requiredEnum(p+".format", v.Format, enumVideoFormat)
	s.mediaSource(v.Source, p+".source", "VideoSource")
}

// mediaSource checks an ImageSource, VideoSource or AudioSource union.
func (s *shapeCheck) mediaSource(src *MediaSource, p, typ string) {
	if src == nil {
		s.null(p)
		return
	}
	s.union(typ, p, keysMediaSource, count(src.Bytes != nil, src.S3Location != nil))
	if src.Bytes != nil && len(src.Bytes) == 0 {
		s.failHidden(p+".bytes", "Member must have length greater than or equal to 1")
	}
	if src.S3Location != nil {
		s.s3Location(src.S3Location, p+".s3Location")
	}
}

func (s *shapeCheck) s3Location(l *S3Location, p string) {
	if l.URI == "" {
		s.null(p + ".uri")
	} else if s.length(p+".uri", l.URI, 1, 1024) {
		s.pattern(p+".uri", l.URI, patS3URI, s3URIRe.MatchString(l.URI))
	}
	if l.BucketOwner != "" {
		s.pattern(p+".bucketOwner", l.BucketOwner, patAccountID, len(l.BucketOwner) == 12 && allBytes(l.BucketOwner, isDigit))
	}
}

func (s *shapeCheck) document(d *DocumentBlock, p string) {
	s.enum(p+".format", d.Format, enumDocFormat)
	// The name's character set is a Converse rule with its own message
	// (checkDocuments); its length is a modeled constraint.
	if d.Name == "" {
		s.null(p + ".name")
	} else {
		s.length(p+".name", d.Name, 1, 200)
	}
	src := d.Source
	if src == nil {
		s.null(p + ".source")
		return
	}
	sp := p + ".source"
	s.union("DocumentSource", sp, keysDocSource, count(src.Bytes != nil, src.S3Location != nil, src.Text != nil, src.Content != nil))
	if src.Bytes != nil && len(src.Bytes) == 0 {
		s.failHidden(sp+".bytes", "Member must have length greater than or equal to 1")
	}
	if src.S3Location != nil {
		s.s3Location(src.S3Location, sp+".s3Location")
	}
	for k, c := range src.Content {
		s.union("DocumentContentBlock", sp+".content."+strconv.Itoa(k), "text", count(c.Text != nil))
	}
}

func (s *shapeCheck) toolResultContent(c *ToolResultContent, p string) {
	s.union("ToolResultContentBlock", p, keysToolResult, count(!isJSONNull(c.JSON), c.Text != nil,
		c.Image != nil, c.Document != nil, c.Video != nil, c.SearchResult != nil))
	if c.Image != nil {
		s.image(c.Image, p+".image")
	}
	if c.Document != nil {
		s.document(c.Document, p+".document")
	}
	if c.Video != nil {
		s.video(c.Video, p+".video")
	}
	if c.SearchResult != nil {
		s.searchResult(c.SearchResult, p+".searchResult")
	}
}

func (s *shapeCheck) guardContent(g *GuardContent, p string) {
	s.union("GuardrailConverseContentBlock", p, "text, image", count(g.Text != nil, g.Image != nil))
	if t := g.Text; t != nil {
		for k, q := range t.Qualifiers {
			s.requiredEnum(p+".text.qualifiers."+strconv.Itoa(k), q, enumQualifier)
		}
	}
	if im := g.Image; im != nil {
		s.requiredEnum(p+".image.format", im.Format, enumGuardFormat)
		if im.Source == nil {
			s.null(p + ".image.source")
		} else {
			// GuardrailConverseImageSource has bytes only; an s3Location
			// there is an unknown member, which Bedrock ignores.
			sp := p + ".image.source"
			if s.union("GuardrailConverseImageSource", sp, "bytes", count(im.Source.Bytes != nil)) && len(im.Source.Bytes) == 0 {
				s.failHidden(sp+".bytes", "Member must have length greater than or equal to 1")
			}
		}
	}
}

func (s *shapeCheck) cachePoint(c *CachePoint, p string) {
	s.requiredEnum(p+".type", c.Type, enumCacheType)
	s.enum(p+".ttl", c.TTL, enumCacheTTL)
}

func (s *shapeCheck) searchResult(r *SearchResult, p string) {
	if r.Content == nil {
		s.null(p + ".content")
	}
	for k, c := range r.Content {
		if c.Text == nil {
			s.null(p + ".content." + strconv.Itoa(k) + ".text")
		}
	}
}

func (s *shapeCheck) toolReference(b *ToolReferenceBox, p string) {
	t := b.Tool
	if t == nil {
		s.null(p + ".tool")
		return
	}
	// Empty strings are absent members, which these optional ones may be.
	if t.Type != "" {
		s.length(p+".tool.type", t.Type, 1, 64)
	}
	if t.Name != "" {
		s.length(p+".tool.name", t.Name, 1, 128)
	}
	if t.ServerName != "" {
		s.length(p+".tool.serverName", t.ServerName, 1, 128)
	}
}

func (s *shapeCheck) inference(c *InferenceConfig) {
	if c.MaxTokens != nil && *c.MaxTokens < 1 {
		s.fail(strconv.Itoa(*c.MaxTokens), "inferenceConfig.maxTokens", "Member must have value greater than or equal to 1")
	}
	s.unitFloat("inferenceConfig.temperature", c.Temperature)
	s.unitFloat("inferenceConfig.topP", c.TopP)
	if len(c.StopSequences) > 2500 {
		s.failHidden("inferenceConfig.stopSequences", "Member must have length less than or equal to 2500")
	}
	for i, v := range c.StopSequences {
		if v == "" {
			s.fail(v, "inferenceConfig.stopSequences."+strconv.Itoa(i), "Member must have length greater than or equal to 1")
		}
	}
}

// unitFloat checks a float member with range 0..1. Coral prints the value
// as Java prints a float ("1 validation error detected: Value '99.0' at
// 'inferenceConfig.temperature' failed to satisfy constraint: Member must
// have value less than or equal to 1").
func (s *shapeCheck) unitFloat(path string, v *float64) {
	switch {
	case v == nil:
	case *v < 0:
		s.fail(javaFloat(*v), path, "Member must have value greater than or equal to 0")
	case *v > 1:
		s.fail(javaFloat(*v), path, "Member must have value less than or equal to 1")
	}
}

func (s *shapeCheck) toolConfig(c *ToolConfig) {
	switch {
	case c.Tools == nil:
		s.null("toolConfig.tools")
	case len(c.Tools) == 0:
		s.fail("[]", "toolConfig.tools", "Member must have length greater than or equal to 1")
	}
	for i := range c.Tools {
		t := &c.Tools[i]
		p := "toolConfig.tools." + strconv.Itoa(i)
		s.union("Tool", p, "toolSpec, systemTool, cachePoint", count(t.ToolSpec != nil, t.SystemTool != nil, t.CachePoint != nil))
		if ts := t.ToolSpec; ts != nil {
			p := p + ".toolSpec"
			s.toolName(p+".name", ts.Name)
			if ts.Description != nil {
				s.length(p+".description", *ts.Description, 1, -1)
			}
			if ts.InputSchema == nil {
				s.null(p + ".inputSchema")
			} else if s.union("ToolInputSchema", p+".inputSchema", "json", count(!isJSONNull(ts.InputSchema.JSON))) {
				s.jsonObject(p+".inputSchema.json", ts.InputSchema.JSON)
			}
		}
		if t.SystemTool != nil {
			s.toolName(p+".systemTool.name", t.SystemTool.Name)
		}
		if t.CachePoint != nil {
			s.cachePoint(t.CachePoint, p+".cachePoint")
		}
	}
	if tc := c.ToolChoice; tc != nil {
		s.union("ToolChoice", "toolConfig.toolChoice", "auto, any, tool", count(tc.Auto != nil, tc.Any != nil, tc.Tool != nil))
		if tc.Tool != nil {
			s.toolName("toolConfig.toolChoice.tool.name", tc.Tool.Name)
		}
	}
}

// requestMetadata checks the map's size (1..16 entries) and, in key order,
// each key and value against their length and character set, worded as
// Coral words map constraints.
func (s *shapeCheck) requestMetadata(md map[string]string) {
	switch {
	case md == nil:
		return
	case len(md) < 1:
		s.failHidden("requestMetadata", "Member must have length greater than or equal to 1")
	case len(md) > 16:
		s.failHidden("requestMetadata", "Member must have length less than or equal to 16")
	}
	for _, k := range sortedKeys(md) {
		if c := metadataConstraints(k, 1, patMetadataKey); c != "" {
			s.fail(k, "requestMetadata", "Map keys must satisfy constraint: ["+c+"]")
		}
		if c := metadataConstraints(md[k], 0, patMetadataValue); c != "" {
			s.fail(md[k], "requestMetadata", "Map values must satisfy constraint: ["+c+"]")
		}
	}
}

func metadataConstraints(v string, lo int, pat string) string {
	var c []string
	n := javaLen(v)
	if n < lo {
		c = append(c, "Member must have length greater than or equal to "+strconv.Itoa(lo))
	}
	if n > 256 {
		c = append(c, "Member must have length less than or equal to 256")
	}
	if !allBytes(v, isMetadataByte) || n < lo || n > 256 {
		c = append(c, "Member must satisfy regular expression pattern: "+pat)
	}
	return strings.Join(c, ", ")
}
