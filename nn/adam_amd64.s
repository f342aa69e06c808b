//go:build amd64 && !purego

#include "textflag.h"

// func adamUpdate32(w, grad *float32, m, v *float64, n int, c *adamConsts, decoupled bool)
//
// Four elements at a time in float64, with the operations of adamUpdate in
// its order (no fused multiply-adds; division and square root are correctly
// rounded), so that the results are those of the Go loop bit for bit. n is
// a multiple of 4. Zeroes g.
TEXT ·adamUpdate32(SB), NOSPLIT, $0-49
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	MOVBLZX decoupled+48(FP), DX
	VBROADCASTSD 0(AX), Y8   // b1
	VBROADCASTSD 8(AX), Y9   // 1 − b1
	VBROADCASTSD 16(AX), Y10 // b2
	VBROADCASTSD 24(AX), Y11 // 1 − b2
	VBROADCASTSD 32(AX), Y12 // lr
	VBROADCASTSD 40(AX), Y13 // lr·wd (decoupled) or wd
	VBROADCASTSD 48(AX), Y14 // c1
	VBROADCASTSD 56(AX), Y15 // c2
	VBROADCASTSD 64(AX), Y7  // eps
	VXORPS X6, X6, X6

loop:
	CMPQ CX, $4
	JLT done
	VCVTPS2PD (DI), Y0 // w
	VCVTPS2PD (SI), Y1 // g
	TESTQ DX, DX
	JZ coupled
	VMULPD Y13, Y0, Y2 // lr·wd·w
	VSUBPD Y2, Y0, Y0  // w −= lr·wd·w
	JMP moments

coupled:
	VMULPD Y13, Y0, Y2 // wd·w
	VADDPD Y2, Y1, Y1  // g += wd·w

moments:
	VMULPD (R8), Y8, Y2 // b1·m
	VMULPD Y9, Y1, Y3   // (1 − b1)·g
	VADDPD Y3, Y2, Y2   // m
	VMULPD (R9), Y10, Y3 // b2·v
	VMULPD Y11, Y1, Y4   // (1 − b2)·g
	VMULPD Y1, Y4, Y4    // ·g
	VADDPD Y4, Y3, Y3    // v
	VMOVUPD Y2, (R8)
	VMOVUPD Y3, (R9)
	VDIVPD Y15, Y3, Y4 // v/c2
	VSQRTPD Y4, Y4
	VADDPD Y7, Y4, Y4  // + eps
	VDIVPD Y14, Y2, Y5 // m/c1
	VMULPD Y12, Y5, Y5 // lr·(m/c1)
	VDIVPD Y4, Y5, Y5
	VSUBPD Y5, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)
	VMOVUPS X6, (SI)
	ADDQ $16, DI
	ADDQ $16, SI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $4, CX
	JMP loop

done:
	VZEROUPPER
	RET
