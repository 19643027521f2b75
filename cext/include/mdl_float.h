/* microdl: float32 kernels (float models: every activation, weight and bias float32).
 *
 * Arithmetic follows LiteRT's float reference kernels (tensorflow/lite/kernels/internal/
 * reference/conv.h, depthwiseconv_float.h, fully_connected.h, pooling.h, softmax.h,
 * add.h, ...): every output element is accumulated in float32 in the reference's order
 * (filter row, filter column, input channel; bias added after the sum), then clamped by
 * the fused activation range.  The loops are written so the compiler vectorizes them
 * across output channels (or elements), never across a reduction, so no floating-point
 * sum is reassociated.
 *
 * Float parameters (the fused-activation clamp, SOFTMAX's beta, LEAKY_RELU's alpha) are
 * not fields of the int32 parameter structs: they travel as a small float32 array input
 * of the node, filled by prepare (microdl/runtime/ops/float32.py); each node entry below
 * documents its `in` order.  `clamp` is float32[2] = {min, max} (TFLite
 * CalculateActivationRange: NONE is {-FLT_MAX, FLT_MAX}, RELU {0, FLT_MAX}, RELU6 {0, 6},
 * RELU_N1_TO_1 {-1, 1}); the clamp is min(max(x, lo), hi) as std::min / std::max
 * evaluate it (a NaN stays NaN).
 *
 * Layouts: activations NHWC float32; GEMM weights packed by prepare as
 * [ceil(N / 16)][K][16] float32 (output-channel blocks of MDL_F32_NR, zero beyond N),
 * bias float32[ceil(N / 16) * 16] (zero beyond N, and all zero for an op without bias).
 */
#ifndef MDL_FLOAT_H
#define MDL_FLOAT_H

#include "mdl_node.h"

/* The kernels' register tiles are written with generic vector types of 8 floats where
 * the compiler has them (GCC, Clang: lowered to AVX2, SSE, NEON or scalar code; one
 * multiply and one add per lane and step, never contracted to FMA nor reassociated, so
 * each sum is that of the scalar loop), plain loops elsewhere or with
 * -DMDL_NO_F32_VECTORS (tests/test_float_ops.py builds both).  Internal to the
 * *_f32.c files. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(MDL_NO_F32_VECTORS)
#define MDL_F32_VECTORS 1
#include <string.h>
typedef float mdl_f32x8 __attribute__((vector_size(32)));
#define F32X8_BCAST(x) ((mdl_f32x8){(x), (x), (x), (x), (x), (x), (x), (x)})
#define F32X8_LOAD(v, ptr) memcpy(&(v), (ptr), sizeof(mdl_f32x8))
#define F32X8_STORE(ptr, v) memcpy((ptr), &(v), sizeof(mdl_f32x8))
#else
#define MDL_F32_VECTORS 0
#endif

/* std::min(std::max(x, lo), hi): TFLite's ActivationFunctionWithMinMax. */
static inline float mdl_clamp_f32(float x, float lo, float hi) {
  const float v = (x < lo) ? lo : x;
  return (hi < v) ? hi : v;
}

#define MDL_F32_MR 4  /* GEMM tile: rows (output pixels / batch rows) */
#define MDL_F32_NR 16 /* GEMM tile: output-channel lanes of the packed weights */

/* ---- GEMM microkernel ------------------------------------------------------------- */

/* c[i][j] = clamp(sum_k a[i * lda + k] * w[k * 16 + j] (k ascending, from 0.0f)
 *                 + bias[j]) for i < mr (<= 4), j < nr (<= 16): one tile of the packed
 * weights (w: [k][16], bias: [16]).  c rows are ldc floats apart. */
void mdl_f32_gemm_4x16(int32_t mr, int32_t nr, int32_t k, const float* a, int32_t lda,
                       const float* w, const float* bias, float* c, int32_t ldc,
                       float lo, float hi);

/* As mdl_f32_gemm_4x16 for exactly 6 rows (mr = 6). */
void mdl_f32_gemm_6x16(int32_t k, const float* a, int32_t lda, const float* w,
                       const float* bias, float* c, int32_t ldc, int32_t nr, float lo,
                       float hi);

