//go:build amd64 && !purego

#include "textflag.h"

// The loops of the pointwise MLP op (AVX2 + FMA; callers check
// useAsmKernels and pass lengths that are multiples of 8). They use VEX
// instructions only: one legacy SSE instruction among them (a MOVQ to an
// XMM register, say) costs more than a short call's whole loop.

DATA pwOne<>+0(SB)/4, $0x3f800000
GLOBL pwOne<>(SB), RODATA|NOPTR, $4

// func pwRow32(k, n int, a *float32, acs int, x *float32, ldx int, b float32, y *float32, flags int, slope float32)
//
// For p < n: v = b + (flags&1 ? y[p] : 0) + Σ_c<k a[c·acs]·x[c·ldx + p];
// with flags&2, v is multiplied by slope where its sign bit is set; y[p] = v.
TEXT ·pwRow32(SB), NOSPLIT, $0-76
	MOVQ k+0(FP), CX
	MOVQ n+8(FP), DX
	MOVQ a+16(FP), SI
	MOVQ acs+24(FP), R8
	SHLQ $2, R8
	MOVQ x+32(FP), DI
	MOVQ ldx+40(FP), R9
	SHLQ $2, R9
	VBROADCASTSS b+48(FP), Y15
	MOVQ y+56(FP), BX
	MOVQ flags+64(FP), R10
	VBROADCASTSS slope+72(FP), Y14
	VBROADCASTSS pwOne<>(SB), Y13
pr_loop64:
	CMPQ DX, $64
	JL   pr_loop8
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	VMOVAPS Y15, Y4
	VMOVAPS Y15, Y5
	VMOVAPS Y15, Y6
	VMOVAPS Y15, Y7
	TESTQ $1, R10
	JZ    pr64_sum
	VADDPS 0(BX), Y0, Y0
	VADDPS 32(BX), Y1, Y1
	VADDPS 64(BX), Y2, Y2
	VADDPS 96(BX), Y3, Y3
	VADDPS 128(BX), Y4, Y4
	VADDPS 160(BX), Y5, Y5
	VADDPS 192(BX), Y6, Y6
	VADDPS 224(BX), Y7, Y7
pr64_sum:
	MOVQ  SI, R11
	MOVQ  DI, R12
	MOVQ  CX, R13
	TESTQ R13, R13
	JZ    pr64_act
pr64_c:
	VBROADCASTSS (R11), Y8
	VFMADD231PS 0(R12), Y8, Y0
	VFMADD231PS 32(R12), Y8, Y1
	VFMADD231PS 64(R12), Y8, Y2
	VFMADD231PS 96(R12), Y8, Y3
	VFMADD231PS 128(R12), Y8, Y4
	VFMADD231PS 160(R12), Y8, Y5
	VFMADD231PS 192(R12), Y8, Y6
	VFMADD231PS 224(R12), Y8, Y7
	ADDQ R8, R11
	ADDQ R9, R12
	DECQ R13
	JNZ  pr64_c
pr64_act:
	TESTQ $2, R10
	JZ    pr64_store
	VBLENDVPS Y0, Y14, Y13, Y8
	VMULPS Y8, Y0, Y0
	VBLENDVPS Y1, Y14, Y13, Y9
	VMULPS Y9, Y1, Y1
	VBLENDVPS Y2, Y14, Y13, Y10
	VMULPS Y10, Y2, Y2
	VBLENDVPS Y3, Y14, Y13, Y11
	VMULPS Y11, Y3, Y3
	VBLENDVPS Y4, Y14, Y13, Y8
	VMULPS Y8, Y4, Y4
	VBLENDVPS Y5, Y14, Y13, Y9
	VMULPS Y9, Y5, Y5
	VBLENDVPS Y6, Y14, Y13, Y10
	VMULPS Y10, Y6, Y6
	VBLENDVPS Y7, Y14, Y13, Y11
	VMULPS Y11, Y7, Y7
