/* TRANSPOSE_CONV int8: scatter form over an int32 scratch buffer (TFLite
 * reference_integer_ops::TransposeConv). */
#include "mdl_conv.h"

mdl_status mdl_transpose_conv_s8(const mdl_transpose_conv_s8_params* p,
                                 const int32_t* multiplier, const int32_t* shift,
                                 const int8_t* input, const int8_t* filter,
                                 const int32_t* bias, const int32_t* output_shape,
                                 int8_t* output, int32_t* scratch) {
  if (output_shape &&
      (output_shape[0] != p->batches || output_shape[1] != p->output_h ||
       output_shape[2] != p->output_w || output_shape[3] != p->output_c)) {
    return MDL_ERR_BAD_PARAM;
  }
  const size_t plane = (size_t)p->output_h * p->output_w * p->output_c;
  const size_t count = (size_t)p->batches * plane;
  /* int32 accumulators; kept unsigned so overflow wraps as in TFLite's int32 buffer */
  uint32_t* acc = (uint32_t*)scratch;
  for (size_t i = 0; i < count; ++i) acc[i] = 0;
  const size_t filter_stride = (size_t)p->filter_h * p->filter_w * p->input_c;
  for (int32_t b = 0; b < p->batches; ++b) {
    uint32_t* acc_b = acc + (size_t)b * plane;
    for (int32_t iy = 0; iy < p->input_h; ++iy) {
      for (int32_t ix = 0; ix < p->input_w; ++ix) {
        const int8_t* in =
            input + (((size_t)b * p->input_h + iy) * p->input_w + ix) * p->input_c;
        for (int32_t fy = 0; fy < p->filter_h; ++fy) {
          const int32_t oy = iy * p->stride_h - p->pad_h + fy;
          if (oy < 0 || oy >= p->output_h) continue;
          for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ox = ix * p->stride_w - p->pad_w + fx;
            if (ox < 0 || ox >= p->output_w) continue;
            uint32_t* dst = acc_b + ((size_t)oy * p->output_w + ox) * p->output_c;
            const int8_t* w_f = filter + ((size_t)fy * p->filter_w + fx) * p->input_c;
            for (int32_t o = 0; o < p->output_c; ++o) {
              const int8_t* w = w_f + (size_t)o * filter_stride;
              uint32_t sum = 0;
              for (int32_t c = 0; c < p->input_c; ++c) {
                sum += (uint32_t)(((int32_t)in[c] + p->input_offset) * (int32_t)w[c]);
              }
              dst[o] += sum;
            }
          }
        }
      }
    }
  }
  for (size_t i = 0; i < count; ++i) {
    const int32_t o = (int32_t)(i % (size_t)p->output_c);
    uint32_t a = acc[i];
    if (bias) a += (uint32_t)bias[o];
    int32_t v = mdl_requantize_r((int32_t)a, multiplier[o], shift[o], p->rounding);
    v = mdl_add_wrap(v, p->output_offset);
    output[i] = (int8_t)mdl_clamp(v, p->act_min, p->act_max);
  }
  return MDL_OK;
}

mdl_status mdl_node_transpose_conv_s8(const mdl_node* n) {
  return mdl_transpose_conv_s8((const mdl_transpose_conv_s8_params*)n->params,
                               (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                               (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                               (const int32_t*)n->in[2], (const int32_t*)n->in[5],
                               (int8_t*)n->out, (int32_t*)n->scratch);
}
