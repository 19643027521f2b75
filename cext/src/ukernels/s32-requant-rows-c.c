/* s32-requant-rows-c: int32 accumulator rows to int8 (mdl_ukernels.h).
 *
 * Double rounding runs mdl_requantize_clamp_vec (mdl_requantize_vec.h: no branches) in
 * chunks of up to RQ_CHUNK channels, the arithmetic in one loop and the int8 stores in
 * another, so that compilers vectorize the arithmetic over int32 lanes (8 per AVX2
 * register) rather than over the int8 stores (32), which would leave short rows scalar;
 * short contiguous rows are requantized as one flat array with the per-channel
 * parameters repeated across the chunk.  Single rounding runs mdl_requantize_r. */
#include "mdl_requantize_vec.h"
#include "mdl_ukernels.h"

#define RQ_CHUNK 64

/* out[i] = clamp(requantize(acc[i], m[i], s[i]) + offset, lo, hi) for i < n <= RQ_CHUNK,
 * double rounding. */
MDL_INLINE void requantize_chunk(const int32_t* MDL_RESTRICT acc,
                                 const int32_t* MDL_RESTRICT m,
                                 const int32_t* MDL_RESTRICT s, int32_t n, int32_t offset,
                                 int32_t lo, int32_t hi, int8_t* MDL_RESTRICT out) {
  int32_t t[RQ_CHUNK];
  for (int32_t i = 0; i < n; ++i) {
    t[i] = mdl_requantize_clamp_vec(acc[i], m[i], s[i], offset, lo, hi);
  }
  for (int32_t i = 0; i < n; ++i) out[i] = (int8_t)t[i];
}

MDL_MULTIVERSION void mdl_s32_requant_ukernel_rows__c(
    const int32_t* MDL_RESTRICT acc, int32_t rows, int32_t n,
    const int32_t* MDL_RESTRICT multiplier, const int32_t* MDL_RESTRICT shift,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t rounding,
    int8_t* MDL_RESTRICT out, int32_t out_stride) {
  if (rows <= 0 || n <= 0) return;
  if (rounding != MDL_ROUNDING_DOUBLE) {
    for (int32_t r = 0; r < rows; ++r) {
      for (int32_t i = 0; i < n; ++i) {
        const int32_t v =
            mdl_requantize_r(acc[(size_t)r * n + i], multiplier[i], shift[i], rounding);
        out[(size_t)r * out_stride + i] =
            (int8_t)mdl_clamp(mdl_add_wrap(v, output_offset), act_min, act_max);
      }
    }
    return;
  }
  if (n > RQ_CHUNK / 2 || out_stride != n || rows == 1) {
    for (int32_t r = 0; r < rows; ++r) {
      const int32_t* a = acc + (size_t)r * n;
      int8_t* o = out + (size_t)r * out_stride;
      for (int32_t i = 0; i < n; i += RQ_CHUNK) {
        const int32_t c = n - i < RQ_CHUNK ? n - i : RQ_CHUNK;
        requantize_chunk(a + i, multiplier + i, shift + i, c, output_offset, act_min,
                         act_max, o + i);
      }
    }
    return;
  }
  /* Short contiguous rows: one flat array in chunks of whole rows. */
  int32_t m_rep[RQ_CHUNK], s_rep[RQ_CHUNK];
  const int32_t per_chunk = RQ_CHUNK / n;
  for (int32_t j = 0; j < per_chunk; ++j) {
    for (int32_t i = 0; i < n; ++i) {
      m_rep[j * n + i] = multiplier[i];
      s_rep[j * n + i] = shift[i];
    }
  }
  for (int32_t r = 0; r < rows; r += per_chunk) {
    const int32_t k = rows - r < per_chunk ? rows - r : per_chunk;
    requantize_chunk(acc + (size_t)r * n, m_rep, s_rep, k * n, output_offset, act_min,
                     act_max, out + (size_t)r * n);
  }
}
