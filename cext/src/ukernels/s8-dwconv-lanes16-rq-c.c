/* s8-dwconv-lanes16-rq-c: one run of output pixels of the depthwise lanes form, one
 * group of 8 or 16 channels, sums and double-rounding requantization, portable C
 * (mdl_ukernels.h).  The twin of s8-dwconv-lanes16-rq-neon. */
#include "mdl_requantize_vec.h"
#include "mdl_ukernels.h"

#define LB MDL_CONV_FAST_LANE_BLOCK

void mdl_s8_dwconv_ukernel_lanes16_rq__c(int32_t n, int32_t lanes, int32_t pairs,
                                         const int8_t* const* ptr, ptrdiff_t d0,
                                         ptrdiff_t step, const int16_t* wb,
                                         const int32_t* bias, const mdl_rq_params* rq,
                                         int8_t* out, int32_t out_stride) {
  for (int32_t i = 0; i < n; ++i) {
    const ptrdiff_t d = d0 + (ptrdiff_t)i * step;
    uint32_t a[LB];
    for (int32_t j = 0; j < lanes; ++j) a[j] = (uint32_t)bias[j];
    for (int32_t q = 0; q < pairs; ++q) {
      const int8_t* x0 = ptr[2 * q] + d;
      const int8_t* x1 = ptr[2 * q + 1] + d;
      const int16_t* wq = wb + (size_t)q * 2 * LB;
      for (int32_t j = 0; j < lanes; ++j) {
        a[j] += (uint32_t)((int32_t)x0[j] * wq[2 * j] + (int32_t)x1[j] * wq[2 * j + 1]);
      }
    }
    int8_t* o = out + (size_t)i * out_stride;
    for (int32_t j = 0; j < lanes; ++j) {
      o[j] = (int8_t)mdl_requantize_clamp_vec((int32_t)a[j], rq->multiplier[j],
                                              rq->shift[j], rq->output_offset,
                                              rq->act_min, rq->act_max);
    }
  }
}
