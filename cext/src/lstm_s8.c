/* UNIDIRECTIONAL_SEQUENCE_LSTM, integer 8x8_16 (TFLite EvalInteger8x8_16, same
 * results).
 *
 * Per time step and sequence: each gate is the sum of two int8 x int8 matrix-vector
 * products (input and recurrent side, the zero points folded into the biases at
 * prepare time), each requantized to int16 and added with saturation; peephole terms
 * are int16 x int16 products requantized the same way.  Sigmoid (Q3.12 -> Q0.15) and
 * tanh (Q(ib) -> Q0.15) follow gemmlowp's int16 fixed point (fixedpoint.h: logistic,
 * tanh, exp_on_negative_values, the Newton-Raphson reciprocal).  The rows of a batch
 * are independent, so the kernel runs time steps outer and sequences inner for
 * either layout. */
#include "mdl_fixedpoint.h"
#include "mdl_lstm.h"

/* ---------------------------------------------------------------- int16 fixed point
 * Values are int16 raw fixed point; arithmetic in int32, results cut to int16 as
 * gemmlowp's int16 FixedPoint does (plain adds wrap, the named ones saturate). */
static int16_t w16(int32_t x) { return (int16_t)(uint16_t)(uint32_t)x; }

static int16_t sat16(int32_t x) {
  return (int16_t)(x < -32768 ? -32768 : x > 32767 ? 32767 : x);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<e> on int32, e in [1, 30]. */
static int32_t sat_shl32(int32_t x, int32_t e) {
  const int32_t thr = (int32_t)(((int64_t)1 << (31 - e)) - 1);
  if (x > thr) return INT32_MAX;
  if (x < -thr) return INT32_MIN;
  return (int32_t)((uint32_t)x << e);
}

/* SaturatingRoundingDoublingHighMul on int16. */
static int16_t srdhm16(int16_t a, int16_t b) {
  if (a == -32768 && b == -32768) return 32767;
  const int32_t ab = (int32_t)a * (int32_t)b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return w16((ab + nudge) / (1 << 15)); /* C division truncates toward zero */
}

/* SaturatingRoundingMultiplyByPOT<e> on int16, e in [-15, 15]. */
static int16_t pot16(int16_t x, int32_t e) {
  if (e == 0) return x;
  if (e < 0) return w16(mdl_rounding_divide_by_pot(x, -e));
  const int32_t thr = (1 << (15 - e)) - 1;
  if (x > thr) return 32767;
  if (x < -thr) return -32768;
  return w16((int32_t)((uint32_t)(int32_t)x << e));
}

/* A gemmlowp 32-bit fixed-point constant in 16 bits. */
#define C16(v) ((int16_t)mdl_rounding_divide_by_pot((v), 16))

/* exp(a) for a in [-1/4, 0), Q0.15 in and out. */
static int16_t exp_quarter16(int16_t a) {
  const int16_t c = C16(1895147668);
  const int16_t third = C16(715827883);
  const int16_t x = w16(a + (1 << 12));
  const int16_t x2 = srdhm16(x, x);
  const int16_t x3 = srdhm16(x2, x);
  const int16_t x4 = srdhm16(x2, x2);
  const int16_t x4_4 = pot16(x4, -2);
  const int16_t t = pot16(w16(srdhm16(w16(x4_4 + x3), third) + x2), -1);
  return sat16(c + srdhm16(c, w16(x + t)));
}

/* exp(a) for a <= 0 with ib integer bits (ib in [1, 7]), Q0.15 out. */
static int16_t exp_neg16(int16_t a, int32_t ib) {
  static const int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308,
                                   39332535,   720401,     242};
  const int32_t frac = 15 - ib;
  const int32_t quarter = 1 << (frac - 2);
  const int16_t a_mod = w16((a & (quarter - 1)) - quarter);
  int16_t result = exp_quarter16(pot16(a_mod, ib));
  const int32_t remainder = w16(a_mod - a);
  for (int32_t k = 0; k < 7; ++k) {
    const int32_t e = k - 2;
    if (ib > e && (remainder & (1 << (frac + e)))) {
      result = srdhm16(result, C16(mults[k]));
    }
  }
  if (ib > 5 && a < C16(-(1 << (36 - ib)))) result = 0;
  return a == 0 ? 32767 : result;
}

