"""SVDF, integer form: int8 input, int8 feature weights, int16 (or, as TFLite Micro
also runs, int8) state and time weights, int32 bias, int8 output.

Follows LiteRT's tflite/kernels/svdf.cc (Prepare, Eval) with
kernels/internal/reference/svdf.h EvalIntegerSVDF, and TFLite Micro's
kernels/svdf_common.cc (PrepareSvdf, EvalIntegerSvdfReference); the C kernel is
cext/src/svdf_s8.c, the numpy reference microdl/reference/svdf.py.
"""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import ROUNDING_DOUBLE, quantize_multiplier
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (ACT_NONE, ACT_RELU, INT8, INT16, INT32,
                                        per_tensor_quant, require_constant,
                                        require_dtype, require_io_count, tensor_at)

# TFLite Micro's Prepare requires |bias_scale - state_scale * time_scale| < 1e-5.
BIAS_SCALE_TOLERANCE = 1e-5


def svdf_effective_scales(in_scale, feature_scale, state_scale, time_scale, out_scale,
                          float64=False):
    """The two real multipliers of the integer SVDF:
    scale 1 = input * feature / state (the feature sums -> the state),
    scale 2 = state * time / output (the time sums -> the output).
    float64=False: multiplied and divided in float32, then widened to double, as TFLite
    Micro's svdf_common.cc and the LiteRT 2.3 pip wheel (measured:
    tests/test_svdf.py, a model where the two differ by one in the state); True: the
    float32 scales widened first and the quotient taken in double, as LiteRT's svdf.cc
    source has since then."""
    s = [np.float32(v) for v in (in_scale, feature_scale, state_scale, time_scale,
                                 out_scale)]
    if float64:
        d = [float(v) for v in s]
        return d[0] * d[1] / d[2], d[2] * d[3] / d[4]
    return float(s[0] * s[1] / s[2]), float(s[2] * s[3] / s[4])


def _shape2(op, t, what):
    if len(t.shape) != 2:
        raise ModelError(f"op {op.index} ({op.name}): {what} (tensor {t.index}) must be "
                         f"2-D, got shape {tuple(t.shape)}")
    return int(t.shape[0]), int(t.shape[1])


def _symmetric(op, t, what):
    scale, zp = per_tensor_quant(t)
    if zp != 0:
        raise Unsupported(f"{what} (tensor {t.index}) has zero point {zp}; the integer "
                          f"SVDF needs symmetric weights (zero point 0)")
    return scale


