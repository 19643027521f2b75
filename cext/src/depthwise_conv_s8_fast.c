/* DEPTHWISE_CONV_2D int8, fast form: vectorized over channels (NHWC keeps them
 * contiguous).  Same results as mdl_depthwise_conv_s8 (depthwise_conv_s8.c), bit for
 * bit: the same (x + input_offset) * w products over the same in-bounds taps, summed
 * with int32 wrap-around (unsigned lanes), then the same requantization
 * (s32-requant-rows-c, cext/src/ukernels/).  |x + input_offset| <= 255 and |w| <= 128, so every product
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
#include "mdl_ukernels_avx2.h"
#include "mdl_ukernels_neon.h"

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
      mdl_tap_range(y0, p->dilation_h, p->filter_h, p->input_h, &fy_lo, &fy_hi);
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
        mdl_s32_requant_ukernel_rows__c((const int32_t*)acc, np, c, multiplier, shift,
                                        p->output_offset, p->act_min, p->act_max,
                                        p->rounding, out, c);
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
      mdl_tap_range(y0, p->dilation_h, p->filter_h, p->input_h, &fy_lo, &fy_hi);
      for (int32_t x = 0; x < p->output_w; x += pb) {
        const int32_t np = p->output_w - x < pb ? p->output_w - x : pb;
        for (int32_t o0 = 0; o0 < output_c; o0 += cb) {
          const int32_t n = output_c - o0 < cb ? output_c - o0 : cb;
          for (int32_t i = 0; i < np; ++i) {
            const int32_t x0 = (x + i) * p->stride_w - p->pad_w;
            int32_t fx_lo, fx_hi;
            mdl_tap_range(x0, p->dilation_w, p->filter_w, p->input_w, &fx_lo, &fx_hi);
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
          mdl_s32_requant_ukernel_rows__c((const int32_t*)acc, np, n, multiplier + o0,
                                          shift + o0, p->output_offset, p->act_min,
                                          p->act_max, p->rounding, out + o0, output_c);
        }
        out += (size_t)np * output_c;
      }
    }
  }
}

/* ------------------------------------------------------------------ lanes form
 * Depth multiplier 1 (see mdl_depthwise_conv_s8_fast_lanes in mdl_conv.h).  For one
 * block of up to 16 channels, one output row at a time, each output pixel's int32 sums
 * stay in registers over all the taps and are requantized from there: two taps' int8
 * inputs interleaved per channel and widened to int16, one int16 pair multiply-add per
 * (pair of taps, 8 channels) against the packed weights.  bias_eff holds the folded
 * input offset: x * w summed over every tap plus bias + input_offset * sum(w) is the
 * reference's sum over the in-bounds taps of (x + input_offset) * w plus bias, modulo
 * 2^32, when taps outside the input read the input zero point (zp), whose
 * (x + input_offset) is 0.  Products and pair sums fit int32 (|x * w| <= 2^14); the
 * sums wrap like the reference's (unsigned arithmetic in C, vpaddd in AVX2). */
#include "mdl_requantize_vec.h"

#define LB MDL_CONV_FAST_LANE_BLOCK /* channels per weight block (16) */
#define MAX_TAPS MDL_DEPTHWISE_FAST_LANES_MAX_TAPS
#define MAX_CHANNELS MDL_DEPTHWISE_FAST_LANES_MAX_CHANNELS
#define ZP_SIZE 2048   /* bytes of zero points: an input row of up to this size */
#define POOL_SIZE 256  /* tap pointers of a batch */
#define MAX_RUNS 64    /* runs of a batch */

typedef struct {
  const mdl_depthwise_conv_s8_params* p;
  const int32_t* multiplier;
  const int32_t* shift;
  const int16_t* w;         /* packed weights */
  const int32_t* bias_eff;  /* folded bias */
  const int8_t* zp;         /* ZP_SIZE copies of the input zero point */
  const int8_t* zp_row;     /* zp when it holds an input row (input_w * input_c), or NULL */
  const ptrdiff_t* off_x;   /* filter column offsets: fx * dilation_w * input_c */
  int32_t taps, pairs;
  int32_t lean;             /* see mdl_depthwise_conv_s8_fast_lanes */
  int32_t xa, xb;           /* output columns whose windows are inside horizontally */
  ptrdiff_t step;           /* stride_w * input_c */
} lanes_ctx;

