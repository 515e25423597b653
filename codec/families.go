package codec

// byFamily is the one table from a catalog family key (catalog.Family*) to
// the codec that speaks its native format: one line per family.
var byFamily = map[string]Family{
	"ai21.j2":                   Jurassic2{},       // §4.2
	"ai21.jamba":                Jamba{},           // §4.1
	"amazon.titan-text":         Titan{},           // §4.3
	"anthropic.claude-text":     ClaudeText{},      // §4.4
	"anthropic.claude-messages": Claude{},          // §4.5
	"cohere.command":            CohereCommand{},   // §4.6
	"cohere.command-r":          CohereCommandR{},  // §4.7
	"meta.llama2":               Llama2{},          // §4.8
	"meta.llama3":               Llama3{},          // §4.9
	"mistral.instruct":          MistralInstruct{}, // §4.10
	"mistral.chat":              MistralChat{},     // §4.11
}

// For returns the codec of a model family (a catalog family key) with its
// default settings.
func For(family string) (Family, bool) {
	f, ok := byFamily[family]
	return f, ok
}
