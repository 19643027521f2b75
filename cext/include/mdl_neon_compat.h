/* microdl: the A64-only Advanced SIMD intrinsics of the NEON microkernels, for both ARM
 * ISAs.  Each mdl_v* below is the intrinsic of the same name (without mdl_) on aarch64,
 * where it is one A64 instruction, and on 32-bit ARM (AArch32 NEON, which lacks it) the
 * same lanes from ARMv7 intrinsics on the two 64-bit halves, bit for bit.  Included by
 * mdl_ukernels_neon.h inside its MDL_NEON_BEGIN / MDL_NEON_END, after <arm_neon.h>.
 *
 *   mdl_vmovl_high_s8(a)          a[8..15] widened to int16 (SXTL2)
 *   mdl_vmull_high_s8(a, b)       a[8..15] * b[8..15] as int16 (SMULL2)
 *   mdl_vmlal_high_s8(c, a, b)    c + a[8..15] * b[8..15] (SMLAL2, wrapping int16)
 *   mdl_vmlal_high_s16(c, a, b)   c + a[4..7] * b[4..7] (SMLAL2, wrapping int32)
 *   mdl_vaddw_high_s16(a, b)      a + b[4..7] widened (SADDW2, wrapping int32)
 *   mdl_vpaddq_s32(a, b)          {a0+a1, a2+a3, b0+b1, b2+b3} (ADDP, wrapping)
 *   mdl_vzip1q_s16 / 2q_s16       the low / high halves of a, b interleaved (ZIP1/ZIP2)
 *   mdl_vzip1q_s32                {a0, b0, a1, b1}
 *   mdl_vzip1q_s64 / 2q_s64       {a0, b0} / {a1, b1}
 *   mdl_vminvq_s8(a)              the smallest of the 16 lanes (SMINV)
 *   mdl_vld1q_dup_s64(p)          the 8 bytes at p (any alignment) in both halves */
#ifndef MDL_NEON_COMPAT_H
#define MDL_NEON_COMPAT_H

#include <arm_neon.h>

#include "mdl_types.h"

#if defined(__aarch64__)

#define mdl_vmovl_high_s8 vmovl_high_s8
#define mdl_vmull_high_s8 vmull_high_s8
#define mdl_vmlal_high_s8 vmlal_high_s8
#define mdl_vmlal_high_s16 vmlal_high_s16
#define mdl_vaddw_high_s16 vaddw_high_s16
#define mdl_vpaddq_s32 vpaddq_s32
#define mdl_vzip1q_s16 vzip1q_s16
#define mdl_vzip2q_s16 vzip2q_s16
#define mdl_vzip1q_s32 vzip1q_s32
#define mdl_vzip1q_s64 vzip1q_s64
#define mdl_vzip2q_s64 vzip2q_s64
#define mdl_vminvq_s8 vminvq_s8
#define mdl_vld1q_dup_s64(p) vld1q_dup_s64((const int64_t*)(const void*)(p))

#else /* AArch32 */

MDL_INLINE int16x8_t mdl_vmovl_high_s8(int8x16_t a) { return vmovl_s8(vget_high_s8(a)); }

MDL_INLINE int16x8_t mdl_vmull_high_s8(int8x16_t a, int8x16_t b) {
  return vmull_s8(vget_high_s8(a), vget_high_s8(b));
}

MDL_INLINE int16x8_t mdl_vmlal_high_s8(int16x8_t c, int8x16_t a, int8x16_t b) {
  return vmlal_s8(c, vget_high_s8(a), vget_high_s8(b));
}

MDL_INLINE int32x4_t mdl_vmlal_high_s16(int32x4_t c, int16x8_t a, int16x8_t b) {
  return vmlal_s16(c, vget_high_s16(a), vget_high_s16(b));
}

MDL_INLINE int32x4_t mdl_vaddw_high_s16(int32x4_t a, int16x8_t b) {
  return vaddw_s16(a, vget_high_s16(b));
}

MDL_INLINE int32x4_t mdl_vpaddq_s32(int32x4_t a, int32x4_t b) {
  return vcombine_s32(vpadd_s32(vget_low_s32(a), vget_high_s32(a)),
                      vpadd_s32(vget_low_s32(b), vget_high_s32(b)));
}

MDL_INLINE int16x8_t mdl_vzip1q_s16(int16x8_t a, int16x8_t b) {
  return vzipq_s16(a, b).val[0];
}

MDL_INLINE int16x8_t mdl_vzip2q_s16(int16x8_t a, int16x8_t b) {
  return vzipq_s16(a, b).val[1];
}

MDL_INLINE int32x4_t mdl_vzip1q_s32(int32x4_t a, int32x4_t b) {
  return vzipq_s32(a, b).val[0];
}

MDL_INLINE int64x2_t mdl_vzip1q_s64(int64x2_t a, int64x2_t b) {
  return vcombine_s64(vget_low_s64(a), vget_low_s64(b));
}

MDL_INLINE int64x2_t mdl_vzip2q_s64(int64x2_t a, int64x2_t b) {
  return vcombine_s64(vget_high_s64(a), vget_high_s64(b));
}

MDL_INLINE int8_t mdl_vminvq_s8(int8x16_t a) {
  int8x8_t m = vpmin_s8(vget_low_s8(a), vget_high_s8(a)); /* 8 pairwise minima */
  m = vpmin_s8(m, m);
  m = vpmin_s8(m, m);
  m = vpmin_s8(m, m);
  return vget_lane_s8(m, 0);
}

/* VLD1.8 (no alignment hint, unlike VLD1.64 of an int64_t pointer) and VMOV. */
MDL_INLINE int64x2_t mdl_vld1q_dup_s64(const void* p) {
  const int8x8_t d = vld1_s8((const int8_t*)p);
  return vreinterpretq_s64_s8(vcombine_s8(d, d));
}

#endif /* AArch32 */
#endif /* MDL_NEON_COMPAT_H */
