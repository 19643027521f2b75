"""CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV (int8 and 16x8) against LiteRT's
reference kernels (BUILTIN_REF) and the numpy reference microdl/reference/conv.py."""
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microdl.core import shapes
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.fixedpoint import ROUNDING_DOUBLE, ROUNDING_SINGLE
from microdl.reference import conv as R
from microdl.runtime._engine import KernelError
from tests.oplib import (assert_same_as_litert, op_model, random_int, run_litert,
                         run_microdl, spec)

PADDING = {"SAME": 0, "VALID": 1}
NONE, RELU, RELU_N1_TO_1, RELU6, TANH = 0, 1, 2, 3, 4
# tflite TensorType codes for quantized_bias_type
BIAS_INT32, BIAS_INT64 = 2, 4
# LiteRT 2.3's reference convolutions requantize with double rounding (see
# test_litert_reference_convs_use_double_rounding), so both of microdl's modes are
# compared with the double-rounding numpy reference.
CONV_ROUNDING = ROUNDING_DOUBLE


def act_range(act, scale, zp, dtype):
    """Fused activation clamp in quantized units: zp + round(f / scale) in float32,
    round half away from zero, intersected with the dtype range."""
    info = np.iinfo(dtype)

    def q(f):
        v = np.float32(f) / np.float32(scale)
        return zp + int(np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)))

    lo, hi = {NONE: (info.min, info.max), RELU: (q(0.0), info.max),
              RELU6: (q(0.0), q(6.0)), RELU_N1_TO_1: (q(-1.0), q(1.0))}[act]
    return max(lo, info.min), min(hi, info.max)


class Case:
    """A one-op model and its numpy-reference meaning.

    model: .tflite bytes; inputs(rng): list of model inputs; expect(inputs, rounding):
    the reference output."""

    def __init__(self, model, make_inputs, expect):
        self.model, self.make_inputs, self.expect = model, make_inputs, expect

    def check(self, rng, trials=2, litert=True):
        for _ in range(trials):
            inputs = self.make_inputs(rng)
            if litert:
                assert_same_as_litert(self.model, inputs, rounding="single")
            want = self.expect(inputs, CONV_ROUNDING)
            for mode in ("single", "double"):
                got, = run_microdl(self.model, inputs, rounding=mode)
                np.testing.assert_array_equal(got, want, err_msg=f"rounding={mode}")


def _scales(rng, n_out, per_channel):
    ws = rng.uniform(0.002, 0.02, n_out).astype(np.float32)
    if not per_channel:
        ws[:] = ws[0]
    return ws


def _out_scale(in_scale, ws, taps, dtype):
    """An output scale that keeps most outputs inside the dtype range."""
    x_std = 74.0 if dtype == np.int8 else 18900.0
    spread = 40.0 if dtype == np.int8 else 9000.0
    return np.float32(in_scale * float(ws.mean()) * np.sqrt(taps) * x_std * 74.0 / spread)


def _bias(rng, dtype, n, in_scale, ws, out_scale, bias_dtype):
    bound = int(float(out_scale) / (in_scale * float(ws.mean())) * 30) + 1
    if dtype == np.int16:
        bound *= 300
    return rng.integers(-bound, bound, n).astype(bias_dtype)


