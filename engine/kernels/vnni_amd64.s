//go:build goexperiment.simd

#include "textflag.h"

// X4ARGS loads the batched kernels' arguments (w, groups, nb, a, dst):
// tiles in SI, groups in R8, blocks per row in R9, activations in R10 and
// the four dsts in DX, R11, R12, R14. (Macros that name arguments come
// before the first TEXT, where vet's frame check does not attribute them
// to a function.)
#define X4ARGS \
	MOVQ w+0(FP), SI; \
	MOVQ groups+8(FP), R8; \
	MOVQ nb+16(FP), R9; \
	MOVQ a+24(FP), R10; \
	MOVQ dst+32(FP), AX; \
	MOVQ 0(AX), DX; \
	MOVQ 8(AX), R11; \
	MOVQ 16(AX), R12; \
	MOVQ 24(AX), R14

// PF4 prefetches the four cache lines from OFF(SI) on.
#define PF4(OFF) \
	PREFETCHT0 OFF(SI); PREFETCHT0 (OFF+64)(SI); PREFETCHT0 (OFF+128)(SI); PREFETCHT0 (OFF+192)(SI)

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
	PF4(4096)
	PF4(4352)
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
	PF4(6144)
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
	X4ARGS
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
	X4ARGS
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

// The packed Q4_K kernels (tiles of 16 rows × 256 columns, see pack.go)
// with Q8_K activations. Per super-block and vector: the integer dot of
// each sub-block of 32 (unsigned nibbles × activations, VPDPBUSD) times its
// scale, summed over the eight sub-blocks (Isc), and the mins times the
// activations' sub-block sums (Imin), both exact in int32; then
// acc = (acc + float(Isc)·(d·dx)) − float(Imin)·(dmin·dx), each step
// rounded as in packedRefQ4K (pack_test.go).

// K1CHUNK: chunk C of sub-block pair JJ of the tile at SI into the even
// and odd sub-blocks' sums Z3 and Z4, activations at DI+XQ.
#define K1CHUNK(JJ, C, XQ) \
	VMOVDQU32 (320+512*JJ+64*C)(SI), Z5; \
	VPSRLW $4, Z5, Z6; \
	VPANDD Z27, Z5, Z5; \
	VPANDD Z27, Z6, Z6; \
	VPDPBUSD.BCST (XQ+64*JJ+4*C)(DI), Z5, Z3; \
	VPDPBUSD.BCST (XQ+64*JJ+32+4*C)(DI), Z6, Z4

// K1PAIR: sub-blocks 2JJ and 2JJ+1, scaled, into Z1.
#define K1PAIR(JJ, XQ) \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	K1CHUNK(JJ, 0, XQ); K1CHUNK(JJ, 1, XQ); K1CHUNK(JJ, 2, XQ); K1CHUNK(JJ, 3, XQ); \
	K1CHUNK(JJ, 4, XQ); K1CHUNK(JJ, 5, XQ); K1CHUNK(JJ, 6, XQ); K1CHUNK(JJ, 7, XQ); \
	VPMOVZXBD (64+32*JJ)(SI), Z7; \
	VPMULLD Z7, Z3, Z3; \
	VPADDD Z3, Z1, Z1; \
	VPMOVZXBD (64+32*JJ+16)(SI), Z7; \
	VPMULLD Z7, Z4, Z4; \
	VPADDD Z4, Z1, Z1

// KMIN: sub-block J's mins times the activations' sum at OFF(BX) + 4J
// into IMIN.
#define KMIN(J, OFF, IMIN, T) \
	VPMOVZXBD (192+16*J)(SI), T; \
	VPMULLD.BCST (OFF+4*J)(BX), T, T; \
	VPADDD T, IMIN, IMIN

