/* microdl: inline AVX2 building blocks shared by the AVX2 microkernels of
 * cext/src/ukernels/ (see mdl_ukernels.h).  x86-64 with GCC/Clang only
 * (MDL_HAVE_AVX2_UKERNELS); every function has the avx2 target attribute, so it inlines
 * only into avx2-target functions, which run after __builtin_cpu_supports("avx2"). */
#ifndef MDL_UKERNELS_AVX2_H
#define MDL_UKERNELS_AVX2_H

#include "mdl_requantize_avx2.h"
#include "mdl_ukernels.h"

#ifdef MDL_HAVE_AVX2_UKERNELS
#include <immintrin.h>
#include <string.h>

#define MDL_LB MDL_CONV_FAST_LANE_BLOCK

/* The int16 pair x[0], x[1] broadcast to the 8 int32 lanes (vpmaddwd's operand). */
MDL_INLINE MDL_AVX2 __m256i mdl_pair_avx2(const int16_t* x) {
  int32_t v;
  memcpy(&v, x, sizeof v);
  return _mm256_set1_epi32(v);
}

/* lanes16 GEMM accumulators of P patches (x + i * kp) x H halves of 8 output channels,
 * a[i * H + h], starting from the bias halves b0 / b1; k2 / 2 pair steps over the
 * weights wb of one block of 16 channels (one vpmaddwd per pair, patch and half).
 * P (1, 2 or 4) and H (1 or 2) are constants at every call (the dead accumulators fold
 * away).  The accumulators are named locals, not an array: through an array GCC 12
 * kept them in registers only by copying each one after every add (and spilled one
 * at P 4, H 2: 33 instructions per pair step instead of 25; callgrind, VWW -9%).  The
 * pair loop steps a pointer: with an int32 index stepping by 2 (which may wrap under
 * Python's -fwrapv), GCC 12 recomputed every address in the loop once this was an
 * exported function (measured: +22% instructions on VWW). */
MDL_INLINE MDL_AVX2 void mdl_lanes16_sums_avx2(const int16_t* x, int32_t kp, int32_t k2,
                                               const int16_t* wb, int P, int H,
                                               __m256i b0, __m256i b1, __m256i* a) {
  __m256i a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
  const int16_t* x0 = x;
  const int16_t* x1 = x + (P > 1 ? kp : 0);
  const int16_t* x2 = x + (P == 4 ? 2 * (size_t)kp : 0);
  const int16_t* x3 = x + (P == 4 ? 3 * (size_t)kp : 0);
  const int16_t* const w_end = wb + (size_t)k2 * MDL_LB;
  for (const int16_t* wk = wb; wk < w_end;
       wk += 2 * MDL_LB, x0 += 2, x1 += 2, x2 += 2, x3 += 2) {
    const __m256i w0 = _mm256_loadu_si256((const __m256i*)wk);
    const __m256i w1 = H == 2 ? _mm256_loadu_si256((const __m256i*)(wk + 16)) : w0;
    __m256i p = mdl_pair_avx2(x0);
    a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(p, w0));
    if (H == 2) a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(p, w1));
    if (P > 1) {
      p = mdl_pair_avx2(x1);
      a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(p, w0));
      if (H == 2) a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(p, w1));
    }
    if (P == 4) {
      p = mdl_pair_avx2(x2);
      a20 = _mm256_add_epi32(a20, _mm256_madd_epi16(p, w0));
      if (H == 2) a21 = _mm256_add_epi32(a21, _mm256_madd_epi16(p, w1));
      p = mdl_pair_avx2(x3);
      a30 = _mm256_add_epi32(a30, _mm256_madd_epi16(p, w0));
      if (H == 2) a31 = _mm256_add_epi32(a31, _mm256_madd_epi16(p, w1));
    }
  }
  const __m256i all[8] = {a00, a01, a10, a11, a20, a21, a30, a31};
  for (int i = 0; i < P; ++i) {
    a[i * H] = all[2 * i];
    if (H == 2) a[i * H + 1] = all[2 * i + 1];
  }
}

/* The int8 values of v0 then v1 (each lane in [-128, 127]) as 16 bytes. */
MDL_INLINE MDL_AVX2 __m128i mdl_pack16_avx2(__m256i v0, __m256i v1) {
  const __m256i v16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8);
  return _mm_packs_epi16(_mm256_castsi256_si128(v16), _mm256_extracti128_si256(v16, 1));
}

/* Stores the first n <= 16 bytes of v at o. */
MDL_INLINE MDL_AVX2 void mdl_store_n_avx2(int8_t* o, __m128i v, int32_t n) {
  if (n == 16) {
    _mm_storeu_si128((__m128i*)o, v);
  } else if (n == 8) {
    _mm_storel_epi64((__m128i*)o, v);
  } else {
    int8_t t[16];
    _mm_storeu_si128((__m128i*)t, v);
    for (int32_t j = 0; j < n; ++j) o[j] = t[j];
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
#endif /* MDL_UKERNELS_AVX2_H */
