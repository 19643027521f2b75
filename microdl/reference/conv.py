"""Numpy reference for CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV on quantized
integers: what the ops compute, written for clarity (test oracle).

Layouts: activations NHWC; CONV_2D / TRANSPOSE_CONV filters OHWI
[out_c, kh, kw, in_c / groups]; DEPTHWISE_CONV_2D filters [1, kh, kw, out_c].
Arithmetic follows TFLite's reference kernels
(tensorflow/lite/kernels/internal/reference/integer_ops/conv.h, depthwise_conv.h,
transpose_conv.h; padding from tensorflow/lite/kernels/padding.h; multipliers from
kernel_util.cc PopulateConvolutionQuantizationParams; the int64 requantization from
kernels/internal/common.cc).
"""
from __future__ import annotations

import numpy as np

from microdl.core.shapes import window
from microdl.core.fixedpoint import (ROUNDING_SINGLE, quantize_multiplier, requantize_r,
                                      wrap_int32)

SAME, VALID = "SAME", "VALID"


def multipliers(input_scale, weight_scales, output_scale, n):
    """Per-output-channel (multiplier, shift) int64 arrays: double(input_scale) *
    double(weight_scale) / double(output_scale), a per-tensor scale broadcast to n."""
    ws = np.broadcast_to(np.asarray(weight_scales, np.float32).ravel(), (n,))
    pairs = [quantize_multiplier(np.float64(np.float32(input_scale)) * np.float64(s) /
                                 np.float64(np.float32(output_scale))) for s in ws]
    return (np.array([m for m, _ in pairs], np.int64),
            np.array([s for _, s in pairs], np.int64))


