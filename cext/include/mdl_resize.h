/* microdl: RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR on NHWC tensors (TFLite's
 * reference/resize_nearest_neighbor.h and reference/resize_bilinear.h).
 *
 * All coordinate arithmetic (scales, half-pixel centres, align_corners, the lower and
 * upper source rows / columns and the interpolation weights) is done by prepare
 * (microdl/runtime/ops/spatial.py), which passes it as per-axis tables; the kernels
 * only gather and, for bilinear, blend.  Prepare checks every table entry lies inside
 * the input; the kernels check again (cheap: one pass over out_h + out_w entries) and
 * return MDL_ERR_BAD_PARAM rather than read outside it.
 */
#ifndef MDL_RESIZE_H
#define MDL_RESIZE_H

#include "mdl_node.h"

/* resize_nearest: out[b, y, x, :] = in[b, rows[y], cols[x], :] for elements of
 * elem_bytes bytes (1, 2, 4 or 8; the type does not matter).  Node: in = {input,
 * table}, table int32[out_h + out_w] = rows then cols. */
#define MDL_RESIZE_NEAREST_PARAMS(F, A)                         \
  F(elem_bytes) /* 1, 2, 4 or 8 */                              \
  F(batches)                                                    \
  F(in_h)                                                       \
  F(in_w)                                                       \
  F(depth)      /* channels, copied as one run per pixel */     \
  F(out_h)                                                      \
  F(out_w)
MDL_DECLARE_PARAMS(mdl_resize_nearest_params, MDL_RESIZE_NEAREST_PARAMS)

mdl_status mdl_resize_nearest(const mdl_resize_nearest_params* p, const void* input,
                              const int32_t* table, void* output);
mdl_status mdl_node_resize_nearest(const mdl_node* node);

/* Element kinds of resize_bilinear (the `kind` field). */
#define MDL_RESIZE_S8 0  /* int8, integer weights in 1/1024 steps */
#define MDL_RESIZE_S16 1 /* int16, integer weights in 1/1024 steps */
#define MDL_RESIZE_F32 2 /* float32, float weights */

/* resize_bilinear.  Node: in = {input, index table, weight table}.
 * index table int32[2*out_h + 2*out_w]: y0[out_h], y1[out_h], x0[out_w], x1[out_w].
 * weight table [out_h + out_w]: the fractional parts fy[y], fx[x] of the source
 * coordinates, int32 in units of 1/1024 (S8, S16; 0..1024) or float32 (F32).
 *
 * Integer kinds: acc = v00*(1024-fy)*(1024-fx) + v10*fy*(1024-fx) + v01*(1024-fy)*fx
 *   + v11*fy*fx in int64 (v_ab = in[b, y_a, x_b, c]), then divided by 2^20:
 *   MDL_ROUNDING_DOUBLE: (acc +- 2^19) / 2^20 truncated (the sign of the correction
 *   that of acc, -2^19 for acc == 0); MDL_ROUNDING_SINGLE: floor((acc + 2^19) / 2^20).
 * F32: v00*(1-fy)*(1-fx) + v10*fy*(1-fx) + v01*(1-fy)*fx + v11*fy*fx, evaluated left
 *   to right in float. */
#define MDL_RESIZE_BILINEAR_PARAMS(F, A)                         \
  F(kind)     /* MDL_RESIZE_S8, MDL_RESIZE_S16 or MDL_RESIZE_F32 */ \
  F(batches)                                                     \
  F(in_h)                                                        \
  F(in_w)                                                        \
  F(depth)                                                       \
  F(out_h)                                                       \
  F(out_w)                                                       \
  F(rounding) /* integer kinds: MDL_ROUNDING_DOUBLE or _SINGLE */
MDL_DECLARE_PARAMS(mdl_resize_bilinear_params, MDL_RESIZE_BILINEAR_PARAMS)

mdl_status mdl_resize_bilinear(const mdl_resize_bilinear_params* p, const void* input,
                               const int32_t* index, const void* weights, void* output);
mdl_status mdl_node_resize_bilinear(const mdl_node* node);

#endif