/* Q2.13 estimate of 1 / (1 + a), a in Q0.15 [0, 1): three Newton-Raphson steps. */
static int16_t newton16(int16_t a) {
  const int32_t sum = (int32_t)a + 32767;
  const int16_t half = w16((sum + (sum >= 0 ? 1 : -1)) / 2);
  int16_t x = w16(C16(1515870810) + srdhm16(half, C16(-1010580540)));
  for (int i = 0; i < 3; ++i) {
    const int16_t hx = srdhm16(half, x);
    x = w16(x + pot16(srdhm16(x, w16(8192 - hx)), 2));
  }
  return x;
}

/* gemmlowp logistic: Q3.12 in, Q0.15 out. */
static int16_t sigmoid16(int16_t v) {
  if (v == 0) return 16384;
  const int16_t absv = v > 0 ? v : w16(-(int32_t)v);
  const int16_t pos = pot16(newton16(exp_neg16(w16(-(int32_t)absv), 3)), 1);
  return v > 0 ? pos : w16(32767 - pos);
}

/* gemmlowp tanh: ib integer bits in (ib in [0, 6]), Q0.15 out. */
static int16_t tanh16(int16_t v, int32_t ib) {
  if (v == 0) return 0;
  const int16_t n = v < 0 ? v : w16(-(int32_t)v);
  const int16_t t = pot16(w16(newton16(exp_neg16(n, ib + 1)) - 8192), 2);
  return v < 0 ? w16(-(int32_t)t) : t;
}

/* ------------------------------------------------------------------ kernel */
/* sum_i x[i] * w[i] over int8 vectors (vectorizable: int16 products into int32). */
MDL_MULTIVERSION static int32_t dot_s8(const int8_t* MDL_RESTRICT x,
                                       const int8_t* MDL_RESTRICT w, int32_t n) {
  int32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += (int16_t)x[i] * (int16_t)w[i];
  return acc;
}

/* gate[r] = sat16(gate[r] + requantize(bias[r] + W[r] . x)). */
static void gate_matvec(const mdl_lstm_s8_params* p, const int8_t* x, const int8_t* w,
                        const int32_t* bias, int32_t rows, int32_t cols, int32_t mult,
                        int32_t shift, int16_t* gate) {
  for (int32_t r = 0; r < rows; ++r) {
    const int32_t acc = bias[r] + dot_s8(x, w + (size_t)r * cols, cols);
    gate[r] = sat16(mdl_requantize_r(acc, mult, shift, p->rounding) + gate[r]);
  }
}

/* gate[j] = sat16(gate[j] + requantize(peephole[j] * cell[j])). */
static void gate_peephole(const mdl_lstm_s8_params* p, const int16_t* peep,
                          const int16_t* cell, int32_t mult, int32_t shift,
                          int16_t* gate) {
  for (int32_t j = 0; j < p->n_cell; ++j) {
    const int32_t prod = (int32_t)peep[j] * (int32_t)cell[j];
    gate[j] = sat16(mdl_requantize_r(prod, mult, shift, p->rounding) + gate[j]);
  }
}

/* TFLite GetInvSqrtQuantizedMultiplierExp(x, reverse_shift = -1): 1 / sqrt(x) as a
 * Q0.31 multiplier and a shift, by five Newton-Raphson steps in Q3.28. */
static void inv_sqrt(int32_t x, int32_t* mult, int32_t* shift) {
  if (x <= 1) {
    *mult = INT32_MAX;
    *shift = 0;
    return;
  }
  int32_t s = 11;
  while (x >= (1 << 29)) {
    x /= 4;
    ++s;
  }
  int32_t clz = 0;
  for (uint32_t u = (uint32_t)x; !(u & 0x80000000u); u <<= 1) ++clz;
  const int32_t pairs = (clz - 1) / 2 - 1;
  s -= pairs;
  x = (int32_t)((uint32_t)x << (2 * pairs));
  const int32_t half_input = mdl_rounding_divide_by_pot(x >> 1, 1);  /* Q3.28 */
  const int32_t half_three = (1 << 28) + (1 << 27);
  int32_t r = 1 << 28;                                                  /* 1.0, Q3.28 */
  for (int i = 0; i < 5; ++i) {
    const int32_t r3 = sat_shl32(mdl_sat_rounding_doubling_high_mul(
        mdl_sat_rounding_doubling_high_mul(r, r), r), 6);
    const int32_t d = (int32_t)((uint32_t)mdl_sat_rounding_doubling_high_mul(half_three, r) -
                                (uint32_t)mdl_sat_rounding_doubling_high_mul(half_input, r3));
    r = sat_shl32(d, 3);
  }
  r = mdl_sat_rounding_doubling_high_mul(r, 1518500250);  /* x sqrt(2) / 2 */
  if (s < 0) {
    r = (int32_t)((uint32_t)r << -s);
    s = 0;
  }
  *mult = r;
  *shift = -s;
}

