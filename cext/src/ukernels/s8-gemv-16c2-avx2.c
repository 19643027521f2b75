/* s8-gemv-16c2-avx2: FULLY_CONNECTED int8 sums over 16-channel packed weights, AVX2
 * (mdl_ukernels.h).  Each int16 input pair is broadcast to the 8 int32 lanes and
 * multiplied by 8 channels' weight pairs (vpmaddwd; the 16 int8 weights of 8 channels
 * sign-extended from memory by vpmovsxbw); two blocks of 16 channels share every
 * broadcast, and the even and odd pairs go to separate accumulators. */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

#define BLOCK 16

MDL_INLINE MDL_AVX2 __m256i widen8(const int8_t* w) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)w));
}

/* Stores the 8 lanes of s (+ bias) as acc[0..m), m <= 8. */
MDL_INLINE MDL_AVX2 void store8(__m256i s, const int32_t* bias, int32_t m,
                                int32_t* acc) {
  if (m == 8) {
    if (bias) s = _mm256_add_epi32(s, _mm256_loadu_si256((const __m256i*)bias));
    _mm256_storeu_si256((__m256i*)acc, s);
    return;
  }
  int32_t t[8];
  _mm256_storeu_si256((__m256i*)t, s);
  for (int32_t c = 0; c < m; ++c) acc[c] = bias ? mdl_add_wrap(t[c], bias[c]) : t[c];
}

/* Stores the 16 sums lo (channels 0..7) / hi (8..15) of the block at o0. */
MDL_INLINE MDL_AVX2 void store16(__m256i lo, __m256i hi, int32_t n, int32_t o0,
                                 const int32_t* bias, int32_t* acc) {
  const int32_t m = n - o0;
  store8(lo, bias ? bias + o0 : 0, m < 8 ? m : 8, acc + o0);
  if (m > 8) store8(hi, bias ? bias + o0 + 8 : 0, m - 8 < 8 ? m - 8 : 8, acc + o0 + 8);
}

MDL_AVX2 void mdl_s8_gemv_ukernel_16c2__avx2(int32_t n, int32_t k2, const int16_t* x,
                                             const int8_t* w, const int32_t* bias,
                                             int32_t* acc) {
  const size_t block_bytes = (size_t)k2 * (2 * BLOCK);
  const int16_t* const x_end = x + 2 * (size_t)k2;
  int32_t o0 = 0;
  for (; o0 + BLOCK < n; o0 += 2 * BLOCK) { /* two blocks (the second may be partial) */
    const int8_t* wa = w + (size_t)(o0 / BLOCK) * block_bytes;
    const int8_t* wb = wa + block_bytes;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    __m256i b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const int16_t* xp = x;
    for (; xp + 4 <= x_end; xp += 4, wa += 4 * BLOCK, wb += 4 * BLOCK) {
      const __m256i x0 = mdl_pair_avx2(xp);
      const __m256i x1 = mdl_pair_avx2(xp + 2);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x0, widen8(wa)));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x0, widen8(wa + 16)));
      a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x0, widen8(wb)));
      a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(x0, widen8(wb + 16)));
      b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(x1, widen8(wa + 32)));
      b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(x1, widen8(wa + 48)));
      b2 = _mm256_add_epi32(b2, _mm256_madd_epi16(x1, widen8(wb + 32)));
      b3 = _mm256_add_epi32(b3, _mm256_madd_epi16(x1, widen8(wb + 48)));
    }
    if (xp < x_end) { /* odd k2 */
      const __m256i x0 = mdl_pair_avx2(xp);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x0, widen8(wa)));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x0, widen8(wa + 16)));
      a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x0, widen8(wb)));
      a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(x0, widen8(wb + 16)));
    }
    store16(_mm256_add_epi32(a0, b0), _mm256_add_epi32(a1, b1), n, o0, bias, acc);
    store16(_mm256_add_epi32(a2, b2), _mm256_add_epi32(a3, b3), n, o0 + BLOCK, bias,
            acc);
  }
  if (o0 < n) { /* one last block */
    const int8_t* wa = w + (size_t)(o0 / BLOCK) * block_bytes;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, b0 = a0, b1 = a0;
    const int16_t* xp = x;
    for (; xp + 4 <= x_end; xp += 4, wa += 4 * BLOCK) {
      const __m256i x0 = mdl_pair_avx2(xp);
      const __m256i x1 = mdl_pair_avx2(xp + 2);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x0, widen8(wa)));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x0, widen8(wa + 16)));
      b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(x1, widen8(wa + 32)));
      b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(x1, widen8(wa + 48)));
    }
    if (xp < x_end) {
      const __m256i x0 = mdl_pair_avx2(xp);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x0, widen8(wa)));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x0, widen8(wa + 16)));
    }
    store16(_mm256_add_epi32(a0, b0), _mm256_add_epi32(a1, b1), n, o0, bias, acc);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
