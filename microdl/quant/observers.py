"""Streaming calibration observers and TFLite quantization parameters.

The converter runs the float model over calibration batches, feeds every float
activation tensor to one observer per tensor (``Observer.update``), then asks each
observer for a clipping range (``Observer.range``) and turns it into int8
quantization parameters with ``choose_qparams``.

Quantization model (TFLite int8 quantization spec, formerly
https://www.tensorflow.org/lite/performance/quantization_spec, now
https://ai.google.dev/edge/litert/models/quantization_spec): an int8 activation
``q`` in [-128, 127] stands for ``real = scale * (q - zero_point)``, one (scale,
zero_point) per tensor, zero_point in [-128, 127], and real 0.0 must be exactly
representable (it is: q = zero_point).  A clipping range [lo, hi] with
lo <= 0 <= hi is therefore spread over 256 levels, step ``(hi - lo) / 255``.

Observers (all O(1) or O(bins) memory whatever the amount of data):

* ``"minmax"``: the exact running minimum and maximum.
* ``"percentile"``, ``"mse"``, ``"entropy"``: a streaming histogram
  (``HistogramObserver``) from which the clipping range is chosen at the end:
  a percentile of each tail; the range minimising the expected squared
  quantization error; or the range minimising the KL divergence between the
  clipped and the quantized distributions (TensorRT's entropy calibration,
  Migacz, "8-bit Inference with TensorRT", GTC 2017).

Every ``range()`` satisfies ``lo <= 0 <= hi`` and ``lo < hi``.  If every value
seen was exactly 0.0 the range is ``(-ZERO_RANGE_HALF_WIDTH,
+ZERO_RANGE_HALF_WIDTH)`` = (-1e-3, 1e-3): any scale represents zeros exactly,
and the scale 2e-3/255 ~ 7.8e-6 keeps the requantization multiplier of the op
producing the tensor, (product of input scales) / output scale, below the 2**30
that ``microdl.core.fixedpoint.quantize_multiplier`` accepts unless that
product exceeds ~8000; a "tiny" range such as +-1e-8 (scale 7.8e-11) would
overflow it as soon as the product exceeds ~0.08 (e.g. input scale 1 and weight
scale 0.1).
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

import numpy as np

from microdl.core.fixedpoint import round_half_away

__all__ = [
    "METHODS",
    "ZERO_RANGE_HALF_WIDTH",
    "MIN_RANGE_WIDTH",
    "Observer",
    "MinMaxObserver",
    "HistogramObserver",
    "PercentileObserver",
    "MSEObserver",
    "EntropyObserver",
    "make_observer",
    "choose_qparams",
]

#: Valid ``method`` names for ``make_observer``.
METHODS = ("minmax", "percentile", "mse", "entropy")

#: Half width of the range returned when every observed value is exactly 0.0
#: (see the module docstring for why not smaller).
ZERO_RANGE_HALF_WIDTH = 1e-3

#: Narrowest range ``Observer.range`` returns for non-zero data: narrower ranges
#: (data below float32's normal range) are scaled up to this width so that
#: ``choose_qparams`` always finds a normal float32 scale.
MIN_RANGE_WIDTH = 1e-30

#: int8 activations: 256 levels, 255 steps between lo and hi.
_LEVELS = 256
_STEPS = _LEVELS - 1

#: Weight of the uniform distribution mixed into the quantized distribution Q of
#: the entropy method, so KL(P || Q) stays finite where P > 0 but Q = 0.
_KL_SMOOTHING = 1e-6

#: Entropy candidates must span at least this many bins and keep at least this
#: fraction of the non-zero values unclipped.  KL compares normalised shapes: a
#: range whose bins are all edge bins (one bin, or two around 0 on symmetric
#: data) folds the clipped mass in proportion and gets P = Q, KL = 0 however much
#: it clips (TensorRT avoids the same trap by only trying >= 128 bins).
_KL_MIN_BINS = 3
_KL_MIN_INSIDE = 0.5

_MIN_BINS = 64


# --------------------------------------------------------------------------
# Quantization parameters
# --------------------------------------------------------------------------

_INTEGER_RANGES = {
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int16): (-32768, 32767),
}


def choose_qparams(lo: float, hi: float, dtype=np.int8) -> Tuple[float, int]:
    """(scale, zero_point) that quantize the real range [lo, hi] to ``dtype``.

    Per the TFLite quantization spec and its reference ChooseQuantizationParams:

    * the range is first extended to contain 0 (lo <- min(lo, 0), hi <- max(hi, 0));
    * int8 / uint8 (asymmetric, qmin..qmax = -128..127 / 0..255)::

          scale      = float32((hi - lo) / (qmax - qmin))        # = (hi - lo) / 255
          zero_point = clamp(round(qmin - lo / scale), qmin, qmax)

      ``round`` is half away from zero (std::round).  Making the zero point an
      integer is the "nudge": real 0.0 is then exactly the integer zero_point, and
      the representable range becomes [(qmin - zp) * scale, (qmax - zp) * scale],
      within scale / 2 of [lo, hi];
    * int16 (16x8 activations: symmetric, zero_point 0)::

          scale = float32(max(|lo|, |hi|) / 32767)

    The scale is computed in float64 and rounded to the nearest float32 (the type
    the flatbuffer stores); the zero point is derived from that float32 scale.
    If lo == hi == 0 the range (-ZERO_RANGE_HALF_WIDTH, ZERO_RANGE_HALF_WIDTH) is
    used, as in ``Observer.range``.

    Args:
        lo, hi: clipping range in real units, finite, lo <= hi.
        dtype: np.int8 (default), np.uint8 or np.int16 (anything np.dtype accepts).
    Returns:
        (scale, zero_point) as (Python float exactly representable in float32, int).
    Raises:
        ValueError: non-finite or reversed bounds, unsupported dtype, or a range so
            narrow that the scale is not a normal float32.
    """
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"choose_qparams: range bounds must be finite, got ({lo}, {hi})")
    if lo > hi:
        raise ValueError(f"choose_qparams: lo must be <= hi, got ({lo}, {hi})")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _INTEGER_RANGES:
        raise ValueError(f"choose_qparams: dtype must be int8, uint8 or int16, got {dtype!r}")
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if lo == hi:
        lo, hi = -ZERO_RANGE_HALF_WIDTH, ZERO_RANGE_HALF_WIDTH
    qmin, qmax = _INTEGER_RANGES[dt]
    if dt == np.dtype(np.int16):
        real_scale = max(-lo, hi) / qmax
    else:
        levels = qmax - qmin
        real_scale = hi / levels - lo / levels  # no overflow for huge finite bounds
    with np.errstate(over="ignore"):
        scale = float(np.float32(real_scale))
    if not (math.isfinite(scale) and scale >= np.finfo(np.float32).tiny):
        raise ValueError(f"choose_qparams: range ({lo}, {hi}) gives scale {real_scale!r}, "
                         f"which is not a normal float32")
    if dt == np.dtype(np.int16):
        return scale, 0
    zero_point = int(round_half_away(qmin - lo / scale))
    return scale, int(min(max(zero_point, qmin), qmax))


# --------------------------------------------------------------------------
# Observers
# --------------------------------------------------------------------------

def _finite_batch(x) -> np.ndarray:
    """Flatten one calibration batch to float64, rejecting bad input loudly."""
    a = np.asarray(x)
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.floating)
                                   or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"Observer.update: expected a real numeric array, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"Observer.update: empty batch (shape {a.shape}); "
                         f"calibration batches must hold at least one value")
    a = a.astype(np.float64, copy=False).ravel()
    if not np.isfinite(a).all():
        n_nan = int(np.count_nonzero(np.isnan(a)))
        n_inf = int(np.count_nonzero(np.isinf(a)))
        raise ValueError(f"Observer.update: batch contains {n_nan} NaN and {n_inf} infinite "
                         f"value(s) out of {a.size}; calibration data must be finite "
                         f"(check the float model and the calibration inputs)")
    return a


class Observer:
    """Base class: validates batches, tracks the count and exact extremes.

    Subclasses implement ``_observe(batch)`` (batch: finite float64, 1-D, non-empty;
    ``self._min`` / ``self._max`` already include it) and ``_clip_range()``, which
    may return any (lo, hi) with lo <= 0 <= hi; ``range()`` then enforces the
    documented guarantees.
    """

    method = ""

    def __init__(self) -> None:
        self._count = 0
        self._min = math.inf
        self._max = -math.inf

    def update(self, x: np.ndarray) -> None:
        """Observe one calibration batch of a tensor (any shape, float32/float64).

        Raises:
            ValueError: empty batch, or NaN / infinite values (the message counts
                them); the observer is left unchanged.
            TypeError: non-numeric (or bool / complex) data.
        """
        a = _finite_batch(x)
        self._min = min(self._min, float(a.min()))
        self._max = max(self._max, float(a.max()))
        self._count += int(a.size)
        self._observe(a)

    @property
    def count(self) -> int:
        """Number of values observed so far."""
        return self._count

    @property
    def extrema(self) -> Tuple[float, float]:
        """Exact (min, max) of all values observed (not extended to include 0)."""
        if self._count == 0:
            raise ValueError(f"{type(self).__name__}: no data observed yet")
        return self._min, self._max

    def range(self) -> Tuple[float, float]:
        """Clipping range (lo, hi) to quantize to, as Python floats.

        Guarantees lo <= 0 <= hi, lo < hi, and that ``choose_qparams(lo, hi)``
        succeeds.  All values exactly 0.0: (-ZERO_RANGE_HALF_WIDTH,
        ZERO_RANGE_HALF_WIDTH).  If a method's range collapses to (0, 0) although
        some value is non-zero (e.g. the 99.99th percentile of a tensor that is
        99.995% zeros), the min/max range is used.  Ranges narrower than
        MIN_RANGE_WIDTH (1e-30) are scaled up to it.  A range that is tiny next to
        the scales of neighbouring tensors can still give requantization
        multipliers beyond 2**30; that check belongs to the converter.

        Raises:
            ValueError: no data observed.
        """
        if self._count == 0:
            raise ValueError(f"{type(self).__name__}.range(): no data observed "
                             f"(update() was never called)")
        full_lo, full_hi = min(self._min, 0.0), max(self._max, 0.0)
        if full_lo == full_hi:
            return -ZERO_RANGE_HALF_WIDTH, ZERO_RANGE_HALF_WIDTH
        lo, hi = self._clip_range()
        lo = min(max(float(lo), full_lo), 0.0) + 0.0  # + 0.0: no -0.0
        hi = max(min(float(hi), full_hi), 0.0) + 0.0
        if lo == hi:
            lo, hi = full_lo, full_hi
        if hi - lo < MIN_RANGE_WIDTH:
            stretch = MIN_RANGE_WIDTH / (hi - lo)
            lo, hi = lo * stretch, hi * stretch
        return lo, hi

    def _observe(self, a: np.ndarray) -> None:
        raise NotImplementedError

    def _clip_range(self) -> Tuple[float, float]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(count={self._count})"


class MinMaxObserver(Observer):
    """Running min and max: range = (min(data_min, 0), max(data_max, 0)), exact."""

    method = "minmax"

    def _observe(self, a: np.ndarray) -> None:
        pass  # the base class already tracks the extremes

    def _clip_range(self) -> Tuple[float, float]:
        return min(self._min, 0.0), max(self._max, 0.0)


class HistogramObserver(Observer):
    """Fixed-size streaming histogram over a range that grows with the data.

    Layout: ``bins`` counters of equal width ``w``; counter ``i`` holds the values
    x != 0 with ``floor(x / w) == offset + i``, i.e. x in [(offset+i) w,
    (offset+i+1) w).  Real 0.0 is always a bin edge, and values exactly 0.0 are
    counted apart (``zero_count``) as a point mass, since zero is exactly
    representable by every candidate range.  The window always contains the data
    extremes and the edge 0.

    Growth: the first batch holding a non-zero value sets
    ``w = (max(hi, 0) - min(lo, 0)) / (bins - 2)``.  When a later batch falls
    outside the window, ``w`` is doubled as few times as needed (d times) for
    the new extent to fit; since floor(x / (w 2**d)) = floor(floor(x / w) / 2**d),
    old counter k merges exactly into counter k >> d (pairs of bins nest), and
    the window is re-placed to cover [min, max] with the spare bins split between
    the negative and positive sides in proportion to their extents (all spare
    bins on the positive side for non-negative data such as ReLU outputs).

    Approximation error: merging is exact, so the histogram is identical to
    binning all the data at the final width.  The only loss is the position of a
    value inside its bin, and the final width is bounded by
    ``w < 2 * (max(data_max, 0) - min(data_min, 0)) / (bins - 2)``, at most twice
    what one batch holding all the data gets.  Derived quantities (percentiles,
    candidate clipping bounds) are therefore resolved to about one bin width,
    except that the outermost bins are clipped to the exact data extremes, so "no
    clipping" reproduces the min/max range exactly.  Streamed and one-shot
    percentiles differ by about a bin; the minimisers (mse, entropy) can move
    further where their objective is flat or noisy (see their docstrings).  Heavy
    outliers stretch the bins: with outliers 1000x the bulk of the data, the bulk
    occupies only a few of 2048 bins; raise ``bins`` for finer decisions.
    Memory is O(bins) whatever the data; the result depends (within the bound
    above) on the batch order.
    """

    def __init__(self, bins: int = 2048) -> None:
        super().__init__()
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < _MIN_BINS:
            raise ValueError(f"{type(self).__name__}: bins must be an int >= {_MIN_BINS}, "
                             f"got {bins!r}")
        self._bins = int(bins)
        self._counts = np.zeros(self._bins, np.int64)
        self._width = None  # set by the first non-zero value
        self._offset = 0
        self._zeros = 0

    # ---- public introspection ----
    @property
    def bins(self) -> int:
        """Number of histogram counters (fixed)."""
        return self._bins

    @property
    def bin_width(self):
        """Current bin width, or None while every value seen was 0.0."""
        return self._width

    @property
    def zero_count(self) -> int:
        """Number of values exactly 0.0 (kept out of the histogram counters)."""
        return self._zeros

    def histogram(self) -> Tuple[np.ndarray, np.ndarray]:
        """(edges, counts): ``bins + 1`` edges and ``bins`` counts (copies) of the
        non-zero values; values exactly 0.0 are in ``zero_count``.

        Raises:
            ValueError: no non-zero value observed yet (no bin width).
        """
        if self._width is None:
            raise ValueError(f"{type(self).__name__}: no non-zero value observed yet")
        edges = (self._offset + np.arange(self._bins + 1)) * self._width
        return edges, self._counts.copy()

    # ---- streaming ----
    @staticmethod
    def _bin_index(x: float, width: float) -> int:
        """floor(x / width) as a Python int (+-2**80 if the ratio overflows)."""
        r = x / width
        return math.floor(r) if math.isfinite(r) else (1 << 80) * (1 if r > 0 else -1)

    def _required(self, width: float) -> Tuple[int, int]:
        """Absolute bin indices [lo_idx, hi_idx] that the window must cover at
        ``width``: the bins of the data extremes and bin 0 (so 0 is an edge)."""
        lo_idx = min(self._bin_index(self._min, width), 0)
        hi_idx = max(self._bin_index(self._max, width), 0)
        return lo_idx, hi_idx

    def _place(self, lo_idx: int, hi_idx: int) -> int:
        """Window offset covering [lo_idx, hi_idx] (lo_idx <= 0 <= hi_idx), spare
        bins split in proportion to the negative / positive extents."""
        need_neg, need_pos = -lo_idx, hi_idx + 1
        slack = self._bins - need_neg - need_pos
        extra_neg = slack * need_neg // (need_neg + need_pos)
        return lo_idx - extra_neg

    def _observe(self, a: np.ndarray) -> None:
        nonzero = a[a != 0]
        self._zeros += a.size - nonzero.size
        if nonzero.size == 0:
            return
        if self._width is None:
            span_lo, span_hi = min(self._min, 0.0), max(self._max, 0.0)
            width = span_hi / (self._bins - 2) - span_lo / (self._bins - 2)
            width = max(width, np.finfo(np.float64).tiny)
            lo_idx, hi_idx = self._required(width)
            while hi_idx - lo_idx + 1 > self._bins:  # float rounding only
                width *= 2.0
                lo_idx, hi_idx = self._required(width)
            self._width = width
            self._offset = self._place(lo_idx, hi_idx)
        else:
            k_lo = self._bin_index(float(nonzero.min()), self._width)
            k_hi = self._bin_index(float(nonzero.max()), self._width)
            if k_lo < self._offset or k_hi >= self._offset + self._bins:
                self._grow()
        idx = np.floor(nonzero / self._width).astype(np.int64) - self._offset
        self._counts += np.bincount(idx, minlength=self._bins)

    def _grow(self) -> None:
        """Double the bin width until [min, max] fits, merge counts, re-place."""
        # start a little below the estimated number of doublings (data can span
        # hundreds of binary orders of magnitude in float64), then step by one
        half_span = max(self._max, 0.0) / 2 - min(self._min, 0.0) / 2
        doublings = 0
        if half_span > 0:
            estimate = math.log2(half_span) + 1 - math.log2(self._width) - math.log2(self._bins)
            doublings = max(0, math.floor(estimate) - 2)
        width = math.ldexp(self._width, doublings)
        lo_idx, hi_idx = self._required(width)
        while hi_idx - lo_idx + 1 > self._bins:
            doublings += 1
            width = math.ldexp(self._width, doublings)
            lo_idx, hi_idx = self._required(width)
        offset = self._place(lo_idx, hi_idx)
        occupied = np.flatnonzero(self._counts)
        old_abs = self._offset + occupied
        if doublings < 63:
            merged_abs = old_abs >> doublings  # arithmetic shift = floor division
        else:
            merged_abs = np.where(old_abs < 0, -1, 0)
        new_rel = merged_abs - offset
        merged = np.zeros(self._bins, np.int64)
        np.add.at(merged, new_rel, self._counts[occupied])
        self._counts, self._width, self._offset = merged, width, offset

    # ---- geometry shared by the range selectors ----
    def _occupied_bins(self):
        """Bins from the data minimum (or 0) to the data maximum (or 0).

        Returns (edges, counts, z): ``n + 1`` edges (float64) with the outer two
        clipped to the exact data extremes (extended to 0), the ``n`` counts
        (float64, zeros excluded) and z, the index with edges[z] == 0.0 exactly
        (bins < z are negative, bins >= z positive).
        """
        w = self._width
        lo_bin = math.floor(self._min / w) if self._min < 0 else 0
        hi_bin = math.floor(self._max / w) if self._max > 0 else -1
        counts = self._counts[lo_bin - self._offset: hi_bin - self._offset + 1].astype(np.float64)
        edges = np.arange(lo_bin, hi_bin + 2, dtype=np.float64) * w
        edges = np.clip(edges, min(self._min, 0.0), max(self._max, 0.0))
        z = -lo_bin
        edges[z] = 0.0
        return edges, counts, z


class PercentileObserver(HistogramObserver):
    """Clip each tail at a percentile: lo = the (100 - P)th percentile of the data,
    hi = the Pth (then extended to contain 0).

    The quantile function is the histogram's piecewise-linear CDF (values uniform
    inside each bin, the zeros a point mass at 0): a rank r = q * count falls in
    bin i with cumulative counts C[i-1] < r <= C[i] and maps to
    ``left_i + (r - C[i-1]) / count_i * width_i``; error at most one bin width.
    """

    method = "percentile"

    def __init__(self, percentile: float = 99.99, bins: int = 2048) -> None:
        super().__init__(bins)
        p = float(percentile)
        if not 50.0 < p <= 100.0:
            raise ValueError(f"PercentileObserver: percentile must be in (50, 100], "
                             f"got {percentile!r}")
        self.percentile = p

    def _clip_range(self) -> Tuple[float, float]:
        if self._width is None:
            return 0.0, 0.0
        edges, counts, z = self._occupied_bins()
        # segments in increasing order: negative bins, the zero atom, positive bins
        left = np.concatenate([edges[:z], [0.0], edges[z:-1]])
        right = np.concatenate([edges[1:z + 1], [0.0], edges[z + 1:]])
        mass = np.concatenate([counts[:z], [float(self._zeros)], counts[z:]])
        cum = np.cumsum(mass)
        total = cum[-1]

        def quantile(q: float) -> float:
            r = q * total
            if r <= 0:
                return self._min
            i = min(int(np.searchsorted(cum, r, side="left")), len(cum) - 1)
            before = cum[i] - mass[i]
            frac = min(max((r - before) / mass[i], 0.0), 1.0) if mass[i] > 0 else 1.0
            return float(left[i] + frac * (right[i] - left[i]))

        p = self.percentile / 100.0
        return quantile(1.0 - p), quantile(p)


class MSEObserver(HistogramObserver):
    """Clipping range minimising the expected squared quantization error.

    For a candidate range [a, b] (a <= 0 <= b) quantized with 255 steps of
    s = (b - a) / 255 onto the grid s * Z (a level sits exactly at 0, as the spec
    requires), the error decomposes (as in Banner et al., "Post training 4-bit
    quantization of convolutional networks for rapid-deployment", 2019) into::

        E(a, b) = sum_{x < a} (a - x)^2 + sum_{x > b} (x - b)^2
                  + sum_{a <= x <= b} (x - s * round(x / s))^2

    the clipping error of both tails plus the rounding error inside.  It is
    evaluated on the histogram, values uniform inside each bin (count n, bounds
    [l, r], centre c, width h = r - l):

    * tails: sum x = n c and sum x^2 = n (c^2 + h^2 / 12) per bin, accumulated in
      prefix / suffix sums, so each tail costs O(1);
    * rounding: n * (F(r) - F(l)) / h per bin inside, with F the integral of the
      squared rounding error, F(u) = m s^3 / 12 + (u - m s)^3 / 3, m = round(u / s).
      For bins much wider than s this is the familiar s^2 / 12; for bins narrower
      than s it is the actual error of values at that position (e.g. values near 0
      with a coarse step round to 0 with error x^2, not s^2 / 12 -- the uniform
      s^2 / 12 model would wrongly favour clipping huge outliers that are better
      kept);
    * values exactly 0.0 contribute nothing (0 is a level).

    Candidates: bin edges between the data minimum and 0 for a, between 0 and
    the data maximum for b (the outer ones being the exact extremes), searched by
    ``_grid_search`` (exhaustive for one-sided data, coarse to fine otherwise): at
    most ~4000 candidates of O(occupied bins) each.
    """

    method = "mse"

    def _clip_range(self) -> Tuple[float, float]:
        if self._width is None:
            return 0.0, 0.0
        real_edges, counts, z = self._occupied_bins()
        edges = real_edges / self._width  # work in bin widths: no overflow of x^2
        left, right = edges[:-1], edges[1:]
        width = right - left
        centre = 0.5 * (left + right)
        m0, m1, m2 = counts, counts * centre, counts * (centre ** 2 + width ** 2 / 12.0)
        below = [np.concatenate([[0.0], np.cumsum(m)]) for m in (m0, m1, m2)]
        total = [b[-1] for b in below]
        # clipping error of a = edges[j] (bins < j clipped up) for j = 0..z and of
        # b = edges[k] (bins >= k clipped down) for k = z..n, indexed by j and k - z
        a_all, b_all = edges[:z + 1], edges[z:]
        n_lo, s1_lo, s2_lo = (bl[:z + 1] for bl in below)
        n_hi, s1_hi, s2_hi = (t - bl[z:] for t, bl in zip(total, below))
        err_lo = np.maximum(s2_lo - 2.0 * a_all * s1_lo + a_all ** 2 * n_lo, 0.0)
        err_hi = np.maximum(s2_hi - 2.0 * b_all * s1_hi + b_all ** 2 * n_hi, 0.0)
        # only occupied bins contribute rounding error
        occupied = np.flatnonzero(counts)
        idx, counts, left, right, width = (v[occupied] for v in
                                          (np.arange(len(counts)), counts, left, right, width))
        wide = width > 0
        safe_width = np.where(wide, width, 1.0)

        def objective(js: np.ndarray, ks: np.ndarray) -> np.ndarray:
            step = ((edges[ks] - edges[js]) / _STEPS)[:, None]
            inside = (idx[None, :] >= js[:, None]) & (idx[None, :] < ks[:, None])

            def integral(u):  # integral from 0 to u of the squared rounding error
                m = np.rint(u[None, :] / step)
                r = u[None, :] - m * step
                return m * step ** 3 / 12.0 + r ** 3 / 3.0

            point = left[None, :] - step * np.rint(left[None, :] / step)
            mean_sq = np.where(wide, (integral(right) - integral(left)) / safe_width,
                               point ** 2)
            rounding = np.where(inside, counts * np.maximum(mean_sq, 0.0), 0.0).sum(axis=1)
            return err_lo[js] + err_hi[ks - z] + rounding

        j, k = _grid_search(objective, (0, z), (z, len(edges) - 1))
        return float(real_edges[j]), float(real_edges[k])


class EntropyObserver(HistogramObserver):
    """KL-divergence calibration after TensorRT (Migacz, "8-bit Inference with
    TensorRT", GTC 2017), adapted to asymmetric int8.

    TensorRT histograms |x| into 2048 bins and, for each candidate threshold of
    i >= 128 bins, compares the reference distribution P (bins [0, i) with the
    outliers beyond added to the last bin) with Q (the same i bins quantized to
    128 levels by merging groups of about i / 128 bins, each group's mass spread back
    evenly over its non-empty bins, empty bins kept empty), keeping the
    threshold with the smallest KL(P || Q) = sum P log(P / Q).

    Here, for a candidate range [a, b] = [edges[j], edges[k]] with a <= 0 <= b:

    * P: counts of bins j..k-1, the mass below a added to bin j and the mass above
      b added to bin k-1 (the values clipped to the range);
    * Q: the same bins *without* the folded outliers, quantized to the 256 int8
      levels m * s (s = (b - a) / 255, a level exactly at 0 as the spec requires):
      level m collects the mass of its rounding cell [(m - 1/2) s, (m + 1/2) s]
      (values uniform inside each bin, so a bin straddling two cells is split by
      length), and that mass is spread back uniformly over the part of the cell
      covered by bins where P > 0 (bins with P = 0 stay 0).  With cells of whole
      bins this is TensorRT's merge-and-spread; splitting by length also handles
      cells narrower than a bin, so candidates are not limited to >= 256 bins and
      huge outliers that stretch the histogram can still be clipped to the bulk;
    * both normalised; Q mixed with 1e-6 of the uniform distribution on P's
      support, so KL stays finite when clipped outliers land on an empty level;
    * candidates must span at least 3 bins and keep at least half of the non-zero
      values unclipped: when every bin of a candidate is an edge bin (one bin, or
      two around 0 on symmetric data) the clipped mass folds in proportion, P = Q
      and KL = 0 however much is clipped (TensorRT's i >= 128 avoids the same trap).

    Values exactly 0.0 are left out: zero is a level of every candidate, so the
    point mass is the same in P and Q and only scales KL by a constant factor.
    For non-negative data (ReLU outputs), a = 0 and b is searched exhaustively
    over all bin edges: TensorRT's one-sided search, with 256 levels.  All-negative
    data is the mirror image; otherwise (a, b) is searched by ``_grid_search``.

    KL is measured at histogram resolution and is noisy where the tails are
    sparse (each edge bin's count matters), so on heavy-tailed two-sided data the
    minimum can move by tens of percent between histograms of the same data
    (streamed vs one batch); on Gaussian-like or one-sided data it is stable.
    """

    method = "entropy"

    def _clip_range(self) -> Tuple[float, float]:
        if self._width is None:
            return 0.0, 0.0
        edges, counts, z = self._occupied_bins()
        n = len(counts)
        # KL works on the plain bin grid (outer bins not clipped to the extremes),
        # in units of the bin width (KL does not depend on the unit)
        grid = np.arange(n + 1, dtype=np.float64) - z
        below = np.concatenate([[0.0], np.cumsum(counts)])

        def objective(js: np.ndarray, ks: np.ndarray) -> np.ndarray:
            return _kl_divergences(counts, grid, below, js, ks)

        j, k = _grid_search(objective, (0, z), (z, n))
        return float(edges[j]), float(edges[k])


def _kl_divergences(counts: np.ndarray, grid: np.ndarray, below: np.ndarray,
                    js: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """KL(P || Q) of EntropyObserver for candidate ranges [grid[j], grid[k]]
    (vectorised over the candidates; inf for candidates clipping too much).

    Args:
        counts: (n,) bin counts; grid: (n + 1,) equally spaced bin edges;
        below: (n + 1,) cumulative counts, below[i] = counts[:i].sum();
        js, ks: candidate bin-edge indices, js < ks.
    """
    n = len(counts)
    total = below[-1]
    width = grid[1] - grid[0]
    rows = np.arange(len(js))
    a, b = grid[js], grid[ks]
    step = (b - a) / _STEPS
    first = np.rint(a / step)  # level index of a; level m is at m * step
    # rounding cells: [a, c_1), [c_1, c_2), ..., [c_255, b], c_t = (first + t - 1/2) step
    bounds = np.empty((len(js), _LEVELS + 1))
    bounds[:, 0], bounds[:, -1] = a, b
    bounds[:, 1:-1] = (first[:, None] + np.arange(1, _LEVELS) - 0.5) * step[:, None]
    bounds = np.clip(bounds, a[:, None], b[:, None])
    # quantize: unfolded mass of each cell (piecewise-linear cumulative counts)
    cell_mass = np.diff(np.interp(bounds, grid, below), axis=1)
    # P and its support: bins j..k-1, clipped mass folded into the edge bins
    idx = np.arange(n)
    inside = (idx[None, :] >= js[:, None]) & (idx[None, :] < ks[:, None])
    p = np.where(inside, counts[None, :], 0.0)
    p[rows, js] += below[js]
    p[rows, ks - 1] += total - below[ks]
    support = p > 0
    # length of each cell covered by support bins: occupied bins, plus empty edge
    # bins that received folded mass
    covered = np.concatenate([[0.0], np.cumsum(np.where(counts > 0, width, 0.0))])
    cell_cover = np.diff(np.interp(bounds, grid, covered), axis=1)
    for edge_bin, folded in ((js, below[js] > 0), (ks - 1, total - below[ks] > 0)):
        gained = folded & (counts[edge_bin] == 0)
        if edge_bin is not js:
            gained &= ~((ks - 1 == js) & (below[js] > 0))  # same bin, counted once
        if gained.any():
            ramp = np.clip(bounds - grid[edge_bin][:, None], 0.0, width)
            cell_cover += gained[:, None] * np.diff(ramp, axis=1)
    # expand: spread each cell's mass uniformly over its covered length; Q of a bin
    # is the integral of that density over the bin (cell of x: round(x/step) - first)
    has_cover = cell_cover > 0
    density = np.where(has_cover, cell_mass / np.where(has_cover, cell_cover, 1.0), 0.0)
    cum = np.concatenate([np.zeros((len(js), 1)),
                          np.cumsum(density * np.diff(bounds, axis=1), axis=1)], axis=1)
    # the cumulative is piecewise linear between cell bounds: interpolate it at the
    # bin edges, all candidates in one np.interp call (row r shifted by r * shift)
    shift = (grid[-1] - grid[0]) * 2.0 + 1.0
    offsets = rows[:, None] * shift
    at_edges = np.interp(grid[None, :] + offsets, (bounds + offsets).ravel(), cum.ravel())
    q = np.where(support, np.maximum(np.diff(at_edges, axis=1), 0.0), 0.0)
    q_sum = q.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = p / total
        q = q / q_sum[:, None]
        q = (1.0 - _KL_SMOOTHING) * q + _KL_SMOOTHING / support.sum(axis=1, keepdims=True)
        terms = np.where(support, p * np.log(np.where(support, p / q, 1.0)), 0.0)
    kl = terms.sum(axis=1)
    too_narrow = (ks - js < min(_KL_MIN_BINS, n)) | (below[ks] - below[js] < _KL_MIN_INSIDE * total)
    kl[too_narrow | ~(q_sum > 0)] = math.inf
    return kl


def _grid_search(objective: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 j_bounds: Tuple[int, int], k_bounds: Tuple[int, int],
                 coarse: int = 32, fine: int = 16, polish_rounds: int = 1,
                 block: int = 128) -> Tuple[int, int]:
    """Minimise objective(js, ks) (vectorised over candidate pairs) over integer
    pairs j in j_bounds, k in k_bounds (both inclusive), k > j.

    When one axis is fixed (data of one sign) the other is searched exhaustively
    (at most ``bins`` + 1 points).  Otherwise: a ``coarse`` x ``coarse`` grid over
    the whole box; passes of ``fine`` x ``fine`` grids on the box +-1 step around
    the best point until the step is one bin; then up to ``polish_rounds``
    rounds of exhaustive scans along j (k fixed) and along k (j fixed), stopping
    early when a round does not improve.  For 2048 bins that is about
    1024 + 3 x 256 + 2 x 1024 ~ 4000 candidates.  The full range
    (j_bounds[0], k_bounds[1]) is always evaluated; ties keep the earlier
    candidate (the widest range on each scan).  The 2-D search can still miss a
    narrow minimum of a noisy objective.
    """
    (j0, j1), (k0, k1) = j_bounds, k_bounds
    state = {"val": math.inf, "best": (j0, k1)}

    def evaluate(jj: np.ndarray, kk: np.ndarray) -> bool:
        """Evaluate the grid jj x kk (in this order); True if the best improved."""
        jg, kg = np.meshgrid(jj, kk, indexing="ij")
        jg, kg = jg.ravel(), kg.ravel()
        ok = kg > jg
        jg, kg = jg[ok], kg[ok]
        if not len(jg):
            return False
        # Degenerate candidates (ranges so narrow that the step underflows) may come
        # out inf or NaN; NaN must not hide a finite minimum from argmin.
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            vals = np.concatenate([objective(jg[s:s + block], kg[s:s + block])
                                   for s in range(0, len(jg), block)])
        vals = np.where(np.isnan(vals), np.inf, vals)
        i = int(np.argmin(vals))
        if vals[i] < state["val"]:
            state["val"], state["best"] = float(vals[i]), (int(jg[i]), int(kg[i]))
            return True
        return False

    evaluate(np.array([j0]), np.array([k1]))
    if j0 == j1 or k0 == k1:
        evaluate(np.arange(j0, j1 + 1), np.arange(k1, k0 - 1, -1))
        return state["best"]

    def axis(lo: int, hi: int, g: int, descending: bool):
        stride = max(1, -(-(hi - lo) // (g - 1)))
        pts = np.unique(np.r_[np.arange(lo, hi + 1, stride), hi])
        return (pts[::-1] if descending else pts), stride

    lo_j, hi_j, lo_k, hi_k, g = j0, j1, k0, k1, coarse
    while True:
        jj, sj = axis(lo_j, hi_j, g, False)
        kk, sk = axis(lo_k, hi_k, g, True)
        evaluate(jj, kk)
        if sj == 1 and sk == 1:
            break
        bj, bk = state["best"]
        lo_j, hi_j = max(j0, bj - sj), min(j1, bj + sj)
        lo_k, hi_k = max(k0, bk - sk), min(k1, bk + sk)
        g = fine
    for _ in range(polish_rounds):
        bj, bk = state["best"]
        moved = evaluate(np.arange(j0, j1 + 1), np.array([bk]))
        bj, bk = state["best"]
        moved |= evaluate(np.array([bj]), np.arange(k1, k0 - 1, -1))
        if not moved:
            break
    return state["best"]


_FACTORIES: Dict[str, Callable[..., Observer]] = {
    "minmax": lambda percentile, bins: MinMaxObserver(),
    "percentile": lambda percentile, bins: PercentileObserver(percentile, bins),
    "mse": lambda percentile, bins: MSEObserver(bins),
    "entropy": lambda percentile, bins: EntropyObserver(bins),
}


def make_observer(method: str, *, percentile: float = 99.99, bins: int = 2048) -> Observer:
    """A fresh observer for one tensor.

    Args:
        method: "minmax", "percentile", "mse" or "entropy".
        percentile: P for "percentile" (in (50, 100]); ignored otherwise.
        bins: histogram size for "percentile", "mse" and "entropy" (>= 64);
            ignored by "minmax".
    Raises:
        ValueError: unknown method (the message lists the valid ones) or a bad
            parameter of the chosen method.
    """
    if method not in _FACTORIES:
        raise ValueError(f"unknown calibration method {method!r}; "
                         f"valid methods: {', '.join(METHODS)}")
    return _FACTORIES[method](percentile, bins)
