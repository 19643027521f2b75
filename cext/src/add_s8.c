/* ADD and SUB, int8 and int16 activations, with broadcasting (TFLite reference
 * AddElementwise / BroadcastAdd6DSlow and SubElementwise / BroadcastQuantSubSlow:
 * both inputs are rescaled to a common fixed-point scale with `left_shift` bits of
 * headroom, added or subtracted, and requantized to the output).
 *
 * int8 fast path (double rounding, the parameters every int8 ADD / SUB prepare makes:
 * left_shift 20, input multipliers below one): rows whose inputs have element stride 1
 * or 0 run through loops that compilers vectorize, the input rescaling in 32-bit lanes
 * (mdl_small_scale_apply) and the output requantization branch-free
 * (mdl_requantize_clamp_vec), with the same bits as add_one.  Other rows, and every
 * parameter set outside that range, take the scalar add_one. */
#include "mdl_elementwise.h"
#include "mdl_fixedpoint.h"
#include "mdl_requantize_vec.h"

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
#define ADD_CHUNK 128 /* elements per pass through the vector loops */

typedef struct {
  mdl_small_scale s1, s2;
  int32_t off1, off2;     /* input offsets, |off| <= 255 */
  int32_t out_mult, out_shift, out_offset, lo, hi;
  int32_t subtract;
} add_fast;

/* Nonzero (and *f filled) when the int8 fast path gives add_one's bits for p: double
 * rounding, input offsets within +-255 (so |in + offset| < 2^9) and input scalings in
 * mdl_small_scale's range. */
static int add_fast_init(add_fast* f, const mdl_add_params* p, int32_t subtract) {
  if (p->rounding != MDL_ROUNDING_DOUBLE) return 0;
  if (p->input1_offset < -255 || p->input1_offset > 255 || p->input2_offset < -255 ||
      p->input2_offset > 255 || p->output_shift < -31 || p->output_shift > 31) {
    return 0;
  }
  if (!mdl_small_scale_init(&f->s1, p->left_shift, p->input1_multiplier,
                            p->input1_shift) ||
      !mdl_small_scale_init(&f->s2, p->left_shift, p->input2_multiplier,
                            p->input2_shift)) {
    return 0;
  }
  f->off1 = p->input1_offset;
  f->off2 = p->input2_offset;
  f->out_mult = p->output_multiplier;
  f->out_shift = p->output_shift;
  f->out_offset = p->output_offset;
  f->lo = p->act_min;
  f->hi = p->act_max;
  f->subtract = subtract;
  return 1;
}

/* The rescaled input value of one int8 element (add_one's x1 / x2). */
MDL_INLINE int32_t fast_scale(int32_t x, int32_t off, const mdl_small_scale* s) {
  return mdl_small_scale_apply(x + off, s->hi, s->lo, s->k, s->round, s->right);
}

/* out[i] = add_one(a[i * sa], b[i * sb]) for i < n <= ADD_CHUNK, strides 0 or 1. */
MDL_INLINE void add_chunk(const add_fast* f, const int8_t* MDL_RESTRICT a, int32_t sa,
                          const int8_t* MDL_RESTRICT b, int32_t sb, int32_t n,
                          int8_t* MDL_RESTRICT out) {
  int32_t x1[ADD_CHUNK], x2[ADD_CHUNK];
  /* Widening loops (vectorized over the int8 loads), then one loop over int32 lanes
   * only, so that its vectorization factor is 8 per AVX2 register rather than 32. */
  if (sa) {
    for (int32_t i = 0; i < n; ++i) x1[i] = a[i];
  } else {
    for (int32_t i = 0; i < n; ++i) x1[i] = a[0];
  }
  if (sb) {
    for (int32_t i = 0; i < n; ++i) x2[i] = b[i];
  } else {
    for (int32_t i = 0; i < n; ++i) x2[i] = b[0];
  }
  const mdl_small_scale s1 = f->s1, s2 = f->s2;
  const int32_t off1 = f->off1, off2 = f->off2;
  const int32_t m = f->out_mult, sh = f->out_shift, zo = f->out_offset;
  const int32_t lo = f->lo, hi = f->hi;
  if (f->subtract) {
    for (int32_t i = 0; i < n; ++i) {
      const int32_t raw = (int32_t)((uint32_t)fast_scale(x1[i], off1, &s1) -
                                    (uint32_t)fast_scale(x2[i], off2, &s2));
      x1[i] = mdl_requantize_clamp_vec(raw, m, sh, zo, lo, hi);
    }
  } else {
    for (int32_t i = 0; i < n; ++i) {
      const int32_t raw = (int32_t)((uint32_t)fast_scale(x1[i], off1, &s1) +
                                    (uint32_t)fast_scale(x2[i], off2, &s2));
      x1[i] = mdl_requantize_clamp_vec(raw, m, sh, zo, lo, hi);
    }
  }
  for (int32_t i = 0; i < n; ++i) out[i] = (int8_t)x1[i];
}

/* One output row of n elements, input strides 0 or 1. */
MDL_MULTIVERSION static void add_row_fast(const add_fast* f, const int8_t* a, int32_t sa,
                                          const int8_t* b, int32_t sb, int32_t n,
                                          int8_t* out) {
  for (int32_t i = 0; i < n; i += ADD_CHUNK) {
    const int32_t c = n - i < ADD_CHUNK ? n - i : ADD_CHUNK;
    add_chunk(f, a + (ptrdiff_t)i * sa, sa, b + (ptrdiff_t)i * sb, sb, c, out + i);
  }
}

static mdl_status add_s8_impl(const mdl_add_params* p, const int8_t* input1,
                              const int8_t* input2, int8_t* output, int32_t subtract) {
  const mdl_add_params q = *p; /* output stores may alias p; keep the fields local */
  const size_t rows = mdl_bcast_rows(q.dims);
  const int32_t n = q.dims[MDL_BCAST_DIMS - 1];
  const int32_t s1 = q.in1_strides[MDL_BCAST_DIMS - 1];
  const int32_t s2 = q.in2_strides[MDL_BCAST_DIMS - 1];
  add_fast f = {0}; /* only read when fast; zeroed for -Wmaybe-uninitialized */
  const int fast = (s1 == 0 || s1 == 1) && (s2 == 0 || s2 == 1) &&
                   add_fast_init(&f, &q, subtract);
  mdl_bcast_iter it;
  mdl_bcast_begin(&it);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* a = input1 + it.offset1;
    const int8_t* b = input2 + it.offset2;
    if (fast) {
      add_row_fast(&f, a, s1, b, s2, n, output);
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
