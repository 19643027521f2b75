"""QUANTIZE and DEQUANTIZE: the float / integer boundary and integer requantization.

Supported (per-tensor quantization, any shape; C kernels in
cext/include/mdl_activations.h):

- QUANTIZE float32 -> int8 / int16 (``quantize_f32``): LiteRT
  reference_ops::AffineQuantize: ``q = (int32)TfLiteRound(x / scale) + zero_point``
  with a float32 division and round half away from zero; NaN, infinities and
  quotients outside the int32 range convert to INT32_MIN (x86-64 cvttss2si, what the
  pip wheel does) before the zero point is added with int32 wrap-around; then clamped.
- QUANTIZE between int8 and uint8 in any direction (uint8 model interfaces; a
  lookup table indexed by the input byte, ``lut_s8``) and int8 -> int16 / int32,
  int16 -> int8 / int16 / int32, int32 -> int8 / int16 (``requantize_int``):
  reference_ops::Requantize: ``clamp(MultiplyByQuantizedMultiplier(q - input_zp,
  input_scale / output_scale) + output_zp)``, the multiplier computed in double from
  the float32 scales (LiteRT quantize.cc Prepare, TFLite Micro quantize_common.cc).
  LiteRT 2.3 refuses int8 -> int16 / int32 (TFLite Micro runs them).
- DEQUANTIZE int8 / int16 -> float32 (``dequantize_f32``):
  reference_integer_ops::Dequantize: ``(float)((double)scale * (q - zero_point))``.

Rounding: measured on LiteRT 2.3's pip wheel (BUILTIN_REF), QUANTIZE's
requantization uses gemmlowp double rounding (SaturatingRoundingDoublingHighMul then
RoundingDivideByPOT), like TFLite Micro, so ``requantize_int`` always gets
MDL_ROUNDING_DOUBLE whatever ctx.rounding says.

Rejected as Unsupported: per-channel quantization, uint8 other than to / from int8,
float16 / int4 / other dtypes, float32 -> int32, DEQUANTIZE to anything but float32, int16 -> int16
requantization and int16 DEQUANTIZE with non-zero zero points (LiteRT 2.3 refuses
them), scale ratios of 2^30 or more, op versions above LiteRT's (QUANTIZE 4,
DEQUANTIZE 7).
"""
from __future__ import annotations

import numpy as np

from microdl.core.fixedpoint import ROUNDING_DOUBLE, requantize_r, wrap_int32
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.activations import (LUT_INPUTS, lut_node, multiplier_of,
                                             to_int8_table)
from microdl.runtime.ops.common import (FLOAT32, INT8, INT16, INT32, UINT8, check_shape,
                                        per_tensor_quant, qrange, require_dtype,
                                        require_io_count, tensor_at)

# Requantization rounding of LiteRT 2.3's quantize.cc (measured) and TFLite Micro.
QUANTIZE_ROUNDING = ROUNDING_DOUBLE

_BITS = {INT8: 8, INT16: 16, INT32: 32}
_OUTPUTS = {INT8: (INT8, INT16, INT32), INT16: (INT8, INT16, INT32),
            INT32: (INT8, INT16)}


def _io(op, graph, max_version):
    if op.version > max_version:
        raise Unsupported(f"version {op.version}")
    require_io_count(op, 1, 1)
    x, y = tensor_at(graph, op, 0), tensor_at(graph, op, 0, "output")
    check_shape(op, y, x.shape)
    return x, y


def requantize_values(x, in_zp, out_zp, mult, shift, out_dtype, rounding):
    """Requantize on int64 arrays of integer inputs (wrapping int32 arithmetic)."""
    lo, hi = qrange(out_dtype) if np.dtype(out_dtype) != INT32 else (-(1 << 31),
                                                                      (1 << 31) - 1)
    y = requantize_r(wrap_int32(np.asarray(x, np.int64) - in_zp), mult, shift, rounding)
    return np.clip(wrap_int32(wrap_int32(y) + out_zp), lo, hi)


