/* ADD and SUB, int8 and int16 activations, with broadcasting (TFLite reference
 * AddElementwise / BroadcastAdd6DSlow and SubElementwise / BroadcastQuantSubSlow:
 * both inputs are rescaled to a common fixed-point scale with `left_shift` bits of
 * headroom, added or subtracted, and requantized to the output).
 *
 * int8 fast path (double rounding, the parameters every int8 ADD / SUB prepare makes:
 * left_shift 20, input multipliers below one): rows whose inputs have element stride 1
 * or 0 (not both 0) run through the s8-vadd microkernels (cext/src/ukernels/, AVX2 or
 * NEON where the CPU has it, else the portable twin; `ukernel` of the params), with the
 * same bits as add_one.  Other rows, and every parameter set outside that range, take
 * the scalar add_one. */
#include "mdl_elementwise.h"
#include "mdl_fixedpoint.h"
#include "mdl_requantize_vec.h"
#include "mdl_ukernels.h"

/* One output value from two raw input values; `q` is a local copy of the params. */
MDL_INLINE int32_t add_one(const mdl_add_params* q, int32_t a, int32_t b,
                           int32_t subtract) {
  const int32_t x1 = mdl_requantize_r(mdl_shl_wrap(a + q->input1_offset, q->left_shift),
                                      q->input1_multiplier, q->input1_shift, q->rounding);
  const int32_t x2 = mdl_requantize_r(mdl_shl_wrap(b + q->input2_offset, q->left_shift),
                                      q->input2_multiplier, q->input2_shift, q->rounding);
  const int32_t raw = subtract ? x1 - x2 : x1 + x2;
  const int32_t out = mdl_add_wrap(mdl_requantize_r(raw, q->output_multiplier,
                                                    q->output_shift, q->rounding),
                                   q->output_offset);
  return mdl_clamp(out, q->act_min, q->act_max);
}

/* ------------------------------------------------------------ int8 fast path */
/* Nonzero (and *f filled for the s8-vadd microkernels, operand a = input1) when the
 * int8 fast path gives add_one's bits for p: double rounding, input offsets within
 * +-255 (so |in + offset| < 2^9) and input scalings in mdl_small_scale's range. */
static int add_fast_init(mdl_s8_vadd_params* f, const mdl_add_params* p,
                         int32_t subtract) {
  mdl_small_scale s1, s2;
  if (p->rounding != MDL_ROUNDING_DOUBLE) return 0;
  if (p->input1_offset < -255 || p->input1_offset > 255 || p->input2_offset < -255 ||
      p->input2_offset > 255 || p->output_shift < -31 || p->output_shift > 31) {
    return 0;
  }
  if (!mdl_small_scale_init(&s1, p->left_shift, p->input1_multiplier, p->input1_shift) ||
      !mdl_small_scale_init(&s2, p->left_shift, p->input2_multiplier, p->input2_shift)) {
    return 0;
  }
  f->a_offset = p->input1_offset;
  f->a_hi = s1.hi;
  f->a_lo = s1.lo;
  f->a_right = s1.right;
  f->b_offset = p->input2_offset;
  f->b_hi = s2.hi;
  f->b_lo = s2.lo;
  f->b_right = s2.right;
  f->k = s1.k;
  f->round = s1.round;
  f->out_multiplier = p->output_multiplier;
  f->out_shift = p->output_shift;
  f->out_offset = p->output_offset;
  f->act_min = p->act_min;
  f->act_max = p->act_max;
  f->mode = subtract ? 1 : 0;
  f->b_stride = 1;
  return 1;
}

typedef void (*vadd_fn)(int32_t n, const int8_t* a, const int8_t* b,
                        const mdl_s8_vadd_params* p, int8_t* out);

/* The s8-vadd microkernel p->ukernel names that this CPU runs (the one dispatch rule:
 * AVX2 by __builtin_cpu_supports, NEON by mdl_cpu_has_neon), else the portable twin. */
static vadd_fn vadd_ukernel(const mdl_add_params* p) {
  if (p->ukernel == MDL_ADD_UKERNEL_C) return mdl_s8_vadd_ukernel_x16__c;
#ifdef MDL_HAVE_AVX2_UKERNELS
  if (__builtin_cpu_supports("avx2")) return mdl_s8_vadd_ukernel_x16__avx2;
#endif
#ifdef MDL_HAVE_NEON_UKERNELS
  if (mdl_cpu_has_neon()) return mdl_s8_vadd_ukernel_x16__neon;
#endif
  return mdl_s8_vadd_ukernel_x16__c;
}

/* The microkernel parameters of a row with input strides s1, s2 (0 or 1, not both 0):
 * the vector operand first (a), a broadcast one second (b_stride 0), SUB's order kept
 * by the mode. */
static void vadd_row_params(const mdl_s8_vadd_params* f, int32_t s1,
                            mdl_s8_vadd_params* out) {
  *out = *f;
  if (s1 == 0) { /* input1 is the broadcast one: swap the operands */
    out->a_offset = f->b_offset;
    out->a_hi = f->b_hi;
    out->a_lo = f->b_lo;
    out->a_right = f->b_right;
    out->b_offset = f->a_offset;
    out->b_hi = f->a_hi;
    out->b_lo = f->a_lo;
    out->b_right = f->a_right;
    out->mode = f->mode == 1 ? 2 : f->mode;
    out->b_stride = 0;
  }
}

static mdl_status add_s8_impl(const mdl_add_params* p, const int8_t* input1,
                              const int8_t* input2, int8_t* output, int32_t subtract) {
  const mdl_add_params q = *p; /* output stores may alias p; keep the fields local */
  if (q.ukernel != MDL_ADD_UKERNEL_BEST && q.ukernel != MDL_ADD_UKERNEL_C) {
    return MDL_ERR_BAD_PARAM;
  }
  const size_t rows = mdl_bcast_rows(q.dims);
  const int32_t n = q.dims[MDL_BCAST_DIMS - 1];
  const int32_t s1 = q.in1_strides[MDL_BCAST_DIMS - 1];
  const int32_t s2 = q.in2_strides[MDL_BCAST_DIMS - 1];
  mdl_s8_vadd_params f = {0}, rp = {0}; /* only read when fast */
  const int fast = (s1 == 0 || s1 == 1) && (s2 == 0 || s2 == 1) && (s1 | s2) &&
                   add_fast_init(&f, &q, subtract);
  const vadd_fn vadd = fast ? vadd_ukernel(&q) : 0;
  if (fast) {
    if (s2 == 0) f.b_stride = 0;
    vadd_row_params(&f, s1, &rp);
  }
  mdl_bcast_iter it;
  mdl_bcast_begin(&it);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* a = input1 + it.offset1;
    const int8_t* b = input2 + it.offset2;
    if (fast) {
      if (s1) {
        vadd(n, a, b, &rp, output);
      } else {
        vadd(n, b, a, &rp, output);
      }
    } else {
      for (int32_t i = 0; i < n; ++i) {
        output[i] =
            (int8_t)add_one(&q, a[(ptrdiff_t)i * s1], b[(ptrdiff_t)i * s2], subtract);
      }
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
