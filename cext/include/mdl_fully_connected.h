/* microdl: FULLY_CONNECTED, int8 activations x int8 weights (TFLite int8 spec). */
#ifndef MDL_FULLY_CONNECTED_H
#define MDL_FULLY_CONNECTED_H

#include "mdl_node.h"

#define MDL_FULLY_CONNECTED_S8_PARAMS(F, A)                                           \
  F(batches)       /* rows: input elements / accum_depth */                          \
  F(accum_depth)   /* input features per row (filter columns) */                     \
  F(output_depth)  /* output features (filter rows) */                               \
  F(input_offset)  /* negated input zero point */                                    \
  F(filter_offset) /* negated filter zero point (0 under the int8 spec) */           \
  F(output_offset) /* output zero point */                                           \
  F(input_offset_folded) /* 1: bias already holds bias + input_offset * row sums */  \
  F(per_channel)   /* 1: multiplier/shift hold output_depth entries; 0: one entry */ \
  F(act_min)       /* fused activation clamp, in output quantized units */           \
  F(act_max)                                                                         \
  F(rounding)      /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_fully_connected_s8_params, MDL_FULLY_CONNECTED_S8_PARAMS)

/* output[b, o] = clamp(requantize(bias[o] + sum_i (input[b, i] + input_offset) *
 *                      (filter[o, i] + filter_offset), multiplier[o], shift[o])
 *                      + output_offset, act_min, act_max)
 * input: [batches, accum_depth] int8; filter: OI [output_depth, accum_depth] int8;
 * bias: [output_depth] int32 or NULL; output: [batches, output_depth] int8.
 * With input_offset_folded, bias[o] = bias[o] + input_offset * sum_i filter[o, i]
 * and the kernel skips input_offset (requires filter_offset == 0). */
mdl_status mdl_fully_connected_s8(const mdl_fully_connected_s8_params* p,
                                  const int32_t* multiplier, const int32_t* shift,
                                  const int8_t* input, const int8_t* filter,
                                  const int32_t* bias, int8_t* output);

/* Node: in = {input, filter, bias or NULL, multiplier, shift}. */
mdl_status mdl_node_fully_connected_s8(const mdl_node* node);

#endif
