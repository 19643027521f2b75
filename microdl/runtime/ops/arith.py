"""Arithmetic ops of issue 11: SQUARED_DIFFERENCE, DIV, RSQRT, SQRT, PRELU, ELU,
LOG_SOFTMAX, SUM, L2_NORMALIZATION and BATCH_MATMUL (int8; int16 where noted), and the float32
forms of FLOOR, PRELU, ELU, LOG_SOFTMAX, L2_NORMALIZATION, SUM and BATCH_MATMUL.  C kernels in cext/include/mdl_arith.h; the element-wise unary ops are
int8 lookup tables (``lut_s8``, mdl_activations.h) filled here.

Arithmetic, from LiteRT's kernels (squared_difference.cc, elementwise.cc,
activations.cc, reduce.cc, l2norm.cc, batch_matmul.cc and their reference/ headers):

- SQUARED_DIFFERENCE int8 (broadcast, up to 6-D): each input ``(q - zp) << 7`` is
  rescaled by ``scale_k / (2 max(scale_1, scale_2))``; the difference is squared in
  int32 and rescaled by ``(2 max_scale)^2 / (2^14 output_scale)`` (all three
  QuantizeMultiplierSmallerThanOneExp, in double from the float32 scales).
- DIV int8 / int16 (broadcast, fused activation): a = q1 - zp1, b = q2 - zp2 (both
  negated if b < 0); GetReciprocal(b, 31) = (r, k); h = CountLeadingSignBits(a);
  out = MBQMSmallerThanOneExp(MBQMGreaterThanOne(a, r, h), M, S - k - h) + zp with
  (M, S) = QuantizeMultiplier(scale_1 / (scale_2 output_scale)), the ratio in
  float32 (LiteRT) or double (TFLite Micro).  When the dividend equals its zero
  point the reference shifts an int32 by 32 or more (undefined in C++); microdl
  reproduces what the x86-64 and aarch64 builds do (the count taken modulo 32, so
  the output can be the zero point + 1).
- RSQRT int8: per input value, v = q - zp; v == 0 gives 127, else
  GetInvSqrtQuantizedMultiplierExp(v, -1) = (m, s), d = MBQM(1, m, s + 20),
  out = MBQM(d, M, S - 20) + output zp with (M, S) = QuantizeMultiplier(1 /
  (sqrtf(input_scale) * output_scale)) (TFLite Micro: the square root in double); a
  256-entry table.  int16 (zero points 0): LiteRT tabulates 1 / sqrtf(x) with
  LUTPopulate<int16_t> (513 entries, interpolated by LUTLookup); TFLite Micro applies
  the int8 fixed-point formula to each int16 value.  Both runtimes fail at invoke for
  inputs below the zero point (a negative real input); microdl computes them by the
  same formula (v <= 1: m = INT32_MAX, s = 0).
- SQRT int8 / int16 (int16: zero points 0): LiteRT's elementwise.cc in float32,
  out = clamp(zp_out + trunc(sqrtf(input_scale * (q - zp_in)) / output_scale))
  (measured over every valid input; ``sqrt_values``); int8 a 256-entry table, int16
  per element (``sqrt_s16``).  TFLite Micro's SQRT is float32 only.  Inputs below the
  zero point (LiteRT fails at invoke) read as 0.
- PRELU int8 (alpha broadcast to the input's shape, up to 6-D): x = q - zp;
  x >= 0: MBQM(x, input_scale / output_scale); else MBQM(x (alpha - alpha_zp),
  input_scale alpha_scale / output_scale), plus the output zero point, clamped.
- ELU int8: LUTPopulate<int8_t> of ``x < 0 ? expm1f(x) : x`` (LiteRT activations.cc);
  TFLite Micro (rounding="tflm") tabulates ``expf(x) - 1``.
- LOG_SOFTMAX int8 (output scale 16/256, zero point 127 required, as LiteRT): the
  LogSoftmaxQuantized fixed point: PreprocessLogSoftmaxScalingExp(beta 1,
  input_scale, 5) gives the input multiplier, left shift and reverse scaling divisor,
  diff_min = -CalculateInputRadius(5, left_shift); the per-difference Q5.26 values and
  their exps are tables, the log of the row sum is gemmlowp's
  log_x_for_x_greater_than_or_equal_to_1 in C.
- SUM int8 (QuantizedMeanOrSum with compute_sum): int32 sum of q over the axes, plus
  -zp * count, requantized by input_scale / output_scale, plus the output zero point
  (the MEAN kernel with the 1/count factor left out).  int16 likewise with zero points
  0 (LiteRT's check).
- L2_NORMALIZATION int8 (output scale 1/128, zero point 0 required, fused activation
  NONE): per row of the last axis, acc = sum (q - zp)^2;
  GetInvSqrtQuantizedMultiplierExp(acc, -1) = (m, s); out = MBQM(q - zp, m, s + 7).
- BATCH_MATMUL int8 / int16 (adj_x, adj_y, batch dimensions broadcast, rank 2..5 as
  LiteRT): out = MBQM(sum (lhs - lhs_zp)(rhs - rhs_zp), lhs_scale rhs_scale /
  output_scale) + output zp; int16 needs zero points 0 and accumulates in int64.
- float32 forms (float models): FLOOR (floorf), PRELU, ELU (expm1f), LOG_SOFTMAX
  (x - max - logf(sum expf(x - max))), L2_NORMALIZATION (x / max(||x||, 1e-6)), SUM
  (float32 sums in input order) and BATCH_MATMUL (float32 sums in k order), within
  1e-5 of the output range of LiteRT's reference kernels.

MBQM is MultiplyByQuantizedMultiplier.  Rounding: measured against LiteRT 2.3's
wheel; see KERNEL_ROUNDING and tests/test_ops11b.py.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import (INT32_MAX, ROUNDING_DOUBLE, ROUNDING_SINGLE,
                                     quantize_multiplier, requantize_r,
                                     rounding_divide_by_pot, round_half_away,
                                     sat_rounding_doubling_high_mul, wrap_int32)
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.activations import (LUT_INPUTS, exp_on_negative_values_q5,
                                             float_function_table, lut_node,
                                             softmax_scaling, to_int8_table)
from microdl.runtime.ops.common import (FLOAT32, INT8, INT16, INT32, activation_range,
                                        check_shape,
                                        per_tensor_quant, require_dtype,
                                        require_io_count, tensor_at)
from microdl.runtime.ops.compare import broadcast_box
from microdl.runtime.ops.elementwise import broadcast_shape
from microdl.runtime.ops.pooling import mean_output_shape, mean_plan, resolve_axes

F32 = np.float32
# Highest op versions LiteRT's BuiltinRefOpResolver registers.
MAX_VERSION = {"SQUARED_DIFFERENCE": 2, "RSQRT": 3, "PRELU": 1, "ELU": 1,
               "LOG_SOFTMAX": 2, "SUM": 2, "L2_NORMALIZATION": 2, "BATCH_MATMUL": 4,
               "FLOOR": 1, "SQRT": 2}
# The requantization rounding of these reference kernels in LiteRT 2.3's wheel and
# TFLite Micro (measured: tests/test_ops11b.py): gemmlowp's double rounding.
KERNEL_ROUNDING = ROUNDING_DOUBLE


def _version(op):
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def _multiplier(op, real, what, smaller_than_one=False):
    if smaller_than_one and not real < 1.0:
        raise Unsupported(f"{what} multiplier {real:g} must be < 1 (LiteRT's "
                          f"QuantizeMultiplierSmallerThanOneExp)")
    try:
        return quantize_multiplier(real)
    except ValueError:
        raise Unsupported(f"{what} multiplier {real:g} is too large (>= 2^30)") from None


def _unary(op, graph, dtypes):
    _version(op)
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    require_dtype(x, *dtypes)
    require_dtype(y, x.dtype)
    check_shape(op, y, x.shape)
    return x, y


# ------------------------------------------------------------ squared difference
@register("SQUARED_DIFFERENCE")
def prepare_squared_difference(op, graph, ctx):
    """int8 x, int8 y (any per-tensor quantizations, broadcast up to 6-D) -> int8
    (x - y)^2 in the output quantization."""
    _version(op)
    require_io_count(op, 2, 1)
    a, b = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    for t in (a, b, y):
        require_dtype(t, INT8)
    (s1, z1), (s2, z2), (so, zo) = (per_tensor_quant(t) for t in (a, b, y))
    shape = broadcast_shape(op, a.shape, b.shape)
    check_shape(op, y, shape)
    twice_max = 2 * max(float(F32(s1)), float(F32(s2)))
    m1, sh1 = _multiplier(op, float(F32(s1)) / twice_max, "input 1", True)
    m2, sh2 = _multiplier(op, float(F32(s2)) / twice_max, "input 2", True)
    mo, sho = _multiplier(op, twice_max * twice_max / ((1 << 14) * float(F32(so))),
                          "output", True)
    dims, (st1, st2) = broadcast_box(op, [a.shape, b.shape], shape)
    if y.size == 0:
        return []
    return [Node("squared_difference_s8",
                 dict(dims=dims, in1_strides=st1, in2_strides=st2, input1_offset=-z1,
                      input1_multiplier=m1, input1_shift=sh1, input2_offset=-z2,
                      input2_multiplier=m2, input2_shift=sh2, left_shift=7,
                      output_offset=zo, output_multiplier=mo, output_shift=sho,
                      rounding=KERNEL_ROUNDING),
                 [a.index, b.index], y.index)]


# ------------------------------------------------------------------------- div
@register("DIV")
def prepare_div(op, graph, ctx):
    """int8 / int16 x / y (per-tensor quantizations, broadcast up to 6-D, fused
    activation), as reference_ops::DivElementwise.  LiteRT fails at invoke when a
    divisor equals its zero point; microdl computes a value there."""
    if op.version > 2:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 2, 1)
    a, b = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(a, INT8, INT16)
    for t in (b, y):
        require_dtype(t, a.dtype)
    (s1, z1), (s2, z2), (so, zo) = (per_tensor_quant(t) for t in (a, b, y))
    shape = broadcast_shape(op, a.shape, b.shape)
    check_shape(op, y, shape)
    if ctx.rounding == ROUNDING_DOUBLE:  # TFLite Micro's div.cc: double arithmetic
        real = float(F32(s1)) / (float(F32(s2)) * float(F32(so)))
    else:  # LiteRT's div.cc: float32 arithmetic
        real = float(F32(F32(s1) / F32(F32(s2) * F32(so))))
    mult, shift = _multiplier(op, real, "output")
    if not -17 <= shift <= 23:
        raise Unsupported(f"DIV output multiplier {real:g} outside [2^-18, 2^23)")
    act_min, act_max = activation_range(op.options.get("fused_activation_function", 0), y)
    dims, (st1, st2) = broadcast_box(op, [a.shape, b.shape], shape)
    if y.size == 0:
        return []
    return [Node("div_q", dict(dims=dims, in1_strides=st1, in2_strides=st2,
                               input1_offset=-z1, input2_offset=-z2, output_offset=zo,
                               output_multiplier=mult, output_shift=shift,
                               act_min=act_min, act_max=act_max,
                               is_s16=int(np.dtype(a.dtype) == INT16),
                               rounding=ROUNDING_DOUBLE),
                 [a.index, b.index], y.index)]


# ----------------------------------------------------------------------- rsqrt
def inv_sqrt_multiplier_exp(value, reverse_shift):
    """TFLite GetInvSqrtQuantizedMultiplierExp(value, reverse_shift) for one int32
    value: (Q0.31 multiplier, exponent), gemmlowp Newton-Raphson in Q3.28."""
    value = int(value)
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= (1 << 29):
        value //= 4
        shift += 1
    clz = 32 - value.bit_length()
    pairs = (clz - 1) // 2 - 1
    shift -= pairs
    value <<= 2 * pairs

    def mul(a, b):
        return int(sat_rounding_doubling_high_mul(a, b))

    def sat_pot(v, e):
        lim = (1 << (31 - e)) - 1
        return INT32_MAX if v > lim else (-INT32_MAX - 1 if v < -lim else v << e)

    fx = value >> 1
    half_input = int(rounding_divide_by_pot(fx, 1))
    half_three = (1 << 28) + (1 << 27)
    x = 1 << 28
    for _ in range(5):
        x3 = sat_pot(mul(mul(x, x), x), 6)
        x = sat_pot(int(wrap_int32(mul(half_three, x) - mul(half_input, x3))), 3)
    x = mul(x, 1518500250)
    if shift < 0:
        x = int(wrap_int32(x << -shift))
        shift = 0
    return x, shift * reverse_shift


def rsqrt_multiplier(in_s, out_s, tflm):
    """SetRsqrtOutputMultiplier: QuantizeMultiplier(1 / (sqrt(input_scale) *
    output_scale)), the square root and product in float32 in LiteRT (std::sqrt of a
    float), in double in TFLite Micro."""
    if tflm:
        real = 1.0 / (math.sqrt(float(F32(in_s))) * float(F32(out_s)))
    else:
        real = 1.0 / float(F32(F32(np.sqrt(F32(in_s))) * F32(out_s)))
    try:
        mult, shift = quantize_multiplier(real)
    except ValueError:
        raise Unsupported(f"RSQRT output multiplier {real:g} is too large (>= 2^30)") \
            from None
    if shift - 20 < -31:  # the kernels apply the exponent shift - 20
        raise Unsupported(f"RSQRT output multiplier {real:g} is too small (< 2^-12)")
    return mult, shift


def rsqrt_table(in_zp, out_zp, mult, shift, rounding):
    """The int8[256] RSQRT table (RsqrtEvalQuantizedInt8 for every input value)."""
    values = []
    for q in LUT_INPUTS:
        v = int(q) - in_zp
        if v == 0:
            values.append(127)
            continue
        m, s = inv_sqrt_multiplier_exp(v, -1)
        data = int(requantize_r(1, m, s + 20, rounding))
        out = int(requantize_r(data, mult, shift - 20, rounding)) + out_zp
        values.append(out)
    return to_int8_table(np.clip(values, -128, 127))


def lut_populate_int16(in_s, in_zp, out_s, out_zp, transform):
    """TFLite LUTPopulate<int16_t> (LUTPopulateInt16 in float32): int16[513], entry i
    the output for input_min + i * step (512 steps over the int16 input range), each
    nudged by half the interpolation error at the step's midpoint; the last entry only
    serves the slope.  transform: np.float32 -> np.float32."""
    f = F32
    in_s, out_s = f(in_s), f(out_s)
    input_min, input_max = f(in_s * f(-32768 - in_zp)), f(in_s * f(32767 - in_zp))
    output_min, output_max = f(out_s * f(-32768 - out_zp)), f(out_s * f(32767 - out_zp))
    step = f(f(input_max - input_min) / f(512))
    half_step = f(step / f(2))
    inv = f(f(65536) / f(output_max - output_min))

    def rnd(v):
        return f(round_half_away(f(v)))

    table = np.zeros(513, np.int16)
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(512):
            x = f(input_min + f(f(i) * step))
            val = f(transform(x))
            val_mid = f(transform(f(x + half_step)))
            val_next = f(transform(f(input_min + f(f(i + 1) * step))))
            sample = rnd(val * inv)
            interp = rnd(f(f(f(val_next * inv) + rnd(val * inv)) / f(2)))
            bias = rnd(f(f(interp - rnd(val_mid * inv)) / f(2)))
            table[i] = np.clip(f(sample - bias), -32768, 32767)
        table[512] = np.clip(rnd(f(transform(input_max)) * inv), -32768, 32767)
    return table


def rsqrt_s16_table(in_s, out_s):
    """RSQRT int16 in LiteRT: LUTPopulate<int16_t> of 1 / sqrtf(x), and 32767 *
    output_scale for x <= 0 (elementwise.cc GenericPrepare)."""
    def fn(v):
        if v <= 0:
            return F32(F32(32767) * F32(out_s))
        return F32(F32(1) / np.sqrt(F32(v)))
    return lut_populate_int16(in_s, 0, out_s, 0, fn)


@register("RSQRT")
def prepare_rsqrt(op, graph, ctx):
    """int8 [any shape] -> int8 [same shape]: 1 / sqrt(x) (RsqrtEvalQuantizedInt8, a
    table); int16 (zero points 0) -> int16: LiteRT's interpolated LUTPopulate<int16_t>
    table (lut_s16), or TFLite Micro's per-element fixed point (rounding="tflm",
    rsqrt_s16).  Both runtimes fail at invoke on inputs below the zero point; microdl
    computes them by the same formula."""
    x, y = _unary(op, graph, [INT8, INT16])
    (in_s, in_zp), (out_s, out_zp) = per_tensor_quant(x), per_tensor_quant(y)
    tflm = ctx.rounding == ROUNDING_DOUBLE
    mult, shift = rsqrt_multiplier(in_s, out_s, tflm)
    if np.dtype(x.dtype) == INT16:
        if in_zp or out_zp:
            raise Unsupported("int16 RSQRT needs zero points 0 (LiteRT's check)")
        if y.size == 0:
            return []
        if tflm:
            return [Node("rsqrt_s16", dict(size=y.size, input_zero_point=0,
                                           output_zero_point=0, multiplier=mult,
                                           shift=shift, rounding=KERNEL_ROUNDING),
                         [x.index], y.index)]
        return [Node("lut_s16", dict(size=y.size), [x.index, rsqrt_s16_table(in_s, out_s)],
                     y.index)]
    return [lut_node(x, y, rsqrt_table(in_zp, out_zp, mult, shift, KERNEL_ROUNDING))]


# ------------------------------------------------------------------------ sqrt
def sqrt_values(q, in_s, in_zp, out_s, out_zp, qmin, qmax):
    """LiteRT's quantized SQRT (measured on the pip wheel, every int8 input and every
    non-negative int16 input): clamp(out_zp + trunc(sqrtf(float32(in_s) * float32(q -
    in_zp)) / float32(out_s))) in float32; inputs below the zero point (LiteRT fails at
    invoke) read as 0."""
    d = np.maximum(np.asarray(q, np.int64) - in_zp, 0).astype(F32)
    v = (np.sqrt((F32(in_s) * d).astype(F32)).astype(F32) / F32(out_s)).astype(F32)
    t = np.trunc(np.minimum(v, F32(65536))).astype(np.int64)
    return np.clip(out_zp + t, qmin, qmax)


@register("SQRT")
def prepare_sqrt(op, graph, ctx):
    """int8 or int16 (zero points 0, LiteRT's check) [any shape] -> same dtype and
    shape: sqrt of the real value (``sqrt_values``; LiteRT's elementwise.cc; TFLite
    Micro has float32 SQRT only).
    int8: a 256-entry table (lut_s8); int16: per element in float32 (sqrt_s16)."""
    x, y = _unary(op, graph, [INT8, INT16])
    (in_s, in_zp), (out_s, out_zp) = per_tensor_quant(x), per_tensor_quant(y)
    if np.dtype(x.dtype) == INT8:
        return [lut_node(x, y, to_int8_table(sqrt_values(
            LUT_INPUTS, in_s, in_zp, out_s, out_zp, -128, 127)))]
    if in_zp or out_zp:
        raise Unsupported("int16 SQRT needs zero points 0 (LiteRT's check)")
    if y.size == 0:
        return []
    return [Node("sqrt_s16", dict(size=y.size, input_zero_point=in_zp,
                                  output_zero_point=out_zp),
                 [x.index, np.array([in_s, out_s], np.float32)], y.index)]


# ------------------------------------------------------------------------- elu
@functools.lru_cache(maxsize=None)
def _expm1f():
    found = ctypes.util.find_library("m")
    for name in ([found] if found else []) + [None]:
        try:
            fn = ctypes.CDLL(name).expm1f
        except (OSError, AttributeError, TypeError):
            continue
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
        return lambda v: F32(fn(float(v)))
    return lambda v: F32(math.expm1(float(v)))


def elu_table(in_s, in_zp, out_s, out_zp, tflm):
    from microdl.runtime.ops.activations import exp_f32

    def litert(v):
        return _expm1f()(v) if v < 0 else F32(v)

    def micro(v):
        return F32(exp_f32(v) - F32(1)) if v < 0 else F32(v)

    return float_function_table(in_s, in_zp, out_s, out_zp, micro if tflm else litert)


@register("ELU")
def prepare_elu(op, graph, ctx):
    """int8 [any shape] -> int8: x < 0 ? exp(x) - 1 : x as a lookup table
    (LUTPopulate; expm1f for LiteRT, expf - 1 for TFLite Micro)."""
    x, y = _unary(op, graph, [INT8])
    (in_s, in_zp), (out_s, out_zp) = per_tensor_quant(x), per_tensor_quant(y)
    return [lut_node(x, y, elu_table(in_s, in_zp, out_s, out_zp,
                                     tflm=ctx.rounding == ROUNDING_DOUBLE))]


# ----------------------------------------------------------------------- prelu
@register("PRELU")
def prepare_prelu(op, graph, ctx):
    """int8 input [any shape, up to 6-D], int8 alpha (broadcast to the input's shape)
    -> int8 output of the input's shape."""
    _version(op)
    require_io_count(op, 2, 1)
    x, alpha = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    for t in (x, alpha, y):
        require_dtype(t, INT8)
    (si, zi), (sa, za), (so, zo) = (per_tensor_quant(t) for t in (x, alpha, y))
    shape = broadcast_shape(op, x.shape, alpha.shape)
    if tuple(shape) != tuple(x.shape):
        raise ModelError(f"op {op.index} (PRELU): alpha {tuple(alpha.shape)} does not "
                         f"broadcast to the input's shape {tuple(x.shape)}")
    check_shape(op, y, shape)
    m1, s1 = _multiplier(op, float(F32(si)) / float(F32(so)), "identity")
    m2, s2 = _multiplier(op, float(F32(si)) * float(F32(sa)) / float(F32(so)), "alpha")
    dims, (sx, salpha) = broadcast_box(op, [x.shape, alpha.shape], shape)
    if y.size == 0:
        return []
    return [Node("prelu_s8", dict(dims=dims, in_strides=sx, alpha_strides=salpha,
                                  input_offset=-zi, alpha_offset=-za, output_offset=zo,
                                  multiplier_1=m1, shift_1=s1, multiplier_2=m2,
                                  shift_2=s2, rounding=KERNEL_ROUNDING),
                 [x.index, alpha.index], y.index)]


# ----------------------------------------------------------------- log softmax
def log_softmax_tables(in_scale, rounding):
    """(q5 int32[256], exp12 int32[256], diff_min, reverse divisor, reverse shift)."""
    mult, shift, diff_min = softmax_scaling(in_scale, 1.0, rounding)
    real_reverse = (1 << (31 - shift)) / float(mult)
    rmult, rshift = quantize_multiplier(real_reverse)
    if rshift > 0:
        raise Unsupported("LOG_SOFTMAX reverse scaling divisor >= 1")
    diff = -np.arange(256, dtype=np.int64)
    q5 = requantize_r(diff, mult, shift, rounding)
    exp12 = rounding_divide_by_pot(exp_on_negative_values_q5(q5), 12)
    exp12 = np.where(diff >= diff_min, exp12, 0)
    return (np.asarray(q5, np.int32), np.asarray(exp12, np.int32), diff_min, rmult,
            rshift)


@register("LOG_SOFTMAX")
def prepare_log_softmax(op, graph, ctx):
    """int8 [..., depth] -> int8 [..., depth], output scale 16/256 and zero point 127
    (LiteRT's checks): log softmax over the last axis."""
    x, y = _unary(op, graph, [INT8])
    in_s, _ = per_tensor_quant(x)
    out_s, out_zp = per_tensor_quant(y)
    if float(F32(out_s)) != 16.0 / 256 or out_zp != 127:
        raise Unsupported(f"LOG_SOFTMAX int8 output must have scale 16/256 and zero "
                          f"point 127, got {out_s} and {out_zp}")
    if len(x.shape) < 1:
        raise Unsupported("LOG_SOFTMAX of a scalar")
    q5, exp12, diff_min, rmult, rshift = log_softmax_tables(in_s, KERNEL_ROUNDING)
    depth = int(x.shape[-1])
    if y.size == 0:
        return []
    return [Node("log_softmax_s8", dict(outer=y.size // depth, depth=depth,
                                        diff_min=diff_min, reverse_scaling_divisor=rmult,
                                        reverse_scaling_shift=rshift,
                                        rounding=KERNEL_ROUNDING),
                 [x.index, q5, exp12], y.index)]


# ------------------------------------------------------------------------- sum
@register("SUM")
def prepare_sum(op, graph, ctx):
    """int8 / int16 (zero points 0) input of rank 1..6, axes: constant int32 ->
    the reduced shape (keep_dims keeps 1s), same dtype, requantized sum."""
    _version(op)
    require_io_count(op, 2, 1)
    x, axis_t = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(x, INT8, INT16)
    require_dtype(y, x.dtype)
    require_dtype(axis_t, INT32)
    if axis_t.data is None:
        raise Unsupported(f"axes (tensor {axis_t.index}) must be constant")
    rank = len(x.shape)
    if rank == 0:
        raise Unsupported("rank-0 input")
    axes = resolve_axes(op, axis_t.data, rank)
    check_shape(op, y, mean_output_shape(tuple(x.shape), axes,
                                         bool(op.options.get("keep_dims"))))
    if x.size == 0:
        raise Unsupported("empty tensors")
    plan = mean_plan(tuple(x.shape), axes)
    if plan is None:
        raise Unsupported("a reduction over more than 6 alternating dimension groups")
    (in_s, in_zp), (out_s, out_zp) = per_tensor_quant(x), per_tensor_quant(y)
    is16 = np.dtype(x.dtype) == INT16
    if is16 and (in_zp or out_zp):
        raise Unsupported("int16 SUM with non-zero zero points")
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    mult, shift = _multiplier(op, float(F32(in_s)) / float(F32(out_s)), "SUM")
    params = dict(dims=plan[0], out_strides=plan[1], output_size=y.size,
                  sum_offset=int(wrap_int32(-in_zp * count)), output_offset=out_zp,
                  multiplier=mult, shift=shift, rounding=KERNEL_ROUNDING)
    return [Node("mean_s16" if is16 else "mean_s8", params, [x.index], y.index,
                 scratch_bytes=4 * y.size)]


# ------------------------------------------------------------ l2 normalization
@register("L2_NORMALIZATION")
def prepare_l2_normalization(op, graph, ctx):
    """int8 [..., depth] -> int8 [..., depth] with output scale 1/128, zero point 0:
    x / ||x|| over the last axis."""
    x, y = _unary(op, graph, [INT8])
    if op.options.get("fused_activation_function", 0):
        raise Unsupported("L2_NORMALIZATION with a fused activation")
    _, in_zp = per_tensor_quant(x)
    out_s, out_zp = per_tensor_quant(y)
    if float(F32(out_s)) != 1.0 / 128 or out_zp != 0:
        raise Unsupported(f"L2_NORMALIZATION int8 output must have scale 1/128 and zero "
                          f"point 0, got {out_s} and {out_zp}")
    if len(x.shape) < 1:
        raise Unsupported("L2_NORMALIZATION of a scalar")
    depth = int(x.shape[-1])
    if y.size == 0:
        return []
    if depth > (1 << 15):
        raise Unsupported(f"depth {depth} could overflow the int32 sum of squares")
    return [Node("l2norm_s8", dict(outer=y.size // depth, depth=depth,
                                   input_zero_point=in_zp, rounding=KERNEL_ROUNDING),
                 [x.index], y.index)]


# ---------------------------------------------------------------- batch matmul
def batch_matmul_shape(op, lhs_shape, rhs_shape):
    """Output shape of BATCH_MATMUL: the broadcast batch dimensions, then lhs rows and
    rhs columns (after adj_x / adj_y)."""
    lhs_shape, rhs_shape = tuple(int(d) for d in lhs_shape), tuple(int(d) for d in rhs_shape)
    if not (2 <= len(lhs_shape) <= 5 and 2 <= len(rhs_shape) <= 5):
        raise ModelError(f"op {op.index} (BATCH_MATMUL): ranks {len(lhs_shape)} and "
                         f"{len(rhs_shape)}, each must be 2..5")
    adj_x, adj_y = bool(op.options.get("adj_x")), bool(op.options.get("adj_y"))
    rows, depth = lhs_shape[-2:] if not adj_x else lhs_shape[:-3:-1]
    rdepth, cols = rhs_shape[-2:] if not adj_y else rhs_shape[:-3:-1]
    if depth != rdepth:
        raise ModelError(f"op {op.index} (BATCH_MATMUL): contracted extents {depth} and "
                         f"{rdepth} differ (lhs {lhs_shape}, rhs {rhs_shape}, adj_x "
                         f"{adj_x}, adj_y {adj_y})")
    batch = broadcast_shape(op, lhs_shape[:-2], rhs_shape[:-2]) \
        if len(lhs_shape) > 2 or len(rhs_shape) > 2 else ()
    return tuple(batch) + (rows, cols)


def _batch_strides(shape, batch):
    """Element strides of the batch dimensions of a contiguous tensor `shape`, padded
    to 4 entries against the output batch shape, 0 where broadcast."""
    n = len(shape) - 2
    mat = int(shape[-1]) * int(shape[-2])
    strides, stride = [0] * 4, mat
    for k in range(n - 1, -1, -1):
        pos = 4 - n + k
        strides[pos] = 0 if int(shape[k]) == 1 else stride
        stride *= int(shape[k])
    del batch
    return strides


def _bmm_geometry(op, a, b, y):
    """The shape-only fields of MDL_BATCH_MATMUL_PARAMS (None for an empty output);
    checks the output shape."""
    shape = batch_matmul_shape(op, a.shape, b.shape)
    check_shape(op, y, shape)
    adj_x, adj_y = bool(op.options.get("adj_x")), bool(op.options.get("adj_y"))
    rows, cols = shape[-2:]
    depth = int(a.shape[-2] if adj_x else a.shape[-1])
    batch = list(shape[:-2])
    if y.size == 0:
        return None
    if depth == 0:
        raise Unsupported("BATCH_MATMUL with an empty contracted dimension")
    m_lhs, m_rhs = int(a.shape[-1]), int(b.shape[-1])
    return dict(batch_dims=[1] * (4 - len(batch)) + [int(d) for d in batch],
                lhs_batch_strides=_batch_strides(a.shape, batch),
                rhs_batch_strides=_batch_strides(b.shape, batch),
                rows=rows, cols=cols, accum_depth=depth,
                lhs_row_stride=1 if adj_x else m_lhs,
                lhs_depth_stride=m_lhs if adj_x else 1,
                rhs_depth_stride=1 if adj_y else m_rhs,
                rhs_col_stride=m_rhs if adj_y else 1)


@register("BATCH_MATMUL")
def prepare_batch_matmul(op, graph, ctx):
    """lhs [..., M, K] (adj_x: [..., K, M]), rhs [..., K, N] (adj_y: [..., N, K]),
    int8 (any zero points) or int16 (zero points 0), rhs constant or not, batch
    dimensions broadcast, ranks 2..5 -> output [batch..., M, N] of the same dtype."""
    _version(op)
    require_io_count(op, 2, 1)
    a, b = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(a, INT8, INT16)
    require_dtype(b, a.dtype)
    require_dtype(y, a.dtype)
    if op.options.get("asymmetric_quantize_inputs"):
        raise Unsupported("BATCH_MATMUL asymmetric_quantize_inputs (hybrid form)")
    (sa, za), (sb, zb), (so, zo) = (per_tensor_quant(t) for t in (a, b, y))
    is16 = np.dtype(a.dtype) == INT16
    if is16 and (za or zb or zo):
        raise Unsupported("int16 BATCH_MATMUL needs zero points 0 (LiteRT's check)")
    geometry = _bmm_geometry(op, a, b, y)
    # GetQuantizedConvolutionMultipler: float32 product of the input scales.
    real = float(F32(F32(sa) * F32(sb))) / float(F32(so))
    mult, shift = _multiplier(op, real, "output")
    if is16 and not -31 <= shift < 8:
        raise Unsupported(f"int16 output multiplier exponent {shift} outside [-31, 8)")
    if geometry is None:
        return []
    params = dict(geometry, lhs_offset=-za, rhs_offset=-zb, output_offset=zo,
                  multiplier=mult, shift=shift, is_s16=int(is16),
                  rounding=KERNEL_ROUNDING)
    return [Node("batch_matmul", params, [a.index, b.index], y.index)]


# ----------------------------------------------------------------------- floor
@register("FLOOR", form="float32")
def prepare_floor(op, graph, ctx):
    """float32 [any shape] -> float32 [same shape]: floorf."""
    x, y = _unary(op, graph, [FLOAT32])
    if y.size == 0:
        return []
    return [Node("floor_f32", dict(size=y.size), [x.index], y.index)]


# ------------------------------------------------------------- float32 forms
@register("BATCH_MATMUL", form="float32")
def prepare_batch_matmul_f32(op, graph, ctx):
    """float32 BATCH_MATMUL (shapes as the int8 form): float32 sums in k order."""
    _version(op)
    require_io_count(op, 2, 1)
    a, b = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    for t in (a, b, y):
        require_dtype(t, FLOAT32)
    geometry = _bmm_geometry(op, a, b, y)
    if geometry is None:
        return []
    params = dict(geometry, lhs_offset=0, rhs_offset=0, output_offset=0, multiplier=0,
                  shift=0, is_s16=0, rounding=0)
    return [Node("batch_matmul_f32", params, [a.index, b.index], y.index)]


@register("PRELU", form="float32")
def prepare_prelu_f32(op, graph, ctx):
    """float32 x >= 0 ? x : x * alpha, alpha broadcast to the input's shape."""
    _version(op)
    require_io_count(op, 2, 1)
    x, alpha = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    for t in (x, alpha, y):
        require_dtype(t, FLOAT32)
    shape = broadcast_shape(op, x.shape, alpha.shape)
    if tuple(shape) != tuple(x.shape):
        raise ModelError(f"op {op.index} (PRELU): alpha {tuple(alpha.shape)} does not "
                         f"broadcast to the input's shape {tuple(x.shape)}")
    check_shape(op, y, shape)
    dims, (sx, salpha) = broadcast_box(op, [x.shape, alpha.shape], shape)
    if y.size == 0:
        return []
    zeros = dict(input_offset=0, alpha_offset=0, output_offset=0, multiplier_1=0,
                 shift_1=0, multiplier_2=0, shift_2=0, rounding=0)
    return [Node("prelu_f32", dict(zeros, dims=dims, in_strides=sx, alpha_strides=salpha),
                 [x.index, alpha.index], y.index)]


@register("ELU", "LOG_SOFTMAX", "L2_NORMALIZATION", form="float32")
def prepare_rows_f32(op, graph, ctx):
    """float32 ELU (expm1f), LOG_SOFTMAX and L2_NORMALIZATION (x / max(||x||, 1e-6))
    over the last axis, as LiteRT's reference kernels."""
    x, y = _unary(op, graph, [FLOAT32])
    if op.name == "L2_NORMALIZATION" and op.options.get("fused_activation_function", 0):
        raise Unsupported("L2_NORMALIZATION with a fused activation")
    if op.name != "ELU" and len(x.shape) < 1:
        raise Unsupported(f"{op.name} of a scalar")
    if y.size == 0:
        return []
    depth = y.size if op.name == "ELU" else int(x.shape[-1])
    kernel = {"ELU": "elu_f32", "LOG_SOFTMAX": "log_softmax_f32",
              "L2_NORMALIZATION": "l2norm_f32"}[op.name]
    return [Node(kernel, dict(outer=y.size // depth, depth=depth), [x.index], y.index)]


@register("SUM", form="float32")
def prepare_sum_f32(op, graph, ctx):
    """float32 SUM over constant axes: float32 sums in input order (the MEAN kernel
    with a count of 1)."""
    _version(op)
    require_io_count(op, 2, 1)
    x, axis_t = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(x, FLOAT32)
    require_dtype(y, FLOAT32)
    require_dtype(axis_t, INT32)
    if axis_t.data is None:
        raise Unsupported(f"axes (tensor {axis_t.index}) must be constant")
    if len(x.shape) == 0:
        raise Unsupported("rank-0 input")
    axes = resolve_axes(op, axis_t.data, len(x.shape))
    check_shape(op, y, mean_output_shape(tuple(x.shape), axes,
                                         bool(op.options.get("keep_dims"))))
    if x.size == 0:
        raise Unsupported("empty tensors")
    plan = mean_plan(tuple(x.shape), axes)
    if plan is None:
        raise Unsupported("a reduction over more than 6 alternating dimension groups")
    return [Node("mean_f32", dict(dims=plan[0], out_strides=plan[1], output_size=y.size,
                                  count=1), [x.index], y.index)]
