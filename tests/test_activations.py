"""SOFTMAX, LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU, RELU6, RELU_N1_TO_1 against
LiteRT's reference kernels and the numpy reference (microdl/reference/activations.py).

LiteRT 2.3's activation kernels requantize with double rounding whatever microdl's
rounding mode, so both modes must give LiteRT's result (SOFTMAX's mode-dependent
details never show in the output; both are checked too)."""
import numpy as np
import pytest

from microdl.core.errors import UnsupportedOpError
from microdl.reference import activations as ref
from tests.oplib import (assert_same_as_litert, op_model, random_int, run_litert,
                         run_microdl, spec)

F32 = np.float32
ELEMENTWISE = ["LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6",
               "RELU_N1_TO_1"]
FULL_RANGE = np.arange(-128, 128, dtype=np.int8)


def _quant(rng, name, saturating=False):
    """(in_scale, in_zp, out_scale, out_zp, options) LiteRT accepts for op `name`."""
    in_s = float(F32(10 ** rng.uniform(-3, 1)))
    in_zp = int(rng.integers(-128, 128))
    spread = 3.0 if saturating else 1.2
    out_s = float(F32(in_s * 10 ** rng.uniform(-spread, spread)))
    out_zp = int(rng.integers(-128, 128))
    options = {}
    if name == "LOGISTIC":
        out_s = 1.0 / 256
    elif name == "TANH" and rng.random() < 0.5:
        out_s, out_zp = 1.0 / 128, 0
    elif name == "HARD_SWISH":
        out_s = max(out_s, float(F32(in_s / 100)))  # output exponent <= 0
    elif name == "LEAKY_RELU":
        options["alpha"] = float(F32(rng.choice(
            [0.01, 0.1, 0.2, 0.3, 0.5, 1.5, -0.4, rng.uniform(0, 1)])))
    return in_s, in_zp, out_s, out_zp, options


def _model(name, shape, in_s, in_zp, out_s, out_zp, options, dtype=np.int8):
    return op_model(name, [spec(shape, dtype, scale=in_s, zero_point=in_zp)],
                    [spec(shape, dtype, scale=out_s, zero_point=out_zp)], options)


def _reference(name, x, in_s, in_zp, out_s, out_zp, options):
    r = ref.ROUNDING_DOUBLE
    if name == "LOGISTIC":
        return ref.logistic_s8(x, in_s, in_zp, out_s, out_zp)
    if name == "TANH":
        return ref.tanh_s8(x, in_s, in_zp, out_s, out_zp)
    if name == "HARD_SWISH":
        return ref.hard_swish_s8(x, in_s, in_zp, out_s, out_zp)
    if name == "LEAKY_RELU":
        return ref.leaky_relu(x, in_s, in_zp, out_s, out_zp, options["alpha"], r)
    lo, hi = {"RELU": (0.0, None), "RELU6": (0.0, 6.0),
              "RELU_N1_TO_1": (-1.0, 1.0)}[name]
    return ref.relu_x(x, in_s, in_zp, out_s, out_zp, lo, hi, r)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("seed", range(4))
def test_elementwise_matches_litert(name, seed):
    """Every int8 input value, random quantization (incl. saturating scale ratios),
    both rounding modes, a 4-D shape."""
    rng = np.random.default_rng(1000 * seed + ELEMENTWISE.index(name))
    for k in range(6):
        q = _quant(rng, name, saturating=k >= 4)
        model = _model(name, (1, 2, 4, 32), *q)
        x = rng.permutation(FULL_RANGE).reshape(1, 2, 4, 32)
        want, = run_litert(model, [x])
        for rounding in ("single", "double"):
            got, = run_microdl(model, [x], rounding=rounding)
            np.testing.assert_array_equal(got, want, err_msg=f"{name} {q} {rounding}")
        np.testing.assert_array_equal(_reference(name, x, *q), want)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_matches_reference_random_shapes(name):
    rng = np.random.default_rng(7 + ELEMENTWISE.index(name))
    for shape in [(1,), (3, 5), (2, 3, 4, 5), (1, 1, 1, 1, 7)]:
        q = _quant(rng, name)
        x = random_int(rng, shape)
        got, = run_microdl(_model(name, shape, *q), [x])
        np.testing.assert_array_equal(got, _reference(name, x, *q))


