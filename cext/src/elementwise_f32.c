/* float32 elementwise ops, SOFTMAX and MEAN with LiteRT's reference formulas
 * (reference/add.h, sub.h, mul.h, div.h, maximum_minimum.h, squared_difference.h,
 * logistic.h, tanh.h, hard_swish.h, leaky_relu.h, softmax.h, reduce.h); see
 * mdl_float.h for each formula. */
#include <float.h>
#include <math.h>

#include "mdl_float.h"

#define clamp_f32 mdl_clamp_f32

/* ---- binary ------------------------------------------------------------------------ */

#define BINARY_LOOP(EXPR)                                                             \
  do {                                                                                \
    if (s1 == 1 && s2 == 1) {                                                         \
      for (int32_t i = 0; i < n; ++i) { const float a = x1[i], b = x2[i]; out[i] = (EXPR); } \
    } else if (s1 == 0 && s2 == 1) {                                                  \
      const float a = x1[0];                                                          \
      for (int32_t i = 0; i < n; ++i) { const float b = x2[i]; out[i] = (EXPR); }     \
    } else if (s1 == 1 && s2 == 0) {                                                  \
      const float b = x2[0];                                                          \
      for (int32_t i = 0; i < n; ++i) { const float a = x1[i]; out[i] = (EXPR); }     \
    } else {                                                                          \
      for (int32_t i = 0; i < n; ++i) {                                               \
        const float a = x1[(ptrdiff_t)i * s1], b = x2[(ptrdiff_t)i * s2];             \
        out[i] = (EXPR);                                                              \
      }                                                                               \
    }                                                                                 \
  } while (0)

/* One innermost row: n outputs, input strides s1 / s2 (elements). */
MDL_MULTIVERSION
static void binary_row(int32_t op, int32_t n, const float* MDL_RESTRICT x1, int32_t s1,
                       const float* MDL_RESTRICT x2, int32_t s2, float* MDL_RESTRICT out) {
  switch (op) {
    case MDL_F32_ADD: BINARY_LOOP(a + b); break;
    case MDL_F32_SUB: BINARY_LOOP(a - b); break;
    case MDL_F32_MUL: BINARY_LOOP(a * b); break;
    case MDL_F32_DIV: BINARY_LOOP(a / b); break;
    case MDL_F32_MAXIMUM: BINARY_LOOP(a > b ? a : b); break;
    case MDL_F32_MINIMUM: BINARY_LOOP(a < b ? a : b); break;
    default: BINARY_LOOP((a - b) * (a - b)); break;
  }
}

MDL_MULTIVERSION
static void clamp_row(float* MDL_RESTRICT x, int32_t n, float lo, float hi) {
  for (int32_t i = 0; i < n; ++i) x[i] = clamp_f32(x[i], lo, hi);
}

mdl_status mdl_binary_f32(const mdl_binary_f32_params* p, const float* input1,
                          const float* input2, const float* clamp, float* output) {
  if (p->op < MDL_F32_ADD || p->op > MDL_F32_SQUARED_DIFFERENCE) return MDL_ERR_BAD_PARAM;
  const int32_t* d = p->dims;
  const int32_t n = d[5];
  float* out = output;
  for (int32_t i0 = 0; i0 < d[0]; ++i0)
    for (int32_t i1 = 0; i1 < d[1]; ++i1)
      for (int32_t i2 = 0; i2 < d[2]; ++i2)
        for (int32_t i3 = 0; i3 < d[3]; ++i3)
          for (int32_t i4 = 0; i4 < d[4]; ++i4) {
            const ptrdiff_t o1 = (ptrdiff_t)i0 * p->in1_strides[0] +
                                 (ptrdiff_t)i1 * p->in1_strides[1] +
                                 (ptrdiff_t)i2 * p->in1_strides[2] +
                                 (ptrdiff_t)i3 * p->in1_strides[3] +
                                 (ptrdiff_t)i4 * p->in1_strides[4];
            const ptrdiff_t o2 = (ptrdiff_t)i0 * p->in2_strides[0] +
                                 (ptrdiff_t)i1 * p->in2_strides[1] +
                                 (ptrdiff_t)i2 * p->in2_strides[2] +
                                 (ptrdiff_t)i3 * p->in2_strides[3] +
                                 (ptrdiff_t)i4 * p->in2_strides[4];
            binary_row(p->op, n, input1 + o1, p->in1_strides[5], input2 + o2,
                       p->in2_strides[5], out);
            if (clamp) clamp_row(out, n, clamp[0], clamp[1]);
            out += n;
          }
  return MDL_OK;
}

mdl_status mdl_node_binary_f32(const mdl_node* node) {
  return mdl_binary_f32((const mdl_binary_f32_params*)node->params,
                        (const float*)node->in[0], (const float*)node->in[1],
                        (const float*)node->in[2], (float*)node->out);
}

/* ---- unary ------------------------------------------------------------------------- */

#define UNARY_LOOP(EXPR) \
  for (int32_t i = 0; i < n; ++i) { const float x = in[i]; out[i] = (EXPR); }

