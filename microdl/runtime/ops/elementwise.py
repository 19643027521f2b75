"""Elementwise binary ops with NumPy broadcasting: ADD, SUB, MUL.

Supported: int8 (any per-tensor scales and zero points) and int16 (zero points 0,
TFLite's general-scale path), fused activations NONE / RELU / RELU6 / RELU_N1_TO_1,
broadcasting of any two shapes that merge to at most 6 dimensions.  Inputs may be
constants.  The C kernels are in cext/include/mdl_elementwise.h.

Arithmetic (TFLite's quantized reference kernels):

- ADD / SUB (tensorflow/lite/kernels/add.cc and sub.cc Prepare, reference/add.h and
  reference/sub.h): both inputs are shifted left by ``left_shift`` (20 for int8, 15 for
  int16), rescaled by ``scale_k / (2 * max(scale_1, scale_2))`` and added or
  subtracted; the result is rescaled by ``2 * max_scale / (2**left_shift *
  output_scale)``.  The three multipliers are computed in double from the float32
  scales (LiteRT's add.cc / sub.cc, TFLite Micro's add_common.cc).  TFLite Micro's
  current sub_common.cc divides in float32 instead, but its own golden files
  (integration_tests/seanet/sub) match the double expressions, so microdl uses them
  for both runtimes.  The output multiplier must be below 1: ADD's
  Prepare checks it; LiteRT's SUB Prepare accepts a larger one
  (QuantizeMultiplierGreaterThanOne) but its double-rounding kernel
  (MultiplyByQuantizedMultiplierSmallerThanOneExp) cannot apply the left shift, so
  microdl rejects that case too.
- MUL (mul.cc Prepare, reference/integer_ops/mul.h): one requantization of
  ``(in1 - zp1) * (in2 - zp2)`` by ``scale_1 * scale_2 / output_scale``: float32
  arithmetic in LiteRT's mul.cc (measured: the float32 product matches LiteRT where
  the two differ), double in TFLite Micro's mul_common.cc; the interpreter's rounding
  mode picks the runtime (single: LiteRT, double: TFLite Micro).

Rounding: measured on LiteRT 2.3's pip wheel (BUILTIN_REF), ADD, SUB and MUL
requantize with gemmlowp's double rounding (SaturatingRoundingDoublingHighMul then
RoundingDivideByPOT), although the wheel's FULLY_CONNECTED uses TFLITE_SINGLE_ROUNDING;
TFLite Micro double-rounds too.  So these kernels always get MDL_ROUNDING_DOUBLE; the
interpreter's rounding mode (ctx.rounding) only selects which runtime's Prepare
arithmetic MUL's multiplier follows.

Rejected as Unsupported: other dtypes, per-channel quantization, int16 with non-zero
zero points, int16 with ``pot_scale_int16`` set and power-of-two scales (TFLite's
separate LSTM-oriented path), empty tensors, ranks that do not merge to 6 dimensions.
"""
from __future__ import annotations

import math

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import ROUNDING_DOUBLE, quantize_multiplier, round_half_away
from microdl.runtime import cparams
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (INT8, INT16, activation_range, check_shape,
                                        per_tensor_quant, require_dtype,
                                        require_io_count, tensor_at)
from microdl.runtime.ops.conv import use_portable_kernels

BCAST_DIMS = 6  # MDL_BCAST_DIMS
MAX_VERSION = {"ADD": 5, "SUB": 5, "MUL": 7}
F32 = np.float32
# What LiteRT 2.3 and TFLite Micro both use for these ops (see the module docstring).
KERNEL_ROUNDING = ROUNDING_DOUBLE
C = cparams.C


def broadcast_shape(op, shape1, shape2):
    """NumPy / TFLite broadcast of two static shapes (ModelError if incompatible)."""
    r = max(len(shape1), len(shape2))
    a = (1,) * (r - len(shape1)) + tuple(shape1)
    b = (1,) * (r - len(shape2)) + tuple(shape2)
    out = []
    for da, db in zip(a, b):
        if da != db and da != 1 and db != 1:
            raise ModelError(f"op {op.index} ({op.name}): shapes {tuple(shape1)} and "
                             f"{tuple(shape2)} do not broadcast")
        out.append(db if da == 1 else da)
    return tuple(out)


