/* s8-gemm-lanes16c8-rq-neon: the lanes GEMM of conv_s8_fast over int8 patches and the
 * lanes16c8 int8 filter without the dot product (ARMv8.0, Cortex-A72), requantization
 * fused (mdl_ukernels.h).  Per step of 8 k: the patch's 8 int8 as [x0..3, x0..3, x4..7,
 * x4..7] (LD1R of 64 bits, ZIP1), per pair of channels SMULL (k 0..3) + SMLAL2 (k 4..7)
 * into int16 lanes that each hold two products, SADALP into int32 lanes (two per
 * channel, added once at the end with ADDP).  Twin: s8-gemm-lanes16-c on the same
 * values, then s32-requant-rows-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

/* Sums (no bias) of P patches x H halves of 8 channels: s[i * 2 * H + v] = channels
 * 4v .. 4v + 3 of patch i. */
MDL_INLINE void sums_c8(const int8_t* x, int32_t ps, int32_t k8, const int8_t* wb, int P,
                        int H, int32x4_t* s) {
  int32x4_t a[16]; /* a[i * 4 * H + p]: channel pair p of patch i */
  for (int j = 0; j < P * 4 * H; ++j) a[j] = vdupq_n_s32(0);
  const int8_t* const w_end = wb + (size_t)k8 * MDL_LB;
  for (const int8_t* wk = wb; wk < w_end; wk += 8 * MDL_LB, x += 8) {
    int8x16_t w[8];
    for (int p = 0; p < 4 * H; ++p) w[p] = vld1q_s8(wk + 16 * p);
    for (int i = 0; i < P; ++i) {
      const int64x2_t x2 = mdl_vld1q_dup_s64(x + (size_t)i * ps);
      const int8x16_t xv = vreinterpretq_s8_s32(
          mdl_vzip1q_s32(vreinterpretq_s32_s64(x2), vreinterpretq_s32_s64(x2)));
      for (int p = 0; p < 4 * H; ++p) {
        const int16x8_t prod = mdl_vmlal_high_s8(vmull_s8(vget_low_s8(w[p]), vget_low_s8(xv)),
                                             w[p], xv);
        a[i * 4 * H + p] = vpadalq_s16(a[i * 4 * H + p], prod);
      }
    }
  }
  for (int i = 0; i < P; ++i) {
    for (int v = 0; v < 2 * H; ++v) {
      s[i * 2 * H + v] = mdl_vpaddq_s32(a[i * 4 * H + 2 * v], a[i * 4 * H + 2 * v + 1]);
    }
  }
}

static void block(int32_t np, int32_t lanes, int32_t k8, const int8_t* x, int32_t ps,
                  const int8_t* wb, const mdl_block_rq_neon* k, int8_t* out,
                  int32_t stride) {
  int32_t i = 0;
  int32x4_t s[16];
  if (lanes > 8) {
    for (; i + 2 <= np; i += 2) {
      sums_c8(x + (size_t)i * ps, ps, k8, wb, 2, 2, s);
      mdl_store_n_neon(out + (size_t)i * stride, mdl_requant_patch_neon(k, s, 2), lanes);
      mdl_store_n_neon(out + (size_t)(i + 1) * stride, mdl_requant_patch_neon(k, s + 4, 2),
                       lanes);
    }
    for (; i < np; ++i) {
      sums_c8(x + (size_t)i * ps, ps, k8, wb, 1, 2, s);
      mdl_store_n_neon(out + (size_t)i * stride, mdl_requant_patch_neon(k, s, 2), lanes);
    }
    return;
  }
  for (; i + 4 <= np; i += 4) {
    sums_c8(x + (size_t)i * ps, ps, k8, wb, 4, 1, s);
    for (int j = 0; j < 4; ++j) {
      mdl_store_n_neon(out + (size_t)(i + j) * stride, mdl_requant_patch_neon(k, s + 2 * j, 1),
                       lanes);
    }
  }
  for (; i < np; ++i) {
    sums_c8(x + (size_t)i * ps, ps, k8, wb, 1, 1, s);
    mdl_store_n_neon(out + (size_t)i * stride, mdl_requant_patch_neon(k, s, 1), lanes);
  }
}

void mdl_s8_gemm_ukernel_lanes16c8_rq__neon(int32_t np, int32_t n, int32_t k8,
                                            const int8_t* patches, int32_t pstride,
                                            const int8_t* w8, const int32_t* bias,
                                            const mdl_rq_params* rq, int8_t* out,
                                            int32_t out_stride) {
  mdl_block_rq_neon k;
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int32_t lanes = n - ob < MDL_LB ? n - ob : MDL_LB;
    mdl_block_rq_init_neon(&k, rq, bias, ob, lanes);
    block(np, lanes, k8, patches, pstride, w8 + (size_t)ob * k8, &k, out + ob, out_stride);
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
