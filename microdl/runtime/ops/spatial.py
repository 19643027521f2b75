"""MIRROR_PAD, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, GATHER_ND,
RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR.

- MIRROR_PAD, SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND move elements only: they lower
  to ``copy_strided`` boxes (and one ``fill_elements`` for SPACE_TO_BATCH_ND's
  padding), every address checked by data._copy_node, so any element type microdl
  holds works and quantized tensors keep their raw values.  MIRROR_PAD is one box per
  combination of (before, interior, after) segments of the dimensions, the mirrored
  segments read with a stride of -1; the two batch ops one box per block position.
- GATHER_ND (constant or computed int32 / int64 indices) is the C kernel ``gather_nd``, which
  checks every index against the params' extents and fails the invoke (KernelError)
  rather than read out of bounds, as LiteRT fails its invoke.
- RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR are the C kernels ``resize_nearest``
  and ``resize_bilinear``; prepare computes their per-row and per-column source
  indices and weights (all of TFLite's coordinate arithmetic) below.

Semantics follow LiteRT's kernels: tensorflow/lite/kernels/mirror_pad.cc,
space_to_batch_nd.cc, batch_to_space_nd.cc, gather_nd.cc, resize_nearest_neighbor.cc,
resize_bilinear.cc and kernels/internal/reference/resize_nearest_neighbor.h,
resize_bilinear.h (int8 / int16 in integer arithmetic with weights in 1/1024 steps,
float32 in float).
"""
from __future__ import annotations

import itertools

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import ROUNDING_DOUBLE
from microdl.runtime.ops import Constant, Node, Unsupported, register
from microdl.runtime.ops.common import (FLOAT32, INT8, INT16, INT32, INT64, UINT8,
                                        check_shape, require_dtype, tensor_at)
from microdl.runtime.ops.data import (BOOL, DATA_DTYPES, QUANTIZED_DTYPES, _const_ints,
                                      _copy_node, _row_strides, _same_dtype)

MAX_VERSION = {"MIRROR_PAD": 3, "SPACE_TO_BATCH_ND": 4, "BATCH_TO_SPACE_ND": 4,
               "GATHER_ND": 5, "RESIZE_NEAREST_NEIGHBOR": 4, "RESIZE_BILINEAR": 4}
INDEX_DTYPES = (INT32, INT64)
MIRROR_REFLECT, MIRROR_SYMMETRIC = 0, 1   # tflite MirrorPadMode
MAX_MIRROR_BOXES = 4096   # copy nodes of one MIRROR_PAD / one batch-space op
RESIZE_KINDS = {INT8: 0, INT16: 1, FLOAT32: 2}   # MDL_RESIZE_*


def _err(op, msg):
    return ModelError(f"op {op.index} ({op.name}): {msg}")


def _start(op, graph, n_in):
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")
    if len(op.inputs) != n_in or len(op.outputs) != 1:
        raise _err(op, f"{len(op.inputs)} inputs / {len(op.outputs)} outputs, expected "
                       f"{n_in} / 1")
    return ([tensor_at(graph, op, k) for k in range(n_in)],
            tensor_at(graph, op, 0, "output"))


def _pairs(op, t, what, rows):
    """A constant [rows, 2] int32/int64 tensor as a list of (a, b) pairs."""
    vals = _const_ints(op, t, what, INDEX_DTYPES)
    if tuple(t.shape) != (rows, 2):
        raise _err(op, f"{what} has shape {tuple(t.shape)}, expected ({rows}, 2)")
    return [(vals[2 * i], vals[2 * i + 1]) for i in range(rows)]


def _prod(dims):
    return int(np.prod([int(d) for d in dims], dtype=np.int64))


# ------------------------------------------------------------------ MIRROR_PAD
def mirror_pad_shape(op, in_shape, pads, mode):
    """Output shape of MIRROR_PAD: each dimension n grows by its (before, after) pads;
    REFLECT (mode 0) allows pads up to n - 1, SYMMETRIC (1) up to n (TensorFlow's
    rule; LiteRT reads outside the input beyond it)."""
    if mode not in (MIRROR_REFLECT, MIRROR_SYMMETRIC):
        raise _err(op, f"mode {mode} (0 REFLECT or 1 SYMMETRIC)")
    if len(pads) != len(in_shape):
        raise _err(op, f"{len(pads)} padding rows for a rank-{len(in_shape)} input")
    limit = 1 if mode == MIRROR_REFLECT else 0
    out = []
    for d, ((a, b), n) in enumerate(zip(pads, in_shape)):
        n = int(n)
        if a < 0 or b < 0 or a > n - limit or b > n - limit:
            raise _err(op, f"paddings ({a}, {b}) of dimension {d} (extent {n}) must lie "
                           f"in [0, {n - limit}] for "
                           f"{'REFLECT' if mode == MIRROR_REFLECT else 'SYMMETRIC'}")
        out.append(n + a + b)
    return tuple(out)


