/* CAST, ADD_N, CUMSUM and GATHER_ND kernels (see mdl_accumulate.h). */
#include <string.h>

#include "mdl_accumulate.h"
#include "mdl_fixedpoint.h"

/* ------------------------------------------------------------------ cast */
/* Every integer value passes through int64 (uint8/bool as 0..255); floats stay float. */
static int64_t load_int(const uint8_t* p, int32_t t) {
  switch (t) {
    case MDL_ACC_S8: { int8_t v; memcpy(&v, p, 1); return v; }
    case MDL_ACC_U8: case MDL_ACC_BOOL: return p[0];
    case MDL_ACC_S16: { int16_t v; memcpy(&v, p, 2); return v; }
    case MDL_ACC_S32: { int32_t v; memcpy(&v, p, 4); return v; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
  }
}

/* Two's complement narrowing without implementation-defined conversions. */
static void store_int(uint8_t* p, int32_t t, int64_t v) {
  const uint64_t u = (uint64_t)v;
  switch (t) {
    case MDL_ACC_S8: case MDL_ACC_U8: p[0] = (uint8_t)(u & 0xFFu); break;
    case MDL_ACC_BOOL: p[0] = v != 0; break;
    case MDL_ACC_S16: { uint16_t w = (uint16_t)(u & 0xFFFFu); memcpy(p, &w, 2); break; }
    case MDL_ACC_S32: { uint32_t w = (uint32_t)(u & 0xFFFFFFFFu); memcpy(p, &w, 4); break; }
    default: memcpy(p, &u, 8); break;
  }
}

static int type_bytes(int32_t t) {
  switch (t) {
    case MDL_ACC_S8: case MDL_ACC_U8: case MDL_ACC_BOOL: return 1;
    case MDL_ACC_S16: return 2;
    case MDL_ACC_S32: case MDL_ACC_F32: return 4;
    case MDL_ACC_S64: return 8;
    default: return 0;
  }
}

/* float -> integer type: truncation toward zero, saturated, NaN -> 0. */
static int64_t float_to_int(float f, int32_t t) {
  double lo, hi;
  switch (t) {
    case MDL_ACC_S8: lo = -128.0; hi = 127.0; break;
    case MDL_ACC_U8: lo = 0.0; hi = 255.0; break;
    case MDL_ACC_S16: lo = -32768.0; hi = 32767.0; break;
    case MDL_ACC_S32: lo = -2147483648.0; hi = 2147483647.0; break;
    default: lo = -9223372036854775808.0; hi = 9223372036854774784.0; break;
  }
  const double d = (double)f;
  if (d != d) return 0;
  if (d <= lo) return t == MDL_ACC_S64 ? INT64_MIN : (int64_t)lo;
  if (d >= hi) return t == MDL_ACC_S64 ? INT64_MAX : (int64_t)hi;
  return (int64_t)d;
}

mdl_status mdl_cast(const mdl_cast_params* p, const void* input, void* output) {
  const int ib = type_bytes(p->in_type), ob = type_bytes(p->out_type);
  if (ib == 0 || ob == 0 || p->count < 0) return MDL_ERR_BAD_PARAM;
  const uint8_t* in = (const uint8_t*)input;
  uint8_t* out = (uint8_t*)output;
  for (int32_t i = 0; i < p->count; ++i, in += ib, out += ob) {
    if (p->in_type == MDL_ACC_F32) {
      float f;
      memcpy(&f, in, 4);
      if (p->out_type == MDL_ACC_F32) {
        memcpy(out, &f, 4);
      } else if (p->out_type == MDL_ACC_BOOL) {
        out[0] = f != 0.0f;
      } else {
        store_int(out, p->out_type, float_to_int(f, p->out_type));
      }
    } else {
      const int64_t v = load_int(in, p->in_type);
      if (p->out_type == MDL_ACC_F32) {
        const float f = (float)v;
        memcpy(out, &f, 4);
      } else {
        store_int(out, p->out_type, v);
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_cast(const mdl_node* n) {
  return mdl_cast((const mdl_cast_params*)n->params, n->in[0], n->out);
}

/* --------------------------------------------------- int8 ADD_N / CUMSUM terms */
typedef struct {
  int32_t in_off, in_mult, in_shift, left, out_off, out_mult, out_shift, lo, hi;
} quant_terms;

#define QUANT_TERMS(p)                                                              \
  {(p)->input_offset, (p)->input_multiplier, (p)->input_shift, (p)->left_shift,   \
   (p)->output_offset, (p)->output_multiplier, (p)->output_shift, (p)->act_min,   \
   (p)->act_max}

static int quant_ok(const quant_terms* q) {
  return q->in_shift <= 0 && q->in_shift >= -31 && q->out_shift <= 0 &&
         q->out_shift >= -31 && q->left >= 0 && q->left <= 20 &&
         q->in_off >= -255 && q->in_off <= 255 && q->lo <= q->hi;
}

static int32_t scaled_input(const quant_terms* q, int32_t v) {
  return mdl_requantize_smaller_than_one((v + q->in_off) * (1 << q->left), q->in_mult,
                                         q->in_shift);
}

static int8_t scaled_output(const quant_terms* q, int32_t s) {
  const int32_t r =
      mdl_requantize_smaller_than_one(s, q->out_mult, q->out_shift) + q->out_off;
  return (int8_t)mdl_clamp(r, q->lo, q->hi);
}

/* ----------------------------------------------------------------- add_n */
mdl_status mdl_add_n(const mdl_add_n_params* p, const void* const* inputs, void* output) {
  const int32_t m = p->num_inputs;
  if (m < 1 || m > MDL_MAX_NODE_INPUTS || p->count < 0) return MDL_ERR_BAD_PARAM;
  if (p->kind == MDL_ACC_S8) {
    const quant_terms q = QUANT_TERMS(p);
    if (!quant_ok(&q) || p->accumulate) return MDL_ERR_BAD_PARAM;
    int8_t* out = (int8_t*)output;
    const int32_t start = scaled_input(&q, 0);
    for (int32_t i = 0; i < p->count; ++i) {
      int32_t s = start;
      for (int32_t j = 0; j < m; ++j)
        s = mdl_add_wrap(s, scaled_input(&q, ((const int8_t*)inputs[j])[i]));
      out[i] = scaled_output(&q, s);
    }
    return MDL_OK;
  }
  if (p->kind == MDL_ACC_F32) {
    float* out = (float*)output;
    for (int32_t i = 0; i < p->count; ++i) {
      float s = p->accumulate ? out[i] : 0.0f;
      for (int32_t j = 0; j < m; ++j) s = s + ((const float*)inputs[j])[i];
      out[i] = s;
    }
    return MDL_OK;
  }
  if (p->kind != MDL_ACC_S32) return MDL_ERR_BAD_PARAM;
  int32_t* out = (int32_t*)output;
  for (int32_t i = 0; i < p->count; ++i) {
    uint32_t s = p->accumulate ? (uint32_t)out[i] : 0u;
    for (int32_t j = 0; j < m; ++j) s += (uint32_t)((const int32_t*)inputs[j])[i];
    int32_t v;
    memcpy(&v, &s, 4);
    out[i] = v;
  }
  return MDL_OK;
}

mdl_status mdl_node_add_n(const mdl_node* n) {
  return mdl_add_n((const mdl_add_n_params*)n->params, n->in, n->out);
}

/* ---------------------------------------------------------------- cumsum */
#define CUMSUM_LOOP(T, ACC_T, ADD)                                              \
  do {                                                                          \
    const T* in = (const T*)input;                                              \
    T* out = (T*)output;                                                        \
    for (int32_t o = 0; o < p->outer; ++o) {                                    \
      for (int32_t k = 0; k < p->inner; ++k) {                                  \
        const size_t base = (size_t)o * (size_t)p->axis_len * (size_t)p->inner + \
                            (size_t)k;                                          \
        ACC_T acc = 0;                                                          \
        for (int32_t a = 0; a < p->axis_len; ++a) {                             \
          const int32_t j = p->reverse ? p->axis_len - 1 - a : a;              \
          const size_t at = base + (size_t)j * (size_t)p->inner;                \
          ACC_T x = (ACC_T)in[at];                                              \
          if (p->exclusive) {                                                   \
            memcpy(&out[at], &acc, sizeof(T));                                  \
            acc = ADD(acc, x);                                                  \
          } else {                                                              \
            acc = ADD(acc, x);                                                  \
            memcpy(&out[at], &acc, sizeof(T));                                  \
          }                                                                     \
        }                                                                       \
      }                                                                         \
    }                                                                           \
  } while (0)

#define ADD_PLAIN(a, b) ((a) + (b))

static mdl_status cumsum_s8(const mdl_cumsum_params* p, const int8_t* in, int8_t* out) {
  const quant_terms q = QUANT_TERMS(p);
  if (!quant_ok(&q)) return MDL_ERR_BAD_PARAM;
  const int32_t start = scaled_input(&q, 0);
  for (int32_t o = 0; o < p->outer; ++o) {
    for (int32_t k = 0; k < p->inner; ++k) {
      const size_t base = (size_t)o * (size_t)p->axis_len * (size_t)p->inner + (size_t)k;
      int32_t acc = start;
      for (int32_t a = 0; a < p->axis_len; ++a) {
        const int32_t j = p->reverse ? p->axis_len - 1 - a : a;
        const size_t at = base + (size_t)j * (size_t)p->inner;
        const int32_t x = scaled_input(&q, in[at]);
        if (p->exclusive) {
          out[at] = scaled_output(&q, acc);
          acc = mdl_add_wrap(acc, x);
        } else {
          acc = mdl_add_wrap(acc, x);
          out[at] = scaled_output(&q, acc);
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_cumsum(const mdl_cumsum_params* p, const void* input, void* output) {
  if (p->outer < 0 || p->axis_len < 0 || p->inner < 0) return MDL_ERR_BAD_PARAM;
  switch (p->kind) {
    case MDL_ACC_S8: return cumsum_s8(p, (const int8_t*)input, (int8_t*)output);
    case MDL_ACC_F32: CUMSUM_LOOP(float, float, ADD_PLAIN); break;
    /* Integers accumulate as unsigned (wrapping) with the same bits as T. */
    case MDL_ACC_S32: CUMSUM_LOOP(int32_t, uint32_t, ADD_PLAIN); break;
    case MDL_ACC_S64: CUMSUM_LOOP(int64_t, uint64_t, ADD_PLAIN); break;
    default: return MDL_ERR_BAD_PARAM;
  }
  return MDL_OK;
}

mdl_status mdl_node_cumsum(const mdl_node* n) {
  return mdl_cumsum((const mdl_cumsum_params*)n->params, n->in[0], n->out);
}

/* ------------------------------------------------------------- gather_nd */
mdl_status mdl_gather_nd(const mdl_gather_nd_params* p, const void* params,
                         const void* indices, void* output) {
  const int32_t eb = p->elem_bytes, depth = p->index_depth, ib = p->index_bytes;
  if (eb != 1 && eb != 2 && eb != 4 && eb != 8) return MDL_ERR_BAD_PARAM;
  if (ib != 4 && ib != 8) return MDL_ERR_BAD_PARAM;
  if (depth < 1 || depth > MDL_MAX_DIMS || p->num_indices < 0 || p->slab < 0)
    return MDL_ERR_BAD_PARAM;
  const size_t slab_bytes = (size_t)p->slab * (size_t)eb;
  const uint8_t* src = (const uint8_t*)params;
  const uint8_t* idx = (const uint8_t*)indices;
  uint8_t* out = (uint8_t*)output;
  for (int32_t k = 0; k < p->num_indices; ++k) {
    size_t off = 0;
    for (int32_t j = 0; j < depth; ++j, idx += ib) {
      int64_t v;
      if (ib == 4) {
        int32_t v32;
        memcpy(&v32, idx, 4);
        v = v32;
      } else {
        memcpy(&v, idx, 8);
      }
      if (v < 0 || v >= p->dims[j]) return MDL_ERR_BAD_PARAM;
      off += (size_t)v * (size_t)p->strides[j];
    }
    memcpy(out + (size_t)k * slab_bytes, src + off * (size_t)eb, slab_bytes);
  }
  return MDL_OK;
}

mdl_status mdl_node_gather_nd(const mdl_node* n) {
  return mdl_gather_nd((const mdl_gather_nd_params*)n->params, n->in[0], n->in[1],
                       n->out);
}
