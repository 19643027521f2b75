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

/* ------------------------------------------------ FULLY_CONNECTED int8, fast form
 * The same results as mdl_fully_connected_s8 (folded input offset, symmetric weights)
 * over weights packed at prepare for the s8-gemv microkernels (mdl_ukernels.h): blocks
 * of MDL_FC_GEMV_BLOCK output channels, each [G][MDL_FC_GEMV_BLOCK][MDL_FC_GEMV_KC]
 * int8 (G = accum_depth / MDL_FC_GEMV_KC rounded up; zero where the input index >=
 * accum_depth or the channel >= output_depth).  Per input row, chunks of
 * MDL_FC_FAST_CHUNK channels: the GEMV writes their int32 sums to a stack buffer and
 * they are requantized (Q31 roundings: s32-requant-rows-c; MDL_FC_REQUANT_FLOAT64:
 * s32-requant-f64).  No arena scratch.  batches > 1: the GEMV per row.  multiplier /
 * shift / scale always hold output_depth entries (prepare repeats a per-tensor one). */
#define MDL_FC_GEMV_BLOCK 8
#define MDL_FC_GEMV_KC 16
#define MDL_FC_FAST_CHUNK 64
/* `gemv`: the best microkernels the CPU runs (AVX512-VNNI GEMV with the AVX2
 * requantization, else AVX2, else the portable C twins) */
#define MDL_FC_GEMV_8C16 0
#define MDL_FC_GEMV_8C16_C 1    /* `gemv`: the portable C twins */
#define MDL_FC_GEMV_8C16_AVX2 2 /* `gemv`: AVX2 where the CPU has it, never VNNI (tests) */
/* Largest accum_depth of the fast form: the int32 sums of |x * w| <= 2^14 cannot
 * overflow (prepare binds the plain kernel beyond). */
#define MDL_FC_FAST_MAX_DEPTH 65536

#define MDL_FULLY_CONNECTED_S8_FAST_PARAMS(F, A)                                     \
  F(batches)       /* rows: input elements / accum_depth */                          \
  F(accum_depth)   /* input features per row, <= MDL_FC_FAST_MAX_DEPTH */             \
  F(output_depth)  /* output channels of this node (a band of them with threads) */  \
  F(output_stride) /* int8 entries between output rows (the layer's output_depth) */ \
  F(output_offset) /* output zero point */                                           \
  F(act_min)       /* fused activation clamp, in output quantized units */           \
  F(act_max)                                                                         \
  F(rounding)      /* MDL_ROUNDING_DOUBLE, MDL_ROUNDING_SINGLE or MDL_FC_REQUANT_FLOAT64 */ \
  F(gemv)          /* MDL_FC_GEMV_8C16, _8C16_C or _8C16_AVX2 */
MDL_DECLARE_PARAMS(mdl_fully_connected_s8_fast_params, MDL_FULLY_CONNECTED_S8_FAST_PARAMS)

/* output[b * output_stride + o] for b < batches, o < output_depth, as
 * mdl_fully_connected_s8 with input_offset folded into bias (bias[o] or NULL);
 * packed: the packed weights above; ubias: see the node below, or NULL. */
mdl_status mdl_fully_connected_s8_fast(const mdl_fully_connected_s8_fast_params* p,
                                       const int32_t* multiplier, const int32_t* shift,
                                       const double* scale, const int8_t* input,
                                       const int8_t* packed, const int32_t* bias,
                                       const int32_t* ubias, int8_t* output);

/* Node: in = {input, packed weights, bias or NULL, multiplier, shift, scale, ubias}
 * (the unused requantization arrays NULL, as for mdl_node_fully_connected_s8; ubias:
 * bias[o] - 128 * sum_i filter[o, i], output_depth int32, for the VNNI GEMV, or NULL,
 * which keeps the kernel off it). */
mdl_status mdl_node_fully_connected_s8_fast(const mdl_node* node);


/* ----------------------------------------------------- FULLY_CONNECTED 16x8
 * int16 activations (zero points 0), int8 symmetric weights (TFLite
 * reference_integer_ops::FullyConnected, int16 overload):
 * output[b, o] = clamp(requantize(bias[o] + sum_i input[b, i] * filter[o, i]),
 *                      act_min, act_max)
 * acc64 = 1: bias int64 (or NULL), int64 accumulator; acc64 = 0: bias int32 (or NULL),
 * wrapping int32 accumulator.  requantize: MDL_FC_REQUANT_FLOAT64 (LiteRT's reference
 * kernel, measured on the 2.x wheel): round((double)acc * scale[o]) half away from
 * zero, saturated to int32; otherwise mdl_requantize64 (acc64) or mdl_requantize_r
 * with `rounding` (TFLite Micro). */
#define MDL_FULLY_CONNECTED_S16_PARAMS(F, A)                                          \
  F(batches)       /* rows: input elements / accum_depth */                          \
  F(accum_depth)   /* input features per row (filter columns) */                     \
  F(output_depth)  /* output features (filter rows) */                               \
  F(per_channel)   /* 1: multiplier/shift/scale hold output_depth entries; 0: one */ \
  F(act_min)       /* fused activation clamp, in output quantized units */           \
  F(act_max)                                                                         \
  F(acc64)         /* 1: int64 bias and accumulator; 0: int32 */                     \
  F(rounding)      /* MDL_ROUNDING_DOUBLE, MDL_ROUNDING_SINGLE or MDL_FC_REQUANT_FLOAT64 */
MDL_DECLARE_PARAMS(mdl_fully_connected_s16_params, MDL_FULLY_CONNECTED_S16_PARAMS)

mdl_status mdl_fully_connected_s16(const mdl_fully_connected_s16_params* p,
                                   const int32_t* multiplier, const int32_t* shift,
                                   const double* scale, const int16_t* input,
                                   const int8_t* filter, const void* bias,
                                   int16_t* output);

/* Node: in = {input, filter, bias or NULL, multiplier, shift, scale} (the unused
 * requantization arrays NULL, as for mdl_node_fully_connected_s8). */
mdl_status mdl_node_fully_connected_s16(const mdl_node* node);

#endif
