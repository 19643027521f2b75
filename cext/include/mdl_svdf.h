/* microdl: SVDF, int8 input and feature weights, int16 or int8 state and time
 * weights, int32 bias, int8 output (TFLite EvalIntegerSVDF / TFLite Micro
 * EvalIntegerSvdfReference, same results). */
#ifndef MDL_SVDF_H
#define MDL_SVDF_H

#include "mdl_node.h"

#define MDL_SVDF_S8_PARAMS(F, A)                                                  \
  F(batches)            /* input rows */                                         \
  F(input_size)         /* input features per row (feature weight columns) */    \
  F(num_filters)        /* feature / time weight rows: num_units * rank */       \
  F(rank)               /* filters summed into one output unit */                \
  F(memory_size)        /* state entries per filter (time weight columns) */     \
  F(state_bytes)        /* 2: int16 state and time weights; 1: int8 */           \
  F(input_offset)       /* negated input zero point */                           \
  F(state_zero_point)   /* 0 for an int16 state */                               \
  F(output_offset)      /* output zero point */                                  \
  F(feature_multiplier) /* input * feature -> state (Q31 multiplier and shift) */ \
  F(feature_shift)                                                               \
  F(time_multiplier)    /* state * time -> output */                             \
  F(time_shift)                                                                  \
  F(rounding)           /* MDL_ROUNDING_* */
MDL_DECLARE_PARAMS(mdl_svdf_s8_params, MDL_SVDF_S8_PARAMS)

/* One invoke, updating the state in place:
 * 1. state [batches, num_filters * memory_size] (each filter's memory_size entries
 *    contiguous, oldest first) moves left by one element as a whole;
 * 2. state[b, f * memory_size + memory_size - 1] = (state type) (state_zero_point +
 *    clamp(requantize(sum_i feature[f, i] * (input[b, i] + input_offset),
 *    feature_multiplier, feature_shift), state type range));
 * 3. output[b, u] = clamp(output_offset + requantize(bias[u] + sum_{f = u * rank}
 *    ^{u * rank + rank - 1} sum_m time[f, m] * (state[b, f, m] - state_zero_point),
 *    time_multiplier, time_shift), -128, 127).
 * No fused activation is applied (neither LiteRT nor TFLite Micro does in this op).
 * input: [batches, input_size] int8; feature: [num_filters, input_size] int8; time:
 * [num_filters, memory_size] int16 or int8 (state_bytes); bias: [num_filters / rank]
 * int32 or NULL; output: [batches, num_filters / rank] int8.  int32 sums wrap. */
mdl_status mdl_svdf_s8(const mdl_svdf_s8_params* p, const int8_t* input,
                       const int8_t* feature, const int32_t* feature_bias,
                       const void* time, const int32_t* bias, void* state,
                       int8_t* output);

/* Node: in = {input, feature weights, time weights, bias or NULL, state,
 * feature_bias}: feature_bias[f] = input_offset * sum_i feature[f, i] (int32, wrapped,
 * computed at prepare), so the feature sums are plain int8 dot products.  The state (a
 * variable tensor of the model, in the arena) is read and written. */
mdl_status mdl_node_svdf_s8(const mdl_node* node);

#endif
