/* DEPTHWISE_CONV_2D int8: plain reference form (TFLite reference_integer_ops::
 * DepthwiseConvPerChannel). */
#include "mdl_conv.h"

mdl_status mdl_depthwise_conv_s8(const mdl_depthwise_conv_s8_params* p,
                                 const int32_t* multiplier, const int32_t* shift,
                                 const int8_t* input, const int8_t* filter,
                                 const int32_t* bias, int8_t* output) {
  const int32_t output_c = p->input_c * p->depth_multiplier;
  int8_t* out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (size_t)b * p->input_h * p->input_w * p->input_c;
    for (int32_t y = 0; y < p->output_h; ++y) {
      const int32_t y0 = y * p->stride_h - p->pad_h;
      for (int32_t x = 0; x < p->output_w; ++x) {
        const int32_t x0 = x * p->stride_w - p->pad_w;
        for (int32_t o = 0; o < output_c; ++o) {
          const int32_t c = o / p->depth_multiplier;
          uint32_t acc = 0; /* int32 accumulator; unsigned so overflow wraps */
          for (int32_t fy = 0; fy < p->filter_h; ++fy) {
            const int32_t iy = y0 + fy * p->dilation_h;
            if (iy < 0 || iy >= p->input_h) continue;
            for (int32_t fx = 0; fx < p->filter_w; ++fx) {
              const int32_t ix = x0 + fx * p->dilation_w;
              if (ix < 0 || ix >= p->input_w) continue;
              const int32_t v = image[((size_t)iy * p->input_w + ix) * p->input_c + c];
              const int32_t w = filter[((size_t)fy * p->filter_w + fx) * output_c + o];
              acc += (uint32_t)((v + p->input_offset) * w);
            }
          }
          if (bias) acc += (uint32_t)bias[o];
          int32_t r = mdl_requantize_r((int32_t)acc, multiplier[o], shift[o], p->rounding);
          r = mdl_add_wrap(r, p->output_offset);
          *out++ = (int8_t)mdl_clamp(r, p->act_min, p->act_max);
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_depthwise_conv_s8(const mdl_node* n) {
  return mdl_depthwise_conv_s8((const mdl_depthwise_conv_s8_params*)n->params,
                               (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                               (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                               (const int32_t*)n->in[2], (int8_t*)n->out);
}
