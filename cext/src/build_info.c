/* microdl: build configuration of the C core (see mdl_build.h). */
#include "mdl_build.h"
#include "mdl_node.h"
#include "mdl_requantize_avx2.h"
#include "mdl_ukernels.h"

#define MDL_STR2(x) #x
#define MDL_STR(x) MDL_STR2(x)

#if defined(__x86_64__)
#define MDL_ARCH "x86_64"
#elif defined(__aarch64__)
#define MDL_ARCH "aarch64"
#elif defined(__arm__)
#define MDL_ARCH "arm"
#elif defined(__riscv)
#define MDL_ARCH "riscv"
#else
#define MDL_ARCH "other"
#endif

#if defined(__clang__)
#define MDL_COMPILER "clang-" MDL_STR(__clang_major__) "." MDL_STR(__clang_minor__)
#elif defined(__GNUC__)
#define MDL_COMPILER "gcc-" MDL_STR(__GNUC__) "." MDL_STR(__GNUC_MINOR__)
#else
#define MDL_COMPILER "unknown"
#endif

#if defined(MDL_HAVE_RQ8)
#define MDL_INTRIN "1"
#else
#define MDL_INTRIN "0"
#endif

#if defined(MDL_HAVE_NEON_UKERNELS)
#define MDL_NEON "1"
#else
#define MDL_NEON "0"
#endif

#define MDL_THREADS_STR MDL_STR(MDL_HAVE_THREADS)

const char* mdl_build_config(void) {
  return "arch=" MDL_ARCH " compiler=" MDL_COMPILER " threads=" MDL_THREADS_STR
         " avx2_clones=" MDL_STR(MDL_HAVE_MULTIVERSION) " avx2_intrinsics=" MDL_INTRIN " neon_intrinsics=" MDL_NEON;
}

int32_t mdl_cpu_uses_avx2(void) {
#if defined(MDL_HAVE_RQ8)
  return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
  return 0;
#endif
}

int32_t mdl_cpu_uses_neon(void) {
#if defined(MDL_HAVE_NEON_UKERNELS)
  return mdl_cpu_has_neon() ? 1 : 0;
#else
  return 0;
#endif
}

int32_t mdl_cpu_uses_avx512vnni(void) {
#if defined(MDL_HAVE_AVX2_UKERNELS)
  return mdl_cpu_has_avx512vnni() ? 1 : 0;
#else
  return 0;
#endif
}
