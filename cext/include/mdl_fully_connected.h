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
  F(rounding)      /* MDL_ROUNDING_DOUBLE, MDL_ROUNDING_SINGLE or MDL_FC_REQUANT_FLOAT64 */
MDL_DECLARE_PARAMS(mdl_fully_connected_s8_params, MDL_FULLY_CONNECTED_S8_PARAMS)

/* `rounding` value for LiteRT's reference FULLY_CONNECTED (LiteRT 1.3 and later, so
 * the 2.x pip wheels): acc is requantized in double precision, round((double)acc *
 * scale[o]) with C round() (half away from zero), where scale[o] = (double)input_scale
 * * (double)filter_scale[o] / (double)output_scale; no Q31 multiplier.  For small
 * accumulators this agrees with TFLITE_SINGLE_ROUNDING; within 2^-31 relative error of
 * an output rounding boundary (|acc| near 2^30) it does not. */
#define MDL_FC_REQUANT_FLOAT64 2

/* output[b, o] = clamp(requantize(bias[o] + sum_i (input[b, i] + input_offset) *
 *                      (filter[o, i] + filter_offset), multiplier[o], shift[o])
 *                      + output_offset, act_min, act_max)
 * input: [batches, accum_depth] int8; filter: OI [output_depth, accum_depth] int8;
 * bias: [output_depth] int32 or NULL; output: [batches, output_depth] int8.
 * With input_offset_folded, bias[o] = bias[o] + input_offset * sum_i filter[o, i]
 * and the kernel skips input_offset (requires filter_offset == 0). */
mdl_status mdl_fully_connected_s8(const mdl_fully_connected_s8_params* p,
                                  const int32_t* multiplier, const int32_t* shift,
                                  const double* scale, const int8_t* input,
                                  const int8_t* filter, const int32_t* bias,
                                  int8_t* output);

/* Node: in = {input, filter, bias or NULL, multiplier, shift, scale}: multiplier and
 * shift (int32, output_depth or 1 entries) for the Q31 roundings, scale (double, same
 * count) for MDL_FC_REQUANT_FLOAT64; the unused pair or array is NULL. */
mdl_status mdl_node_fully_connected_s8(const mdl_node* node);

#endif
