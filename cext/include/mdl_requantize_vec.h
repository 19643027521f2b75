/* microdl: TFLite's double-rounding requantization written without branches, for loops
 * that compilers vectorize over int32 lanes (shared by the fast convolution kernels and
 * the int8 ADD / SUB fast path).  Every function here gives the same bits as its scalar
 * counterpart in mdl_fixedpoint.h for every argument it documents.
 */
#ifndef MDL_REQUANTIZE_VEC_H
#define MDL_REQUANTIZE_VEC_H

#include "mdl_fixedpoint.h"

/* mdl_rounding_divide_by_pot(x, exponent), exponent in [0, 31], as selects. */
MDL_INLINE int32_t mdl_rdbpot_vec(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)((1u << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* mdl_requantize(x, multiplier, shift) (gemmlowp double rounding), any shift in
 * [-31, 31]: SaturatingRoundingDoublingHighMul(a, b) = floor((a * b + 2^30) / 2^31) in
 * every non-saturating case (for a * b < 0, gemmlowp's nudge 1 - 2^30 followed by a
 * division truncating toward zero is the same floor), and the result fits int32, so the
 * low 32 bits of the logical shift are exact; the one saturating case a == b ==
 * INT32_MIN is a select. */
MDL_INLINE int32_t mdl_requantize_vec(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  const int32_t a = (int32_t)((uint32_t)x << left);
  const int64_t ab = (int64_t)a * (int64_t)multiplier + ((int64_t)1 << 30);
  int32_t q = (int32_t)(uint32_t)((uint64_t)ab >> 31);
  q = (a == INT32_MIN && multiplier == INT32_MIN) ? INT32_MAX : q;
  return mdl_rdbpot_vec(q, right);
}

/* clamp(mdl_requantize_vec(x, multiplier, shift) + offset, lo, hi). */
MDL_INLINE int32_t mdl_requantize_clamp_vec(int32_t x, int32_t multiplier, int32_t shift,
                                            int32_t offset, int32_t lo, int32_t hi) {
  int32_t v = mdl_add_wrap(mdl_requantize_vec(x, multiplier, shift), offset);
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

/* Requantization of a small value shifted left, in 32-bit arithmetic only (no 64-bit
 * product, so 8 lanes per AVX2 instruction):
 *   mdl_requantize_smaller_than_one(v << left_shift, multiplier, shift)
 * for |v| < 2^9, 10 <= left_shift <= 21, 0 <= multiplier, -31 <= shift <= 0.
 * With k = 31 - left_shift, the doubling high multiply of v * 2^left_shift by
 * multiplier is floor((v * multiplier + 2^(k - 1)) / 2^k); writing multiplier =
 * hi * 2^k + lo (0 <= lo < 2^k) that is v * hi + floor((v * lo + 2^(k - 1)) / 2^k),
 * where |v * hi| < 2^(9 + left_shift) <= 2^30 and |v * lo| < 2^(9 + k) <= 2^30.
 * (v << left_shift never wraps and is never INT32_MIN, so there is no saturation.) */
typedef struct {
  int32_t hi;    /* multiplier >> k */
  int32_t lo;    /* multiplier & (2^k - 1) */
  int32_t k;     /* 31 - left_shift */
  int32_t round; /* 2^(k - 1) */
  int32_t right; /* -shift */
} mdl_small_scale;

/* Nonzero when (left_shift, multiplier, shift) are in the documented range; fills *s. */
MDL_INLINE int mdl_small_scale_init(mdl_small_scale* s, int32_t left_shift,
                                    int32_t multiplier, int32_t shift) {
  if (left_shift < 10 || left_shift > 21 || multiplier < 0 || shift > 0 || shift < -31) {
    return 0;
  }
  s->k = 31 - left_shift;
  s->hi = multiplier >> s->k;
  s->lo = multiplier & ((1 << s->k) - 1);
  s->round = 1 << (s->k - 1);
  s->right = -shift;
  return 1;
}

MDL_INLINE int32_t mdl_small_scale_apply(int32_t v, int32_t hi, int32_t lo, int32_t k,
                                         int32_t round, int32_t right) {
  return mdl_rdbpot_vec(v * hi + ((v * lo + round) >> k), right);
}

#endif /* MDL_REQUANTIZE_VEC_H */
