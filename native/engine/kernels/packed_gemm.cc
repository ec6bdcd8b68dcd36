#include "engine/kernels/packed_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "engine/kernels/avx512_epilogue.h"

namespace bert::kernels {
namespace {

// Cache blocking (this CPU: 32 KiB L1d, 512 KiB L2 per core): a kKc x 16 slice of a panel (16 KiB)
// stays in L1 next to the 6-row group of x being multiplied by it (6 KiB), while the whole kMc-row
// block of x (144 KiB, packed) stays in L2. Each kMc-row block streams the weights once more, so kMc
// is as large as L2 allows next to the outputs the block adds to: up to 144 rows (batch 1 of up to
// 144 tokens) read the weights from memory once per call. These are BLIS's sizes for AVX2 Zen cores.
constexpr int64_t kKc = 256;
static_assert(kRowBlock * kKc * sizeof(float) <= kThreadBlockBytes, "the packed x block outgrows thread_block()");
constexpr int64_t kMc = kRowBlock;
constexpr int kRows = static_cast<int>(kRowGroup);
constexpr int64_t kPrefetchK = 64;  // k steps (64-byte lines) ahead

}  // namespace

bool packed_gemm_supported() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

bool isa_supported(Isa isa) {
  if (isa == Isa::kAvx512) {
    static const bool ok = packed_gemm_supported() && __builtin_cpu_supports("avx512f");
    return ok;
  }
  return packed_gemm_supported();
}

Isa preferred_isa() {
  static const Isa isa = [] {
    const char* v = std::getenv("BERT_SERVE_PACKED_ISA");
    if (v != nullptr && std::string(v) == "avx2") return Isa::kAvx2;
    return isa_supported(Isa::kAvx512) ? Isa::kAvx512 : Isa::kAvx2;
  }();
  return isa;
}

const char* isa_name(Isa isa) { return isa == Isa::kAvx512 ? "avx512" : "avx2"; }

int64_t panels(int64_t n) { return (n + kPanel - 1) / kPanel; }

int64_t packed_floats(int64_t n, int64_t k) { return panels(n) * kPanel * (k + 1); }

void pack_weights(const float* w, const float* bias, int64_t n, int64_t k, float* out) {
  const int64_t np = panels(n);
  for (int64_t pc = 0; pc < k; pc += kKc) {
    const int64_t kc = std::min(kKc, k - pc);
    for (int64_t p = 0; p < np; ++p) {
      float* slice = out + slice_offset(pc, p, kc, np);
      for (int64_t kk = 0; kk < kc; ++kk) {
        for (int64_t c = 0; c < kPanel; ++c) {
          const int64_t row = p * kPanel + c;
          slice[kk * kPanel + c] = row < n ? w[row * k + pc + kk] : 0.0f;
        }
      }
    }
  }
  float* b = out + np * kPanel * k;
  for (int64_t c = 0; c < np * kPanel; ++c) b[c] = (bias != nullptr && c < n) ? bias[c] : 0.0f;
}

// The AVX-512 kernel. Same layout and blocking as the AVX2 one below; per output the same float
// operations in the same order (a k-block's FMAs from zero in k order, then + the output so far,
// then + bias and the GELU on the last k-block), so the two give the same bits.
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace {

// MR (1-12) rows x NP (1-2) panels over kc terms. Rows 0-5 come from the packed group a0 (k-major,
// min(MR, 6) floats per k), rows 6-11 from the next group a1 (MR - 6 per k); panel j's slice is bj.
// PF: the first row pair of a block reads the panels from memory and prefetches them ahead.
template <int MR, int NP, bool PF>
inline void block512(int64_t kc, const float* a0, const float* a1, const float* b0, const float* b1, float* c, int64_t ldc, bool accumulate,
                     const float* bias, Activation act) {
  constexpr int R0 = MR > kRows ? kRows : MR, R1 = MR - R0;
  __m512 acc[MR][NP];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int j = 0; j < NP; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    if (PF) {
      _mm_prefetch(reinterpret_cast<const char*>(b0 + kPanel * (k + kPrefetchK)), _MM_HINT_T0);
      if (NP == 2) _mm_prefetch(reinterpret_cast<const char*>(b1 + kPanel * (k + kPrefetchK)), _MM_HINT_T0);
    }
    __m512 bv[NP];
    bv[0] = _mm512_load_ps(b0 + kPanel * k);
    if (NP == 2) bv[NP - 1] = _mm512_load_ps(b1 + kPanel * k);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(r < R0 ? a0[k * R0 + r] : a1[k * R1 + (r - R0)]);
#pragma GCC unroll 2
      for (int j = 0; j < NP; ++j) acc[r][j] = _mm512_fmadd_ps(av, bv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 2
    for (int j = 0; j < NP; ++j) {
      store512(acc[r][j], c + r * ldc + j * kPanel, accumulate, bias == nullptr ? nullptr : bias + j * kPanel, act);
    }
  }
}

template <int NP, bool PF>
void block512_rows(int rows, int64_t kc, const float* a0, const float* a1, const float* b0, const float* b1, float* c, int64_t ldc,
                   bool accumulate, const float* bias, Activation act) {
  switch (rows) {
#define BERT_BLOCK512(R) \
  case R: block512<R, NP, PF>(kc, a0, a1, b0, b1, c, ldc, accumulate, bias, act); break;
    BERT_BLOCK512(12)
    BERT_BLOCK512(11)
    BERT_BLOCK512(10)
    BERT_BLOCK512(9)
    BERT_BLOCK512(8)
    BERT_BLOCK512(7)
    BERT_BLOCK512(6)
    BERT_BLOCK512(5)
    BERT_BLOCK512(4)
    BERT_BLOCK512(3)
    BERT_BLOCK512(2)
    default: block512<1, NP, PF>(kc, a0, a1, b0, b1, c, ldc, accumulate, bias, act); break;
#undef BERT_BLOCK512
  }
}

template <int NP>
void block512_any(bool prefetch, int rows, int64_t kc, const float* a0, const float* a1, const float* b0, const float* b1, float* c,
                  int64_t ldc, bool accumulate, const float* bias, Activation act) {
  if (prefetch)
    block512_rows<NP, true>(rows, kc, a0, a1, b0, b1, c, ldc, accumulate, bias, act);
  else
    block512_rows<NP, false>(rows, kc, a0, a1, b0, b1, c, ldc, accumulate, bias, act);
}

// The float32 kernel's blocks, for walk_panels (avx512_epilogue.h).
struct Float32Blocks {
  using A = float;
  using B = float;
  template <int NP>
  static void block(bool prefetch, int rows, int64_t kc, const float* a0, const float* a1, const float* b0, const float* b1, float* c,
                    int64_t ldc, bool accumulate, const float* bias, Activation act) {
    block512_any<NP>(prefetch, rows, kc, a0, a1, b0, b1, c, ldc, accumulate, bias, act);
  }
};

}  // namespace
#pragma GCC pop_options

// Everything below runs only where packed_gemm_supported() said yes. The target pragma compiles it
// for AVX2 + FMA without raising the baseline of the rest of the build; no standard-library
// template is used inside it, so no AVX2 copy of one can leak to callers elsewhere.
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace {

// erf(x) to within a few float ulps: the rational approximation Eigen and XLA use for float
// (odd polynomial over even polynomial in x on [-4, 4]; |erf| rounds to 1 beyond).
inline __m256 erf_ps(__m256 v) {
  const __m256 x = _mm256_max_ps(_mm256_min_ps(v, _mm256_set1_ps(4.0f)), _mm256_set1_ps(-4.0f));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_fmadd_ps(x2, _mm256_set1_ps(-2.72614225801306e-10f), _mm256_set1_ps(2.77068142495902e-08f));
  p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-2.10102402082508e-06f));
  p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-5.69250639462346e-05f));
  p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-7.34990630326855e-04f));
  p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-2.95459980854025e-03f));
  p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-1.60960333262415e-02f));
  p = _mm256_mul_ps(x, p);
  __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(-1.45660718464996e-05f), _mm256_set1_ps(-2.13374055278905e-04f));
  q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-1.68282697438203e-03f));
  q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-7.37332916720468e-03f));
  q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-1.42647390514189e-02f));
  return _mm256_div_ps(p, q);
}

