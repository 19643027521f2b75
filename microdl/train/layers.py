"""Layers of the numpy trainer: forward and backward passes on NHWC float arrays.

Conventions shared by every layer:

* Activations are NHWC (batch, height, width, channels) for images, (batch, features)
  for vectors and (batch, time, features) for sequences (Conv1D, LSTM).  Arrays keep
  the dtype they arrive in (float32 in training, float64 in the gradient checks), so
  parameters should have the same dtype as the inputs.
* Weights use the TFLite layouts, so export is a copy:
  Conv2D kernel OHWI (out_channels, kh, kw, in_channels); DepthwiseConv2D kernel
  (1, kh, kw, in_channels * depth_multiplier) where output channel c*M + m reads input
  channel c; Dense kernel (units, in_features) (FULLY_CONNECTED weights); Conv1D kernel
  (filters, 1, k, in_channels) (CONV_2D over a 1-high image); LSTM kernels with the 4
  gates' rows stacked in TFLite's order (input, forget, cell, output); biases (out,).
* `layer.params` holds the trainable arrays, `layer.grads` the gradients written by the
  last `backward` (same keys and shapes), `layer.state` non-trainable arrays (BatchNorm
  running statistics).
* `forward(x, training)` caches what `backward(dy)` needs; `backward` returns dL/dx for
  the input of the most recent `forward`.
* SAME padding follows TFLite: out = ceil(in / stride), total padding
  max((out - 1) * stride + effective_kernel - in, 0), the smaller half before.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from microdl.core.shapes import window

PADDINGS = ("same", "valid")


def _pair(v, what):
    """An int or a pair of ints -> (h, w)."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{what} must be an int or a pair, got {v!r}")
    return v


def _check_padding(padding):
    padding = str(padding).lower()
    if padding not in PADDINGS:
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    return padding


def conv_output_size(size, kernel, stride, dilation, padding):
    """Output length and (pad_before, pad_after) along one spatial axis (TFLite rules)."""
    out, before, after = window(padding, size, kernel, stride, dilation)
    if out < 1:
        raise ValueError(f"VALID window {(kernel - 1) * dilation + 1} larger than "
                         f"input {size}")
    return out, (before, after)


def _windows(xp, kernel, stride, dilation, out_hw):
    """Strided view (N, OH, OW, C, KH, KW) of the padded NHWC input `xp`: element
    [n, oh, ow, c, i, j] = xp[n, oh*sh + i*dh, ow*sw + j*dw, c].  No copy."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    win = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    return win[:, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw, :, ::dh, ::dw]


def _tap(xp, i, j, stride, dilation, out_hw):
    """View (N, OH, OW, C) of the padded input seen by kernel tap (i, j)."""
    (sh, sw), (dh, dw), (oh, ow) = stride, dilation, out_hw
    h0, w0 = i * dh, j * dw
    return xp[:, h0:h0 + (oh - 1) * sh + 1:sh, w0:w0 + (ow - 1) * sw + 1:sw, :]


def _init(kind, shape, fan_in, fan_out, rng, dtype=np.float32):
    """Kernel initialisers: 'glorot_uniform', 'he_uniform', 'he_normal'."""
    if kind == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=shape)
    elif kind == "he_uniform":
        limit = math.sqrt(6.0 / fan_in)
        w = rng.uniform(-limit, limit, size=shape)
    elif kind == "he_normal":
        w = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    else:
        raise ValueError(f"unknown initialiser {kind!r}")
    return w.astype(dtype)


class Layer:
    """Base class.  Subclasses set `params`/`state` in `build` and implement `forward`,
    `backward`, `get_config` (JSON-serialisable constructor arguments)."""

    def __init__(self, name=None):
        self.name = name
        self.params = {}
        self.grads = {}
        self.state = {}
        self.input_shape = None   # without batch
        self.output_shape = None  # without batch
        self.rng = None           # np.random.Generator, set by the model (Dropout)
        self.built = False

    def build(self, input_shape, rng):
        """Create parameters for inputs of shape (batch,) + input_shape; return the output
        shape without batch."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name}

    def zero_grads(self):
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ----------------------------------------------------------------------------- conv


