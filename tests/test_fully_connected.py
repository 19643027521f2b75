"""FULLY_CONNECTED int8 against LiteRT's reference kernels and a numpy reference."""
import numpy as np
import pytest

from microdl.core.fixedpoint import ROUNDING_DOUBLE, ROUNDING_SINGLE, quantize_multiplier, requantize_r
from tests.oplib import assert_same_as_litert, op_model, random_int, run_microdl, spec


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
