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
