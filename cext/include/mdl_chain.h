/* microdl: fused chains of fast int8 convolutions (memory="small").
 *
 * A chain node runs n_ops (2..MDL_CHAIN_MAX_OPS) fast convolutions (conv_s8_fast or
 * depthwise_conv_s8_fast), each reading the previous one's output, without ever
 * holding an intermediate ("mid") tensor whole: the last op's output rows are made in
 * order, and every mid tensor keeps only a window of its rows in scratch, the rows
 * still to be read.  When op i + 1 needs mid rows [lo, hi) of op i (output row r of
 * an op reads input rows max(r * stride_h - pad_h, 0) up to r * stride_h - pad_h +
 * (filter_h - 1) * dilation_h, clipped to the input), the window drops the rows below
 * lo (the rest move to its front) and op i computes the missing rows, as many as the
 * window has room for, in chunks whose own input rows fit op i - 1's window (the
 * same demand, one level down).  This is line-buffered (row-streaming) layer fusion:
 * each row is computed once, nothing is recomputed.  Every call is the same kernel
 * on the same bytes as a row band of parallel.py, so the results are those of
 * running the ops one after the other, bit for bit.
 *
 * Params: n_ops; per op i: kind[i] (MDL_CHAIN_CONV or MDL_CHAIN_DEPTHWISE),
 * n_inputs[i] (inputs of its own node, its input tensor included), scratch[i] (bytes
 * of its own scratch), window_rows[i] (rows of op i's output the window holds; the
 * last op's is unused), and p0[] .. p3[] (each op's parameter struct, int32 fields in
 * its kernel table order, zero-padded).  Every op has batches 1.
 * Inputs: op 0's inputs (the chain's input tensor first), then for each later op its
 * inputs after the first (its input is the previous window).  Output: the last op's
 * output tensor.  Scratch: the largest of the ops' own scratch rounded up to 16
 * bytes (the ops run one at a time), then the windows of ops 0 .. n_ops - 2, each
 * rounded up to 16 bytes (window_rows[i] * output_w * output channels of op i).
 * MDL_ERR_BAD_PARAM: n_ops outside 2..MDL_CHAIN_MAX_OPS, an unknown kind, batches
 * != 1, more inputs than a node holds, shapes that do not chain, or a window too
 * small for one row of its reader. */
#ifndef MDL_CHAIN_H
#define MDL_CHAIN_H

#include "mdl_conv.h"

#define MDL_CHAIN_CONV 0
#define MDL_CHAIN_DEPTHWISE 1
#define MDL_CHAIN_MAX_OPS 4    /* the lengths of the per-op arrays below */
#define MDL_CHAIN_MAX_FIELDS 48 /* the p0 .. p3 lengths below */

#define MDL_CONV_CHAIN_S8_PARAMS(F, A)                                  \
  F(n_ops)                                                              \
  A(kind, 4)        /* MDL_CHAIN_CONV or MDL_CHAIN_DEPTHWISE per op */   \
  A(n_inputs, 4)    /* inputs of each op's own node */                   \
  A(scratch, 4)     /* bytes of each op's own scratch */                 \
  A(window_rows, 4) /* rows of each op's output kept (last op: unused) */ \
  A(p0, 48)                                                             \
  A(p1, 48)                                                             \
  A(p2, 48)                                                             \
  A(p3, 48)
MDL_DECLARE_PARAMS(mdl_conv_chain_s8_params, MDL_CONV_CHAIN_S8_PARAMS)

/* Node: see above. */
mdl_status mdl_node_conv_chain_s8(const mdl_node* node);

#endif
