/* microdl: basic types shared by every kernel.
 *
 * Conventions (CMSIS-NN style): kernels never allocate, never print and never read
 * global state; scratch memory comes from the arena through the node's `scratch`
 * pointer and is sized at prepare time (by Python, or by the kernel's own
 * mdl_<kernel>_get_buffer_size query when it depends on the kernel's blocking).  Shapes are NHWC; filters are OHWI
 * (CONV_2D, TRANSPOSE_CONV), 1HWO (DEPTHWISE_CONV_2D) or OI (FULLY_CONNECTED).
 */
#ifndef MDL_TYPES_H
#define MDL_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  MDL_OK = 0,
  MDL_ERR_BAD_PARAM = 1,   /* a parameter that prepare should have rejected */
  MDL_ERR_UNSUPPORTED = 2, /* a parameter combination this kernel cannot run */
  MDL_ERR_LOOP_LIMIT = 3,  /* control flow: more loop iterations than allowed */
  MDL_ERR_UNSET_VARIABLE = 4, /* a resource variable read before any assignment */
} mdl_status;

#define MDL_MAX_DIMS 6

/* A kernel's scalar parameters are a struct of int32_t fields declared once with an
 * X-macro LIST(F, A): F(name) is one int32_t field, A(name, n) an int32_t[n] array.
 * The same list yields the struct (MDL_DECLARE_PARAMS) and the comma-separated field
 * names (MDL_PARAM_NAMES) that the Python side uses to fill the struct by name, so the
 * layout is written in exactly one place. */
#define MDL_PARAM_FIELD_(name) int32_t name;
#define MDL_PARAM_ARRAY_(name, n) int32_t name[n];
#define MDL_PARAM_FIELD_NAME_(name) #name ","
#define MDL_PARAM_ARRAY_NAME_(name, n) #name "[" #n "],"
#define MDL_DECLARE_PARAMS(type, LIST) \
  typedef struct { LIST(MDL_PARAM_FIELD_, MDL_PARAM_ARRAY_) } type;
#define MDL_PARAM_NAMES(LIST) LIST(MDL_PARAM_FIELD_NAME_, MDL_PARAM_ARRAY_NAME_)

#if defined(__GNUC__) || defined(__clang__)
#define MDL_INLINE static inline __attribute__((always_inline))
#define MDL_RESTRICT __restrict__
#else
#define MDL_INLINE static inline
#define MDL_RESTRICT
#endif

/* Hot loops may be compiled for several x86-64 ISA levels and picked at load time by
 * the CPU (GCC/Clang function multi-versioning via ifunc); elsewhere they build once
 * for the baseline target.  No machine-specific -march/-mcpu flag ever: a wheel must
 * run on any x86-64 and a source build must work on ARM (runtime dispatch instead). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && \
    !defined(MDL_NO_MULTIVERSION) && \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && __GNUC__ >= 8))
#define MDL_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#define MDL_HAVE_MULTIVERSION 1
#else
#define MDL_MULTIVERSION
#define MDL_HAVE_MULTIVERSION 0
#endif

#endif /* MDL_TYPES_H */
