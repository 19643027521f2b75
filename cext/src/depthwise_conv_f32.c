/* float32 DEPTHWISE_CONV_2D (any depth multiplier), LiteRT reference_ops::DepthwiseConv
 * (depthwiseconv_float.h) arithmetic: per output channel, the in-bounds taps summed in
 * row-then-column order from 0.0f, the bias added last, then the clamp.  Vectorized
 * across blocks of 16 output channels whose sums stay in registers over the taps. */
#include "mdl_float.h"

#define DW_LANES 16

static inline float clamp_f32(float x, float lo, float hi) {
  const float v = (x < lo) ? lo : x;
  return (hi < v) ? hi : v;
}

/* One output pixel, multiplier 1, 16 channels: x and w point at the block's first
 * channel of input pixel 0 and filter tap 0; tap t reads x + xoff[t], w + woff[t]. */
MDL_MULTIVERSION
static void dw_block16(const float* x, const float* w, const int32_t* xoff,
                       const int32_t* woff, int32_t ntaps, const float* bias, float* out,
                       float lo, float hi) {
  float acc[DW_LANES];
  int32_t j;
  for (j = 0; j < DW_LANES; ++j) acc[j] = 0.0f;
  for (int32_t t = 0; t < ntaps; ++t) {
    const float* MDL_RESTRICT xt = x + xoff[t];
    const float* MDL_RESTRICT wt = w + woff[t];
    for (j = 0; j < DW_LANES; ++j) acc[j] += xt[j] * wt[j];
  }
  if (bias) {
    for (j = 0; j < DW_LANES; ++j) out[j] = clamp_f32(acc[j] + bias[j], lo, hi);
  } else {
    for (j = 0; j < DW_LANES; ++j) out[j] = clamp_f32(acc[j] + 0.0f, lo, hi);
  }
}

mdl_status mdl_depthwise_conv_f32(const mdl_depthwise_conv_f32_params* p,
                                  const float* input, const float* filter,
                                  const float* bias, const float* clamp, float* output) {
  const int32_t ic = p->input_c, dm = p->depth_multiplier, oc = ic * dm;
  if (dm < 1 || p->filter_h < 1 || p->filter_w < 1 ||
      p->filter_h * p->filter_w > MDL_DEPTHWISE_F32_MAX_TAPS)
    return MDL_ERR_BAD_PARAM;
  const float lo = clamp[0], hi = clamp[1];
  int32_t xoff[MDL_DEPTHWISE_F32_MAX_TAPS], woff[MDL_DEPTHWISE_F32_MAX_TAPS];
  for (int32_t b = 0; b < p->batches; ++b) {
    const float* in = input + (ptrdiff_t)b * p->input_h * p->input_w * ic;
    for (int32_t oy = 0; oy < p->output_h; ++oy) {
      for (int32_t ox = 0; ox < p->output_w; ++ox) {
        float* out = output + (((ptrdiff_t)b * p->output_h + oy) * p->output_w + ox) * oc;
        /* The in-bounds taps of this pixel, row then column. */
        int32_t ntaps = 0;
        for (int32_t fy = 0; fy < p->filter_h; ++fy) {
          const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
          if (iy < 0 || iy >= p->input_h) continue;
          for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dilation_w;
            if (ix < 0 || ix >= p->input_w) continue;
            xoff[ntaps] = (iy * p->input_w + ix) * ic;
            woff[ntaps] = (fy * p->filter_w + fx) * oc;
            ++ntaps;
          }
        }
        int32_t o = 0;
        if (dm == 1) {
          for (; o + DW_LANES <= oc; o += DW_LANES)
            dw_block16(in + o, filter + o, xoff, woff, ntaps, bias ? bias + o : NULL,
                       out + o, lo, hi);
        }
        for (; o < oc; ++o) { /* remaining channels, any multiplier */
          const int32_t c = o / dm;
          float acc = 0.0f;
          for (int32_t t = 0; t < ntaps; ++t) acc += in[xoff[t] + c] * filter[woff[t] + o];
          out[o] = clamp_f32(acc + (bias ? bias[o] : 0.0f), lo, hi);
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_depthwise_conv_f32(const mdl_node* node) {
  return mdl_depthwise_conv_f32((const mdl_depthwise_conv_f32_params*)node->params,
                                (const float*)node->in[0], (const float*)node->in[1],
                                (const float*)node->in[2], (const float*)node->in[3],
                                (float*)node->out);
}