@register("QUANTIZE")
def prepare_quantize(op, graph, ctx):
    """float32 -> int8 / int16, or integer requantization between int8 / int16 /
    int32 (see the module docstring); same shape in and out."""
    x, y = _io(op, graph, 4)
    require_dtype(x, FLOAT32, INT8, INT16, INT32, UINT8)
    require_dtype(y, INT8, INT16, INT32, UINT8)
    out_s, out_zp = per_tensor_quant(y)
    x_dtype, y_dtype = np.dtype(x.dtype), np.dtype(y.dtype)
    if UINT8 in (x_dtype, y_dtype):
        return [_byte_requantize(x, y, out_s, out_zp)]
    if x_dtype == FLOAT32:
        if y_dtype == INT32:
            raise Unsupported("QUANTIZE float32 -> int32")
        return [Node("quantize_f32",
                     dict(size=x.size, zero_point=out_zp, output_bits=_BITS[y_dtype]),
                     [x.index, np.array([out_s], np.float32)], y.index)]
    if y_dtype not in _OUTPUTS[x_dtype]:
        raise Unsupported(f"QUANTIZE {x_dtype.name} -> {y_dtype.name}")
    in_s, in_zp = per_tensor_quant(x)
    if x_dtype == INT16 and y_dtype == INT16 and (in_zp != 0 or out_zp != 0):
        raise Unsupported("QUANTIZE int16 -> int16 needs zero points 0 "
                          "(LiteRT's check)")
    mult, shift = multiplier_of(float(np.float64(np.float32(in_s)) /
                                      np.float64(np.float32(out_s))), "QUANTIZE")
    if x_dtype == INT8 and y_dtype == INT8:
        values = requantize_values(LUT_INPUTS, in_zp, out_zp, mult, shift, INT8,
                                   QUANTIZE_ROUNDING)
        return [lut_node(x, y, to_int8_table(values))]
    params = dict(size=x.size, input_offset=int(wrap_int32(-in_zp)),
                  output_offset=out_zp, multiplier=mult, shift=shift,
                  input_bits=_BITS[x_dtype], output_bits=_BITS[y_dtype],
                  rounding=QUANTIZE_ROUNDING)
    return [Node("requantize_int", params, [x.index], y.index)]


def _byte_requantize(x, y, out_s, out_zp):
    """QUANTIZE between the one-byte types int8 and uint8 (either way, or uint8 ->
    uint8): reference_ops::Requantize evaluated for all 256 input bytes."""
    x_dtype, y_dtype = np.dtype(x.dtype), np.dtype(y.dtype)
    if x_dtype not in (INT8, UINT8) or y_dtype not in (INT8, UINT8):
        raise Unsupported(f"QUANTIZE {x_dtype.name} -> {y_dtype.name}")
    in_s, in_zp = per_tensor_quant(x)
    mult, shift = multiplier_of(float(np.float64(np.float32(in_s)) /
                                      np.float64(np.float32(out_s))), "QUANTIZE")
    # lut_s8 indexes its table by the raw input byte.
    byte_values = LUT_INPUTS if x_dtype == INT8 else np.arange(256, dtype=np.int64)
    values = requantize_values(byte_values, in_zp, out_zp, mult, shift, y_dtype,
                               QUANTIZE_ROUNDING)
    return lut_node(x, y, to_int8_table(values))


@register("DEQUANTIZE")
def prepare_dequantize(op, graph, ctx):
    """int8 / int16 -> float32, same shape:
    (float)(double(scale) * (q - zero_point))."""
    x, y = _io(op, graph, 7)
    require_dtype(x, INT8, INT16)
    require_dtype(y, FLOAT32)
    in_s, in_zp = per_tensor_quant(x)
    if np.dtype(x.dtype) == INT16 and in_zp != 0:
        raise Unsupported("DEQUANTIZE int16 needs zero point 0 (LiteRT 2.3's check)")
    return [Node("dequantize_f32",
                 dict(size=x.size, zero_point=in_zp,
                      input_bits=_BITS[np.dtype(x.dtype)]),
                 [x.index, np.array([in_s], np.float32)], y.index)]