def broadcast_plan(shape1, shape2, out_shape):
    """(dims, strides1, strides2), each of length BCAST_DIMS, for the C kernels: the
    output shape with size-1 dimensions dropped and adjacent dimensions merged where
    both inputs stay contiguous (or stay broadcast), left-padded with 1; element
    strides of each input per dimension, 0 where it is broadcast.  Returns None if more
    than BCAST_DIMS dimensions remain."""
    r = len(out_shape)
    padded = []
    for shape in (shape1, shape2):
        s = (1,) * (r - len(shape)) + tuple(shape)
        stride, strides = 1, [0] * r
        for d in range(r - 1, -1, -1):
            strides[d] = stride if s[d] != 1 else 0
            stride *= s[d]
        padded.append(strides)
    dims, st1, st2 = [], [], []
    for d in range(r):
        if out_shape[d] == 1:
            continue
        n, a, b = out_shape[d], padded[0][d], padded[1][d]
        if dims and st1[-1] == a * n and st2[-1] == b * n:
            dims[-1] *= n  # the previous dimension continues this one in both inputs
            st1[-1], st2[-1] = a, b
        else:
            dims.append(n)
            st1.append(a)
            st2.append(b)
    if len(dims) > BCAST_DIMS:
        return None
    pad = BCAST_DIMS - len(dims)
    return [1] * pad + dims, [0] * pad + st1, [0] * pad + st2


def _checked_log2(scale):
    """TFLite CheckedLog2 (float32): (is a power of two within 1e-3 in log2, log2)."""
    x = F32(math.log(F32(scale))) * (F32(1.0) / F32(math.log(F32(2.0))))
    rounded = round_half_away(F32(x))
    return abs(F32(x - rounded)) < F32(1e-3), int(rounded)


def _binary_common(op, graph):
    """Validated (x1, x2, y, dtype, dims, strides1, strides2) of a binary op."""
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 2, 1)
    x1, x2 = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(x1, INT8, INT16)
    dtype = np.dtype(x1.dtype)
    for t in (x2, y):
        if np.dtype(t.dtype) != dtype:
            raise ModelError(f"op {op.index} ({op.name}): tensor {t.index} is "
                             f"{np.dtype(t.dtype).name}, input 0 is {dtype.name}")
    out_shape = broadcast_shape(op, x1.shape, x2.shape)
    check_shape(op, y, out_shape)
    if x1.size == 0 or x2.size == 0 or y.size == 0:
        raise Unsupported("empty tensors")
    plan = broadcast_plan(x1.shape, x2.shape, out_shape)
    if plan is None:
        raise Unsupported(f"broadcasting {tuple(x1.shape)} with {tuple(x2.shape)} needs "
                          f"more than {BCAST_DIMS} dimensions")
    return (x1, x2, y, dtype) + plan


def _multiplier(op, real, what):
    try:
        return quantize_multiplier(real)
    except ValueError as e:
        raise ModelError(f"op {op.index} ({op.name}): {what}: {e}") from None


def add_sub_multipliers(scale1, scale2, out_scale, left_shift):
    """Real multipliers (input1, input2, output) of quantized ADD / SUB from float32
    scales, in double (LiteRT add.cc / sub.cc, TFLite Micro add_common.cc)."""
    s1, s2, so = F32(scale1), F32(scale2), F32(out_scale)
    twice = 2.0 * float(max(s1, s2))
    return (float(s1) / twice, float(s2) / twice,
            twice / (float(1 << left_shift) * float(so)))


def mul_multiplier(scale1, scale2, out_scale, float32_product):
    """Real output multiplier of quantized MUL: float32 arithmetic (LiteRT mul.cc) or
    double (TFLite Micro mul_common.cc)."""
    s1, s2, so = F32(scale1), F32(scale2), F32(out_scale)
    if float32_product:
        return float(F32(F32(s1 * s2) / so))
    return float(s1) * float(s2) / float(so)


# int32 (not quantized: WHILE-loop counters and index arithmetic): LiteRT's reference
# kernels for kTfLiteInt32 (add.cc, sub.cc, mul.cc) compute
# ActivationFunctionWithMinMax(in1 OP in2, min, max), wrapping modulo 2^32, [min, max]
# from CalculateActivationRange for int32 (NONE: all of int32, RELU: [0, max],
# RELU_N1_TO_1: [-1, 1], RELU6: [0, 6]).  C: cext/src/binary_s32.c.
_INT32_RANGES = {0: (-2**31, 2**31 - 1), 1: (0, 2**31 - 1), 2: (-1, 1), 3: (0, 6)}
_INT32_OPS = {"ADD": 0, "SUB": 1, "MUL": 2}  # MDL_BINARY_S32_*


