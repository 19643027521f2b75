/* In-place fast int8 convolutions: see mdl_inplace.h. */
#include <string.h>

#include "mdl_inplace.h"

typedef mdl_status (*row_fn)(const void* ctx, int32_t y, int8_t* dst);

/* The row schedule of mdl_inplace.h.  in_row, out_row: bytes per row. */
static mdl_status run_rows(const void* ctx, row_fn compute, const int8_t* in,
                           int8_t* out, int32_t in_h, int32_t out_h, int32_t stride_h,
                           int32_t pad_h, size_t in_row, size_t out_row, int8_t* ring,
                           int32_t ring_rows) {
  const uintptr_t in_lo = (uintptr_t)in, in_end = in_lo + (size_t)in_h * in_row;
  int32_t flushed = 0; /* rows [flushed, y) wait in the ring */
  for (int32_t y = 0; y <= out_h; ++y) {
    /* Input bytes from `need` to the end are read by rows >= y (none when need is
     * in_end); a row's place is free when it holds none of them. */
    int64_t first = (int64_t)y * stride_h - pad_h;
    if (first < 0) first = 0;
    const uintptr_t need =
        y == out_h || first >= in_h ? in_end : in_lo + (size_t)first * in_row;
    /* Flush the ring rows whose place no longer holds needed input. */
    for (; flushed < y; ++flushed) {
      const uintptr_t w = (uintptr_t)(out + (size_t)flushed * out_row);
      if (!(need >= in_end || w + out_row <= need || w >= in_end)) break;
      memcpy(out + (size_t)flushed * out_row, ring + (size_t)(flushed % ring_rows) * out_row,
             out_row);
    }
    if (y == out_h) break;
    const uintptr_t w = (uintptr_t)(out + (size_t)y * out_row);
    mdl_status s;
    if (flushed == y && (need >= in_end || w + out_row <= need || w >= in_end)) {
      s = compute(ctx, y, out + (size_t)y * out_row);
      ++flushed;
    } else {
      if (y - flushed >= ring_rows) return MDL_ERR_BAD_PARAM;
      s = compute(ctx, y, ring + (size_t)(y % ring_rows) * out_row);
    }
    if (s != MDL_OK) return s;
  }
  return flushed == out_h ? MDL_OK : MDL_ERR_BAD_PARAM;
}

/* ---------------------------------------------------------------- depthwise */
typedef struct {
  const mdl_depthwise_conv_s8_inplace_params* p;
  const mdl_node* node;
} dw_ctx;

static mdl_status dw_row(const void* vctx, int32_t y, int8_t* dst) {
  const dw_ctx* k = (const dw_ctx*)vctx;
  const mdl_depthwise_conv_s8_inplace_params* p = k->p;
  mdl_depthwise_conv_s8_params q;
#define MDL_COPY_FIELD_(f) q.f = p->f;
#define MDL_COPY_ARRAY_(f, n) memcpy(q.f, p->f, sizeof q.f);
  MDL_DEPTHWISE_CONV_S8_PARAMS(MDL_COPY_FIELD_, MDL_COPY_ARRAY_)
  const int32_t r0 = y * p->stride_h - p->pad_h;
  const int32_t skip = r0 > 0 ? r0 : 0;
  q.output_h = 1;
  q.input_h = p->input_h - skip;
  q.pad_h = r0 < 0 ? -r0 : 0;
  mdl_node sub = *k->node;
  sub.params = &q;
  sub.in[0] = (const int8_t*)k->node->in[0] + (size_t)skip * p->input_w * p->input_c;
  sub.out = dst;
  sub.scratch = 0;
  return mdl_node_depthwise_conv_s8_fast(&sub);
}

mdl_status mdl_node_depthwise_conv_s8_inplace(const mdl_node* n) {
  const mdl_depthwise_conv_s8_inplace_params* p =
      (const mdl_depthwise_conv_s8_inplace_params*)n->params;
  if (p->batches != 1 || p->ring_rows < 0 || (p->ring_rows > 0 && !n->scratch) ||
      p->input_h < 1 || p->output_h < 1) {
    return MDL_ERR_BAD_PARAM;
  }
  dw_ctx k = {p, n};
  const size_t out_row = (size_t)p->output_w * p->input_c * p->depth_multiplier;
  return run_rows(&k, dw_row, (const int8_t*)n->in[0], (int8_t*)n->out, p->input_h,
                  p->output_h, p->stride_h, p->pad_h, (size_t)p->input_w * p->input_c,
                  out_row, (int8_t*)n->scratch, p->ring_rows);
}

/* ---------------------------------------------------------------- conv */
typedef struct {
  const mdl_conv_s8_fast_inplace_params* p;
  const mdl_node* node;
  void* inner_scratch;
} conv_ctx;

static mdl_status conv_row(const void* vctx, int32_t y, int8_t* dst) {
  const conv_ctx* k = (const conv_ctx*)vctx;
  const mdl_conv_s8_fast_inplace_params* p = k->p;
  mdl_conv_s8_fast_params q;
  MDL_CONV_S8_FAST_PARAMS(MDL_COPY_FIELD_, MDL_COPY_ARRAY_)
  const int32_t r0 = y * p->stride_h - p->pad_h;
  const int32_t skip = r0 > 0 ? r0 : 0;
  q.output_h = 1;
  q.input_h = p->input_h - skip;
  q.pad_h = r0 < 0 ? -r0 : 0;
  mdl_node sub = *k->node;
  sub.params = &q;
  sub.in[0] = (const int8_t*)k->node->in[0] + (size_t)skip * p->input_w * p->input_c;
  sub.out = dst;
  sub.scratch = k->inner_scratch;
  return mdl_node_conv_s8_fast(&sub);
}

mdl_status mdl_node_conv_s8_fast_inplace(const mdl_node* n) {
  const mdl_conv_s8_fast_inplace_params* p =
      (const mdl_conv_s8_fast_inplace_params*)n->params;
  if (p->batches != 1 || p->ring_rows < 0 || !n->scratch || p->input_h < 1 ||
      p->output_h < 1) {
    return MDL_ERR_BAD_PARAM;
  }
  mdl_conv_s8_fast_params q;
  MDL_CONV_S8_FAST_PARAMS(MDL_COPY_FIELD_, MDL_COPY_ARRAY_)
  const int32_t inner = mdl_conv_s8_fast_get_buffer_size(&q);
  if (inner < 0) return MDL_ERR_BAD_PARAM;
  const size_t ring_at = ((size_t)inner + 15) / 16 * 16;
  conv_ctx k = {p, n, n->scratch};
  return run_rows(&k, conv_row, (const int8_t*)n->in[0], (int8_t*)n->out, p->input_h,
                  p->output_h, p->stride_h, p->pad_h, (size_t)p->input_w * p->input_c,
                  (size_t)p->output_w * p->output_c, (int8_t*)n->scratch + ring_at,
                  p->ring_rows);
}
