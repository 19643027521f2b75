/* microdl: the microkernels under the fast convolution operators.
 *
 * A microkernel is pure compute on memory its caller gives it: no allocation, no
 * dispatch, no parameter validation, no CPU checks.  An operator file of cext/src
 * (conv_s8_fast.c) validates the parameters, picks the microkernels from the variant
 * fields that prepare wrote into the param struct (plus the run-time AVX2 check), and
 * loops over the tiles; depthwise_conv_s8_fast.c uses the requantization, the shared
 * helpers and the s8-dwconv microkernels (its other inner loops are not split out
 * yet).  One microkernel per file in cext/src/ukernels/, the file named after the
 * function (cext/README.md, "Operators and microkernels"):
 *
 *     file      <dtype>-<op>-<tile>[-<fused>]-<isa>.c
 *     function  mdl_<dtype>_<op>_ukernel_<tile>[_<fused>]__<isa>
 *
 * A microkernel whose ISA is not `c` has a portable twin of the same stem with `-c`
 * (or, for the fused requantization, the `-c` GEMM followed by s32-requant-rows-c),
 * which gives the same bits; tests/test_ukernels.py holds each SIMD microkernel to its
 * twin and both to the numpy reference.
 *
 * `neon` microkernels use Advanced SIMD intrinsics (MDL_HAVE_NEON_UKERNELS): on aarch64
 * always, on 32-bit ARM compiled for NEON function by function (MDL_NEON_BEGIN /
 * MDL_NEON_END) and run only after mdl_cpu_has_neon(); the A64-only intrinsics they
 * use have AArch32 replacements in mdl_neon_compat.h.
 *
 * `c` microkernels are portable C99, written so that compilers vectorize them, and on
 * x86-64 Linux compiled twice (MDL_MULTIVERSION: baseline and AVX2 clones picked at load
 * time).  `avx2` microkernels use AVX2 intrinsics; they exist only where
 * MDL_HAVE_AVX2_UKERNELS is defined and run only after __builtin_cpu_supports("avx2").
 */
#ifndef MDL_UKERNELS_H
#define MDL_UKERNELS_H

#include "mdl_conv.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(MDL_NO_MULTIVERSION)
#define MDL_HAVE_AVX2_UKERNELS 1
#endif

/* Advanced SIMD microkernels (`neon`), -DMDL_NO_NEON leaves them out (prepare's
 * MICRODL_PORTABLE_KERNELS=1 picks the portable twins at run time instead):
 *  - aarch64 (GCC, Clang): Advanced SIMD is in the baseline, so no target attribute and
 *    mdl_cpu_has_neon() is 1;
 *  - 32-bit ARM (GCC >= 8 on Linux with a hardware floating-point ABI, hard or softfp):
 *    NEON is not in the baseline of Debian armhf (ARMv7 + VFPv3-D16) nor of Raspberry
 *    Pi OS (ARMv6, Pi Zero / Pi 1), so the NEON code is compiled for fpu=neon inside
 *    MDL_NEON_BEGIN / MDL_NEON_END (a target pragma: never -mfpu in the build flags)
 *    and the operators run it only when mdl_cpu_has_neon() (AT_HWCAP & HWCAP_NEON), the
 *    one dispatch rule; elsewhere they run the portable twins from the same build.
 * MDL_NEON_BEGIN / MDL_NEON_END wrap every function that uses NEON intrinsics (the
 * microkernel files, mdl_ukernels_neon.h, the depthwise operator's NEON batch); they are
 * empty on aarch64. */
#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(MDL_NO_NEON)
#define MDL_HAVE_NEON_UKERNELS 1
#define MDL_NEON_BEGIN
#define MDL_NEON_END
/* Nonzero when the NEON microkernels may run: always on aarch64. */
MDL_INLINE int mdl_cpu_has_neon(void) { return 1; }
#elif defined(__arm__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8 && \
    defined(__linux__) && defined(__ARM_FP) && !defined(MDL_NO_NEON)
#define MDL_HAVE_NEON_UKERNELS 1
#define MDL_NEON_ARM32 1
#define MDL_NEON_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"fpu=neon\")")
#define MDL_NEON_END _Pragma("GCC pop_options")
#include <sys/auxv.h>
#ifndef HWCAP_NEON
#define HWCAP_NEON (1 << 12) /* Linux arm: asm/hwcap.h */
#endif
/* Nonzero when the NEON microkernels may run: the CPU has NEON (Linux: AT_HWCAP &
 * HWCAP_NEON), or the whole build already targets it. */
MDL_INLINE int mdl_cpu_has_neon(void) {
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
  return 1;
#else
  return (getauxval(AT_HWCAP) & HWCAP_NEON) != 0;
#endif
}
#endif

