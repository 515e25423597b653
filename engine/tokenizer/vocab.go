package tokenizer

// Token types, the values of the GGUF array tokenizer.ggml.token_type (llama.cpp's
// enum llama_token_type).
const (
	TypeUndefined   int32 = 0 // no type known; the token never renders
	TypeNormal      int32 = 1 // an ordinary piece of text
	TypeUnknown     int32 = 2 // the unknown token, e.g. "<unk>"
	TypeControl     int32 = 3 // a control token, e.g. "<s>", "</s>", "<|eot_id|>"
	TypeUserDefined int32 = 4 // a token added by the model's authors, matched before tokenizing
	TypeUnused      int32 = 5 // a reserved token that never renders
	TypeByte        int32 = 6 // a byte-fallback token "<0xXX>"
)

// NoToken marks a special token id as absent (llama.cpp's LLAMA_TOKEN_NULL).
const NoToken int32 = -1

// Vocab is a model's vocabulary exactly as its GGUF metadata stores it under tokenizer.ggml.*.
// Start from [Defaults] so that keys absent from the file keep llama.cpp's defaults, then
// overwrite each field whose key is present. New copies what it needs; the caller keeps
// ownership of the slices.
type Vocab struct {
	// Model is tokenizer.ggml.model: "llama" (SentencePiece-style BPE with scores) or "gpt2"
	// (byte-level BPE with merges). Other tokenizer models are rejected by New.
	Model string
	// Pre is tokenizer.ggml.pre, the pre-tokenizer of a "gpt2" model: "llama-bpe" (and its
	// aliases "llama3", "llama-v3", "dbrx", "smaug-bpe", …), "qwen2", "gpt-2", "smollm",
	// "starcoder", "default" or "" (llama.cpp's default regexes). Ignored for "llama".
	Pre string
	// Tokens is tokenizer.ggml.tokens: the text of each token, indexed by id. An empty entry
	// becomes "[EMPTY_<id>]", as in llama.cpp; a duplicate is an error.
	Tokens []string
	// Scores is tokenizer.ggml.scores: each token's merge priority for "llama" (higher merges
	// first). Nil means all zero. When set it must be at least as long as Tokens.
	Scores []float32
	// Types is tokenizer.ggml.token_type: each token's Type* value. Nil means all TypeNormal.
	// When set it must be at least as long as Tokens.
	Types []int32
	// Merges is tokenizer.ggml.merges: "left right" pairs for "gpt2", highest priority first.
	Merges []string
	// BOS is tokenizer.ggml.bos_token_id, or NoToken.
	BOS int32
	// EOS is tokenizer.ggml.eos_token_id, or NoToken.
	EOS int32
	// EOT is tokenizer.ggml.eot_token_id, or NoToken to find it by its text ("<|eot_id|>",
	// "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", …) as llama.cpp does.
	EOT int32
	// EOM is tokenizer.ggml.eom_token_id, or NoToken to find "<|eom_id|>" by its text.
	EOM int32
	// UNK is tokenizer.ggml.unknown_token_id, or NoToken.
	UNK int32
	// PAD is tokenizer.ggml.padding_token_id, or NoToken.
	PAD int32
	// AddBOS is tokenizer.ggml.add_bos_token: Encode with addSpecial prepends BOS.
	AddBOS bool
	// AddEOS is tokenizer.ggml.add_eos_token: Encode with addSpecial appends EOS.
	AddEOS bool
	// AddSpacePrefix is tokenizer.ggml.add_space_prefix: "llama" models prepend a space to the
	// text and to each run of text after a special token. Ignored for "gpt2".
	AddSpacePrefix bool
}

// Defaults returns the Vocab llama.cpp assumes for a model before it reads the optional keys
// (llama_vocab::impl::load): for "llama", BOS 1, EOS 2, UNK 0, AddBOS and AddSpacePrefix; for
// "gpt2", BOS and EOS 11 (sic), AddBOS only for the Llama 3 pre-tokenizers. Token lists are
// left empty.
func Defaults(model, pre string) Vocab {
	v := Vocab{Model: model, Pre: pre, BOS: NoToken, EOS: NoToken, EOT: NoToken, EOM: NoToken, UNK: NoToken, PAD: NoToken}
	switch model {
	case "llama":
		v.BOS, v.EOS, v.UNK = 1, 2, 0
		v.AddBOS, v.AddSpacePrefix = true, true
	case "gpt2":
		v.BOS, v.EOS = 11, 11
		if p, ok := preTokenizers[pre]; ok {
			v.AddBOS = p.addBOS
		}
	}
	return v
}

// attr is a token's attribute set, llama.cpp's llama_token_attr bits that tokenizing uses.
type attr uint8

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
)

// special reports whether a token is cut out of the text before tokenizing
// (llama.cpp's cache_special_tokens).
func (a attr) special() bool { return a&(attrControl|attrUserDefined|attrUnknown) != 0 }

// hidden reports whether a token renders as nothing unless special rendering is asked for.
func (a attr) hidden() bool { return a&(attrControl|attrUnknown) != 0 }

func attrOf(typ int32) attr {
	switch typ {
	case TypeNormal:
		return attrNormal
	case TypeUnknown:
		return attrUnknown
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeUnused:
		return attrUnused
	case TypeByte:
		return attrByte
	}
	return 0
}

// controlTexts are tokens llama.cpp promotes to control tokens by their text whatever their
// declared type, and whether each ends generation (the special_eog_ids heuristics of
// llama_vocab::impl::load; ref: https://github.com/ggml-org/llama.cpp/issues/9606).
var controlTexts = map[string]bool{
	"<|eot_id|>": true, "<|im_end|>": true, "<|end|>": true, "<end_of_turn>": true,
	"<|endoftext|>": true, "</s>": true, "<|eom_id|>": true, "<EOT>": true, "_<EOT>": true,
	"<|end_of_text|>": true, "<end_of_utterance>": true, "<eos>": true,
	// FIM pad, repo and file-separator tokens end generation too (Qwen2 coder vocabularies).
	"<|fim_pad|>": true, "<fim-pad>": true, "<fim_pad>": true, "<PAD>": true,
	"<|fim_repo|>": true, "<|repo_name|>": true, "<fim-repo>": true, "<REPO>": true, "<reponame>": true,
	"<|file_sep|>": true,
	// FIM prefix, suffix and middle are control tokens but do not end generation.
	"<|fim_prefix|>": false, "<fim-prefix>": false, "<fim_prefix>": false, "<PRE>": false, "▁<PRE>": false,
	"<|fim_suffix|>": false, "<fim-suffix>": false, "<fim_suffix>": false, "<SUF>": false, "▁<SUF>": false,
	"<|fim_middle|>": false, "<fim-middle>": false, "<fim_middle>": false, "<MID>": false, "▁<MID>": false,
}

// eotTexts are the texts llama.cpp accepts as the end-of-turn token when the file names none,
// in its order. llama.cpp takes whichever its hash map yields first; this package takes the
// earliest in this list, so Llama 3's "<|eot_id|>" wins over "<|end_of_text|>".
var eotTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
	"<EOT>", "_<EOT>", "<end_of_utterance>",
}
