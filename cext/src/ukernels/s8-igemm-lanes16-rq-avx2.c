/* s8-igemm-lanes16-rq-avx2: the fused-requantization lanes16 GEMM of
 * s8-gemm-lanes16-rq-avx2 over indirect patches (mdl_ukernels.h): each patch is read as
 * nseg runs (the filter rows of a convolution window) straight from the widened input
 * rows of conv_s8_fast's MDL_CONV_S8_FAST_IM2COL_ROWS form, so no patch is copied.
 * The same tiles and in-register requantization (mdl_lanes16_rq_blocks_avx2,
 * mdl_ukernels_avx2.h).  Twin: the runs gathered into plain patches, then
 * s8-gemm-lanes16-c and s32-requant-rows-c. */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

MDL_AVX2 void mdl_s8_igemm_ukernel_lanes16_rq__avx2(int32_t np, int32_t n, int32_t nseg,
                                                    const int16_t* const* seg,
                                                    int32_t seg_k2, int32_t kp,
                                                    const int16_t* w, const int32_t* bias,
                                                    const mdl_rq_params* rq, int8_t* out,
                                                    int32_t out_stride) {
  const __m256i offset = _mm256_set1_epi32(rq->output_offset);
  const __m256i lo = _mm256_set1_epi32(rq->act_min), hi = _mm256_set1_epi32(rq->act_max);
  if (rq->lean) {
    mdl_lanes16_rq_blocks_avx2(np, n, seg, nseg, seg_k2, kp, w, bias, rq->multiplier,
                               rq->shift, offset, lo, hi, 1, out, out_stride);
  } else {
    mdl_lanes16_rq_blocks_avx2(np, n, seg, nseg, seg_k2, kp, w, bias, rq->multiplier,
                               rq->shift, offset, lo, hi, 0, out, out_stride);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
