/* s8-dwconv-lanes16-rq-neon: one run of output pixels of the depthwise lanes form, one
 * group of 8 or 16 channels, aarch64 Advanced SIMD (mdl_ukernels.h).  Twin:
 * s8-dwconv-lanes16-rq-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

/* H groups of 8 channels (1 or 2, a constant). */
MDL_INLINE void run(int32_t n, int32_t pairs, const int8_t* const* ptr, ptrdiff_t d0,
                    ptrdiff_t step, const int16_t* wb, const int32_t* bias,
                    const mdl_rq_params* rq, int8_t* out, int32_t out_stride, int H) {
  mdl_rq4_neon r[4];
  int32x4_t b[4];
  for (int q = 0; q < 2 * H; ++q) {
    mdl_rq4_init_neon(&r[q], rq->multiplier + 4 * q, rq->shift + 4 * q);
    b[q] = vld1q_s32(bias + 4 * q);
  }
  const int32x4_t offset = vdupq_n_s32(rq->output_offset);
  const int32x4_t lo = vdupq_n_s32(rq->act_min), hi = vdupq_n_s32(rq->act_max);
  for (int32_t i = 0; i < n; ++i) {
    const ptrdiff_t d = d0 + (ptrdiff_t)i * step;
    int32x4_t a[4];
    for (int q = 0; q < 2 * H; ++q) a[q] = b[q];
    for (int32_t t = 0; t < pairs; ++t) {
      const int16_t* wq = wb + (size_t)t * 2 * MDL_LB;
      int16x8_t x0[2], x1[2];
      int16x8x2_t w[2];
      if (H == 2) {
        const int8x16_t v0 = vld1q_s8(ptr[2 * t] + d);
        const int8x16_t v1 = vld1q_s8(ptr[2 * t + 1] + d);
        x0[0] = vmovl_s8(vget_low_s8(v0));
        x0[1] = mdl_vmovl_high_s8(v0);
        x1[0] = vmovl_s8(vget_low_s8(v1));
        x1[1] = mdl_vmovl_high_s8(v1);
        w[1] = vld2q_s16(wq + 16);
      } else {
        x0[0] = vmovl_s8(vld1_s8(ptr[2 * t] + d));
        x1[0] = vmovl_s8(vld1_s8(ptr[2 * t + 1] + d));
      }
      w[0] = vld2q_s16(wq);
      for (int h = 0; h < H; ++h) {
        a[2 * h] = vmlal_s16(a[2 * h], vget_low_s16(x0[h]), vget_low_s16(w[h].val[0]));
        a[2 * h + 1] = mdl_vmlal_high_s16(a[2 * h + 1], x0[h], w[h].val[0]);
        a[2 * h] = vmlal_s16(a[2 * h], vget_low_s16(x1[h]), vget_low_s16(w[h].val[1]));
        a[2 * h + 1] = mdl_vmlal_high_s16(a[2 * h + 1], x1[h], w[h].val[1]);
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

void mdl_s8_dwconv_ukernel_lanes16_rq__neon(int32_t n, int32_t lanes, int32_t pairs,
                                            const int8_t* const* ptr, ptrdiff_t d0,
                                            ptrdiff_t step, const int16_t* wb,
                                            const int32_t* bias, const mdl_rq_params* rq,
                                            int8_t* out, int32_t out_stride) {
  if (lanes == 16) {
    if (pairs == 5) { /* 3x3 filters: the tap loop unrolls */
      run(n, 5, ptr, d0, step, wb, bias, rq, out, out_stride, 2);
    } else {
      run(n, pairs, ptr, d0, step, wb, bias, rq, out, out_stride, 2);
    }
  } else if (pairs == 5) {
    run(n, 5, ptr, d0, step, wb, bias, rq, out, out_stride, 1);
  } else {
    run(n, pairs, ptr, d0, step, wb, bias, rq, out, out_stride, 1);
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