def _mirror_segments(n, a, b, offset):
    """(out_start, length, in_start, in_step) of the before / interior / after parts of
    one dimension (offset 1 REFLECT: the edge element is not repeated; 0 SYMMETRIC)."""
    segs = [(a, n, 0, 1)]
    if a:
        segs.insert(0, (0, a, a - 1 + offset, -1))
    if b:
        segs.append((a + n, b, n - 1 - offset, -1))
    return segs


@register("MIRROR_PAD")
def prepare_mirror_pad(op, graph, ctx):
    """MIRROR_PAD(input, paddings: constant int32/int64 [rank, 2]), option mode
    (REFLECT / SYMMETRIC).  Any element type; raw values copied."""
    (x, pad_t), y = _start(op, graph, 2)
    _same_dtype(op, x, y)
    mode = int(op.options.get("mode", 0))
    pads = _pairs(op, pad_t, "paddings", len(x.shape))
    check_shape(op, y, mirror_pad_shape(op, x.shape, pads, mode))
    if x.data is not None:
        return [Constant(y.index, np.pad(np.asarray(x.data), pads,
                                         mode="reflect" if mode == 0 else "symmetric"))]
    if y.size == 0:
        return []
    offset = 1 if mode == MIRROR_REFLECT else 0
    segs = [_mirror_segments(int(n), a, b, offset) for n, (a, b) in zip(x.shape, pads)]
    combos = _prod([len(s) for s in segs])
    if combos > MAX_MIRROR_BOXES:
        raise Unsupported(f"MIRROR_PAD over {combos} boxes")
    xs, ys = _row_strides(x.shape), _row_strides(y.shape)
    steps = []
    for parts in itertools.product(*segs):
        steps += _copy_node(op, x, y, [p[1] for p in parts],
                            [p[3] * s for p, s in zip(parts, xs)],
                            sum(p[2] * s for p, s in zip(parts, xs)), ys,
                            sum(p[0] * s for p, s in zip(parts, ys)))
    return steps


# ------------------------------------------------- SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND
def _batch_space_check(op, in_shape, block):
    if len(in_shape) not in (3, 4):
        raise _err(op, f"input must be 3-D or 4-D, got {tuple(in_shape)}")
    if len(block) != len(in_shape) - 2:
        raise _err(op, f"block_shape {block} needs {len(in_shape) - 2} entries")
    if any(b < 1 for b in block):
        raise _err(op, f"block_shape {block} entries must be >= 1")


