package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/converse-project/converse"
	"github.com/converse-project/converse/codec"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "proxy" {
		err = runProxy(ctx, os.Args[2:], os.Stderr)
	} else {
		err = runBench(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "converse-bench:", err)
		os.Exit(1)
	}
}

// options are the bench's flags.
type options struct {
	duration    time.Duration // measured load, all phases and rounds together
	rounds      int
	concurrency int
	chunks      int
	idle        int
	delay       time.Duration
	maxRequests int // per phase
	converse    string
	logLevel    string
	bufferBody  bool // the bare proxy reads request bodies before forwarding
}

// Names of the targets, as the report shows them; the letters are issue 5's.
const (
	targetDirect         = "(a) direct"
	targetProxy          = "(b) bare proxy"
	targetConverse       = "(c) converse"
	targetDirectSSE      = "direct SSE"
	targetProxySSE       = "bare proxy SSE"
	targetConverseStream = "(d) converse-stream"
)

func phaseName(target string, conc int) string { return fmt.Sprintf("c%d %s", conc, target) }

// phases is the schedule of one round: which target, at which concurrency.
func (o options) phases() []struct {
	target string
	conc   int
} {
	type ph = struct {
		target string
		conc   int
	}
	return []ph{
		{targetDirect, 1}, {targetProxy, 1}, {targetConverse, 1},
		{targetDirectSSE, 1}, {targetProxySSE, 1}, {targetConverseStream, 1},
		{targetDirect, o.concurrency}, {targetProxy, o.concurrency}, {targetConverse, o.concurrency},
	}
}

