"""SPLIT, SPLIT_V, UNPACK, SLICE, TILE, BROADCAST_TO, REVERSE_V2, DEPTH_TO_SPACE,
SPACE_TO_DEPTH, GATHER, ZEROS_LIKE and FILL (microdl.runtime.ops.rearrange): one-op
models built with the writer, run in LiteRT's reference kernels and in microdl, every
output element equal, and equal to a numpy expression of the op (a second oracle);
int8 / int16 / int32 / float32, random shapes; the constant-folded forms; resizes;
the refusals."""
import numpy as np
import pytest

from microdl import Interpreter
from microdl.core.errors import ModelError, UnsupportedOpError
from tests.oplib import (assert_same_as_litert, op_model, random_int, run_litert,
                         run_microdl, spec)

DTYPES = [np.int8, np.int16, np.int32, np.float32]
I32 = np.int32


def qspec(shape, dtype, data=None):
    """Quantized int8 (scale 0.05, zero point 3) / int16 (0.01, 0) specs, plain others."""
    dtype = np.dtype(dtype)
    if dtype == np.int8:
        return spec(shape, dtype, scale=0.05, zero_point=3, data=data)
    if dtype == np.int16:
        return spec(shape, dtype, scale=0.01, zero_point=0, data=data)
    return spec(shape, dtype, data=data)


def rand(rng, shape, dtype):
    if np.dtype(dtype) == np.float32:
        return rng.standard_normal(shape).astype(np.float32)
    return random_int(rng, shape, dtype)


def check(model, inputs, wants, litert=True):
    """microdl == LiteRT BUILTIN_REF, and both == the numpy `wants` (one per output).
    litert=False where LiteRT has no kernel for the type (microdl moves any element
    type): numpy is the oracle then."""
    if litert:
        assert_same_as_litert(model, inputs)
    got = run_microdl(model, inputs)
    assert len(got) == len(wants)
    for g, w in zip(got, wants):
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
        np.testing.assert_array_equal(g, w)


def rand_shape(rng, rank, lo=1, hi=5):
    return tuple(int(v) for v in rng.integers(lo, hi + 1, rank))


def const(values, dtype=I32):
    a = np.asarray(values, dtype)
    return spec(a.shape, dtype, data=a)


# ---------------------------------------------------------------- SPLIT / SPLIT_V
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_split(dtype, seed):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 5))
    shape = list(rand_shape(rng, rank))
    axis = int(rng.integers(-rank, rank))
    num = int(rng.integers(1, 4))
    shape[axis] *= num
    x = rand(rng, shape, dtype)
    parts = np.split(x, num, axis=axis)
    model = op_model("SPLIT", [spec((), I32, data=np.int32(axis)), qspec(shape, dtype)],
                     [qspec(p.shape, dtype) for p in parts], {"num_splits": num})
    check(model, [x], parts)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_split_v(dtype, seed):
    rng = np.random.default_rng(10 + seed)
    rank = int(rng.integers(1, 5))
    shape = list(rand_shape(rng, rank))
    axis = int(rng.integers(0, rank))
    sizes = [int(v) for v in rng.integers(0, 4, int(rng.integers(1, 4)))]
    if seed % 2:
        sizes[int(rng.integers(0, len(sizes)))] = -1
    shape[axis] = sum(s for s in sizes if s >= 0) + (2 if -1 in sizes else 0)
    if shape[axis] == 0:
        shape[axis], sizes = 1, sizes + [1]
    x = rand(rng, shape, dtype)
    real = [s if s >= 0 else shape[axis] - sum(v for v in sizes if v >= 0) for s in sizes]
    parts = np.split(x, np.cumsum(real)[:-1], axis=axis)
    model = op_model("SPLIT_V", [qspec(shape, dtype), const(sizes), spec((), I32, data=np.int32(axis))],
                     [qspec(p.shape, dtype) for p in parts], {"num_splits": len(sizes)})
    check(model, [x], parts)


# ---------------------------------------------------------------- UNPACK
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(3))
def test_unpack(dtype, seed):
    rng = np.random.default_rng(20 + seed)
    rank = int(rng.integers(1, 5))
    shape = rand_shape(rng, rank)
    axis = int(rng.integers(-rank, rank))
    x = rand(rng, shape, dtype)
    parts = [np.ascontiguousarray(p) for p in np.moveaxis(x, axis, 0)]
    model = op_model("UNPACK", [qspec(shape, dtype)], [qspec(p.shape, dtype) for p in parts],
                     {"num": shape[axis], "axis": axis})
    check(model, [x], parts)


# ---------------------------------------------------------------- SLICE
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_slice(dtype, seed):
    rng = np.random.default_rng(30 + seed)
    rank = int(rng.integers(1, 6))
    shape = rand_shape(rng, rank, 1, 6)
    begin = [int(rng.integers(0, n)) for n in shape]
    size = [int(rng.integers(1, n - b + 1)) if rng.random() < 0.7 else -1
            for n, b in zip(shape, begin)]
    real = [n - b if s == -1 else s for n, b, s in zip(shape, begin, size)]
    x = rand(rng, shape, dtype)
    want = x[tuple(slice(b, b + s) for b, s in zip(begin, real))]
    idx_t = I32 if seed % 2 else np.int64
    model = op_model("SLICE", [qspec(shape, dtype), const(begin, idx_t), const(size, idx_t)],
                     [qspec(want.shape, dtype)])
    check(model, [x], [want])


