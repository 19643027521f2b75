/* microdl: gemmlowp-style fixed-point helpers beyond mdl_fixedpoint.h.
 *
 * Values are Qm.n fixed point in int32 (m integer bits, n = 31 - m fractional bits),
 * following gemmlowp's fixedpoint.h (FixedPoint<int32_t, m>), which TFLite's reference
 * SOFTMAX builds on.  Every function is integer-only and bit-exact with its gemmlowp
 * namesake; wrapping int32 additions are done in uint32 to avoid C's signed-overflow
 * UB.
 * Numpy twin: microdl/reference/activations.py.
 */
#ifndef MDL_GEMMLOWP_H
#define MDL_GEMMLOWP_H

#include "mdl_fixedpoint.h"


/* Number of leading zero bits of x (32 for x == 0). */
MDL_INLINE int32_t mdl_clz32(uint32_t x) {
  int32_t n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent in [1, 30]:
 * x * 2^exponent, saturated to [INT32_MIN, INT32_MAX]. */
MDL_INLINE int32_t mdl_sat_shl(int32_t x, int32_t exponent) {
  const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return mdl_shl_wrap(x, exponent);
}

/* gemmlowp RoundingHalfSum: (a + b) / 2 rounded to nearest, ties away from zero. */
MDL_INLINE int32_t mdl_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2); /* C division truncates */
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1: a is Q0.31 in [0, 1); returns 1 / (1 + a)
 * in Q0.31 by three Newton-Raphson steps in Q2.29 from the 48/17 - 32/17 * d guess. */
MDL_INLINE int32_t mdl_one_over_one_plus_x(int32_t a) {
  const int32_t half_denominator = mdl_rounding_half_sum(a, INT32_MAX);     /* Q0.31 */
  const int32_t c_48_over_17 = 1515870810;                                  /* Q2.29 */
  const int32_t c_neg_32_over_17 = -1010580540;                             /* Q2.29 */
  const int32_t one_q2 = (int32_t)1 << 29;                                  /* Q2.29 */
  int32_t x = mdl_add_wrap(c_48_over_17,
                           mdl_sat_rounding_doubling_high_mul(half_denominator,
                                                              c_neg_32_over_17));
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x =
        mdl_sat_rounding_doubling_high_mul(half_denominator, x);           /* Q2.29 */
    const int32_t one_minus = mdl_sub_wrap(one_q2, half_denominator_times_x);
    /* x * one_minus is Q4.27; rescaled to Q2.29 with a saturating shift by 2. */
    const int32_t correction = mdl_sat_rounding_doubling_high_mul(x, one_minus);
    x = mdl_add_wrap(x, mdl_sat_shl(correction, 2));
  }
  /* x / 2 as Q1.30, rescaled to Q0.31: saturating shift by 1. */
  return mdl_sat_shl(x, 1);
}

/* TFLite GetReciprocal: x > 0 in Q(x_integer_bits).(31 - x_integer_bits); returns the
 * Q0.31 value s and *num_bits_over_unit = n such that 1 / x ~= s * 2^-n. */
MDL_INLINE int32_t mdl_get_reciprocal(int32_t x, int32_t x_integer_bits,
                                      int32_t* num_bits_over_unit) {
  const int32_t headroom_plus_one = mdl_clz32((uint32_t)x);
  *num_bits_over_unit = x_integer_bits - headroom_plus_one;
  /* x normalised into [1, 2) as Q1.31 minus one: a Q0.31 value in [0, 1). */
  const uint32_t shifted = headroom_plus_one >= 32 ? 0u
                                                   : ((uint32_t)x << headroom_plus_one);
  const int32_t shifted_minus_one = (int32_t)(shifted - 0x80000000u);
  return mdl_one_over_one_plus_x(shifted_minus_one);
}

#endif /* MDL_GEMMLOWP_H */