/* ARMv8.2 dot-product microkernels (`neondot`, SDOT): aarch64 GCC only (compiled with
 * `#pragma GCC target("arch=armv8.2-a+dotprod")` in their own files, never a global
 * -march); run only after mdl_cpu_has_dotprod(). */
#if defined(MDL_HAVE_NEON_UKERNELS) && defined(__aarch64__) && defined(__GNUC__) && \
    !defined(__clang__) && defined(__linux__)
#define MDL_HAVE_NEONDOT_UKERNELS 1
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
/* Nonzero when the CPU has the ARMv8.2 dot product (Linux: AT_HWCAP & HWCAP_ASIMDDP). */
MDL_INLINE int mdl_cpu_has_dotprod(void) {
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
}
#endif

/* ----------------------------------------------------------------- shared helpers */

/* The taps f in [*lo, *hi) of a window starting at `start` (stride and padding already
 * applied) with 0 <= start + f * dilation < size: the in-bounds taps of one filter
 * dimension.  Used by the im2col microkernels and the depthwise operator. */
MDL_INLINE void mdl_tap_range(int32_t start, int32_t dilation, int32_t filter,
                              int32_t size, int32_t* lo, int32_t* hi) {
  int32_t a = 0, b = filter;
  const int32_t last = size - 1 - start; /* largest in-bounds f * dilation */
  if (dilation == 1) { /* no divisions in the common case */
    if (start < 0) a = -start;
    if (last + 1 < b) b = last < 0 ? 0 : last + 1;
  } else {
    if (start < 0) a = (-start + dilation - 1) / dilation;
    const int32_t n_in = last < 0 ? 0 : last / dilation + 1;
    if (n_in < b) b = n_in;
  }
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

/* dst[i] = src[i] for i < n: int8 widened to int16. */
MDL_INLINE void mdl_widen_s8(int16_t* MDL_RESTRICT dst, const int8_t* MDL_RESTRICT src,
                             int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = src[i];
}

/* The position of the next output pixel (NHWC order) of a convolution. */
typedef struct {
  int32_t b, y, x;
} mdl_pixel_pos;

/* dst[i] = value for i < n. */
MDL_INLINE void mdl_fill_s16(int16_t* MDL_RESTRICT dst, int16_t value, int32_t n) {
  for (int32_t i = 0; i < n; ++i) dst[i] = value;
}

/* dst[i] = src[i] for i < n; when src + n rounded up to 16 <= end it copies whole groups
 * of 16, writing up to 15 entries past dst + n. */
MDL_INLINE void mdl_widen_row_s8(int16_t* MDL_RESTRICT dst,
                                 const int8_t* MDL_RESTRICT src, int32_t n,
                                 const int8_t* end) {
  const int32_t n16 = (n + 15) / 16 * 16;
  if (end - src >= n16) {
    for (int32_t i = 0; i < n16; i += 16) {
      for (int32_t j = 0; j < 16; ++j) dst[i + j] = src[i + j];
    }
  } else {
    mdl_widen_s8(dst, src, n);
  }
}

/* The patch of output pixel (y, x) of one image (end: the end of the whole input), as
 * the s8-im2col microkernels define it: a window inside the input with dilation_w 1 is
 * filter_h contiguous runs of filter_w * input_c values; a window crossing an edge takes
 * its in-bounds taps per filter row (mdl_tap_range) and the zero point elsewhere.  Runs
 * are widened in whole groups of 16 when the input has room (one vector each; the
 * entries past the run are overwritten afterwards or land in the slack).  Shared by
 * both im2col microkernels (inline: the AVX2 one compiles it for AVX2). */
MDL_INLINE void mdl_s8_im2col_patch(const mdl_conv_s8_fast_params* p,
                                    const int8_t* MDL_RESTRICT image, const int8_t* end,
                                    int32_t y, int32_t x, int32_t patch_len,
                                    int16_t* MDL_RESTRICT dst) {
  const int32_t c = p->input_c;
  const int32_t row_len = p->filter_w * c;
  const int16_t pad = (int16_t)(-p->input_offset);
  const int32_t y0 = y * p->stride_h - p->pad_h;
  const int32_t x0 = x * p->stride_w - p->pad_w;
  if (p->dilation_w == 1 && y0 >= 0 &&
      y0 + (p->filter_h - 1) * p->dilation_h < p->input_h && x0 >= 0 &&
      x0 + p->filter_w <= p->input_w) {
    /* The whole window is inside the input: filter_h contiguous rows. */
    const int8_t* src = image + ((size_t)y0 * p->input_w + x0) * c;
    const size_t src_row = (size_t)p->dilation_h * p->input_w * c;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
      mdl_widen_row_s8(dst + (size_t)fy * row_len, src + fy * src_row, row_len, end);
    }
  } else {
    int32_t fx_lo, fx_hi;
    mdl_tap_range(x0, p->dilation_w, p->filter_w, p->input_w, &fx_lo, &fx_hi);
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
      int16_t* row = dst + (size_t)fy * row_len;
      const int32_t iy = y0 + fy * p->dilation_h;
      if (iy < 0 || iy >= p->input_h || fx_lo == fx_hi) {
        mdl_fill_s16(row, pad, row_len);
        continue;
      }
      const int8_t* src = image + (size_t)iy * p->input_w * c;
      mdl_fill_s16(row, pad, fx_lo * c);
      if (p->dilation_w == 1) {
        mdl_widen_row_s8(row + (size_t)fx_lo * c, src + (size_t)(x0 + fx_lo) * c,
                         (fx_hi - fx_lo) * c, end);
      } else {
        for (int32_t fx = fx_lo; fx < fx_hi; ++fx) {
          mdl_widen_row_s8(row + (size_t)fx * c,
                           src + (size_t)(x0 + fx * p->dilation_w) * c, c, end);
        }
      }
      mdl_fill_s16(row + (size_t)fx_hi * c, pad, (p->filter_w - fx_hi) * c);
    }
  }
  const int32_t k = p->filter_h * row_len;
  mdl_fill_s16(dst + k, 0, patch_len - k);
}

