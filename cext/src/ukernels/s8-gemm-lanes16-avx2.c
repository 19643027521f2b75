/* s8-gemm-lanes16-avx2: the output-channel lanes GEMM of conv_s8_fast with AVX2
 * intrinsics (mdl_ukernels.h): 2 patches x 16 output channels per step, one vpmaddwd
 * per (patch, pair of entries, 8 channels), int32 sums stored to acc.  Twin:
 * s8-gemm-lanes16-c. */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

/* Stores the first `lanes` of the 16 sums v[0], v[1] at d. */
MDL_INLINE MDL_AVX2 void store_sums(int32_t* d, __m256i v0, __m256i v1, int32_t lanes) {
  if (lanes == MDL_LB) {
    _mm256_storeu_si256((__m256i*)d, v0);
    _mm256_storeu_si256((__m256i*)(d + 8), v1);
  } else {
    int32_t t[MDL_LB];
    _mm256_storeu_si256((__m256i*)t, v0);
    _mm256_storeu_si256((__m256i*)(t + 8), v1);
    for (int32_t j = 0; j < lanes; ++j) d[j] = t[j];
  }
}

MDL_AVX2 void mdl_s8_gemm_ukernel_lanes16__avx2(int32_t np, int32_t n, int32_t k2,
                                                int32_t kp,
                                                const int16_t* MDL_RESTRICT patches,
                                                const int16_t* MDL_RESTRICT w,
                                                const int32_t* MDL_RESTRICT bias,
                                                int32_t* MDL_RESTRICT acc) {
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int16_t* wb = w + (size_t)ob * k2;
    const int32_t lanes = n - ob < MDL_LB ? n - ob : MDL_LB;
    const __m256i b0 = _mm256_loadu_si256((const __m256i*)(bias + ob));
    const __m256i b1 = _mm256_loadu_si256((const __m256i*)(bias + ob + 8));
    int32_t i = 0;
    for (; i + 2 <= np; i += 2) {
      __m256i a[4];
      mdl_lanes16_sums_avx2(patches + (size_t)i * kp, kp, k2, wb, 2, 2, b0, b1, a);
      int32_t* d = acc + (size_t)i * n + ob;
      store_sums(d, a[0], a[1], lanes);
      store_sums(d + n, a[2], a[3], lanes);
    }
    if (i < np) {
      __m256i a[2];
      mdl_lanes16_sums_avx2(patches + (size_t)i * kp, kp, k2, wb, 1, 2, b0, b1, a);
      store_sums(acc + (size_t)i * n + ob, a[0], a[1], lanes);
    }
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
