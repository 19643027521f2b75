"""Activations: SOFTMAX, LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU, RELU6,
RELU_N1_TO_1, and the int8 lookup-table forms of EXP, LOG, GELU, ABS and NEG.

Supported: int8 for all (any shape, per-tensor quantization); int16 for LEAKY_RELU,
RELU, RELU6 and RELU_N1_TO_1 (zero points 0, as LiteRT requires).  The C kernels are in
cext/include/mdl_activations.h.

Every int8 op here except SOFTMAX is a function of one int8 value, so prepare evaluates
TFLite's exact arithmetic for the 256 possible inputs and the C kernel ``lut_s8`` looks
the result up.  The arithmetic (LiteRT 2.3, tflite/kernels/activations.cc, as run by
the BUILTIN_REF resolver; checked bit for bit against the pip wheel):

- LOGISTIC, TANH (int8): LUTPopulate<int8_t> (kernels/internal/common.h), float32
  throughout: ``x = input_scale * (q - input_zp)``, ``y = 1 / (1 + expf(-x))`` or
  ``tanhf(x)``, ``q_out = (int)(TfLiteRound(y * (1 / output_scale)) + output_zp)``
  clamped.  expf / tanhf are the platform C library's, called through ctypes, so the
  table matches LiteRT on the same machine.  LOGISTIC requires output scale exactly
  1/256 (any zero point); TANH accepts any output quantization.
- RELU, RELU6, RELU_N1_TO_1: QuantizedReluX / ReluX: ``output_zp +
  MultiplyByQuantizedMultiplier(q - input_zp, input_scale / output_scale)`` (float32
  division, then QuantizeMultiplier in double), clamped to ``[max(qmin, output_zp +
  (int)roundf(lo / output_scale)), min(qmax, output_zp + (int)roundf(hi /
  output_scale))]``.
- LEAKY_RELU: reference_ops::QuantizeLeakyRelu with multipliers ``input_scale * alpha /
  output_scale`` and ``input_scale / output_scale`` (float32, then double); a negative
  alpha uses |alpha| and negates the product.
- HARD_SWISH: reference_ops::HardSwish (int16 fixed point with 16-bit multipliers,
  kernels/internal/reference/hard_swish.h), multipliers from float32 scales as in
  HardSwishPrepare; rejected if the output multiplier exponent is > 0, as LiteRT does.
- SOFTMAX (int8 -> int8 or int16): reference_ops::Softmax with gemmlowp fixed point:
  PreprocessSoftmaxScaling(beta, input_scale, 5 integer bits), diff_min from
  CalculateInputRadius, exp_on_negative_values of the rescaled difference from the row
  maximum, sum in Q12.19, GetReciprocal.  The exp depends only on the difference
  (0..255), so prepare computes those 256 Q0.31 values (numpy twin of gemmlowp below)
  and the C kernel ``softmax_s8`` does the sum, reciprocal and scaling.  Output must be
  zero point -128 and scale 1/256 (within 0.1 %, LiteRT's check), or int16 with zero
  point -32768 and scale 1/65536 (TFLite Micro's check).

Rounding: measured on LiteRT 2.3's pip wheel, these kernels requantize with gemmlowp's
double rounding (SaturatingRoundingDoublingHighMul then RoundingDivideByPOT), although
the wheel's FULLY_CONNECTED uses TFLITE_SINGLE_ROUNDING (RELU with a multiplier in
[0.25, 0.5) rounds x.25 up: the mark of double rounding); TFLite Micro double-rounds
too.
So the tables and the int16 kernel always use MDL_ROUNDING_DOUBLE.  SOFTMAX follows
ctx.rounding (single: 2^30 - 1 multiplier cap and single-rounding rescale of the
difference, as TFLite's source under TFLITE_SINGLE_ROUNDING; double: TFLite Micro);
the two differ only on exact negative ties, which no test could expose.

Rejected as Unsupported: other dtypes (uint8, float, int16 input to LOGISTIC / TANH /
HARD_SWISH / SOFTMAX), per-channel quantization, configurations LiteRT refuses
(LOGISTIC output scale other than 1/256, SOFTMAX int8 output not (1/256, -128), beta *
input_scale so small that the softmax multiplier is <= 1, int16 non-zero zero points),
SOFTMAX int16 output not (1/65536, -32768), scale ratios of 2^30 or more, op versions
above LiteRT's.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import (ROUNDING_DOUBLE, ROUNDING_SINGLE, round_half_away,
                                      quantize_multiplier, requantize_r,
                                      rounding_divide_by_pot,
                                      sat_rounding_doubling_high_mul, wrap_int32)
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (INT8, INT16, check_shape, per_tensor_quant,
                                        qrange, require_dtype, require_io_count,
                                        tensor_at)

F32 = np.float32
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

# Requantization rounding of LiteRT 2.3's activations.cc kernels (measured) and of
# TFLite Micro: gemmlowp double rounding.
ACTIVATION_ROUNDING = ROUNDING_DOUBLE

# Highest op version LiteRT's BuiltinRefOpResolver registers for each op.
MAX_VERSION = {"SOFTMAX": 3, "LOGISTIC": 3, "TANH": 3, "HARD_SWISH": 1,
               "LEAKY_RELU": 2, "RELU": 3, "RELU6": 3, "RELU_N1_TO_1": 1,
               "EXP": 2, "LOG": 2, "GELU": 2, "ABS": 5, "NEG": 2}

# int8 values in lookup-table order: entry i holds the result for int8(i)
# (0..127, then -128..-1), the order TFLite's LUTPopulate<int8_t> uses.
LUT_INPUTS = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.int64)


# ----------------------------------------------------------------- float helpers
@functools.lru_cache(maxsize=None)
def libm_function(name):
    """The C library's float function `name` (e.g. "expf") as a Python callable
    float -> np.float32, or a float64-evaluated, float32-rounded fallback when no C
    library is reachable through ctypes."""
    candidates = [None]
    found = ctypes.util.find_library("m")
    if found:
        candidates.append(found)
    for lib_name in candidates + ["ucrtbase", "msvcrt"]:
        try:
            fn = getattr(ctypes.CDLL(lib_name), name)
        except (OSError, AttributeError, TypeError):
            continue
        fn.restype = ctypes.c_float
        fn.argtypes = [ctypes.c_float]
        return lambda x, fn=fn: F32(fn(float(x)))
    fallback = {"expf": math.exp, "tanhf": math.tanh, "logf": math.log,
                "erff": math.erf}[name]

    def evaluate(x):
        try:
            return F32(fallback(float(x)))
        except OverflowError:
            return F32(np.inf)
        except ValueError:  # log of 0 or of a negative number
            return F32(-np.inf) if float(x) == 0 else F32(np.nan)

    return evaluate


def f32_to_int32_x86(v):
    """static_cast<int32_t> of integral float32 values as x86-64 does it: NaN and values
    outside [-2^31, 2^31) become INT32_MIN.  Returns int64 values."""
    v = np.asarray(v, F32).astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = (v >= -2.0 ** 31) & (v < 2.0 ** 31)
    return np.where(ok, np.nan_to_num(v), float(INT32_MIN)).astype(np.int64)


def quantized_bound(act, scale, zero_point):
    """output_zp + (int32)roundf(act / output_scale) in float32 and int32 (wrapping)."""
    r = round_half_away(np.array(F32(act) / F32(scale), F32))
    return int(wrap_int32(int(f32_to_int32_x86(r)) + zero_point))


def multiplier_of(real, what):
    """quantize_multiplier(real) with Unsupported for ratios of 2^30 and more."""
    try:
        return quantize_multiplier(real)
    except ValueError:
        raise Unsupported(f"{what} multiplier {real} is too large (>= 2^30)") from None


def lut_node(x, y, table):
    return Node("lut_s8", dict(size=x.size), [x.index, np.asarray(table, np.int8)],
                y.index)


def to_int8_table(values):
    """static_cast<int8_t> of int32 values (wrapping), as a table."""
    return (np.asarray(values, np.int64) & 0xFF).astype(np.uint8).view(np.int8)


# ----------------------------------------------------------------- the tables
def float_function_table(in_scale, in_zp, out_scale, out_zp, transform, saturate=False):
    """LUTPopulate<int8_t>: the int8[256] table of `transform` (float32 -> float32).
    saturate: a rescaled value above the int32 range gives 127 (LiteRT's EXP, measured:
    exp overflows the output range there), instead of x86-64's INT32_MIN cast."""
    inverse_scale = F32(1) / F32(out_scale)
    values = []
    with np.errstate(over="ignore", invalid="ignore"):
        for v in LUT_INPUTS:
            x = F32(F32(in_scale) * F32(int(v) - in_zp))
            y = F32(transform(x))
            rescaled = round_half_away(np.array(y * inverse_scale, F32))
            shifted = np.array(rescaled + F32(out_zp), F32)
            if saturate and shifted >= F32(2.0 ** 31):
                values.append(127)
                continue
            values.append(int(f32_to_int32_x86(shifted)))
    return to_int8_table(np.clip(values, -128, 127))