# ---------------------------------------------------------------- TILE / BROADCAST_TO
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_tile(dtype, rank):
    rng = np.random.default_rng(40 + rank)
    shape = rand_shape(rng, rank, 1, 4)
    mult = [int(v) for v in rng.integers(1, 4, rank)]
    x = rand(rng, shape, dtype)
    want = np.tile(x, mult)
    model = op_model("TILE", [qspec(shape, dtype), const(mult)], [qspec(want.shape, dtype)])
    check(model, [x], [want])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_broadcast_to(dtype, seed):
    rng = np.random.default_rng(50 + seed)
    rank = int(rng.integers(1, 5))
    out = rand_shape(rng, rank, 1, 4)
    in_rank = int(rng.integers(1, rank + 1))
    shape = tuple(n if rng.random() < 0.5 else 1 for n in out[rank - in_rank:])
    x = rand(rng, shape, dtype)
    want = np.ascontiguousarray(np.broadcast_to(x, out))
    model = op_model("BROADCAST_TO", [qspec(shape, dtype), const(out)],
                     [qspec(out, dtype)], version=2)
    check(model, [x], [want])


# ---------------------------------------------------------------- REVERSE_V2
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_reverse_v2(dtype, seed):
    rng = np.random.default_rng(60 + seed)
    rank = int(rng.integers(1, 5))
    shape = rand_shape(rng, rank, 1, 5)
    axes = [int(rng.integers(0, rank))]  # LiteRT's kernel reverses one axis
    x = rand(rng, shape, dtype)
    want = np.ascontiguousarray(np.flip(x, axes))
    model = op_model("REVERSE_V2", [qspec(shape, dtype), const(axes)], [qspec(shape, dtype)],
                     version=2)
    check(model, [x], [want])


def test_reverse_v2_several_axes_match_numpy():
    """Several axes at once (LiteRT 2.x reverses one axis only: numpy is the oracle)."""
    rng = np.random.default_rng(5)
    x = random_int(rng, (3, 4, 5))
    model = op_model("REVERSE_V2", [qspec(x.shape, np.int8), const([0, 2])],
                     [qspec(x.shape, np.int8)], version=2)
    got, = run_microdl(model, [x])
    np.testing.assert_array_equal(got, x[::-1, :, ::-1])


# ---------------------------------------------------------------- DEPTH_TO_SPACE
def depth_to_space(x, b):
    n, h, w, c = x.shape
    return x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5).reshape(
        n, h * b, w * b, c // (b * b))


def space_to_depth(x, b):
    n, h, w, c = x.shape
    return x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(
        n, h // b, w // b, c * b * b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("block", [1, 2, 3])
def test_depth_to_space_and_back(dtype, block):
    rng = np.random.default_rng(70 + block)
    n, h, w, c = 1 + block % 2, 3, 2, 2 * block * block
    x = rand(rng, (n, h, w, c), dtype)
    want = depth_to_space(x, block)
    litert = dtype != np.int16  # depth_to_space.cc / space_to_depth.cc have no int16
    model = op_model("DEPTH_TO_SPACE", [qspec(x.shape, dtype)], [qspec(want.shape, dtype)],
                     {"block_size": block})
    check(model, [x], [want], litert)
    model = op_model("SPACE_TO_DEPTH", [qspec(want.shape, dtype)], [qspec(x.shape, dtype)],
                     {"block_size": block})
    check(model, [want], [space_to_depth(want, block)], litert)
    np.testing.assert_array_equal(space_to_depth(want, block), x)


# ---------------------------------------------------------------- GATHER
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_gather_constant_indices(dtype, seed):
    rng = np.random.default_rng(80 + seed)
    rank = int(rng.integers(1, 4))
    shape = rand_shape(rng, rank, 1, 5)
    axis = int(rng.integers(0, rank))
    idx = rng.integers(0, shape[axis], tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(1, 3)))))
    x = rand(rng, shape, dtype)
    want = np.take(x, idx, axis=axis)
    model = op_model("GATHER", [qspec(shape, dtype), const(idx)], [qspec(want.shape, dtype)],
                     {"axis": axis})
    check(model, [x], [want])


def test_gather_refuses_out_of_range_and_graph_indices():
    x = spec((4, 3), np.int8, scale=0.1)
    bad = op_model("GATHER", [x, const([1, 4])], [spec((2, 3), np.int8, scale=0.1)])
    with pytest.raises(ModelError, match="index 4 outside"):
        Interpreter(model_content=bad)
    dyn = op_model("GATHER", [x, spec((2,), I32)], [spec((2, 3), np.int8, scale=0.1)])
    with pytest.raises(UnsupportedOpError, match="constant indices"):
        Interpreter(model_content=dyn)


