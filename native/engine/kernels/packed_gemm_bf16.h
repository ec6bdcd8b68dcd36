// The packed linear layer in bfloat16 on CPUs with AVX-512 BF16 (Zen 4 and later, Intel Cooper Lake
// and Sapphire Rapids): y[m, n] = act(x[m, :] . w[n, :] + bias[n]) with the weights and x rounded
// to bf16 and everything else float32 (the products' sums, the bias, the GELU, the output; the
// operator, packed_linear_op.h, rounds the output to bf16 as libtorch's bf16 linear does).
//
// Why: at batch 1 a forward is bound by reading the weights, and bf16 halves them; at large batches
// `vdpbf16ps` does two multiply-adds per float32 lane where an FMA does one.
//
// Layout: the float32 kernel's (packed_gemm.h), with a k-block of 512 (the same 16 KiB slice per
// panel) and k in pairs: for each pair kp of a k-block and panel p, 16 columns x 2 bf16, column c's
// w[c, 2kp] then w[c, 2kp + 1] (the operand order `vdpbf16ps` multiplies x's pairs by); an odd k is
// padded with a zero. The bias stays float32, padded to whole panels, in its own buffer. x is
// rounded to bf16 (nearest even, `vcvtne2ps2bf16`) while each thread packs its block of it.
//
// Answers: each output is summed in the same order (k pairs, k-blocks, then bias and GELU, by the
// epilogue the float32 kernel uses) whichever thread computes it and whichever rows share its call,
// so every batch size and thread split gives the same bits.
#pragma once
#include <cstdint>

#include "engine/kernels/packed_gemm.h"

namespace bert::kernels {

// True when this CPU runs the bf16 kernel (AVX-512F and AVX-512 BF16).
bool bf16_gemm_supported();

// bf16 values (uint16 bit patterns) in a packed buffer for an n x k weight.
int64_t packed_bf16_values(int64_t n, int64_t k);
// Packs row-major bf16 w [n, k] into `out` (packed_bf16_values(n, k), 64-byte aligned).
void pack_weights_bf16(const uint16_t* w, int64_t n, int64_t k, uint16_t* out);

// Computes the columns of panels [panel_begin, panel_end) of y = act(x w^T + bias), as gemm() in
// packed_gemm.h. bias: panels(n) * kPanel floats (64-byte aligned, zero past n). bf16_gemm_supported()
// must be true.
void gemm_bf16(const float* x, int64_t lda, int64_t m, const uint16_t* packed, const float* bias, int64_t n, int64_t k, Activation act,
               float* y, int64_t ldy, int64_t panel_begin, int64_t panel_end);

}  // namespace bert::kernels