def conv_case(rng, *, n=1, h, w, c, oc, k=(3, 3), stride=(1, 1), dilation=(1, 1),
              padding="SAME", groups=1, per_channel=True, act=NONE, in_zp=None,
              out_zp=None, bias=True, dtype=np.int8, bias_dtype=None, qbt=0,
              version=None):
    kh, kw = k
    fc = c // groups
    wt = random_int(rng, (oc, kh, kw, fc))
    ws = _scales(rng, oc, per_channel)
    in_scale = float(rng.uniform(0.01, 0.1))
    out_scale = _out_scale(in_scale, ws, kh * kw * fc, dtype)
    if dtype == np.int16:
        in_zp, out_zp = 0, 0
        bias_dtype = bias_dtype or np.int64
    else:
        bias_dtype = np.int32
        in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
        out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
    b = _bias(rng, dtype, oc, in_scale, ws, out_scale, bias_dtype) if bias else None
    oh = shapes.out_size(padding, h, kh, stride[0], dilation[0])
    ow = shapes.out_size(padding, w, kw, stride[1], dilation[1])
    w_spec = (spec((oc, kh, kw, fc), data=wt, scales=ws) if per_channel
              else spec((oc, kh, kw, fc), data=wt, scale=float(ws[0])))
    b_spec = (spec((oc,), bias_dtype, data=b, scales=ws * np.float32(in_scale))
              if bias else None)
    options = {"padding": PADDING[padding], "stride_h": stride[0], "stride_w": stride[1],
               "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
               "fused_activation_function": act, "quantized_bias_type": qbt}
    if version is None:
        version = 8 if qbt else (6 if groups > 1 else (4 if dtype == np.int16 else 3))
    inputs = [spec((n, h, w, c), dtype, scale=in_scale, zero_point=in_zp), w_spec]
    model = op_model("CONV_2D", inputs + ([b_spec] if bias else []),
                     [spec((n, oh, ow, oc), dtype, scale=float(out_scale),
                           zero_point=out_zp)],
                     options, version=version)
    mult, shift = R.multipliers(in_scale, ws, out_scale, oc)
    acc64 = dtype == np.int16 and (np.dtype(bias_dtype) == np.int64 if bias
                                   else qbt != BIAS_INT32)

    def expect(inputs, rounding):
        return R.conv2d(inputs[0], wt, b, input_zp=in_zp, output_zp=out_zp, mult=mult,
                        shift=shift, stride=stride, dilation=dilation, padding=padding,
                        act=act_range(act, out_scale, out_zp, dtype), rounding=rounding,
                        acc64=acc64, out_dtype=dtype)

    return Case(model, lambda r: [random_int(r, (n, h, w, c), dtype)], expect)


def depthwise_case(rng, *, n=1, h, w, c, mult=1, k=(3, 3), stride=(1, 1),
                   dilation=(1, 1), padding="SAME", per_channel=True, act=NONE,
                   in_zp=None, out_zp=None, bias=True):
    kh, kw = k
    oc = c * mult
    wt = random_int(rng, (1, kh, kw, oc))
    ws = _scales(rng, oc, per_channel)
    in_scale = float(rng.uniform(0.01, 0.1))
    out_scale = _out_scale(in_scale, ws, kh * kw, np.int8)
    in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
    b = _bias(rng, np.int8, oc, in_scale, ws, out_scale, np.int32) if bias else None
    oh = shapes.out_size(padding, h, kh, stride[0], dilation[0])
    ow = shapes.out_size(padding, w, kw, stride[1], dilation[1])
    w_spec = (spec((1, kh, kw, oc), data=wt, scales=ws, quantized_dimension=3)
              if per_channel else spec((1, kh, kw, oc), data=wt, scale=float(ws[0])))
    b_spec = (spec((oc,), np.int32, data=b, scales=ws * np.float32(in_scale))
              if bias else None)
    options = {"padding": PADDING[padding], "stride_h": stride[0], "stride_w": stride[1],
               "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
               "depth_multiplier": mult, "fused_activation_function": act}
    inputs = [spec((n, h, w, c), scale=in_scale, zero_point=in_zp), w_spec]
    model = op_model("DEPTHWISE_CONV_2D", inputs + ([b_spec] if bias else []),
                     [spec((n, oh, ow, oc), scale=float(out_scale), zero_point=out_zp)],
                     options, version=3)
    mult_, shift = R.multipliers(in_scale, ws, out_scale, oc)

    def expect(inputs, rounding):
        return R.depthwise_conv2d(inputs[0], wt, b, input_zp=in_zp, output_zp=out_zp,
                                  mult=mult_, shift=shift, stride=stride,
                                  dilation=dilation, padding=padding,
                                  act=act_range(act, out_scale, out_zp, np.int8),
                                  rounding=rounding)

    return Case(model, lambda r: [random_int(r, (n, h, w, c))], expect)


