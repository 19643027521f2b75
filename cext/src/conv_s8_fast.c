/* CONV_2D int8, fast form (groups == 1): im2col into int16 patches, register-blocked
 * int8 GEMM with the input offset folded into the bias, vectorized requantization.
 * Same results as mdl_conv_s8 (conv_s8.c), bit for bit; see mdl_conv.h for why the fold
 * is exact.  Also mdl_requantize_rows_s8, shared with depthwise_conv_s8_fast.c.
 *
 * Everything is plain C written so that GCC/Clang vectorize it, compiled per ISA level
 * with MDL_MULTIVERSION.  The patches are int16 in memory on purpose: with both dot
 * operands int8, compilers see products that fit int16 and emit 16-bit multiplies plus
 * widening adds; with one operand loaded as int16 they emit the int16 multiply-add into
 * int32 lanes (x86 pmaddwd), about twice as fast. */
#include "mdl_conv.h"
#include "mdl_requantize_avx2.h"
#include "mdl_requantize_vec.h"

/* Tell the compiler that n is a multiple of MDL_CONV_S8_FAST_K_ALIGN (patch_len is),
 * so the vectorized loops need no remainder code. */
#if defined(__GNUC__) || defined(__clang__)
#define ASSUME_ALIGNED_LEN(n) \
  do {                        \
    if ((n) % MDL_CONV_S8_FAST_K_ALIGN != 0) __builtin_unreachable(); \
  } while (0)
#else
#define ASSUME_ALIGNED_LEN(n) ((void)0)
#endif

/* ------------------------------------------------------------- requantization */
/* mdl_requantize (gemmlowp double rounding) without branches, clamped: see
 * mdl_requantize_vec.h. */
MDL_INLINE int32_t requantize_double(int32_t acc, int32_t m, int32_t s, int32_t offset,
                                     int32_t lo, int32_t hi) {
  return mdl_requantize_clamp_vec(acc, m, s, offset, lo, hi);
}

#define RQ_CHUNK 64

/* out[i] = requantize_double(acc[i], m[i], s[i]) for i < n <= RQ_CHUNK.  Two loops so
 * that the arithmetic one is vectorized over int32 lanes (8 per AVX2 register) rather
 * than over the int8 stores (32), which would leave short rows scalar. */
MDL_INLINE void requantize_chunk(const int32_t* MDL_RESTRICT acc,
                                 const int32_t* MDL_RESTRICT m,
                                 const int32_t* MDL_RESTRICT s, int32_t n, int32_t offset,
                                 int32_t lo, int32_t hi, int8_t* MDL_RESTRICT out) {
  int32_t t[RQ_CHUNK];
  for (int32_t i = 0; i < n; ++i) {
    t[i] = requantize_double(acc[i], m[i], s[i], offset, lo, hi);
  }
  for (int32_t i = 0; i < n; ++i) out[i] = (int8_t)t[i];
}

MDL_MULTIVERSION void mdl_requantize_rows_s8(const int32_t* MDL_RESTRICT acc,
                                             int32_t rows, int32_t n,
                                             const int32_t* MDL_RESTRICT multiplier,
                                             const int32_t* MDL_RESTRICT shift,
                                             int32_t output_offset, int32_t act_min,
                                             int32_t act_max, int32_t rounding,
                                             int8_t* MDL_RESTRICT out,
                                             int32_t out_stride) {
  if (rows <= 0 || n <= 0) return;
  if (rounding != MDL_ROUNDING_DOUBLE) {
    for (int32_t r = 0; r < rows; ++r) {
      for (int32_t i = 0; i < n; ++i) {
        const int32_t v =
            mdl_requantize_r(acc[(size_t)r * n + i], multiplier[i], shift[i], rounding);
        out[(size_t)r * out_stride + i] =
            (int8_t)mdl_clamp(v + output_offset, act_min, act_max);
      }
    }
    return;
  }
  if (n > RQ_CHUNK / 2 || out_stride != n || rows == 1) {
    for (int32_t r = 0; r < rows; ++r) {
      const int32_t* a = acc + (size_t)r * n;
      int8_t* o = out + (size_t)r * out_stride;
      for (int32_t i = 0; i < n; i += RQ_CHUNK) {
        const int32_t c = n - i < RQ_CHUNK ? n - i : RQ_CHUNK;
        requantize_chunk(a + i, multiplier + i, shift + i, c, output_offset, act_min,
                         act_max, o + i);
      }
    }
    return;
  }
  /* Short contiguous rows: requantize them as one flat array in chunks of whole rows,
   * with the per-channel parameters repeated across the chunk. */
  int32_t m_rep[RQ_CHUNK], s_rep[RQ_CHUNK];
  const int32_t per_chunk = RQ_CHUNK / n;
  for (int32_t j = 0; j < per_chunk; ++j) {
    for (int32_t i = 0; i < n; ++i) {
      m_rep[j * n + i] = multiplier[i];
      s_rep[j * n + i] = shift[i];
    }
  }
  for (int32_t r = 0; r < rows; r += per_chunk) {
    const int32_t k = rows - r < per_chunk ? rows - r : per_chunk;
    requantize_chunk(acc + (size_t)r * n, m_rep, s_rep, k * n, output_offset, act_min,
                     act_max, out + (size_t)r * n);
  }
}

