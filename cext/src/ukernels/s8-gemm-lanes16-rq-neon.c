/* s8-gemm-lanes16-rq-neon: the output-channel lanes GEMM of conv_s8_fast with the
 * requantization fused, aarch64 Advanced SIMD (mdl_ukernels.h): the int32 sums of a step
 * are requantized in registers (mdl_rq4_apply_neon: SQRDMULH and a rounding shift,
 * gemmlowp double rounding) and stored as int8 straight to the output.  2 patches x 16
 * channels per step, or 4 patches x 8 channels for a block of at most 8.  Twin:
 * s8-gemm-lanes16-c followed by s32-requant-rows-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS

typedef struct {
  mdl_rq4_neon r[4];
  int32x4_t bias[4];
  int32x4_t offset, lo, hi;
} block_rq;

/* The int8 results of one patch (sums s of 4 * H channels) as 8 * H bytes. */
MDL_INLINE int8x16_t requant_patch(const block_rq* k, const int32x4_t* s, int H) {
  int32x4_t v[4];
  for (int q = 0; q < 2 * H; ++q) {
    v[q] = mdl_rq4_apply_neon(&k->r[q], vaddq_s32(s[q], k->bias[q]), k->offset, k->lo,
                              k->hi);
  }
  if (H == 2) return mdl_pack16_neon(v[0], v[1], v[2], v[3]);
  const int8x8_t h = mdl_pack8_neon(v[0], v[1]);
  return vcombine_s8(h, h);
}

static void block(int32_t np, int32_t lanes, int32_t k2, int32_t kp, const int16_t* x,
                  const int16_t* wb, const block_rq* k, int8_t* out, int32_t stride) {
  int32_t i = 0;
  int32x4_t s[16];
  if (lanes > 8) {
    for (; i + 2 <= np; i += 2) {
      mdl_lanes16_sums_neon(x + (size_t)i * kp, kp, k2, wb, 2, 2, s);
      mdl_store_n_neon(out + (size_t)i * stride, requant_patch(k, s, 2), lanes);
      mdl_store_n_neon(out + (size_t)(i + 1) * stride, requant_patch(k, s + 4, 2), lanes);
    }
    for (; i < np; ++i) {
      mdl_lanes16_sums_neon(x + (size_t)i * kp, kp, k2, wb, 1, 2, s);
      mdl_store_n_neon(out + (size_t)i * stride, requant_patch(k, s, 2), lanes);
    }
    return;
  }
  for (; i + 4 <= np; i += 4) {
    mdl_lanes16_sums_neon(x + (size_t)i * kp, kp, k2, wb, 4, 1, s);
    for (int j = 0; j < 4; ++j) {
      mdl_store_n_neon(out + (size_t)(i + j) * stride, requant_patch(k, s + 2 * j, 1),
                       lanes);
    }
  }
  for (; i < np; ++i) {
    mdl_lanes16_sums_neon(x + (size_t)i * kp, kp, k2, wb, 1, 1, s);
    mdl_store_n_neon(out + (size_t)i * stride, requant_patch(k, s, 1), lanes);
  }
}

void mdl_s8_gemm_ukernel_lanes16_rq__neon(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                          const int16_t* patches, const int16_t* w,
                                          const int32_t* bias, const mdl_rq_params* rq,
                                          int8_t* out, int32_t out_stride) {
  block_rq k;
  k.offset = vdupq_n_s32(rq->output_offset);
  k.lo = vdupq_n_s32(rq->act_min);
  k.hi = vdupq_n_s32(rq->act_max);
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int32_t lanes = n - ob < MDL_LB ? n - ob : MDL_LB;
    const int32_t* m = rq->multiplier + ob;
    const int32_t* sh = rq->shift + ob;
    int32_t mp[MDL_LB], sp[MDL_LB];
    if (lanes < MDL_LB) { /* multiplier and shift have n entries: pad the last block */
      for (int32_t j = 0; j < MDL_LB; ++j) {
        mp[j] = j < lanes ? m[j] : 0;
        sp[j] = j < lanes ? sh[j] : 0;
      }
      m = mp;
      sh = sp;
    }
    for (int q = 0; q < 4; ++q) {
      mdl_rq4_init_neon(&k.r[q], m + 4 * q, sh + 4 * q);
      k.bias[q] = vld1q_s32(bias + ob + 4 * q); /* bias: n rounded up to 16 entries */
    }
    block(np, lanes, k2, kp, patches, w + (size_t)ob * k2, &k, out + ob, out_stride);
  }
}

#endif /* MDL_HAVE_NEON_UKERNELS */