/* rowp[fy] for output row y: the input row read by filter row fy, or when it is
 * outside the input, the zero-point row (zp, when it holds a whole input row) or NULL
 * (it does not: such taps read zp itself).  Returns 0 when some rowp[fy] is NULL. */
MDL_INLINE int row_ptrs(const lanes_ctx* k, const int8_t* image, int32_t y,
                        const int8_t** rowp) {
  const mdl_depthwise_conv_s8_params* p = k->p;
  const int32_t y0 = y * p->stride_h - p->pad_h;
  const ptrdiff_t row = (ptrdiff_t)p->input_w * p->input_c;
  int ok = 1;
  for (int32_t fy = 0; fy < p->filter_h; ++fy) {
    const int32_t iy = y0 + fy * p->dilation_h;
    rowp[fy] = iy >= 0 && iy < p->input_h ? image + iy * row : k->zp_row;
    if (!rowp[fy]) ok = 0;
  }
  return ok;
}

/* Sets ptr[0..2 * pairs) to the taps of output pixel x of the row of rowp (input
 * pixels, or zero points for taps outside the input; the extra tap of an odd count
 * repeats the last one, its weights are 0).  Returns n >= 1: pixels x + i, i < n <=
 * max_n, have their taps at ptr[t] + i * step (n > 1 only for windows inside the input
 * horizontally, when rows_ok: every rowp[fy] is an input or zero-point row). */
MDL_INLINE int32_t window_ptrs(const lanes_ctx* k, const int8_t* const* rowp, int rows_ok,
                               int32_t x, int32_t max_n, const int8_t** ptr) {
  const mdl_depthwise_conv_s8_params* p = k->p;
  const int32_t c = p->input_c, fw = p->filter_w;
  const int32_t x0 = x * p->stride_w - p->pad_w;
  int32_t n = 1;
  if (rows_ok && x >= k->xa && x < k->xb) {
    n = k->xb - x < max_n ? k->xb - x : max_n;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
      const int8_t* r = rowp[fy] + (ptrdiff_t)x0 * c;
      for (int32_t fx = 0; fx < fw; ++fx) ptr[fy * fw + fx] = r + k->off_x[fx];
    }
  } else {
    for (int32_t fx = 0; fx < fw; ++fx) {
      const int32_t ix = x0 + fx * p->dilation_w;
      const int inside = ix >= 0 && ix < p->input_w;
      for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        ptr[fy * fw + fx] =
            inside && rowp[fy] ? rowp[fy] + (ptrdiff_t)ix * c : k->zp;
      }
    }
  }
  /* The extra tap of an odd count (zero weights).  With an even count ptr has exactly
   * 2 * pairs = taps entries: writing ptr[taps] would run past the batch's pool. */
  if (k->taps & 1) ptr[k->taps] = ptr[k->taps - 1];
  return n;
}

MDL_INLINE uint32_t pair_product(const int8_t* x0, const int8_t* x1, const int16_t* w,
                                 int32_t j) {
  return (uint32_t)((int32_t)x0[j] * w[2 * j] + (int32_t)x1[j] * w[2 * j + 1]);
}

/* a[j] = bias_eff[j] + sum over taps of x * w for lanes j of one pixel (taps at
 * ptr[t] + d, weights wb: one block, starting at lane jo). */
MDL_INLINE void sums_c(uint32_t* MDL_RESTRICT a, const int8_t* const* ptr, ptrdiff_t d,
                       int32_t pairs, const int16_t* MDL_RESTRICT wb, int32_t jo,
                       const int32_t* MDL_RESTRICT bias_eff, int32_t lanes) {
  for (int32_t j = 0; j < lanes; ++j) a[j] = (uint32_t)bias_eff[j];
  for (int32_t q = 0; q < pairs; ++q) {
    const int8_t* x0 = ptr[2 * q] + d;
    const int8_t* x1 = ptr[2 * q + 1] + d;
    const int16_t* wq = wb + (size_t)q * 2 * LB + 2 * jo;
    for (int32_t j = 0; j < lanes; ++j) a[j] += pair_product(x0, x1, wq, j);
  }
}

/* A batch of output pixels sharing tap pointer sets, processed block by block of
 * channels: entry e covers output pixels pix + i, i < n (flat NHW index), with taps at
 * pool[first + t] + i * step. */
typedef struct {
  int32_t first, n, pix;
} window_run;

/* Portable C: channels [c0, c0 + lanes) of a batch, lanes <= 16 - c0 % 16, any
 * rounding. */
