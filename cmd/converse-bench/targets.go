package main

import (
	"fmt"
	"io"
	"time"
)

// Issue 5's targets.
const (
	maxAddedPerEvent = 20 * time.Microsecond // a streamed event over the bare proxy
	maxIdleStream    = 64 << 10              // bytes of memory per idle open stream
)

// verdict is one target's outcome.
type verdict struct {
	target, measured string
	met              bool
}

// verdicts checks the run against the targets.
func (rep *report) verdicts() []verdict {
	c := rep.opts.concurrency
	conv, proxy := rep.get(phaseName(targetConverse, c)), rep.get(phaseName(targetProxy, c))
	direct1, conv1, proxy1 := rep.get(phaseName(targetDirect, 1)), rep.get(phaseName(targetConverse, 1)), rep.get(phaseName(targetProxy, 1))
	convS, proxyS := rep.get(phaseName(targetConverseStream, 1)), rep.get(phaseName(targetProxySSE, 1))
	n := time.Duration(rep.opts.chunks)

	convAdded, proxyAdded := conv1.p(.5)-direct1.p(.5), proxy1.p(.5)-direct1.p(.5)
	perEvent := (convS.p(.5) - proxyS.p(.5)) / n
	v := []verdict{
		{fmt.Sprintf("concurrency %d: req/s at least the bare proxy's", c),
			fmt.Sprintf("%.0f vs %.0f req/s (%s)", conv.rps(), proxy.rps(), ratio(conv.rps(), proxy.rps())), conv.rps() >= proxy.rps()},
		{fmt.Sprintf("concurrency %d: CPU/request at most the bare proxy's", c),
			fmt.Sprintf("%s vs %s (%s)", us(conv.cpuPer()), us(proxy.cpuPer()), ratio(float64(conv.cpuPer()), float64(proxy.cpuPer()))), conv.cpuPer() <= proxy.cpuPer()},
		{"concurrency 1: added p50 at most the bare proxy's",
			fmt.Sprintf("%s vs %s (%s more)", us(convAdded), us(proxyAdded), us(convAdded-proxyAdded)), convAdded <= proxyAdded},
		{"a streamed event costs at most 20 µs more than through the bare proxy",
			fmt.Sprintf("%s per event (last-event p50 %s vs %s over %d chunks); gateway CPU/event %s vs %s",
				us(perEvent), us(convS.p(.5)), us(proxyS.p(.5)), rep.opts.chunks, us(convS.cpuPerEvent()), us(proxyS.cpuPerEvent())),
			perEvent <= maxAddedPerEvent},
	}
	if idle, ok := rep.idle[targetConverse]; ok {
		v = append(v, verdict{"at most 64 KiB per idle open stream",
			fmt.Sprintf("%s per stream over %d streams", kib(idle.perStream()), idle.streams), idle.perStream() <= maxIdleStream})
	}
	return v
}

func (rep *report) writeTargets(w io.Writer) {
	fmt.Fprintln(w, "Targets:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | met |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, v := range rep.verdicts() {
		met := "no"
		if v.met {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", v.target, v.measured, met)
	}
	fmt.Fprintln(w)
}
