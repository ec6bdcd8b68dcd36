#include "engine/kernels/packed_gemm_bf16.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/kernels/avx512_epilogue.h"

namespace bert::kernels {
namespace {

// k per k-block: 256 pairs, so a panel's slice is 16 KiB as in the float32 kernel (L1), and the
// packed x block (144 rows x 512 bf16) fills the same thread buffer.
constexpr int64_t kKc = 512;
constexpr int64_t kMc = kRowBlock;
constexpr int kRows = static_cast<int>(kRowGroup);
constexpr int64_t kPrefetchPairs = 64;  // pair steps (64-byte lines) ahead
static_assert(kMc * kKc * sizeof(uint16_t) <= kThreadBlockBytes, "the packed x block outgrows thread_block()");

int64_t even(int64_t k) { return (k + 1) & ~int64_t{1}; }

}  // namespace

bool bf16_gemm_supported() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
  return ok;
}

int64_t packed_bf16_values(int64_t n, int64_t k) { return panels(n) * kPanel * even(k); }

void pack_weights_bf16(const uint16_t* w, int64_t n, int64_t k, uint16_t* out) {
  const int64_t np = panels(n);
  for (int64_t pc = 0; pc < k; pc += kKc) {
    const int64_t kc = std::min(kKc, k - pc), kcp = even(kc);
    for (int64_t p = 0; p < np; ++p) {
      uint16_t* slice = out + slice_offset(pc, p, kcp, np);
      for (int64_t kk = 0; kk < kcp; ++kk)
        for (int64_t c = 0; c < kPanel; ++c) {
          const int64_t row = p * kPanel + c;
          slice[(kk / 2) * 2 * kPanel + 2 * c + (kk & 1)] = row < n && kk < kc ? w[row * k + pc + kk] : 0;
        }
    }
  }
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bf16")
namespace {

// MR (1-12) rows x NP (1-2) panels over kp pairs of k, as block512 in packed_gemm.cc: rows 0-5 from
// the packed group a0 (one 32-bit pair per row and k pair), rows 6-11 from a1; panel j's slice is bj.
template <int MR, int NP, bool PF>
inline void block(int64_t kp, const uint32_t* a0, const uint32_t* a1, const uint16_t* b0, const uint16_t* b1, float* c, int64_t ldc,
                  bool accumulate, const float* bias, Activation act) {
  constexpr int R0 = MR > kRows ? kRows : MR, R1 = MR - R0;
  __m512 acc[MR][NP];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NP; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kp; ++k) {
    if (PF) {
      _mm_prefetch(reinterpret_cast<const char*>(b0 + 2 * kPanel * (k + kPrefetchPairs)), _MM_HINT_T0);
      if (NP == 2) _mm_prefetch(reinterpret_cast<const char*>(b1 + 2 * kPanel * (k + kPrefetchPairs)), _MM_HINT_T0);
    }
    __m512bh bv[NP];
    bv[0] = reinterpret_cast<__m512bh>(_mm512_load_si512(b0 + 2 * kPanel * k));
    if (NP == 2) bv[NP - 1] = reinterpret_cast<__m512bh>(_mm512_load_si512(b1 + 2 * kPanel * k));
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(r < R0 ? a0[k * R0 + r] : a1[k * R1 + (r - R0)])));
#pragma GCC unroll 2
      for (int j = 0; j < NP; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], av, bv[j]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NP; ++j)
      store512(acc[r][j], c + r * ldc + j * kPanel, accumulate, bias == nullptr ? nullptr : bias + j * kPanel, act);
}

template <int NP, bool PF>
void block_rows(int rows, int64_t kp, const uint32_t* a0, const uint32_t* a1, const uint16_t* b0, const uint16_t* b1, float* c, int64_t ldc,
                bool accumulate, const float* bias, Activation act) {
  switch (rows) {
#define BERT_BLOCK_BF16(R) \
  case R: block<R, NP, PF>(kp, a0, a1, b0, b1, c, ldc, accumulate, bias, act); break;
    BERT_BLOCK_BF16(12)
    BERT_BLOCK_BF16(11)
    BERT_BLOCK_BF16(10)
    BERT_BLOCK_BF16(9)
    BERT_BLOCK_BF16(8)
    BERT_BLOCK_BF16(7)
    BERT_BLOCK_BF16(6)
    BERT_BLOCK_BF16(5)
    BERT_BLOCK_BF16(4)
    BERT_BLOCK_BF16(3)
    BERT_BLOCK_BF16(2)
    default: block<1, NP, PF>(kp, a0, a1, b0, b1, c, ldc, accumulate, bias, act); break;
#undef BERT_BLOCK_BF16
  }
}