/* ---------------------------------------------------- s8-im2col: int8 -> int16 patches
 * The patches of the np output pixels from *q on (q advances past them), one per
 * pixel, kp int16 entries apart in `patches`: its filter_h * filter_w * input_c = K
 * input values in OHWI order [fy][fx][c], taps outside the input set to the input zero
 * point (-input_offset), then zeros up to kp (kp >= K).  Either may write up to
 * MDL_CONV_S8_FAST_SLACK entries past the last patch.  Only the geometry fields, the
 * batch count and input_offset of p are read. */

/* Any geometry.  1x1 filters (stride_w 1, no padding, kp == input_c) copy the run of a
 * block along one output row as consecutive input pixels. */
void mdl_s8_im2col_ukernel_pixel__c(const mdl_conv_s8_fast_params* p,
                                    const int8_t* input, int32_t np, int32_t kp,
                                    mdl_pixel_pos* q, int16_t* patches);

#ifdef MDL_HAVE_AVX2_UKERNELS
/* Filter rows of at most 16 entries (filter_w * input_c <= 16), dilation_w 1, more than
 * one tap, filter_h <= MDL_CONV_S8_FAST_ROW16_MAX_FH, kp == K: each filter row of a
 * window inside the input along x is one 16-byte load widened to 16 entries (the
 * entries past the row are overwritten by the next row or patch, or land in the
 * slack); 3 filter rows inside the input (3x3 filters) as stepping pointers over the
 * run of windows inside the input; windows that cross the left or right edge through
 * mdl_s8_im2col_patch. */
void mdl_s8_im2col_ukernel_row16__avx2(const mdl_conv_s8_fast_params* p,
                                       const int8_t* input, int32_t np, int32_t kp,
                                       mdl_pixel_pos* q, int16_t* patches);
#endif

#ifdef MDL_HAVE_NEON_UKERNELS
/* The same in aarch64 NEON (one 16-byte load, SXTL / SXTL2, two 8-lane stores per
 * filter row).  Twin: mdl_s8_im2col_ukernel_pixel__c. */
void mdl_s8_im2col_ukernel_row16__neon(const mdl_conv_s8_fast_params* p,
                                       const int8_t* input, int32_t np, int32_t kp,
                                       mdl_pixel_pos* q, int16_t* patches);
#endif

#ifdef MDL_HAVE_NEON_UKERNELS
/* int8 patches for the int8 GEMMs of aarch64 (lanes16c4 / lanes16c8), any geometry: the
 * patch of mdl_s8_im2col_patch kept as int8, kk >= K entries apart (zeros past K); may
 * write up to 16 bytes past the last patch.  Twin: mdl_s8_im2col_ukernel_pixel__c then
 * mdl_narrow_patches_neon. */
void mdl_s8_im2col_ukernel_pixel8__neon(const mdl_conv_s8_fast_params* p,
                                        const int8_t* input, int32_t np, int32_t kk,
                                        mdl_pixel_pos* q, int8_t* patches);
#endif

/* The requantization of the microkernels that fuse it: per output channel o,
 * clamp(requantize(acc, multiplier[o], shift[o]) + output_offset, act_min, act_max),
 * double rounding.  lean: no channel has a left shift or the multiplier INT32_MIN
 * (prepare's lean field; the AVX2 requantization then skips both steps). */
