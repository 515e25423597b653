package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/tokens"

	"github.com/converse-project/converse"
)

// ChatTemplate is the Family of a model outside the Bedrock families whose
// prompt format is the Jinja chat template it ships (a GGUF's
// tokenizer.chat_template, a Hugging Face tokenizer_config.json's
// chat_template). The conversation is rendered as Hugging Face's
// apply_chat_template renders it (go-dependencies.md need 7, sketch F), so
// the model sees the prompt it was trained on, byte for byte; the native
// body is Llama's {prompt, max_gen_len, temperature, top_p}, and answers
// and streams are read as Llama's, stop sequences cut by the codec.
//
// Build one with NewChatTemplate: the template is parsed once, there, and
// the value is then safe for concurrent use. Now may be set before the
// first use and never after.
type ChatTemplate struct {
	// Now is the clock behind the templates' strftime_now (Llama 3.2 and
	// later print today's date with it). Codecs read no clock, so nil means
	// the fixed day 26 Jul 2024, the default Llama 3.1's template itself
	// uses; whoever wants the real date sets time.Now.
	Now func() time.Time

	source   string
	bos, eos string
	tpl      *exec.Template
	tools    bool // the template reads the tools variable
}

var _ Family = (*ChatTemplate)(nil)

// chatTemplateName is the only name the template's loader knows: include,
// import and extends find nothing else, as in HF's from_string templates.
const chatTemplateName = "/chat_template"

// NewChatTemplate parses a chat template. bos and eos are the model's BOS
// and EOS token texts, passed to the template as bos_token and eos_token
// (HF passes the tokenizer's special tokens the same way). A template
// gonja cannot parse is an error here, at load time, rather than on the
// first request.
func NewChatTemplate(tmpl, bos, eos string) (*ChatTemplate, error) {
	src := stripGenerationTags(tmpl)
	cfg := config.New()
	// HF's ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).
	cfg.TrimBlocks, cfg.LeftStripBlocks = true, true
	loader, err := loaders.NewMemoryLoader(map[string]string{chatTemplateName: src})
	if err != nil {
		return nil, fmt.Errorf("codec: chat template: %w", err)
	}
	tpl, err := exec.NewTemplate(chatTemplateName, cfg, loader, chatEnvironment())
	if err != nil {
		// gonja quotes the whole source before the parser's own message.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, fmt.Errorf("codec: chat template: %s", firstLine(err.Error()))
	}
	return &ChatTemplate{source: tmpl, bos: bos, eos: eos, tpl: tpl, tools: readsTools(src, cfg)}, nil
}

// Source returns the template text NewChatTemplate was given.
func (c *ChatTemplate) Source() string { return c.source }

// SupportsTools reports whether the template renders tools: whether it
// reads the tools variable at all. A template that does not is never sent
// toolConfig, toolUse or toolResult: Request answers "This model doesn't
// support tool use." instead of dropping them.
func (c *ChatTemplate) SupportsTools() bool { return c.tools }

// generationTag matches HF's {% generation %} and {% endgeneration %}
// (AssistantTracker), which only mark assistant text for training masks.
var generationTag = regexp.MustCompile(`(\{%[-+]?\s*)(end)?generation(\s*[-+]?%\})`)

// stripGenerationTags turns {% generation %} … {% endgeneration %}, which
// gonja does not know, into {% if true %} … {% endif %}: the body renders
// as HF renders it, and the tags' whitespace control is kept.
func stripGenerationTags(src string) string {
	return generationTag.ReplaceAllStringFunc(src, func(m string) string {
		s := generationTag.FindStringSubmatch(m)
		if s[2] != "" {
			return s[1] + "endif" + s[3]
		}
		return s[1] + "if true" + s[3]
	})
}

// readsTools reports whether the template's code names the variable
// tools (not merely the word in its text or in a string literal).
func readsTools(src string, cfg *config.Config) bool {
	s := tokens.LexAll(src, cfg)
	for ; !s.End(); s.Next() {
		if tok := s.Current(); tok.Type == tokens.Name && tok.Val == "tools" {
			return true
		}
	}
	return false
}

