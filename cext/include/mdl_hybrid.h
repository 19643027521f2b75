/* microdl: "hybrid" (dynamic-range) kernels: float32 activations, int8 symmetric
 * constant weights, float32 bias.  The float input is quantized to int8 on the fly
 * (per batch row for FULLY_CONNECTED, per batch image for the convolutions), an
 * integer dot product is taken against the int8 weights, and the int32 sum is scaled
 * back to float with input_scale * filter_scale.  The arithmetic (roundings, order of
 * the float operations) follows LiteRT's reference kernels (BUILTIN_REF) as measured
 * against the ai_edge_litert wheel: see the comment of each kernel and
 * microdl/runtime/ops/hybrid.py.
 *
 * Float parameters (filter scales, activation clamps) are node inputs (float32
 * arrays), the param structs hold int32 fields only. */
#ifndef MDL_HYBRID_H
#define MDL_HYBRID_H

#include "mdl_node.h"

/* Fused activation codes of the tflite schema (ActivationFunctionType). */
#define MDL_HYBRID_ACT_NONE 0
#define MDL_HYBRID_ACT_RELU 1
#define MDL_HYBRID_ACT_RELU_N1_TO_1 2
#define MDL_HYBRID_ACT_RELU6 3
#define MDL_HYBRID_ACT_TANH 4
#define MDL_HYBRID_ACT_SIGN_BIT 5

/* ------------------------------------------------------------ input quantization */

/* Symmetric: range = max(|min x|, |max x|); range 0 gives q = 0 and scale 1; else
 * scale = range / 127 and q[i] = clamp(round(x[i] * (127 / range)), -127, 127) (float
 * arithmetic, round half away from zero).  LiteRT's SymmetricQuantizeFloats. */
void mdl_hybrid_quantize_symmetric(const float* x, int32_t n, int8_t* q, float* scale);

/* Asymmetric: rmin = min(0, min x), rmax = max(0, max x) (float); equal gives q = 0,
 * scale 1, zero point 0; else scale = (double)(rmax - rmin) / 255 (stored as float),
 * the zero point the nudged one of the end (min or max) with the smaller error, and
 * q[i] = clamp(round(x[i] * (1 / scale)) + zp, -128, 127) (float product, rounded
 * before the zero point is added).  LiteRT's AsymmetricQuantizeFloats as the LiteRT 2.x
 * wheel computes it (measured: rmax - rmin in float, rounding before the offset). */
void mdl_hybrid_quantize_asymmetric(const float* x, int32_t n, int8_t* q, float* scale,
                                    int32_t* zero_point);

/* ------------------------------------------------------------ FULLY_CONNECTED */

#define MDL_FULLY_CONNECTED_HYBRID_PARAMS(F, A)                                      \
  F(batches)      /* rows: input elements / accum_depth */                          \
  F(accum_depth)  /* input features per row (filter columns) */                     \
  F(output_depth) /* output features (filter rows) */                               \
  F(per_channel)  /* 1: filter_scale holds output_depth entries; 0: one */           \
  F(asymmetric)   /* 1: asymmetric_quantize_inputs (needs row_sums) */               \
  F(activation)   /* MDL_HYBRID_ACT_* */
MDL_DECLARE_PARAMS(mdl_fully_connected_hybrid_params, MDL_FULLY_CONNECTED_HYBRID_PARAMS)

/* For each row b: quantize input[b, :] (symmetric, or asymmetric with zero point zp),
 * acc[o] = sum_i filter[o, i] * q[i] - zp * row_sums[o] (int32), then
 *   s = input_scale_b * filter_scale   (per tensor; float)
 *   s = input_scale_b * filter_scale[o] (per channel; float)
 *   output[b, o] = act(bias[o] + (float)acc[o] * s)   (bias 0 when NULL).
 * input [batches, accum_depth] float32; filter OI [output_depth, accum_depth] int8;
 * bias [output_depth] float32 or NULL; row_sums [output_depth] int32 (sum_i
 * filter[o, i]; NULL unless asymmetric); output [batches, output_depth] float32. */
mdl_status mdl_fully_connected_hybrid(const mdl_fully_connected_hybrid_params* p,
                                      const float* input, const int8_t* filter,
                                      const float* bias, const float* filter_scale,
                                      const int32_t* row_sums, float* output,
                                      int8_t* scratch);

