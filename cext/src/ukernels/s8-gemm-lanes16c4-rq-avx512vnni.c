/* s8-gemm-lanes16c4-rq-avx512vnni: the lanes GEMM of conv_s8_fast over int8 data with
 * AVX512-VNNI, requantization fused (mdl_ukernels.h).  The patches are uint8 (each input
 * byte x as x ^ 0x80 = x + 128, s8-im2col-pixel8u-avx2) and the filter int8 in the
 * lanes16c4 layout (s8-pack-lanes16c4u-avx512vnni), so one vpdpbusd on a 512-bit
 * register adds, for 16 output channels, the 4 products of one patch's 4 bytes
 * (broadcast) with the channels' 4 weights; the bias `ubias` carries -128 * sum(w), which
 * makes the int32 sums exactly the int8 x int8 ones (vpdpbusd does not saturate).  Tiles
 * of P patches x B blocks of 16 channels (8 x 1, 6 x 2, 4 x 3, 4 x 4; 4, 2, 1 patches
 * at the end; a layer of at most 8 channels 8 patches x 8 lanes on 256-bit registers), the sums requantized in registers (mdl_rq16_apply, gemmlowp double
 * rounding) and stored as int8, the last block of fewer than 16 channels by a byte mask.
 * Twin: s8-gemm-lanes16-c on the same values, then s32-requant-rows-c. */
#include <string.h>

#include "mdl_ukernels_avx2.h"
#include "mdl_ukernels_avx512.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

#define LB MDL_CONV_FAST_LANE_BLOCK

MDL_INLINE MDL_VNNI __m512i bcast4(const uint8_t* x) {
  int32_t v;
  memcpy(&v, x, sizeof v);
  return _mm512_set1_epi32(v);
}

/* P patches (x + i * ps) x B blocks (w + b * wstride) of sums from ub[b], requantized
 * by r[b], stored at out + i * stride + b * 16 (the last block's lanes by `last`).  P, B
 * and lean are constants at every call (the loops unroll, the sums stay in registers).
 * The k loop steps pointers (see mdl_lanes16_sums_avx2). */
MDL_INLINE MDL_VNNI void tile(const int P, const int B, const int lean, int32_t k4,
                              const uint8_t* x, int32_t ps, const int8_t* w,
                              size_t wstride, const __m512i* ub, const mdl_rq16* r,
                              __m512i offset, __m512i lo, __m512i hi, __mmask16 last,
                              int8_t* out, int32_t stride) {
  __m512i a[32];
  for (int i = 0; i < P; ++i) {
    for (int b = 0; b < B; ++b) a[i * B + b] = ub[b];
  }
  const int8_t* const w_end = w + (size_t)k4 * LB;
  for (const int8_t* wk = w; wk < w_end; wk += 4 * LB, x += 4) {
    __m512i wv[4];
    for (int b = 0; b < B; ++b) wv[b] = _mm512_loadu_si512((const void*)(wk + b * wstride));
    for (int i = 0; i < P; ++i) {
      const __m512i xv = bcast4(x + (size_t)i * ps);
      for (int b = 0; b < B; ++b) a[i * B + b] = _mm512_dpbusd_epi32(a[i * B + b], xv, wv[b]);
    }
  }
  for (int i = 0; i < P; ++i) {
    for (int b = 0; b < B; ++b) {
      const __m512i v = mdl_rq16_apply(&r[b], a[i * B + b], offset, lo, hi, lean);
      const __m128i o8 = _mm512_cvtepi32_epi8(v); /* in [-128, 127]: exact */
      int8_t* o = out + (size_t)i * stride + b * LB;
      if (b == B - 1) {
        _mm_mask_storeu_epi8((void*)o, last, o8);
      } else {
        _mm_storeu_si128((__m128i*)(void*)o, o8);
      }
    }
  }
}

#define TILE_ARGS k4, x + (size_t)i * ps, ps, w, wstride, ub, r, offset, lo, hi, last, \
                  out + (size_t)i * stride, stride

