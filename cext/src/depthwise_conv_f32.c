/* float32 DEPTHWISE_CONV_2D (any depth multiplier), LiteRT reference_ops::DepthwiseConv
 * (depthwiseconv_float.h) arithmetic: per output channel, the in-bounds taps summed in
 * row-then-column order from 0.0f, the bias added last, then the clamp.
 *
 * Depth multiplier 1 is vectorized across channels in blocks of 16 and 8 (mdl_f32x8
 * sums in registers over the taps); output pixels whose window lies inside the input
 * along the row are computed four at a time (they share their taps, shifted by the
 * stride), so 4 or 8 independent sums are in flight.  Other channels and multipliers
 * run the plain per-channel loop. */
#include "mdl_float.h"

#define clamp_f32 mdl_clamp_f32

/* Tap t of pixel p reads x + xoff[t] + p * ps and w + woff[t]; P pixels (1 or 4) of L
 * channels (8 or 16) written at out + p * oc. */
#if MDL_F32_VECTORS
#define DW_TILE(NAME, P, V)                                                            \
  MDL_MULTIVERSION                                                                     \
  static void NAME(const float* x, const float* w, const int32_t* xoff,                \
                   const int32_t* woff, int32_t ntaps, ptrdiff_t ps, const float* bias, \
                   float* out, ptrdiff_t oc, float lo, float hi) {                     \
    mdl_f32x8 acc[P][V];                                                               \
    int32_t p, v, j;                                                                   \
    for (p = 0; p < P; ++p)                                                            \
      for (v = 0; v < V; ++v) acc[p][v] = F32X8_BCAST(0.0f);                           \
    for (int32_t t = 0; t < ntaps; ++t) {                                              \
      const float* xt = x + xoff[t];                                                   \
      mdl_f32x8 wv[V];                                                                 \
      for (v = 0; v < V; ++v) F32X8_LOAD(wv[v], w + woff[t] + 8 * v);                  \
      for (p = 0; p < P; ++p)                                                          \
        for (v = 0; v < V; ++v) {                                                      \
          mdl_f32x8 xv;                                                                \
          F32X8_LOAD(xv, xt + p * ps + 8 * v);                                         \
          acc[p][v] += xv * wv[v];                                                     \
        }                                                                              \
    }                                                                                  \
    for (p = 0; p < P; ++p) {                                                          \
      float tmp[8 * V];                                                                \
      for (v = 0; v < V; ++v) F32X8_STORE(tmp + 8 * v, acc[p][v]);                     \
      for (j = 0; j < 8 * V; ++j)                                                      \
        out[p * oc + j] = clamp_f32(tmp[j] + (bias ? bias[j] : 0.0f), lo, hi);         \
    }                                                                                  \
  }
#else
#define DW_TILE(NAME, P, V)                                                            \
  static void NAME(const float* x, const float* w, const int32_t* xoff,                \
                   const int32_t* woff, int32_t ntaps, ptrdiff_t ps, const float* bias, \
                   float* out, ptrdiff_t oc, float lo, float hi) {                     \
    float acc[P][8 * V];                                                               \
    int32_t p, j;                                                                      \
    for (p = 0; p < P; ++p)                                                            \
      for (j = 0; j < 8 * V; ++j) acc[p][j] = 0.0f;                                    \
    for (int32_t t = 0; t < ntaps; ++t)                                                \
      for (p = 0; p < P; ++p)                                                          \
        for (j = 0; j < 8 * V; ++j)                                                    \
          acc[p][j] += x[xoff[t] + p * ps + j] * w[woff[t] + j];                       \
    for (p = 0; p < P; ++p)                                                            \
      for (j = 0; j < 8 * V; ++j)                                                      \
        out[p * oc + j] = clamp_f32(acc[p][j] + (bias ? bias[j] : 0.0f), lo, hi);      \
  }
#endif

DW_TILE(dw_px4_l16, 4, 2)
DW_TILE(dw_px4_l8, 4, 1)
DW_TILE(dw_px1_l16, 1, 2)
DW_TILE(dw_px1_l8, 1, 1)

