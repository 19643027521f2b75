/* AVERAGE_POOL_2D and MAX_POOL_2D, int8 and int16 (TFLite
 * reference_integer_ops::AveragePool / MaxPool).  Windows are clipped to the input;
 * padded positions are neither averaged nor counted. */
#include "mdl_fixedpoint.h"
#include "mdl_pooling.h"

/* Window of output position `o` along one axis, clipped to [0, size): [*lo, *hi). */
MDL_INLINE void window(int32_t o, int32_t stride, int32_t pad, int32_t filter,
                       int32_t size, int32_t* lo, int32_t* hi) {
  const int32_t origin = o * stride - pad;
  const int32_t start = origin < 0 ? 0 : origin;
  const int32_t end = origin + filter < size ? origin + filter : size;
  *lo = start;
  *hi = end;
}

/* Round-to-nearest, ties away from zero, of acc / count (count > 0). */
MDL_INLINE int64_t rounded_div(int64_t acc, int64_t count) {
  return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

#define AVG_CHANNEL_BLOCK 256 /* int32 sums kept on the stack per window */

/* acc[c] += src[c] for c < n: contiguous channels, so compilers vectorize it. */
MDL_MULTIVERSION static void add_channels_s8(int32_t* MDL_RESTRICT acc,
                                             const int8_t* MDL_RESTRICT src, int32_t n) {
  for (int32_t c = 0; c < n; ++c) acc[c] += src[c];
}

/* Same sums as the reference loop order (channel outermost), in another order: the
 * sums are exact (prepare bounds a window to 2^23 elements, |x| <= 128), so the
 * results are identical; this order reads each window pixel's channels contiguously. */
mdl_status mdl_avg_pool_s8(const mdl_pool_params* p, const int8_t* input, int8_t* output) {
  const mdl_pool_params q = *p; /* output stores may alias p; keep the fields local */
  const int32_t depth = q.channels;
  int32_t acc[AVG_CHANNEL_BLOCK];
  for (int32_t b = 0; b < q.batches; ++b) {
    const int8_t* in_b = input + (size_t)b * q.input_height * q.input_width * depth;
    for (int32_t oy = 0; oy < q.output_height; ++oy) {
      int32_t y0, y1;
      window(oy, q.stride_height, q.pad_height, q.filter_height, q.input_height, &y0, &y1);
      for (int32_t ox = 0; ox < q.output_width; ++ox) {
        int32_t x0, x1;
        window(ox, q.stride_width, q.pad_width, q.filter_width, q.input_width, &x0, &x1);
        const int32_t count = (y1 - y0) * (x1 - x0);
        if (count <= 0) return MDL_ERR_BAD_PARAM;
        for (int32_t c0 = 0; c0 < depth; c0 += AVG_CHANNEL_BLOCK) {
          const int32_t n = depth - c0 < AVG_CHANNEL_BLOCK ? depth - c0 : AVG_CHANNEL_BLOCK;
          for (int32_t c = 0; c < n; ++c) acc[c] = 0;
          for (int32_t y = y0; y < y1; ++y) {
            const int8_t* row = in_b + ((size_t)y * q.input_width) * depth + c0;
            for (int32_t x = x0; x < x1; ++x) {
              add_channels_s8(acc, row + (size_t)x * depth, n);
            }
          }
          for (int32_t c = 0; c < n; ++c) {
            const int32_t avg = (int32_t)rounded_div(acc[c], count);
            *output++ = (int8_t)mdl_clamp(avg, q.act_min, q.act_max);
          }
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_avg_pool_s16(const mdl_pool_params* p, const int16_t* input,
                            int16_t* output) {
  const mdl_pool_params q = *p;
  const int32_t depth = q.channels;
  for (int32_t b = 0; b < q.batches; ++b) {
    const int16_t* in_b = input + (size_t)b * q.input_height * q.input_width * depth;
    for (int32_t oy = 0; oy < q.output_height; ++oy) {
      int32_t y0, y1;
      window(oy, q.stride_height, q.pad_height, q.filter_height, q.input_height, &y0, &y1);
      for (int32_t ox = 0; ox < q.output_width; ++ox) {
        int32_t x0, x1;
        window(ox, q.stride_width, q.pad_width, q.filter_width, q.input_width, &x0, &x1);
        const int32_t count = (y1 - y0) * (x1 - x0);
        if (count <= 0) return MDL_ERR_BAD_PARAM;
        for (int32_t c = 0; c < depth; ++c) {
          int64_t acc = 0;
          for (int32_t y = y0; y < y1; ++y) {
            const int16_t* row = in_b + ((size_t)y * q.input_width) * depth + c;
            for (int32_t x = x0; x < x1; ++x) acc += row[(size_t)x * depth];
          }
          const int32_t avg = (int32_t)rounded_div(acc, count);
          *output++ = (int16_t)mdl_clamp(avg, q.act_min, q.act_max);
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_max_pool_s8(const mdl_pool_params* p, const int8_t* input, int8_t* output) {
  const mdl_pool_params q = *p;
  const int32_t depth = q.channels;
  for (int32_t b = 0; b < q.batches; ++b) {
    const int8_t* in_b = input + (size_t)b * q.input_height * q.input_width * depth;
    for (int32_t oy = 0; oy < q.output_height; ++oy) {
      int32_t y0, y1;
      window(oy, q.stride_height, q.pad_height, q.filter_height, q.input_height, &y0, &y1);
      for (int32_t ox = 0; ox < q.output_width; ++ox) {
        int32_t x0, x1;
        window(ox, q.stride_width, q.pad_width, q.filter_width, q.input_width, &x0, &x1);
        for (int32_t c = 0; c < depth; ++c) {
          int32_t m = INT8_MIN;
          for (int32_t y = y0; y < y1; ++y) {
            const int8_t* row = in_b + ((size_t)y * q.input_width) * depth + c;
            for (int32_t x = x0; x < x1; ++x) {
              const int32_t v = row[(size_t)x * depth];
              m = v > m ? v : m;
            }
          }
          *output++ = (int8_t)mdl_clamp(m, q.act_min, q.act_max);
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_max_pool_s16(const mdl_pool_params* p, const int16_t* input,
                            int16_t* output) {
  const mdl_pool_params q = *p;
  const int32_t depth = q.channels;
  for (int32_t b = 0; b < q.batches; ++b) {
    const int16_t* in_b = input + (size_t)b * q.input_height * q.input_width * depth;
    for (int32_t oy = 0; oy < q.output_height; ++oy) {
      int32_t y0, y1;
      window(oy, q.stride_height, q.pad_height, q.filter_height, q.input_height, &y0, &y1);
      for (int32_t ox = 0; ox < q.output_width; ++ox) {
        int32_t x0, x1;
        window(ox, q.stride_width, q.pad_width, q.filter_width, q.input_width, &x0, &x1);
        for (int32_t c = 0; c < depth; ++c) {
          int32_t m = INT16_MIN;
          for (int32_t y = y0; y < y1; ++y) {
            const int16_t* row = in_b + ((size_t)y * q.input_width) * depth + c;
            for (int32_t x = x0; x < x1; ++x) {
              const int32_t v = row[(size_t)x * depth];
              m = v > m ? v : m;
            }
          }
          *output++ = (int16_t)mdl_clamp(m, q.act_min, q.act_max);
        }
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_avg_pool_s8(const mdl_node* n) {
  return mdl_avg_pool_s8((const mdl_pool_params*)n->params, (const int8_t*)n->in[0],
                         (int8_t*)n->out);
}

mdl_status mdl_node_avg_pool_s16(const mdl_node* n) {
  return mdl_avg_pool_s16((const mdl_pool_params*)n->params, (const int16_t*)n->in[0],
                          (int16_t*)n->out);
}

mdl_status mdl_node_max_pool_s8(const mdl_node* n) {
  return mdl_max_pool_s8((const mdl_pool_params*)n->params, (const int8_t*)n->in[0],
                         (int8_t*)n->out);
}

mdl_status mdl_node_max_pool_s16(const mdl_node* n) {
  return mdl_max_pool_s16((const mdl_pool_params*)n->params, (const int16_t*)n->in[0],
                          (int16_t*)n->out);
}
