"""Float32 reference operators in plain numpy: what each TFLite builtin op computes on
real numbers.  This is "the float reference" the converter calibrates on and measures
its int8 models against (microdl.floatexec.executor.FloatExecutor runs whole graphs
with it).

Conventions (TFLite's):

- activations are NHWC: [batch, height, width, channels];
- CONV_2D / TRANSPOSE_CONV filters are OHWI [out_c, kh, kw, in_c];
  DEPTHWISE_CONV_2D filters are 1HWO [1, kh, kw, in_c * depth_multiplier], output
  channel ``c * depth_multiplier + m`` reading input channel ``c``;
  FULLY_CONNECTED weights are OI [out_features, in_features];
- padding codes SAME = 0 / VALID = 1 and the output size / padding-before formulas of
  tensorflow/lite/kernels/padding.h (microdl.runtime.ops.common.out_size /
  pad_before); padded positions hold 0 and pooling windows only count in-bounds
  elements;
- fused activation codes NONE = 0, RELU = 1, RELU_N1_TO_1 = 2, RELU6 = 3, TANH = 4
  (SIGN_BIT = 5 is rejected).

Arithmetic: every function takes and returns float32 arrays and accumulates in
float32 (numpy / BLAS sgemm; the summation order differs from TFLite's loops, so
results agree with LiteRT's float kernels to float32 rounding, not bit for bit).
Only QUANTIZE / DEQUANTIZE use the exact formulas of LiteRT's kernels (float32
division, round half away from zero; double multiply), since their results are
integers or exact products.

Where LiteRT 2.3 differs from the schema's meaning (measured on its BUILTIN_REF
kernels): a fused TANH is ignored (no clamp, no tanh) by the float CONV_2D,
DEPTHWISE_CONV_2D, ADD, SUB, MUL and pooling kernels and refused by FULLY_CONNECTED;
CONCATENATION refuses any fused activation.  Here a fused activation always means
"apply it to the op's result", the same as an explicit activation op after it.

Semantics sources: tensorflow/lite/kernels/internal/reference/{conv,depthwise_conv,
fully_connected,transpose_conv,pooling,softmax,logistic,hard_swish,
dequantize,quantize}.h and kernels/{reduce,reshape,squeeze,expand_dims,pad,
concatenation,strided_slice,shape,pack,transpose}.cc (read for the facts only).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from microdl.core import dataops as _data
from microdl.core.fixedpoint import round_half_away
from microdl.core.shapes import window

F32 = np.float32

ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6, ACT_TANH = range(5)
ACTIVATION_NAMES = {ACT_NONE: "NONE", ACT_RELU: "RELU", ACT_RELU_N1_TO_1: "RELU_N1_TO_1",
                    ACT_RELU6: "RELU6", ACT_TANH: "TANH"}


# ------------------------------------------------------------------ activations
def relu(x):
    """max(x, 0)."""
    return np.maximum(x, F32(0)).astype(F32, copy=False)


def relu6(x):
    """min(max(x, 0), 6)."""
    return np.clip(x, F32(0), F32(6)).astype(F32, copy=False)


def relu_n1_to_1(x):
    """min(max(x, -1), 1)."""
    return np.clip(x, F32(-1), F32(1)).astype(F32, copy=False)


def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(x).astype(F32, copy=False)


def logistic(x):
    """Sigmoid 1 / (1 + exp(-x)), evaluated as exp(x) / (1 + exp(x)) for x < 0 so
    that no exp overflows."""
    x = np.asarray(x, F32)
    e = np.exp(-np.abs(x))  # in (0, 1]
    return np.where(x >= 0, F32(1) / (F32(1) + e), e / (F32(1) + e)).astype(F32)


def hard_swish(x):
    """x * relu6(x + 3) / 6 (TFLite reference: the product first, then / 6)."""
    x = np.asarray(x, F32)
    return (x * np.clip(x + F32(3), F32(0), F32(6)) / F32(6)).astype(F32)


def leaky_relu(x, alpha):
    """x for x > 0, alpha * x otherwise."""
    x = np.asarray(x, F32)
    return np.where(x > 0, x, x * F32(alpha)).astype(F32)


def softmax(x, beta=1.0):
    """Softmax over the last axis: exp(beta * (x - max)) / sum(exp(beta * (x - max)))."""
    x = np.asarray(x, F32)
    e = np.exp((x - np.max(x, axis=-1, keepdims=True)) * F32(beta))
    return (e / np.sum(e, axis=-1, keepdims=True)).astype(F32)


_FUSED = {ACT_NONE: lambda x: x, ACT_RELU: relu, ACT_RELU_N1_TO_1: relu_n1_to_1,
          ACT_RELU6: relu6, ACT_TANH: tanh}


def fused_activation(x, act):
    """Apply a fused activation code (0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6, 4 TANH).

    Works on float32 and, for the clamping codes, on integer arrays (int32 ADD etc.)."""
    if act not in _FUSED:
        raise ValueError(f"fused activation {act} is not supported (0..4: "
                         f"{', '.join(ACTIVATION_NAMES.values())})")
    if act == ACT_NONE:
        return x
    if x.dtype != F32:
        if act == ACT_TANH:
            raise ValueError("a fused TANH needs float32 values")
        lo, hi = {ACT_RELU: (0, None), ACT_RELU6: (0, 6), ACT_RELU_N1_TO_1: (-1, 1)}[act]
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)
    return _FUSED[act](x)


# --------------------------------------------------------------- window helper
def _windows(x, kernel, stride, dilation, padding, fill=0.0):
    """Sliding windows of an NHWC array, TFLite style.

    x: [N, H, W, C]; kernel, stride, dilation: (h, w) pairs; padding: SAME (0) or
    VALID (1).  Returns (view, (out_h, out_w)) where view is a read-only
    [N, out_h, out_w, kh, kw, C] strided view of x padded with `fill`:
    view[n, y, x, i, j, c] = x[n, y * sh + i * dh - pad_top, x * sw + j * dw - pad_left, c].
    """
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    out_h, top, _ = window(padding, h, kh, sh, dh)
    out_w, left, _ = window(padding, w, kw, sw, dw)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"window {kh}x{kw} (dilation {dh}x{dw}) does not fit the "
                         f"{h}x{w} input with VALID padding")
    # rows / columns the windows reach, counted from the first padded one
    need_h = (out_h - 1) * sh + (kh - 1) * dh + 1
    need_w = (out_w - 1) * sw + (kw - 1) * dw + 1
    xp = np.pad(x, ((0, 0), (top, max(need_h - top - h, 0)),
                    (left, max(need_w - left - w, 0)), (0, 0)),
                constant_values=fill)
    s_n, s_h, s_w, s_c = xp.strides
    view = as_strided(xp, shape=(n, out_h, out_w, kh, kw, c),
                      strides=(s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
                      writeable=False)
    return view, (out_h, out_w)


# -------------------------------------------------------------- convolutions
def conv_2d(x, filters, bias=None, stride=(1, 1), dilation=(1, 1), padding=0,
            activation=ACT_NONE):
    """CONV_2D.

    x: float32 [N, H, W, C]; filters: float32 OHWI [O, kh, kw, C]; bias: float32 [O]
    or None; stride / dilation: (h, w); padding: SAME 0 / VALID 1.
    Returns float32 [N, out_h, out_w, O]:
    out[n, y, x, o] = act(bias[o] + sum_{i, j, c} xpad[n, y*sh + i*dh, x*sw + j*dw, c]
                                                  * filters[o, i, j, c]).
    Computed as one float32 matrix product over im2col patches."""
    x = np.asarray(x, F32)
    filters = np.asarray(filters, F32)
    o, kh, kw, c = filters.shape
    if x.shape[3] != c:
        raise ValueError(f"CONV_2D: input has {x.shape[3]} channels, filters {c}")
    view, (out_h, out_w) = _windows(x, (kh, kw), stride, dilation, padding)
    patches = view.reshape(-1, kh * kw * c)  # copies: [N*out_h*out_w, kh*kw*C]
    out = patches @ filters.reshape(o, kh * kw * c).T
    if bias is not None:
        out += np.asarray(bias, F32)
    return fused_activation(out.reshape(x.shape[0], out_h, out_w, o), activation)


def depthwise_conv_2d(x, filters, bias=None, stride=(1, 1), dilation=(1, 1), padding=0,
                      activation=ACT_NONE):
    """DEPTHWISE_CONV_2D.

    x: float32 [N, H, W, C]; filters: float32 1HWO [1, kh, kw, C * M] with depth
    multiplier M = O / C; bias: float32 [O] or None.
    Returns float32 [N, out_h, out_w, O] with output channel o = c * M + m:
    out[n, y, x, o] = act(bias[o] + sum_{i, j} xpad[n, y*sh + i*dh, x*sw + j*dw, o // M]
                                               * filters[0, i, j, o]).
    Computed tap by tap (kh * kw multiply-adds over whole feature maps)."""
    x = np.asarray(x, F32)
    filters = np.asarray(filters, F32)
    _, kh, kw, o = filters.shape
    c = x.shape[3]
    if o % c:
        raise ValueError(f"DEPTHWISE_CONV_2D: {o} output channels is not a multiple of "
                         f"{c} input channels")
    m = o // c
    if m > 1:
        x = np.repeat(x, m, axis=3)  # channel c*M + m reads input channel c
    view, (out_h, out_w) = _windows(x, (kh, kw), stride, dilation, padding)
    out = np.zeros((x.shape[0], out_h, out_w, o), F32)
    for i in range(kh):
        for j in range(kw):
            out += view[:, :, :, i, j, :] * filters[0, i, j, :]
    if bias is not None:
        out += np.asarray(bias, F32)
    return fused_activation(out, activation)


def transpose_conv(output_shape, filters, x, bias=None, stride=(1, 1), padding=0,
                   activation=ACT_NONE):
    """TRANSPOSE_CONV (the gradient of CONV_2D with respect to its input).

    output_shape: [N, out_h, out_w, O] (the op's first input); filters: float32 OHWI
    [O, kh, kw, C]; x: float32 [N, H, W, C]; bias: float32 [O] or None.
    Every input pixel scatters x[n, y, x, :] @ filters[:, i, j, :].T into output row
    y * sh + i - pad_top and column x * sw + j - pad_left; contributions falling
    outside the output are dropped.  The padding is TFLite's: the SAME / VALID
    padding of a CONV_2D from an out_h x out_w input (transpose_conv.cc Prepare).
    Returns float32 [N, out_h, out_w, O]."""
    x = np.asarray(x, F32)
    filters = np.asarray(filters, F32)
    o, kh, kw, c = filters.shape
    n, h, w, cx = x.shape
    if cx != c:
        raise ValueError(f"TRANSPOSE_CONV: input has {cx} channels, filters {c}")
    _, out_h, out_w, out_c = (int(v) for v in output_shape)
    if out_c != o:
        raise ValueError(f"TRANSPOSE_CONV: output_shape has {out_c} channels, "
                         f"filters {o}")
    sh, sw = stride
    top = window(padding, out_h, kh, sh)[1]  # on the forward convolution
    left = window(padding, out_w, kw, sw)[1]
    # a canvas holding every contribution and the whole (shifted) output window
    canvas = np.zeros((n, max((h - 1) * sh + kh, top + out_h),
                       max((w - 1) * sw + kw, left + out_w), o), F32)
    for i in range(kh):
        for j in range(kw):
            tap = x @ filters[:, i, j, :].T  # [N, H, W, O]
            canvas[:, i:i + (h - 1) * sh + 1:sh, j:j + (w - 1) * sw + 1:sw, :] += tap
    out = canvas[:, top:top + out_h, left:left + out_w, :]
    if bias is not None:
        out = out + np.asarray(bias, F32)
    return fused_activation(np.ascontiguousarray(out), activation)


def unidirectional_sequence_lstm(x, w_in, w_rec, biases, h0=None, c0=None,
                                 time_major=False, cell_clip=0.0, return_cells=False):
    """UNIDIRECTIONAL_SEQUENCE_LSTM, float32, without peephole, projection or layer
    norm (tensorflow/lite/kernels/lstm_eval.cc, float path; gates in TFLite's order
    input i, forget f, cell g, output o):

        z = W_in[k] x_t + W_rec[k] h_{t-1} + b[k]         for each gate k
        i = sigmoid(z_i) (CIFG, input gate omitted: i = 1 - f), f = sigmoid(z_f),
        g = tanh(z_g), o = sigmoid(z_o)
        c_t = clip(f * c_{t-1} + i * g, cell_clip) (no clip when cell_clip is 0),
        h_t = o * tanh(c_t)

    x: float32 [batch, time, n_input] ([time, batch, n_input] with time_major);
    w_in: 4 arrays [n_cell, n_input] (w_in[0] None for CIFG); w_rec: 4 arrays
    [n_cell, n_cell] (w_rec[0] None for CIFG); biases: 4 arrays [n_cell] (biases[0]
    None for CIFG); h0 / c0: [batch, n_cell] initial output / cell state (None: 0).
    Returns (y, h_T, c_T): y the output sequence in x's layout, [..., n_cell]; with
    return_cells also the cell states of every step, [time, batch, n_cell], 4th."""
    x = np.asarray(x, F32)
    xt = x if time_major else x.transpose(1, 0, 2)
    steps, batch = xt.shape[:2]
    n_cell = np.asarray(w_in[1]).shape[0]
    h = np.zeros((batch, n_cell), F32) if h0 is None else np.asarray(h0, F32).reshape(
        batch, n_cell)
    c = np.zeros((batch, n_cell), F32) if c0 is None else np.asarray(c0, F32).reshape(
        batch, n_cell)
    cifg = w_in[0] is None
    pre = [None if w is None else xt @ np.asarray(w, F32).T + np.asarray(b, F32)
           for w, b in zip(w_in, biases)]
    rec = [None if w is None else np.asarray(w, F32) for w in w_rec]
    ys, cells = [], []
    for t in range(steps):
        z = [None if p is None else p[t] + h @ r.T for p, r in zip(pre, rec)]
        f = logistic(z[1])
        i = (F32(1) - f) if cifg else logistic(z[0])
        c = f * c + i * np.tanh(z[2])
        if cell_clip > 0:
            c = np.clip(c, -F32(cell_clip), F32(cell_clip))
        h = logistic(z[3]) * np.tanh(c)
        ys.append(h)
        cells.append(c)
    y = np.stack(ys).astype(F32) if steps else np.zeros((0, batch, n_cell), F32)
    if not time_major:
        y = y.transpose(1, 0, 2)
    out = (np.ascontiguousarray(y), h.astype(F32), c.astype(F32))
    if return_cells:
        out += (np.stack(cells).astype(F32) if steps
                else np.zeros((0, batch, n_cell), F32),)
    return out


def fully_connected(x, weights, bias=None, keep_num_dims=False, activation=ACT_NONE):
    """FULLY_CONNECTED.

    x: float32 [..., I] (any rank; TFLite flattens it to [size / I, I]); weights:
    float32 OI [O, I]; bias: float32 [O] or None.
    Returns act(x2d @ weights.T + bias) shaped [*x.shape[:-1], O] with keep_num_dims,
    else [size / I, O]."""
    x = np.asarray(x, F32)
    weights = np.asarray(weights, F32)
    o, i = weights.shape
    if x.size % i:
        raise ValueError(f"FULLY_CONNECTED: input of {x.size} elements is not a whole "
                         f"number of rows of {i}")
    out = x.reshape(-1, i) @ weights.T
    if bias is not None:
        out += np.asarray(bias, F32)
    if keep_num_dims:
        out = out.reshape(*x.shape[:-1], o)
    return fused_activation(out, activation)


# ------------------------------------------- dynamic-range ("hybrid") kernels
def symmetric_quantize_rows(x2d):
    """LiteRT's dynamic input quantization (tensor_utils::SymmetricQuantizeFloats),
    row by row: per row, range = max|x| (float32), scale = range / 127 and
    q = clamp(round(x * (127 / range)), -127, 127) rounding half away from zero; an
    all-zero row gets q = 0 and scale 1.
    x2d: float32 [R, K].  Returns (int32 [R, K] quantized values, float32 [R] scales)."""
    x2d = np.asarray(x2d, F32)
    rng = np.max(np.abs(x2d), axis=1)
    zero = rng == 0
    safe = np.where(zero, F32(1), rng).astype(F32)
    inv = (F32(127) / safe).astype(F32)
    v = (x2d * inv[:, None]).astype(np.float64)  # float32 product
    q = np.clip(round_half_away(v), -127, 127).astype(np.int32)
    q[zero] = 0
    scale = np.where(zero, F32(1), (safe / F32(127)).astype(F32)).astype(F32)
    return q, scale


def hybrid_conv_2d(x, filters_q, filter_scale, bias=None, stride=(1, 1), padding=0,
                   activation=ACT_NONE):
    """CONV_2D of a dynamic-range quantized model as LiteRT 2.3 computes it (conv.cc
    EvalHybrid, per-tensor int8 filters): each batch sample of x is quantized
    symmetrically to int8 (symmetric_quantize_rows over the whole sample), the
    zero-padded im2col patches are multiplied by the int8 filters in int32, and
    out = float32(acc) * float32(sample_scale * filter_scale) + bias, then the
    activation.  (No dilation: LiteRT's hybrid path runs undilated.)

    x: float32 [N, H, W, C]; filters_q: int8 OHWI [O, kh, kw, C]; filter_scale:
    float; bias: float32 [O] or None.  Returns float32 [N, out_h, out_w, O].
    Use conv_2d(x, dequantize(filters_q, ...)) for the op's exact-float meaning."""
    x = np.asarray(x, F32)
    o, kh, kw, c = filters_q.shape
    n = x.shape[0]
    q, scales = symmetric_quantize_rows(x.reshape(n, -1))
    scales = (scales * F32(filter_scale)).astype(F32)
    view, (out_h, out_w) = _windows(q.reshape(x.shape), (kh, kw), stride, (1, 1), padding)
    # integer products summed exactly in float64 (|acc| < 2**53), BLAS-fast
    acc = view.reshape(-1, kh * kw * c).astype(np.float64) @ \
        np.asarray(filters_q, np.float64).reshape(o, -1).T
    out = acc.reshape(n, out_h, out_w, o).astype(F32) * scales[:, None, None, None]
    if bias is not None:
        out += np.asarray(bias, F32)
    return fused_activation(out.astype(F32), activation)


def hybrid_fully_connected(x, weights_q, weight_scale, bias=None, keep_num_dims=False,
                           activation=ACT_NONE):
    """FULLY_CONNECTED of a dynamic-range quantized model as LiteRT 2.3 computes it
    (fully_connected.cc EvalHybrid, per-tensor int8 weights, symmetric inputs): every
    row of the flattened input [size / I, I] is quantized on its own
    (symmetric_quantize_rows), multiplied by the int8 weights in int32, and
    out = bias + float32(acc) * float32(row_scale * weight_scale), then the activation.

    x: float32 [..., I]; weights_q: int8 OI [O, I]; weight_scale: float.
    Shapes as in fully_connected."""
    x = np.asarray(x, F32)
    o, i = weights_q.shape
    q, scales = symmetric_quantize_rows(x.reshape(-1, i))
    scales = (scales * F32(weight_scale)).astype(F32)
    acc = q.astype(np.float64) @ np.asarray(weights_q, np.float64).T  # exact
    out = (acc.astype(F32) * scales[:, None]).astype(F32)
    if bias is not None:
        out = (np.asarray(bias, F32) + out).astype(F32)
    if keep_num_dims:
        out = out.reshape(*x.shape[:-1], o)
    return fused_activation(out, activation)


# ------------------------------------------------------------------- pooling
def average_pool_2d(x, filter_size, stride=(1, 1), padding=0, activation=ACT_NONE):
    """AVERAGE_POOL_2D.  x: float32 [N, H, W, C]; filter_size, stride: (h, w).
    Each output is the mean of the in-bounds elements of its window (padding is not
    counted).  Returns float32 [N, out_h, out_w, C]."""
    x = np.asarray(x, F32)
    view, _ = _windows(x, filter_size, stride, (1, 1), padding)
    ones, _ = _windows(np.ones((1,) + x.shape[1:3] + (1,), F32), filter_size, stride,
                       (1, 1), padding)
    total = view.sum(axis=(3, 4), dtype=F32)
    count = ones.sum(axis=(3, 4), dtype=F32)  # [1, out_h, out_w, 1]
    return fused_activation((total / count).astype(F32), activation)


def max_pool_2d(x, filter_size, stride=(1, 1), padding=0, activation=ACT_NONE):
    """MAX_POOL_2D.  x: float32 [N, H, W, C]; filter_size, stride: (h, w).
    Each output is the maximum over the in-bounds elements of its window.
    Returns float32 [N, out_h, out_w, C]."""
    x = np.asarray(x, F32)
    view, _ = _windows(x, filter_size, stride, (1, 1), padding, fill=-np.inf)
    return fused_activation(view.max(axis=(3, 4)), activation)


# ---------------------------------------------------------------- arithmetic
def add(a, b, activation=ACT_NONE):
    """ADD with numpy broadcasting (float32, or int32 / int64 for shape arithmetic)."""
    return fused_activation(np.add(a, b), activation)


def sub(a, b, activation=ACT_NONE):
    """SUB (a - b) with numpy broadcasting."""
    return fused_activation(np.subtract(a, b), activation)


def mul(a, b, activation=ACT_NONE):
    """MUL with numpy broadcasting."""
    return fused_activation(np.multiply(a, b), activation)


def mean(x, axes, keep_dims=False):
    """MEAN over `axes` (ints, negative counted from the end, duplicates allowed);
    float32 in and out, summed in float32.  keep_dims keeps reduced axes as size 1."""
    x = np.asarray(x, F32)
    axes = tuple(sorted({int(a) % x.ndim for a in np.ravel(axes)})) if x.ndim else ()
    return np.mean(x, axis=axes, keepdims=bool(keep_dims), dtype=F32).astype(F32)


# ---------------------------------------------------------- (de)quantization
def quantize(x, scale, zero_point, dtype):
    """QUANTIZE float32 -> integer dtype (int8 / uint8 / int16):
    clamp(round(x / scale) + zero_point) with a float32 division and round half away
    from zero (LiteRT AffineQuantize), saturating to the dtype's range.  (LiteRT turns
    quotients beyond the int32 range into INT32_MIN, so a huge positive x becomes the
    minimum there; here it saturates to the maximum.)"""
    info = np.iinfo(dtype)
    v = (np.asarray(x, F32) / F32(scale)).astype(np.float64)  # float32 quotient
    r = round_half_away(v)  # std::round
    r = np.nan_to_num(r, nan=info.min)  # NaN: LiteRT's INT32_MIN, clamped
    return np.clip(r + int(zero_point), info.min, info.max).astype(dtype)


def dequantize(q, scales, zero_points, axis=0):
    """DEQUANTIZE integer -> float32: float((double)scale * (q - zero_point)).
    scales / zero_points: length 1 (per tensor) or per channel along `axis`."""
    q = np.asarray(q)
    scales = np.asarray(scales, F32).astype(np.float64).ravel()
    zps = np.asarray(zero_points, np.int64).ravel()
    if scales.size > 1:
        shape = [1] * q.ndim
        shape[axis] = scales.size
        scales, zps = scales.reshape(shape), zps.reshape(shape)
    return (scales * (q.astype(np.int64) - zps)).astype(F32)


# ------------------------------------------------------------ data movement
def reshape(x, shape):
    """RESHAPE to `shape` (at most one -1, inferred)."""
    return np.reshape(x, tuple(int(d) for d in shape))


def squeeze(x, axes=()):
    """SQUEEZE the listed size-1 axes (negative allowed), or all size-1 axes when
    `axes` is empty."""
    if len(axes) == 0:
        return np.reshape(x, tuple(d for d in x.shape if d != 1))
    return np.squeeze(x, axis=tuple(int(a) % x.ndim for a in axes))


def expand_dims(x, axis):
    """EXPAND_DIMS: a new size-1 axis at `axis` of the output (negative counts from
    the end of the output: axis + rank + 1)."""
    axis = int(np.ravel(axis)[0])
    if axis < 0:
        axis += x.ndim + 1
    if not 0 <= axis <= x.ndim:
        raise ValueError(f"EXPAND_DIMS: axis {axis} out of range for rank {x.ndim}")
    return np.expand_dims(x, axis)


def pad(x, paddings, value=0):
    """PAD / PADV2: paddings [rank, 2] of (before, after); new elements hold `value`."""
    return _data.pad(np.asarray(x), paddings, value)


def concatenation(xs, axis, activation=ACT_NONE):
    """CONCATENATION along `axis` (negative counts from the end)."""
    return fused_activation(_data.concatenation(xs, axis), activation)


def strided_slice(x, begin, end, strides, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, offset=False):
    """STRIDED_SLICE with all masks (see microdl.core.dataops.strided_slice)."""
    return _data.strided_slice(x, begin, end, strides, begin_mask, end_mask,
                               ellipsis_mask, new_axis_mask, shrink_axis_mask, offset)


def shape(x, dtype=np.int32):
    """SHAPE: the dimensions of x as a 1-D int32 (or int64) array."""
    return np.array(np.shape(x), dtype)


def pack(xs, axis):
    """PACK: arrays of equal shape stacked along a new output axis."""
    return _data.pack(xs, axis)


def transpose(x, perm):
    """TRANSPOSE: output.shape[j] = x.shape[perm[j]]."""
    return _data.transpose(x, perm)
