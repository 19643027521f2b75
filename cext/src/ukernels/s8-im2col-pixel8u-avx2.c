/* s8-im2col-pixel8u-avx2: uint8 patches of conv_s8_fast's AVX512-VNNI GEMM, any geometry
 * (mdl_ukernels.h): the taps and zero-point fill of mdl_s8_im2col_patch, each int8 value
 * x stored as the byte x ^ 0x80 (x + 128 as uint8), copied 16 bytes at a time (a run's
 * last vector may write up to 15 bytes past it: overwritten by the next run or patch,
 * or in the slack; it reads past the run only when the input has room),
 * zeros from K to kk.  1x1 filters at stride 1 without padding read consecutive input
 * pixels: the np patches are one run of the input (kk == input_c).  Twin:
 * s8-im2col-pixel-c (its patches, x + 128, narrowed). */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

/* dst[0..n) = src[0..n) ^ 0x80, in whole 16-byte vectors when src + n rounded up to 16
 * <= end. */
MDL_INLINE MDL_AVX2 void copy_run(uint8_t* dst, const int8_t* src, int32_t n,
                                  const int8_t* end) {
  const __m128i flip = _mm_set1_epi8((char)0x80);
  int32_t i = 0;
  if (end - src >= (n + 15) / 16 * 16) {
    for (; i < n; i += 16) {
      _mm_storeu_si128((__m128i*)(void*)(dst + i),
                       _mm_xor_si128(_mm_loadu_si128((const __m128i*)(const void*)(src + i)),
                                     flip));
    }
    return;
  }
  for (; i + 16 <= n; i += 16) {
    _mm_storeu_si128((__m128i*)(void*)(dst + i),
                     _mm_xor_si128(_mm_loadu_si128((const __m128i*)(const void*)(src + i)),
                                   flip));
  }
  for (; i < n; ++i) dst[i] = (uint8_t)(src[i] ^ 0x80);
}

MDL_INLINE MDL_AVX2 void fill(uint8_t* dst, uint8_t v, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = v;
}

static MDL_AVX2 void patch8u(const mdl_conv_s8_fast_params* p, const int8_t* image,
                             const int8_t* end, int32_t y, int32_t x, int32_t kk,
                             uint8_t* dst) {
  const int32_t c = p->input_c;
  const int32_t row_len = p->filter_w * c;
  const uint8_t pad = (uint8_t)((-p->input_offset) ^ 0x80);
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
      uint8_t* row = dst + (size_t)fy * row_len;
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

MDL_AVX2 void mdl_s8_im2col_ukernel_pixel8u__avx2(const mdl_conv_s8_fast_params* p,
                                                  const int8_t* input, int32_t np,
                                                  int32_t kk, mdl_pixel_pos* q,
                                                  uint8_t* patches) {
  const size_t image_size = (size_t)p->input_h * p->input_w * p->input_c;
  const int8_t* end = input + (size_t)p->batches * image_size;
  if (kk == p->input_c && p->filter_h == 1 && p->filter_w == 1 && p->stride_h == 1 &&
      p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0 &&
      p->output_h == p->input_h && p->output_w == p->input_w) {
    /* The output pixels are the input pixels, in order. */
    const size_t first =
        ((size_t)q->b * p->output_h + q->y) * p->output_w + (size_t)q->x;
    copy_run(patches, input + first * p->input_c, np * kk, end);
    size_t next = first + (size_t)np;
    q->x = (int32_t)(next % (size_t)p->output_w);
    next /= (size_t)p->output_w;
    q->y = (int32_t)(next % (size_t)p->output_h);
    q->b = (int32_t)(next / (size_t)p->output_h);
    return;
  }
  const int32_t c = p->input_c, fh = p->filter_h, fw = p->filter_w;
  const int32_t in_h = p->input_h, in_w = p->input_w, out_w = p->output_w;
  const int32_t stride_w = p->stride_w, pad_w = p->pad_w;
  const int32_t row_len = fw * c, k = fh * row_len;
  const int32_t n32 = (row_len + 31) / 32; /* 32-byte vectors per filter row */
  const __m256i flip = _mm256_set1_epi8((char)0x80);
  const int8_t* rows[MDL_CONV_S8_FAST_ROW16_MAX_FH];
  int32_t i = 0;
  while (i < np) {
    /* The pixels of one output row: its filter rows start at rows[fy]. */
    const int32_t x_first = q->x;
    const int32_t run = np - i < out_w - x_first ? np - i : out_w - x_first;
    const int8_t* image = input + (size_t)q->b * image_size;
    const int32_t y0 = q->y * p->stride_h - p->pad_h;
    int inside = p->dilation_w == 1 && fh <= MDL_CONV_S8_FAST_ROW16_MAX_FH;
    for (int32_t fy = 0; inside && fy < fh; ++fy) {
      const int32_t iy = y0 + fy * p->dilation_h;
      inside = iy >= 0 && iy < in_h;
      if (inside) rows[fy] = image + (size_t)iy * in_w * c;
    }
    for (int32_t j = 0; j < run; ++j) {
      uint8_t* dst = patches + (size_t)(i + j) * kk;
      const int32_t x0 = (x_first + j) * stride_w - pad_w;
      /* A window inside the input whose whole-vector loads stay before its end: each
       * filter row n32 32-byte copies (the bytes past the row are overwritten by the
       * next row or patch, or land in the slack). */
      if (inside && x0 >= 0 && x0 + fw <= in_w &&
          end - (rows[fh - 1] + (size_t)x0 * c) >= (ptrdiff_t)n32 * 32) {
        for (int32_t fy = 0; fy < fh; ++fy) {
          const int8_t* src = rows[fy] + (size_t)x0 * c;
          uint8_t* row = dst + (size_t)fy * row_len;
          for (int32_t v = 0; v < n32; ++v) {
            _mm256_storeu_si256(
                (__m256i*)(void*)(row + 32 * v),
                _mm256_xor_si256(
                    _mm256_loadu_si256((const __m256i*)(const void*)(src + 32 * v)), flip));
          }
        }
        fill(dst + k, 0, kk - k);
      } else {
        patch8u(p, image, end, q->y, x_first + j, kk, dst);
      }
    }
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

#endif /* MDL_HAVE_AVX2_UKERNELS */