// func vnniQ4_K(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, bs *int32, dst *float32)
// x: the Q8_K blocks (292 bytes: d, 256 values, 16 sums); bs: eight int32
// sub-block sums per block.
TEXT ·vnniQ4_K(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ groups+8(FP), R8
	MOVQ nb+16(FP), R9
	MOVQ x+24(FP), R10
	MOVQ bs+32(FP), R11
	MOVQ dst+40(FP), DX
	TESTQ R8, R8
	JZ k1done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z27
k1group:
	VPXORD Z0, Z0, Z0
	MOVQ R10, DI
	MOVQ R11, BX
	MOVQ R9, R13
k1block:
	PF4(4096)
	PF4(4352)
	PF4(4608)
	PF4(4864)
	PF4(5120)
	PF4(5376)
	PF4(5632)
	PF4(5888)
	PF4(6144)
	PREFETCHT0 6400(SI)
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	K1PAIR(0, 4)
	K1PAIR(1, 4)
	K1PAIR(2, 4)
	K1PAIR(3, 4)
	KMIN(0, 0, Z2, Z7); KMIN(1, 0, Z2, Z7); KMIN(2, 0, Z2, Z7); KMIN(3, 0, Z2, Z7)
	KMIN(4, 0, Z2, Z7); KMIN(5, 0, Z2, Z7); KMIN(6, 0, Z2, Z7); KMIN(7, 0, Z2, Z7)
	VCVTDQ2PS Z1, Z1
	VCVTDQ2PS Z2, Z2
	VCVTPH2PS 0(SI), Z8
	VMULPS.BCST 0(DI), Z8, Z8
	VCVTPH2PS 32(SI), Z9
	VMULPS.BCST 0(DI), Z9, Z9
	VMULPS Z8, Z1, Z1
	VMULPS Z9, Z2, Z2
	VADDPS Z1, Z0, Z0
	VSUBPS Z2, Z0, Z0
	ADDQ $2368, SI
	ADDQ $292, DI
	ADDQ $32, BX
	DECQ R13
	JNZ k1block
	VMOVUPS Z0, (DX)
	ADDQ $64, DX
	DECQ R8
	JNZ k1group
k1done:
	VPXORD Z27, Z27, Z27
	VZEROUPPER
	RET

// The batched packed Q4_K kernel: four Q8_K activation vectors at once,
// interleaved per super-block (actK4, 1424 bytes: their 256 values at
// 256·v, scales at 1024, sums of 32 at 1040 + 32·v, Q6_K's −32 × sums of
// 16 at 1168 + 64·v), each weight chunk
// loaded once for all four; each vector's arithmetic is vnniQ4_K's.
// Registers: Z0..Z3 float sums, Z4..Z7 Isc, Z12..Z19 the sub-block pair's
// dot products (two per vector), Z20, Z21 nibbles, Z22, Z23 scales,
// Z24, Z25 d·dx and dmin·dx, Z8, Z26 scratch, Z27 0x0f bytes.

#define K4DOT(V, JJ, C, E, O) \
	VPDPBUSD.BCST (256*V+64*JJ+4*C)(DI), Z20, E; \
	VPDPBUSD.BCST (256*V+64*JJ+32+4*C)(DI), Z21, O

#define K4CHUNK(JJ, C) \
	VMOVDQU32 (320+512*JJ+64*C)(SI), Z20; \
	VPSRLW $4, Z20, Z21; \
	VPANDD Z27, Z20, Z20; \
	VPANDD Z27, Z21, Z21; \
	K4DOT(0, JJ, C, Z12, Z13); \
	K4DOT(1, JJ, C, Z14, Z15); \
	K4DOT(2, JJ, C, Z16, Z17); \
	K4DOT(3, JJ, C, Z18, Z19)

#define K4SCALE(E, O, ISC) \
	VPMULLD Z22, E, E; \
	VPADDD E, ISC, ISC; \
	VPMULLD Z23, O, O; \
	VPADDD O, ISC, ISC

#define K4PAIR(JJ) \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17; VPXORD Z18, Z18, Z18; VPXORD Z19, Z19, Z19; \
	K4CHUNK(JJ, 0); K4CHUNK(JJ, 1); K4CHUNK(JJ, 2); K4CHUNK(JJ, 3); \
	K4CHUNK(JJ, 4); K4CHUNK(JJ, 5); K4CHUNK(JJ, 6); K4CHUNK(JJ, 7); \
	VPMOVZXBD (64+32*JJ)(SI), Z22; \
	VPMOVZXBD (64+32*JJ+16)(SI), Z23; \
	K4SCALE(Z12, Z13, Z4); \
	K4SCALE(Z14, Z15, Z5); \
	K4SCALE(Z16, Z17, Z6); \
	K4SCALE(Z18, Z19, Z7)

// K4KMIN: sub-block J's mins times vector V's sub-block sum into Z8.
#define K4KMIN(V, J) \
	VPMOVZXBD (192+16*J)(SI), Z26; \
	VPMULLD.BCST (1040+32*V+4*J)(DI), Z26, Z26; \
	VPADDD Z26, Z8, Z8

// K4END: vector V's super-block into its float sum ACC (ISC its Isc).
#define K4END(V, ISC, ACC) \
	VPXORD Z8, Z8, Z8; \
	K4KMIN(V, 0); K4KMIN(V, 1); K4KMIN(V, 2); K4KMIN(V, 3); \
	K4KMIN(V, 4); K4KMIN(V, 5); K4KMIN(V, 6); K4KMIN(V, 7); \
	VCVTDQ2PS ISC, ISC; \
	VCVTDQ2PS Z8, Z8; \
	VCVTPH2PS 0(SI), Z24; \
	VMULPS.BCST (1024+4*V)(DI), Z24, Z24; \
	VCVTPH2PS 32(SI), Z25; \
	VMULPS.BCST (1024+4*V)(DI), Z25, Z25; \
	VMULPS Z24, ISC, ISC; \
	VMULPS Z25, Z8, Z8; \
	VADDPS ISC, ACC, ACC; \
	VSUBPS Z8, ACC, ACC

// func vnniQ4_Kx4(w unsafe.Pointer, groups, nb int, a unsafe.Pointer, dst *[4]*float32)
TEXT ·vnniQ4_Kx4(SB), NOSPLIT, $0-40
	X4ARGS
	TESTQ R8, R8
	JZ k4done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z27
k4group:
	X4GROUP
k4block:
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	K4PAIR(0)
	K4PAIR(1)
	K4PAIR(2)
	K4PAIR(3)
	K4END(0, Z4, Z0)
	K4END(1, Z5, Z1)
	K4END(2, Z6, Z2)
	K4END(3, Z7, Z3)
	ADDQ $2368, SI
	ADDQ $1424, DI
	DECQ R13
	JNZ k4block
	X4STORE
	DECQ R8
	JNZ k4group
k4done:
	VPXORD Z19, Z19, Z19; VPXORD Z20, Z20, Z20; VPXORD Z21, Z21, Z21; VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23; VPXORD Z24, Z24, Z24; VPXORD Z25, Z25, Z25; VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	DONE

// The packed Q6_K kernels (tiles of 16 rows × 256 columns, see pack.go)
// with Q8_K activations. The 6-bit values are put together from their ql
// nibble and qh pair in registers (unsigned 0..63); each sub-block of 16's
// integer sum starts from −32 × its activations' sum (the values' offset),
// is multiplied by its signed scale and added into Isc; then
// acc += float(Isc)·(d·dx), rounded as in packedRefQ6K (pack_test.go).
// Each half of 128 columns is done in two passes over its chunks: the
// ql low nibbles (columns +0 and +32 of the half) and the high ones (+64,
// +96), so that fewer sums are live. Z26 holds 0x0f bytes, Z25 0x30.

// Q6LOAD: chunk C of half N: ql parts into Z5 (columns +0/+64) and Z6
// (+32/+96), qh into Z7.
#define Q6LOAD(N, C) \
	VMOVDQU32 (288+1024*N+64*C)(SI), Z5; \
	VMOVDQU32 (288+1024*N+512+64*C)(SI), Z6; \
	VMOVDQU32 (2336+512*N+64*C)(SI), Z7

// Q6LOW makes the values of columns 128N+4C.. (Z5) and 128N+32+4C.. (Z6).
#define Q6LOW \
	VPANDD Z26, Z5, Z5; \
	VPANDD Z26, Z6, Z6; \
	VPSLLW $4, Z7, Z8; \
	VPSLLW $2, Z7, Z9; \
	VPANDD Z25, Z8, Z8; \
	VPANDD Z25, Z9, Z9; \
	VPORD Z8, Z5, Z5; \
	VPORD Z9, Z6, Z6

// Q6HIGH makes those of columns 128N+64+4C.. (Z5) and 128N+96+4C.. (Z6).
#define Q6HIGH \
	VPSRLW $4, Z5, Z5; \
	VPSRLW $4, Z6, Z6; \
	VPSRLW $2, Z7, Z9; \
	VPANDD Z26, Z5, Z5; \
	VPANDD Z26, Z6, Z6; \
	VPANDD Z25, Z7, Z8; \
	VPANDD Z25, Z9, Z9; \
	VPORD Z8, Z5, Z5; \
	VPORD Z9, Z6, Z6

// Q6SCALE multiplies sub-block J's sum S by its scales, into ISC.
#define Q6SCALE(J, S, ISC) \
	VPMOVSXBD (32+16*J)(SI), Z10; \
	VPMULLD Z10, S, S; \
	VPADDD S, ISC, ISC

// Q61CH: one vector, chunk C, pass columns +K0 and +K1, into Z3, Z4.
#define Q61CH(N, C, PASS, K0, K1) \
	Q6LOAD(N, C); \
	PASS; \
	VPDPBUSD.BCST (4+128*N+K0+4*C)(DI), Z5, Z3; \
	VPDPBUSD.BCST (4+128*N+K1+4*C)(DI), Z6, Z4

// Q61Q: one vector, a quarter of half N: chunks 4G..4G+3 of one pass,
// whose columns fall in sub-blocks J0 (from Z5) and J1 (from Z6).
#define Q61Q(N, G, PASS, K0, K1, J0, J1) \
	VPBROADCASTD (4*J0)(BX), Z3; \
	VPBROADCASTD (4*J1)(BX), Z4; \
	Q61CH(N, (4*G), PASS, K0, K1); \
	Q61CH(N, (4*G+1), PASS, K0, K1); \
	Q61CH(N, (4*G+2), PASS, K0, K1); \
	Q61CH(N, (4*G+3), PASS, K0, K1); \
	Q6SCALE(J0, Z3, Z1); \
	Q6SCALE(J1, Z4, Z1)

// func vnniQ6_K(w unsafe.Pointer, groups, nb int, x unsafe.Pointer, c6 *int32, dst *float32)
// x: the Q8_K blocks (292 bytes: d, 256 values, 16 sums); c6: sixteen
// int32 −32 × sums of 16 per block.
TEXT ·vnniQ6_K(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ groups+8(FP), R8
	MOVQ nb+16(FP), R9
	MOVQ x+24(FP), R10
	MOVQ c6+32(FP), R11
	MOVQ dst+40(FP), DX
	TESTQ R8, R8
	JZ q6done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z26
	MOVL $0x30303030, AX
	VPBROADCASTD AX, Z25
q6group:
	VPXORD Z0, Z0, Z0
	MOVQ R10, DI
	MOVQ R11, BX
	MOVQ R9, R13
q6block:
	PF4(4096)
	PF4(4352)
	PF4(4608)
	PF4(4864)
	PF4(5120)
	PF4(5376)
	PF4(5632)
	PF4(5888)
	PF4(6144)
	PF4(6400)
	PF4(6656)
	PF4(6912)
	PF4(7168)
	PREFETCHT0 7424(SI)
	VPXORD Z1, Z1, Z1
	Q61Q(0, 0, Q6LOW, 0, 32, 0, 2)
	Q61Q(0, 1, Q6LOW, 0, 32, 1, 3)
	Q61Q(0, 0, Q6HIGH, 64, 96, 4, 6)
	Q61Q(0, 1, Q6HIGH, 64, 96, 5, 7)
	Q61Q(1, 0, Q6LOW, 0, 32, 8, 10)
	Q61Q(1, 1, Q6LOW, 0, 32, 9, 11)
	Q61Q(1, 0, Q6HIGH, 64, 96, 12, 14)
	Q61Q(1, 1, Q6HIGH, 64, 96, 13, 15)
	VCVTDQ2PS Z1, Z1
	VCVTPH2PS 0(SI), Z8
	VMULPS.BCST 0(DI), Z8, Z8
	VMULPS Z8, Z1, Z1
	VADDPS Z1, Z0, Z0
	ADDQ $3360, SI
	ADDQ $292, DI
	ADDQ $64, BX
	DECQ R13
	JNZ q6block
	VMOVUPS Z0, (DX)
	ADDQ $64, DX
	DECQ R8
	JNZ q6group
q6done:
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VZEROUPPER
	RET

// The batched Q6_K kernel: four vectors (actK4) per weight chunk.
// Registers: Z0..Z3 float sums, Z11..Z14 Isc, Z15..Z22 the quarter's
// sub-block sums (two per vector), Z5..Z10 scratch, Z24 d, Z25, Z26 masks.

#define Q64DOT(V, N, C, K0, K1, E, O) \
	VPDPBUSD.BCST (256*V+128*N+K0+4*C)(DI), Z5, E; \
	VPDPBUSD.BCST (256*V+128*N+K1+4*C)(DI), Z6, O

#define Q64CH(N, C, PASS, K0, K1) \
	Q6LOAD(N, C); \
	PASS; \
	Q64DOT(0, N, C, K0, K1, Z15, Z16); \
	Q64DOT(1, N, C, K0, K1, Z17, Z18); \
	Q64DOT(2, N, C, K0, K1, Z19, Z20); \
	Q64DOT(3, N, C, K0, K1, Z21, Z22)

#define Q64START(J0, J1) \
	VPBROADCASTD (1168+4*J0)(DI), Z15; VPBROADCASTD (1168+4*J1)(DI), Z16; \
	VPBROADCASTD (1232+4*J0)(DI), Z17; VPBROADCASTD (1232+4*J1)(DI), Z18; \
	VPBROADCASTD (1296+4*J0)(DI), Z19; VPBROADCASTD (1296+4*J1)(DI), Z20; \
	VPBROADCASTD (1360+4*J0)(DI), Z21; VPBROADCASTD (1360+4*J1)(DI), Z22

#define Q64SCALE(J, ISC0, ISC1, ISC2, ISC3, S0, S1, S2, S3) \
	VPMOVSXBD (32+16*J)(SI), Z10; \
	VPMULLD Z10, S0, S0; VPADDD S0, ISC0, ISC0; \
	VPMULLD Z10, S1, S1; VPADDD S1, ISC1, ISC1; \
	VPMULLD Z10, S2, S2; VPADDD S2, ISC2, ISC2; \
	VPMULLD Z10, S3, S3; VPADDD S3, ISC3, ISC3

#define Q64Q(N, G, PASS, K0, K1, J0, J1) \
	Q64START(J0, J1); \
	Q64CH(N, (4*G), PASS, K0, K1); \
	Q64CH(N, (4*G+1), PASS, K0, K1); \
	Q64CH(N, (4*G+2), PASS, K0, K1); \
	Q64CH(N, (4*G+3), PASS, K0, K1); \
	Q64SCALE(J0, Z11, Z12, Z13, Z14, Z15, Z17, Z19, Z21); \
	Q64SCALE(J1, Z11, Z12, Z13, Z14, Z16, Z18, Z20, Z22)

#define Q64END(V, ISC, ACC) \
	VCVTDQ2PS ISC, ISC; \
	VCVTPH2PS 0(SI), Z24; \
	VMULPS.BCST (1024+4*V)(DI), Z24, Z24; \
	VMULPS Z24, ISC, ISC; \
	VADDPS ISC, ACC, ACC

// func vnniQ6_Kx4(w unsafe.Pointer, groups, nb int, a unsafe.Pointer, dst *[4]*float32)
TEXT ·vnniQ6_Kx4(SB), NOSPLIT, $0-40
	X4ARGS
	TESTQ R8, R8
	JZ q6x4done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z26
	MOVL $0x30303030, AX
	VPBROADCASTD AX, Z25
q6x4group:
	X4GROUP
q6x4block:
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	Q64Q(0, 0, Q6LOW, 0, 32, 0, 2)
	Q64Q(0, 1, Q6LOW, 0, 32, 1, 3)
	Q64Q(0, 0, Q6HIGH, 64, 96, 4, 6)
	Q64Q(0, 1, Q6HIGH, 64, 96, 5, 7)
	Q64Q(1, 0, Q6LOW, 0, 32, 8, 10)
	Q64Q(1, 1, Q6LOW, 0, 32, 9, 11)
	Q64Q(1, 0, Q6HIGH, 64, 96, 12, 14)
	Q64Q(1, 1, Q6HIGH, 64, 96, 13, 15)
	Q64END(0, Z11, Z0)
	Q64END(1, Z12, Z1)
	Q64END(2, Z13, Z2)
	Q64END(3, Z14, Z3)
	ADDQ $3360, SI
	ADDQ $1424, DI
	DECQ R13
	JNZ q6x4block
	X4STORE
	DECQ R8
	JNZ q6x4group
q6x4done:
	VPXORD Z19, Z19, Z19; VPXORD Z20, Z20, Z20; VPXORD Z21, Z21, Z21; VPXORD Z22, Z22, Z22
	VPXORD Z24, Z24, Z24; VPXORD Z25, Z25, Z25; VPXORD Z26, Z26, Z26
	DONE
