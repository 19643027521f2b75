/* s8-pack-lanes16c8-c: a lanes16 int16 filter re-laid out as the int8 lanes16c8 filter
 * of the SMULL / SMLAL2 GEMM, portable C (mdl_ukernels.h).  Twin of
 * s8-pack-lanes16c8-neon. */
#include "mdl_ukernels.h"

#define LB MDL_CONV_FAST_LANE_BLOCK

int32_t mdl_s8_pack_ukernel_lanes16c8__c(int32_t n, int32_t k2, const int16_t* w16,
                                         int8_t* w8) {
  const int32_t k8 = (k2 + 7) / 8 * 8;
  int32_t ok = 1;
  for (int32_t ob = 0; ob < n; ob += LB) {
    const int16_t* src = w16 + (size_t)ob * k2;
    int8_t* dst = w8 + (size_t)ob * k8;
    for (int32_t o = 0; o < k8 / 8; ++o) {
      for (int32_t p = 0; p < LB / 2; ++p) {
        for (int32_t e = 0; e < 16; ++e) {
          const int32_t j = 2 * p + (e / 4) % 2;        /* channel in the block */
          const int32_t k = 8 * o + 4 * (e / 8) + e % 4; /* k */
          const int16_t v = k < k2 ? src[(size_t)(k / 2) * 2 * LB + 2 * j + k % 2] : 0;
          if (v == -128) ok = 0;
          dst[((size_t)o * (LB / 2) + p) * 16 + e] = (int8_t)v;
        }
      }
    }
  }
  return ok;
}
