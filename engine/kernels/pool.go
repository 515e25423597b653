package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool runs matrix-vector products over a fixed set of worker goroutines,
// so that a forward pass (a hundred or more products per token) does not
// start goroutines for each. The caller of a product always works on it
// too; idle workers join in, and busy ones (serving another caller) are not
// waited for. Any number of goroutines may use one Pool at once. Its zero
// value is not usable; make one with NewPool and Close it when done.
type Pool struct {
	threads int
	work    chan *job
	stop    chan struct{}
	once    sync.Once
}

// NewPool returns a Pool of threads goroutines in all, counting each
// caller's own (GOMAXPROCS when threads <= 0).
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, work: make(chan *job), stop: make(chan struct{})}
	for range threads - 1 {
		go p.worker()
	}
	return p
}

// Threads returns how many goroutines a product may use.
func (p *Pool) Threads() int { return p.threads }

// Close stops the workers. Products started after Close run on their
// callers alone. Close may be called more than once.
func (p *Pool) Close() { p.once.Do(func() { close(p.stop) }) }

func (p *Pool) worker() {
	for {
		select {
		case j := <-p.work:
			j.help()
		case <-p.stop:
			return
		}
	}
}

// job is one parallel call: units numbered 0..units-1, taken in order by
// whoever asks next. done receives once, from the goroutine that finishes
// the last unit.
type job struct {
	run      func(unit int)
	units    int64
	next     atomic.Int64
	finished atomic.Int64
	done     chan struct{}
}

// help runs units until none is left.
func (j *job) help() {
	for {
		u := j.next.Add(1) - 1
		if u >= j.units {
			return
		}
		j.run(int(u))
		if j.finished.Add(1) == j.units {
			j.done <- struct{}{}
		}
	}
}

// Parallel calls fn(i) for every i in [0, n), spread over the Pool, and
// returns when all calls have returned. fn must be safe to call from
// several goroutines at once.
func (p *Pool) Parallel(n int, fn func(i int)) {
	if n <= 0 {
		return
	}
	if n == 1 || p.threads == 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	j := &job{run: fn, units: int64(n), done: make(chan struct{}, 1)}
	for range min(p.threads-1, n-1) {
		select {
		case p.work <- j:
		default: // every worker is busy: do not wait for one
		}
	}
	j.help()
	<-j.done
}

// Product is one matrix-vector product of a MatVecs call: Dst = M·x.
type Product struct {
	Dst []float32
	M   Matrix
}

// MatVec sets dst = m·x over the Pool; see the package-level MatVec for the
// contract. The result does not depend on the number of threads.
func (p *Pool) MatVec(dst []float32, m Matrix, x []float32) {
	p.MatVecs(x, Product{dst, m})
}

// MatVecs computes every product in ps with the same activations x in one
// parallel pass: x is quantised once for all of them (a layer's Q, K and V,
// or its gate and up projections) and the workers are woken once. It panics
// on a shape mismatch as MatVec does.
func (p *Pool) MatVecs(x []float32, ps ...Product) {
	var prep prepared
	var ks [4]kernel
	if len(ps) > len(ks) {
		panic("kernels: MatVecs of more than 4 products")
	}
	var weight, rows int
	for i, pr := range ps {
		checkShape(pr.Dst, pr.M, x)
		ks[i] = kernelFor(pr.M.Type)
		prep.prepare(x, ks[i])
		weight += len(pr.M.Data)
		rows += pr.M.Rows
	}
	threads := p.threads
	if weight < parallelMin || threads == 1 {
		for i, pr := range ps {
			ks[i].rows(pr.Dst, pr.M, &prep, 0, pr.M.Rows)
		}
		return
	}
	// About four units per thread lets an idle thread take over from a
	// slow one; units are whole multiples of 8 rows (see MatVec).
	per := (rows + 4*threads - 1) / (4 * threads)
	per = max(8, (per+7)&^7)
	var starts [5]int // first unit of each product, then the total
	for i, pr := range ps {
		starts[i+1] = starts[i] + (pr.M.Rows+per-1)/per
	}
	n := len(ps)
	p.Parallel(starts[n], func(u int) {
		i := 0
		for u >= starts[i+1] {
			i++
		}
		pr := ps[i]
		lo := (u - starts[i]) * per
		ks[i].rows(pr.Dst, pr.M, &prep, lo, min(lo+per, pr.M.Rows))
	})
}
