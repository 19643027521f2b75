/* float32 CONV_2D and FULLY_CONNECTED: im2col (CONV_2D) and a 4x16 GEMM tile over
 * weights packed in blocks of 16 output channels (mdl_float.h).  Each output element is
 * summed over k in ascending order from 0.0f and the bias added last, as LiteRT's
 * reference_ops::Conv / FullyConnected do; the compiler vectorizes across the 16
 * output-channel lanes. */
#include <string.h>

#include "mdl_float.h"

#define clamp_f32 mdl_clamp_f32

/* Sums (bias, clamp) of one tile row to c: nr of the 16 lanes. */
static inline void store_row(const float* acc, const float* bias, float* c, int32_t nr,
                             float lo, float hi) {
  float tmp[MDL_F32_NR];
  for (int32_t j = 0; j < MDL_F32_NR; ++j) tmp[j] = clamp_f32(acc[j] + bias[j], lo, hi);
  memcpy(c, tmp, (size_t)nr * sizeof(float));
}

MDL_MULTIVERSION
void mdl_f32_gemm_4x16(int32_t mr, int32_t nr, int32_t k, const float* a, int32_t lda,
                       const float* w, const float* bias, float* c, int32_t ldc,
                       float lo, float hi) {
  /* Rows past mr recompute the last valid row (results not stored). */
  const float* MDL_RESTRICT a0 = a;
  const float* MDL_RESTRICT a1 = mr > 1 ? a0 + lda : a0;
  const float* MDL_RESTRICT a2 = mr > 2 ? a1 + lda : a1;
  const float* MDL_RESTRICT a3 = mr > 3 ? a2 + lda : a2;
  float acc[MDL_F32_MR][MDL_F32_NR];
#if MDL_F32_VECTORS
  mdl_f32x8 c00 = F32X8_BCAST(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
            c21 = c00, c30 = c00, c31 = c00;
  for (int32_t kk = 0; kk < k; ++kk, w += MDL_F32_NR) {
    mdl_f32x8 w0, w1;
    F32X8_LOAD(w0, w);
    F32X8_LOAD(w1, w + 8);
    const mdl_f32x8 x0 = F32X8_BCAST(a0[kk]), x1 = F32X8_BCAST(a1[kk]);
    const mdl_f32x8 x2 = F32X8_BCAST(a2[kk]), x3 = F32X8_BCAST(a3[kk]);
    c00 += x0 * w0; c01 += x0 * w1;
    c10 += x1 * w0; c11 += x1 * w1;
    c20 += x2 * w0; c21 += x2 * w1;
    c30 += x3 * w0; c31 += x3 * w1;
  }
  F32X8_STORE(acc[0], c00); F32X8_STORE(acc[0] + 8, c01);
  F32X8_STORE(acc[1], c10); F32X8_STORE(acc[1] + 8, c11);
  F32X8_STORE(acc[2], c20); F32X8_STORE(acc[2] + 8, c21);
  F32X8_STORE(acc[3], c30); F32X8_STORE(acc[3] + 8, c31);
#else
  int32_t j;
  for (j = 0; j < MDL_F32_NR; ++j) acc[0][j] = acc[1][j] = acc[2][j] = acc[3][j] = 0.0f;
  for (int32_t kk = 0; kk < k; ++kk, w += MDL_F32_NR) {
    const float x0 = a0[kk], x1 = a1[kk], x2 = a2[kk], x3 = a3[kk];
    for (j = 0; j < MDL_F32_NR; ++j) acc[0][j] += x0 * w[j];
    for (j = 0; j < MDL_F32_NR; ++j) acc[1][j] += x1 * w[j];
    for (j = 0; j < MDL_F32_NR; ++j) acc[2][j] += x2 * w[j];
    for (j = 0; j < MDL_F32_NR; ++j) acc[3][j] += x3 * w[j];
  }
#endif
  for (int32_t i = 0; i < mr; ++i)
    store_row(acc[i], bias, c + (ptrdiff_t)i * ldc, nr, lo, hi);
}

MDL_MULTIVERSION
void mdl_f32_gemm_6x16(int32_t k, const float* a, int32_t lda, const float* w,
                       const float* bias, float* c, int32_t ldc, int32_t nr, float lo,
                       float hi) {
  const float* MDL_RESTRICT a0 = a;
  const float* MDL_RESTRICT a1 = a0 + lda;
  const float* MDL_RESTRICT a2 = a1 + lda;
  const float* MDL_RESTRICT a3 = a2 + lda;
  const float* MDL_RESTRICT a4 = a3 + lda;
  const float* MDL_RESTRICT a5 = a4 + lda;
  float acc[6][MDL_F32_NR];
#if MDL_F32_VECTORS
  mdl_f32x8 c00 = F32X8_BCAST(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
            c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int32_t kk = 0; kk < k; ++kk, w += MDL_F32_NR) {
    mdl_f32x8 w0, w1, x;
    F32X8_LOAD(w0, w);
    F32X8_LOAD(w1, w + 8);
    x = F32X8_BCAST(a0[kk]); c00 += x * w0; c01 += x * w1;
    x = F32X8_BCAST(a1[kk]); c10 += x * w0; c11 += x * w1;
    x = F32X8_BCAST(a2[kk]); c20 += x * w0; c21 += x * w1;
    x = F32X8_BCAST(a3[kk]); c30 += x * w0; c31 += x * w1;
    x = F32X8_BCAST(a4[kk]); c40 += x * w0; c41 += x * w1;
    x = F32X8_BCAST(a5[kk]); c50 += x * w0; c51 += x * w1;
  }
  F32X8_STORE(acc[0], c00); F32X8_STORE(acc[0] + 8, c01);
  F32X8_STORE(acc[1], c10); F32X8_STORE(acc[1] + 8, c11);
  F32X8_STORE(acc[2], c20); F32X8_STORE(acc[2] + 8, c21);
  F32X8_STORE(acc[3], c30); F32X8_STORE(acc[3] + 8, c31);
  F32X8_STORE(acc[4], c40); F32X8_STORE(acc[4] + 8, c41);
  F32X8_STORE(acc[5], c50); F32X8_STORE(acc[5] + 8, c51);
#else
  const float* rows[6] = {a0, a1, a2, a3, a4, a5};
  int32_t i, j;
  for (i = 0; i < 6; ++i)
    for (j = 0; j < MDL_F32_NR; ++j) acc[i][j] = 0.0f;
  for (int32_t kk = 0; kk < k; ++kk, w += MDL_F32_NR)
    for (i = 0; i < 6; ++i) {
      const float x = rows[i][kk];
      for (j = 0; j < MDL_F32_NR; ++j) acc[i][j] += x * w[j];
    }
#endif
  for (int32_t r = 0; r < 6; ++r)
    store_row(acc[r], bias, c + (ptrdiff_t)r * ldc, nr, lo, hi);
}

MDL_MULTIVERSION
void mdl_f32_gemm_4x8(int32_t mr, int32_t nr, int32_t k, const float* a, int32_t lda,
                      const float* w, const float* bias, float* c, int32_t ldc,
                      float lo, float hi) {
  const float* MDL_RESTRICT a0 = a;
  const float* MDL_RESTRICT a1 = mr > 1 ? a0 + lda : a0;
  const float* MDL_RESTRICT a2 = mr > 2 ? a1 + lda : a1;
  const float* MDL_RESTRICT a3 = mr > 3 ? a2 + lda : a2;
  float acc[MDL_F32_MR][MDL_F32_NR];
#if MDL_F32_VECTORS
  mdl_f32x8 c0 = F32X8_BCAST(0.0f), c1 = c0, c2 = c0, c3 = c0;
  for (int32_t kk = 0; kk < k; ++kk, w += MDL_F32_NR) {
    mdl_f32x8 w0;
    F32X8_LOAD(w0, w);
    c0 += F32X8_BCAST(a0[kk]) * w0;
    c1 += F32X8_BCAST(a1[kk]) * w0;
    c2 += F32X8_BCAST(a2[kk]) * w0;
    c3 += F32X8_BCAST(a3[kk]) * w0;
  }
  F32X8_STORE(acc[0], c0); F32X8_STORE(acc[1], c1);
  F32X8_STORE(acc[2], c2); F32X8_STORE(acc[3], c3);
#else
  int32_t j;
  for (j = 0; j < 8; ++j) acc[0][j] = acc[1][j] = acc[2][j] = acc[3][j] = 0.0f;
  for (int32_t kk = 0; kk < k; ++kk, w += MDL_F32_NR) {
    const float x0 = a0[kk], x1 = a1[kk], x2 = a2[kk], x3 = a3[kk];
    for (j = 0; j < 8; ++j) acc[0][j] += x0 * w[j];
    for (j = 0; j < 8; ++j) acc[1][j] += x1 * w[j];
    for (j = 0; j < 8; ++j) acc[2][j] += x2 * w[j];
    for (j = 0; j < 8; ++j) acc[3][j] += x3 * w[j];
  }
#endif
  for (int32_t i = 0; i < mr; ++i) {
    float* row = c + (ptrdiff_t)i * ldc;
    for (int32_t j2 = 0; j2 < nr; ++j2) row[j2] = clamp_f32(acc[i][j2] + bias[j2], lo, hi);
  }
}

MDL_MULTIVERSION
void mdl_f32_gemm_1x64(int32_t k, const float* a, const float* w, int32_t wstride,
                       const float* bias, float* c, float lo, float hi) {
  float acc[4][MDL_F32_NR];
  const float* MDL_RESTRICT w0p = w;
  const float* MDL_RESTRICT w1p = w + wstride;
  const float* MDL_RESTRICT w2p = w + 2 * (ptrdiff_t)wstride;
  const float* MDL_RESTRICT w3p = w + 3 * (ptrdiff_t)wstride;
#if MDL_F32_VECTORS
  mdl_f32x8 c0 = F32X8_BCAST(0.0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0,
            c6 = c0, c7 = c0;
  for (int32_t kk = 0; kk < k; ++kk) {
    const mdl_f32x8 x = F32X8_BCAST(a[kk]);
    mdl_f32x8 v0, v1, v2, v3, v4, v5, v6, v7;
    F32X8_LOAD(v0, w0p); F32X8_LOAD(v1, w0p + 8); w0p += MDL_F32_NR;
    F32X8_LOAD(v2, w1p); F32X8_LOAD(v3, w1p + 8); w1p += MDL_F32_NR;
    F32X8_LOAD(v4, w2p); F32X8_LOAD(v5, w2p + 8); w2p += MDL_F32_NR;
    F32X8_LOAD(v6, w3p); F32X8_LOAD(v7, w3p + 8); w3p += MDL_F32_NR;
    c0 += x * v0; c1 += x * v1; c2 += x * v2; c3 += x * v3;
    c4 += x * v4; c5 += x * v5; c6 += x * v6; c7 += x * v7;
  }
  F32X8_STORE(acc[0], c0); F32X8_STORE(acc[0] + 8, c1);
  F32X8_STORE(acc[1], c2); F32X8_STORE(acc[1] + 8, c3);
  F32X8_STORE(acc[2], c4); F32X8_STORE(acc[2] + 8, c5);
  F32X8_STORE(acc[3], c6); F32X8_STORE(acc[3] + 8, c7);
#else
  int32_t j;
  for (j = 0; j < MDL_F32_NR; ++j) acc[0][j] = acc[1][j] = acc[2][j] = acc[3][j] = 0.0f;
  for (int32_t kk = 0; kk < k; ++kk) {
    const float x = a[kk];
    for (j = 0; j < MDL_F32_NR; ++j) acc[0][j] += x * w0p[j];
    for (j = 0; j < MDL_F32_NR; ++j) acc[1][j] += x * w1p[j];
    for (j = 0; j < MDL_F32_NR; ++j) acc[2][j] += x * w2p[j];
    for (j = 0; j < MDL_F32_NR; ++j) acc[3][j] += x * w3p[j];
    w0p += MDL_F32_NR; w1p += MDL_F32_NR; w2p += MDL_F32_NR; w3p += MDL_F32_NR;
  }
#endif
  for (int32_t b = 0; b < 4; ++b)
    store_row(acc[b], bias + b * MDL_F32_NR, c + b * MDL_F32_NR, MDL_F32_NR, lo, hi);
}

/* out[m0 .. m0 + rows) = A rows (lda apart) x packed weights, all output blocks. */
static void gemm_rows(int32_t rows, int32_t k, const float* a, int32_t lda,
                      const float* weights, const float* bias, int32_t n, float* out,
                      float lo, float hi) {
  const int32_t blocks = (n + MDL_F32_NR - 1) / MDL_F32_NR;
  const ptrdiff_t wstride = (ptrdiff_t)k * MDL_F32_NR;
  for (int32_t i = 0; i < rows;) {
    const int32_t left = rows - i;
    const int32_t mr = left >= 6 ? 6 : (left < MDL_F32_MR ? left : MDL_F32_MR);
    const float* ai = a + (ptrdiff_t)i * lda;
    float* oi = out + (ptrdiff_t)i * n;
    int32_t b = 0;
    if (mr == 1) { /* one row: four blocks at a time, eight sums in flight */
      for (; (b + 4) * MDL_F32_NR <= n; b += 4)
        mdl_f32_gemm_1x64(k, ai, weights + b * wstride, (int32_t)wstride,
                          bias + b * MDL_F32_NR, oi + b * MDL_F32_NR, lo, hi);
    }
    for (; b < blocks; ++b) {
      const int32_t nr = n - b * MDL_F32_NR < MDL_F32_NR ? n - b * MDL_F32_NR : MDL_F32_NR;
      const float* wb = weights + b * wstride;
      const float* bb = bias + b * MDL_F32_NR;
      float* ob = oi + b * MDL_F32_NR;
      if (nr <= 8) {
        mdl_f32_gemm_4x8(mr < 4 ? mr : 4, nr, k, ai, lda, wb, bb, ob, n, lo, hi);
        if (mr > 4)
          mdl_f32_gemm_4x8(mr - 4, nr, k, ai + 4 * (ptrdiff_t)lda, lda, wb, bb,
                           ob + 4 * (ptrdiff_t)n, n, lo, hi);
      } else if (mr == 6) {
        mdl_f32_gemm_6x16(k, ai, lda, wb, bb, ob, n, nr, lo, hi);
      } else {
        mdl_f32_gemm_4x16(mr, nr, k, ai, lda, wb, bb, ob, n, lo, hi);
      }
    }
    i += mr;
  }
}

int32_t mdl_conv_f32_get_buffer_size(const mdl_conv_f32_params* p) {
  if (p->direct) return 0;
  return p->block_pixels * p->filter_h * p->filter_w * p->input_c * (int32_t)sizeof(float);
}

/* One patch (filter_h * filter_w * input_c floats, OHWI tap order) of output pixel
 * (oy, ox) of image `in` (one batch). */
static void im2col_pixel(const mdl_conv_f32_params* p, const float* in, int32_t oy,
                         int32_t ox, float* patch) {
  const int32_t c = p->input_c;
  const size_t row = (size_t)c * sizeof(float);
  for (int32_t fy = 0; fy < p->filter_h; ++fy) {
    const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
    if (iy < 0 || iy >= p->input_h) {
      memset(patch, 0, row * (size_t)p->filter_w);
      patch += (ptrdiff_t)c * p->filter_w;
      continue;
    }
    const float* in_row = in + (ptrdiff_t)iy * p->input_w * c;
    for (int32_t fx = 0; fx < p->filter_w; ++fx, patch += c) {
      const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dilation_w;
      if (ix < 0 || ix >= p->input_w) {
        memset(patch, 0, row);
      } else if (c <= 4) { /* a few channels (first layers): no call */
        const float* src = in_row + (ptrdiff_t)ix * c;
        patch[0] = src[0];
        if (c > 1) patch[1] = src[1];
        if (c > 2) patch[2] = src[2];
        if (c > 3) patch[3] = src[3];
      } else {
        memcpy(patch, in_row + (ptrdiff_t)ix * c, row);
      }
    }
  }
}

mdl_status mdl_conv_f32(const mdl_conv_f32_params* p, const float* input,
                        const float* weights, const float* bias, const float* clamp,
                        float* output, float* scratch) {
  if (p->filter_c != p->input_c || p->block_pixels < 1) return MDL_ERR_BAD_PARAM;
  const float lo = clamp[0], hi = clamp[1];
  const int32_t k = p->filter_h * p->filter_w * p->input_c;
  const int32_t n = p->output_c;
  const int32_t pixels = p->output_h * p->output_w;
  if (p->direct) { /* 1x1, stride 1, no padding: input pixels are the patches */
    const int32_t m = p->batches * pixels;
    gemm_rows(m, k, input, p->input_c, weights, bias, n, output, lo, hi);
    return MDL_OK;
  }
  for (int32_t b = 0; b < p->batches; ++b) {
    const float* in = input + (ptrdiff_t)b * p->input_h * p->input_w * p->input_c;
    float* out = output + (ptrdiff_t)b * pixels * n;
    for (int32_t m0 = 0; m0 < pixels; m0 += p->block_pixels) {
      const int32_t rows =
          pixels - m0 < p->block_pixels ? pixels - m0 : p->block_pixels;
      for (int32_t r = 0; r < rows; ++r) {
        const int32_t px = m0 + r;
        im2col_pixel(p, in, px / p->output_w, px % p->output_w,
                     scratch + (ptrdiff_t)r * k);
      }
      gemm_rows(rows, k, scratch, k, weights, bias, n, out + (ptrdiff_t)m0 * n, lo, hi);
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_conv_f32(const mdl_node* node) {
  return mdl_conv_f32((const mdl_conv_f32_params*)node->params,
                      (const float*)node->in[0], (const float*)node->in[1],
                      (const float*)node->in[2], (const float*)node->in[3],
                      (float*)node->out, (float*)node->scratch);
}

mdl_status mdl_fully_connected_f32(const mdl_fully_connected_f32_params* p,
                                   const float* input, const float* weights,
                                   const float* bias, const float* clamp, float* output) {
  gemm_rows(p->batches, p->accum_depth, input, p->accum_depth, weights, bias,
            p->output_depth, output, clamp[0], clamp[1]);
  return MDL_OK;
}

mdl_status mdl_node_fully_connected_f32(const mdl_node* node) {
  return mdl_fully_connected_f32((const mdl_fully_connected_f32_params*)node->params,
                                 (const float*)node->in[0], (const float*)node->in[1],
                                 (const float*)node->in[2], (const float*)node->in[3],
                                 (float*)node->out);
}

/* ---- TRANSPOSE_CONV ---------------------------------------------------------------- */

MDL_MULTIVERSION
static void axpy_f32(float* MDL_RESTRICT y, const float* MDL_RESTRICT w, float x,
                     int32_t n) {
  for (int32_t j = 0; j < n; ++j) y[j] += x * w[j];
}

mdl_status mdl_transpose_conv_f32(const mdl_transpose_conv_f32_params* p,
                                  const float* input, const float* filter,
                                  const float* bias, const float* clamp,
                                  const int32_t* output_shape, float* output) {
  if (output_shape &&
      (output_shape[0] != p->batches || output_shape[1] != p->output_h ||
       output_shape[2] != p->output_w || output_shape[3] != p->output_c))
    return MDL_ERR_BAD_PARAM;
  const int32_t ic = p->input_c, oc = p->output_c;
  const ptrdiff_t out_elems = (ptrdiff_t)p->batches * p->output_h * p->output_w * oc;
  memset(output, 0, (size_t)out_elems * sizeof(float));
  for (int32_t b = 0; b < p->batches; ++b) {
    float* out_b = output + (ptrdiff_t)b * p->output_h * p->output_w * oc;
    for (int32_t iy = 0; iy < p->input_h; ++iy)
      for (int32_t ix = 0; ix < p->input_w; ++ix) {
        const float* x = input + (((ptrdiff_t)b * p->input_h + iy) * p->input_w + ix) * ic;
        const int32_t oy0 = iy * p->stride_h - p->pad_h;
        const int32_t ox0 = ix * p->stride_w - p->pad_w;
        for (int32_t c = 0; c < ic; ++c)
          for (int32_t fy = 0; fy < p->filter_h; ++fy) {
            const int32_t oy = oy0 + fy;
            if (oy < 0 || oy >= p->output_h) continue;
            for (int32_t fx = 0; fx < p->filter_w; ++fx) {
              const int32_t ox = ox0 + fx;
              if (ox < 0 || ox >= p->output_w) continue;
              axpy_f32(out_b + ((ptrdiff_t)oy * p->output_w + ox) * oc,
                       filter + (((ptrdiff_t)fy * p->filter_w + fx) * ic + c) * oc, x[c], oc);
            }
          }
      }
  }
  const float lo = clamp[0], hi = clamp[1];
  for (ptrdiff_t i = 0; i < out_elems; i += oc)
    for (int32_t j = 0; j < oc; ++j)
      output[i + j] = clamp_f32(output[i + j] + (bias ? bias[j] : 0.0f), lo, hi);
  return MDL_OK;
}

mdl_status mdl_node_transpose_conv_f32(const mdl_node* node) {
  return mdl_transpose_conv_f32((const mdl_transpose_conv_f32_params*)node->params,
                                (const float*)node->in[0], (const float*)node->in[1],
                                (const float*)node->in[2], (const float*)node->in[3],
                                (const int32_t*)node->in[4], (float*)node->out);
}
