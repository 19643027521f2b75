"""Comparisons, integer MINIMUM / MAXIMUM, SELECT / SELECT_V2 and the logical ops
(microdl.runtime.ops.compare) against LiteRT's reference kernels, and against numpy
where the op has no rescaling (a second oracle): int8 (with different input scales,
so the rescaling matters), int16, int32, float32 (with NaN) and bool, broadcast
shapes up to 5-D, graphs that chain them, and the refusals."""
import numpy as np
import pytest

from microdl import Interpreter
from microdl.core.errors import ModelError, UnsupportedOpError
from tests.oplib import (assert_same_as_litert, graph_model, op_model, random_int,
                         run_litert, run_microdl, spec)

BOOL = np.bool_
CMP = {"LESS": np.less, "LESS_EQUAL": np.less_equal, "GREATER": np.greater,
       "GREATER_EQUAL": np.greater_equal, "EQUAL": np.equal, "NOT_EQUAL": np.not_equal}


def rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        x = rng.integers(-4, 5, shape).astype(np.float32) / 2  # ties are common
        if x.size:
            x.flat[rng.integers(0, x.size)] = np.nan
        return x
    if dtype == BOOL:
        return rng.integers(0, 2, shape).astype(BOOL)
    if dtype == np.int8:
        return random_int(rng, shape)
    return rng.integers(-5, 6, shape).astype(dtype)  # many equal pairs


def broadcast_pair(rng):
    rank = int(rng.integers(1, 6))
    out = tuple(int(v) for v in rng.integers(1, 4, rank))
    a = tuple(d if rng.random() < 0.7 else 1 for d in out)
    b = tuple(d if rng.random() < 0.7 else 1 for d in out)[int(rng.integers(0, rank)):]
    return a, b or (1,), np.broadcast_shapes(a, b or (1,))


def qspec(shape, dtype, scale=None, zp=0):
    if np.dtype(dtype) == np.int8:
        return spec(shape, dtype, scale=scale or 0.05, zero_point=zp)
    if np.dtype(dtype) == np.int16:
        return spec(shape, dtype, scale=scale or 0.01)
    return spec(shape, dtype)


@pytest.mark.parametrize("name", list(CMP))
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32])
def test_comparisons(name, dtype):
    rng = np.random.default_rng(list(CMP).index(name) * 10 + [np.int8, np.int16, np.int32,
                                                               np.float32].index(dtype))
    for k in range(4):
        sa, sb, so = broadcast_pair(rng)
        a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
        if dtype == np.int8 and k % 2:  # different scales: the rescaling matters
            s1, s2, z1, z2 = 0.05, 0.1, int(rng.integers(-10, 10)), int(rng.integers(-10, 10))
        else:
            s1 = s2 = 0.05
            z1 = z2 = 3
        model = op_model(name, [qspec(sa, dtype, s1, z1), qspec(sb, dtype, s2, z2)],
                         [spec(so, BOOL)])
        assert_same_as_litert(model, [a, b])
        got, = run_microdl(model, [a, b])
        if dtype == np.int8:
            want = CMP[name](s1 * (a.astype(np.float64) - z1), s2 * (b.astype(np.float64) - z2))
            # Real-value comparison, except where the rescaled values tie within a step.
            close = np.isclose(s1 * (a.astype(np.float64) - z1),
                               s2 * (b.astype(np.float64) - z2), atol=1e-6)
            np.testing.assert_array_equal(got[~close], want[~close])
        else:
            np.testing.assert_array_equal(got, CMP[name](a, b))


def test_bool_equality_and_int8_scale_refusal():
    rng = np.random.default_rng(4)
    a, b = rand(rng, (3, 4), BOOL), rand(rng, (4,), BOOL)
    for name in ("EQUAL", "NOT_EQUAL"):
        model = op_model(name, [spec((3, 4), BOOL), spec((4,), BOOL)], [spec((3, 4), BOOL)])
        assert_same_as_litert(model, [a, b])
    big = op_model("LESS", [qspec((2,), np.int8, 1.5), qspec((2,), np.int8)], [spec((2,), BOOL)])
    with pytest.raises(UnsupportedOpError, match="must be < 1"):
        Interpreter(model_content=big)


