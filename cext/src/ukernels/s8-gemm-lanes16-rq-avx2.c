/* s8-gemm-lanes16-rq-avx2: the output-channel lanes GEMM of conv_s8_fast with the
 * requantization fused (mdl_ukernels.h): the int32 sums of a
 * step are requantized while still in registers (rq8_apply, mdl_requantize_avx2.h,
 * gemmlowp double rounding) and their int8 results stored straight to the output: no
 * int32 accumulator array, no separate requantization pass.  A block of more than 8
 * channels takes 4 patches x 2 halves of 8 lanes per step (8 accumulators, one pair
 * broadcast per patch: 5% fewer instructions than 2 x 2 on VWW and KWS by callgrind),
 * then 2 and 1 for the rest; a block of at most 8
 * channels 4 patches x 8 lanes, so that no multiply-add works on the zero weights of
 * the empty half.  Twin: s8-gemm-lanes16-c followed by s32-requant-rows-c. */
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

/* One block of `lanes` <= 16 output channels, `lean` a constant (see rq8_apply). */
MDL_INLINE MDL_AVX2 void gemm_rq(int32_t np, int32_t lanes, int32_t k2, int32_t kp,
                                 const int16_t* x, const int16_t* wb, __m256i b0,
                                 __m256i b1, const rq8* r0, const rq8* r1,
                                 __m256i offset, __m256i lo, __m256i hi, int lean,
                                 int8_t* out, int32_t stride) {
  int32_t i = 0;
  if (lanes > 8) {
    for (; i + 4 <= np; i += 4) {
      __m256i a[8];
      mdl_lanes16_sums_avx2(x + (size_t)i * kp, kp, k2, wb, 4, 2, b0, b1, a);
      for (int j = 0; j < 4; ++j) {
        const __m256i v0 = rq8_apply(r0, a[2 * j], offset, lo, hi, lean);
        const __m256i v1 = rq8_apply(r1, a[2 * j + 1], offset, lo, hi, lean);
        mdl_store_n_avx2(out + (size_t)(i + j) * stride, mdl_pack16_avx2(v0, v1), lanes);
      }
    }
    for (; i + 2 <= np; i += 2) {
      __m256i a[4];
      mdl_lanes16_sums_avx2(x + (size_t)i * kp, kp, k2, wb, 2, 2, b0, b1, a);
      for (int j = 0; j < 2; ++j) {
        const __m256i v0 = rq8_apply(r0, a[2 * j], offset, lo, hi, lean);
        const __m256i v1 = rq8_apply(r1, a[2 * j + 1], offset, lo, hi, lean);
        mdl_store_n_avx2(out + (size_t)(i + j) * stride, mdl_pack16_avx2(v0, v1), lanes);
      }
    }
    for (; i < np; ++i) {
      __m256i a[2];
      mdl_lanes16_sums_avx2(x + (size_t)i * kp, kp, k2, wb, 1, 2, b0, b1, a);
      mdl_store_n_avx2(out + (size_t)i * stride,
                       mdl_pack16_avx2(rq8_apply(r0, a[0], offset, lo, hi, lean),
                                       rq8_apply(r1, a[1], offset, lo, hi, lean)),
                       lanes);
    }
    return;
  }
  for (; i + 4 <= np; i += 4) {
    __m256i a[4];
    mdl_lanes16_sums_avx2(x + (size_t)i * kp, kp, k2, wb, 4, 1, b0, b1, a);
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
    mdl_lanes16_sums_avx2(x + (size_t)i * kp, kp, k2, wb, 1, 1, b0, b1, a);
    const __m256i v = rq8_apply(r0, a[0], offset, lo, hi, lean);
    mdl_store_n_avx2(out + (size_t)i * stride, mdl_pack16_avx2(v, v), lanes);
  }
}

/* Every block of 16 output channels, `lean` a constant. */
MDL_INLINE MDL_AVX2 void blocks_rq(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                   const int16_t* patches, const int16_t* w,
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
    gemm_rq(np, lanes, k2, kp, patches, w + (size_t)ob * k2, b0, b1, &r0, &r1, offset, lo,
            hi, lean, out + ob, out_stride);
  }
}

MDL_AVX2 void mdl_s8_gemm_ukernel_lanes16_rq__avx2(int32_t np, int32_t n, int32_t k2,
                                                   int32_t kp, const int16_t* patches,
                                                   const int16_t* w, const int32_t* bias,
                                                   const mdl_rq_params* rq, int8_t* out,
                                                   int32_t out_stride) {
  const __m256i offset = _mm256_set1_epi32(rq->output_offset);
  const __m256i lo = _mm256_set1_epi32(rq->act_min), hi = _mm256_set1_epi32(rq->act_max);
  if (rq->lean) {
    blocks_rq(np, n, k2, kp, patches, w, bias, rq->multiplier, rq->shift, offset, lo, hi,
              1, out, out_stride);
  } else {
    blocks_rq(np, n, k2, kp, patches, w, bias, rq->multiplier, rq->shift, offset, lo, hi,
              0, out, out_stride);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
