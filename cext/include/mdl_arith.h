/* microdl: quantized arithmetic ops of issue 11: SQUARED_DIFFERENCE (int8), PRELU
 * (int8), L2_NORMALIZATION (int8), LOG_SOFTMAX (int8) and BATCH_MATMUL (int8 / int16),
 * following TFLite's reference kernels (squared_difference.cc, reference/prelu.h,
 * reference/integer_ops/l2normalization.h, reference/log_softmax.h
 * LogSoftmaxQuantized, reference/batch_matmul.h).  The arithmetic each field feeds is
 * documented with the Python preparer, microdl/runtime/ops/arith.py.
 *
 * Broadcasting is resolved at prepare time as for the comparisons (mdl_compare.h):
 * the output is the row-major box `dims` (MDL_BCAST_DIMS = 6 entries, outermost
 * first) and each input has an element stride per dimension, 0 where broadcast.
 */
#ifndef MDL_ARITH_H
#define MDL_ARITH_H

#include "mdl_node.h"

/* squared_difference_s8: v_k = requantize((in_k + input_k_offset) << left_shift,
 * input_k_multiplier, input_k_shift); d = v_1 - v_2;
 * out = clamp(requantize(d * d, output_multiplier, output_shift) + output_offset,
 * -128, 127); requantize in `rounding`. */
#define MDL_SQUARED_DIFFERENCE_PARAMS(F, A)                                     \
  A(dims, 6)           /* output shape, outermost first */                      \
  A(in1_strides, 6)    /* element strides, 0 where broadcast */                 \
  A(in2_strides, 6)                                                             \
  F(input1_offset)     /* negated zero points */                                \
  F(input1_multiplier) /* Q0.31, exponent <= 0 */                               \
  F(input1_shift)                                                               \
  F(input2_offset)                                                              \
  F(input2_multiplier)                                                          \
  F(input2_shift)                                                               \
  F(left_shift)        /* 7 */                                                  \
  F(output_offset)     /* output zero point */                                  \
  F(output_multiplier)                                                          \
  F(output_shift)                                                               \
  F(rounding)          /* MDL_ROUNDING_* */
MDL_DECLARE_PARAMS(mdl_squared_difference_params, MDL_SQUARED_DIFFERENCE_PARAMS)

/* prelu_s8: x = in + input_offset; out = clamp(output_offset + (x >= 0 ?
 * requantize(x, multiplier_1, shift_1) : requantize(x * (alpha + alpha_offset),
 * multiplier_2, shift_2)), -128, 127). */
#define MDL_PRELU_PARAMS(F, A)                                           \
  A(dims, 6)          /* output shape (= the input's), outermost first */ \
  A(in_strides, 6)    /* element strides of the input */                 \
  A(alpha_strides, 6) /* element strides of alpha, 0 where broadcast */  \
  F(input_offset)                                                        \
  F(alpha_offset)                                                        \
  F(output_offset)                                                       \
  F(multiplier_1)     /* input_scale / output_scale */                   \
  F(shift_1)                                                             \
  F(multiplier_2)     /* input_scale * alpha_scale / output_scale */     \
  F(shift_2)                                                             \
  F(rounding)
MDL_DECLARE_PARAMS(mdl_prelu_params, MDL_PRELU_PARAMS)

/* l2norm_s8: per row of `depth`: acc = sum (in - zp)^2 (int32, wrapping);
 * (m, s) = TFLite GetInvSqrtQuantizedMultiplierExp(acc, -1);
 * out = clamp(requantize(in - zp, m, s + 7), -128, 127) (output scale 1/128, zp 0). */
#define MDL_L2NORM_PARAMS(F, A)                                     \
  F(outer)        /* rows */                                       \
  F(depth)        /* elements per row (the last dimension) */      \
  F(input_zero_point)                                              \
  F(rounding)
MDL_DECLARE_PARAMS(mdl_l2norm_params, MDL_L2NORM_PARAMS)

