/* SQUARED_DIFFERENCE, PRELU, L2_NORMALIZATION, LOG_SOFTMAX and BATCH_MATMUL
 * (mdl_arith.h). */
#include <math.h>

#include "mdl_arith.h"
#include "mdl_conv.h" /* mdl_requantize64 */
#include "mdl_fixedpoint.h"
#include "mdl_gemmlowp.h"

#define NDIMS 6

/* Calls row(ctx, off, n) once per innermost row of the broadcast box `dims`, off[k]
 * the element offset of operand k (k < 2) at the row's start. */
typedef void (*row_fn)(void* ctx, const ptrdiff_t* off, int32_t n);

static void walk_rows(const int32_t* dims, const int32_t* s0, const int32_t* s1,
                      void* ctx, row_fn row) {
  for (int d = 0; d < NDIMS; ++d) {
    if (dims[d] <= 0) return;
  }
  int32_t idx[NDIMS - 1] = {0, 0, 0, 0, 0};
  ptrdiff_t off[2] = {0, 0};
  for (;;) {
    row(ctx, off, dims[NDIMS - 1]);
    int d = NDIMS - 2;
    for (; d >= 0; --d) {
      off[0] += s0[d];
      off[1] += s1[d];
      if (++idx[d] < dims[d]) break;
      off[0] -= (ptrdiff_t)s0[d] * dims[d];
      off[1] -= (ptrdiff_t)s1[d] * dims[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

/* ----------------------------------------------------------- squared difference */
typedef struct {
  const mdl_squared_difference_params* p;
  const int8_t *a, *b;
  int8_t* out;
} sqdiff_ctx;

static void sqdiff_row(void* vctx, const ptrdiff_t* off, int32_t n) {
  sqdiff_ctx* c = (sqdiff_ctx*)vctx;
  const mdl_squared_difference_params* p = c->p;
  const ptrdiff_t sa = p->in1_strides[NDIMS - 1], sb = p->in2_strides[NDIMS - 1];
  const int32_t r = p->rounding;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t x = (c->a[off[0] + i * sa] + p->input1_offset) * (1 << p->left_shift);
    const int32_t y = (c->b[off[1] + i * sb] + p->input2_offset) * (1 << p->left_shift);
    const int32_t sx = mdl_requantize_r(x, p->input1_multiplier, p->input1_shift, r);
    const int32_t sy = mdl_requantize_r(y, p->input2_multiplier, p->input2_shift, r);
    const int32_t d = sx - sy; /* |d| < 2^15: the square fits int32 */
    const int32_t v =
        mdl_requantize_r(d * d, p->output_multiplier, p->output_shift, r) + p->output_offset;
    c->out[i] = (int8_t)mdl_clamp(v, INT8_MIN, INT8_MAX);
  }
  c->out += n;
}

mdl_status mdl_squared_difference_s8(const mdl_squared_difference_params* p,
                                     const int8_t* in1, const int8_t* in2, int8_t* out) {
  sqdiff_ctx c = {p, in1, in2, out};
  walk_rows(p->dims, p->in1_strides, p->in2_strides, &c, sqdiff_row);
  return MDL_OK;
}

mdl_status mdl_node_squared_difference_s8(const mdl_node* n) {
  return mdl_squared_difference_s8((const mdl_squared_difference_params*)n->params,
                                   (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                                   (int8_t*)n->out);
}

/* ------------------------------------------------------------------------ prelu */
typedef struct {
  const mdl_prelu_params* p;
  const int8_t *x, *alpha;
  int8_t* out;
} prelu_ctx;

static void prelu_row(void* vctx, const ptrdiff_t* off, int32_t n) {
  prelu_ctx* c = (prelu_ctx*)vctx;
  const mdl_prelu_params* p = c->p;
  const ptrdiff_t sx = p->in_strides[NDIMS - 1], sa = p->alpha_strides[NDIMS - 1];
  for (int32_t i = 0; i < n; ++i) {
    const int32_t x = p->input_offset + c->x[off[0] + i * sx];
    int32_t v;
    if (x >= 0) {
      v = mdl_requantize_r(x, p->multiplier_1, p->shift_1, p->rounding);
    } else {
      const int32_t a = p->alpha_offset + c->alpha[off[1] + i * sa];
      v = mdl_requantize_r(x * a, p->multiplier_2, p->shift_2, p->rounding);
    }
    c->out[i] = (int8_t)mdl_clamp(mdl_add_wrap(v, p->output_offset), INT8_MIN, INT8_MAX);
  }
  c->out += n;
}

mdl_status mdl_prelu_s8(const mdl_prelu_params* p, const int8_t* input,
                        const int8_t* alpha, int8_t* out) {
  prelu_ctx c = {p, input, alpha, out};
  walk_rows(p->dims, p->in_strides, p->alpha_strides, &c, prelu_row);
  return MDL_OK;
}

mdl_status mdl_node_prelu_s8(const mdl_node* n) {
  return mdl_prelu_s8((const mdl_prelu_params*)n->params, (const int8_t*)n->in[0],
                      (const int8_t*)n->in[1], (int8_t*)n->out);
}

/* -------------------------------------------------------- fixed-point helpers */
/* gemmlowp SaturatingRoundingMultiplyByPOT with exponent in [0, 31]. */
MDL_INLINE int32_t sat_pot(int32_t x, int32_t exponent) {
  if (exponent == 0) return x;
  if (exponent >= 31) return x > 0 ? INT32_MAX : (x < 0 ? INT32_MIN : 0);
  return mdl_sat_shl(x, exponent);
}

MDL_INLINE int32_t sat_add(int32_t a, int32_t b) {
  const int64_t s = (int64_t)a + b;
  return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

MDL_INLINE int32_t sat_sub(int32_t a, int32_t b) {
  const int64_t s = (int64_t)a - b;
  return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

#define SRDHM mdl_sat_rounding_doubling_high_mul

void mdl_inv_sqrt_multiplier_exp(int32_t input, int32_t reverse_shift,
                                 int32_t* multiplier, int32_t* shift) {
  if (input <= 1) {
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  int32_t s = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    ++s;
  }
  const int32_t max_left_shift_bits = mdl_clz32((uint32_t)input) - 1;
  const int32_t pairs = max_left_shift_bits / 2 - 1;
  s -= pairs;
  input = mdl_shl_wrap(input, 2 * pairs);
  /* Q3.28 Newton-Raphson for 1 / sqrt(input / 2^28 ... ) from x = 1. */
  const int32_t fx_input = input >> 1;
  const int32_t half_input = mdl_rounding_divide_by_pot(fx_input, 1);
  const int32_t half_three = (1 << 28) + (1 << 27);
  int32_t x = 1 << 28;
  for (int i = 0; i < 5; ++i) {
    const int32_t x3 = sat_pot(SRDHM(SRDHM(x, x), x), 6);
    x = sat_pot(mdl_sub_wrap(SRDHM(half_three, x), SRDHM(half_input, x3)), 3);
  }
  x = SRDHM(x, 1518500250); /* * sqrt(2) / 2 */
  if (s < 0) {
    x = mdl_shl_wrap(x, -s);
    s = 0;
  }
  *multiplier = x;
  *shift = s * reverse_shift;
}

int32_t mdl_log_q12_to_q5(int32_t z_a) {
  const int32_t in_bits = 12, accum_bits = 6; /* output bits 5, plus one of headroom */
  const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301;
  const int32_t sqrt_half = 1518500250;
  const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769;
  const int32_t alpha_f = 638450708;
  const int32_t shifted_quarter = mdl_rounding_divide_by_pot(536870912, accum_bits);

  const int32_t z_a_headroom_plus_1 = mdl_clz32((uint32_t)z_a);
  const int32_t r_a_tmp = sat_pot(z_a, z_a_headroom_plus_1 - 1);
  const int32_t r_a_raw = sat_pot(SRDHM(r_a_tmp, sqrt_half), 1);
  const int32_t z_a_pow_2_adj =
      sat_add(sat_pot(in_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter);

  const int32_t z_b = SRDHM(z_a, sqrt_half);
  const int32_t z_b_headroom = mdl_clz32((uint32_t)z_b) - 1;
  const int32_t r_b_raw = sat_pot(z_a, z_b_headroom);
  const int32_t z_b_pow_2_adj =
      sat_sub(sat_pot(in_bits - z_b_headroom, 31 - accum_bits), shifted_quarter);

  const int32_t r = r_a_raw < r_b_raw ? r_a_raw : r_b_raw;
  const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;

  const int32_t p = mdl_rounding_half_sum(r, sqrt_sqrt_half);
  int32_t q = mdl_sub_wrap(r, sqrt_sqrt_half);
  q = mdl_add_wrap(q, q);
  const int32_t common_sq = SRDHM(q, q);
  const int32_t num = mdl_add_wrap(SRDHM(q, r), SRDHM(SRDHM(q, common_sq), alpha_n));
  const int32_t denom_minus_one =
      mdl_add_wrap(SRDHM(p, mdl_add_wrap(mdl_add_wrap(alpha_i, q), SRDHM(alpha_d, common_sq))),
                   SRDHM(alpha_f, q));
  const int32_t recip_denom = mdl_one_over_one_plus_x(denom_minus_one);
  const int32_t num_scaled = mdl_rounding_divide_by_pot(num, accum_bits);
  const int32_t sum = mdl_add_wrap(SRDHM(z_pow_2_adj, log_2), SRDHM(num_scaled, recip_denom));
  return sat_pot(sum, accum_bits - 5);
}

/* ---------------------------------------------------------------- l2 norm */
mdl_status mdl_l2norm_s8(const mdl_l2norm_params* p, const int8_t* input, int8_t* out) {
  const int32_t depth = p->depth, zp = p->input_zero_point;
  for (int32_t o = 0; o < p->outer; ++o) {
    const int8_t* row = input + (size_t)o * (size_t)depth;
    int8_t* dst = out + (size_t)o * (size_t)depth;
    int32_t acc = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t v = row[c] - zp;
      acc = mdl_add_wrap(acc, v * v);
    }
    int32_t m, s;
    mdl_inv_sqrt_multiplier_exp(acc, -1, &m, &s);
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t v = mdl_requantize_r(row[c] - zp, m, s + 7, p->rounding);
      dst[c] = (int8_t)mdl_clamp(v, INT8_MIN, INT8_MAX);
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_l2norm_s8(const mdl_node* n) {
  return mdl_l2norm_s8((const mdl_l2norm_params*)n->params, (const int8_t*)n->in[0],
                       (int8_t*)n->out);
}

/* ------------------------------------------------------------ log softmax */
mdl_status mdl_log_softmax_s8(const mdl_log_softmax_params* p, const int32_t* q5,
                              const int32_t* exp12, const int8_t* input, int8_t* out) {
  const int32_t depth = p->depth;
  for (int32_t o = 0; o < p->outer; ++o) {
    const int8_t* row = input + (size_t)o * (size_t)depth;
    int8_t* dst = out + (size_t)o * (size_t)depth;
    int32_t max = INT8_MIN;
    for (int32_t c = 0; c < depth; ++c) max = row[c] > max ? row[c] : max;
    int32_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) sum = mdl_add_wrap(sum, exp12[max - row[c]]);
    const int32_t log_sum = mdl_log_q12_to_q5(sum);
    const int32_t shifted = mdl_add_wrap(log_sum, INT32_MIN);
    int32_t adjusted = mdl_requantize_r(shifted, p->reverse_scaling_divisor,
                                        p->reverse_scaling_shift, p->rounding);
    if (p->diff_min - 1 > adjusted) adjusted = p->diff_min - 1;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t k = max - row[c];
      if (-k > adjusted) {
        const int32_t v =
            mdl_rounding_divide_by_pot(mdl_sub_wrap(q5[k], log_sum), 31 - 5 - 4) + 127;
        dst[c] = (int8_t)mdl_clamp(v, INT8_MIN, INT8_MAX);
      } else {
        dst[c] = INT8_MIN;
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_log_softmax_s8(const mdl_node* n) {
  return mdl_log_softmax_s8((const mdl_log_softmax_params*)n->params,
                            (const int32_t*)n->in[1], (const int32_t*)n->in[2],
                            (const int8_t*)n->in[0], (int8_t*)n->out);
}

/* ----------------------------------------------------------- batch matmul */
/* Element offsets of batch (b[0], .., b[3])'s LHS and RHS matrices (broadcast
 * batch dimensions have stride 0). */
static void bmm_bases(const mdl_batch_matmul_params* p, const int32_t b[4], ptrdiff_t* lb,
                      ptrdiff_t* rb) {
  *lb = *rb = 0;
  for (int32_t d = 0; d < 4; ++d) {
    *lb += (ptrdiff_t)b[d] * p->lhs_batch_strides[d];
    *rb += (ptrdiff_t)b[d] * p->rhs_batch_strides[d];
  }
}

mdl_status mdl_batch_matmul(const mdl_batch_matmul_params* p, const void* lhs,
                            const void* rhs, void* out) {
  const int32_t* bd = p->batch_dims;
  size_t o = 0;
  for (int32_t b0 = 0; b0 < bd[0]; ++b0)
    for (int32_t b1 = 0; b1 < bd[1]; ++b1)
      for (int32_t b2 = 0; b2 < bd[2]; ++b2)
        for (int32_t b3 = 0; b3 < bd[3]; ++b3) {
          const int32_t bi[4] = {b0, b1, b2, b3};
          ptrdiff_t lb, rb;
          bmm_bases(p, bi, &lb, &rb);
          for (int32_t i = 0; i < p->rows; ++i) {
            for (int32_t j = 0; j < p->cols; ++j, ++o) {
              const ptrdiff_t l0 = lb + (ptrdiff_t)i * p->lhs_row_stride;
              const ptrdiff_t r0 = rb + (ptrdiff_t)j * p->rhs_col_stride;
              if (p->is_s16) {
                const int16_t* L = (const int16_t*)lhs;
                const int16_t* R = (const int16_t*)rhs;
                int64_t acc = 0;
                for (int32_t k = 0; k < p->accum_depth; ++k) {
                  acc += (int64_t)L[l0 + (ptrdiff_t)k * p->lhs_depth_stride] *
                         R[r0 + (ptrdiff_t)k * p->rhs_depth_stride];
                }
                const int32_t v = mdl_add_wrap(
                    mdl_requantize64(acc, p->multiplier, p->shift), p->output_offset);
                ((int16_t*)out)[o] = (int16_t)mdl_clamp(v, INT16_MIN, INT16_MAX);
              } else {
                const int8_t* L = (const int8_t*)lhs;
                const int8_t* R = (const int8_t*)rhs;
                int32_t acc = 0;
                for (int32_t k = 0; k < p->accum_depth; ++k) {
                  const int32_t a = L[l0 + (ptrdiff_t)k * p->lhs_depth_stride] + p->lhs_offset;
                  const int32_t w = R[r0 + (ptrdiff_t)k * p->rhs_depth_stride] + p->rhs_offset;
                  acc = mdl_add_wrap(acc, a * w);
                }
                const int32_t v = mdl_add_wrap(
                    mdl_requantize_r(acc, p->multiplier, p->shift, p->rounding),
                    p->output_offset);
                ((int8_t*)out)[o] = (int8_t)mdl_clamp(v, INT8_MIN, INT8_MAX);
              }
            }
          }
        }
  return MDL_OK;
}

mdl_status mdl_node_batch_matmul(const mdl_node* n) {
  return mdl_batch_matmul((const mdl_batch_matmul_params*)n->params, n->in[0], n->in[1],
                          n->out);
}

/* ------------------------------------------------------------------ floor */
mdl_status mdl_floor_f32(const mdl_floor_f32_params* p, const float* input, float* out) {
  for (int32_t i = 0; i < p->size; ++i) out[i] = floorf(input[i]);
  return MDL_OK;
}

mdl_status mdl_node_floor_f32(const mdl_node* n) {
  return mdl_floor_f32((const mdl_floor_f32_params*)n->params, (const float*)n->in[0],
                       (float*)n->out);
}

/* --------------------------------------------------------------- int16 LUT */
mdl_status mdl_lut_s16(const mdl_lut_s16_params* p, const int16_t* table,
                       const int16_t* input, int16_t* out) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = input[i];
    const int32_t index = 256 + (v >> 7); /* arithmetic shift: 0..511 */
    const int32_t offset = v & 0x7f;
    const int32_t base = table[index];
    const int32_t slope = table[index + 1] - base;
    out[i] = (int16_t)(base + ((slope * offset + 64) >> 7));
  }
  return MDL_OK;
}

mdl_status mdl_node_lut_s16(const mdl_node* n) {
  return mdl_lut_s16((const mdl_lut_s16_params*)n->params, (const int16_t*)n->in[1],
                     (const int16_t*)n->in[0], (int16_t*)n->out);
}

/* ------------------------------------------------------ int16 RSQRT (Micro) */
mdl_status mdl_rsqrt_s16(const mdl_rsqrt_s16_params* p, const int16_t* input,
                         int16_t* out) {
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = input[i] - p->input_zero_point;
    if (v == 0) {
      out[i] = INT16_MAX;
      continue;
    }
    int32_t m, s;
    mdl_inv_sqrt_multiplier_exp(v, -1, &m, &s);
    const int32_t d = mdl_requantize_r(1, m, s + 20, p->rounding);
    const int32_t o = mdl_add_wrap(mdl_requantize_r(d, p->multiplier, p->shift - 20,
                                                    p->rounding),
                                   p->output_zero_point);
    out[i] = (int16_t)mdl_clamp(o, INT16_MIN, INT16_MAX);
  }
  return MDL_OK;
}

mdl_status mdl_node_rsqrt_s16(const mdl_node* n) {
  return mdl_rsqrt_s16((const mdl_rsqrt_s16_params*)n->params, (const int16_t*)n->in[0],
                       (int16_t*)n->out);
}

/* --------------------------------------------------------- float32 forms */
typedef struct {
  const float *x, *alpha;
  float* out;
  ptrdiff_t sx, sa;
} prelu_f32_ctx;

static void prelu_f32_row(void* vctx, const ptrdiff_t* off, int32_t n) {
  prelu_f32_ctx* c = (prelu_f32_ctx*)vctx;
  for (int32_t i = 0; i < n; ++i) {
    const float x = c->x[off[0] + i * c->sx];
    c->out[i] = x >= 0.0f ? x : x * c->alpha[off[1] + i * c->sa];
  }
  c->out += n;
}

mdl_status mdl_node_prelu_f32(const mdl_node* n) {
  const mdl_prelu_params* p = (const mdl_prelu_params*)n->params;
  prelu_f32_ctx c = {(const float*)n->in[0], (const float*)n->in[1], (float*)n->out,
                     p->in_strides[NDIMS - 1], p->alpha_strides[NDIMS - 1]};
  walk_rows(p->dims, p->in_strides, p->alpha_strides, &c, prelu_f32_row);
  return MDL_OK;
}

mdl_status mdl_node_elu_f32(const mdl_node* n) {
  const mdl_rows_f32_params* p = (const mdl_rows_f32_params*)n->params;
  const float* x = (const float*)n->in[0];
  float* out = (float*)n->out;
  const size_t size = (size_t)p->outer * (size_t)p->depth;
  for (size_t i = 0; i < size; ++i) out[i] = x[i] < 0.0f ? expm1f(x[i]) : x[i];
  return MDL_OK;
}

mdl_status mdl_node_log_softmax_f32(const mdl_node* n) {
  const mdl_rows_f32_params* p = (const mdl_rows_f32_params*)n->params;
  const int32_t depth = p->depth;
  for (int32_t o = 0; o < p->outer; ++o) {
    const float* x = (const float*)n->in[0] + (size_t)o * (size_t)depth;
    float* out = (float*)n->out + (size_t)o * (size_t)depth;
    float max = -3.40282347e+38f;
    for (int32_t c = 0; c < depth; ++c) max = x[c] > max ? x[c] : max;
    float sum = 0.0f;
    for (int32_t c = 0; c < depth; ++c) sum += expf(x[c] - max);
    const float log_sum = logf(sum);
    for (int32_t c = 0; c < depth; ++c) out[c] = x[c] - max - log_sum;
  }
  return MDL_OK;
}

mdl_status mdl_node_l2norm_f32(const mdl_node* n) {
  const mdl_rows_f32_params* p = (const mdl_rows_f32_params*)n->params;
  const int32_t depth = p->depth;
  for (int32_t o = 0; o < p->outer; ++o) {
    const float* x = (const float*)n->in[0] + (size_t)o * (size_t)depth;
    float* out = (float*)n->out + (size_t)o * (size_t)depth;
    float sq = 0.0f;
    for (int32_t c = 0; c < depth; ++c) sq += x[c] * x[c];
    float norm = sqrtf(sq);
    if (norm < 1e-6f) norm = 1e-6f;
    for (int32_t c = 0; c < depth; ++c) out[c] = x[c] / norm;
  }
  return MDL_OK;
}

mdl_status mdl_node_batch_matmul_f32(const mdl_node* n) {
  const mdl_batch_matmul_params* p = (const mdl_batch_matmul_params*)n->params;
  const float* L = (const float*)n->in[0];
  const float* R = (const float*)n->in[1];
  float* out = (float*)n->out;
  const int32_t* bd = p->batch_dims;
  size_t o = 0;
  for (int32_t b0 = 0; b0 < bd[0]; ++b0)
    for (int32_t b1 = 0; b1 < bd[1]; ++b1)
      for (int32_t b2 = 0; b2 < bd[2]; ++b2)
        for (int32_t b3 = 0; b3 < bd[3]; ++b3) {
          const int32_t bi[4] = {b0, b1, b2, b3};
          ptrdiff_t lb, rb;
          bmm_bases(p, bi, &lb, &rb);
          for (int32_t i = 0; i < p->rows; ++i) {
            for (int32_t j = 0; j < p->cols; ++j, ++o) {
              const float* l = L + lb + (ptrdiff_t)i * p->lhs_row_stride;
              const float* r = R + rb + (ptrdiff_t)j * p->rhs_col_stride;
              float acc = 0.0f;
              for (int32_t k = 0; k < p->accum_depth; ++k) {
                acc += l[(ptrdiff_t)k * p->lhs_depth_stride] *
                       r[(ptrdiff_t)k * p->rhs_depth_stride];
              }
              out[o] = acc;
            }
          }
        }
  return MDL_OK;
}

/* ----------------------------------------------------------- quantized div */
typedef struct {
  const mdl_div_q_params* p;
  const void *a, *b;
  void* out;
} div_ctx;

/* gemmlowp-style CountLeadingSignBits of an int32 (31 for 0). */
MDL_INLINE int32_t leading_sign_bits(int32_t x) {
  if (x >= 0) return mdl_clz32((uint32_t)x) - 1;
  if (x == INT32_MIN) return 0;
  return mdl_clz32(2u * (uint32_t)(-x) - 1u);
}

/* gemmlowp RoundingDivideByPOT for exponents 0..63 as LiteRT's and TFLite Micro's
 * x86-64 / aarch64 builds compute it: beyond 31 the mask (1 << exponent) - 1 keeps all
 * 32 bits and the 32-bit shift takes its count modulo 32 (the reference leaves that
 * case undefined; it is reached whenever the dividend equals its zero point). */
MDL_INLINE int32_t rdbpot_wide(int32_t x, int32_t exponent) {
  if (exponent <= 31) return mdl_rounding_divide_by_pot(x, exponent);
  const int32_t threshold = -1 + (x < 0 ? 1 : 0);
  return (x >> (exponent & 31)) + (x > threshold ? 1 : 0);
}

MDL_INLINE int32_t div_one(const mdl_div_q_params* p, int32_t a, int32_t b) {
  a += p->input1_offset;
  b += p->input2_offset;
  if (b < 0) {
    a = -a;
    b = -b;
  }
  int32_t recip_shift;
  const int32_t inv = mdl_get_reciprocal(b, 31, &recip_shift);
  const int32_t headroom = leading_sign_bits(a);
  const int32_t quotient = mdl_requantize_greater_than_one(a, inv, headroom);
  const int32_t total_shift = p->output_shift - recip_shift - headroom; /* >= -63 */
  const int32_t v = mdl_add_wrap(
      p->output_offset,
      rdbpot_wide(mdl_sat_rounding_doubling_high_mul(quotient, p->output_multiplier),
                  -total_shift));
  return mdl_clamp(v, p->act_min, p->act_max);
}

static void div_row(void* vctx, const ptrdiff_t* off, int32_t n) {
  div_ctx* c = (div_ctx*)vctx;
  const mdl_div_q_params* p = c->p;
  const ptrdiff_t sa = p->in1_strides[NDIMS - 1], sb = p->in2_strides[NDIMS - 1];
  if (p->is_s16) {
    const int16_t *a = (const int16_t*)c->a, *b = (const int16_t*)c->b;
    int16_t* out = (int16_t*)c->out;
    for (int32_t i = 0; i < n; ++i) {
      out[i] = (int16_t)div_one(p, a[off[0] + i * sa], b[off[1] + i * sb]);
    }
    c->out = out + n;
  } else {
    const int8_t *a = (const int8_t*)c->a, *b = (const int8_t*)c->b;
    int8_t* out = (int8_t*)c->out;
    for (int32_t i = 0; i < n; ++i) {
      out[i] = (int8_t)div_one(p, a[off[0] + i * sa], b[off[1] + i * sb]);
    }
    c->out = out + n;
  }
}

mdl_status mdl_node_div_q(const mdl_node* n) {
  const mdl_div_q_params* p = (const mdl_div_q_params*)n->params;
  div_ctx c = {p, n->in[0], n->in[1], n->out};
  walk_rows(p->dims, p->in1_strides, p->in2_strides, &c, div_row);
  return MDL_OK;
}
