"""Data movement and shape ops: RESHAPE, SQUEEZE, EXPAND_DIMS, SHAPE, TRANSPOSE,
STRIDED_SLICE, CONCATENATION, PACK, PAD and PADV2.

None of them computes on values, so they work on any element type microdl holds
(int8, uint8, int16, int32, int64, float32, bool; only the element size matters) and
need no rounding mode:

- RESHAPE, SQUEEZE and EXPAND_DIMS are ``Alias`` steps (the output shares the input's
  arena bytes; no work at invoke).
- SHAPE of a static tensor is a ``Constant``.
- TRANSPOSE, STRIDED_SLICE, CONCATENATION, PACK and PAD lower to the C kernel
  ``copy_strided`` (cext/include/mdl_copy.h): one strided box copy per input, plus a
  ``fill_elements`` node writing the pad value for PAD / PADV2.
- Every op whose inputs are all constant (including constants folded by earlier ops,
  e.g. the Keras flatten pattern SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE) folds to a
  ``Constant`` computed with microdl.core.dataops.

Semantics follow LiteRT's kernels: tensorflow/lite/kernels/reshape.cc, squeeze.cc,
expand_dims.cc, shape.cc, transpose.cc, strided_slice.cc (with
kernels/internal/strided_slice_logic.h), concatenation.cc, pack.cc and pad.cc.
"""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.core import dataops as ref
from microdl.runtime.ops import Alias, Constant, Node, Unsupported, register
from microdl.runtime.ops.common import (FLOAT32, INT8, INT16, INT32, INT64, UINT8,
                                        check_shape, require_dtype, require_io_count,
                                        tensor_at)

BOOL = np.dtype(np.bool_)
DATA_DTYPES = (INT8, UINT8, INT16, INT32, INT64, FLOAT32, BOOL)
QUANTIZED_DTYPES = (INT8, UINT8, INT16)
MAX_DIMS = 6  # MDL_MAX_DIMS

# Highest op version LiteRT 2.3 registers for each op (versions only add element
# types or options, which the prepare functions below validate themselves).
MAX_VERSION = {"RESHAPE": 1, "SQUEEZE": 2, "EXPAND_DIMS": 1, "SHAPE": 1,
               "TRANSPOSE": 9, "STRIDED_SLICE": 8, "CONCATENATION": 7, "PACK": 5,
               "PAD": 6, "PADV2": 6}

TFLITE_INT32, TFLITE_INT64 = 2, 4  # tflite TensorType codes for SHAPE's out_type


# --------------------------------------------------------------------- helpers
def _check_version(op):
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def _same_dtype(op, x, y):
    require_dtype(x, *DATA_DTYPES)
    if np.dtype(x.dtype) != np.dtype(y.dtype):
        raise ModelError(f"op {op.index} ({op.name}): input is "
                         f"{np.dtype(x.dtype).name}, output {np.dtype(y.dtype).name}")


def _const_ints(op, t, what, dtypes=(INT32,)):
    """A constant integer tensor's values as a list of Python ints."""
    require_dtype(t, *dtypes)
    if t.data is None:
        raise Unsupported(f"{what} (tensor {t.index}) must be constant (microdl has "
                          f"static shapes)")
    return [int(v) for v in np.asarray(t.data).ravel()]


def _quant_params(t):
    """(scales, zero points) as comparable tuples; empty for an unquantized tensor."""
    if t.quant is None:
        return (), ()
    return (tuple(np.asarray(t.quant.scales, np.float32).tolist()),
            tuple(int(z) for z in t.quant.zero_points))


def _require_same_quant(op, inputs, y):
    """Quantized CONCATENATION / PACK / TRANSPOSE copy raw values, so every input must
    carry the output's scale and zero point (TFLite checks the same in Prepare)."""
    if np.dtype(y.dtype) not in QUANTIZED_DTYPES:
        return
    want = _quant_params(y)
    for t in inputs:
        if _quant_params(t) != want:
            raise Unsupported(f"input tensor {t.index} ({t.name!r}) quantization "
                              f"{_quant_params(t)} differs from the output's {want}; "
                              f"requantizing {op.name} is not implemented")