typedef struct {
  const int32_t* multiplier;
  const int32_t* shift;
  int32_t output_offset, act_min, act_max;
  int32_t lean;
} mdl_rq_params;

/* --------------------------------------------- s8-gemm: int16 patches x int8 filters
 * acc[i * n + o] = bias[o] + sum over k of patch_i[k] * w(k, o), modulo 2^32, for np
 * patches (kp entries apart) and n output channels.  The sums never overflow a real
 * int32 before the bias (K < 2^17, |x * w| <= 2^14). */

/* Dot products along K: w is n rows of kp int8 entries (kp a multiple of
 * MDL_CONV_S8_FAST_K_ALIGN, zero past K), register-blocked over 4 output channels x 2
 * patches. */
void mdl_s8_gemm_ukernel_dot4__c(int32_t np, int32_t n, int32_t kp,
                                 const int16_t* patches, const int8_t* w,
                                 const int32_t* bias, int32_t* acc);

/* Output-channel lanes: w in the lanes16 layout of mdl_conv.h (int16, blocks of
 * MDL_CONV_FAST_LANE_BLOCK output channels, [k2 / 2][16][2], zero where k >= K or
 * o >= n), bias with n rounded up to 16 entries; k2 = K rounded up to even (an odd K
 * reads one entry past each patch, times a zero weight). */
void mdl_s8_gemm_ukernel_lanes16__c(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                    const int16_t* patches, const int16_t* w,
                                    const int32_t* bias, int32_t* acc);
#ifdef MDL_HAVE_AVX2_UKERNELS
void mdl_s8_gemm_ukernel_lanes16__avx2(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                       const int16_t* patches, const int16_t* w,
                                       const int32_t* bias, int32_t* acc);

/* The lanes16 GEMM with the requantization fused (gemmlowp double rounding,
 * mdl_requantize_clamp_vec in 8 AVX2 lanes): out[i * out_stride + o] =
 * clamp(requantize(acc, multiplier[o], shift[o]) + output_offset, act_min, act_max) for
 * i < np, o < n (rq, see mdl_rq_params), straight from the registers.  Per block of 16
 * output channels 4 patches x 16 channels per step, or 4 patches x 8 channels for a
 * block of at most 8.  Twin: mdl_s8_gemm_ukernel_lanes16__c, then
 * mdl_s32_requant_ukernel_rows__c. */
void mdl_s8_gemm_ukernel_lanes16_rq__avx2(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                          const int16_t* patches, const int16_t* w,
                                          const int32_t* bias, const mdl_rq_params* rq,
                                          int8_t* out, int32_t out_stride);

/* s8-igemm: the same GEMM over indirect patches (XNNPACK's igemm), for conv_s8_fast's
 * MDL_CONV_S8_FAST_IM2COL_ROWS form: patch i is the nseg runs of seg_k2 (even) int16
 * entries at seg[s] + i * kp, s < nseg, in K order (K2 = nseg * seg_k2; w in the
 * lanes16 layout of that K2).  Twin: the runs gathered into plain patches, then
 * mdl_s8_gemm_ukernel_lanes16__c and mdl_s32_requant_ukernel_rows__c. */
void mdl_s8_igemm_ukernel_lanes16_rq__avx2(int32_t np, int32_t n, int32_t nseg,
                                           const int16_t* const* seg, int32_t seg_k2,
                                           int32_t kp, const int16_t* w,
                                           const int32_t* bias, const mdl_rq_params* rq,
                                           int8_t* out, int32_t out_stride);
#endif

#ifdef MDL_HAVE_NEON_UKERNELS
/* The lanes16 GEMM in aarch64 NEON: per pair step SMLAL / SMLAL2 of the 16 channels'
 * interleaved weight pairs by the repeated patch pair, the two k of a pair added once at
 * the end (ADDP); 2 patches x 16 channels per step, or 4 patches x 8 channels for a
 * block of at most 8.  Twin: mdl_s8_gemm_ukernel_lanes16__c. */
void mdl_s8_gemm_ukernel_lanes16__neon(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                       const int16_t* patches, const int16_t* w,
                                       const int32_t* bias, int32_t* acc);

/* The lanes16 GEMM with the requantization fused (double rounding by SQRDMULH and a
 * rounding shift, mdl_rq4_apply_neon), as mdl_s8_gemm_ukernel_lanes16_rq__avx2 (rq->lean
 * is not used).  Twin: mdl_s8_gemm_ukernel_lanes16__c, then
 * mdl_s32_requant_ukernel_rows__c. */
void mdl_s8_gemm_ukernel_lanes16_rq__neon(int32_t np, int32_t n, int32_t k2, int32_t kp,
                                          const int16_t* patches, const int16_t* w,
                                          const int32_t* bias, const mdl_rq_params* rq,
                                          int8_t* out, int32_t out_stride);