def test_extreme_scales():
    """Huge and tiny scales: outputs saturate at the int8 limits like LiteRT's."""
    cases = [("LOGISTIC", 100.0, 0, 1 / 256, -128, {}),
             ("TANH", 1e-5, 3, 1 / 128, 0, {}),
             ("TANH", 50.0, -7, 1e-3, 10, {}),
             ("RELU", 1.0, -128, 1e-3, -128, {}),
             ("RELU6", 0.5, 0, 1e-2, -100, {}),
             ("RELU6", 1e-4, 0, 10.0, 5, {}),
             ("LEAKY_RELU", 2.0, 127, 1e-3, 0, {"alpha": 0.3}),
             ("LEAKY_RELU", 0.1, 0, 0.1, 0, {"alpha": 0.0}),
             ("HARD_SWISH", 1.0, 0, 1.0 / 64, 0, {}),
             ("HARD_SWISH", 1e-3, -20, 10.0, 30, {}),  # exponent < -16 (int16 RDBPOT)
             ("RELU_N1_TO_1", 0.01, 0, 1e-3, 0, {})]
    for name, in_s, in_zp, out_s, out_zp, options in cases:
        q = (float(F32(in_s)), in_zp, float(F32(out_s)), out_zp, options)
        model = _model(name, (256,), *q)
        assert_same_as_litert(model, [FULL_RANGE])
        np.testing.assert_array_equal(_reference(name, FULL_RANGE, *q),
                                      run_litert(model, [FULL_RANGE])[0])


@pytest.mark.parametrize("name", ["RELU", "RELU6", "LEAKY_RELU"])
def test_int16_matches_litert_and_reference(name):
    rng = np.random.default_rng(["RELU", "RELU6", "LEAKY_RELU"].index(name))
    for _ in range(6):
        in_s = float(F32(10 ** rng.uniform(-5, -2)))
        out_s = float(F32(in_s * 10 ** rng.uniform(-1, 1)))
        options = {}
        if name == "LEAKY_RELU":
            options["alpha"] = float(F32(rng.uniform(-0.5, 1.5)))
        model = _model(name, (4, 300), in_s, 0, out_s, 0, options, np.int16)
        x = random_int(rng, (4, 300), np.int16)
        x[0, :4] = [-32768, 32767, 0, -1]
        want, = run_litert(model, [x])
        for rounding in ("single", "double"):
            np.testing.assert_array_equal(run_microdl(model, [x], rounding=rounding)[0],
                                          want)
        if name == "LEAKY_RELU":
            r = ref.leaky_relu(x, in_s, 0, out_s, 0, options["alpha"],
                               ref.ROUNDING_DOUBLE)
        else:
            r = ref.relu_x(x, in_s, 0, out_s, 0, 0.0, 6.0 if name == "RELU6" else None,
                           ref.ROUNDING_DOUBLE)
        np.testing.assert_array_equal(r, want)


SOFTMAX_CASES = [(depth, beta) for depth in (1, 2, 7, 12, 33, 1000)
                 for beta in (1.0, 0.5, 2.0, 0.25)]


@pytest.mark.parametrize("depth,beta", SOFTMAX_CASES)
def test_softmax_matches_litert(depth, beta):
    rng = np.random.default_rng(depth * 10 + int(beta * 4))
    for k in range(3):
        in_s = float(F32(10 ** rng.uniform(-2.5, 0.7)))
        if depth == 1000:  # LiteRT aborts when a row's exps sum to more than 512
            in_s = max(in_s, float(F32(0.06 / beta)))
        in_zp = int(rng.integers(-128, 128))
        shape = (2, depth) if k < 2 else (1, 2, 1, depth)
        model = op_model("SOFTMAX", [spec(shape, scale=in_s, zero_point=in_zp)],
                         [spec(shape, scale=1 / 256, zero_point=-128)], {"beta": beta})
        x = random_int(rng, shape)
        if k == 1 and depth < 100:  # near-equal values: many exps near 1
            x = rng.integers(120, 128, shape).astype(np.int8)
        for rounding in ("single", "double"):
            assert_same_as_litert(model, [x], rounding=rounding)
        if depth <= 33 or k == 0:
            want, = run_litert(model, [x])
            for r in (ref.ROUNDING_SINGLE, ref.ROUNDING_DOUBLE):
                np.testing.assert_array_equal(ref.softmax_s8(x, in_s, beta, r), want)


