/* microdl: fixed-point arithmetic of the TFLite quantization spec.
 *
 * A real multiplier M in (0, 2^31) is stored as a Q0.31 int32 `multiplier` and a
 * power-of-two `shift` (positive = left), M = multiplier * 2^(shift - 31), as produced by
 * microdl.quant.fixedpoint.quantize_multiplier (TFLite's QuantizeMultiplier).
 * TFLite has two requantization roundings, chosen when it is compiled:
 *  - double rounding (TFLite's source default, TFLite Micro): a saturating rounding
 *    doubling high multiply (gemmlowp SaturatingRoundingDoublingHighMul) followed by a
 *    rounding divide by a power of two (gemmlowp RoundingDivideByPOT);
 *  - single rounding (TFLITE_SINGLE_ROUNDING=1, as in the LiteRT pip wheels): one
 *    64-bit product, one add of half, one arithmetic shift.
 * Kernels that requantize take a `rounding` parameter (MDL_ROUNDING_*) and call
 * mdl_requantize_r, so one build is bit-exact with either runtime.
 * microdl/core/fixedpoint.py holds the numpy twin of every function here.
 */
#ifndef MDL_FIXEDPOINT_H
#define MDL_FIXEDPOINT_H

#include "mdl_types.h"

/* (a * b * 2) >> 32 with round-half-away-from-zero of the dropped bits, saturating the
 * single overflow case a == b == INT32_MIN. */
MDL_INLINE int32_t mdl_sat_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates toward 0 */
}

/* x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31]. */
MDL_INLINE int32_t mdl_rounding_divide_by_pot(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* Two's-complement wrapping x * 2^s (TFLite multiplies in int32; this avoids C's UB). */
MDL_INLINE int32_t mdl_shl_wrap(int32_t x, int32_t s) {
  return (int32_t)((uint32_t)x << s);
}

/* TFLite MultiplyByQuantizedMultiplier(int32 x, multiplier, shift). */
MDL_INLINE int32_t mdl_requantize(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return mdl_rounding_divide_by_pot(
      mdl_sat_rounding_doubling_high_mul(mdl_shl_wrap(x, left), multiplier), right);
}

/* TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0. */
MDL_INLINE int32_t mdl_requantize_smaller_than_one(int32_t x, int32_t multiplier,
                                                   int32_t shift) {
  return mdl_rounding_divide_by_pot(mdl_sat_rounding_doubling_high_mul(x, multiplier),
                                    -shift);
}

/* TFLite MultiplyByQuantizedMultiplierGreaterThanOne: shift >= 0. */
MDL_INLINE int32_t mdl_requantize_greater_than_one(int32_t x, int32_t multiplier,
                                                   int32_t shift) {
  return mdl_sat_rounding_doubling_high_mul(mdl_shl_wrap(x, shift), multiplier);
}

/* TFLite MultiplyByQuantizedMultiplier built with TFLITE_SINGLE_ROUNDING:
 * (x * multiplier + 2^(30 - shift)) >> (31 - shift), shift in [-31, 30]. */
MDL_INLINE int32_t mdl_requantize_single(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t total_shift = 31 - shift;
  const int64_t round = (int64_t)1 << (total_shift - 1);
  return (int32_t)(((int64_t)x * (int64_t)multiplier + round) >> total_shift);
}

#define MDL_ROUNDING_DOUBLE 0 /* TFLite source default, TFLite Micro */
#define MDL_ROUNDING_SINGLE 1 /* TFLITE_SINGLE_ROUNDING (LiteRT pip wheels) */

/* MultiplyByQuantizedMultiplier in the chosen rounding.  Under single rounding
 * TFLite's SmallerThanOneExp / GreaterThanOne variants are this same function. */
MDL_INLINE int32_t mdl_requantize_r(int32_t x, int32_t multiplier, int32_t shift,
                                    int32_t rounding) {
  return rounding == MDL_ROUNDING_SINGLE ? mdl_requantize_single(x, multiplier, shift)
                                         : mdl_requantize(x, multiplier, shift);
}

/* Two's-complement wrapping a + b / a - b: what TFLite's int32 `acc += offset` does on
 * every target it runs on (gemmlowp's plain Add / Sub), without signed overflow. */
MDL_INLINE int32_t mdl_add_wrap(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}
MDL_INLINE int32_t mdl_sub_wrap(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* What static_cast<int32_t> of an out-of-range double gives on this target, which is
 * what LiteRT's double-precision FULLY_CONNECTED requantization (a C++ cast of
 * std::round(acc * scale)) gives there: x86's cvttsd2si returns INT32_MIN for either
 * sign, ARM's fcvtzs saturates (and other targets are taken to saturate). */
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#define MDL_F64_OUT_OF_RANGE_IS_MIN 1
#else
#define MDL_F64_OUT_OF_RANGE_IS_MIN 0
#endif
#define MDL_F64_ROUNDS_BEYOND_I32(x) ((x) >= 2147483647.5 || (x) <= -2147483648.5)
MDL_INLINE int32_t mdl_f64_out_of_range_i32(double x) {
  return MDL_F64_OUT_OF_RANGE_IS_MIN ? INT32_MIN : (x > 0 ? INT32_MAX : INT32_MIN);
}

MDL_INLINE int32_t mdl_clamp(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* MDL_FIXEDPOINT_H */