#endif

/* ------------------------------------ s8-dwconv: depthwise int8, channel lanes + rq
 * For one run of n output pixels of the depthwise lanes form (depthwise_conv_s8_fast.c)
 * and one group of `lanes` (8 or 16) channels starting at channel offset d0 of a block
 * of 16: out[i * out_stride + j] = clamp(requantize(bias[j] + sum over q < pairs of
 * x0[j] * w[q][j][0] + x1[j] * w[q][j][1]) + output_offset, act_min, act_max), double
 * rounding, with x0 = ptr[2q] + d0 + i * step, x1 = ptr[2q + 1] + d0 + i * step (int8),
 * wb the packed int16 pair weights of the block ([pairs][16][2], starting at the group's
 * first channel), bias, rq->multiplier and rq->shift at the group's first channel; the
 * sums wrap modulo 2^32; rq->lean is not used.  Reads exactly `lanes` bytes per tap. */
void mdl_s8_dwconv_ukernel_lanes16_rq__c(int32_t n, int32_t lanes, int32_t pairs,
                                         const int8_t* const* ptr, ptrdiff_t d0,
                                         ptrdiff_t step, const int16_t* wb,
                                         const int32_t* bias, const mdl_rq_params* rq,
                                         int8_t* out, int32_t out_stride);
#ifdef MDL_HAVE_AVX2_UKERNELS
/* The same for lanes 16 with AVX512-VNNI (run only after mdl_cpu_has_avx512vnni()): per
 * pair of taps the two 16-byte loads interleaved and widened to 16 int16 pairs, one
 * vpdpwssd with the block's weight pairs; rq->lean used.  Twin:
 * mdl_s8_dwconv_ukernel_lanes16_rq__c with lanes 16. */
void mdl_s8_dwconv_ukernel_lanes16_rq__avx512vnni(int32_t n, int32_t pairs,
                                                  const int8_t* const* ptr, ptrdiff_t d0,
                                                  ptrdiff_t step, const int16_t* wb,
                                                  const int32_t* bias,
                                                  const mdl_rq_params* rq, int8_t* out,
                                                  int32_t out_stride);
#endif
#ifdef MDL_HAVE_NEON_UKERNELS
/* The same in aarch64 NEON: per pair of taps two 8- or 16-byte loads widened to int16
 * (SXTL), the weight pairs split by one LD2 per 8 channels, SMLAL / SMLAL2 into int32
 * lanes, mdl_rq4_apply_neon.  Twin: mdl_s8_dwconv_ukernel_lanes16_rq__c. */
void mdl_s8_dwconv_ukernel_lanes16_rq__neon(int32_t n, int32_t lanes, int32_t pairs,
                                            const int8_t* const* ptr, ptrdiff_t d0,
                                            ptrdiff_t step, const int16_t* wb,
                                            const int32_t* bias, const mdl_rq_params* rq,
                                            int8_t* out, int32_t out_stride);

/* The same with int8 weights w8 ([pairs][2][16]: for each pair of taps, the first tap's
 * 16 channel weights then the second's, starting at the group's first channel; no -128,
 * see mdl_pack_dw_lanes16c2_neon; up to 16 bytes past the last pair are read): per pair
 * of taps and 8 channels SMULL + SMLAL sum the two taps' int8 products in int16 lanes
 * (|sum| <= 2 * 128 * 127), SADDW into int32.  Twin: mdl_s8_dwconv_ukernel_lanes16_rq__c
 * on the int16 weights. */
void mdl_s8_dwconv_ukernel_lanes16c2_rq__neon(int32_t n, int32_t lanes, int32_t pairs,
                                              const int8_t* const* ptr, ptrdiff_t d0,
                                              ptrdiff_t step, const int8_t* w8,
                                              const int32_t* bias, const mdl_rq_params* rq,
                                              int8_t* out, int32_t out_stride);
#endif

#ifdef MDL_HAVE_NEONDOT_UKERNELS
/* The lanes16 GEMM over int8 data with the dot product (SDOT: 4 int8 products summed
 * into each int32 lane), requantization fused as in mdl_s8_gemm_ukernel_lanes16_rq__neon:
 * np int8 patches of k4 entries (K rounded up to 4; entries past K times zero weights),
 * patch i at patches + i * pstride; w8 in the lanes16c4 layout: blocks of 16 output
 * channels, [k4 / 4][16][4] int8 (mdl_s8_pack_ukernel_lanes16c4__neon); 4 patches x 16
 * (or 8) channels per step.  Same bits as mdl_s8_gemm_ukernel_lanes16__c on the same
 * values followed by mdl_s32_requant_ukernel_rows__c (the exact integer sums; both wrap
 * only in the bias addition, modulo 2^32). */
