/* QUANTIZE (float32 -> int8/int16, integer requantization) and DEQUANTIZE
 * (int8/int16 -> float32): TFLite reference_ops::AffineQuantize / Requantize and
 * reference_integer_ops::Dequantize.  The only float math at invoke in microdl: these
 * ops are the model's float boundary. */
#include "mdl_activations.h"
#include "mdl_fixedpoint.h"

/* static_cast<int32_t>(TfLiteRound(v)) as compiled for x86-64: round half away from
 * zero, then NaN and values outside [-2^31, 2^31) become INT32_MIN (cvttss2si). */
static int32_t mdl_round_to_int32(float v) {
  if (v > -8388608.0f && v < 8388608.0f) { /* |v| < 2^23: may have a fraction */
    const int32_t t = (int32_t)v;          /* truncation toward zero, exact */
    const float frac = v - (float)t;       /* exact */
    if (frac >= 0.5f) return t + 1;
    if (frac <= -0.5f) return t - 1;
    return t;
  }
  if (v >= -2147483648.0f && v < 2147483648.0f) return (int32_t)v; /* integral */
  return INT32_MIN;                                                   /* NaN, huge */
}

mdl_status mdl_quantize_f32(const mdl_quantize_f32_params* p, float scale,
                            const float* input, void* output) {
  const int32_t lo = p->output_bits == 8 ? -128 : -32768;
  const int32_t hi = p->output_bits == 8 ? 127 : 32767;
  if (p->output_bits != 8 && p->output_bits != 16) return MDL_ERR_BAD_PARAM;
  for (int32_t i = 0; i < p->size; ++i) {
    const float scaled = input[i] / scale;
    const int32_t q = (int32_t)((uint32_t)mdl_round_to_int32(scaled) +
                                (uint32_t)p->zero_point);
    const int32_t c = mdl_clamp(q, lo, hi);
    if (p->output_bits == 8) {
      ((int8_t*)output)[i] = (int8_t)c;
    } else {
      ((int16_t*)output)[i] = (int16_t)c;
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_quantize_f32(const mdl_node* n) {
  return mdl_quantize_f32((const mdl_quantize_f32_params*)n->params,
                          *(const float*)n->in[1], (const float*)n->in[0], n->out);
}

mdl_status mdl_dequantize_f32(const mdl_dequantize_f32_params* p, float scale,
                              const void* input, float* output) {
  const double s = (double)scale;
  if (p->input_bits != 8 && p->input_bits != 16) return MDL_ERR_BAD_PARAM;
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t v = p->input_bits == 8 ? (int32_t)((const int8_t*)input)[i]
                                         : (int32_t)((const int16_t*)input)[i];
    output[i] = (float)(s * (double)(v - p->zero_point));
  }
  return MDL_OK;
}

mdl_status mdl_node_dequantize_f32(const mdl_node* n) {
  return mdl_dequantize_f32((const mdl_dequantize_f32_params*)n->params,
                            *(const float*)n->in[1], n->in[0], (float*)n->out);
}

static int32_t mdl_load_int(const void* data, int32_t bits, int32_t i) {
  if (bits == 8) return ((const int8_t*)data)[i];
  if (bits == 16) return ((const int16_t*)data)[i];
  return ((const int32_t*)data)[i];
}

mdl_status mdl_requantize_int(const mdl_requantize_int_params* p, const void* input,
                              void* output) {
  int32_t lo, hi;
  switch (p->output_bits) {
    case 8: lo = -128; hi = 127; break;
    case 16: lo = -32768; hi = 32767; break;
    case 32: lo = INT32_MIN; hi = INT32_MAX; break;
    default: return MDL_ERR_BAD_PARAM;
  }
  if (p->input_bits != 8 && p->input_bits != 16 && p->input_bits != 32) {
    return MDL_ERR_BAD_PARAM;
  }
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)((uint32_t)mdl_load_int(input, p->input_bits, i) +
                                (uint32_t)p->input_offset);
    const int32_t y = mdl_requantize_r(x, p->multiplier, p->shift, p->rounding);
    const int32_t q =
        mdl_clamp((int32_t)((uint32_t)y + (uint32_t)p->output_offset), lo, hi);
    if (p->output_bits == 8) {
      ((int8_t*)output)[i] = (int8_t)q;
    } else if (p->output_bits == 16) {
      ((int16_t*)output)[i] = (int16_t)q;
    } else {
      ((int32_t*)output)[i] = q;
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_requantize_int(const mdl_node* n) {
  return mdl_requantize_int((const mdl_requantize_int_params*)n->params, n->in[0],
                            n->out);
}