/* All np patches for one group of B blocks: tiles of PM patches, then 4, 2, 1. */
#define DEFINE_GROUP(B, PM)                                                              \
  MDL_INLINE MDL_VNNI void group##B##_(const int lean, int32_t np, int32_t k4,           \
                                       const uint8_t* x, int32_t ps, const int8_t* w,    \
                                       size_t wstride, const __m512i* ub,                \
                                       const mdl_rq16* r, __m512i offset, __m512i lo,    \
                                       __m512i hi, __mmask16 last, int8_t* out,          \
                                       int32_t stride) {                                 \
    int32_t i = 0;                                                                       \
    for (; i + PM <= np; i += PM) tile(PM, B, lean, TILE_ARGS);                          \
    if (PM > 4 && i + 4 <= np) {                                                         \
      tile(4, B, lean, TILE_ARGS);                                                       \
      i += 4;                                                                            \
    }                                                                                    \
    if (i + 2 <= np) {                                                                   \
      tile(2, B, lean, TILE_ARGS);                                                       \
      i += 2;                                                                            \
    }                                                                                    \
    if (i < np) tile(1, B, lean, TILE_ARGS);                                             \
  }                                                                                      \
  static MDL_VNNI void group##B(int lean, int32_t np, int32_t k4, const uint8_t* x,      \
                                int32_t ps, const int8_t* w, size_t wstride,             \
                                const __m512i* ub, const mdl_rq16* r, __m512i offset,    \
                                __m512i lo, __m512i hi, __mmask16 last, int8_t* out,     \
                                int32_t stride) {                                        \
    if (lean) {                                                                          \
      group##B##_(1, np, k4, x, ps, w, wstride, ub, r, offset, lo, hi, last, out,        \
                  stride);                                                               \
    } else {                                                                             \
      group##B##_(0, np, k4, x, ps, w, wstride, ub, r, offset, lo, hi, last, out,        \
                  stride);                                                               \
    }                                                                                    \
  }

/* A layer of at most 8 output channels: P patches x 8 lanes on 256-bit registers (the
 * first 32 bytes of each 64-byte step of the block), rq8_apply (mdl_requantize_avx2.h). */
MDL_INLINE MDL_VNNI void tile8(const int P, const int lean, int32_t k4, const uint8_t* x,
                               int32_t ps, const int8_t* w, __m256i ub, const rq8* r,
                               __m256i offset, __m256i lo, __m256i hi, __mmask16 last,
                               int8_t* out, int32_t stride) {
  __m256i a[8];
  for (int i = 0; i < P; ++i) a[i] = ub;
  const int8_t* const w_end = w + (size_t)k4 * LB;
  for (const int8_t* wk = w; wk < w_end; wk += 4 * LB, x += 4) {
    const __m256i wv = _mm256_loadu_si256((const __m256i*)(const void*)wk);
    for (int i = 0; i < P; ++i) {
      int32_t v;
      memcpy(&v, x + (size_t)i * ps, sizeof v);
      a[i] = _mm256_dpbusd_epi32(a[i], _mm256_set1_epi32(v), wv);
    }
  }
  for (int i = 0; i < P; ++i) {
    const __m128i o8 = _mm256_cvtepi32_epi8(rq8_apply(r, a[i], offset, lo, hi, lean));
    _mm_mask_storeu_epi8((void*)(out + (size_t)i * stride), last, o8);
  }
}

#define TILE8_ARGS k4, x + (size_t)i * ps, ps, w, ub, r, offset, lo, hi, last, \
                   out + (size_t)i * stride, stride

MDL_INLINE MDL_VNNI void narrow_(const int lean, int32_t np, int32_t k4, const uint8_t* x,
                                 int32_t ps, const int8_t* w, __m256i ub, const rq8* r,
                                 __m256i offset, __m256i lo, __m256i hi, __mmask16 last,
                                 int8_t* out, int32_t stride) {
  int32_t i = 0;
  for (; i + 8 <= np; i += 8) tile8(8, lean, TILE8_ARGS);
  if (i + 4 <= np) {
    tile8(4, lean, TILE8_ARGS);
    i += 4;
  }
  if (i + 2 <= np) {
    tile8(2, lean, TILE8_ARGS);
    i += 2;
  }
  if (i < np) tile8(1, lean, TILE8_ARGS);
}

