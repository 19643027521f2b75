/* s8-dwconv-lanes16-rq-avx512vnni: the depthwise lanes form of depthwise_conv_s8_fast for
 * one run of output pixels and one block of 16 channels with AVX512-VNNI
 * (mdl_ukernels.h): per pair of taps the two taps' 16 input bytes interleaved per
 * channel and widened to 16 int16 pairs in one 512-bit register, one vpdpwssd with the
 * block's packed int16 pair weights (one 64-byte row per pair) into the 16 int32
 * channel sums; the requantization in the same 16 lanes (mdl_rq16_apply, double
 * rounding) and one 16-byte store per pixel.  3x3 filters (5 pairs) keep their weights
 * in registers.  Twin: s8-dwconv-lanes16-rq-c with lanes 16. */
#include "mdl_ukernels_avx512.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

#define LB MDL_CONV_FAST_LANE_BLOCK

/* (x0[j], x1[j]) for j < 16 as int16 pairs in the 16 int32 lanes. */
MDL_INLINE MDL_VNNI __m512i pairs16(const int8_t* x0, const int8_t* x1) {
  const __m128i a = _mm_loadu_si128((const __m128i*)(const void*)x0);
  const __m128i b = _mm_loadu_si128((const __m128i*)(const void*)x1);
  const __m256i ab = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(a, b)),
                                             _mm_unpackhi_epi8(a, b), 1);
  return _mm512_cvtepi8_epi16(ab);
}

/* P5: pairs is 5 (a constant: the weights stay in registers); lean a constant. */
MDL_INLINE MDL_VNNI void run16(const int P5, const int lean, int32_t n, int32_t pairs,
                               const int8_t* const* ptr, ptrdiff_t d0, ptrdiff_t step,
                               const int16_t* wb, const int32_t* bias, const mdl_rq16* r,
                               int32_t output_offset, int32_t act_min, int32_t act_max,
                               int8_t* out, int32_t stride) {
  if (P5) pairs = 5;
  const __m512i b = _mm512_loadu_si512((const void*)bias);
  const __m512i offset = _mm512_set1_epi32(output_offset);
  const __m512i lo = _mm512_set1_epi32(act_min), hi = _mm512_set1_epi32(act_max);
  __m512i w5[5];
  if (P5) {
    for (int q = 0; q < 5; ++q) w5[q] = _mm512_loadu_si512((const void*)(wb + q * 2 * LB));
  }
  for (int32_t i = 0; i < n; ++i) {
    const ptrdiff_t d = d0 + (ptrdiff_t)i * step;
    __m512i a = b;
    for (int32_t q = 0; q < pairs; ++q) {
      const __m512i w = P5 ? w5[q] : _mm512_loadu_si512((const void*)(wb + (size_t)q * 2 * LB));
      a = _mm512_dpwssd_epi32(a, pairs16(ptr[2 * q] + d, ptr[2 * q + 1] + d), w);
    }
    const __m128i o8 = _mm512_cvtepi32_epi8(mdl_rq16_apply(r, a, offset, lo, hi, lean));
    _mm_storeu_si128((__m128i*)(void*)(out + (size_t)i * stride), o8);
  }
}

MDL_VNNI void mdl_s8_dwconv_ukernel_lanes16_rq__avx512vnni(
    int32_t n, int32_t pairs, const int8_t* const* ptr, ptrdiff_t d0, ptrdiff_t step,
    const int16_t* wb, const int32_t* bias, const mdl_rq_params* rq, int8_t* out,
    int32_t out_stride) {
  mdl_rq16 r;
  mdl_rq16_init(&r, rq->multiplier, rq->shift);
  if (pairs == 5) {
    if (rq->lean) {
      run16(1, 1, n, pairs, ptr, d0, step, wb, bias, &r, rq->output_offset, rq->act_min,
            rq->act_max, out, out_stride);
    } else {
      run16(1, 0, n, pairs, ptr, d0, step, wb, bias, &r, rq->output_offset, rq->act_min,
            rq->act_max, out, out_stride);
    }
  } else {
    run16(0, 0, n, pairs, ptr, d0, step, wb, bias, &r, rq->output_offset, rq->act_min,
          rq->act_max, out, out_stride);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
