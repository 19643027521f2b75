/* s8-gemv-8c16-c: FULLY_CONNECTED int8 sums over 8-channel packed weights, portable
 * (mdl_ukernels.h).  Per block of 8 channels and group of 16 inputs, the 8 x 16
 * products accumulate in int32; the loop over the 16 inputs is written for compilers
 * to vectorize (int8 widened to int16, pmaddwd-shaped pairs). */
#include "mdl_ukernels.h"

#define NR 8  /* MDL_FC_GEMV_BLOCK */
#define KC 16 /* MDL_FC_GEMV_KC */

MDL_MULTIVERSION void mdl_s8_gemv_ukernel_8c16__c(int32_t n, int32_t k,
                                                  const int8_t* MDL_RESTRICT x,
                                                  const int8_t* MDL_RESTRICT w,
                                                  const int32_t* MDL_RESTRICT bias,
                                                  int32_t* MDL_RESTRICT acc) {
  const int32_t groups = (k + KC - 1) / KC;
  for (int32_t o0 = 0; o0 < n; o0 += NR) {
    const int8_t* wb = w + (size_t)(o0 / NR) * groups * (NR * KC);
    int32_t a[NR];
    for (int32_t c = 0; c < NR; ++c) a[c] = 0;
    for (int32_t g = 0; g < groups; ++g) {
      const int8_t* xg = x + (size_t)g * KC;
      const int32_t len = k - g * KC < KC ? k - g * KC : KC;
      for (int32_t c = 0; c < NR; ++c) {
        const int8_t* wc = wb + ((size_t)g * NR + c) * KC;
        int32_t s = 0;
        for (int32_t t = 0; t < len; ++t) s += (int16_t)xg[t] * (int16_t)wc[t];
        a[c] += s;
      }
    }
    const int32_t m = n - o0 < NR ? n - o0 : NR;
    for (int32_t c = 0; c < m; ++c) {
      acc[o0 + c] = bias ? mdl_add_wrap(a[c], bias[o0 + c]) : a[c];
    }
  }
}