inline __m256 gelu_ps(__m256 x) {
  const __m256 e = erf_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// One block of MR rows x 16 columns over kc terms: c (+)= a . b, then, on the last slice of k,
// + bias and the activation. a: MR rows packed k-major (a[k * MR + r]); b: the panel slice (16
// floats per k).
template <int MR>
inline void block(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate, const float* bias, Activation act,
                  bool prefetch) {
  __m256 lo[MR], hi[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    // The first row group of a block reads the panel from memory: ask for it ~4 KiB ahead, which
    // covers the memory's latency at the rate this loop consumes it (a batch of one is bound by it).
    if (prefetch) _mm_prefetch(reinterpret_cast<const char*>(b + kPanel * (k + kPrefetchK)), _MM_HINT_T0);
    const __m256 b0 = _mm256_load_ps(b + kPanel * k);
    const __m256 b1 = _mm256_load_ps(b + kPanel * k + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + k * MR + r);
      lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
      hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      lo[r] = _mm256_add_ps(lo[r], _mm256_loadu_ps(cr));
      hi[r] = _mm256_add_ps(hi[r], _mm256_loadu_ps(cr + 8));
    }
    if (bias != nullptr) {
      lo[r] = _mm256_add_ps(lo[r], _mm256_load_ps(bias));
      hi[r] = _mm256_add_ps(hi[r], _mm256_load_ps(bias + 8));
      if (act == Activation::kGelu) {
        lo[r] = gelu_ps(lo[r]);
        hi[r] = gelu_ps(hi[r]);
      }
    }
    _mm256_storeu_ps(cr, lo[r]);
    _mm256_storeu_ps(cr + 8, hi[r]);
  }
}