/* log_softmax_s8 over rows of `depth`.  Tables from prepare, indexed by k = row max -
 * input in [0, 255]: q5[k] = the input difference -k rescaled to Q5.26
 * (MultiplyByQuantizedMultiplier(-k, input_multiplier, input_left_shift)) and
 * exp12[k] = Rescale<12>(exp_on_negative_values(q5[k])), 0 where -k < diff_min.
 * sum = sum exp12 (Q12.19), L = log_x_for_x_greater_than_or_equal_to_1<5>(sum)
 * (Q5.26); adjusted = max(diff_min - 1, requantize(L + INT32_MIN,
 * reverse_scaling_divisor, reverse_scaling_shift)); out = -k > adjusted ?
 * clamp(RoundingDivideByPOT(q5[k] - L, 22) + 127, -128, 127) : -128. */
#define MDL_LOG_SOFTMAX_PARAMS(F, A)                                     \
  F(outer)                   /* rows */                                  \
  F(depth)                   /* elements per row */                      \
  F(diff_min)                /* -CalculateInputRadius(5, input_left_shift) */ \
  F(reverse_scaling_divisor) /* Q0.31 */                                 \
  F(reverse_scaling_shift)   /* exponent, <= 0 */                        \
  F(rounding)
MDL_DECLARE_PARAMS(mdl_log_softmax_params, MDL_LOG_SOFTMAX_PARAMS)

/* batch_matmul: out[b][i][j] = clamp(requantize(sum_k (lhs[b][i][k] + lhs_offset) *
 * (rhs[b][k][j] + rhs_offset), multiplier, shift) + output_offset, type range), the
 * accumulator int32 (int8) or int64 (int16).  lhs / rhs element (i, k) / (k, j) of
 * batch b at b_offset + i * row_stride + k * col_stride, where b_offset =
 * sum_d bidx[d] * batch_strides[d] over 4 batch dimensions (0 where broadcast); the
 * strides express adj_x / adj_y.  Output [batch dims][rows][cols] contiguous. */
#define MDL_BATCH_MATMUL_PARAMS(F, A)                                         \
  A(batch_dims, 4)   /* output batch shape, outermost first (>= 1 each) */   \
  A(lhs_batch_strides, 4)                                                    \
  A(rhs_batch_strides, 4)                                                    \
  F(rows)            /* output rows (lhs rows after adj_x) */                \
  F(cols)            /* output columns (rhs columns after adj_y) */          \
  F(accum_depth)     /* the contracted extent */                             \
  F(lhs_row_stride)  /* element stride of lhs along i */                     \
  F(lhs_depth_stride) /* along k */                                          \
  F(rhs_depth_stride) /* element stride of rhs along k */                    \
  F(rhs_col_stride)  /* along j */                                           \
  F(lhs_offset)      /* negated zero points (0 for int16) */                 \
  F(rhs_offset)                                                              \
  F(output_offset)                                                           \
  F(multiplier)      /* lhs_scale * rhs_scale / output_scale */              \
  F(shift)                                                                   \
  F(is_s16)          /* 1: int16 tensors (int64 accumulator) */               \
  F(rounding)
MDL_DECLARE_PARAMS(mdl_batch_matmul_params, MDL_BATCH_MATMUL_PARAMS)

/* floor_f32: out[i] = floorf(in[i]) (FLOOR on float32). */
#define MDL_FLOOR_F32_PARAMS(F, A) F(size) /* elements */
MDL_DECLARE_PARAMS(mdl_floor_f32_params, MDL_FLOOR_F32_PARAMS)
mdl_status mdl_floor_f32(const mdl_floor_f32_params* p, const float* input, float* out);
mdl_status mdl_node_floor_f32(const mdl_node* node);