// chatEnvironment is gonja's default environment made to render as HF's
// chat-template environment does (sketch F): tojson is json.dumps with
// ensure_ascii=False; dicts keep their key order in tojson, items(),
// keys(), values() and the items filter; lists index from the end as
// Python's do (chatList). raise_exception and strftime_now are set per
// render (see render). Each template gets its own environment: nothing of
// gonja's shared builtins is changed.
func chatEnvironment() *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	filters.Replace("tojson", filterPyToJSON)
	filters.Replace("items", filterOrderedItems)
	for _, name := range []string{"list", "sort", "dictsort", "groupby"} {
		if f, ok := builtins.Filters.Get(name); ok {
			filters.Replace(name, listFilter(f))
		}
	}
	methods := builtins.Methods
	// gonja's string methods (builtins/methods/str.go) copied into our
	// own set, to wrap the ones returning lists.
	str := map[string]exec.Method[string]{}
	for _, name := range []string{"capitalize", "capwords", "casefold", "center", "count", "encode", "endswith",
		"expandtabs", "find", "format", "format_map", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
		"islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip",
		"partition", "removeprefix", "removesuffix", "replace", "rfind", "rjust", "rpartition", "rsplit", "rstrip",
		"split", "splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill"} {
		if m, ok := builtins.Methods.Str.Get(name); ok {
			str[name] = m
		}
	}
	for _, name := range []string{"split", "rsplit", "splitlines", "partition", "rpartition"} {
		if m, ok := str[name]; ok {
			str[name] = func(self string, sv *exec.Value, args *exec.VarArgs) (any, error) {
				out, err := m(self, sv, args)
				return asChatList(out), err
			}
		}
	}
	methods.Str = exec.NewMethodSet(str)
	methods.Dict = exec.NewMethodSet(map[string]exec.Method[map[string]any]{
		"items":  dictItems,
		"keys":   dictKeys,
		"values": dictValues,
		"get":    dictGet,
		"copy":   dictCopy,
	})
	return &exec.Environment{
		Context:           exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables),
		Filters:           filters,
		Tests:             builtins.Tests,
		ControlStructures: builtins.ControlStructures,
		Methods:           methods,
	}
}

// chatList is a template list whose items can be indexed from the end
// down to the first: gonja's own lists answer x[-n] with None when n is
// the length (so messages[-1] of a one-message conversation is None), and
// Python does not. The lists we pass, the lists our dict methods return
// and the lists the list, sort, dictsort and groupby filters and the
// split-like string methods return are chatLists; slicing keeps the type.
type chatList []any

// GetItem implements gonja's ItemGetter with Python's indexing.
func (l chatList) GetItem(key any) (*exec.Value, bool) {
	i, ok := key.(int)
	if !ok {
		return exec.AsValue(nil), false
	}
	if i < 0 {
		i += len(l)
	}
	if i < 0 || i >= len(l) {
		return exec.AsValue(nil), false
	}
	return exec.ToValue(l[i]), true
}

// asChatList converts a slice or array to a chatList; anything else is
// returned as is.
func asChatList(v any) any {
	if val, ok := v.(*exec.Value); ok {
		if val.IsError() {
			return val
		}
		v = val.Interface()
	}
	switch l := v.(type) {
	case chatList:
		return l
	case []any:
		return chatList(l)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return v
	}
	out := make(chatList, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out
}

// listFilter wraps a filter so that the list it returns is a chatList.
func listFilter(f exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		out := f(e, in, params)
		if out.IsError() || !out.IsList() {
			return out
		}
		return exec.AsValue(asChatList(out))
	}
}