@pytest.mark.parametrize("name", ["MINIMUM", "MAXIMUM"])
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_integer_minimum_maximum(name, dtype):
    rng = np.random.default_rng(7 + (name == "MAXIMUM"))
    for _ in range(4):
        sa, sb, so = broadcast_pair(rng)
        a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
        model = op_model(name, [qspec(sa, dtype), qspec(sb, dtype)], [qspec(so, dtype)])
        assert_same_as_litert(model, [a, b])
        got, = run_microdl(model, [a, b])
        np.testing.assert_array_equal(got, (np.maximum if name == "MAXIMUM" else np.minimum)(a, b))
    mixed = op_model(name, [qspec((2,), np.int8, 0.1), qspec((2,), np.int8, 0.2)],
                     [qspec((2,), np.int8, 0.1)])
    with pytest.raises(UnsupportedOpError, match="quantized differently"):
        Interpreter(model_content=mixed)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, BOOL])
def test_select_v2_broadcasts_all_three(dtype):
    rng = np.random.default_rng(11)
    for _ in range(4):
        sc, sx, so1 = broadcast_pair(rng)
        sy = so1[int(rng.integers(0, len(so1))):]
        so = np.broadcast_shapes(so1, sy)
        c, x, y = rand(rng, sc, BOOL), rand(rng, sx, dtype), rand(rng, sy, dtype)
        model = op_model("SELECT_V2", [spec(sc, BOOL), qspec(sx, dtype), qspec(sy, dtype)],
                         [qspec(so, dtype)])
        got, = run_microdl(model, [c, x, y])
        want, = run_litert(model, [c, x, y])
        np.testing.assert_array_equal(got, want)  # NaN == NaN here, bit patterns below
        assert got.tobytes() == want.tobytes()
        np.testing.assert_array_equal(got, np.where(c, x, y))


def test_select_v1_condition_of_the_first_dimension():
    rng = np.random.default_rng(12)
    x, y = random_int(rng, (3, 4, 2)), random_int(rng, (3, 4, 2))
    for cshape in [(3, 4, 2), (3,)]:
        c = rand(rng, cshape, BOOL)
        model = op_model("SELECT", [spec(cshape, BOOL), qspec(x.shape, np.int8),
                                    qspec(y.shape, np.int8)], [qspec(x.shape, np.int8)])
        assert_same_as_litert(model, [c, x, y])
        got, = run_microdl(model, [c, x, y])
        cc = c if c.shape == x.shape else c[:, None, None]
        np.testing.assert_array_equal(got, np.where(cc, x, y))
    bad = op_model("SELECT", [spec((4,), BOOL), qspec(x.shape, np.int8),
                              qspec(y.shape, np.int8)], [qspec(x.shape, np.int8)])
    with pytest.raises(ModelError, match="first dimension"):
        Interpreter(model_content=bad)


@pytest.mark.parametrize("name", ["LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT"])
def test_logical(name):
    rng = np.random.default_rng(13)
    for _ in range(4):
        sa, sb, so = broadcast_pair(rng)
        a, b = rand(rng, sa, BOOL), rand(rng, sb, BOOL)
        if name == "LOGICAL_NOT":
            model = op_model(name, [spec(sa, BOOL)], [spec(sa, BOOL)])
            inputs, want = [a], ~a
        else:
            model = op_model(name, [spec(sa, BOOL), spec(sb, BOOL)], [spec(so, BOOL)])
            inputs = [a, b]
            want = (a & b) if name == "LOGICAL_AND" else (a | b)
        assert_same_as_litert(model, inputs)
        got, = run_microdl(model, inputs)
        np.testing.assert_array_equal(got, want)