def transpose_case(rng, *, n=1, h, w, c, oc, out_hw, k=(3, 3), stride=(1, 1),
                   padding="SAME", per_channel=True, act=NONE, in_zp=None, out_zp=None,
                   bias=True, dtype=np.int8, bias_dtype=None, qbt=0,
                   dynamic_shape=False):
    kh, kw = k
    oh, ow = out_hw
    wt = random_int(rng, (oc, kh, kw, c))
    ws = _scales(rng, oc, per_channel)
    in_scale = float(rng.uniform(0.01, 0.1))
    taps = c * max(1, (kh // stride[0])) * max(1, (kw // stride[1]))
    out_scale = _out_scale(in_scale, ws, taps, dtype)
    if dtype == np.int16:
        in_zp, out_zp = 0, 0
        bias_dtype = bias_dtype or np.int64
    else:
        bias_dtype = np.int32
        in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
        out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
    b = _bias(rng, dtype, oc, in_scale, ws, out_scale, bias_dtype) if bias else None
    shape = np.array([n, oh, ow, oc], np.int32)
    shape_spec = spec((4,), np.int32) if dynamic_shape else spec((4,), np.int32, data=shape)
    w_spec = (spec((oc, kh, kw, c), data=wt, scales=ws) if per_channel
              else spec((oc, kh, kw, c), data=wt, scale=float(ws[0])))
    inputs = [shape_spec, w_spec,
              spec((n, h, w, c), dtype, scale=in_scale, zero_point=in_zp)]
    if bias:
        inputs.append(spec((oc,), bias_dtype, data=b, scales=ws * np.float32(in_scale)))
    options = {"padding": PADDING[padding], "stride_h": stride[0], "stride_w": stride[1],
               "fused_activation_function": act, "quantized_bias_type": qbt}
    version = 5 if qbt else (4 if act else (3 if bias else 2))
    model = op_model("TRANSPOSE_CONV", inputs,
                     [spec((n, oh, ow, oc), dtype, scale=float(out_scale),
                           zero_point=out_zp)], options, version=version)
    mult, shift = R.multipliers(in_scale, ws, out_scale, oc)
    acc64 = dtype == np.int16 and (np.dtype(bias_dtype) == np.int64 if bias
                                   else qbt != BIAS_INT32)

    def make_inputs(r):
        x = random_int(r, (n, h, w, c), dtype)
        return [shape, x] if dynamic_shape else [x]

    def expect(inputs, rounding):
        return R.transpose_conv2d(inputs[-1], wt, b, (n, oh, ow, oc), input_zp=in_zp,
                                  output_zp=out_zp, mult=mult, shift=shift,
                                  stride=stride, padding=padding,
                                  act=act_range(act, out_scale, out_zp, dtype),
                                  rounding=rounding, acc64=acc64, out_dtype=dtype)

    return Case(model, make_inputs, expect)


# ------------------------------------------------------------------- CONV_2D int8
CONV_CASES = {
    "same_odd_c3": dict(h=7, w=9, c=3, oc=7),
    "same_even_c17": dict(h=8, w=6, c=17, oc=3),
    "valid_odd_c7": dict(h=9, w=7, c=7, oc=17, padding="VALID"),
    "valid_even_stride2": dict(h=10, w=8, c=3, oc=5, stride=(2, 2), padding="VALID"),
    "same_odd_stride2_c1_oc33": dict(h=9, w=11, c=1, oc=33, stride=(2, 2)),
    "same_even_stride2_k4": dict(h=8, w=8, c=7, oc=7, k=(4, 4), stride=(2, 2)),
    "same_dilation2": dict(h=11, w=9, c=3, oc=7, dilation=(2, 2)),
    "valid_dilation2x1_k3x2": dict(h=10, w=7, c=5, oc=4, k=(3, 2), dilation=(2, 1),
                                   padding="VALID"),
    "same_stride2_dilation2": dict(h=12, w=9, c=3, oc=6, stride=(2, 2), dilation=(2, 2)),
    "1x1_c33": dict(h=5, w=5, c=33, oc=17, k=(1, 1)),
    "1x1_stride2": dict(h=6, w=7, c=7, oc=3, k=(1, 1), stride=(2, 2), padding="VALID"),
    "filter_larger_than_input_same": dict(h=3, w=2, c=3, oc=5, k=(5, 5)),
    "filter_larger_than_input_same_stride2": dict(h=2, w=3, c=1, oc=3, k=(4, 5),
                                                  stride=(2, 2)),
    "zp_min_in_max_out_relu": dict(h=6, w=6, c=7, oc=7, in_zp=-128, out_zp=127,
                                   act=RELU),
    "zp_max_in_min_out_relu6": dict(h=5, w=7, c=3, oc=7, in_zp=127, out_zp=-128,
                                    act=RELU6),
    "relu_n1_to_1": dict(h=5, w=5, c=3, oc=3, act=RELU_N1_TO_1),
    "per_tensor_weights": dict(h=6, w=5, c=7, oc=17, per_channel=False),
    "batch2_strides1x2_k3x5": dict(n=2, h=7, w=10, c=3, oc=7, k=(3, 5), stride=(1, 2)),
    "grouped_2x3": dict(h=6, w=6, c=6, oc=4, groups=2),
    "grouped_depthwise_like": dict(h=5, w=5, c=4, oc=8, groups=4),
}


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_conv2d_int8(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    conv_case(rng, **CONV_CASES[name]).check(rng)


def test_conv2d_int8_without_bias_matches_reference():
    # LiteRT's CONV_2D requires a bias; TFLite Micro does not.
    rng = np.random.default_rng(11)
    conv_case(rng, h=6, w=7, c=5, oc=6, stride=(2, 1), bias=False).check(rng, litert=False)


# --------------------------------------------------------- DEPTHWISE_CONV_2D int8
DEPTHWISE_CASES = {
    "same_odd_c3": dict(h=7, w=9, c=3),
    "same_even_c17": dict(h=8, w=6, c=17),
    "valid_odd_c7": dict(h=9, w=7, c=7, padding="VALID"),
    "valid_even_stride2_c33": dict(h=10, w=8, c=33, stride=(2, 2), padding="VALID"),
    "mult2_c7": dict(h=6, w=7, c=7, mult=2),
    "c1_to_8_stride2": dict(h=9, w=10, c=1, mult=8, stride=(2, 2)),
    "c1_to_3_k10x8": dict(h=12, w=11, c=1, mult=3, k=(10, 8), stride=(2, 2)),
    "dilation2": dict(h=11, w=9, c=3, dilation=(2, 2)),
    "dilation1x2_valid_mult2": dict(h=8, w=11, c=3, mult=2, dilation=(1, 2),
                                    padding="VALID"),
    "1x1_mult2": dict(h=5, w=6, c=17, mult=2, k=(1, 1)),
    "filter_larger_than_input_same": dict(h=2, w=3, c=7, k=(5, 5)),
    "zp_min_in_max_out_relu6": dict(h=6, w=6, c=7, in_zp=-128, out_zp=127, act=RELU6),
    "zp_max_in_min_out_relu": dict(h=5, w=5, c=3, in_zp=127, out_zp=-128, act=RELU),
    "relu_n1_to_1_per_tensor": dict(h=5, w=5, c=7, act=RELU_N1_TO_1, per_channel=False),
    "batch2": dict(n=2, h=6, w=5, c=3, mult=2, stride=(1, 2)),
}


@pytest.mark.parametrize("name", sorted(DEPTHWISE_CASES))
def test_depthwise_conv2d_int8(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    depthwise_case(rng, **DEPTHWISE_CASES[name]).check(rng)


def test_depthwise_without_bias_matches_litert():
    rng = np.random.default_rng(12)
    depthwise_case(rng, h=6, w=6, c=3, mult=2, bias=False).check(rng)


# ------------------------------------------------------------ TRANSPOSE_CONV int8
TRANSPOSE_CASES = {
    "same_stride1_c3": dict(h=5, w=6, c=3, oc=7, out_hw=(5, 6)),
    "same_stride2_even": dict(h=4, w=5, c=7, oc=3, out_hw=(8, 10), stride=(2, 2)),
    "same_stride2_odd": dict(h=4, w=5, c=7, oc=5, out_hw=(7, 9), stride=(2, 2)),
    "valid_stride2_k3": dict(h=4, w=3, c=3, oc=17, out_hw=(9, 7), stride=(2, 2),
                             padding="VALID"),
    "valid_stride1_c1": dict(h=5, w=5, c=1, oc=3, out_hw=(7, 7), padding="VALID"),
    "same_stride2x1_k4x3_c17": dict(h=3, w=6, c=17, oc=4, k=(4, 3), out_hw=(6, 6),
                                    stride=(2, 1)),
    "1x1_stride2_valid": dict(h=3, w=4, c=5, oc=6, k=(1, 1), out_hw=(5, 7),
                              stride=(2, 2), padding="VALID"),
    "k5_larger_than_input_same": dict(h=2, w=2, c=3, oc=3, k=(5, 5), out_hw=(4, 4),
                                      stride=(2, 2)),
    "zp_extremes": dict(h=4, w=4, c=7, oc=7, out_hw=(8, 8), stride=(2, 2), in_zp=-128,
                        out_zp=127),
    "zp_extremes_swapped": dict(h=4, w=3, c=3, oc=5, out_hw=(4, 3), in_zp=127,
                                out_zp=-128),
    "per_tensor_no_bias": dict(h=4, w=4, c=3, oc=33, out_hw=(8, 8), stride=(2, 2),
                               per_channel=False, bias=False),
    "relu6": dict(h=4, w=4, c=3, oc=4, out_hw=(8, 8), stride=(2, 2), act=RELU6),
    "batch2": dict(n=2, h=3, w=4, c=3, oc=2, out_hw=(6, 8), stride=(2, 2)),
}


@pytest.mark.parametrize("name", sorted(TRANSPOSE_CASES))
def test_transpose_conv_int8(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    transpose_case(rng, **TRANSPOSE_CASES[name]).check(rng)


def test_transpose_conv_dynamic_output_shape():
    """output_shape as a model input (TFLite Micro's test models): microdl keeps the
    static output shape and the kernel rejects any other value at invoke."""
    rng = np.random.default_rng(13)
    case = transpose_case(rng, h=4, w=5, c=3, oc=4, out_hw=(8, 10), stride=(2, 2),
                          dynamic_shape=True)
    case.check(rng)
    x = random_int(rng, (1, 4, 5, 3))
    with pytest.raises(KernelError):
        run_microdl(case.model, [np.array([1, 8, 9, 4], np.int32), x])


# ----------------------------------------------------------------------- 16x8
@pytest.mark.parametrize("kwargs", [
    dict(h=6, w=7, c=5, oc=8),
    dict(h=8, w=9, c=3, oc=7, stride=(2, 2), padding="VALID"),
    dict(h=9, w=8, c=7, oc=3, dilation=(2, 2), act=RELU),
    dict(h=4, w=5, c=17, oc=4, k=(1, 1), qbt=BIAS_INT64),
    dict(h=6, w=7, c=5, oc=8, bias_dtype=np.int32, qbt=BIAS_INT32),
    dict(h=7, w=6, c=3, oc=5, stride=(1, 2), bias_dtype=np.int32, qbt=BIAS_INT32,
         act=RELU6),
    dict(h=6, w=6, c=4, oc=4, groups=2),
], ids=["same", "valid_stride2", "dilation2_relu", "1x1_qbt64", "int32_bias",
        "int32_bias_relu6", "grouped"])
def test_conv2d_16x8(kwargs):
    rng = np.random.default_rng(zlib.crc32(repr(sorted(kwargs.items())).encode()))
    conv_case(rng, dtype=np.int16, **kwargs).check(rng)


def test_conv2d_16x8_without_bias_matches_reference():
    rng = np.random.default_rng(14)
    conv_case(rng, h=5, w=6, c=3, oc=4, dtype=np.int16, bias=False).check(rng,
                                                                           litert=False)


@pytest.mark.parametrize("kwargs", [
    dict(h=4, w=5, c=5, oc=6, out_hw=(8, 10), stride=(2, 2)),
    dict(h=4, w=5, c=3, oc=4, out_hw=(9, 11), stride=(2, 2), padding="VALID"),
    dict(h=3, w=5, c=6, oc=3, k=(3, 4), out_hw=(3, 10), stride=(1, 2), qbt=BIAS_INT64),
    dict(h=4, w=4, c=5, oc=6, out_hw=(8, 8), stride=(2, 2), bias_dtype=np.int32,
         qbt=BIAS_INT32),
    dict(h=4, w=4, c=3, oc=3, out_hw=(7, 7), stride=(2, 2), bias=False),
], ids=["same", "valid", "k3x4_qbt64", "int32_bias", "no_bias"])
def test_transpose_conv_16x8(kwargs):
    rng = np.random.default_rng(zlib.crc32(repr(sorted(kwargs.items())).encode()))
    transpose_case(rng, dtype=np.int16, **kwargs).check(rng)


# ---------------------------------------------- arithmetic facts about the oracle
def test_litert_reference_convs_use_double_rounding():
    """LiteRT 2.3's BUILTIN_REF convolutions requantize with gemmlowp double rounding
    (single rounding differs on ties within 2^-(right shift + 1)), unlike its
    FULLY_CONNECTED.  The case is large enough that the two roundings disagree."""
    rng = np.random.default_rng(15)
    for case in (conv_case(rng, h=12, w=12, c=8, oc=16),
                 depthwise_case(rng, h=12, w=12, c=16, mult=2),
                 transpose_case(rng, h=6, w=6, c=8, oc=16, out_hw=(12, 12),
                                stride=(2, 2)),
                 conv_case(rng, h=10, w=10, c=8, oc=16, dtype=np.int16,
                           bias_dtype=np.int32, qbt=BIAS_INT32)):
        inputs = case.make_inputs(rng)
        single = case.expect(inputs, ROUNDING_SINGLE)
        double = case.expect(inputs, ROUNDING_DOUBLE)
        assert not np.array_equal(single, double), "case too small to tell roundings"
        want, = run_litert(case.model, inputs)
        np.testing.assert_array_equal(want, double)


def test_requantize64_reduces_the_multiplier_to_16_bits():
    """TFLite's int64 MultiplyByQuantizedMultiplier rounds the multiplier to 16 bits:
    (x * round(m / 2^16) + 2^(14 - shift)) >> (15 - shift); 0x7FFF past 0x7FFF0000."""
    x = np.array([1 << 20, -(1 << 20), 123456789, -987654321], np.int64)
    m, s = (1 << 30) + (1 << 15), -3  # rounds up to 2^14 + 1
    np.testing.assert_array_equal(
        R.requantize64(x, m, s), (x * ((1 << 14) + 1) + (1 << 17)) >> 18)
    np.testing.assert_array_equal(R.requantize64(x, 0x7FFFFFFF, 0),
                                  (x * 0x7FFF + (1 << 14)) >> 15)


# ------------------------------------------------------------ random geometries
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 9), w=st.integers(1, 9),
       c=st.sampled_from([1, 2, 3, 5]), oc=st.sampled_from([1, 3, 4]),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3),
       sw=st.integers(1, 3), dh=st.integers(1, 2), dw=st.integers(1, 2),
       padding=st.sampled_from(["SAME", "VALID"]), act=st.sampled_from([0, 1, 2, 3]))
def test_conv2d_random_geometry(seed, h, w, c, oc, kh, kw, sh, sw, dh, dw, padding, act):
    if padding == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        return
    rng = np.random.default_rng(seed)
    conv_case(rng, h=h, w=w, c=c, oc=oc, k=(kh, kw), stride=(sh, sw),
              dilation=(dh, dw), padding=padding, act=act).check(rng, trials=1)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 8), w=st.integers(1, 8),
       c=st.sampled_from([1, 2, 3]), mult=st.sampled_from([1, 2, 3]),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3),
       sw=st.integers(1, 3), dh=st.integers(1, 2), dw=st.integers(1, 2),
       padding=st.sampled_from(["SAME", "VALID"]))
