package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gonja "github.com/nikolalohinski/gonja/v2/exec"

	"github.com/converse-project/converse"
)

// chatTemplateModels are the chat templates under testdata/chattemplate,
// written from the public models' tokenizer configs, with the BOS and EOS
// token texts those models ship.
var chatTemplateModels = []struct {
	dir      string
	bos, eos string
	tools    bool
}{
	{"smollm2", "<|im_start|>", "<|im_end|>", false},
	{"qwen2.5", "", "<|im_end|>", true},
	{"llama-3.1", "<|begin_of_text|>", "<|eot_id|>", true},
	{"mistral-v0.3", "<s>", "</s>", true},
	{"tinyllama-zephyr", "<s>", "</s>", false},
	{"gemma", "<bos>", "<eos>", false},
	{"generation-date", "<s>", "</s>", false},
}

// chatTemplateConversations are the fixed conversations every template
// renders (testdata/chattemplate/conversations/NAME.json).
var chatTemplateConversations = []string{"user", "system-user-assistant-user", "user-assistant-user", "prefill", "tool-round-trip"}

// chatTemplateNow is the clock the tests give strftime_now.
var chatTemplateNow = time.Date(2025, time.March, 9, 14, 5, 0, 0, time.UTC)

func loadChatTemplate(t testing.TB, dir, bos, eos string) *ChatTemplate {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "chattemplate", dir, "template.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewChatTemplate(string(src), bos, eos)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	c.Now = func() time.Time { return chatTemplateNow }
	return c
}

