/* s32-requant-f64-avx2: int32 sums to int8 with a double scale per channel, AVX2
 * (mdl_ukernels.h).  The arithmetic of the portable twin s32-requant-f64-c in 4 double
 * lanes: clamp to the int32 range, truncate toward zero (vroundpd), step away from
 * zero where the exact remainder is >= 0.5 in magnitude (INT32_MIN where the rounded
 * value leaves int32, as x86's conversion), add the offset, wrap into the
 * int32 range (TFLite's int32 add) and clamp to [act_min, act_max] in double (exact
 * integers), convert back; 8 channels per step, the tail through the twin. */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

/* 4 lanes of the requantization: acc (4 int32) x scale -> 4 int32 in [lo, hi]. */
MDL_INLINE MDL_AVX2 __m128i rq4(__m128i acc, __m256d scale, __m256d off, __m256d lo,
                                __m256d hi) {
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d imax = _mm256_set1_pd(2147483647.0), imin = _mm256_set1_pd(-2147483648.0);
  const __m256d two32 = _mm256_set1_pd(4294967296.0);
  const __m256d x0 = _mm256_mul_pd(_mm256_cvtepi32_pd(acc), scale);
  /* Rounds beyond int32: x86's conversion gives INT32_MIN (mdl_f64_out_of_range_i32). */
  const __m256d beyond =
      _mm256_or_pd(_mm256_cmp_pd(x0, _mm256_set1_pd(2147483647.5), _CMP_GE_OQ),
                   _mm256_cmp_pd(x0, _mm256_set1_pd(-2147483648.5), _CMP_LE_OQ));
  const __m256d x = _mm256_min_pd(_mm256_max_pd(x0, imin), imax);
  __m256d t = _mm256_round_pd(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256d f = _mm256_sub_pd(x, t);
  const __m256d up = _mm256_and_pd(_mm256_cmp_pd(f, _mm256_set1_pd(0.5), _CMP_GE_OQ), one);
  const __m256d down =
      _mm256_and_pd(_mm256_cmp_pd(f, _mm256_set1_pd(-0.5), _CMP_LE_OQ), one);
  t = _mm256_blendv_pd(_mm256_sub_pd(_mm256_add_pd(t, up), down), imin, beyond);
  t = _mm256_add_pd(t, off);
  t = _mm256_sub_pd(t, _mm256_and_pd(_mm256_cmp_pd(t, imax, _CMP_GT_OQ), two32));
  t = _mm256_add_pd(t, _mm256_and_pd(_mm256_cmp_pd(t, imin, _CMP_LT_OQ), two32));
  t = _mm256_min_pd(_mm256_max_pd(t, lo), hi);
  return _mm256_cvttpd_epi32(t);
}

MDL_AVX2 void mdl_s32_requant_ukernel_f64__avx2(const int32_t* acc, const double* scale,
                                                int32_t n, int32_t output_offset,
                                                int32_t act_min, int32_t act_max,
                                                int8_t* out) {
  const __m256d off = _mm256_set1_pd(output_offset);
  const __m256d lo = _mm256_set1_pd(act_min), hi = _mm256_set1_pd(act_max);
  int32_t o = 0;
  for (; o + 8 <= n; o += 8) {
    const __m128i r0 = rq4(_mm_loadu_si128((const __m128i*)(acc + o)),
                           _mm256_loadu_pd(scale + o), off, lo, hi);
    const __m128i r1 = rq4(_mm_loadu_si128((const __m128i*)(acc + o + 4)),
                           _mm256_loadu_pd(scale + o + 4), off, lo, hi);
    const __m128i b = _mm_packs_epi16(_mm_packs_epi32(r0, r1), _mm_setzero_si128());
    _mm_storel_epi64((__m128i*)(out + o), b);
  }
  if (o < n) {
    mdl_s32_requant_ukernel_f64__c(acc + o, scale + o, n - o, output_offset, act_min,
                                   act_max, out + o);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
