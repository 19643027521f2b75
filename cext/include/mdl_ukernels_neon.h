/* microdl: inline Advanced SIMD (NEON) building blocks shared by the NEON microkernels
 * of cext/src/ukernels/ and the depthwise operator (see mdl_ukernels.h), for aarch64 and
 * 32-bit ARM (MDL_HAVE_NEON_UKERNELS).  On aarch64 Advanced SIMD is in the baseline; on
 * 32-bit ARM everything here is compiled for fpu=neon (MDL_NEON_BEGIN / MDL_NEON_END),
 * so it may only be called from NEON code that runs after mdl_cpu_has_neon().  The
 * A64-only intrinsics are the mdl_v* of mdl_neon_compat.h. */
#ifndef MDL_UKERNELS_NEON_H
#define MDL_UKERNELS_NEON_H

#include "mdl_ukernels.h"

#ifdef MDL_HAVE_NEON_UKERNELS
#include <string.h>

MDL_NEON_BEGIN
#include <arm_neon.h>

#include "mdl_neon_compat.h"

#define MDL_LB MDL_CONV_FAST_LANE_BLOCK

/* The per-channel requantization parameters of 4 lanes. */
typedef struct {
  int32x4_t left;  /* max(shift, 0) */
  int32x4_t right; /* -max(-shift, 0): a right shift as a negative vshl count */
  int32x4_t mult;
} mdl_rq4_neon;

MDL_INLINE void mdl_rq4_init_neon(mdl_rq4_neon* r, const int32_t* multiplier,
                                  const int32_t* shift) {
  const int32x4_t s = vld1q_s32(shift), zero = vdupq_n_s32(0);
  r->left = vmaxq_s32(s, zero);
  r->right = vminq_s32(s, zero);
  r->mult = vld1q_s32(multiplier);
}

/* mdl_requantize_clamp_vec(x, m, s, offset, lo, hi) (gemmlowp double rounding) in 4
 * lanes: x << left (wrapping, as the scalar code), SQRDMULH (exactly
 * SaturatingRoundingDoublingHighMul, including its one saturating case), then the
 * rounding divide by 2^right with ties away from zero: SRSHL rounds ties up, so
 * negative values are first lowered by one (saturating; the sign bit of q & -right is
 * set exactly when q < 0 and right > 0), the offset and the clamp. */
MDL_INLINE int32x4_t mdl_rq4_apply_neon(const mdl_rq4_neon* r, int32x4_t x,
                                        int32x4_t offset, int32x4_t lo, int32x4_t hi) {
  int32x4_t q = vqrdmulhq_s32(vshlq_s32(x, r->left), r->mult);
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(q, r->right), 31);
  q = vrshlq_s32(vqaddq_s32(q, fixup), r->right);
  q = vaddq_s32(q, offset);
  return vminq_s32(vmaxq_s32(q, lo), hi);
}

/* The int8 values of v0..v3 (each lane in [-128, 127]) as 16 bytes. */
MDL_INLINE int8x16_t mdl_pack16_neon(int32x4_t v0, int32x4_t v1, int32x4_t v2,
                                     int32x4_t v3) {
  const int16x8_t a = vcombine_s16(vqmovn_s32(v0), vqmovn_s32(v1));
  const int16x8_t b = vcombine_s16(vqmovn_s32(v2), vqmovn_s32(v3));
  return vcombine_s8(vqmovn_s16(a), vqmovn_s16(b));
}

MDL_INLINE int8x8_t mdl_pack8_neon(int32x4_t v0, int32x4_t v1) {
  return vqmovn_s16(vcombine_s16(vqmovn_s32(v0), vqmovn_s32(v1)));
}

/* Stores the first n <= 16 bytes of v at o. */
MDL_INLINE void mdl_store_n_neon(int8_t* o, int8x16_t v, int32_t n) {
  if (n == 16) {
    vst1q_s8(o, v);
  } else if (n == 8) {
    vst1_s8(o, vget_low_s8(v));
  } else {
    int8_t t[16];
    vst1q_s8(t, v);
    for (int32_t j = 0; j < n; ++j) o[j] = t[j];
  }
}

/* The requantization of one block of 16 output channels of a lanes16 GEMM. */
typedef struct {
  mdl_rq4_neon r[4];
  int32x4_t bias[4];
  int32x4_t offset, lo, hi;
} mdl_block_rq_neon;

/* For the block of channels [ob, ob + lanes): bias has n rounded up to 16 entries,
 * multiplier and shift n (the last block is padded with zeros here). */
MDL_INLINE void mdl_block_rq_init_neon(mdl_block_rq_neon* k, const mdl_rq_params* rq,
                                       const int32_t* bias, int32_t ob, int32_t lanes) {
  const int32_t* m = rq->multiplier + ob;
  const int32_t* sh = rq->shift + ob;
  int32_t mp[MDL_LB], sp[MDL_LB];
  if (lanes < MDL_LB) {
    for (int32_t j = 0; j < MDL_LB; ++j) {
      mp[j] = j < lanes ? m[j] : 0;
      sp[j] = j < lanes ? sh[j] : 0;
    }
    m = mp;
    sh = sp;
  }
  for (int q = 0; q < 4; ++q) {
    mdl_rq4_init_neon(&k->r[q], m + 4 * q, sh + 4 * q);
    k->bias[q] = vld1q_s32(bias + ob + 4 * q);
  }
  k->offset = vdupq_n_s32(rq->output_offset);
  k->lo = vdupq_n_s32(rq->act_min);
  k->hi = vdupq_n_s32(rq->act_max);
}