MDL_MULTIVERSION static void batch_c(const lanes_ctx* k, const window_run* runs,
                                     int32_t count, const int8_t* const* pool,
                                     int32_t c0, int32_t lanes, int8_t* output) {
  const mdl_depthwise_conv_s8_params* p = k->p;
  const int32_t c = p->input_c, jo = c0 % LB;
  const int16_t* wb = k->w + (size_t)(c0 - jo) * 2 * k->pairs;
  const int32_t* m = k->multiplier + c0;
  const int32_t* s = k->shift + c0;
  const int8_t* ptr[MAX_TAPS + 1]; /* local: the int8 stores cannot change it */
  for (int32_t e = 0; e < count; ++e) {
    for (int32_t t = 0; t < 2 * k->pairs; ++t) ptr[t] = pool[runs[e].first + t];
    for (int32_t i = 0; i < runs[e].n; ++i) {
      const ptrdiff_t d = (ptrdiff_t)i * k->step + c0;
      uint32_t a[LB];
      int32_t v[LB];
      if (lanes == LB) {
        sums_c(a, ptr, d, k->pairs, wb, 0, k->bias_eff + c0, LB);
      } else {
        sums_c(a, ptr, d, k->pairs, wb, jo, k->bias_eff + c0, lanes);
      }
      if (p->rounding == MDL_ROUNDING_DOUBLE) {
        for (int32_t j = 0; j < lanes; ++j) {
          v[j] = mdl_requantize_clamp_vec((int32_t)a[j], m[j], s[j], p->output_offset,
                                          p->act_min, p->act_max);
        }
      } else {
        for (int32_t j = 0; j < lanes; ++j) {
          v[j] = mdl_clamp(mdl_requantize_r((int32_t)a[j], m[j], s[j], p->rounding) +
                               p->output_offset,
                           p->act_min, p->act_max);
        }
      }
      int8_t* o = output + (size_t)(runs[e].pix + i) * c + c0;
      for (int32_t j = 0; j < lanes; ++j) o[j] = (int8_t)v[j];
    }
  }
}

#ifdef MDL_HAVE_AVX2_UKERNELS
#define HAVE_LANES_AVX2 1
#define AVX2 MDL_AVX2

/* Stores 16 values in [-128, 127] (lanes of v0, then v1) as int8. */
MDL_INLINE AVX2 void store16(int8_t* o, __m256i v0, __m256i v1) {
  _mm_storeu_si128((__m128i*)o, mdl_pack16_avx2(v0, v1));
}

MDL_INLINE AVX2 void store8(int8_t* o, __m256i v0) {
  const __m128i v8 =
      _mm_packs_epi32(_mm256_castsi256_si128(v0), _mm256_extracti128_si256(v0, 1));
  _mm_storel_epi64((__m128i*)o, _mm_packs_epi16(v8, v8));
}

/* The sums of 16 lanes: inputs at ptr[t] + d, weights w_lo / w_hi for lanes 0..7 /
 * 8..15 at wb + q * 32 + {0, w_hi}. */
MDL_INLINE AVX2 void sums16(const int8_t* const* ptr, ptrdiff_t d, int32_t pairs,
                            const int16_t* wb, int32_t w_hi, __m256i* a0, __m256i* a1) {
  for (int32_t q = 0; q < pairs; ++q) {
    const __m128i x0 = _mm_loadu_si128((const __m128i*)(ptr[2 * q] + d));
    const __m128i x1 = _mm_loadu_si128((const __m128i*)(ptr[2 * q + 1] + d));
    const int16_t* wq = wb + (size_t)q * 2 * LB;
    *a0 = _mm256_add_epi32(
        *a0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1)),
                               _mm256_loadu_si256((const __m256i*)wq)));
    *a1 = _mm256_add_epi32(
        *a1, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpackhi_epi8(x0, x1)),
                               _mm256_loadu_si256((const __m256i*)(wq + w_hi))));
  }
}

MDL_INLINE AVX2 void sums8(const int8_t* const* ptr, ptrdiff_t d, int32_t pairs,
                           const int16_t* wb, __m256i* a0) {
  for (int32_t q = 0; q < pairs; ++q) {
    const __m128i x0 = _mm_loadl_epi64((const __m128i*)(ptr[2 * q] + d));
    const __m128i x1 = _mm_loadl_epi64((const __m128i*)(ptr[2 * q + 1] + d));
    *a0 = _mm256_add_epi32(
        *a0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1)),
                               _mm256_loadu_si256((const __m256i*)(wb + (size_t)q * 2 * LB))));
  }
}