def exp_f32(x):
    return libm_function("expf")(x)


def log_f32(x):
    return libm_function("logf")(x)


def gelu_f32(x):
    """GeluTransform: 0.5f * x * (1.f + erff(x * (float)M_SQRT1_2)), float32."""
    x = F32(x)
    e = libm_function("erff")(F32(x * F32(math.sqrt(0.5))))
    return F32(F32(F32(0.5) * x) * F32(F32(1) + e))


def logistic_f32(x):
    """1.0f / (1.0f + expf(-x)) in float32."""
    return F32(F32(1) / F32(F32(1) + libm_function("expf")(F32(-x))))


def tanh_f32(x):
    return libm_function("tanhf")(x)


def relu_x_values(x, in_scale, in_zp, out_scale, out_zp, lo, hi, dtype, rounding):
    """ReluX on integer inputs `x` (int64 array): int32 results before the cast."""
    qmin, qmax = qrange(dtype)
    mult, shift = multiplier_of(float(F32(in_scale) / F32(out_scale)), "RELU")
    act_min = max(qmin, quantized_bound(lo, out_scale, out_zp))
    act_max = qmax if hi is None else min(qmax, quantized_bound(hi, out_scale, out_zp))
    y = wrap_int32(out_zp + requantize_r(x - in_zp, mult, shift, rounding))
    return np.minimum(np.maximum(y, act_min), act_max)


