/* s8-pack-lanes16c4u-avx512vnni: a lanes16 int16 filter re-laid out as the int8
 * lanes16c4 filter of s8-gemm-lanes16c4-rq-avx512vnni, and its uint8-input bias
 * (mdl_ukernels.h).  Per step of 4 k and block of 16 channels: the two pair rows
 * (16 channels x 2 int16 each) narrowed to bytes (vpmovwb), their 16-bit units
 * interleaved (channel j's k, k + 1 then k + 2, k + 3) and put in channel order; the
 * weight sums accumulated by vpdpbusd against bytes of 1.  Twin: s8-pack-lanes16c4-c
 * (the layout) and ubias[o] = bias[o] - 128 * sum_k w(k, o) modulo 2^32. */
#include "mdl_ukernels_avx512.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

#define LB MDL_CONV_FAST_LANE_BLOCK

MDL_VNNI void mdl_s8_pack_ukernel_lanes16c4u__avx512vnni(int32_t n, int32_t k2,
                                                        const int16_t* w16,
                                                        const int32_t* bias, int8_t* w8,
                                                        int32_t* ubias) {
  const int32_t k4 = (k2 + 3) / 4 * 4;
  const int32_t pairs = k2 / 2;
  const __m256i ones = _mm256_set1_epi8(1);
  for (int32_t ob = 0; ob < n; ob += LB) {
    const int16_t* src = w16 + (size_t)ob * k2;
    int8_t* dst = w8 + (size_t)ob * k4;
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (int32_t q = 0; q < k4 / 4; ++q, dst += 4 * LB) {
      const __m256i a =
          _mm512_cvtepi16_epi8(_mm512_loadu_si512((const void*)(src + (size_t)2 * q * 2 * LB)));
      const __m256i b =
          2 * q + 1 < pairs
              ? _mm512_cvtepi16_epi8(
                    _mm512_loadu_si512((const void*)(src + (size_t)(2 * q + 1) * 2 * LB)))
              : _mm256_setzero_si256();
      const __m256i lo = _mm256_unpacklo_epi16(a, b); /* channels 0..3 | 8..11 */
      const __m256i hi = _mm256_unpackhi_epi16(a, b); /* channels 4..7 | 12..15 */
      const __m256i o0 = _mm256_permute2x128_si256(lo, hi, 0x20);
      const __m256i o1 = _mm256_permute2x128_si256(lo, hi, 0x31);
      _mm256_storeu_si256((__m256i*)(void*)dst, o0);
      _mm256_storeu_si256((__m256i*)(void*)(dst + 2 * LB), o1);
      s0 = _mm256_dpbusd_epi32(s0, ones, o0);
      s1 = _mm256_dpbusd_epi32(s1, ones, o1);
    }
    const __m256i b0 = _mm256_loadu_si256((const __m256i*)(const void*)(bias + ob));
    const __m256i b1 = _mm256_loadu_si256((const __m256i*)(const void*)(bias + ob + 8));
    _mm256_storeu_si256((__m256i*)(void*)(ubias + ob),
                        _mm256_sub_epi32(b0, _mm256_slli_epi32(s0, 7)));
    _mm256_storeu_si256((__m256i*)(void*)(ubias + ob + 8),
                        _mm256_sub_epi32(b1, _mm256_slli_epi32(s1, 7)));
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
