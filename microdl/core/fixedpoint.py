"""Fixed-point requantization: the numpy twin of cext/include/mdl_fixedpoint.h.

Formulas follow TFLite's quantization spec and its reference kernels
(tensorflow/lite/kernels/internal/quantization_util.cc QuantizeMultiplier and
common.h MultiplyByQuantizedMultiplier, after gemmlowp's fixedpoint.h):
a real multiplier M is stored as an int32 Q0.31 `multiplier` and a power-of-two
`shift` (positive = left shift), M ~= multiplier * 2**(shift - 31).
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def quantize_multiplier(real_multiplier: float):
    """Split a non-negative real multiplier into (multiplier, shift).

    Returns Python ints: multiplier in [2**30, 2**31) (or 0) and shift such that
    real ~= multiplier * 2**(shift - 31).  Matches TFLite's QuantizeMultiplier
    (frexp, round half away from zero, renormalise at 2**31, flush below 2**-31 to 0).

    Raises:
        ValueError: real_multiplier is negative or not finite.
    """
    real = float(real_multiplier)
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"multiplier must be finite and >= 0, got {real_multiplier}")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)  # real = q * 2**shift, q in [0.5, 1)
    q_fixed = int(round_half_away(q * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise ValueError(f"multiplier {real_multiplier} is too large (>= 2**30)")
    return int(q_fixed), int(shift)


def quantize_multiplier_array(reals):
    """Vector form of quantize_multiplier: returns (int32 multipliers, int32 shifts)."""
    pairs = [quantize_multiplier(r) for r in np.asarray(reals, np.float64).ravel()]
    m = np.array([p[0] for p in pairs], np.int32)
    s = np.array([p[1] for p in pairs], np.int32)
    return m, s


def round_half_away(x):
    """std::round / TfLiteRound: the nearest integer, ties away from zero, exactly for
    every float32 and float64 value (no x + 0.5 rounding error: 0.49999997f rounds to
    0).  Scalars and arrays; returns floats of x's dtype (float64 for Python numbers
    and integers), NaN and infinities unchanged.  The one copy for the package
    (microdl/reference/ keeps its own re-derivations as independent oracles)."""
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    t = np.trunc(a)
    with np.errstate(invalid="ignore"):
        frac = a - t  # exact: t and a share their exponent's ulp
        r = (t + (frac >= 0.5) - (frac <= -0.5)).astype(a.dtype)
    return r if r.ndim else a.dtype.type(r)


def sat_rounding_doubling_high_mul(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 arrays (returns int64 array
    holding int32 values)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    # C division truncates toward zero.
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, INT32_MAX, q)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2**exponent, round half away from zero."""
    x = np.asarray(x, np.int64)
    exponent = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def wrap_int32(x):
    """Two's-complement wrap of int64 values to int32 range."""
    x = np.asarray(x, np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def requantize(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplier on int32 values (numpy, broadcasting)."""
    x = np.asarray(x, np.int64)
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rounding_divide_by_pot(
        sat_rounding_doubling_high_mul(wrap_int32(x << left), multiplier), right)


ROUNDING_DOUBLE = 0  # TFLite's source default and TFLite Micro
ROUNDING_SINGLE = 1  # TFLITE_SINGLE_ROUNDING, as built into the LiteRT pip wheels
ROUNDINGS = {"double": ROUNDING_DOUBLE, "single": ROUNDING_SINGLE}


def requantize_single(x, multiplier, shift):
    """MultiplyByQuantizedMultiplier under TFLITE_SINGLE_ROUNDING:
    (x * multiplier + 2**(30 - shift)) >> (31 - shift)."""
    x = np.asarray(x, np.int64)
    total = 31 - np.asarray(shift, np.int64)
    prod = x * np.asarray(multiplier, np.int64)  # |x| < 2**32, |m| < 2**31: fits
    return (prod + (np.int64(1) << (total - 1))) >> total


def requantize_r(x, multiplier, shift, rounding):
    """requantize (double rounding) or requantize_single, by ROUNDING_* code."""
    if rounding == ROUNDING_SINGLE:
        return requantize_single(x, multiplier, shift)
    return requantize(x, multiplier, shift)


def requantize_smaller_than_one(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0)."""
    return rounding_divide_by_pot(sat_rounding_doubling_high_mul(x, multiplier),
                                  -np.asarray(shift, np.int64))