void mdl_s8_gemm_ukernel_lanes16c4_rq__neondot(int32_t np, int32_t n, int32_t k4,
                                               const int8_t* patches, int32_t pstride,
                                               const int8_t* w8, const int32_t* bias,
                                               const mdl_rq_params* rq, int8_t* out,
                                               int32_t out_stride);
#endif

#ifdef MDL_HAVE_NEON_UKERNELS
/* The lanes16 GEMM over int8 data without the dot product (ARMv8.0: Cortex-A72), fused
 * requantization as above: np int8 patches of k8 entries (K rounded up to 8; entries
 * past K times zero weights), patch i at patches + i * pstride; w8 in the lanes16c8
 * layout (mdl_s8_pack_ukernel_lanes16c8__neon), which must hold no -128: per step of 8
 * k and pair of channels SMULL + SMLAL2 sum two int8 products per int16 lane (|sum| <=
 * 2 * 128 * 127 < 2^15 without -128 weights), SADALP adds them into int32 lanes;
 * 2 patches x 16 channels (or 4 x 8) per step.  Same bits as the lanes16 C GEMM on the
 * same values followed by s32-requant-rows-c. */
void mdl_s8_gemm_ukernel_lanes16c8_rq__neon(int32_t np, int32_t n, int32_t k8,
                                            const int8_t* patches, int32_t pstride,
                                            const int8_t* w8, const int32_t* bias,
                                            const mdl_rq_params* rq, int8_t* out,
                                            int32_t out_stride);

/* ------------------------------------- s8-pack: lanes16 int16 -> lanes16c8 int8 filter
 * For block b of 16 channels, octet o of k (k8 / 8 of them, k8 = k2 rounded up to 8)
 * and channel pair p (channels 2p, 2p + 1 of the block), 16 bytes at
 * w8 + ((b * (k8 / 8) + o) * 8 + p) * 16: channel 2p's k = 8o .. 8o + 3, channel
 * 2p + 1's, then channel 2p's 8o + 4 .. 8o + 7, channel 2p + 1's (w16 narrowed; 0 past
 * k2).  Returns 1 when no weight is -128 (the lanes16c8 GEMM's precondition), else 0.
 * Twin: mdl_s8_pack_ukernel_lanes16c8__c. */
int32_t mdl_s8_pack_ukernel_lanes16c8__neon(int32_t n, int32_t k2, const int16_t* w16,
                                            int8_t* w8);
#endif
int32_t mdl_s8_pack_ukernel_lanes16c8__c(int32_t n, int32_t k2, const int16_t* w16,
                                         int8_t* w8);

#ifdef MDL_HAVE_NEON_UKERNELS
/* ------------------------------------- s8-pack: lanes16 int16 -> lanes16c4 int8 filter
 * w8[b][q][j][t] = w16[b][(4q + t) / 2][j][(4q + t) % 2] (int16 in the int8 range,
 * narrowed) for 4q + t < k2, else 0: the n output channels (blocks of 16) of a lanes16
 * filter with k2 (even) entries per channel re-laid out for the dot product, k4 = k2
 * rounded up to 4.  Twin: mdl_s8_pack_ukernel_lanes16c4__c. */
void mdl_s8_pack_ukernel_lanes16c4__neon(int32_t n, int32_t k2, const int16_t* w16,
                                         int8_t* w8);
#endif
void mdl_s8_pack_ukernel_lanes16c4__c(int32_t n, int32_t k2, const int16_t* w16,
                                      int8_t* w8);

/* ------------------------------------------------- s32-requant: int32 -> int8 rows
 * For r < rows, i < n: out[r * out_stride + i] = clamp(requantize(acc[r * n + i],
 * multiplier[i], shift[i]) + output_offset, act_min, act_max), requantize being
 * mdl_requantize_r in the given rounding (vectorized over int32 lanes for double
 * rounding, mdl_requantize_clamp_vec).  Used after the GEMM of conv_s8_fast and by the
 * row and pixel forms of depthwise_conv_s8_fast. */
void mdl_s32_requant_ukernel_rows__c(const int32_t* acc, int32_t rows, int32_t n,
                                     const int32_t* multiplier, const int32_t* shift,
                                     int32_t output_offset, int32_t act_min,
                                     int32_t act_max, int32_t rounding, int8_t* out,
                                     int32_t out_stride);

#ifdef MDL_HAVE_AVX2_UKERNELS
/* ------------------------------- the AVX512-VNNI int8 pipeline of conv_s8_fast (x86-64)
 * Run only after mdl_cpu_has_avx512vnni(): each function has the target attribute of
 * its ISA (never a global -march).  The patches are uint8: each input byte x as
 * x ^ 0x80 (= x + 128), so the bias of the GEMM carries -128 * sum(w). */

