package local

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/llama"
	"github.com/converse-project/converse/engine/tokenizer"
	"github.com/converse-project/converse/transport"
	"github.com/converse-project/converse/transport/textgen"
)

// MsgInputTooLong is Bedrock's message for a prompt longer than the model's
// context (wire-protocol.md §5.4, "Input is too long for requested model.").
const MsgInputTooLong = "Input is too long for requested model."

// Options tune an Engine; the zero value is the default.
type Options struct {
	// Slots is how many sequences run at once, each with its own KV cache
	// (0: 1). Further requests wait for a free slot.
	Slots int
	// Context is each slot's context length in tokens (0: the model's own,
	// at most DefaultContext).
	Context int
	// Threads is how many goroutines each matrix-vector product uses (0:
	// GOMAXPROCS).
	Threads int
}

// DefaultContext bounds the context of a slot when Options.Context is 0:
// the KV cache of a model's full context (128K for Llama 3.1) would take
// gigabytes per slot.
const DefaultContext = 4096

// Engine is one GGUF model loaded for generation. It is safe for
// concurrent use.
type Engine struct {
	file  *gguf.File
	model *llama.Model
	tok   *tokenizer.Tokenizer
	slots chan *llama.State
	ctx   int
	// Template is the model's own chat template (tokenizer.chat_template),
	// or "" when the file has none.
	Template string
}

// Open memory-maps the GGUF file at path and readies its model.
func Open(path string, o Options) (*Engine, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	e, err := newEngine(f, o)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("local: %s: %w", path, err)
	}
	return e, nil
}

func newEngine(f *gguf.File, o Options) (*Engine, error) {
	m, err := llama.New(f, llama.Options{Threads: o.Threads})
	if err != nil {
		return nil, err
	}
	v, err := vocabFrom(f)
	if err != nil {
		m.Close()
		return nil, err
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		m.Close()
		return nil, err
	}
	ctx := o.Context
	if ctx <= 0 {
		ctx = min(cmpOr(m.Config.ContextLength, DefaultContext), DefaultContext)
	}
	slots := max(o.Slots, 1)
	e := &Engine{file: f, model: m, tok: tok, slots: make(chan *llama.State, slots), ctx: ctx}
	e.Template, _ = f.String("tokenizer.chat_template")
	for range slots {
		e.slots <- m.NewState(ctx)
	}
	return e, nil
}

