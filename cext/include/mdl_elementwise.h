/* microdl: elementwise binary ops with broadcasting: ADD, SUB (int8, int16) and MUL
 * (int8, int16), following TFLite's quantized reference kernels
 * (reference/add.h AddElementwise / BroadcastAdd6DSlow, reference/sub.h
 * SubElementwise / BroadcastQuantSubSlow, reference/integer_ops/mul.h MulElementwise /
 * BroadcastMul6DSlow).
 *
 * Broadcasting is resolved at prepare time: Python pads both input shapes to the
 * output rank, merges adjacent dimensions that broadcast the same way and left-pads to
 * MDL_BCAST_DIMS, so a kernel sees an output of shape `dims` (row-major, contiguous) and
 * one element stride per dimension and input (0 along a dimension the input is
 * broadcast on).  Two same-shape inputs become dims = {1, 1, 1, 1, 1, n} with strides 1,
 * a scalar operand a stride of 0.
 */
#ifndef MDL_ELEMENTWISE_H
#define MDL_ELEMENTWISE_H

#include "mdl_node.h"

#define MDL_BCAST_DIMS 6

#define MDL_ADD_PARAMS(F, A)                                                          \
  A(dims, 6)            /* output shape after merging, outermost first (>= 0 each) */ \
  A(in1_strides, 6)     /* input1 element stride per dim, 0 where it is broadcast */  \
  A(in2_strides, 6)     /* input2 element stride per dim, 0 where it is broadcast */  \
  F(input1_offset)      /* negated input1 zero point */                              \
  F(input2_offset)      /* negated input2 zero point */                              \
  F(output_offset)      /* output zero point */                                      \
  F(left_shift)         /* headroom shift applied to both inputs: 20 int8, 15 int16 */ \
  F(input1_multiplier)  /* input1 scale / (2 * max input scale), Q0.31 */             \
  F(input1_shift)       /* its power-of-two exponent (<= 0) */                        \
  F(input2_multiplier)  /* input2 scale / (2 * max input scale), Q0.31 */             \
  F(input2_shift)       /* its power-of-two exponent (<= 0) */                        \
  F(output_multiplier)  /* 2 * max input scale / (2^left_shift * output scale) */    \
  F(output_shift)       /* its exponent (<= 0, or > 0 for SUB under single rounding) */ \
  F(act_min)            /* fused activation clamp, in output quantized units */       \
  F(act_max)                                                                          \
  F(rounding)           /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */         \
  F(ukernel)            /* int8 fast rows: MDL_ADD_UKERNEL_BEST or _C */
MDL_DECLARE_PARAMS(mdl_add_params, MDL_ADD_PARAMS)

/* `ukernel` of the int8 ADD / SUB: the s8-vadd microkernel of the rows that take the
 * fast path (mdl_ukernels.h).  BEST: the SIMD one this CPU runs (AVX2, NEON), else the
 * portable twin; C: always the portable twin (MICRODL_PORTABLE_KERNELS=1, tests).
 * Ignored by the int16 kernels. */
#define MDL_ADD_UKERNEL_BEST 0
#define MDL_ADD_UKERNEL_C 1

#define MDL_MUL_PARAMS(F, A)                                                          \
  A(dims, 6)            /* output shape after merging, outermost first (>= 0 each) */ \
  A(in1_strides, 6)     /* input1 element stride per dim, 0 where it is broadcast */  \
  A(in2_strides, 6)     /* input2 element stride per dim, 0 where it is broadcast */  \
  F(input1_offset)      /* negated input1 zero point */                              \
  F(input2_offset)      /* negated input2 zero point */                              \
  F(output_offset)      /* output zero point */                                      \
  F(output_multiplier)  /* input1 scale * input2 scale / output scale, Q0.31 */       \
  F(output_shift)       /* its power-of-two exponent (positive = left) */             \
  F(act_min)            /* fused activation clamp, in output quantized units */       \
  F(act_max)                                                                          \
  F(rounding)           /* MDL_ROUNDING_DOUBLE or MDL_ROUNDING_SINGLE */
