/* s8-vadd-x16-avx2: the int8 ADD / SUB row of add_s8.c's fast path in AVX2
 * (mdl_ukernels.h).  Per step 16 int8 elements of each input are widened to two 8-lane
 * int32 halves; the input scalings v * hi + ((v * lo + round) >> k) by vpmulld and the
 * rounding divide by 2^right (ties away from zero, mdl_rdbpot_vec) with one shift count
 * for all lanes; the output requantization as rq8_apply with a scalar multiplier: the
 * 64-bit products of the even and odd lanes (vpmuldq) plus 2^30, their bits 31..62,
 * the rounding right shift, the offset and the clamp; packed back to 16 bytes.  A last
 * step of fewer than 16 elements goes through zeroed 16-byte buffers (no read or write
 * past the row).  Twin: mdl_s8_vadd_ukernel_x16__c. */
#include "mdl_requantize_vec.h"
#include "mdl_ukernels_avx2.h"

#ifdef MDL_HAVE_AVX2_UKERNELS

typedef struct {
  __m256i off, hi, lo, mask, half;
  __m128i right;
} scale8;

typedef struct {
  scale8 a, b;
  __m128i k, out_left, out_right;
  __m256i round, mult, round64, out_mask, out_half, zo, lo, hi;
} vadd8;

MDL_INLINE MDL_AVX2 void scale8_init(scale8* s, int32_t off, int32_t hi, int32_t lo,
                                     int32_t right) {
  const int32_t mask = (int32_t)((1u << right) - 1u);
  s->off = _mm256_set1_epi32(off);
  s->hi = _mm256_set1_epi32(hi);
  s->lo = _mm256_set1_epi32(lo);
  s->mask = _mm256_set1_epi32(mask);
  s->half = _mm256_set1_epi32(mask >> 1);
  s->right = _mm_cvtsi32_si128(right);
}

/* mdl_rdbpot_vec(q, right) in 8 lanes, one exponent for all. */
MDL_INLINE MDL_AVX2 __m256i rdbpot8(__m256i q, __m256i mask, __m256i half, __m128i right) {
  const __m256i rem = _mm256_and_si256(q, mask);
  const __m256i threshold = _mm256_sub_epi32(half, _mm256_srai_epi32(q, 31));
  return _mm256_sub_epi32(_mm256_sra_epi32(q, right), _mm256_cmpgt_epi32(rem, threshold));
}

/* mdl_small_scale_apply(x + off, ...) for 8 int8 values x widened to int32. */
MDL_INLINE MDL_AVX2 __m256i scale8_apply(const scale8* s, const vadd8* c, __m256i x) {
  const __m256i v = _mm256_add_epi32(x, s->off);
  const __m256i low = _mm256_sra_epi32(
      _mm256_add_epi32(_mm256_mullo_epi32(v, s->lo), c->round), c->k);
  const __m256i q = _mm256_add_epi32(_mm256_mullo_epi32(v, s->hi), low);
  return rdbpot8(q, s->mask, s->half, s->right);
}

/* mdl_requantize_clamp_vec(raw, m, sh, zo, lo, hi) for 8 lanes (m != INT32_MIN). */
MDL_INLINE MDL_AVX2 __m256i out8(const vadd8* c, __m256i raw) {
  const __m256i a = _mm256_sll_epi32(raw, c->out_left);
  const __m256i ev = _mm256_add_epi64(_mm256_mul_epi32(a, c->mult), c->round64);
  const __m256i od =
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), c->mult), c->round64);
  __m256i q = _mm256_blend_epi32(_mm256_srli_epi64(ev, 31), _mm256_slli_epi64(od, 1), 0xAA);
  q = rdbpot8(q, c->out_mask, c->out_half, c->out_right);
  q = _mm256_add_epi32(q, c->zo);
  return _mm256_min_epi32(_mm256_max_epi32(q, c->lo), c->hi);
}

