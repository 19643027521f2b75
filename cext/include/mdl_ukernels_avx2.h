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

/* lanes16 GEMM accumulators of P patches x H halves of 8 output channels, a[i * H + h],
 * starting from the bias halves b0 / b1, for patches made of nseg runs: run s of patch
 * i is the seg_k2 (even) int16 entries at seg[s] + off + i * kp, the runs in K order,
 * so the weights wb of one block of 16 channels are read straight through (one
 * vpmaddwd per pair, patch and half).  A plain patch is one run (mdl_lanes16_sums_avx2).
 * P (1, 2 or 4) and H (1 or 2) are constants at every call (the dead accumulators fold
 * away).  The accumulators are named locals, not an array: through an array GCC 12
 * kept them in registers only by copying each one after every add (and spilled one
 * at P 4, H 2: 33 instructions per pair step instead of 25; callgrind, VWW -9%).  The
 * pair loop steps pointers: with an int32 index stepping by 2 (which may wrap under
 * Python's -fwrapv), GCC 12 recomputed every address in the loop once this was an
 * exported function (measured: +22% instructions on VWW). */
MDL_INLINE MDL_AVX2 void mdl_lanes16_isums_avx2(const int16_t* const* seg, int32_t nseg,
                                                ptrdiff_t off, int32_t seg_k2, int32_t kp,
                                                const int16_t* wb, int P, int H,
                                                __m256i b0, __m256i b1, __m256i* a) {
  __m256i a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
  const int16_t* wk = wb;
  for (int32_t sg = 0; sg < nseg; ++sg) {
    const int16_t* x0 = seg[sg] + off;
    const int16_t* x1 = x0 + (P > 1 ? kp : 0);
    const int16_t* x2 = x0 + (P == 4 ? 2 * (size_t)kp : 0);
    const int16_t* x3 = x0 + (P == 4 ? 3 * (size_t)kp : 0);
    const int16_t* const w_end = wk + (size_t)seg_k2 * MDL_LB;
    for (; wk < w_end; wk += 2 * MDL_LB, x0 += 2, x1 += 2, x2 += 2, x3 += 2) {
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
  }
  const __m256i all[8] = {a00, a01, a10, a11, a20, a21, a30, a31};
  for (int i = 0; i < P; ++i) {
    a[i * H] = all[2 * i];
    if (H == 2) a[i * H + 1] = all[2 * i + 1];
  }
}

/* The same for P plain patches x + i * kp of k2 entries. */
MDL_INLINE MDL_AVX2 void mdl_lanes16_sums_avx2(const int16_t* x, int32_t kp, int32_t k2,
                                               const int16_t* wb, int P, int H,
                                               __m256i b0, __m256i b1, __m256i* a) {
  const int16_t* seg[1] = {x};
  mdl_lanes16_isums_avx2(seg, 1, 0, k2, kp, wb, P, H, b0, b1, a);
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

/* The fused-requantization lanes16 GEMM of s8-gemm-lanes16-rq-avx2 and
 * s8-igemm-lanes16-rq-avx2: np patches of nseg runs of k2 entries each (x, kp: see
 * mdl_lanes16_isums_avx2), their int8 outputs out_stride apart.  A block of more than
 * 8 channels takes 4 patches x 2 halves of 8 lanes per step (8 accumulators, one pair
 * broadcast per patch: 5% fewer instructions than 2 x 2 on VWW and KWS by callgrind),
 * then 2 and 1 for the rest; a block of at most 8 channels 4 patches x 8 lanes, so
 * that no multiply-add works on the zero weights of the empty half.
 *
 * One block of `lanes` <= 16 output channels, `lean` a constant (see rq8_apply). */
MDL_INLINE MDL_AVX2 void mdl_lanes16_rq_block_avx2(int32_t np, int32_t lanes,
                                 const int16_t* const* x, int32_t nseg, int32_t k2,
                                 int32_t kp, const int16_t* wb, __m256i b0,
                                 __m256i b1, const rq8* r0, const rq8* r1,
                                 __m256i offset, __m256i lo, __m256i hi, int lean,
                                 int8_t* out, int32_t stride) {
  int32_t i = 0;
  if (lanes > 8) {
    for (; i + 4 <= np; i += 4) {
      __m256i a[8];
      mdl_lanes16_isums_avx2(x, nseg, (ptrdiff_t)i * kp, k2, kp, wb, 4, 2, b0, b1, a);
      for (int j = 0; j < 4; ++j) {
        const __m256i v0 = rq8_apply(r0, a[2 * j], offset, lo, hi, lean);
        const __m256i v1 = rq8_apply(r1, a[2 * j + 1], offset, lo, hi, lean);
        mdl_store_n_avx2(out + (size_t)(i + j) * stride, mdl_pack16_avx2(v0, v1), lanes);
      }
    }
    for (; i + 2 <= np; i += 2) {
      __m256i a[4];
      mdl_lanes16_isums_avx2(x, nseg, (ptrdiff_t)i * kp, k2, kp, wb, 2, 2, b0, b1, a);
      for (int j = 0; j < 2; ++j) {
        const __m256i v0 = rq8_apply(r0, a[2 * j], offset, lo, hi, lean);
        const __m256i v1 = rq8_apply(r1, a[2 * j + 1], offset, lo, hi, lean);
        mdl_store_n_avx2(out + (size_t)(i + j) * stride, mdl_pack16_avx2(v0, v1), lanes);
      }
    }
    for (; i < np; ++i) {
      __m256i a[2];
      mdl_lanes16_isums_avx2(x, nseg, (ptrdiff_t)i * kp, k2, kp, wb, 1, 2, b0, b1, a);
      mdl_store_n_avx2(out + (size_t)i * stride,
                       mdl_pack16_avx2(rq8_apply(r0, a[0], offset, lo, hi, lean),
                                       rq8_apply(r1, a[1], offset, lo, hi, lean)),
                       lanes);
    }
    return;
  }
  for (; i + 4 <= np; i += 4) {
    __m256i a[4];
    mdl_lanes16_isums_avx2(x, nseg, (ptrdiff_t)i * kp, k2, kp, wb, 4, 1, b0, b1, a);
    for (int j = 0; j < 4; j += 2) {
      const __m128i v = mdl_pack16_avx2(rq8_apply(r0, a[j], offset, lo, hi, lean),
                                        rq8_apply(r0, a[j + 1], offset, lo, hi, lean));
      if (lanes == 8 && stride == 8) { /* two whole output pixels: one store */
        _mm_storeu_si128((__m128i*)(out + (size_t)(i + j) * 8), v);
      } else {
        mdl_store_n_avx2(out + (size_t)(i + j) * stride, v, lanes);
        mdl_store_n_avx2(out + (size_t)(i + j + 1) * stride, _mm_srli_si128(v, 8), lanes);
      }
    }
  }
  for (; i < np; ++i) {
    __m256i a[1];
    mdl_lanes16_isums_avx2(x, nseg, (ptrdiff_t)i * kp, k2, kp, wb, 1, 1, b0, b1, a);
    const __m256i v = rq8_apply(r0, a[0], offset, lo, hi, lean);
    mdl_store_n_avx2(out + (size_t)i * stride, mdl_pack16_avx2(v, v), lanes);
  }
}

/* Every block of 16 output channels (nseg * k2 weight entries per channel), `lean` a
 * constant. */
MDL_INLINE MDL_AVX2 void mdl_lanes16_rq_blocks_avx2(int32_t np, int32_t n,
                                   const int16_t* const* patches, int32_t nseg,
                                   int32_t k2, int32_t kp, const int16_t* w,
                                   const int32_t* bias, const int32_t* multiplier,
                                   const int32_t* shift, __m256i offset, __m256i lo,
                                   __m256i hi, int lean, int8_t* out,
                                   int32_t out_stride) {
  for (int32_t ob = 0; ob < n; ob += MDL_LB) {
    const int32_t lanes = n - ob < MDL_LB ? n - ob : MDL_LB;
    const __m256i b0 = _mm256_loadu_si256((const __m256i*)(bias + ob));
    const __m256i b1 = _mm256_loadu_si256((const __m256i*)(bias + ob + 8));
    rq8 r0, r1;
    if (lanes == MDL_LB) {
      rq8_init(&r0, multiplier + ob, shift + ob);
      rq8_init(&r1, multiplier + ob + 8, shift + ob + 8);
    } else { /* multiplier and shift have n entries: pad the last block */
      int32_t m[MDL_LB] = {0}, s[MDL_LB] = {0};
      for (int32_t j = 0; j < lanes; ++j) {
        m[j] = multiplier[ob + j];
        s[j] = shift[ob + j];
      }
      rq8_init(&r0, m, s);
      rq8_init(&r1, m + 8, s + 8);
    }
    mdl_lanes16_rq_block_avx2(np, lanes, patches, nseg, k2, kp,
                              w + (size_t)ob * k2 * nseg, b0, b1, &r0, &r1, offset, lo,
                              hi, lean, out + ob, out_stride);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
#endif /* MDL_UKERNELS_AVX2_H */
