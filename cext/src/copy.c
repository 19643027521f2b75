/* Dtype-agnostic data movement: strided copy and fill (see mdl_copy.h). */
#include <string.h>

#include "mdl_copy.h"

/* The parameter lists spell the array length as a literal; keep it MDL_MAX_DIMS. */
typedef char mdl_copy_dims_check[(MDL_MAX_DIMS == 6) ? 1 : -1];

/* One row of n elements: src and dst advance by their strides (in elements). */
#define MDL_COPY_ROW(NBYTES)                                       \
  for (int32_t i = 0; i < n; ++i) {                                \
    memcpy(dst, src, NBYTES);                                      \
    src += src_step;                                               \
    dst += dst_step;                                               \
  }

static void copy_row(const uint8_t* src, ptrdiff_t src_stride, uint8_t* dst,
                     ptrdiff_t dst_stride, int32_t n, int32_t elem_bytes) {
  if (src_stride == 1 && dst_stride == 1) {
    memcpy(dst, src, (size_t)n * (size_t)elem_bytes);
    return;
  }
  const ptrdiff_t src_step = src_stride * elem_bytes;
  const ptrdiff_t dst_step = dst_stride * elem_bytes;
  switch (elem_bytes) {
    case 1: MDL_COPY_ROW(1) break;
    case 2: MDL_COPY_ROW(2) break;
    case 4: MDL_COPY_ROW(4) break;
    default: MDL_COPY_ROW(8) break;
  }
}

mdl_status mdl_copy_strided(const mdl_copy_strided_params* p, const void* input,
                            void* output) {
  const int32_t nd = p->ndims;
  const int32_t eb = p->elem_bytes;
  if (nd < 1 || nd > MDL_MAX_DIMS) return MDL_ERR_BAD_PARAM;
  if (eb != 1 && eb != 2 && eb != 4 && eb != 8) return MDL_ERR_BAD_PARAM;
  for (int32_t d = 0; d < nd; ++d) {
    if (p->shape[d] <= 0) return MDL_OK; /* empty box: nothing to copy */
  }
  const uint8_t* in = (const uint8_t*)input;
  uint8_t* out = (uint8_t*)output;
  const int32_t last = nd - 1;
  int32_t idx[MDL_MAX_DIMS] = {0};
  ptrdiff_t in_pos = p->in_offset;  /* element index of the current row's start */
  ptrdiff_t out_pos = p->out_offset;
  for (;;) {
    copy_row(in + in_pos * eb, p->in_strides[last], out + out_pos * eb,
             p->out_strides[last], p->shape[last], eb);
    /* Odometer over the outer dimensions, innermost first. */
    int32_t d = last - 1;
    for (; d >= 0; --d) {
      in_pos += p->in_strides[d];
      out_pos += p->out_strides[d];
      if (++idx[d] < p->shape[d]) break;
      in_pos -= (ptrdiff_t)p->in_strides[d] * p->shape[d];
      out_pos -= (ptrdiff_t)p->out_strides[d] * p->shape[d];
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return MDL_OK;
}

mdl_status mdl_node_copy_strided(const mdl_node* n) {
  return mdl_copy_strided((const mdl_copy_strided_params*)n->params, n->in[0], n->out);
}

mdl_status mdl_fill_elements(const mdl_fill_elements_params* p, const void* value,
                             void* output) {
  const int32_t eb = p->elem_bytes;
  if (eb != 1 && eb != 2 && eb != 4 && eb != 8) return MDL_ERR_BAD_PARAM;
  if (p->count <= 0) return MDL_OK;
  uint8_t* out = (uint8_t*)output;
  const size_t total = (size_t)p->count * (size_t)eb;
  memcpy(out, value, (size_t)eb);
  /* Double the filled prefix until the whole buffer holds the value. */
  size_t filled = (size_t)eb;
  while (filled < total) {
    const size_t chunk = filled < total - filled ? filled : total - filled;
    memcpy(out + filled, out, chunk);
    filled += chunk;
  }
  return MDL_OK;
}

mdl_status mdl_node_fill_elements(const mdl_node* n) {
  return mdl_fill_elements((const mdl_fill_elements_params*)n->params, n->in[0], n->out);
}
