/* MEAN, int8 and int16 (TFLite reference_ops::QuantizedMeanOrSum with compute_sum
 * false): int32 sums of the raw inputs per output, zero-point correction, one
 * requantization whose multiplier includes 1/count. */
#include "mdl_fixedpoint.h"
#include "mdl_pooling.h"

#define MEAN_DIMS 6

/* Output element offset of every input element, in input (row-major) order, is
 * sum_d index[d] * out_strides[d]; the innermost dimension is walked as a row. */
#define MEAN_ACCUMULATE(T)                                                              \
  do {                                                                                  \
    const int32_t n = q.dims[MEAN_DIMS - 1];                                            \
    const int32_t s = q.out_strides[MEAN_DIMS - 1];                                     \
    size_t rows = 1;                                                                    \
    for (int32_t d = 0; d < MEAN_DIMS - 1; ++d) rows *= (size_t)q.dims[d];              \
    int32_t index[MEAN_DIMS - 1] = {0, 0, 0, 0, 0};                                     \
    size_t base = 0;                                                                    \
    const T* in = input;                                                                \
    for (size_t r = 0; r < rows; ++r) {                                                 \
      int32_t* acc = scratch + base;                                                    \
      for (int32_t i = 0; i < n; ++i) {                                                 \
        acc[(size_t)i * s] = mdl_add_wrap(acc[(size_t)i * s], in[i]);                   \
      }                                                                                 \
      in += n;                                                                          \
      for (int32_t d = MEAN_DIMS - 2; d >= 0; --d) {                                    \
        if (++index[d] < q.dims[d]) {                                                   \
          base += (size_t)q.out_strides[d];                                             \
          break;                                                                        \
        }                                                                               \
        index[d] = 0;                                                                   \
        base -= (size_t)q.out_strides[d] * (size_t)(q.dims[d] - 1);                     \
      }                                                                                 \
    }                                                                                   \
  } while (0)

mdl_status mdl_mean_s8(const mdl_mean_params* p, const int8_t* input, int8_t* output,
                       int32_t* scratch) {
  const mdl_mean_params q = *p; /* output stores may alias p; keep the fields local */
  for (int32_t o = 0; o < q.output_size; ++o) scratch[o] = 0;
  MEAN_ACCUMULATE(int8_t);
  for (int32_t o = 0; o < q.output_size; ++o) {
    const int32_t sum = mdl_add_wrap(scratch[o], q.sum_offset);
    const int32_t v =
        mdl_add_wrap(mdl_requantize_r(sum, q.multiplier, q.shift, q.rounding), q.output_offset);
    output[o] = (int8_t)mdl_clamp(v, INT8_MIN, INT8_MAX);
  }
  return MDL_OK;
}

mdl_status mdl_mean_s16(const mdl_mean_params* p, const int16_t* input, int16_t* output,
                        int32_t* scratch) {
  const mdl_mean_params q = *p;
  for (int32_t o = 0; o < q.output_size; ++o) scratch[o] = 0;
  MEAN_ACCUMULATE(int16_t);
  for (int32_t o = 0; o < q.output_size; ++o) {
    const int32_t sum = mdl_add_wrap(scratch[o], q.sum_offset);
    const int32_t v =
        mdl_add_wrap(mdl_requantize_r(sum, q.multiplier, q.shift, q.rounding), q.output_offset);
    output[o] = (int16_t)mdl_clamp(v, INT16_MIN, INT16_MAX);
  }
  return MDL_OK;
}

mdl_status mdl_node_mean_s8(const mdl_node* n) {
  return mdl_mean_s8((const mdl_mean_params*)n->params, (const int8_t*)n->in[0],
                     (int8_t*)n->out, (int32_t*)n->scratch);
}

mdl_status mdl_node_mean_s16(const mdl_node* n) {
  return mdl_mean_s16((const mdl_mean_params*)n->params, (const int16_t*)n->in[0],
                      (int16_t*)n->out, (int32_t*)n->scratch);
}
