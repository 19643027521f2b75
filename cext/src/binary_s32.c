/* int32 ADD / SUB / MUL (see mdl_binary_s32.h). */
#include "mdl_binary_s32.h"

static int32_t apply(int32_t op, int32_t a, int32_t b) {
  /* In uint32: wraps modulo 2^32 without signed overflow. */
  const uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
  uint32_t r;
  if (op == MDL_BINARY_S32_ADD) {
    r = ua + ub;
  } else if (op == MDL_BINARY_S32_SUB) {
    r = ua - ub;
  } else {
    r = ua * ub;
  }
  /* Two's-complement conversion back without implementation-defined behaviour. */
  return r <= (uint32_t)INT32_MAX ? (int32_t)r : (int32_t)(r - 2147483648u) + INT32_MIN;
}

mdl_status mdl_binary_s32(const mdl_binary_s32_params* p, const int32_t* in1,
                          const int32_t* in2, int32_t* out) {
  if (p->op < MDL_BINARY_S32_ADD || p->op > MDL_BINARY_S32_MUL) return MDL_ERR_BAD_PARAM;
  const int32_t* d = p->dims;
  const int32_t* s1 = p->in1_strides;
  const int32_t* s2 = p->in2_strides;
  int32_t o = 0;
  for (int32_t i0 = 0; i0 < d[0]; ++i0)
    for (int32_t i1 = 0; i1 < d[1]; ++i1)
      for (int32_t i2 = 0; i2 < d[2]; ++i2)
        for (int32_t i3 = 0; i3 < d[3]; ++i3)
          for (int32_t i4 = 0; i4 < d[4]; ++i4) {
            const int32_t* a = in1 + i0 * s1[0] + i1 * s1[1] + i2 * s1[2] + i3 * s1[3] +
                               i4 * s1[4];
            const int32_t* b = in2 + i0 * s2[0] + i1 * s2[1] + i2 * s2[2] + i3 * s2[3] +
                               i4 * s2[4];
            for (int32_t i5 = 0; i5 < d[5]; ++i5) {
              int32_t v = apply(p->op, a[i5 * s1[5]], b[i5 * s2[5]]);
              if (v < p->act_min) v = p->act_min;
              if (v > p->act_max) v = p->act_max;
              out[o++] = v;
            }
          }
  return MDL_OK;
}

mdl_status mdl_node_binary_s32(const mdl_node* n) {
  return mdl_binary_s32((const mdl_binary_s32_params*)n->params, (const int32_t*)n->in[0],
                        (const int32_t*)n->in[1], (int32_t*)n->out);
}
