/* DEPTHWISE_CONV_2D int8, fast form: vectorized over channels (NHWC keeps them
 * contiguous).  Same results as mdl_depthwise_conv_s8 (depthwise_conv_s8.c), bit for
 * bit: the same (x + input_offset) * w products over the same in-bounds taps, summed
 * with int32 wrap-around (unsigned lanes), then the same requantization
 * (mdl_requantize_rows_s8).  |x + input_offset| <= 255 and |w| <= 128, so every product
 * fits int16: one 16-bit multiply per lane.
 *
 * Two loop orders, both plain C vectorized by the compiler and compiled per ISA level
 * with MDL_MULTIVERSION:
 *  - depth multiplier 1 and stride_w 1 ("row" form): for one output row and one tap,
 *    the inputs of consecutive output pixels are consecutive, so the tap is one long
 *    multiply-add over (pixel, channel) pairs, with the tap's weights repeated with
 *    period input_c; this keeps the vector loops long even for few channels;
 *  - otherwise ("pixel" form): per output pixel, per in-bounds tap, a multiply-add over
 *    the channels. */
#include "mdl_conv.h"

/* The taps f in [*lo, *hi) of a window starting at `start` (stride already applied)
 * with 0 <= start + f * dilation < size. */
static void tap_range(int32_t start, int32_t dilation, int32_t filter, int32_t size,
                      int32_t* lo, int32_t* hi) {
  int32_t a = 0, b = filter;
  const int32_t last = size - 1 - start; /* largest in-bounds f * dilation */
  if (dilation == 1) { /* no divisions in the common case */
    if (start < 0) a = -start;
    if (last + 1 < b) b = last < 0 ? 0 : last + 1;
  } else {
    if (start < 0) a = (-start + dilation - 1) / dilation;
    const int32_t n_in = last < 0 ? 0 : last / dilation + 1;
    if (n_in < b) b = n_in;
  }
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

MDL_INLINE uint32_t product(int8_t x, int16_t offset, int8_t w) {
  return (uint32_t)(int32_t)(int16_t)((int16_t)(x + offset) * (int16_t)w);
}

/* acc[i] += (x[i] + offset) * w[i % period] for i < n, where wrep holds the weights
 * repeated over `period` entries (a multiple of the channel count). */
MDL_MULTIVERSION static void row_tap(uint32_t* MDL_RESTRICT acc,
                                     const int8_t* MDL_RESTRICT x,
                                     const int8_t* MDL_RESTRICT wrep, int32_t period,
                                     int32_t n, int32_t offset) {
  const int16_t off = (int16_t)offset;
  for (int32_t j = 0; j < n; j += period) {
    const int32_t len = n - j < period ? n - j : period;
    uint32_t* a = acc + j;
    const int8_t* xs = x + j;
    for (int32_t i = 0; i < len; ++i) a[i] += product(xs[i], off, wrep[i]);
  }
}

/* Per-pixel form: output channels [0, n) of one pixel (n a multiple of m) into dst:
 * x at input channel o0 / m of the first in-bounds tap, w and bias at output channel
 * o0; fy_n x fx_n in-bounds taps. */
MDL_MULTIVERSION static void pixel_taps(uint32_t* MDL_RESTRICT dst,
                                        const int8_t* MDL_RESTRICT x,
                                        const int8_t* MDL_RESTRICT w,
                                        const int32_t* MDL_RESTRICT bias, int32_t n,
                                        int32_t m, int32_t fy_n, int32_t fx_n,
                                        ptrdiff_t x_row, ptrdiff_t x_col, ptrdiff_t w_row,
                                        ptrdiff_t w_col, int32_t offset) {
  const int16_t off = (int16_t)offset;
  if (bias) {
    for (int32_t i = 0; i < n; ++i) dst[i] = (uint32_t)bias[i];
  } else {
    for (int32_t i = 0; i < n; ++i) dst[i] = 0u;
  }
  for (int32_t fy = 0; fy < fy_n; ++fy) {
    for (int32_t fx = 0; fx < fx_n; ++fx) {
      const int8_t* xs = x + fy * x_row + fx * x_col;
      const int8_t* ws = w + fy * w_row + fx * w_col;
      if (m == 1) {
        for (int32_t i = 0; i < n; ++i) dst[i] += product(xs[i], off, ws[i]);
      } else {
        for (int32_t c = 0; c * m < n; ++c) {
          const int8_t v = xs[c];
          uint32_t* d = dst + (size_t)c * m;
          const int8_t* wc = ws + (size_t)c * m;
          for (int32_t j = 0; j < m; ++j) d[j] += product(v, off, wc[j]);
        }
      }
    }
  }
}

#define ACC_SIZE 2048   /* int32 accumulators requantized together */
#define WREP_SIZE 4096  /* bytes of repeated weights of the row form */

/* Entries of the repeated-weights period of the row form for c channels (a multiple of
 * c and of 32 when small, so that the vector loops have no remainder), or 0 if the row
 * form is not worth it. */
static int32_t row_period(int32_t c, int32_t taps) {
  if (c >= 64) return c; /* the filter rows themselves */
  int32_t period = c;
  while (period % 32 != 0) period += c;
  while (period < 64) period *= 2;
  return (int64_t)period * taps <= WREP_SIZE ? period : 0;
}

/* Row form: depth multiplier 1, stride_w 1. */
static void depthwise_rows(const mdl_depthwise_conv_s8_params* p,
                           const int32_t* multiplier, const int32_t* shift,
                           const int8_t* input, const int8_t* filter,
                           const int32_t* bias, int8_t* output, int32_t period) {
  const int32_t c = p->input_c;
  const int32_t taps = p->filter_h * p->filter_w;
  int8_t wrep_buf[WREP_SIZE];
  const int8_t* wrep = filter; /* tap t at wrep + t * period when period == c */
  if (period != c) {
    for (int32_t t = 0; t < taps; ++t) {
      for (int32_t i = 0; i < period; ++i) {
        wrep_buf[t * period + i] = filter[t * c + i % c];
      }
    }
    wrep = wrep_buf;
  }
  uint32_t acc[ACC_SIZE];
  int32_t seg = ACC_SIZE / c; /* output pixels per segment */
  if (seg > p->output_w) seg = p->output_w;
  int8_t* out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (size_t)b * p->input_h * p->input_w * c;
    for (int32_t y = 0; y < p->output_h; ++y) {
      const int32_t y0 = y * p->stride_h - p->pad_h;
      int32_t fy_lo, fy_hi;
      tap_range(y0, p->dilation_h, p->filter_h, p->input_h, &fy_lo, &fy_hi);
      for (int32_t xs = 0; xs < p->output_w; xs += seg) {
        const int32_t np = p->output_w - xs < seg ? p->output_w - xs : seg;
        for (int32_t i = 0; i < np; ++i) {
          for (int32_t k = 0; k < c; ++k) acc[i * c + k] = bias ? (uint32_t)bias[k] : 0u;
        }
        for (int32_t fy = fy_lo; fy < fy_hi; ++fy) {
          const int8_t* in_row =
              image + (size_t)(y0 + fy * p->dilation_h) * p->input_w * c;
          for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            /* Output pixels x read input column x - pad_w + fx * dilation_w. */
            const int32_t shift_x = fx * p->dilation_w - p->pad_w;
            int32_t xa = xs, xb = xs + np;
            if (xa + shift_x < 0) xa = -shift_x;
            if (xb + shift_x > p->input_w) xb = p->input_w - shift_x;
            if (xa >= xb) continue;
            row_tap(acc + (size_t)(xa - xs) * c, in_row + (ptrdiff_t)(xa + shift_x) * c,
                    wrep + (size_t)(fy * p->filter_w + fx) * period, period,
                    (xb - xa) * c, p->input_offset);
          }
        }
        mdl_requantize_rows_s8((const int32_t*)acc, np, c, multiplier, shift,
                               p->output_offset, p->act_min, p->act_max, p->rounding,
                               out, c);
        out += (size_t)np * c;
      }
    }
  }
}

