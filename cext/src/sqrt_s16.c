/* SQRT int16 (mdl_arith.h): LiteRT's quantized SQRT, element by element in float32. */
#include <math.h>

#include "mdl_arith.h"

mdl_status mdl_sqrt_s16(const mdl_sqrt_s16_params* p, const float* scale,
                        const int16_t* input, int16_t* out) {
  if (!scale) return MDL_ERR_BAD_PARAM;
  const float in_scale = scale[0], out_scale = scale[1];
  for (int32_t i = 0; i < p->size; ++i) {
    const int32_t d = (int32_t)input[i] - p->input_zero_point;
    const float real = d > 0 ? in_scale * (float)d : 0.0f;
    const float v = sqrtf(real) / out_scale;
    /* (int32)v truncates; values beyond the int16 range saturate either way */
    const int32_t t = v >= 65536.0f ? 65536 : (int32_t)v;
    const int32_t r = p->output_zero_point + t;
    out[i] = (int16_t)(r < -32768 ? -32768 : r > 32767 ? 32767 : r);
  }
  return MDL_OK;
}

mdl_status mdl_node_sqrt_s16(const mdl_node* n) {
  return mdl_sqrt_s16((const mdl_sqrt_s16_params*)n->params, (const float*)n->in[1],
                      (const int16_t*)n->in[0], (int16_t*)n->out);
}