// Prompt renders req with the template, with the variables HF's
// apply_chat_template gives it: messages, tools, bos_token, eos_token and
// add_generation_prompt.
//
// messages are HF message dicts built from req (model-families.md §5.9,
// the same mapping as ToOpenAIChat):
//   - the system prompt is a leading {"role": "system", "content": …}, its
//     texts joined with "\n"; a mid-conversation system message stays in
//     place;
//   - a turn's content is its documents (framed by documentText) and then
//     its text blocks (guardContent and citation texts count, a
//     searchResult is framed like a document), joined with a blank line,
//     as the prompt families join them; cache points and reasoning are
//     skipped;
//   - toolUse blocks become the assistant message's tool_calls,
//     {"id", "type": "function", "function": {"name", "arguments"}} with
//     the arguments as a dict in their original key order; each
//     toolResult becomes a {"role": "tool", "tool_call_id", "name",
//     "content"} message placed before the rest of its user turn, its
//     content the result's texts joined with "\n" (json as compact JSON);
//   - toolConfig's tools are the tools variable, each
//     {"type": "function", "function": {"name", "description",
//     "parameters"}}; without toolConfig, tools is None.
//
// add_generation_prompt is true, unless the last message is an assistant
// turn: that turn is a prefill, and as HF's continue_final_message does,
// the prompt is rendered without the generation prompt and cut right after
// the prefill's text, so the model continues it.
//
// Images, video and audio get Bedrock's "doesn't support the … content
// block" ValidationException; tools, toolUse and toolResult, for a
// template that does not read tools, "This model doesn't support tool
// use."; toolChoice any or tool, which a prompt cannot enforce, the
// ValidationException Bedrock gives models without it. A template that
// calls raise_exception fails with a ValidationException carrying the
// template's message (Gemma's "System role not supported", for one), as
// does any other failure to render.
func (c *ChatTemplate) Prompt(req *converse.Request) (string, error) {
	msgs, tools, err := c.conversation(req)
	if err != nil {
		return "", err
	}
	final, prefill := prefillText(msgs)
	out, err := c.render(msgs, tools, !prefill)
	if err != nil || !prefill {
		return out, err
	}
	// Cut after the last occurrence of the final message's text, or of its
	// trimmed text for a template that trims.
	if i := strings.LastIndex(out, final); i >= 0 {
		return out[:i+len(final)], nil
	}
	if final = strings.TrimSpace(final); strings.Contains(out, final) {
		return out[:strings.LastIndex(out, final)+len(final)], nil
	}
	return "", converse.Errorf(converse.KindValidation, "The model's chat template does not render the final assistant message's text, so it can't be continued. Remove the final assistant message and try again.")
}

// prefillText returns the text of a final assistant turn without tool
// calls: a prefill, rendered as HF's continue_final_message renders it.
func prefillText(msgs chatList) (string, bool) {
	if len(msgs) == 0 {
		return "", false
	}
	last := msgs[len(msgs)-1].(*exec.Dict)
	if dictString(last, "role") != "assistant" || dictHas(last, "tool_calls") {
		return "", false
	}
	return dictString(last, "content"), true
}

// render executes the template once. raise_exception records its message
// so that the ValidationException carries exactly the template's words,
// however gonja wraps the error; a panic inside the interpreter (a
// template that trips a gonja bug) is a render failure, not a crash.
func (c *ChatTemplate) render(msgs, tools chatList, addGen bool) (out string, err error) {
	var raised *string
	raise := func(args *exec.VarArgs) (*exec.Value, error) {
		msg := ""
		if len(args.Args) > 0 {
			msg = args.Args[0].String()
		}
		if raised == nil {
			raised = &msg
		}
		return nil, errors.New(msg)
	}
	now := c.Now
	if now == nil {
		now = func() time.Time { return time.Date(2024, time.July, 26, 0, 0, 0, 0, time.UTC) }
	}
	strftimeNow := func(format string) string { return strftime(now(), format) }
	var toolsVar any
	if tools != nil {
		toolsVar = tools
	}
	data := exec.NewContext(map[string]any{
		"messages":              msgs,
		"tools":                 toolsVar,
		"bos_token":             c.bos,
		"eos_token":             c.eos,
		"add_generation_prompt": addGen,
		"raise_exception":       raise,
		"strftime_now":          strftimeNow,
	})
	defer func() {
		if p := recover(); p != nil {
			out, err = "", converse.Errorf(converse.KindValidation, "The model's chat template can't render this conversation: %v.", p)
		}
	}()
	out, err = c.tpl.ExecuteToString(data)
	switch {
	case raised != nil:
		return "", converse.Errorf(converse.KindValidation, "%s", *raised)
	case err != nil:
		return "", converse.Errorf(converse.KindValidation, "The model's chat template can't render this conversation: %s.", strings.TrimSuffix(firstLine(err.Error()), "."))
	}
	return out, nil
}

