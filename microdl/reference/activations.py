"""Reference activations and (de)quantization: what microdl's SOFTMAX, LOGISTIC, TANH,
HARD_SWISH, LEAKY_RELU, RELU, RELU6, RELU_N1_TO_1, QUANTIZE and DEQUANTIZE compute.

Written for clarity, one element at a time with Python integers and numpy float32
scalars, straight from TFLite's reference kernels (tflite/kernels/activations.cc,
quantize.cc, dequantize.cc and kernels/internal/reference/*.h) and gemmlowp's
fixedpoint.h.  It shares no code with the prepare functions in
microdl/runtime/ops/activations.py and quantize.py, which build the same results as
lookup tables and kernel parameters; tests compare the two and LiteRT.

`rounding` is microdl.core.fixedpoint.ROUNDING_SINGLE or ROUNDING_DOUBLE: the
MultiplyByQuantizedMultiplier variant (LiteRT 2.3's activation and quantize kernels
use double rounding, see microdl/runtime/ops/activations.py).
"""
from __future__ import annotations

import ctypes
import math

import numpy as np

F32 = np.float32
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
ROUNDING_DOUBLE, ROUNDING_SINGLE = 0, 1


# ------------------------------------------------------------ integer primitives
def wrap32(v):
    """Two's-complement int32 wrap of a Python int."""
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def wrap16(v):
    return ((v + (1 << 15)) & 0xFFFF) - (1 << 15)


def trunc_div(a, b):
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul (int32)."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    return trunc_div(ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30)), 1 << 31)


def rdbpot(x, exponent):
    """gemmlowp RoundingDivideByPOT (int32): x / 2^exponent, ties away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x, multiplier, shift, rounding):
    """TFLite MultiplyByQuantizedMultiplier in either rounding."""
    if rounding == ROUNDING_SINGLE:
        total = 31 - shift
        return wrap32((x * multiplier + (1 << (total - 1))) >> total)
    left, right = max(shift, 0), max(-shift, 0)
    return rdbpot(srdhm(wrap32(x * (1 << left)), multiplier), right)


def quantize_multiplier(real):
    """TFLite QuantizeMultiplier (double): (multiplier, shift), shift not capped."""
    if real == 0:
        return 0, 0
    q, shift = math.frexp(real)
    m = int(math.floor(q * (1 << 31) + 0.5))
    if m == 1 << 31:
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return m, shift


# ------------------------------------------------------------ float primitives
def _c_math(name):
    for lib in (None, "libm.so.6", "libm.dylib", "ucrtbase"):
        try:
            fn = getattr(ctypes.CDLL(lib), name)
        except (OSError, AttributeError, TypeError):
            continue
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
        return lambda x: F32(fn(float(x)))
    return lambda x: F32(getattr(math, name[:-1])(float(x)))


expf = _c_math("expf")
tanhf = _c_math("tanhf")


def roundf(v):
    """std::round on a float32: half away from zero (returns a float32)."""
    v = F32(v)
    if not abs(v) < 2 ** 23:  # integral already, or NaN / infinite
        return v
    t = F32(math.trunc(float(v)))
    frac = F32(v - t)
    if frac >= 0.5:
        return F32(t + 1)
    if frac <= -0.5:
        return F32(t - 1)
    return t


def float_to_int32(v):
    """static_cast<int32_t> of a float as x86-64 does it (invalid -> INT32_MIN)."""
    v = float(v)
    if math.isnan(v) or not -2.0 ** 31 <= v < 2.0 ** 31:
        return INT32_MIN
    return int(v)


def _elementwise(fn, x, dtype):
    x = np.asarray(x)
    return np.array([fn(int(v)) for v in x.ravel()], np.int64).astype(dtype).reshape(
        x.shape) if x.size else np.zeros(x.shape, dtype)


def _cast(v, dtype):
    """static_cast to a narrower signed integer type (wrap)."""
    bits = np.dtype(dtype).itemsize * 8
    return ((v + (1 << (bits - 1))) & ((1 << bits) - 1)) - (1 << (bits - 1))


# ------------------------------------------------------------ activations
def _lut_function(x, in_scale, in_zp, out_scale, out_zp, transform):
    """LUTPopulate<int8_t>'s float32 recipe, applied to each int8 input."""
    inverse_scale = F32(1) / F32(out_scale)

    def one(v):
        y = transform(F32(F32(in_scale) * F32(v - in_zp)))
        q = float_to_int32(F32(roundf(F32(y * inverse_scale)) + F32(out_zp)))
        return min(max(q, -128), 127)

    return _elementwise(one, x, np.int8)


def logistic_s8(x, in_scale, in_zp, out_scale, out_zp):
    """LOGISTIC int8: 1 / (1 + exp(-x)) in float32, requantized."""
    return _lut_function(x, in_scale, in_zp, out_scale, out_zp,
                         lambda v: F32(F32(1) / F32(F32(1) + expf(-v))))