def _int32_binary(op, graph):
    """ADD / SUB / MUL of two int32 tensors (broadcast), int32 output; None when
    input 0 is not int32 (the quantized forms)."""
    x1 = tensor_at(graph, op, 0)
    if x1.dtype is None or np.dtype(x1.dtype) != np.dtype(np.int32):
        return None
    if op.version > MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 2, 1)
    x2, y = tensor_at(graph, op, 1), tensor_at(graph, op, 0, "output")
    for t in (x2, y):
        if t.dtype is None or np.dtype(t.dtype) != np.dtype(np.int32):
            raise ModelError(f"op {op.index} ({op.name}): tensor {t.index} is not "
                             f"int32, input 0 is")
    out_shape = broadcast_shape(op, x1.shape, x2.shape)
    check_shape(op, y, out_shape)
    act = int(op.options.get("fused_activation_function", 0))
    if act not in _INT32_RANGES:
        raise Unsupported(f"fused activation {act} on int32")
    if x1.size == 0 or x2.size == 0 or y.size == 0:
        return []
    plan = broadcast_plan(x1.shape, x2.shape, out_shape)
    if plan is None:
        raise Unsupported(f"broadcasting {tuple(x1.shape)} with {tuple(x2.shape)} needs "
                          f"more than {BCAST_DIMS} dimensions")
    dims, st1, st2 = plan
    lo, hi = _INT32_RANGES[act]
    params = dict(dims=dims, in1_strides=st1, in2_strides=st2, op=_INT32_OPS[op.name],
                  act_min=lo, act_max=hi)
    return [Node("binary_s32", params, [x1.index, x2.index], y.index)]


@register("ADD", "SUB")
def prepare_add_sub(op, graph, ctx):
    """ADD / SUB: input1, input2 int8 or int16 (broadcastable, NHWC or any layout),
    output of the broadcast shape and the same dtype; or all three int32
    (_int32_binary)."""
    int32 = _int32_binary(op, graph)
    if int32 is not None:
        return int32
    subtract = op.name == "SUB"
    x1, x2, y, dtype, dims, st1, st2 = _binary_common(op, graph)
    s1, z1 = per_tensor_quant(x1)
    s2, z2 = per_tensor_quant(x2)
    so, zo = per_tensor_quant(y)
    if dtype == INT16:
        if z1 or z2 or zo:
            raise Unsupported("int16 with non-zero zero points")
        if op.options.get("pot_scale_int16", True) and all(
                _checked_log2(s)[0] for s in (s1, s2, so)):
            raise Unsupported("int16 with power-of-two scales and pot_scale_int16 "
                              "(TFLite's LSTM-oriented path)")
    left_shift = 15 if dtype == INT16 else 20
    r1, r2, ro = add_sub_multipliers(s1, s2, so, left_shift)
    if ro >= 1.0:
        raise Unsupported(f"output multiplier {ro:.6g} >= 1 (output scale too small for "
                          f"the input scales)")
    m1, sh1 = _multiplier(op, r1, "input1 multiplier")
    m2, sh2 = _multiplier(op, r2, "input2 multiplier")
    mo, sho = _multiplier(op, ro, "output multiplier")
    act_min, act_max = activation_range(op.options.get("fused_activation_function", 0), y)
    params = dict(dims=dims, in1_strides=st1, in2_strides=st2,
                  input1_offset=-z1, input2_offset=-z2, output_offset=zo,
                  left_shift=left_shift, input1_multiplier=m1, input1_shift=sh1,
                  input2_multiplier=m2, input2_shift=sh2, output_multiplier=mo,
                  output_shift=sho, act_min=act_min, act_max=act_max,
                  rounding=KERNEL_ROUNDING,
                  ukernel=C["ADD_UKERNEL_C"] if use_portable_kernels()
                  else C["ADD_UKERNEL_BEST"])
    kernel = ("sub" if subtract else "add") + ("_s16" if dtype == INT16 else "_s8")
    return [Node(kernel, params, [x1.index, x2.index], y.index)]


@register("MUL")
def prepare_mul(op, graph, ctx):
    """MUL: input1, input2 int8 or int16 (broadcastable), output of the broadcast shape
    and the same dtype; or all three int32 (_int32_binary)."""
    int32 = _int32_binary(op, graph)
    if int32 is not None:
        return int32
    x1, x2, y, dtype, dims, st1, st2 = _binary_common(op, graph)
    s1, z1 = per_tensor_quant(x1)
    s2, z2 = per_tensor_quant(x2)
    so, zo = per_tensor_quant(y)
    if dtype == INT16 and (z1 or z2 or zo):
        raise Unsupported("int16 with non-zero zero points")
    real = mul_multiplier(s1, s2, so, float32_product=ctx.rounding != ROUNDING_DOUBLE)
    mo, sho = _multiplier(op, real, "output multiplier")
    act_min, act_max = activation_range(op.options.get("fused_activation_function", 0), y)
    params = dict(dims=dims, in1_strides=st1, in2_strides=st2,
                  input1_offset=-z1, input2_offset=-z2, output_offset=zo,
                  output_multiplier=mo, output_shift=sho, act_min=act_min,
                  act_max=act_max, rounding=KERNEL_ROUNDING)
    kernel = "mul_s16" if dtype == INT16 else "mul_s8"
    return [Node(kernel, params, [x1.index, x2.index], y.index)]
