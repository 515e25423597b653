package converse

// The rules of AWS's Converse guide: role order, content, where each block
// may stand, tool pairing, documents and images.

import (
	"slices"
	"strconv"
	"strings"
)

func checkRoleOrder(r *Request) string {
	if len(r.Messages) == 0 {
		if isPromptARN(r.ModelID) {
			return ""
		}
		return msgStartWithUser
	}
	if r.Messages[0].Role != RoleUser {
		return msgStartWithUser
	}
	prev := RoleUser
	for _, m := range r.Messages[1:] {
		if m.Role == RoleSystem {
			continue
		}
		if m.Role == prev {
			return msgAlternate
		}
		prev = m.Role
	}
	return ""
}

// checkContent rejects empty messages and blank text blocks, in message
// order, then blank system text. Blank is empty or only white space
// (langchain-aws #403: "\n\n" is blank).
func checkContent(r *Request) string {
	for i := range r.Messages {
		m := &r.Messages[i]
		if len(m.Content) == 0 {
			return "The content field in the Message object at messages." + strconv.Itoa(i) +
				" is empty. Add a ContentBlock object to the content field and try again."
		}
		for j := range m.Content {
			if t := m.Content[j].Text; t != nil && isBlank(*t) {
				return "The text field in the ContentBlock object at messages." + strconv.Itoa(i) + ".content." +
					strconv.Itoa(j) + " is blank. Add text to the text field, and try again."
			}
		}
	}
	for i := range r.System {
		if t := r.System[i].Text; t != nil && isBlank(*t) {
			return "The text field in the SystemContentBlock object at system." + strconv.Itoa(i) +
				" is blank. Add text to the text field, and try again."
		}
	}
	return ""
}

// checkPlacement enforces which role may carry which block: media only in
// user messages (AWS's Message.content documentation), toolUse only in
// assistant messages and toolResult only in user messages.
func checkPlacement(r *Request) string {
	for i := range r.Messages {
		m := &r.Messages[i]
		for j := range m.Content {
			b := &m.Content[j]
			kind := b.Kind()
			var want Role
			switch kind {
			case "image", "document", "video", "audio":
				if m.Role != RoleUser {
					return "The " + kind + " content block at messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j) +
						" isn't supported in a message with the " + string(m.Role) +
						" role. Image, document, video and audio content blocks can only be included in user messages."
				}
				continue
			case "toolUse":
				want = RoleAssistant
			case "toolResult":
				want = RoleUser
			default:
				continue
			}
			if m.Role != want {
				return "The " + kind + " content block at messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j) +
					" isn't supported in a message with the " + string(m.Role) + " role. " + kind +
					" content blocks can only be included in " + string(want) + " messages."
			}
		}
	}
	return ""
}