// firstLine keeps an error message to one line: gonja's parse errors
// quote the whole template source.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Request builds the native body: {prompt, max_gen_len, temperature,
// top_p} with the prompt rendered by Prompt; stop sequences stay with the
// codec, additionalModelRequestFields are merged in.
func (c *ChatTemplate) Request(req *converse.Request) ([]byte, error) {
	prompt, err := c.Prompt(req)
	if err != nil {
		return nil, err
	}
	return llamaBody(req, prompt)
}

// Response reads a Llama-shaped answer; see llamaResponse.
func (c *ChatTemplate) Response(req *converse.Request, body []byte) (*converse.Response, error) {
	return llamaResponse(req, body)
}

// NewStream decodes Llama-shaped stream chunks, cutting stop sequences;
// see llamaChunk.
func (c *ChatTemplate) NewStream(req *converse.Request) ChunkDecoder {
	return newPromptStream(req, llamaStops(req), llamaChunk)
}

// msgNoToolChoice is Bedrock's answer to a toolChoice kind a model lacks
// (model-families.md §3.3).
const msgNoToolChoice = "This model doesn't support the toolConfig.toolChoice.%s field. Remove toolConfig.toolChoice.%s and try again."

// conversation builds the template's messages and tools from req; see
// Prompt. tools is nil without toolConfig.
func (c *ChatTemplate) conversation(req *converse.Request) (msgs, tools chatList, err error) {
	msgs = chatList{}
	if tc := req.ToolConfig; tc != nil {
		if !c.tools {
			return nil, nil, converse.Errorf(converse.KindValidation, msgPromptNoToolUse)
		}
		if tools, err = chatTools(tc); err != nil {
			return nil, nil, err
		}
	}
	sys, err := systemText(req.System)
	if err != nil {
		return nil, nil, err
	}
	if sys != "" {
		msgs = append(msgs, newDict("role", "system", "content", sys))
	}
	names := map[string]string{} // toolUseId → tool name, for tool messages
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role != converse.RoleUser && m.Role != converse.RoleAssistant && m.Role != converse.RoleSystem {
			return nil, nil, converse.Errorf(converse.KindValidation, "The role at messages.%d.role isn't supported. Use user or assistant and try again.", i)
		}
		var docs, parts []string
		var calls chatList
		results := false
		for j := range m.Content {
			b, at := &m.Content[j], fmt.Sprintf("messages.%d.content.%d", i, j)
			switch {
			case b.Text != nil:
				parts = append(parts, *b.Text)
			case b.GuardContent != nil && b.GuardContent.Text != nil:
				parts = append(parts, b.GuardContent.Text.Text)
			case b.GuardContent != nil:
				return nil, nil, unsupportedBlock("image")
			case b.Document != nil:
				s, err := documentText(b.Document, at+".document")
				if err != nil {
					return nil, nil, err
				}
				docs = append(docs, s)
			case b.SearchResult != nil:
				parts = append(parts, searchResultText(b.SearchResult))
			case b.CitationsContent != nil:
				for _, cc := range b.CitationsContent.Content {
					if cc.Text != nil {
						parts = append(parts, *cc.Text)
					}
				}
			case b.ToolUse != nil:
				if !c.tools {
					return nil, nil, converse.Errorf(converse.KindValidation, msgPromptNoToolUse)
				}
				args := any(newDict())
				if in := b.ToolUse.Input; len(in) > 0 && string(in) != "null" {
					if args, err = decodeOrdered(in); err != nil {
						return nil, nil, converse.Errorf(converse.KindValidation, "The input field at %s.toolUse.input is not valid JSON.", at)
					}
				}
				names[b.ToolUse.ToolUseID] = b.ToolUse.Name
				calls = append(calls, newDict("id", b.ToolUse.ToolUseID, "type", "function",
					"function", newDict("name", b.ToolUse.Name, "arguments", args)))
			case b.ToolResult != nil:
				if !c.tools {
					return nil, nil, converse.Errorf(converse.KindValidation, msgPromptNoToolUse)
				}
				results = true
				tm, err := toolMessage(b.ToolResult, at+".toolResult")
				if err != nil {
					return nil, nil, err
				}
				d := newDict("role", "tool", "tool_call_id", b.ToolResult.ToolUseID)
				if name, ok := names[b.ToolResult.ToolUseID]; ok {
					d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue("name"), Value: exec.AsValue(name)})
				}
				d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue("content"), Value: exec.AsValue(tm.Content[0].Text)})
				msgs = append(msgs, d)
			case b.ToolAddition != nil, b.ToolRemoval != nil:
				return nil, nil, unsupportedBlock(b.Kind())
			case b.CachePoint != nil, b.ReasoningContent != nil:
				// Nothing a text prompt can carry (see promptConversation).
			default:
				return nil, nil, unsupportedBlock(b.Kind())
			}
		}
		text := strings.Join(append(docs, parts...), promptPartSep)
		if len(calls) > 0 {
			d := newDict("role", string(m.Role))
			if text != "" {
				d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue("content"), Value: exec.AsValue(text)})
			}
			d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue("tool_calls"), Value: exec.AsValue(calls)})
			msgs = append(msgs, d)
			continue
		}
		if !results || len(docs)+len(parts) > 0 {
			// A turn of tool results alone is carried by its tool messages.
			msgs = append(msgs, newDict("role", string(m.Role), "content", text))
		}
	}
	return msgs, tools, nil
}