class Conv2D(Layer):
    """2-D convolution, NHWC in and out.

    kernel: (filters, kh, kw, in_channels) (OHWI, the CONV_2D layout); bias: (filters,).
    Forward is im2col: a strided window view copied to a (N*OH*OW, KH*KW*C) matrix
    multiplied by the (KH*KW*C, filters) kernel matrix."""

    def __init__(self, filters, kernel_size, strides=1, padding="same", dilation=1,
                 use_bias=True, kernel_init="glorot_uniform", name=None):
        super().__init__(name)
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = _check_padding(padding)
        self.dilation = _pair(dilation, "dilation")
        self.use_bias = bool(use_bias)
        self.kernel_init = kernel_init

    def _geometry(self, h, w):
        oh, ph = conv_output_size(h, self.kernel_size[0], self.strides[0], self.dilation[0],
                                  self.padding)
        ow, pw = conv_output_size(w, self.kernel_size[1], self.strides[1], self.dilation[1],
                                  self.padding)
        return (oh, ow), (ph, pw)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} needs (H, W, C) inputs, got {input_shape}")
        (oh, ow), _ = self._geometry(*input_shape[:2])
        return (oh, ow, self.filters)

    def build(self, input_shape, rng):
        out = super().build(input_shape, rng)
        kh, kw = self.kernel_size
        cin = self.input_shape[2]
        self.params["kernel"] = _init(self.kernel_init, (self.filters, kh, kw, cin),
                                      kh * kw * cin, kh * kw * self.filters, rng)
        if self.use_bias:
            self.params["bias"] = np.zeros(self.filters, np.float32)
        return out

    def _pad(self, x, pads):
        (pt, pb), (pl, pr) = pads
        if pt == pb == pl == pr == 0:
            return x
        return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))

    def forward(self, x, training=False):
        n, h, w, c = x.shape
        out_hw, pads = self._geometry(h, w)
        xp = self._pad(x, pads)
        win = _windows(xp, self.kernel_size, self.strides, self.dilation, out_hw)
        # (N, OH, OW, C, KH, KW) -> rows of (KH, KW, C), matching the OHWI kernel order.
        cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * out_hw[0] * out_hw[1], -1)
        wmat = self.params["kernel"].reshape(self.filters, -1)
        y = cols @ wmat.T
        if self.use_bias:
            y += self.params["bias"]
        self._cache = (x.shape, xp.shape, pads, out_hw, cols)
        return y.reshape(n, out_hw[0], out_hw[1], self.filters)

    def backward(self, dy):
        xshape, xpshape, pads, out_hw, cols = self._cache
        kh, kw = self.kernel_size
        dy2 = dy.reshape(-1, self.filters)
        kernel = self.params["kernel"]
        self.grads["kernel"] = (dy2.T @ cols).reshape(kernel.shape)
        if self.use_bias:
            self.grads["bias"] = dy2.sum(axis=0)
        dcols = (dy2 @ kernel.reshape(self.filters, -1)).reshape(
            xshape[0], out_hw[0], out_hw[1], kh, kw, xshape[3])
        dxp = np.zeros(xpshape, dy.dtype)
        for i in range(kh):          # col2im: scatter each tap back (KH*KW slices)
            for j in range(kw):
                _tap(dxp, i, j, self.strides, self.dilation, out_hw)[...] += dcols[:, :, :, i, j, :]
        (pt, _), (pl, _) = pads
        return dxp[:, pt:pt + xshape[1], pl:pl + xshape[2], :]

    def get_config(self):
        return {"name": self.name, "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "dilation": list(self.dilation),
                "use_bias": self.use_bias, "kernel_init": self.kernel_init}


