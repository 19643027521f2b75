/* TRANSPOSE_CONV 16x8: int16 activations, int8 weights, scatter form over an int64
 * (int64 bias) or int32 (int32 bias) scratch buffer (TFLite
 * reference_integer_ops::TransposeConv, int16 overload). */
#include "mdl_conv.h"

mdl_status mdl_transpose_conv_s16(const mdl_transpose_conv_s16_params* p,
                                  const int32_t* multiplier, const int32_t* shift,
                                  const int16_t* input, const int8_t* filter,
                                  const void* bias, const int32_t* output_shape,
                                  int16_t* output, void* scratch) {
  if (output_shape &&
      (output_shape[0] != p->batches || output_shape[1] != p->output_h ||
       output_shape[2] != p->output_w || output_shape[3] != p->output_c)) {
    return MDL_ERR_BAD_PARAM;
  }
  const size_t plane = (size_t)p->output_h * p->output_w * p->output_c;
  const size_t count = (size_t)p->batches * plane;
  /* Accumulators are unsigned so overflow wraps; acc64 picks their width. */
  uint64_t* acc64 = p->acc64 ? (uint64_t*)scratch : NULL;
  uint32_t* acc32 = p->acc64 ? NULL : (uint32_t*)scratch;
  for (size_t i = 0; i < count; ++i) {
    if (acc64) acc64[i] = 0; else acc32[i] = 0;
  }
  const size_t filter_stride = (size_t)p->filter_h * p->filter_w * p->input_c;
  for (int32_t b = 0; b < p->batches; ++b) {
    for (int32_t iy = 0; iy < p->input_h; ++iy) {
      for (int32_t ix = 0; ix < p->input_w; ++ix) {
        const int16_t* in =
            input + (((size_t)b * p->input_h + iy) * p->input_w + ix) * p->input_c;
        for (int32_t fy = 0; fy < p->filter_h; ++fy) {
          const int32_t oy = iy * p->stride_h - p->pad_h + fy;
          if (oy < 0 || oy >= p->output_h) continue;
          for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ox = ix * p->stride_w - p->pad_w + fx;
            if (ox < 0 || ox >= p->output_w) continue;
            const size_t at = (size_t)b * plane + ((size_t)oy * p->output_w + ox) * p->output_c;
            const int8_t* w_f = filter + ((size_t)fy * p->filter_w + fx) * p->input_c;
            for (int32_t o = 0; o < p->output_c; ++o) {
              const int8_t* w = w_f + (size_t)o * filter_stride;
              uint64_t sum = 0;
              for (int32_t c = 0; c < p->input_c; ++c) {
                sum += (uint64_t)(int64_t)((int32_t)in[c] * (int32_t)w[c]);
              }
              if (acc64) acc64[at + o] += sum; else acc32[at + o] += (uint32_t)sum;
            }
          }
        }
      }
    }
  }
  for (size_t i = 0; i < count; ++i) {
    const int32_t o = (int32_t)(i % (size_t)p->output_c);
    int32_t v;
    if (acc64) {
      uint64_t a = acc64[i];
      if (bias) a += (uint64_t)((const int64_t*)bias)[o];
      v = mdl_requantize64((int64_t)a, multiplier[o], shift[o]);
    } else {
      uint32_t a = acc32[i];
      if (bias) a += (uint32_t)((const int32_t*)bias)[o];
      v = mdl_requantize_r((int32_t)a, multiplier[o], shift[o], p->rounding);
    }
    output[i] = (int16_t)mdl_clamp(v, p->act_min, p->act_max);
  }
  return MDL_OK;
}

mdl_status mdl_node_transpose_conv_s16(const mdl_node* n) {
  return mdl_transpose_conv_s16((const mdl_transpose_conv_s16_params*)n->params,
                                (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                                (const int16_t*)n->in[0], (const int8_t*)n->in[1],
                                n->in[2], (const int32_t*)n->in[5], (int16_t*)n->out,
                                n->scratch);
}
