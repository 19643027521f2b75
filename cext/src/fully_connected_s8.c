/* FULLY_CONNECTED int8: plain reference form (TFLite reference_integer_ops::FullyConnected). */
#include "mdl_fixedpoint.h"
#include "mdl_fully_connected.h"

mdl_status mdl_fully_connected_s8(const mdl_fully_connected_s8_params* p,
                                  const int32_t* multiplier, const int32_t* shift,
                                  const int8_t* input, const int8_t* filter,
                                  const int32_t* bias, int8_t* output) {
  const int32_t depth = p->accum_depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* row = input + (size_t)b * depth;
    for (int32_t o = 0; o < p->output_depth; ++o) {
      const int8_t* w = filter + (size_t)o * depth;
      int32_t acc = 0;
      for (int32_t i = 0; i < depth; ++i) {
        acc += ((int32_t)row[i] + p->input_offset) * ((int32_t)w[i] + p->filter_offset);
      }
      if (bias) acc += bias[o];
      const int32_t q = p->per_channel ? o : 0;
      acc = mdl_requantize_r(acc, multiplier[q], shift[q], p->rounding) + p->output_offset;
      output[(size_t)b * p->output_depth + o] = (int8_t)mdl_clamp(acc, p->act_min, p->act_max);
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_fully_connected_s8(const mdl_node* n) {
  return mdl_fully_connected_s8((const mdl_fully_connected_s8_params*)n->params,
                                (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                                (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                                (const int32_t*)n->in[2], (int8_t*)n->out);
}