def tanh_s8(x, in_scale, in_zp, out_scale, out_zp):
    """TANH int8: tanh in float32, requantized."""
    return _lut_function(x, in_scale, in_zp, out_scale, out_zp, tanhf)


def relu_x(x, in_scale, in_zp, out_scale, out_zp, lo, hi, rounding):
    """RELU (lo=0, hi=None), RELU6 (0, 6), RELU_N1_TO_1 (-1, 1) on int8 / int16 x."""
    dtype = np.asarray(x).dtype
    info = np.iinfo(dtype)
    mult, shift = quantize_multiplier(float(F32(in_scale) / F32(out_scale)))

    def bound(act):
        return wrap32(out_zp + float_to_int32(roundf(F32(act) / F32(out_scale))))

    act_min = max(int(info.min), bound(lo))
    act_max = int(info.max) if hi is None else min(int(info.max), bound(hi))

    def one(v):
        y = wrap32(out_zp + multiply_by_quantized_multiplier(v - in_zp, mult, shift,
                                                             rounding))
        return _cast(min(max(y, act_min), act_max), dtype)

    return _elementwise(one, x, dtype)


def leaky_relu(x, in_scale, in_zp, out_scale, out_zp, alpha, rounding):
    """LEAKY_RELU on int8 / int16 x: identity scale from the zero point up, alpha
    below."""
    dtype = np.asarray(x).dtype
    info = np.iinfo(dtype)
    mi, si = quantize_multiplier(float(F32(in_scale) / F32(out_scale)))
    alpha_real = float(F32(F32(in_scale) * F32(alpha)) / F32(out_scale))
    ma, sa = quantize_multiplier(abs(alpha_real))

    def one(v):
        d = v - in_zp
        if d >= 0:
            y = multiply_by_quantized_multiplier(d, mi, si, rounding)
        else:
            y = multiply_by_quantized_multiplier(d, ma, sa, rounding)
            if alpha_real < 0:
                y = wrap32(-y)
        return min(max(wrap32(out_zp + y), int(info.min)), int(info.max))

    return _elementwise(one, x, dtype)


def _srdhm16(a, b):
    if a == b == -32768:
        return 32767
    ab = a * b
    return wrap16(trunc_div(ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14)), 1 << 15))


def _rdbpot16(x, exponent):
    mask = wrap16((1 << exponent) - 1)  # Dup<int16_t> cuts the mask to 16 bits
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return wrap16((x >> exponent) + (1 if remainder > threshold else 0))


def hard_swish_s8(x, in_scale, in_zp, out_scale, out_zp):
    """HARD_SWISH int8: x * relu6(x + 3) / 6 in TFLite's int16 fixed point."""
    hires_scale = F32(F32(1.0 / 128.0) * F32(in_scale))

    def int16_multiplier(real):
        m, e = quantize_multiplier(float(real))
        m16 = 32767 if m >= INT32_MAX - (1 << 15) else (m + (1 << 15)) >> 16
        return m16, e

    out_m, out_e = int16_multiplier(F32(hires_scale / F32(out_scale)))
    rel_m, rel_e = int16_multiplier(F32(hires_scale / (F32(3.0) / F32(32768.0))))
    assert out_e <= 0

    def one(v):
        hires = wrap16(wrap16(v - in_zp) * 128)
        preshift = _srdhm16(hires, out_m)
        reluish = hires
        if rel_e > 0:
            reluish = min(max(reluish * (1 << (rel_e - 1)), -32768), 32767)
        reluish = _srdhm16(reluish, rel_m)
        if rel_e > 0:
            reluish = min(max(reluish * 2, -32768), 32767)
        if rel_e < 0:
            reluish = _rdbpot16(reluish, -rel_e)
        reluish = (reluish + (1 << 15)) >> 1
        if reluish == -32768 and preshift == -32768:
            product = 32767
        else:
            product = wrap16(trunc_div(reluish * preshift, 1 << 15))
        out = wrap16(_rdbpot16(product, -out_e) + out_zp)
        return min(max(out, -128), 127)

    return _elementwise(one, x, np.int8)


# ------------------------------------------------------------ softmax (gemmlowp)
def _sat_mul_pot(x, exponent):
    """gemmlowp SaturatingRoundingMultiplyByPOT for exponent > 0."""
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x * (1 << exponent)


def exp_on_negative_values(a, integer_bits):
    """gemmlowp exp_on_negative_values: a <= 0 in Q(integer_bits); exp(a) in Q0.31."""
    frac_bits = 31 - integer_bits
    quarter = 1 << (frac_bits - 2)
    a_mod = (a & (quarter - 1)) - quarter
    # exp on [-1/4, 0): x = a_mod + 1/8 in Q0.31, Taylor series around -1/8.
    x = (_sat_mul_pot(a_mod, integer_bits) if integer_bits else a_mod) + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    poly = rdbpot(srdhm(rdbpot(x4, 2) + x3, 715827883) + x2, 1)  # 1/3 in Q0.31
    exp_minus_eighth = 1895147668
    result = wrap32(exp_minus_eighth + srdhm(exp_minus_eighth, x + poly))
    remainder = a_mod - a
    barrel = {-2: 1672461947, -1: 1302514674, 0: 790015084, 1: 290630308,
              2: 39332535, 3: 720401, 4: 242}  # exp(-2^e) in Q0.31
    for exponent, multiplier in barrel.items():
        if integer_bits > exponent and remainder & (1 << (frac_bits + exponent)):
            result = srdhm(result, multiplier)
    if integer_bits > 5 and a < -(1 << (36 - integer_bits)):
        result = 0
    return INT32_MAX if a == 0 else result