class Conv1D(Conv2D):
    """1-D convolution over sequences (batch, time, channels), as TFLite runs it: a
    CONV_2D on the sequence seen as a 1-pixel-high image (batch, 1, time, channels).

    kernel: (filters, 1, kernel_size, in_channels) (OHWI with H = 1, the CONV_2D
    layout); bias: (filters,).  strides and dilation along time; SAME / VALID padding
    by TFLite's rules."""

    def __init__(self, filters, kernel_size, strides=1, padding="same", dilation=1,
                 use_bias=True, kernel_init="glorot_uniform", name=None):
        for what, v in (("kernel_size", kernel_size), ("strides", strides),
                        ("dilation", dilation)):
            if not isinstance(v, (int, np.integer)):
                raise ValueError(f"Conv1D {what} must be an int, got {v!r}")
        super().__init__(filters, (1, kernel_size), (1, strides), padding, (1, dilation),
                         use_bias, kernel_init, name)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"Conv1D needs (time, channels) inputs, got {input_shape}")
        return super().compute_output_shape((1,) + tuple(input_shape))[1:]

    def build(self, input_shape, rng):
        out = Layer.build(self, input_shape, rng)
        k, cin = self.kernel_size[1], self.input_shape[1]
        self.params["kernel"] = _init(self.kernel_init, (self.filters, 1, k, cin), k * cin,
                                      k * self.filters, rng)
        if self.use_bias:
            self.params["bias"] = np.zeros(self.filters, np.float32)
        return out

    def forward(self, x, training=False):
        if x.ndim != 3:
            raise ValueError(f"Conv1D input must be (batch, time, channels), got {x.shape}")
        return super().forward(x[:, None], training)[:, 0]

    def backward(self, dy):
        return super().backward(dy[:, None])[:, 0]

    def get_config(self):
        return {"name": self.name, "filters": self.filters,
                "kernel_size": self.kernel_size[1], "strides": self.strides[1],
                "padding": self.padding, "dilation": self.dilation[1],
                "use_bias": self.use_bias, "kernel_init": self.kernel_init}


class DepthwiseConv2D(Conv2D):
    """Depthwise 2-D convolution, NHWC in and out.

    kernel: (1, kh, kw, C * depth_multiplier) (the DEPTHWISE_CONV_2D layout): output
    channel c*M + m is input channel c convolved with kernel[0, :, :, c*M + m].
    bias: (C * M,).  Forward is one einsum over the strided window view."""

    def __init__(self, kernel_size, strides=1, padding="same", depth_multiplier=1,
                 dilation=1, use_bias=True, kernel_init="glorot_uniform", name=None):
        super().__init__(0, kernel_size, strides, padding, dilation, use_bias,
                         kernel_init, name)
        self.depth_multiplier = int(depth_multiplier)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"DepthwiseConv2D needs (H, W, C) inputs, got {input_shape}")
        (oh, ow), _ = self._geometry(*input_shape[:2])
        return (oh, ow, input_shape[2] * self.depth_multiplier)

    def build(self, input_shape, rng):
        out = Layer.build(self, input_shape, rng)
        kh, kw = self.kernel_size
        cin, m = self.input_shape[2], self.depth_multiplier
        self.filters = cin * m
        self.params["kernel"] = _init(self.kernel_init, (1, kh, kw, cin * m),
                                      kh * kw, kh * kw * m, rng)
        if self.use_bias:
            self.params["bias"] = np.zeros(cin * m, np.float32)
        return out

    def _kernel4(self):
        """Kernel as (KH, KW, C, M)."""
        _, kh, kw, cm = self.params["kernel"].shape
        return self.params["kernel"].reshape(kh, kw, cm // self.depth_multiplier,
                                             self.depth_multiplier)

    def forward(self, x, training=False):
        n, h, w, c = x.shape
        out_hw, pads = self._geometry(h, w)
        xp = self._pad(x, pads)
        win = _windows(xp, self.kernel_size, self.strides, self.dilation, out_hw)
        y = np.einsum("nhwcij,ijcm->nhwcm", win, self._kernel4(), optimize=True)
        y = y.reshape(n, out_hw[0], out_hw[1], c * self.depth_multiplier)
        if self.use_bias:
            y += self.params["bias"]
        self._cache = (x.shape, xp, pads, out_hw)
        return y

    def backward(self, dy):
        xshape, xp, pads, out_hw = self._cache
        kh, kw = self.kernel_size
        n, c, m = xshape[0], xshape[3], self.depth_multiplier
        dy5 = dy.reshape(n, out_hw[0], out_hw[1], c, m)
        win = _windows(xp, self.kernel_size, self.strides, self.dilation, out_hw)
        dk = np.einsum("nhwcij,nhwcm->ijcm", win, dy5, optimize=True)
        self.grads["kernel"] = dk.reshape(self.params["kernel"].shape)
        if self.use_bias:
            self.grads["bias"] = dy.reshape(-1, c * m).sum(axis=0)
        k4 = self._kernel4()
        dxp = np.zeros(xp.shape, dy.dtype)
        for i in range(kh):
            for j in range(kw):
                _tap(dxp, i, j, self.strides, self.dilation, out_hw)[...] += np.einsum(
                    "nhwcm,cm->nhwc", dy5, k4[i, j])
        (pt, _), (pl, _) = pads
        return dxp[:, pt:pt + xshape[1], pl:pl + xshape[2], :]

    def get_config(self):
        cfg = super().get_config()
        del cfg["filters"]
        cfg["depth_multiplier"] = self.depth_multiplier
        return cfg


