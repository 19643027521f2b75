/* microdl: the double-rounding requantization of mdl_requantize_vec.h in 8 AVX2 lanes,
 * shared by the fast convolution kernels' in-register requantization.  x86-64 with
 * GCC/Clang only (MDL_HAVE_RQ8); callers reach these functions only after
 * __builtin_cpu_supports("avx2").  Bit-identical to mdl_requantize_clamp_vec for every
 * argument (tests/test_conv_fast.py and tests/test_speed_kernels.py compare the AVX2 and
 * portable paths). */
#ifndef MDL_REQUANTIZE_AVX2_H
#define MDL_REQUANTIZE_AVX2_H

#include "mdl_requantize_vec.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(MDL_NO_MULTIVERSION)
#include <immintrin.h>
#define MDL_HAVE_RQ8 1
#define MDL_AVX2 __attribute__((target("avx2")))

/* Per-lane constants of mdl_requantize_clamp_vec for 8 channels. */
typedef struct {
  __m256i left, right, mask, half, mult, mult_odd, mult_min;
} rq8;

MDL_INLINE MDL_AVX2 void rq8_init(rq8* r, const int32_t* multiplier, const int32_t* shift) {
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  const __m256i s = _mm256_loadu_si256((const __m256i*)shift);
  r->left = _mm256_max_epi32(s, zero);
  r->right = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
  r->mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, r->right), one);
  r->half = _mm256_srli_epi32(r->mask, 1);
  r->mult = _mm256_loadu_si256((const __m256i*)multiplier);
  r->mult_odd = _mm256_srli_epi64(r->mult, 32);
  r->mult_min = _mm256_cmpeq_epi32(r->mult, _mm256_set1_epi32(INT32_MIN));
}

/* mdl_requantize_clamp_vec(x, m, s, offset, lo, hi) in 8 lanes: x << left, the 64-bit
 * products of the even and odd lanes with the multiplier (vpmuldq) plus 2^30, their bits
 * 31..62, the one saturating case (x << left == m == INT32_MIN, where those bits are
 * INT32_MIN and the result INT32_MAX) as an xor, then the rounding right shift of
 * mdl_rdbpot_vec, the offset and the clamp.  lean: no lane has a left shift or the
 * multiplier INT32_MIN (both steps are the identity then). */
MDL_INLINE MDL_AVX2 __m256i rq8_apply(const rq8* r, __m256i x, __m256i offset, __m256i lo,
                                  __m256i hi, int lean) {
  const __m256i round = _mm256_set1_epi64x((int64_t)1 << 30);
  const __m256i a = lean ? x : _mm256_sllv_epi32(x, r->left);
  const __m256i ev = _mm256_add_epi64(_mm256_mul_epi32(a, r->mult), round);
  const __m256i od =
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), r->mult_odd), round);
  __m256i q = _mm256_blend_epi32(_mm256_srli_epi64(ev, 31), _mm256_slli_epi64(od, 1),
                                 0xAA);
  if (!lean) {
    q = _mm256_xor_si256(
        q, _mm256_and_si256(_mm256_cmpeq_epi32(a, _mm256_set1_epi32(INT32_MIN)),
                            r->mult_min));
  }
  const __m256i rem = _mm256_and_si256(q, r->mask);
  const __m256i threshold = _mm256_sub_epi32(r->half, _mm256_srai_epi32(q, 31));
  q = _mm256_sub_epi32(_mm256_srav_epi32(q, r->right), _mm256_cmpgt_epi32(rem, threshold));
  q = _mm256_add_epi32(q, offset);
  return _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
}

#endif

#endif /* MDL_REQUANTIZE_AVX2_H */