/* TFLite ApplyLayerNorm on one gate vector of n entries (in place). */
static void layer_norm(const mdl_lstm_s8_params* p, int16_t* gate, const int16_t* weight,
                       const int32_t* bias, int32_t g) {
  const int32_t n = p->n_cell;
  int64_t sum = 0, sum_sq = 0;
  for (int32_t j = 0; j < n; ++j) {
    sum += gate[j];
    sum_sq += (int32_t)gate[j] * gate[j];
  }
  const int32_t mean = (int32_t)(sum * 1024 / n);
  const int64_t variance = sum_sq * ((1 << 20) / n) - (int64_t)mean * mean;
  int32_t variance2 = (int32_t)(variance / (1 << 20));
  if (variance2 < 1) variance2 = p->ln_guard[g];
  int32_t inv_m, inv_s;
  inv_sqrt(variance2, &inv_m, &inv_s);
  for (int32_t j = 0; j < n; ++j) {
    const int32_t shifted = (int32_t)((uint32_t)(1024 * (int32_t)gate[j]) - (uint32_t)mean);
    const int32_t rescaled = mdl_requantize_r(shifted, inv_m, inv_s, p->rounding);
    /* TFLite forms this sum in int32 (wrapping) before widening. */
    const int64_t v3 = (int32_t)((uint32_t)rescaled * (uint32_t)(int32_t)weight[j] +
                                 (uint32_t)bias[j]);
    const int32_t v4 = (int32_t)((v3 > 0 ? v3 + 512 : v3 - 512) / 1024);
    gate[j] = sat16(mdl_requantize_r(v4, p->ln_mult[g], p->ln_shift[g], p->rounding));
  }
}

