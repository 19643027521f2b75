/* RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR kernels (see mdl_resize.h). */
#include <string.h>

#include "mdl_fixedpoint.h"
#include "mdl_resize.h"

static int table_ok(const int32_t* t, int32_t n, int32_t limit) {
  for (int32_t i = 0; i < n; ++i) {
    if (t[i] < 0 || t[i] >= limit) return 0;
  }
  return 1;
}

static int dims_ok(int32_t b, int32_t ih, int32_t iw, int32_t d, int32_t oh,
                   int32_t ow) {
  return b >= 0 && ih > 0 && iw > 0 && d >= 0 && oh > 0 && ow > 0;
}

mdl_status mdl_resize_nearest(const mdl_resize_nearest_params* p, const void* input,
                              const int32_t* table, void* output) {
  const int32_t eb = p->elem_bytes;
  if (eb != 1 && eb != 2 && eb != 4 && eb != 8) return MDL_ERR_BAD_PARAM;
  if (!dims_ok(p->batches, p->in_h, p->in_w, p->depth, p->out_h, p->out_w))
    return MDL_ERR_BAD_PARAM;
  const int32_t* rows = table;
  const int32_t* cols = table + p->out_h;
  if (!table_ok(rows, p->out_h, p->in_h) || !table_ok(cols, p->out_w, p->in_w))
    return MDL_ERR_BAD_PARAM;
  const size_t pixel = (size_t)p->depth * (size_t)eb;
  const size_t in_row = pixel * (size_t)p->in_w;
  const size_t in_image = in_row * (size_t)p->in_h;
  const uint8_t* in = (const uint8_t*)input;
  uint8_t* out = (uint8_t*)output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const uint8_t* image = in + (size_t)b * in_image;
    for (int32_t y = 0; y < p->out_h; ++y) {
      const uint8_t* row = image + (size_t)rows[y] * in_row;
      for (int32_t x = 0; x < p->out_w; ++x) {
        memcpy(out, row + (size_t)cols[x] * pixel, pixel);
        out += pixel;
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_resize_nearest(const mdl_node* n) {
  return mdl_resize_nearest((const mdl_resize_nearest_params*)n->params, n->in[0],
                            (const int32_t*)n->in[1], n->out);
}

/* acc / 2^20 in the chosen rounding (see mdl_resize.h). */
static int64_t blend_round(int64_t acc, int32_t rounding) {
  const int64_t half = (int64_t)1 << 19;
  const int64_t one = (int64_t)1 << 20;
  if (rounding == MDL_ROUNDING_SINGLE) {
    const int64_t v = acc + half; /* floor division without shifting a negative */
    const int64_t q = v / one;
    return (v % one != 0 && v < 0) ? q - 1 : q;
  }
  return (acc + (acc > 0 ? half : -half)) / one;
}

#define BILINEAR_INT_LOOP(T, LO, HI)                                                 \
  do {                                                                              \
    const T* in = (const T*)input;                                                  \
    T* out = (T*)output;                                                            \
    const int32_t* fw = (const int32_t*)weights;                                    \
    for (int32_t b = 0; b < p->batches; ++b) {                                      \
      const T* image = in + (size_t)b * image_elems;                                \
      for (int32_t y = 0; y < oh; ++y) {                                            \
        const int64_t wy1 = fw[y], wy0 = 1024 - wy1;                                \
        const T* r0 = image + (size_t)y0[y] * row_elems;                            \
        const T* r1 = image + (size_t)y1[y] * row_elems;                            \
        for (int32_t x = 0; x < ow; ++x) {                                          \
          const int64_t wx1 = fw[oh + x], wx0 = 1024 - wx1;                         \
          const T* a = r0 + (size_t)x0[x] * d;                                      \
          const T* bb = r0 + (size_t)x1[x] * d;                                     \
          const T* c = r1 + (size_t)x0[x] * d;                                      \
          const T* e = r1 + (size_t)x1[x] * d;                                      \
          for (int32_t k = 0; k < d; ++k) {                                         \
            const int64_t acc = (int64_t)a[k] * wy0 * wx0 + (int64_t)c[k] * wy1 * wx0 + \
                                (int64_t)bb[k] * wy0 * wx1 + (int64_t)e[k] * wy1 * wx1; \
            int64_t v = blend_round(acc, p->rounding);                              \
            v = v < (LO) ? (LO) : (v > (HI) ? (HI) : v);                            \
            *out++ = (T)v;                                                          \
          }                                                                         \
        }                                                                           \
      }                                                                             \
    }                                                                               \
  } while (0)

mdl_status mdl_resize_bilinear(const mdl_resize_bilinear_params* p, const void* input,
                               const int32_t* index, const void* weights,
                               void* output) {
  if (!dims_ok(p->batches, p->in_h, p->in_w, p->depth, p->out_h, p->out_w))
    return MDL_ERR_BAD_PARAM;
  const int32_t oh = p->out_h, ow = p->out_w, d = p->depth;
  const int32_t* y0 = index;
  const int32_t* y1 = index + oh;
  const int32_t* x0 = index + 2 * oh;
  const int32_t* x1 = index + 2 * oh + ow;
  if (!table_ok(index, 2 * oh, p->in_h) || !table_ok(x0, 2 * ow, p->in_w))
    return MDL_ERR_BAD_PARAM;
  const size_t row_elems = (size_t)p->in_w * (size_t)d;
  const size_t image_elems = row_elems * (size_t)p->in_h;
  if (p->kind == MDL_RESIZE_S8 || p->kind == MDL_RESIZE_S16) {
    if (p->rounding != MDL_ROUNDING_DOUBLE && p->rounding != MDL_ROUNDING_SINGLE)
      return MDL_ERR_BAD_PARAM;
    const int32_t* fw = (const int32_t*)weights;
    for (int32_t i = 0; i < oh + ow; ++i) {
      if (fw[i] < 0 || fw[i] > 1024) return MDL_ERR_BAD_PARAM;
    }
    if (p->kind == MDL_RESIZE_S8) {
      BILINEAR_INT_LOOP(int8_t, -128, 127);
    } else {
      BILINEAR_INT_LOOP(int16_t, -32768, 32767);
    }
    return MDL_OK;
  }
  if (p->kind != MDL_RESIZE_F32) return MDL_ERR_BAD_PARAM;
  const float* in = (const float*)input;
  const float* fw = (const float*)weights;
  float* out = (float*)output;
  for (int32_t b = 0; b < p->batches; ++b) {
    const float* image = in + (size_t)b * image_elems;
    for (int32_t y = 0; y < oh; ++y) {
      const float fy = fw[y];
      const float* r0 = image + (size_t)y0[y] * row_elems;
      const float* r1 = image + (size_t)y1[y] * row_elems;
      for (int32_t x = 0; x < ow; ++x) {
        const float fx = fw[oh + x];
        const float* a = r0 + (size_t)x0[x] * d;
        const float* bb = r0 + (size_t)x1[x] * d;
        const float* c = r1 + (size_t)x0[x] * d;
        const float* e = r1 + (size_t)x1[x] * d;
        for (int32_t k = 0; k < d; ++k) {
          /* The reference's order of operations, one rounding per step. */
          float s = a[k] * (1 - fy) * (1 - fx);
          s = s + c[k] * fy * (1 - fx);
          s = s + bb[k] * (1 - fy) * fx;
          s = s + e[k] * fy * fx;
          *out++ = s;
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_resize_bilinear(const mdl_node* n) {
  return mdl_resize_bilinear((const mdl_resize_bilinear_params*)n->params, n->in[0],
                             (const int32_t*)n->in[1], n->in[2], n->out);
}
