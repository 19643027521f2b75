/* s8-gemm-lanes16c4-rq-neondot: the lanes GEMM of conv_s8_fast over int8 patches and
 * the lanes16c4 int8 filter with the ARMv8.2 dot product, requantization fused
 * (mdl_ukernels.h).  Per step of 4 k: the 16 channels' 4 weights are 4 vectors, each
 * multiplied by the patch's 4 int8 repeated (LD1R) with SDOT into 4 int32 channel
 * lanes; 4 patches x 16 (or 8) channels per step.  Compiled for +dotprod by the pragma
 * below (no -march); conv_s8_fast runs it only after mdl_cpu_has_dotprod().  Twin:
 * s8-gemm-lanes16-c on the same values, then s32-requant-rows-c. */
#include "mdl_ukernels.h"

#ifdef MDL_HAVE_NEONDOT_UKERNELS
#pragma GCC target("arch=armv8.2-a+dotprod")
#include "mdl_ukernels_neon.h"

/* Sums (no bias) of P patches x H halves of 8 channels: s[i * 2 * H + v] = channels
 * 4v .. 4v + 3 of patch i. */
MDL_INLINE void sums_dot(const int8_t* x, int32_t ps, int32_t k4, const int8_t* wb, int P,
                         int H, int32x4_t* s) {
  for (int j = 0; j < P * 2 * H; ++j) s[j] = vdupq_n_s32(0);
  const int8_t* const w_end = wb + (size_t)k4 * MDL_LB;
  for (const int8_t* wk = wb; wk < w_end; wk += 4 * MDL_LB, x += 4) {
    int8x16_t w[4];
    w[0] = vld1q_s8(wk);
    w[1] = vld1q_s8(wk + 16);
    if (H == 2) {
      w[2] = vld1q_s8(wk + 32);
      w[3] = vld1q_s8(wk + 48);
    }
    for (int i = 0; i < P; ++i) {
      const int8x16_t xv =
          vreinterpretq_s8_s32(vld1q_dup_s32((const int32_t*)(const void*)(x + (size_t)i * ps)));
      for (int v = 0; v < 2 * H; ++v) s[i * 2 * H + v] = vdotq_s32(s[i * 2 * H + v], w[v], xv);
    }
  }
}

static void block(int32_t np, int32_t lanes, int32_t k4, const int8_t* x, int32_t ps,
                  const int8_t* wb, const mdl_block_rq_neon* k, int8_t* out,
                  int32_t stride) {
  int32_t i = 0;
  int32x4_t s[16];
  const int H = lanes > 8 ? 2 : 1;
  if (H == 2) {
    for (; i + 4 <= np; i += 4) {
      sums_dot(x + (size_t)i * ps, ps, k4, wb, 4, 2, s);
      for (int j = 0; j < 4; ++j) {
        mdl_store_n_neon(out + (size_t)(i + j) * stride, mdl_requant_patch_neon(k, s + 4 * j, 2),
                         lanes);
      }
    }
    for (; i < np; ++i) {
      sums_dot(x + (size_t)i * ps, ps, k4, wb, 1, 2, s);
      mdl_store_n_neon(out + (size_t)i * stride, mdl_requant_patch_neon(k, s, 2), lanes);
    }
    return;
  }
  for (; i + 4 <= np; i += 4) {
    sums_dot(x + (size_t)i * ps, ps, k4, wb, 4, 1, s);
    for (int j = 0; j < 4; ++j) {
      mdl_store_n_neon(out + (size_t)(i + j) * stride, mdl_requant_patch_neon(k, s + 2 * j, 1),
                       lanes);
    }
  }
  for (; i < np; ++i) {
    sums_dot(x + (size_t)i * ps, ps, k4, wb, 1, 1, s);
    mdl_store_n_neon(out + (size_t)i * stride, mdl_requant_patch_neon(k, s, 1), lanes);
  }
}

void mdl_s8_gemm_ukernel_lanes16c4_rq__neondot(int32_t np, int32_t n, int32_t k4,
                                               const int8_t* patches, int32_t pstride,
                                               const int8_t* w8, const int32_t* bias,
                                               const mdl_rq_params* rq, int8_t* out,
                                               int32_t out_stride) {
  mdl_block_rq_neon k;
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int32_t lanes = n - ob < MDL_LB ? n - ob : MDL_LB;
    mdl_block_rq_init_neon(&k, rq, bias, ob, lanes);
    block(np, lanes, k4, patches, pstride, w8 + (size_t)ob * k4, &k, out + ob, out_stride);
  }
}

#endif /* MDL_HAVE_NEONDOT_UKERNELS */
