"""The fast int8 convolution kernels (conv_s8_fast, depthwise_conv_s8_fast) against the
plain reference kernels (conv_s8, depthwise_conv_s8, selected with
MICRODL_REFERENCE_KERNELS=1) and against LiteRT's reference kernels (BUILTIN_REF).

Shapes straddle the kernels' blockings: output channels around the 4-channel register
blocks and the 128-channel GEMM passes, patch lengths around the 16-entry padding,
pixel counts around the 2-pixel pairs, the im2col blocks and the requantization groups,
channel counts around the depthwise row form's repeat periods and segments; every
padding, strides 1/2, dilation 2, extreme zero points and multipliers, fused
activations."""
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microdl.core import shapes
from microdl.core.fixedpoint import ROUNDING_SINGLE
from microdl.runtime.cparams import C
from microdl.runtime.ops import PREPARERS, Node, PrepareContext, load_all
from microdl.tflite.reader import read_model
from tests.oplib import op_model, random_int, run_litert, run_microdl, spec

PADDING = {"SAME": 0, "VALID": 1}
NONE, RELU, RELU_N1_TO_1, RELU6 = 0, 1, 2, 3
REFERENCE_ENV = "MICRODL_REFERENCE_KERNELS"


def kernels(model, monkeypatch=None, reference=False):
    """Kernel names prepare binds for a one-op model."""
    load_all()
    g = read_model(model)
    if monkeypatch is not None:
        if reference:
            monkeypatch.setenv(REFERENCE_ENV, "1")
        else:
            monkeypatch.delenv(REFERENCE_ENV, raising=False)
    ctx = PrepareContext(rounding=ROUNDING_SINGLE)
    steps = PREPARERS[g.ops[0].name](g.ops[0], g, ctx)
    return [s.kernel for s in steps if isinstance(s, Node)]


def check(model, inputs, monkeypatch, fast_kernel, litert=True, modes=("litert",)):
    """Fast kernels == reference kernels (== LiteRT when litert)."""
    monkeypatch.delenv(REFERENCE_ENV, raising=False)
    assert kernels(model) == [fast_kernel]
    fast = {m: run_microdl(model, inputs, rounding=m)[0] for m in modes}
    monkeypatch.setenv(REFERENCE_ENV, "1")
    assert kernels(model)[0] in ("conv_s8", "depthwise_conv_s8")
    ref = {m: run_microdl(model, inputs, rounding=m)[0] for m in modes}
    monkeypatch.delenv(REFERENCE_ENV)
    for m in modes:
        np.testing.assert_array_equal(fast[m], ref[m], err_msg=f"fast vs reference ({m})")
    if litert:
        want, = run_litert(model, inputs)
        np.testing.assert_array_equal(fast[modes[0]], want, err_msg="fast vs LiteRT")
    return fast[modes[0]]


def conv_model(rng, *, n=1, h, w, c, oc, k=(3, 3), stride=(1, 1), dilation=(1, 1),
               padding="SAME", act=NONE, in_zp=None, out_zp=None, real=None, bias=True,
               bias_range=None, per_channel=True):
    """A one-op int8 CONV_2D model.  real: effective output multiplier(s)
    in_scale * w_scale / out_scale, a number or a (lo, hi) range drawn per channel
    (default: keeps most outputs in range)."""
    kh, kw = k
    wt = random_int(rng, (oc, kh, kw, c))
    in_scale = 0.05
    in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
    out_scale = 1.0
    if real is None:
        real = 1.0 / (74.0 * 74.0 * np.sqrt(kh * kw * c) / 40.0)
    if isinstance(real, tuple):
        reals = np.exp(rng.uniform(np.log(real[0]), np.log(real[1]), oc))
    else:
        reals = np.full(oc, float(real))
    if not per_channel:
        reals[:] = reals[0]
    ws = (reals * out_scale / in_scale).astype(np.float32)
    bound = bias_range or int(30 / float(reals.mean())) + 1
    b = rng.integers(-bound, bound, oc).astype(np.int32) if bias else None
    oh = shapes.out_size(padding, h, kh, stride[0], dilation[0])
    ow = shapes.out_size(padding, w, kw, stride[1], dilation[1])
    w_spec = (spec((oc, kh, kw, c), data=wt, scales=ws) if per_channel
              else spec((oc, kh, kw, c), data=wt, scale=float(ws[0])))
    ins = [spec((n, h, w, c), scale=in_scale, zero_point=in_zp), w_spec]
    if bias:
        ins.append(spec((oc,), np.int32, data=b, scales=ws * np.float32(in_scale)))
    options = {"padding": PADDING[padding], "stride_h": stride[0], "stride_w": stride[1],
               "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
               "fused_activation_function": act}
    return op_model("CONV_2D", ins, [spec((n, oh, ow, oc), scale=out_scale,
                                          zero_point=out_zp)], options, version=3)


