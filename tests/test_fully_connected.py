"""FULLY_CONNECTED int8 against LiteRT's reference kernels and a numpy reference."""
import numpy as np
import pytest

from microdl.core.fixedpoint import ROUNDING_DOUBLE, ROUNDING_SINGLE, quantize_multiplier, requantize_r
from tests.oplib import (assert_same_as_litert, op_model, random_int, run_litert, run_microdl,
                         spec)


def fc_model(rng, batches, depth, units, per_channel, act, with_bias=True):
    w = random_int(rng, (units, depth))
    w_scales = rng.uniform(0.001, 0.02, units) if per_channel else None
    w_scale = None if per_channel else 0.01
    in_scale, out_scale = 0.05, rng.uniform(0.05, 0.5)
    bias_scales = (w_scales if per_channel else np.array([w_scale])) * in_scale
    bias = rng.integers(-5000, 5000, units).astype(np.int32)
    inputs = [spec((batches, depth), scale=in_scale, zero_point=int(rng.integers(-128, 128))),
              spec((units, depth), data=w, scale=w_scale, scales=w_scales),
              spec((units,), np.int32, data=bias, scales=bias_scales) if with_bias else None]
    out = spec((batches, units), scale=out_scale, zero_point=int(rng.integers(-128, 128)))
    model = op_model("FULLY_CONNECTED", inputs, [out],
                     {"fused_activation_function": act}, version=4 if not per_channel else 12)
    return model, w, bias if with_bias else None


@pytest.mark.parametrize("batches,depth,units", [(1, 1, 1), (1, 17, 7), (3, 33, 3), (2, 64, 16)])
@pytest.mark.parametrize("act", [0, 1, 3])
def test_fc_matches_litert(batches, depth, units, act):
    rng = np.random.default_rng(batches * 100 + depth + act)
    model, _, _ = fc_model(rng, batches, depth, units, per_channel=False, act=act)
    for _ in range(3):
        assert_same_as_litert(model, [random_int(rng, (batches, depth))])


def test_fc_without_bias_matches_litert():
    rng = np.random.default_rng(7)
    model, _, _ = fc_model(rng, 2, 9, 5, per_channel=False, act=0, with_bias=False)
    assert_same_as_litert(model, [random_int(rng, (2, 9))])


@pytest.mark.parametrize("rounding", ["single", "double"])
def test_fc_matches_numpy_reference(rounding):
    rng = np.random.default_rng(3)
    model, w, bias = fc_model(rng, 4, 33, 17, per_channel=True, act=0)
    from microdl.tflite.reader import read_model
    g = read_model(model)
    x_t, y_t = g.tensors[0], g.tensors[3]
    x = random_int(rng, (4, 33))
    acc = (x.astype(np.int64) - x_t.quant.zero_point) @ w.astype(np.int64).T + bias
    real = np.float64(x_t.quant.scale) * g.tensors[1].quant.scales.astype(np.float64) / np.float64(y_t.quant.scale)
    ms = [quantize_multiplier(r) for r in real]
    m = np.array([a for a, _ in ms]); s = np.array([b for _, b in ms])
    code = ROUNDING_SINGLE if rounding == "single" else ROUNDING_DOUBLE
    want = np.clip(requantize_r(acc, m, s, code) + y_t.quant.zero_point, -128, 127)
    got, = run_microdl(model, [x], rounding=rounding)
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------- the fast form (fully_connected_s8_fast)
# Shapes around its 8-channel blocks, 64-channel chunks and 16-input groups, and AD's
# layer shapes (640 -> 128, 128 -> 8, 8 -> 128).
@pytest.mark.parametrize("batches,depth,units", [(1, 640, 128), (1, 128, 8), (1, 8, 128),
                                                 (2, 65, 33), (3, 31, 73), (1, 2, 17)])
@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
def test_fc_fast_shapes_match_litert(batches, depth, units, per_channel):
    rng = np.random.default_rng(batches * 1000 + depth * 10 + units + per_channel)
    model, _, _ = fc_model(rng, batches, depth, units, per_channel=per_channel, act=1)
    for _ in range(2):
        assert_same_as_litert(model, [random_int(rng, (batches, depth))])


def _interpreter(model, **kw):
    from microdl import Interpreter
    it = Interpreter(model_content=model, **kw)
    it.allocate_tensors()
    return it


def _run(it, x):
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


