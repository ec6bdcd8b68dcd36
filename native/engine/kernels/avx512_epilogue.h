// The AVX-512 store of a block of outputs that the float32 and the bf16 packed kernels share, so the
// two finish every output with the same float operations: + the output so far (a k-block after the
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

}  // namespace bert::kernels
