/* microdl: what this build of the C core compiled, and what the running CPU will use
 * (printed by `python -m microdl`). */
#ifndef MDL_BUILD_H
#define MDL_BUILD_H

#include "mdl_types.h"

/* Static text, space-separated key=value pairs: arch, compiler, threads (worker pool
 * compiled), avx2_clones (x86-64 hot loops multi-versioned for AVX2), avx2_intrinsics
 * (the AVX2 requantization/lanes paths compiled), neon_intrinsics (the NEON
 * microkernels compiled: aarch64, 32-bit ARM with hardware floating point). */
const char* mdl_build_config(void);

/* 1 when the AVX2 paths are compiled and this CPU has AVX2 (so they run), else 0. */
int32_t mdl_cpu_uses_avx2(void);

/* 1 when the NEON microkernels are compiled and the operators run them on this CPU
 * (mdl_cpu_has_neon: aarch64 always, 32-bit ARM when AT_HWCAP has NEON), else 0. */
int32_t mdl_cpu_uses_neon(void);
/* 1 when the AVX512-VNNI microkernels are compiled and this CPU runs them (AVX512F,
 * BW, VL and VNNI: conv_s8_fast's int8 form, the FULLY_CONNECTED GEMV), else 0. */
int32_t mdl_cpu_uses_avx512vnni(void);

#endif /* MDL_BUILD_H */