def _row_strides(shape):
    """Row-major element strides of `shape`."""
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * int(shape[d + 1])
    return strides


def _copy_node(op, src, dst, shape, in_strides, in_offset, out_strides, out_offset):
    """A copy_strided node moving the box `shape` from tensor `src` (element strides
    `in_strides`, first element `in_offset`) into tensor `dst`; [] for an empty box.

    Size-1 dimensions are dropped and dimensions contiguous in both tensors merged, so
    any rank reduces to at most MAX_DIMS loops.  Every address the box touches is
    checked against both tensors here, so the C kernel cannot read or write out of
    bounds."""
    dims = [(int(n), int(a), int(b)) for n, a, b in zip(shape, in_strides, out_strides)]
    if any(n == 0 for n, _, _ in dims):
        return []
    if any(n < 0 for n, _, _ in dims):
        raise ModelError(f"op {op.index} ({op.name}): negative extent in {shape}")
    dims = [d for d in dims if d[0] != 1]
    merged = []
    for n, a, b in dims:
        if merged:
            pn, pa, pb = merged[-1]
            if pa == a * n and pb == b * n:
                merged[-1] = (pn * n, a, b)
                continue
        merged.append((n, a, b))
    if not merged:
        merged = [(1, 1, 1)]
    if len(merged) > MAX_DIMS:
        raise Unsupported(f"a copy over {len(merged)} non-mergeable dimensions (microdl "
                          f"handles up to {MAX_DIMS})")
    for t, off, k in ((src, in_offset, 1), (dst, out_offset, 2)):
        lo = off + sum(min(0, (d[0] - 1) * d[k]) for d in merged)
        hi = off + sum(max(0, (d[0] - 1) * d[k]) for d in merged)
        if lo < 0 or hi >= t.size:
            raise ModelError(f"op {op.index} ({op.name}): copy reaches elements "
                             f"[{lo}, {hi}] of tensor {t.index} ({t.size} elements)")
    pad = MAX_DIMS - len(merged)
    params = dict(elem_bytes=np.dtype(dst.dtype).itemsize, ndims=len(merged),
                  shape=[d[0] for d in merged] + [1] * pad,
                  in_strides=[d[1] for d in merged] + [0] * pad, in_offset=int(in_offset),
                  out_strides=[d[2] for d in merged] + [0] * pad,
                  out_offset=int(out_offset))
    return [Node("copy_strided", params, [src.index], dst.index)]


def _alias_or_constant(x, y):
    if x.data is not None:
        return [Constant(y.index, np.asarray(x.data).reshape(y.shape))]
    return [Alias(x.index, y.index)]


# ------------------------------------------------------------- shape-only ops
def reshape_target(op, graph):
    """RESHAPE's requested shape as a list (may hold one -1): the 1-D int32 shape input
    when present (it must be constant), otherwise the options' new_shape ([0] meaning
    a scalar, as legacy models write it) (reshape.cc GetOutputShape)."""
    shape_t = tensor_at(graph, op, 1, optional=True)
    if (shape_t is not None and len(shape_t.shape) == 1 and shape_t.dtype is not None
            and np.dtype(shape_t.dtype) == INT32):
        return _const_ints(op, shape_t, "shape input")
    if "new_shape" in op.options:
        new_shape = list(op.options["new_shape"])
        return [] if new_shape == [0] else new_shape
    if shape_t is not None:
        raise Unsupported(f"shape input (tensor {shape_t.index}) must be a 1-D int32 "
                          f"vector")
    raise ModelError(f"op {op.index} (RESHAPE): no shape input and no new_shape "
                     f"option")


def resolve_reshape(op, new_shape, size):
    """new_shape (a list with at most one -1) for `size` elements, the -1 inferred.

    Raises:
        ModelError: more than one -1 or an entry below -1, a -1 beside a zero entry,
            or an element count other than `size`."""
    new_shape = [int(v) for v in new_shape]
    stretch = [i for i, v in enumerate(new_shape) if v == -1]
    if len(stretch) > 1 or any(v < -1 for v in new_shape):
        raise ModelError(f"op {op.index} (RESHAPE): invalid new shape {new_shape}")
    if stretch:
        known = int(np.prod([v for v in new_shape if v != -1], dtype=np.int64))
        if known == 0:
            raise ModelError(f"op {op.index} (RESHAPE): cannot infer the -1 entry of "
                             f"{new_shape}")
        new_shape[stretch[0]] = size // known
    if int(np.prod(new_shape, dtype=np.int64)) != size:
        raise ModelError(f"op {op.index} (RESHAPE): {size} elements cannot take "
                         f"shape {new_shape}")
    return new_shape


