"""ADD, SUB, MUL (int8, int16; broadcasting) against LiteRT's reference kernels and the
numpy reference (microdl.reference.elementwise)."""
import zlib

import numpy as np
import pytest

from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.fixedpoint import ROUNDING_SINGLE
from microdl.reference import elementwise as ref
from tests.oplib import (assert_same_as_litert, op_model, random_int, run_litert,
                         run_microdl, spec)

OPS = ["ADD", "SUB", "MUL"]


def seed(*key):
    return zlib.crc32(repr(key).encode())
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3


def act_range(act, scale, zp, dtype):
    """Fused activation clamp in output units (independent of the runtime's helper)."""
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)

    def q(v):
        r = np.float32(v) / np.float32(scale)
        return zp + int(np.sign(r) * np.floor(np.abs(r) + np.float32(0.5)))

    if act == ACT_RELU:
        return max(lo, q(0.0)), hi
    if act == ACT_RELU6:
        return max(lo, q(0.0)), min(hi, q(6.0))
    if act == ACT_RELU_N1_TO_1:
        return max(lo, q(-1.0)), min(hi, q(1.0))
    return lo, hi


def reference(op, x1, x2, q, act, dtype, float32_product=True):
    (s1, z1), (s2, z2), (so, zo) = q
    lo, hi = act_range(act, so, zo, dtype)
    if op == "MUL":
        return ref.mul(x1, x2, s1, z1, s2, z2, so, zo, lo, hi,
                       float32_product=float32_product)
    return ref.add(x1, x2, s1, z1, s2, z2, so, zo, lo, hi, subtract=op == "SUB")


def random_quant(rng, op, dtype, extreme=False):
    """((scale, zp) x 3) that keeps the output multiplier in TFLite's valid range."""
    s1, s2 = rng.uniform(0.005, 0.2, 2)
    if op == "MUL":
        so = s1 * s2 * rng.uniform(0.5, 300)
    else:
        so = max(s1, s2) * rng.uniform(0.6, 4)
    if dtype == np.int16:
        zps = [0, 0, 0]
    elif extreme:
        zps = [int(rng.choice([-128, 127])) for _ in range(3)]
    else:
        zps = [int(z) for z in rng.integers(-128, 128, 3)]
    return [(float(s1), zps[0]), (float(s2), zps[1]), (float(so), zps[2])]


def make_model(op, shape1, shape2, q, act=0, dtype=np.int8, const2=None, version=None):
    out_shape = np.broadcast_shapes(shape1, shape2)
    inputs = [spec(shape1, dtype, scale=q[0][0], zero_point=q[0][1]),
              spec(shape2, dtype, scale=q[1][0], zero_point=q[1][1], data=const2)]
    options = {"fused_activation_function": act}
    if op != "MUL":
        options["pot_scale_int16"] = False
    if version is None:
        version = 2 if dtype == np.int8 else 3
    return op_model(op, inputs, [spec(out_shape, dtype, scale=q[2][0], zero_point=q[2][1])],
                    options, version=version)


def check(op, shape1, shape2, q, act, rng, dtype=np.int8, const2=False):
    x1 = random_int(rng, shape1, dtype)
    x2 = random_int(rng, shape2, dtype)
    model = make_model(op, shape1, shape2, q, act, dtype, const2=x2 if const2 else None)
    inputs = [x1] if const2 else [x1, x2]
    assert_same_as_litert(model, inputs)
    got, = run_microdl(model, inputs)
    np.testing.assert_array_equal(got, reference(op, x1, x2, q, act, dtype))


OUT4 = (2, 3, 5, 7)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dim", range(4))
@pytest.mark.parametrize("which", [1, 2])
def test_broadcast_along_each_dim(op, dim, which):
    rng = np.random.default_rng(100 * dim + 10 * which + OPS.index(op))
    small = tuple(1 if d == dim else n for d, n in enumerate(OUT4))
    shapes = (small, OUT4) if which == 1 else (OUT4, small)
    check(op, *shapes, random_quant(rng, op, np.int8), ACT_NONE, rng)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shapes", [
    ((2, 3, 5, 7), (2, 3, 5, 7)),      # same shape (fast path)
    ((2, 3, 5, 7), (7,)),              # channel vector, lower rank
    ((1,), (2, 3, 5, 7)),              # scalar first
    ((2, 3, 5, 7), ()),                # rank-0 scalar
    ((2, 1, 5, 1), (1, 3, 1, 7)),      # both broadcast
    ((4, 1, 6), (3, 1)),               # rank 3, mixed
    ((2, 1, 3, 1, 2), (1, 2, 1, 4, 1)),        # rank 5
    ((2, 1, 2, 1, 3, 1), (1, 3, 1, 2, 1, 2)),  # rank 6, alternating: no merging
    ((9,), (9,)),
])
def test_broadcast_shapes(op, shapes):
    rng = np.random.default_rng(seed(op, shapes))
    check(op, *shapes, random_quant(rng, op, np.int8), ACT_NONE, rng)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("channels", [1, 3, 7, 17, 33])
