/* microdl: activations (SOFTMAX, LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU, RELU6,
 * RELU_N1_TO_1) and the float / integer boundary (QUANTIZE, DEQUANTIZE).
 *
 * int8 elementwise activations (and int8 -> int8 QUANTIZE) run as a 256-entry lookup
 * table that Python's prepare step fills by evaluating TFLite's exact arithmetic for
 * every int8 input (microdl/runtime/ops/activations.py); C only looks it up.
 */
#ifndef MDL_ACTIVATIONS_H
#define MDL_ACTIVATIONS_H

#include "mdl_node.h"

/* ---- int8 table lookup ---------------------------------------------------------- */

#define MDL_LUT_S8_PARAMS(F, A) \
  F(size) /* number of elements */
MDL_DECLARE_PARAMS(mdl_lut_s8_params, MDL_LUT_S8_PARAMS)

/* output[i] = table[(uint8_t)input[i]]: table holds the result for input value v at
 * index v & 0xFF (0..127, then -128..-1), as TFLite's LUTPopulate<int8_t> orders it.
 * input, output: [size] int8 (any shape, same element count). */
mdl_status mdl_lut_s8(const mdl_lut_s8_params* p, const int8_t* table,
                      const int8_t* input, int8_t* output);

/* Node: in = {input, table int8[256]}. */
mdl_status mdl_node_lut_s8(const mdl_node* node);

/* ---- int16 LEAKY_RELU / RELU / RELU6 -------------------------------------------- */

#define MDL_LEAKY_RELU_S16_PARAMS(F, A)                                             \
  F(size)                /* number of elements */                                  \
  F(input_offset)        /* negated input zero point */                            \
  F(output_offset)       /* output zero point */                                   \
  F(identity_multiplier) /* input_scale / output_scale, for inputs >= zero point */ \
  F(identity_shift)                                                                \
  F(alpha_multiplier)    /* |alpha| * input_scale / output_scale, for inputs below */ \
  F(alpha_shift)                                                                   \
  F(alpha_negative)      /* 1: negate the alpha branch (alpha < 0) */               \
  F(act_min)             /* output clamp, in output quantized units */             \
  F(act_max)                                                                       \
  F(rounding)            /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_leaky_relu_s16_params, MDL_LEAKY_RELU_S16_PARAMS)

/* x = input[i] + input_offset;
 * y = x >= 0 ? requantize(x, identity) : +/-requantize(x, alpha);
 * output[i] = min(max(output_offset + y, act_min), act_max)
 * (TFLite reference_ops::QuantizeLeakyRelu; RELU / RELU6 are ReluX: alpha = identity
 * and a clamp).  input, output: [size] int16. */
mdl_status mdl_leaky_relu_s16(const mdl_leaky_relu_s16_params* p, const int16_t* input,
                              int16_t* output);

/* Node: in = {input}. */
mdl_status mdl_node_leaky_relu_s16(const mdl_node* node);

/* ---- int8 SOFTMAX ---------------------------------------------------------------- */

#define MDL_SOFTMAX_S8_PARAMS(F, A)                                 \
  F(outer_size)  /* rows: elements / depth */                       \
  F(depth)       /* length of the last axis (>= 1) */               \
  F(output_bits) /* 8: int8 (1/256, -128); 16: int16 (1/65536, -32768) */
MDL_DECLARE_PARAMS(mdl_softmax_s8_params, MDL_SOFTMAX_S8_PARAMS)

/* Softmax over the last axis, int8 in -> int8 out (scale 1/256, zero point -128) or
 * int16 out (scale 1/65536, zero point -32768), TFLite reference_ops::Softmax
 * (gemmlowp fixed point).  exp_table[k] (k = 0..255) is
 * exp(beta * input_scale * -k) in Q0.31 as the reference computes it for the input
 * difference -k from the row maximum (exp_on_negative_values of the rescaled Q5.26
 * difference), or 0 where -k < diff_min (those inputs contribute nothing and output
 * the output minimum); exp_table[0] must be INT32_MAX.  The sum of exps is accumulated
 * in Q12.19.  input: [outer_size, depth] int8; output: the same shape, int8 or int16
 * (output_bits). */
mdl_status mdl_softmax_s8(const mdl_softmax_s8_params* p, const int32_t* exp_table,
                          const int8_t* input, void* output);

/* Node: in = {input, exp_table int32[256]}. */
mdl_status mdl_node_softmax_s8(const mdl_node* node);

/* ---- QUANTIZE / DEQUANTIZE ------------------------------------------------------ */

#define MDL_QUANTIZE_F32_PARAMS(F, A)        \
  F(size)        /* number of elements */   \
  F(zero_point)  /* output zero point */    \
  F(output_bits) /* 8 (int8) or 16 (int16) */
MDL_DECLARE_PARAMS(mdl_quantize_f32_params, MDL_QUANTIZE_F32_PARAMS)

/* output[i] = clamp((int32)round(input[i] / scale) + zero_point) with float32 division,
 * round half away from zero (TfLiteRound) and the x86 conversion of out-of-range or NaN
 * values to INT32_MIN, the zero point added with int32 wrap-around (TFLite
 * reference_ops::AffineQuantize as built in LiteRT's x86-64 wheels).
 * input: [size] float32; output: [size] int8 or int16 (output_bits). */
mdl_status mdl_quantize_f32(const mdl_quantize_f32_params* p, float scale,
                            const float* input, void* output);

/* Node: in = {input float32, scale float32[1]}. */
mdl_status mdl_node_quantize_f32(const mdl_node* node);

#define MDL_DEQUANTIZE_F32_PARAMS(F, A)     \
  F(size)       /* number of elements */   \
  F(zero_point) /* input zero point */     \
  F(input_bits) /* 8 (int8) or 16 (int16) */
MDL_DECLARE_PARAMS(mdl_dequantize_f32_params, MDL_DEQUANTIZE_F32_PARAMS)

/* output[i] = (float)((double)scale * (input[i] - zero_point)) (TFLite
 * reference_integer_ops::Dequantize).  input: [size] int8 or int16 (input_bits);
 * output: [size] float32. */
mdl_status mdl_dequantize_f32(const mdl_dequantize_f32_params* p, float scale,
                              const void* input, float* output);

/* Node: in = {input, scale float32[1]}. */
mdl_status mdl_node_dequantize_f32(const mdl_node* node);

#define MDL_REQUANTIZE_INT_PARAMS(F, A)                           \
  F(size)          /* number of elements */                      \
  F(input_offset)  /* negated input zero point */                \
  F(output_offset) /* output zero point */                       \
  F(multiplier)    /* input_scale / output_scale (double) */     \
  F(shift)                                                       \
  F(input_bits)    /* 8, 16 or 32 */                             \
  F(output_bits)   /* 8, 16 or 32 */                             \
  F(rounding)      /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_requantize_int_params, MDL_REQUANTIZE_INT_PARAMS)

/* output[i] = clamp(requantize(input[i] + input_offset, multiplier, shift)
 *                   + output_offset) to the output type, int32 arithmetic wrapping
 * (TFLite reference_ops::Requantize).  input, output: [size] signed integers of
 * input_bits / output_bits. */
mdl_status mdl_requantize_int(const mdl_requantize_int_params* p, const void* input,
                              void* output);

/* Node: in = {input}. */
mdl_status mdl_node_requantize_int(const mdl_node* node);

#endif /* MDL_ACTIVATIONS_H */
