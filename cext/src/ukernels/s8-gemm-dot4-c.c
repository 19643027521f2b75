/* s8-gemm-dot4-c: the GEMM of conv_s8_fast's rows form (mdl_ukernels.h), dot products
 * of int16 patches with int8 filter rows along K, register-blocked over 4 output
 * channels x 2 patches (then 4 x 1, 1 x 2 and 1 x 1 for the remainders).
 *
 * The patches are int16 in memory on purpose: with both dot operands int8, compilers
 * see products that fit int16 and emit 16-bit multiplies plus widening adds; with one
 * operand loaded as int16 they emit the int16 multiply-add into int32 lanes (x86
 * pmaddwd, Arm SMLAL), about twice as fast.  No overflow: the real part of a patch is
 * < 2^17 long, |x * w| <= 2^14, and the padding is 0. */
#include "mdl_ukernels.h"

/* Tell the compiler that n is a multiple of MDL_CONV_S8_FAST_K_ALIGN (kp is), so the
 * vectorized loops need no remainder code. */
#if defined(__GNUC__) || defined(__clang__)
#define ASSUME_ALIGNED_LEN(n)                                         \
  do {                                                                \
    if ((n) % MDL_CONV_S8_FAST_K_ALIGN != 0) __builtin_unreachable(); \
  } while (0)
#else
#define ASSUME_ALIGNED_LEN(n) ((void)0)
#endif

/* acc[j] = x . w_j and acc[4 + j] = y . w_j for the 4 filter rows w_j = w + j * n. */
MDL_INLINE void dot_4x2(const int16_t* MDL_RESTRICT x, const int16_t* MDL_RESTRICT y,
                        const int8_t* MDL_RESTRICT w, int32_t n,
                        int32_t* MDL_RESTRICT acc) {
  ASSUME_ALIGNED_LEN(n);
  const int8_t* w0 = w;
  const int8_t* w1 = w + n;
  const int8_t* w2 = w + 2 * (size_t)n;
  const int8_t* w3 = w + 3 * (size_t)n;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int16_t xi = x[i], yi = y[i];
    const int16_t v0 = w0[i], v1 = w1[i], v2 = w2[i], v3 = w3[i];
    a0 += xi * v0;
    a1 += xi * v1;
    a2 += xi * v2;
    a3 += xi * v3;
    b0 += yi * v0;
    b1 += yi * v1;
    b2 += yi * v2;
    b3 += yi * v3;
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
  acc[4] = b0;
  acc[5] = b1;
  acc[6] = b2;
  acc[7] = b3;
}

/* acc[j] = x . w_j for the 4 filter rows w_j = w + j * n. */
MDL_INLINE void dot_4x1(const int16_t* MDL_RESTRICT x, const int8_t* MDL_RESTRICT w,
                        int32_t n, int32_t* MDL_RESTRICT acc) {
  ASSUME_ALIGNED_LEN(n);
  const int8_t* w0 = w;
  const int8_t* w1 = w + n;
  const int8_t* w2 = w + 2 * (size_t)n;
  const int8_t* w3 = w + 3 * (size_t)n;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int16_t xi = x[i];
    a0 += xi * (int16_t)w0[i];
    a1 += xi * (int16_t)w1[i];
    a2 += xi * (int16_t)w2[i];
    a3 += xi * (int16_t)w3[i];
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* acc[0] = x . w, acc[1] = y . w. */
MDL_INLINE void dot_1x2(const int16_t* MDL_RESTRICT x, const int16_t* MDL_RESTRICT y,
                        const int8_t* MDL_RESTRICT w, int32_t n,
                        int32_t* MDL_RESTRICT acc) {
  ASSUME_ALIGNED_LEN(n);
  int32_t a = 0, b = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int16_t v = w[i];
    a += x[i] * v;
    b += y[i] * v;
  }
  acc[0] = a;
  acc[1] = b;
}

MDL_INLINE int32_t dot_1x1(const int16_t* MDL_RESTRICT x, const int8_t* MDL_RESTRICT w,
                           int32_t n) {
  ASSUME_ALIGNED_LEN(n);
  int32_t a = 0;
  for (int32_t i = 0; i < n; ++i) a += x[i] * (int16_t)w[i];
  return a;
}

MDL_MULTIVERSION void mdl_s8_gemm_ukernel_dot4__c(int32_t np, int32_t n, int32_t kp,
                                                  const int16_t* MDL_RESTRICT patches,
                                                  const int8_t* MDL_RESTRICT w,
                                                  const int32_t* MDL_RESTRICT bias,
                                                  int32_t* MDL_RESTRICT acc) {
  int32_t o = 0;
  for (; o + 4 <= n; o += 4) {
    const int8_t* w4 = w + (size_t)o * kp;
    int32_t i = 0;
    for (; i + 2 <= np; i += 2) {
      int32_t a[8];
      dot_4x2(patches + (size_t)i * kp, patches + (size_t)(i + 1) * kp, w4, kp, a);
      for (int32_t j = 0; j < 4; ++j) {
        acc[(size_t)i * n + o + j] = mdl_add_wrap(a[j], bias[o + j]);
        acc[(size_t)(i + 1) * n + o + j] = mdl_add_wrap(a[4 + j], bias[o + j]);
      }
    }
    if (i < np) {
      int32_t a[4];
      dot_4x1(patches + (size_t)i * kp, w4, kp, a);
      for (int32_t j = 0; j < 4; ++j) {
        acc[(size_t)i * n + o + j] = mdl_add_wrap(a[j], bias[o + j]);
      }
    }
  }
  for (; o < n; ++o) {
    const int8_t* w1 = w + (size_t)o * kp;
    int32_t i = 0;
    for (; i + 2 <= np; i += 2) {
      int32_t a[2];
      dot_1x2(patches + (size_t)i * kp, patches + (size_t)(i + 1) * kp, w1, kp, a);
      acc[(size_t)i * n + o] = mdl_add_wrap(a[0], bias[o]);
      acc[(size_t)(i + 1) * n + o] = mdl_add_wrap(a[1], bias[o]);
    }
    if (i < np) {
      acc[(size_t)i * n + o] =
          mdl_add_wrap(dot_1x1(patches + (size_t)i * kp, w1, kp), bias[o]);
    }
  }
}