/* As mdl_f32_gemm_4x16 for a block of at most 8 valid lanes (nr <= 8): only the
 * first 8 lanes of the packed block are read. */
void mdl_f32_gemm_4x8(int32_t mr, int32_t nr, int32_t k, const float* a, int32_t lda,
                      const float* w, const float* bias, float* c, int32_t ldc,
                      float lo, float hi);

/* One row a [k] times four consecutive weight blocks (block b at w + b * wstride,
 * each [k][16]): c[0..64) = clamp(sums + bias[0..64)), same order as above. */
void mdl_f32_gemm_1x64(int32_t k, const float* a, const float* w, int32_t wstride,
                       const float* bias, float* c, float lo, float hi);

/* ---- CONV_2D ------------------------------------------------------------------------ */

#define MDL_CONV_F32_PARAMS(F, A)                                            \
  F(batches) F(input_h) F(input_w) F(input_c)                                \
  F(filter_h) F(filter_w) F(filter_c) /* filter_c == input_c (no groups) */  \
  F(output_h) F(output_w) F(output_c)                                        \
  F(stride_h) F(stride_w) F(dilation_h) F(dilation_w)                        \
  F(pad_h) F(pad_w)   /* padding before (top, left) */                       \
  F(direct)           /* 1: 1x1 filter, stride 1, no padding: input rows are the patches */ \
  F(block_pixels)     /* patches per im2col block in scratch (1..) */
MDL_DECLARE_PARAMS(mdl_conv_f32_params, MDL_CONV_F32_PARAMS)

/* input [batches, input_h, input_w, input_c]; weights packed [ceil(oc/16)][K][16] with
 * K = filter_h * filter_w * input_c in OHWI order (filter row, column, channel);
 * output [batches, output_h, output_w, output_c].  scratch: block_pixels * K floats
 * (unused when direct).  Taps outside the input read 0. */
mdl_status mdl_conv_f32(const mdl_conv_f32_params* p, const float* input,
                        const float* weights, const float* bias, const float* clamp,
                        float* output, float* scratch);

/* Node: in = {input, packed weights, padded bias, clamp float32[2]}. */
mdl_status mdl_node_conv_f32(const mdl_node* node);

/* Arena scratch bytes a conv_f32 node needs. */
int32_t mdl_conv_f32_get_buffer_size(const mdl_conv_f32_params* p);

/* ---- FULLY_CONNECTED ---------------------------------------------------------------- */

#define MDL_FULLY_CONNECTED_F32_PARAMS(F, A) \
  F(batches) F(accum_depth) F(output_depth)
MDL_DECLARE_PARAMS(mdl_fully_connected_f32_params, MDL_FULLY_CONNECTED_F32_PARAMS)

/* input [batches, accum_depth]; weights packed [ceil(output_depth/16)][accum_depth][16]
 * (the OI filter transposed); output [batches, output_depth]. */
mdl_status mdl_fully_connected_f32(const mdl_fully_connected_f32_params* p,
                                   const float* input, const float* weights,
                                   const float* bias, const float* clamp, float* output);

/* Node: in = {input, packed weights, padded bias, clamp float32[2]}. */
mdl_status mdl_node_fully_connected_f32(const mdl_node* node);

/* ---- DEPTHWISE_CONV_2D -------------------------------------------------------------- */

#define MDL_DEPTHWISE_F32_MAX_TAPS 1024 /* filter_h * filter_w at most */

#define MDL_DEPTHWISE_CONV_F32_PARAMS(F, A)                  \
  F(batches) F(input_h) F(input_w) F(input_c)                \
  F(filter_h) F(filter_w) F(depth_multiplier)                \
  F(output_h) F(output_w)                                    \
  F(stride_h) F(stride_w) F(dilation_h) F(dilation_w)        \
  F(pad_h) F(pad_w)
MDL_DECLARE_PARAMS(mdl_depthwise_conv_f32_params, MDL_DEPTHWISE_CONV_F32_PARAMS)

