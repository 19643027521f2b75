/* SOFTMAX int8 -> int8: TFLite reference_ops::Softmax (gemmlowp fixed point), with the
 * per-difference exp values precomputed at prepare time. */
#include "mdl_activations.h"
#include "mdl_gemmlowp.h"

/* Q12.19 accumulator of the exps: kAccumulationIntegerBits in the reference. */
#define MDL_SOFTMAX_ACCUM_INTEGER_BITS 12

mdl_status mdl_softmax_s8(const mdl_softmax_s8_params* p, const int32_t* exp_table,
                          const int8_t* input, int8_t* output) {
  const int32_t depth = p->depth;
  for (int32_t r = 0; r < p->outer_size; ++r) {
    const int8_t* x = input + (size_t)r * depth;
    int8_t* y = output + (size_t)r * depth;
    int32_t max_in_row = -128;
    for (int32_t c = 0; c < depth; ++c) {
      if (x[c] > max_in_row) max_in_row = x[c];
    }
    /* Sum of exps, Q0.31 rescaled to Q12.19 (wrapping int32 adds, as the reference). */
    int32_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t e = exp_table[max_in_row - x[c]];
      sum = mdl_add_wrap(sum, mdl_rounding_divide_by_pot(e, 31 - 19));
    }
    int32_t num_bits_over_unit = 0;
    const int32_t scale =
        mdl_get_reciprocal(sum, MDL_SOFTMAX_ACCUM_INTEGER_BITS, &num_bits_over_unit);
    /* Output scale 1/256: 31 - 8 bits below the Q0.31 probability. */
    const int32_t exponent = num_bits_over_unit + 31 - 8;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t e = exp_table[max_in_row - x[c]];
      int32_t out = -128;
      /* The reference aborts unless 0 <= exponent <= 31 (a row whose exps sum to more
       * than 512); there the exact quotient rounds to 0, so such rows output -128. */
      if (sum > 0 && exponent >= 0 && exponent <= 31) {
        out = mdl_rounding_divide_by_pot(mdl_sat_rounding_doubling_high_mul(scale, e),
                                         exponent) - 128;
      }
      y[c] = (int8_t)mdl_clamp(out, -128, 127);
    }
  }
  return MDL_OK;
}

mdl_status mdl_node_softmax_s8(const mdl_node* n) {
  return mdl_softmax_s8((const mdl_softmax_s8_params*)n->params,
                        (const int32_t*)n->in[1], (const int8_t*)n->in[0],
                        (int8_t*)n->out);
}
