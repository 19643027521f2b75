"""Weight streams of the NPU cost model: their raw and encoded (losslessly
compressed) sizes (microdl/npu/MODEL.md, "Weight compression")."""
from __future__ import annotations

import hashlib
import math

import numpy as np

from microdl.npu.layers import CONV_OPS, DEPTHWISE_OPS

SCALE_BYTES_PER_CHANNEL = 10  # Ethos-U bias (40 bit) + scale (32) + shift (6), padded
STREAM_HEADER_BYTES = 16      # per encoded weight stream (alignment/header)


class WeightSizer:
    """Raw and encoded weight-stream bytes of the MAC operators (cached per op)."""

    def __init__(self, graph, cfg):
        self.g = graph
        self.cfg = cfg
        self._enc = {}
        self._raw = {}

    def encoded(self, op) -> int:
        if op.index not in self._enc:
            self._enc[op.index], self._raw[op.index] = self._measure(op)
        return self._enc[op.index]

    def _measure(self, op):
        t = self.g.tensors
        widx = op.inputs[1] if len(op.inputs) > 1 else -1
        if widx < 0:
            return 0, 0
        w = t[widx]
        raw = int(w.nbytes)
        if op.name == "DEPTHWISE_CONV_2D":
            c_out = int(w.shape[-1])
        else:
            c_out = int(w.shape[0])
        scales = SCALE_BYTES_PER_CHANNEL * c_out
        if w.data is None:       # weights computed at run time: stream raw bytes
            return raw + scales, raw
        if self.cfg.compress_weights and np.dtype(w.dtype).itemsize == 1:
            body = _encoded_cached(np.asarray(w.data))
        else:
            body = raw
        return int(body) + scales, raw

    def total_encoded(self) -> int:
        for op in self.g.ops:
            if op.name in CONV_OPS or op.name in DEPTHWISE_OPS:
                try:
                    self.encoded(op)
                except (IndexError, ValueError, TypeError):
                    pass
        return int(sum(self._enc.values()))

    def total_raw(self) -> int:
        self.total_encoded()
        return int(sum(self._raw.values()))


def _rice_bits(values: np.ndarray) -> int:
    """Bits of the best Golomb-Rice code (parameter 0..8) of non-negative ints."""
    if values.size == 0:
        return 0
    v = values.astype(np.int64)
    return int(min(int((1 + (v >> r) + r).sum()) for r in range(9)))


_ENCODED_CACHE = {}          # (dtype, shape, sha1 of the bytes) -> encoded bytes
_ENCODED_CACHE_MAX = 4096


def _encoded_cached(weights: np.ndarray) -> int:
    """encoded_weight_bytes, memoised on the weights' contents (estimating one model
    on many configurations encodes each weight tensor once)."""
    a = np.ascontiguousarray(weights)
    key = (a.dtype.str, a.shape, hashlib.sha1(a.tobytes()).hexdigest())
    if key not in _ENCODED_CACHE:
        if len(_ENCODED_CACHE) >= _ENCODED_CACHE_MAX:
            _ENCODED_CACHE.clear()
        _ENCODED_CACHE[key] = encoded_weight_bytes(a)
    return _ENCODED_CACHE[key]


def encoded_weight_bytes(weights: np.ndarray) -> int:
    """Estimated bytes of a losslessly compressed 8-bit weight stream.

    The smaller of (a) a Golomb-Rice code of the zigzag-mapped weights (0, -1, 1, -2,
    ... -> 0, 1, 2, 3, ...) and (b) a Golomb-Rice code of the non-zero weights (mapped
    the same way, minus one) plus one of the lengths of the zero runs before each of
    them; each with its best Rice parameter, plus STREAM_HEADER_BYTES.  Our estimate
    of what Ethos-U's weight encoder achieves (it uses Golomb-Rice and zero-run
    codes), never more than the raw size plus the header."""
    v = np.asarray(weights).ravel().astype(np.int64)
    if v.size == 0:
        return 0
    zig = np.where(v >= 0, 2 * v, -2 * v - 1)
    plain = _rice_bits(zig)
    nz = np.flatnonzero(v)
    edges = np.concatenate(([-1], nz, [v.size]))
    runs = np.diff(edges) - 1
    zero_runs = _rice_bits(zig[nz] - 1) + _rice_bits(runs)
    bits = min(plain, zero_runs, 8 * v.size)
    return int(math.ceil(bits / 8)) + STREAM_HEADER_BYTES