/* ------------------------------------------------------------------ dot products */
/* acc[j] = sum_i x[i] * w_j[i] and acc[4 + j] = sum_i y[i] * w_j[i] for the 4 filter
 * rows w_j = w + j * n, n a multiple of MDL_CONV_S8_FAST_K_ALIGN.  No overflow: the
 * real part of a patch is < 2^17 long, |x * w| <= 2^14, and the padding is 0. */
MDL_INLINE void dot_4x2(const int16_t* MDL_RESTRICT x,
                                     const int16_t* MDL_RESTRICT y,
                                     const int8_t* MDL_RESTRICT w, int32_t n,
                                     int32_t* MDL_RESTRICT acc) {
  ASSUME_ALIGNED_LEN(n);
  const int8_t* w0 = w;
  const int8_t* w1 = w + n;
  const int8_t* w2 = w + 2 * (size_t)n;
  const int8_t* w3 = w + 3 * (size_t)n;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int16_t xi = x[i], yi = y[i];
    const int16_t v0 = w0[i], v1 = w1[i], v2 = w2[i], v3 = w3[i];
    a0 += xi * v0;
    a1 += xi * v1;
    a2 += xi * v2;
    a3 += xi * v3;
    b0 += yi * v0;
    b1 += yi * v1;
    b2 += yi * v2;
    b3 += yi * v3;
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
  acc[4] = b0;
  acc[5] = b1;
  acc[6] = b2;
  acc[7] = b3;
}

/* acc[j] = sum_i x[i] * w_j[i] for the 4 filter rows w_j = w + j * n. */
MDL_INLINE void dot_4x1(const int16_t* MDL_RESTRICT x,
                                     const int8_t* MDL_RESTRICT w, int32_t n,
                                     int32_t* MDL_RESTRICT acc) {
  ASSUME_ALIGNED_LEN(n);
  const int8_t* w0 = w;
  const int8_t* w1 = w + n;
  const int8_t* w2 = w + 2 * (size_t)n;
  const int8_t* w3 = w + 3 * (size_t)n;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int16_t xi = x[i];
    a0 += xi * (int16_t)w0[i];
    a1 += xi * (int16_t)w1[i];
    a2 += xi * (int16_t)w2[i];
    a3 += xi * (int16_t)w3[i];
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* acc[0] = x . w, acc[1] = y . w. */
MDL_INLINE void dot_1x2(const int16_t* MDL_RESTRICT x,
                                     const int16_t* MDL_RESTRICT y,
                                     const int8_t* MDL_RESTRICT w, int32_t n,
                                     int32_t* MDL_RESTRICT acc) {
  ASSUME_ALIGNED_LEN(n);
  int32_t a = 0, b = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int16_t v = w[i];
    a += x[i] * v;
    b += y[i] * v;
  }
  acc[0] = a;
  acc[1] = b;
}

MDL_INLINE int32_t dot_1x1(const int16_t* MDL_RESTRICT x,
                                        const int8_t* MDL_RESTRICT w, int32_t n) {
  ASSUME_ALIGNED_LEN(n);
  int32_t a = 0;
  for (int32_t i = 0; i < n; ++i) a += x[i] * (int16_t)w[i];
  return a;
}

/* ---------------------------------------------------------------------- im2col */
MDL_INLINE void fill_s16(int16_t* MDL_RESTRICT dst, int16_t value, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = value;
}

MDL_INLINE void widen_s8(int16_t* MDL_RESTRICT dst, const int8_t* MDL_RESTRICT src,
                         int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = src[i];
}

/* dst[i] = src[i] for i < n.  When the input has room (src + n rounded up to 16 <= end)
 * it copies whole groups of 16 (one vector each): then it also writes up to 15 entries
 * past dst + n, which the callers overwrite afterwards or leave in the patch buffer's
 * slack (MDL_CONV_S8_FAST_SLACK). */
MDL_INLINE void widen_row(int16_t* MDL_RESTRICT dst, const int8_t* MDL_RESTRICT src,
                          int32_t n, const int8_t* end) {
  const int32_t n16 = (n + 15) / 16 * 16;
  if (end - src >= n16) {
    for (int32_t i = 0; i < n16; i += 16) {
      for (int32_t j = 0; j < 16; ++j) dst[i + j] = src[i + j];
    }
  } else {
    widen_s8(dst, src, n);
  }
}

/* The taps f in [*lo, *hi) of a window starting at `start` (stride already applied)
 * with 0 <= start + f * dilation < size. */
