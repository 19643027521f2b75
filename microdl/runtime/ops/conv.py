"""CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV (int8, and 16x8 for CONV_2D and
TRANSPOSE_CONV).

Follows TFLite's Prepare functions (tensorflow/lite/kernels/conv.cc,
depthwise_conv.cc, transpose_conv.cc, kernel_util.cc
PopulateConvolutionQuantizationParams, padding.h) and the reference kernels
(kernels/internal/reference/integer_ops/conv.h, depthwise_conv.h, transpose_conv.h).
Kernels: cext/include/mdl_conv.h.

int8 CONV_2D (groups == 1) and DEPTHWISE_CONV_2D run on fast kernels
(conv_s8_fast: im2col + int8 GEMM with the input offset folded into the bias;
depthwise_conv_s8_fast: vectorized over channels) that give the same bits as the plain
reference kernels (conv_s8, depthwise_conv_s8); prepare also picks conv_s8_fast's
microkernels (cext/src/ukernels/, see _FORM_ROWS below).  An Interpreter made with
experimental_op_resolver_type=OpResolverType.BUILTIN_REF
(PrepareContext.reference_kernels) selects the reference kernels instead, and so does
the environment variable MICRODL_REFERENCE_KERNELS=1 set before an Interpreter is
created, whatever the resolver (tests compare the two; useful when debugging a kernel).
"""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import (ROUNDING_DOUBLE, ROUNDING_SINGLE,
                                      quantize_multiplier_array)
from microdl.core.shapes import PADDING_SAME, window
from microdl.runtime.cparams import (C, conv_s8_fast_buffer_size, conv_s8_fast_patch_len,
                                     kernel_fields, pack_params)
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (INT8, INT16, INT32, INT64,
                                        activation_range, channel_scales,
                                        per_tensor_quant, require_constant,
                                        require_dtype, require_io_count, tensor_at)

# tflite TensorType codes of Conv2DOptions / TransposeConvOptions.quantized_bias_type
_TENSOR_TYPE_INT32 = 2
_TENSOR_TYPE_INT64 = 4
_BIAS_TYPE_CODES = {_TENSOR_TYPE_INT32: INT32, _TENSOR_TYPE_INT64: INT64}

# Highest op version whose semantics are implemented (tools/versioning/op_version.cc):
# CONV_2D 1..8 (3 int8, 4 16x8, 6 grouped, 8 quantized_bias_type; 2/5 hybrid and 7 int4
# are rejected by the dtype checks), DEPTHWISE_CONV_2D 1..7 (2 dilation, 3 int8; 4/6
# hybrid, 5 int16 and 7 int4 are rejected by the dtype checks), TRANSPOSE_CONV 1..5
# (2 int8, 3 bias, 4 fused activation, 5 quantized_bias_type).
_MAX_VERSION = {"CONV_2D": 8, "DEPTHWISE_CONV_2D": 7, "TRANSPOSE_CONV": 5}

# mdl_requantize64 needs 15 - shift >= 1.
_MAX_SHIFT_64 = 14

# Requantization rounding of the convolution kernels for each PrepareContext.rounding.
# "single" means bit-exact with the LiteRT pip wheel (2.3), whose reference
# convolution kernels (BUILTIN_REF: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, int8
# and 16x8 with int32 bias) were measured to requantize with gemmlowp's double
# rounding, unlike its FULLY_CONNECTED (single rounding); tests/test_conv.py pins this
# (test_litert_reference_convs_use_double_rounding).  TFLite Micro ("double") uses
# double rounding too.  The 16x8 int64-bias path has one rounding in every build.
_KERNEL_ROUNDING = {ROUNDING_SINGLE: ROUNDING_DOUBLE, ROUNDING_DOUBLE: ROUNDING_DOUBLE}


