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
  return mdl_depthwise_conv_s8_fast((const mdl_depthwise_conv_s8_params*)n->params,
                                    (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                                    (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                                    (const int32_t*)n->in[2], (int8_t*)n->out);
}