MDL_INLINE void tap_range(int32_t start, int32_t dilation, int32_t filter, int32_t size,
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

/* The patch of output pixel (y, x) of one image as int16 in OHWI row order
 * [fy][fx][c], taps outside the input set to the input zero point, then zeros up to
 * patch_len; may write up to 15 entries past the patch.  end: the end of the input. */
MDL_INLINE void im2col_pixel(const mdl_conv_s8_fast_params* p,
                              const int8_t* MDL_RESTRICT image, const int8_t* end,
                              int32_t y, int32_t x, int32_t patch_len,
                              int16_t* MDL_RESTRICT dst) {
  const int32_t c = p->input_c;
  const int32_t row_len = p->filter_w * c;
  const int16_t pad = (int16_t)(-p->input_offset);
  const int32_t y0 = y * p->stride_h - p->pad_h;
  const int32_t x0 = x * p->stride_w - p->pad_w;
  if (p->dilation_w == 1 && y0 >= 0 &&
      y0 + (p->filter_h - 1) * p->dilation_h < p->input_h && x0 >= 0 &&
      x0 + p->filter_w <= p->input_w) {
    /* The whole window is inside the input: filter_h contiguous rows. */
    const int8_t* src = image + ((size_t)y0 * p->input_w + x0) * c;
    const size_t src_row = (size_t)p->dilation_h * p->input_w * c;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
      widen_row(dst + (size_t)fy * row_len, src + fy * src_row, row_len, end);
    }
  } else {
    int32_t fx_lo, fx_hi;
    tap_range(x0, p->dilation_w, p->filter_w, p->input_w, &fx_lo, &fx_hi);
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
      int16_t* row = dst + (size_t)fy * row_len;
      const int32_t iy = y0 + fy * p->dilation_h;
      if (iy < 0 || iy >= p->input_h || fx_lo == fx_hi) {
        fill_s16(row, pad, row_len);
        continue;
      }
      const int8_t* src = image + (size_t)iy * p->input_w * c;
      fill_s16(row, pad, fx_lo * c);
      if (p->dilation_w == 1) {
        widen_row(row + (size_t)fx_lo * c, src + (size_t)(x0 + fx_lo) * c,
                  (fx_hi - fx_lo) * c, end);
      } else {
        for (int32_t fx = fx_lo; fx < fx_hi; ++fx) {
          widen_row(row + (size_t)fx * c, src + (size_t)(x0 + fx * p->dilation_w) * c, c,
                    end);
        }
      }
      fill_s16(row + (size_t)fx_hi * c, pad, (p->filter_w - fx_hi) * c);
    }
  }
  const int32_t k = p->filter_h * row_len;
  fill_s16(dst + k, 0, patch_len - k);
}