# conv_s8_fast (cext/include/mdl_conv.h): int16 patches of patch_len entries
# (mdl_conv_s8_fast_patch_len, asked from C), block_pixels (at most
# MDL_CONV_S8_FAST_MAX_BLOCK, an even number when possible: the GEMMs work on pixel
# pairs) of them in arena scratch of mdl_conv_s8_fast_get_buffer_size bytes (asked from
# C; planned like every tensor, counted in arena_bytes): as many patches as fit
# _SCRATCH_PATCH entries (2 KiB; larger blocks measured no faster on KWS/VWW/IC), at
# least 2 (1 for a single output pixel).
_FAST_MAX_BLOCK = C["CONV_S8_FAST_MAX_BLOCK"]
_SCRATCH_PATCH = 1024
# conv_s8_fast sums int8 x int8 products in int32 without wrapping: K < 2^17.
_FAST_MAX_PATCH = 1 << 17
# Microkernels of conv_s8_fast, chosen here (variant fields, see mdl_conv.h):
# - GEMM (`lanes`): dot products along K (MDL_CONV_FAST_ROWS, s8-gemm-dot4-c) or, for
#   patches of at most _LANES_MAX_K entries, output-channel lanes (int16 pair
#   multiply-adds into int32 lanes of 16 output channels, no horizontal sums;
#   s8-gemm-lanes16-avx2 / -c), measured faster than the rows form on every MLPerf Tiny
#   layer (K from 8 to 576);
# - im2col (`im2col`): s8-im2col-row16-avx2 for filter rows of at most 16 entries in the
#   lanes form, else s8-im2col-pixel-c;
# - requantization (`fused_rq`): in the lanes16 GEMM's registers
#   (s8-gemm-lanes16-rq-avx2) in the lanes form with double rounding, else the int32
#   accumulators through s32-requant-rows-c.  With it, x86-64 CPUs with AVX512-VNNI run
#   the int8 form instead (chosen by the kernel at run time: the filter re-packed per
#   call, s8-gemm-lanes16c4-rq-avx512vnni; same node, same scratch on every CPU).
# The AVX2 microkernels fall back to their portable twins on CPUs without AVX2 (the
# kernel's only run-time choice); MICRODL_PORTABLE_KERNELS=1 chooses the twins here.
_FORM_ROWS = C["CONV_FAST_ROWS"]
_FORM_LANES = C["CONV_FAST_LANES"]
_FORM_LANES_C = C["CONV_FAST_LANES_C"]
_LANE_BLOCK = C["CONV_FAST_LANE_BLOCK"]
_LANES_MAX_K = 4096
_IM2COL_PIXEL = C["CONV_S8_FAST_IM2COL_PIXEL"]
_IM2COL_ROW16 = C["CONV_S8_FAST_IM2COL_ROW16"]
_IM2COL_ROWS = C["CONV_S8_FAST_IM2COL_ROWS"]
_ROW16_MAX_FH = C["CONV_S8_FAST_ROW16_MAX_FH"]
# depthwise_conv_s8_fast handles depth multipliers up to
# MDL_DEPTHWISE_FAST_MAX_MULTIPLIER.
_DEPTHWISE_FAST_MAX_MULTIPLIER = C["DEPTHWISE_FAST_MAX_MULTIPLIER"]


def use_reference_kernels(ctx=None):
    """True when prepare binds the plain reference convolution kernels instead of the
    fast ones (same results): `ctx.reference_kernels` (PrepareContext; the Interpreter's
    OpResolverType.BUILTIN_REF) or the environment variable MICRODL_REFERENCE_KERNELS=1,
    which overrides the context."""
    if os.environ.get("MICRODL_REFERENCE_KERNELS", "") == "1":
        return True
    return bool(getattr(ctx, "reference_kernels", False))


def use_portable_kernels():
    """True when MICRODL_PORTABLE_KERNELS=1: prepare chooses the portable C twin of
    every hand-written SIMD microkernel (conv_s8_fast's lanes GEMM, im2col and fused
    requantization, the depthwise lanes form) instead (tests)."""
    return os.environ.get("MICRODL_PORTABLE_KERNELS", "") == "1"


def lean_requantization(mult, shift):
    """1 when no channel needs a left shift (TFLite shift > 0) and no multiplier is
    INT32_MIN: the fast kernels' AVX2 requantization then skips both steps (the `lean`
    parameter of conv_s8_fast and of the depthwise lanes form); else 0."""
    return int(bool(np.all(np.asarray(shift) <= 0) and
                    np.all(np.asarray(mult) != np.iinfo(np.int32).min)))


def kernel_rounding(ctx):
    """MDL_ROUNDING_* code the convolution kernels use under ctx.rounding."""
    return _KERNEL_ROUNDING[ctx.rounding]


def _check_extent(*extents):
    """Unsupported unless every window extent (e.g. (out - 1) * stride + (k - 1) *
    dilation) fits the kernels' int32 index arithmetic."""
    if max(extents) >= (1 << 31) - 1:
        raise Unsupported("strides/dilations/sizes overflow 32-bit index arithmetic")


def conv_window(op, x, y, f_h, f_w, out_c):
    """The window of a CONV_2D / DEPTHWISE_CONV_2D (any dtype) over input x (NHWC) with
    an f_h x f_w filter: strides and dilations from the options, TFLite's output size
    and padding (microdl.core.shapes.window).  Returns (stride_h, stride_w,
    dilation_h, dilation_w, out_h, out_w, pad_h, pad_w).

    Raises:
        ModelError: y is not [batches, out_h, out_w, out_c].
        Unsupported: the window's extent overflows the kernels' int32 indices."""
    batches, in_h, in_w = (int(d) for d in x.shape[:3])
    sh, sw, dh, dw = _stride_dilation(op)
    padding = op.options.get("padding", PADDING_SAME)
    out_h, pad_h, _ = window(padding, in_h, f_h, sh, dh)
    out_w, pad_w, _ = window(padding, in_w, f_w, sw, dw)
    _expect_shape(y, (batches, out_h, out_w, out_c))
    _check_extent(out_h * sh + f_h * dh, out_w * sw + f_w * dw, in_h + in_w)
    return sh, sw, dh, dw, out_h, out_w, pad_h, pad_w


def _version_check(op):
    if not 1 <= op.version <= _MAX_VERSION[op.name]:
        raise Unsupported(f"version {op.version}")


def _stride_dilation(op, dilation=True):
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    if sh < 1 or sw < 1:
        raise ModelError(f"strides must be >= 1, got {sh}x{sw}")
    dh, dw = 1, 1
    if dilation:
        dh = int(o.get("dilation_h_factor", 1))
        dw = int(o.get("dilation_w_factor", 1))
        if dh < 1 or dw < 1:
            raise ModelError(f"dilation factors must be >= 1, got {dh}x{dw}")
    return sh, sw, dh, dw


