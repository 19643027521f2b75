/* s32-requant-f64-c: int32 sums to int8 with a double-precision scale per channel, the
 * requantization of LiteRT's reference FULLY_CONNECTED (MDL_FC_REQUANT_FLOAT64;
 * mdl_ukernels.h), portable. */
#include "mdl_ukernels.h"

/* out[o] = clamp(round(acc[o] * scale[o]) + offset, lo, hi) for o < n, the rounding of
 * requantize_float64 (half away from zero; a result beyond int32 converted as this
 * target's hardware does, mdl_f64_out_of_range_i32) without branches and in double
 * only, so that compilers vectorize it: x is clamped to [-2^31, 2^31 - 1] (exact
 * there), t = x truncated toward zero (fits int32, exact in double), x - t
 * (exact) moves t one step away from zero when |x - t| >= 0.5; t + offset is an exact
 * integer in double, wrapped into the int32 range as TFLite's int32 `acc +=
 * output_offset` wraps, then clamped to [lo, hi] before the one conversion back. */
MDL_MULTIVERSION void mdl_s32_requant_ukernel_f64__c(
    const int32_t* MDL_RESTRICT acc, const double* MDL_RESTRICT scale, int32_t n,
    int32_t offset, int32_t lo, int32_t hi, int8_t* MDL_RESTRICT out) {
  const double dlo = lo, dhi = hi, doff = offset;
  for (int32_t o = 0; o < n; ++o) {
    const double x0 = (double)acc[o] * scale[o];
    const int beyond = MDL_F64_ROUNDS_BEYOND_I32(x0);
    double x = x0 > 2147483647.0 ? 2147483647.0 : x0;
    x = x < -2147483648.0 ? -2147483648.0 : x;
    double t = (double)(int32_t)x;
    const double f = x - t;
    t += (f >= 0.5 ? 1.0 : 0.0) - (f <= -0.5 ? 1.0 : 0.0);
    t = beyond ? (double)mdl_f64_out_of_range_i32(x0) : t;
    t += doff;
    t -= t > 2147483647.0 ? 4294967296.0 : 0.0;
    t += t < -2147483648.0 ? 4294967296.0 : 0.0;
    t = t < dlo ? dlo : t;
    t = t > dhi ? dhi : t;
    out[o] = (int8_t)(int32_t)t;
  }
}