@register("SVDF")
def prepare_svdf(op, graph, ctx):
    """Inputs: input [batch, input_size] int8; feature weights [num_filters,
    input_size] int8 (constant, symmetric); time weights [num_filters, memory_size]
    int16 or int8 (constant, symmetric); bias [num_units] int32 (constant, optional,
    scale state_scale * time_scale); state [batch, num_filters * memory_size] of the
    time weights' dtype, a variable tensor (int16: zero point 0; int8: any zero point,
    TFLite Micro's 8-bit form).  Output [batch, num_units] int8, num_units =
    num_filters / rank.  Options: rank >= 1, fused activation NONE or RELU.

    Each invoke shifts the state left by one entry per filter, writes the newest
    feature sum into each filter's last entry (requantized with scale 1 to the state
    dtype), and requantizes bias + the rank-sum of the time products with scale 2 (see
    svdf_effective_scales; requantization with double rounding, as both LiteRT's
    wheels and TFLite Micro).  Like both runtimes, the integer kernel applies no fused
    activation: the output is clamped to int8 only (LiteRT requires RELU, TFLite Micro
    ignores it).  The state persists in the arena between invokes and is reset by
    Interpreter.reset_all_variables().

    Raises Unsupported for float / hybrid SVDF, other dtypes, per-channel scales,
    asymmetric weights, other activations, an int16 state with a zero point; ModelError
    for inconsistent shapes, a state that is not a variable tensor, a bias scale other
    than state_scale * time_scale, or a multiplier QuantizeMultiplier cannot hold."""
    if op.version > 4:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 5, 1)
    x = tensor_at(graph, op, 0)
    wf = tensor_at(graph, op, 1)
    wt = tensor_at(graph, op, 2)
    bias = tensor_at(graph, op, 3, optional=True)
    state = tensor_at(graph, op, 4)
    y = tensor_at(graph, op, 0, "output")
    for t in (x, wf, y):
        require_dtype(t, INT8)
    require_dtype(wt, INT16, INT8)
    require_dtype(state, INT16, INT8)
    if np.dtype(state.dtype) != np.dtype(wt.dtype):
        raise Unsupported(f"state (tensor {state.index}) is {np.dtype(state.dtype).name} "
                          f"but the time weights (tensor {wt.index}) are "
                          f"{np.dtype(wt.dtype).name}; both must be int16 or both int8")
    require_constant(op, wf, "feature weights")
    require_constant(op, wt, "time weights")
    rank = int(op.options.get("rank", 0))
    act = int(op.options.get("fused_activation_function", ACT_NONE))
    if act not in (ACT_NONE, ACT_RELU):
        raise Unsupported(f"fused activation {act}: the integer SVDF runs NONE or RELU")
    batch, input_size = _shape2(op, x, "input")
    num_filters, wf_cols = _shape2(op, wf, "feature weights")
    wt_rows, memory_size = _shape2(op, wt, "time weights")
    if rank < 1:
        raise ModelError(f"op {op.index} ({op.name}): rank {rank} must be >= 1")
    if num_filters == 0 or num_filters % rank:
        raise ModelError(f"op {op.index} ({op.name}): {num_filters} filters are not a "
                         f"positive multiple of rank {rank}")
    num_units = num_filters // rank
    if wf_cols != input_size:
        raise ModelError(f"op {op.index} ({op.name}): feature weights have {wf_cols} "
                         f"columns, the input {input_size} features")
    if wt_rows != num_filters:
        raise ModelError(f"op {op.index} ({op.name}): time weights have {wt_rows} rows, "
                         f"expected the {num_filters} filters")
    if memory_size < 1:
        raise ModelError(f"op {op.index} ({op.name}): memory size {memory_size} must be "
                         f">= 1")
    if batch < 1 or input_size < 1:
        raise ModelError(f"op {op.index} ({op.name}): input shape {tuple(x.shape)} is "
                         f"empty")
    if tuple(state.shape) != (batch, num_filters * memory_size):
        raise ModelError(f"op {op.index} ({op.name}): state (tensor {state.index}) has "
                         f"shape {tuple(state.shape)}, expected "
                         f"{(batch, num_filters * memory_size)}")
    if not state.is_variable or state.data is not None:
        raise ModelError(f"op {op.index} ({op.name}): state (tensor {state.index}) must "
                         f"be a variable tensor without data")
    if state.index in (x.index, y.index):
        raise ModelError(f"op {op.index} ({op.name}): state (tensor {state.index}) is "
                         f"also the op's input or output")
    if tuple(y.shape) != (batch, num_units):
        raise ModelError(f"op {op.index} ({op.name}): output tensor {y.index} has shape "
                         f"{tuple(y.shape)}, the op computes {(batch, num_units)}")
    in_scale, in_zp = per_tensor_quant(x)
    out_scale, out_zp = per_tensor_quant(y)
    wf_scale = _symmetric(op, wf, "feature weights")
    wt_scale = _symmetric(op, wt, "time weights")
    state_scale, state_zp = per_tensor_quant(state)
    if np.dtype(state.dtype) == INT16 and state_zp != 0:
        raise Unsupported(f"int16 state (tensor {state.index}) has zero point "
                          f"{state_zp}; TFLite's int16 state is symmetric (zero point 0)")
    if bias is not None:
        require_dtype(bias, INT32)
        require_constant(op, bias, "bias")
        if tuple(bias.shape) != (num_units,):
            raise ModelError(f"op {op.index} ({op.name}): bias (tensor {bias.index}) has "
                             f"shape {tuple(bias.shape)}, expected {(num_units,)}")
        if bias.quant is not None and bias.quant.scales.size:
            b_scale = float(bias.quant.scales[0])
            want = float(np.float32(state_scale) * np.float32(wt_scale))
            if not abs(b_scale - want) < BIAS_SCALE_TOLERANCE:
                raise ModelError(f"op {op.index} ({op.name}): bias (tensor {bias.index}) "
                                 f"scale {b_scale} is not state scale x time scale "
                                 f"{want}")
    s1, s2 = svdf_effective_scales(in_scale, wf_scale, state_scale, wt_scale, out_scale,
                                   float64=False)
    try:
        m1, sh1 = quantize_multiplier(s1)
        m2, sh2 = quantize_multiplier(s2)
    except ValueError as e:
        raise ModelError(f"op {op.index} ({op.name}): {e}") from None
    # Fold the input zero point into a per-filter constant (symmetric weights):
    # sum_i w[f, i] * (x[i] - zp) = sum_i w[f, i] * x[i] - zp * sum_i w[f, i].
    row_sums = wf.data.astype(np.int64).reshape(num_filters, input_size).sum(axis=1)
    feature_bias = -in_zp * row_sums
    feature_bias = ((feature_bias + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)
    params = dict(batches=batch, input_size=input_size, num_filters=num_filters,
                  rank=rank, memory_size=memory_size,
                  state_bytes=np.dtype(state.dtype).itemsize, input_offset=-in_zp,
                  state_zero_point=state_zp, output_offset=out_zp,
                  feature_multiplier=m1, feature_shift=sh1, time_multiplier=m2,
                  time_shift=sh2, rounding=ROUNDING_DOUBLE)
    return [Node("svdf_s8", params,
                 [x.index, wf.index, wt.index, None if bias is None else bias.index,
                  state.index, feature_bias], y.index)]