inline void block_rows(int rows, int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate, const float* bias,
                       Activation act, bool prefetch) {
  switch (rows) {
    case 6: block<6>(kc, a, b, c, ldc, accumulate, bias, act, prefetch); break;
    case 5: block<5>(kc, a, b, c, ldc, accumulate, bias, act, prefetch); break;
    case 4: block<4>(kc, a, b, c, ldc, accumulate, bias, act, prefetch); break;
    case 3: block<3>(kc, a, b, c, ldc, accumulate, bias, act, prefetch); break;
    case 2: block<2>(kc, a, b, c, ldc, accumulate, bias, act, prefetch); break;
    default: block<1>(kc, a, b, c, ldc, accumulate, bias, act, prefetch); break;
  }
}

// x[ic .. ic+mc, pc .. pc+kc] into groups of kRows rows (the last may have fewer), each k-major, so
// the kernel reads one sequential stream instead of six rows a power of two apart (which share
// cache sets). Whole groups go 8 k at a time through an in-register transpose: the scalar strided
// copy it replaces cost ~3 cycles a float, as much as 12-25% of the multiply at n = 768 on two
// threads (each thread packs the x block it multiplies; docs/performance.md).
void pack_rows(const float* x, int64_t lda, int64_t mc, int64_t kc, float* out) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t g = 0; g < mc; g += kRows) {
    const int64_t rows = mc - g < kRows ? mc - g : kRows;
    const float* src = x + g * lda;
    float* dst = out + g * kc;
    int64_t k = 0;
    if (rows == kRows) {
      for (; k + 8 <= kc; k += 8) {
        const float* s = src + k;
        const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lda), r2 = _mm256_loadu_ps(s + 2 * lda);
        const __m256 r3 = _mm256_loadu_ps(s + 3 * lda), r4 = _mm256_loadu_ps(s + 4 * lda), r5 = _mm256_loadu_ps(s + 5 * lda);
        // Within each 128-bit half (k 0-3 | k 4-7): t0 = r0k0 r1k0 r0k1 r1k1, t1 = the same for k2, k3...
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        // ... then rows 0-3 of one k (q*) and rows 4-5 of it (h*), per half: k0 | k4, k1 | k5, ...
        const __m256 q0 = _mm256_shuffle_ps(t0, t2, 0x44), q1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 q2 = _mm256_shuffle_ps(t1, t3, 0x44), q3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 h0 = _mm256_shuffle_ps(t4, zero, 0x44), h1 = _mm256_shuffle_ps(t4, zero, 0xEE);
        const __m256 h2 = _mm256_shuffle_ps(t5, zero, 0x44), h3 = _mm256_shuffle_ps(t5, zero, 0xEE);
        const __m256 q[4] = {q0, q1, q2, q3}, h[4] = {h0, h1, h2, h3};
        float* d = dst + k * kRows;
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          _mm_storeu_ps(d + j * kRows, _mm256_castps256_ps128(q[j]));
          _mm_storel_pi(reinterpret_cast<__m64*>(d + j * kRows + 4), _mm256_castps256_ps128(h[j]));
          _mm_storeu_ps(d + (j + 4) * kRows, _mm256_extractf128_ps(q[j], 1));
          _mm_storel_pi(reinterpret_cast<__m64*>(d + (j + 4) * kRows + 4), _mm256_extractf128_ps(h[j], 1));
        }
      }
    }
    for (; k < kc; ++k)
      for (int64_t r = 0; r < rows; ++r) dst[k * rows + r] = src[r * lda + k];
  }
}

