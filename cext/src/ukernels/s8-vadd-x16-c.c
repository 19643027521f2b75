/* s8-vadd-x16-c: the portable int8 ADD / SUB row of add_s8.c's fast path
 * (mdl_ukernels.h), 16 elements per step: the int8 loads widened into int32 lanes, the
 * input scalings in 32-bit arithmetic only (mdl_small_scale_apply) and the output
 * requantization without branches (mdl_requantize_clamp_vec), in loops over 16 lanes that
 * compilers vectorize (compiled twice on x86-64: MDL_MULTIVERSION).  The bits of
 * add_s8.c's scalar add_one for every argument in the documented range. */
#include "mdl_requantize_vec.h"
#include "mdl_ukernels.h"

#define STEP 16

/* One step of c <= STEP elements, `mode` a constant after inlining. */
MDL_INLINE void vadd_step(const mdl_s8_vadd_params* p, const int8_t* MDL_RESTRICT a,
                          const int8_t* MDL_RESTRICT b, int32_t c, int32_t mode,
                          int8_t* MDL_RESTRICT out) {
  int32_t xa[STEP], xb[STEP];
  for (int32_t i = 0; i < c; ++i) xa[i] = a[i] + p->a_offset;
  if (p->b_stride) {
    for (int32_t i = 0; i < c; ++i) xb[i] = b[i] + p->b_offset;
  } else {
    for (int32_t i = 0; i < c; ++i) xb[i] = b[0] + p->b_offset;
  }
  const int32_t ahi = p->a_hi, alo = p->a_lo, ar = p->a_right;
  const int32_t bhi = p->b_hi, blo = p->b_lo, br = p->b_right;
  const int32_t k = p->k, round = p->round;
  const int32_t m = p->out_multiplier, sh = p->out_shift, zo = p->out_offset;
  const int32_t lo = p->act_min, hi = p->act_max;
  for (int32_t i = 0; i < c; ++i) {
    const int32_t sa = mdl_small_scale_apply(xa[i], ahi, alo, k, round, ar);
    const int32_t sb = mdl_small_scale_apply(xb[i], bhi, blo, k, round, br);
    /* |sa|, |sb| < 2^30 (mdl_small_scale_apply's bound): neither form overflows. */
    const int32_t raw = mode == 0 ? sa + sb : mode == 1 ? sa - sb : sb - sa;
    xa[i] = mdl_requantize_clamp_vec(raw, m, sh, zo, lo, hi);
  }
  for (int32_t i = 0; i < c; ++i) out[i] = (int8_t)xa[i];
}

MDL_INLINE void vadd_row(int32_t n, const int8_t* a, const int8_t* b,
                         const mdl_s8_vadd_params* p, int32_t mode, int8_t* out) {
  const int32_t sb = p->b_stride;
  for (int32_t i = 0; i < n; i += STEP) {
    const int32_t c = n - i < STEP ? n - i : STEP;
    vadd_step(p, a + i, b + (ptrdiff_t)i * sb, c, mode, out + i);
  }
}

MDL_MULTIVERSION void mdl_s8_vadd_ukernel_x16__c(int32_t n, const int8_t* a, const int8_t* b,
                                                 const mdl_s8_vadd_params* p, int8_t* out) {
  if (p->mode == 0) {
    vadd_row(n, a, b, p, 0, out);
  } else if (p->mode == 1) {
    vadd_row(n, a, b, p, 1, out);
  } else {
    vadd_row(n, a, b, p, 2, out);
  }
}