// checkTools enforces the tool rules: unique tool names, a declared
// toolChoice.tool, unique toolUse ids per turn, error results with content,
// and every toolResult answering a toolUse of the previous turn, with the
// messages Bedrock gives for the last three.
func checkTools(r *Request) string {
	if tc := r.ToolConfig; tc != nil {
		var names []string
		var dups []string
		for _, t := range tc.Tools {
			if t.ToolSpec == nil {
				continue
			}
			if slices.Contains(names, t.ToolSpec.Name) {
				if !slices.Contains(dups, t.ToolSpec.Name) {
					dups = append(dups, t.ToolSpec.Name)
				}
				continue
			}
			names = append(names, t.ToolSpec.Name)
		}
		if len(dups) > 0 {
			return "The tools at toolConfig.tools contain duplicate names: " + strings.Join(dups, ", ")
		}
		if tc.ToolChoice != nil && tc.ToolChoice.Tool != nil && !slices.Contains(names, tc.ToolChoice.Tool.Name) &&
			!declaresSystemTool(tc, tc.ToolChoice.Tool.Name) {
			return "The tool " + tc.ToolChoice.Tool.Name + " in toolConfig.toolChoice.tool isn't defined in toolConfig.tools." +
				" Define the tool in toolConfig.tools or choose a defined tool, and try again."
		}
	}
	var pending []string // toolUse ids of the previous assistant turn
	pendingAt := -1
	for i := range r.Messages {
		m := &r.Messages[i]
		at := "messages." + strconv.Itoa(i)
		switch m.Role {
		case RoleAssistant:
			pending = pending[:0]
			for j := range m.Content {
				t := m.Content[j].ToolUse
				if t == nil {
					continue
				}
				if slices.Contains(pending, t.ToolUseID) {
					// Seen live: runtime exception logs quoting Bedrock.
					return "The toolUse blocks at " + at + ".content contain duplicate Ids: " + t.ToolUseID
				}
				pending = append(pending, t.ToolUseID)
			}
			pendingAt = i
		case RoleUser:
			var answered []string
			for j := range m.Content {
				t := m.Content[j].ToolResult
				if t == nil {
					continue
				}
				if t.Status == "error" && len(t.Content) == 0 { // sample-multi-agent-orchestration-chat-on-agentcore #15
					return "The content field at " + at + ".content." + strconv.Itoa(j) +
						".toolResult cannot be empty when status value is error."
				}
				answered = append(answered, t.ToolUseID)
			}
			if pendingAt < 0 || pendingAt != previousTurn(r, i) {
				pending = pending[:0]
			}
			if len(answered) > len(pending) { // pydantic-ai #2327
				return "The number of toolResult blocks at " + at +
					".content exceeds the number of toolUse blocks of previous turn."
			}
			var missing []string
			for _, id := range pending {
				if !slices.Contains(answered, id) {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 { // langchain and litellm logs of ValidationException
				return "Expected toolResult blocks at " + at + ".content for the following Ids: " + strings.Join(missing, ", ")
			}
			pending = pending[:0]
			pendingAt = -1
		}
	}
	return ""
}

func declaresSystemTool(tc *ToolConfig, name string) bool {
	for _, t := range tc.Tools {
		if t.SystemTool != nil && t.SystemTool.Name == name {
			return true
		}
	}
	return false
}

// previousTurn is the index of the user or assistant message before
// message i, or -1.
func previousTurn(r *Request, i int) int {
	for k := i - 1; k >= 0; k-- {
		if r.Messages[k].Role != RoleSystem {
			return k
		}
	}
	return -1
}

// document is a document block found in the messages, with its path.
type documentAt struct {
	doc  *DocumentBlock
	path string
}

// checkDocuments applies the Converse guide's document rules: at most 5 per
// request (tool results included), names of the documented character set
// and unique, a text block beside each document of a message, and at most
// 4.5 MB each.
func checkDocuments(r *Request) string {
	var docs []documentAt
	for i := range r.Messages {
		m := &r.Messages[i]
		hasDoc, hasText := false, false
		for j := range m.Content {
			b := &m.Content[j]
			p := "messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j)
			if b.Text != nil {
				hasText = true
			}
			if b.Document != nil {
				hasDoc = true
				docs = append(docs, documentAt{b.Document, p + ".document"})
			}
			if b.ToolResult != nil {
				for k := range b.ToolResult.Content {
					if d := b.ToolResult.Content[k].Document; d != nil {
						docs = append(docs, documentAt{d, p + ".toolResult.content." + strconv.Itoa(k) + ".document"})
					}
				}
			}
		}
		if hasDoc && !hasText {
			return msgDocNeedsText
		}
	}
	if len(docs) > maxDocuments {
		return msgTooManyDocs
	}
	for k, d := range docs {
		if !isDocumentName(d.doc.Name) {
			return msgDocName
		}
		for _, e := range docs[:k] {
			if e.doc.Name == d.doc.Name {
				return msgDuplicateDocs
			}
		}
	}
	for _, d := range docs {
		if d.doc.Source != nil && len(d.doc.Source.Bytes) > maxDocumentBytes {
			return "The document at " + d.path + " exceeds the maximum document size of 4.5 MB." +
				" Reduce the document size and try again."
		}
	}
	return ""
}

// checkImages applies the Converse guide's image rules: at most 20 per
// request (tool results included); inline bytes at most 3.75 MB, a
// decodable image of the declared format, at most 8000 px a side.
func checkImages(r *Request) string {
	n := 0
	for i := range r.Messages {
		for j := range r.Messages[i].Content {
			b := &r.Messages[i].Content[j]
			if b.Image != nil {
				n++
			}
			if b.ToolResult != nil {
				for k := range b.ToolResult.Content {
					if b.ToolResult.Content[k].Image != nil {
						n++
					}
				}
			}
		}
	}
	if n > maxImages {
		return msgTooManyImages
	}
	for i := range r.Messages {
		for j := range r.Messages[i].Content {
			b := &r.Messages[i].Content[j]
			p := "messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j)
			if b.Image != nil {
				if msg := checkImage(b.Image, p+".image"); msg != "" {
					return msg
				}
			}
			if b.ToolResult == nil {
				continue
			}
			for k := range b.ToolResult.Content {
				if im := b.ToolResult.Content[k].Image; im != nil {
					if msg := checkImage(im, p+".toolResult.content."+strconv.Itoa(k)+".image"); msg != "" {
						return msg
					}
				}
			}
		}
	}
	return ""
}

func checkImage(im *ImageBlock, path string) string {
	if im.Source == nil || im.Source.Bytes == nil {
		return "" // an S3 object is not fetched here
	}
	if len(im.Source.Bytes) > maxImageBytes {
		return "The image at " + path + " exceeds the maximum image size of 3.75 MB. Reduce the image size and try again."
	}
	w, h, err := imageSize(im.Format, im.Source.Bytes)
	if err != nil {
		return "The image at " + path + " isn't a valid " + im.Format +
			" image. Check that the image bytes match the format field, and try again."
	}
	if w > maxImagePixels || h > maxImagePixels {
		return "The image at " + path + " is " + strconv.Itoa(w) + "x" + strconv.Itoa(h) +
			" pixels, which exceeds the maximum of 8000x8000 pixels. Resize the image and try again."
	}
	return ""
}