def test_channels_extreme_zero_points_and_activations(op, channels):
    rng = np.random.default_rng(channels + 50 * OPS.index(op))
    for act in (ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1):
        q = random_quant(rng, op, np.int8, extreme=True)
        check(op, (1, 3, 4, channels), (1, 1, 1, channels), q, act, rng)
        check(op, (2, 5, channels), (2, 5, channels), q, act, rng)


@pytest.mark.parametrize("op", OPS)
def test_random_shapes(op):
    rng = np.random.default_rng(7 + OPS.index(op))
    for _ in range(25):
        rank = int(rng.integers(1, 5))
        out = tuple(int(v) for v in rng.integers(1, 7, rank))
        s1 = tuple(d if rng.random() < 0.6 else 1 for d in out)
        s2 = tuple(d if rng.random() < 0.6 else 1 for d in out)
        if rng.random() < 0.3:
            s2 = s2[int(rng.integers(0, rank + 1)):]
        act = int(rng.choice([ACT_NONE, ACT_RELU, ACT_RELU6]))
        check(op, s1, s2, random_quant(rng, op, np.int8), act, rng)


@pytest.mark.parametrize("op", OPS)
def test_constant_operand(op):
    rng = np.random.default_rng(11 + OPS.index(op))
    check(op, (1, 4, 4, 17), (17,), random_quant(rng, op, np.int8), ACT_NONE, rng,
          const2=True)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shapes", [((2, 6, 9), (2, 6, 9)), ((2, 6, 9), (9,)),
                                    ((1, 2, 3, 8), (1, 2, 1, 1))])
def test_int16(op, shapes):
    rng = np.random.default_rng(seed(op, "s16", shapes))
    for act in (ACT_NONE, ACT_RELU):
        check(op, *shapes, random_quant(rng, op, np.int16), act, rng, dtype=np.int16)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_double_rounding_like_litert(op, dtype):
    """LiteRT 2.3 requantizes these ops with double rounding: the reference with single
    rounding must disagree with LiteRT on this data while the double one (and
    microdl) agree, so the test can tell the two apart."""
    rng = np.random.default_rng(31 + OPS.index(op))
    single_differs = False
    for _ in range(4):
        q = random_quant(rng, op, dtype)
        # Scales in power-of-two ratios make exact halves (ties) common.
        (s1, z1), (s2, z2), (so, zo) = q
        so = s1 * s1 * 2.0 ** int(rng.integers(2, 7)) if op == "MUL" else 2 * s1
        q = [(s1, z1), (s1, z2), (so, zo)]
        shape = (64, 16)
        x1, x2 = random_int(rng, shape, dtype), random_int(rng, shape, dtype)
        model = make_model(op, shape, shape, q, dtype=dtype)
        want, = run_litert(model, [x1, x2])
        got, = run_microdl(model, [x1, x2])
        np.testing.assert_array_equal(got, want)
        (s1, z1), (s2, z2), (so, zo) = q
        if op == "MUL":
            single = ref.mul(x1, x2, s1, z1, s2, z2, so, zo, rounding=ROUNDING_SINGLE)
        else:
            single = ref.add(x1, x2, s1, z1, s2, z2, so, zo, subtract=op == "SUB",
                             rounding=ROUNDING_SINGLE)
        single_differs |= not np.array_equal(single, want)
    assert single_differs


def test_mul_multiplier_float32_like_litert():
    """LiteRT's mul.cc forms scale1 * scale2 / out_scale in float32; pick inputs where
    that and the double product requantize differently."""
    rng = np.random.default_rng(5)
    vals = np.arange(-128, 128).astype(np.int8)
    A, B = np.meshgrid(vals, vals, indexing="ij")
    found = 0
    for _ in range(200):
        q = random_quant(rng, "MUL", np.int8)
        (s1, z1), (s2, z2), (so, zo) = q
        f32 = ref.mul(A, B, s1, z1, s2, z2, so, zo, float32_product=True)
        f64 = ref.mul(A, B, s1, z1, s2, z2, so, zo, float32_product=False)
        idx = np.argwhere(f32 != f64)
        if len(idx) == 0:
            continue
        a, b = A[tuple(idx.T)], B[tuple(idx.T)]
        model = make_model("MUL", a.shape, b.shape, q)
        want, = run_litert(model, [a, b])
        np.testing.assert_array_equal(want, f32[tuple(idx.T)])
        np.testing.assert_array_equal(run_microdl(model, [a, b])[0], want)
        # TFLite Micro (rounding="double") forms it in double.
        np.testing.assert_array_equal(run_microdl(model, [a, b], rounding="double")[0],
                                      f64[tuple(idx.T)])
        found += 1
        if found == 3:
            break
    assert found == 3