/* ------------------------------------------------------------------------ GEMM */
MDL_INLINE int32_t add_wrap(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* acc[i * n + o] = bias[o] + patch_i . w_o for np patches (stride kp) and n filter rows
 * (stride kp). */
MDL_MULTIVERSION static void gemm_block(const int16_t* MDL_RESTRICT patches, int32_t np,
                                        int32_t kp, const int8_t* MDL_RESTRICT w,
                                        const int32_t* MDL_RESTRICT bias, int32_t n,
                                        int32_t* MDL_RESTRICT acc) {
  int32_t o = 0;
  for (; o + 4 <= n; o += 4) {
    const int8_t* w4 = w + (size_t)o * kp;
    int32_t i = 0;
    for (; i + 2 <= np; i += 2) {
      int32_t a[8];
      dot_4x2(patches + (size_t)i * kp, patches + (size_t)(i + 1) * kp, w4, kp, a);
      for (int32_t j = 0; j < 4; ++j) {
        acc[(size_t)i * n + o + j] = add_wrap(a[j], bias[o + j]);
        acc[(size_t)(i + 1) * n + o + j] = add_wrap(a[4 + j], bias[o + j]);
      }
    }
    if (i < np) {
      int32_t a[4];
      dot_4x1(patches + (size_t)i * kp, w4, kp, a);
      for (int32_t j = 0; j < 4; ++j) {
        acc[(size_t)i * n + o + j] = add_wrap(a[j], bias[o + j]);
      }
    }
  }
  for (; o < n; ++o) {
    const int8_t* w1 = w + (size_t)o * kp;
    int32_t i = 0;
    for (; i + 2 <= np; i += 2) {
      int32_t a[2];
      dot_1x2(patches + (size_t)i * kp, patches + (size_t)(i + 1) * kp, w1, kp, a);
      acc[(size_t)i * n + o] = add_wrap(a[0], bias[o]);
      acc[(size_t)(i + 1) * n + o] = add_wrap(a[1], bias[o]);
    }
    if (i < np) {
      acc[(size_t)i * n + o] =
          add_wrap(dot_1x1(patches + (size_t)i * kp, w1, kp), bias[o]);
    }
  }
}

/* The next output pixel (NHWC order) of a convolution. */
typedef struct {
  int32_t b, y, x;
} pixel_pos;

MDL_INLINE void next_pixel(pixel_pos* q, const mdl_conv_s8_fast_params* p) {
  if (++q->x == p->output_w) {
    q->x = 0;
    if (++q->y == p->output_h) {
      q->y = 0;
      ++q->b;
    }
  }
}

/* Copies the next np patches (from *q on) into scratch and advances *q. */
MDL_MULTIVERSION static void im2col_block(const mdl_conv_s8_fast_params* p,
                                          const int8_t* MDL_RESTRICT input, int32_t np,
                                          int32_t kp, pixel_pos* q,
                                          int16_t* MDL_RESTRICT scratch) {
  const size_t image_size = (size_t)p->input_h * p->input_w * p->input_c;
  const int8_t* end = input + (size_t)p->batches * image_size;
  if (kp == p->input_c && p->filter_h == 1 && p->filter_w == 1 && p->stride_w == 1 &&
      p->pad_h == 0 && p->pad_w == 0 && q->x + np <= p->output_w) {
    /* 1x1 filter along one row: the patches are consecutive input pixels. */
    const int8_t* src = input + q->b * image_size +
                        ((size_t)q->y * p->stride_h * p->input_w + q->x) * p->input_c;
    widen_s8(scratch, src, np * kp);
    q->x += np; /* still on the row, or at its end */
    if (q->x == p->output_w) {
      q->x = 0;
      if (++q->y == p->output_h) {
        q->y = 0;
        ++q->b;
      }
    }
    return;
  }
  for (int32_t i = 0; i < np; ++i) {
    im2col_pixel(p, input + (size_t)q->b * image_size, end, q->y, q->x, kp,
                 scratch + (size_t)i * kp);
    next_pixel(q, p);
  }
}

/* ------------------------------------------------------------ GEMM, lanes form */
#define LB MDL_CONV_FAST_LANE_BLOCK

/* Stores the first `lanes` of v[LB] at dst. */
MDL_INLINE void store_lanes(int32_t* MDL_RESTRICT dst, const int32_t* MDL_RESTRICT v,
                            int32_t lanes) {
  for (int32_t j = 0; j < lanes; ++j) dst[j] = v[j];
}

/* Lanes form, portable C: acc[i * n + o] = bias[o] + sum_{k < k2} patch_i[k] *
 * w(k, o) for np patches (stride kp) and n output channels; w in the lanes layout
 * (mdl_conv.h), k2 = K rounded up to even (an odd K reads one entry past the patch,
 * times a zero weight). */
MDL_MULTIVERSION static void gemm_lanes_c(const int16_t* MDL_RESTRICT patches,
                                          int32_t np, int32_t kp, int32_t k2,
                                          const int16_t* MDL_RESTRICT w,
                                          const int32_t* MDL_RESTRICT bias, int32_t n,
                                          int32_t* MDL_RESTRICT acc) {
  for (int32_t ob = 0; ob < n; ob += LB) {
    const int16_t* wb = w + (size_t)ob * k2;
    const int32_t lanes = n - ob < LB ? n - ob : LB;
    if (lanes <= LB / 2) { /* the upper 8 lanes' weights are all zero: skip them */
      for (int32_t i = 0; i < np; ++i) {
        const int16_t* x = patches + (size_t)i * kp;
        int32_t a[LB / 2];
        for (int32_t j = 0; j < LB / 2; ++j) a[j] = bias[ob + j];
        for (int32_t k = 0; k < k2; k += 2) {
          const int32_t x0 = x[k], x1 = x[k + 1];
          const int16_t* wk = wb + (size_t)k * LB;
          for (int32_t j = 0; j < LB / 2; ++j) {
            a[j] = add_wrap(a[j], x0 * wk[2 * j] + x1 * wk[2 * j + 1]);
          }
        }
        store_lanes(acc + (size_t)i * n + ob, a, lanes);
      }
      continue;
    }
    for (int32_t i = 0; i < np; ++i) {
      const int16_t* x = patches + (size_t)i * kp;
      int32_t a[LB];
      for (int32_t j = 0; j < LB; ++j) a[j] = bias[ob + j];
      for (int32_t k = 0; k < k2; k += 2) {
        const int32_t x0 = x[k], x1 = x[k + 1];
        const int16_t* wk = wb + (size_t)k * LB;
        for (int32_t j = 0; j < LB; ++j) {
          a[j] = add_wrap(a[j], x0 * wk[2 * j] + x1 * wk[2 * j + 1]);
        }
      }
      store_lanes(acc + (size_t)i * n + ob, a, lanes);
    }
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(MDL_NO_MULTIVERSION)
#include <immintrin.h>
#include <string.h>
#define HAVE_LANES_AVX2 1

MDL_INLINE __attribute__((target("avx2"))) __m256i pair_avx2(const int16_t* x) {
  int32_t v;
  memcpy(&v, x, sizeof v);
  return _mm256_set1_epi32(v);
}

/* gemm_lanes_c with AVX2 intrinsics: two pixels x 16 output channels per step, one
 * vpmaddwd per (pixel pair of entries, 8 channels). */
__attribute__((target("avx2"))) static void gemm_lanes_avx2(
    const int16_t* MDL_RESTRICT patches, int32_t np, int32_t kp, int32_t k2,
    const int16_t* MDL_RESTRICT w, const int32_t* MDL_RESTRICT bias, int32_t n,
    int32_t* MDL_RESTRICT acc) {
  for (int32_t ob = 0; ob < n; ob += LB) {
    const int16_t* wb = w + (size_t)ob * k2;
    const int32_t lanes = n - ob < LB ? n - ob : LB;
    const __m256i b0 = _mm256_loadu_si256((const __m256i*)(bias + ob));
    const __m256i b1 = _mm256_loadu_si256((const __m256i*)(bias + ob + 8));
    int32_t i = 0;
    for (; i + 2 <= np; i += 2) {
      const int16_t* x = patches + (size_t)i * kp;
      const int16_t* y = x + kp;
      __m256i a0 = b0, a1 = b1, c0 = b0, c1 = b1;
      for (int32_t k = 0; k < k2; k += 2) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i*)(wb + (size_t)k * LB));
        const __m256i w1 = _mm256_loadu_si256((const __m256i*)(wb + (size_t)k * LB + 16));
        const __m256i xv = pair_avx2(x + k), yv = pair_avx2(y + k);
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xv, w0));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xv, w1));
        c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(yv, w0));
        c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(yv, w1));
      }
      int32_t* d = acc + (size_t)i * n + ob;
      if (lanes == LB) {
        _mm256_storeu_si256((__m256i*)d, a0);
        _mm256_storeu_si256((__m256i*)(d + 8), a1);
        _mm256_storeu_si256((__m256i*)(d + n), c0);
        _mm256_storeu_si256((__m256i*)(d + n + 8), c1);
      } else {
        int32_t t[LB];
        _mm256_storeu_si256((__m256i*)t, a0);
        _mm256_storeu_si256((__m256i*)(t + 8), a1);
        store_lanes(d, t, lanes);
        _mm256_storeu_si256((__m256i*)t, c0);
        _mm256_storeu_si256((__m256i*)(t + 8), c1);
        store_lanes(d + n, t, lanes);
      }
    }
    if (i < np) {
      const int16_t* x = patches + (size_t)i * kp;
      __m256i a0 = b0, a1 = b1;
      for (int32_t k = 0; k < k2; k += 2) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i*)(wb + (size_t)k * LB));
        const __m256i w1 = _mm256_loadu_si256((const __m256i*)(wb + (size_t)k * LB + 16));
        const __m256i xv = pair_avx2(x + k);
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xv, w0));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xv, w1));
      }
      int32_t t[LB];
      _mm256_storeu_si256((__m256i*)t, a0);
      _mm256_storeu_si256((__m256i*)(t + 8), a1);
      store_lanes(acc + (size_t)i * n + ob, t, lanes);
    }
  }
}