@register("RESHAPE")
def prepare_reshape(op, graph, ctx):
    """Same data, new shape: an Alias of the input (a Constant for a constant input).

    The new shape comes from the 1-D int32 shape input when present (it must be
    constant, possibly folded from SHAPE / STRIDED_SLICE / PACK earlier in the graph),
    otherwise from the options' new_shape ([0] meaning a scalar, as legacy models
    write it).  One entry may be -1 (inferred).  The element count must be unchanged
    and the declared output shape must agree (reshape.cc).  After a resize to a new
    batch, ctx.carried_shapes may replace a constant shape whose first entry was the
    model's batch (microdl.runtime.shapeinfer; LiteRT refuses such a reshape)."""
    _check_version(op)
    require_io_count(op, 1, 1, max_in=2)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    new_shape = reshape_target(op, graph)
    if op.index in ctx.carried_shapes:  # a resized batch carried past a constant shape
        new_shape = list(ctx.carried_shapes[op.index])
    new_shape = resolve_reshape(op, new_shape, x.size)
    check_shape(op, y, new_shape)
    return _alias_or_constant(x, y)


@register("SQUEEZE")
def prepare_squeeze(op, graph, ctx):
    """Drops size-1 dimensions: those listed in squeeze_dims (negative counts from
    the end; each must have size 1), or all of them when the list is empty
    (squeeze.cc).  An Alias of the input."""
    _check_version(op)
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    rank = len(x.shape)
    dims = op.options.get("squeeze_dims") or []
    if dims:
        drop = set()
        for d in dims:
            if not -rank <= d < rank:
                raise ModelError(f"op {op.index} (SQUEEZE): squeeze dimension {d} out "
                                 f"of range for rank {rank}")
            d %= rank
            if x.shape[d] != 1:
                raise ModelError(f"op {op.index} (SQUEEZE): dimension {d} has size "
                                 f"{x.shape[d]}, not 1")
            drop.add(d)
    else:
        drop = {d for d in range(rank) if x.shape[d] == 1}
    check_shape(op, y, [n for d, n in enumerate(x.shape) if d not in drop])
    return _alias_or_constant(x, y)


