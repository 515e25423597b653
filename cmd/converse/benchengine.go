package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/converse-project/converse/engine/gguf"
	"github.com/converse-project/converse/engine/kernels"
	"github.com/converse-project/converse/engine/llama"
	"github.com/converse-project/converse/engine/synth"
)

// BenchEngineCommand measures the embedded engine on a GGUF file: prompt
// (prefill) and decode tokens per second, against the memory-bandwidth
// bound of decoding, where every generated token reads every weight once.
type BenchEngineCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses the flags in args and runs the measurement.
func (c *BenchEngineCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench-engine", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	prompt := fs.Int("prompt", 64, "prompt tokens to prefill")
	decode := fs.Int("tokens", 32, "tokens to generate")
	threads := fs.Int("threads", 0, "threads per matrix product (0: all cores)")
	noPack := fs.Bool("no-pack", false, "read every weight in place from the file, even where a packed copy is faster")
	synthetic := fs.String("synthetic", "", "first write FILE (unless it exists) as a random-weight model of this shape and mix: "+strings.Join(synth.Names(), ", "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("bench-engine: usage: converse bench-engine [--prompt N] [--tokens N] [--synthetic NAME] FILE.gguf")
	}
	if *synthetic != "" {
		if _, err := os.Stat(fs.Arg(0)); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(c.Stderr, "writing a random-weight %s model to %s\n", *synthetic, fs.Arg(0))
			if err := synth.WriteFile(fs.Arg(0), *synthetic); err != nil {
				return err
			}
		}
	}
	f, err := gguf.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	loadStart := time.Now()
	m, err := llama.New(f, llama.Options{Threads: *threads, NoPack: *noPack})
	if err != nil {
		return err
	}
	defer m.Close()
	load := time.Since(loadStart)
	var weights uint64
	types := map[gguf.Type]uint64{}
	for _, t := range f.Tensors {
		weights += uint64(len(t.Data))
		types[t.Type] += uint64(len(t.Data))
	}
	cfg := m.Config
	st := m.NewState(*prompt + *decode + 1)
	sampler := llama.NewSampler(llama.SamplerConfig{})

	tokens := make([]int, *prompt)
	for i := range tokens {
		tokens[i] = i % cfg.Vocab
	}
	start := time.Now()
	logits, err := st.Prefill(tokens) // the prompt in batches, as the local backend feeds it
	if err != nil {
		return err
	}
	prefill := time.Since(start)
	start = time.Now()
	for range *decode {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if logits, err = st.Forward(sampler.Sample(logits)); err != nil {
			return err
		}
	}
	gen := time.Since(start)
	bw := memoryBandwidth()

	w := c.Stdout
	fmt.Fprintf(w, "model         %s (%s, %d layers, dim %d, vocab %d)\n", fs.Arg(0), cfg.Arch, cfg.Layers, cfg.Dim, cfg.Vocab)
	fmt.Fprintf(w, "weights       %.1f MB", float64(weights)/1e6)
	for t, n := range types {
		fmt.Fprintf(w, "  %s %.1f MB", t, float64(n)/1e6)
	}
	fmt.Fprintf(w, "\nkernels       %s, %d threads of %d cores\n", kernels.Accel(), max(*threads, runtime.GOMAXPROCS(0)), runtime.NumCPU())
	fmt.Fprintf(w, "load          %v\n", load.Round(time.Millisecond))
	fmt.Fprintf(w, "prompt        %d tokens in %v: %.1f tokens/s\n", *prompt, prefill.Round(time.Millisecond), float64(*prompt)/prefill.Seconds())
	fmt.Fprintf(w, "decode        %d tokens in %v: %.1f tokens/s\n", *decode, gen.Round(time.Millisecond), float64(*decode)/gen.Seconds())
	fmt.Fprintf(w, "bandwidth     %.1f GB/s measured; decode bound %.1f tokens/s (each token reads every weight once)\n",
		bw/1e9, bw/float64(weights))
	return nil
}

// memoryBandwidth measures how fast this machine streams memory: the best
// of a few passes over a buffer much larger than the caches, on all cores,
// each core reading one word of every 64-byte line (the whole line comes
// from memory) into eight independent sums, so that the loop's arithmetic
// never limits it: a plain sum of every word measured about half of what
// llama.cpp reads per second here.
func memoryBandwidth() float64 {
	const size = 512 << 20
	buf := make([]uint64, size/8)
	for i := range buf {
		buf[i] = uint64(i)
	}
	workers := runtime.GOMAXPROCS(0)
	best := time.Duration(1<<63 - 1)
	var sink uint64
	for range 4 {
		start := time.Now()
		done := make(chan uint64, workers)
		part := len(buf) / workers
		for w := range workers {
			go func(s []uint64) {
				var a [8]uint64
				for i := 0; i+64 <= len(s); i += 64 { // 8 lines per step
					a[0] += s[i]
					a[1] += s[i+8]
					a[2] += s[i+16]
					a[3] += s[i+24]
					a[4] += s[i+32]
					a[5] += s[i+40]
					a[6] += s[i+48]
					a[7] += s[i+56]
				}
				done <- a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7]
			}(buf[w*part : (w+1)*part])
		}
		for range workers {
			sink += <-done
		}
		best = min(best, time.Since(start))
	}
	_ = sink
	return float64(size) / best.Seconds()
}