@pytest.mark.parametrize("op", ["ADD", "SUB"])
def test_add_sub_tflm_mode_matches_reference(op):
    rng = np.random.default_rng(77)
    q = random_quant(rng, op, np.int8)
    x1, x2 = random_int(rng, (3, 10, 7)), random_int(rng, (10, 1))
    model = make_model(op, x1.shape, x2.shape, q, ACT_RELU)
    got, = run_microdl(model, [x1, x2], rounding="double")
    np.testing.assert_array_equal(got, reference(op, x1, x2, q, ACT_RELU, np.int8))


# --------------------------------------------------------------- rejections
def unsupported(model, inputs):
    with pytest.raises(UnsupportedOpError):
        run_microdl(model, inputs)


def test_int16_nonzero_zero_point_unsupported():
    q = [(0.01, 3), (0.02, 0), (0.03, 0)]
    x = np.zeros((4,), np.int16)
    for op in OPS:
        unsupported(make_model(op, (4,), (4,), q, dtype=np.int16), [x, x])


def test_int16_pot_path_unsupported():
    q = [(2.0 ** -10, 0), (2.0 ** -9, 0), (2.0 ** -8, 0)]
    model = op_model("ADD", [spec((4,), np.int16, scale=s, zero_point=0) for s, _ in q[:2]],
                     [spec((4,), np.int16, scale=q[2][0], zero_point=0)],
                     {"pot_scale_int16": True}, version=3)
    x = np.zeros((4,), np.int16)
    unsupported(model, [x, x])


@pytest.mark.parametrize("op", ["ADD", "SUB"])
def test_output_multiplier_too_large_unsupported(op):
    q = [(1.0, 0), (1.0, 0), (1e-8, 0)]
    x = np.zeros((4,), np.int8)
    unsupported(make_model(op, (4,), (4,), q), [x, x])


def test_other_dtypes_and_versions_unsupported():
    x = np.zeros((4,), np.uint8)
    model = op_model("ADD", [spec((4,), np.uint8, scale=0.1, zero_point=128)] * 2,
                     [spec((4,), np.uint8, scale=0.2, zero_point=128)], {}, version=1)
    unsupported(model, [x, x])
    q = [(0.1, 0), (0.1, 0), (0.2, 0)]
    x = np.zeros((4,), np.int8)
    unsupported(make_model("ADD", (4,), (4,), q, version=6), [x, x])


def test_per_channel_unsupported():
    model = op_model("MUL", [spec((1, 2), scales=[0.1, 0.2], quantized_dimension=1),
                             spec((1, 2), scale=0.1)], [spec((1, 2), scale=0.1)], {},
                     version=2)
    x = np.zeros((1, 2), np.int8)
    unsupported(model, [x, x])


def test_bad_shapes_are_model_errors():
    model = op_model("ADD", [spec((2, 3), scale=0.1), spec((2, 4), scale=0.1)],
                     [spec((2, 4), scale=0.2)], {}, version=2)
    with pytest.raises(ModelError):
        run_microdl(model, [np.zeros((2, 3), np.int8), np.zeros((2, 4), np.int8)])
    model = op_model("SUB", [spec((2, 3), scale=0.1), spec((3,), scale=0.1)],
                     [spec((3, 3), scale=0.2)], {}, version=2)
    with pytest.raises(ModelError):
        run_microdl(model, [np.zeros((2, 3), np.int8), np.zeros((3,), np.int8)])


def test_rank7_broadcast_unsupported_but_same_shape_runs():
    q = [(0.1, 0), (0.1, 0), (0.2, 0)]
    s1, s2 = (2, 1, 2, 1, 2, 1, 2), (1, 2, 1, 2, 1, 2, 1)
    unsupported(make_model("ADD", s1, s2, q), [np.zeros(s1, np.int8), np.zeros(s2, np.int8)])
    rng = np.random.default_rng(9)
    x1, x2 = random_int(rng, s1), random_int(rng, s1)
    got, = run_microdl(make_model("ADD", s1, s1, q), [x1, x2])
    np.testing.assert_array_equal(got, reference("ADD", x1, x2, q, ACT_NONE, np.int8))
