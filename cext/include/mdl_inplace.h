/* microdl: in-place convolutions (memory="small", microdl/runtime/planner.py).
 *
 * An in-place node runs a fast int8 convolution (depthwise_conv_s8_fast or
 * conv_s8_fast) one output row at a time, batches == 1, with the output tensor in
 * the same arena block as the input (at any byte distance the planner chose, the two
 * may overlap).  Output row r is computed straight into its place when that place
 * holds no input byte a row >= r still reads, else into a ring of ring_rows rows in
 * scratch, and copied into its place as soon as no later row reads the input bytes
 * it covers (rows are written in order).  Output row r reads input rows
 * max(r * stride_h - pad_h, 0) .. r * stride_h - pad_h + (filter_h - 1) * dilation_h,
 * so the input still needed after row r starts at row max((r + 1) * stride_h - pad_h,
 * 0).  Results are those of the inner kernel, bit for bit (the same kernel runs on
 * the same input bytes, row by row, as parallel.py's bands do).
 *
 * Params: the inner kernel's fields, then ring_rows (>= 0: rows of output the ring
 * holds; prepare simulates the same schedule to size it).  Inputs: the inner kernel's.
 * Scratch: conv: the inner kernel's scratch rounded up to 16 bytes, then the ring;
 * depthwise: the ring (ring_rows * output_w * output channels bytes; NULL when
 * ring_rows is 0).
 * MDL_ERR_BAD_PARAM: batches != 1, ring_rows < 0, scratch missing, or the ring would
 * overflow (the schedule differs from prepare's; nothing is then overwritten). */
#ifndef MDL_INPLACE_H
#define MDL_INPLACE_H

#include "mdl_conv.h"

#define MDL_DEPTHWISE_CONV_S8_INPLACE_PARAMS(F, A) \
  MDL_DEPTHWISE_CONV_S8_PARAMS(F, A)               \
  F(ring_rows) /* output rows the scratch ring holds */
MDL_DECLARE_PARAMS(mdl_depthwise_conv_s8_inplace_params,
                   MDL_DEPTHWISE_CONV_S8_INPLACE_PARAMS)

#define MDL_CONV_S8_FAST_INPLACE_PARAMS(F, A) \
  MDL_CONV_S8_FAST_PARAMS(F, A)               \
  F(ring_rows) /* output rows the scratch ring holds */
MDL_DECLARE_PARAMS(mdl_conv_s8_fast_inplace_params, MDL_CONV_S8_FAST_INPLACE_PARAMS)

/* Node: in = as depthwise_conv_s8_fast; out may overlap in[0]. */
mdl_status mdl_node_depthwise_conv_s8_inplace(const mdl_node* node);
/* Node: in = as conv_s8_fast; out may overlap in[0]. */
mdl_status mdl_node_conv_s8_fast_inplace(const mdl_node* node);

#endif