def test_depthwise_random_geometry(seed, h, w, c, mult, kh, kw, sh, sw, dh, dw, padding):
    if padding == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        return
    rng = np.random.default_rng(seed)
    depthwise_case(rng, h=h, w=w, c=c, mult=mult, k=(kh, kw), stride=(sh, sw),
                   dilation=(dh, dw), padding=padding).check(rng, trials=1)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 5), w=st.integers(1, 5),
       c=st.sampled_from([1, 2, 3]), oc=st.sampled_from([1, 2, 5]),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3),
       sw=st.integers(1, 3), padding=st.sampled_from(["SAME", "VALID"]),
       extra_h=st.integers(0, 2), extra_w=st.integers(0, 2))
def test_transpose_conv_random_geometry(seed, h, w, c, oc, kh, kw, sh, sw, padding,
                                        extra_h, extra_w):
    # Output sizes a converter would produce: SAME: ceil(out / stride) == in;
    # VALID: (in - 1) * stride + k (+ up to stride - 1 trailing rows).
    if padding == "SAME":
        oh, ow = h * sh - min(extra_h, sh - 1), w * sw - min(extra_w, sw - 1)
    else:
        oh, ow = (h - 1) * sh + kh + min(extra_h, sh - 1), (w - 1) * sw + kw + min(
            extra_w, sw - 1)
    rng = np.random.default_rng(seed)
    transpose_case(rng, h=h, w=w, c=c, oc=oc, k=(kh, kw), out_hw=(oh, ow),
                   stride=(sh, sw), padding=padding).check(rng, trials=1)


