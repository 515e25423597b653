package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/converse-project/converse/engine/gguf"
)

// Dequantize decodes len(dst) values of type t from src into dst. src must
// hold exactly those values (t.RowBytes(len(dst)) bytes); otherwise, or for an
// unsupported type, it returns an error and dst is unspecified.
func Dequantize(t gguf.Type, src []byte, dst []float32) error {
	n, err := t.RowBytes(len(dst))
	if err != nil {
		return fmt.Errorf("kernels: dequantize: %w", err)
	}
	if n != len(src) {
		return fmt.Errorf("kernels: dequantize: %d bytes for %d %v values, want %d", len(src), len(dst), t, n)
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	switch t {
	case gguf.TypeF32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case gguf.TypeF16:
		for i := range dst {
			dst[i] = halfToFloat(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case gguf.TypeBF16:
		for i := range dst {
			dst[i] = bf16ToFloat(binary.LittleEndian.Uint16(src[2*i:]))
		}
	default:
		decode := blockDecoder(t)
		for b := 0; b < len(dst)/bs; b++ {
			decode(src[b*bb:(b+1)*bb], dst[b*bs:(b+1)*bs])
		}
	}
	return nil
}

func f16At(b []byte, i int) float32 { return halfToFloat(binary.LittleEndian.Uint16(b[i:])) }

// decodeQ8_0: y = d·q (ggml dequantize_row_q8_0).
func decodeQ8_0(b []byte, y []float32) {
	d := f16At(b, 0)
	for i, q := range b[2:34] {
		y[i] = d * float32(int8(q))
	}
}

// decodeQ4_0: low nibbles are values 0..15, high nibbles 16..31, offset 8
// (ggml dequantize_row_q4_0).
func decodeQ4_0(b []byte, y []float32) {
	d := f16At(b, 0)
	for j, q := range b[2:18] {
		y[j] = d * float32(int(q&0xf)-8)
		y[j+16] = d * float32(int(q>>4)-8)
	}
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K block (ggml
// get_scale_min_k4).
func scaleMinK4(j int, s []byte) (sc, m uint8) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xf | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

// decodeQ4_K: 8 sub-blocks of 32, each y = d·sc·q − dmin·m; each 32 bytes of
// nibbles hold two sub-blocks, low then high (ggml dequantize_row_q4_K).
func decodeQ4_K(b []byte, y []float32) {
	d, dmin := f16At(b, 0), f16At(b, 2)
	scales, qs := b[4:16], b[16:144]
	for j := range 4 {
		sc1, m1 := scaleMinK4(2*j, scales)
		sc2, m2 := scaleMinK4(2*j+1, scales)
		d1, mm1 := d*float32(sc1), dmin*float32(m1)
		d2, mm2 := d*float32(sc2), dmin*float32(m2)
		q := qs[32*j : 32*j+32]
		for l, v := range q {
			y[64*j+l] = d1*float32(v&0xf) - mm1
			y[64*j+32+l] = d2*float32(v>>4) - mm2
		}
	}
}

// decodeQ6_K: 16 sub-blocks of 16 with int8 scales; each 6-bit value is a low
// nibble from ql and two high bits from qh, offset 32 (ggml
// dequantize_row_q6_K). Value v uses scale v/16.
func decodeQ6_K(b []byte, y []float32) {
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	d := f16At(b, 208)
	for n := range 2 {
		ql, qh, sc, y := ql[64*n:], qh[32*n:], sc[8*n:], y[128*n:]
		for l := range 32 {
			is := l / 16
			q1 := int(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
			q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			y[l] = d * float32(int8(sc[is])) * float32(q1)
			y[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			y[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			y[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}

// blockDecoder returns the decoder of one block of a quantised type.
func blockDecoder(t gguf.Type) func([]byte, []float32) {
	switch t {
	case gguf.TypeQ8_0:
		return decodeQ8_0
	case gguf.TypeQ4_0:
		return decodeQ4_0
	case gguf.TypeQ4_K:
		return decodeQ4_K
	case gguf.TypeQ6_K:
		return decodeQ6_K
	}
	panic("kernels: no block decoder for " + t.String())
}