/* lut_s16: TFLite's int16 table lookup with interpolation (LUTLookup): for input v,
 * index = 256 + (v >> 7), offset = v & 127; out = table[index] + ((table[index + 1] -
 * table[index]) * offset + 64) >> 7.  table: int16[513] from LUTPopulate<int16_t>. */
#define MDL_LUT_S16_PARAMS(F, A) F(size) /* elements */
MDL_DECLARE_PARAMS(mdl_lut_s16_params, MDL_LUT_S16_PARAMS)
mdl_status mdl_lut_s16(const mdl_lut_s16_params* p, const int16_t* table,
                       const int16_t* input, int16_t* out);
/* Node: in = {input, table int16[513]}. */
mdl_status mdl_node_lut_s16(const mdl_node* node);

/* rsqrt_s16: TFLite Micro's int16 RSQRT (RsqrtEvalQuantized<int16_t>): v = in -
 * input_zero_point; v == 0 gives 32767, else (m, s) = GetInvSqrtQuantizedMultiplierExp(
 * v, -1), d = requantize(1, m, s + 20), out = clamp(requantize(d, multiplier, shift -
 * 20) + output_zero_point, int16 range). */
#define MDL_RSQRT_S16_PARAMS(F, A) \
  F(size)                         \
  F(input_zero_point)             \
  F(output_zero_point)            \
  F(multiplier)                   \
  F(shift)                        \
  F(rounding)
MDL_DECLARE_PARAMS(mdl_rsqrt_s16_params, MDL_RSQRT_S16_PARAMS)
mdl_status mdl_rsqrt_s16(const mdl_rsqrt_s16_params* p, const int16_t* input,
                         int16_t* out);
mdl_status mdl_node_rsqrt_s16(const mdl_node* node);

/* div_q: quantized DIV (reference_ops DivElementwise / BroadcastDivSlowQuantized):
 * a = in1 + input1_offset, b = in2 + input2_offset, both negated when b < 0;
 * (r, k) = GetReciprocal(b, 31); h = CountLeadingSignBits(a);
 * q = MultiplyByQuantizedMultiplierGreaterThanOne(a, r, h);
 * out = clamp(output_offset + MultiplyByQuantizedMultiplierSmallerThanOneExp(q,
 * output_multiplier, output_shift - k - h), act_min, act_max), in double rounding
 * (`rounding` must be MDL_ROUNDING_DOUBLE).  Prepare keeps output_shift in [-17, 23]
 * so the last exponent stays in [-63, 0]; right shifts of 32..63 follow the x86-64 /
 * aarch64 builds of the reference (see rdbpot_wide in arith_ops.c). */
#define MDL_DIV_Q_PARAMS(F, A)                                   \
  A(dims, 6)        /* output shape, outermost first */          \
  A(in1_strides, 6) /* element strides, 0 where broadcast */     \
  A(in2_strides, 6)                                              \
  F(input1_offset)                                               \
  F(input2_offset)                                               \
  F(output_offset)                                               \
  F(output_multiplier) /* in1_scale / (in2_scale * out_scale) */  \
  F(output_shift)                                                \
  F(act_min)                                                     \
  F(act_max)                                                     \
  F(is_s16)         /* 1: int16 tensors */                       \
  F(rounding)
MDL_DECLARE_PARAMS(mdl_div_q_params, MDL_DIV_Q_PARAMS)
/* Node: in = {in1, in2}. */
mdl_status mdl_node_div_q(const mdl_node* node);

/* ---- float32 forms (reference kernels' formulas and summation order) ----------- */
/* prelu_f32: out = x >= 0 ? x : x * alpha (MDL_PRELU_PARAMS: dims and strides only).
 * elu_f32: out = x < 0 ? expm1f(x) : x.  log_softmax_f32 per row of `depth`:
 * out = x - max - logf(sum expf(x - max)).  l2norm_f32 per row: out = x /
 * max(sqrtf(sum x^2), 1e-6).  batch_matmul_f32: MDL_BATCH_MATMUL_PARAMS geometry,
 * float32 sums in k order. */
