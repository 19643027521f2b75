"""float32 ops (microdl/runtime/ops/float32.py, cext/include/mdl_float.h) against
LiteRT's reference kernels, one op per model (tests/oplib.py): every output within
1e-5 of the output range of LiteRT's (assert_close_to_litert), over batches > 1,
SAME / VALID padding, strides, dilations, depth multipliers, fused activations and
broadcasting; and the clear errors for what the float path does not run."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from microdl import Interpreter
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.shapes import window
from tests.oplib import (assert_close_to_litert, graph_model, max_range_error, op_model,
                         run_litert, run_microdl, spec, stable_seed)

F = np.float32
NONE, RELU, RELU_N1_TO_1, RELU6, TANH = 0, 1, 2, 3, 4
PAD = {"SAME": 0, "VALID": 1}


def fspec(shape, data=None):
    return spec(shape, F, data=None if data is None else np.asarray(data, F))


def randn(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(F)


# ------------------------------------------------------------------ CONV_2D
def close_without_bias(op, ins, outs, opts, n_bias, x):
    """microdl's model without a bias against LiteRT's with a zero bias (LiteRT's
    float CONV_2D / DEPTHWISE_CONV_2D require one)."""
    want, = run_litert(op_model(op, ins[:2] + [fspec((n_bias,), np.zeros(n_bias))], outs,
                                opts), [x])
    got, = run_microdl(op_model(op, ins[:2] + [None], outs, opts), [x])
    assert max_range_error(got, want) <= 1e-5


def conv_model(rng, n, h, w, c, oc, k, stride, dilation, padding, act):
    kh, kw = k
    oh, _, _ = window(PAD[padding], h, kh, stride[0], dilation[0])
    ow, _, _ = window(PAD[padding], w, kw, stride[1], dilation[1])
    ins = [fspec((n, h, w, c)), fspec((oc, kh, kw, c), randn(rng, (oc, kh, kw, c), 0.3)),
           fspec((oc,), randn(rng, oc))]
    opts = {"padding": PAD[padding], "stride_h": stride[0], "stride_w": stride[1],
            "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
            "fused_activation_function": act}
    return ins, [fspec((n, oh, ow, oc))], opts


CONV_CASES = [
    # n, h, w, c, oc, k, stride, dilation, padding, act, bias
    (1, 9, 9, 3, 8, (3, 3), (2, 2), (1, 1), "SAME", RELU, True),
    (2, 7, 6, 5, 17, (3, 3), (1, 1), (1, 1), "VALID", NONE, True),
    (3, 8, 8, 16, 33, (1, 1), (1, 1), (1, 1), "SAME", RELU6, True),  # direct 1x1
    (2, 8, 8, 4, 16, (1, 1), (2, 2), (1, 1), "VALID", NONE, False),  # strided 1x1
    (1, 10, 11, 6, 70, (3, 2), (1, 2), (2, 1), "SAME", RELU_N1_TO_1, True),
    (1, 12, 12, 8, 64, (5, 5), (2, 1), (1, 2), "SAME", NONE, False),
    (4, 5, 5, 2, 3, (5, 5), (1, 1), (1, 1), "VALID", RELU, True),  # one output pixel
    (1, 3, 40, 1, 9, (1, 7), (1, 3), (1, 1), "SAME", NONE, True),
    (1, 6, 6, 130, 20, (3, 3), (1, 1), (1, 1), "SAME", RELU, True),  # K = 1170
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_2d(case):
    n, h, w, c, oc, k, stride, dilation, padding, act, bias = case
    rng = np.random.default_rng(stable_seed(case))
    ins, outs, opts = conv_model(rng, n, h, w, c, oc, k, stride, dilation, padding, act)
    for _ in range(2):
        x = randn(rng, (n, h, w, c))
        if bias:
            assert_close_to_litert(op_model("CONV_2D", ins, outs, opts), [x])
        else:
            close_without_bias("CONV_2D", ins, outs, opts, oc, x)


def test_conv_2d_batch_items_independent():
    """Batch 3 gives, per item, what batch 1 gives (same weights)."""
    rng = np.random.default_rng(5)
    wt, b = randn(rng, (12, 3, 3, 5), 0.3), randn(rng, 12)
    opts = {"padding": 0, "stride_h": 1, "stride_w": 1, "fused_activation_function": RELU}

    def model(n):
        return op_model("CONV_2D", [fspec((n, 6, 7, 5)), fspec(wt.shape, wt), fspec((12,), b)],
                        [fspec((n, 6, 7, 12))], opts)
    x = randn(rng, (3, 6, 7, 5))
    whole, = run_microdl(model(3), [x])
    for i in range(3):
        one, = run_microdl(model(1), [x[i:i + 1]])
        np.testing.assert_array_equal(whole[i:i + 1], one)


def test_conv_2d_matches_numpy():
    """A second oracle: the convolution as float64 numpy sums (VALID, stride 2)."""
    rng = np.random.default_rng(6)
    x, wt, b = randn(rng, (2, 9, 8, 3)), randn(rng, (5, 3, 3, 3)), randn(rng, 5)
    model = op_model("CONV_2D", [fspec(x.shape), fspec(wt.shape, wt), fspec((5,), b)],
                     [fspec((2, 4, 3, 5))], {"padding": 1, "stride_h": 2, "stride_w": 2})
    got, = run_microdl(model, [x])
    want = np.zeros((2, 4, 3, 5))
    for oy in range(4):
        for ox in range(3):
            patch = x[:, 2 * oy:2 * oy + 3, 2 * ox:2 * ox + 3, :].astype(np.float64)
            want[:, oy, ox, :] = np.einsum("nhwc,ohwc->no", patch, wt) + b
    assert max_range_error(got, want) <= 1e-6


# ------------------------------------------------------------------ DEPTHWISE_CONV_2D
DW_CASES = [
    # n, h, w, c, multiplier, k, stride, dilation, padding, act, bias
    (1, 12, 12, 8, 1, (3, 3), (1, 1), (1, 1), "SAME", RELU, True),
    (2, 11, 9, 16, 1, (3, 3), (2, 2), (1, 1), "SAME", RELU6, True),
    (1, 10, 10, 40, 1, (3, 3), (1, 1), (2, 2), "VALID", NONE, False),
    (3, 7, 8, 3, 2, (3, 3), (1, 1), (1, 1), "SAME", NONE, True),
    (1, 9, 9, 5, 3, (5, 3), (2, 1), (1, 2), "SAME", RELU_N1_TO_1, True),
    (1, 25, 5, 64, 1, (3, 3), (1, 1), (1, 1), "SAME", RELU, True),  # KWS layer
    (2, 4, 4, 24, 1, (4, 4), (1, 1), (1, 1), "VALID", NONE, True),  # one pixel
    (1, 6, 13, 1, 7, (1, 4), (1, 3), (1, 1), "SAME", NONE, True),
    (1, 9, 14, 20, 1, (3, 3), (1, 2), (1, 1), "SAME", RELU, True),  # 16 + 4 channels
    (2, 10, 17, 16, 1, (3, 3), (1, 1), (1, 3), "SAME", NONE, True),  # dilated row
    (1, 5, 30, 8, 1, (2, 5), (2, 3), (1, 1), "VALID", RELU6, False),
]


@pytest.mark.parametrize("case", DW_CASES)
def test_depthwise_conv_2d(case):
    n, h, w, c, m, k, stride, dilation, padding, act, bias = case
    rng = np.random.default_rng(stable_seed(case))
    oc = c * m
    oh, _, _ = window(PAD[padding], h, k[0], stride[0], dilation[0])
    ow, _, _ = window(PAD[padding], w, k[1], stride[1], dilation[1])
    ins = [fspec((n, h, w, c)), fspec((1, k[0], k[1], oc), randn(rng, (1, k[0], k[1], oc))),
           fspec((oc,), randn(rng, oc))]
    opts = {"padding": PAD[padding], "stride_h": stride[0], "stride_w": stride[1],
            "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
            "depth_multiplier": m, "fused_activation_function": act}
    outs = [fspec((n, oh, ow, oc))]
    for _ in range(2):
        x = randn(rng, (n, h, w, c))
        if bias:
            assert_close_to_litert(op_model("DEPTHWISE_CONV_2D", ins, outs, opts), [x])
        else:
            close_without_bias("DEPTHWISE_CONV_2D", ins, outs, opts, oc, x)


# ------------------------------------------------------------------ TRANSPOSE_CONV
@pytest.mark.parametrize("n,h,w,c,oc,k,stride,padding,act,bias,version", [
    (1, 4, 4, 3, 5, (3, 3), (2, 2), "SAME", NONE, True, 3),
    (2, 5, 3, 4, 16, (3, 3), (1, 1), "VALID", NONE, True, 3),
    (1, 3, 6, 8, 20, (4, 2), (2, 3), "SAME", RELU, True, 4),
    (3, 2, 2, 2, 3, (5, 5), (3, 3), "VALID", RELU6, False, 4),
    (1, 6, 6, 1, 9, (2, 2), (2, 2), "SAME", NONE, False, 1),
])
def test_transpose_conv(n, h, w, c, oc, k, stride, padding, act, bias, version):
    rng = np.random.default_rng(h * 31 + oc)
    if padding == "SAME":
        oh, ow = h * stride[0], w * stride[1]
    else:
        oh, ow = (h - 1) * stride[0] + k[0], (w - 1) * stride[1] + k[1]
    ins = [spec((4,), np.int32, data=[n, oh, ow, oc]),
           fspec((oc, k[0], k[1], c), randn(rng, (oc, k[0], k[1], c))), fspec((n, h, w, c)),
           fspec((oc,), randn(rng, oc)) if bias else None]
    opts = {"padding": PAD[padding], "stride_h": stride[0], "stride_w": stride[1]}
    if version >= 4:
        opts["fused_activation_function"] = act
    model = op_model("TRANSPOSE_CONV", ins, [fspec((n, oh, ow, oc))], opts, version=version)
    for _ in range(2):
        assert_close_to_litert(model, [randn(rng, (n, h, w, c))])


def test_transpose_conv_errors():
    """A computed (int32 activation) output_shape is not a float op: a clear
    UnsupportedOpError; a constant one that disagrees with the output is a ModelError."""
    rng = np.random.default_rng(8)
    filt = fspec((2, 3, 3, 3), randn(rng, (2, 3, 3, 3)))
    opts = {"padding": 0, "stride_h": 2, "stride_w": 2}
    computed = op_model("TRANSPOSE_CONV", [spec((4,), np.int32), filt, fspec((1, 4, 4, 3))],
                        [fspec((1, 8, 8, 2))], opts, version=3)
    with pytest.raises(UnsupportedOpError, match="float32"):
        Interpreter(model_content=computed)
    wrong = op_model("TRANSPOSE_CONV", [spec((4,), np.int32, data=[1, 8, 8, 3]), filt,
                                        fspec((1, 4, 4, 3))],
                     [fspec((1, 8, 8, 2))], opts, version=3)
    with pytest.raises(ModelError, match="output_shape"):
        Interpreter(model_content=wrong)


# ------------------------------------------------------------------ FULLY_CONNECTED
@pytest.mark.parametrize("xshape,out,act,bias", [
    ((1, 640), 128, RELU, True),
    ((3, 20), 70, NONE, True),
    ((5, 7), 5, RELU6, False),
    ((2, 3, 4, 8), 130, NONE, True),  # flattened to 6 rows of 16
    ((1, 1), 16, RELU, True),
    ((4, 200), 64, RELU_N1_TO_1, True),
])
def test_fully_connected(xshape, out, act, bias):
    rng = np.random.default_rng(out + len(xshape))
    depth = xshape[-1]
    rows = int(np.prod(xshape)) // depth
    ins = [fspec(xshape), fspec((out, depth), randn(rng, (out, depth), 0.2)),
           fspec((out,), randn(rng, out)) if bias else None]
    model = op_model("FULLY_CONNECTED", ins, [fspec((rows, out))],
                     {"fused_activation_function": act})
    for _ in range(3):
        assert_close_to_litert(model, [randn(rng, xshape)])


# ------------------------------------------------------------------ pooling
@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("n,h,w,c,f,s,padding,act", [
    (1, 8, 8, 16, (2, 2), (2, 2), "VALID", NONE),
    (2, 7, 9, 5, (3, 3), (2, 2), "SAME", RELU),
    (1, 25, 5, 64, (25, 5), (1, 1), "VALID", NONE),  # global, KWS
    (3, 6, 5, 20, (3, 2), (1, 2), "SAME", RELU6),
    (1, 4, 4, 3, (4, 4), (4, 4), "SAME", RELU_N1_TO_1),
])
def test_pool(op, n, h, w, c, f, s, padding, act):
    rng = np.random.default_rng(h * 100 + c)
    oh, _, _ = window(PAD[padding], h, f[0], s[0])
    ow, _, _ = window(PAD[padding], w, f[1], s[1])
    opts = {"padding": PAD[padding], "stride_h": s[0], "stride_w": s[1],
            "filter_height": f[0], "filter_width": f[1], "fused_activation_function": act}
    model = op_model(op, [fspec((n, h, w, c))], [fspec((n, oh, ow, c))], opts)
    for _ in range(2):
        assert_close_to_litert(model, [randn(rng, (n, h, w, c), 3.0)])


# ------------------------------------------------------------------ elementwise
BINARY = ["ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"]


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("shapes", [
    ((2, 5, 5, 8), (2, 5, 5, 8)),
    ((2, 5, 5, 8), (8,)),
    ((1, 3, 1, 4), (2, 1, 5, 1)),
    ((), (3, 4)),
    ((6, 1), (1, 7)),
])
def test_binary(op, shapes):
    s1, s2 = shapes
    rng = np.random.default_rng(len(s1) * 10 + len(s2) + BINARY.index(op))
    out = np.broadcast_shapes(s1, s2)
    act = RELU6 if op in ("ADD", "MUL") else (RELU if op == "SUB" else NONE)
    model = op_model(op, [fspec(s1), fspec(s2)], [fspec(out)],
                     {"fused_activation_function": act} if op in ("ADD", "SUB", "MUL",
                                                                  "DIV") else {})
    for _ in range(2):
        x1, x2 = randn(rng, s1, 3.0), randn(rng, s2, 3.0)
        if op == "DIV":
            x2 = np.where(np.abs(x2) < 0.1, F(0.5), x2).astype(F)
        assert_close_to_litert(model, [x1, x2])


def test_add_constant_operand():
    rng = np.random.default_rng(9)
    c = randn(rng, (1, 1, 4))
    model = op_model("ADD", [fspec((2, 3, 4)), fspec((1, 1, 4), c)], [fspec((2, 3, 4))],
                     {"fused_activation_function": NONE})
    assert_close_to_litert(model, [randn(rng, (2, 3, 4))])


UNARY = {  # op: (options, input scale, input offset)
    "RELU": ({}, 3.0, 0.0), "RELU6": ({}, 5.0, 2.0), "RELU_N1_TO_1": ({}, 2.0, 0.0),
    "LOGISTIC": ({}, 12.0, 0.0), "TANH": ({}, 4.0, 0.0), "HARD_SWISH": ({}, 5.0, 0.0),
    "LEAKY_RELU": ({"alpha": 0.2}, 3.0, 0.0), "ABS": ({}, 3.0, 0.0), "NEG": ({}, 3.0, 0.0),
    "EXP": ({}, 3.0, 0.0), "SQRT": ({}, 1.0, 0.0), "RSQRT": ({}, 1.0, 0.0),
    "SQUARE": ({}, 3.0, 0.0),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@pytest.mark.parametrize("shape", [(1, 7), (2, 3, 5, 17)])
def test_unary(op, shape):
    opts, scale, offset = UNARY[op]
    rng = np.random.default_rng(len(op) * 7 + len(shape))
    model = op_model(op, [fspec(shape)], [fspec(shape)], opts)
    x = randn(rng, shape, scale) + F(offset)
    if op in ("SQRT", "RSQRT"):
        x = np.abs(x) + F(0.05)
    if op == "LOGISTIC":  # both cutoffs (-9 and 16.62) and the region between
        x.flat[:3] = [-20.0, 17.0, 16.0]
    assert_close_to_litert(model, [x.astype(F)])


@pytest.mark.parametrize("shape,beta", [((1, 12), 1.0), ((3, 10), 0.5), ((2, 4, 3, 6), 2.0),
                                        ((5, 1), 1.0), ((2, 1000), 1.0)])
def test_softmax(shape, beta):
    rng = np.random.default_rng(shape[-1])
    model = op_model("SOFTMAX", [fspec(shape)], [fspec(shape)], {"beta": beta})
    for scale in (1.0, 20.0):
        assert_close_to_litert(model, [randn(rng, shape, scale)])


@pytest.mark.parametrize("shape,axes,keep", [
    ((2, 5, 6, 8), [1, 2], True), ((2, 5, 6, 8), [1, 2], False), ((3, 4), [-1], False),
    ((2, 3, 4), [0, 2], True), ((4, 1, 3), [0, 1, 2], False), ((2, 3, 4, 5), [1, 3], False),
])
def test_mean(shape, axes, keep):
    rng = np.random.default_rng(len(shape) + len(axes))
    want = np.mean(np.zeros(shape), axis=tuple(axes), keepdims=keep).shape
    model = op_model("MEAN", [fspec(shape), spec((len(axes),), np.int32, data=axes)],
                     [fspec(want)], {"keep_dims": keep})
    assert_close_to_litert(model, [randn(rng, shape, 2.0)])


# ------------------------------------------------------------------ data movement
def test_float_data_ops_in_a_graph():
    """RESHAPE, PAD, CONCATENATION and a float CONV_2D in one graph (the data ops are
    dtype-generic copies)."""
    rng = np.random.default_rng(11)
    wt = randn(rng, (4, 3, 3, 2))
    tensors = [fspec((1, 4, 6, 2)),                                   # 0 input
               spec((4, 2), np.int32, data=[[0, 0], [1, 1], [1, 1], [0, 0]]),  # 1 pads
               fspec((1, 6, 8, 2)),                                   # 2 padded
               fspec((4, 3, 3, 2), wt),                               # 3 filter
               fspec((1, 4, 6, 4)),                                   # 4 conv out
               fspec((1, 4, 6, 6)),                                   # 5 concat out
               spec((2,), np.int32, data=[4, 36]),                    # 6 shape
               fspec((4, 36)),                                        # 7 reshaped
               fspec((4,), randn(rng, 4))]                            # 8 bias
    ops = [("PAD", [0, 1], [2], {}),
           ("CONV_2D", [2, 3, 8], [4], {"padding": 1, "stride_h": 1, "stride_w": 1}),
           ("CONCATENATION", [4, 0], [5], {"axis": 3}),
           ("RESHAPE", [5, 6], [7], {})]
    model = graph_model(tensors, ops, [0], [7])
    assert_close_to_litert(model, [randn(rng, (1, 4, 6, 2))])


# ------------------------------------------------------------------ errors
def _conv_with(act=NONE, bias=None, out_shape=(1, 4, 4, 2), groups_c=3):
    wt = np.ones((2, 3, 3, groups_c), F)
    ins = [fspec((1, 4, 4, 3)), fspec(wt.shape, wt), bias]
    return op_model("CONV_2D", ins, [fspec(out_shape)],
                    {"padding": 0, "stride_h": 1, "stride_w": 1,
                     "fused_activation_function": act})


def test_conv_fused_tanh_is_unsupported():
    with pytest.raises(UnsupportedOpError, match="fused activation"):
        Interpreter(model_content=_conv_with(act=TANH))


def test_conv_int32_bias_on_float_conv_is_unsupported():
    bias = spec((2,), np.int32, data=[1, 2])
    with pytest.raises(UnsupportedOpError, match="float32"):
        Interpreter(model_content=_conv_with(bias=bias))


def test_conv_wrong_output_shape_is_model_error():
    with pytest.raises(ModelError, match="shape"):
        Interpreter(model_content=_conv_with(out_shape=(1, 4, 4, 3)))


def test_grouped_float_conv_is_unsupported():
    with pytest.raises(UnsupportedOpError, match="grouped"):
        Interpreter(model_content=_conv_with(groups_c=1))


def test_float_conv_with_non_constant_filter_is_unsupported():
    model = op_model("CONV_2D", [fspec((1, 4, 4, 3)), fspec((2, 3, 3, 3))],
                     [fspec((1, 4, 4, 2))], {"padding": 0, "stride_h": 1, "stride_w": 1})
    with pytest.raises(UnsupportedOpError, match="constant"):
        Interpreter(model_content=model)


def test_depthwise_with_too_many_taps_is_unsupported():
    wt = np.ones((1, 40, 40, 2), F)
    model = op_model("DEPTHWISE_CONV_2D", [fspec((1, 40, 40, 2)), fspec(wt.shape, wt)],
                     [fspec((1, 40, 40, 2))],
                     {"padding": 0, "stride_h": 1, "stride_w": 1, "depth_multiplier": 1})
    with pytest.raises(UnsupportedOpError, match="taps"):
        Interpreter(model_content=model)


def test_mixed_float_int_binary_is_unsupported():
    model = op_model("ADD", [fspec((2, 3)), spec((2, 3), np.int8, scale=0.1)],
                     [fspec((2, 3))], {})
    with pytest.raises(UnsupportedOpError):
        Interpreter(model_content=model)


def test_float_op_without_kernel_is_unsupported():
    model = op_model("COS", [fspec((2, 3))], [fspec((2, 3))], {})
    with pytest.raises(UnsupportedOpError, match="COS"):
        Interpreter(model_content=model)


def test_softmax_nan_and_inf_propagate_like_litert():
    model = op_model("SOFTMAX", [fspec((2, 3))], [fspec((2, 3))], {"beta": 1.0})
    x = np.array([[0.0, np.inf, 1.0], [np.nan, 0.0, 1.0]], F)
    want, = run_litert(model, [x])
    got, = run_microdl(model, [x])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


# ------------------------------------------------------------------ GEMM tiles alone
def _gemm_library(tmp_path, vectors):
    """cext/src/conv_f32.c built alone as a shared library (ctypes), with the generic
    vector tiles or the plain loops (-DMDL_NO_F32_VECTORS)."""
    import ctypes
    import os
    import shutil
    import subprocess

    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = tmp_path / f"gemm_{int(vectors)}.so"
    cmd = [cc, "-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Werror",
           "-I", os.path.join(root, "cext", "include"),
           os.path.join(root, "cext", "src", "conv_f32.c"), "-o", str(out)]
    if not vectors:
        cmd.insert(1, "-DMDL_NO_F32_VECTORS")
    subprocess.run(cmd, check=True, capture_output=True)
    return ctypes.CDLL(str(out))


@pytest.mark.parametrize("vectors", [True, False])
def test_gemm_tiles_sum_in_reference_order(tmp_path, vectors):
    """Each GEMM tile equals float32 sums taken k = 0, 1, ... from 0.0f, then + bias,
    then the clamp (numpy, one float32 multiply and add per step), bit for bit, in both
    builds of the tiles."""
    import ctypes

    lib = _gemm_library(tmp_path, vectors)
    fp = ctypes.POINTER(ctypes.c_float)
    rng = np.random.default_rng(21)

    def ptr(a):
        return a.ctypes.data_as(fp)

    def reference(a, w, bias, lo, hi):
        acc = np.zeros((a.shape[0], w.shape[1]), F)
        for kk in range(a.shape[1]):
            acc = (acc + a[:, kk:kk + 1] * w[kk]).astype(F)
        return np.minimum(np.maximum((acc + bias).astype(F), F(lo)), F(hi))

    for k in (1, 7, 64):
        a = randn(rng, (6, k))
        w = randn(rng, (k, 64))
        bias = randn(rng, 64)
        lo, hi = -1.5, 2.0
        for name, mr, nr in (("mdl_f32_gemm_4x16", 3, 13), ("mdl_f32_gemm_4x8", 4, 5)):
            wp = np.ascontiguousarray(w[:, :16])
            c = np.full((mr, nr + 1), 7.0, F)  # one column past nr stays untouched
            fn = getattr(lib, name)
            fn(ctypes.c_int32(mr), ctypes.c_int32(nr), ctypes.c_int32(k), ptr(a),
               ctypes.c_int32(k), ptr(wp), ptr(bias), ptr(c), ctypes.c_int32(nr + 1),
               ctypes.c_float(lo), ctypes.c_float(hi))
            want = reference(a[:mr], wp[:, :nr], bias[:nr], lo, hi)
            np.testing.assert_array_equal(c[:, :nr], want)
            assert np.all(c[:, nr] == 7.0)
        wp = np.ascontiguousarray(w[:, :16])
        c = np.zeros((6, 16), F)
        lib.mdl_f32_gemm_6x16(ctypes.c_int32(k), ptr(a), ctypes.c_int32(k), ptr(wp),
                              ptr(bias), ptr(c), ctypes.c_int32(16), ctypes.c_int32(16),
                              ctypes.c_float(lo), ctypes.c_float(hi))
        np.testing.assert_array_equal(c, reference(a, wp, bias[:16], lo, hi))
        blocks = np.ascontiguousarray(w.reshape(k, 4, 16).transpose(1, 0, 2))
        c = np.zeros(64, F)
        lib.mdl_f32_gemm_1x64(ctypes.c_int32(k), ptr(a), ptr(blocks), ctypes.c_int32(k * 16),
                              ptr(bias), ptr(c), ctypes.c_float(lo), ctypes.c_float(hi))
        np.testing.assert_array_equal(c, reference(a[:1], w, bias, lo, hi)[0])


# ------------------------------------------------------------------ random geometry
GEOMETRY = st.fixed_dictionaries({
    "n": st.integers(1, 2), "h": st.integers(1, 9), "w": st.integers(1, 19),
    "kh": st.integers(1, 4), "kw": st.integers(1, 5), "sh": st.integers(1, 3),
    "sw": st.integers(1, 3), "dh": st.integers(1, 2), "dw": st.integers(1, 3),
    "padding": st.sampled_from(["SAME", "VALID"]), "act": st.sampled_from([0, 1, 2, 3]),
    "seed": st.integers(0, 2**31),
})


def _out_hw(g):
    oh, _, _ = window(PAD[g["padding"]], g["h"], g["kh"], g["sh"], g["dh"])
    ow, _, _ = window(PAD[g["padding"]], g["w"], g["kw"], g["sw"], g["dw"])
    return oh, ow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=GEOMETRY, c=st.integers(1, 40), mult=st.sampled_from([1, 1, 1, 2, 3]))
def test_depthwise_random_geometry(g, c, mult):
    oh, ow = _out_hw(g)
    assume(oh >= 1 and ow >= 1)
    rng = np.random.default_rng(g["seed"])
    oc = c * mult
    ins = [fspec((g["n"], g["h"], g["w"], c)),
           fspec((1, g["kh"], g["kw"], oc), randn(rng, (1, g["kh"], g["kw"], oc))),
           fspec((oc,), randn(rng, oc))]
    opts = {"padding": PAD[g["padding"]], "stride_h": g["sh"], "stride_w": g["sw"],
            "dilation_h_factor": g["dh"], "dilation_w_factor": g["dw"],
            "depth_multiplier": mult, "fused_activation_function": g["act"]}
    model = op_model("DEPTHWISE_CONV_2D", ins, [fspec((g["n"], oh, ow, oc))], opts)
    assert_close_to_litert(model, [randn(rng, (g["n"], g["h"], g["w"], c))])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=GEOMETRY, c=st.integers(1, 20), oc=st.integers(1, 40))
def test_conv_2d_random_geometry(g, c, oc):
    oh, ow = _out_hw(g)
    assume(oh >= 1 and ow >= 1)
    rng = np.random.default_rng(g["seed"])
    ins = [fspec((g["n"], g["h"], g["w"], c)),
           fspec((oc, g["kh"], g["kw"], c), randn(rng, (oc, g["kh"], g["kw"], c))),
           fspec((oc,), randn(rng, oc))]
    opts = {"padding": PAD[g["padding"]], "stride_h": g["sh"], "stride_w": g["sw"],
            "dilation_h_factor": g["dh"], "dilation_w_factor": g["dw"],
            "fused_activation_function": g["act"]}
    model = op_model("CONV_2D", ins, [fspec((g["n"], oh, ow, oc))], opts)
    assert_close_to_litert(model, [randn(rng, (g["n"], g["h"], g["w"], c))])


@pytest.mark.parametrize("op,opts", [("ADD", {"fused_activation_function": NONE}),
                                     ("MUL", {"fused_activation_function": NONE}),
                                     ("DIV", {"fused_activation_function": NONE}),
                                     ("MAXIMUM", {}), ("MINIMUM", {}), ("RELU", None),
                                     ("RELU6", None), ("LOGISTIC", None), ("TANH", None)])
def test_non_finite_values_like_litert(op, opts):
    """inf / NaN / overflowing inputs: the same values as LiteRT (a fused NONE clamps
    to +-FLT_MAX as TFLite's CalculateActivationRange; NaN stays NaN)."""
    a = np.array([np.inf, -np.inf, np.nan, 3e38, 1.0, -2.0], F)
    b = np.array([1.0, 1.0, 1.0, 3e38, 0.0, np.nan], F)
    if opts is None:
        model, feeds = op_model(op, [fspec((6,))], [fspec((6,))], {}), [a]
    else:
        model, feeds = op_model(op, [fspec((6,)), fspec((6,))], [fspec((6,))], opts), [a, b]
    want, = run_litert(model, feeds)
    got, = run_microdl(model, feeds)
    np.testing.assert_array_equal(got, want)  # NaN positions compare equal


def test_conv_infinite_input_clamps_like_litert():
    model = op_model("CONV_2D", [fspec((1, 1, 1, 2)), fspec((2, 1, 1, 2), np.ones((2, 1, 1, 2))),
                                 fspec((2,), [0.0, 1.0])],
                     [fspec((1, 1, 1, 2))], {"padding": 1, "stride_h": 1, "stride_w": 1})
    x = np.array([np.inf, 1.0], F).reshape(1, 1, 1, 2)
    want, = run_litert(model, [x])
    got, = run_microdl(model, [x])
    np.testing.assert_array_equal(got, want)