def depthwise_model(rng, *, n=1, h, w, c, mult=1, k=(3, 3), stride=(1, 1),
                    dilation=(1, 1), padding="SAME", act=NONE, in_zp=None, out_zp=None,
                    real=None, bias=True, per_channel=True):
    """A one-op int8 DEPTHWISE_CONV_2D model (real as in conv_model)."""
    kh, kw = k
    oc = c * mult
    wt = random_int(rng, (1, kh, kw, oc))
    in_scale = 0.05
    in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
    out_scale = 1.0
    if real is None:
        real = 1.0 / (74.0 * 74.0 * np.sqrt(kh * kw) / 40.0)
    if isinstance(real, tuple):
        reals = np.exp(rng.uniform(np.log(real[0]), np.log(real[1]), oc))
    else:
        reals = np.full(oc, float(real))
    if not per_channel:
        reals[:] = reals[0]
    ws = (reals * out_scale / in_scale).astype(np.float32)
    bound = int(30 / float(reals.mean())) + 1
    b = rng.integers(-bound, bound, oc).astype(np.int32) if bias else None
    oh = shapes.out_size(padding, h, kh, stride[0], dilation[0])
    ow = shapes.out_size(padding, w, kw, stride[1], dilation[1])
    w_spec = (spec((1, kh, kw, oc), data=wt, scales=ws, quantized_dimension=3)
              if per_channel else spec((1, kh, kw, oc), data=wt, scale=float(ws[0])))
    ins = [spec((n, h, w, c), scale=in_scale, zero_point=in_zp), w_spec]
    if bias:
        ins.append(spec((oc,), np.int32, data=b, scales=ws * np.float32(in_scale)))
    options = {"padding": PADDING[padding], "stride_h": stride[0], "stride_w": stride[1],
               "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
               "depth_multiplier": mult, "fused_activation_function": act}
    return op_model("DEPTHWISE_CONV_2D", ins,
                    [spec((n, oh, ow, oc), scale=out_scale, zero_point=out_zp)], options,
                    version=3)


def _inputs(rng, shape, kind="random"):
    if kind == "min":
        return [np.full(shape, -128, np.int8)]
    if kind == "max":
        return [np.full(shape, 127, np.int8)]
    return [random_int(rng, shape)]


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


# ------------------------------------------------------------------------ CONV_2D
@pytest.mark.parametrize("oc", [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 33, 127, 128, 129,
                                257])
def test_conv_output_channels(oc, monkeypatch):
    rng = _rng(f"oc{oc}")
    for k, c in (((3, 3), 3), ((1, 1), 16)):
        model = conv_model(rng, h=5, w=7, c=c, oc=oc, k=k)
        check(model, _inputs(rng, (1, 5, 7, c)), monkeypatch, "conv_s8_fast")


# Patch lengths K = kh * kw * c around multiples of 4, 8 and 16 (the kernel pads K to
# a multiple of 16).
@pytest.mark.parametrize("k,c", [((1, 1), 1), ((1, 1), 3), ((1, 1), 7), ((3, 3), 1),
                                 ((1, 1), 15), ((1, 1), 16), ((1, 1), 17), ((3, 3), 3),
                                 ((1, 1), 31), ((1, 1), 33), ((10, 4), 1), ((3, 3), 5),
                                 ((3, 3), 16), ((2, 3), 11), ((1, 1), 64), ((5, 5), 7)],
                         ids=lambda v: str(v))
def test_conv_patch_lengths(k, c, monkeypatch):
    rng = _rng(f"k{k}c{c}")
    model = conv_model(rng, h=6, w=5, c=c, oc=6, k=k)
    check(model, _inputs(rng, (1, 6, 5, c)), monkeypatch, "conv_s8_fast")


# Output pixel counts around the pixel pairs, the im2col blocks (16 patches when
# patch_len <= 64) and the requantization groups (2048 accumulators).
@pytest.mark.parametrize("hw", [(1, 1), (1, 2), (1, 3), (3, 5), (4, 4), (1, 17), (3, 11),
                                (8, 16), (3, 43), (16, 16), (13, 21)],
                         ids=lambda v: f"{v[0]}x{v[1]}")
def test_conv_pixel_counts(hw, monkeypatch):
    h, w = hw
    rng = _rng(f"px{h}x{w}")
    for k, c, oc in (((1, 1), 8, 16), ((3, 3), 3, 8), ((1, 1), 16, 129)):
        model = conv_model(rng, h=h, w=w, c=c, oc=oc, k=k)
        check(model, _inputs(rng, (1, h, w, c)), monkeypatch, "conv_s8_fast")


