"""Reference ADD, SUB and MUL on quantized int8 / int16 arrays (NumPy broadcasting).

Plain integer NumPy following TFLite's quantized reference kernels:
tensorflow/lite/kernels/add.cc, sub.cc and mul.cc (Prepare: multipliers),
kernels/internal/reference/add.h, sub.h and integer_ops/mul.h (per-element
arithmetic).  ``rounding`` is a microdl.core.fixedpoint ROUNDING_* code; LiteRT 2.3's
pip wheel and TFLite Micro both requantize these ops with double rounding
(ROUNDING_DOUBLE, the default here).
"""
from __future__ import annotations

import numpy as np

from microdl.core.fixedpoint import ROUNDING_DOUBLE, quantize_multiplier, requantize_r

F32 = np.float32


def _type_range(dtype):
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def add(x1, x2, scale1, zp1, scale2, zp2, out_scale, out_zp, act_min=None,
        act_max=None, subtract=False, rounding=ROUNDING_DOUBLE):
    """Quantized x1 + x2 (or x1 - x2) -> array of x1's dtype and the broadcast shape.

    Both inputs are shifted left by 20 bits (int8) or 15 (int16), rescaled to the
    common scale 2 * max(scale1, scale2), combined, and rescaled to the output; the
    multipliers are the double quotients of the float32 scales."""
    dtype = np.asarray(x1).dtype
    left_shift = 15 if dtype == np.int16 else 20
    s1, s2, so = F32(scale1), F32(scale2), F32(out_scale)
    twice_max = 2.0 * float(max(s1, s2))
    m1, sh1 = quantize_multiplier(float(s1) / twice_max)
    m2, sh2 = quantize_multiplier(float(s2) / twice_max)
    mo, sho = quantize_multiplier(twice_max / (float(1 << left_shift) * float(so)))
    a = (np.asarray(x1, np.int64) - zp1) << left_shift
    b = (np.asarray(x2, np.int64) - zp2) << left_shift
    a = requantize_r(a, m1, sh1, rounding)
    b = requantize_r(b, m2, sh2, rounding)
    raw = a - b if subtract else a + b
    out = requantize_r(raw, mo, sho, rounding) + out_zp
    lo, hi = _type_range(dtype)
    lo = lo if act_min is None else act_min
    hi = hi if act_max is None else act_max
    return np.clip(out, lo, hi).astype(dtype)


def sub(x1, x2, scale1, zp1, scale2, zp2, out_scale, out_zp, act_min=None,
        act_max=None, rounding=ROUNDING_DOUBLE):
    """Quantized x1 - x2; see add()."""
    return add(x1, x2, scale1, zp1, scale2, zp2, out_scale, out_zp, act_min, act_max,
               subtract=True, rounding=rounding)


def mul_real_multiplier(scale1, scale2, out_scale, float32_product=True):
    """scale1 * scale2 / out_scale: in float32 as LiteRT's mul.cc, or in double as
    TFLite Micro's mul_common.cc."""
    s1, s2, so = F32(scale1), F32(scale2), F32(out_scale)
    if float32_product:
        return float(F32(F32(s1 * s2) / so))
    return float(s1) * float(s2) / float(so)


def mul(x1, x2, scale1, zp1, scale2, zp2, out_scale, out_zp, act_min=None,
        act_max=None, float32_product=True, rounding=ROUNDING_DOUBLE):
    """Quantized x1 * x2 -> array of x1's dtype and the broadcast shape: one
    requantization of (x1 - zp1) * (x2 - zp2)."""
    dtype = np.asarray(x1).dtype
    m, sh = quantize_multiplier(mul_real_multiplier(scale1, scale2, out_scale,
                                                    float32_product))
    prod = (np.asarray(x1, np.int64) - zp1) * (np.asarray(x2, np.int64) - zp2)
    out = requantize_r(prod, m, sh, rounding) + out_zp
    lo, hi = _type_range(dtype)
    lo = lo if act_min is None else act_min
    hi = hi if act_max is None else act_max
    return np.clip(out, lo, hi).astype(dtype)