def one_over_one_plus_x(a):
    """gemmlowp one_over_one_plus_x_for_x_in_0_1 (Q0.31 in and out)."""
    s = a + INT32_MAX
    half_denominator = trunc_div(s + (1 if s >= 0 else -1), 2)
    x = 1515870810 + srdhm(half_denominator, -1010580540)  # 48/17 - 32/17 d, Q2.29
    for _ in range(3):
        one_minus = (1 << 29) - srdhm(half_denominator, x)
        x = x + _sat_mul_pot(srdhm(x, one_minus), 2)
    return _sat_mul_pot(x, 1)


def softmax_s8(x, in_scale, beta, rounding, out_dtype=np.int8):
    """SOFTMAX int8 -> int8 (scale 1/256, zero point -128) or int16 (scale 1/65536,
    zero point -32768) over the last axis."""
    info = np.iinfo(out_dtype)
    out_bits = np.dtype(out_dtype).itemsize * 8
    max_real = (1 << 30) - 1.0 if rounding == ROUNDING_SINGLE else (1 << 31) - 1.0
    real = min(float(beta) * float(in_scale) * (1 << 26), max_real)
    mult, shift = quantize_multiplier(real)
    if rounding == ROUNDING_SINGLE and shift > 30:
        mult, shift = INT32_MAX, 30
    diff_min = -math.floor(31.0 * (1 << 26) / (1 << shift))

    def rescale(d):  # MultiplyByQuantizedMultiplierGreaterThanOne
        if rounding == ROUNDING_SINGLE:
            return multiply_by_quantized_multiplier(d, mult, shift, rounding)
        return srdhm(wrap32(d * (1 << shift)), mult)

    x = np.asarray(x)
    rows = x.reshape(-1, x.shape[-1]).astype(np.int64)
    out = np.empty(rows.shape, out_dtype)
    for r, row in enumerate(rows):
        row = [int(v) for v in row]
        top = max(row)
        exps = [exp_on_negative_values(rescale(v - top), 5) if v - top >= diff_min
                else None for v in row]
        total = 0  # Q12.19
        for e in exps:
            if e is not None:
                total = wrap32(total + rdbpot(e, 12))
        total_u32 = total & 0xFFFFFFFF
        headroom_plus_one = 32 - total_u32.bit_length()  # count leading zeros
        num_bits_over_unit = 12 - headroom_plus_one
        normalised = (total_u32 << headroom_plus_one) & 0xFFFFFFFF
        scale = one_over_one_plus_x(wrap32(normalised - (1 << 31)))
        exponent = num_bits_over_unit + 31 - out_bits
        for c, e in enumerate(exps):
            if e is None:
                out[r, c] = info.min
            else:
                q = rdbpot(srdhm(scale, e), exponent) + int(info.min)
                out[r, c] = min(max(q, int(info.min)), int(info.max))
    return out.reshape(x.shape)


# ------------------------------------------------------------ (de)quantization
def quantize_f32(x, scale, zero_point, dtype):
    """QUANTIZE float32 -> int8 / int16: round(x / scale) + zero_point, clamped."""
    info = np.iinfo(dtype)
    x = np.asarray(x, F32)
    out = [min(max(wrap32(float_to_int32(roundf(F32(v / F32(scale)))) + zero_point),
                   int(info.min)), int(info.max)) for v in x.ravel()]
    return np.array(out, np.int64).astype(dtype).reshape(x.shape)


def dequantize(x, scale, zero_point):
    """DEQUANTIZE int8 / int16 -> float32: float(double(scale) * (q - zero_point))."""
    x = np.asarray(x)
    out = [F32(float(F32(scale)) * (int(v) - zero_point)) for v in x.ravel()]
    return np.array(out, F32).reshape(x.shape)


def requantize(x, in_scale, in_zp, out_scale, out_zp, dtype, rounding):
    """QUANTIZE between integer types: requantize by in_scale / out_scale (double)."""
    info = np.iinfo(dtype)
    mult, shift = quantize_multiplier(float(F32(in_scale)) / float(F32(out_scale)))

    def one(v):
        y = multiply_by_quantized_multiplier(wrap32(v - in_zp), mult, shift, rounding)
        return min(max(wrap32(y + out_zp), int(info.min)), int(info.max))

    return _elementwise(one, x, dtype)
