/* float32 AVERAGE_POOL_2D and MAX_POOL_2D, LiteRT reference_ops::AveragePool /
 * MaxPool (pooling.h) arithmetic: the in-bounds window, row then column; the average
 * divides the float sum by the float count; the maximum starts from the lowest float
 * and takes std::max.  Then the fused-activation clamp.  Vectorized across channels. */
#include <float.h>

#include "mdl_float.h"

#define clamp_f32 mdl_clamp_f32

/* [y0, y1) x [x0, x1): the in-bounds window of output pixel (oy, ox). */
static void window(const mdl_pool_f32_params* p, int32_t oy, int32_t ox, int32_t* y0,
                   int32_t* y1, int32_t* x0, int32_t* x1) {
  const int32_t iy = oy * p->stride_height - p->pad_height;
  const int32_t ix = ox * p->stride_width - p->pad_width;
  *y0 = iy < 0 ? 0 : iy;
  *y1 = iy + p->filter_height < p->input_height ? iy + p->filter_height : p->input_height;
  *x0 = ix < 0 ? 0 : ix;
  *x1 = ix + p->filter_width < p->input_width ? ix + p->filter_width : p->input_width;
}

MDL_MULTIVERSION
static void add_row(float* MDL_RESTRICT acc, const float* MDL_RESTRICT x, int32_t n) {
  for (int32_t c = 0; c < n; ++c) acc[c] += x[c];
}

MDL_MULTIVERSION
static void max_row(float* MDL_RESTRICT acc, const float* MDL_RESTRICT x, int32_t n) {
  for (int32_t c = 0; c < n; ++c) acc[c] = (acc[c] < x[c]) ? x[c] : acc[c];
}

static mdl_status pool(const mdl_pool_f32_params* p, const float* input,
                       const float* clamp, float* output, int avg) {
  const int32_t ch = p->channels;
  const float lo = clamp[0], hi = clamp[1];
  for (int32_t b = 0; b < p->batches; ++b) {
    const float* in = input + (ptrdiff_t)b * p->input_height * p->input_width * ch;
    for (int32_t oy = 0; oy < p->output_height; ++oy) {
      for (int32_t ox = 0; ox < p->output_width; ++ox) {
        float* out =
            output + (((ptrdiff_t)b * p->output_height + oy) * p->output_width + ox) * ch;
        int32_t y0, y1, x0, x1;
        window(p, oy, ox, &y0, &y1, &x0, &x1);
        if (y1 <= y0 || x1 <= x0) return MDL_ERR_BAD_PARAM; /* prepare rejects */
        /* The output pixel accumulates in place (channels of one pixel). */
        const float init = avg ? 0.0f : -FLT_MAX;
        for (int32_t c = 0; c < ch; ++c) out[c] = init;
        for (int32_t y = y0; y < y1; ++y) {
          for (int32_t x = x0; x < x1; ++x) {
            const float* px = in + ((ptrdiff_t)y * p->input_width + x) * ch;
            if (avg) add_row(out, px, ch); else max_row(out, px, ch);
          }
        }
        if (avg) {
          const float count = (float)((y1 - y0) * (x1 - x0));
          for (int32_t c = 0; c < ch; ++c) out[c] = clamp_f32(out[c] / count, lo, hi);
        } else {
          for (int32_t c = 0; c < ch; ++c) out[c] = clamp_f32(out[c], lo, hi);
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_avg_pool_f32(const mdl_pool_f32_params* p, const float* input,
                            const float* clamp, float* output) {
  return pool(p, input, clamp, output, 1);
}

mdl_status mdl_max_pool_f32(const mdl_pool_f32_params* p, const float* input,
                            const float* clamp, float* output) {
  return pool(p, input, clamp, output, 0);
}

mdl_status mdl_node_avg_pool_f32(const mdl_node* n) {
  return mdl_avg_pool_f32((const mdl_pool_f32_params*)n->params, (const float*)n->in[0],
                          (const float*)n->in[1], (float*)n->out);
}

mdl_status mdl_node_max_pool_f32(const mdl_node* n) {
  return mdl_max_pool_f32((const mdl_pool_f32_params*)n->params, (const float*)n->in[0],
                          (const float*)n->in[1], (float*)n->out);
}