def leaky_relu_multipliers(in_scale, out_scale, alpha):
    """((identity multiplier, shift), (|alpha| multiplier, shift), alpha < 0) from the
    float32 products of LeakyReluPrepare."""
    identity = float(F32(in_scale) / F32(out_scale))
    alpha_real = float(F32(F32(in_scale) * F32(alpha)) / F32(out_scale))
    return (multiplier_of(identity, "LEAKY_RELU identity"),
            multiplier_of(abs(alpha_real), "LEAKY_RELU alpha"), alpha_real < 0)


def leaky_relu_values(x, in_zp, out_zp, multipliers, dtype, rounding):
    (mi, si), (ma, sa), negative = multipliers
    d = x - in_zp
    pos = requantize_r(d, mi, si, rounding)
    neg = requantize_r(d, ma, sa, rounding)
    neg = wrap_int32(-neg) if negative else neg
    qmin, qmax = qrange(dtype)
    return np.clip(wrap_int32(out_zp + np.where(d >= 0, pos, neg)), qmin, qmax)


def _wrap16(x):
    return ((np.asarray(x, np.int64) + 32768) & 0xFFFF) - 32768


def _srdhm16(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    s = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    q = np.where(s >= 0, s >> 15, -((-s) >> 15))  # C division truncates
    return np.where((a == -32768) & (b == -32768), 32767, _wrap16(q))


def _sdhm16(a, b):
    """TFLite SaturatingDoublingHighMul on int16 (truncating)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    q = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, _wrap16(q))


def _rdbpot16(x, exponent):
    """gemmlowp RoundingDivideByPOT<int16_t>: the mask is cut to 16 bits, so exponents
    of 16 and more return 1 for x >= 0 and -1 for x < 0."""
    x = np.asarray(x, np.int64)
    mask = int(_wrap16((1 << exponent) - 1))
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return _wrap16((x >> exponent) + (remainder > threshold))


def _down_scale_to_int16(m):
    """TFLite DownScaleInt32ToInt16Multiplier."""
    if m >= INT32_MAX - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


def hard_swish_params(in_scale, out_scale):
    """HardSwishPrepare: (output multiplier int16, exponent, reluish multiplier int16,
    exponent), float32 arithmetic on the scales."""
    hires_input_scale = F32(F32(1.0 / 128.0) * F32(in_scale))
    reluish_scale = F32(3.0) / F32(32768.0)
    out_m, out_e = multiplier_of(float(F32(hires_input_scale / F32(out_scale))),
                                 "HARD_SWISH output")
    rel_m, rel_e = multiplier_of(float(F32(hires_input_scale / reluish_scale)),
                                 "HARD_SWISH reluish")
    if out_e > 0:
        raise Unsupported("HARD_SWISH: input_scale / (128 * output_scale) must be < 1 "
                          "(LiteRT's HardSwishPrepare check)")
    return _down_scale_to_int16(out_m), out_e, _down_scale_to_int16(rel_m), rel_e


def hard_swish_values(x, in_zp, out_zp, params):
    out_m16, out_e, rel_m16, rel_e = params
    hires = _wrap16(_wrap16(x - in_zp) * 128)
    preshift = _srdhm16(hires, out_m16)
    reluish = hires
    if rel_e > 0:
        reluish = np.clip(reluish * (1 << (rel_e - 1)), -32768, 32767)
    reluish = _srdhm16(reluish, rel_m16)
    if rel_e > 0:
        reluish = np.clip(reluish * 2, -32768, 32767)
    if rel_e < 0:
        reluish = _rdbpot16(reluish, -rel_e)
    reluish = _wrap16((reluish + (1 << 15)) >> 1)
    out = _rdbpot16(_sdhm16(reluish, preshift), -out_e)
    out = _wrap16(out + out_zp)
    return np.clip(out, -128, 127)


# ----------------------------------------------------------------- softmax
def _sat_shl(x, exponent):
    """gemmlowp SaturatingRoundingMultiplyByPOT<exponent > 0> on int32."""
    x = np.asarray(x, np.int64)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX,
                    np.where(x < -threshold, INT32_MIN, wrap_int32(x << exponent)))


def exp_on_negative_values_q5(a):
    """gemmlowp exp_on_negative_values for Q5.26 inputs a <= 0: exp(a) in Q0.31."""
    a = np.asarray(a, np.int64)
    quarter = 1 << 24
    a_mod_quarter_minus_quarter = (a & (quarter - 1)) - quarter
    # exp on [-1/4, 0): Taylor series around -1/8 in Q0.31.
    x = _sat_shl(a_mod_quarter_minus_quarter, 5) + (1 << 28)
    x2 = sat_rounding_doubling_high_mul(x, x)
    x3 = sat_rounding_doubling_high_mul(x2, x)
    x4 = sat_rounding_doubling_high_mul(x2, x2)
    poly = rounding_divide_by_pot(
        sat_rounding_doubling_high_mul(rounding_divide_by_pot(x4, 2) + x3, 715827883)
        + x2, 1)
    exp_c = 1895147668  # exp(-1/8)
    result = wrap_int32(exp_c + sat_rounding_doubling_high_mul(exp_c, x + poly))
    remainder = a_mod_quarter_minus_quarter - a
    for exponent, multiplier in ((-2, 1672461947), (-1, 1302514674), (0, 790015084),
                                 (1, 290630308), (2, 39332535), (3, 720401),
                                 (4, 242)):
        hit = (remainder & (1 << (26 + exponent))) != 0
        result = np.where(hit, sat_rounding_doubling_high_mul(result, multiplier),
                          result)
    return np.where(a == 0, INT32_MAX, result)


def softmax_scaling(in_scale, beta, rounding):
    """PreprocessSoftmaxScaling(beta, input_scale, 5) and diff_min: returns
    (multiplier, left_shift, diff_min)."""
    max_real = (1 << 30) - 1.0 if rounding == ROUNDING_SINGLE else (1 << 31) - 1.0
    real = min(float(beta) * float(in_scale) * (1 << 26), max_real)
    if not real > 1.0:
        raise Unsupported(f"SOFTMAX: beta * input_scale = {float(beta) * in_scale:g} "
                          f"is too small (LiteRT requires beta * input_scale * 2^26 "
                          f"> 1)")
    q, shift = math.frexp(real)
    mult = int(round_half_away(q * (1 << 31)))
    if mult == 1 << 31:
        mult //= 2
        shift += 1
    if shift > 30 and rounding == ROUNDING_SINGLE:  # QuantizeMultiplier saturates
        mult, shift = INT32_MAX, 30
    radius = math.floor(1.0 * 31 * (1 << 26) / (1 << shift))
    return mult, shift, -int(radius)


def softmax_exp_table(in_scale, beta, rounding):
    """int32[256]: entry k is the Q0.31 exp the reference computes for an input k below
    the row maximum, 0 below diff_min."""
    mult, shift, diff_min = softmax_scaling(in_scale, beta, rounding)
    diff = -np.arange(256, dtype=np.int64)
    if rounding == ROUNDING_SINGLE:
        rescaled = requantize_r(diff, mult, shift, ROUNDING_SINGLE)
    else:  # SaturatingRoundingDoublingHighMul(diff * 2^shift, mult)
        rescaled = sat_rounding_doubling_high_mul(wrap_int32(diff * (1 << shift)), mult)
    table = np.where(diff >= diff_min, exp_on_negative_values_q5(rescaled), 0)
    return table.astype(np.int32)


# ----------------------------------------------------------------- prepare
def _unary_io(op, graph, dtypes):
    """Checks of a one-input one-output activation: returns (x, y, (input scale,
    zero point), (output scale, zero point))."""
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    require_dtype(x, *dtypes)
    require_dtype(y, x.dtype)
    check_shape(op, y, x.shape)
    return x, y, per_tensor_quant(x), per_tensor_quant(y)


@register("EXP", "LOG", "GELU")
def prepare_exp_log_gelu(op, graph, ctx):
    """int8 [any shape] -> int8 [same shape]: lookup table of expf, logf (NaN and
    -inf for inputs <= 0 give -128, as LiteRT) or the exact GELU 0.5 x (1 + erf(x /
    sqrt 2)) (LUTPopulate<int8_t>; exp.cc, elementwise.cc, activations.cc GeluPrepare).
    GELU with approximate=True is refused: LiteRT's wheel gives a tanh-form table that
    microdl does not reproduce bit for bit (6 entries off in 30 random quantizations,
    all rounding ties of about 1e-4)."""
    x, y, (in_s, in_zp), (out_s, out_zp) = _unary_io(op, graph, [INT8])
    if op.name == "GELU":
        if op.options.get("approximate", False):
            raise Unsupported("GELU approximate=True on int8 (microdl has the exact "
                              "erf form; export with approximate=False)")
        fn = gelu_f32
    else:
        fn = exp_f32 if op.name == "EXP" else log_f32
    return [lut_node(x, y, float_function_table(in_s, in_zp, out_s, out_zp, fn,
                                                saturate=op.name == "EXP"))]


@register("ABS", "NEG")
def prepare_abs_neg(op, graph, ctx):
    """int8 [any shape] -> int8 [same shape], lookup tables of LiteRT's integer
    kernels (elementwise.cc AbsEvalQuantized, neg.cc): ABS requantizes |q - input_zp|
    by input_scale / output_scale (float32 scales divided in double, QuantizeMultiplier,
    double rounding) and adds the output zero point; NEG negates the raw value (int8
    wrap: -(-128) is -128) and ignores both quantizations, as LiteRT does."""
    x, y, (in_s, in_zp), (out_s, out_zp) = _unary_io(op, graph, [INT8])
    if op.name == "NEG":
        return [lut_node(x, y, to_int8_table(-LUT_INPUTS))]
    mult, shift = multiplier_of(float(F32(in_s)) / float(F32(out_s)), "ABS")
    v = requantize_r(np.abs(LUT_INPUTS - in_zp), mult, shift, ACTIVATION_ROUNDING) + out_zp
    return [lut_node(x, y, to_int8_table(np.clip(v, -128, 127)))]


@register("LOGISTIC", "TANH")
def prepare_logistic_tanh(op, graph, ctx):
    """int8 [any shape] -> int8 [same shape]: lookup table of the float32 function
    (LiteRT SigmoidPrepare / TanhPrepare, LUTPopulate<int8_t>)."""
    x, y, (in_s, in_zp), (out_s, out_zp) = _unary_io(op, graph, [INT8])
    if op.name == "LOGISTIC":
        if np.float64(F32(out_s)) != 1.0 / 256:
            raise Unsupported(f"LOGISTIC int8 output scale must be 1/256, got {out_s}")
        fn = logistic_f32
    else:
        fn = tanh_f32
    return [lut_node(x, y, float_function_table(in_s, in_zp, out_s, out_zp, fn))]


@register("RELU", "RELU6", "RELU_N1_TO_1")
def prepare_relu(op, graph, ctx):
    """int8 or int16 (zero points 0) [any shape] -> same dtype and shape:
    output_zp + requantize(q - input_zp) clamped to the activation range (LiteRT
    ReluPrepare / QuantizedReluX)."""
    x, y, (in_s, in_zp), (out_s, out_zp) = _unary_io(op, graph, [INT8, INT16])
    lo, hi = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}[
        op.name]
    if np.dtype(x.dtype) == INT8:
        values = relu_x_values(LUT_INPUTS, in_s, in_zp, out_s, out_zp, lo, hi, INT8,
                               ACTIVATION_ROUNDING)
        return [lut_node(x, y, to_int8_table(values))]
    if op.name == "RELU_N1_TO_1":
        raise Unsupported("RELU_N1_TO_1 supports int8 only (as LiteRT)")
    if in_zp != 0 or out_zp != 0:
        raise Unsupported("int16 RELU / RELU6 need zero points 0 (LiteRT's check)")
    mult, shift = multiplier_of(float(F32(in_s) / F32(out_s)), "RELU")
    qmin, qmax = qrange(INT16)
    act_min = max(qmin, quantized_bound(lo, out_s, out_zp))
    act_max = qmax if hi is None else min(qmax, quantized_bound(hi, out_s, out_zp))
    params = dict(size=x.size, input_offset=0, output_offset=0,
                  identity_multiplier=mult, identity_shift=shift, alpha_multiplier=mult,
                  alpha_shift=shift, alpha_negative=0, act_min=act_min, act_max=act_max,
                  rounding=ACTIVATION_ROUNDING)
    return [Node("leaky_relu_s16", params, [x.index], y.index)]


@register("LEAKY_RELU")
def prepare_leaky_relu(op, graph, ctx):
    """int8, or int16 with zero points 0, [any shape] -> same: q >= input_zp ?
    requantize by input_scale / output_scale : by alpha * input_scale / output_scale
    (LiteRT LeakyReluPrepare, reference_ops::QuantizeLeakyRelu)."""
    x, y, (in_s, in_zp), (out_s, out_zp) = _unary_io(op, graph, [INT8, INT16])
    alpha = float(op.options.get("alpha", 0.0))
    if not math.isfinite(alpha):
        raise ModelError(f"LEAKY_RELU alpha {alpha} is not finite")
    multipliers = leaky_relu_multipliers(in_s, out_s, alpha)
    if np.dtype(x.dtype) == INT8:
        values = leaky_relu_values(LUT_INPUTS, in_zp, out_zp, multipliers, INT8,
                                   ACTIVATION_ROUNDING)
        return [lut_node(x, y, to_int8_table(values))]
    if in_zp != 0 or out_zp != 0:
        raise Unsupported("int16 LEAKY_RELU needs zero points 0 (LiteRT's check)")
    (mi, si), (ma, sa), negative = multipliers
    params = dict(size=x.size, input_offset=0, output_offset=0, identity_multiplier=mi,
                  identity_shift=si, alpha_multiplier=ma, alpha_shift=sa,
                  alpha_negative=int(negative), act_min=-32768, act_max=32767,
                  rounding=ACTIVATION_ROUNDING)
    return [Node("leaky_relu_s16", params, [x.index], y.index)]


@register("HARD_SWISH")
def prepare_hard_swish(op, graph, ctx):
    """int8 [any shape] -> int8 [same shape]: x * relu6(x + 3) / 6 in TFLite's int16
    fixed point (HardSwishPrepare, reference_ops::HardSwish)."""
    x, y, (in_s, in_zp), (out_s, out_zp) = _unary_io(op, graph, [INT8])
    params = hard_swish_params(in_s, out_s)
    return [lut_node(x, y, to_int8_table(hard_swish_values(LUT_INPUTS, in_zp, out_zp,
                                                           params)))]


@register("SOFTMAX")
def prepare_softmax(op, graph, ctx):
    """int8 [..., depth] -> int8 [..., depth] (scale 1/256, zero point -128) or int16
    (scale 1/65536, zero point -32768), softmax of beta * x over the last axis (LiteRT
    SoftmaxPrepare<kReference>, reference_ops::Softmax; the int16 output checks are
    TFLite Micro's, LiteRT has none)."""
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    require_dtype(x, INT8)
    require_dtype(y, INT8, INT16)
    check_shape(op, y, x.shape)
    in_s, _ = per_tensor_quant(x)
    out_s, out_zp = per_tensor_quant(y)
    if len(x.shape) < 1:
        raise Unsupported("SOFTMAX of a scalar (LiteRT requires rank >= 1)")
    bits = 8 if np.dtype(y.dtype) == INT8 else 16
    want_zp = -(1 << (bits - 1))
    if out_zp != want_zp:
        raise Unsupported(f"SOFTMAX int{bits} output zero point must be {want_zp}, got "
                          f"{out_zp}")
    target = F32(1) / F32(1 << bits)
    if abs(F32(out_s) - target) > F32(0.001) * target:
        raise Unsupported(f"SOFTMAX int{bits} output scale must be 1/{1 << bits}, got "
                          f"{out_s}")
    beta = float(F32(op.options.get("beta", 0.0)))
    if not (math.isfinite(beta) and beta > 0):
        raise Unsupported(f"SOFTMAX beta must be > 0, got {beta}")
    if x.size == 0:
        return []
    depth = int(x.shape[-1])
    table = softmax_exp_table(in_s, beta, ctx.rounding)
    return [Node("softmax_s8",
                 dict(outer_size=x.size // depth, depth=depth, output_bits=bits),
                 [x.index, table], y.index)]
