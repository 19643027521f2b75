/* s8-gemm-lanes16-rq-neon: the output-channel lanes GEMM of conv_s8_fast with the
 * requantization fused, aarch64 Advanced SIMD (mdl_ukernels.h): the int32 sums of a step
 * are requantized in registers (mdl_rq4_apply_neon: SQRDMULH and a rounding shift,
 * gemmlowp double rounding) and stored as int8 straight to the output.  2 patches x 16
 * channels per step, or 4 patches x 8 channels for a block of at most 8.  Twin:
 * s8-gemm-lanes16-c followed by s32-requant-rows-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

static void block(int32_t np, int32_t lanes, int32_t k2, int32_t kp, const int16_t* x,
                  const int16_t* wb, const mdl_block_rq_neon* k, int8_t* out, int32_t stride) {
  int32_t i = 0;
  int32x4_t s[16];
  if (lanes > 8) {
    for (; i + 2 <= np; i += 2) {
      mdl_lanes16_sums_neon(x + (size_t)i * kp, kp, k2, wb, 2, 2, s);
      mdl_store_n_neon(out + (size_t)i * stride, mdl_requant_patch_neon(k, s, 2), lanes);
      mdl_store_n_neon(out + (size_t)(i + 1) * stride, mdl_requant_patch_neon(k, s + 4, 2), lanes);
    }
    for (; i < np; ++i) {
      mdl_lanes16_sums_neon(x + (size_t)i * kp, kp, k2, wb, 1, 2, s);
      mdl_store_n_neon(out + (size_t)i * stride, mdl_requant_patch_neon(k, s, 2), lanes);
    }
    return;
  }
  for (; i + 4 <= np; i += 4) {
    mdl_lanes16_sums_neon(x + (size_t)i * kp, kp, k2, wb, 4, 1, s);
    for (int j = 0; j < 4; ++j) {
      mdl_store_n_neon(out + (size_t)(i + j) * stride, mdl_requant_patch_neon(k, s + 2 * j, 1),
                       lanes);
    }
  }
  for (; i < np; ++i) {
    mdl_lanes16_sums_neon(x + (size_t)i * kp, kp, k2, wb, 1, 1, s);
    mdl_store_n_neon(out + (size_t)i * stride, mdl_requant_patch_neon(k, s, 1), lanes);
  }
}

void mdl_s8_gemm_ukernel_lanes16_rq__neon(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                          const int16_t* patches, const int16_t* w,
                                          const int32_t* bias, const mdl_rq_params* rq,
                                          int8_t* out, int32_t out_stride) {
  mdl_block_rq_neon k;
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int32_t lanes = n - ob < MDL_LB ? n - ob : MDL_LB;
    mdl_block_rq_init_neon(&k, rq, bias, ob, lanes);
    block(np, lanes, k2, kp, patches, w + (size_t)ob * k2, &k, out + ob, out_stride);
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