template <int NP>
void block_any(bool prefetch, int rows, int64_t kp, const uint32_t* a0, const uint32_t* a1, const uint16_t* b0, const uint16_t* b1,
               float* c, int64_t ldc, bool accumulate, const float* bias, Activation act) {
  if (prefetch)
    block_rows<NP, true>(rows, kp, a0, a1, b0, b1, c, ldc, accumulate, bias, act);
  else
    block_rows<NP, false>(rows, kp, a0, a1, b0, b1, c, ldc, accumulate, bias, act);
}

// x[0 .. mc, 0 .. kc] rounded to bf16 into groups of kRows rows, each k-pair-major (out[kp * rows + r]
// is row r's pair kp, as one 32-bit value the kernel broadcasts); an odd kc is padded with a zero.
// A row converts 32 floats at a time (x's pairs are adjacent in its row already), then its pairs
// are spread to their places in the group.
void pack_rows(const float* x, int64_t lda, int64_t mc, int64_t kc, uint32_t* out) {
  const int64_t kp = even(kc) / 2;
  alignas(64) uint16_t row[kKc + 32];
  uint32_t pairs[kKc / 2 + 16];
  for (int64_t g = 0; g < mc; g += kRows) {
    const int64_t rows = mc - g < kRows ? mc - g : kRows;
    uint32_t* dst = out + g * kp;
    for (int64_t r = 0; r < rows; ++r) {
      const float* src = x + (g + r) * lda;
      for (int64_t k = 0; k < kc; k += 32) {
        const int64_t left = kc - k;
        const __mmask16 lo = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
        const __mmask16 hi = left >= 32 ? __mmask16(0xFFFF) : left <= 16 ? __mmask16(0) : __mmask16((1u << (left - 16)) - 1);
        const __m512 a = _mm512_maskz_loadu_ps(lo, src + k), b = _mm512_maskz_loadu_ps(hi, src + k + 16);
        _mm512_store_si512(row + k, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(b, a)));
      }
      std::memcpy(pairs, row, static_cast<size_t>(kp) * sizeof(uint32_t));
      for (int64_t p = 0; p < kp; ++p) dst[p * rows + r] = pairs[p];
    }
  }
}

// The bf16 kernel's blocks, for walk_panels (avx512_epilogue.h): depth in pairs of k.
struct Bf16Blocks {
  using A = uint32_t;
  using B = uint16_t;
  template <int NP>
  static void block(bool prefetch, int rows, int64_t kp, const uint32_t* a0, const uint32_t* a1, const uint16_t* b0, const uint16_t* b1,
                    float* c, int64_t ldc, bool accumulate, const float* bias, Activation act) {
    block_any<NP>(prefetch, rows, kp, a0, a1, b0, b1, c, ldc, accumulate, bias, act);
  }
};

}  // namespace

void gemm_bf16(const float* x, int64_t lda, int64_t m, const uint16_t* packed, const float* bias, int64_t n, int64_t k, Activation act,
               float* y, int64_t ldy, int64_t panel_begin, int64_t panel_end) {
  uint32_t* a_block = static_cast<uint32_t*>(thread_block());
  // Row blocks outermost, as in the float32 kernel: a block's outputs stay in L2 across k-blocks.
  for (int64_t ic = 0; ic < m; ic += kMc) {
    const int64_t mc = m - ic < kMc ? m - ic : kMc;
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = k - pc < kKc ? k - pc : kKc;
      pack_rows(x + ic * lda + pc, lda, mc, kc, a_block);
      walk_panels<Bf16Blocks>(a_block, mc, even(kc) / 2, packed, even(kc), panels(n), pc, n, bias, pc == 0, pc + kc == k, act, y + ic * ldy,
                              ldy, panel_begin, panel_end);
    }
  }
}

#pragma GCC pop_options

}  // namespace bert::kernels