class Dense(Layer):
    """Fully connected: y = x @ kernel.T + bias on (N, in_features) inputs.

    kernel: (units, in_features) (the FULLY_CONNECTED weights layout); bias: (units,)."""

    def __init__(self, units, use_bias=True, kernel_init="glorot_uniform", name=None):
        super().__init__(name)
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.kernel_init = kernel_init

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"Dense needs (features,) inputs (add Flatten or "
                             f"GlobalAveragePool first), got {input_shape}")
        return (self.units,)

    def build(self, input_shape, rng):
        out = super().build(input_shape, rng)
        fan_in = self.input_shape[0]
        self.params["kernel"] = _init(self.kernel_init, (self.units, fan_in), fan_in,
                                      self.units, rng)
        if self.use_bias:
            self.params["bias"] = np.zeros(self.units, np.float32)
        return out

    def forward(self, x, training=False):
        self._x = x
        y = x @ self.params["kernel"].T
        if self.use_bias:
            y += self.params["bias"]
        return y

    def backward(self, dy):
        self.grads["kernel"] = dy.T @ self._x
        if self.use_bias:
            self.grads["bias"] = dy.sum(axis=0)
        return dy @ self.params["kernel"]

    def get_config(self):
        return {"name": self.name, "units": self.units, "use_bias": self.use_bias,
                "kernel_init": self.kernel_init}


# -------------------------------------------------------------------------- pooling


class _Pool2D(Layer):
    """Shared geometry of MaxPool2D / AveragePool2D (strides default to pool_size)."""

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(name)
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = _pair(strides if strides is not None else pool_size, "strides")
        self.padding = _check_padding(padding)

    def _geometry(self, h, w):
        oh, ph = conv_output_size(h, self.pool_size[0], self.strides[0], 1, self.padding)
        ow, pw = conv_output_size(w, self.pool_size[1], self.strides[1], 1, self.padding)
        return (oh, ow), (ph, pw)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} needs (H, W, C) inputs, got {input_shape}")
        (oh, ow), _ = self._geometry(*input_shape[:2])
        return (oh, ow, input_shape[2])

    def _pad(self, x, pads, value):
        (pt, pb), (pl, pr) = pads
        if pt == pb == pl == pr == 0:
            return x
        return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)

    def _crop(self, dxp, xshape, pads):
        (pt, _), (pl, _) = pads
        return dxp[:, pt:pt + xshape[1], pl:pl + xshape[2], :]

    def get_config(self):
        return {"name": self.name, "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


class MaxPool2D(_Pool2D):
    """Max pooling, NHWC.  SAME padding never wins the max (padded with -inf), as in
    TFLite.  The gradient goes to the first maximum of each window (row-major order)."""

    def forward(self, x, training=False):
        n, h, w, c = x.shape
        out_hw, pads = self._geometry(h, w)
        xp = self._pad(x, pads, -np.inf)
        win = _windows(xp, self.pool_size, self.strides, (1, 1), out_hw)
        flat = win.reshape(n, out_hw[0], out_hw[1], c, -1)
        arg = flat.argmax(axis=-1)
        self._cache = (x.shape, xp.shape, pads, out_hw, arg)
        return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]

    def backward(self, dy):
        xshape, xpshape, pads, out_hw, arg = self._cache
        kh, kw = self.pool_size
        dxp = np.zeros(xpshape, dy.dtype)
        for i in range(kh):
            for j in range(kw):
                _tap(dxp, i, j, self.strides, (1, 1), out_hw)[...] += np.where(
                    arg == i * kw + j, dy, 0)
        return self._crop(dxp, xshape, pads)


