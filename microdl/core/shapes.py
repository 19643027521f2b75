"""Shape formulas of TFLite's windowed ops (CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV,
AVERAGE/MAX_POOL_2D), one copy for the runtime, the float executor, the numpy
references and the trainer.

Source: tensorflow/lite/kernels/padding.h, ComputeOutSize and
ComputePaddingWithOffset, with C integer division (truncation toward zero).
"""
from __future__ import annotations

from microdl.core.errors import ModelError

PADDING_SAME, PADDING_VALID = 0, 1  # the tflite schema's Padding enum
_NAMES = {"SAME": PADDING_SAME, "VALID": PADDING_VALID}


def padding_code(padding) -> int:
    """0 (SAME) or 1 (VALID) from the schema enum or its name in any case.

    Raises:
        ModelError: any other value."""
    if isinstance(padding, str):
        code = _NAMES.get(padding.upper())
    else:
        code = int(padding) if padding in (PADDING_SAME, PADDING_VALID) else None
    if code is None:
        raise ModelError(f"padding type {padding!r} (expected SAME or VALID)")
    return code


def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def out_size(padding, in_size: int, filter_size: int, stride: int,
             dilation: int = 1) -> int:
    """Output length along one axis (ComputeOutSize): SAME ceil(in / stride), VALID
    (in + stride - effective_filter) / stride in C division, effective_filter =
    (filter - 1) * dilation + 1.  May be <= 0 for a VALID window larger than the
    input: callers reject that.

    Raises:
        ModelError: stride or dilation below 1, or an unknown padding."""
    if stride < 1 or dilation < 1:
        raise ModelError(f"stride {stride} and dilation {dilation} must be >= 1")
    eff = (filter_size - 1) * dilation + 1
    if padding_code(padding) == PADDING_SAME:
        return _c_div(in_size + stride - 1, stride)
    return _c_div(in_size + stride - eff, stride)


def window(padding, in_size: int, filter_size: int, stride: int, dilation: int = 1):
    """(output length, padding before, padding after) along one axis: TFLite's
    ComputePaddingWithOffset puts total // 2 before and the rest (the odd element
    is its `offset`) after, total = max((out - 1) * stride + effective_filter - in, 0).
    For TRANSPOSE_CONV pass the output length as `in_size` (TFLite computes its
    padding on the forward convolution).

    Raises:
        ModelError: as out_size."""
    out = out_size(padding, in_size, filter_size, stride, dilation)
    eff = (filter_size - 1) * dilation + 1
    total = max((out - 1) * stride + eff - in_size, 0)
    return out, total // 2, total - total // 2
