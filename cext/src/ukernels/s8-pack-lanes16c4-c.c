/* s8-pack-lanes16c4-c: a lanes16 int16 filter re-laid out as the int8 lanes16c4 filter
 * of the dot-product GEMM, portable C (mdl_ukernels.h).  Twin of
 * s8-pack-lanes16c4-neon. */
#include "mdl_ukernels.h"

#define LB MDL_CONV_FAST_LANE_BLOCK

void mdl_s8_pack_ukernel_lanes16c4__c(int32_t n, int32_t k2, const int16_t* w16,
                                      int8_t* w8) {
  const int32_t k4 = (k2 + 3) / 4 * 4;
  for (int32_t ob = 0; ob < n; ob += LB) {
    const int16_t* src = w16 + (size_t)ob * k2;
    int8_t* dst = w8 + (size_t)ob * k4;
    for (int32_t q = 0; q < k4 / 4; ++q) {
      for (int32_t j = 0; j < LB; ++j) {
        for (int32_t t = 0; t < 4; ++t) {
          const int32_t k = 4 * q + t;
          dst[((size_t)q * LB + j) * 4 + t] =
              k < k2 ? (int8_t)src[(size_t)(k / 2) * 2 * LB + 2 * j + k % 2] : 0;
        }
      }
    }
  }
}