class AveragePool2D(_Pool2D):
    """Average pooling, NHWC.  With SAME padding each output averages only the input
    elements inside the image (the padded ones are not counted), as in TFLite."""

    def _counts(self, h, w, out_hw, pads, dtype):
        ones = self._pad(np.ones((1, h, w, 1), dtype), pads, 0)
        win = _windows(ones, self.pool_size, self.strides, (1, 1), out_hw)
        return win.sum(axis=(-2, -1))  # (1, OH, OW, 1)

    def forward(self, x, training=False):
        n, h, w, c = x.shape
        out_hw, pads = self._geometry(h, w)
        xp = self._pad(x, pads, 0)
        win = _windows(xp, self.pool_size, self.strides, (1, 1), out_hw)
        counts = self._counts(h, w, out_hw, pads, x.dtype)
        self._cache = (x.shape, xp.shape, pads, out_hw, counts)
        return win.sum(axis=(-2, -1)) / counts

    def backward(self, dy):
        xshape, xpshape, pads, out_hw, counts = self._cache
        share = dy / counts
        dxp = np.zeros(xpshape, dy.dtype)
        for i in range(self.pool_size[0]):
            for j in range(self.pool_size[1]):
                _tap(dxp, i, j, self.strides, (1, 1), out_hw)[...] += share
        return self._crop(dxp, xshape, pads)