/* ------------------------------------- lanes form, AVX2, in-register requantization
 * The GEMM of a block of patches followed by the requantization of its accumulators
 * while still in registers (double rounding only), the int8 results stored straight to
 * the output: no int32 accumulator array, no separate requantization pass.  Blocks of
 * 16 output channels take 2 pixels x 2 halves of 8 lanes per step; a block of at most 8
 * channels (output_c <= 8, or the last block) takes 4 pixels x 8 lanes, so that no
 * multiply-add works on the zero weights of the empty half. */
#define AVX2 __attribute__((target("avx2")))

/* The int8 values of v0 then v1 (each in [-128, 127]) as 16 bytes. */
MDL_INLINE AVX2 __m128i pack16(__m256i v0, __m256i v1) {
  const __m256i v16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8);
  return _mm_packs_epi16(_mm256_castsi256_si128(v16), _mm256_extracti128_si256(v16, 1));
}

/* Stores the first n <= 16 bytes of v at o. */
MDL_INLINE AVX2 void store_n(int8_t* o, __m128i v, int32_t n) {
  if (n == 16) {
    _mm_storeu_si128((__m128i*)o, v);
  } else if (n == 8) {
    _mm_storel_epi64((__m128i*)o, v);
  } else {
    int8_t t[16];
    _mm_storeu_si128((__m128i*)t, v);
    for (int32_t j = 0; j < n; ++j) o[j] = t[j];
  }
}

/* Accumulators of P pixels (patches x + i * kp) x H halves of 8 lanes, starting from
 * the bias; k2 / 2 pair steps over the weights wb of one block of 16 channels. */
