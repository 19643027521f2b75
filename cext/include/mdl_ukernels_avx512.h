/* microdl: inline AVX-512 building blocks of the AVX512-VNNI microkernels of
 * cext/src/ukernels/ (see mdl_ukernels.h).  x86-64 with GCC/Clang only
 * (MDL_HAVE_AVX2_UKERNELS); every function has the MDL_VNNI target attribute
 * (AVX512F, BW, VL and VNNI: per function, never a global -march), so it inlines only
 * into functions of that target, which the operators call only after
 * mdl_cpu_has_avx512vnni(). */
#ifndef MDL_UKERNELS_AVX512_H
#define MDL_UKERNELS_AVX512_H

#include "mdl_ukernels.h"

#ifdef MDL_HAVE_AVX2_UKERNELS
#include <immintrin.h>

#define MDL_VNNI __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))

/* Per-lane constants of mdl_requantize_clamp_vec for 16 channels (rq8 of
 * mdl_requantize_avx2.h in 16 lanes, the INT32_MIN multipliers as a mask). */
typedef struct {
  __m512i left, right, mask, half, mult, mult_odd;
  __mmask16 mult_min;
} mdl_rq16;

MDL_INLINE MDL_VNNI void mdl_rq16_init(mdl_rq16* r, const int32_t* multiplier,
                                       const int32_t* shift) {
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
  const __m512i s = _mm512_loadu_si512((const void*)shift);
  r->left = _mm512_max_epi32(s, zero);
  r->right = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
  r->mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, r->right), one);
  r->half = _mm512_srli_epi32(r->mask, 1);
  r->mult = _mm512_loadu_si512((const void*)multiplier);
  r->mult_odd = _mm512_srli_epi64(r->mult, 32);
  r->mult_min = _mm512_cmpeq_epi32_mask(r->mult, _mm512_set1_epi32(INT32_MIN));
}

/* mdl_requantize_clamp_vec(x, m, s, offset, lo, hi) in 16 lanes, step for step as
 * rq8_apply: x << left, the 64-bit products of the even and odd lanes with the
 * multiplier plus 2^30, their bits 31..62, the saturating case (x << left == m ==
 * INT32_MIN: INT32_MIN becomes INT32_MAX, a bitwise not), the rounding right shift of
 * mdl_rdbpot_vec, the offset and the clamp.  lean: no lane has a left shift or the
 * multiplier INT32_MIN. */
MDL_INLINE MDL_VNNI __m512i mdl_rq16_apply(const mdl_rq16* r, __m512i x, __m512i offset,
                                           __m512i lo, __m512i hi, int lean) {
  const __m512i round = _mm512_set1_epi64((int64_t)1 << 30);
  const __m512i a = lean ? x : _mm512_sllv_epi32(x, r->left);
  const __m512i ev = _mm512_add_epi64(_mm512_mul_epi32(a, r->mult), round);
  const __m512i od =
      _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), r->mult_odd), round);
  __m512i q = _mm512_mask_blend_epi32((__mmask16)0xAAAA, _mm512_srli_epi64(ev, 31),
                                      _mm512_slli_epi64(od, 1));
  if (!lean) {
    const __mmask16 sat =
        _mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(INT32_MIN)) & r->mult_min;
    q = _mm512_mask_xor_epi32(q, sat, q, _mm512_set1_epi32(-1));
  }
  const __m512i rem = _mm512_and_si512(q, r->mask);
  const __m512i threshold = _mm512_sub_epi32(r->half, _mm512_srai_epi32(q, 31));
  const __mmask16 up = _mm512_cmpgt_epi32_mask(rem, threshold);
  q = _mm512_srav_epi32(q, r->right);
  q = _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
  q = _mm512_add_epi32(q, offset);
  return _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
#endif /* MDL_UKERNELS_AVX512_H */
