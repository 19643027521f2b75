/* s8-pack-lanes16c4-neon: a lanes16 int16 filter re-laid out as the int8 lanes16c4 filter
 * of the dot-product GEMM (mdl_ukernels.h), aarch64 NEON: per two pairs of k and 16
 * channels, the int16 pairs narrowed (XTN) and the two pairs of each channel
 * interleaved at 16-bit granularity (ZIP1 / ZIP2).  Twin: s8-pack-lanes16c4-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

/* The 16 channels' pairs of one k pair (32 int16) narrowed: channels 0..7, 8..15. */
MDL_INLINE void narrow_pairs(const int16_t* a, int16x8_t* lo, int16x8_t* hi) {
  *lo = vreinterpretq_s16_s8(vcombine_s8(vmovn_s16(vld1q_s16(a)), vmovn_s16(vld1q_s16(a + 8))));
  *hi = vreinterpretq_s16_s8(
      vcombine_s8(vmovn_s16(vld1q_s16(a + 16)), vmovn_s16(vld1q_s16(a + 24))));
}

void mdl_s8_pack_ukernel_lanes16c4__neon(int32_t n, int32_t k2, const int16_t* w16,
                                         int8_t* w8) {
  const int32_t k4 = (k2 + 3) / 4 * 4;
  const int32_t pairs = k2 / 2;
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int16_t* src = w16 + (size_t)ob * k2;
    int8_t* dst = w8 + (size_t)ob * k4;
    for (int32_t q = 0; q < k4 / 4; ++q, dst += 4 * MDL_LB) {
      int16x8_t a_lo, a_hi, b_lo = vdupq_n_s16(0), b_hi = vdupq_n_s16(0);
      narrow_pairs(src + (size_t)(2 * q) * 2 * MDL_LB, &a_lo, &a_hi);
      if (2 * q + 1 < pairs) narrow_pairs(src + (size_t)(2 * q + 1) * 2 * MDL_LB, &b_lo, &b_hi);
      vst1q_s8(dst, vreinterpretq_s8_s16(mdl_vzip1q_s16(a_lo, b_lo)));
      vst1q_s8(dst + 16, vreinterpretq_s8_s16(mdl_vzip2q_s16(a_lo, b_lo)));
      vst1q_s8(dst + 32, vreinterpretq_s8_s16(mdl_vzip1q_s16(a_hi, b_hi)));
      vst1q_s8(dst + 48, vreinterpretq_s8_s16(mdl_vzip2q_s16(a_hi, b_hi)));
    }
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
