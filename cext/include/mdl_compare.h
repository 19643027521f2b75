/* microdl: comparisons, MINIMUM / MAXIMUM, SELECT / SELECT_V2 and the logical ops,
 * elementwise with broadcasting, following TFLite's reference kernels
 * (reference/comparisons.h ComparisonWithScaling / BroadcastComparison4DSlow,
 * reference/maximum_minimum.h, reference/select.h, reference/binary_function.h for
 * LOGICAL_AND / LOGICAL_OR, logical.cc).
 *
 * Broadcasting is resolved at prepare time as for ADD (mdl_elementwise.h): the output
 * is `dims` (row-major, contiguous, outermost first, MDL_BCAST_DIMS entries) and each
 * input has one element stride per dimension, 0 where it is broadcast.  bool tensors
 * hold one byte, 0 or 1.
 */
#ifndef MDL_COMPARE_H
#define MDL_COMPARE_H

#include "mdl_node.h"

/* Element kinds (the `kind` field). */
#define MDL_CMP_KIND_S8_SCALED 0 /* int8, both inputs rescaled as TFLite does */
#define MDL_CMP_KIND_S16 1       /* int16 raw values */
#define MDL_CMP_KIND_S32 2       /* int32 */
#define MDL_CMP_KIND_F32 3       /* float32 */
#define MDL_CMP_KIND_U8 4        /* bool or uint8 raw values */
#define MDL_CMP_KIND_S64 5       /* int64 */
#define MDL_CMP_KIND_S8 6        /* int8 raw values (MINIMUM / MAXIMUM) */

/* Comparison operators (the `op` field). */
#define MDL_CMP_LESS 0
#define MDL_CMP_LESS_EQUAL 1
#define MDL_CMP_GREATER 2
#define MDL_CMP_GREATER_EQUAL 3
#define MDL_CMP_EQUAL 4
#define MDL_CMP_NOT_EQUAL 5

/* compare: out[i] = in1 OP in2 as bool.  int8 inputs (kind S8_SCALED):
 * v_k = requantize((in_k + input_k_offset) << left_shift, input_k_multiplier,
 * input_k_shift) in the chosen rounding, then v_1 OP v_2 (TFLite's
 * ComparisonWithScaling, multipliers from QuantizeMultiplierSmallerThanOneExp of each
 * input's scale). */
#define MDL_COMPARE_PARAMS(F, A)                                                     \
  A(dims, 6)           /* output shape, outermost first (>= 0 each) */               \
  A(in1_strides, 6)    /* input1 element stride per dim, 0 where broadcast */        \
  A(in2_strides, 6)    /* input2 element stride per dim, 0 where broadcast */        \
  F(op)                /* MDL_CMP_LESS .. MDL_CMP_NOT_EQUAL */                        \
  F(kind)              /* MDL_CMP_KIND_* of the inputs */                             \
  F(input1_offset)     /* S8_SCALED: negated input1 zero point */                     \
  F(input1_multiplier) /* S8_SCALED: Q0.31 */                                         \
  F(input1_shift)      /* S8_SCALED: exponent (<= 0) */                               \
  F(input2_offset)                                                                    \
  F(input2_multiplier)                                                                \
  F(input2_shift)                                                                     \
  F(left_shift)        /* S8_SCALED: 8 */                                             \
  F(rounding)          /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_compare_params, MDL_COMPARE_PARAMS)

/* minmax: out[i] = is_max ? (in1 > in2 ? in1 : in2) : (in1 < in2 ? in1 : in2) on raw
 * values of kind S8, S16, S32, F32, U8 or S64 (maximum_minimum.h's MaximumOp /
 * MinimumOp, so a NaN second operand wins). */
#define MDL_MINMAX_PARAMS(F, A)                                            \
  A(dims, 6)        /* output shape, outermost first */                    \
  A(in1_strides, 6) /* element strides, 0 where broadcast */               \
  A(in2_strides, 6)                                                        \
  F(is_max)         /* 1: MAXIMUM, 0: MINIMUM */                           \
  F(kind)           /* MDL_CMP_KIND_S8 / S16 / S32 / F32 / U8 / S64 */
MDL_DECLARE_PARAMS(mdl_minmax_params, MDL_MINMAX_PARAMS)