MDL_INLINE AVX2 void sums_avx2(const int16_t* x, int32_t kp, int32_t k2,
                               const int16_t* wb, int P, int H, __m256i b0, __m256i b1,
                               __m256i* a) {
  for (int i = 0; i < P; ++i) {
    a[i * H] = b0;
    if (H == 2) a[i * H + 1] = b1;
  }
  for (int32_t k = 0; k < k2; k += 2) {
    const __m256i w0 = _mm256_loadu_si256((const __m256i*)(wb + (size_t)k * LB));
    __m256i w1 = w0;
    if (H == 2) w1 = _mm256_loadu_si256((const __m256i*)(wb + (size_t)k * LB + 16));
    for (int i = 0; i < P; ++i) {
      const __m256i xv = pair_avx2(x + (size_t)i * kp + k);
      a[i * H] = _mm256_add_epi32(a[i * H], _mm256_madd_epi16(xv, w0));
      if (H == 2) a[i * H + 1] = _mm256_add_epi32(a[i * H + 1], _mm256_madd_epi16(xv, w1));
    }
  }
}

/* Constants of one block of 16 output channels. */
typedef struct {
  const int16_t* wb;
  __m256i b0, b1;
  rq8 r0, r1;
  int32_t ob, lanes;
} lane_block;

/* The np patches at x (stride kp) through one block of channels, requantized, stored at
 * out (pixel stride oc, the block's channels from out + ob). */
MDL_INLINE AVX2 void block_rq_avx2(const int16_t* x, int32_t np, int32_t kp, int32_t k2,
                                   const lane_block* lb, int32_t oc, __m256i offset,
                                   __m256i lo, __m256i hi, int lean, int8_t* out) {
  const int32_t lanes = lb->lanes;
  int32_t i = 0;
  out += lb->ob;
  if (lanes > 8) {
    for (; i + 2 <= np; i += 2) {
      __m256i a[4];
      sums_avx2(x + (size_t)i * kp, kp, k2, lb->wb, 2, 2, lb->b0, lb->b1, a);
      for (int j = 0; j < 2; ++j) {
        store_n(out + (size_t)(i + j) * oc,
                pack16(rq8_apply(&lb->r0, a[2 * j], offset, lo, hi, lean),
                       rq8_apply(&lb->r1, a[2 * j + 1], offset, lo, hi, lean)),
                lanes);
      }
    }
    for (; i < np; ++i) {
      __m256i a[2];
      sums_avx2(x + (size_t)i * kp, kp, k2, lb->wb, 1, 2, lb->b0, lb->b1, a);
      store_n(out + (size_t)i * oc,
              pack16(rq8_apply(&lb->r0, a[0], offset, lo, hi, lean),
                     rq8_apply(&lb->r1, a[1], offset, lo, hi, lean)),
              lanes);
    }
    return;
  }
  for (; i + 4 <= np; i += 4) {
    __m256i a[4];
    sums_avx2(x + (size_t)i * kp, kp, k2, lb->wb, 4, 1, lb->b0, lb->b1, a);
    for (int j = 0; j < 4; j += 2) {
      const __m128i v = pack16(rq8_apply(&lb->r0, a[j], offset, lo, hi, lean),
                               rq8_apply(&lb->r0, a[j + 1], offset, lo, hi, lean));
      if (oc == 8) {
        _mm_storeu_si128((__m128i*)(out + (size_t)(i + j) * 8), v);
      } else {
        store_n(out + (size_t)(i + j) * oc, v, lanes);
        store_n(out + (size_t)(i + j + 1) * oc, _mm_srli_si128(v, 8), lanes);
      }
    }
  }
  for (; i < np; ++i) {
    __m256i a[1];
    sums_avx2(x + (size_t)i * kp, kp, k2, lb->wb, 1, 1, lb->b0, lb->b1, a);
    const __m256i v = rq8_apply(&lb->r0, a[0], offset, lo, hi, lean);
    store_n(out + (size_t)i * oc, pack16(v, v), lanes);
  }
}

/* im2col_block for filter rows of at most 16 entries (filter_w * input_c <= 16,
 * dilation_w 1) and patch_len == K: each filter row of a window inside the input along
 * x is one 16-byte load widened to 16 int16 entries (the entries past the row are
 * overwritten by the next row or patch, or land in the slack), a row above or below
 * the input 16 copies of the zero point; windows crossing the left or right edge go
 * through im2col_pixel. */
