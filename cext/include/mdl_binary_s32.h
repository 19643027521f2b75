/* microdl: int32 ADD, SUB and MUL (not quantized: the loop counters and index
 * arithmetic of WHILE loops).  LiteRT's reference kernels (add.cc, sub.cc, mul.cc for
 * kTfLiteInt32): out = clamp(in1 OP in2, act_min, act_max), the sum, difference or
 * product wrapping modulo 2^32 as two's-complement int32 does in practice, the clamp
 * being the fused activation's range (CalculateActivationRange for int32). */
#ifndef MDL_BINARY_S32_H
#define MDL_BINARY_S32_H

#include "mdl_node.h"

#define MDL_BINARY_S32_ADD 0
#define MDL_BINARY_S32_SUB 1
#define MDL_BINARY_S32_MUL 2

#define MDL_BINARY_S32_PARAMS(F, A)                                         \
  A(dims, 6)        /* output shape, outermost first (>= 0 each) */          \
  A(in1_strides, 6) /* input1 element stride per dim, 0 where broadcast */   \
  A(in2_strides, 6) /* input2 element stride per dim, 0 where broadcast */   \
  F(op)             /* MDL_BINARY_S32_ADD, _SUB or _MUL */                   \
  F(act_min)        /* fused activation range */                             \
  F(act_max)
MDL_DECLARE_PARAMS(mdl_binary_s32_params, MDL_BINARY_S32_PARAMS)

mdl_status mdl_binary_s32(const mdl_binary_s32_params* p, const int32_t* in1,
                          const int32_t* in2, int32_t* out);

/* Node: in = {input1, input2}. */
mdl_status mdl_node_binary_s32(const mdl_node* node);

#endif
