/* microdl: CAST, ADD_N, CUMSUM and GATHER_ND (TFLite's cast.cc, add_n.cc with
 * reference_ops::AddN, reference/cumsum.h (CumSum) and reference_ops::GatherNd).
 *
 * Element types (the `in_type` / `out_type` / `kind` fields) are MDL_ACC_*; bool is
 * one byte holding 0 or 1.  Shapes are resolved by prepare
 * (microdl/runtime/ops/accumulate.py).
 */
#ifndef MDL_ACCUMULATE_H
#define MDL_ACCUMULATE_H

#include "mdl_node.h"

#define MDL_ACC_S8 0
#define MDL_ACC_U8 1
#define MDL_ACC_S16 2
#define MDL_ACC_S32 3
#define MDL_ACC_S64 4
#define MDL_ACC_F32 5
#define MDL_ACC_BOOL 6

/* cast: out[i] = (out_type) in[i] as C++ static_cast does: integers narrow modulo
 * 2^bits (two's complement), int -> float rounds to nearest, float -> int truncates
 * toward zero, anything -> bool is (x != 0).  Where static_cast is undefined (a
 * float outside the integer type's range, NaN) the kernel saturates and maps NaN to
 * 0 instead.  Node: in = {input}. */
#define MDL_CAST_PARAMS(F, A) \
  F(in_type)  /* MDL_ACC_* */ \
  F(out_type) /* MDL_ACC_* */ \
  F(count)    /* elements (>= 0) */
MDL_DECLARE_PARAMS(mdl_cast_params, MDL_CAST_PARAMS)

mdl_status mdl_cast(const mdl_cast_params* p, const void* input, void* output);
mdl_status mdl_node_cast(const mdl_node* node);

/* The int8 forms of ADD_N and CUMSUM (TFLite Micro only; LiteRT has none): every
 * input v (one scale and zero point for all) becomes
 *   r(v) = requantize((v + input_offset) << left_shift, input_multiplier, input_shift)
 * (TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp, double rounding), the r
 * are summed in int32 (wrapping) starting from r(0), which is what the reference's
 * `accumulator = input1_offset` does (a term of -zero_point, kept for bit-exactness),
 * and a sum s is written as clamp(requantize(s, output_multiplier, output_shift) +
 * output_offset, act_min, act_max). */
#define MDL_ACC_QUANT_FIELDS(F)                                          \
  F(input_offset)      /* S8: negated input zero point */                \
  F(input_multiplier)  /* S8: Q0.31 of 1/2 */                            \
  F(input_shift)       /* S8: exponent, <= 0 */                          \
  F(left_shift)        /* S8: 20 */                                      \
  F(output_offset)     /* S8: output zero point */                       \
  F(output_multiplier) /* S8: Q0.31 of 2*s_in / (2^20 * s_out) */        \
  F(output_shift)      /* S8: exponent, <= 0 */                          \
  F(act_min)                                                             \
  F(act_max)

/* add_n: out[i] = (accumulate ? out[i] : 0) + in_0[i] + ... + in_{n-1}[i], added left
 * to right (int32 wraps modulo 2^32).  ADD_N of more than MDL_MAX_NODE_INPUTS inputs
 * is a chain of nodes, the later ones with accumulate = 1 (int32 / float32 only).
 * MDL_ACC_S8: the int8 form above (accumulate 0).  Node: in = {in_0 ..}. */
#define MDL_ADD_N_PARAMS(F, A)                           \
  F(kind)       /* MDL_ACC_S32, MDL_ACC_F32 or MDL_ACC_S8 */ \
  F(num_inputs) /* 1..MDL_MAX_NODE_INPUTS */             \
  F(count)      /* elements (>= 0) */                    \
  F(accumulate) /* 0: start from 0; 1: from out */       \
  MDL_ACC_QUANT_FIELDS(F)
MDL_DECLARE_PARAMS(mdl_add_n_params, MDL_ADD_N_PARAMS)

mdl_status mdl_add_n(const mdl_add_n_params* p, const void* const* inputs, void* output);
mdl_status mdl_node_add_n(const mdl_node* node);

/* cumsum over the middle axis of [outer, axis_len, inner]: the running sum along the
 * axis, forward or reverse, inclusive or exclusive (exclusive: the sum of the elements
 * strictly before, 0 first), accumulated in the element type (int32 / int64 wrap);
 * MDL_ACC_S8: the int8 form above, each output the requantized running sum.
 * Node: in = {input}. */
#define MDL_CUMSUM_PARAMS(F, A)                          \
  F(kind)      /* MDL_ACC_S32, MDL_ACC_S64, MDL_ACC_F32, MDL_ACC_S8 */ \
  F(outer)                                               \
  F(axis_len)                                            \
  F(inner)                                               \
  F(exclusive)                                           \
  F(reverse)                                             \
  MDL_ACC_QUANT_FIELDS(F)
MDL_DECLARE_PARAMS(mdl_cumsum_params, MDL_CUMSUM_PARAMS)

mdl_status mdl_cumsum(const mdl_cumsum_params* p, const void* input, void* output);
mdl_status mdl_node_cumsum(const mdl_node* node);

/* gather_nd: for each of num_indices index tuples (int32 or int64 as index_bytes says,
 * index_depth entries each),
 * out[k*slab .. (k+1)*slab) = params at element offset sum_j idx[j] * strides[j],
 * slab elements of elem_bytes bytes.  An index outside [0, dims[j]) makes the kernel
 * return MDL_ERR_BAD_PARAM before it reads anything out of bounds (the output may be
 * partly written).  Node: in = {params, indices}. */
#define MDL_GATHER_ND_PARAMS(F, A)                                \
  F(elem_bytes)  /* 1, 2, 4 or 8 */                               \
  F(index_bytes) /* 4 (int32 indices) or 8 (int64) */             \
  F(num_indices) /* index tuples (>= 0) */                        \
  F(index_depth) /* entries per tuple, 1..MDL_MAX_DIMS */         \
  F(slab)        /* elements copied per tuple (>= 0) */           \
  A(dims, 6)     /* extent of the indexed params dimensions */    \
  A(strides, 6)  /* element stride of each indexed dimension */
MDL_DECLARE_PARAMS(mdl_gather_nd_params, MDL_GATHER_ND_PARAMS)

mdl_status mdl_gather_nd(const mdl_gather_nd_params* p, const void* params,
                         const void* indices, void* output);
mdl_status mdl_node_gather_nd(const mdl_node* node);

#endif