def requantize64(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplier(int64 x, ...): the multiplier is rounded to
    16 bits first, then one rounding shift; the result is truncated to int32."""
    m = np.asarray(multiplier, np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    total = 15 - np.asarray(shift, np.int64)
    r = (np.asarray(x, np.int64) * reduced + (np.int64(1) << (total - 1))) >> total
    return wrap_int32(r)


def _finish(acc, mult, shift, out_zp, act, dtype, rounding, acc64):
    """Bias-added accumulators -> clamped output integers."""
    if acc64:
        v = requantize64(acc, mult, shift)
    else:
        v = requantize_r(wrap_int32(acc), mult, shift, rounding)
    v = v + out_zp
    lo, hi = act if act is not None else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    return np.clip(v, lo, hi).astype(dtype)


def conv2d(x, w, bias, *, input_zp, output_zp, mult, shift, stride=(1, 1),
           dilation=(1, 1), padding=SAME, act=None, rounding=ROUNDING_SINGLE,
           acc64=False, out_dtype=np.int8):
    """CONV_2D.  x [N,H,W,C] ints, w [O,KH,KW,C/groups], bias [O] or None;
    mult/shift per output channel; act = (act_min, act_max) or None.
    acc64: int64 accumulator and requantize64 (16x8 with int64 bias); otherwise the
    accumulator wraps to int32 and requantize_r(rounding) is used."""
    n, h, wd, c = x.shape
    o, kh, kw, fc = w.shape
    groups = c // fc
    sh, sw = stride
    dh, dw = dilation
    (oh, ph, _), (ow, pw, _) = window(padding, h, kh, sh, dh), window(padding, wd, kw, sw, dw)
    # Taps outside the input are skipped: zero-pad the offset input.
    xo = x.astype(np.int64) - input_zp
    big_h = max(ph + h, (oh - 1) * sh + (kh - 1) * dh + 1)
    big_w = max(pw + wd, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = np.zeros((n, big_h, big_w, c), np.int64)
    xp[:, ph:ph + h, pw:pw + wd, :] = xo
    acc = np.zeros((n, oh, ow, o), np.int64)
    per_group = o // groups
    w64 = w.astype(np.int64)
    for fy in range(kh):
        for fx in range(kw):
            patch = xp[:, fy * dh:fy * dh + (oh - 1) * sh + 1:sh,
                       fx * dw:fx * dw + (ow - 1) * sw + 1:sw, :]
            for g in range(groups):
                cs = slice(g * fc, (g + 1) * fc)
                os_ = slice(g * per_group, (g + 1) * per_group)
                acc[..., os_] += patch[..., cs] @ w64[os_, fy, fx, :].T
    if bias is not None:
        acc += np.asarray(bias, np.int64)
    return _finish(acc, mult, shift, output_zp, act, out_dtype, rounding, acc64)


def depthwise_conv2d(x, w, bias, *, input_zp, output_zp, mult, shift, stride=(1, 1),
                     dilation=(1, 1), padding=SAME, act=None, rounding=ROUNDING_SINGLE,
                     out_dtype=np.int8):
    """DEPTHWISE_CONV_2D.  x [N,H,W,C], w [1,KH,KW,C*M]: output channel c*M + m is input
    channel c filtered by w[0, :, :, c*M + m]."""
    n, h, wd, c = x.shape
    _, kh, kw, o = w.shape
    m = o // c
    xr = np.repeat(x, m, axis=3)  # channel c*M + m holds input channel c
    sh, sw = stride
    dh, dw = dilation
    (oh, ph, _), (ow, pw, _) = window(padding, h, kh, sh, dh), window(padding, wd, kw, sw, dw)
    # Taps outside the input are skipped: zero-pad the offset input.
    big_h = max(ph + h, (oh - 1) * sh + (kh - 1) * dh + 1)
    big_w = max(pw + wd, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = np.zeros((n, big_h, big_w, o), np.int64)
    xp[:, ph:ph + h, pw:pw + wd, :] = xr.astype(np.int64) - input_zp
    acc = np.zeros((n, oh, ow, o), np.int64)
    w64 = w.astype(np.int64)
    for fy in range(kh):
        for fx in range(kw):
            patch = xp[:, fy * dh:fy * dh + (oh - 1) * sh + 1:sh,
                       fx * dw:fx * dw + (ow - 1) * sw + 1:sw, :]
            acc += patch * w64[0, fy, fx, :]
    if bias is not None:
        acc += np.asarray(bias, np.int64)
    return _finish(acc, mult, shift, output_zp, act, out_dtype, rounding, False)


def transpose_conv2d(x, w, bias, output_shape, *, input_zp, output_zp, mult, shift,
                     stride=(1, 1), padding=SAME, act=None, rounding=ROUNDING_SINGLE,
                     acc64=False, out_dtype=np.int8):
    """TRANSPOSE_CONV.  x [N,H,W,C], w [O,KH,KW,C], output_shape (N, OH, OW, O).
    Input pixel (iy, ix) adds x * w[o, fy, fx, :] at output (iy*sh - ph + fy,
    ix*sw - pw + fx); contributions falling outside the output are dropped.  The padding
    is that of a convolution from the output size back to the input
    (ComputePaddingHeightWidth on the output size, dilation 1)."""
    n, h, wd, c = x.shape
    o, kh, kw, _ = w.shape
    _, oh, ow, _ = output_shape
    sh, sw = stride
    ph, pw = window(padding, oh, kh, sh)[1], window(padding, ow, kw, sw)[1]
    full = np.zeros((n, (h - 1) * sh + kh, (wd - 1) * sw + kw, o), np.int64)
    xo = x.astype(np.int64) - input_zp
    w64 = w.astype(np.int64)
    for fy in range(kh):
        for fx in range(kw):
            full[:, fy:fy + (h - 1) * sh + 1:sh, fx:fx + (wd - 1) * sw + 1:sw, :] += \
                xo @ w64[:, fy, fx, :].T
    acc = np.zeros((n, oh, ow, o), np.int64)
    # Output row r is full row r + ph (when it exists).
    r0, r1 = ph, min(ph + oh, full.shape[1])
    c0, c1 = pw, min(pw + ow, full.shape[2])
    if r1 > r0 and c1 > c0:
        acc[:, :r1 - r0, :c1 - c0, :] = full[:, r0:r1, c0:c1, :]
    if bias is not None:
        acc += np.asarray(bias, np.int64)
    return _finish(acc, mult, shift, output_zp, act, out_dtype, rounding, acc64)