#define MDL_ROWS_F32_PARAMS(F, A) \
  F(outer) /* rows (1 row of `size` for elu_f32) */ \
  F(depth) /* elements per row */
MDL_DECLARE_PARAMS(mdl_rows_f32_params, MDL_ROWS_F32_PARAMS)
mdl_status mdl_node_prelu_f32(const mdl_node* node);         /* in = {input, alpha} */
mdl_status mdl_node_elu_f32(const mdl_node* node);           /* in = {input} */
mdl_status mdl_node_log_softmax_f32(const mdl_node* node);   /* in = {input} */
mdl_status mdl_node_l2norm_f32(const mdl_node* node);        /* in = {input} */
mdl_status mdl_node_batch_matmul_f32(const mdl_node* node);  /* in = {lhs, rhs} */

/* TFLite GetInvSqrtQuantizedMultiplierExp(input, reverse_shift): 1 / sqrt(input) as a
 * Q0.31 multiplier and exponent (gemmlowp Newton-Raphson in Q3.28). */
void mdl_inv_sqrt_multiplier_exp(int32_t input, int32_t reverse_shift,
                                 int32_t* multiplier, int32_t* shift);
/* TFLite log_x_for_x_greater_than_or_equal_to_1<5>(Q12.19 x): log(x) in Q5.26. */
int32_t mdl_log_q12_to_q5(int32_t x);

mdl_status mdl_squared_difference_s8(const mdl_squared_difference_params* p,
                                     const int8_t* in1, const int8_t* in2, int8_t* out);
mdl_status mdl_prelu_s8(const mdl_prelu_params* p, const int8_t* input,
                        const int8_t* alpha, int8_t* out);
mdl_status mdl_l2norm_s8(const mdl_l2norm_params* p, const int8_t* input, int8_t* out);
mdl_status mdl_log_softmax_s8(const mdl_log_softmax_params* p, const int32_t* q5,
                              const int32_t* exp12, const int8_t* input, int8_t* out);
mdl_status mdl_batch_matmul(const mdl_batch_matmul_params* p, const void* lhs,
                            const void* rhs, void* out);

/* Nodes: squared_difference_s8 in = {in1, in2}; prelu_s8 in = {input, alpha};
 * l2norm_s8 in = {input}; log_softmax_s8 in = {input, q5 int32[256], exp12
 * int32[256]}; batch_matmul in = {lhs, rhs}. */
mdl_status mdl_node_squared_difference_s8(const mdl_node* node);
mdl_status mdl_node_prelu_s8(const mdl_node* node);
mdl_status mdl_node_l2norm_s8(const mdl_node* node);
mdl_status mdl_node_log_softmax_s8(const mdl_node* node);
mdl_status mdl_node_batch_matmul(const mdl_node* node);


/* ------------------------------------------------------------- SQRT int16
 * LiteRT's quantized SQRT (elementwise.cc, measured on the pip wheel):
 * out = clamp(output_zero_point + (int32)(sqrtf(scale[0] * (float)(q - input_zero_point))
 *             / scale[1]), -32768, 32767), all in float32, truncating toward zero;
 * scale = {input_scale, output_scale} (float32[2]).  LiteRT fails at invoke on an
 * input below its zero point; here it reads as 0 (output_zero_point). */
#define MDL_SQRT_S16_PARAMS(F, A)                                                 \
  F(size)              /* elements */                                             \
  F(input_zero_point)                                                             \
  F(output_zero_point)
MDL_DECLARE_PARAMS(mdl_sqrt_s16_params, MDL_SQRT_S16_PARAMS)

mdl_status mdl_sqrt_s16(const mdl_sqrt_s16_params* p, const float* scale,
                        const int16_t* input, int16_t* out);
/* Node: in = {input, scale float32[2]}. */
mdl_status mdl_node_sqrt_s16(const mdl_node* node);

#endif /* MDL_ARITH_H */
