/* float32 CONV_2D and FULLY_CONNECTED: im2col (CONV_2D) and a 4x16 GEMM tile over
 * weights packed in blocks of 16 output channels (mdl_float.h).  Each output element is
 * summed over k in ascending order from 0.0f and the bias added last, as LiteRT's
 * reference_ops::Conv / FullyConnected do; the compiler vectorizes across the 16
 * output-channel lanes. */
#include <string.h>

#include "mdl_float.h"

/* std::min(std::max(x, lo), hi). */
static inline float clamp_f32(float x, float lo, float hi) {
  const float v = (x < lo) ? lo : x;
  return (hi < v) ? hi : v;
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
  float acc0[MDL_F32_NR], acc1[MDL_F32_NR], acc2[MDL_F32_NR], acc3[MDL_F32_NR];
  int32_t j;
  for (j = 0; j < MDL_F32_NR; ++j) acc0[j] = acc1[j] = acc2[j] = acc3[j] = 0.0f;
  const float* MDL_RESTRICT wk = w;
  for (int32_t kk = 0; kk < k; ++kk, wk += MDL_F32_NR) {
    const float x0 = a0[kk], x1 = a1[kk], x2 = a2[kk], x3 = a3[kk];
    for (j = 0; j < MDL_F32_NR; ++j) {
      acc0[j] += x0 * wk[j];
      acc1[j] += x1 * wk[j];
      acc2[j] += x2 * wk[j];
      acc3[j] += x3 * wk[j];
    }
  }
  float* rows[MDL_F32_MR] = {c, c + ldc, c + 2 * (ptrdiff_t)ldc, c + 3 * (ptrdiff_t)ldc};
  const float* accs[MDL_F32_MR] = {acc0, acc1, acc2, acc3};
  for (int32_t i = 0; i < mr; ++i) {
    float tmp[MDL_F32_NR];
    for (j = 0; j < MDL_F32_NR; ++j) tmp[j] = clamp_f32(accs[i][j] + bias[j], lo, hi);
    if (nr == MDL_F32_NR) {
      memcpy(rows[i], tmp, sizeof(tmp));
    } else {
      memcpy(rows[i], tmp, (size_t)nr * sizeof(float));
    }
  }
}

/* out[m0 .. m0 + rows) = A rows (lda apart) x packed weights, all output blocks. */
static void gemm_rows(int32_t rows, int32_t k, const float* a, int32_t lda,
                      const float* weights, const float* bias, int32_t n, float* out,
                      float lo, float hi) {
  const int32_t blocks = (n + MDL_F32_NR - 1) / MDL_F32_NR;
  for (int32_t i = 0; i < rows; i += MDL_F32_MR) {
    const int32_t mr = rows - i < MDL_F32_MR ? rows - i : MDL_F32_MR;
    const float* ai = a + (ptrdiff_t)i * lda;
    float* oi = out + (ptrdiff_t)i * n;
    for (int32_t b = 0; b < blocks; ++b) {
      const int32_t nr = n - b * MDL_F32_NR < MDL_F32_NR ? n - b * MDL_F32_NR : MDL_F32_NR;
      mdl_f32_gemm_4x16(mr, nr, k, ai, lda, weights + (ptrdiff_t)b * k * MDL_F32_NR,
                        bias + b * MDL_F32_NR, oi + b * MDL_F32_NR, n, lo, hi);
    }
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