def _require_rank(t, rank, what):
    if len(t.shape) != rank:
        raise ModelError(f"{what} (tensor {t.index}) must be {rank}-D, got shape "
                         f"{tuple(t.shape)}")


def _expect_shape(t, expected):
    if tuple(t.shape) != tuple(int(d) for d in expected):
        raise ModelError(f"output tensor {t.index} ({t.name!r}) has shape "
                         f"{tuple(t.shape)}, the op computes "
                         f"{tuple(int(d) for d in expected)}")


def _quant_params(op, x, w, bias, y, n_out, axis, wide):
    """Dtype and quantization checks shared by the three ops; returns
    (multiplier, shift, act_min, act_max, acc64).

    wide: the op runs 16x8 (int16 activations).  acc64 tells the 16x8 kernels to use
    int64 bias/accumulators (TFLite's default) rather than int32 ones."""
    act_dtype = INT16 if wide else INT8
    require_dtype(y, act_dtype)
    require_dtype(w, INT8)
    require_constant(op, w, "filter")
    in_scale, in_zp = per_tensor_quant(x)
    out_scale, out_zp = per_tensor_quant(y)
    if wide and (in_zp != 0 or out_zp != 0):
        raise Unsupported("16x8 convolutions need zero points 0 on the int16 input and "
                          f"output (got {in_zp} and {out_zp})")
    w_scales = channel_scales(w, n_out, axis=axis)
    acc64 = 0
    if wide:
        code = int(op.options.get("quantized_bias_type", 0) or 0)
        if code not in (0, _TENSOR_TYPE_INT32, _TENSOR_TYPE_INT64):
            raise ModelError(f"quantized_bias_type {code} must be INT32 or INT64")
        if bias is not None:
            require_dtype(bias, INT64, INT32)
            if code and np.dtype(bias.dtype) != _BIAS_TYPE_CODES[code]:
                raise ModelError(f"bias is {np.dtype(bias.dtype).name} but "
                                 f"quantized_bias_type says "
                                 f"{_BIAS_TYPE_CODES[code].name}")
            acc64 = int(np.dtype(bias.dtype) == INT64)
        else:
            acc64 = int(code != _TENSOR_TYPE_INT32)
    elif bias is not None:
        require_dtype(bias, INT32)
    if bias is not None:
        require_constant(op, bias, "bias")
        if bias.size != n_out:
            raise ModelError(f"bias has {bias.size} elements, expected {n_out}")
    # PopulateConvolutionQuantizationParams: double(input_scale) * double(filter_scale)
    # / double(output_scale), per output channel (a per-tensor scale is broadcast).
    real = np.float64(in_scale) * w_scales.astype(np.float64) / np.float64(out_scale)
    try:
        mult, shift = quantize_multiplier_array(real)
    except ValueError as e:
        raise ModelError(str(e)) from None
    if acc64 and int(shift.max()) > _MAX_SHIFT_64:
        raise Unsupported(f"effective output scale {float(real.max())} is too large "
                          f"for TFLite's 64-bit requantization")
    act_min, act_max = activation_range(op.options.get("fused_activation_function", 0), y)
    return mult, shift, act_min, act_max, acc64


@register("CONV_2D")
def prepare_conv_2d(op, graph, ctx):
    """input NHWC int8 (or int16, zero point 0), filter OHWI
    [output_c, filter_h, filter_w, filter_c] int8 constant (symmetric, per-channel along
    dimension 0 or per-tensor), optional bias [output_c] int32 (int64 or int32 for 16x8);
    output NHWC.  Grouped when input_c = groups * filter_c.  Padding and output size:
    TFLite ComputePaddingHeightWidth; multipliers: PopulateConvolutionQuantizationParams
    (tensorflow/lite/kernels/conv.cc, kernel_util.cc)."""
    _version_check(op)
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(x, INT8, INT16)
    wide = np.dtype(x.dtype) == INT16
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        _require_rank(t, 4, what)
    batches, in_h, in_w, in_c = x.shape
    out_c, f_h, f_w, f_c = w.shape
    if f_c < 1 or in_c < 1 or in_c % f_c:
        raise ModelError(f"input has {in_c} channels, not a multiple of the "
                         f"filter's {f_c}")
    groups = in_c // f_c
    if out_c % groups:
        raise ModelError(f"{out_c} filters do not split into {groups} groups")
    sh, sw, dh, dw, out_h, out_w, pad_h, pad_w = conv_window(op, x, y, f_h, f_w, out_c)
    mult, shift, act_min, act_max, acc64 = _quant_params(op, x, w, bias, y, out_c, 0, wide)
    params = dict(batches=batches, input_h=in_h, input_w=in_w, input_c=in_c,
                  filter_h=f_h, filter_w=f_w, filter_c=f_c, output_h=out_h,
                  output_w=out_w, output_c=out_c, stride_h=sh, stride_w=sw,
                  dilation_h=dh, dilation_w=dw,
                  pad_h=pad_h, pad_w=pad_w,
                  act_min=act_min, act_max=act_max, rounding=kernel_rounding(ctx))
    if wide:
        params["acc64"] = acc64
        kernel = "conv_s16"
    else:
        params["input_offset"] = -per_tensor_quant(x)[1]
        params["output_offset"] = per_tensor_quant(y)[1]
        kernel = "conv_s8"
        if (groups == 1 and f_h * f_w * f_c < _FAST_MAX_PATCH and
                not use_reference_kernels(ctx)):
            return [_conv_s8_fast_node(params, x.index, w.data, w.index,
                                       None if bias is None else bias.data, y.index,
                                       mult, shift)]
    return [Node(kernel, params,
                 [x.index, w.index, None if bias is None else bias.index, mult, shift],
                 y.index)]


