"""SQRT int8 / int16 against LiteRT's reference kernels (BUILTIN_REF) over every valid
input value, and against a float64 re-derivation; TFLite Micro has only float32 SQRT
(its elementwise.cc refuses int8 / int16), so LiteRT is the only integer oracle."""
import numpy as np
import pytest

from tests.oplib import op_model, run_litert, run_microdl, spec


def sqrt_model(shape, dtype, in_s, in_zp, out_s, out_zp):
    return op_model("SQRT", [spec(shape, dtype, in_s, in_zp)],
                    [spec(shape, dtype, out_s, out_zp)], {}, version=1)


def oracle(q, in_s, in_zp, out_s, out_zp, dtype):
    """float64 sqrt of the float32 real value, truncated (what LiteRT computes in
    float32; the float64 route differs only where float32 rounding crosses an
    integer, so it is compared with a tolerance of 1)."""
    info = np.iinfo(dtype)
    real = np.float64(np.float32(in_s)) * (q.astype(np.float64) - in_zp)
    return np.clip(out_zp + np.trunc(np.sqrt(real) / np.float64(np.float32(out_s))),
                   info.min, info.max)


@pytest.mark.parametrize("case", range(10))
def test_sqrt_int8_every_input(case):
    rng = np.random.default_rng(case)
    in_s, out_s = float(rng.uniform(0.001, 0.5)), float(rng.uniform(0.001, 0.3))
    in_zp, out_zp = int(rng.integers(-128, 100)), int(rng.integers(-128, 100))
    x = np.arange(in_zp, 128).astype(np.int8).reshape(1, -1)
    model = sqrt_model(x.shape, np.int8, in_s, in_zp, out_s, out_zp)
    want, = run_litert(model, [x])
    got, = run_microdl(model, [x])
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, want)
    assert np.abs(got.astype(int) - oracle(x, in_s, in_zp, out_s, out_zp, np.int8)).max() <= 1


@pytest.mark.parametrize("case", range(8))
def test_sqrt_int16_every_non_negative_input(case):
    rng = np.random.default_rng(50 + case)
    in_s, out_s = float(rng.uniform(1e-5, 1e-1)), float(rng.uniform(1e-5, 1e-2))
    in_zp = out_zp = 0  # LiteRT requires zero points 0 for int16
    x = np.arange(0, 32768).astype(np.int16).reshape(2, -1)
    model = sqrt_model(x.shape, np.int16, in_s, in_zp, out_s, out_zp)
    want, = run_litert(model, [x])
    got, = run_microdl(model, [x])
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, want)
    assert np.abs(got.astype(int) - oracle(x, in_s, in_zp, out_s, out_zp, np.int16)).max() <= 1


def test_sqrt_below_zero_point_reads_as_zero():
    # LiteRT fails at invoke here; microdl returns the output zero point
    x = np.array([[-100, -1, 0, 4]], np.int16)
    got, = run_microdl(sqrt_model(x.shape, np.int16, 1.0, 0, 1.0, 0), [x])
    np.testing.assert_array_equal(got, [[0, 0, 0, 2]])
    x8 = np.array([[-128, -50, 0, 9]], np.int8)
    got, = run_microdl(sqrt_model(x8.shape, np.int8, 1.0, 0, 1.0, -3), [x8])
    np.testing.assert_array_equal(got, [[-3, -3, -3, 0]])


def test_sqrt_refusals():
    from microdl import Interpreter
    from microdl.core.errors import ModelError

    mixed = op_model("SQRT", [spec((1, 4), np.int8, 0.1)], [spec((1, 4), np.int16, 0.1)],
                     {}, version=1)
    with pytest.raises(ModelError):
        Interpreter(model_content=mixed).allocate_tensors()
    wrong = op_model("SQRT", [spec((1, 4), np.int32, 0.1)], [spec((1, 4), np.int32, 0.1)],
                     {}, version=1)
    with pytest.raises(ModelError):
        Interpreter(model_content=wrong).allocate_tensors()
    zp16 = sqrt_model((1, 4), np.int16, 0.1, 3, 0.1, 0)
    with pytest.raises(ModelError, match="zero points 0"):
        Interpreter(model_content=zp16).allocate_tensors()
    with pytest.raises(RuntimeError, match="input_offset"):
        run_litert(zp16, [np.zeros((1, 4), np.int16)])  # LiteRT refuses it too
