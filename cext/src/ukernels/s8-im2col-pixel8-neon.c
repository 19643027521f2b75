/* s8-im2col-pixel8-neon: int8 patches of conv_s8_fast's int8 GEMMs on aarch64, any
 * geometry, one output pixel at a time (mdl_ukernels.h): the same taps and zero-point
 * fill as mdl_s8_im2col_patch, kept as int8, copied in 16-byte vectors (a run's last
 * vector may write up to 15 bytes past it: overwritten by the next run or patch, or in
 * the 16 bytes of slack; it reads past the run only when the input has room), zeros from
 * K to kk.  Twin: s8-im2col-pixel-c, narrowed (mdl_narrow_patches_neon). */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

/* dst[0..n) = src[0..n), in whole 16-byte vectors when src + n rounded up to 16 <= end. */
MDL_INLINE void copy_run(int8_t* dst, const int8_t* src, int32_t n, const int8_t* end) {
  int32_t i = 0;
  if (end - src >= (n + 15) / 16 * 16) {
    for (; i < n; i += 16) vst1q_s8(dst + i, vld1q_s8(src + i));
    return;
  }
  for (; i + 16 <= n; i += 16) vst1q_s8(dst + i, vld1q_s8(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

MDL_INLINE void fill(int8_t* dst, int8_t v, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = v;
}

static void patch8(const mdl_conv_s8_fast_params* p, const int8_t* image, const int8_t* end,
                   int32_t y, int32_t x, int32_t kk, int8_t* dst) {
  const int32_t c = p->input_c;
  const int32_t row_len = p->filter_w * c;
  const int8_t pad = (int8_t)(-p->input_offset);
  const int32_t y0 = y * p->stride_h - p->pad_h;
  const int32_t x0 = x * p->stride_w - p->pad_w;
  if (p->dilation_w == 1 && y0 >= 0 &&
      y0 + (p->filter_h - 1) * p->dilation_h < p->input_h && x0 >= 0 &&
      x0 + p->filter_w <= p->input_w) {
    const int8_t* src = image + ((size_t)y0 * p->input_w + x0) * c;
    const size_t src_row = (size_t)p->dilation_h * p->input_w * c;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
      copy_run(dst + (size_t)fy * row_len, src + fy * src_row, row_len, end);
    }
  } else {
    int32_t fx_lo, fx_hi;
    mdl_tap_range(x0, p->dilation_w, p->filter_w, p->input_w, &fx_lo, &fx_hi);
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
      int8_t* row = dst + (size_t)fy * row_len;
      const int32_t iy = y0 + fy * p->dilation_h;
      if (iy < 0 || iy >= p->input_h || fx_lo == fx_hi) {
        fill(row, pad, row_len);
        continue;
      }
      const int8_t* src = image + (size_t)iy * p->input_w * c;
      fill(row, pad, fx_lo * c);
      if (p->dilation_w == 1) {
        copy_run(row + (size_t)fx_lo * c, src + (size_t)(x0 + fx_lo) * c,
                 (fx_hi - fx_lo) * c, end);
      } else {
        for (int32_t fx = fx_lo; fx < fx_hi; ++fx) {
          copy_run(row + (size_t)fx * c, src + (size_t)(x0 + fx * p->dilation_w) * c, c,
                   end);
        }
      }
      fill(row + (size_t)fx_hi * c, pad, (p->filter_w - fx_hi) * c);
    }
  }
  const int32_t k = p->filter_h * row_len;
  fill(dst + k, 0, kk - k);
}

void mdl_s8_im2col_ukernel_pixel8__neon(const mdl_conv_s8_fast_params* p,
                                        const int8_t* input, int32_t np, int32_t kk,
                                        mdl_pixel_pos* q, int8_t* patches) {
  const size_t image_size = (size_t)p->input_h * p->input_w * p->input_c;
  const int8_t* end = input + (size_t)p->batches * image_size;
  for (int32_t i = 0; i < np; ++i) {
    patch8(p, input + (size_t)q->b * image_size, end, q->y, q->x, kk,
           patches + (size_t)i * kk);
    if (++q->x == p->output_w) {
      q->x = 0;
      if (++q->y == p->output_h) {
        q->y = 0;
        ++q->b;
      }
    }
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