/* output channel o = ic * depth_multiplier + m:
 * out[b, y, x, o] = clamp(sum over in-bounds taps (row, then column) of
 *                         in[b, iy, ix, ic] * filter[0, fy, fx, o] + bias[o]).
 * filter: the model's 1HWO [1, filter_h, filter_w, oc]; bias [oc] or NULL. */
mdl_status mdl_depthwise_conv_f32(const mdl_depthwise_conv_f32_params* p,
                                  const float* input, const float* filter,
                                  const float* bias, const float* clamp, float* output);

/* Node: in = {input, filter 1HWO, bias or NULL, clamp float32[2]}. */
mdl_status mdl_node_depthwise_conv_f32(const mdl_node* node);

/* ---- TRANSPOSE_CONV ---------------------------------------------------------------- */

#define MDL_TRANSPOSE_CONV_F32_PARAMS(F, A)                  \
  F(batches) F(input_h) F(input_w) F(input_c)                \
  F(filter_h) F(filter_w)                                    \
  F(output_h) F(output_w) F(output_c)                        \
  F(stride_h) F(stride_w) F(pad_h) F(pad_w)
MDL_DECLARE_PARAMS(mdl_transpose_conv_f32_params, MDL_TRANSPOSE_CONV_F32_PARAMS)

/* LiteRT reference_ops::TransposeConv (float) order: the output zeroed, then every
 * input element (batch, row, column, channel in order) scattered into the outputs it
 * reaches (filter row, column; all output channels), then bias and clamp.
 * filter: HWIO [filter_h, filter_w, input_c, output_c] (the model's OHWI filter
 * transposed by prepare); bias [output_c] or NULL; output_shape: int32[4] checked
 * against batches, output_h, output_w, output_c at invoke (MDL_ERR_BAD_PARAM if they
 * differ), or NULL (prepare checked the constant one; microdl's prepare always does). */
mdl_status mdl_transpose_conv_f32(const mdl_transpose_conv_f32_params* p,
                                  const float* input, const float* filter,
                                  const float* bias, const float* clamp,
                                  const int32_t* output_shape, float* output);

/* Node: in = {input, filter HWIO, bias or NULL, clamp float32[2], output_shape or NULL}. */
mdl_status mdl_node_transpose_conv_f32(const mdl_node* node);

/* ---- AVERAGE_POOL_2D / MAX_POOL_2D -------------------------------------------------- */

#define MDL_POOL_F32_PARAMS(F, A)                            \
  F(batches) F(input_height) F(input_width) F(channels)      \
  F(output_height) F(output_width)                           \
  F(filter_height) F(filter_width)                           \
  F(stride_height) F(stride_width) F(pad_height) F(pad_width)
MDL_DECLARE_PARAMS(mdl_pool_f32_params, MDL_POOL_F32_PARAMS)

/* Average: the in-bounds part of each window summed (row, then column) and divided by
 * its element count (a float); max: std::max from the lowest float.  Then clamp.
 * input [N, H, W, C], output [N, out_h, out_w, C]. */
mdl_status mdl_avg_pool_f32(const mdl_pool_f32_params* p, const float* input,
                            const float* clamp, float* output);
mdl_status mdl_max_pool_f32(const mdl_pool_f32_params* p, const float* input,
                            const float* clamp, float* output);

/* Node: in = {input, clamp float32[2]}. */
mdl_status mdl_node_avg_pool_f32(const mdl_node* node);
mdl_status mdl_node_max_pool_f32(const mdl_node* node);

/* ---- binary elementwise with broadcasting ------------------------------------------- */

#define MDL_F32_ADD 0
#define MDL_F32_SUB 1
#define MDL_F32_MUL 2
#define MDL_F32_DIV 3
#define MDL_F32_MAXIMUM 4
#define MDL_F32_MINIMUM 5
#define MDL_F32_SQUARED_DIFFERENCE 6

#define MDL_BINARY_F32_PARAMS(F, A)                                                 \
  A(dims, 6)        /* output shape after merging (as mdl_elementwise.h) */         \
  A(in1_strides, 6) /* input1 element stride per dim, 0 where broadcast */          \
  A(in2_strides, 6) /* input2 element stride per dim, 0 where broadcast */          \
  F(op)             /* MDL_F32_ADD ... */
