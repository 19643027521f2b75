/* DEPTHWISE_CONV_2D, hybrid: float32 input, int8 1HWO weights (mdl_hybrid.h).
 * Per batch image the input is quantized asymmetrically once; each output pixel
 * accumulates its taps inside the image over all output channels at once (int32
 * sums in scratch, a loop over channels that vectorizes), then scales back to float
 * as LiteRT's reference kernel: (float)acc * (filter_scale[o] * input_scale) + bias. */
#include "mdl_hybrid.h"

/* acc[c * dm + m] += (x[c] - zp) * w[c * dm + m] for one tap. */
MDL_INLINE void tap_accumulate(int32_t* MDL_RESTRICT acc,
                                            const int8_t* MDL_RESTRICT x,
                                            const int8_t* MDL_RESTRICT w, int32_t zp,
                                            int32_t channels, int32_t dm) {
  if (dm == 1) {
    for (int32_t c = 0; c < channels; ++c) acc[c] += ((int32_t)x[c] - zp) * (int32_t)w[c];
    return;
  }
  for (int32_t c = 0; c < channels; ++c) {
    const int32_t xv = (int32_t)x[c] - zp;
    for (int32_t m = 0; m < dm; ++m) acc[c * dm + m] += xv * (int32_t)w[c * dm + m];
  }
}

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

/* The whole kernel, compiled per ISA level (helpers inline into it). */
MDL_MULTIVERSION static mdl_status depthwise_conv_hybrid_impl(const mdl_depthwise_conv_hybrid_params* p,
                                     const float* input, const int8_t* filter,
                                     const float* bias, const float* filter_scale,
                                     const float* clamp, float* output, void* scratch) {
  if (p->depth_multiplier <= 0 || p->input_c <= 0) return MDL_ERR_BAD_PARAM;
  const int32_t out_c = p->input_c * p->depth_multiplier;
  const size_t image = (size_t)p->input_h * p->input_w * p->input_c;
  int8_t* q = (int8_t*)scratch;
  int32_t* acc = (int32_t*)((char*)scratch + align_up(image, 4));
  const float lo = clamp[0], hi = clamp[1];
  for (int32_t b = 0; b < p->batches; ++b) {
    float in_scale;
    int32_t zp;
    mdl_hybrid_quantize_asymmetric(input + (size_t)b * image, (int32_t)image, q,
                                   &in_scale, &zp);
    for (int32_t oy = 0; oy < p->output_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      for (int32_t ox = 0; ox < p->output_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        for (int32_t o = 0; o < out_c; ++o) acc[o] = 0;
        for (int32_t ky = 0; ky < p->filter_h; ++ky) {
          const int32_t iy = iy0 + ky * p->dilation_h;
          if (iy < 0 || iy >= p->input_h) continue;
          for (int32_t kx = 0; kx < p->filter_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            if (ix < 0 || ix >= p->input_w) continue;
            tap_accumulate(acc, q + ((size_t)iy * p->input_w + ix) * p->input_c,
                           filter + ((size_t)ky * p->filter_w + kx) * out_c, zp,
                           p->input_c, p->depth_multiplier);
          }
        }
        float* out = output + (((size_t)b * p->output_h + oy) * p->output_w + ox) * out_c;
        for (int32_t o = 0; o < out_c; ++o) {
          float v = (float)acc[o];
          v *= filter_scale[o] * in_scale;
          if (bias) v += bias[o];
          v = v < lo ? lo : v;
          out[o] = hi < v ? hi : v;
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_depthwise_conv_hybrid(const mdl_depthwise_conv_hybrid_params* p,
                                     const float* input, const int8_t* filter,
                                     const float* bias, const float* filter_scale,
                                     const float* clamp, float* output, void* scratch) {
  return depthwise_conv_hybrid_impl(p, input, filter, bias, filter_scale, clamp, output, scratch);
}

mdl_status mdl_node_depthwise_conv_hybrid(const mdl_node* n) {
  return mdl_depthwise_conv_hybrid(
      (const mdl_depthwise_conv_hybrid_params*)n->params, (const float*)n->in[0],
      (const int8_t*)n->in[1], (const float*)n->in[2], (const float*)n->in[3],
      (const float*)n->in[4], (float*)n->out, n->scratch);
}
