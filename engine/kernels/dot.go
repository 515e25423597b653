package kernels

import (
	"encoding/binary"
	"math"
)

// The portable row dot products: each decodes a block of weights and
// multiplies it with float32 activations, so the result is float32 math on
// the dequantised weights. Four accumulators break the dependency chain.

func dotF32(row []byte, p *prepared) float32 {
	x := p.f
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		r := row[4*i : 4*i+16]
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(r[0:])) * x[i]
		s1 += math.Float32frombits(binary.LittleEndian.Uint32(r[4:])) * x[i+1]
		s2 += math.Float32frombits(binary.LittleEndian.Uint32(r[8:])) * x[i+2]
		s3 += math.Float32frombits(binary.LittleEndian.Uint32(r[12:])) * x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:])) * x[i]
	}
	return s0 + s1 + s2 + s3
}

func dotF16(row []byte, p *prepared) float32 {
	var s0, s1 float32
	x := p.f
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += halfToFloat(binary.LittleEndian.Uint16(row[2*i:])) * x[i]
		s1 += halfToFloat(binary.LittleEndian.Uint16(row[2*i+2:])) * x[i+1]
	}
	for ; i < len(x); i++ {
		s0 += halfToFloat(binary.LittleEndian.Uint16(row[2*i:])) * x[i]
	}
	return s0 + s1
}

func dotBF16(row []byte, p *prepared) float32 {
	var s0, s1 float32
	x := p.f
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += bf16ToFloat(binary.LittleEndian.Uint16(row[2*i:])) * x[i]
		s1 += bf16ToFloat(binary.LittleEndian.Uint16(row[2*i+2:])) * x[i+1]
	}
	for ; i < len(x); i++ {
		s0 += bf16ToFloat(binary.LittleEndian.Uint16(row[2*i:])) * x[i]
	}
	return s0 + s1
}

func dotQ8_0(row []byte, p *prepared) float32 {
	var sum float32
	for b := 0; b < len(p.f)/32; b++ {
		blk, x := row[34*b:34*b+34], p.f[32*b:32*b+32]
		var s0, s1 float32
		for i := 0; i < 32; i += 2 {
			s0 += float32(int8(blk[2+i])) * x[i]
			s1 += float32(int8(blk[3+i])) * x[i+1]
		}
		sum += f16At(blk, 0) * (s0 + s1)
	}
	return sum
}

func dotQ4_0(row []byte, p *prepared) float32 {
	var sum float32
	for b := 0; b < len(p.f)/32; b++ {
		blk, x := row[18*b:18*b+18], p.f[32*b:32*b+32]
		var s0, s1 float32
		for j, q := range blk[2:18] {
			s0 += float32(int(q&0xf)-8) * x[j]
			s1 += float32(int(q>>4)-8) * x[j+16]
		}
		sum += f16At(blk, 0) * (s0 + s1)
	}
	return sum
}

func dotQ4_K(row []byte, p *prepared) float32 {
	var sum float32
	for b := 0; b < len(p.f)/256; b++ {
		blk, x := row[144*b:144*b+144], p.f[256*b:256*b+256]
		d, dmin := f16At(blk, 0), f16At(blk, 2)
		scales, qs := blk[4:16], blk[16:144]
		for j := range 4 {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			x1, x2 := x[64*j:64*j+32], x[64*j+32:64*j+64]
			var q1, q2, s1, s2 float32
			for l, v := range qs[32*j : 32*j+32] {
				q1 += float32(v&0xf) * x1[l]
				q2 += float32(v>>4) * x2[l]
				s1 += x1[l]
				s2 += x2[l]
			}
			sum += d*(float32(sc1)*q1+float32(sc2)*q2) - dmin*(float32(m1)*s1+float32(m2)*s2)
		}
	}
	return sum
}

func dotQ6_K(row []byte, p *prepared) float32 {
	var sum float32
	for b := 0; b < len(p.f)/256; b++ {
		blk, x := row[210*b:210*b+210], p.f[256*b:256*b+256]
		ql, qh, sc := blk[0:128], blk[128:192], blk[192:208]
		var acc [16]float32 // one sum per sub-block of 16 values
		for n := range 2 {
			ql, qh, x := ql[64*n:], qh[32*n:], x[128*n:]
			for l := range 32 {
				is := 8*n + l/16
				acc[is] += float32(int(ql[l]&0xf|(qh[l]&3)<<4)-32) * x[l]
				acc[is+2] += float32(int(ql[l+32]&0xf|(qh[l]>>2&3)<<4)-32) * x[l+32]
				acc[is+4] += float32(int(ql[l]>>4|(qh[l]>>4&3)<<4)-32) * x[l+64]
				acc[is+6] += float32(int(ql[l+32]>>4|(qh[l]>>6&3)<<4)-32) * x[l+96]
			}
		}
		var s float32
		for i, a := range acc {
			s += float32(int8(sc[i])) * a
		}
		sum += f16At(blk, 208) * s
	}
	return sum
}
