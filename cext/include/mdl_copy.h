/* microdl: data movement.  TRANSPOSE, STRIDED_SLICE, CONCATENATION, PACK, PAD and
 * PADV2 lower to the two dtype-agnostic kernels below (RESHAPE, SQUEEZE and
 * EXPAND_DIMS need no kernel: their output shares the input's memory).
 *
 * Both move whole elements of `elem_bytes` bytes (1, 2, 4 or 8) and never look at
 * their values, so one kernel serves int8, int16, int32, int64, float32 and bool.
 * Element accesses go through memcpy, so tensors need no particular alignment.
 */
#ifndef MDL_COPY_H
#define MDL_COPY_H

#include "mdl_node.h"

/* copy_strided: a strided gather-scatter over an iteration box of up to MDL_MAX_DIMS
 * dimensions.  For every index (i_0, ..., i_{ndims-1}) with 0 <= i_d < shape[d]:
 *   output[out_offset + sum_d i_d * out_strides[d]] =
 *       input[in_offset + sum_d i_d * in_strides[d]]
 * (indices in elements).  Prepare checks every address lies inside its tensor.
 * TRANSPOSE: permuted input strides; STRIDED_SLICE: begin -> in_offset, stride ->
 * in_strides (negative for reversed axes); CONCATENATION / PACK: one node per input,
 * each writing its sub-block (out_offset); PAD: the interior after fill_elements. */
#define MDL_COPY_STRIDED_PARAMS(F, A)                                               \
  F(elem_bytes)     /* bytes per element: 1, 2, 4 or 8 */                           \
  F(ndims)          /* dimensions of the iteration box, 1..MDL_MAX_DIMS */          \
  A(shape, 6)       /* box extent per dimension, outermost first (>= 0) */          \
  A(in_strides, 6)  /* input step per dimension, in elements (may be < 0 or 0) */  \
  F(in_offset)      /* input element index of the box's first element */           \
  A(out_strides, 6) /* output step per dimension, in elements */                   \
  F(out_offset)     /* output element index of the box's first element */
MDL_DECLARE_PARAMS(mdl_copy_strided_params, MDL_COPY_STRIDED_PARAMS)

mdl_status mdl_copy_strided(const mdl_copy_strided_params* p, const void* input,
                            void* output);

/* Node: in = {input}. */
mdl_status mdl_node_copy_strided(const mdl_node* node);

/* fill_elements: output[0..count) = *value (one element of elem_bytes bytes).
 * PAD / PADV2 write the pad value everywhere, then copy_strided the interior. */
#define MDL_FILL_ELEMENTS_PARAMS(F, A)                   \
  F(elem_bytes) /* bytes per element: 1, 2, 4 or 8 */    \
  F(count)      /* number of elements written (>= 0) */
MDL_DECLARE_PARAMS(mdl_fill_elements_params, MDL_FILL_ELEMENTS_PARAMS)

mdl_status mdl_fill_elements(const mdl_fill_elements_params* p, const void* value,
                             void* output);

/* Node: in = {value: one element of the output's type}. */
mdl_status mdl_node_fill_elements(const mdl_node* node);

#endif