CONV_GEOMETRIES = {
    "same_odd": dict(h=7, w=9, c=3, oc=7),
    "same_even": dict(h=8, w=6, c=5, oc=9),
    "valid_odd": dict(h=9, w=7, c=7, oc=17, padding="VALID"),
    "valid_even": dict(h=10, w=8, c=4, oc=5, padding="VALID"),
    "same_stride2_odd": dict(h=9, w=11, c=3, oc=8, stride=(2, 2)),
    "same_stride2_even": dict(h=8, w=10, c=3, oc=8, stride=(2, 2)),
    "valid_stride2_odd": dict(h=11, w=9, c=6, oc=5, stride=(2, 2), padding="VALID"),
    "valid_stride2_even": dict(h=10, w=12, c=6, oc=5, stride=(2, 2), padding="VALID"),
    "same_k4_stride2": dict(h=8, w=8, c=7, oc=7, k=(4, 4), stride=(2, 2)),
    "same_k2": dict(h=5, w=6, c=3, oc=4, k=(2, 2)),
    "strides_1x2_k3x5": dict(h=7, w=10, c=3, oc=7, k=(3, 5), stride=(1, 2)),
    "strides_3x1": dict(h=10, w=5, c=2, oc=3, stride=(3, 1)),
    "same_dilation2": dict(h=11, w=9, c=3, oc=7, dilation=(2, 2)),
    "valid_dilation2x1": dict(h=10, w=7, c=5, oc=4, k=(3, 2), dilation=(2, 1),
                              padding="VALID"),
    "same_dilation1x2_stride2": dict(h=12, w=9, c=3, oc=6, stride=(2, 2),
                                     dilation=(1, 2)),
    "1x1_stride2": dict(h=6, w=7, c=16, oc=5, k=(1, 1), stride=(2, 2), padding="VALID"),
    "1x1_same_stride2_odd": dict(h=7, w=7, c=32, oc=9, k=(1, 1), stride=(2, 2)),
    # Rows of consecutive pixels, not consecutive with each other.
    "1x1_strides_2x1": dict(h=7, w=5, c=16, oc=6, k=(1, 1), stride=(2, 1)),
    "1x1_strides_3x1_valid": dict(n=2, h=8, w=3, c=32, oc=5, k=(1, 1), stride=(3, 1),
                                  padding="VALID"),
    "filter_larger_than_input": dict(h=3, w=2, c=3, oc=5, k=(5, 5)),
    "filter_larger_stride2": dict(h=2, w=3, c=1, oc=3, k=(4, 5), stride=(2, 2)),
    "batch3": dict(n=3, h=5, w=6, c=3, oc=5, stride=(2, 1)),
    "batch2_1x1": dict(n=2, h=3, w=5, c=16, oc=20, k=(1, 1)),
    "kws_first_layer": dict(h=49, w=10, c=1, oc=64, k=(10, 4), stride=(2, 2)),
    "resnet_3x3x16": dict(h=16, w=16, c=16, oc=16),
}


@pytest.mark.parametrize("name", sorted(CONV_GEOMETRIES))
def test_conv_geometries(name, monkeypatch):
    rng = _rng(name)
    g = CONV_GEOMETRIES[name]
    model = conv_model(rng, **g)
    check(model, _inputs(rng, (g.get("n", 1), g["h"], g["w"], g["c"])), monkeypatch,
          "conv_s8_fast", modes=("litert", "tflm"))


QUANT_CASES = {
    # Zero-point extremes: padded taps carry the input zero point through the fold.
    "zp_in_min_out_max": dict(in_zp=-128, out_zp=127),
    "zp_in_max_out_min": dict(in_zp=127, out_zp=-128),
    "zp_in_min_relu": dict(in_zp=-128, out_zp=-5, act=RELU),
    "zp_in_max_relu6": dict(in_zp=127, out_zp=3, act=RELU6),
    "relu_n1_to_1": dict(act=RELU_N1_TO_1),
    # Multipliers: tiny (right shifts up to 31 and flushed to 0), large (left shifts),
    # mixed per channel, and around the rounding ties of small right shifts.
    "multiplier_tiny": dict(real=(2.0 ** -33, 2.0 ** -24)),
    "multiplier_large": dict(real=(2.0, 2.0 ** 12), bias_range=64),
    "multiplier_mixed": dict(real=(2.0 ** -20, 2.0 ** 4)),
    "multiplier_halves": dict(real=(0.25, 1.0), bias_range=100),
    "per_tensor": dict(per_channel=False),
}