/* Channels [c0, c0 + 8 * halves) (halves 1 or 2; c0 a multiple of 16) of a batch,
 * double rounding; pairs: k->pairs (a constant in the specialized copies); lean: see
 * rq8_apply.  twin (input_c 8, stride_w 1, halves 1): the 16 lanes hold 2 consecutive
 * output pixels of a run, whose inputs are 8 bytes apart, with the same weights. */
MDL_INLINE AVX2 void batch_avx2(const lanes_ctx* k, const window_run* runs,
                                int32_t count, const int8_t* const* pool, int32_t c0,
                                int32_t halves, int32_t pairs, int lean, int twin,
                                int8_t* output) {
  const mdl_depthwise_conv_s8_params* p = k->p;
  const int32_t c = p->input_c;
  const int16_t* wb = k->w + (size_t)c0 * 2 * pairs;
  const __m256i b0 = _mm256_loadu_si256((const __m256i*)(k->bias_eff + c0));
  const __m256i b1 =
      twin ? b0 : _mm256_loadu_si256((const __m256i*)(k->bias_eff + c0 + 8));
  rq8 r0, r1;
  rq8_init(&r0, k->multiplier + c0, k->shift + c0);
  if (halves == 2) rq8_init(&r1, k->multiplier + c0 + 8, k->shift + c0 + 8);
  const __m256i offset = _mm256_set1_epi32(p->output_offset);
  const __m256i lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
  const int8_t* ptr[MAX_TAPS + 1]; /* local: the int8 stores cannot change it */
  for (int32_t e = 0; e < count; ++e) {
    for (int32_t t = 0; t < 2 * pairs; ++t) ptr[t] = pool[runs[e].first + t];
    const int32_t n = runs[e].n;
    int8_t* out = output + (size_t)runs[e].pix * c + c0;
    int32_t i = 0;
    if (halves == 2) {
      for (; i < n; ++i) {
        __m256i a0 = b0, a1 = b1;
        sums16(ptr, (ptrdiff_t)i * k->step + c0, pairs, wb, 16, &a0, &a1);
        store16(out + (size_t)i * c, rq8_apply(&r0, a0, offset, lo, hi, lean),
                rq8_apply(&r1, a1, offset, lo, hi, lean));
      }
    } else {
      if (twin) {
        for (; i + 2 <= n; i += 2) {
          __m256i a0 = b0, a1 = b0;
          sums16(ptr, (ptrdiff_t)i * 8, pairs, wb, 0, &a0, &a1);
          store16(out + (size_t)i * 8, rq8_apply(&r0, a0, offset, lo, hi, lean),
                  rq8_apply(&r0, a1, offset, lo, hi, lean));
        }
      }
      for (; i < n; ++i) {
        __m256i a0 = b0;
        sums8(ptr, (ptrdiff_t)i * k->step + c0, pairs, wb, &a0);
        store8(out + (size_t)i * c, rq8_apply(&r0, a0, offset, lo, hi, lean));
      }
    }
  }
}

/* Copies of batch_avx2 for 3x3 filters (5 pairs of taps) and lean requantization. */
#define BATCH_VARIANTS(name, halves, twin)                                          \
  AVX2 static void name(const lanes_ctx* k, const window_run* runs, int32_t count,  \
                        const int8_t* const* pool, int32_t c0, int lean,            \
                        int8_t* output) {                                           \
    if (k->pairs == 5) {                                                            \
      if (lean) {                                                                   \
        batch_avx2(k, runs, count, pool, c0, halves, 5, 1, twin, output);           \
      } else {                                                                      \
        batch_avx2(k, runs, count, pool, c0, halves, 5, 0, twin, output);           \
      }                                                                             \
    } else {                                                                        \
      batch_avx2(k, runs, count, pool, c0, halves, k->pairs, 0, twin, output);      \
    }                                                                               \
  }
BATCH_VARIANTS(batch16_avx2, 2, 0)
BATCH_VARIANTS(batch8_avx2, 1, 0)
BATCH_VARIANTS(batch8_twin_avx2, 1, 1)
#endif

#ifdef MDL_HAVE_NEON_UKERNELS
MDL_NEON_BEGIN
/* Channels [c0, c0 + lanes) of a batch, lanes 8 or 16 (c0 + lanes <= a multiple of
 * 16), double rounding: per run the s8-dwconv-lanes16c2-rq-neon microkernel (int8
 * weights, packed here per batch) or, when a weight is -128, s8-dwconv-lanes16-rq-neon. */
