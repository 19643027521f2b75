/* s8-gemv-8c16-neon: FULLY_CONNECTED int8 sums over 8-channel packed weights
 * (mdl_ukernels.h), NEON (aarch64, and 32-bit ARM under MDL_NEON_BEGIN).  Per block of
 * 8 channels and group of 16 inputs: the 16 inputs loaded once, each channel's 16
 * weights multiplied in two SMULL halves (int8 x int8 -> int16, exact) and pairwise
 * added into its int32x4 accumulator (SADALP); the 8 accumulators reduced by pairwise
 * adds into channels 0..3 and 4..7, plus the bias (wrapping int32, as mdl_add_wrap).  A
 * last partial group reads its inputs from a zero-padded copy (no read past the
 * input); its packed weights are padded by prepare.  Twin: s8-gemv-8c16-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

#define NR 8  /* MDL_FC_GEMV_BLOCK */
#define KC 16 /* MDL_FC_GEMV_KC */

MDL_INLINE int32x4_t dot16(int32x4_t acc, int8x16_t x, int8x16_t w) {
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x), vget_low_s8(w)));
  return vpadalq_s16(acc, mdl_vmull_high_s8(x, w));
}

void mdl_s8_gemv_ukernel_8c16__neon(int32_t n, int32_t k, const int8_t* x, const int8_t* w,
                                    const int32_t* bias, int32_t* acc) {
  const int32_t groups = (k + KC - 1) / KC;
  const int32_t full = k / KC;
  int8_t tail[KC];
  memset(tail, 0, sizeof tail);
  if (full < groups) memcpy(tail, x + (size_t)full * KC, (size_t)(k - full * KC));
  for (int32_t o0 = 0; o0 < n; o0 += NR) {
    const int8_t* wb = w + (size_t)(o0 / NR) * groups * (NR * KC);
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
              a7 = a0;
    for (int32_t g = 0; g < groups; ++g) {
      const int8x16_t xg = vld1q_s8(g < full ? x + (size_t)g * KC : tail);
      const int8_t* wg = wb + (size_t)g * NR * KC;
      a0 = dot16(a0, xg, vld1q_s8(wg));
      a1 = dot16(a1, xg, vld1q_s8(wg + KC));
      a2 = dot16(a2, xg, vld1q_s8(wg + 2 * KC));
      a3 = dot16(a3, xg, vld1q_s8(wg + 3 * KC));
      a4 = dot16(a4, xg, vld1q_s8(wg + 4 * KC));
      a5 = dot16(a5, xg, vld1q_s8(wg + 5 * KC));
      a6 = dot16(a6, xg, vld1q_s8(wg + 6 * KC));
      a7 = dot16(a7, xg, vld1q_s8(wg + 7 * KC));
    }
    int32x4_t lo = mdl_vpaddq_s32(mdl_vpaddq_s32(a0, a1), mdl_vpaddq_s32(a2, a3));
    int32x4_t hi = mdl_vpaddq_s32(mdl_vpaddq_s32(a4, a5), mdl_vpaddq_s32(a6, a7));
    const int32_t m = n - o0 < NR ? n - o0 : NR;
    int32_t s[NR];
    vst1q_s32(s, lo);
    vst1q_s32(s + 4, hi);
    for (int32_t c = 0; c < m; ++c) {
      acc[o0 + c] = bias ? mdl_add_wrap(s[c], bias[o0 + c]) : s[c];
    }
  }
}

MDL_NEON_END
#endif