@pytest.mark.parametrize("name", sorted(QUANT_CASES))
@pytest.mark.parametrize("k,c", [((3, 3), 3), ((1, 1), 24)], ids=["3x3x3", "1x1x24"])
def test_conv_quantization(name, k, c, monkeypatch):
    rng = _rng(name + str(k))
    model = conv_model(rng, h=6, w=7, c=c, oc=11, k=k, **QUANT_CASES[name])
    for kind in ("random", "min", "max"):
        check(model, _inputs(rng, (1, 6, 7, c), kind), monkeypatch, "conv_s8_fast")


@pytest.mark.parametrize("k,c", [((3, 3), 60), ((1, 1), 1024), ((3, 3), 520)],
                         ids=["one_per_block", "at_budget", "two_per_block"])
def test_conv_long_patches(k, c, monkeypatch):
    """Patches longer than half the scratch budget (one per block), exactly at it, and
    longer than all of it (two per block); the scratch is planned in the arena."""
    rng = _rng(f"long{k}{c}")
    model = conv_model(rng, h=3, w=4, c=c, oc=6, k=k)
    check(model, _inputs(rng, (1, 3, 4, c)), monkeypatch, "conv_s8_fast")
    g = read_model(model)
    node, = PREPARERS["CONV_2D"](g.ops[0], g, PrepareContext(rounding=ROUNDING_SINGLE))
    patch_len = -(-k[0] * k[1] * c // 16) * 16
    assert node.params["block_pixels"] == (1 if patch_len <= 1024 else 2)
    patches = 2 * (node.params["block_pixels"] * patch_len + 16)
    if node.params["im2col"] == C["CONV_S8_FAST_IM2COL_ROWS"]:  # or the widened rows
        rows = 2 * (k[0] * ((node.params["output_w"] - 1) * node.params["stride_w"] + k[1])
                    * c + 16)
        assert node.scratch_bytes == max(patches, rows)
    else:
        assert node.scratch_bytes == patches


def test_conv_without_bias(monkeypatch):
    # LiteRT's CONV_2D requires a bias: the reference kernel is the oracle.
    rng = _rng("nobias")
    model = conv_model(rng, h=6, w=7, c=5, oc=6, stride=(2, 1), bias=False)
    check(model, _inputs(rng, (1, 6, 7, 5)), monkeypatch, "conv_s8_fast", litert=False)


def test_conv_int32_wraparound(monkeypatch):
    """Accumulator + bias wrapping around int32 (beyond what TFLite defines; the
    reference kernel wraps): the fast kernel's folded bias wraps the same way."""
    rng = _rng("wrap")
    model = conv_model(rng, h=4, w=4, c=64, oc=8, k=(3, 3), bias_range=2 ** 31 - 1,
                       real=(2.0 ** -31, 2.0 ** -28))
    for kind in ("random", "min", "max"):
        check(model, _inputs(rng, (1, 4, 4, 64), kind), monkeypatch, "conv_s8_fast",
              litert=False)


def test_grouped_conv_stays_on_the_reference_kernel():
    rng = _rng("grouped")
    wt = random_int(rng, (4, 3, 3, 3))
    model = op_model("CONV_2D", [spec((1, 5, 5, 6), scale=0.05),
                                 spec((4, 3, 3, 3), data=wt, scales=[0.01] * 4),
                                 spec((4,), np.int32, data=[0] * 4, scales=[5e-4] * 4)],
                     [spec((1, 5, 5, 4), scale=0.1)],
                     {"padding": 0, "stride_h": 1, "stride_w": 1}, version=6)
    assert kernels(model) == ["conv_s8"]


def test_reference_switch(monkeypatch):
    model = conv_model(_rng("switch"), h=4, w=4, c=3, oc=4)
    assert kernels(model, monkeypatch) == ["conv_s8_fast"]
    assert kernels(model, monkeypatch, reference=True) == ["conv_s8"]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 2), h=st.integers(1, 9),
       w=st.integers(1, 9), c=st.sampled_from([1, 2, 3, 5, 8, 16, 17]),
       oc=st.sampled_from([1, 3, 4, 5, 8, 13]), kh=st.integers(1, 4),
       kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       dh=st.integers(1, 2), dw=st.integers(1, 2),
       padding=st.sampled_from(["SAME", "VALID"]), act=st.sampled_from([0, 1, 2, 3]))
def test_conv_random_geometry(seed, n, h, w, c, oc, kh, kw, sh, sw, dh, dw, padding, act):
    if padding == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        return
    rng = np.random.default_rng(seed)
    model = conv_model(rng, n=n, h=h, w=w, c=c, oc=oc, k=(kh, kw), stride=(sh, sw),
                       dilation=(dh, dw), padding=padding, act=act)
    with pytest.MonkeyPatch.context() as mp:
        check(model, _inputs(rng, (n, h, w, c)), mp, "conv_s8_fast")