static void batch_neon(const lanes_ctx* k, const window_run* runs, int32_t count,
                       const int8_t* const* pool, int32_t c0, int32_t lanes,
                       int8_t* output) {
  const mdl_depthwise_conv_s8_params* p = k->p;
  const int32_t c = p->input_c, jo = c0 % LB;
  const int16_t* wb = k->w + (size_t)(c0 - jo) * 2 * k->pairs + 2 * jo;
  const mdl_rq_params rq = {k->multiplier + c0, k->shift + c0, p->output_offset,
                            p->act_min, p->act_max, k->lean};
  /* int8 weights of the block when none is -128 (s8-dwconv-lanes16c2-rq-neon), +16
   * bytes that its 16-byte loads of an 8-channel group may touch */
  int8_t w8[(MAX_TAPS + 1) / 2 * 2 * LB + 16];
  if (mdl_pack_dw_lanes16c2_neon(k->pairs, k->w + (size_t)(c0 - jo) * 2 * k->pairs, w8)) {
    for (int32_t e = 0; e < count; ++e) {
      mdl_s8_dwconv_ukernel_lanes16c2_rq__neon(runs[e].n, lanes, k->pairs,
                                               pool + runs[e].first, c0, k->step, w8 + jo,
                                               k->bias_eff + c0, &rq,
                                               output + (size_t)runs[e].pix * c + c0, c);
    }
    return;
  }
  for (int32_t e = 0; e < count; ++e) {
    mdl_s8_dwconv_ukernel_lanes16_rq__neon(runs[e].n, lanes, k->pairs,
                                           pool + runs[e].first, c0, k->step, wb,
                                           k->bias_eff + c0, &rq,
                                           output + (size_t)runs[e].pix * c + c0, c);
  }
}
MDL_NEON_END
#endif

/* Every block of channels of a batch (simd: the AVX2 or NEON path may run). */
static void flush(const lanes_ctx* k, const window_run* runs, int32_t count,
                  const int8_t* const* pool, int avx2, int8_t* output) {
  const int32_t c = k->p->input_c;
  for (int32_t c0 = 0; c0 < c; c0 += LB) {
    const int32_t lanes = c - c0 < LB ? c - c0 : LB;
#ifdef MDL_HAVE_NEON_UKERNELS
    if (avx2) { /* the NEON path: 16 or 8 channels, the rest in portable C */
      if (lanes == LB) {
        batch_neon(k, runs, count, pool, c0, LB, output);
      } else if (lanes >= 8) {
        batch_neon(k, runs, count, pool, c0, 8, output);
        if (lanes > 8) batch_c(k, runs, count, pool, c0 + 8, lanes - 8, output);
      } else {
        batch_c(k, runs, count, pool, c0, lanes, output);
      }
      continue;
    }
#endif
#ifdef HAVE_LANES_AVX2
    if (avx2) {
      const int lean = k->lean;
      if (lanes == LB && avx2 == 1 && mdl_cpu_has_avx512vnni()) { /* s8-dwconv-lanes16-rq-avx512vnni */
        const mdl_rq_params rq = {k->multiplier + c0, k->shift + c0, k->p->output_offset,
                                  k->p->act_min, k->p->act_max, lean};
        for (int32_t e = 0; e < count; ++e) {
          mdl_s8_dwconv_ukernel_lanes16_rq__avx512vnni(
              runs[e].n, k->pairs, pool + runs[e].first, c0, k->step,
              k->w + (size_t)c0 * 2 * k->pairs, k->bias_eff + c0, &rq,
              output + (size_t)runs[e].pix * c + c0, c);
        }
      } else if (lanes == LB) {
        batch16_avx2(k, runs, count, pool, c0, lean, output);
      } else if (lanes >= 8) {
        if (c == 8 && k->p->stride_w == 1) {
          batch8_twin_avx2(k, runs, count, pool, c0, lean, output);
        } else {
          batch8_avx2(k, runs, count, pool, c0, lean, output);
        }
        if (lanes > 8) batch_c(k, runs, count, pool, c0 + 8, lanes - 8, output);
      } else {
        batch_c(k, runs, count, pool, c0, lanes, output);
      }
      continue;
    }
#endif
    (void)avx2;
    batch_c(k, runs, count, pool, c0, lanes, output);
  }
}

