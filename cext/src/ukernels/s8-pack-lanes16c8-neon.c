/* s8-pack-lanes16c8-neon: a lanes16 int16 filter re-laid out as the int8 lanes16c8 filter
 * (mdl_ukernels.h), aarch64 NEON: per octet of k and block of 16 channels the 4 pairs of
 * k narrowed (XTN), interleaved at 16 bits (ZIP1 / ZIP2: each channel's 4 k as 32 bits)
 * and the two halves of the octet at 64 bits (two channels per vector).  Twin:
 * s8-pack-lanes16c8-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

/* The 16 channels' pairs of one k pair (32 int16) narrowed: channels 0..7, 8..15. */
MDL_INLINE void narrow_pair(const int16_t* a, int16x8_t* v) {
  v[0] = vreinterpretq_s16_s8(vcombine_s8(vmovn_s16(vld1q_s16(a)), vmovn_s16(vld1q_s16(a + 8))));
  v[1] = vreinterpretq_s16_s8(
      vcombine_s8(vmovn_s16(vld1q_s16(a + 16)), vmovn_s16(vld1q_s16(a + 24))));
}

int32_t mdl_s8_pack_ukernel_lanes16c8__neon(int32_t n, int32_t k2, const int16_t* w16,
                                            int8_t* w8) {
  const int32_t k8 = (k2 + 7) / 8 * 8;
  const int32_t pairs = k2 / 2;
  int8x16_t lowest = vdupq_n_s8(127);
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int16_t* src = w16 + (size_t)ob * k2;
    int8_t* dst = w8 + (size_t)ob * k8;
    for (int32_t o = 0; o < k8 / 8; ++o, dst += 8 * 16) {
      int16x8_t a[4][2];
      for (int t = 0; t < 4; ++t) {
        if (4 * o + t < pairs) {
          narrow_pair(src + (size_t)(4 * o + t) * 2 * MDL_LB, a[t]);
          lowest = vminq_s8(lowest, vreinterpretq_s8_s16(a[t][0]));
          lowest = vminq_s8(lowest, vreinterpretq_s8_s16(a[t][1]));
        } else {
          a[t][0] = a[t][1] = vdupq_n_s16(0);
        }
      }
      for (int h = 0; h < 2; ++h) { /* channels 8h .. 8h + 7 */
        /* each channel's k 0..3 (from pairs 0, 1) and 4..7 (pairs 2, 3) as 32 bits */
        const int32x4_t lo03 = vreinterpretq_s32_s16(mdl_vzip1q_s16(a[0][h], a[1][h]));
        const int32x4_t hi03 = vreinterpretq_s32_s16(mdl_vzip2q_s16(a[0][h], a[1][h]));
        const int32x4_t lo47 = vreinterpretq_s32_s16(mdl_vzip1q_s16(a[2][h], a[3][h]));
        const int32x4_t hi47 = vreinterpretq_s32_s16(mdl_vzip2q_s16(a[2][h], a[3][h]));
        int8_t* d = dst + h * 64;
        vst1q_s8(d, vreinterpretq_s8_s64(mdl_vzip1q_s64(vreinterpretq_s64_s32(lo03),
                                                    vreinterpretq_s64_s32(lo47))));
        vst1q_s8(d + 16, vreinterpretq_s8_s64(mdl_vzip2q_s64(vreinterpretq_s64_s32(lo03),
                                                         vreinterpretq_s64_s32(lo47))));
        vst1q_s8(d + 32, vreinterpretq_s8_s64(mdl_vzip1q_s64(vreinterpretq_s64_s32(hi03),
                                                         vreinterpretq_s64_s32(hi47))));
        vst1q_s8(d + 48, vreinterpretq_s8_s64(mdl_vzip2q_s64(vreinterpretq_s64_s32(hi03),
                                                         vreinterpretq_s64_s32(hi47))));
      }
    }
  }
  return mdl_vminvq_s8(lowest) > -128;
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