# -------------------------------------------------------------- DEPTHWISE_CONV_2D
# Channel counts around the row form's repeat periods (multiples of 32, >= 64), its
# 4096-byte weight limit (13 channels x 3x3 taps fit, x 5x5 do not), and the 2048
# accumulators of a row segment / pixel block.
@pytest.mark.parametrize("c", [1, 2, 3, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                               96, 130])
def test_depthwise_channels(c, monkeypatch):
    rng = _rng(f"dwc{c}")
    for k, stride in (((3, 3), (1, 1)), ((3, 3), (2, 2)), ((5, 5), (1, 1))):
        model = depthwise_model(rng, h=6, w=7, c=c, k=k, stride=stride)
        kernel = "conv_s8_fast" if c == 1 else "depthwise_conv_s8_fast"
        check(model, _inputs(rng, (1, 6, 7, c)), monkeypatch, kernel)


@pytest.mark.parametrize("c,w", [(64, 31), (64, 32), (64, 33), (64, 70), (8, 255),
                                 (8, 257), (2050, 2), (300, 3)],
                         ids=lambda v: str(v))
def test_depthwise_segments(c, w, monkeypatch):
    rng = _rng(f"dwseg{c}x{w}")
    for stride in ((1, 1), (1, 2)):
        model = depthwise_model(rng, h=3, w=w, c=c, stride=stride)
        check(model, _inputs(rng, (1, 3, w, c)), monkeypatch, "depthwise_conv_s8_fast")


@pytest.mark.parametrize("c,mult", [(1, 1), (1, 2), (1, 8), (1, 17), (2, 2), (3, 3),
                                    (7, 2), (2, 8), (3, 16), (2, 17), (300, 8)],
                         ids=lambda v: str(v))
def test_depthwise_multipliers(c, mult, monkeypatch):
    rng = _rng(f"dwm{c}x{mult}")
    for k, stride in (((3, 3), (1, 1)), ((3, 3), (2, 2))):
        model = depthwise_model(rng, h=5, w=6, c=c, mult=mult, k=k, stride=stride)
        kernel = "conv_s8_fast" if c == 1 else "depthwise_conv_s8_fast"
        check(model, _inputs(rng, (1, 5, 6, c)), monkeypatch, kernel)


DEPTHWISE_GEOMETRIES = {
    "same_odd": dict(h=7, w=9, c=8),
    "same_even": dict(h=8, w=6, c=17),
    "valid_odd": dict(h=9, w=7, c=16, padding="VALID"),
    "valid_even_stride2": dict(h=10, w=8, c=33, stride=(2, 2), padding="VALID"),
    "same_stride2_odd": dict(h=9, w=11, c=16, stride=(2, 2)),
    "strides_2x1": dict(h=9, w=8, c=8, stride=(2, 1)),
    "strides_1x3": dict(h=6, w=10, c=5, stride=(1, 3)),
    "dilation2": dict(h=11, w=9, c=8, dilation=(2, 2)),
    "dilation1x2_valid": dict(h=8, w=11, c=16, dilation=(1, 2), padding="VALID"),
    "dilation2_stride2": dict(h=12, w=12, c=9, dilation=(2, 2), stride=(2, 2)),
    "k1x1": dict(h=5, w=6, c=17, k=(1, 1)),
    "k5x5_c64": dict(h=7, w=7, c=64, k=(5, 5)),
    "k10x8_mult8": dict(h=12, w=11, c=1, mult=8, k=(10, 8), stride=(2, 2)),
    "filter_larger_than_input": dict(h=2, w=3, c=7, k=(5, 5)),
    "batch2": dict(n=2, h=6, w=5, c=16, stride=(1, 1)),
    "batch2_mult2": dict(n=2, h=6, w=5, c=3, mult=2, stride=(1, 2)),
    "vww_48x48x8": dict(h=48, w=48, c=8),
}


@pytest.mark.parametrize("name", sorted(DEPTHWISE_GEOMETRIES))
def test_depthwise_geometries(name, monkeypatch):
    rng = _rng("dw" + name)
    g = DEPTHWISE_GEOMETRIES[name]
    model = depthwise_model(rng, **g)
    kernel = "conv_s8_fast" if g["c"] == 1 else "depthwise_conv_s8_fast"
    check(model, _inputs(rng, (g.get("n", 1), g["h"], g["w"], g["c"])), monkeypatch,
          kernel, modes=("litert", "tflm"))


