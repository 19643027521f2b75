/* s8-vadd-x16-neon: the int8 ADD / SUB row of add_s8.c's fast path in NEON
 * (mdl_ukernels.h; aarch64, and 32-bit ARM under MDL_NEON_BEGIN).  Per step 16 int8
 * elements of each input: the offset added in int16 lanes (|x + offset| < 2^9), widened
 * to four int32x4 quarters; the input scalings v * hi + ((v * lo + round) >> k) by MUL
 * and MLA and an arithmetic shift (SSHL by -k: a floor), the rounding divide by
 * 2^right with ties away from zero as in mdl_rq4_apply_neon (negative values lowered by
 * one, then SRSHL); the output requantization by mdl_rq4_apply_neon (SQRDMULH: exactly
 * SaturatingRoundingDoublingHighMul) with the scalar multiplier in every lane; narrowed
 * back to 16 bytes.  A last step of fewer than 16 elements goes through zeroed 16-byte
 * buffers.  Twin: mdl_s8_vadd_ukernel_x16__c. */
#include "mdl_requantize_vec.h"
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

typedef struct {
  int16x8_t off;
  int32x4_t hi, lo, right; /* right: -a_right as a vshl count */
} scale4;

typedef struct {
  scale4 a, b;
  int32x4_t round, negk, zo, lo, hi;
  mdl_rq4_neon out;
} vadd4;

MDL_INLINE void scale4_init(scale4* s, int32_t off, int32_t hi, int32_t lo, int32_t right) {
  s->off = vdupq_n_s16((int16_t)off);
  s->hi = vdupq_n_s32(hi);
  s->lo = vdupq_n_s32(lo);
  s->right = vdupq_n_s32(-right);
}

/* mdl_small_scale_apply for 4 lanes v (the offset already added). */
MDL_INLINE int32x4_t scale4_apply(const scale4* s, const vadd4* c, int32x4_t v) {
  const int32x4_t low = vshlq_s32(vmlaq_s32(c->round, v, s->lo), c->negk);
  int32x4_t q = vmlaq_s32(low, v, s->hi);
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(q, s->right), 31);
  return vrshlq_s32(vqaddq_s32(q, fixup), s->right);
}

/* The four scaled quarters of 16 int8 values x. */
MDL_INLINE void scale16(const scale4* s, const vadd4* c, int8x16_t x, int32x4_t* q) {
  const int16x8_t l = vaddq_s16(vmovl_s8(vget_low_s8(x)), s->off);
  const int16x8_t h = vaddq_s16(mdl_vmovl_high_s8(x), s->off);
  q[0] = scale4_apply(s, c, vmovl_s16(vget_low_s16(l)));
  q[1] = scale4_apply(s, c, vmovl_s16(vget_high_s16(l)));
  q[2] = scale4_apply(s, c, vmovl_s16(vget_low_s16(h)));
  q[3] = scale4_apply(s, c, vmovl_s16(vget_high_s16(h)));
}

MDL_INLINE int8x16_t step16(const vadd4* c, int8x16_t a16, int8x16_t b16, int bvec,
                            int32x4_t bconst, int32_t mode) {
  int32x4_t xa[4], xb[4], v[4];
  scale16(&c->a, c, a16, xa);
  if (bvec) {
    scale16(&c->b, c, b16, xb);
  } else {
    xb[0] = xb[1] = xb[2] = xb[3] = bconst;
  }
  for (int j = 0; j < 4; ++j) {
    const int32x4_t raw = mode == 0   ? vaddq_s32(xa[j], xb[j])
                          : mode == 1 ? vsubq_s32(xa[j], xb[j])
                                      : vsubq_s32(xb[j], xa[j]);
    v[j] = mdl_rq4_apply_neon(&c->out, raw, c->zo, c->lo, c->hi);
  }
  return mdl_pack16_neon(v[0], v[1], v[2], v[3]);
}

MDL_INLINE void row(const vadd4* c, int32_t n, const int8_t* a, const int8_t* b, int bvec,
                    int32x4_t bconst, int32_t mode, int8_t* out) {
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int8x16_t a16 = vld1q_s8(a + i);
    const int8x16_t b16 = bvec ? vld1q_s8(b + i) : a16;
    vst1q_s8(out + i, step16(c, a16, b16, bvec, bconst, mode));
  }
  if (i < n) {
    int8_t ta[16] = {0}, tb[16] = {0}, to[16];
    memcpy(ta, a + i, (size_t)(n - i));
    if (bvec) memcpy(tb, b + i, (size_t)(n - i));
    vst1q_s8(to, step16(c, vld1q_s8(ta), vld1q_s8(tb), bvec, bconst, mode));
    memcpy(out + i, to, (size_t)(n - i));
  }
}

void mdl_s8_vadd_ukernel_x16__neon(int32_t n, const int8_t* a, const int8_t* b,
                                   const mdl_s8_vadd_params* p, int8_t* out) {
  if (n <= 0) return;
  vadd4 c;
  scale4_init(&c.a, p->a_offset, p->a_hi, p->a_lo, p->a_right);
  scale4_init(&c.b, p->b_offset, p->b_hi, p->b_lo, p->b_right);
  c.round = vdupq_n_s32(p->round);
  c.negk = vdupq_n_s32(-p->k);
  c.zo = vdupq_n_s32(p->out_offset);
  c.lo = vdupq_n_s32(p->act_min);
  c.hi = vdupq_n_s32(p->act_max);
  c.out.left = vdupq_n_s32(p->out_shift > 0 ? p->out_shift : 0);
  c.out.right = vdupq_n_s32(p->out_shift < 0 ? p->out_shift : 0);
  c.out.mult = vdupq_n_s32(p->out_multiplier);
  const int bvec = p->b_stride != 0;
  const int32x4_t bconst = vdupq_n_s32(mdl_small_scale_apply(
      b[0] + p->b_offset, p->b_hi, p->b_lo, p->k, p->round, p->b_right));
  if (bvec) {
    if (p->mode == 0) {
      row(&c, n, a, b, 1, bconst, 0, out);
    } else if (p->mode == 1) {
      row(&c, n, a, b, 1, bconst, 1, out);
    } else {
      row(&c, n, a, b, 1, bconst, 2, out);
    }
  } else if (p->mode == 0) {
    row(&c, n, a, b, 0, bconst, 0, out);
  } else if (p->mode == 1) {
    row(&c, n, a, b, 0, bconst, 1, out);
  } else {
    row(&c, n, a, b, 0, bconst, 2, out);
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
