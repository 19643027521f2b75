"""The SIMD-style fast paths against the plain references, bit for bit.

- conv_s8_fast's output-channel lanes form (AVX2 intrinsics when the CPU has them, and
  the portable C loop, MICRODL_PORTABLE_KERNELS=1) against the reference conv_s8
  (MICRODL_REFERENCE_KERNELS=1), the rows form and LiteRT: patch lengths around the
  int16 pairs, the 64-entry unpadded limit and the 16-entry padding, output channels
  around the 8/16-lane blocks and the 128-channel GEMM passes, pixel counts around the
  pixel pairs, extreme zero points and multipliers;
- the int8 ADD / SUB fast path (vectorized rescaling, add_s8.c) against the numpy
  reference (microdl.reference.elementwise) and LiteRT: every pair of int8 inputs,
  row lengths around the 128-element chunks, broadcast (stride 0) operands, extreme
  zero points and scale ratios, fused activations.
"""
import zlib

import numpy as np
import pytest

from microdl.runtime.ops import conv as conv_ops
from tests.oplib import run_microdl
from tests.test_conv_fast import _inputs, check as check_conv, conv_model, kernels
from tests.test_elementwise import (ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1,
                                    check as check_elementwise, make_model, reference)

PORTABLE_ENV = "MICRODL_PORTABLE_KERNELS"


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _node(model, monkeypatch):
    from microdl.core.fixedpoint import ROUNDING_SINGLE
    from microdl.runtime.ops import PREPARERS, PrepareContext, load_all
    from microdl.tflite.reader import read_model
    load_all()
    monkeypatch.delenv("MICRODL_REFERENCE_KERNELS", raising=False)
    g = read_model(model)
    node, = PREPARERS[g.ops[0].name](g.ops[0], g, PrepareContext(ROUNDING_SINGLE))
    return node


def check_all_forms(model, inputs, monkeypatch, litert=True):
    """Lanes form (SIMD and portable C) == rows form == reference kernel (== LiteRT)."""
    outs = {}
    for form, portable, max_k in (("lanes", False, None), ("lanes_c", True, None),
                                  ("rows", False, 0)):
        if portable:
            monkeypatch.setenv(PORTABLE_ENV, "1")
        else:
            monkeypatch.delenv(PORTABLE_ENV, raising=False)
        if max_k is not None:
            monkeypatch.setattr(conv_ops, "_LANES_MAX_K", max_k)
        node = _node(model, monkeypatch)
        want_form = {"lanes": 1, "lanes_c": 2, "rows": 0}[form]
        assert node.params["lanes"] == want_form
        outs[form] = check_conv(model, inputs, monkeypatch, "conv_s8_fast",
                                litert=litert and form == "lanes")
        monkeypatch.undo()
    np.testing.assert_array_equal(outs["lanes"], outs["lanes_c"])
    np.testing.assert_array_equal(outs["lanes"], outs["rows"])


# K = kh * kw * c: 1, 2 (one pair), 3 (odd: one entry read past the patch), 15/16/17,
# 63/64/65 (unpadded limit), 144, 540 (padded to 544).
@pytest.mark.parametrize("k,c", [((1, 1), 1), ((1, 1), 2), ((1, 1), 3), ((1, 1), 8),
                                 ((1, 1), 15), ((1, 1), 16), ((1, 1), 17), ((3, 3), 3),
                                 ((3, 3), 7), ((1, 1), 63), ((1, 1), 64), ((1, 1), 65),
                                 ((3, 3), 16), ((3, 3), 60)], ids=lambda v: str(v))
def test_lanes_patch_lengths(k, c, monkeypatch):
    rng = _rng("k", k, c)
    model = conv_model(rng, h=5, w=6, c=c, oc=11, k=k)
    check_all_forms(model, _inputs(rng, (1, 5, 6, c)), monkeypatch)


@pytest.mark.parametrize("oc", [1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 127, 128, 129,
                                144, 257])
def test_lanes_output_channels(oc, monkeypatch):
    rng = _rng("oc", oc)
    for k, c in (((3, 3), 3), ((1, 1), 8), ((1, 1), 33)):
        model = conv_model(rng, h=3, w=5, c=c, oc=oc, k=k)
        check_all_forms(model, _inputs(rng, (1, 3, 5, c)), monkeypatch)


# Pixel counts around the pixel pairs and the im2col blocks; strides 2 (1x1 stride-2
# shortcut convolutions), padding, dilation, batches.
@pytest.mark.parametrize("geom", [
    dict(h=1, w=1, c=8, oc=16, k=(1, 1)),
    dict(h=1, w=3, c=8, oc=16, k=(1, 1)),
    dict(h=4, w=4, c=16, oc=32, k=(1, 1), stride=(2, 2)),
    dict(h=7, w=9, c=16, oc=32, k=(1, 1), stride=(2, 2), padding="VALID"),
    dict(h=9, w=9, c=3, oc=8, k=(3, 3), stride=(2, 2)),
    dict(h=8, w=8, c=3, oc=16, k=(3, 3), stride=(2, 2), padding="VALID"),
    dict(h=6, w=7, c=5, oc=20, k=(3, 3), dilation=(2, 2)),
    dict(n=2, h=5, w=3, c=4, oc=17, k=(2, 3)),
    dict(h=17, w=3, c=8, oc=16, k=(1, 1)),
    dict(h=13, w=21, c=3, oc=9, k=(5, 5), stride=(1, 2)),
], ids=lambda g: "-".join(f"{k}{v}" for k, v in g.items()))
def test_lanes_geometries(geom, monkeypatch):
    rng = _rng("geom", sorted(geom.items()))
    model = conv_model(rng, **geom)
    shape = (geom.get("n", 1), geom["h"], geom["w"], geom["c"])
    for kind in ("random", "min", "max"):
        check_all_forms(model, _inputs(rng, shape, kind), monkeypatch)