@pytest.mark.parametrize("name", sorted(QUANT_CASES))
@pytest.mark.parametrize("c,mult,stride", [(16, 1, 1), (8, 1, 2), (1, 8, 1)],
                         ids=["c16", "c8_stride2", "c1_mult8"])
def test_depthwise_quantization(name, c, mult, stride, monkeypatch):
    case = dict(QUANT_CASES[name])
    case.pop("bias_range", None)
    rng = _rng("dw" + name + str(c))
    model = depthwise_model(rng, h=6, w=7, c=c, mult=mult, stride=(stride, stride),
                            **case)
    kernel = "conv_s8_fast" if c == 1 else "depthwise_conv_s8_fast"
    for kind in ("random", "min", "max"):
        check(model, _inputs(rng, (1, 6, 7, c), kind), monkeypatch, kernel)


def test_depthwise_without_bias(monkeypatch):
    rng = _rng("dwnobias")
    for c, mult in ((8, 1), (3, 2), (1, 4)):
        model = depthwise_model(rng, h=6, w=6, c=c, mult=mult, bias=False)
        kernel = "conv_s8_fast" if c == 1 else "depthwise_conv_s8_fast"
        check(model, _inputs(rng, (1, 6, 6, c)), monkeypatch, kernel)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 2), h=st.integers(1, 8),
       w=st.integers(1, 12), c=st.sampled_from([1, 2, 3, 8, 16, 24, 40]),
       mult=st.sampled_from([1, 1, 1, 2, 3]), kh=st.integers(1, 4),
       kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       dh=st.integers(1, 2), dw=st.integers(1, 2),
       padding=st.sampled_from(["SAME", "VALID"]), act=st.sampled_from([0, 1, 2, 3]))
def test_depthwise_random_geometry(seed, n, h, w, c, mult, kh, kw, sh, sw, dh, dw,
                                   padding, act):
    if padding == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        return
    rng = np.random.default_rng(seed)
    model = depthwise_model(rng, n=n, h=h, w=w, c=c, mult=mult, k=(kh, kw),
                            stride=(sh, sw), dilation=(dh, dw), padding=padding, act=act)
    kernel = "conv_s8_fast" if c == 1 else "depthwise_conv_s8_fast"
    with pytest.MonkeyPatch.context() as mp:
        check(model, _inputs(rng, (n, h, w, c)), mp, kernel)


# ------------------------------------------- DEPTHWISE_CONV_2D, channel-lanes form
# Depth multiplier 1 runs the lanes form (mdl_depthwise_conv_s8_fast_lanes): blocks of
# 16 channels (AVX2: 16, then 8, then c % 8 channels in C; input_c 8 with stride 1 as
# two pixels per 16 lanes), runs of windows inside the input, border windows reading
# the zero point; both the AVX2 variant and the portable C loop
# (MICRODL_PORTABLE_KERNELS=1).
PORTABLE_ENV = "MICRODL_PORTABLE_KERNELS"
LANES_FORMS = {"simd": 1, "portable": 2}


def _dw_node(model):
    load_all()
    g = read_model(model)
    node, = PREPARERS[g.ops[0].name](g.ops[0], g, PrepareContext(rounding=ROUNDING_SINGLE))
    return node


def _select_form(mp, form):
    """Environment for the fast kernels' SIMD ("simd") or portable C ("portable") path."""
    mp.delenv(REFERENCE_ENV, raising=False)
    if form == "portable":
        mp.setenv(PORTABLE_ENV, "1")
    else:
        mp.delenv(PORTABLE_ENV, raising=False)


def check_lanes(model, inputs, form, litert=True, modes=("litert",)):
    """The lanes form in `form` ("simd" or "portable") == reference (== LiteRT)."""
    with pytest.MonkeyPatch.context() as mp:
        _select_form(mp, form)
        node = _dw_node(model)
        assert node.kernel == "depthwise_conv_s8_fast"
        assert node.inputs[5] is not None and int(node.inputs[7][0]) == LANES_FORMS[form]
        return check(model, inputs, mp, "depthwise_conv_s8_fast", litert=litert,
                     modes=modes)


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
@pytest.mark.parametrize("c", [2, 3, 7, 8, 15, 16, 17, 24, 31, 32, 33, 64, 65])
def test_depthwise_lanes_channels(c, form):
    rng = _rng(f"dwl{c}{form}")
    for h, w, stride, padding in ((5, 1, 1, "SAME"), (4, 2, 1, "SAME"), (3, 3, 2, "SAME"),
                                  (6, 5, 1, "VALID"), (5, 8, 2, "VALID"),
                                  (4, 17, 1, "SAME"), (7, 16, 2, "SAME"),
                                  (3, 9, 1, "VALID")):
        model = depthwise_model(rng, h=h, w=w, c=c, stride=(stride, stride),
                                padding=padding)
        check_lanes(model, _inputs(rng, (1, h, w, c)), form)