@pytest.mark.parametrize("rounding", ["litert", "tflm"])
def test_fc_fast_equals_reference_kernel(rounding, monkeypatch):
    """The fast form (packed weights, s8-gemv) and the plain fully_connected_s8 kernel
    (MICRODL_REFERENCE_KERNELS=1) give the same bits, in both of microdl's rounding
    targets, and prepare binds the kernel it says."""
    rng = np.random.default_rng(11)
    model, _, _ = fc_model(rng, 3, 77, 45, per_channel=True, act=0)
    x = random_int(rng, (3, 77))
    monkeypatch.delenv("MICRODL_REFERENCE_KERNELS", raising=False)
    fast = _interpreter(model, rounding=rounding)
    monkeypatch.setenv("MICRODL_REFERENCE_KERNELS", "1")
    ref = _interpreter(model, rounding=rounding)
    kinds = [{n.kernel for _, n in it._schedule()[0]} for it in (fast, ref)]
    assert kinds == [{"fully_connected_s8_fast"}, {"fully_connected_s8"}]
    np.testing.assert_array_equal(_run(fast, x), _run(ref, x))


@pytest.mark.parametrize("batches,depth,units,threads", [(1, 700, 1000, 2), (2, 300, 1000, 3),
                                                         (1, 1000, 520, 4)])
def test_fc_threads_split_channels_identically(batches, depth, units, threads, monkeypatch):
    """num_threads > 1 cuts a large layer into bands of whole 8-channel blocks
    (microdl.runtime.parallel.split_channels); every output equals one thread's and
    LiteRT's."""
    from microdl.runtime import parallel
    monkeypatch.delenv("MICRODL_REFERENCE_KERNELS", raising=False)
    rng = np.random.default_rng(depth + units + threads)
    model, _, _ = fc_model(rng, batches, depth, units, per_channel=False, act=0)
    one = _interpreter(model, num_threads=1)
    many = _interpreter(model, num_threads=threads)
    bands = [n for _, n in many._schedule()[0]]
    assert batches * depth * units >= parallel.FC_MIN_SPLIT_MACS
    assert len(bands) == min(threads, -(-units // 8)) > 1
    firsts = [b.output_byte_offset for b in bands]
    sizes = [b.params["output_depth"] for b in bands]
    assert firsts == [sum(sizes[:k]) for k in range(len(sizes))] and sum(sizes) == units
    assert all(f % 8 == 0 for f in firsts)
    for _ in range(2):
        x = random_int(rng, (batches, depth))
        got = _run(many, x).copy()
        np.testing.assert_array_equal(got, _run(one, x))
        want, = run_litert(model, [x])
        np.testing.assert_array_equal(got, want)


def test_fc_small_layers_stay_whole():
    from microdl.runtime import parallel
    from microdl.runtime.ops import Node
    node = Node("fully_connected_s8_fast", dict(batches=1, accum_depth=128,
                                                output_depth=128), [0] * 7, 1)
    assert parallel.split_rows(node, 2) == [node]  # 16k MACs
    node = Node("fully_connected_s8_fast", dict(batches=1000, accum_depth=1000,
                                                output_depth=8), [0] * 7, 1)
    assert parallel.split_rows(node, 2) == [node]  # one block of channels


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference-kernel"])
def test_fc_exact_ties_match_litert(reference, monkeypatch):
    """Products exactly halfway between integers (input scale 0.5, weight scales 1 and
    0.5, output scale 1: real multipliers 0.5 and 0.25 in exact binary) on both
    kernels, against LiteRT (the fast form's s32-requant-f64 and the reference
    kernel's requantize_float64 must round them away from zero)."""
    if reference:
        monkeypatch.setenv("MICRODL_REFERENCE_KERNELS", "1")
    else:
        monkeypatch.delenv("MICRODL_REFERENCE_KERNELS", raising=False)
    rng = np.random.default_rng(5)
    units, depth = 11, 2
    w = random_int(rng, (units, depth))
    w_scales = np.where(np.arange(units) % 2, 1.0, 0.5)
    model = op_model("FULLY_CONNECTED",
                     [spec((4, depth), scale=0.5, zero_point=0),
                      spec((units, depth), data=w, scales=w_scales)],
                     [spec((4, units), scale=1.0, zero_point=0)],
                     {"fused_activation_function": 0}, version=12)
    x = rng.integers(-3, 4, (4, depth)).astype(np.int8)
    acc = x.astype(np.int64) @ w.astype(np.int64).T
    assert np.any(acc % 2 == 1)  # ties under the 0.5 multiplier
    assert_same_as_litert(model, [x])