# ---------------------------------------------------------------- ZEROS_LIKE / FILL
@pytest.mark.parametrize("dtype", DTYPES)
def test_zeros_like(dtype):
    rng = np.random.default_rng(90)
    x = rand(rng, (2, 3, 4), dtype)
    model = op_model("ZEROS_LIKE", [qspec(x.shape, dtype)], [qspec(x.shape, dtype)])
    # zeros_like.cc has int32, int64 and float32 only.
    check(model, [x], [np.zeros_like(x)], litert=dtype in (np.int32, np.float32))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32])
def test_fill_with_a_graph_input_value(dtype):
    rng = np.random.default_rng(91)
    v = rand(rng, (), dtype)
    model = op_model("FILL", [const([2, 3, 1]), qspec((), dtype)], [qspec((2, 3, 1), dtype)],
                     version=3 if dtype == np.int8 or dtype == np.int16 else 1)
    check(model, [np.asarray(v)], [np.full((2, 3, 1), v, dtype)])


# ---------------------------------------------------------------- folding, resize, errors
def test_constant_inputs_fold_at_prepare():
    x = np.arange(24, dtype=np.int8).reshape(2, 3, 4)
    model = op_model("SPLIT", [spec((), I32, data=np.int32(2)), qspec(x.shape, np.int8, data=x)],
                     [qspec((2, 3, 2), np.int8)] * 2, {"num_splits": 2})
    it = Interpreter(model_content=model)
    assert all(type(s).__name__ == "Constant" for _, s in it._steps)
    it.allocate_tensors()
    it.invoke()
    for d, w in zip(it.get_output_details(), np.split(x, 2, axis=2)):
        np.testing.assert_array_equal(it.get_tensor(d["index"]), w)


def test_resize_follows_split_and_tile():
    rng = np.random.default_rng(7)
    model = op_model("TILE", [qspec((1, 2, 3), np.int8), const([2, 1, 2])],
                     [qspec((2, 2, 6), np.int8)])
    it = Interpreter(model_content=model)
    it.resize_tensor_input(0, [3, 2, 3])
    it.allocate_tensors()
    x = random_int(rng, (3, 2, 3))
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]),
                                  np.tile(x, [2, 1, 2]))


@pytest.mark.parametrize("name,inputs,outputs,options,match", [
    ("SPLIT", [spec((), I32, data=np.int32(0)), spec((5,), np.int8, scale=0.1)],
     [spec((2,), np.int8, scale=0.1)] * 2, {"num_splits": 2}, "does not divide"),
    ("SPLIT_V", [spec((5,), np.int8, scale=0.1), const([2, 2]), spec((), I32, data=np.int32(0))],
     [spec((2,), np.int8, scale=0.1)] * 2, {"num_splits": 2}, "do not add up"),
    ("SLICE", [spec((4,), np.int8, scale=0.1), const([3]), const([2])],
     [spec((2,), np.int8, scale=0.1)], {}, "outside dimension 0"),
    ("BROADCAST_TO", [spec((3,), np.int8, scale=0.1), const([2, 4])],
     [spec((2, 4), np.int8, scale=0.1)], {}, "cannot broadcast"),
    ("DEPTH_TO_SPACE", [spec((1, 2, 2, 6), np.int8, scale=0.1)],
     [spec((1, 4, 4, 1), np.int8, scale=0.1)], {"block_size": 2}, "multiple of block_size"),
    ("UNPACK", [spec((3, 2), np.int8, scale=0.1)], [spec((2,), np.int8, scale=0.1)] * 2,
     {"num": 2, "axis": 0}, "axis extent is 3"),
    ("TILE", [spec((3,), np.int8, scale=0.1), spec((1,), I32)],
     [spec((6,), np.int8, scale=0.1)], {}, "must be constant"),
])
def test_bad_models_raise_clear_errors(name, inputs, outputs, options, match):
    model = op_model(name, inputs, outputs, options)
    with pytest.raises((ModelError, UnsupportedOpError), match=match):
        Interpreter(model_content=model)


def test_litert_agrees_on_a_chain():
    """SPLIT -> REVERSE_V2 of one half -> TILE, as one graph: microdl == LiteRT."""
    from tests.oplib import graph_model

    q = dict(scale=0.05, zero_point=-2)
    tensors = [spec((2, 6), np.int8, **q), spec((), I32, data=np.int32(1)),
               spec((2, 3), np.int8, **q), spec((2, 3), np.int8, **q),
               spec((1,), I32, data=np.array([1], I32)), spec((2, 3), np.int8, **q),
               spec((2,), I32, data=np.array([2, 1], I32)), spec((4, 3), np.int8, **q)]
    ops = [("SPLIT", [1, 0], [2, 3], {"num_splits": 2}),
           ("REVERSE_V2", [2, 4], [5], {}, 2),
           ("TILE", [5, 6], [7], {})]
    model = graph_model(tensors, ops, [0], [7, 3])
    x = random_int(np.random.default_rng(3), (2, 6))
    want = run_litert(model, [x])
    got = run_microdl(model, [x])
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got[0], np.tile(x[:, :3][:, ::-1], [2, 1]))