# Filter sizes (odd and even tap counts, the extra zero-weight tap), filters wider than
# the input, dilations, strides differing per axis, batches, the 64-tap limit.
LANES_GEOMETRIES = {
    "k1x1": dict(h=4, w=5, c=24, k=(1, 1)),
    "k2x2": dict(h=5, w=6, c=16, k=(2, 2)),
    "k5x5": dict(h=7, w=9, c=8, k=(5, 5)),
    "k3x1_stride2x1": dict(h=9, w=4, c=17, k=(3, 1), stride=(2, 1)),
    "k1x3_stride1x2": dict(h=3, w=11, c=32, k=(1, 3), stride=(1, 2)),
    "k8x8_64_taps": dict(h=9, w=9, c=8, k=(8, 8)),
    "filter_wider_than_input": dict(h=3, w=2, c=16, k=(5, 5)),
    "dilation2": dict(h=9, w=10, c=16, dilation=(2, 2)),
    "dilation2x1_stride2": dict(h=10, w=9, c=8, dilation=(2, 1), stride=(2, 2)),
    "strides_3": dict(h=10, w=11, c=9, stride=(3, 3)),
    "batch3": dict(n=3, h=5, w=6, c=24),
    "batch2_c8": dict(n=2, h=4, w=7, c=8),
    "vww_48x48x8": dict(h=48, w=48, c=8),
    "vww_stride2_24x24x64": dict(h=24, w=24, c=64, stride=(2, 2)),
    "vww_3x3x256": dict(h=3, w=3, c=256),
    "kws_25x5x64": dict(h=25, w=5, c=64),
    "wide_row_c300": dict(h=3, w=10, c=300),  # rows longer than the zero-point buffer
}


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
@pytest.mark.parametrize("name", sorted(LANES_GEOMETRIES))
def test_depthwise_lanes_geometries(name, form):
    rng = _rng("dwl" + name)
    g = LANES_GEOMETRIES[name]
    model = depthwise_model(rng, **g)
    check_lanes(model, _inputs(rng, (g.get("n", 1), g["h"], g["w"], g["c"])), form,
                modes=("litert", "tflm"))


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
@pytest.mark.parametrize("name", sorted(QUANT_CASES))
@pytest.mark.parametrize("c,stride", [(8, 1), (17, 2), (32, 1)])
def test_depthwise_lanes_quantization(name, c, stride, form):
    case = dict(QUANT_CASES[name])
    case.pop("bias_range", None)
    rng = _rng("dwlq" + name + str(c))
    model = depthwise_model(rng, h=5, w=7, c=c, stride=(stride, stride), **case)
    for kind in ("random", "min", "max"):
        check_lanes(model, _inputs(rng, (1, 5, 7, c), kind), form)


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
def test_depthwise_lanes_int32_wraparound(form):
    """Sums + bias wrapping around int32 (the reference wraps): the folded bias and the
    lanes' sums wrap the same way.  Multipliers around 2^-31 make the test's bias span
    all of int32."""
    rng = _rng("dwlwrap" + form)
    for c in (8, 16, 17):
        model = depthwise_model(rng, h=4, w=5, c=c, real=(2.0 ** -31, 2.0 ** -28))
        for kind in ("random", "min", "max"):
            check_lanes(model, _inputs(rng, (1, 4, 5, c), kind), form, litert=False)


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
def test_depthwise_lanes_without_bias(form):
    rng = _rng("dwlnobias" + form)
    for c in (8, 16, 33):
        model = depthwise_model(rng, h=5, w=6, c=c, bias=False)
        check_lanes(model, _inputs(rng, (1, 5, 6, c)), form)


def test_depthwise_lanes_limits(monkeypatch):
    """Beyond 64 taps, or with a depth multiplier, the row/pixel forms run (no packed
    weights)."""
    rng = _rng("dwllimits")
    for g in (dict(h=10, w=10, c=8, k=(9, 8)), dict(h=5, w=6, c=8, mult=2)):
        model = depthwise_model(rng, **g)
        node = _dw_node(model)
        assert node.kernel == "depthwise_conv_s8_fast" and len(node.inputs) == 5
        check(model, _inputs(rng, (1, g["h"], g["w"], g["c"])), monkeypatch,
              "depthwise_conv_s8_fast")


