/* CONV_2D int8: plain reference form (TFLite reference_integer_ops::ConvPerChannel,
 * grouped convolution included). */
#include "mdl_conv.h"

mdl_status mdl_conv_s8(const mdl_conv_s8_params* p, const int32_t* multiplier,
                       const int32_t* shift, const int8_t* input, const int8_t* filter,
                       const int32_t* bias, int8_t* output) {
  const int32_t groups = p->input_c / p->filter_c;
  const int32_t per_group = p->output_c / groups;
  const size_t filter_stride = (size_t)p->filter_h * p->filter_w * p->filter_c;
  int8_t* out = output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (size_t)b * p->input_h * p->input_w * p->input_c;
    for (int32_t y = 0; y < p->output_h; ++y) {
      const int32_t y0 = y * p->stride_h - p->pad_h;
      for (int32_t x = 0; x < p->output_w; ++x) {
        const int32_t x0 = x * p->stride_w - p->pad_w;
        for (int32_t o = 0; o < p->output_c; ++o) {
          const int32_t c0 = (o / per_group) * p->filter_c;
          const int8_t* w_o = filter + (size_t)o * filter_stride;
          uint32_t acc = 0; /* int32 accumulator; unsigned so overflow wraps */
          for (int32_t fy = 0; fy < p->filter_h; ++fy) {
            const int32_t iy = y0 + fy * p->dilation_h;
            if (iy < 0 || iy >= p->input_h) continue;
            for (int32_t fx = 0; fx < p->filter_w; ++fx) {
              const int32_t ix = x0 + fx * p->dilation_w;
              if (ix < 0 || ix >= p->input_w) continue;
              const int8_t* in = image + ((size_t)iy * p->input_w + ix) * p->input_c + c0;
              const int8_t* w = w_o + ((size_t)fy * p->filter_w + fx) * p->filter_c;
              for (int32_t c = 0; c < p->filter_c; ++c) {
                acc += (uint32_t)(((int32_t)in[c] + p->input_offset) * (int32_t)w[c]);
              }
            }
          }
          if (bias) acc += (uint32_t)bias[o];
          int32_t v = mdl_requantize_r((int32_t)acc, multiplier[o], shift[o], p->rounding);
          v = mdl_add_wrap(v, p->output_offset);
          *out++ = (int8_t)mdl_clamp(v, p->act_min, p->act_max);
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_conv_s8(const mdl_node* n) {
  return mdl_conv_s8((const mdl_conv_s8_params*)n->params, (const int32_t*)n->in[3],
                     (const int32_t*)n->in[4], (const int8_t*)n->in[0],
                     (const int8_t*)n->in[1], (const int32_t*)n->in[2], (int8_t*)n->out);
}
