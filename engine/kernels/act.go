package kernels

import "math"

// blockQ8_0 is ggml's block_q8_0 (34 bytes): the same layout as a Q8_0
// weight block, so weights can be read through it straight from a mapping.
type blockQ8_0 struct {
	d  uint16 // fp16 scale
	qs [32]int8
}

// blockQ8K is ggml's block_q8_K, used only for activations: a float32
// scale, 256 int8 values and the sums of each 16 of them (which fold a
// Q4_K block's mins into one multiply per sub-block).
type blockQ8K struct {
	d     float32
	qs    [256]int8
	bsums [16]int16
}

// quantizeQ8_0 encodes x (a multiple of 32 values) into Q8_0 blocks.
func quantizeQ8_0(x []float32, dst []blockQ8_0) []blockQ8_0 {
	dst = dst[:0]
	for b := 0; b < len(x)/32; b++ {
		var amax float32
		for _, v := range x[32*b : 32*b+32] {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		blk := blockQ8_0{d: floatToHalf(d)}
		if d != 0 {
			id := 1 / d
			for i, v := range x[32*b : 32*b+32] {
				blk.qs[i] = int8(math.Round(float64(v * id)))
			}
		}
		dst = append(dst, blk)
	}
	return dst
}

// quantizeQ8K encodes x (a multiple of 256 values) into Q8_K blocks (ggml
// quantize_row_q8_K_ref: the scale maps the largest magnitude to ±127).
func quantizeQ8K(x []float32, dst []blockQ8K) []blockQ8K {
	dst = dst[:0]
	for b := 0; b < len(x)/256; b++ {
		xs := x[256*b : 256*b+256]
		var amax float32
		for _, v := range xs {
			amax = max(amax, abs32(v))
		}
		var blk blockQ8K
		if amax != 0 {
			blk.d = amax / 127
			id := 127 / amax
			for i, v := range xs {
				blk.qs[i] = int8(max(-127, min(127, math.Round(float64(v*id)))))
				blk.bsums[i/16] += int16(blk.qs[i])
			}
		}
		dst = append(dst, blk)
	}
	return dst
}
