package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// result accumulates the phases of one target at one concurrency, over
// every round.
type result struct {
	requests, errors int
	firstErr         error
	wall, cpu        time.Duration
	events           int
	first, last      []time.Duration // sorted by summarize
}

func (r *result) add(p phase) {
	r.requests += len(p.samples)
	r.errors += p.errors
	if r.firstErr == nil {
		r.firstErr = p.firstErr
	}
	r.wall += p.wall
	r.cpu += p.cpu
	r.events += p.events
	for _, s := range p.samples {
		r.first = append(r.first, s.first)
		r.last = append(r.last, s.last)
	}
}

func (r *result) summarize() {
	slices.Sort(r.first)
	slices.Sort(r.last)
}

// quantile is the nearest-rank q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r *result) p(q float64) time.Duration      { return quantile(r.last, q) }
func (r *result) firstP(q float64) time.Duration { return quantile(r.first, q) }

func (r *result) rps() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.requests) / r.wall.Seconds()
}

// cpuPer is the gateway's CPU time per request.
func (r *result) cpuPer() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

// cpuPerEvent is the gateway's CPU time per stream event received.
func (r *result) cpuPerEvent() time.Duration {
	if r.events == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.events)
}

// us formats a duration in microseconds.
func us(d time.Duration) string {
	v := float64(d) / float64(time.Microsecond)
	if v < 100 && v > -100 {
		return fmt.Sprintf("%.1f µs", v)
	}
	return fmt.Sprintf("%.0f µs", v)
}

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// report is one run's results, by phase name.
type report struct {
	opts    options
	results map[string]*result
	idle    map[string]idleResult
	started time.Time
}

func (rep *report) get(name string) *result {
	if r, ok := rep.results[name]; ok {
		return r
	}
	return &result{}
}

// write prints the run as Markdown tables.
func (rep *report) write(w io.Writer) {
	o := rep.opts
	fmt.Fprintf(w, "converse-bench: %d rounds, %s per phase, concurrency 1 and %d, %d-chunk streams, upstream delay %s, converse --log-level %s\n\n",
		o.rounds, o.phase().Round(time.Millisecond), o.concurrency, o.chunks, o.delay, o.logLevel)
	rep.writeLatency(w)
	rep.writeThroughput(w)
	rep.writeStreaming(w)
	rep.writeIdle(w)
	rep.writeTargets(w)
	rep.writeErrors(w)
}

func (rep *report) writeLatency(w io.Writer) {
	fmt.Fprintf(w, "Concurrency 1, non-streaming (chat completion or Converse, 100-word reply):\n\n")
	fmt.Fprintln(w, "| configuration | requests | p50 | p99 | p50 added over (a) | p99 added over (a) |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: |")
	base := rep.get(phaseName(targetDirect, 1))
	for _, t := range []string{targetDirect, targetProxy, targetConverse} {
		r := rep.get(phaseName(t, 1))
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s |\n", t, r.requests, us(r.p(.5)), us(r.p(.99)),
			us(r.p(.5)-base.p(.5)), us(r.p(.99)-base.p(.99)))
	}
	fmt.Fprintln(w)
}

func (rep *report) writeThroughput(w io.Writer) {
	c := rep.opts.concurrency
	fmt.Fprintf(w, "Concurrency %d, non-streaming:\n\n", c)
	fmt.Fprintln(w, "| configuration | requests | req/s | p50 | p99 | gateway CPU/request | req/s vs (b) | CPU/request vs (b) |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	proxy := rep.get(phaseName(targetProxy, c))
	for _, t := range []string{targetDirect, targetProxy, targetConverse} {
		r := rep.get(phaseName(t, c))
		cpu, cpuRatio := "n/a", "n/a"
		if t != targetDirect {
			cpu = us(r.cpuPer())
			cpuRatio = ratio(float64(r.cpuPer()), float64(proxy.cpuPer()))
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %s | %s |\n", t, r.requests, r.rps(), us(r.p(.5)), us(r.p(.99)),
			cpu, ratio(r.rps(), proxy.rps()), cpuRatio)
	}
	fmt.Fprintln(w)
}

func (rep *report) writeStreaming(w io.Writer) {
	n := rep.opts.chunks
	fmt.Fprintf(w, "Concurrency 1, streaming a %d-chunk reply (times from sending the request):\n\n", n)
	fmt.Fprintln(w, "| configuration | requests | events/reply | first event p50 | first event p99 | last event p50 | last event p99 | last event p50 added over direct, per chunk | gateway CPU/event |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	base := rep.get(phaseName(targetDirectSSE, 1))
	for _, t := range []string{targetDirectSSE, targetProxySSE, targetConverseStream} {
		r := rep.get(phaseName(t, 1))
		per, cpu := "n/a", "n/a"
		if t != targetDirectSSE {
			per = us((r.p(.5) - base.p(.5)) / time.Duration(n))
			cpu = us(r.cpuPerEvent())
		}
		epr := 0.0
		if r.requests > 0 {
			epr = float64(r.events) / float64(r.requests)
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %s |\n", t, r.requests, epr,
			us(r.firstP(.5)), us(r.firstP(.99)), us(r.p(.5)), us(r.p(.99)), per, cpu)
	}
	fmt.Fprintln(w)
}

func (rep *report) writeIdle(w io.Writer) {
	if len(rep.idle) == 0 {
		return
	}
	fmt.Fprintln(w, "Idle open streams (upstream sent one chunk and holds the stream open):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| gateway | streams | RSS before | RSS with streams open | per stream |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	for _, g := range []string{targetProxy, targetConverse} {
		r, ok := rep.idle[g]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", g, r.streams, kib(float64(r.before)), kib(float64(r.after)), kib(r.perStream()))
	}
	fmt.Fprintln(w)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func (rep *report) writeErrors(w io.Writer) {
	names := make([]string, 0, len(rep.results))
	for name := range rep.results {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if r := rep.results[name]; r.errors > 0 {
			fmt.Fprintf(w, "errors: %s: %d of %d requests failed; first: %v\n", name, r.errors, r.errors+r.requests, r.firstErr)
		}
	}
}