MDL_DECLARE_PARAMS(mdl_mul_params, MDL_MUL_PARAMS)

/* ADD / SUB: with s_k = requantize((in_k + input_k_offset) << left_shift,
 *                                  input_k_multiplier, input_k_shift)
 * output = clamp(requantize(s_1 +/- s_2, output_multiplier, output_shift)
 *                + output_offset, act_min, act_max), elementwise over the broadcast
 * shape.  int8 and int16 activations (int16: zero points 0, left_shift 15). */
mdl_status mdl_add_s8(const mdl_add_params* p, const int8_t* input1, const int8_t* input2,
                      int8_t* output);
mdl_status mdl_sub_s8(const mdl_add_params* p, const int8_t* input1, const int8_t* input2,
                      int8_t* output);
mdl_status mdl_add_s16(const mdl_add_params* p, const int16_t* input1,
                       const int16_t* input2, int16_t* output);
mdl_status mdl_sub_s16(const mdl_add_params* p, const int16_t* input1,
                       const int16_t* input2, int16_t* output);

/* MUL: output = clamp(requantize((in1 + input1_offset) * (in2 + input2_offset),
 *                                output_multiplier, output_shift) + output_offset,
 *                     act_min, act_max).  int16: zero points 0. */
mdl_status mdl_mul_s8(const mdl_mul_params* p, const int8_t* input1, const int8_t* input2,
                      int8_t* output);
mdl_status mdl_mul_s16(const mdl_mul_params* p, const int16_t* input1,
                       const int16_t* input2, int16_t* output);

/* Nodes: in = {input1, input2}; out = output. */
mdl_status mdl_node_add_s8(const mdl_node* node);
mdl_status mdl_node_sub_s8(const mdl_node* node);
mdl_status mdl_node_add_s16(const mdl_node* node);
mdl_status mdl_node_sub_s16(const mdl_node* node);
mdl_status mdl_node_mul_s8(const mdl_node* node);
mdl_status mdl_node_mul_s16(const mdl_node* node);

/* Odometer over the outer MDL_BCAST_DIMS - 1 dimensions of a broadcast: the input
 * offsets of the current output row (the innermost dimension is the row). */
typedef struct {
  int32_t index[MDL_BCAST_DIMS - 1];
  ptrdiff_t offset1; /* element offset into input1 */
  ptrdiff_t offset2; /* element offset into input2 */
} mdl_bcast_iter;

/* Number of output rows (product of the outer dims); 0 if the output is empty. */
MDL_INLINE size_t mdl_bcast_rows(const int32_t* dims) {
  size_t rows = 1;
  for (int32_t d = 0; d < MDL_BCAST_DIMS - 1; ++d) rows *= (size_t)dims[d];
  return dims[MDL_BCAST_DIMS - 1] > 0 ? rows : 0;
}

MDL_INLINE void mdl_bcast_begin(mdl_bcast_iter* it) {
  for (int32_t d = 0; d < MDL_BCAST_DIMS - 1; ++d) it->index[d] = 0;
  it->offset1 = 0;
  it->offset2 = 0;
}

/* Advance to the next output row. */
MDL_INLINE void mdl_bcast_next(mdl_bcast_iter* it, const int32_t* dims,
                               const int32_t* strides1, const int32_t* strides2) {
  for (int32_t d = MDL_BCAST_DIMS - 2; d >= 0; --d) {
    if (++it->index[d] < dims[d]) {
      it->offset1 += strides1[d];
      it->offset2 += strides2[d];
      return;
    }
    it->index[d] = 0;
    it->offset1 -= (ptrdiff_t)strides1[d] * (dims[d] - 1);
    it->offset2 -= (ptrdiff_t)strides2[d] * (dims[d] - 1);
  }
}

#endif /* MDL_ELEMENTWISE_H */
