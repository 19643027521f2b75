/* FULLY_CONNECTED int8 (TFLite reference_integer_ops::FullyConnected, same results).
 *
 * With symmetric weights (filter_offset == 0, the int8 spec) the input offset term
 * input_offset * sum_i filter[o, i] is folded into the bias at prepare time
 * (`bias` is then the effective bias), so the inner loop is a plain int8 dot product
 * that compilers vectorize.  The fast form (below) runs the s8-gemv microkernels over
 * weights packed at prepare. */
#include "mdl_fixedpoint.h"
#include "mdl_fully_connected.h"
#include "mdl_ukernels.h"

/* sum_i x[i] * w[i] over int8 vectors, written so compilers vectorize it: int8
 * widened to int16, products accumulated in int32 lanes (pmaddwd / SMLAL). */
MDL_MULTIVERSION static int32_t dot_s8(const int8_t* MDL_RESTRICT x,
                                       const int8_t* MDL_RESTRICT w, int32_t n) {
  int32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += (int16_t)x[i] * (int16_t)w[i];
  return acc;
}

/* Four rows of w (stride n) against one x: each x[i] is loaded once for 4 outputs. */
MDL_MULTIVERSION static void dot4_s8(const int8_t* MDL_RESTRICT x,
                                     const int8_t* MDL_RESTRICT w, int32_t n,
                                     int32_t acc[4]) {
  const int8_t* w0 = w;
  const int8_t* w1 = w + n;
  const int8_t* w2 = w + 2 * (size_t)n;
  const int8_t* w3 = w + 3 * (size_t)n;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int16_t xi = x[i];
    a0 += xi * (int16_t)w0[i];
    a1 += xi * (int16_t)w1[i];
    a2 += xi * (int16_t)w2[i];
    a3 += xi * (int16_t)w3[i];
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* (int32_t)round(acc * scale) in double, half away from zero (C round()); a result
 * beyond int32 converts as this target's hardware does (mdl_f64_out_of_range_i32).
 * Written without libm: |x| < 2^31 + 1 past the check, so the truncating cast and the
 * subtraction below are exact. */
static int32_t requantize_float64(int32_t acc, double scale) {
  double x = (double)acc * scale;
  if (MDL_F64_ROUNDS_BEYOND_I32(x)) return mdl_f64_out_of_range_i32(x);
  const int neg = x < 0;
  if (neg) x = -x;
  int64_t t = (int64_t)x;
  if (x - (double)t >= 0.5) ++t;
  if (neg) t = -t;
  return (int32_t)(t < INT32_MIN ? INT32_MIN : t > INT32_MAX ? INT32_MAX : t);
}

static int8_t requantize_output(const mdl_fully_connected_s8_params* p, int32_t acc,
                                const int32_t* multiplier, const int32_t* shift,
                                const double* scale, int32_t o) {
  const int32_t q = p->per_channel ? o : 0;
  /* + output_offset in wrapping int32, as TFLite's `acc += output_offset`. */
  const int32_t v = mdl_add_wrap(p->rounding == MDL_FC_REQUANT_FLOAT64
                                     ? requantize_float64(acc, scale[q])
                                     : mdl_requantize_r(acc, multiplier[q], shift[q],
                                                        p->rounding),
                                 p->output_offset);
  return (int8_t)mdl_clamp(v, p->act_min, p->act_max);
}

mdl_status mdl_fully_connected_s8(const mdl_fully_connected_s8_params* p,
                                  const int32_t* multiplier, const int32_t* shift,
                                  const double* scale, const int8_t* input,
                                  const int8_t* filter, const int32_t* bias,
                                  int8_t* output) {
  const int32_t depth = p->accum_depth;
  const int folded = p->filter_offset == 0 && p->input_offset_folded;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* row = input + (size_t)b * depth;
    int8_t* out = output + (size_t)b * p->output_depth;
    int32_t o = 0;
    if (folded) {
      for (; o + 4 <= p->output_depth; o += 4) {
        int32_t acc[4];
        dot4_s8(row, filter + (size_t)o * depth, depth, acc);
        for (int32_t k = 0; k < 4; ++k) {
          out[o + k] = requantize_output(p, mdl_add_wrap(acc[k], bias ? bias[o + k] : 0),
                                         multiplier, shift, scale, o + k);
        }
      }
    }
    for (; o < p->output_depth; ++o) {
      const int8_t* w = filter + (size_t)o * depth;
      int32_t acc;
      if (folded) {
        acc = dot_s8(row, w, depth);
      } else {
        acc = 0;
        for (int32_t i = 0; i < depth; ++i) {
          acc += ((int32_t)row[i] + p->input_offset) * ((int32_t)w[i] + p->filter_offset);
        }
      }
      if (bias) acc = mdl_add_wrap(acc, bias[o]);
      out[o] = requantize_output(p, acc, multiplier, shift, scale, o);
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_fully_connected_s8(const mdl_node* n) {
  return mdl_fully_connected_s8((const mdl_fully_connected_s8_params*)n->params,
                                (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                                (const double*)n->in[5], (const int8_t*)n->in[0], (const int8_t*)n->in[1],
                                (const int32_t*)n->in[2], (int8_t*)n->out);
}

/* ------------------------------------------------------------------- fast form */

typedef void (*gemv_fn)(int32_t n, int32_t k, const int8_t* x, const int8_t* w,
                        const int32_t* bias, int32_t* acc);
typedef void (*requant_f64_fn)(const int32_t* acc, const double* scale, int32_t n,
                               int32_t output_offset, int32_t act_min, int32_t act_max,
                               int8_t* out);

mdl_status mdl_fully_connected_s8_fast(const mdl_fully_connected_s8_fast_params* p,
                                       const int32_t* multiplier, const int32_t* shift,
                                       const double* scale, const int8_t* input,
                                       const int8_t* packed, const int32_t* bias,
                                       const int32_t* ubias, int8_t* output) {
  const int32_t depth = p->accum_depth, n = p->output_depth;
  if (depth < 1 || depth > MDL_FC_FAST_MAX_DEPTH || n < 1 || p->batches < 0 ||
      p->output_stride < n || !packed) {
    return MDL_ERR_BAD_PARAM;
  }
  if (p->gemv != MDL_FC_GEMV_8C16 && p->gemv != MDL_FC_GEMV_8C16_C &&
      p->gemv != MDL_FC_GEMV_8C16_AVX2) {
    return MDL_ERR_BAD_PARAM;
  }
  const int f64 = p->rounding == MDL_FC_REQUANT_FLOAT64;
  if (f64 ? !scale
          : (p->rounding != MDL_ROUNDING_DOUBLE && p->rounding != MDL_ROUNDING_SINGLE) ||
                !multiplier || !shift) {
    return MDL_ERR_BAD_PARAM;
  }
  /* Bytes of packed weights per chunk of MDL_FC_FAST_CHUNK channels. */
  const size_t groups = (size_t)(depth + MDL_FC_GEMV_KC - 1) / MDL_FC_GEMV_KC;
  const size_t chunk_bytes = groups * MDL_FC_GEMV_KC * MDL_FC_FAST_CHUNK;
  gemv_fn gemv = mdl_s8_gemv_ukernel_8c16__c;
  requant_f64_fn requant_f64 = mdl_s32_requant_ukernel_f64__c;
  const int32_t* gemv_bias = bias;
#ifdef MDL_HAVE_AVX2_UKERNELS
  if (p->gemv != MDL_FC_GEMV_8C16_C && __builtin_cpu_supports("avx2")) {
    gemv = mdl_s8_gemv_ukernel_8c16__avx2;
    requant_f64 = mdl_s32_requant_ukernel_f64__avx2;
    if (p->gemv == MDL_FC_GEMV_8C16 && ubias && __builtin_cpu_supports("avx512vnni") &&
        __builtin_cpu_supports("avx512vl")) {
      gemv = mdl_s8_gemv_ukernel_8c16__avx512vnni;
      gemv_bias = ubias;
    }
  }
#endif
#ifdef MDL_HAVE_NEON_UKERNELS
  /* aarch64 and 32-bit ARM with NEON: the GCC-vectorized portable loop took 1.7x the
   * NEON microkernel's instructions per 128x128 layer on an emulated Cortex-A72
   * (tools/bench_arm.py --per-op, AD: 0.040 M against 0.024 M on Cortex-A7 NEON). */
  if (p->gemv != MDL_FC_GEMV_8C16_C && mdl_cpu_has_neon()) {
    gemv = mdl_s8_gemv_ukernel_8c16__neon;
  }
#endif
  int32_t acc[MDL_FC_FAST_CHUNK];
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* row = input + (size_t)b * depth;
    int8_t* out = output + (size_t)b * p->output_stride;
    for (int32_t o = 0; o < n; o += MDL_FC_FAST_CHUNK) {
      const int32_t m = n - o < MDL_FC_FAST_CHUNK ? n - o : MDL_FC_FAST_CHUNK;
      gemv(m, depth, row, packed + (size_t)(o / MDL_FC_FAST_CHUNK) * chunk_bytes,
           gemv_bias ? gemv_bias + o : 0, acc);
      if (f64) {
        requant_f64(acc, scale + o, m, p->output_offset, p->act_min, p->act_max, out + o);
      } else {
        mdl_s32_requant_ukernel_rows__c(acc, 1, m, multiplier + o, shift + o,
                                        p->output_offset, p->act_min, p->act_max,
                                        p->rounding, out + o, m);
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_fully_connected_s8_fast(const mdl_node* n) {
  return mdl_fully_connected_s8_fast(
      (const mdl_fully_connected_s8_fast_params*)n->params, (const int32_t*)n->in[3],
      (const int32_t*)n->in[4], (const double*)n->in[5], (const int8_t*)n->in[0],
      (const int8_t*)n->in[1], (const int32_t*)n->in[2], (const int32_t*)n->in[6],
      (int8_t*)n->out);
}
