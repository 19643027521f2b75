/* CONV_2D, hybrid: float32 input, int8 OHWI weights (mdl_hybrid.h).
 *
 * Per batch image the input is quantized once; each output pixel then gathers its
 * patch as int16 (q - zero_point, 0 for taps outside the image: LiteRT skips them,
 * i.e. they stand for real 0.0), and every output channel of the patch's group is one
 * int16 x int8 dot product.  The integer sums equal LiteRT's; the float epilogue is
 * the one of its reference kernel (see mdl_conv_hybrid in mdl_hybrid.h). */
#include "mdl_hybrid.h"

/* int16 patch x int8 filter row, products of int16 operands summed in int32 (the
 * widening multiply-add pattern compilers vectorize: pmaddwd / SMLAL). */
MDL_INLINE int32_t dot_s16_s8(const int16_t* MDL_RESTRICT x,
                                           const int8_t* MDL_RESTRICT w, int32_t n) {
  int32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += x[i] * (int16_t)w[i];
  return acc;
}

/* Four filter rows (stride n) against one patch: each patch entry loaded once. */
MDL_INLINE void dot4_s16_s8(const int16_t* MDL_RESTRICT x,
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

MDL_INLINE float epilogue(const mdl_conv_hybrid_params* p, int32_t acc, int32_t o,
                      const float* filter_scale, float in_scale, float tensor_scale,
                      const float* bias, float lo, float hi) {
  float v;
  if (p->per_channel) {
    v = ((float)acc * filter_scale[o]) * in_scale;
  } else {
    v = (float)acc * tensor_scale;
  }
  if (bias) v += bias[o];
  v = v < lo ? lo : v; /* ActivationFunctionWithMinMax */
  return hi < v ? hi : v;
}

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

/* The whole kernel, compiled per ISA level (helpers inline into it). */
MDL_MULTIVERSION static mdl_status conv_hybrid_impl(const mdl_conv_hybrid_params* p, const float* input,
                           const int8_t* filter, const float* bias,
                           const float* filter_scale, const float* clamp, float* output,
                           void* scratch) {
  if (p->filter_c <= 0 || p->input_c % p->filter_c || p->output_c <= 0)
    return MDL_ERR_BAD_PARAM;
  const int32_t groups = p->input_c / p->filter_c;
  if (p->output_c % groups) return MDL_ERR_BAD_PARAM;
  const int32_t per_group = p->output_c / groups;
  const size_t image = (size_t)p->input_h * p->input_w * p->input_c;
  const int32_t patch_len = p->filter_h * p->filter_w * p->filter_c;
  int8_t* q = (int8_t*)scratch;
  int16_t* patch = (int16_t*)((char*)scratch + align_up(image, 2));
  const float lo = clamp[0], hi = clamp[1];
  for (int32_t b = 0; b < p->batches; ++b) {
    const float* in_b = input + (size_t)b * image;
    float in_scale;
    int32_t zp = 0;
    if (p->per_channel) {
      mdl_hybrid_quantize_asymmetric(in_b, (int32_t)image, q, &in_scale, &zp);
    } else {
      mdl_hybrid_quantize_symmetric(in_b, (int32_t)image, q, &in_scale);
    }
    const float tensor_scale = in_scale * filter_scale[0];
    for (int32_t oy = 0; oy < p->output_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->output_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        float* out = output + (((size_t)b * p->output_h + oy) * p->output_w + ox) *
                                  p->output_c;
        for (int32_t g = 0; g < groups; ++g) {
          int16_t* pp = patch;
          for (int32_t ky = 0; ky < p->filter_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dilation_h;
            for (int32_t kx = 0; kx < p->filter_w; ++kx) {
              const int32_t ix = ix0 + kx * p->dilation_w;
              if (iy < 0 || iy >= p->input_h || ix < 0 || ix >= p->input_w) {
                for (int32_t c = 0; c < p->filter_c; ++c) pp[c] = 0;
              } else {
                const int8_t* src = q + ((size_t)iy * p->input_w + ix) * p->input_c +
                                    (size_t)g * p->filter_c;
                for (int32_t c = 0; c < p->filter_c; ++c)
                  pp[c] = (int16_t)(src[c] - zp);
              }
              pp += p->filter_c;
            }
          }
          int32_t k = 0;
          int32_t acc4[4];
          for (; k + 4 <= per_group; k += 4) {
            const int32_t o = g * per_group + k;
            dot4_s16_s8(patch, filter + (size_t)o * patch_len, patch_len, acc4);
            for (int j = 0; j < 4; ++j)
              out[o + j] = epilogue(p, acc4[j], o + j, filter_scale, in_scale,
                                    tensor_scale, bias, lo, hi);
          }
          for (; k < per_group; ++k) {
            const int32_t o = g * per_group + k;
            const int32_t acc = dot_s16_s8(patch, filter + (size_t)o * patch_len,
                                           patch_len);
            out[o] = epilogue(p, acc, o, filter_scale, in_scale, tensor_scale, bias, lo,
                              hi);
          }
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_conv_hybrid(const mdl_conv_hybrid_params* p, const float* input,
                           const int8_t* filter, const float* bias,
                           const float* filter_scale, const float* clamp, float* output,
                           void* scratch) {
  return conv_hybrid_impl(p, input, filter, bias, filter_scale, clamp, output, scratch);
}

mdl_status mdl_node_conv_hybrid(const mdl_node* n) {
  return mdl_conv_hybrid((const mdl_conv_hybrid_params*)n->params, (const float*)n->in[0],
                         (const int8_t*)n->in[1], (const float*)n->in[2],
                         (const float*)n->in[3], (const float*)n->in[4], (float*)n->out,
                         n->scratch);
}