@register("EXPAND_DIMS")
def prepare_expand_dims(op, graph, ctx):
    """Inserts a size-1 dimension at `axis` (constant int32/int64 input with one
    element; -rank-1 <= axis <= rank, negative counts from the end) (expand_dims.cc).
    An Alias of the input."""
    _check_version(op)
    require_io_count(op, 2, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    axis = _const_ints(op, tensor_at(graph, op, 1), "axis", (INT32, INT64))
    if len(axis) != 1:
        raise ModelError(f"op {op.index} (EXPAND_DIMS): axis must have one element")
    rank = len(x.shape)
    a = axis[0]
    if not -rank - 1 <= a <= rank:
        raise ModelError(f"op {op.index} (EXPAND_DIMS): axis {a} out of range for rank "
                         f"{rank}")
    if a < 0:
        a += rank + 1
    check_shape(op, y, list(x.shape[:a]) + [1] + list(x.shape[a:]))
    return _alias_or_constant(x, y)


@register("SHAPE")
def prepare_shape(op, graph, ctx):
    """The input's (static) shape as a constant int32 or int64 vector (out_type)
    (shape.cc)."""
    _check_version(op)
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    out_type = op.options.get("out_type")
    want = {TFLITE_INT32: INT32, TFLITE_INT64: INT64}.get(out_type)
    if want is None:  # option absent or unset: the output tensor's type decides
        require_dtype(y, INT32, INT64)
        want = np.dtype(y.dtype)
    if np.dtype(y.dtype) != want:
        raise ModelError(f"op {op.index} (SHAPE): output tensor {y.index} is "
                         f"{y.dtype}, out_type says {want.name}")
    check_shape(op, y, [len(x.shape)])
    return [Constant(y.index, np.array(x.shape, want))]


# ----------------------------------------------------------------- copy ops
@register("TRANSPOSE")
def prepare_transpose(op, graph, ctx):
    """output.shape[j] = input.shape[perm[j]] for a constant int32 permutation (negative
    entries count from the end), ranks 1..6 (transpose.cc).  Quantized input and output
    must share scale and zero point."""
    _check_version(op)
    require_io_count(op, 2, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    rank = len(x.shape)
    if rank > MAX_DIMS:
        raise Unsupported(f"rank {rank} (TRANSPOSE handles 1..{MAX_DIMS})")
    perm = _const_ints(op, tensor_at(graph, op, 1), "perm")
    if len(perm) != rank or any(not -rank <= p < rank for p in perm):
        raise ModelError(f"op {op.index} (TRANSPOSE): perm {perm} invalid for rank "
                         f"{rank}")
    perm = [p % rank for p in perm]
    if sorted(perm) != list(range(rank)):
        raise ModelError(f"op {op.index} (TRANSPOSE): perm {perm} is not a permutation")
    check_shape(op, y, [x.shape[p] for p in perm])
    _require_same_quant(op, [x], y)
    if x.data is not None:
        return [Constant(y.index, ref.transpose(np.asarray(x.data), perm))]
    in_strides = _row_strides(x.shape)
    return _copy_node(op, x, y, y.shape, [in_strides[p] for p in perm], 0,
                      _row_strides(y.shape), 0)


@register("CONCATENATION")
def prepare_concatenation(op, graph, ctx):
    """Inputs of equal rank joined along `axis` (negative counts from the end); every
    other dimension must match (concatenation.cc).  No fused activation.  Quantized
    inputs must carry the output's scale and zero point (TFLite requires it for int8;
    microdl does not requantize).  One copy_strided node per non-empty input."""
    _check_version(op)
    if len(op.inputs) < 1:
        raise ModelError(f"op {op.index} (CONCATENATION): no inputs")
    require_io_count(op, 1, 1, max_in=len(op.inputs))
    xs = [tensor_at(graph, op, k) for k in range(len(op.inputs))]
    y = tensor_at(graph, op, 0, "output")
    for x in xs:
        _same_dtype(op, x, y)
    if op.options.get("fused_activation_function", 0) != 0:
        raise Unsupported("fused activation on CONCATENATION")
    rank = len(xs[0].shape)
    axis = op.options.get("axis", 0)
    if not -rank <= axis < rank:
        raise ModelError(f"op {op.index} (CONCATENATION): axis {axis} out of range for "
                         f"rank {rank}")
    axis %= rank
    for x in xs[1:]:
        if len(x.shape) != rank or any(x.shape[d] != xs[0].shape[d]
                                       for d in range(rank) if d != axis):
            raise ModelError(f"op {op.index} (CONCATENATION): input shapes "
                             f"{[tuple(t.shape) for t in xs]} do not match off axis "
                             f"{axis}")
    out_shape = list(xs[0].shape)
    out_shape[axis] = sum(x.shape[axis] for x in xs)
    check_shape(op, y, out_shape)
    _require_same_quant(op, xs, y)
    if all(x.data is not None for x in xs):
        return [Constant(y.index, ref.concatenation([np.asarray(x.data) for x in xs],
                                                    axis))]
    outer = int(np.prod(out_shape[:axis], dtype=np.int64))
    inner = int(np.prod(out_shape[axis + 1:], dtype=np.int64))
    row = out_shape[axis] * inner
    steps, start = [], 0
    for x in xs:
        width = x.shape[axis] * inner
        steps += _copy_node(op, x, y, [outer, width], [width, 1], 0, [row, 1],
                            start * inner)
        start += x.shape[axis]
    return steps


@register("PACK")
def prepare_pack(op, graph, ctx):
    """values_count inputs of one shape stacked along a new output dimension `axis`
    (negative counts from the end of the output's rank) (pack.cc).  Inputs must share
    the output's quantization.  One copy_strided node per input."""
    _check_version(op)
    n = op.options.get("values_count", len(op.inputs))
    if n != len(op.inputs) or n < 1:
        raise ModelError(f"op {op.index} (PACK): values_count {n} but "
                         f"{len(op.inputs)} inputs")
    require_io_count(op, n, 1)
    xs = [tensor_at(graph, op, k) for k in range(n)]
    y = tensor_at(graph, op, 0, "output")
    for x in xs:
        _same_dtype(op, x, y)
        if tuple(x.shape) != tuple(xs[0].shape):
            raise ModelError(f"op {op.index} (PACK): input shapes "
                             f"{[tuple(t.shape) for t in xs]} differ")
    rank = len(xs[0].shape) + 1
    axis = op.options.get("axis", 0)
    if not -rank <= axis < rank:
        raise ModelError(f"op {op.index} (PACK): axis {axis} out of range for output "
                         f"rank {rank}")
    axis %= rank
    in_shape = list(xs[0].shape)
    check_shape(op, y, in_shape[:axis] + [n] + in_shape[axis:])
    _require_same_quant(op, xs, y)
    if all(x.data is not None for x in xs):
        return [Constant(y.index, ref.pack([np.asarray(x.data) for x in xs], axis))]
    outer = int(np.prod(in_shape[:axis], dtype=np.int64))
    inner = int(np.prod(in_shape[axis:], dtype=np.int64))
    steps = []
    for k, x in enumerate(xs):
        steps += _copy_node(op, x, y, [outer, inner], [inner, 1], 0, [n * inner, 1],
                            k * inner)
    return steps


def _pad_value(op, graph, x, y):
    """The pad element as a node input: a prepare-time array, or PADV2's constant
    values tensor (read at invoke, so it may also be computed by the graph)."""
    c = tensor_at(graph, op, 2, optional=True)
    if c is not None:
        if np.dtype(c.dtype) != np.dtype(y.dtype):
            raise ModelError(f"op {op.index} ({op.name}): constant value is "
                             f"{np.dtype(c.dtype).name}, output "
                             f"{np.dtype(y.dtype).name}")
        if c.size != 1:
            raise ModelError(f"op {op.index} ({op.name}): constant value must have one "
                             f"element, has {c.size}")
        quantized = np.dtype(y.dtype) == UINT8 or (
            np.dtype(y.dtype) in (INT8, INT16) and x.quant is not None)
        if quantized and _quant_params(c) != _quant_params(y):
            raise ModelError(f"op {op.index} ({op.name}): the constant value must share "
                             f"the output's scale and zero point")
        return c.index, (None if c.data is None else np.asarray(c.data).ravel()[0])
    # PAD (or PADV2 without a value): quantized tensors pad with the output zero point
    # (pad.cc EvalInt; for int8/int16 when the input is quantized), others with 0.
    value = 0
    quantized = np.dtype(y.dtype) == UINT8 or (
        np.dtype(y.dtype) in (INT8, INT16) and x.quant is not None)
    if quantized and y.quant is not None:
        value = int(y.quant.zero_points[0])
        lo, hi = np.iinfo(y.dtype).min, np.iinfo(y.dtype).max
        if not lo <= value <= hi:
            raise ModelError(f"op {op.index} ({op.name}): output zero point {value} "
                             f"outside the {np.dtype(y.dtype).name} range")
    arr = np.array([value], dtype=y.dtype)
    return arr, arr[0]


@register("PAD", "PADV2")
def prepare_pad(op, graph, ctx):
    """Constant padding: output = input surrounded by paddings[d] = (before, after)
    elements per dimension (constant [rank, 2] int32/int64/int16/int8 tensor, values
    >= 0).  The pad value is PADV2's constant input, else the output zero point for
    quantized tensors, else 0 (pad.cc).  A fill_elements node then a copy_strided of
    the input into the interior."""
    _check_version(op)
    require_io_count(op, 2, 1, max_in=3 if op.name == "PADV2" else 2)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    rank = len(x.shape)
    p_t = tensor_at(graph, op, 1)
    paddings = _const_ints(op, p_t, "paddings", (INT32, INT64, INT16, INT8))
    if tuple(p_t.shape) != (rank, 2):
        raise ModelError(f"op {op.index} ({op.name}): paddings shape {p_t.shape}, "
                         f"expected ({rank}, 2)")
    pads = [(paddings[2 * d], paddings[2 * d + 1]) for d in range(rank)]
    if any(a < 0 or b < 0 for a, b in pads):
        raise ModelError(f"op {op.index} ({op.name}): negative padding {pads}")
    check_shape(op, y, [n + a + b for n, (a, b) in zip(x.shape, pads)])
    value_ref, value = _pad_value(op, graph, x, y)
    if x.data is not None and value is not None:
        return [Constant(y.index, ref.pad(np.asarray(x.data), pads, value))]
    steps = []
    if y.size > x.size:
        steps.append(Node("fill_elements", dict(elem_bytes=np.dtype(y.dtype).itemsize,
                                                count=y.size), [value_ref], y.index))
    out_strides = _row_strides(y.shape)
    start = sum(a * s for (a, _), s in zip(pads, out_strides))
    steps += _copy_node(op, x, y, x.shape, _row_strides(x.shape), 0, out_strides, start)
    return steps


# ------------------------------------------------------------ strided slice
def _strided_slice_dims(op, in_shape, begin, end, strides, o):
    """Resolve a STRIDED_SLICE spec into one (input size, start, count, step, shrink)
    per effective dimension, as tensorflow/lite/kernels/strided_slice.cc
    (BuildStridedSliceParams, ResizeOutputTensor) and strided_slice_logic.h
    (StridedSliceStartForAxis / EndForAxis) do.

    The spec's ellipsis expands to the input dimensions it stands for; new axes add
    input dimensions of size 1; dimensions past the spec are taken whole."""
    n_spec = len(begin)
    bm, em = o.get("begin_mask", 0), o.get("end_mask", 0)
    ellipsis, new_axis = o.get("ellipsis_mask", 0), o.get("new_axis_mask", 0)
    shrink, offset = o.get("shrink_axis_mask", 0), bool(o.get("offset", False))
    spec_bits = (1 << n_spec) - 1
    if ellipsis & ~spec_bits or new_axis & ~spec_bits:
        raise Unsupported("ellipsis_mask / new_axis_mask bits beyond the spec length")
    if bin(ellipsis).count("1") > 1:
        raise Unsupported("more than one ellipsis")
    rank = len(in_shape)
    if offset and (ellipsis or new_axis or n_spec != rank):
        # LiteRT indexes `end` by output dimension when sizing an offset slice.
        raise Unsupported("offset with ellipsis_mask, new_axis_mask or a spec shorter "
                          "than the input rank")
    n_new = bin(new_axis & ~ellipsis).count("1")
    if n_spec - n_new - (1 if ellipsis else 0) > rank:
        raise ModelError(f"op {op.index} (STRIDED_SLICE): {n_spec} spec entries for a "
                         f"rank-{rank} input")
    # Walk the spec, expanding it to (spec entry or None, input dimension or None).
    entries = []
    d = 0
    for i in range(n_spec):
        bit = 1 << i
        if ellipsis & bit:
            covered = rank + n_new - n_spec + 1
            if covered < 1:
                raise Unsupported("an ellipsis standing for no dimension")
            for _ in range(covered):
                entries.append((None, d))
                d += 1
        elif new_axis & bit:
            entries.append(("new", None))
        else:
            entries.append((i, d))
            d += 1
    while d < rank:
        entries.append((None, d))
        d += 1
    dims = []
    for i, d in entries:
        if i == "new":
            dims.append((1, 0, 1, 1, False))
            continue
        size = int(in_shape[d])
        if i is None:  # ellipsis or beyond the spec: the whole dimension
            dims.append((size, 0, size, 1, False))
            continue
        bit = 1 << i
        step = strides[i]
        if step == 0:
            raise ModelError(f"op {op.index} (STRIDED_SLICE): stride 0 at entry {i}")
        # StridedSliceStartForAxis
        start = begin[i] + size if begin[i] < 0 else begin[i]
        start = min(max(start, 0), size) if step > 0 else min(max(start, -1), size - 1)
        if bm & bit:
            start = 0 if step > 0 else size - 1
        if shrink & bit:
            if step < 0:
                raise Unsupported(f"shrink_axis_mask with a negative stride (entry {i})")
            if not (bm & bit) and not -size <= begin[i] < size:
                raise ModelError(f"op {op.index} (STRIDED_SLICE): index {begin[i]} out "
                                 f"of range for dimension {d} of size {size}")
            if size == 0:
                raise ModelError(f"op {op.index} (STRIDED_SLICE): shrinking an empty "
                                 f"dimension")
            dims.append((size, start, 1, step, True))
            continue
        # StridedSliceEndForAxis
        stop = end[i] + start if offset else end[i]
        if stop < 0:
            stop += size
        stop = min(max(stop, 0), size) if step > 0 else min(max(stop, -1), size - 1)
        if em & bit:
            stop = size if step > 0 else -1
        count = max(0, -((start - stop) // step))  # ceil((stop - start) / step)
        if offset and count != max(0, -(-end[i] // step)):
            # LiteRT sizes an offset slice as ceil(end / stride) but copies the clamped
            # range: unless the two agree, part of its output is never written.
            raise Unsupported(f"offset slice of entry {i} runs past the input")
        dims.append((size, start, count, step, False))
    if len(dims) > MAX_DIMS:
        raise Unsupported(f"{len(dims)} dimensions after new axes (microdl handles "
                          f"{MAX_DIMS})")
    return dims


@register("STRIDED_SLICE")
def prepare_strided_slice(op, graph, ctx):
    """input[begin:end:strides] with constant int32 begin / end / strides and the
    begin, end, shrink_axis, ellipsis and new_axis masks and `offset` as LiteRT
    resolves them (strided_slice.cc, strided_slice_logic.h): negative indices count
    from the end, out-of-range bounds clamp like Python slices, shrunk axes are
    dropped from the output.  Ranks up to 5 as in LiteRT (6 after new axes).

    Unsupported: shrinking with a negative stride, more than one ellipsis, mask bits
    past the spec, an ellipsis standing for no dimension, offset combined with
    ellipsis / new axes or running past the input (LiteRT leaves such outputs partly
    unwritten or reads the wrong axis)."""
    _check_version(op)
    require_io_count(op, 4, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    _same_dtype(op, x, y)
    if len(x.shape) > 5:
        raise Unsupported(f"rank {len(x.shape)} (LiteRT's STRIDED_SLICE handles 1..5)")
    spec = []
    for k, what in ((1, "begin"), (2, "end"), (3, "strides")):
        t = tensor_at(graph, op, k)
        if len(t.shape) != 1:
            raise ModelError(f"op {op.index} (STRIDED_SLICE): {what} must be 1-D")
        spec.append(_const_ints(op, t, what))
    begin, end, strides = spec
    if not len(begin) == len(end) == len(strides):
        raise ModelError(f"op {op.index} (STRIDED_SLICE): begin/end/strides lengths "
                         f"{len(begin)}/{len(end)}/{len(strides)} differ")
    dims = _strided_slice_dims(op, x.shape, begin, end, strides, op.options)
    check_shape(op, y, [c for _, _, c, _, shrunk in dims if not shrunk])
    if x.data is not None:
        o = op.options
        value = ref.strided_slice(
            np.asarray(x.data), begin, end, strides, o.get("begin_mask", 0),
            o.get("end_mask", 0), o.get("ellipsis_mask", 0), o.get("new_axis_mask", 0),
            o.get("shrink_axis_mask", 0), bool(o.get("offset", False)))
        return [Constant(y.index, value)]
    eff_strides = _row_strides([size for size, _, _, _, _ in dims])
    counts = [c for _, _, c, _, _ in dims]
    in_offset = sum(start * s for (_, start, _, _, _), s in zip(dims, eff_strides))
    in_steps = [step * s for (_, _, _, step, _), s in zip(dims, eff_strides)]
    return _copy_node(op, x, y, counts, in_steps, in_offset, _row_strides(counts), 0)