/* Pixel form: any depth multiplier and strides. */
static void depthwise_pixels(const mdl_depthwise_conv_s8_params* p,
                             const int32_t* multiplier, const int32_t* shift,
                             const int8_t* input, const int8_t* filter,
                             const int32_t* bias, int8_t* output) {
  const int32_t m = p->depth_multiplier;
  const int32_t output_c = p->input_c * m;
  /* Channel blocks of whole input channels; pixel blocks when a pixel is short. */
  const int32_t cb = output_c <= ACC_SIZE ? output_c : ACC_SIZE / m * m;
  const int32_t pb = output_c <= ACC_SIZE ? ACC_SIZE / output_c : 1;
  const ptrdiff_t x_col = (ptrdiff_t)p->dilation_w * p->input_c;
  const ptrdiff_t x_row = (ptrdiff_t)p->dilation_h * p->input_w * p->input_c;
  const ptrdiff_t w_col = output_c;
  const ptrdiff_t w_row = (ptrdiff_t)p->filter_w * output_c;
  uint32_t acc[ACC_SIZE];
  int8_t* out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (size_t)b * p->input_h * p->input_w * p->input_c;
    for (int32_t y = 0; y < p->output_h; ++y) {
      const int32_t y0 = y * p->stride_h - p->pad_h;
      int32_t fy_lo, fy_hi;
      tap_range(y0, p->dilation_h, p->filter_h, p->input_h, &fy_lo, &fy_hi);
      for (int32_t x = 0; x < p->output_w; x += pb) {
        const int32_t np = p->output_w - x < pb ? p->output_w - x : pb;
        for (int32_t o0 = 0; o0 < output_c; o0 += cb) {
          const int32_t n = output_c - o0 < cb ? output_c - o0 : cb;
          for (int32_t i = 0; i < np; ++i) {
            const int32_t x0 = (x + i) * p->stride_w - p->pad_w;
            int32_t fx_lo, fx_hi;
            tap_range(x0, p->dilation_w, p->filter_w, p->input_w, &fx_lo, &fx_hi);
            int32_t fy_n = fy_hi - fy_lo, fx_n = fx_hi - fx_lo;
            if (fx_n == 0) fy_n = 0;
            /* The first in-bounds tap's input and filter elements (when there is none,
             * only the bias is read). */
            const ptrdiff_t first_x =
                fy_n ? ((ptrdiff_t)(y0 + fy_lo * p->dilation_h) * p->input_w +
                        (x0 + fx_lo * p->dilation_w)) * p->input_c + o0 / m
                     : 0;
            const ptrdiff_t first_w = fy_n ? fy_lo * w_row + fx_lo * w_col + o0 : 0;
            pixel_taps(acc + (size_t)i * n, image + first_x, filter + first_w,
                       bias ? bias + o0 : 0, n, m, fy_n, fx_n, x_row, x_col, w_row, w_col,
                       p->input_offset);
          }
          mdl_requantize_rows_s8((const int32_t*)acc, np, n, multiplier + o0, shift + o0,
                                 p->output_offset, p->act_min, p->act_max, p->rounding,
                                 out + o0, output_c);
        }
        out += (size_t)np * output_c;
      }
    }
  }
}