/* Nonzero when the CPU runs the AVX512-VNNI microkernels (AVX512F, BW, VL and VNNI). */
MDL_INLINE int mdl_cpu_has_avx512vnni(void) {
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f");
}

/* The uint8 patches of mdl_s8_im2col_patch (x ^ 0x80 per byte, the zero point's byte
 * where a tap is outside the input), kk >= K bytes apart, zeros from K to kk; may write
 * up to 32 bytes past the last patch.  1x1 filters at stride 1 without padding (kk ==
 * input_c): one run of the input.  Twin: mdl_s8_im2col_ukernel_pixel__c (+ 128,
 * narrowed). */
void mdl_s8_im2col_ukernel_pixel8u__avx2(const mdl_conv_s8_fast_params* p,
                                         const int8_t* input, int32_t np, int32_t kk,
                                         mdl_pixel_pos* q, uint8_t* patches);

/* The n output channels (blocks of 16) of a lanes16 int16 filter with k2 (even) entries
 * per channel in the lanes16c4 int8 layout (that of mdl_s8_pack_ukernel_lanes16c4__c,
 * k4 = k2 rounded up to 4), and ubias[o] = bias[o] - 128 * sum_k w(k, o) modulo 2^32 for
 * the ceil(n / 16) * 16 channels (bias has that many entries).  Twin:
 * mdl_s8_pack_ukernel_lanes16c4__c and the sums in C. */
void mdl_s8_pack_ukernel_lanes16c4u__avx512vnni(int32_t n, int32_t k2, const int16_t* w16,
                                                const int32_t* bias, int8_t* w8,
                                                int32_t* ubias);

/* The lanes16 GEMM with vpdpbusd on 512-bit registers, requantization fused as in
 * mdl_s8_gemm_ukernel_lanes16_rq__avx2 (double rounding, rq->lean used): np uint8
 * patches of k4 bytes (K rounded up to 4; bytes past K times zero weights), patch i at
 * patches + i * pstride; w8 in the lanes16c4 layout; ubias with ceil(n / 16) * 16
 * entries.  Tiles of up to 8 patches x 16 channels to 4 patches x 64 channels.  Same
 * bits as mdl_s8_gemm_ukernel_lanes16__c on the int8 values with the plain bias,
 * followed by mdl_s32_requant_ukernel_rows__c. */
void mdl_s8_gemm_ukernel_lanes16c4_rq__avx512vnni(int32_t np, int32_t n, int32_t k4,
                                                  const uint8_t* patches, int32_t pstride,
                                                  const int8_t* w8, const int32_t* ubias,
                                                  const mdl_rq_params* rq, int8_t* out,
                                                  int32_t out_stride);
#endif

/* ------------------------------------------ s8-gemv: FULLY_CONNECTED, one int8 row
 * (fully_connected_s8.c's fast form)  acc[o] = bias[o] + sum_{i<k} x[i] * w(o, i),
 * modulo 2^32 in the bias addition, for o < n; x: the k int8 entries of one input row
 * (the input offset folded into bias); w packed in blocks of MDL_FC_GEMV_BLOCK (8)
 * output channels and groups of MDL_FC_GEMV_KC (16) inputs: with G = ceil(k / 16),
 * byte ((b * G + g) * 8 + c) * 16 + t is the weight of channel 8 b + c at input
 * 16 g + t, zero past the layer; bias NULL for none.  The sums never overflow before
 * the bias (k <= MDL_FC_FAST_MAX_DEPTH, |x w| <= 2^14).  8c16: 8 channels x 16 inputs
 * per step. */
void mdl_s8_gemv_ukernel_8c16__c(int32_t n, int32_t k, const int8_t* x, const int8_t* w,
                                 const int32_t* bias, int32_t* acc);
#ifdef MDL_HAVE_AVX2_UKERNELS
/* One vpmaddwd per channel and group of 16 inputs (the inputs widened once per group),
 * a vphaddd tree per block.  Twin: mdl_s8_gemv_ukernel_8c16__c. */
void mdl_s8_gemv_ukernel_8c16__avx2(int32_t n, int32_t k, const int8_t* x,
                                    const int8_t* w, const int32_t* bias, int32_t* acc);
/* AVX512-VNNI on 256-bit registers (run after __builtin_cpu_supports("avx512vnni")
 * and ("avx512vl")): vpdpbusd over the inputs offset to uint8, so `ubias` (never NULL)
 * is bias[o] - 128 * sum_i w(o, i) (modulo 2^32), which gives the twin's sums.  Twin:
 * mdl_s8_gemv_ukernel_8c16__c with the plain bias. */