// TestChatTemplateGoldens renders every conversation with every template:
// NAME.prompt.txt holds the prompt, NAME.error.txt the ValidationException
// message (go test ./codec -update rewrites them).
func TestChatTemplateGoldens(t *testing.T) {
	for _, m := range chatTemplateModels {
		c := loadChatTemplate(t, m.dir, m.bos, m.eos)
		if c.SupportsTools() != m.tools {
			t.Errorf("%s: SupportsTools() = %v, want %v", m.dir, c.SupportsTools(), m.tools)
		}
		for _, conv := range chatTemplateConversations {
			t.Run(m.dir+"/"+conv, func(t *testing.T) {
				req := readRequest(t, filepath.Join("testdata", "chattemplate", "conversations", conv+".json"))
				prompt, err := c.Prompt(req)
				base := filepath.Join("testdata", "chattemplate", m.dir, conv)
				got, path, stale := []byte(prompt), base+".prompt.txt", base+".error.txt"
				if err != nil {
					var ce *converse.Error
					if !errors.As(err, &ce) || ce.Kind != converse.KindValidation {
						t.Fatalf("error %v is not a ValidationException", err)
					}
					got, path, stale = []byte(ce.Message+"\n"), stale, path
				}
				if *update {
					os.Remove(stale)
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, rerr := os.ReadFile(path)
				if rerr != nil {
					t.Fatalf("%v (got %q; go test ./codec -update writes it)", rerr, got)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs (go test ./codec -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
				}
			})
		}
	}
}

// TestChatTemplatePromptExpectations pins what the goldens must show, so
// that a golden rewritten with a wrong prompt cannot pass unnoticed.
func TestChatTemplatePromptExpectations(t *testing.T) {
	tests := []struct {
		name, dir, conv string
		want            string // the whole prompt, or with wantErr the error message
		wantErr         bool
	}{
		{"chatml adds its default system prompt and the generation prompt", "smollm2", "user",
			"<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n", false},
		{"zephyr relies on trim_blocks and lstrip_blocks", "tinyllama-zephyr", "system-user-assistant-user",
			"<|system|>\nYou are a terse geography tutor.</s>\n<|user|>\nCapital of France?</s>\n<|assistant|>\nParis.</s>\n<|user|>\nAnd Italy?</s>\n<|assistant|>\n", false},
		{"gemma raises on a system prompt", "gemma", "system-user-assistant-user", "System role not supported", true},
		{"a template without tools rejects tool use", "smollm2", "tool-round-trip", msgPromptNoToolUse, true},
		{"a prefill is continued, not closed", "qwen2.5", "prefill",
			"<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nList three colours as JSON.<|im_end|>\n<|im_start|>assistant\n[\"red\",", false},
		{"llama 3.1 puts the system prompt after its date header", "llama-3.1", "system-user-assistant-user",
			"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are a terse geography tutor.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd Italy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *ChatTemplate
			for _, m := range chatTemplateModels {
				if m.dir == tt.dir {
					c = loadChatTemplate(t, m.dir, m.bos, m.eos)
				}
			}
			got, err := c.Prompt(readRequest(t, filepath.Join("testdata", "chattemplate", "conversations", tt.conv+".json")))
			if tt.wantErr {
				var ce *converse.Error
				if !errors.As(err, &ce) || ce.Kind != converse.KindValidation || ce.Message != tt.want {
					t.Fatalf("error = %v, want ValidationException %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("prompt:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestChatTemplateToolRoundTrip checks the tool conversation's parts that
// depend on key order and json.dumps's exact output.
func TestChatTemplateToolRoundTrip(t *testing.T) {
	req := readRequest(t, filepath.Join("testdata", "chattemplate", "conversations", "tool-round-trip.json"))
	tests := []struct {
		name, dir string
		want      []string
	}{
		{"qwen prints tools with json.dumps separators in schema order", "qwen2.5", []string{
			`{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1.0}}, "required": ["city"]}}}`,
			"<|im_start|>assistant\nLet me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\", \"unit\": \"celsius\", \"days\": 1}}\n</tool_call><|im_end|>",
			"<|im_start|>user\n<tool_response>\n{\"temperature\":21.5,\"conditions\":\"sunny\",\"wind\":{\"speed\":12,\"dir\":\"NW\"}}\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
		}},
		{"llama 3.1 indents tools by four and quotes a string tool result", "llama-3.1", []string{
			"{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",",
			`{"name": "get_weather", "parameters": {"city": "Zürich", "unit": "celsius", "days": 1}}<|eot_id|>`,
			`<|start_header_id|>ipython<|end_header_id|>` + "\n\n" + `"{\"temperature\":21.5,\"conditions\":\"sunny\",\"wind\":{\"speed\":12,\"dir\":\"NW\"}}"<|eot_id|>`,
		}},
		{"mistral walks the function dict in order with items()", "mistral-v0.3", []string{
			`[AVAILABLE_TOOLS] [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.", "parameters": {"type": "object", `,
			`[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius", "days": 1}, "id": "abc123def"}]</s>`,
			`[TOOL_RESULTS] {"content": {"temperature":21.5,"conditions":"sunny","wind":{"speed":12,"dir":"NW"}}, "call_id": "abc123def"}[/TOOL_RESULTS]`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *ChatTemplate
			for _, m := range chatTemplateModels {
				if m.dir == tt.dir {
					c = loadChatTemplate(t, m.dir, m.bos, m.eos)
				}
			}
			got, err := c.Prompt(req)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("prompt lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestChatTemplateRequestBody(t *testing.T) {
	c := loadChatTemplate(t, "smollm2", "<|im_start|>", "<|im_end|>")
	req := readRequest(t, filepath.Join("testdata", "chattemplate", "conversations", "system-user-assistant-user.json"))
	req.InferenceConfig.StopSequences = []string{"END"}
	req.AdditionalModelRequestFields = json.RawMessage(`{"top_k": 40, "temperature": 0.7}`)
	body, err := c.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := c.Prompt(req)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	want := map[string]any{"prompt": prompt, "max_gen_len": 64.0, "temperature": 0.7, "top_p": 0.9, "top_k": 40.0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("body = %v\nwant   %v", got, want)
	}
}

// TestChatTemplateAnswers checks that answers and streams are read as
// Llama's, the stop sequence cut by the codec.
func TestChatTemplateAnswers(t *testing.T) {
	c := loadChatTemplate(t, "smollm2", "<|im_start|>", "<|im_end|>")
	req := &converse.Request{InferenceConfig: &converse.InferenceConfig{StopSequences: []string{"<|im_end|>"}}}
	resp, err := c.Response(req, []byte(`{"generation":"Rome.<|im_end|>junk","prompt_token_count":12,"generation_token_count":4,"stop_reason":"stop"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := *resp.Output.Message.Content[0].Text; got != "Rome." || resp.StopReason != converse.StopStopSequence || resp.Usage.InputTokens != 12 {
		t.Errorf("Response = %q, %s, %+v", got, resp.StopReason, resp.Usage)
	}
	evs, err := promptDecode(c.NewStream(req), [][]byte{
		[]byte(`{"generation":"Ro","prompt_token_count":12,"generation_token_count":1,"stop_reason":null}`),
		[]byte(`{"generation":"me.<|im_","generation_token_count":2,"stop_reason":null}`),
		[]byte(`{"generation":"end|>","generation_token_count":3,"stop_reason":"stop"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if text, reason := promptStreamText(evs); text != "Rome." || reason != converse.StopStopSequence {
		t.Errorf("stream = %q, %s", text, reason)
	}
}

func TestChatTemplateRejections(t *testing.T) {
	qwen := loadChatTemplate(t, "qwen2.5", "", "<|im_end|>")
	zephyr := loadChatTemplate(t, "tinyllama-zephyr", "<s>", "</s>")
	mistral := loadChatTemplate(t, "mistral-v0.3", "<s>", "</s>")
	user := func(blocks ...converse.Block) []converse.Message {
		return []converse.Message{{Role: converse.RoleUser, Content: blocks}}
	}
	spec := converse.Tool{ToolSpec: &converse.ToolSpec{Name: "f", InputSchema: &converse.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}
	tests := []struct {
		name string
		c    *ChatTemplate
		req  *converse.Request
		want string
	}{
		{"an image is rejected", qwen,
			&converse.Request{Messages: user(converse.TextBlock("Hi"), converse.Block{Image: &converse.ImageBlock{Format: "png", Source: &converse.MediaSource{Bytes: []byte{1}}}})},
			"This model doesn't support the image content block that you provided. Update the content block and try again."},
		{"a video is rejected", qwen,
			&converse.Request{Messages: user(converse.Block{Video: &converse.VideoBlock{Format: "mp4", Source: &converse.MediaSource{Bytes: []byte{1}}}})},
			"This model doesn't support the video content block that you provided. Update the content block and try again."},
		{"toolConfig for a template without tools is rejected", zephyr,
			&converse.Request{Messages: user(converse.TextBlock("Hi")), ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{spec}}},
			msgPromptNoToolUse},
		{"toolChoice any cannot be enforced by a template", qwen,
			&converse.Request{Messages: user(converse.TextBlock("Hi")), ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{spec}, ToolChoice: &converse.ToolChoice{Any: &converse.Empty{}}}},
			"This model doesn't support the toolConfig.toolChoice.any field. Remove toolConfig.toolChoice.any and try again."},
		{"a template's own check is the message", mistral,
			&converse.Request{Messages: []converse.Message{llamaTurn(converse.RoleUser, "Hi"), llamaTurn(converse.RoleUser, "Again")}},
			"After the optional system message, conversation roles must alternate user/assistant/user/assistant/..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Request(tt.req)
			var ce *converse.Error
			if !errors.As(err, &ce) || ce.Kind != converse.KindValidation || ce.Message != tt.want {
				t.Fatalf("error = %v, want ValidationException %q", err, tt.want)
			}
		})
	}
}

func TestNewChatTemplateRejectsBadTemplates(t *testing.T) {
	for _, src := range []string{"{% for m in messages %}", "{{ messages[0] }", "{% if %}{% endif %}"} {
		if _, err := NewChatTemplate(src, "", ""); err == nil {
			t.Errorf("NewChatTemplate(%q) succeeded", src)
		} else if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), src) {
			t.Errorf("error %q spans lines or quotes the template", err)
		}
	}
}

func TestChatTemplateSupportsTools(t *testing.T) {
	tests := []struct {
		name, src string
		want      bool
	}{
		{"reads tools", "{% if tools %}{{ tools | length }}{% endif %}", true},
		{"tools in the text only", "Use tools wisely. {{ messages[0].content }}", false},
		{"tools in a string literal only", "{{ 'tools' + messages[0].content }}", false},
		{"tools in a comment only", "{# tools #}{{ messages[0].content }}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewChatTemplate(tt.src, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if c.SupportsTools() != tt.want {
				t.Errorf("SupportsTools() = %v, want %v", c.SupportsTools(), tt.want)
			}
		})
	}
}

func TestChatTemplateDefaultDate(t *testing.T) {
	c, err := NewChatTemplate(`{{ strftime_now("%d %b %Y") }}`, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Prompt(&converse.Request{Messages: []converse.Message{llamaTurn(converse.RoleUser, "Hi")}})
	if err != nil || got != "26 Jul 2024" {
		t.Errorf("Prompt = %q, %v; want the fixed date 26 Jul 2024 without a clock", got, err)
	}
}

func TestStrftime(t *testing.T) {
	at := time.Date(2025, time.March, 9, 14, 5, 7, 0, time.UTC)
	tests := []struct{ format, want string }{
		{"%d %b %Y", "09 Mar 2025"},
		{"%A %B %e, %y", "Sunday March  9, 25"},
		{"%H:%M:%S %p %I", "14:05:07 PM 02"},
		{"%j %m %F %T", "068 03 2025-03-09 14:05:07"},
		{"100%% %Q", "100% %Q"},
		{"trailing %", "trailing %"},
	}
	for _, tt := range tests {
		if got := strftime(at, tt.format); got != tt.want {
			t.Errorf("strftime(%q) = %q, want %q", tt.format, got, tt.want)
		}
	}
}

func TestPyFloatRepr(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1, "1.0"}, {0.1, "0.1"}, {math.Copysign(0, -1), "-0.0"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
		{1.5e-5, "1.5e-05"}, {0.0001, "0.0001"}, {2.5e300, "2.5e+300"}, {123.456, "123.456"},
		{1e22, "1e+22"}, {5e-324, "5e-324"},
	}
	for _, tt := range tests {
		if got := pyFloatRepr(tt.f); got != tt.want {
			t.Errorf("pyFloatRepr(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

// TestChatTemplateConcurrentRenders renders from many goroutines at once
// (run with -race): one parsed template serves concurrent requests.
func TestChatTemplateConcurrentRenders(t *testing.T) {
	c := loadChatTemplate(t, "mistral-v0.3", "<s>", "</s>")
	req := readRequest(t, filepath.Join("testdata", "chattemplate", "conversations", "tool-round-trip.json"))
	want, err := c.Prompt(req)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if got, err := c.Prompt(req); err != nil || got != want {
					errs <- fmt.Sprintf("concurrent render gave %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// chatTemplateOracle renders with Python's Jinja2 configured as Hugging
// Face's apply_chat_template configures it (transformers
// utils/chat_template_utils.py: ImmutableSandboxedEnvironment with
// trim_blocks, lstrip_blocks, the AssistantTracker and loopcontrols
// extensions, tojson = json.dumps(ensure_ascii=False, …),
// raise_exception, strftime_now), and continue_final_message's cut. It
// reads a JSON list of cases on stdin and writes a JSON list of results.
const chatTemplateOracle = `
import datetime, json, sys
import jinja2, jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

class Raised(jinja2.exceptions.TemplateError):
    pass

class AssistantTracker(jinja2.ext.Extension):
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)
    def _generation_support(self, caller):
        return caller()

def render(case):
    now = datetime.datetime.fromisoformat(case["now"])
    def raise_exception(message):
        raise Raised(message)
    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    def strftime_now(format):
        return now.strftime(format)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    out = env.from_string(case["template"]).render(**case["vars"])
    if case["continue_final_message"]:
        final = case["vars"]["messages"][-1]["content"]
        try:
            out = out[: out.rindex(final) + len(final)]
        except ValueError:
            final = final.strip()
            out = out[: out.rindex(final) + len(final)]
    return out

results = []
for case in json.load(sys.stdin):
    try:
        results.append({"text": render(case)})
    except Raised as e:
        results.append({"raised": str(e)})
    except Exception as e:
        results.append({"error": type(e).__name__ + ": " + str(e)})
json.dump(results, sys.stdout)
`

type oracleCase struct {
	name   string
	c      *ChatTemplate
	msgs   chatList // the variables Go rendered with
	tools  chatList
	got    string // what Go rendered
	gotErr error
}

// runOracle renders the cases with Python's Jinja2, or skips the test
// when /usr/bin/python3 with jinja2 is not installed.
func runOracle(t *testing.T, cases []*oracleCase) []map[string]string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import jinja2").Run(); err != nil {
		t.Skipf("no Python Jinja2 oracle (%v): install python3-jinja2 (apt-get install -y python3-jinja2) to compare with Hugging Face's renderer", err)
	}
	script := filepath.Join(t.TempDir(), "oracle.py")
	if err := os.WriteFile(script, []byte(chatTemplateOracle), 0o644); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	in.WriteByte('[')
	for i, oc := range cases {
		if i > 0 {
			in.WriteByte(',')
		}
		msgs := oc.msgs
		if msgs == nil {
			msgs = chatList{}
		}
		var tools any
		if oc.tools != nil {
			tools = oc.tools
		}
		_, addGenOff := prefillText(msgs)
		vars := newDict("messages", msgs, "tools", tools, "bos_token", oc.c.bos, "eos_token", oc.c.eos, "add_generation_prompt", !addGenOff)
		w := pyJSON{itemSep: ", ", keySep: ": "}
		if err := w.value(gonja.AsValue(vars), 0); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&in, `{"template": %s, "now": %q, "continue_final_message": %t, "vars": %s}`,
			quoteJSON(oc.c.source), chatTemplateNow.Format("2006-01-02T15:04:05"), addGenOff, w.b.String())
	}
	in.WriteByte(']')
	cmd := exec.Command(python, script)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.Bytes())
	}
	var res []map[string]string
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("oracle output %s: %v", out, err)
	}
	return res
}

// TestChatTemplateMatchesJinja2 renders every template and conversation,
// and a set of tojson and dict-order probes, with both gonja and Python's
// Jinja2 in HF's configuration, and compares them byte for byte.
func TestChatTemplateMatchesJinja2(t *testing.T) {
	var cases []*oracleCase
	for _, m := range chatTemplateModels {
		c := loadChatTemplate(t, m.dir, m.bos, m.eos)
		for _, conv := range chatTemplateConversations {
			req := readRequest(t, filepath.Join("testdata", "chattemplate", "conversations", conv+".json"))
			msgs, tools, err := c.conversation(req)
			if err != nil {
				continue // rejected before rendering: nothing to compare
			}
			got, gotErr := c.Prompt(req)
			cases = append(cases, &oracleCase{name: m.dir + "/" + conv, c: c, msgs: msgs, tools: tools, got: got, gotErr: gotErr})
		}
	}
	probe, err := decodeOrdered([]byte(`{"z": 1, "a": [1.0, 0.1, 1e16, 1e15, 1.5e-5, 0.0001, 123456789012345678, -0.0, 2.5e300, 1e22, 100.0, 3.14159, -7],
		"m": {"ü": "Zürich \"q\" \\ / <tag> & ' \u0001 \u007f \n\t 😀 \u2028 é", "empty": {}, "list": [], "t": true, "f": false, "n": null},
		"b": {"y": 2, "x": 1, "y": 3}}`))
	if err != nil {
		t.Fatal(err)
	}
	probes := []struct{ name, src string }{
		{"tojson defaults", `{{ tools[0] | tojson }}`},
		{"tojson indent 2", `{{ tools[0] | tojson(indent=2) }}`},
		{"tojson indent 0", `{{ tools[0] | tojson(indent=0) }}`},
		{"tojson indent string", "{{ tools[0] | tojson(indent='\\t') }}"},
		{"tojson sort_keys", `{{ tools[0] | tojson(sort_keys=true) }}`},
		{"tojson separators", `{{ tools[0] | tojson(separators=(",", ":")) }}`},
		{"tojson ensure_ascii", `{{ tools[0] | tojson(ensure_ascii=true) }}`},
		{"tojson of a string and a template dict", `{{ "a\"b" | tojson }} {{ {"q": 1, "p": [1, 2], "o": none} | tojson }}`},
		{"items method order", `{% for k, v in tools[0].items() %}{{ k }};{% endfor %}`},
		{"items filter order", `{% for k, v in tools[0] | items %}{{ k }};{% endfor %}`},
		{"keys and values order", `{{ tools[0].keys() | join(",") }}|{{ tools[0].b.values() | join(",") }}`},
		{"iteration order", `{% for k in tools[0] %}{{ k }};{% endfor %}`},
		{"get with default", `{{ tools[0].get("z") }} {{ tools[0].get("nope", "dflt") }}`},
		{"length and membership", `{{ tools[0] | length }} {{ "m" in tools[0] }} {{ "q" in tools[0] }} {{ tools[0].m is mapping }}`},
		{"loop controls", `{% for x in tools[0].a %}{% if loop.index > 3 %}{% break %}{% endif %}{{ loop.index }}{% endfor %}`},
		{"reversed and sliced messages", `{% for m in messages[::-1] %}{{ m.role }},{% endfor %}{{ messages[1:] | length }}`},
		{"string methods", `{{ messages[0].content.split(" ")[0] }}|{{ "  x ".strip() }}|{{ "abc".startswith("a") }}|{{ "ab".upper() }}`},
		{"generation tags with whitespace control", "A\n  {%- generation -%}\n  B\n  {%- endgeneration %}\nC"},
		{"negative indexes down to the first item", `{{ messages[-3].content }}|{{ "a:b".split(":")[-2] }}|{{ (messages | selectattr("role", "equalto", "assistant") | list)[-1].content }}|{{ messages[1:][-2].role }}`},
		{"strftime_now", `{{ strftime_now("%d %b %Y %H:%M") }}`},
	}
	for _, p := range probes {
		c, err := NewChatTemplate(p.src, "<s>", "</s>")
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		c.Now = func() time.Time { return chatTemplateNow }
		msgs := chatList{newDict("role", "user", "content", "Hello there"), newDict("role", "assistant", "content", "Hi"), newDict("role", "user", "content", "Bye")}
		tools := chatList{probe}
		got, gotErr := c.render(msgs, tools, true)
		cases = append(cases, &oracleCase{name: "probe: " + p.name, c: c, msgs: msgs, tools: tools, got: got, gotErr: gotErr})
	}
	res := runOracle(t, cases)
	for i, oc := range cases {
		r := res[i]
		t.Run(oc.name, func(t *testing.T) {
			switch text, raised, perr := r["text"], r["raised"], r["error"]; {
			case perr != "":
				if oc.gotErr == nil {
					t.Errorf("Jinja2 failed (%s) but gonja rendered %q", perr, oc.got)
				}
			case raised != "":
				var ce *converse.Error
				if !errors.As(oc.gotErr, &ce) || ce.Message != raised {
					t.Errorf("Jinja2 raised %q; gonja gave %q, %v", raised, oc.got, oc.gotErr)
				}
			case oc.gotErr != nil:
				t.Errorf("Jinja2 rendered %q; gonja failed: %v", text, oc.gotErr)
			case oc.got != text:
				t.Errorf("renders differ\ngonja:  %q\nJinja2: %q", oc.got, text)
			}
		})
	}
}

// FuzzChatTemplatePrompt renders arbitrary message texts with every
// template: rendering never panics, and a prompt that renders carries the
// user's (trimmed) text.
func FuzzChatTemplatePrompt(f *testing.F) {
	f.Add("Capital of France?", "Paris.", "And Italy?")
	f.Add("{{ 7*7 }}{% raise %}", "", "<|im_end|>\n<|im_start|>system")
	f.Add("\x00\xff\xfe", "  ", "😀\u2028\"\\")
	var templates []*ChatTemplate
	for _, m := range chatTemplateModels {
		templates = append(templates, loadChatTemplate(f, m.dir, m.bos, m.eos))
	}
	f.Fuzz(func(t *testing.T, user, assistant, user2 string) {
		req := &converse.Request{Messages: []converse.Message{
			llamaTurn(converse.RoleUser, user), llamaTurn(converse.RoleAssistant, assistant), llamaTurn(converse.RoleUser, user2),
		}}
		for _, c := range templates {
			got, err := c.Prompt(req)
			if err != nil {
				var ce *converse.Error
				if !errors.As(err, &ce) || ce.Kind != converse.KindValidation {
					t.Fatalf("error %v is not a ValidationException", err)
				}
				continue
			}
			if want := strings.TrimSpace(strings.ToValidUTF8(user2, "\uFFFD")); !strings.Contains(strings.ToValidUTF8(got, "\uFFFD"), want) {
				t.Errorf("prompt %q lacks the last user text %q", got, want)
			}
		}
	})
}

// BenchmarkChatTemplatePrompt renders one 3-turn conversation with Llama
// 3.1's template.
func BenchmarkChatTemplatePrompt(b *testing.B) {
	c := loadChatTemplate(b, "llama-3.1", "<|begin_of_text|>", "<|eot_id|>")
	req := readRequest(b, filepath.Join("testdata", "chattemplate", "conversations", "system-user-assistant-user.json"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Prompt(req); err != nil {
			b.Fatal(err)
		}
	}
}