/* ------------------------------------------------------------------ lanes form
 * Depth multiplier 1 (mdl_conv.h): per output pixel, the accumulators of a block of 16
 * channels stay in registers across all taps; two taps' int8 inputs are interleaved
 * per channel and widened to int16 pairs, one int16 pair multiply-add per (pair of
 * taps, 8 channels) against the packed weights; bias_eff holds the folded input
 * offset, so taps outside the input read the input zero point (zp below), whose
 * contribution zp * w cancels the fold's -input_offset * w... exactly: x * w summed
 * over all taps plus bias + input_offset * sum(w) is the reference's sum over the
 * in-bounds taps of (x + input_offset) * w plus bias, modulo 2^32.  The int32 sums of
 * a group of pixels are requantized together by mdl_requantize_rows_s8. */
#define LB 16                                    /* channels per weight block */
#define LANES_ACC 1024                           /* int32 sums requantized together */
#define MAX_TAPS MDL_DEPTHWISE_FAST_LANES_MAX_TAPS
#define MAX_CHANNELS MDL_DEPTHWISE_FAST_LANES_MAX_CHANNELS

MDL_INLINE uint32_t pair_product(const int8_t* x0, const int8_t* x1, const int16_t* w,
                                 int32_t j) {
  return (uint32_t)((int32_t)x0[j] * w[2 * j] + (int32_t)x1[j] * w[2 * j + 1]);
}

