/* SVDF, int8 input, int16 or int8 state (TFLite reference EvalIntegerSVDF and TFLite
 * Micro EvalIntegerSvdfReference, same results).
 *
 * The input zero point is folded into a per-filter constant at prepare time
 * (feature_bias), so the feature sums are plain int8 dot products.  Every int32 sum is
 * accumulated in uint32: two's-complement wrap, as the reference kernels' int32 loops
 * behave, without C's signed-overflow UB. */
#include <string.h>

#include "mdl_fixedpoint.h"
#include "mdl_svdf.h"

MDL_MULTIVERSION static uint32_t dot_s8(const int8_t* MDL_RESTRICT x,
                                        const int8_t* MDL_RESTRICT w, int32_t n) {
  uint32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += (uint32_t)((int32_t)x[i] * (int32_t)w[i]);
  return acc;
}

/* sum_m t[m] * (s[m] - zp), int16 state and weights. */
MDL_MULTIVERSION static uint32_t dot_s16(const int16_t* MDL_RESTRICT t,
                                         const int16_t* MDL_RESTRICT s, int32_t zp,
                                         int32_t n) {
  uint32_t acc = 0;
  for (int32_t m = 0; m < n; ++m) acc += (uint32_t)((int32_t)t[m] * ((int32_t)s[m] - zp));
  return acc;
}

/* The same with int8 state and weights. */
MDL_MULTIVERSION static uint32_t dot_s8_zp(const int8_t* MDL_RESTRICT t,
                                           const int8_t* MDL_RESTRICT s, int32_t zp,
                                           int32_t n) {
  uint32_t acc = 0;
  for (int32_t m = 0; m < n; ++m) acc += (uint32_t)((int32_t)t[m] * ((int32_t)s[m] - zp));
  return acc;
}

mdl_status mdl_svdf_s8(const mdl_svdf_s8_params* p, const int8_t* input,
                       const int8_t* feature, const int32_t* feature_bias,
                       const void* time, const int32_t* bias, void* state,
                       int8_t* output) {
  const int32_t nf = p->num_filters, mem = p->memory_size, rank = p->rank;
  const int32_t units = nf / rank;
  const size_t row = (size_t)nf * (size_t)mem; /* state entries per batch row */
  const size_t total = row * (size_t)p->batches;
  const int wide = p->state_bytes == 2;
  const int32_t smin = wide ? INT16_MIN : INT8_MIN;
  const int32_t smax = wide ? INT16_MAX : INT8_MAX;
  const int32_t szp = p->state_zero_point;
  if (total == 0) return MDL_OK;

  /* 1. drop the oldest entry: the whole buffer moves left by one element (the last
   * entry of every filter is rewritten below). */
  memmove(state, (const char*)state + p->state_bytes, (total - 1) * (size_t)p->state_bytes);

  /* 2. newest entry of every filter. */
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* x = input + (size_t)b * (size_t)p->input_size;
    const size_t base = (size_t)b * row + (size_t)(mem - 1);
    for (int32_t f = 0; f < nf; ++f) {
      const uint32_t acc = dot_s8(x, feature + (size_t)f * (size_t)p->input_size,
                                  p->input_size) + (uint32_t)feature_bias[f];
      const int32_t v = mdl_clamp(mdl_requantize_r((int32_t)acc, p->feature_multiplier,
                                                   p->feature_shift, p->rounding),
                                  smin, smax);
      /* stored in the state type: two's-complement wrap, as the reference's
       * implicit int32 -> state-type conversion on every target */
      const uint32_t stored = (uint32_t)v + (uint32_t)szp;
      const size_t at = base + (size_t)f * (size_t)mem;
      if (wide) {
        ((int16_t*)state)[at] = (int16_t)((int32_t)((stored & 0xFFFFu) ^ 0x8000u) - 0x8000);
      } else {
        ((int8_t*)state)[at] = (int8_t)((int32_t)((stored & 0xFFu) ^ 0x80u) - 0x80);
      }
    }
  }

  /* 3. time weights, rank reduction, bias, requantization to int8. */
  for (int32_t b = 0; b < p->batches; ++b) {
    int8_t* out = output + (size_t)b * (size_t)units;
    for (int32_t u = 0; u < units; ++u) {
      uint32_t acc = bias ? (uint32_t)bias[u] : 0u;
      for (int32_t r = 0; r < rank; ++r) {
        const size_t f = (size_t)u * (size_t)rank + (size_t)r;
        const size_t off = f * (size_t)mem;
        if (wide) {
          acc += dot_s16((const int16_t*)time + off, (const int16_t*)state + (size_t)b * row + off,
                         szp, mem);
        } else {
          acc += dot_s8_zp((const int8_t*)time + off, (const int8_t*)state + (size_t)b * row + off,
                           szp, mem);
        }
      }
      const int64_t v = (int64_t)mdl_requantize_r((int32_t)acc, p->time_multiplier,
                                                  p->time_shift, p->rounding) +
                        p->output_offset;
      out[u] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_svdf_s8(const mdl_node* n) {
  return mdl_svdf_s8((const mdl_svdf_s8_params*)n->params, (const int8_t*)n->in[0],
                     (const int8_t*)n->in[1], (const int32_t*)n->in[5], n->in[2],
                     (const int32_t*)n->in[3], (void*)n->in[4], (int8_t*)n->out);
}
