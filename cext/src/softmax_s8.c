/* SOFTMAX int8 -> int8 / int16: TFLite reference_ops::Softmax (gemmlowp fixed point),
 * with the per-difference exp values precomputed at prepare time. */
#include "mdl_activations.h"
#include "mdl_gemmlowp.h"

/* Q12.19 accumulator of the exps: kAccumulationIntegerBits in the reference. */
#define MDL_SOFTMAX_ACCUM_INTEGER_BITS 12

mdl_status mdl_softmax_s8(const mdl_softmax_s8_params* p, const int32_t* exp_table,
                          const int8_t* input, void* output) {
  const int32_t depth = p->depth;
  const int32_t out_min = p->output_bits == 16 ? -32768 : -128;
  const int32_t out_max = p->output_bits == 16 ? 32767 : 127;
  if (p->output_bits != 8 && p->output_bits != 16) return MDL_ERR_BAD_PARAM;
  for (int32_t r = 0; r < p->outer_size; ++r) {
    const int8_t* x = input + (size_t)r * depth;
    int32_t max_in_row = -128;
    for (int32_t c = 0; c < depth; ++c) {
      if (x[c] > max_in_row) max_in_row = x[c];
    }
    /* Sum of exps, Q0.31 rescaled to Q12.19 (wrapping int32 adds, as the reference).
     * max_in_row - x[c] is in [0, 255] for a row that holds still; the index is masked
     * to 8 bits so that a row changed under the kernel (another Python thread writing
     * the input during invoke(), a misuse) still never reads outside the table. */
    int32_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t e = exp_table[(uint8_t)(max_in_row - x[c])];
      sum = mdl_add_wrap(sum, mdl_rounding_divide_by_pot(e, 31 - 19));
    }
    int32_t num_bits_over_unit = 0;
    const int32_t scale =
        mdl_get_reciprocal(sum, MDL_SOFTMAX_ACCUM_INTEGER_BITS, &num_bits_over_unit);
    /* Output scale 2^-output_bits: that many bits below the Q0.31 probability. */
    const int32_t exponent = num_bits_over_unit + 31 - p->output_bits;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t e = exp_table[(uint8_t)(max_in_row - x[c])];
      int32_t out = out_min;
      /* The reference aborts unless exponent <= 31, which fails for int8 output when a
       * row's exps sum to 512 or more; there every exact quotient rounds to 0: the
       * output minimum. */
      if (sum > 0 && exponent >= 0 && exponent <= 31) {
        out = mdl_rounding_divide_by_pot(mdl_sat_rounding_doubling_high_mul(scale, e),
                                         exponent) + out_min;
      }
      out = mdl_clamp(out, out_min, out_max);
      const size_t at = (size_t)r * depth + c;
      if (p->output_bits == 16) {
        ((int16_t*)output)[at] = (int16_t)out;
      } else {
        ((int8_t*)output)[at] = (int8_t)out;
      }
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_softmax_s8(const mdl_node* n) {
  return mdl_softmax_s8((const mdl_softmax_s8_params*)n->params,
                        (const int32_t*)n->in[1], (const int8_t*)n->in[0], n->out);
}