class GlobalAveragePool(Layer):
    """Mean over height and width: (N, H, W, C) -> (N, C)."""

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"GlobalAveragePool needs (H, W, C) inputs, got {input_shape}")
        return (input_shape[2],)

    def forward(self, x, training=False):
        self._xshape = x.shape
        return x.mean(axis=(1, 2))

    def backward(self, dy):
        n, h, w, c = self._xshape
        return np.broadcast_to(dy[:, None, None, :] / (h * w), self._xshape).copy()


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...) in C (NHWC) order, as TFLite RESHAPE."""

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        self._xshape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self._xshape)


# ---------------------------------------------------------------------- activations


class ReLU(Layer):
    """max(x, 0).  Gradient 1 where x > 0."""

    def forward(self, x, training=False):
        self._mask = x > 0
        return np.where(self._mask, x, 0).astype(x.dtype, copy=False)

    def backward(self, dy):
        return np.where(self._mask, dy, 0).astype(dy.dtype, copy=False)


class ReLU6(Layer):
    """min(max(x, 0), 6).  Gradient 1 where 0 < x < 6."""

    def forward(self, x, training=False):
        self._mask = (x > 0) & (x < 6)
        return np.clip(x, 0, 6)

    def backward(self, dy):
        return np.where(self._mask, dy, 0).astype(dy.dtype, copy=False)


# ------------------------------------------------------------------ normalisation


class BatchNorm(Layer):
    """Batch normalisation over the last (channel) axis of (N, C) or (N, H, W, C).

    params: gamma, beta (C,); state: moving_mean, moving_var (C,).
    training=True normalises with the batch mean and (biased) variance and updates the
    moving averages: moving = momentum * moving + (1 - momentum) * batch.
    training=False uses the moving statistics (what export folds into the preceding
    conv/dense)."""

    def __init__(self, momentum=0.9, epsilon=1e-3, name=None):
        super().__init__(name)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape, rng):
        out = super().build(input_shape, rng)
        c = self.input_shape[-1]
        self.params["gamma"] = np.ones(c, np.float32)
        self.params["beta"] = np.zeros(c, np.float32)
        self.state["moving_mean"] = np.zeros(c, np.float32)
        self.state["moving_var"] = np.ones(c, np.float32)
        return out

    def scale_shift(self):
        """Eval-mode affine form y = x * scale + shift, float64 (C,) each."""
        g = self.params["gamma"].astype(np.float64)
        inv = 1.0 / np.sqrt(self.state["moving_var"].astype(np.float64) + self.epsilon)
        scale = g * inv
        shift = self.params["beta"].astype(np.float64) - self.state["moving_mean"] * scale
        return scale, shift

    def forward(self, x, training=False):
        axes = tuple(range(x.ndim - 1))
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            mom = self.momentum
            dt = self.state["moving_mean"].dtype
            self.state["moving_mean"] = (mom * self.state["moving_mean"]
                                         + (1 - mom) * mean).astype(dt)
            self.state["moving_var"] = (mom * self.state["moving_var"]
                                        + (1 - mom) * var).astype(dt)
        else:
            mean = self.state["moving_mean"].astype(x.dtype)
            var = self.state["moving_var"].astype(x.dtype)
        inv_std = (1.0 / np.sqrt(var + self.epsilon)).astype(x.dtype)
        xhat = (x - mean) * inv_std
        self._cache = (xhat, inv_std, training, axes)
        return xhat * self.params["gamma"] + self.params["beta"]

    def backward(self, dy):
        xhat, inv_std, training, axes = self._cache
        gamma = self.params["gamma"]
        self.grads["gamma"] = (dy * xhat).sum(axis=axes)
        self.grads["beta"] = dy.sum(axis=axes)
        dxhat = dy * gamma
        if not training:
            return dxhat * inv_std
        m = dy.size // dy.shape[-1]
        return (inv_std / m) * (m * dxhat - dxhat.sum(axis=axes)
                                - xhat * (dxhat * xhat).sum(axis=axes))

    def get_config(self):
        return {"name": self.name, "momentum": self.momentum, "epsilon": self.epsilon}


class Dropout(Layer):
    """Inverted dropout: in training zero each element with probability `rate` and scale
    the rest by 1 / (1 - rate); identity at inference (and removed on export).  The mask
    comes from `self.rng` (the model's generator)."""

    def __init__(self, rate, name=None):
        super().__init__(name)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._scale = None
            return x
        keep = self.rng.random(x.shape) >= self.rate
        self._scale = keep.astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        return x * self._scale

    def backward(self, dy):
        return dy if self._scale is None else dy * self._scale

    def get_config(self):
        return {"name": self.name, "rate": self.rate}


# ------------------------------------------------------------------------ recurrent


def _sigmoid(z):
    """Logistic 1 / (1 + exp(-z)), overflow-free for either sign."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


class LSTM(Layer):
    """Long short-term memory over batch-major sequences (batch, time, features).

    Equations and gate order as TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM without peephole,
    projection, layer norm or clipping (tensorflow/lite/kernels/lstm_eval.cc), gates
    input i, forget f, cell g, output o:

        z_t = x_t @ kernel.T + h_{t-1} @ recurrent_kernel.T + bias      (N, 4 * units)
        i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g), o = sigmoid(z_o)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_0 = c_0 = 0

    kernel: (4 * units, features), recurrent_kernel: (4 * units, units), bias:
    (4 * units,), rows in gate order i, f, g, o (rows g*units .. (g+1)*units - 1 are
    the TFLite input-to-gate / recurrent-to-gate weights and gate bias of gate g).
    The forget-gate bias starts at 1 (Keras' unit_forget_bias); kernels glorot-uniform,
    the recurrent kernel orthogonal (a QR of a normal matrix), like Keras.

    Output: (N, time, units) with return_sequences=True, else h_T (N, units).
    Backward is backpropagation through time over the cached gate activations."""

    def __init__(self, units, return_sequences=False, name=None):
        super().__init__(name)
        self.units = int(units)
        if self.units < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        self.return_sequences = bool(return_sequences)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"LSTM needs (time, features) inputs, got {input_shape}")
        if self.return_sequences:
            return (int(input_shape[0]), self.units)
        return (self.units,)

    def build(self, input_shape, rng):
        out = super().build(input_shape, rng)
        u, f = self.units, self.input_shape[1]
        self.params["kernel"] = _init("glorot_uniform", (4 * u, f), f, 4 * u, rng)
        q = np.concatenate([np.linalg.qr(rng.normal(size=(u, u)))[0] for _ in range(4)])
        self.params["recurrent_kernel"] = q.astype(np.float32)
        bias = np.zeros(4 * u, np.float32)
        bias[u:2 * u] = 1.0
        self.params["bias"] = bias
        return out

    def forward(self, x, training=False):
        if x.ndim != 3:
            raise ValueError(f"LSTM input must be (batch, time, features), got {x.shape}")
        n, steps, _ = x.shape
        u = self.units
        k, r = self.params["kernel"], self.params["recurrent_kernel"]
        b = self.params["bias"]
        h = np.zeros((n, u), x.dtype)
        c = np.zeros((n, u), x.dtype)
        xz = x @ k.T + b                       # (N, T, 4U): input side of every step
        hs, cs, gates = [h], [c], []
        for t in range(steps):
            z = xz[:, t] + h @ r.T
            i, f, o = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u]), _sigmoid(z[:, 3 * u:])
            g = np.tanh(z[:, 2 * u:3 * u])
            c = f * c + i * g
            h = o * np.tanh(c)
            gates.append((i, f, g, o))
            hs.append(h)
            cs.append(c)
        self._cache = (x, hs, cs, gates)
        if self.return_sequences:
            return np.stack(hs[1:], axis=1)
        return h

    def backward(self, dy):
        x, hs, cs, gates = self._cache
        n, steps, _ = x.shape
        u = self.units
        k, r = self.params["kernel"], self.params["recurrent_kernel"]
        dz_all = np.zeros((n, steps, 4 * u), dy.dtype)
        dh_next = np.zeros((n, u), dy.dtype)
        dc_next = np.zeros((n, u), dy.dtype)
        dr = np.zeros_like(r, dtype=dy.dtype)
        for t in range(steps - 1, -1, -1):
            i, f, g, o = gates[t]
            dh = dh_next + (dy[:, t] if self.return_sequences else
                            (dy if t == steps - 1 else 0.0))
            tc = np.tanh(cs[t + 1])
            dc = dc_next + dh * o * (1.0 - tc * tc)
            dz = dz_all[:, t]
            dz[:, :u] = dc * g * i * (1.0 - i)
            dz[:, u:2 * u] = dc * cs[t] * f * (1.0 - f)
            dz[:, 2 * u:3 * u] = dc * i * (1.0 - g * g)
            dz[:, 3 * u:] = dh * tc * o * (1.0 - o)
            dr += dz.T @ hs[t]
            dh_next = dz @ r
            dc_next = dc * f
        self.grads["kernel"] = dz_all.reshape(-1, 4 * u).T @ x.reshape(n * steps, -1)
        self.grads["recurrent_kernel"] = dr
        self.grads["bias"] = dz_all.sum(axis=(0, 1))
        return dz_all @ k

    def get_config(self):
        return {"name": self.name, "units": self.units,
                "return_sequences": self.return_sequences}


LAYERS = {cls.__name__: cls for cls in (
    Conv2D, DepthwiseConv2D, Dense, MaxPool2D, AveragePool2D, GlobalAveragePool, Flatten,
    ReLU, ReLU6, BatchNorm, Dropout, LSTM, Conv1D)}