// chatTools is the tools variable as HF passes OpenAI-style tool schemas.
func chatTools(tc *converse.ToolConfig) (chatList, error) {
	switch ch := tc.ToolChoice; {
	case ch == nil, ch.Auto != nil:
	case ch.Any != nil:
		return nil, converse.Errorf(converse.KindValidation, msgNoToolChoice, "any", "any")
	case ch.Tool != nil:
		return nil, converse.Errorf(converse.KindValidation, msgNoToolChoice, "tool", "tool")
	}
	tools := chatList{}
	for i, t := range tc.Tools {
		switch {
		case t.ToolSpec != nil:
			f := newDict("name", t.ToolSpec.Name)
			if d := t.ToolSpec.Description; d != nil {
				f.Pairs = append(f.Pairs, &exec.Pair{Key: exec.AsValue("description"), Value: exec.AsValue(*d)})
			}
			params := any(newDict())
			if s := t.ToolSpec.InputSchema; s != nil && len(s.JSON) > 0 {
				var err error
				if params, err = decodeOrdered(s.JSON); err != nil {
					return nil, converse.Errorf(converse.KindValidation, "The JSON schema at toolConfig.tools.%d.toolSpec.inputSchema.json is not valid JSON.", i)
				}
			}
			f.Pairs = append(f.Pairs, &exec.Pair{Key: exec.AsValue("parameters"), Value: exec.AsValue(params)})
			tools = append(tools, newDict("type", "function", "function", f))
		case t.SystemTool != nil:
			return nil, converse.Errorf(converse.KindValidation, "This model doesn't support the toolConfig.tools.%d.systemTool field. Remove toolConfig.tools.%d.systemTool and try again.", i, i)
		}
	}
	return tools, nil
}

// newDict is an ordered template dict (gonja's own type for dict
// literals) from key, value, key, value, …: Python dicts keep insertion
// order, and templates print them in that order.
func newDict(kv ...any) *exec.Dict {
	d := &exec.Dict{Pairs: make([]*exec.Pair, 0, len(kv)/2)}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue(kv[i]), Value: exec.AsValue(kv[i+1])})
	}
	return d
}

