package kernels

import "fmt"

// Batch is one matrix of a MatMuls call: Dst[b] = M·xs[b] for every
// activation vector xs[b].
type Batch struct {
	Dst [][]float32
	M   Matrix
}

// batchTile is how many rows of a matrix one pass multiplies with every
// activation vector of a batch before moving on: 16 rows of the widest
// Q4_K/Q6_K rows of a 7B model (14336 values, 12 KB a row) stay in L2, so
// the weights are read from memory once per batch instead of once per
// token, which turns prompt processing from memory-bound into compute-bound
// (issue 7 item 7, docs/engine.md).
const batchTile = 16

// MatMuls computes every product of bs with every activation vector of xs
// in one parallel pass: bs[i].Dst[b] = bs[i].M·xs[b]. Each vector is
// quantised once for all matrices, the workers are woken once, and each
// weight row is read once for the whole batch (in tiles of rows reused from
// cache). Every Dst[b] gets exactly what MatVec(Dst[b], M, xs[b]) gives, bit
// for bit, so a batched prefill reproduces token-by-token logits. It panics
// on a shape mismatch, on more than 4 matrices or on len(Dst) != len(xs).
func (p *Pool) MatMuls(xs [][]float32, bs ...Batch) {
	if len(xs) == 0 {
		return
	}
	var ks [4]kernel
	if len(bs) > len(ks) {
		panic("kernels: MatMuls of more than 4 matrices")
	}
	preps := make([]prepared, len(xs))
	var weight, rows int
	for i, bt := range bs {
		if len(bt.Dst) != len(xs) {
			panic(fmt.Sprintf("kernels: MatMuls of %d vectors into %d outputs", len(xs), len(bt.Dst)))
		}
		ks[i] = kernelOf(bt.M)
		for b, x := range xs {
			checkShape(bt.Dst[b], bt.M, x)
			preps[b].prepare(x, ks[i])
		}
		weight += len(bt.M.Data)
		rows += bt.M.Rows
	}
	for _, k := range ks[:len(bs)] {
		if k.prepBatch != nil && preps[0].made&(1<<k.batchForm) == 0 {
			k.prepBatch(preps)
			preps[0].made |= 1 << k.batchForm
		}
	}
	// tile runs rows lo..hi-1 of matrix i for every vector, batchTile rows
	// at a time so that each tile is fetched once and reused from cache.
	tile := func(i, lo, hi int) {
		bt := bs[i]
		if ks[i].batch != nil {
			ks[i].batch(bt.Dst, bt.M, preps, lo, hi)
			return
		}
		for t := lo; t < hi; t += batchTile {
			te := min(t+batchTile, hi)
			for b := range preps {
				ks[i].rows(bt.Dst[b], bt.M, &preps[b], t, te)
			}
		}
	}
	threads := p.threads
	if weight*len(xs) < parallelMin || threads == 1 {
		for i, bt := range bs {
			tile(i, 0, bt.M.Rows)
		}
		return
	}
	// Units are whole multiples of the tile, about sixteen per thread: a
	// batch's unit must stay well under the 10 ms after which Go preempts
	// a goroutine by a signal (see yieldEvery), and many units let an
	// idle thread take over from a slow one.
	per := (rows + 16*threads - 1) / (16 * threads)
	per = max(batchTile, (per+batchTile-1)/batchTile*batchTile)
	var starts [5]int
	for i, bt := range bs {
		starts[i+1] = starts[i] + (bt.M.Rows+per-1)/per
	}
	n := len(bs)
	p.Parallel(starts[n], func(u int) {
		i := 0
		for u >= starts[i+1] {
			i++
		}
		lo := (u - starts[i]) * per
		tile(i, lo, min(lo+per, bs[i].M.Rows))
	})
}