/* Node: in = {input, filter, bias or NULL, filter_scale (float32), row_sums or NULL};
 * scratch: accum_depth bytes (the quantized row). */
mdl_status mdl_node_fully_connected_hybrid(const mdl_node* node);

/* ------------------------------------------------------------ CONV_2D */

#define MDL_CONV_HYBRID_PARAMS(F, A)                                                  \
  F(batches) F(input_h) F(input_w) F(input_c)                                        \
  F(output_h) F(output_w) F(output_c)                                                \
  F(filter_h) F(filter_w) F(filter_c) /* filter_c: input channels per group */       \
  F(stride_h) F(stride_w) F(dilation_h) F(dilation_w)                                \
  F(pad_h) F(pad_w)                                                                  \
  F(per_channel) /* 1: asymmetric input, per-channel scales; 0: symmetric, one scale */
MDL_DECLARE_PARAMS(mdl_conv_hybrid_params, MDL_CONV_HYBRID_PARAMS)

/* Per batch image: quantize the whole image (per_channel: asymmetric, zero point zp;
 * else symmetric, zp 0), then for every output pixel and channel o (group g =
 * o / (output_c / groups)):
 *   acc = sum over taps inside the image of filter[o, ky, kx, c] * (q - zp) (padding
 *         taps are skipped: they stand for real 0.0)
 *   per_channel: v = ((float)acc * filter_scale[o]) * input_scale
 *   per tensor:  v = (float)acc * (input_scale * filter_scale[0])
 *   output = min(max(v + bias[o], clamp[0]), clamp[1])     (v alone without bias)
 * LiteRT: reference_ops::HybridConvPerChannel (per-channel scales that differ) and
 * optimized_ops::HybridConv (per-tensor, or per-channel scales all equal).
 * input NHWC float32; filter OHWI int8 [output_c, filter_h, filter_w, filter_c];
 * bias [output_c] float32 or NULL; clamp float32[2]; output NHWC float32. */
mdl_status mdl_conv_hybrid(const mdl_conv_hybrid_params* p, const float* input,
                           const int8_t* filter, const float* bias,
                           const float* filter_scale, const float* clamp, float* output,
                           void* scratch);

/* Node: in = {input, filter, bias or NULL, filter_scale, clamp}; scratch:
 * input_h * input_w * input_c bytes (the quantized image), then at the next even
 * offset filter_h * filter_w * filter_c int16 (one patch). */
mdl_status mdl_node_conv_hybrid(const mdl_node* node);

/* ------------------------------------------------------------ DEPTHWISE_CONV_2D */

#define MDL_DEPTHWISE_CONV_HYBRID_PARAMS(F, A)                                        \
  F(batches) F(input_h) F(input_w) F(input_c)                                        \
  F(output_h) F(output_w) F(depth_multiplier)                                        \
  F(filter_h) F(filter_w)                                                            \
  F(stride_h) F(stride_w) F(dilation_h) F(dilation_w)                                \
  F(pad_h) F(pad_w)
MDL_DECLARE_PARAMS(mdl_depthwise_conv_hybrid_params, MDL_DEPTHWISE_CONV_HYBRID_PARAMS)

/* Per batch image: asymmetric quantization of the whole image (zero point zp), then
 * for output channel o = c * depth_multiplier + m:
 *   acc = sum over taps inside the image of filter[0, ky, kx, o] * (q[.., c] - zp)
 *   v = (float)acc * (filter_scale[o] * input_scale)
 *   output = min(max(v + bias[o], clamp[0]), clamp[1])
 * LiteRT: reference_integer_ops::DepthwiseConvHybridPerChannel.
 * input NHWC float32; filter 1HWO int8; filter_scale float32[output_c]; bias
 * [output_c] float32 or NULL; output NHWC float32 [.., input_c * depth_multiplier]. */
mdl_status mdl_depthwise_conv_hybrid(const mdl_depthwise_conv_hybrid_params* p,
                                     const float* input, const int8_t* filter,
                                     const float* bias, const float* filter_scale,
                                     const float* clamp, float* output, void* scratch);

/* Node: in = {input, filter, bias or NULL, filter_scale, clamp}; scratch:
 * input_h * input_w * input_c bytes (the quantized image), then at the next
 * multiple of 4 input_c * depth_multiplier int32 sums. */
mdl_status mdl_node_depthwise_conv_hybrid(const mdl_node* node);

#endif /* MDL_HYBRID_H */