func dictString(d *exec.Dict, key string) string {
	for _, p := range d.Pairs {
		if p.Key.String() == key {
			return p.Value.String()
		}
	}
	return ""
}

func dictHas(d *exec.Dict, key string) bool {
	for _, p := range d.Pairs {
		if p.Key.String() == key {
			return true
		}
	}
	return false
}

// decodeOrdered decodes JSON as Python's json.loads does, keeping each
// object's key order: objects become *exec.Dict (a repeated key keeps its
// first place and its last value), integers int, other numbers float64.
func decodeOrdered(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("codec: trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := newDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				if p := dictPair(d, key); p != nil {
					p.Value = exec.AsValue(v)
				} else {
					d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue(key), Value: exec.AsValue(v)})
				}
			}
			_, err := dec.Token() // '}'
			return d, err
		case '[':
			list := chatList{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token() // ']'
			return list, err
		}
		return nil, fmt.Errorf("codec: unexpected %v in JSON", t)
	case json.Number:
		s := t.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n == int64(int(n)) {
				return int(n), nil
			}
		}
		f, _ := strconv.ParseFloat(s, 64) // out of range gives ±Inf, as in Python
		return f, nil
	}
	return tok, nil // string, bool or nil
}

func dictPair(d *exec.Dict, key string) *exec.Pair {
	for _, p := range d.Pairs {
		if p.Key.IsString() && p.Key.String() == key {
			return p
		}
	}
	return nil
}

// orderedPairs returns a template dict's pairs in Python's order: the
// insertion order of gonja's Dict (our values and the template's own dict
// literals), sorted keys for a plain Go map, whose order is lost.
func orderedPairs(v *exec.Value) []*exec.Pair {
	if d, ok := v.Interface().(*exec.Dict); ok {
		return d.Pairs
	}
	if d, ok := v.Interface().(exec.Dict); ok {
		return d.Pairs
	}
	var out []*exec.Pair
	for _, k := range v.Keys() {
		val, _ := v.GetItem(k.Interface())
		out = append(out, &exec.Pair{Key: k, Value: val})
	}
	return out
}

// The dict methods a chat template may call, in Python's order. HF renders
// in an immutable sandbox, so the mutating methods (pop, update,
// setdefault, clear) are left out: calling one fails the render, as it
// raises SecurityError there.
func dictItems(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
	if err := args.Take(); err != nil {
		return nil, exec.ErrInvalidCall(err)
	}
	items := chatList{}
	for _, p := range orderedPairs(self) {
		items = append(items, chatList{p.Key, p.Value})
	}
	return items, nil
}

func dictKeys(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
	if err := args.Take(); err != nil {
		return nil, exec.ErrInvalidCall(err)
	}
	keys := chatList{}
	for _, p := range orderedPairs(self) {
		keys = append(keys, p.Key)
	}
	return keys, nil
}

func dictValues(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
	if err := args.Take(); err != nil {
		return nil, exec.ErrInvalidCall(err)
	}
	values := chatList{}
	for _, p := range orderedPairs(self) {
		values = append(values, p.Value)
	}
	return values, nil
}

func dictGet(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
	if len(args.Args) < 1 || len(args.Args) > 2 {
		return nil, exec.ErrInvalidCall(errors.New("get() takes 1 or 2 positional arguments"))
	}
	for _, p := range orderedPairs(self) {
		if p.Key.EqualValueTo(args.Args[0]) {
			return p.Value.Interface(), nil
		}
	}
	if len(args.Args) == 2 {
		return args.Args[1].Interface(), nil
	}
	return nil, nil
}

func dictCopy(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
	if err := args.Take(); err != nil {
		return nil, exec.ErrInvalidCall(err)
	}
	pairs := orderedPairs(self)
	return &exec.Dict{Pairs: append([]*exec.Pair(nil), pairs...)}, nil
}

