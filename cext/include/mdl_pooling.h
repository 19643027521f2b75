/* microdl: pooling and reduction: AVERAGE_POOL_2D, MAX_POOL_2D (int8, int16; TFLite
 * reference_integer_ops::AveragePool / MaxPool) and MEAN (int8, int16; TFLite
 * reference_ops::QuantizedMeanOrSum).  Layout NHWC. */
#ifndef MDL_POOLING_H
#define MDL_POOLING_H

#include "mdl_node.h"

#define MDL_POOL_PARAMS(F, A)                                                      \
  F(batches)        /* N */                                                        \
  F(input_height)   /* H of the input */                                           \
  F(input_width)    /* W of the input */                                           \
  F(channels)       /* C, the same for input and output */                         \
  F(output_height)                                                                 \
  F(output_width)                                                                  \
  F(filter_height)  /* window size */                                              \
  F(filter_width)                                                                  \
  F(stride_height)                                                                 \
  F(stride_width)                                                                  \
  F(pad_height)     /* padding before the first row (TFLite padding_values) */     \
  F(pad_width)      /* padding before the first column */                          \
  F(act_min)        /* fused activation clamp, in (shared) quantized units */      \
  F(act_max)
MDL_DECLARE_PARAMS(mdl_pool_params, MDL_POOL_PARAMS)

/* Average over the in-bounds part of each window (padding is not counted), rounded
 * to nearest with ties away from zero: (sum +- count / 2) / count in C integer
 * division; then clamped to [act_min, act_max].  Input and output share scale and
 * zero point.  input: [N, H, W, C]; output: [N, output_height, output_width, C]. */
mdl_status mdl_avg_pool_s8(const mdl_pool_params* p, const int8_t* input, int8_t* output);
mdl_status mdl_avg_pool_s16(const mdl_pool_params* p, const int16_t* input,
                            int16_t* output);

/* Maximum over the in-bounds part of each window, clamped to [act_min, act_max]. */
mdl_status mdl_max_pool_s8(const mdl_pool_params* p, const int8_t* input, int8_t* output);
mdl_status mdl_max_pool_s16(const mdl_pool_params* p, const int16_t* input,
                            int16_t* output);

/* Nodes: in = {input}; out = output. */
mdl_status mdl_node_avg_pool_s8(const mdl_node* node);
mdl_status mdl_node_avg_pool_s16(const mdl_node* node);
mdl_status mdl_node_max_pool_s8(const mdl_node* node);
mdl_status mdl_node_max_pool_s16(const mdl_node* node);

/* MEAN over any set of axes.  Prepare merges adjacent input dimensions that are both
 * reduced or both kept and left-pads to 6 dimensions; `out_strides` maps every input
 * dimension to its output element stride (0 for a reduced dimension).  The kernel sums
 * the raw inputs of each output into int32 scratch accumulators (wrapping, as TFLite),
 * then output = clamp(requantize(sum + sum_offset, multiplier, shift) + output_offset,
 * type range), where sum_offset = -input_zero_point * count (wrapped to int32) and
 * multiplier/shift already include the 1/count factor (TFLite QuantizedMeanOrSum). */
#define MDL_MEAN_PARAMS(F, A)                                                      \
  A(dims, 6)        /* input shape after merging, outermost first (>= 1 each) */   \
  A(out_strides, 6) /* output element stride per input dim, 0 if reduced */        \
  F(output_size)    /* number of outputs = int32 accumulators in scratch */        \
  F(sum_offset)     /* -input zero point * reduced count, wrapped to int32 */      \
  F(output_offset)  /* output zero point */                                        \
  F(multiplier)     /* input scale / (output scale * count), Q0.31 */              \
  F(shift)          /* its power-of-two exponent (positive = left) */              \
  F(rounding)       /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_mean_params, MDL_MEAN_PARAMS)

/* scratch: output_size int32 accumulators. */
mdl_status mdl_mean_s8(const mdl_mean_params* p, const int8_t* input, int8_t* output,
                       int32_t* scratch);
mdl_status mdl_mean_s16(const mdl_mean_params* p, const int16_t* input, int16_t* output,
                        int32_t* scratch);

/* Nodes: in = {input}; out = output; scratch = output_size * 4 bytes. */
mdl_status mdl_node_mean_s8(const mdl_node* node);
mdl_status mdl_node_mean_s16(const mdl_node* node);

#endif /* MDL_POOLING_H */
