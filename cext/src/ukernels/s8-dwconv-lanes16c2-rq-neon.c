/* s8-dwconv-lanes16c2-rq-neon: one run of output pixels of the depthwise lanes form, one
 * group of 8 or 16 channels, int8 weights (mdl_ukernels.h), aarch64 NEON: per pair of
 * taps SMULL + SMLAL of the two taps' int8 inputs and weights (two products per int16
 * lane), SADDW / SADDW2 into the int32 sums; for 3x3 filters (5 pairs) the weights stay
 * in registers over the run.  Twin: s8-dwconv-lanes16-rq-c (int16 weights). */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

#define MAXP 5 /* pairs whose weights are preloaded */

/* H groups of 8 channels (1 or 2), P pairs (P <= MAXP preloads the weights; P == 0:
 * `pairs`, loaded per pixel). */
MDL_INLINE void run(int32_t n, int32_t pairs, const int8_t* const* ptr, ptrdiff_t d0,
                    ptrdiff_t step, const int8_t* w8, const int32_t* bias,
                    const mdl_rq_params* rq, int8_t* out, int32_t out_stride, int H, int P) {
  mdl_rq4_neon r[4];
  int32x4_t b[4];
  for (int q = 0; q < 2 * H; ++q) {
    mdl_rq4_init_neon(&r[q], rq->multiplier + 4 * q, rq->shift + 4 * q);
    b[q] = vld1q_s32(bias + 4 * q);
  }
  const int32x4_t offset = vdupq_n_s32(rq->output_offset);
  const int32x4_t lo = vdupq_n_s32(rq->act_min), hi = vdupq_n_s32(rq->act_max);
  int8x16_t wp[2 * MAXP];
  for (int t = 0; t < 2 * P; ++t) wp[t] = vld1q_s8(w8 + 16 * t);
  const int32_t np = P ? P : pairs;
  for (int32_t i = 0; i < n; ++i) {
    const ptrdiff_t d = d0 + (ptrdiff_t)i * step;
    int32x4_t a[4];
    for (int q = 0; q < 2 * H; ++q) a[q] = b[q];
    for (int32_t t = 0; t < np; ++t) {
      const int8x16_t w0 = P ? wp[2 * t] : vld1q_s8(w8 + 32 * t);
      const int8x16_t w1 = P ? wp[2 * t + 1] : vld1q_s8(w8 + 32 * t + 16);
      if (H == 2) {
        const int8x16_t x0 = vld1q_s8(ptr[2 * t] + d), x1 = vld1q_s8(ptr[2 * t + 1] + d);
        const int16x8_t pl = vmlal_s8(vmull_s8(vget_low_s8(x0), vget_low_s8(w0)),
                                      vget_low_s8(x1), vget_low_s8(w1));
        const int16x8_t ph = mdl_vmlal_high_s8(mdl_vmull_high_s8(x0, w0), x1, w1);
        a[0] = vaddw_s16(a[0], vget_low_s16(pl));
        a[1] = mdl_vaddw_high_s16(a[1], pl);
        a[2] = vaddw_s16(a[2], vget_low_s16(ph));
        a[3] = mdl_vaddw_high_s16(a[3], ph);
      } else {
        const int8x8_t x0 = vld1_s8(ptr[2 * t] + d), x1 = vld1_s8(ptr[2 * t + 1] + d);
        const int16x8_t pl = vmlal_s8(vmull_s8(x0, vget_low_s8(w0)), x1, vget_low_s8(w1));
        a[0] = vaddw_s16(a[0], vget_low_s16(pl));
        a[1] = mdl_vaddw_high_s16(a[1], pl);
      }
    }
    int8_t* o = out + (size_t)i * out_stride;
    int32x4_t v[4];
    for (int q = 0; q < 2 * H; ++q) v[q] = mdl_rq4_apply_neon(&r[q], a[q], offset, lo, hi);
    if (H == 2) {
      vst1q_s8(o, mdl_pack16_neon(v[0], v[1], v[2], v[3]));
    } else {
      vst1_s8(o, mdl_pack8_neon(v[0], v[1]));
    }
  }
}

void mdl_s8_dwconv_ukernel_lanes16c2_rq__neon(int32_t n, int32_t lanes, int32_t pairs,
                                              const int8_t* const* ptr, ptrdiff_t d0,
                                              ptrdiff_t step, const int8_t* w8,
                                              const int32_t* bias, const mdl_rq_params* rq,
                                              int8_t* out, int32_t out_stride) {
  if (lanes == 16) {
    if (pairs == 5) {
      run(n, 5, ptr, d0, step, w8, bias, rq, out, out_stride, 2, 5);
    } else {
      run(n, pairs, ptr, d0, step, w8, bias, rq, out, out_stride, 2, 0);
    }
  } else if (pairs == 5) {
    run(n, 5, ptr, d0, step, w8, bias, rq, out, out_stride, 1, 5);
  } else {
    run(n, pairs, ptr, d0, step, w8, bias, rq, out, out_stride, 1, 0);
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