pr64_store:
	VMOVUPS Y0, 0(BX)
	VMOVUPS Y1, 32(BX)
	VMOVUPS Y2, 64(BX)
	VMOVUPS Y3, 96(BX)
	VMOVUPS Y4, 128(BX)
	VMOVUPS Y5, 160(BX)
	VMOVUPS Y6, 192(BX)
	VMOVUPS Y7, 224(BX)
	ADDQ $256, BX
	ADDQ $256, DI
	SUBQ $64, DX
	JMP  pr_loop64
pr_loop8:
	CMPQ DX, $8
	JL   pr_done
	VMOVAPS Y15, Y0
	TESTQ $1, R10
	JZ    pr8_sum
	VADDPS (BX), Y0, Y0
pr8_sum:
	MOVQ  SI, R11
	MOVQ  DI, R12
	MOVQ  CX, R13
	TESTQ R13, R13
	JZ    pr8_act
pr8_c:
	VBROADCASTSS (R11), Y8
	VFMADD231PS  (R12), Y8, Y0
	ADDQ R8, R11
	ADDQ R9, R12
	DECQ R13
	JNZ  pr8_c
pr8_act:
	TESTQ $2, R10
	JZ    pr8_store
	VBLENDVPS Y0, Y14, Y13, Y8
	VMULPS    Y8, Y0, Y0
pr8_store:
	VMOVUPS Y0, (BX)
	ADDQ $32, BX
	ADDQ $32, DI
	SUBQ $8, DX
	JMP  pr_loop8
pr_done:
	VZEROUPPER
	RET

// func pwDots32(k, n int, a, x *float32, ldx int, out *float32)
//
// out[c] = Σ_p<n a[p]·x[c·ldx + p] for c < k.
TEXT ·pwDots32(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ n+8(FP), DX
	MOVQ a+16(FP), SI
	MOVQ x+24(FP), DI
	MOVQ ldx+32(FP), R9
	SHLQ $2, R9
	MOVQ out+40(FP), BX
	TESTQ CX, CX
	JZ    pd_done
pd_row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, R11
	MOVQ DI, R12
	MOVQ DX, R13
pd_loop32:
	CMPQ R13, $32
	JL   pd_loop8
	VMOVUPS (R11), Y4
	VMOVUPS 32(R11), Y5
	VMOVUPS 64(R11), Y6
	VMOVUPS 96(R11), Y7
	VFMADD231PS (R12), Y4, Y0
	VFMADD231PS 32(R12), Y5, Y1
	VFMADD231PS 64(R12), Y6, Y2
	VFMADD231PS 96(R12), Y7, Y3
	ADDQ $128, R11
	ADDQ $128, R12
	SUBQ $32, R13
	JMP  pd_loop32
pd_loop8:
	CMPQ R13, $8
	JL   pd_reduce
	VMOVUPS (R11), Y4
	VFMADD231PS (R12), Y4, Y0
	ADDQ $32, R11
	ADDQ $32, R12
	SUBQ $8, R13
	JMP  pd_loop8
pd_reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS  X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS  X0, (BX)
	ADDQ $4, BX
	ADDQ R9, DI
	DECQ CX
	JNZ  pd_row
pd_done:
	VZEROUPPER
	RET

// func leakyMul32(dst, pre, src []float32, slope float32)
//
// dst[i] = src[i]·(slope where the sign bit of pre[i] is set, 1 elsewhere)
// for i < len(pre) rounded down to a multiple of 8.
TEXT ·leakyMul32(SB), NOSPLIT, $0-76
	MOVQ dst_base+0(FP), DI
	MOVQ pre_base+24(FP), SI
	MOVQ pre_len+32(FP), CX
	MOVQ src_base+48(FP), DX
	VBROADCASTSS slope+72(FP), Y14
	VBROADCASTSS pwOne<>(SB), Y13
	SHRQ $3, CX
	JZ   lm_done
lm_loop:
	VMOVUPS   (SI), Y0
	VBLENDVPS Y0, Y14, Y13, Y1
	VMULPS    (DX), Y1, Y1
	VMOVUPS   Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  lm_loop
lm_done:
	VZEROUPPER
	RET