func cmpOr(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

// Close stops the model's workers and releases the model file. No
// generation may run any more.
func (e *Engine) Close() error {
	e.model.Close()
	return e.file.Close()
}

// vocabFrom reads the tokenizer.ggml.* metadata into a tokenizer.Vocab,
// starting from llama.cpp's defaults for the keys a file leaves out.
func vocabFrom(f *gguf.File) (tokenizer.Vocab, error) {
	model, _ := f.String("tokenizer.ggml.model")
	pre, _ := f.String("tokenizer.ggml.pre")
	v := tokenizer.Defaults(model, pre)
	var ok bool
	if v.Tokens, ok = f.Strings("tokenizer.ggml.tokens"); !ok {
		return v, errors.New("metadata tokenizer.ggml.tokens missing")
	}
	if x, ok := f.Value("tokenizer.ggml.scores"); ok {
		v.Scores, _ = x.([]float32)
	}
	if x, ok := f.Value("tokenizer.ggml.token_type"); ok {
		v.Types, _ = x.([]int32)
	}
	v.Merges, _ = f.Strings("tokenizer.ggml.merges")
	for key, dst := range map[string]*int32{
		"bos_token_id": &v.BOS, "eos_token_id": &v.EOS, "eot_token_id": &v.EOT, "eom_token_id": &v.EOM,
		"unknown_token_id": &v.UNK, "padding_token_id": &v.PAD,
	} {
		if id, ok := f.Uint("tokenizer.ggml." + key); ok && id < uint64(len(v.Tokens)) {
			*dst = int32(id)
		}
	}
	for key, dst := range map[string]*bool{"add_bos_token": &v.AddBOS, "add_eos_token": &v.AddEOS, "add_space_prefix": &v.AddSpacePrefix} {
		if x, ok := f.Value("tokenizer.ggml." + key); ok {
			if b, ok := x.(bool); ok {
				*dst = b
			}
		}
	}
	return v, nil
}

// Client serves one prompt family's native bodies from an Engine. It
// implements transport.Invoker; Request.Model is ignored (the Engine is
// the model).
type Client struct {
	Engine  *Engine
	Dialect textgen.Dialect
}

var _ transport.Invoker = (*Client)(nil)

// Invoke generates the whole answer to a native body.
func (c *Client) Invoke(ctx context.Context, req transport.Request) (*transport.Response, error) {
	start := time.Now()
	job, err := c.prepare(req.Body)
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	r, err := c.Engine.generate(ctx, job, func(piece string) bool { text.WriteString(piece); return true })
	if err != nil {
		return nil, err
	}
	r.Text = text.String()
	body, err := c.Dialect.Response(r)
	if err != nil {
		return nil, err
	}
	return &transport.Response{Body: body, ContentType: "application/json", InputTokens: r.Input, OutputTokens: r.Output, LatencyMs: time.Since(start).Milliseconds()}, nil
}

// InvokeStream generates the answer to a native body, one native chunk per
// piece of text as each token is generated; the last chunk carries the
// stop reason and Bedrock's invocation metrics. A prompt that cannot fit
// fails here; waiting for a slot happens inside the sequence, so a caller
// that leaves while queued frees its place.
func (c *Client) InvokeStream(ctx context.Context, req transport.Request) (iter.Seq2[[]byte, error], error) {
	start := time.Now()
	job, err := c.prepare(req.Body)
	if err != nil {
		return nil, err
	}
	return func(yield func([]byte, error) bool) {
		var (
			first  time.Duration
			n      int
			failed bool
		)
		r, err := c.Engine.generate(ctx, job, func(piece string) bool {
			if piece == "" {
				return true
			}
			if n == 0 {
				first = time.Since(start)
			}
			n++
			chunk, err := c.Dialect.Chunk(piece, n, nil, nil)
			if err != nil {
				failed = !yield(nil, err) || true
				return false
			}
			return yield(chunk, nil)
		})
		if failed || ctx.Err() != nil && err == nil {
			return
		}
		if err != nil {
			yield(nil, err)
			return
		}
		if n == 0 {
			first = time.Since(start)
		}
		m := &textgen.Metrics{InputTokenCount: r.Input, OutputTokenCount: r.Output,
			InvocationLatency: time.Since(start).Milliseconds(), FirstByteLatency: first.Milliseconds()}
		chunk, err := c.Dialect.Chunk("", r.Output, &r, m)
		if err != nil {
			yield(nil, err)
			return
		}
		yield(chunk, nil)
	}, nil
}

// job is one generation, ready to run.
type job struct {
	prompt []int32
	params textgen.Params
}

// prepare reads a native body and tokenizes its prompt. The prompt holds
// the family's special tokens as text ("<|begin_of_text|>", "<s>"), which
// the tokenizer turns into their ids; the model's BOS is added unless the
// prompt already starts with it.
func (c *Client) prepare(body []byte) (job, error) {
	p, err := c.Dialect.Parse(body)
	if err != nil {
		return job{}, err
	}
	e := c.Engine
	ids := e.tok.Encode(p.Prompt, false)
	if bos := e.tok.BOS(); e.tok.AddBOS() && bos != tokenizer.NoToken && (len(ids) == 0 || ids[0] != bos) {
		ids = append([]int32{bos}, ids...)
	}
	if len(ids) == 0 {
		return job{}, &transport.StatusError{StatusCode: http.StatusBadRequest, Message: "Malformed input request: #/prompt: the prompt is empty, please reformat your input and try again."}
	}
	if len(ids) >= e.ctx {
		return job{}, &transport.StatusError{StatusCode: http.StatusBadRequest, Message: MsgInputTooLong}
	}
	return job{prompt: ids, params: p}, nil
}

// generate runs one job on a free slot, handing each piece of decoded text
// to emit (which returns false to stop early). It stops at an
// end-of-generation token ("stop"), at the token limit or a full context
// ("length"), at a stop sequence (cut before it, StopString set), or when
// ctx ends (returning ctx's error).
func (e *Engine) generate(ctx context.Context, j job, emit func(string) bool) (textgen.Result, error) {
	var st *llama.State
	select {
	case st = <-e.slots:
	case <-ctx.Done():
		return textgen.Result{}, ctx.Err()
	}
	defer func() { e.slots <- st }()
	st.Truncate(0)

	var logits []float32
	var err error
	// The prompt goes through llama.State.Prefill a batch at a time (each
	// weight read once per batch), checking between batches for a client
	// that went away.
	batch := make([]int, 0, llama.PrefillBatch)
	for lo := 0; lo < len(j.prompt); lo += llama.PrefillBatch {
		if ctx.Err() != nil {
			return textgen.Result{}, ctx.Err()
		}
		batch = batch[:0]
		for _, id := range j.prompt[lo:min(lo+llama.PrefillBatch, len(j.prompt))] {
			batch = append(batch, int(id))
		}
		if logits, err = st.Prefill(batch); err != nil {
			return textgen.Result{}, fmt.Errorf("local: prompt: %w", err)
		}
	}
	p := j.params
	sc := llama.SamplerConfig{Temperature: 0}
	if p.Temperature != nil {
		sc.Temperature = float32(*p.Temperature)
	}
	if p.TopP != nil {
		sc.TopP = float32(*p.TopP)
	}
	if p.TopK != nil {
		sc.TopK = *p.TopK
	}
	sampler := llama.NewSampler(sc)
	dec := e.tok.NewDecoder()
	stops := newStopper(p.Stop)
	r := textgen.Result{Finish: "length", Input: len(j.prompt)}
	for r.Output < p.MaxTokens {
		if ctx.Err() != nil {
			return textgen.Result{}, ctx.Err()
		}
		id := int32(sampler.Sample(logits))
		r.Output++
		if e.tok.IsEOG(id) {
			r.Finish = "stop"
			break
		}
		out, hit := stops.add(dec.Add(id))
		if !emit(out) {
			return r, ctx.Err()
		}
		if hit {
			r.Finish, r.StopString = "stop", true
			return r, nil
		}
		if st.Pos() >= e.ctx {
			break // the context is full: "length"
		}
		if logits, err = st.Forward(int(id)); err != nil {
			return textgen.Result{}, fmt.Errorf("local: generate: %w", err)
		}
	}
	out, _ := stops.add(dec.Flush())
	if !emit(out + stops.flush()) {
		return r, ctx.Err()
	}
	return r, nil
}

// stopper cuts generated text at the first stop sequence, holding back a
// tail that could be the start of one so that no stop text is ever sent.
type stopper struct {
	stops   []string
	pending string
	longest int
}

func newStopper(stops []string) *stopper {
	s := &stopper{}
	for _, x := range stops {
		if x != "" {
			s.stops = append(s.stops, x)
			s.longest = max(s.longest, len(x))
		}
	}
	return s
}

// add takes new text and returns what can be sent, and whether a stop
// sequence was found (the text before it is returned, the rest dropped).
func (s *stopper) add(text string) (string, bool) {
	if len(s.stops) == 0 {
		return text, false
	}
	s.pending += text
	cut := -1
	for _, x := range s.stops {
		if i := strings.Index(s.pending, x); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		out := s.pending[:cut]
		s.pending = ""
		return out, true
	}
	keep := min(len(s.pending), s.longest-1)
	// Never split a UTF-8 character.
	for keep < len(s.pending) && keep > 0 && !isRuneStart(s.pending[len(s.pending)-keep]) {
		keep++
	}
	out := s.pending[:len(s.pending)-keep]
	s.pending = s.pending[len(s.pending)-keep:]
	return out, false
}

func (s *stopper) flush() string {
	out := s.pending
	s.pending = ""
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// SpecialTokens returns the text of the model's BOS and EOS tokens ("" when
// the vocabulary has none), as chat templates take them (bos_token,
// eos_token).
func (e *Engine) SpecialTokens() (bos, eos string) {
	if id := e.tok.BOS(); id != tokenizer.NoToken {
		bos = e.tok.Token(id)
	}
	if id := e.tok.EOS(); id != tokenizer.NoToken {
		eos = e.tok.Token(id)
	}
	return bos, eos
}
