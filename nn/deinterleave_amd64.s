//go:build amd64 && !purego

#include "textflag.h"

// func deinterleave32(a, b, src *float32, n int)
//
// a[i] = src[2i], b[i] = src[2i+1] for i < n; n is a multiple of 8.
TEXT ·deinterleave32(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ src+16(FP), DX
	MOVQ n+24(FP), CX

loop:
	CMPQ CX, $8
	JLT done
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VSHUFPS $0x88, Y1, Y0, Y2 // per lane: Y0[0] Y0[2] Y1[0] Y1[2]
	VSHUFPS $0xDD, Y1, Y0, Y3 // per lane: Y0[1] Y0[3] Y1[1] Y1[3]
	VPERMPD $0xD8, Y2, Y2
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, (SI)
	ADDQ $64, DX
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP loop

done:
	VZEROUPPER
	RET