// phase is how long each phase of each round lasts.
func (o options) phase() time.Duration {
	return o.duration / time.Duration(o.rounds*len(o.phases()))
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("converse-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 45*time.Second, "measured load in all, split evenly over rounds and phases")
	fs.IntVar(&o.rounds, "rounds", 5, "rounds; each runs every configuration once, in rotated order")
	fs.IntVar(&o.concurrency, "concurrency", 64, "concurrent clients of the throughput phases")
	fs.IntVar(&o.chunks, "chunks", 200, "content chunks of a streamed reply")
	fs.IntVar(&o.idle, "idle", 1000, "idle open streams for the memory measurement (0: skip)")
	fs.DurationVar(&o.delay, "delay", 0, "fixed upstream delay before each answer")
	fs.IntVar(&o.maxRequests, "max-requests", 200_000, "at most this many requests per phase")
	fs.StringVar(&o.converse, "converse", "", "a converse binary to run (default: go build ./cmd/converse into a temporary directory)")
	fs.StringVar(&o.logLevel, "log-level", "info", "converse's --log-level (info writes the access log, as deployed by default)")
	fs.BoolVar(&o.bufferBody, "proxy-buffer-body", true, "the bare proxy reads each request body before forwarding it (false: streams it, as the zero ReverseProxy does)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.rounds < 1 || o.concurrency < 1 || o.chunks < 1 || o.idle < 0 || o.maxRequests < 1:
		return o, errors.New("-rounds, -concurrency, -chunks and -max-requests must be positive, -idle not negative")
	case o.phase() < 10*time.Millisecond:
		return o, errors.New("-duration is too short for the rounds: each phase needs at least 10ms")
	}
	return o, nil
}

// runBench runs the whole benchmark and prints the report on stdout;
// progress goes to stderr.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "converse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "converse-bench: "+format+"\n", a...) }

	bin := o.converse
	if bin == "" {
		logf("building converse")
		if bin, err = buildConverse(ctx, dir); err != nil {
			return err
		}
	}
	env, err := startEnv(ctx, o, bin, dir)
	if err != nil {
		return err
	}
	defer env.close()
	logf("upstream %s, bare proxy %s (pid %d), converse %s (pid %d)", env.upstreamURL, env.proxy.addr, env.proxy.pid(), env.converse.addr, env.converse.pid())

	targets, err := env.targets()
	if err != nil {
		return err
	}
	rep := &report{opts: o, results: map[string]*result{}, idle: map[string]idleResult{}, started: time.Now()}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * o.concurrency, DisableCompression: true}}
	defer client.CloseIdleConnections()

	// Idle streams first, while both gateways are fresh: warm each with a
	// few complete streams, then measure.
	if o.idle > 0 {
		for _, g := range []struct{ name, warm, hold string }{
			{targetProxy, targetProxySSE, "hold " + targetProxySSE},
			{targetConverse, targetConverseStream, "hold " + targetConverseStream},
		} {
			logf("idle streams: %d through %s", o.idle, g.name)
			drive(ctx, client, targets[g.warm], 4, time.Second, 40)
			res, err := idleStreams(ctx, targets[g.hold], o.idle, 500*time.Millisecond)
			if err != nil {
				return fmt.Errorf("idle streams through %s: %w", g.name, err)
			}
			rep.idle[g.name] = res
		}
	}

	logf("warming up")
	for _, ph := range o.phases() {
		drive(ctx, client, targets[ph.target], ph.conc, min(o.phase()/4, 250*time.Millisecond), o.maxRequests)
	}
	phases := o.phases()
	for r := range o.rounds {
		logf("round %d of %d (%s per phase)", r+1, o.rounds, o.phase().Round(time.Millisecond))
		for i := range phases {
			ph := phases[(i+r)%len(phases)] // rotated, so no target always follows the same one
			p := drive(ctx, client, targets[ph.target], ph.conc, o.phase(), o.maxRequests)
			name := phaseName(ph.target, ph.conc)
			if rep.results[name] == nil {
				rep.results[name] = &result{}
			}
			rep.results[name].add(p)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for _, r := range rep.results {
		r.summarize()
	}
	rep.write(stdout)
	return nil
}

// env is the running upstream and gateways.
type env struct {
	opts        options
	upstreamURL string
	upstream    *http.Server
	done        chan struct{}
	proxy       *process
	converse    *process
}

func startEnv(ctx context.Context, o options, bin, dir string) (*env, error) {
	e := &env{opts: o, done: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.upstreamURL = "http://" + ln.Addr().String()
	e.upstream = &http.Server{Handler: newUpstream(upstreamConfig{Chunks: o.chunks, Delay: o.delay, Done: e.done}), ReadHeaderTimeout: 10 * time.Second}
	go e.upstream.Serve(ln)

	self, err := os.Executable()
	if err != nil {
		e.close()
		return nil, err
	}
	if e.proxy, err = start(ctx, "bare proxy", self, []string{"proxy", "-target", e.upstreamURL, "-buffer-body=" + strconv.FormatBool(o.bufferBody)}, "", 30*time.Second); err != nil {
		e.close()
		return nil, err
	}
	cfg := filepath.Join(dir, "converse.yaml")
	if err := os.WriteFile(cfg, []byte(converseConfig(e.upstreamURL)), 0o600); err != nil {
		e.close()
		return nil, err
	}
	// At levels above info converse does not log where it listens, so it
	// is told a port and the bench waits until it accepts connections.
	addr, wait := "127.0.0.1:0", ""
	if o.logLevel != "info" && o.logLevel != "debug" {
		if addr, err = freeAddr(); err != nil {
			e.close()
			return nil, err
		}
		wait = addr
	}
	if e.converse, err = start(ctx, "converse", bin, []string{"serve", "--addr", addr, "--config", cfg, "--log-level", o.logLevel}, wait, 30*time.Second); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	for _, p := range []*process{e.converse, e.proxy} {
		if p != nil {
			p.stop()
		}
	}
	close(e.done)
	e.upstream.Close()
}

// benchConverse is the Converse request every configuration carries (the
// native ones as codec.ToOpenAIChat translates it), in the AWS SDK for Go
// v2's serialization.
const benchConverse = `{"inferenceConfig":{"maxTokens":512,"temperature":0.5},"messages":[{"content":[{"text":"Summarise the plot of Hamlet in three sentences, naming the main characters and how each of them dies."}],"role":"user"}],"system":[{"text":"You are a concise literary assistant. Answer in plain prose."}]}`

// targets builds every configuration, by name; "hold …" names are the idle
// streams' variants.
func (e *env) targets() (map[string]target, error) {
	var req converse.Request
	if err := json.Unmarshal([]byte(benchConverse), &req); err != nil {
		return nil, err
	}
	native := func(model string, stream bool) ([]byte, error) { return codec.ToOpenAIChat(&req, model, stream) }
	out := map[string]target{}
	for _, hold := range []bool{false, true} {
		model, id, prefix := modelFast, "bench-fast", ""
		if hold {
			model, id, prefix = modelHold, "bench-hold", "hold "
		}
		chat, err := native(model, false)
		if err != nil {
			return nil, err
		}
		chatStream, err := native(model, true)
		if err != nil {
			return nil, err
		}
		up, proxy, conv := e.upstreamURL, "http://"+e.proxy.addr, "http://"+e.converse.addr
		for _, t := range []target{
			{name: targetDirect, url: up + chatPath, body: chat, header: openAIHeader(false)},
			{name: targetProxy, url: proxy + chatPath, body: chat, header: openAIHeader(false), pid: e.proxy.pid()},
			{name: targetConverse, url: conv + "/model/" + id + "/converse", body: []byte(benchConverse), header: sdkHeader(), pid: e.converse.pid()},
			{name: targetDirectSSE, url: up + chatPath, body: chatStream, header: openAIHeader(true), reply: replySSE},
			{name: targetProxySSE, url: proxy + chatPath, body: chatStream, header: openAIHeader(true), reply: replySSE, pid: e.proxy.pid()},
			{name: targetConverseStream, url: conv + "/model/" + id + "/converse-stream", body: []byte(benchConverse), header: sdkHeader(), reply: replyEventStream, pid: e.converse.pid()},
		} {
			out[prefix+t.name] = t
		}
	}
	return out, nil
}

// sdkHeader is what the AWS SDK for Go v2 sends with a Converse call
// besides Host and Content-Length. converse does not check signatures yet,
// so a fixed, well-formed one stands in.
func sdkHeader() http.Header {
	return http.Header{
		"Content-Type":          {"application/json"},
		"User-Agent":            {"aws-sdk-go-v2/1.41.0 ua/2.1 os/linux lang/go#1.26.8 md/GOOS#linux md/GOARCH#amd64 api/bedrockruntime#1.63.0"},
		"X-Amz-User-Agent":      {"aws-sdk-go-v2/1.41.0"},
		"Amz-Sdk-Invocation-Id": {"0f6d1a52-3c1e-4a8e-9d7b-6e0c2b9f4a11"},
		"Amz-Sdk-Request":       {"attempt=1; max=3"},
		"X-Amz-Date":            {"20260101T000000Z"},
		"X-Amz-Content-Sha256":  {"4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"},
		"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, " +
			"SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-user-agent, " +
			"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
	}
}

// openAIHeader is what the OpenAI SDKs send with a chat completion.
func openAIHeader(stream bool) http.Header {
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	return http.Header{
		"Content-Type":  {"application/json"},
		"Accept":        {accept},
		"User-Agent":    {"OpenAI/Go 1.12.0"},
		"Authorization": {"Bearer sk-bench-0000000000000000000000000000000000000000"},
	}
}

// runProxy is the bare proxy: httputil.ReverseProxy with nothing but a
// target, on the default transport, as anyone would first write it; by
// default it reads each request body before forwarding it (bufferBody).
func runProxy(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "upstream base URL")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	buffer := fs.Bool("buffer-body", true, "read the request body before forwarding it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("proxy: -target %q is not a URL", *target)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var h http.Handler = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	if *buffer {
		h = bufferBody(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "proxy listening addr=%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return srv.Close()
}

// bufferBody reads the whole request body before h sees it, as converse
// does. Streamed straight into the upstream request, the body meets a Go
// 1.26 net/http transport bug under CPU starvation (spec README, "Client
// and runtime quirks"): the transport drops the upstream connection
// mid-response, which cut about 3% of the bare proxy's streams on the
// 2-core machine. Reading it first keeps the floor free of failures and
// matches what converse must do anyway to translate the request.
func bufferBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
}