void gemm_blocks(const float* x, int64_t lda, int64_t m, const float* packed, int64_t n, int64_t k, Activation act, float* y, int64_t ldy,
                 int64_t panel_begin, int64_t panel_end, float* a_block, bool avx512) {
  const float* bias_all = packed + panels(n) * kPanel * k;
  alignas(32) float edge[kRows * kPanel];  // the last panel when n is not a multiple of 16
  // Row blocks outermost: a block's outputs (kMc rows of this thread's columns) stay in L2 while
  // every k-block adds to them, instead of the whole output being swept once per k-block.
  for (int64_t ic = 0; ic < m; ic += kMc) {
    const int64_t mc = m - ic < kMc ? m - ic : kMc;
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = k - pc < kKc ? k - pc : kKc;
      const bool first = pc == 0, last = pc + kc == k;
      pack_rows(x + ic * lda + pc, lda, mc, kc, a_block);
      if (avx512) {
        walk_panels<Float32Blocks>(a_block, mc, kc, packed, kc, panels(n), pc, n, bias_all, first, last, act, y + ic * ldy, ldy,
                                   panel_begin, panel_end);
        continue;
      }
      for (int64_t p = panel_begin; p < panel_end; ++p) {
        const float* b = packed + slice_offset(pc, p, kc, panels(n));
        const float* bias = last ? bias_all + p * kPanel : nullptr;
        const int64_t cols = n - p * kPanel < kPanel ? n - p * kPanel : kPanel;
        for (int64_t g = 0; g < mc; g += kRows) {
          const int rows = static_cast<int>(mc - g < kRows ? mc - g : kRows);
          const float* a = a_block + g * kc;
          float* c = y + (ic + g) * ldy + p * kPanel;
          if (cols == kPanel) {
            block_rows(rows, kc, a, b, c, ldy, !first, bias, act, g == 0);
            continue;
          }
          for (int r = 0; r < rows; ++r)
            for (int64_t j = 0; j < kPanel; ++j) edge[r * kPanel + j] = (!first && j < cols) ? c[r * ldy + j] : 0.0f;
          block_rows(rows, kc, a, b, edge, kPanel, !first, bias, act, g == 0);
          for (int r = 0; r < rows; ++r)
            for (int64_t j = 0; j < cols; ++j) c[r * ldy + j] = edge[r * kPanel + j];
        }
      }
    }
  }
}

}  // namespace
#pragma GCC pop_options

void* thread_block() {
  // The packed block of x, one per thread for the thread's life (144 KiB: too large for the stacks
  // of OpenMP's team threads).
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  static thread_local std::unique_ptr<void, Free> block(std::aligned_alloc(64, kThreadBlockBytes));
  if (!block) throw std::bad_alloc();
  return block.get();
}

void gemm(const float* x, int64_t lda, int64_t m, const float* packed, int64_t n, int64_t k, Activation act, float* y, int64_t ldy,
          int64_t panel_begin, int64_t panel_end, Isa isa) {
  gemm_blocks(x, lda, m, packed, n, k, act, y, ldy, panel_begin, panel_end, static_cast<float*>(thread_block()), isa == Isa::kAvx512);
}

}  // namespace bert::kernels