// filterOrderedItems is Jinja's items filter (3.1) in the dict's order.
func filterOrderedItems(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if in.IsNil() {
		return exec.AsValue(chatList{})
	}
	if !in.IsDict() {
		return exec.AsValue(errors.New("items requires a mapping"))
	}
	items, err := dictItems(nil, in, params)
	if err != nil {
		return exec.AsValue(err)
	}
	return exec.AsValue(items)
}

// filterPyToJSON is HF's tojson: json.dumps(x, ensure_ascii=False,
// indent=None, separators=None, sort_keys=False), byte for byte; its
// arguments may be given by keyword or by position, in that order.
func filterPyToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	names := []string{"ensure_ascii", "indent", "separators", "sort_keys"}
	arg := map[string]*exec.Value{}
	if len(params.Args) > len(names) {
		return exec.AsValue(fmt.Errorf("tojson() takes at most %d arguments", len(names)))
	}
	for i, a := range params.Args {
		arg[names[i]] = a
	}
	for k, v := range params.KwArgs {
		arg[k] = v
	}
	w := pyJSON{itemSep: ", ", keySep: ": "}
	for k, v := range arg {
		switch k {
		case "ensure_ascii":
			w.ascii = v.IsTrue()
		case "sort_keys":
			w.sortKeys = v.IsTrue()
		case "indent":
			switch {
			case v.IsNil():
			case v.IsInteger():
				w.indent, w.indented = strings.Repeat(" ", max(v.Integer(), 0)), true
			case v.IsString():
				w.indent, w.indented = v.String(), true
			default:
				return exec.AsValue(fmt.Errorf("tojson: indent must be an integer or a string"))
			}
		case "separators":
		default:
			return exec.AsValue(fmt.Errorf("tojson() got an unexpected keyword argument '%s'", k))
		}
	}
	if w.indented {
		w.itemSep = "," // json.dumps's default when indent is set
	}
	if v, ok := arg["separators"]; ok && !v.IsNil() {
		if !v.IsList() || v.Len() != 2 {
			return exec.AsValue(errors.New("tojson: separators must be a pair of strings"))
		}
		w.itemSep, w.keySep = v.Index(0).String(), v.Index(1).String()
	}
	if err := w.value(in, 0); err != nil {
		return exec.AsValue(err)
	}
	return exec.AsValue(w.b.String())
}

// pyJSON writes values as Python's json.dumps does.
type pyJSON struct {
	b               strings.Builder
	ascii, sortKeys bool
	indented        bool
	indent          string
	itemSep, keySep string
}

// maxJSONDepth stops a self-referencing value (Python: "Circular reference
// detected").
const maxJSONDepth = 512

func (w *pyJSON) newline(depth int) {
	if w.indented {
		w.b.WriteByte('\n')
		for range depth {
			w.b.WriteString(w.indent)
		}
	}
}