@pytest.mark.parametrize("case", ["zp_min", "zp_max", "tiny_multiplier",
                                  "large_multiplier", "relu6", "no_bias"])
def test_lanes_quantization_extremes(case, monkeypatch):
    rng = _rng("q", case)
    kw = dict(h=5, w=5, c=8, oc=24, k=(1, 1))
    if case == "zp_min":
        kw.update(in_zp=-128, out_zp=-128)
    elif case == "zp_max":
        kw.update(in_zp=127, out_zp=127)
    elif case == "tiny_multiplier":
        kw.update(real=(1e-9, 1e-7))
    elif case == "large_multiplier":
        kw.update(real=(0.5, 0.99), bias_range=1 << 20)
    elif case == "relu6":
        kw.update(act=3)
    else:
        kw.update(bias=False)
    model = conv_model(rng, **kw)
    for kind in ("random", "min", "max"):
        check_all_forms(model, _inputs(rng, (1, 5, 5, 8), kind), monkeypatch,
                        litert=case != "no_bias")


def test_lanes_scratch_within_arena_budget(monkeypatch):
    """Short patches are unpadded in the lanes form: a 1x1 convolution of 8 channels
    plans 16 patches of 8 int16 entries (plus the 16-entry slack)."""
    rng = _rng("scratch")
    node = _node(conv_model(rng, h=8, w=8, c=8, oc=16, k=(1, 1)), monkeypatch)
    assert node.params["lanes"] == 1
    assert node.params["block_pixels"] == 16
    assert node.scratch_bytes == 2 * (16 * 8 + 16)
    assert kernels(conv_model(rng, h=8, w=8, c=8, oc=16, k=(1, 1))) == ["conv_s8_fast"]


# ------------------------------------------------------------------- ADD / SUB int8
def _quant(rng, extreme=False, ratio=None):
    s1, s2 = (float(v) for v in rng.uniform(0.005, 0.2, 2))
    if ratio is not None:  # very different input scales: tiny input multiplier
        s2 = s1 * ratio
    so = max(s1, s2) * float(rng.uniform(0.6, 4))
    if extreme:
        zps = [int(rng.choice([-128, 127])) for _ in range(3)]
    else:
        zps = [int(z) for z in rng.integers(-128, 128, 3)]
    return [(s1, zps[0]), (s2, zps[1]), (so, zps[2])]


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("case", ["random", "extreme_zp", "ratio_1e-4", "ratio_1e4",
                                  "equal_scales", "relu", "relu_n1_to_1"])
def test_add_every_input_pair(op, case):
    """All 65,536 (input1, input2) pairs of int8 in one same-shape ADD / SUB."""
    rng = _rng("pairs", op, case)
    q = _quant(rng, extreme=case == "extreme_zp",
               ratio={"ratio_1e-4": 1e-4, "ratio_1e4": 1e4}.get(case))
    if case == "equal_scales":
        q[1] = (q[0][0], q[1][1])
    act = {"relu": ACT_RELU, "relu_n1_to_1": ACT_RELU_N1_TO_1}.get(case, ACT_NONE)
    a = np.arange(65536)
    x1 = ((a & 255) - 128).astype(np.int8).reshape(1, 16, 64, 64)
    x2 = ((a >> 8) - 128).astype(np.int8).reshape(1, 16, 64, 64)
    model = make_model(op, x1.shape, x2.shape, q, act)
    got, = run_microdl(model, [x1, x2])
    np.testing.assert_array_equal(got, reference(op, x1, x2, q, act, np.int8))


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 31, 127, 128, 129, 255, 256, 257, 1000,
                               16384])
def test_add_row_lengths(op, n):
    rng = _rng("rows", op, n)
    for extreme in (False, True):
        check_elementwise(op, (1, n), (1, n), _quant(rng, extreme), ACT_NONE, rng)


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("shapes", [
    ((1, 300), (1, 1)), ((1, 1), (1, 300)),        # scalar operand: stride 0 row
    ((3, 129), (1, 129)), ((3, 129), (3, 1)),       # broadcast rows
    ((2, 4, 4, 16), (16,)), ((2, 4, 4, 16), (2, 4, 4, 16)),
    ((5, 1, 130), (1, 3, 130)),
])
def test_add_broadcast_rows(op, shapes):
    rng = _rng("bcast", op, shapes)
    for act in (ACT_NONE, ACT_RELU6):
        check_elementwise(op, *shapes, _quant(rng, extreme=act == ACT_RELU6), act, rng)


@pytest.mark.parametrize("op", ["ADD", "SUB"])
def test_add_constant_operand(op):
    rng = _rng("const", op)
    check_elementwise(op, (1, 8, 8, 16), (1, 8, 8, 16), _quant(rng), ACT_NONE, rng,
                      const2=True)
    check_elementwise(op, (1, 8, 8, 16), (16,), _quant(rng, True), ACT_NONE, rng,
                      const2=True)
