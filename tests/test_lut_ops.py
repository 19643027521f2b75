"""int8 EXP, LOG, GELU (lookup tables of the float32 function, LUTPopulate), ABS and NEG
(tables of LiteRT's integer kernels) against LiteRT's reference kernels over all 256
input values and random quantizations, plus an independent float64 numpy oracle
within one output step, the overflow and non-finite cases, and the refusals."""
import math

import numpy as np
import pytest

from microdl import Interpreter
from microdl.core.errors import UnsupportedOpError
from microdl.runtime.ops.activations import LUT_INPUTS
from tests.oplib import assert_same_as_litert, op_model, run_microdl, spec

F32 = np.float32
ALL = LUT_INPUTS.astype(np.int8)  # every int8 value once


def model(name, in_q, out_q, shape=(256,), options=None):
    return op_model(name, [spec(shape, np.int8, scale=in_q[0], zero_point=in_q[1])],
                    [spec(shape, np.int8, scale=out_q[0], zero_point=out_q[1])], options)


def quantizations(rng, n, name):
    for _ in range(n):
        in_s = float(F32(10 ** rng.uniform(-2.5, -0.3)))
        out_s = float(F32(10 ** rng.uniform(-2.5, 0.5)))
        yield (in_s, int(rng.integers(-128, 128))), (out_s, int(rng.integers(-128, 128)))


FUNCS = {"EXP": np.exp, "LOG": np.log,
         "GELU": lambda v: 0.5 * v * (1 + np.vectorize(math.erf)(v / math.sqrt(2)))}


@pytest.mark.parametrize("name", ["EXP", "LOG", "GELU"])
def test_every_input_matches_litert(name):
    rng = np.random.default_rng(len(name))
    for in_q, out_q in quantizations(rng, 25, name):
        assert_same_as_litert(model(name, in_q, out_q), [ALL])


@pytest.mark.parametrize("name", ["EXP", "LOG", "GELU"])
def test_within_one_step_of_float64(name):
    """Where the float64 result is finite and inside the output range, microdl's
    output is within one quantization step of it (an oracle that is not LiteRT)."""
    rng = np.random.default_rng(7 + len(name))
    for in_q, out_q in quantizations(rng, 10, name):
        got, = run_microdl(model(name, in_q, out_q), [ALL])
        with np.errstate(all="ignore"):
            real = FUNCS[name](in_q[0] * (ALL.astype(np.float64) - in_q[1]))
            q = real / out_q[0] + out_q[1]
        ok = np.isfinite(q) & (q > -127.5) & (q < 126.5)
        assert np.all(np.abs(got[ok] - q[ok]) <= 1.0)


def test_exp_saturates_and_log_of_non_positive_is_the_minimum():
    # exp(0.25 * 127) / 0.01 overflows int32: LiteRT (and microdl) give 127.
    got, = run_microdl(model("EXP", (0.25, 0), (0.01, 0)), [ALL])
    assert got[ALL == 127] == 127 and got[ALL == 100] == 127
    assert_same_as_litert(model("EXP", (0.25, 0), (0.01, 0)), [ALL])
    # log(0) = -inf and log(x < 0) = NaN both give -128.
    got, = run_microdl(model("LOG", (0.1, 0), (0.05, 0)), [ALL])
    assert np.all(got[ALL <= 0] == -128)
    assert_same_as_litert(model("LOG", (0.1, 0), (0.05, 0)), [ALL])


def test_shapes_and_refusals():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (2, 5, 7)).astype(np.int8)
    assert_same_as_litert(model("GELU", (0.05, -3), (0.04, 10), shape=x.shape), [x])
    with pytest.raises(UnsupportedOpError, match="approximate"):
        Interpreter(model_content=model("GELU", (0.05, 0), (0.05, 0),
                                        options={"approximate": True}))
    m = op_model("EXP", [spec((4,), np.int16, scale=0.01)], [spec((4,), np.int16, scale=0.01)])
    with pytest.raises(UnsupportedOpError, match="int16"):
        Interpreter(model_content=m)


@pytest.mark.parametrize("name", ["ABS", "NEG"])
def test_abs_and_neg_match_litert_on_every_input(name):
    rng = np.random.default_rng(20 + len(name))
    for in_q, out_q in quantizations(rng, 25, name):
        # ABS: output scales around the input's (ratios 0.3-3), where LiteRT runs.
        out_q = (float(F32(in_q[0] * 10 ** rng.uniform(-0.5, 0.5))), out_q[1])
        assert_same_as_litert(model(name, in_q, out_q), [ALL])
    got, = run_microdl(model("NEG", (0.1, 0), (0.1, 0)), [ALL])
    np.testing.assert_array_equal(got, (-ALL.astype(np.int64)).astype(np.int8))  # wraps
    got, = run_microdl(model("ABS", (0.1, -5), (0.1, -5)), [ALL])
    np.testing.assert_array_equal(got, np.clip(np.abs(ALL.astype(np.int64) + 5) - 5,
                                               -128, 127))