static int8_t clamp8(int32_t v) {
  return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

/* One time step of one sequence: x [n_input], h [n_output], c [n_cell] updated. */
static void lstm_step(const mdl_lstm_s8_params* p, const int8_t* x,
                      const int8_t* in_weights, const int8_t* rec_weights,
                      const int32_t* bias, const int16_t* cell_weights,
                      const int8_t* proj_weights, int8_t* h, int16_t* c,
                      int16_t* gates, int16_t* tanh_c, int8_t* hidden) {
  const int32_t nc = p->n_cell, ni = p->n_input, no = p->n_output;
  const int32_t* ln_bias = bias + 8 * (size_t)nc + no;
  for (int32_t g = p->cifg ? 1 : 0; g < 4; ++g) {
    int16_t* gate = gates + (size_t)g * nc;
    for (int32_t j = 0; j < nc; ++j) gate[j] = 0;
    gate_matvec(p, x, in_weights + (size_t)g * nc * ni, bias + (size_t)g * nc, nc, ni,
                p->in_mult[g], p->in_shift[g], gate);
    gate_matvec(p, h, rec_weights + (size_t)g * nc * no, bias + (size_t)(4 + g) * nc,
                nc, no, p->rec_mult[g], p->rec_shift[g], gate);
    if (p->peephole && g < 2) {
      gate_peephole(p, cell_weights + (size_t)g * nc, c, p->peep_mult[g], p->peep_shift[g],
                    gate);
    }
    if (p->layer_norm && g < 3) {
      layer_norm(p, gate, cell_weights + (size_t)(4 + g) * nc, ln_bias + (size_t)g * nc, g);
    }
    if (g == 2) {
      for (int32_t j = 0; j < nc; ++j) gate[j] = tanh16(gate[j], 3);
    } else if (g < 2) {
      for (int32_t j = 0; j < nc; ++j) gate[j] = sigmoid16(gate[j]);
    }
  }
  const int16_t* ig = gates;
  const int16_t* fg = gates + nc;
  const int16_t* cg = gates + 2 * (size_t)nc;
  int16_t* og = gates + 3 * (size_t)nc;
  const int32_t in_shift = 30 + p->cell_shift;
  for (int32_t j = 0; j < nc; ++j) {
    const int32_t i = p->cifg ? 32767 - fg[j] : ig[j];
    const int16_t a = w16(mdl_rounding_divide_by_pot((int32_t)fg[j] * c[j], 15));
    const int16_t b = w16(mdl_rounding_divide_by_pot(i * (int32_t)cg[j], in_shift));
    int32_t v = sat16((int32_t)a + b);
    if (p->cell_clip > 0) v = mdl_clamp(v, -p->cell_clip, p->cell_clip);
    c[j] = (int16_t)v;
  }
  if (p->peephole) {
    gate_peephole(p, cell_weights + 3 * (size_t)nc, c, p->peep_mult[3], p->peep_shift[3],
                  og);
  }
  if (p->layer_norm) {
    layer_norm(p, og, cell_weights + 7 * (size_t)nc, ln_bias + 3 * (size_t)nc, 3);
  }
  const int32_t tanh_bits = 15 + p->cell_shift;
  for (int32_t j = 0; j < nc; ++j) {
    og[j] = sigmoid16(og[j]);
    tanh_c[j] = tanh16(c[j], tanh_bits);
  }
  if (!p->projection) {
    for (int32_t j = 0; j < nc; ++j) {
      const int32_t prod = (int32_t)og[j] * tanh_c[j];
      h[j] = clamp8(mdl_requantize_r(prod, p->hidden_mult, p->hidden_shift, p->rounding) +
                    p->hidden_zp);
    }
    return;
  }
  /* TFLite subtracts the hidden zero point here and adds hidden_zp x row sums to the
   * projection bias. */
  for (int32_t j = 0; j < nc; ++j) {
    const int32_t prod = (int32_t)og[j] * tanh_c[j];
    hidden[j] = clamp8(mdl_requantize_r(prod, p->hidden_mult, p->hidden_shift,
                                        p->rounding) - p->hidden_zp);
  }
  const int32_t* proj_bias = bias + 8 * (size_t)nc;
  for (int32_t r = 0; r < no; ++r) {
    const int32_t acc = proj_bias[r] + dot_s8(hidden, proj_weights + (size_t)r * nc, nc);
    int32_t v = clamp8(mdl_requantize_r(acc, p->proj_mult, p->proj_shift, p->rounding) +
                       p->output_zp);
    if (p->proj_clip > 0) v = mdl_clamp(v, -p->proj_clip, p->proj_clip);
    h[r] = (int8_t)v;
  }
}

mdl_status mdl_lstm_s8(const mdl_lstm_s8_params* p, const int8_t* input,
                       const int8_t* in_weights, const int8_t* rec_weights,
                       const int32_t* bias, const int16_t* cell_weights,
                       const int8_t* proj_weights, int8_t* output_state,
                       int16_t* cell_state, int8_t* output, void* scratch) {
  if (p->cell_shift < -15 || p->cell_shift > -9 || p->n_cell < 1 ||
      (p->peephole && p->n_output != p->n_cell) ||
      ((p->peephole || p->layer_norm) && cell_weights == NULL) ||
      (p->projection && proj_weights == NULL) ||
      (!p->projection && p->n_output != p->n_cell)) {
    return MDL_ERR_BAD_PARAM;
  }
  int16_t* gates = (int16_t*)scratch;
  int16_t* tanh_c = gates + 4 * (size_t)p->n_cell;
  int8_t* hidden = (int8_t*)(tanh_c + p->n_cell);
  for (int32_t t = 0; t < p->n_time; ++t) {
    for (int32_t b = 0; b < p->n_batch; ++b) {
      const size_t row = p->time_major ? (size_t)t * p->n_batch + b
                                       : (size_t)b * p->n_time + t;
      int8_t* h = output_state + (size_t)b * p->n_output;
      lstm_step(p, input + row * p->n_input, in_weights, rec_weights, bias, cell_weights,
                proj_weights, h, cell_state + (size_t)b * p->n_cell, gates, tanh_c,
                hidden);
      int8_t* out = output + row * p->n_output;
      for (int32_t j = 0; j < p->n_output; ++j) out[j] = h[j];
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_lstm_s8(const mdl_node* n) {
  return mdl_lstm_s8((const mdl_lstm_s8_params*)n->params, (const int8_t*)n->in[0],
                     (const int8_t*)n->in[1], (const int8_t*)n->in[2],
                     (const int32_t*)n->in[3], (const int16_t*)n->in[4],
                     (const int8_t*)n->in[5], (int8_t*)(void*)(uintptr_t)n->in[6],
                     (int16_t*)(void*)(uintptr_t)n->in[7], (int8_t*)n->out, n->scratch);
}