/* select: out[i] = cond[i] ? x[i] : y[i] (elements of elem_bytes bytes, cond bool). */
#define MDL_SELECT_PARAMS(F, A)                                              \
  A(dims, 6)         /* output shape, outermost first */                     \
  A(cond_strides, 6) /* element strides of the condition, 0 where broadcast */ \
  A(x_strides, 6)                                                            \
  A(y_strides, 6)                                                            \
  F(elem_bytes)      /* 1, 2, 4 or 8 */
MDL_DECLARE_PARAMS(mdl_select_params, MDL_SELECT_PARAMS)

/* logical: out[i] = in1 AND / OR in2 (bool), or NOT in1 (in2 unused). */
#define MDL_LOGICAL_AND 0
#define MDL_LOGICAL_OR 1
#define MDL_LOGICAL_NOT 2
#define MDL_LOGICAL_PARAMS(F, A)                                  \
  A(dims, 6)        /* output shape, outermost first */          \
  A(in1_strides, 6) /* element strides, 0 where broadcast */     \
  A(in2_strides, 6)                                              \
  F(op)             /* MDL_LOGICAL_AND / OR / NOT */
MDL_DECLARE_PARAMS(mdl_logical_params, MDL_LOGICAL_PARAMS)

/* arg_minmax: ARG_MAX / ARG_MIN over the middle dimension of an input viewed as
 * [outer, axis_size, inner]: out[o * inner + i] = the index of the first maximum
 * (minimum) along the axis (reference/arg_min_max.h: strict comparison, so ties keep
 * the first index).  Input kind S8 / S16 / S32 / F32 / U8, output int32 or int64. */
#define MDL_ARG_MINMAX_PARAMS(F, A)                                   \
  F(outer)       /* product of the dimensions before the axis */     \
  F(axis_size)   /* the axis extent (>= 1) */                         \
  F(inner)       /* product of the dimensions after the axis */      \
  F(is_max)      /* 1: ARG_MAX, 0: ARG_MIN */                         \
  F(kind)        /* MDL_CMP_KIND_* of the input */                    \
  F(out_bytes)   /* 4: int32 output, 8: int64 */
MDL_DECLARE_PARAMS(mdl_arg_minmax_params, MDL_ARG_MINMAX_PARAMS)

/* reduce_minmax: REDUCE_MAX / REDUCE_MIN of raw values over some axes.  The input is a
 * row-major box `dims`; out_strides[d] is the output element stride of input dimension
 * d (0 for a reduced one), so input element idx lands on output
 * sum_d idx[d] * out_strides[d] (as MEAN, mdl_pooling.h).  Kind S8 / S16 / S32. */
#define MDL_REDUCE_MINMAX_PARAMS(F, A)                                       \
  A(dims, 6)        /* input shape, outermost first (>= 1 each) */          \
  A(out_strides, 6) /* output stride per input dimension, 0 where reduced */ \
  F(output_size)    /* output elements */                                    \
  F(is_max)         /* 1: REDUCE_MAX, 0: REDUCE_MIN */                       \
  F(kind)           /* MDL_CMP_KIND_S8 / S16 / S32 */
MDL_DECLARE_PARAMS(mdl_reduce_minmax_params, MDL_REDUCE_MINMAX_PARAMS)

mdl_status mdl_arg_minmax(const mdl_arg_minmax_params* p, const void* input, void* out);
mdl_status mdl_reduce_minmax(const mdl_reduce_minmax_params* p, const void* input,
                             void* out);
mdl_status mdl_node_arg_minmax(const mdl_node* node);
mdl_status mdl_node_reduce_minmax(const mdl_node* node);

mdl_status mdl_compare(const mdl_compare_params* p, const void* in1, const void* in2,
                       uint8_t* out);
mdl_status mdl_minmax(const mdl_minmax_params* p, const void* in1, const void* in2,
                      void* out);
mdl_status mdl_select(const mdl_select_params* p, const uint8_t* cond, const void* x,
                      const void* y, void* out);
mdl_status mdl_logical(const mdl_logical_params* p, const uint8_t* in1,
                       const uint8_t* in2, uint8_t* out);

/* Nodes: compare / minmax / logical in = {in1, in2}; select in = {cond, x, y}. */
mdl_status mdl_node_compare(const mdl_node* node);
mdl_status mdl_node_minmax(const mdl_node* node);
mdl_status mdl_node_select(const mdl_node* node);
mdl_status mdl_node_logical(const mdl_node* node);

#endif