/* The int8 results of one patch (sums s of 8 * H channels, 2 * H vectors) as 8 * H
 * bytes (H == 1: the 8 bytes twice). */
MDL_INLINE int8x16_t mdl_requant_patch_neon(const mdl_block_rq_neon* k, const int32x4_t* s,
                                            int H) {
  int32x4_t v[4];
  for (int q = 0; q < 2 * H; ++q) {
    v[q] = mdl_rq4_apply_neon(&k->r[q], vaddq_s32(s[q], k->bias[q]), k->offset, k->lo,
                              k->hi);
  }
  if (H == 2) return mdl_pack16_neon(v[0], v[1], v[2], v[3]);
  const int8x8_t h = mdl_pack8_neon(v[0], v[1]);
  return vcombine_s8(h, h);
}

/* dst[i * k4 + k] = src[i * kp + k] (int16 in the int8 range, narrowed) for k < K, 0
 * for K <= k < k4, i < np: int16 patches as the int8 patches of the dot-product GEMM. */
MDL_INLINE void mdl_narrow_patches_neon(int32_t np, int32_t K, int32_t kp, int32_t k4,
                                        const int16_t* src, int8_t* dst) {
  for (int32_t i = 0; i < np; ++i, src += kp, dst += k4) {
    int32_t k = 0;
    for (; k + 16 <= K; k += 16) {
      vst1q_s8(dst + k, vcombine_s8(vmovn_s16(vld1q_s16(src + k)),
                                    vmovn_s16(vld1q_s16(src + k + 8))));
    }
    for (; k + 8 <= K; k += 8) vst1_s8(dst + k, vmovn_s16(vld1q_s16(src + k)));
    for (; k < K; ++k) dst[k] = (int8_t)src[k];
    for (; k < k4; ++k) dst[k] = 0;
  }
}

/* w8[q][t][j] = wb[q * 32 + 2 * j + t] (int16 in the int8 range, narrowed) for q <
 * pairs, t < 2, j < 16: one block of the depthwise lanes weights ([pairs][16][2] int16)
 * as the int8 [pairs][2][16] of s8-dwconv-lanes16c2-rq-neon.  Returns 1 when none is
 * -128 (that microkernel's precondition), else 0. */
MDL_INLINE int mdl_pack_dw_lanes16c2_neon(int32_t pairs, const int16_t* wb, int8_t* w8) {
  int8x16_t lowest = vdupq_n_s8(127);
  for (int32_t q = 0; q < pairs; ++q, wb += 32, w8 += 32) {
    const int16x8x2_t a = vld2q_s16(wb), b = vld2q_s16(wb + 16); /* split the taps */
    const int8x16_t t0 = vcombine_s8(vmovn_s16(a.val[0]), vmovn_s16(b.val[0]));
    const int8x16_t t1 = vcombine_s8(vmovn_s16(a.val[1]), vmovn_s16(b.val[1]));
    vst1q_s8(w8, t0);
    vst1q_s8(w8 + 16, t1);
    lowest = vminq_s8(lowest, vminq_s8(t0, t1));
  }
  return mdl_vminvq_s8(lowest) > -128;
}

/* The int16 pair x[0], x[1] repeated over 8 int16 lanes. */
MDL_INLINE int16x8_t mdl_pair_neon(const int16_t* x) {
  int32_t v;
  memcpy(&v, x, sizeof v);
  return vreinterpretq_s16_s32(vdupq_n_s32(v));
}

/* lanes16 GEMM sums of P patches (x + i * kp) x H halves of 8 output channels of one
 * block of 16 (weights wb, [k2 / 2][16][2] int16), without the bias.  Per pair step the 32 (or 16 for
 * H == 1) weights are 4 (2) vectors whose lanes alternate the pair's two k; each is
 * multiplied by the pair (x0, x1, x0, x1, ...) with SMLAL / SMLAL2 into int32 lanes
 * that keep the two k apart (wrapping sums), and the two are added only once at the
 * end (ADDP): out[i * 2 * H + q] = channels 4q .. 4q + 3 of patch i.  P, H constants
 * at every call (the loops unroll); P * 4 * H <= 16 accumulators. */
MDL_INLINE void mdl_lanes16_sums_neon(const int16_t* x, int32_t kp, int32_t k2,
                                      const int16_t* wb, int P, int H, int32x4_t* out) {
  int32x4_t a[16];
  for (int j = 0; j < P * 4 * H; ++j) a[j] = vdupq_n_s32(0);
  const int16_t* const w_end = wb + (size_t)k2 * MDL_LB;
  for (const int16_t* wk = wb; wk < w_end; wk += 2 * MDL_LB, x += 2) {
    int16x8_t w[4];
    w[0] = vld1q_s16(wk);
    w[1] = vld1q_s16(wk + 8);
    if (H == 2) {
      w[2] = vld1q_s16(wk + 16);
      w[3] = vld1q_s16(wk + 24);
    }
    for (int i = 0; i < P; ++i) {
      const int16x8_t xv = mdl_pair_neon(x + (size_t)i * kp);
      const int16x4_t xl = vget_low_s16(xv);
      for (int v = 0; v < 2 * H; ++v) {
        int32x4_t* av = a + (i * 2 * H + v) * 2;
        av[0] = vmlal_s16(av[0], vget_low_s16(w[v]), xl);
        av[1] = mdl_vmlal_high_s16(av[1], w[v], xv);
      }
    }
  }
  for (int j = 0; j < P * 2 * H; ++j) out[j] = mdl_vpaddq_s32(a[2 * j], a[2 * j + 1]);
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
#endif /* MDL_UKERNELS_NEON_H */