/* 16 elements: a16 / b16 the raw int8 bytes (b ignored when bconst is used). */
MDL_INLINE MDL_AVX2 __m128i step16(const vadd8* c, __m128i a16, __m128i b16, int bvec,
                                   __m256i bconst, int32_t mode) {
  const __m256i xa0 = scale8_apply(&c->a, c, _mm256_cvtepi8_epi32(a16));
  const __m256i xa1 = scale8_apply(&c->a, c, _mm256_cvtepi8_epi32(_mm_srli_si128(a16, 8)));
  __m256i xb0 = bconst, xb1 = bconst;
  if (bvec) {
    xb0 = scale8_apply(&c->b, c, _mm256_cvtepi8_epi32(b16));
    xb1 = scale8_apply(&c->b, c, _mm256_cvtepi8_epi32(_mm_srli_si128(b16, 8)));
  }
  __m256i r0, r1;
  if (mode == 0) {
    r0 = _mm256_add_epi32(xa0, xb0);
    r1 = _mm256_add_epi32(xa1, xb1);
  } else if (mode == 1) {
    r0 = _mm256_sub_epi32(xa0, xb0);
    r1 = _mm256_sub_epi32(xa1, xb1);
  } else {
    r0 = _mm256_sub_epi32(xb0, xa0);
    r1 = _mm256_sub_epi32(xb1, xa1);
  }
  return mdl_pack16_avx2(out8(c, r0), out8(c, r1));
}

MDL_INLINE MDL_AVX2 void row(const vadd8* c, int32_t n, const int8_t* a, const int8_t* b,
                             int bvec, __m256i bconst, int32_t mode, int8_t* out) {
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a16 = _mm_loadu_si128((const __m128i*)(a + i));
    const __m128i b16 = bvec ? _mm_loadu_si128((const __m128i*)(b + i)) : a16;
    _mm_storeu_si128((__m128i*)(out + i), step16(c, a16, b16, bvec, bconst, mode));
  }
  if (i < n) {
    int8_t ta[16] = {0}, tb[16] = {0};
    memcpy(ta, a + i, (size_t)(n - i));
    if (bvec) memcpy(tb, b + i, (size_t)(n - i));
    const __m128i a16 = _mm_loadu_si128((const __m128i*)ta);
    const __m128i b16 = _mm_loadu_si128((const __m128i*)tb);
    mdl_store_n_avx2(out + i, step16(c, a16, b16, bvec, bconst, mode), n - i);
  }
}

MDL_AVX2 void mdl_s8_vadd_ukernel_x16__avx2(int32_t n, const int8_t* a, const int8_t* b,
                                            const mdl_s8_vadd_params* p, int8_t* out) {
  if (n <= 0) return;
  if (p->out_multiplier == INT32_MIN) { /* the saturating case of the doubling multiply */
    mdl_s8_vadd_ukernel_x16__c(n, a, b, p, out);
    return;
  }
  vadd8 c;
  scale8_init(&c.a, p->a_offset, p->a_hi, p->a_lo, p->a_right);
  scale8_init(&c.b, p->b_offset, p->b_hi, p->b_lo, p->b_right);
  c.k = _mm_cvtsi32_si128(p->k);
  c.round = _mm256_set1_epi32(p->round);
  const int32_t left = p->out_shift > 0 ? p->out_shift : 0;
  const int32_t right = p->out_shift > 0 ? 0 : -p->out_shift;
  const int32_t mask = (int32_t)((1u << right) - 1u);
  c.out_left = _mm_cvtsi32_si128(left);
  c.out_right = _mm_cvtsi32_si128(right);
  c.out_mask = _mm256_set1_epi32(mask);
  c.out_half = _mm256_set1_epi32(mask >> 1);
  c.mult = _mm256_set1_epi32(p->out_multiplier);
  c.round64 = _mm256_set1_epi64x((int64_t)1 << 30);
  c.zo = _mm256_set1_epi32(p->out_offset);
  c.lo = _mm256_set1_epi32(p->act_min);
  c.hi = _mm256_set1_epi32(p->act_max);
  const int bvec = p->b_stride != 0;
  const __m256i bconst = _mm256_set1_epi32(mdl_small_scale_apply(
      b[0] + p->b_offset, p->b_hi, p->b_lo, p->k, p->round, p->b_right));
  if (bvec) {
    if (p->mode == 0) {
      row(&c, n, a, b, 1, bconst, 0, out);
    } else if (p->mode == 1) {
      row(&c, n, a, b, 1, bconst, 1, out);
    } else {
      row(&c, n, a, b, 1, bconst, 2, out);
    }
  } else if (p->mode == 0) {
    row(&c, n, a, b, 0, bconst, 0, out);
  } else if (p->mode == 1) {
    row(&c, n, a, b, 0, bconst, 1, out);
  } else {
    row(&c, n, a, b, 0, bconst, 2, out);
  }
}

#endif /* MDL_HAVE_AVX2_UKERNELS */
