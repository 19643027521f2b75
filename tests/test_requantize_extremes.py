"""Requantized accumulators at the ends of the int32 range: TFLite's int32 arithmetic
wraps (the accumulation, the left shift of MultiplyByQuantizedMultiplier, `+
output_zero_point`), so accumulators near INT32_MAX do not saturate to the maximum.  microdl adds with mdl_add_wrap (no signed overflow, whatever
the compiler flags) and must give LiteRT's answer, in its fast and its reference
kernels."""
import numpy as np
import pytest

from microdl import Interpreter
from microdl.interpreter import OpResolverType
from tests.oplib import run_litert, spec, op_model

I32_MAX = 2**31 - 1


def _run(model, x, resolver):
    it = Interpreter(model_content=model, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def _conv(kind, bias, out_zp, channels=1):
    x = spec((1, 2, 2, channels), np.int8, scale=0.5, zero_point=-3)
    out = spec((1, 2, 2, channels), np.int8, scale=0.25, zero_point=out_zp)
    b = spec((channels,), np.int32, scale=0.25, zero_point=0,
             data=np.full(channels, bias, np.int32))
    if kind == "FULLY_CONNECTED":
        x = spec((2, channels), np.int8, scale=0.5, zero_point=-3)
        w = spec((channels, channels), np.int8, scale=0.5, data=np.eye(channels, dtype=np.int8))
        out = spec((2, channels), np.int8, scale=0.25, zero_point=out_zp)
        return op_model(kind, [x, w, b], [out], {}), (2, channels)
    opts = {"padding": 1, "stride_w": 1, "stride_h": 1}
    if kind == "DEPTHWISE_CONV_2D":  # filter [1, 1, 1, C] of ones
        opts["depth_multiplier"] = 1
        w = spec((1, 1, 1, channels), np.int8, scale=0.5,
                 data=np.ones((1, 1, 1, channels), np.int8))
    else:  # OHWI identity
        w = spec((channels, 1, 1, channels), np.int8, scale=0.5,
                 data=np.eye(channels, dtype=np.int8).reshape(channels, 1, 1, channels))
    return op_model(kind, [x, w, b], [out], opts), (1, 2, 2, channels)


@pytest.mark.parametrize("kind", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
@pytest.mark.parametrize("bias,out_zp", [(I32_MAX - 20, 100), (I32_MAX - 200, 100),
                                         (-I32_MAX + 5, -100), (I32_MAX, 127)])
@pytest.mark.parametrize("channels", [1, 16])
def test_accumulators_at_the_int32_ends_match_litert(kind, bias, out_zp, channels):
    # multiplier = 0.5 * 0.5 / 0.25 = 1: the requantized accumulator is the bias (plus
    # the input, held at its zero point here, or one step above it).
    model, shape = _conv(kind, bias, out_zp, channels)
    rng = np.random.default_rng(channels)
    x = (rng.integers(0, 2, shape) - 3).astype(np.int8)
    want, = run_litert(model, [x])
    for resolver in (OpResolverType.AUTO, OpResolverType.BUILTIN_REF):
        np.testing.assert_array_equal(_run(model, x, resolver), want)
    # Where bias + zero point leaves int32, the cases do reach the wrapping: a
    # saturating runtime would answer the maximum (minimum) everywhere.
    if not -2**31 <= bias + out_zp <= I32_MAX:
        assert not np.all(want == (127 if bias > 0 else -128))


@pytest.mark.parametrize("out_zp", [-100, 0, 50, 127])
@pytest.mark.parametrize("sign", [1, -1])
def test_fully_connected_products_beyond_int32_match_litert(out_zp, sign):
    """acc * scale beyond int32 (scale 1e5): LiteRT casts std::round's double to int32
    (INT32_MIN on x86-64 for either sign, saturation on ARM), then adds the zero point
    in int32; microdl converts as the target does (mdl_f64_out_of_range_i32)."""
    x = spec((1, 4), np.int8, scale=1.0, zero_point=0)
    w = spec((2, 4), np.int8, scale=1.0, data=np.full((2, 4), 100 * sign, np.int8))
    b = spec((2,), np.int32, scale=1.0, data=np.array([0, 5], np.int32))
    model = op_model("FULLY_CONNECTED", [x, w, b],
                     [spec((1, 2), np.int8, scale=1e-5, zero_point=out_zp)], {})
    xi = np.full((1, 4), 100, np.int8)
    want, = run_litert(model, [xi])
    for resolver in (OpResolverType.AUTO, OpResolverType.BUILTIN_REF):
        np.testing.assert_array_equal(_run(model, xi, resolver), want)
