/* s8-gemv-16c2-c: FULLY_CONNECTED int8 sums over 16-channel packed weights, portable
 * (mdl_ukernels.h).  Per block, 16 int32 sums over the int16 input pairs; the loop over
 * the 16 channels is written for compilers to vectorize (pmaddwd-shaped: two products
 * per channel and pair). */
#include "mdl_ukernels.h"

#define BLOCK 16

MDL_MULTIVERSION void mdl_s8_gemv_ukernel_16c2__c(int32_t n, int32_t k2,
                                                  const int16_t* MDL_RESTRICT x,
                                                  const int8_t* MDL_RESTRICT w,
                                                  const int32_t* MDL_RESTRICT bias,
                                                  int32_t* MDL_RESTRICT acc) {
  for (int32_t o0 = 0; o0 < n; o0 += BLOCK) {
    const int8_t* wb = w + (size_t)(o0 / BLOCK) * k2 * (2 * BLOCK);
    int32_t a[BLOCK];
    for (int32_t c = 0; c < BLOCK; ++c) a[c] = 0;
    for (int32_t j = 0; j < k2; ++j) {
      const int32_t x0 = x[2 * j], x1 = x[2 * j + 1];
      const int8_t* wj = wb + (size_t)j * (2 * BLOCK);
      for (int32_t c = 0; c < BLOCK; ++c) {
        a[c] += x0 * wj[2 * c] + x1 * wj[2 * c + 1];
      }
    }
    const int32_t m = n - o0 < BLOCK ? n - o0 : BLOCK;
    for (int32_t c = 0; c < m; ++c) {
      acc[o0 + c] = bias ? mdl_add_wrap(a[c], bias[o0 + c]) : a[c];
    }
  }
}
