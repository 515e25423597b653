package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/converse-project/converse/engine/gguf"
)

// Quantize encodes src as type t and returns the bytes, laid out as ggml
// does. len(src) must be a whole number of t's blocks. The encoders are
// simple round-to-nearest ones (not llama.cpp's error-minimising searches):
// they exist to make test models and to measure kernels, and any valid
// encoding decodes the same way.
func Quantize(t gguf.Type, src []float32) ([]byte, error) {
	n, err := t.RowBytes(len(src))
	if err != nil {
		return nil, fmt.Errorf("kernels: quantize: %w", err)
	}
	out := make([]byte, n)
	switch t {
	case gguf.TypeF32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out, nil
	case gguf.TypeF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(out[2*i:], floatToHalf(v))
		}
		return out, nil
	case gguf.TypeBF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(out[2*i:], floatToBF16(v))
		}
		return out, nil
	}
	var encode func([]float32, []byte)
	switch t {
	case gguf.TypeQ8_0:
		encode = encodeQ8_0
	case gguf.TypeQ4_0:
		encode = encodeQ4_0
	case gguf.TypeQ4_K:
		encode = encodeQ4_K
	case gguf.TypeQ6_K:
		encode = encodeQ6_K
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	for b := 0; b < len(src)/bs; b++ {
		encode(src[b*bs:(b+1)*bs], out[b*bb:(b+1)*bb])
	}
	return out, nil
}

func roundClamp(v float32, lo, hi int) int {
	q := int(math.Round(float64(v)))
	return max(lo, min(hi, q))
}

// encodeQ8_0: d = max|x|/127 (ggml quantize_row_q8_0_ref).
func encodeQ8_0(x []float32, b []byte) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	binary.LittleEndian.PutUint16(b, floatToHalf(d))
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for i, v := range x {
		b[2+i] = byte(int8(roundClamp(v*id, -127, 127)))
	}
}

// encodeQ4_0: d = −(value of largest magnitude)/8, q = x/d + 8 in 0..15
// (ggml quantize_row_q4_0_ref).
func encodeQ4_0(x []float32, b []byte) {
	var amax, mx float32
	for _, v := range x {
		if abs32(v) > amax {
			amax, mx = abs32(v), v
		}
	}
	d := mx / -8
	binary.LittleEndian.PutUint16(b, floatToHalf(d))
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j := range 16 {
		lo := min(15, int(x[j]*id+8.5))
		hi := min(15, int(x[j+16]*id+8.5))
		b[2+j] = byte(lo) | byte(hi)<<4
	}
}

// encodeQ4_K: each sub-block of 32 gets scale (max−min)/15 and min −min(0,
// x), both quantised to 6 bits against the block's d and dmin; the packing of
// scales and nibbles mirrors ggml quantize_row_q4_K_ref.
func encodeQ4_K(x []float32, b []byte) {
	var scale, mins [8]float32
	var maxScale, maxMin float32
	for j := range 8 {
		lo, hi := float32(0), float32(0)
		for i, v := range x[32*j : 32*j+32] {
			if i == 0 || v < lo {
				lo = v
			}
			if i == 0 || v > hi {
				hi = v
			}
		}
		lo = min(lo, 0)
		scale[j], mins[j] = (hi-lo)/15, -lo
		maxScale, maxMin = max(maxScale, scale[j]), max(maxMin, mins[j])
	}
	d, dmin := floatToHalf(maxScale/63), floatToHalf(maxMin/63)
	binary.LittleEndian.PutUint16(b[0:], d)
	binary.LittleEndian.PutUint16(b[2:], dmin)
	df, dminf := halfToFloat(d), halfToFloat(dmin)
	var ls, lm [8]uint8
	for j := range 8 {
		if df > 0 {
			ls[j] = uint8(roundClamp(scale[j]/df, 0, 63))
		}
		if dminf > 0 {
			lm[j] = uint8(roundClamp(mins[j]/dminf, 0, 63))
		}
	}
	s := b[4:16]
	for j := range 8 {
		if j < 4 {
			s[j] = ls[j]
			s[j+4] = lm[j]
		} else {
			s[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			s[j-4] |= (ls[j] >> 4) << 6
			s[j] |= (lm[j] >> 4) << 6
		}
	}
	var q [256]uint8
	for j := range 8 {
		sd, md := df*float32(ls[j]), dminf*float32(lm[j])
		for i := 32 * j; i < 32*j+32; i++ {
			if sd > 0 {
				q[i] = uint8(roundClamp((x[i]+md)/sd, 0, 15))
			}
		}
	}
	qs := b[16:144]
	for j := range 4 {
		for l := range 32 {
			qs[32*j+l] = q[64*j+l] | q[64*j+32+l]<<4
		}
	}
}

// encodeQ6_K: each sub-block of 16 gets scale max|x|/31 quantised to int8
// against the block's d = max scale/127; values are stored +32 in 6 bits,
// split as ggml quantize_row_q6_K_ref packs them.
func encodeQ6_K(x []float32, b []byte) {
	var scale [16]float32
	var maxScale float32
	for i := range 16 {
		for _, v := range x[16*i : 16*i+16] {
			scale[i] = max(scale[i], abs32(v))
		}
		scale[i] /= 31
		maxScale = max(maxScale, scale[i])
	}
	d := floatToHalf(maxScale / 127)
	df := halfToFloat(d)
	binary.LittleEndian.PutUint16(b[208:], d)
	var q [256]uint8
	for i := range 16 {
		var sc int
		if df > 0 {
			sc = roundClamp(scale[i]/df, 0, 127)
		}
		b[192+i] = byte(int8(sc))
		step := df * float32(sc)
		for j := 16 * i; j < 16*i+16; j++ {
			v := 0
			if step > 0 {
				v = roundClamp(x[j]/step, -32, 31)
			}
			q[j] = uint8(v + 32)
		}
	}
	ql, qh := b[0:128], b[128:192]
	for n := range 2 {
		ql, qh, q := ql[64*n:], qh[32*n:], q[128*n:]
		for l := range 32 {
			q1, q2, q3, q4 := q[l], q[l+32], q[l+64], q[l+96]
			ql[l] = q1&0xf | (q3&0xf)<<4
			ql[l+32] = q2&0xf | (q4&0xf)<<4
			qh[l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
		}
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
