/* MUL, int8 and int16 activations, with broadcasting (TFLite reference_integer_ops
 * MulElementwise / BroadcastMul6DSlow: the product of the zero-point-corrected inputs
 * is requantized once to the output). */
#include "mdl_elementwise.h"
#include "mdl_fixedpoint.h"

MDL_INLINE int32_t mul_one(const mdl_mul_params* q, int32_t a, int32_t b) {
  /* |product| <= 255 * 255 (int8) or 2^30 (int16, zero points 0): no overflow. */
  const int32_t prod = (a + q->input1_offset) * (b + q->input2_offset);
  const int32_t out = mdl_add_wrap(mdl_requantize_r(prod, q->output_multiplier,
                                                    q->output_shift, q->rounding),
                                   q->output_offset);
  return mdl_clamp(out, q->act_min, q->act_max);
}

mdl_status mdl_mul_s8(const mdl_mul_params* p, const int8_t* input1, const int8_t* input2,
                      int8_t* output) {
  const mdl_mul_params q = *p; /* output stores may alias p; keep the fields local */
  const size_t rows = mdl_bcast_rows(q.dims);
  const int32_t n = q.dims[MDL_BCAST_DIMS - 1];
  const int32_t s1 = q.in1_strides[MDL_BCAST_DIMS - 1];
  const int32_t s2 = q.in2_strides[MDL_BCAST_DIMS - 1];
  mdl_bcast_iter it;
  mdl_bcast_begin(&it);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* a = input1 + it.offset1;
    const int8_t* b = input2 + it.offset2;
    for (int32_t i = 0; i < n; ++i) {
      output[i] = (int8_t)mul_one(&q, a[(ptrdiff_t)i * s1], b[(ptrdiff_t)i * s2]);
    }
    output += n;
    mdl_bcast_next(&it, q.dims, q.in1_strides, q.in2_strides);
  }
  return MDL_OK;
}

mdl_status mdl_mul_s16(const mdl_mul_params* p, const int16_t* input1,
                       const int16_t* input2, int16_t* output) {
  const mdl_mul_params q = *p;
  const size_t rows = mdl_bcast_rows(q.dims);
  const int32_t n = q.dims[MDL_BCAST_DIMS - 1];
  const int32_t s1 = q.in1_strides[MDL_BCAST_DIMS - 1];
  const int32_t s2 = q.in2_strides[MDL_BCAST_DIMS - 1];
  mdl_bcast_iter it;
  mdl_bcast_begin(&it);
  for (size_t r = 0; r < rows; ++r) {
    const int16_t* a = input1 + it.offset1;
    const int16_t* b = input2 + it.offset2;
    for (int32_t i = 0; i < n; ++i) {
      output[i] = (int16_t)mul_one(&q, a[(ptrdiff_t)i * s1], b[(ptrdiff_t)i * s2]);
    }
    output += n;
    mdl_bcast_next(&it, q.dims, q.in1_strides, q.in2_strides);
  }
  return MDL_OK;
}

mdl_status mdl_node_mul_s8(const mdl_node* n) {
  return mdl_mul_s8((const mdl_mul_params*)n->params, (const int8_t*)n->in[0],
                    (const int8_t*)n->in[1], (int8_t*)n->out);
}

mdl_status mdl_node_mul_s16(const mdl_node* n) {
  return mdl_mul_s16((const mdl_mul_params*)n->params, (const int16_t*)n->in[0],
                     (const int16_t*)n->in[1], (int16_t*)n->out);
}
