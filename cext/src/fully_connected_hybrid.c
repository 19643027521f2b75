/* FULLY_CONNECTED, hybrid: float32 input, int8 weights (mdl_hybrid.h).
 * Same arithmetic as LiteRT's EvalHybridDense: output = bias + (float)acc * scale,
 * one float multiply and one float add per output, then the fused activation. */
#include <math.h>

#include "mdl_hybrid.h"

/* sum_i x[i] * w[i] over int8 vectors (int16 products, int32 sums: vectorizes). */
MDL_MULTIVERSION static int32_t dot_s8(const int8_t* MDL_RESTRICT x,
                                       const int8_t* MDL_RESTRICT w, int32_t n) {
  int32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += (int16_t)x[i] * (int16_t)w[i];
  return acc;
}

/* Four filter rows (stride n) against one x. */
MDL_MULTIVERSION static void dot4_s8(const int8_t* MDL_RESTRICT x,
                                     const int8_t* MDL_RESTRICT w, int32_t n,
                                     int32_t acc[4]) {
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

/* LiteRT's ApplyActivationToVector for floats (std::max(0.0f, v) etc.). */
static float activate(float v, int32_t act) {
  switch (act) {
    case MDL_HYBRID_ACT_RELU:
      return 0.0f < v ? v : 0.0f;
    case MDL_HYBRID_ACT_RELU_N1_TO_1: {
      const float m = 1.0f < v ? 1.0f : v; /* std::min(v, 1.0f) */
      return -1.0f < m ? m : -1.0f;
    }
    case MDL_HYBRID_ACT_RELU6: {
      const float m = 6.0f < v ? 6.0f : v;
      return 0.0f < m ? m : 0.0f;
    }
    case MDL_HYBRID_ACT_TANH:
      return tanhf(v);
    case MDL_HYBRID_ACT_SIGN_BIT:
      return signbit(v) ? 1.0f : 0.0f;
    default:
      return v;
  }
}

mdl_status mdl_fully_connected_hybrid(const mdl_fully_connected_hybrid_params* p,
                                      const float* input, const int8_t* filter,
                                      const float* bias, const float* filter_scale,
                                      const int32_t* row_sums, float* output,
                                      int8_t* scratch) {
  const int32_t depth = p->accum_depth, units = p->output_depth;
  if (depth <= 0 || units <= 0 || p->batches < 0 || p->activation < 0 ||
      p->activation > MDL_HYBRID_ACT_SIGN_BIT || (p->asymmetric && !row_sums))
    return MDL_ERR_BAD_PARAM;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float* row = input + (size_t)b * depth;
    float* out = output + (size_t)b * units;
    float in_scale;
    int32_t zp = 0;
    if (p->asymmetric) {
      mdl_hybrid_quantize_asymmetric(row, depth, scratch, &in_scale, &zp);
    } else {
      mdl_hybrid_quantize_symmetric(row, depth, scratch, &in_scale);
    }
    /* per tensor: LiteRT multiplies the row's scale by the filter scale once. */
    const float tensor_scale = in_scale * filter_scale[0];
    int32_t o = 0;
    int32_t acc[4];
    for (; o + 4 <= units; o += 4) {
      dot4_s8(scratch, filter + (size_t)o * depth, depth, acc);
      for (int k = 0; k < 4; ++k) {
        int32_t a = acc[k];
        if (zp) a -= row_sums[o + k] * zp;
        const float s = p->per_channel ? in_scale * filter_scale[o + k] : tensor_scale;
        const float prod = (float)a * s;
        out[o + k] = (bias ? bias[o + k] : 0.0f) + prod;
      }
    }
    for (; o < units; ++o) {
      int32_t a = dot_s8(scratch, filter + (size_t)o * depth, depth);
      if (zp) a -= row_sums[o] * zp;
      const float s = p->per_channel ? in_scale * filter_scale[o] : tensor_scale;
      const float prod = (float)a * s;
      out[o] = (bias ? bias[o] : 0.0f) + prod;
    }
    if (p->activation != MDL_HYBRID_ACT_NONE)
      for (o = 0; o < units; ++o) out[o] = activate(out[o], p->activation);
  }
  return MDL_OK;
}

mdl_status mdl_node_fully_connected_hybrid(const mdl_node* n) {
  return mdl_fully_connected_hybrid(
      (const mdl_fully_connected_hybrid_params*)n->params, (const float*)n->in[0],
      (const int8_t*)n->in[1], (const float*)n->in[2], (const float*)n->in[3],
      (const int32_t*)n->in[4], (float*)n->out, (int8_t*)n->scratch);
}