AVX2 static void im2col_short_rows_avx2(const mdl_conv_s8_fast_params* p,
                                        const int8_t* MDL_RESTRICT input, int32_t np,
                                        int32_t kp, pixel_pos* q,
                                        int16_t* MDL_RESTRICT scratch) {
  /* The parameters in locals: the int16 stores could alias them otherwise. */
  const int32_t c = p->input_c, fh = p->filter_h, fw = p->filter_w;
  const int32_t in_h = p->input_h, in_w = p->input_w, out_w = p->output_w;
  const int32_t stride_w = p->stride_w, pad_w = p->pad_w;
  const int32_t row_len = fw * c;
  const size_t image_size = (size_t)in_h * in_w * c;
  const int8_t* end = input + (size_t)p->batches * image_size;
  const __m256i pad = _mm256_set1_epi16((int16_t)(-p->input_offset));
  const int8_t* rows[MDL_CONV_FAST_LANES_EXACT_K]; /* fh <= K <= 64 */
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
        im2col_pixel(p, image, end, q->y, x_first + j, kp,
                     scratch + (size_t)(i + j) * kp);
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
        int16_t* dst = scratch + (size_t)(i + j) * kp;
        for (int32_t t = 0; t < n_in; ++t) {
          _mm256_storeu_si256((__m256i*)dst,
                              _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)s0)));
          _mm256_storeu_si256((__m256i*)(dst + row_len),
                              _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)s1)));
          _mm256_storeu_si256((__m256i*)(dst + 2 * row_len),
                              _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)s2)));
          s0 += step;
          s1 += step;
          s2 += step;
          dst += kp;
        }
        j += n_in;
      }
    }
    for (; j < run; ++j) {
      int16_t* dst = scratch + (size_t)(i + j) * kp;
      const int32_t x0 = (x_first + j) * stride_w - pad_w;
      if (x0 >= 0 && x0 + fw <= in_w) {
        for (int32_t fy = 0; fy < fh; ++fy) {
          int16_t* row = dst + (size_t)fy * row_len;
          const int8_t* src = rows[fy] ? rows[fy] + (size_t)x0 * c : NULL;
          if (!src) {
            _mm256_storeu_si256((__m256i*)row, pad);
          } else if (end - src >= 16) {
            _mm256_storeu_si256(
                (__m256i*)row, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)src)));
          } else {
            widen_s8(row, src, row_len);
          }
        }
      } else {
        im2col_pixel(p, image, end, q->y, x_first + j, kp, dst);
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

/* mdl_conv_s8_fast in the lanes form with in-register requantization (double
 * rounding): blocks of block_pixels patches in scratch, each through every block of 16
 * output channels. */
MDL_INLINE AVX2 void conv_rq_avx2(const mdl_conv_s8_fast_params* p,
                                  const int32_t* multiplier, const int32_t* shift,
                                  const int8_t* input, const int16_t* w,
                                  const int32_t* bias_eff, int8_t* output,
                                  int16_t* scratch, int32_t kp, int32_t k2, int lean) {
  const int32_t oc = p->output_c, bp = p->block_pixels;
  const __m256i offset = _mm256_set1_epi32(p->output_offset);
  const __m256i lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
  pixel_pos q = {0, 0, 0};
  int32_t remaining = p->batches * p->output_h * p->output_w;
  int8_t* out = output;
  const int short_rows = p->filter_h * p->filter_w > 1 && p->dilation_w == 1 &&
                         p->filter_w * p->input_c <= 16 &&
                         kp == p->filter_h * p->filter_w * p->input_c;
  while (remaining > 0) {
    const int32_t np = remaining < bp ? remaining : bp;
    if (short_rows) {
      im2col_short_rows_avx2(p, input, np, kp, &q, scratch);
    } else {
      im2col_block(p, input, np, kp, &q, scratch);
    }
    for (int32_t ob = 0; ob < oc; ob += LB) {
      lane_block lb;
      lb.ob = ob;
      lb.lanes = oc - ob < LB ? oc - ob : LB;
      lb.wb = w + (size_t)ob * k2;
      lb.b0 = _mm256_loadu_si256((const __m256i*)(bias_eff + ob));
      lb.b1 = _mm256_loadu_si256((const __m256i*)(bias_eff + ob + 8));
      if (lb.lanes == LB) {
        rq8_init(&lb.r0, multiplier + ob, shift + ob);
        rq8_init(&lb.r1, multiplier + ob + 8, shift + ob + 8);
      } else { /* multiplier and shift have output_c entries: pad the last block */
        int32_t m[LB] = {0}, s[LB] = {0};
        for (int32_t j = 0; j < lb.lanes; ++j) {
          m[j] = multiplier[ob + j];
          s[j] = shift[ob + j];
        }
        rq8_init(&lb.r0, m, s);
        rq8_init(&lb.r1, m + 8, s + 8);
      }
      block_rq_avx2(scratch, np, kp, k2, &lb, oc, offset, lo, hi, lean, out);
    }
    out += (size_t)np * oc;
    remaining -= np;
  }
}

/* The two specializations of conv_rq_avx2 (lean a constant in each); separate
 * AVX2-target functions because an AVX2 inline function cannot be inlined into the
 * baseline-target caller. */
AVX2 static void conv_rq_avx2_lean(const mdl_conv_s8_fast_params* p,
                                   const int32_t* multiplier, const int32_t* shift,
                                   const int8_t* input, const int16_t* w,
                                   const int32_t* bias_eff, int8_t* output,
                                   int16_t* scratch, int32_t kp, int32_t k2) {
  conv_rq_avx2(p, multiplier, shift, input, w, bias_eff, output, scratch, kp, k2, 1);
}

AVX2 static void conv_rq_avx2_full(const mdl_conv_s8_fast_params* p,
                                   const int32_t* multiplier, const int32_t* shift,
                                   const int8_t* input, const int16_t* w,
                                   const int32_t* bias_eff, int8_t* output,
                                   int16_t* scratch, int32_t kp, int32_t k2) {
  conv_rq_avx2(p, multiplier, shift, input, w, bias_eff, output, scratch, kp, k2, 0);
}
#endif

/* The GEMM of a block in the chosen form (kk: patch_len for the rows form, K2 for the
 * lanes forms). */
static void gemm_any(int32_t form, const int16_t* patches, int32_t np, int32_t kp,
                     int32_t k2, const int8_t* filter, const int32_t* bias, int32_t n,
                     int32_t* acc) {
  if (form == MDL_CONV_FAST_ROWS) {
    gemm_block(patches, np, kp, filter, bias, n, acc);
    return;
  }
  const int16_t* w = (const int16_t*)(const void*)filter;
#ifdef HAVE_LANES_AVX2
  if (form == MDL_CONV_FAST_LANES && __builtin_cpu_supports("avx2")) {
    gemm_lanes_avx2(patches, np, kp, k2, w, bias, n, acc);
    return;
  }
#endif
  gemm_lanes_c(patches, np, kp, k2, w, bias, n, acc);
}

#define OC_CHUNK 128  /* output channels per GEMM pass when there are more */
#define ACC_SIZE 2048 /* int32 accumulators requantized together */

mdl_status mdl_conv_s8_fast(const mdl_conv_s8_fast_params* p, const int32_t* multiplier,
                            const int32_t* shift, const int8_t* input,
                            const int8_t* filter, const int32_t* bias_eff, int8_t* output,
                            int16_t* scratch) {
  const int32_t bp = p->block_pixels;
  const int32_t kp = mdl_conv_s8_fast_patch_len(p);
  const int32_t form = p->lanes;
  const int32_t k2 = (p->filter_h * p->filter_w * p->input_c + 1) / 2 * 2;
  if (p->filter_c != p->input_c || bp < 1 || bp > MDL_CONV_S8_FAST_MAX_BLOCK ||
      !bias_eff || form < MDL_CONV_FAST_ROWS || form > MDL_CONV_FAST_LANES_C) {
    return MDL_ERR_BAD_PARAM;
  }
  if (!scratch) return MDL_ERR_BAD_PARAM;
  const int32_t oc = p->output_c;
#ifdef HAVE_LANES_AVX2
  if (form == MDL_CONV_FAST_LANES && p->rounding == MDL_ROUNDING_DOUBLE &&
      __builtin_cpu_supports("avx2")) {
    const int16_t* w = (const int16_t*)(const void*)filter;
    if (p->lean) {
      conv_rq_avx2_lean(p, multiplier, shift, input, w, bias_eff, output, scratch, kp, k2);
    } else {
      conv_rq_avx2_full(p, multiplier, shift, input, w, bias_eff, output, scratch, kp, k2);
    }
    return MDL_OK;
  }
#endif
  int32_t acc[ACC_SIZE];
  int8_t* out = output;
  pixel_pos q = {0, 0, 0};
  int32_t remaining = p->batches * p->output_h * p->output_w;
  if (oc <= OC_CHUNK) {
    /* Groups of whole blocks of pixels, requantized together. */
    int32_t group = ACC_SIZE / oc / bp * bp;
    if (group < bp) group = bp;
    while (remaining > 0) {
      const int32_t g = remaining < group ? remaining : group;
      for (int32_t i = 0; i < g; i += bp) {
        const int32_t np = g - i < bp ? g - i : bp;
        im2col_block(p, input, np, kp, &q, scratch);
        gemm_any(form, scratch, np, kp, k2, filter, bias_eff, oc, acc + (size_t)i * oc);
      }
      mdl_requantize_rows_s8(acc, g, oc, multiplier, shift, p->output_offset, p->act_min,
                             p->act_max, p->rounding, out, oc);
      out += (size_t)g * oc;
      remaining -= g;
    }
  } else {
    while (remaining > 0) {
      const int32_t np = remaining < bp ? remaining : bp;
      im2col_block(p, input, np, kp, &q, scratch);
      for (int32_t o0 = 0; o0 < oc; o0 += OC_CHUNK) {
        const int32_t n = oc - o0 < OC_CHUNK ? oc - o0 : OC_CHUNK;
        gemm_any(form, scratch, np, kp, k2,
                 filter + (size_t)o0 * (form == MDL_CONV_FAST_ROWS ? kp : 2 * k2),
                 bias_eff + o0, n, acc);
        mdl_requantize_rows_s8(acc, np, n, multiplier + o0, shift + o0, p->output_offset,
                               p->act_min, p->act_max, p->rounding, out + o0, oc);
      }
      out += (size_t)np * oc;
      remaining -= np;
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_conv_s8_fast(const mdl_node* n) {
  return mdl_conv_s8_fast((const mdl_conv_s8_fast_params*)n->params,
                          (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                          (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                          (const int32_t*)n->in[2], (int8_t*)n->out,
                          (int16_t*)n->scratch);
}
