/* ADD and SUB, int8 and int16 activations, with broadcasting (TFLite reference
 * AddElementwise / BroadcastAdd6DSlow and SubElementwise / BroadcastQuantSubSlow:
 * both inputs are rescaled to a common fixed-point scale with `left_shift` bits of
 * headroom, added or subtracted, and requantized to the output). */
#include "mdl_elementwise.h"
#include "mdl_fixedpoint.h"

/* One output value from two raw input values; `q` is a local copy of the params. */
MDL_INLINE int32_t add_one(const mdl_add_params* q, int32_t a, int32_t b,
                           int32_t subtract) {
  const int32_t x1 = mdl_requantize_r(mdl_shl_wrap(a + q->input1_offset, q->left_shift),
                                      q->input1_multiplier, q->input1_shift, q->rounding);
  const int32_t x2 = mdl_requantize_r(mdl_shl_wrap(b + q->input2_offset, q->left_shift),
                                      q->input2_multiplier, q->input2_shift, q->rounding);
  const int32_t raw = subtract ? x1 - x2 : x1 + x2;
  const int32_t out = mdl_requantize_r(raw, q->output_multiplier, q->output_shift,
                                       q->rounding) + q->output_offset;
  return mdl_clamp(out, q->act_min, q->act_max);
}

static mdl_status add_s8_impl(const mdl_add_params* p, const int8_t* input1,
                              const int8_t* input2, int8_t* output, int32_t subtract) {
  const mdl_add_params q = *p; /* output stores may alias p; keep the fields local */
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
      output[i] = (int8_t)add_one(&q, a[(ptrdiff_t)i * s1], b[(ptrdiff_t)i * s2], subtract);
    }
    output += n;
    mdl_bcast_next(&it, q.dims, q.in1_strides, q.in2_strides);
  }
  return MDL_OK;
}

static mdl_status add_s16_impl(const mdl_add_params* p, const int16_t* input1,
                               const int16_t* input2, int16_t* output, int32_t subtract) {
  const mdl_add_params q = *p;
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
      output[i] = (int16_t)add_one(&q, a[(ptrdiff_t)i * s1], b[(ptrdiff_t)i * s2], subtract);
    }
    output += n;
    mdl_bcast_next(&it, q.dims, q.in1_strides, q.in2_strides);
  }
  return MDL_OK;
}

mdl_status mdl_add_s8(const mdl_add_params* p, const int8_t* input1, const int8_t* input2,
                      int8_t* output) {
  return add_s8_impl(p, input1, input2, output, 0);
}

mdl_status mdl_sub_s8(const mdl_add_params* p, const int8_t* input1, const int8_t* input2,
                      int8_t* output) {
  return add_s8_impl(p, input1, input2, output, 1);
}

mdl_status mdl_add_s16(const mdl_add_params* p, const int16_t* input1,
                       const int16_t* input2, int16_t* output) {
  return add_s16_impl(p, input1, input2, output, 0);
}

mdl_status mdl_sub_s16(const mdl_add_params* p, const int16_t* input1,
                       const int16_t* input2, int16_t* output) {
  return add_s16_impl(p, input1, input2, output, 1);
}

mdl_status mdl_node_add_s8(const mdl_node* n) {
  return mdl_add_s8((const mdl_add_params*)n->params, (const int8_t*)n->in[0],
                    (const int8_t*)n->in[1], (int8_t*)n->out);
}

mdl_status mdl_node_sub_s8(const mdl_node* n) {
  return mdl_sub_s8((const mdl_add_params*)n->params, (const int8_t*)n->in[0],
                    (const int8_t*)n->in[1], (int8_t*)n->out);
}

mdl_status mdl_node_add_s16(const mdl_node* n) {
  return mdl_add_s16((const mdl_add_params*)n->params, (const int16_t*)n->in[0],
                     (const int16_t*)n->in[1], (int16_t*)n->out);
}

mdl_status mdl_node_sub_s16(const mdl_node* n) {
  return mdl_sub_s16((const mdl_add_params*)n->params, (const int16_t*)n->in[0],
                     (const int16_t*)n->in[1], (int16_t*)n->out);
}