def space_to_batch_shape(op, in_shape, block, pads):
    """[B, S_1.., C] -> [B*prod(block), (S_i + pads_i) / block_i.., C]."""
    _batch_space_check(op, in_shape, block)
    out = [int(in_shape[0]) * _prod(block)]
    for i, (b, (p0, p1)) in enumerate(zip(block, pads)):
        n = int(in_shape[1 + i]) + p0 + p1
        if p0 < 0 or p1 < 0 or n % b:
            raise _err(op, f"padded extent {n} of spatial dimension {i} (paddings "
                           f"{p0}, {p1} >= 0) must be a multiple of block {b}")
        out.append(n // b)
    return tuple(out) + (int(in_shape[-1]),)


def batch_to_space_shape(op, in_shape, block, crops):
    """[B*prod(block), S_1.., C] -> [B, S_i*block_i - crops_i.., C]."""
    _batch_space_check(op, in_shape, block)
    nb = _prod(block)
    if int(in_shape[0]) % nb:
        raise _err(op, f"batch {int(in_shape[0])} is not a multiple of prod(block) {nb}")
    out = [int(in_shape[0]) // nb]
    for i, (b, (c0, c1)) in enumerate(zip(block, crops)):
        n = int(in_shape[1 + i]) * b - c0 - c1
        if c0 < 0 or c1 < 0 or n < 0:
            raise _err(op, f"crops ({c0}, {c1}) of spatial dimension {i} must be >= 0 "
                           f"and at most its extent {int(in_shape[1 + i]) * b}")
        out.append(n)
    return tuple(out) + (int(in_shape[-1]),)


def _block_boxes(op, space, batch, block, before, to_batch):
    """copy boxes between the space side [B, S.., C] and the batch side
    [B*prod(block), T.., C] with space[b, t_i*block_i + k_i - before_i, c] =
    batch[kf*B + b, t_i, c], kf the row-major index of block position k."""
    if _prod(block) > MAX_MIRROR_BOXES:
        raise Unsupported(f"block_shape {block}: {_prod(block)} block positions "
                          f"(microdl copies up to {MAX_MIRROR_BOXES})")
    nbatch = int(space.shape[0])
    ss, bs = _row_strides(space.shape), _row_strides(batch.shape)
    steps = []
    for kf, k in enumerate(itertools.product(*[range(b) for b in block])):
        box, s_off, b_off = [nbatch], 0, kf * nbatch * bs[0]
        s_str, b_str = [ss[0]], [bs[0]]
        for i, (bi, ki, p) in enumerate(zip(block, k, before)):
            s_n, t_n = int(space.shape[1 + i]), int(batch.shape[1 + i])
            t_lo = max(0, -((ki - p) // bi))   # ceil((p - ki) / bi)
            t_hi = min(t_n - 1, (s_n - 1 + p - ki) // bi)
            box.append(t_hi - t_lo + 1)
            s_off += (t_lo * bi + ki - p) * ss[1 + i]
            b_off += t_lo * bs[1 + i]
            s_str.append(bi * ss[1 + i])
            b_str.append(bs[1 + i])
        if any(n <= 0 for n in box):
            continue
        box.append(int(space.shape[-1]))
        s_str.append(1)
        b_str.append(1)
        if to_batch:
            steps += _copy_node(op, space, batch, box, s_str, s_off, b_str, b_off)
        else:
            steps += _copy_node(op, batch, space, box, b_str, b_off, s_str, s_off)
    return steps


def _pad_value(y):
    """SPACE_TO_BATCH_ND pads quantized tensors with the output zero point, others
    with 0."""
    zp = 0
    if np.dtype(y.dtype) in QUANTIZED_DTYPES and y.quant is not None:
        zp = int(y.quant.zero_points[0])
    return np.array([zp], y.dtype)


@register("SPACE_TO_BATCH_ND")
def prepare_space_to_batch_nd(op, graph, ctx):
    """SPACE_TO_BATCH_ND(input [B, H, (W,) C], block_shape: constant int32 [M],
    paddings: constant int32 [M, 2]); the pad is 0 (the zero point for quantized
    tensors)."""
    (x, blk_t, pad_t), y = _start(op, graph, 3)
    _same_dtype(op, x, y)
    block = _const_ints(op, blk_t, "block_shape", INDEX_DTYPES)
    pads = _pairs(op, pad_t, "paddings", len(block))
    check_shape(op, y, space_to_batch_shape(op, x.shape, block, pads))
    if y.size == 0:
        return []
    steps = []
    if any(a or b for a, b in pads):
        steps.append(Node("fill_elements", dict(elem_bytes=np.dtype(y.dtype).itemsize,
                                                count=y.size), [_pad_value(y)], y.index))
    return steps + _block_boxes(op, x, y, block, [a for a, _ in pads], True)


@register("BATCH_TO_SPACE_ND")
def prepare_batch_to_space_nd(op, graph, ctx):
    """BATCH_TO_SPACE_ND(input [B*prod(block), H, (W,) C], block_shape: constant int32
    [M], crops: constant int32 [M, 2])."""
    (x, blk_t, crop_t), y = _start(op, graph, 3)
    _same_dtype(op, x, y)
    block = _const_ints(op, blk_t, "block_shape", INDEX_DTYPES)
    crops = _pairs(op, crop_t, "crops", len(block))
    check_shape(op, y, batch_to_space_shape(op, x.shape, block, crops))
    if y.size == 0:
        return []
    return _block_boxes(op, y, x, block, [a for a, _ in crops], False)


# ------------------------------------------------------------------- GATHER_ND
def gather_nd_shape(op, params_shape, idx_shape):
    """indices [..., K] into params [P_0.., P_{r-1}]: [..., P_K.., P_{r-1}]."""
    if len(idx_shape) < 1:
        raise _err(op, "indices must have rank >= 1")
    k = int(idx_shape[-1])
    if not 1 <= k <= min(len(params_shape), 6):
        raise _err(op, f"index depth {k} must lie in [1, min(params rank "
                       f"{len(params_shape)}, 6)]")
    return tuple(idx_shape[:-1]) + tuple(params_shape[k:])


@register("GATHER_ND")
def prepare_gather_nd(op, graph, ctx):
    """GATHER_ND(params, indices int32 / int64 [..., K]).  Constant
    indices are checked here (ModelError); computed ones by the kernel at invoke
    (KernelError, nothing read out of bounds)."""
    (x, idx_t), y = _start(op, graph, 2)
    _same_dtype(op, x, y)
    shape = gather_nd_shape(op, x.shape, idx_t.shape)
    check_shape(op, y, shape)
    k = int(idx_t.shape[-1])
    dims = [int(d) for d in x.shape[:k]]
    if idx_t.data is not None:
        require_dtype(idx_t, *INDEX_DTYPES)
        idx = np.asarray(idx_t.data, np.int64).reshape(-1, k)
        bad = (idx < 0) | (idx >= np.asarray(dims, np.int64))
        if bad.any():
            r = int(np.argwhere(bad)[0][0])
            raise _err(op, f"index {idx[r].tolist()} outside params shape "
                           f"{tuple(x.shape)}")
        if x.data is not None:
            data = np.asarray(x.data)
            return [Constant(y.index, np.ascontiguousarray(
                data[tuple(idx.T)].reshape(shape)))]
        idx_ref, index_bytes = np.ascontiguousarray(idx, np.int32), 4
    else:
        require_dtype(idx_t, *INDEX_DTYPES)
        idx_ref, index_bytes = idx_t.index, np.dtype(idx_t.dtype).itemsize
    if y.size == 0:
        return []
    if x.size == 0:
        raise _err(op, "gathering from an empty params tensor")
    strides = _row_strides(x.shape)[:k]
    params = dict(elem_bytes=np.dtype(x.dtype).itemsize, index_bytes=index_bytes,
                  num_indices=_prod(idx_t.shape[:-1]), index_depth=k,
                  slab=_prod(x.shape[k:]), dims=dims + [0] * (6 - k),
                  strides=strides + [0] * (6 - k))
    return [Node("gather_nd", params, [x.index, idx_ref], y.index)]


# ---------------------------------------------------------------------- RESIZE
def resize_shape(op, in_shape, size):
    """NHWC [B, H, W, C] -> [B, size[0], size[1], C]; sizes > 0."""
    if len(in_shape) != 4:
        raise _err(op, f"input must be 4-D NHWC, got {tuple(in_shape)}")
    if len(size) != 2 or size[0] <= 0 or size[1] <= 0:
        raise _err(op, f"size {size} must be two positive extents")
    return (int(in_shape[0]), size[0], size[1], int(in_shape[3]))


def _resize_flags(op):
    """(align_corners, half_pixel_centers).  RESIZE_BILINEAR refuses both (TFLite's
    reference DCHECKs it); RESIZE_NEAREST_NEIGHBOR takes both, as LiteRT does."""
    align = bool(op.options.get("align_corners", False))
    half = bool(op.options.get("half_pixel_centers", False))
    if align and half and op.name == "RESIZE_BILINEAR":
        raise _err(op, "align_corners and half_pixel_centers are both set")
    return align, half


def nearest_indices(in_size, out_size, align, half):
    """reference GetNearestNeighbor for every output position (float32 math)."""
    f = np.float32
    if align and out_size > 1:
        scale = f(in_size - 1) / f(out_size - 1)
    else:
        scale = f(in_size) / f(out_size)
    v = (np.arange(out_size, dtype=f) + f(0.5 if half else 0.0)) * scale
    if align:  # std::round: half away from zero
        v = np.sign(v) * np.floor(np.abs(v) + f(0.5))
    else:
        v = np.floor(v)
    idx = np.minimum(v.astype(np.int64), in_size - 1)
    if half:
        idx = np.maximum(idx, 0)
    return idx


def bilinear_int_tables(in_size, out_size, align, half):
    """(lower, upper, weight/1024) per output position, as ResizeBilinearInteger:
    the scale in 1/1024 steps rounded, C's truncating divisions.  Where lower ==
    upper the weight is set to 0 (the same sum, exactly)."""
    def cdiv(a, b):  # C integer division (truncation toward zero)
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b > 0) else -q
    if align and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((1 << 10) * in_size + out_size // 2) // out_size
    lo, hi, w = [], [], []
    for v in range(out_size):
        s = v * scale + cdiv(scale, 2) - (1 << 9) if half else v * scale
        a = max(cdiv(s, 1 << 10), 0)
        b = min(cdiv(s + (1 << 10) - 1, 1 << 10), in_size - 1)
        frac = s - (1 << 10) * a
        lo.append(a)
        hi.append(b)
        w.append(0 if a == b else frac)
    return lo, hi, w


def bilinear_float_tables(in_size, out_size, align, half):
    """(lower, upper, fraction) per output position, as ResizeBilinear<float>."""
    f = np.float32
    scale = f(in_size) / f(out_size)
    if align and out_size > 1:
        scale = f(in_size - 1) / f(out_size - 1)
    v = np.arange(out_size, dtype=f)
    s = (v + f(0.5)) * scale - f(0.5) if half else v * scale
    lo = np.maximum(np.floor(s).astype(np.int64), 0)
    hi = np.minimum(np.ceil(s).astype(np.int64), in_size - 1)
    return lo, hi, (s - lo.astype(f)).astype(f)


def _resize_common(op, graph):
    (x, size_t), y = _start(op, graph, 2)
    _same_dtype(op, x, y)
    size = _const_ints(op, size_t, "size", (INT32,))
    check_shape(op, y, resize_shape(op, x.shape, size))
    align, half = _resize_flags(op)
    return x, y, size, align, half


def _geometry(x, size):
    b, h, w, c = (int(d) for d in x.shape)
    return dict(batches=b, in_h=h, in_w=w, depth=c, out_h=size[0], out_w=size[1])


def _check_table(op, values, limit, what):
    v = np.asarray(values, np.int64)
    if v.size and (v.min() < 0 or v.max() >= limit):
        raise Unsupported(f"{what} source index {int(v.max())} outside [0, {limit}) "
                          f"(TFLite would read outside the input)")


@register("RESIZE_NEAREST_NEIGHBOR")
def prepare_resize_nearest(op, graph, ctx):
    """RESIZE_NEAREST_NEIGHBOR(input NHWC, size: constant int32 [2]), options
    align_corners, half_pixel_centers.  Any element type (raw values copied)."""
    x, y, size, align, half = _resize_common(op, graph)
    if x.size == 0 or y.size == 0:
        return []
    geo = _geometry(x, size)
    rows = nearest_indices(geo["in_h"], size[0], align, half)
    cols = nearest_indices(geo["in_w"], size[1], align, half)
    table = np.concatenate([rows, cols]).astype(np.int32)
    params = dict(elem_bytes=np.dtype(x.dtype).itemsize, **geo)
    return [Node("resize_nearest", params, [x.index, table], y.index)]


@register("RESIZE_BILINEAR")
def prepare_resize_bilinear(op, graph, ctx):
    """RESIZE_BILINEAR(input NHWC int8 / int16 / float32, size: constant int32 [2]),
    options align_corners, half_pixel_centers.  int8 / int16: LiteRT's
    ResizeBilinearInteger (weights in 1/1024 steps, double rounding); float32: the float reference.  Output quantization is not used (raw
    values are interpolated, as LiteRT does)."""
    x, y, size, align, half = _resize_common(op, graph)
    require_dtype(x, INT8, INT16, FLOAT32)
    if x.size == 0 or y.size == 0:
        return []
    geo = _geometry(x, size)
    kind = RESIZE_KINDS[np.dtype(x.dtype)]
    if kind == RESIZE_KINDS[FLOAT32]:
        ty, tx = (bilinear_float_tables(geo["in_h"], size[0], align, half),
                  bilinear_float_tables(geo["in_w"], size[1], align, half))
        weights = np.concatenate([ty[2], tx[2]]).astype(np.float32)
    else:
        ty, tx = (bilinear_int_tables(geo["in_h"], size[0], align, half),
                  bilinear_int_tables(geo["in_w"], size[1], align, half))
        weights = np.asarray(list(ty[2]) + list(tx[2]), np.int32)
    for t, n, what in ((ty, geo["in_h"], "row"), (tx, geo["in_w"], "column")):
        _check_table(op, t[0], n, what)
        _check_table(op, t[1], n, what)
    index = np.concatenate([np.asarray(ty[0]), np.asarray(ty[1]), np.asarray(tx[0]),
                            np.asarray(tx[1])]).astype(np.int32)
    # LiteRT 2.3's wheel (whose requantizing FULLY_CONNECTED is single-rounding) and
    # TFLite Micro both divide by 2^20 as the double-rounding source does (measured:
    # tests/test_ops11a.py); MDL_ROUNDING_SINGLE is kept for TFLITE_SINGLE_ROUNDING.
    params = dict(kind=kind, rounding=ROUNDING_DOUBLE, **geo)
    return [Node("resize_bilinear", params, [x.index, index, weights], y.index)]