def test_masking_graph_matches_litert():
    """GREATER(x, t) -> LOGICAL_AND with a mask -> SELECT_V2(mask, x, MINIMUM(x, y)):
    bool tensors in the arena between ops, microdl == LiteRT."""
    q = dict(scale=0.05, zero_point=-4)
    tensors = [spec((2, 5), np.int8, **q), spec((2, 5), np.int8, **q),
               spec((1, 5), np.int8, **q, data=random_int(np.random.default_rng(1), (1, 5))),
               spec((2, 5), BOOL), spec((5,), BOOL, data=np.array([1, 0, 1, 1, 0], BOOL)),
               spec((2, 5), BOOL), spec((2, 5), np.int8, **q), spec((2, 5), np.int8, **q)]
    ops = [("GREATER", [0, 2], [3], {}), ("LOGICAL_AND", [3, 4], [5], {}),
           ("MINIMUM", [0, 1], [6], {}), ("SELECT_V2", [5, 0, 6], [7], {})]
    model = graph_model(tensors, ops, [0, 1], [7])
    rng = np.random.default_rng(2)
    for _ in range(3):
        xs = [random_int(rng, (2, 5)), random_int(rng, (2, 5))]
        want, = run_litert(model, xs)
        got, = run_microdl(model, xs)
        np.testing.assert_array_equal(got, want)


def test_resize_follows_a_comparison():
    model = op_model("LESS", [spec((1, 3), np.int32), spec((3,), np.int32)],
                     [spec((1, 3), BOOL)])
    it = Interpreter(model_content=model)
    it.resize_tensor_input(0, [4, 3])
    it.allocate_tensors()
    rng = np.random.default_rng(5)
    a, b = rng.integers(-3, 3, (4, 3)).astype(np.int32), rng.integers(-3, 3, 3).astype(np.int32)
    d = it.get_input_details()
    it.set_tensor(d[0]["index"], a)
    it.set_tensor(d[1]["index"], b)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), a < b)


@pytest.mark.parametrize("name", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32])
def test_arg_minmax(name, dtype):
    rng = np.random.default_rng(30 + (name == "ARG_MIN") + 2 * [np.int8, np.int16, np.int32, np.float32].index(dtype))
    for k in range(4):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(v) for v in rng.integers(1, 6, rank))
        axis = int(rng.integers(-rank, rank))
        x = rand(rng, shape, dtype)
        if dtype == np.float32:
            x = np.nan_to_num(x)  # NaN ordering is the kernel's business, not compared
        out_t = np.int32 if k % 2 else np.int64
        want = (np.argmax if name == "ARG_MAX" else np.argmin)(x, axis=axis).astype(out_t)
        model = op_model(name, [qspec(shape, dtype), spec((1,), np.int32, data=np.array([axis], np.int32))],
                         [spec(want.shape, out_t)], {"output_type": 2 if out_t == np.int32 else 4})
        if dtype != np.int16:  # arg_min_max.cc has no int16: numpy only there
            assert_same_as_litert(model, [x])
        got, = run_microdl(model, [x])
        np.testing.assert_array_equal(got, want)  # numpy: first index of the extreme


@pytest.mark.parametrize("name", ["REDUCE_MAX", "REDUCE_MIN"])
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
@pytest.mark.parametrize("keep_dims", [False, True])
def test_reduce_minmax(name, dtype, keep_dims):
    rng = np.random.default_rng(40 + keep_dims + 2 * (name == "REDUCE_MIN"))
    for _ in range(4):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(v) for v in rng.integers(1, 5, rank))
        axes = sorted({int(a) % rank for a in rng.integers(-rank, rank,
                                                            int(rng.integers(1, rank + 1)))})
        x = rand(rng, shape, dtype)
        fn = np.max if name == "REDUCE_MAX" else np.min
        want = fn(x, axis=tuple(axes), keepdims=keep_dims)
        model = op_model(name, [qspec(shape, dtype), spec((len(axes),), np.int32,
                                                          data=np.array(axes, np.int32))],
                         [qspec(want.shape, dtype)], {"keep_dims": keep_dims})
        assert_same_as_litert(model, [x])
        got, = run_microdl(model, [x])
        np.testing.assert_array_equal(got, want)