/* Portable C: for np pixels i, acc[i * c + k] = bias_eff[k] + sum over taps t of
 * ptr[t][i * step + k] * w(t, k), k < c; ptr has 2 * pairs entries (the odd tap count's
 * extra tap has zero weights). */
MDL_MULTIVERSION static void lanes_pixels_c(int32_t* MDL_RESTRICT acc,
                                            const int8_t* const* MDL_RESTRICT ptr,
                                            ptrdiff_t step, int32_t np, int32_t c,
                                            int32_t pairs,
                                            const int16_t* MDL_RESTRICT w,
                                            const int32_t* MDL_RESTRICT bias_eff) {
  for (int32_t i = 0; i < np; ++i, acc += c) {
    const ptrdiff_t d = (ptrdiff_t)i * step;
    for (int32_t c0 = 0; c0 < c; c0 += LB) {
      const int32_t lanes = c - c0 < LB ? c - c0 : LB;
      const int16_t* wb = w + (size_t)c0 * 2 * pairs;
      uint32_t a[LB];
      for (int32_t j = 0; j < LB; ++j) a[j] = (uint32_t)bias_eff[c0 + j];
      for (int32_t q = 0; q < pairs; ++q) {
        const int8_t* x0 = ptr[2 * q] + d + c0;
        const int8_t* x1 = ptr[2 * q + 1] + d + c0;
        const int16_t* wq = wb + (size_t)q * 2 * LB;
        if (lanes == LB) {
          for (int32_t j = 0; j < LB; ++j) a[j] += pair_product(x0, x1, wq, j);
        } else {
          for (int32_t j = 0; j < lanes; ++j) a[j] += pair_product(x0, x1, wq, j);
        }
      }
      for (int32_t j = 0; j < lanes; ++j) acc[c0 + j] = (int32_t)a[j];
    }
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(MDL_NO_MULTIVERSION)
#include <immintrin.h>
#define HAVE_LANES_AVX2 1

/* lanes_pixels_c with AVX2 intrinsics: blocks of 16 channels (two 8-lane int32
 * accumulators), then one of 8, then the last c % 8 channels in scalar code; every load
 * stays inside its pixel's c channels. */
__attribute__((target("avx2"))) static void lanes_pixels_avx2(
    int32_t* MDL_RESTRICT acc, const int8_t* const* MDL_RESTRICT ptr, ptrdiff_t step,
    int32_t np, int32_t c, int32_t pairs, const int16_t* MDL_RESTRICT w,
    const int32_t* MDL_RESTRICT bias_eff) {
  for (int32_t i = 0; i < np; ++i, acc += c) {
    const ptrdiff_t d = (ptrdiff_t)i * step;
    int32_t c0 = 0;
    for (; c0 + LB <= c; c0 += LB) {
      const int16_t* wb = w + (size_t)c0 * 2 * pairs;
      __m256i a0 = _mm256_loadu_si256((const __m256i*)(bias_eff + c0));
      __m256i a1 = _mm256_loadu_si256((const __m256i*)(bias_eff + c0 + 8));
      for (int32_t q = 0; q < pairs; ++q) {
        const __m128i x0 = _mm_loadu_si128((const __m128i*)(ptr[2 * q] + d + c0));
        const __m128i x1 = _mm_loadu_si128((const __m128i*)(ptr[2 * q + 1] + d + c0));
        const __m256i lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1));
        const __m256i hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(x0, x1));
        const int16_t* wq = wb + (size_t)q * 2 * LB;
        a0 = _mm256_add_epi32(
            a0, _mm256_madd_epi16(lo, _mm256_loadu_si256((const __m256i*)wq)));
        a1 = _mm256_add_epi32(
            a1, _mm256_madd_epi16(hi, _mm256_loadu_si256((const __m256i*)(wq + 16))));
      }
      _mm256_storeu_si256((__m256i*)(acc + c0), a0);
      _mm256_storeu_si256((__m256i*)(acc + c0 + 8), a1);
    }
    if (c0 + 8 <= c) { /* first half of a weight block */
      const int16_t* wb = w + (size_t)c0 * 2 * pairs;
      __m256i a0 = _mm256_loadu_si256((const __m256i*)(bias_eff + c0));
      for (int32_t q = 0; q < pairs; ++q) {
        const __m128i x0 = _mm_loadl_epi64((const __m128i*)(ptr[2 * q] + d + c0));
        const __m128i x1 = _mm_loadl_epi64((const __m128i*)(ptr[2 * q + 1] + d + c0));
        const __m256i lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1));
        a0 = _mm256_add_epi32(
            a0, _mm256_madd_epi16(
                    lo, _mm256_loadu_si256((const __m256i*)(wb + (size_t)q * 2 * LB))));
      }
      _mm256_storeu_si256((__m256i*)(acc + c0), a0);
      c0 += 8;
    }
    for (; c0 < c; ++c0) {
      const int16_t* wb = w + (size_t)(c0 / LB * LB) * 2 * pairs;
      const int32_t j = c0 % LB;
      uint32_t a = (uint32_t)bias_eff[c0];
      for (int32_t q = 0; q < pairs; ++q) {
        a += pair_product(ptr[2 * q] + d + c0 - j, ptr[2 * q + 1] + d + c0 - j,
                          wb + (size_t)q * 2 * LB, j);
      }
      acc[c0] = (int32_t)a;
    }
  }
}
#endif