void mdl_s8_gemv_ukernel_8c16__avx512vnni(int32_t n, int32_t k, const int8_t* x,
                                          const int8_t* w, const int32_t* ubias,
                                          int32_t* acc);
#endif
#ifdef MDL_HAVE_NEON_UKERNELS
/* s8-gemv-8c16-neon: the same sums with SMULL + SADALP per 16 inputs and channel, a
 * pairwise-add reduction per block of 8.  Twin: mdl_s8_gemv_ukernel_8c16__c. */
void mdl_s8_gemv_ukernel_8c16__neon(int32_t n, int32_t k, const int8_t* x, const int8_t* w,
                                    const int32_t* bias, int32_t* acc);
#endif

/* ------------------------------------ s32-requant-f64: int32 -> int8, double scales
 * out[o] = clamp(round(acc[o] * scale[o]) + output_offset, act_min, act_max) for o < n:
 * the product in double, rounded half away from zero and saturated to int32, as
 * LiteRT's reference FULLY_CONNECTED (MDL_FC_REQUANT_FLOAT64 in mdl_fully_connected.h;
 * act_min <= act_max within the int8 range). */
void mdl_s32_requant_ukernel_f64__c(const int32_t* acc, const double* scale, int32_t n,
                                    int32_t output_offset, int32_t act_min,
                                    int32_t act_max, int8_t* out);
#ifdef MDL_HAVE_AVX2_UKERNELS
/* 8 channels per step in 2 x 4 double lanes.  Twin: mdl_s32_requant_ukernel_f64__c. */
void mdl_s32_requant_ukernel_f64__avx2(const int32_t* acc, const double* scale,
                                       int32_t n, int32_t output_offset, int32_t act_min,
                                       int32_t act_max, int8_t* out);
#endif

/* ---------------------------------------- s8-vadd: int8 ADD / SUB, elementwise rows
 * The int8 fast path of add_s8.c (TFLite's reference AddElementwise / SubElementwise
 * under gemmlowp double rounding, for the parameters every int8 ADD / SUB prepare makes):
 * for i < n, with va = a[i] + a_offset and vb = b[b_stride * i] + b_offset,
 *   xa = rdbpot(va * a_hi + ((va * a_lo + round) >> k), a_right)   (= the reference's
 *        MultiplyByQuantizedMultiplierSmallerThanOneExp(va << left_shift, ...), by the
 *        split of mdl_small_scale in mdl_requantize_vec.h), xb alike,
 *   raw = xa + xb (mode 0), xa - xb (1) or xb - xa (2),
 *   out[i] = clamp(requantize(raw, out_multiplier, out_shift) + out_offset, act_min,
 *            act_max)                                        (mdl_requantize_clamp_vec).
 * Preconditions (add_s8.c checks them): |a_offset|, |b_offset| <= 255, the mdl_small_scale
 * range for both inputs (10 <= left_shift <= 21), -31 <= out_shift <= 31, b_stride 0 or
 * 1.  x16: 16 elements per step; the -c twin is written for compilers to vectorize. */
typedef struct {
  int32_t a_offset, a_hi, a_lo, a_right;
  int32_t b_offset, b_hi, b_lo, b_right;
  int32_t k, round; /* 31 - left_shift, 2^(k - 1) */
  int32_t out_multiplier, out_shift, out_offset, act_min, act_max;
  int32_t mode;     /* 0: a + b, 1: a - b, 2: b - a */
  int32_t b_stride; /* 1, or 0: b[0] for every i */
} mdl_s8_vadd_params;

void mdl_s8_vadd_ukernel_x16__c(int32_t n, const int8_t* a, const int8_t* b,
                                const mdl_s8_vadd_params* p, int8_t* out);
#ifdef MDL_HAVE_AVX2_UKERNELS
/* 16 elements per step in two 8-lane int32 halves (vpmulld for the input scalings,
 * vpmuldq for the output requantization).  Twin: mdl_s8_vadd_ukernel_x16__c. */
void mdl_s8_vadd_ukernel_x16__avx2(int32_t n, const int8_t* a, const int8_t* b,
                                   const mdl_s8_vadd_params* p, int8_t* out);
#endif
#ifdef MDL_HAVE_NEON_UKERNELS
/* 16 elements per step in four 4-lane int32 quarters (MUL / MLA for the input
 * scalings, SQRDMULH + the rounding shift of mdl_rq4_apply_neon for the output).
 * Twin: mdl_s8_vadd_ukernel_x16__c. */
void mdl_s8_vadd_ukernel_x16__neon(int32_t n, const int8_t* a, const int8_t* b,
                                   const mdl_s8_vadd_params* p, int8_t* out);
#endif

#endif /* MDL_UKERNELS_H */
