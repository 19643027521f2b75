"""Data movement and shape ops in plain numpy: what TFLite's TRANSPOSE, PAD / PADV2,
CONCATENATION, PACK and STRIDED_SLICE compute.  No arithmetic happens on the values,
so one definition holds for every dtype (int8, int16, int32, float32, ...).

Sources of the semantics: tensorflow/lite/kernels/{transpose,pad,concatenation,pack,
strided_slice}.cc and tensorflow/lite/kernels/internal/strided_slice_logic.h.
"""
from __future__ import annotations

import numpy as np


def transpose(x, perm):
    """output.shape[j] = x.shape[perm[j]]; negative perm entries count from the end."""
    perm = [int(p) % x.ndim if x.ndim else 0 for p in perm]
    return np.array(np.transpose(x, perm), order="C")


def pad(x, paddings, value):
    """paddings: [rank, 2] (before, after) per dimension, all >= 0; the new elements
    hold `value` (for quantized tensors, an integer in the output's units: the output
    zero point for PAD, the constant input for PADV2)."""
    paddings = np.asarray(paddings, np.int64).reshape(x.ndim, 2)
    out_shape = tuple(int(n + a + b) for n, (a, b) in zip(x.shape, paddings))
    out = np.full(out_shape, value, dtype=x.dtype)
    interior = tuple(slice(int(a), int(a) + n) for n, (a, _) in zip(x.shape, paddings))
    out[interior] = x
    return out


def concatenation(xs, axis):
    """Inputs joined along `axis` (negative counts from the end); no requantization
    (TFLite requires equal quantization on inputs and output)."""
    return np.concatenate(list(xs), axis=axis)


def pack(xs, axis):
    """Inputs of equal shape stacked along a new dimension `axis` of the output
    (negative counts from the end of the output's rank)."""
    return np.stack(list(xs), axis=axis)


def strided_slice(x, begin, end, strides, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, offset=False):
    """TFLite STRIDED_SLICE as a numpy index expression.

    Spec entry i (bit i of each mask) is, in priority order: an ellipsis (as many full
    dimensions as the input has beyond the other entries), a new axis of size 1, a
    shrunk axis (the single element begin[i]; with begin_mask, the first element), or
    the slice begin[i]:end[i]:strides[i] where begin_mask / end_mask replace the bound
    by "from the start" / "to the end" (in the direction of the stride).  With
    `offset`, end[i] is a size counted from the resolved begin.  Dimensions past the
    spec are taken whole.  TFLite resolves negative bounds and clamps out-of-range ones
    exactly like Python slices, so Python slice objects state the op directly.
    """
    begin = [int(v) for v in np.ravel(begin)]
    end = [int(v) for v in np.ravel(end)]
    strides = [int(v) for v in np.ravel(strides)]
    index = []
    dim = 0  # the input dimension entry i addresses (before an ellipsis)
    for i in range(len(begin)):
        bit = 1 << i
        if ellipsis_mask & bit:
            index.append(Ellipsis)
            dim = None  # dimension bookkeeping is only needed for `offset`
        elif new_axis_mask & bit:
            index.append(np.newaxis)
        elif shrink_axis_mask & bit:
            index.append((0 if strides[i] > 0 else -1) if begin_mask & bit else begin[i])
            dim = None if dim is None else dim + 1
        else:
            b = None if begin_mask & bit else begin[i]
            e = None if end_mask & bit else end[i]
            if offset and not end_mask & bit:
                if dim is None:
                    raise ValueError("offset with an ellipsis is not defined here")
                start = slice(b, None, strides[i]).indices(x.shape[dim])[0]
                e = start + end[i]
                if e < 0:
                    e += x.shape[dim]
                e = max(e, -1 if strides[i] < 0 else 0)
                # A clamped "-1" must mean "before element 0", not "the last element".
                e = None if e == -1 and strides[i] < 0 else e
            index.append(slice(b, e, strides[i]))
            dim = None if dim is None else dim + 1
    return np.array(x[tuple(index)], order="C")  # keeps 0-d results 0-d
