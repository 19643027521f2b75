/* Comparisons, MINIMUM / MAXIMUM, SELECT and the logical ops (mdl_compare.h). */
#include <string.h>

#include "mdl_compare.h"
#include "mdl_fixedpoint.h"

#define NDIMS 6

/* Walks the outer five dimensions of a broadcast box: calls row(ctx, offsets, n) once
 * per innermost row, offsets[k] the element offset of operand k (k < nops) at the
 * row's start. */
typedef void (*row_fn)(void* ctx, const ptrdiff_t* off, int32_t n);

static void for_each_row(const int32_t* dims, const int32_t* const* strides, int nops,
                         void* ctx, row_fn row) {
  for (int d = 0; d < NDIMS; ++d) {
    if (dims[d] <= 0) return;
  }
  int32_t idx[NDIMS - 1] = {0, 0, 0, 0, 0};
  ptrdiff_t off[4] = {0, 0, 0, 0};
  for (;;) {
    row(ctx, off, dims[NDIMS - 1]);
    int d = NDIMS - 2;
    for (; d >= 0; --d) {
      for (int k = 0; k < nops; ++k) off[k] += strides[k][d];
      if (++idx[d] < dims[d]) break;
      for (int k = 0; k < nops; ++k) off[k] -= (ptrdiff_t)strides[k][d] * dims[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

/* -------------------------------------------------------------------- compare */
typedef struct {
  const mdl_compare_params* p;
  const void *a, *b;
  uint8_t* out;
  ptrdiff_t out_pos;
} compare_ctx;

MDL_INLINE int32_t cmp_result(int32_t op, int lt, int eq) {
  switch (op) {
    case MDL_CMP_LESS: return lt;
    case MDL_CMP_LESS_EQUAL: return lt || eq;
    case MDL_CMP_GREATER: return !lt && !eq;
    case MDL_CMP_GREATER_EQUAL: return !lt;
    case MDL_CMP_EQUAL: return eq;
    default: return !eq;
  }
}

/* Float comparisons keep IEEE semantics (a NaN is unordered: only NOT_EQUAL holds). */
MDL_INLINE int32_t cmp_f32(int32_t op, float x, float y) {
  switch (op) {
    case MDL_CMP_LESS: return x < y;
    case MDL_CMP_LESS_EQUAL: return x <= y;
    case MDL_CMP_GREATER: return x > y;
    case MDL_CMP_GREATER_EQUAL: return x >= y;
    case MDL_CMP_EQUAL: return x == y;
    default: return x != y;
  }
}

MDL_INLINE int32_t scaled_s8(int32_t v, int32_t offset, int32_t left_shift,
                             int32_t multiplier, int32_t shift, int32_t rounding) {
  return mdl_requantize_r((v + offset) * (1 << left_shift), multiplier, shift, rounding);
}

static void compare_row(void* vctx, const ptrdiff_t* off, int32_t n) {
  compare_ctx* c = (compare_ctx*)vctx;
  const mdl_compare_params* p = c->p;
  const ptrdiff_t sa = p->in1_strides[NDIMS - 1], sb = p->in2_strides[NDIMS - 1];
  uint8_t* out = c->out + c->out_pos;
  const int32_t op = p->op;
  for (int32_t i = 0; i < n; ++i) {
    const ptrdiff_t ia = off[0] + i * sa, ib = off[1] + i * sb;
    int32_t r;
    switch (p->kind) {
      case MDL_CMP_KIND_S8_SCALED: {
        const int32_t x = scaled_s8(((const int8_t*)c->a)[ia], p->input1_offset,
                                    p->left_shift, p->input1_multiplier,
                                    p->input1_shift, p->rounding);
        const int32_t y = scaled_s8(((const int8_t*)c->b)[ib], p->input2_offset,
                                    p->left_shift, p->input2_multiplier,
                                    p->input2_shift, p->rounding);
        r = cmp_result(op, x < y, x == y);
        break;
      }
      case MDL_CMP_KIND_S16: {
        const int16_t x = ((const int16_t*)c->a)[ia], y = ((const int16_t*)c->b)[ib];
        r = cmp_result(op, x < y, x == y);
        break;
      }
      case MDL_CMP_KIND_S32: {
        const int32_t x = ((const int32_t*)c->a)[ia], y = ((const int32_t*)c->b)[ib];
        r = cmp_result(op, x < y, x == y);
        break;
      }
      case MDL_CMP_KIND_S64: {
        const int64_t x = ((const int64_t*)c->a)[ia], y = ((const int64_t*)c->b)[ib];
        r = cmp_result(op, x < y, x == y);
        break;
      }
      case MDL_CMP_KIND_F32:
        r = cmp_f32(op, ((const float*)c->a)[ia], ((const float*)c->b)[ib]);
        break;
      default: {
        const uint8_t x = ((const uint8_t*)c->a)[ia], y = ((const uint8_t*)c->b)[ib];
        r = cmp_result(op, x < y, x == y);
        break;
      }
    }
    out[i] = (uint8_t)r;
  }
  c->out_pos += n;
}

mdl_status mdl_compare(const mdl_compare_params* p, const void* in1, const void* in2,
                       uint8_t* out) {
  if (p->op < MDL_CMP_LESS || p->op > MDL_CMP_NOT_EQUAL || p->kind < 0 ||
      p->kind > MDL_CMP_KIND_S64) {
    return MDL_ERR_BAD_PARAM;
  }
  if (p->kind == MDL_CMP_KIND_S8_SCALED && (p->left_shift < 0 || p->left_shift > 8)) {
    return MDL_ERR_BAD_PARAM;
  }
  compare_ctx c = {p, in1, in2, out, 0};
  const int32_t* strides[2] = {p->in1_strides, p->in2_strides};
  for_each_row(p->dims, strides, 2, &c, compare_row);
  return MDL_OK;
}

/* -------------------------------------------------------------------- minmax */
typedef struct {
  const mdl_minmax_params* p;
  const void *a, *b;
  void* out;
  ptrdiff_t out_pos;
} minmax_ctx;

#define MINMAX_ROW(T)                                                               \
  do {                                                                              \
    const T* a = (const T*)c->a;                                                    \
    const T* b = (const T*)c->b;                                                    \
    T* o = (T*)c->out + c->out_pos;                                                 \
    for (int32_t i = 0; i < n; ++i) {                                               \
      const T x = a[off[0] + i * sa], y = b[off[1] + i * sb];                       \
      o[i] = p->is_max ? (x > y ? x : y) : (x < y ? x : y);                         \
    }                                                                               \
  } while (0)

static void minmax_row(void* vctx, const ptrdiff_t* off, int32_t n) {
  minmax_ctx* c = (minmax_ctx*)vctx;
  const mdl_minmax_params* p = c->p;
  const ptrdiff_t sa = p->in1_strides[NDIMS - 1], sb = p->in2_strides[NDIMS - 1];
  switch (p->kind) {
    case MDL_CMP_KIND_S8: MINMAX_ROW(int8_t); break;
    case MDL_CMP_KIND_S16: MINMAX_ROW(int16_t); break;
    case MDL_CMP_KIND_S32: MINMAX_ROW(int32_t); break;
    case MDL_CMP_KIND_S64: MINMAX_ROW(int64_t); break;
    case MDL_CMP_KIND_F32: MINMAX_ROW(float); break;
    default: MINMAX_ROW(uint8_t); break;
  }
  c->out_pos += n;
}

mdl_status mdl_minmax(const mdl_minmax_params* p, const void* in1, const void* in2,
                      void* out) {
  if (p->kind < MDL_CMP_KIND_S16 || p->kind > MDL_CMP_KIND_S8) return MDL_ERR_BAD_PARAM;
  minmax_ctx c = {p, in1, in2, out, 0};
  const int32_t* strides[2] = {p->in1_strides, p->in2_strides};
  for_each_row(p->dims, strides, 2, &c, minmax_row);
  return MDL_OK;
}

/* -------------------------------------------------------------------- select */
typedef struct {
  const mdl_select_params* p;
  const uint8_t* cond;
  const uint8_t *x, *y;
  uint8_t* out;
  ptrdiff_t out_pos;
} select_ctx;

static void select_row(void* vctx, const ptrdiff_t* off, int32_t n) {
  select_ctx* c = (select_ctx*)vctx;
  const mdl_select_params* p = c->p;
  const size_t eb = (size_t)p->elem_bytes;
  const ptrdiff_t sc = p->cond_strides[NDIMS - 1], sx = p->x_strides[NDIMS - 1],
                  sy = p->y_strides[NDIMS - 1];
  uint8_t* o = c->out + (size_t)c->out_pos * eb;
  for (int32_t i = 0; i < n; ++i) {
    const uint8_t* src = c->cond[off[0] + i * sc] ? c->x + (size_t)(off[1] + i * sx) * eb
                                                   : c->y + (size_t)(off[2] + i * sy) * eb;
    memcpy(o + (size_t)i * eb, src, eb);
  }
  c->out_pos += n;
}

mdl_status mdl_select(const mdl_select_params* p, const uint8_t* cond, const void* x,
                      const void* y, void* out) {
  if (p->elem_bytes != 1 && p->elem_bytes != 2 && p->elem_bytes != 4 &&
      p->elem_bytes != 8) {
    return MDL_ERR_BAD_PARAM;
  }
  select_ctx c = {p, cond, (const uint8_t*)x, (const uint8_t*)y, (uint8_t*)out, 0};
  const int32_t* strides[3] = {p->cond_strides, p->x_strides, p->y_strides};
  for_each_row(p->dims, strides, 3, &c, select_row);
  return MDL_OK;
}

/* -------------------------------------------------------------------- logical */
typedef struct {
  const mdl_logical_params* p;
  const uint8_t *a, *b;
  uint8_t* out;
  ptrdiff_t out_pos;
} logical_ctx;

static void logical_row(void* vctx, const ptrdiff_t* off, int32_t n) {
  logical_ctx* c = (logical_ctx*)vctx;
  const mdl_logical_params* p = c->p;
  const ptrdiff_t sa = p->in1_strides[NDIMS - 1], sb = p->in2_strides[NDIMS - 1];
  uint8_t* o = c->out + c->out_pos;
  for (int32_t i = 0; i < n; ++i) {
    const int x = c->a[off[0] + i * sa] != 0;
    int r;
    if (p->op == MDL_LOGICAL_NOT) {
      r = !x;
    } else {
      const int y = c->b[off[1] + i * sb] != 0;
      r = p->op == MDL_LOGICAL_AND ? (x && y) : (x || y);
    }
    o[i] = (uint8_t)r;
  }
  c->out_pos += n;
}

mdl_status mdl_logical(const mdl_logical_params* p, const uint8_t* in1,
                       const uint8_t* in2, uint8_t* out) {
  if (p->op < MDL_LOGICAL_AND || p->op > MDL_LOGICAL_NOT) return MDL_ERR_BAD_PARAM;
  if (p->op != MDL_LOGICAL_NOT && !in2) return MDL_ERR_BAD_PARAM;
  logical_ctx c = {p, in1, in2 ? in2 : in1, out, 0};
  const int32_t* strides[2] = {p->in1_strides,
                               p->op == MDL_LOGICAL_NOT ? p->in1_strides : p->in2_strides};
  for_each_row(p->dims, strides, 2, &c, logical_row);
  return MDL_OK;
}

/* -------------------------------------------------------------------- nodes */
mdl_status mdl_node_compare(const mdl_node* n) {
  return mdl_compare((const mdl_compare_params*)n->params, n->in[0], n->in[1],
                     (uint8_t*)n->out);
}

mdl_status mdl_node_minmax(const mdl_node* n) {
  return mdl_minmax((const mdl_minmax_params*)n->params, n->in[0], n->in[1], n->out);
}

mdl_status mdl_node_select(const mdl_node* n) {
  return mdl_select((const mdl_select_params*)n->params, (const uint8_t*)n->in[0],
                    n->in[1], n->in[2], n->out);
}

mdl_status mdl_node_logical(const mdl_node* n) {
  return mdl_logical((const mdl_logical_params*)n->params, (const uint8_t*)n->in[0],
                     (const uint8_t*)n->in[1], (uint8_t*)n->out);
}

/* ------------------------------------------------------------- arg_minmax */
#define ARG_LOOP(T)                                                                   \
  do {                                                                                \
    const T* x = (const T*)input;                                                     \
    for (int32_t o = 0; o < p->outer; ++o) {                                          \
      for (int32_t i = 0; i < p->inner; ++i) {                                        \
        const T* row = x + (size_t)o * p->axis_size * p->inner + i;                   \
        T best = row[0];                                                              \
        int32_t at = 0;                                                               \
        for (int32_t k = 1; k < p->axis_size; ++k) {                                  \
          const T v = row[(size_t)k * p->inner];                                      \
          if (p->is_max ? v > best : v < best) {                                      \
            best = v;                                                                 \
            at = k;                                                                   \
          }                                                                           \
        }                                                                             \
        const size_t j = (size_t)o * p->inner + i;                                    \
        if (p->out_bytes == 8) {                                                      \
          ((int64_t*)out)[j] = at;                                                    \
        } else {                                                                      \
          ((int32_t*)out)[j] = at;                                                    \
        }                                                                             \
      }                                                                               \
    }                                                                                 \
  } while (0)

mdl_status mdl_arg_minmax(const mdl_arg_minmax_params* p, const void* input, void* out) {
  if (p->axis_size < 1 || p->outer < 0 || p->inner < 0 ||
      (p->out_bytes != 4 && p->out_bytes != 8)) {
    return MDL_ERR_BAD_PARAM;
  }
  switch (p->kind) {
    case MDL_CMP_KIND_S8: ARG_LOOP(int8_t); break;
    case MDL_CMP_KIND_S16: ARG_LOOP(int16_t); break;
    case MDL_CMP_KIND_S32: ARG_LOOP(int32_t); break;
    case MDL_CMP_KIND_F32: ARG_LOOP(float); break;
    case MDL_CMP_KIND_U8: ARG_LOOP(uint8_t); break;
    default: return MDL_ERR_BAD_PARAM;
  }
  return MDL_OK;
}

/* ---------------------------------------------------------- reduce_minmax */
#define REDUCE_LOOP(T, LOWEST, HIGHEST)                                               \
  do {                                                                                \
    const T* x = (const T*)input;                                                     \
    T* y = (T*)out;                                                                   \
    for (int32_t o = 0; o < p->output_size; ++o) y[o] = p->is_max ? LOWEST : HIGHEST; \
    int32_t idx[NDIMS] = {0, 0, 0, 0, 0, 0};                                          \
    ptrdiff_t at = 0;                                                                 \
    for (size_t e = 0; e < total; ++e) {                                              \
      const T v = x[e];                                                               \
      if (p->is_max ? v > y[at] : v < y[at]) y[at] = v;                               \
      for (int d = NDIMS - 1; d >= 0; --d) {                                          \
        at += p->out_strides[d];                                                      \
        if (++idx[d] < p->dims[d]) break;                                             \
        at -= (ptrdiff_t)p->out_strides[d] * p->dims[d];                              \
        idx[d] = 0;                                                                   \
      }                                                                               \
    }                                                                                 \
  } while (0)

mdl_status mdl_reduce_minmax(const mdl_reduce_minmax_params* p, const void* input,
                             void* out) {
  size_t total = 1;
  for (int d = 0; d < NDIMS; ++d) {
    if (p->dims[d] < 1) return MDL_OK; /* an empty input: prepare refuses it */
    total *= (size_t)p->dims[d];
  }
  switch (p->kind) {
    case MDL_CMP_KIND_S8: REDUCE_LOOP(int8_t, INT8_MIN, INT8_MAX); break;
    case MDL_CMP_KIND_S16: REDUCE_LOOP(int16_t, INT16_MIN, INT16_MAX); break;
    case MDL_CMP_KIND_S32: REDUCE_LOOP(int32_t, INT32_MIN, INT32_MAX); break;
    default: return MDL_ERR_BAD_PARAM;
  }
  return MDL_OK;
}

mdl_status mdl_node_arg_minmax(const mdl_node* n) {
  return mdl_arg_minmax((const mdl_arg_minmax_params*)n->params, n->in[0], n->out);
}

mdl_status mdl_node_reduce_minmax(const mdl_node* n) {
  return mdl_reduce_minmax((const mdl_reduce_minmax_params*)n->params, n->in[0], n->out);
}