# ------------------------------------------------------------------- rejections
STRIDE1 = {"padding": 0, "stride_h": 1, "stride_w": 1}


def test_unsupported_configurations_are_reported():
    cases = [
        conv_case(np.random.default_rng(0), h=4, w=4, c=3, oc=2, version=9).model,
        conv_case(np.random.default_rng(0), h=4, w=4, c=3, oc=2, act=TANH).model,
    ]
    # 16x8 depthwise is not implemented.
    rng = np.random.default_rng(1)
    wt = random_int(rng, (1, 3, 3, 4))
    cases.append(op_model(
        "DEPTHWISE_CONV_2D",
        [spec((1, 5, 5, 4), np.int16, scale=0.01), spec((1, 3, 3, 4), data=wt,
                                                         scales=[0.01] * 4,
                                                         quantized_dimension=3),
         spec((4,), np.int64, data=[0] * 4, scales=[1e-4] * 4)],
        [spec((1, 5, 5, 4), np.int16, scale=0.02)], {"padding": 0, "stride_h": 1,
                                                     "stride_w": 1}, version=5))
    # 16x8 with a non-zero zero point; weights with a non-zero zero point.
    w16 = random_int(rng, (2, 3, 3, 3))
    cases.append(op_model(
        "CONV_2D", [spec((1, 4, 4, 3), np.int16, scale=0.01, zero_point=5),
                    spec((2, 3, 3, 3), data=w16, scales=[0.01, 0.02]),
                    spec((2,), np.int64, data=[0, 0], scales=[1e-4, 2e-4])],
        [spec((1, 4, 4, 2), np.int16, scale=0.02)], STRIDE1, version=4))
    cases.append(op_model(
        "CONV_2D", [spec((1, 4, 4, 3), scale=0.01),
                    spec((2, 3, 3, 3), data=w16, scales=[0.01, 0.02], zero_points=[0, 3]),
                    spec((2,), np.int32, data=[0, 0], scales=[1e-4, 2e-4])],
        [spec((1, 4, 4, 2), scale=0.02)], STRIDE1, version=3))
    for model in cases:
        with pytest.raises(UnsupportedOpError):
            run_microdl(model, [random_int(rng, (1, 4, 4, 3))])


