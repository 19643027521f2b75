/* s8-gemm-lanes16-rq-avx2: the output-channel lanes GEMM of conv_s8_fast with the
 * requantization fused (mdl_ukernels.h): the int32 sums of a
 * step are requantized while still in registers (rq8_apply, mdl_requantize_avx2.h,
 * gemmlowp double rounding) and their int8 results stored straight to the output: no
 * int32 accumulator array, no separate requantization pass (the tiles:
 * mdl_lanes16_rq_blocks_avx2, mdl_ukernels_avx2.h).  Twin: s8-gemm-lanes16-c followed
 * by s32-requant-rows-c. */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

MDL_AVX2 void mdl_s8_gemm_ukernel_lanes16_rq__avx2(int32_t np, int32_t n, int32_t k2,
                                                   int32_t kp, const int16_t* patches,
                                                   const int16_t* w, const int32_t* bias,
                                                   const mdl_rq_params* rq, int8_t* out,
                                                   int32_t out_stride) {
  const __m256i offset = _mm256_set1_epi32(rq->output_offset);
  const __m256i lo = _mm256_set1_epi32(rq->act_min), hi = _mm256_set1_epi32(rq->act_max);
  const int16_t* seg[1] = {patches};
  if (rq->lean) {
    mdl_lanes16_rq_blocks_avx2(np, n, seg, 1, k2, kp, w, bias, rq->multiplier, rq->shift,
                               offset, lo, hi, 1, out, out_stride);
  } else {
    mdl_lanes16_rq_blocks_avx2(np, n, seg, 1, k2, kp, w, bias, rq->multiplier, rq->shift,
                               offset, lo, hi, 0, out, out_stride);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