MDL_MULTIVERSION
static void unary_simple(int32_t op, int32_t n, const float* MDL_RESTRICT in,
                         float alpha, float* MDL_RESTRICT out) {
  switch (op) {
    case MDL_F32_RELU: UNARY_LOOP(x < 0.0f ? 0.0f : x); break;
    case MDL_F32_RELU6: UNARY_LOOP(x > 6.0f ? 6.0f : (x < 0.0f ? 0.0f : x)); break;
    case MDL_F32_RELU_N1_TO_1: UNARY_LOOP(x > 1.0f ? 1.0f : (x < -1.0f ? -1.0f : x)); break;
    case MDL_F32_HARD_SWISH: /* in * std::min(6, std::max(0, in + 3)) / 6 */
      for (int32_t i = 0; i < n; ++i) {
        const float x = in[i], t = x + 3.0f;
        const float lo = (0.0f < t) ? t : 0.0f;
        out[i] = x * ((lo < 6.0f) ? lo : 6.0f) / 6.0f;
      }
      break;
    case MDL_F32_LEAKY_RELU: UNARY_LOOP(x > 0.0f ? x : x * alpha); break;
    case MDL_F32_ABS: UNARY_LOOP(fabsf(x)); break;
    case MDL_F32_NEG: UNARY_LOOP(-x); break;
    case MDL_F32_SQUARE: UNARY_LOOP(x * x); break;
    default: break;
  }
}

mdl_status mdl_unary_f32(const mdl_unary_f32_params* p, const float* in,
                         const float* fparams, float* out) {
  const int32_t n = p->size;
  switch (p->op) {
    case MDL_F32_LOGISTIC:
      for (int32_t i = 0; i < n; ++i) {
        const float x = in[i];
        if (x > 16.619047164916992188f) out[i] = 1.0f;
        else if (x < -9.0f) out[i] = expf(x);
        else out[i] = 1.0f / (1.0f + expf(-x));
      }
      return MDL_OK;
    case MDL_F32_TANH: for (int32_t i = 0; i < n; ++i) out[i] = tanhf(in[i]); return MDL_OK;
    case MDL_F32_EXP: for (int32_t i = 0; i < n; ++i) out[i] = expf(in[i]); return MDL_OK;
    case MDL_F32_SQRT: for (int32_t i = 0; i < n; ++i) out[i] = sqrtf(in[i]); return MDL_OK;
    case MDL_F32_RSQRT:
      for (int32_t i = 0; i < n; ++i) out[i] = 1.0f / sqrtf(in[i]);
      return MDL_OK;
    case MDL_F32_RELU: case MDL_F32_RELU6: case MDL_F32_RELU_N1_TO_1:
    case MDL_F32_HARD_SWISH: case MDL_F32_ABS: case MDL_F32_NEG: case MDL_F32_SQUARE:
      unary_simple(p->op, n, in, 0.0f, out);
      return MDL_OK;
    case MDL_F32_LEAKY_RELU:
      if (!fparams) return MDL_ERR_BAD_PARAM;
      unary_simple(p->op, n, in, fparams[0], out);
      return MDL_OK;
    default:
      return MDL_ERR_BAD_PARAM;
  }
}

mdl_status mdl_node_unary_f32(const mdl_node* node) {
  return mdl_unary_f32((const mdl_unary_f32_params*)node->params,
                       (const float*)node->in[0], (const float*)node->in[1],
                       (float*)node->out);
}

/* ---- SOFTMAX ----------------------------------------------------------------------- */

mdl_status mdl_softmax_f32(const mdl_softmax_f32_params* p, const float* input,
                           const float* fparams, float* output) {
  const int32_t depth = p->depth;
  const float beta = fparams[0];
  if (depth < 1) return MDL_ERR_BAD_PARAM;
  for (int32_t r = 0; r < p->outer_size; ++r) {
    const float* x = input + (ptrdiff_t)r * depth;
    float* y = output + (ptrdiff_t)r * depth;
    float m = -FLT_MAX;
    for (int32_t c = 0; c < depth; ++c) m = (m < x[c]) ? x[c] : m;
    float sum = 0.0f;
    for (int32_t c = 0; c < depth; ++c) {
      const float e = expf((x[c] - m) * beta);
      y[c] = e;
      sum += e;
    }
    for (int32_t c = 0; c < depth; ++c) y[c] = y[c] / sum;
  }
  return MDL_OK;
}

mdl_status mdl_node_softmax_f32(const mdl_node* node) {
  return mdl_softmax_f32((const mdl_softmax_f32_params*)node->params,
                         (const float*)node->in[0], (const float*)node->in[1],
                         (float*)node->out);
}

/* ---- MEAN -------------------------------------------------------------------------- */

mdl_status mdl_mean_f32(const mdl_mean_f32_params* p, const float* input, float* output) {
  const int32_t* d = p->dims;
  const int32_t* s = p->out_strides;
  if (p->count < 1) return MDL_ERR_BAD_PARAM;
  for (int32_t j = 0; j < p->output_size; ++j) output[j] = 0.0f;
  const float* x = input;
  for (int32_t i0 = 0; i0 < d[0]; ++i0)
    for (int32_t i1 = 0; i1 < d[1]; ++i1)
      for (int32_t i2 = 0; i2 < d[2]; ++i2)
        for (int32_t i3 = 0; i3 < d[3]; ++i3)
          for (int32_t i4 = 0; i4 < d[4]; ++i4) {
            float* o = output + (ptrdiff_t)i0 * s[0] + (ptrdiff_t)i1 * s[1] +
                       (ptrdiff_t)i2 * s[2] + (ptrdiff_t)i3 * s[3] + (ptrdiff_t)i4 * s[4];
            if (s[5] == 0) {
              float acc = o[0];
              for (int32_t i5 = 0; i5 < d[5]; ++i5) acc += x[i5];
              o[0] = acc;
            } else {
              for (int32_t i5 = 0; i5 < d[5]; ++i5) o[(ptrdiff_t)i5 * s[5]] += x[i5];
            }
            x += d[5];
          }
  const float count = (float)p->count;
  for (int32_t j = 0; j < p->output_size; ++j) output[j] = output[j] / count;
  return MDL_OK;
}

mdl_status mdl_node_mean_f32(const mdl_node* node) {
  return mdl_mean_f32((const mdl_mean_f32_params*)node->params,
                      (const float*)node->in[0], (float*)node->out);
}
