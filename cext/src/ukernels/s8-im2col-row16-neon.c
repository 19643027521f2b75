/* s8-im2col-row16-neon: the aarch64 NEON copy of s8-im2col-row16-avx2 (one 16-byte load
 * SXTL / SXTL2-widened per filter row; the same geometry and bounds).  int16 patches of conv_s8_fast for filter rows of at most 16
 * entries (mdl_ukernels.h): each filter row of a window inside the input along x is one
 * 16-byte load widened to 16 int16 entries (the entries past the row are overwritten
 * by the next row or patch, or land in the slack), a filter row above or below the
 * input 16 copies of the zero point; windows that cross the left or right edge go
 * through mdl_s8_im2col_patch (as in s8-im2col-pixel-c).  The filter rows of an output
 * row are found once per output row; for 3x3 filters with all 3 rows inside the input,
 * the run of windows inside along x is copied with stepping pointers, no per-window
 * checks.  Every load stays inside the input (bounded by its distance to the input's
 * end).  Twin: s8-im2col-pixel-c. */
#include "mdl_ukernels_neon.h"

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN

/* dst[0..16) = the 16 int8 at src, widened. */
MDL_INLINE void widen16(int16_t* dst, const int8_t* src) {
  const int8x16_t v = vld1q_s8(src);
  vst1q_s16(dst, vmovl_s8(vget_low_s8(v)));
  vst1q_s16(dst + 8, mdl_vmovl_high_s8(v));
}

void mdl_s8_im2col_ukernel_row16__neon(const mdl_conv_s8_fast_params* p,
                                       const int8_t* MDL_RESTRICT input, int32_t np,
                                       int32_t kp, mdl_pixel_pos* q,
                                       int16_t* MDL_RESTRICT patches) {
  /* The parameters in locals: the int16 stores could alias them otherwise. */
  const int32_t c = p->input_c, fh = p->filter_h, fw = p->filter_w;
  const int32_t in_h = p->input_h, in_w = p->input_w, out_w = p->output_w;
  const int32_t stride_w = p->stride_w, pad_w = p->pad_w;
  const int32_t row_len = fw * c;
  const size_t image_size = (size_t)in_h * in_w * c;
  const int8_t* end = input + (size_t)p->batches * image_size;
  const int16x8_t pad = vdupq_n_s16((int16_t)(-p->input_offset));
  const int8_t* rows[MDL_CONV_S8_FAST_ROW16_MAX_FH]; /* fh <= this (a precondition) */
  int32_t i = 0;
  while (i < np) {
    /* The pixels of one output row: its filter rows start at rows[fy] (NULL: outside). */
    const int32_t x_first = q->x;
    const int32_t run = np - i < out_w - x_first ? np - i : out_w - x_first;
    const int8_t* image = input + (size_t)q->b * image_size;
    const int32_t y0 = q->y * p->stride_h - p->pad_h;
    for (int32_t fy = 0; fy < fh; ++fy) {
      const int32_t iy = y0 + fy * p->dilation_h;
      rows[fy] = iy < 0 || iy >= in_h ? NULL : image + (size_t)iy * in_w * c;
    }
    int32_t j = 0;
    if (fh == 3 && rows[0] && rows[1] && rows[2]) {
      /* 3 filter rows inside the input (most output rows of 3x3 filters): the windows
       * inside along x, up to the first that is not (the rest as below). */
      const int8_t *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
      int32_t x0 = x_first * stride_w - pad_w;
      for (; j < run && x0 < 0; ++j, x0 += stride_w) {
        mdl_s8_im2col_patch(p, image, end, q->y, x_first + j, kp,
                            patches + (size_t)(i + j) * kp);
      }
      /* Largest x0 of a window inside the input whose loads stay before the end. */
      int32_t x_max = in_w - fw;
      const ptrdiff_t room = (end - r2) - 16; /* r2 + x0 * c + 16 <= end */
      if (room < 0) {
        x_max = -1;
      } else if (room / c < x_max) {
        x_max = (int32_t)(room / c);
      }
      if (j < run && x0 <= x_max) {
        int32_t n_in = (x_max - x0) / stride_w + 1;
        if (n_in > run - j) n_in = run - j;
        const size_t step = (size_t)stride_w * c;
        const size_t off = (size_t)x0 * c;
        const int8_t *s0 = r0 + off, *s1 = r1 + off, *s2 = r2 + off;
        int16_t* dst = patches + (size_t)(i + j) * kp;
        for (int32_t t = 0; t < n_in; ++t) {
          widen16(dst, s0);
          widen16(dst + row_len, s1);
          widen16(dst + 2 * row_len, s2);
          s0 += step;
          s1 += step;
          s2 += step;
          dst += kp;
        }
        j += n_in;
      }
    }
    for (; j < run; ++j) {
      int16_t* dst = patches + (size_t)(i + j) * kp;
      const int32_t x0 = (x_first + j) * stride_w - pad_w;
      if (x0 >= 0 && x0 + fw <= in_w) {
        for (int32_t fy = 0; fy < fh; ++fy) {
          int16_t* row = dst + (size_t)fy * row_len;
          const int8_t* src = rows[fy] ? rows[fy] + (size_t)x0 * c : NULL;
          if (!src) {
            vst1q_s16(row, pad);
            vst1q_s16(row + 8, pad);
          } else if (end - src >= 16) {
            widen16(row, src);
          } else {
            mdl_widen_s8(row, src, row_len);
          }
        }
      } else {
        mdl_s8_im2col_patch(p, image, end, q->y, x_first + j, kp, dst);
      }
    }
    /* Advance q past the run. */
    if (x_first + run == out_w) {
      q->x = 0;
      if (++q->y == p->output_h) {
        q->y = 0;
        ++q->b;
      }
    } else {
      q->x = x_first + run;
    }
    i += run;
  }
}

MDL_NEON_END
#endif /* MDL_HAVE_NEON_UKERNELS */