MDL_DECLARE_PARAMS(mdl_binary_f32_params, MDL_BINARY_F32_PARAMS)

/* output = clamp(in1 OP in2) over the broadcast shape (ADD a + b, SUB a - b, MUL a * b,
 * DIV a / b, MAXIMUM / MINIMUM as std::max / std::min, SQUARED_DIFFERENCE (a - b)^2). */
mdl_status mdl_binary_f32(const mdl_binary_f32_params* p, const float* input1,
                          const float* input2, const float* clamp, float* output);

/* Node: in = {input1, input2, clamp float32[2]}. */
mdl_status mdl_node_binary_f32(const mdl_node* node);

/* ---- unary elementwise -------------------------------------------------------------- */

#define MDL_F32_RELU 0
#define MDL_F32_RELU6 1
#define MDL_F32_RELU_N1_TO_1 2
#define MDL_F32_LOGISTIC 3
#define MDL_F32_TANH 4
#define MDL_F32_HARD_SWISH 5
#define MDL_F32_LEAKY_RELU 6
#define MDL_F32_ABS 7
#define MDL_F32_NEG 8
#define MDL_F32_EXP 9
#define MDL_F32_SQRT 10
#define MDL_F32_RSQRT 11
#define MDL_F32_SQUARE 12

#define MDL_UNARY_F32_PARAMS(F, A) \
  F(size) /* number of elements */ \
  F(op)   /* MDL_F32_RELU ... */
MDL_DECLARE_PARAMS(mdl_unary_f32_params, MDL_UNARY_F32_PARAMS)

/* output[i] = f(input[i]) with LiteRT's reference formulas: RELU max(0, x), RELU6
 * min(max(0, x), 6), RELU_N1_TO_1 min(max(-1, x), 1), LOGISTIC 1 / (1 + exp(-x)) (exp(x)
 * below -9, 1 above 16.619047), TANH tanh(x), HARD_SWISH x * min(6, max(0, x + 3)) / 6,
 * LEAKY_RELU x > 0 ? x : alpha * x, ABS, NEG, EXP, SQRT, RSQRT 1 / sqrt(x), SQUARE x * x.
 * fparams: float32[1] = {alpha} (LEAKY_RELU; otherwise
 * unused, may be NULL). */
mdl_status mdl_unary_f32(const mdl_unary_f32_params* p, const float* input,
                         const float* fparams, float* output);

/* Node: in = {input, fparams float32[1] or NULL}. */
mdl_status mdl_node_unary_f32(const mdl_node* node);

/* ---- SOFTMAX ------------------------------------------------------------------------ */

#define MDL_SOFTMAX_F32_PARAMS(F, A) \
  F(outer_size) /* rows */           \
  F(depth)      /* last axis (>= 1) */
MDL_DECLARE_PARAMS(mdl_softmax_f32_params, MDL_SOFTMAX_F32_PARAMS)

/* Per row: m = max; e_c = exp((x_c - m) * beta); out_c = e_c / sum(e) (sum in order).
 * fparams float32[1] = {beta}. */
mdl_status mdl_softmax_f32(const mdl_softmax_f32_params* p, const float* input,
                           const float* fparams, float* output);

/* Node: in = {input, fparams float32[1]}. */
mdl_status mdl_node_softmax_f32(const mdl_node* node);

/* ---- MEAN --------------------------------------------------------------------------- */

#define MDL_MEAN_F32_PARAMS(F, A)                                                   \
  A(dims, 6)        /* input shape after merging (as mean_s8: mdl_pooling.h) */     \
  A(out_strides, 6) /* output element stride per dim, 0 where reduced */           \
  F(output_size)    /* output elements */                                           \
  F(count)          /* input elements per output element */
MDL_DECLARE_PARAMS(mdl_mean_f32_params, MDL_MEAN_F32_PARAMS)

/* output[j] = (sum of its input elements in row-major input order, float32) / count. */
mdl_status mdl_mean_f32(const mdl_mean_f32_params* p, const float* input, float* output);

/* Node: in = {input}. */
mdl_status mdl_node_mean_f32(const mdl_node* node);

#endif /* MDL_FLOAT_H */