# ------------------------------------------- CONV_2D, lanes form with few channels
# The lanes form (patches up to 4096 entries) on AVX2 requantizes in registers: blocks
# of 16 output channels take 2 pixels at a time, a last block of at most 8 channels 4
# pixels x 8 lanes; both that and the portable C loop (MICRODL_PORTABLE_KERNELS=1)
# against the reference and LiteRT, with output channels around the 8/16-lane blocks,
# few input channels (the first layers of image models), pixel counts around the
# 2/4-pixel steps and the im2col blocks.
def _conv_node(model):
    load_all()
    g = read_model(model)
    node, = PREPARERS["CONV_2D"](g.ops[0], g, PrepareContext(rounding=ROUNDING_SINGLE))
    return node


def check_conv_form(model, inputs, form, litert=True, modes=("litert",)):
    """conv_s8_fast in the lanes form `form` ("simd" or "portable") == reference
    (== LiteRT)."""
    with pytest.MonkeyPatch.context() as mp:
        _select_form(mp, form)
        node = _conv_node(model)
        assert node.kernel == "conv_s8_fast"
        assert node.params["lanes"] == LANES_FORMS[form]
        return check(model, inputs, mp, "conv_s8_fast", litert=litert, modes=modes)


FEW_GEOMETRIES = [  # h, w, kernel, stride, padding
    (5, 9, (3, 3), (1, 1), "SAME"),    # 45 pixels: 2 blocks of 16 + 13 (4-pixel tail 1)
    (6, 8, (3, 3), (2, 2), "VALID"),   # 2x3 pixels
    (7, 7, (3, 3), (2, 2), "SAME"),    # 4x4 pixels, borders on every side
    (1, 1, (3, 3), (1, 1), "SAME"),    # one pixel, all but the centre tap padded
    (3, 6, (1, 1), (1, 1), "VALID"),   # 1x1: patches are the input pixels, 18 pixels
    (4, 5, (1, 1), (2, 1), "SAME"),    # 1x1, stride 2 rows: 10 pixels
]


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
@pytest.mark.parametrize("c", [1, 2, 3, 4])
@pytest.mark.parametrize("oc", [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17])
def test_conv_few_channels(oc, c, form):
    rng = _rng(f"few{oc}_{c}_{form}")
    for h, w, k, stride, padding in FEW_GEOMETRIES:
        model = conv_model(rng, h=h, w=w, c=c, oc=oc, k=k, stride=stride,
                           padding=padding)
        check_conv_form(model, _inputs(rng, (1, h, w, c)), form)


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
@pytest.mark.parametrize("w", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_conv_few_channels_widths(w, form):
    """Pixel counts around the 4-pixel (8 channels) and 2-pixel (16) steps and the
    16-pixel im2col blocks, with batches (blocks span images)."""
    rng = _rng(f"fewwidth{w}{form}")
    for oc, c, stride in ((8, 3, 2), (8, 3, 1), (16, 8, 1), (5, 1, 1), (24, 3, 2)):
        model = conv_model(rng, n=2, h=2, w=w, c=c, oc=oc, stride=(1, stride))
        check_conv_form(model, _inputs(rng, (2, 2, w, c)), form)


FEW_QUANT = ["zp_in_min_out_max", "zp_in_max_out_min", "zp_in_max_relu6",
             "multiplier_tiny", "multiplier_large", "multiplier_mixed",
             "multiplier_halves", "per_tensor"]


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
@pytest.mark.parametrize("oc", [3, 8, 16, 17])
@pytest.mark.parametrize("name", FEW_QUANT)
def test_conv_few_channels_quantization(name, oc, form):
    """Extreme zero points and multipliers (left shifts take the full requantization,
    right shifts only the lean one), both rounding modes."""
    rng = _rng(f"fewq{name}{oc}{form}")
    model = conv_model(rng, h=5, w=6, c=3, oc=oc, stride=(2, 2), **QUANT_CASES[name])
    for kind in ("random", "min", "max"):
        check_conv_form(model, _inputs(rng, (1, 5, 6, 3), kind), form,
                        modes=("litert", "tflm"))


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
def test_conv_few_channels_int32_wraparound(form):
    rng = _rng("fewwrap" + form)
    for oc in (8, 16, 17):
        model = conv_model(rng, h=4, w=5, c=3, oc=oc, bias_range=2 ** 31 - 1,
                           real=(2.0 ** -31, 2.0 ** -28))
        for kind in ("random", "min", "max"):
            check_conv_form(model, _inputs(rng, (1, 4, 5, 3), kind), form, litert=False)


@pytest.mark.parametrize("form", sorted(LANES_FORMS))
def test_conv_few_channels_without_bias(form):
    rng = _rng("fewnobias" + form)
    for oc in (4, 8, 16):
        model = conv_model(rng, h=5, w=6, c=3, oc=oc, bias=False)
        check_conv_form(model, _inputs(rng, (1, 5, 6, 3)), form, litert=False)
