/* int8 lookup-table activations and int16 LEAKY_RELU / RELU / RELU6
 * (TFLite activations.cc: LUTPopulate + LookupTable, reference_ops::QuantizeLeakyRelu,
 * ReluX). */
#include "mdl_activations.h"
#include "mdl_fixedpoint.h"

mdl_status mdl_lut_s8(const mdl_lut_s8_params* p, const int8_t* table,
                      const int8_t* input, int8_t* output) {
  for (int32_t i = 0; i < p->size; ++i) {
    output[i] = table[(uint8_t)input[i]];
  }
  return MDL_OK;
}

mdl_status mdl_node_lut_s8(const mdl_node* n) {
  return mdl_lut_s8((const mdl_lut_s8_params*)n->params, (const int8_t*)n->in[1],
                    (const int8_t*)n->in[0], (int8_t*)n->out);
}

mdl_status mdl_leaky_relu_s16(const mdl_leaky_relu_s16_params* p, const int16_t* input,
                              int16_t* output) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)input[i] + p->input_offset;
    int32_t y;
    if (x >= 0) {
      y = mdl_requantize_r(x, p->identity_multiplier, p->identity_shift, p->rounding);
    } else {
      y = mdl_requantize_r(x, p->alpha_multiplier, p->alpha_shift, p->rounding);
      if (p->alpha_negative) y = (int32_t)(0u - (uint32_t)y);
    }
    int32_t out = (int32_t)((uint32_t)p->output_offset + (uint32_t)y);
    out = out < p->act_min ? p->act_min : out;
    out = out > p->act_max ? p->act_max : out;
    output[i] = (int16_t)out;
  }
  return MDL_OK;
}

mdl_status mdl_node_leaky_relu_s16(const mdl_node* n) {
  return mdl_leaky_relu_s16((const mdl_leaky_relu_s16_params*)n->params,
                            (const int16_t*)n->in[0], (int16_t*)n->out);
}