@pytest.mark.parametrize("depth", [1, 2, 10, 300])
def test_softmax_int16_output_matches_litert(depth):
    """int8 -> int16 (scale 1/65536, zero point -32768), as in keyword_scrambled."""
    rng = np.random.default_rng(depth)
    for k in range(3):
        in_s = float(F32(10 ** rng.uniform(-2, 0)))
        beta = float(F32(rng.choice([1.0, 0.5, 1.7])))
        shape = (3, depth)
        model = op_model("SOFTMAX", [spec(shape, scale=in_s, zero_point=2)],
                         [spec(shape, np.int16, scale=1 / 65536, zero_point=-32768)],
                         {"beta": beta})
        x = random_int(rng, shape)
        want, = run_litert(model, [x])
        for rounding in ("single", "double"):
            np.testing.assert_array_equal(run_microdl(model, [x], rounding=rounding)[0],
                                          want)
        np.testing.assert_array_equal(
            ref.softmax_s8(x, in_s, beta, ref.ROUNDING_DOUBLE, np.int16), want)


def test_softmax_odd_betas_and_scales():
    rng = np.random.default_rng(5)
    for beta, in_s in [(0.1, 0.05), (3.7, 0.01), (1.0, 20.0), (1.0, 300.0),
                       (1e-6, 100.0), (1.0, 1e-4)]:
        shape = (3, 17)
        model = op_model("SOFTMAX", [spec(shape, scale=in_s, zero_point=0)],
                         [spec(shape, scale=1 / 256, zero_point=-128)],
                         {"beta": float(F32(beta))})
        x = random_int(rng, shape)
        x[:, :3] = 100  # ties at the maximum
        for rounding in ("single", "double"):
            assert_same_as_litert(model, [x], rounding=rounding)


def test_softmax_wide_rows_do_not_crash():
    """Rows whose exps sum to more than 512 make LiteRT abort (TFLITE_CHECK on the
    output exponent); microdl outputs the rounded quotient, -128."""
    shape = (2, 4096)
    model = op_model("SOFTMAX", [spec(shape, scale=0.001, zero_point=0)],
                     [spec(shape, scale=1 / 256, zero_point=-128)], {"beta": 1.0})
    x = np.full(shape, 5, np.int8)
    x[1] = np.arange(4096) % 256 - 128
    got, = run_microdl(model, [x])
    assert np.all(got == -128)


@pytest.mark.parametrize("name,in_dtype,out_q,options", [
    ("LOGISTIC", np.int8, (1 / 128, -128), {}),          # output scale must be 1/256
    ("LOGISTIC", np.int16, (1 / 32768, 0), {}),           # int16 not implemented
    ("TANH", np.uint8, (1 / 128, 128), {}),
    ("SOFTMAX", np.int8, (1 / 256, 0), {"beta": 1.0}),    # zero point must be -128
    ("SOFTMAX", np.int8, (1 / 128, -128), {"beta": 1.0}),
    ("SOFTMAX", np.int8, (1 / 256, -128), {"beta": 0.0}),
    ("SOFTMAX", np.int8, (1 / 256, -128), {"beta": 1e-9}),  # multiplier <= 1
    ("SOFTMAX", np.int16, (1 / 32768, 0), {"beta": 1.0}),   # int16 input
    ("HARD_SWISH", np.int8, (1e-4, 0), {}),               # output exponent > 0
    ("RELU", np.int16, (0.01, 3), {}),                    # int16 needs zero point 0
    ("RELU_N1_TO_1", np.int16, (0.01, 0), {}),
])
def test_unsupported(name, in_dtype, out_q, options):
    shape = (2, 8)
    model = op_model(name, [spec(shape, in_dtype, scale=0.05, zero_point=0)],
                     [spec(shape, in_dtype, scale=out_q[0], zero_point=out_q[1])],
                     options)
    with pytest.raises(UnsupportedOpError):
        run_microdl(model, [np.zeros(shape, in_dtype)])


def test_unsupported_version_and_per_channel():
    shape = (2, 8)
    model = op_model("RELU", [spec(shape, scale=0.05)], [spec(shape, scale=0.05)],
                     version=9)
    with pytest.raises(UnsupportedOpError):
        run_microdl(model, [np.zeros(shape, np.int8)])
    model = op_model("TANH", [spec(shape, scales=[0.1, 0.2], quantized_dimension=0)],
                     [spec(shape, scale=1 / 128)])
    with pytest.raises(UnsupportedOpError):
        run_microdl(model, [np.zeros(shape, np.int8)])


def test_unsupported_softmax_int16_output_quantization():
    shape = (2, 8)
    for scale, zp in [(1 / 65536, 0), (1 / 256, -32768)]:
        model = op_model("SOFTMAX", [spec(shape, scale=0.05)],
                         [spec(shape, np.int16, scale=scale, zero_point=zp)],
                         {"beta": 1.0})
        with pytest.raises(UnsupportedOpError):
            run_microdl(model, [np.zeros(shape, np.int8)])
