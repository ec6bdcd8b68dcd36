// What the float32 and the bf16 AVX-512 packed kernels share: the walk over a k-block's panels, and
// the store of a block of outputs, so the two finish every output with the same float operations: + the output so far (a k-block after the
// first), then on the last k-block + bias and the exact GELU.
//
// Only for code compiled for AVX-512F (a target pragma or attribute); header-only and inline.
#pragma once
#include <immintrin.h>

#include "engine/kernels/packed_gemm.h"

namespace bert::kernels {

// erf(x) to within a few float ulps: the rational approximation Eigen and XLA use for float (odd
// polynomial over even polynomial in x on [-4, 4]; |erf| rounds to 1 beyond). GCC 12's
// _mm512_min_ps / _mm512_max_ps pass _mm512_undefined_ps() as the unused merge source, which
// -Wmaybe-uninitialized reports (a false positive, GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) inline __m512 erf512(__m512 v) {
  const __m512 x = _mm512_max_ps(_mm512_min_ps(v, _mm512_set1_ps(4.0f)), _mm512_set1_ps(-4.0f));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_fmadd_ps(x2, _mm512_set1_ps(-2.72614225801306e-10f), _mm512_set1_ps(2.77068142495902e-08f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02f));
  p = _mm512_mul_ps(x, p);
  __m512 q = _mm512_fmadd_ps(x2, _mm512_set1_ps(-1.45660718464996e-05f), _mm512_set1_ps(-2.13374055278905e-04f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02f));
  return _mm512_div_ps(p, q);
}
#pragma GCC diagnostic pop

__attribute__((target("avx512f"))) inline __m512 gelu512(__m512 x) {
  const __m512 e = erf512(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)));
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// 16 outputs at c: v (this k-block's sum), + c's value when accumulating, then + bias and the
// activation when bias is given (the last k-block).
__attribute__((target("avx512f"))) inline void store512(__m512 v, float* c, bool accumulate, const float* bias, Activation act) {
  if (accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(c));
  if (bias != nullptr) {
    v = _mm512_add_ps(v, _mm512_load_ps(bias));
    if (act == Activation::kGelu) v = gelu512(v);
  }
  _mm512_storeu_ps(c, v);
}

// The panels [panel_begin, panel_end) of one (row block, k-block), which both AVX-512 kernels walk
// the same way: pairs of panels outermost, so the two slices stay in L1 while every 12-row pair of
// groups of the packed x block (in L2) passes them; a lone panel and a partial last panel (n not a
// multiple of kPanel) go one at a time, the partial one through a zero-padded edge buffer.
// Kernel: the element types of packed x (A) and of the packed weights (B), and
//   template <int NP> static void block(bool prefetch, int rows, int64_t depth, const A* a0, const A* a1,
//       const B* b0, const B* b1, float* c, int64_t ldc, bool accumulate, const float* bias, Activation)
// with depth = a_depth, the A values per row of a packed group (kc for float32, kc / 2 pairs for
// bf16); b_depth: B values per column of a panel's slice (kc, or kc rounded up to even).
template <class Kernel>
__attribute__((target("avx512f"))) inline void walk_panels(const typename Kernel::A* a_block, int64_t mc, int64_t a_depth,
                                                           const typename Kernel::B* packed, int64_t b_depth, int64_t np, int64_t pc,
                                                           int64_t n, const float* bias_all, bool first, bool last, Activation act,
                                                           float* y, int64_t ldy, int64_t panel_begin, int64_t panel_end) {
  constexpr int64_t kPair = 2 * kRowGroup;
  alignas(64) float edge[kPair * kPanel];
  for (int64_t p = panel_begin; p < panel_end;) {
    const int64_t cols = n - p * kPanel < kPanel ? n - p * kPanel : kPanel;
    const bool pair = cols == kPanel && p + 1 < panel_end && n - (p + 1) * kPanel >= kPanel;
    const typename Kernel::B* b0 = packed + slice_offset(pc, p, b_depth, np);
    const typename Kernel::B* b1 = pair ? b0 + kPanel * b_depth : b0;
    const float* bias = last ? bias_all + p * kPanel : nullptr;
    for (int64_t g = 0; g < mc; g += kPair) {
      const int rows = static_cast<int>(mc - g < kPair ? mc - g : kPair);
      const typename Kernel::A* a0 = a_block + g * a_depth;
      const typename Kernel::A* a1 = a0 + kRowGroup * a_depth;
      float* c = y + g * ldy + p * kPanel;
      if (pair) {
        Kernel::template block<2>(g == 0, rows, a_depth, a0, a1, b0, b1, c, ldy, !first, bias, act);
      } else if (cols == kPanel) {
        Kernel::template block<1>(g == 0, rows, a_depth, a0, a1, b0, b1, c, ldy, !first, bias, act);
      } else {
        for (int r = 0; r < rows; ++r)
          for (int64_t j = 0; j < kPanel; ++j) edge[r * kPanel + j] = (!first && j < cols) ? c[r * ldy + j] : 0.0f;
        Kernel::template block<1>(g == 0, rows, a_depth, a0, a1, b0, b1, edge, kPanel, !first, bias, act);
        for (int r = 0; r < rows; ++r)
          for (int64_t j = 0; j < cols; ++j) c[r * ldy + j] = edge[r * kPanel + j];
      }
    }
    p += pair ? 2 : 1;
  }
}

}  // namespace bert::kernels
