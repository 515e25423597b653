package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs matrix-vector products over a fixed set of worker goroutines,
// so that a forward pass (a hundred or more products per token) does not
// start goroutines for each. The caller of a product always works on it
// too; idle workers join in, and busy ones (serving another caller) are not
// waited for. Any number of goroutines may use one Pool at once. Its zero
// value is not usable; make one with NewPool and Close it when done.
//
// An idle worker spins for a while (spinFor) watching for the next job
// before it parks: a forward pass offers a product every few tens of
// microseconds, and waking a parked goroutine costs about as much as a
// small product (the OS thread is asleep too), as llama.cpp's thread pool
// also found.
type Pool struct {
	threads int
	// offered is the latest job; gen counts offers, so a worker sees a
	// new one even if the same pointer is reused.
	offered atomic.Pointer[job]
	gen     atomic.Uint64
	// parked counts workers blocked on wake; an offer sends them tokens.
	parked atomic.Int32
	wake   chan struct{}
	stop   chan struct{}
	once   sync.Once
}

// spinFor is how long an idle worker watches for the next job before it
// parks.
const spinFor = 200 * time.Microsecond

// NewPool returns a Pool of threads goroutines in all, counting each
// caller's own (GOMAXPROCS when threads <= 0).
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, wake: make(chan struct{}, threads), stop: make(chan struct{})}
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
	seen := p.gen.Load()
	for {
		g := p.gen.Load()
		if g == seen {
			if !p.await(seen) {
				return
			}
			continue
		}
		seen = g
		if j := p.offered.Load(); j != nil {
			j.help()
		}
	}
}

// await returns once an offer newer than seen may have been made (true),
// or when the Pool is closed (false): it spins for spinFor, then parks.
func (p *Pool) await(seen uint64) bool {
	deadline := time.Now().Add(spinFor)
	for i := 0; ; i++ {
		if p.gen.Load() != seen {
			return true
		}
		if i&255 == 255 {
			select {
			case <-p.stop:
				return false
			default:
			}
			if time.Now().After(deadline) {
				break
			}
			// Let a runnable goroutine (the caller itself, when there
			// are more workers than processors) have the processor.
			runtime.Gosched()
		}
	}
	// Park. An offer bumps gen before it reads parked, and a worker
	// counts itself parked before it reads gen again, so one of the two
	// always sees the other: no offer is missed.
	p.parked.Add(1)
	defer p.parked.Add(-1)
	if p.gen.Load() != seen {
		return true
	}
	select {
	case <-p.wake:
		return true
	case <-p.stop:
		return false
	}
}

// offer makes j the job idle workers take, waking parked ones.
func (p *Pool) offer(j *job) {
	p.offered.Store(j)
	p.gen.Add(1)
	for n := min(int(p.parked.Load()), j.workers); n > 0; n-- {
		select {
		case p.wake <- struct{}{}:
		default: // enough tokens are waiting already
		}
	}
}

// job is one parallel call: units numbered 0..units-1, taken in order by
// whoever asks next. done receives once, from the goroutine that finishes
// the last unit.
type job struct {
	run      func(unit int)
	units    int64
	workers  int // how many workers could help (units - 1, at most threads - 1)
	next     atomic.Int64
	finished atomic.Int64
	done     chan struct{}
}

// help runs units until none is left, yielding the processor between units
// at least every yieldEvery.
func (j *job) help() {
	last := time.Now()
	for {
		u := j.next.Add(1) - 1
		if u >= j.units {
			return
		}
		j.run(int(u))
		if j.finished.Add(1) == j.units {
			j.done <- struct{}{}
		}
		if now := time.Now(); now.Sub(last) > yieldEvery {
			runtime.Gosched()
			last = now
		}
	}
}

// yieldEvery is how long a goroutine works through units before it yields.
// Go's scheduler otherwise preempts a goroutine that has run for 10 ms by a
// signal, wherever it is: usually inside a kernel's vector loop. In a
// GOEXPERIMENT=simd build (Go 1.26) the preemption then runs with the upper
// halves of the vector registers dirty, and the scheduler's code pays the
// penalty described in elementwise.go on every instruction: a prefill
// profile showed 18 % of all CPU time inside runtime.asyncPreempt. Between
// units the kernels have cleared the upper halves, so a voluntary yield
// there is cheap (under a microsecond) and resets the 10 ms clock.
const yieldEvery = 2 * time.Millisecond

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
	j := &job{run: fn, units: int64(n), workers: min(p.threads-1, n-1), done: make(chan struct{}, 1)}
	p.offer(j)
	j.help()
	j.wait()
}

// wait returns once every unit of j has finished. It spins for up to
// spinFor first: the other threads' last units are usually about to
// finish, and blocking on done parks this goroutine's thread, which the
// finishing worker then has to wake through the kernel.
func (j *job) wait() {
	deadline := time.Now().Add(spinFor)
	for i := 0; j.finished.Load() != j.units; i++ {
		if i&255 == 255 && time.Now().After(deadline) {
			<-j.done
			return
		}
	}
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
		ks[i] = kernelOf(pr.M)
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
	// About sixteen units per thread let an idle thread take over from a
	// slow one, and leave at most a small unit running alone at the end
	// (four per thread: Q4_0 Llama 2 7B decode 4.15 -> 4.42 tokens/s,
	// median of six alternating runs); units are whole multiples of 16
	// rows (see MatVec).
	per := (rows + 16*threads - 1) / (16 * threads)
	per = max(16, (per+15)&^15)
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