typedef void (*lanes_fn)(int32_t*, const int8_t* const*, ptrdiff_t, int32_t, int32_t,
                         int32_t, const int16_t*, const int32_t*);

mdl_status mdl_depthwise_conv_s8_fast_lanes(const mdl_depthwise_conv_s8_params* p,
                                            const int32_t* multiplier,
                                            const int32_t* shift, const int8_t* input,
                                            const int16_t* packed,
                                            const int32_t* bias_eff, int8_t* output,
                                            int32_t form) {
  const int32_t c = p->input_c;
  const int32_t fh = p->filter_h, fw = p->filter_w;
  const int32_t taps = fh * fw;
  if (p->depth_multiplier != 1 || taps < 1 || taps > MAX_TAPS || c < 1 ||
      c > MAX_CHANNELS || !packed || !bias_eff ||
      (form != MDL_DEPTHWISE_FAST_LANES && form != MDL_DEPTHWISE_FAST_LANES_C)) {
    return MDL_ERR_BAD_PARAM;
  }
  lanes_fn run = lanes_pixels_c;
#ifdef HAVE_LANES_AVX2
  if (form == MDL_DEPTHWISE_FAST_LANES && __builtin_cpu_supports("avx2")) {
    run = lanes_pixels_avx2;
  }
#endif
  const int32_t pairs = (taps + 1) / 2;
  const int32_t H = p->input_h, W = p->input_w;
  const int32_t sh = p->stride_h, sw = p->stride_w, dh = p->dilation_h, dw = p->dilation_w;
  int8_t zp[MAX_CHANNELS]; /* what taps outside the input read */
  for (int32_t k = 0; k < c; ++k) zp[k] = (int8_t)(-p->input_offset);
  const int8_t* ptr[MAX_TAPS + 1];
  ptrdiff_t off[MAX_TAPS]; /* tap offsets from the window's first input element */
  for (int32_t fy = 0; fy < fh; ++fy) {
    for (int32_t fx = 0; fx < fw; ++fx) {
      off[fy * fw + fx] = ((ptrdiff_t)fy * dh * W + (ptrdiff_t)fx * dw) * c;
    }
  }
  /* Output columns [xa, xb) whose windows are inside the input horizontally. */
  const int32_t xa = p->pad_w <= 0 ? 0 : (p->pad_w + sw - 1) / sw;
  const int32_t last = W - 1 - (fw - 1) * dw + p->pad_w; /* largest x * sw */
  int32_t xb = last < 0 ? 0 : last / sw + 1;
  if (xb > p->output_w) xb = p->output_w;
  const ptrdiff_t step = (ptrdiff_t)sw * c;
  int32_t acc[LANES_ACC];
  const int32_t group = LANES_ACC / c; /* pixels requantized together */
  int32_t filled = 0;
  int8_t* out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (size_t)b * H * W * c;
    for (int32_t y = 0; y < p->output_h; ++y) {
      const int32_t y0 = y * sh - p->pad_h;
      const int inside_y = y0 >= 0 && y0 + (fh - 1) * dh < H;
      for (int32_t x = 0; x < p->output_w;) {
        const int32_t x0 = x * sw - p->pad_w;
        int32_t n = 1;
        if (inside_y && x >= xa && x < xb) {
          n = xb - x;
          if (n > group - filled) n = group - filled;
          const int8_t* base = image + ((ptrdiff_t)y0 * W + x0) * c;
          for (int32_t t = 0; t < taps; ++t) ptr[t] = base + off[t];
        } else {
          for (int32_t fy = 0; fy < fh; ++fy) {
            const int32_t iy = y0 + fy * dh;
            for (int32_t fx = 0; fx < fw; ++fx) {
              const int32_t ix = x0 + fx * dw;
              ptr[fy * fw + fx] = iy >= 0 && iy < H && ix >= 0 && ix < W
                                      ? image + ((ptrdiff_t)iy * W + ix) * c
                                      : zp;
            }
          }
        }
        ptr[taps] = ptr[taps - 1]; /* the zero-weight tap of an odd count */
        run(acc + (size_t)filled * c, ptr, n == 1 ? 0 : step, n, c, pairs, packed,
            bias_eff);
        filled += n;
        x += n;
        if (filled == group) {
          mdl_requantize_rows_s8(acc, filled, c, multiplier, shift, p->output_offset,
                                 p->act_min, p->act_max, p->rounding, out, c);
          out += (size_t)filled * c;
          filled = 0;
        }
      }
    }
  }
  mdl_requantize_rows_s8(acc, filled, c, multiplier, shift, p->output_offset, p->act_min,
                         p->act_max, p->rounding, out, c);
  return MDL_OK;
}