/* n <= 8 output channels (one block, its upper 8 lanes zero). */
static MDL_VNNI void narrow(int32_t np, int32_t n, int32_t k4, const uint8_t* x,
                            int32_t ps, const int8_t* w, const int32_t* ubias,
                            const mdl_rq_params* rq, int8_t* out, int32_t stride) {
  const __m256i offset = _mm256_set1_epi32(rq->output_offset);
  const __m256i lo = _mm256_set1_epi32(rq->act_min), hi = _mm256_set1_epi32(rq->act_max);
  int32_t m[8] = {0}, s[8] = {0};
  for (int32_t j = 0; j < n; ++j) {
    m[j] = rq->multiplier[j];
    s[j] = rq->shift[j];
  }
  rq8 r;
  rq8_init(&r, m, s);
  const __m256i ub = _mm256_loadu_si256((const __m256i*)(const void*)ubias);
  const __mmask16 last = (__mmask16)((1u << n) - 1u);
  if (rq->lean) {
    narrow_(1, np, k4, x, ps, w, ub, &r, offset, lo, hi, last, out, stride);
  } else {
    narrow_(0, np, k4, x, ps, w, ub, &r, offset, lo, hi, last, out, stride);
  }
}

DEFINE_GROUP(1, 8)
DEFINE_GROUP(2, 6)
DEFINE_GROUP(3, 4)
DEFINE_GROUP(4, 4)

MDL_VNNI void mdl_s8_gemm_ukernel_lanes16c4_rq__avx512vnni(
    int32_t np, int32_t n, int32_t k4, const uint8_t* patches, int32_t pstride,
    const int8_t* w8, const int32_t* ubias, const mdl_rq_params* rq, int8_t* out,
    int32_t out_stride) {
  if (n <= 8) {
    narrow(np, n, k4, patches, pstride, w8, ubias, rq, out, out_stride);
    return;
  }
  const __m512i offset = _mm512_set1_epi32(rq->output_offset);
  const __m512i lo = _mm512_set1_epi32(rq->act_min), hi = _mm512_set1_epi32(rq->act_max);
  const int32_t nb = (n + LB - 1) / LB;
  const size_t wstride = (size_t)k4 * LB;
  for (int32_t b0 = 0; b0 < nb; b0 += 4) {
    const int B = nb - b0 < 4 ? (int)(nb - b0) : 4;
    __m512i ub[4];
    mdl_rq16 r[4];
    for (int b = 0; b < B; ++b) {
      const int32_t ob = (b0 + b) * LB;
      ub[b] = _mm512_loadu_si512((const void*)(ubias + ob));
      if (n - ob >= LB) {
        mdl_rq16_init(&r[b], rq->multiplier + ob, rq->shift + ob);
      } else { /* multiplier and shift have n entries: pad the last block */
        int32_t m[LB] = {0}, s[LB] = {0};
        for (int32_t j = 0; j < n - ob; ++j) {
          m[j] = rq->multiplier[ob + j];
          s[j] = rq->shift[ob + j];
        }
        mdl_rq16_init(&r[b], m, s);
      }
    }
    const int32_t tail = n - (b0 + B - 1) * LB; /* lanes of the group's last block */
    const __mmask16 last = tail >= LB ? (__mmask16)0xFFFF : (__mmask16)((1u << tail) - 1u);
    const int8_t* w = w8 + (size_t)b0 * wstride;
    int8_t* o = out + (size_t)b0 * LB;
    switch (B) {
      case 1:
        group1(rq->lean, np, k4, patches, pstride, w, wstride, ub, r, offset, lo, hi, last,
               o, out_stride);
        break;
      case 2:
        group2(rq->lean, np, k4, patches, pstride, w, wstride, ub, r, offset, lo, hi, last,
               o, out_stride);
        break;
      case 3:
        group3(rq->lean, np, k4, patches, pstride, w, wstride, ub, r, offset, lo, hi, last,
               o, out_stride);
        break;
      default:
        group4(rq->lean, np, k4, patches, pstride, w, wstride, ub, r, offset, lo, hi, last,
               o, out_stride);
        break;
    }
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