def _fold_input_offset(rows, bias, input_offset, padded_channels):
    """bias[o] + input_offset * sum(rows[o]) modulo 2^32 (the kernels' int32
    arithmetic) as int32, zero-padded to `padded_channels` entries.  rows: [channels,
    taps] int8 weights; bias: int32 [channels] or None.  Exact for the fast kernels,
    whose taps outside the input read the input zero point (x + input_offset = 0)."""
    eff = input_offset * np.asarray(rows, np.int64).sum(axis=1)
    if bias is not None:
        eff = eff + np.asarray(bias, np.int64)
    out = np.zeros(padded_channels, np.int32)
    out[:len(eff)] = (eff + (1 << 31)) % (1 << 32) - (1 << 31)
    return out


def _pack_channel_lanes(rows):
    """rows [channels, k] int8 -> int16 [ceil(channels / 16)][ceil(k / 2)][16][2], element
    (k, o) at [o // 16][k // 2][o % 16][k % 2], zero beyond: the output-channel lanes
    layout of conv_s8_fast and of the depthwise lanes form (mdl_conv.h), one int16 pair
    multiply-add per 2 taps and 8 channels."""
    channels, k = rows.shape
    blocks = -(-channels // _LANE_BLOCK)
    k2 = k + (k & 1)
    w = np.zeros((blocks * _LANE_BLOCK, k2), np.int16)
    w[:channels, :k] = rows
    return np.ascontiguousarray(
        w.reshape(blocks, _LANE_BLOCK, k2 // 2, 2).transpose(0, 2, 1, 3))


def _row16_im2col_fits(params, patch_len):
    """s8-im2col-row16-avx2 fits the geometry (mdl_conv.h): more than one tap, filter rows
    of at most 16 entries (filter_w * input_c) read without dilation, at most
    _ROW16_MAX_FH of them, patches unpadded."""
    f_h, f_w, c = params["filter_h"], params["filter_w"], params["input_c"]
    return (f_h * f_w > 1 and params["dilation_w"] == 1 and f_w * c <= 16 and
            f_h <= _ROW16_MAX_FH and patch_len == f_h * f_w * c)


def _rows_im2col_fits(params):
    """The IM2COL_ROWS form (widened input rows read by the indirect GEMM
    s8-igemm-lanes16-rq-avx2, mdl_conv.h) fits: more than one filter row or column,
    dilation_w 1, whole int16 pairs per filter row (filter_w * input_c even), at most
    _ROW16_MAX_FH filter rows.  Where the operator cannot run it (no AVX2, ARM,
    AVX512-VNNI) it makes pixel patches in the same scratch."""
    f_h, f_w, c = params["filter_h"], params["filter_w"], params["input_c"]
    return (f_h * f_w > 1 and params["dilation_w"] == 1 and (f_w * c) % 2 == 0 and
            f_h <= _ROW16_MAX_FH)


def _conv_s8_fast_node(params, x_index, weights, weights_index, bias, y_index, mult,
                       shift):
    """A conv_s8_fast node for int8 conv params (groups == 1).

    weights: the OHWI int8 filter; weights_index: its tensor, read in place when its
    rows already have the kernel's patch length (else a zero-padded copy is made), or
    None; bias: int32 array or None.  The input offset is folded into the bias (exact
    modulo 2^32, the kernel's int32 arithmetic: padded taps of the patches hold the
    input zero point, whose x + input_offset is 0).  Patches of at most _LANES_MAX_K
    entries use the output-channel lanes form (filter re-laid out as int16 blocks of 16
    output channels, see mdl_conv.h), longer ones the rows form; the microkernels are
    chosen as described at _FORM_ROWS."""
    out_c = weights.shape[0]
    rows = weights.reshape(out_c, -1)
    k = rows.shape[1]
    if k <= _LANES_MAX_K:
        form = _FORM_LANES_C if use_portable_kernels() else _FORM_LANES
    else:
        form = _FORM_ROWS
    fast = dict(params, block_pixels=1, lanes=form, im2col=_IM2COL_PIXEL, fused_rq=0,
                lean=lean_requantization(mult, shift))
    patch_len = conv_s8_fast_patch_len(fast)
    if form != _FORM_ROWS:
        filt = _pack_channel_lanes(rows)
        padded = filt.shape[0] * _LANE_BLOCK  # bias_eff covers whole 16-channel blocks
        eff_bias = _fold_input_offset(rows, bias, params["input_offset"], padded)
    else:
        eff_bias = _fold_input_offset(rows, bias, params["input_offset"], out_c)
        if patch_len == k and weights_index is not None:
            filt = weights_index
        else:
            filt = np.zeros((out_c, patch_len), np.int8)
            filt[:, :k] = rows
    if form == _FORM_LANES:
        fast["fused_rq"] = int(params["rounding"] == ROUNDING_DOUBLE)
        if _row16_im2col_fits(fast, patch_len):
            fast["im2col"] = _IM2COL_ROW16
        elif fast["fused_rq"] and _rows_im2col_fits(fast):
            fast["im2col"] = _IM2COL_ROWS
    pixels = params["batches"] * params["output_h"] * params["output_w"]
    fit = _SCRATCH_PATCH // patch_len
    block = min(_FAST_MAX_BLOCK, fit if fit < 2 else fit // 2 * 2) if fit >= 1 else 2
    fast["block_pixels"] = max(1, min(block, pixels))
    # The int16 patch block lives in arena scratch (planned, counted in arena_bytes).
    return Node("conv_s8_fast", fast, [x_index, filt, eff_bias, mult, shift], y_index,
                scratch_bytes=conv_s8_fast_buffer_size(fast))


@register("DEPTHWISE_CONV_2D")
def prepare_depthwise_conv_2d(op, graph, ctx):
    """input NHWC int8, filter 1HWO [1, filter_h, filter_w, input_c * depth_multiplier]
    int8 constant (symmetric, per-channel along dimension 3 or per-tensor), optional bias
    [output_c] int32; output NHWC int8.  The depth multiplier is taken from the shapes,
    as TFLite's ComputeDepthMultiplier (tensorflow/lite/kernels/depthwise_conv.cc); the
    depth_multiplier option is not used."""
    _version_check(op)
    require_io_count(op, 2, 1, max_in=3)
    x, w = tensor_at(graph, op, 0), tensor_at(graph, op, 1)
    bias = tensor_at(graph, op, 2, optional=True)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(x, INT8)
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        _require_rank(t, 4, what)
    batches, in_h, in_w, in_c = x.shape
    one, f_h, f_w, out_c = w.shape
    if one != 1:
        raise ModelError(f"filter must be [1, H, W, C], got {tuple(w.shape)}")
    if in_c < 1 or out_c % in_c:
        raise ModelError(f"filter has {out_c} channels, not a multiple of the "
                         f"input's {in_c}")
    sh, sw, dh, dw, out_h, out_w, pad_h, pad_w = conv_window(op, x, y, f_h, f_w, out_c)
    mult, shift, act_min, act_max, _ = _quant_params(op, x, w, bias, y, out_c, 3, False)
    params = dict(batches=batches, input_h=in_h, input_w=in_w, input_c=in_c,
                  filter_h=f_h, filter_w=f_w, depth_multiplier=out_c // in_c,
                  output_h=out_h, output_w=out_w, stride_h=sh, stride_w=sw,
                  dilation_h=dh, dilation_w=dw,
                  pad_h=pad_h, pad_w=pad_w,
                  input_offset=-per_tensor_quant(x)[1],
                  output_offset=per_tensor_quant(y)[1],
                  act_min=act_min, act_max=act_max, rounding=kernel_rounding(ctx))
    kernel = "depthwise_conv_s8"
    if not use_reference_kernels(ctx):
        if in_c == 1 and f_h * f_w < _FAST_MAX_PATCH:
            # One input channel: a CONV_2D whose output_c filters are the depthwise
            # filter's channels (1HWO -> OHWI).
            conv = dict(params, input_c=1, filter_c=1, output_c=out_c)
            del conv["depth_multiplier"]
            return [_conv_s8_fast_node(conv, x.index, w.data.transpose(3, 1, 2, 0),
                                       None, None if bias is None else bias.data,
                                       y.index, mult, shift)]
        if out_c // in_c <= _DEPTHWISE_FAST_MAX_MULTIPLIER:
            kernel = "depthwise_conv_s8_fast"
        if (out_c == in_c and f_h * f_w <= _DEPTHWISE_LANES_MAX_TAPS
                and in_c <= _DEPTHWISE_LANES_MAX_CHANNELS and w.data is not None
                and (bias is None or bias.data is not None)):
            return [_depthwise_lanes_node(params, x.index, w.data, bias, y.index, mult,
                                          shift)]
    return [Node(kernel, params,
                 [x.index, w.index, None if bias is None else bias.index, mult, shift],
                 y.index)]


# Depth multiplier 1: depthwise_conv_s8_fast's channel-lanes form (packed int16 weights,
# folded bias; MDL_DEPTHWISE_FAST_LANES[_C], up to MDL_DEPTHWISE_FAST_LANES_MAX_TAPS
# taps and MDL_DEPTHWISE_FAST_LANES_MAX_CHANNELS channels).
_DW_FORM_LANES = C["DEPTHWISE_FAST_LANES"]
_DW_FORM_LANES_C = C["DEPTHWISE_FAST_LANES_C"]
_DEPTHWISE_LANES_MAX_TAPS = C["DEPTHWISE_FAST_LANES_MAX_TAPS"]
_DEPTHWISE_LANES_MAX_CHANNELS = C["DEPTHWISE_FAST_LANES_MAX_CHANNELS"]


def _depthwise_lanes_node(params, x_index, weights, bias, y_index, mult, shift):
    """A depthwise_conv_s8_fast node in the channel-lanes form (depth multiplier 1, see
    mdl_depthwise_conv_s8_fast_lanes in mdl_conv.h): the 1HWC filter packed as int16
    [ceil(c / 16)][pairs of taps][16 channels][2], and the input offset folded into the
    bias (exact modulo 2^32: the kernel reads taps outside the input as the input zero
    point, whose x + input_offset is 0)."""
    c = weights.shape[3]
    rows = weights.reshape(-1, c).T  # [channel, tap]
    packed = _pack_channel_lanes(rows)
    eff_bias = _fold_input_offset(rows, None if bias is None else bias.data,
                                  params["input_offset"], packed.shape[0] * _LANE_BLOCK)
    form = _DW_FORM_LANES_C if use_portable_kernels() else _DW_FORM_LANES
    return Node("depthwise_conv_s8_fast", params,
                [x_index, None, None, mult, shift, packed, eff_bias,
                 np.array([form, lean_requantization(mult, shift)], np.int32)],
                y_index)


@register("TRANSPOSE_CONV")
def prepare_transpose_conv(op, graph, ctx):
    """Inputs (output_shape int32[4], filter OHWI [output_c, filter_h, filter_w, input_c]
    int8 constant (symmetric, per-channel along dimension 0 or per-tensor), input NHWC
    int8 (or int16, zero point 0), optional bias [output_c] int32 (int64 or int32 for
    16x8)); output NHWC with the static shape of the output tensor.  A constant
    output_shape must equal it; a non-constant one (as in TFLite Micro's test models) is
    checked by the kernel at every invoke.  Padding: TFLite ComputePaddingHeightWidth on
    the output size with dilation 1 (tensorflow/lite/kernels/transpose_conv.cc).  The
    int32 (int64 for 16x8 with int64 bias) accumulators live in arena scratch."""
    _version_check(op)
    require_io_count(op, 3, 1, max_in=4)
    shape_t, w, x = (tensor_at(graph, op, k) for k in range(3))
    bias = tensor_at(graph, op, 3, optional=True)
    y = tensor_at(graph, op, 0, "output")
    require_dtype(x, INT8, INT16)
    wide = np.dtype(x.dtype) == INT16
    require_dtype(shape_t, INT32)
    if tuple(shape_t.shape) != (4,):
        raise ModelError(f"output_shape (tensor {shape_t.index}) must have 4 "
                         f"elements, got shape {tuple(shape_t.shape)}")
    for t, what in ((x, "input"), (w, "filter"), (y, "output")):
        _require_rank(t, 4, what)
    batches, in_h, in_w, in_c = x.shape
    out_c, f_h, f_w, f_c = w.shape
    if f_c != in_c:
        raise ModelError(f"filter has {f_c} input channels, the input {in_c}")
    if y.shape[0] != batches or y.shape[3] != out_c:
        raise ModelError(f"output tensor {y.index} has shape {tuple(y.shape)}, "
                         f"expected batch {batches} and {out_c} channels")
    shape_ref = None
    if shape_t.data is not None:
        # After a resize to a new batch, the batch carried past a constant output_shape
        # (microdl.runtime.shapeinfer).
        want = ctx.carried_shapes.get(op.index, [int(v) for v in shape_t.data])
        if tuple(want) != tuple(y.shape):
            raise ModelError(f"output_shape {list(want)} differs "
                             f"from the output tensor's shape {tuple(y.shape)}")
    else:
        shape_ref = shape_t.index
    sh, sw, _, _ = _stride_dilation(op, dilation=False)
    padding = op.options.get("padding", PADDING_SAME)
    out_h, out_w = y.shape[1], y.shape[2]
    _check_extent(in_h * sh + f_h + out_h, in_w * sw + f_w + out_w)
    _, pad_h, _ = window(padding, out_h, f_h, sh)  # on the forward convolution
    _, pad_w, _ = window(padding, out_w, f_w, sw)
    mult, shift, act_min, act_max, acc64 = _quant_params(op, x, w, bias, y, out_c, 0, wide)
    params = dict(batches=batches, input_h=in_h, input_w=in_w, input_c=in_c,
                  filter_h=f_h, filter_w=f_w, output_h=out_h, output_w=out_w,
                  output_c=out_c, stride_h=sh, stride_w=sw, pad_h=pad_h, pad_w=pad_w,
                  act_min=act_min, act_max=act_max, rounding=kernel_rounding(ctx))
    if wide:
        params["acc64"] = acc64
        kernel, acc_bytes = "transpose_conv_s16", (8 if acc64 else 4)
    else:
        params["input_offset"] = -per_tensor_quant(x)[1]
        params["output_offset"] = per_tensor_quant(y)[1]
        kernel, acc_bytes = "transpose_conv_s8", 4
    return [Node(kernel, params,
                 [x.index, w.index, None if bias is None else bias.index, mult, shift,
                  shape_ref],
                 y.index, scratch_bytes=acc_bytes * y.size)]


# ------------------------------------------------------------------ in place
# memory="small" (microdl/runtime/planner.py): a fast int8 convolution whose input
# dies at that layer may write its output into the input's arena block, through a
# ring of output rows in scratch (cext/include/mdl_inplace.h).  The C operator and
# inplace_ring_rows() below follow the same row schedule.
INPLACE_KERNELS = {"depthwise_conv_s8_fast": "depthwise_conv_s8_inplace",
                   "conv_s8_fast": "conv_s8_fast_inplace"}


def _out_geometry(p):
    """(output_h, output_w, output channels) of fast convolution params (CONV_2D's
    output_c, or DEPTHWISE's input_c * depth_multiplier)."""
    return p["output_h"], p["output_w"], p.get("output_c",
                                               p["input_c"] * p.get("depth_multiplier", 1))


def _row_bytes(p):
    """(input row bytes, output row bytes) of int8 convolution params."""
    _, w, c = _out_geometry(p)
    return p["input_w"] * p["input_c"], w * c


def inplace_ring_rows(params, delta):
    """Output rows the in-place schedule of mdl_inplace.h holds in its ring when the
    output starts `delta` bytes after the input (negative: before it), for int8
    convolution params with batches 1.  Output row r reads input rows from
    max(r * stride_h - pad_h, 0) on; row r is written into place when no row >= r reads
    the input bytes it covers, else kept in the ring until no later row does (rows in
    order).  Returns the largest number of rows waiting at once (0: every row is
    written in place)."""
    i_row, o_row = _row_bytes(params)
    in_h, out_h = params["input_h"], params["output_h"]
    s, pad = params["stride_h"], params["pad_h"]
    in_end = in_h * i_row
    flushed = ring = 0

    def free(row, need):  # the row's place holds no input byte still to be read
        w = delta + row * o_row
        return need >= in_end or w + o_row <= need or w >= in_end

    for y in range(out_h + 1):
        first = max(y * s - pad, 0)
        need = in_end if (y == out_h or first >= in_h) else first * i_row
        while flushed < y and free(flushed, need):
            flushed += 1
        if y == out_h:
            assert flushed == out_h
            break
        if flushed == y and free(y, need):
            flushed += 1
        else:
            ring = max(ring, y - flushed + 1)
    return ring


def inplace_deltas(params, alignment=16):
    """Byte distances from the input's start to the output's start worth trying in a
    shared block, each a multiple of `alignment`: 0 (starts aligned), the one that
    ends the output at (or just past) the input's end, and from each of these the
    nearest distance below it (at most one output row further) that needs no ring;
    then the two that put the output right after or right before the input (no
    overlap: no ring, the block is both, but a chain of in-place layers may need such
    a step to stay aligned)."""
    i_row, o_row = _row_bytes(params)
    n_in, n_out = params["input_h"] * i_row, params["output_h"] * o_row
    diff = n_in - n_out
    found = [0, diff // alignment * alignment]
    for d in list(found):
        for k in range(1, -(-o_row // alignment) + 1):
            if inplace_ring_rows(params, d - k * alignment) == 0:
                found.append(d - k * alignment)
                break
    found += [-(-n_in // alignment) * alignment, -(-n_out // alignment) * -alignment]
    return tuple(dict.fromkeys(found))  # in that order, without repeats


def inplace_block_bytes(params, delta):
    """Bytes from the first to the last byte of input and output together when the
    output starts `delta` bytes after the input."""
    i_row, o_row = _row_bytes(params)
    n_in, n_out = params["input_h"] * i_row, params["output_h"] * o_row
    return max(n_in, delta + n_out) - min(0, delta)


def inplace_node(node, delta):
    """The in-place variant of a fast int8 convolution Node whose output starts `delta`
    bytes after its input, or None when there is none (not a fast convolution, several
    images, a row band, or an output row whose window starts below the input).

    Returns:
        (Node, ring_bytes): the node (kernel depthwise_conv_s8_inplace or
        conv_s8_fast_inplace, scratch: the inner kernel's scratch rounded up to 16
        bytes, then ring_bytes of output rows)."""
    kernel = INPLACE_KERNELS.get(node.kernel)
    p = node.params
    if (kernel is None or p["batches"] != 1 or node.input_byte_offset or
            node.output_byte_offset or
            (p["output_h"] - 1) * p["stride_h"] - p["pad_h"] >= p["input_h"]):
        return None
    ring = inplace_ring_rows(p, delta)
    ring_bytes = ring * _row_bytes(p)[1]
    inner = 0 if node.kernel.startswith("depthwise") else -(-node.scratch_bytes // 16) * 16
    return Node(kernel, dict(p, ring_rows=ring), list(node.inputs), node.output,
                scratch_bytes=inner + ring_bytes), ring_bytes


# ------------------------------------------------------------------ fused chains
# memory="small": consecutive fast convolutions, each feeding only the next, may run
# as one chain node (cext/include/mdl_chain.h) that keeps a window of rows of each
# intermediate tensor instead of the whole tensor (line-buffered layer fusion).
CHAIN_KINDS = {"conv_s8_fast": 0, "depthwise_conv_s8_fast": 1}  # MDL_CHAIN_CONV, _DEPTHWISE
CHAIN_MAX_OPS = 4
CHAIN_MAX_FIELDS = 48
CHAIN_MAX_INPUTS = 32  # MDL_MAX_NODE_INPUTS
# Output rows of the reader one window chunk serves beyond the first, so the writer
# runs on a few rows per call instead of one (its per-call set-up amortized).
CHAIN_EXTRA_ROWS = 1


def chain_window_rows(reader_params, rows_h, extra=CHAIN_EXTRA_ROWS):
    """Rows of a mid tensor (rows_h high) the chain keeps for the op reading it: what
    1 + `extra` of the reader's output rows read ((filter_h - 1) * dilation_h + 1 +
    extra * stride_h), at most rows_h."""
    p = reader_params
    reach = (p["filter_h"] - 1) * p["dilation_h"] + 1
    return max(1, min(rows_h, reach + extra * p["stride_h"]))


def chain_node(nodes, extra=CHAIN_EXTRA_ROWS):
    """The chain node running fast convolution Nodes `nodes` (2..CHAIN_MAX_OPS, each
    reading the previous one's output as its first input and nowhere else) in one
    pass, or None when they cannot chain (other kernels, several images, row bands,
    shapes that do not chain, an output row past its input, too many inputs).

    Returns:
        (Node, window_bytes): kernel conv_chain_s8; inputs: the first node's, then each
        later node's after its first; output: the last node's; scratch: the largest
        of the nodes' own scratch (rounded up to 16 bytes), then the windows
        (window_bytes in all)."""
    if not 2 <= len(nodes) <= CHAIN_MAX_OPS:
        return None
    for k, n in enumerate(nodes):
        p = n.params
        if (n.kernel not in CHAIN_KINDS or p["batches"] != 1 or n.input_byte_offset or
                n.output_byte_offset or p["pad_h"] < 0 or
                (p["output_h"] - 1) * p["stride_h"] - p["pad_h"] >= p["input_h"]):
            return None
        if k:
            prev = nodes[k - 1]
            if (not isinstance(n.inputs[0], (int, np.integer)) or
                    int(n.inputs[0]) != prev.output or
                    any(isinstance(r, (int, np.integer)) and int(r) == prev.output
                        for r in n.inputs[1:]) or
                    (p["input_h"], p["input_w"], p["input_c"]) !=
                    _out_geometry(prev.params)):
                return None
    inputs = list(nodes[0].inputs) + [r for n in nodes[1:] for r in n.inputs[1:]]
    if len(inputs) > CHAIN_MAX_INPUTS:
        return None
    rows, window = [], 0
    for k, n in enumerate(nodes):
        if k + 1 < len(nodes):
            h, w, c = _out_geometry(n.params)
            r = chain_window_rows(nodes[k + 1].params, h, extra)
            rows.append(r)
            window += -(-(r * w * c) // 16) * 16
        else:
            rows.append(0)

    def fields(node):
        v = pack_params(node.kernel, kernel_fields(node.kernel), node.params)
        if v.size > CHAIN_MAX_FIELDS:
            raise RuntimeError(f"{node.kernel}: {v.size} parameters exceed a chain's "
                               f"{CHAIN_MAX_FIELDS}")
        return np.concatenate([v, np.zeros(CHAIN_MAX_FIELDS - v.size, np.int32)]).tolist()

    pad = CHAIN_MAX_OPS - len(nodes)
    params = dict(n_ops=len(nodes),
                  kind=[CHAIN_KINDS[n.kernel] for n in nodes] + [0] * pad,
                  n_inputs=[len(n.inputs) for n in nodes] + [0] * pad,
                  scratch=[n.scratch_bytes for n in nodes] + [0] * pad,
                  window_rows=rows + [0] * pad)
    zero = [0] * CHAIN_MAX_FIELDS
    for k in range(CHAIN_MAX_OPS):
        params[f"p{k}"] = fields(nodes[k]) if k < len(nodes) else zero
    own = max(-(-n.scratch_bytes // 16) * 16 for n in nodes)
    return Node("conv_chain_s8", params, inputs, nodes[-1].output,
                scratch_bytes=own + window), window


def cap_conv_scratch(node, max_bytes, min_block=1):
    """A conv_s8_fast Node whose im2col block (block_pixels patches in arena scratch)
    fits `max_bytes`: the IM2COL_ROWS form first goes back to pixel patches when its
    widened rows are larger, then the largest block_pixels below the node's own, even
    or 1 and at least `min_block`, whose mdl_conv_s8_fast_get_buffer_size is at most
    max_bytes (the smallest allowed when none is).  Other nodes, and nodes whose scratch already
    fits or whose block is at most min_block, are returned unchanged.  Same results
    (the block size only changes how many patches each GEMM call sees)."""
    if node.kernel != "conv_s8_fast" or node.scratch_bytes <= max_bytes:
        return node
    if node.params["im2col"] == _IM2COL_ROWS:  # its widened rows do not fit: patches
        params = dict(node.params, im2col=_IM2COL_PIXEL)
        size = conv_s8_fast_buffer_size(params)
        if size < node.scratch_bytes:
            node = replace(node, params=params, scratch_bytes=size)
            if size <= max_bytes:
                return node
    if node.params["block_pixels"] <= min_block:
        return node
    for b in range(node.params["block_pixels"] - 1, 0, -1):
        if b > 1 and b % 2:
            continue
        params = dict(node.params, block_pixels=b)
        size = conv_s8_fast_buffer_size(params)
        if size <= max_bytes or b <= max(min_block, 1):
            return replace(node, params=params, scratch_bytes=size)
    return node