def test_inconsistent_models_are_rejected():
    rng = np.random.default_rng(2)
    wt = random_int(rng, (4, 3, 3, 3))
    ins = [spec((1, 5, 5, 3), scale=0.05), spec((4, 3, 3, 3), data=wt, scales=[0.01] * 4),
           spec((4,), np.int32, data=[0] * 4, scales=[5e-4] * 4)]
    # Wrong output shape (VALID gives 3x3).
    bad_shape = op_model("CONV_2D", ins, [spec((1, 5, 5, 4), scale=0.1)],
                         dict(STRIDE1, padding=1), version=3)
    # Channels of the input not a multiple of the filter's.
    bad_channels = op_model(
        "CONV_2D", [spec((1, 5, 5, 4), scale=0.05)] + ins[1:],
        [spec((1, 5, 5, 4), scale=0.1)], STRIDE1, version=3)
    # Constant output_shape that disagrees with the output tensor.
    tw = random_int(rng, (2, 3, 3, 3))
    bad_tshape = op_model(
        "TRANSPOSE_CONV", [spec((4,), np.int32, data=[1, 8, 8, 2]),
                           spec((2, 3, 3, 3), data=tw, scales=[0.01, 0.02]),
                           spec((1, 4, 4, 3), scale=0.05)],
        [spec((1, 7, 7, 2), scale=0.1)], {"padding": 0, "stride_h": 2, "stride_w": 2},
        version=2)
    from microdl import Interpreter
    for model in (bad_shape, bad_channels, bad_tshape):
        with pytest.raises(ModelError) as e:
            Interpreter(model_content=model)
        assert not isinstance(e.value, UnsupportedOpError)
