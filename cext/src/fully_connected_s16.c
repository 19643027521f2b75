/* FULLY_CONNECTED 16x8: int16 activations, int8 weights (mdl_fully_connected.h). */
#include "mdl_fully_connected.h"

#include "mdl_conv.h" /* mdl_requantize64 */
#include "mdl_fixedpoint.h"

/* round(acc * scale) half away from zero, saturated to int32 (LiteRT's double
 * requantization, as fully_connected_s8.c but from an int64 accumulator). */
static int32_t requantize_f64_s64(int64_t acc, double scale) {
  double x = (double)acc * scale;
  if (MDL_F64_ROUNDS_BEYOND_I32(x)) return mdl_f64_out_of_range_i32(x);
  const int neg = x < 0;
  if (neg) x = -x;
  int64_t t = (int64_t)x;
  if (x - (double)t >= 0.5) ++t;
  if (neg) t = -t;
  return (int32_t)(t < INT32_MIN ? INT32_MIN : t > INT32_MAX ? INT32_MAX : t);
}

mdl_status mdl_fully_connected_s16(const mdl_fully_connected_s16_params* p,
                                   const int32_t* multiplier, const int32_t* shift,
                                   const double* scale, const int16_t* input,
                                   const int8_t* filter, const void* bias,
                                   int16_t* output) {
  const int f64 = p->rounding == MDL_FC_REQUANT_FLOAT64;
  if (f64 ? !scale : (!multiplier || !shift)) return MDL_ERR_BAD_PARAM;
  const int64_t* bias64 = p->acc64 ? (const int64_t*)bias : NULL;
  const int32_t* bias32 = p->acc64 ? NULL : (const int32_t*)bias;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t* in = input + (size_t)b * p->accum_depth;
    int16_t* out = output + (size_t)b * p->output_depth;
    for (int32_t o = 0; o < p->output_depth; ++o) {
      const int8_t* w = filter + (size_t)o * p->accum_depth;
      const int32_t q = p->per_channel ? o : 0;
      uint64_t acc = 0; /* unsigned so overflow wraps */
      for (int32_t i = 0; i < p->accum_depth; ++i) {
        acc += (uint64_t)(int64_t)((int32_t)in[i] * (int32_t)w[i]);
      }
      int32_t v;
      if (p->acc64) {
        if (bias64) acc += (uint64_t)bias64[o];
        v = f64 ? requantize_f64_s64((int64_t)acc, scale[q])
                : mdl_requantize64((int64_t)acc, multiplier[q], shift[q]);
      } else {
        uint32_t acc32 = (uint32_t)acc; /* the int32 accumulator, wrapped */
        if (bias32) acc32 += (uint32_t)bias32[o];
        v = f64 ? requantize_f64_s64((int64_t)(int32_t)acc32, scale[q])
                : mdl_requantize_r((int32_t)acc32, multiplier[q], shift[q], p->rounding);
      }
      out[o] = (int16_t)mdl_clamp(v, p->act_min, p->act_max);
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_fully_connected_s16(const mdl_node* n) {
  return mdl_fully_connected_s16((const mdl_fully_connected_s16_params*)n->params,
                                 (const int32_t*)n->in[3], (const int32_t*)n->in[4],
                                 (const double*)n->in[5], (const int16_t*)n->in[0],
                                 (const int8_t*)n->in[1], n->in[2], (int16_t*)n->out);
}
