"""Reference AVERAGE_POOL_2D, MAX_POOL_2D and MEAN on quantized int8 / int16 arrays.

Plain integer NumPy following TFLite:
- pooling: tensorflow/lite/kernels/pooling.cc, padding.h and
  kernels/internal/reference/integer_ops/pooling.h (NHWC; windows clipped to the
  input; average rounded (sum +- count/2) / count with truncating division);
- MEAN: kernels/reduce.cc and kernels/internal/reference/reduce.h QuantizedMeanOrSum
  (LiteRT 2.3 and TFLite Micro both requantize it with double rounding).
"""
from __future__ import annotations

import numpy as np

from microdl.core.fixedpoint import (ROUNDING_DOUBLE, quantize_multiplier,
                                      requantize_r, wrap_int32)


def pool_output_and_padding(in_size, filter_size, stride, padding):
    """(output size, padding before) along one axis; padding "SAME" or "VALID"."""
    if padding == "SAME":
        out = -(-in_size // stride)
    else:
        out = (in_size - filter_size) // stride + 1
    total = max((out - 1) * stride + filter_size - in_size, 0)
    return out, total // 2


def _windows(in_size, filter_size, stride, padding):
    out, pad = pool_output_and_padding(in_size, filter_size, stride, padding)
    for o in range(out):
        start = o * stride - pad
        yield o, max(start, 0), min(start + filter_size, in_size)


def _trunc_div(a, b):
    """C integer division (rounds toward zero)."""
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


def _pool(x, filter_hw, stride_hw, padding, act_min, act_max, window_value):
    """Apply window_value(window [N, h, w, C] int64) -> [N, C] over every clipped
    window of x [N, H, W, C], then clamp to [act_min, act_max] (default: the dtype)."""
    x = np.asarray(x)
    n, h, w, c = x.shape
    oh, _ = pool_output_and_padding(h, filter_hw[0], stride_hw[0], padding)
    ow, _ = pool_output_and_padding(w, filter_hw[1], stride_hw[1], padding)
    out = np.zeros((n, oh, ow, c), np.int64)
    for oy, y0, y1 in _windows(h, filter_hw[0], stride_hw[0], padding):
        for ox, x0, x1 in _windows(w, filter_hw[1], stride_hw[1], padding):
            out[:, oy, ox, :] = window_value(x[:, y0:y1, x0:x1, :].astype(np.int64))
    info = np.iinfo(x.dtype)
    lo = info.min if act_min is None else act_min
    hi = info.max if act_max is None else act_max
    return np.clip(out, lo, hi).astype(x.dtype)


def average_pool(x, filter_hw, stride_hw, padding, act_min=None, act_max=None):
    """x [N, H, W, C] int8/int16 -> [N, out_h, out_w, C]: mean of each clipped window,
    rounded to nearest with ties away from zero, then clamped."""
    def rounded_mean(win):
        total = win.sum(axis=(1, 2))
        count = win.shape[1] * win.shape[2]
        return np.where(total > 0, _trunc_div(total + count // 2, count),
                        _trunc_div(total - count // 2, count))

    return _pool(x, filter_hw, stride_hw, padding, act_min, act_max, rounded_mean)


def max_pool(x, filter_hw, stride_hw, padding, act_min=None, act_max=None):
    """x [N, H, W, C] int8/int16 -> [N, out_h, out_w, C]: maximum of each clipped
    window, then clamped."""
    return _pool(x, filter_hw, stride_hw, padding, act_min, act_max,
                 lambda win: win.max(axis=(1, 2)))


def mean(x, axes, keep_dims, in_scale, in_zp, out_scale, out_zp,
         rounding=ROUNDING_DOUBLE):
    """Quantized mean of x over `axes` (negative and repeated axes allowed).

    TFLite's QuantizedMeanOrSum: int32 sum over the axes, minus in_zp * count,
    requantized by QuantizeMultiplier(in_scale / out_scale) with 1/count folded in as
    (multiplier << k) // count and shift - k, k = min(floor(log2 count), 32, 31 + shift),
    plus out_zp, clamped to the dtype range."""
    x = np.asarray(x)
    axes = tuple(sorted({int(a) % x.ndim for a in np.asarray(axes).ravel()}))
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = wrap_int32(x.astype(np.int64).sum(axis=axes, keepdims=bool(keep_dims)))
    real = float(np.float32(in_scale)) / float(np.float32(out_scale))
    m, shift = quantize_multiplier(real)
    k = min(count.bit_length() - 1, 32, 31 + shift)
    m, shift = (m << k) // count, shift - k
    shifted = wrap_int32(total - in_zp * count)
    out = requantize_r(shifted, m, shift, rounding) + out_zp
    info = np.iinfo(x.dtype)
    return np.clip(out, info.min, info.max).astype(x.dtype).reshape(np.shape(total))
