/* s8-gemv-8c16-avx2: FULLY_CONNECTED int8 sums over 8-channel packed weights, AVX2
 * (mdl_ukernels.h).  Each group of 16 inputs is sign-extended once to 16 int16 lanes
 * and multiplied by the 16 weights of each of the 8 channels of the block (vpmaddwd,
 * the weights sign-extended from memory by vpmovsxbw), into one accumulator per
 * channel; the 8 accumulators are reduced across lanes by a vphaddd tree at the end of
 * the block.  A last group of fewer than 16 inputs is copied to a zeroed 16-byte
 * buffer first (no read past the row; the packed weights are zero there). */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

#define NR 8
#define KC 16

MDL_INLINE MDL_AVX2 __m256i widen16(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)p));
}

/* a[c] += x . w_c for the 8 channels of one group. */
MDL_INLINE MDL_AVX2 void group8(__m256i xv, const int8_t* wg, __m256i* a) {
  for (int c = 0; c < NR; ++c) {
    a[c] = _mm256_add_epi32(a[c], _mm256_madd_epi16(xv, widen16(wg + c * KC)));
  }
}

/* The 8 lane sums of a[0..8) as one vector, channel c in lane c. */
MDL_INLINE MDL_AVX2 __m256i reduce8(const __m256i* a) {
  const __m256i h01 = _mm256_hadd_epi32(a[0], a[1]);
  const __m256i h23 = _mm256_hadd_epi32(a[2], a[3]);
  const __m256i h45 = _mm256_hadd_epi32(a[4], a[5]);
  const __m256i h67 = _mm256_hadd_epi32(a[6], a[7]);
  const __m256i h0123 = _mm256_hadd_epi32(h01, h23); /* [0..3 low halves | high] */
  const __m256i h4567 = _mm256_hadd_epi32(h45, h67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                          _mm256_permute2x128_si256(h0123, h4567, 0x31));
}

MDL_AVX2 void mdl_s8_gemv_ukernel_8c16__avx2(int32_t n, int32_t k, const int8_t* x,
                                             const int8_t* w, const int32_t* bias,
                                             int32_t* acc) {
  const int32_t full = k / KC, rest = k - full * KC;
  const int32_t groups = full + (rest > 0);
  int8_t tail[KC] = {0};
  for (int32_t t = 0; t < rest; ++t) tail[t] = x[(size_t)full * KC + t];
  const __m256i x_tail = widen16(tail);
  for (int32_t o0 = 0; o0 < n; o0 += NR) {
    const int8_t* wg = w + (size_t)(o0 / NR) * groups * (NR * KC);
    __m256i a[NR];
    for (int c = 0; c < NR; ++c) a[c] = _mm256_setzero_si256();
    const int8_t* xg = x;
    for (int32_t g = 0; g < full; ++g, xg += KC, wg += NR * KC) {
      group8(widen16(xg), wg, a);
    }
    if (rest) group8(x_tail, wg, a);
    __m256i s = reduce8(a);
    const int32_t m = n - o0 < NR ? n - o0 : NR;
    if (m == NR) {
      if (bias) s = _mm256_add_epi32(s, _mm256_loadu_si256((const __m256i*)(bias + o0)));
      _mm256_storeu_si256((__m256i*)(acc + o0), s);
    } else {
      int32_t t[NR];
      _mm256_storeu_si256((__m256i*)t, s);
      for (int32_t c = 0; c < m; ++c) {
        acc[o0 + c] = bias ? mdl_add_wrap(t[c], bias[o0 + c]) : t[c];
      }
    }
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