mdl_status mdl_depthwise_conv_s8_fast_lanes(const mdl_depthwise_conv_s8_params* p,
                                            const int32_t* multiplier,
                                            const int32_t* shift, const int8_t* input,
                                            const int16_t* packed,
                                            const int32_t* bias_eff, int8_t* output,
                                            int32_t form, int32_t lean) {
  const int32_t c = p->input_c;
  const int32_t fh = p->filter_h, fw = p->filter_w;
  const int32_t taps = fh * fw;
  if (p->depth_multiplier != 1 || taps < 1 || taps > MAX_TAPS || c < 1 ||
      c > MAX_CHANNELS || !packed || !bias_eff ||
      (form != MDL_DEPTHWISE_FAST_LANES && form != MDL_DEPTHWISE_FAST_LANES_C &&
       form != MDL_DEPTHWISE_FAST_LANES_AVX2)) {
    return MDL_ERR_BAD_PARAM;
  }
  int avx2 = 0; /* the SIMD path: AVX2 on x86-64 (2: without AVX512-VNNI), NEON on ARM */
#ifdef HAVE_LANES_AVX2
  if (p->rounding == MDL_ROUNDING_DOUBLE && __builtin_cpu_supports("avx2")) {
    avx2 = form == MDL_DEPTHWISE_FAST_LANES ? 1 : form == MDL_DEPTHWISE_FAST_LANES_AVX2 ? 2 : 0;
  }
#endif
#ifdef MDL_HAVE_NEON_UKERNELS
  avx2 = form == MDL_DEPTHWISE_FAST_LANES && p->rounding == MDL_ROUNDING_DOUBLE &&
         mdl_cpu_has_neon();
#endif
  const int32_t W = p->input_w, sw = p->stride_w;
  int8_t zp[ZP_SIZE];
  const int32_t zp_n = (int64_t)W * c <= ZP_SIZE ? W * c : (c > ZP_SIZE ? ZP_SIZE : c);
  for (int32_t i = 0; i < zp_n; ++i) zp[i] = (int8_t)(-p->input_offset);
  ptrdiff_t off_x[MAX_TAPS];
  for (int32_t fx = 0; fx < fw; ++fx) off_x[fx] = (ptrdiff_t)fx * p->dilation_w * c;
  lanes_ctx k;
  k.p = p;
  k.multiplier = multiplier;
  k.shift = shift;
  k.w = packed;
  k.bias_eff = bias_eff;
  k.lean = lean;
  k.zp = zp;
  k.zp_row = (int64_t)W * c <= ZP_SIZE ? zp : 0;
  k.off_x = off_x;
  k.taps = taps;
  k.pairs = (taps + 1) / 2;
  k.xa = p->pad_w <= 0 ? 0 : (p->pad_w + sw - 1) / sw;
  const int32_t last = W - 1 - (fw - 1) * p->dilation_w + p->pad_w; /* max x * sw */
  k.xb = last < 0 ? 0 : last / sw + 1;
  if (k.xb > p->output_w) k.xb = p->output_w;
  k.step = (ptrdiff_t)sw * c;
  const int32_t t2 = 2 * k.pairs;
  const int8_t* pool[POOL_SIZE];
  window_run runs[MAX_RUNS];
  int32_t count = 0, used = 0;
  const int8_t* rowp[MAX_TAPS];
  int32_t pix = 0;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (size_t)b * p->input_h * W * c;
    for (int32_t y = 0; y < p->output_h; ++y) {
      const int rows_ok = row_ptrs(&k, image, y, rowp);
      for (int32_t x = 0; x < p->output_w;) {
        if (count == MAX_RUNS || used + t2 > POOL_SIZE) {
          flush(&k, runs, count, pool, avx2, output);
          count = used = 0;
        }
        const int32_t n = window_ptrs(&k, rowp, rows_ok, x, p->output_w - x, pool + used);
        runs[count].first = used;
        runs[count].n = n;
        runs[count].pix = pix;
        ++count;
        used += t2;
        x += n;
        pix += n;
      }
    }
  }
  flush(&k, runs, count, pool, avx2, output);
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
        ((const int32_t*)n->in[7])[0], ((const int32_t*)n->in[7])[1]);
  }
  return mdl_depthwise_conv_s8_fast(p, (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                                    (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                                    (const int32_t*)n->in[2], (int8_t*)n->out);
}