func (w *pyJSON) value(v *exec.Value, depth int) error {
	if depth > maxJSONDepth {
		return errors.New("tojson: circular reference detected")
	}
	switch {
	case v.IsNil():
		w.b.WriteString("null")
	case v.IsBool():
		if v.Bool() {
			w.b.WriteString("true")
		} else {
			w.b.WriteString("false")
		}
	case v.IsInteger():
		w.b.WriteString(strconv.Itoa(v.Integer()))
	case v.IsFloat():
		w.b.WriteString(pyFloatJSON(v.Float()))
	case v.IsString():
		w.str(v.String())
	case v.IsList():
		n := v.Len()
		if n == 0 {
			w.b.WriteString("[]")
			return nil
		}
		w.b.WriteByte('[')
		for i := range n {
			if i > 0 {
				w.b.WriteString(w.itemSep)
			}
			w.newline(depth + 1)
			if err := w.value(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		w.newline(depth)
		w.b.WriteByte(']')
	case v.IsDict():
		pairs := orderedPairs(v)
		if len(pairs) == 0 {
			w.b.WriteString("{}")
			return nil
		}
		type kv struct {
			k string
			v *exec.Value
		}
		items := make([]kv, 0, len(pairs))
		for _, p := range pairs {
			k, err := pyJSONKey(p.Key)
			if err != nil {
				return err
			}
			items = append(items, kv{k, p.Value})
		}
		if w.sortKeys {
			sort.SliceStable(items, func(i, j int) bool { return items[i].k < items[j].k })
		}
		w.b.WriteByte('{')
		for i, it := range items {
			if i > 0 {
				w.b.WriteString(w.itemSep)
			}
			w.newline(depth + 1)
			w.str(it.k)
			w.b.WriteString(w.keySep)
			if err := w.value(it.v, depth+1); err != nil {
				return err
			}
		}
		w.newline(depth)
		w.b.WriteByte('}')
	default:
		return fmt.Errorf("tojson: object of type %T is not JSON serializable", v.Interface())
	}
	return nil
}

// pyJSONKey converts a dict key as json.dumps does: str as is; int, float,
// bool and None to their JSON text.
func pyJSONKey(k *exec.Value) (string, error) {
	switch {
	case k.IsString():
		return k.String(), nil
	case k.IsNil():
		return "null", nil
	case k.IsBool():
		if k.Bool() {
			return "true", nil
		}
		return "false", nil
	case k.IsInteger():
		return strconv.Itoa(k.Integer()), nil
	case k.IsFloat():
		return pyFloatJSON(k.Float()), nil
	}
	return "", fmt.Errorf("tojson: keys must be str, int, float, bool or None, not %T", k.Interface())
}

// str writes a JSON string as json.dumps escapes it: ", \ and the C0
// controls (\n \r \t \b \f by name, the rest as \u00XX); everything else
// as is, or, with ensure_ascii, everything outside ' '…'~' as \uXXXX
// escapes (UTF-16 surrogate pairs beyond the BMP).
func (w *pyJSON) str(s string) {
	const hex = "0123456789abcdef"
	w.b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			w.b.WriteString(`\"`)
		case r == '\\':
			w.b.WriteString(`\\`)
		case r == '\n':
			w.b.WriteString(`\n`)
		case r == '\r':
			w.b.WriteString(`\r`)
		case r == '\t':
			w.b.WriteString(`\t`)
		case r == '\b':
			w.b.WriteString(`\b`)
		case r == '\f':
			w.b.WriteString(`\f`)
		case r < 0x20, w.ascii && r > 0x7e:
			units := []uint16{uint16(r)}
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				units = []uint16{uint16(r1), uint16(r2)}
			}
			for _, u := range units {
				w.b.WriteString(`\u`)
				w.b.WriteByte(hex[u>>12&0xf])
				w.b.WriteByte(hex[u>>8&0xf])
				w.b.WriteByte(hex[u>>4&0xf])
				w.b.WriteByte(hex[u&0xf])
			}
		default:
			w.b.WriteRune(r)
		}
	}
	w.b.WriteByte('"')
}

// pyFloatJSON is float.__repr__ as json.dumps writes it: the shortest
// digits that round-trip, positional for exponents -4 to 15 (always with
// a fractional part), else d.ddde±XX; NaN and Infinity by name.
func pyFloatJSON(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return pyFloatRepr(f)
}

func pyFloatRepr(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64) // "-d.ddde±XX"
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if exp < -4 || exp >= 16 {
		b.WriteByte(digits[0])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		if exp < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(exp))
		return b.String()
	}
	switch {
	case exp < 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -exp-1))
		b.WriteString(digits)
	case exp+1 >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", exp+1-len(digits)))
		b.WriteString(".0")
	default:
		b.WriteString(digits[:exp+1])
		b.WriteByte('.')
		b.WriteString(digits[exp+1:])
	}
	return b.String()
}

// strftime formats t as C's strftime does for the directives chat
// templates use (%d %b %Y and their neighbours, in the C locale); an
// unknown directive is written as is.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'Z':
			name, _ := t.Zone()
			b.WriteString(name)
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