mdl_status mdl_depthwise_conv_s8_fast(const mdl_depthwise_conv_s8_params* p,
                                      const int32_t* multiplier, const int32_t* shift,
                                      const int8_t* input, const int8_t* filter,
                                      const int32_t* bias, int8_t* output) {
  const int32_t m = p->depth_multiplier;
  if (m < 1 || m > MDL_DEPTHWISE_FAST_MAX_MULTIPLIER) return MDL_ERR_BAD_PARAM;
  if (m == 1 && p->stride_w == 1 && p->input_c <= ACC_SIZE) {
    const int32_t period = row_period(p->input_c, p->filter_h * p->filter_w);
    if (period) {
      depthwise_rows(p, multiplier, shift, input, filter, bias, output, period);
      return MDL_OK;
    }
  }
  depthwise_pixels(p, multiplier, shift, input, filter, bias, output);
  return MDL_OK;
}

mdl_status mdl_node_depthwise_conv_s8_fast(const mdl_node* n) {
  const mdl_depthwise_conv_s8_params* p = (const mdl_depthwise_conv_s8_params*)n->params;
  if (n->in[5]) {
    return mdl_depthwise_conv_s8_fast_lanes(
        p, (const int32_t*)n->in[3], (const int32_t*)n->in[4], (const int8_t*)n->in[0],
        (const int16_t*)n->in[5], (const int32_t*)n->in[6], (int8_t*)n->out,
        *(const int32_t*)n->in[7]);
  }
  return mdl_depthwise_conv_s8_fast(p, (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                                    (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                                    (const int32_t*)n->in[2], (int8_t*)n->out);
}
