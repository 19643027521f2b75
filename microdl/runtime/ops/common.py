"""Helpers shared by prepare functions: dtype and quantization checks, fused
activation ranges and padding, each following the TFLite reference implementation
(tensorflow/lite/kernels/kernel_util.cc, padding.h)."""
from __future__ import annotations

import numpy as np

from microdl.core.fixedpoint import round_half_away
from microdl.core.errors import ModelError
from microdl.runtime.ops import Unsupported

INT8 = np.dtype(np.int8)
INT16 = np.dtype(np.int16)
INT32 = np.dtype(np.int32)
INT64 = np.dtype(np.int64)
UINT8 = np.dtype(np.uint8)
FLOAT32 = np.dtype(np.float32)

# tflite ActivationFunctionType
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6, ACT_TANH, ACT_SIGN_BIT = range(6)
# tflite Padding

_QRANGE = {INT8: (-128, 127), INT16: (-32768, 32767), UINT8: (0, 255)}


def qrange(dtype):
    """(min, max) of a quantized integer dtype."""
    return _QRANGE[np.dtype(dtype)]


def tensor_at(graph, op, k, what="input", optional=False):
    """The op's k-th input (what="input") or output tensor; None for an omitted
    optional input.  Raises ModelError if the op has fewer."""
    lst = op.inputs if what == "input" else op.outputs
    if k >= len(lst) or lst[k] < 0:
        if optional:
            return None
        raise ModelError(f"op {op.index} ({op.name}): missing {what} {k}")
    return graph.tensors[lst[k]]


def require_io_count(op, n_in, n_out, max_in=None):
    """Check the number of inputs (n_in..max_in) and outputs."""
    max_in = n_in if max_in is None else max_in
    if not n_in <= len(op.inputs) <= max_in:
        raise ModelError(f"op {op.index} ({op.name}): {len(op.inputs)} inputs, "
                         f"expected {n_in}" + (f"..{max_in}" if max_in != n_in else ""))
    if len(op.outputs) != n_out:
        raise ModelError(f"op {op.index} ({op.name}): {len(op.outputs)} outputs, "
                         f"expected {n_out}")


def require_dtype(t, *dtypes):
    """Unsupported unless tensor t has one of `dtypes`."""
    if t.dtype is None or np.dtype(t.dtype) not in [np.dtype(d) for d in dtypes]:
        got = "unknown" if t.dtype is None else np.dtype(t.dtype).name
        want = "/".join(np.dtype(d).name for d in dtypes)
        raise Unsupported(f"tensor {t.index} ({t.name!r}) is {got}, expected {want}")


def require_constant(op, t, what):
    if t.data is None:
        raise Unsupported(f"{what} (tensor {t.index}) must be a constant")


def per_tensor_quant(t, require_zero_point=None):
    """(scale, zero_point) of a per-tensor quantized tensor.

    Raises ModelError when the tensor has no quantization or a non-positive scale,
    Unsupported when it is per-channel."""
    q = t.quant
    if q is None:
        raise ModelError(f"tensor {t.index} ({t.name!r}) is {np.dtype(t.dtype).name} "
                         f"but has no quantization parameters")
    if q.scales.size != 1:
        raise Unsupported(f"tensor {t.index} ({t.name!r}) is per-channel quantized; "
                          f"this op needs a per-tensor scale")
    scale, zp = float(q.scales[0]), int(q.zero_points[0])
    if not scale > 0:
        raise ModelError(f"tensor {t.index} ({t.name!r}): scale {scale} must be > 0")
    lo, hi = _QRANGE.get(np.dtype(t.dtype), (-(1 << 31), (1 << 31) - 1))
    if not lo <= zp <= hi:
        raise ModelError(f"tensor {t.index} ({t.name!r}): zero point {zp} outside "
                         f"[{lo}, {hi}]")
    if require_zero_point is not None and zp != require_zero_point:
        raise Unsupported(f"tensor {t.index} ({t.name!r}) zero point {zp}, expected "
                          f"{require_zero_point}")
    return scale, zp


def channel_scales(t, n_channels, axis):
    """Per-channel scales of a weight tensor as float32[n_channels] (a per-tensor
    scale is broadcast).  Zero points must be 0 (symmetric weights)."""
    q = t.quant
    if q is None:
        raise ModelError(f"weights tensor {t.index} ({t.name!r}) has no quantization")
    if np.any(q.zero_points != 0):
        raise Unsupported(f"weights tensor {t.index} ({t.name!r}) has non-zero zero "
                          f"points; the int8 spec requires symmetric weights")
    if q.scales.size == 1:
        scales = np.full(n_channels, q.scales[0], np.float32)
    else:
        if q.scales.size != n_channels or q.quantized_dimension != axis:
            raise ModelError(f"weights tensor {t.index} ({t.name!r}): "
                             f"{q.scales.size} scales along dimension "
                             f"{q.quantized_dimension}, expected {n_channels} along "
                             f"{axis}")
        scales = q.scales.astype(np.float32)
    if not np.all(scales > 0):
        raise ModelError(f"weights tensor {t.index} ({t.name!r}): scales must be > 0")
    return scales


def activation_range(act, out):
    """(act_min, act_max) in output quantized units for a fused activation
    (TFLite CalculateActivationRangeQuantized; f / scale in float32, std::round)."""
    lo, hi = qrange(out.dtype)
    scale, zp = per_tensor_quant(out)

    def quantize(f):
        return zp + int(round_half_away(np.float32(f) / np.float32(scale)))

    if act == ACT_NONE:
        return lo, hi
    if act == ACT_RELU:
        return max(lo, quantize(0.0)), hi
    if act == ACT_RELU6:
        return max(lo, quantize(0.0)), min(hi, quantize(6.0))
    if act == ACT_RELU_N1_TO_1:
        return max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    raise Unsupported(f"fused activation {act} is not supported on quantized ops")


def check_shape(op, t, expected):
    """ModelError unless tensor t's stored shape equals the computed `expected`."""
    if tuple(t.shape) != tuple(int(d) for d in expected):
        raise ModelError(f"op {op.index} ({op.name}): output tensor {t.index} "
                         f"({t.name!r}) has shape {tuple(t.shape)}, the op computes "
                         f"{tuple(int(d) for d in expected)}")
