/* s8-gemm-lanes16-c: the output-channel lanes GEMM of conv_s8_fast, portable C
 * (mdl_ukernels.h).  Per patch and block of 16 output channels, one int16 pair
 * multiply-add per pair of patch entries into 16 int32 lanes (compilers emit x86
 * pmaddwd-style code or Arm widening multiply-adds), no horizontal sums; a block of at
 * most 8 channels sums 8 lanes only (the upper half's weights are zero). */
#include "mdl_ukernels.h"

#define LB MDL_CONV_FAST_LANE_BLOCK

/* One block of L (8 or 16, a constant) lanes for np patches; stores the first `lanes`
 * sums of each at acc + i * n. */
MDL_INLINE void block_lanes(int32_t np, int32_t n, int32_t k2, int32_t kp,
                            const int16_t* MDL_RESTRICT patches,
                            const int16_t* MDL_RESTRICT wb,
                            const int32_t* MDL_RESTRICT bias, int32_t lanes,
                            int32_t* MDL_RESTRICT acc, const int32_t L) {
  for (int32_t i = 0; i < np; ++i) {
    const int16_t* x = patches + (size_t)i * kp;
    int32_t a[LB];
    for (int32_t j = 0; j < L; ++j) a[j] = bias[j];
    for (int32_t k = 0; k < k2; k += 2) {
      const int32_t x0 = x[k], x1 = x[k + 1];
      const int16_t* wk = wb + (size_t)k * LB;
      for (int32_t j = 0; j < L; ++j) {
        a[j] = mdl_add_wrap(a[j], x0 * wk[2 * j] + x1 * wk[2 * j + 1]);
      }
    }
    int32_t* d = acc + (size_t)i * n;
    for (int32_t j = 0; j < lanes; ++j) d[j] = a[j];
  }
}

MDL_MULTIVERSION void mdl_s8_gemm_ukernel_lanes16__c(int32_t np, int32_t n, int32_t k2,
                                                     int32_t kp,
                                                     const int16_t* MDL_RESTRICT patches,
                                                     const int16_t* MDL_RESTRICT w,
                                                     const int32_t* MDL_RESTRICT bias,
                                                     int32_t* MDL_RESTRICT acc) {
  for (int32_t ob = 0; ob < n; ob += LB) {
    const int16_t* wb = w + (size_t)ob * k2;
    const int32_t lanes = n - ob < LB ? n - ob : LB;
    if (lanes <= LB / 2) {
      block_lanes(np, n, k2, kp, patches, wb, bias + ob, lanes, acc + ob, LB / 2);
    } else {
      block_lanes(np, n, k2, kp, patches, wb, bias + ob, lanes, acc + ob, LB);
    }
  }
}