/* Channels [o, oc) of P pixels, any multiplier, one sum at a time. */
static void dw_plain(const float* in, const float* filter, const int32_t* xoff,
                     const int32_t* woff, int32_t ntaps, ptrdiff_t ps, int32_t pixels,
                     int32_t o, int32_t oc, int32_t dm, const float* bias, float* out,
                     float lo, float hi) {
  for (int32_t p = 0; p < pixels; ++p)
    for (int32_t k = o; k < oc; ++k) {
      const int32_t c = k / dm;
      float acc = 0.0f;
      for (int32_t t = 0; t < ntaps; ++t) acc += in[xoff[t] + p * ps + c] * filter[woff[t] + k];
      out[(ptrdiff_t)p * oc + k] = clamp_f32(acc + (bias ? bias[k] : 0.0f), lo, hi);
    }
}

mdl_status mdl_depthwise_conv_f32(const mdl_depthwise_conv_f32_params* p,
                                  const float* input, const float* filter,
                                  const float* bias, const float* clamp, float* output) {
  const int32_t ic = p->input_c, dm = p->depth_multiplier, oc = ic * dm;
  if (dm < 1 || p->filter_h < 1 || p->filter_w < 1 || p->stride_w < 1 ||
      p->filter_h * p->filter_w > MDL_DEPTHWISE_F32_MAX_TAPS)
    return MDL_ERR_BAD_PARAM;
  const float lo = clamp[0], hi = clamp[1];
  int32_t xoff[MDL_DEPTHWISE_F32_MAX_TAPS], woff[MDL_DEPTHWISE_F32_MAX_TAPS];
  /* Output columns [ox_lo, ox_hi] have every filter column inside the input. */
  const int32_t reach = (p->filter_w - 1) * p->dilation_w;
  const int32_t ox_lo = (p->pad_w + p->stride_w - 1) / p->stride_w;
  const int32_t span = p->input_w - 1 + p->pad_w - reach;
  const int32_t ox_hi = span < 0 ? -1 : span / p->stride_w;
  const ptrdiff_t ps = (ptrdiff_t)p->stride_w * ic; /* next pixel's taps */
  for (int32_t b = 0; b < p->batches; ++b) {
    const float* in = input + (ptrdiff_t)b * p->input_h * p->input_w * ic;
    for (int32_t oy = 0; oy < p->output_h; ++oy) {
      float* out_row = output + ((ptrdiff_t)b * p->output_h + oy) * p->output_w * oc;
      for (int32_t ox = 0; ox < p->output_w;) {
        /* The in-bounds taps of pixel ox, row then column. */
        int32_t ntaps = 0;
        for (int32_t fy = 0; fy < p->filter_h; ++fy) {
          const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
          if (iy < 0 || iy >= p->input_h) continue;
          for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dilation_w;
            if (ix < 0 || ix >= p->input_w) continue;
            xoff[ntaps] = (iy * p->input_w + ix) * ic;
            woff[ntaps] = (fy * p->filter_w + fx) * oc;
            ++ntaps;
          }
        }
        float* out = out_row + (ptrdiff_t)ox * oc;
        const int32_t four = ox >= ox_lo && ox + 3 <= ox_hi;
        const int32_t pixels = four ? 4 : 1;
        int32_t o = 0;
        if (dm == 1) {
          for (; o + 16 <= oc; o += 16) {
            if (four)
              dw_px4_l16(in + o, filter + o, xoff, woff, ntaps, ps, bias ? bias + o : NULL,
                         out + o, oc, lo, hi);
            else
              dw_px1_l16(in + o, filter + o, xoff, woff, ntaps, ps, bias ? bias + o : NULL,
                         out + o, oc, lo, hi);
          }
          for (; o + 8 <= oc; o += 8) {
            if (four)
              dw_px4_l8(in + o, filter + o, xoff, woff, ntaps, ps, bias ? bias + o : NULL,
                        out + o, oc, lo, hi);
            else
              dw_px1_l8(in + o, filter + o, xoff, woff, ntaps, ps, bias ? bias + o : NULL,
                        out + o, oc, lo, hi);
          }
        }
        if (o < oc)
          dw_plain(in, filter, xoff, woff, ntaps, ps, pixels, o, oc, dm, bias, out, lo, hi);
        ox += pixels;
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_depthwise_conv_f32(const mdl_node* node) {
  return mdl_depthwise_conv_f32((const mdl_depthwise_conv_f32_params*)node->params,
                                (const float*)node->in[0], (const float*)node->in[1],
                                (const float*)node->in[2], (const float*)node->in[3],
                                (float*)node->out);
}
