//go:build goexperiment.simd

#include "textflag.h"

// The packed Q8_0 and Q4_0 kernels (vnni_simd.go): 16 rows at a time, one
// 512-bit VPDPBUSD per four columns of the 16 rows, with the four
// activations broadcast from memory. simd/archsimd in Go 1.26 has no
// VPDPBUSD, hence assembly. Registers:
//	SI  packed tiles     R8  groups left      R9  blocks per row
//	R10 activations (qs of the first Q8_0 block; blocks are 34 bytes apart)
//	R11 activation scales (float32)   R12 corrections (int32)
//	DX  dst              DI, BX, CX, R13: per-row-group walkers
//	Z0  16 float sums    Z1, Z2 integer sums of a block   Z3..Z7 scratch
// Per block: acc += float32(Σ w·x) · (d_w · d_x), each step rounded as in
// rowsPackedRef (the test's Go version of the same arithmetic).

// func vnniQ8_0(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, xd *float32, xc *int32, dst *float32)
TEXT ·vnniQ8_0(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ groups+8(FP), R8
	MOVQ nb+16(FP), R9
	MOVQ x+24(FP), R10
	MOVQ xd+32(FP), R11
	MOVQ xc+40(FP), R12
	MOVQ dst+48(FP), DX
	TESTQ R8, R8
	JZ q8done

q8group:
	VPXORD Z0, Z0, Z0
	MOVQ R10, DI
	MOVQ R11, BX
	MOVQ R12, CX
	MOVQ R9, R13

q8block:
	// Prefetch a page and more ahead, one line per 64 bytes of tile.
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	PREFETCHT0 4352(SI)
	PREFETCHT0 4416(SI)
	PREFETCHT0 4480(SI)
	PREFETCHT0 4544(SI)
	PREFETCHT0 4608(SI)
	VPBROADCASTD (CX), Z1
	VPXORD Z2, Z2, Z2
	VMOVDQU32 32(SI), Z3
	VMOVDQU32 96(SI), Z4
	VMOVDQU32 160(SI), Z5
	VMOVDQU32 224(SI), Z6
	VPDPBUSD.BCST 0(DI), Z3, Z1
	VPDPBUSD.BCST 4(DI), Z4, Z2
	VPDPBUSD.BCST 8(DI), Z5, Z1
	VPDPBUSD.BCST 12(DI), Z6, Z2
	VMOVDQU32 288(SI), Z3
	VMOVDQU32 352(SI), Z4
	VMOVDQU32 416(SI), Z5
	VMOVDQU32 480(SI), Z6
	VPDPBUSD.BCST 16(DI), Z3, Z1
	VPDPBUSD.BCST 20(DI), Z4, Z2
	VPDPBUSD.BCST 24(DI), Z5, Z1
	VPDPBUSD.BCST 28(DI), Z6, Z2
	VPADDD Z2, Z1, Z1
	VCVTDQ2PS Z1, Z1
	VCVTPH2PS (SI), Z7
	VMULPS.BCST (BX), Z7, Z7
	VMULPS Z7, Z1, Z1
	VADDPS Z1, Z0, Z0
	ADDQ $544, SI
	ADDQ $34, DI
	ADDQ $4, BX
	ADDQ $4, CX
	DECQ R13
	JNZ q8block

	VMOVUPS Z0, (DX)
	ADDQ $64, DX
	DECQ R8
	JNZ q8group

q8done:
	VZEROUPPER
	RET

// func vnniQ4_0(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, xd *float32, xc *int32, dst *float32)
TEXT ·vnniQ4_0(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ groups+8(FP), R8
	MOVQ nb+16(FP), R9
	MOVQ x+24(FP), R10
	MOVQ xd+32(FP), R11
	MOVQ xc+40(FP), R12
	MOVQ dst+48(FP), DX
	TESTQ R8, R8
	JZ q4done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15

q4group:
	VPXORD Z0, Z0, Z0
	MOVQ R10, DI
	MOVQ R11, BX
	MOVQ R12, CX
	MOVQ R9, R13

q4block:
	// Prefetch: the hardware's streamer alone left Q4_0 at 14 GB/s on
	// two threads (19-20 with this); see docs/engine.md.
	PREFETCHT0 6144(SI)
	PREFETCHT0 6208(SI)
	PREFETCHT0 6272(SI)
	PREFETCHT0 6336(SI)
	PREFETCHT0 6400(SI)
	VPBROADCASTD (CX), Z1
	VPXORD Z2, Z2, Z2
	VMOVDQU32 32(SI), Z3
	VMOVDQU32 96(SI), Z5
	VPSRLW $4, Z3, Z4
	VPSRLW $4, Z5, Z6
	VPANDD Z15, Z3, Z3
	VPANDD Z15, Z4, Z4
	VPANDD Z15, Z5, Z5
	VPANDD Z15, Z6, Z6
	VPDPBUSD.BCST 0(DI), Z3, Z1
	VPDPBUSD.BCST 16(DI), Z4, Z2
	VPDPBUSD.BCST 4(DI), Z5, Z1
	VPDPBUSD.BCST 20(DI), Z6, Z2
	VMOVDQU32 160(SI), Z3
	VMOVDQU32 224(SI), Z5
	VPSRLW $4, Z3, Z4
	VPSRLW $4, Z5, Z6
	VPANDD Z15, Z3, Z3
	VPANDD Z15, Z4, Z4
	VPANDD Z15, Z5, Z5
	VPANDD Z15, Z6, Z6
	VPDPBUSD.BCST 8(DI), Z3, Z1
	VPDPBUSD.BCST 24(DI), Z4, Z2
	VPDPBUSD.BCST 12(DI), Z5, Z1
	VPDPBUSD.BCST 28(DI), Z6, Z2
	VPADDD Z2, Z1, Z1
	VCVTDQ2PS Z1, Z1
	VCVTPH2PS (SI), Z7
	VMULPS.BCST (BX), Z7, Z7
	VMULPS Z7, Z1, Z1
	VADDPS Z1, Z0, Z0
	ADDQ $288, SI
	ADDQ $34, DI
	ADDQ $4, BX
	ADDQ $4, CX
	DECQ R13
	JNZ q4block

	VMOVUPS Z0, (DX)
	ADDQ $64, DX
	DECQ R8
	JNZ q4group

q4done:
	VZEROUPPER
	RET

// The batched kernels: the same products for four activation vectors at
// once, each 64-byte chunk of weights loaded once and multiplied with all
// four (prefill: the weights then come from memory once per four tokens
// and from cache otherwise). Each vector's arithmetic is the one-vector
// kernel's, step for step, so the results are the same bits. The
// activations are interleaved per block (actX4, 176 bytes): the four
// vectors' 32 values at 0, 32, 64, 96; their scales at 128; their Q8_0
// corrections at 144 and Q4_0 corrections at 160 (int32).
// Registers: SI tiles, DI activations, R13 blocks left, R8 groups left,
// R9 blocks per row, R10 activations base, DX, R11, R12, R14 the four
// dsts; Z0..Z3 float sums; Z4..Z11 integer sums (two per vector); Z12,
// Z13, Z16, Z17 weights; Z14 scales; Z15 0x0f bytes; Z18 scratch.

// DONE clears the vector registers' upper halves (Z16 and up too) and
// returns.
#define DONE \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VZEROUPPER; \
	RET

// X4CHUNK multiplies the weights in W with the four vectors' activations
// at offset O of the block, into integer sums A (Z4, Z6, Z8, Z10) or B
// (Z5, Z7, Z9, Z11).
#define X4CHUNK(W, O, I0, I1, I2, I3) \
	VPDPBUSD.BCST O(DI), W, I0; \
	VPDPBUSD.BCST (32+O)(DI), W, I1; \
	VPDPBUSD.BCST (64+O)(DI), W, I2; \
	VPDPBUSD.BCST (96+O)(DI), W, I3

// X4START starts the four vectors' integer sums from their corrections
// at offset C of the block.
#define X4START(C) \
	VPBROADCASTD C(DI), Z4; \
	VPBROADCASTD (C+4)(DI), Z6; \
	VPBROADCASTD (C+8)(DI), Z8; \
	VPBROADCASTD (C+12)(DI), Z10; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z11, Z11, Z11

// X4END adds one vector's block into its float sum ACC: integer sums I, J.
#define X4END(I, J, D, ACC) \
	VPADDD J, I, I; \
	VCVTDQ2PS I, I; \
	VMULPS.BCST D(DI), Z14, Z18; \
	VMULPS Z18, I, I; \
	VADDPS I, ACC, ACC

#define X4ENDALL \
	VCVTPH2PS (SI), Z14; \
	X4END(Z4, Z5, 128, Z0); \
	X4END(Z6, Z7, 132, Z1); \
	X4END(Z8, Z9, 136, Z2); \
	X4END(Z10, Z11, 140, Z3)

#define X4GROUP \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	MOVQ R10, DI; \
	MOVQ R9, R13

#define X4STORE \
	VMOVUPS Z0, (DX); \
	VMOVUPS Z1, (R11); \
	VMOVUPS Z2, (R12); \
	VMOVUPS Z3, (R14); \
	ADDQ $64, DX; \
	ADDQ $64, R11; \
	ADDQ $64, R12; \
	ADDQ $64, R14

// func vnniQ8_0x4(w unsafe.Pointer, groups, nb int, a unsafe.Pointer, dst *[4]*float32)
TEXT ·vnniQ8_0x4(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ groups+8(FP), R8
	MOVQ nb+16(FP), R9
	MOVQ a+24(FP), R10
	MOVQ dst+32(FP), AX
	MOVQ 0(AX), DX
	MOVQ 8(AX), R11
	MOVQ 16(AX), R12
	MOVQ 24(AX), R14
	TESTQ R8, R8
	JZ q8x4done
q8x4group:
	X4GROUP
q8x4block:
	PREFETCHT0 4096(SI); PREFETCHT0 4160(SI); PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI); PREFETCHT0 4352(SI); PREFETCHT0 4416(SI)
	PREFETCHT0 4480(SI); PREFETCHT0 4544(SI); PREFETCHT0 4608(SI)
	X4START(144)
	VMOVDQU32 32(SI), Z12
	VMOVDQU32 96(SI), Z13
	X4CHUNK(Z12, 0, Z4, Z6, Z8, Z10)
	X4CHUNK(Z13, 4, Z5, Z7, Z9, Z11)
	VMOVDQU32 160(SI), Z16
	VMOVDQU32 224(SI), Z17
	X4CHUNK(Z16, 8, Z4, Z6, Z8, Z10)
	X4CHUNK(Z17, 12, Z5, Z7, Z9, Z11)
	VMOVDQU32 288(SI), Z12
	VMOVDQU32 352(SI), Z13
	X4CHUNK(Z12, 16, Z4, Z6, Z8, Z10)
	X4CHUNK(Z13, 20, Z5, Z7, Z9, Z11)
	VMOVDQU32 416(SI), Z16
	VMOVDQU32 480(SI), Z17
	X4CHUNK(Z16, 24, Z4, Z6, Z8, Z10)
	X4CHUNK(Z17, 28, Z5, Z7, Z9, Z11)
	X4ENDALL
	ADDQ $544, SI
	ADDQ $176, DI
	DECQ R13
	JNZ q8x4block
	X4STORE
	DECQ R8
	JNZ q8x4group
q8x4done:
	DONE

// X4NIBBLES splits the 64 bytes at OFF(SI) into low nibbles (LO) and high
// nibbles (HI).
#define X4NIBBLES(OFF, LO, HI) \
	VMOVDQU32 OFF(SI), LO; \
	VPSRLW $4, LO, HI; \
	VPANDD Z15, LO, LO; \
	VPANDD Z15, HI, HI

// func vnniQ4_0x4(w unsafe.Pointer, groups, nb int, a unsafe.Pointer, dst *[4]*float32)
TEXT ·vnniQ4_0x4(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ groups+8(FP), R8
	MOVQ nb+16(FP), R9
	MOVQ a+24(FP), R10
	MOVQ dst+32(FP), AX
	MOVQ 0(AX), DX
	MOVQ 8(AX), R11
	MOVQ 16(AX), R12
	MOVQ 24(AX), R14
	TESTQ R8, R8
	JZ q4x4done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
q4x4group:
	X4GROUP
q4x4block:
	PREFETCHT0 6144(SI); PREFETCHT0 6208(SI); PREFETCHT0 6272(SI)
	PREFETCHT0 6336(SI); PREFETCHT0 6400(SI)
	X4START(160)
	X4NIBBLES(32, Z12, Z13)
	X4CHUNK(Z12, 0, Z4, Z6, Z8, Z10)
	X4CHUNK(Z13, 16, Z5, Z7, Z9, Z11)
	X4NIBBLES(96, Z16, Z17)
	X4CHUNK(Z16, 4, Z4, Z6, Z8, Z10)
	X4CHUNK(Z17, 20, Z5, Z7, Z9, Z11)
	X4NIBBLES(160, Z12, Z13)
	X4CHUNK(Z12, 8, Z4, Z6, Z8, Z10)
	X4CHUNK(Z13, 24, Z5, Z7, Z9, Z11)
	X4NIBBLES(224, Z16, Z17)
	X4CHUNK(Z16, 12, Z4, Z6, Z8, Z10)
	X4CHUNK(Z17, 28, Z5, Z7, Z9, Z11)
	X4ENDALL
	ADDQ $288, SI
	ADDQ $176, DI
	DECQ R13
	JNZ q4x4block
	X4STORE
	DECQ R8
	JNZ q4x4group
q4x4done:
	DONE
