/* s8-gemm-lanes16-neon: the output-channel lanes GEMM of conv_s8_fast in aarch64
 * Advanced SIMD (mdl_ukernels.h; the sums in mdl_lanes16_sums_neon,
 * mdl_ukernels_neon.h).  Twin: s8-gemm-lanes16-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

/* Stores the 4 * H sums of one patch (s: H * 2 vectors of 4 channels) plus the bias,
 * the first `lanes` of them, at d. */
MDL_INLINE void store_sums(int32_t* d, const int32x4_t* s, const int32_t* bias, int H,
                           int32_t lanes) {
  int32_t t[MDL_LB];
  for (int q = 0; q < 2 * H; ++q) vst1q_s32(t + 4 * q, vaddq_s32(s[q], vld1q_s32(bias + 4 * q)));
  if (lanes == 4 * 2 * H) {
    for (int q = 0; q < 2 * H; ++q) vst1q_s32(d + 4 * q, vld1q_s32(t + 4 * q));
  } else {
    for (int32_t j = 0; j < lanes; ++j) d[j] = t[j];
  }
}

void mdl_s8_gemm_ukernel_lanes16__neon(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                       const int16_t* patches, const int16_t* w,
                                       const int32_t* bias, int32_t* acc) {
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int16_t* wb = w + (size_t)ob * k2;
    const int32_t lanes = n - ob < MDL_LB ? n - ob : MDL_LB;
    const int32_t* b = bias + ob;
    int32_t* a = acc + ob;
    int32_t i = 0;
    int32x4_t s[16];
    if (lanes > 8) {
      for (; i + 2 <= np; i += 2) {
        mdl_lanes16_sums_neon(patches + (size_t)i * kp, kp, k2, wb, 2, 2, s);
        store_sums(a + (size_t)i * n, s, b, 2, lanes);
        store_sums(a + (size_t)(i + 1) * n, s + 4, b, 2, lanes);
      }
      for (; i < np; ++i) {
        mdl_lanes16_sums_neon(patches + (size_t)i * kp, kp, k2, wb, 1, 2, s);
        store_sums(a + (size_t)i * n, s, b, 2, lanes);
      }
    } else {
      for (; i + 4 <= np; i += 4) {
        mdl_lanes16_sums_neon(patches + (size_t)i * kp, kp, k2, wb, 4, 1, s);
        for (int j = 0; j < 4; ++j) store_sums(a + (size_t)(i + j) * n, s + 2 * j, b, 1, lanes);
      }
      for (; i < np; ++i) {
        mdl_lanes16_sums_neon(patches + (size_t)i * kp, kp, k2, wb, 1, 1, s);
        store_sums(a + (size_t)i * n, s, b, 1, lanes);
      }
    }
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
