/* s8-gemv-8c16-avx512vnni: FULLY_CONNECTED int8 sums over 8-channel packed weights with
 * AVX512-VNNI's vpdpbusd on 256-bit registers (AVX512VL; mdl_ukernels.h).  vpdpbusd
 * multiplies unsigned by signed bytes, so the input bytes are offset by 128 (x ^ 0x80
 * = x + 128 as uint8) and the caller's bias carries -128 * sum_i w(o, i): the int32 sum
 * is exactly that of the twin (no saturation in vpdpbusd).  Each group of 16 inputs is
 * broadcast to both 128-bit halves and meets two channels' 16 weights per vpdpbusd,
 * straight from memory; two blocks per pass share the broadcast (8 independent
 * accumulator chains); a block's 4 accumulators (4 partial sums per channel) are
 * reduced by a vphaddd tree and one lane permutation. */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

#define NR 8
#define KC 16
#define MDL_VNNI __attribute__((target("avx2,avx512f,avx512vl,avx512vnni")))

MDL_INLINE MDL_VNNI __m256i xu8(const int8_t* p) {
  const __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i*)p), _mm_set1_epi8(-128));
  return _mm256_broadcastsi128_si256(v);
}

MDL_INLINE MDL_VNNI void group8(__m256i xv, const int8_t* wg, __m256i* a) {
  for (int j = 0; j < NR / 2; ++j) {
    a[j] = _mm256_dpbusd_epi32(a[j], xv,
                               _mm256_loadu_si256((const __m256i*)(wg + j * 2 * KC)));
  }
}

/* The 8 sums of one block's accumulators a[0..4) (channel 2j in the low half of
 * a[j], 2j + 1 in the high half, 4 partials each), plus ubias, stored for m channels. */
MDL_INLINE MDL_VNNI void finish8(const __m256i* a, const int32_t* ubias, int32_t m,
                                 int32_t* acc) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]),
                                      _mm256_hadd_epi32(a[2], a[3]));
  /* h = [0 2 4 6 | 1 3 5 7] -> channels 0..7 */
  __m256i s = _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  if (m == NR) {
    s = _mm256_add_epi32(s, _mm256_loadu_si256((const __m256i*)ubias));
    _mm256_storeu_si256((__m256i*)acc, s);
  } else {
    int32_t t[NR];
    _mm256_storeu_si256((__m256i*)t, s);
    for (int32_t c = 0; c < m; ++c) acc[c] = mdl_add_wrap(t[c], ubias[c]);
  }
}

MDL_VNNI void mdl_s8_gemv_ukernel_8c16__avx512vnni(int32_t n, int32_t k,
                                                   const int8_t* x, const int8_t* w,
                                                   const int32_t* ubias, int32_t* acc) {
  const int32_t full = k / KC, rest = k - full * KC;
  const int32_t groups = full + (rest > 0);
  const size_t block_bytes = (size_t)groups * (NR * KC);
  int8_t tail[KC] = {0};
  for (int32_t t = 0; t < rest; ++t) tail[t] = x[(size_t)full * KC + t];
  const __m256i x_tail = xu8(tail);
  int32_t o0 = 0;
  /* Two blocks per pass (8 independent vpdpbusd chains, one broadcast for both). */
  for (; o0 + NR < n; o0 += 2 * NR) {
    const int8_t* wa = w + (size_t)(o0 / NR) * block_bytes;
    const int8_t* wb = wa + block_bytes;
    __m256i a[NR / 2], b[NR / 2];
    for (int j = 0; j < NR / 2; ++j) a[j] = b[j] = _mm256_setzero_si256();
    const int8_t* xg = x;
    for (int32_t g = 0; g < full; ++g, xg += KC, wa += NR * KC, wb += NR * KC) {
      const __m256i xv = xu8(xg);
      group8(xv, wa, a);
      group8(xv, wb, b);
    }
    if (rest) {
      group8(x_tail, wa, a);
      group8(x_tail, wb, b);
    }
    finish8(a, ubias + o0, NR, acc + o0);
    finish8(b, ubias + o0 + NR, n - o0 - NR < NR ? n - o0 - NR : NR, acc + o0 + NR);
  }
  if (o0 < n) { /* one last block */
    const int8_t* wa = w + (size_t)(o0 / NR) * block_bytes;
    __m256i a[NR / 2];
    for (int j = 0; j < NR / 2; ++j) a[j] = _mm256_setzero_si256();
    const int8_t* xg = x;
    for (int32_t g = 0; g < full; ++g, xg += KC, wa += NR * KC) group8(xu8(xg), wa, a);
    if (rest) group8(x_tail, wa, a);
    finish8(a, ubias + o0, n - o0, acc + o0);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
