"""Data movement and shape ops (RESHAPE, SQUEEZE, EXPAND_DIMS, SHAPE, TRANSPOSE,
STRIDED_SLICE, CONCATENATION, PACK, PAD, PADV2) against LiteRT's reference kernels and
the numpy reference microdl.core.dataops, over random shapes, permutations, slices
and paddings in int8 / int16 / int32 / float32; plus multi-op graphs (the Keras
flatten pattern folded at prepare time, chains of copies and aliases)."""
import warnings

import numpy as np
import pytest

from microdl import Interpreter
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core import dataops as ref
from microdl.runtime.ops import Alias, Constant, Node
from tests.oplib import (assert_same_as_litert, graph_model, op_model, random_int, run_litert,
                         run_microdl, spec)

DTYPES = [np.int8, np.int16, np.int32, np.float32]


def qspec(shape, dtype, rng=None, data=None, zero_point=None):
    """A tensor spec with the usual quantization for the dtype (int8: asymmetric,
    int16: symmetric, others: none)."""
    dtype = np.dtype(dtype)
    if dtype == np.int8:
        zp = zero_point if zero_point is not None else (int(rng.integers(-128, 128)) if rng is not None else 3)
        return spec(shape, dtype, scale=0.05, zero_point=zp, data=data)
    if dtype == np.int16:
        return spec(shape, dtype, scale=0.01, zero_point=0, data=data)
    return spec(shape, dtype, data=data)


def rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return rng.standard_normal(shape).astype(np.float32)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    return random_int(rng, shape, dtype)


def check(model, inputs, want):
    """microdl and LiteRT BUILTIN_REF both produce exactly `want` (numpy reference)."""
    assert_same_as_litert(model, inputs)
    got, = run_microdl(model, inputs)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


def steps_of(model):
    return [s for _, s in Interpreter(model_content=model)._steps]


# ---------------------------------------------------------------- TRANSPOSE
@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("dtype", DTYPES)
def test_transpose_random(rank, dtype):
    rng = np.random.default_rng(rank * 10 + DTYPES.index(dtype))
    for _ in range(3):
        shape = tuple(int(v) for v in rng.integers(1, 5, rank))
        perm = [int(p) for p in rng.permutation(rank)]
        if rng.random() < 0.3:
            perm = [p - rank if rng.random() < 0.5 else p for p in perm]  # negative entries
        x = rand(rng, shape, dtype)
        want = np.transpose(x, [p % rank for p in perm])
        q = qspec(shape, dtype, zero_point=-7)
        model = op_model("TRANSPOSE", [q, spec((rank,), np.int32, data=perm)],
                         [qspec(want.shape, dtype, zero_point=-7)])
        check(model, [x], want)


def test_transpose_mismatched_quantization_is_unsupported():
    model = op_model("TRANSPOSE", [spec((2, 3), scale=0.1, zero_point=0),
                                   spec((2,), np.int32, data=[1, 0])],
                     [spec((3, 2), scale=0.2, zero_point=0)])
    with pytest.raises(UnsupportedOpError):
        Interpreter(model_content=model)


def test_transpose_bad_perm_is_model_error():
    model = op_model("TRANSPOSE", [spec((2, 3), np.float32),
                                   spec((2,), np.int32, data=[0, 0])],
                     [spec((2, 2), np.float32)])
    with pytest.raises(ModelError):
        Interpreter(model_content=model)


# ------------------------------------------------------------ STRIDED_SLICE
def _random_spec(rng, shape, allow_ellipsis=True, allow_new_axis=True):
    rank = len(shape)
    n = int(rng.integers(1, rank + 1))
    begin, end, strides = [], [], []
    bm = em = sm = ell = na = 0
    for i in range(n):
        size = shape[i] if i < rank else 1
        s = int(rng.choice([1, 1, 2, 3, -1, -2]))
        begin.append(int(rng.integers(-size - 2, size + 3)))
        end.append(int(rng.integers(-size - 2, size + 3)))
        strides.append(s)
        if rng.random() < 0.3:
            bm |= 1 << i
        if rng.random() < 0.3:
            em |= 1 << i
        if s > 0 and rng.random() < 0.2:
            sm |= 1 << i
            begin[-1] = int(rng.integers(-size, size))
    if allow_ellipsis and rng.random() < 0.2 and n >= 2:
        ell = 1 << int(rng.integers(0, n))
    if allow_new_axis and rng.random() < 0.2:
        na = 1 << int(rng.integers(0, n))
    return begin, end, strides, dict(begin_mask=bm, end_mask=em, shrink_axis_mask=sm,
                                     ellipsis_mask=ell, new_axis_mask=na)


def slice_model(shape, dtype, begin, end, strides, options, out_shape, version=2):
    n = len(begin)
    return op_model("STRIDED_SLICE",
                    [qspec(shape, dtype, zero_point=5),
                     spec((n,), np.int32, data=begin), spec((n,), np.int32, data=end),
                     spec((n,), np.int32, data=strides)],
                    [qspec(out_shape, dtype, zero_point=5)], options, version=version)


@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
def test_strided_slice_random(rank):
    rng = np.random.default_rng(100 + rank)
    tested = 0
    for k in range(30):
        dtype = DTYPES[k % len(DTYPES)]
        shape = tuple(int(v) for v in rng.integers(1, 6, rank))
        begin, end, strides, opts = _random_spec(rng, shape)
        x = rand(rng, shape, dtype)
        try:
            want = ref.strided_slice(x, begin, end, strides, **opts)
        except (IndexError, ValueError):
            continue
        model = slice_model(shape, dtype, begin, end, strides, opts, want.shape)
        try:
            Interpreter(model_content=model)
        except UnsupportedOpError:
            continue  # e.g. an ellipsis standing for no dimension
        check(model, [x], want)
        tested += 1
    assert tested >= 15


@pytest.mark.parametrize("case", [
    # (shape, begin, end, strides, options)
    ((5,), [-1], [0], [-1], {}),                      # reverse, stop before element 0
    ((5,), [0], [0], [-1], dict(begin_mask=1, end_mask=1)),  # full reverse
    ((4, 6), [3, 5], [-10, -10], [-2, -3], {}),       # negative strides, clamped ends
    ((4, 6), [1, 0], [2, 0], [1, 1], dict(shrink_axis_mask=1, end_mask=2)),
    ((4, 6), [-1, 0], [0, 6], [1, 2], dict(shrink_axis_mask=1)),  # x[-1, ::2]
    ((2, 3, 4), [0, 1], [0, 3], [1, 1], dict(ellipsis_mask=1)),  # x[..., 1:3]
    ((2, 3, 4), [1, 0, 0], [2, 0, 0], [1, 1, 1], dict(ellipsis_mask=2, shrink_axis_mask=1)),
    ((2, 3, 4), [0, 0, 1], [0, 0, 3], [1, 1, 1], dict(new_axis_mask=2, begin_mask=1, end_mask=1)),
    ((2, 3, 4), [0, 0], [0, 0], [1, 1], dict(new_axis_mask=1, ellipsis_mask=2)),  # x[None, ...]
    ((3, 4), [7, 7], [9, 9], [1, 1], {}),             # empty slice
    ((1, 8, 166, 2), [0, -6, 0, 0], [0, 0, 0, 2], [1, 1, 1, 1], dict(begin_mask=13, end_mask=15)),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_slice_cases(case, dtype):
    shape, begin, end, strides, opts = case
    rng = np.random.default_rng(5)
    x = rand(rng, shape, dtype)
    want = ref.strided_slice(x, begin, end, strides, **opts)
    check(slice_model(shape, dtype, begin, end, strides, opts, want.shape), [x], want)


def test_strided_slice_matches_python_slicing():
    """The numpy reference itself: masks and bounds mean what Python slices mean."""
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    cases = [
        (([1, -2, 0], [2, 0, 4], [1, -1, 2], {}), x[1:2, -2:0:-1, 0:4:2]),
        (([0, 1], [0, 3], [1, 1], dict(ellipsis_mask=1)), x[..., 1:3]),
        (([1, 0, 2], [0, 0, 0], [1, 1, 1], dict(shrink_axis_mask=5, begin_mask=2, end_mask=2)), x[1, :, 2]),
        (([0, 0], [0, 0], [1, -1], dict(new_axis_mask=1, begin_mask=2, end_mask=2)), x[None, ::-1]),
    ]
    for (b, e, s, o), want in cases:
        np.testing.assert_array_equal(ref.strided_slice(x, b, e, s, **o), want)


def test_strided_slice_six_effective_dims_vs_numpy():
    """Rank 5 plus a new axis: 6 dimensions (beyond LiteRT's 5; numpy is the oracle)."""
    rng = np.random.default_rng(9)
    x = random_int(rng, (2, 3, 2, 3, 2))
    begin, end, strides = [0, 0, 1, 0, 2, 1], [0, 0, 2, 3, -4, 2], [1, 1, 1, 2, -1, 1]
    opts = dict(new_axis_mask=1, begin_mask=2, end_mask=2)
    want = ref.strided_slice(x, begin, end, strides, **opts)
    assert want.ndim == 6
    got, = run_microdl(slice_model(x.shape, np.int8, begin, end, strides, opts,
                                   want.shape), [x])
    np.testing.assert_array_equal(got, want)


def _run_litert_builtin(model, inputs):
    from ai_edge_litert.interpreter import Interpreter as LiteRT, OpResolverType
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = LiteRT(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def test_strided_slice_offset():
    """offset=True (version 8, only in LiteRT's BUILTIN resolver): end is a size."""
    rng = np.random.default_rng(11)
    x = random_int(rng, (4, 7, 5))
    begin, size, strides = [1, -5, 0], [2, 3, 5], [1, 1, 2]
    opts = dict(offset=True)
    want = ref.strided_slice(x, begin, size, strides, **opts)
    np.testing.assert_array_equal(want, x[1:3, 2:5, 0:5:2])
    model = slice_model(x.shape, np.int8, begin, size, strides, opts, want.shape, version=8)
    np.testing.assert_array_equal(_run_litert_builtin(model, [x])[0], want)
    np.testing.assert_array_equal(run_microdl(model, [x])[0], want)
    # A size running past the input is rejected (LiteRT would leave output unwritten).
    bad = slice_model(x.shape, np.int8, [3, 0, 0], [2, 7, 5], [1, 1, 1], opts,
                      (2, 7, 5), version=8)
    with pytest.raises(UnsupportedOpError):
        Interpreter(model_content=bad)


@pytest.mark.parametrize("begin,end,strides,opts,error", [
    ([0], [1], [-1], dict(shrink_axis_mask=1), UnsupportedOpError),
    ([5], [6], [1], dict(shrink_axis_mask=1), ModelError),     # index out of range
    ([0], [1], [0], {}, ModelError),                           # zero stride
    ([0, 0], [1, 1], [1, 1], dict(ellipsis_mask=3), UnsupportedOpError),
])
def test_strided_slice_rejected(begin, end, strides, opts, error):
    model = slice_model((4, 3), np.int8, begin, end, strides, opts, (1, 3))
    with pytest.raises(error):
        Interpreter(model_content=model)


def test_strided_slice_wrong_declared_shape_is_model_error():
    model = slice_model((4, 3), np.int8, [0, 0], [2, 3], [1, 1], {}, (3, 3))
    with pytest.raises(ModelError):
        Interpreter(model_content=model)


# --------------------------------------------------------- CONCATENATION / PACK
@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_concatenation_random(rank, dtype):
    rng = np.random.default_rng(200 + rank * 7 + DTYPES.index(dtype))
    for _ in range(3):
        base = [int(v) for v in rng.integers(1, 4, rank)]
        axis = int(rng.integers(-rank, rank))
        n = int(rng.integers(1, 5))
        xs, specs, feeds = [], [], []
        zp = int(rng.integers(-128, 128))
        for k in range(n):
            shape = list(base)
            shape[axis] = int(rng.integers(1, 4))
            x = rand(rng, tuple(shape), dtype)
            xs.append(x)
            const = k > 0 and rng.random() < 0.3
            specs.append(qspec(shape, dtype, data=x if const else None, zero_point=zp))
            if not const:
                feeds.append(x)
        want = np.concatenate(xs, axis=axis)
        model = op_model("CONCATENATION", specs, [qspec(want.shape, dtype, zero_point=zp)],
                         {"axis": axis, "fused_activation_function": 0})
        check(model, feeds, want)


def test_concatenation_int8_requires_equal_quantization():
    model = op_model("CONCATENATION",
                     [spec((2, 3), scale=0.1, zero_point=1), spec((2, 3), scale=0.1, zero_point=2)],
                     [spec((4, 3), scale=0.1, zero_point=1)], {"axis": 0})
    with pytest.raises(UnsupportedOpError, match="requantizing"):
        Interpreter(model_content=model)


def test_concatenation_fused_activation_unsupported():
    model = op_model("CONCATENATION", [spec((2, 3), np.float32), spec((2, 3), np.float32)],
                     [spec((4, 3), np.float32)], {"axis": 0, "fused_activation_function": 1})
    with pytest.raises(UnsupportedOpError):
        Interpreter(model_content=model)


@pytest.mark.parametrize("rank", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pack_random(rank, dtype):
    rng = np.random.default_rng(300 + rank * 7 + DTYPES.index(dtype))
    for _ in range(3):
        shape = tuple(int(v) for v in rng.integers(1, 4, rank))
        n = int(rng.integers(1, 5))
        axis = int(rng.integers(-rank - 1, rank + 1))
        xs = [rand(rng, shape, dtype) for _ in range(n)]
        want = np.stack(xs, axis=axis)
        np.testing.assert_array_equal(ref.pack(xs, axis), want)
        model = op_model("PACK", [qspec(shape, dtype, zero_point=-3) for _ in range(n)],
                         [qspec(want.shape, dtype, zero_point=-3)],
                         {"values_count": n, "axis": axis})
        check(model, xs, want)


def test_pack_mismatched_quantization_is_unsupported():
    model = op_model("PACK", [spec((3,), scale=0.1, zero_point=0), spec((3,), scale=0.3, zero_point=0)],
                     [spec((2, 3), scale=0.1, zero_point=0)], {"values_count": 2, "axis": 0})
    with pytest.raises(UnsupportedOpError):
        Interpreter(model_content=model)


# ------------------------------------------------------------------- PAD
@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pad_random(rank, dtype):
    rng = np.random.default_rng(400 + rank * 7 + DTYPES.index(dtype))
    for k in range(3):
        shape = tuple(int(v) for v in rng.integers(1, 4, rank))
        pads = rng.integers(0, 3, (rank, 2))
        x = rand(rng, shape, dtype)
        q = qspec(shape, dtype, rng)
        zp = q["zero_point"] if q["scale"] is not None else 0
        want = np.pad(x, pads, constant_values=np.array(zp, x.dtype))
        np.testing.assert_array_equal(ref.pad(x, pads, zp), want)
        pdtype = np.int64 if k == 2 else np.int32
        out = dict(q, shape=want.shape)
        model = op_model("PAD", [q, spec((rank, 2), pdtype, data=pads)], [out])
        check(model, [x], want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_padv2_constant_value(dtype):
    rng = np.random.default_rng(17)
    shape, pads = (2, 3, 2), np.array([[1, 0], [2, 1], [0, 3]])
    x = rand(rng, shape, dtype)
    value = rand(rng, (1,), dtype)
    q = qspec(shape, dtype, zero_point=9)
    want = np.pad(x, pads, constant_values=value[0])
    model = op_model("PADV2", [q, spec((3, 2), np.int32, data=pads),
                               dict(qspec((1,), dtype, zero_point=9), data=value)],
                     [dict(q, shape=want.shape)])
    check(model, [x], want)


def test_padv2_value_from_graph_input():
    """The constant value may be a (non-constant) tensor: read at invoke."""
    rng = np.random.default_rng(18)
    x = rng.standard_normal((3, 2)).astype(np.float32)
    v = np.array([2.5], np.float32)
    pads = np.array([[1, 1], [0, 2]])
    model = op_model("PADV2", [spec((3, 2), np.float32), spec((2, 2), np.int32, data=pads),
                               spec((1,), np.float32)], [spec((5, 4), np.float32)])
    check(model, [x, v], np.pad(x, pads, constant_values=2.5))


def test_pad_six_dims_vs_numpy():
    rng = np.random.default_rng(19)
    x = random_int(rng, (2, 1, 2, 3, 1, 2))
    pads = rng.integers(0, 2, (6, 2))
    model = op_model("PAD", [spec(x.shape, scale=0.1, zero_point=-4),
                             spec((6, 2), np.int32, data=pads)],
                     [spec(tuple(np.add(x.shape, pads.sum(1))), scale=0.1, zero_point=-4)])
    got, = run_microdl(model, [x])
    np.testing.assert_array_equal(got, np.pad(x, pads, constant_values=np.int8(-4)))


def test_pad_negative_is_model_error():
    model = op_model("PAD", [spec((3,), np.float32), spec((1, 2), np.int32, data=[-1, 2])],
                     [spec((4,), np.float32)])
    with pytest.raises(ModelError):
        Interpreter(model_content=model)


# ------------------------------------------------ RESHAPE, SQUEEZE, EXPAND_DIMS, SHAPE
@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_forms(dtype):
    rng = np.random.default_rng(21)
    x = rand(rng, (2, 3, 4), dtype)
    q = qspec((2, 3, 4), dtype, zero_point=1)
    for inputs, opts, out in [
        ([q], {"new_shape": [4, 6]}, (4, 6)),
        ([q], {"new_shape": [-1, 2]}, (12, 2)),
        ([q, spec((2,), np.int32, data=[6, -1])], {"new_shape": [6, 4]}, (6, 4)),
        ([q, spec((3,), np.int32, data=[1, 24, 1])], {}, (1, 24, 1)),
    ]:
        model = op_model("RESHAPE", inputs, [qspec(out, dtype, zero_point=1)], opts)
        check(model, [x], x.reshape(out))
        assert any(isinstance(s, Alias) for s in steps_of(model))
        assert not any(isinstance(s, Node) for s in steps_of(model))


def test_reshape_shares_arena_memory():
    model = op_model("RESHAPE", [spec((2, 6), scale=0.1, zero_point=0)],
                     [spec((3, 4), scale=0.1, zero_point=0)], {"new_shape": [3, 4]})
    it = Interpreter(model_content=model)
    it.allocate_tensors()
    assert it._offsets[0] == it._offsets[1]
    x = random_int(np.random.default_rng(0), (2, 6))
    it.set_tensor(0, x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(1), x.reshape(3, 4))


@pytest.mark.parametrize("new_shape,out", [([5, 5], (5, 5)), ([-1, -1], (4, 6)), ([7, -1], (4, 6))])
def test_reshape_bad_shape_is_model_error(new_shape, out):
    model = op_model("RESHAPE", [spec((2, 12), np.float32)], [spec(out, np.float32)],
                     {"new_shape": new_shape})
    with pytest.raises(ModelError):
        Interpreter(model_content=model)


def test_reshape_declared_shape_must_agree():
    model = op_model("RESHAPE", [spec((2, 12), np.float32)], [spec((6, 4), np.float32)],
                     {"new_shape": [4, 6]})
    with pytest.raises(ModelError):
        Interpreter(model_content=model)


@pytest.mark.parametrize("shape,dims,out", [
    ((1, 3, 1, 2), [], (3, 2)), ((1, 3, 1, 2), [0], (3, 1, 2)), ((1, 3, 1, 2), [-2, 0], (3, 2)),
    ((1, 1), [], ()),
])
def test_squeeze(shape, dims, out):
    rng = np.random.default_rng(22)
    x = random_int(rng, shape)
    model = op_model("SQUEEZE", [spec(shape, scale=0.1, zero_point=2)],
                     [spec(out, scale=0.1, zero_point=2)], {"squeeze_dims": dims})
    check(model, [x], x.reshape(out))


def test_squeeze_non_unit_dimension_is_model_error():
    model = op_model("SQUEEZE", [spec((2, 3), np.float32)], [spec((3,), np.float32)],
                     {"squeeze_dims": [0]})
    with pytest.raises(ModelError):
        Interpreter(model_content=model)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("axis_dtype", [np.int32, np.int64])
def test_expand_dims(axis, axis_dtype):
    rng = np.random.default_rng(23)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    want = np.expand_dims(x, axis)
    model = op_model("EXPAND_DIMS", [spec((2, 3), np.float32), spec((1,), axis_dtype, data=[axis])],
                     [spec(want.shape, np.float32)])
    check(model, [x], want)


@pytest.mark.parametrize("out_type,dtype", [(2, np.int32), (4, np.int64)])
def test_shape_is_constant(out_type, dtype):
    model = op_model("SHAPE", [spec((2, 5, 3), scale=0.1, zero_point=0)], [spec((3,), dtype)],
                     {"out_type": out_type})
    x = random_int(np.random.default_rng(0), (2, 5, 3))
    want = np.array([2, 5, 3], dtype)
    assert_same_as_litert(model, [x])
    np.testing.assert_array_equal(run_microdl(model, [x])[0], want)
    steps = steps_of(model)
    assert len(steps) == 1 and isinstance(steps[0], Constant)


def test_constant_inputs_fold():
    """All-constant inputs give Constant steps (no C node), equal to LiteRT."""
    a = np.arange(12, dtype=np.int32).reshape(3, 4)
    cases = [
        ("TRANSPOSE", [spec((3, 4), np.int32, data=a), spec((2,), np.int32, data=[1, 0])],
         (4, 3), {}),
        ("PAD", [spec((3, 4), np.int32, data=a), spec((2, 2), np.int32, data=[1, 0, 0, 2])],
         (4, 6), {}),
        ("STRIDED_SLICE", [spec((3, 4), np.int32, data=a), spec((2,), np.int32, data=[2, 3]),
                           spec((2,), np.int32, data=[0, 0]), spec((2,), np.int32, data=[-1, -2])],
         (2, 2), {}),
    ]
    for name, inputs, out, opts in cases:
        # LiteRT needs at least one graph input: feed an unused dummy through a second op
        # is overkill; a constant-only model is valid for both runtimes.
        model = op_model(name, inputs, [spec(out, np.int32)], opts)
        steps = steps_of(model)
        assert len(steps) == 1 and isinstance(steps[0], Constant), steps
        want, = run_litert(model, [])
        got, = run_microdl(model, [])
        np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------- multi-op graphs
def test_keras_flatten_pattern_then_fully_connected():
    """SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE (tf.reshape(x, [tf.shape(x)[0], -1]))
    folds to constants at prepare time; the RESHAPE is an alias feeding FULLY_CONNECTED."""
    rng = np.random.default_rng(31)
    w = random_int(rng, (10, 128))
    bias = rng.integers(-3000, 3000, 10).astype(np.int32)
    x_spec = spec((1, 4, 4, 8), scale=0.05, zero_point=-3)
    x_spec["signature"] = (-1, 4, 4, 8)
    tensors = [
        x_spec,                                               # 0 input
        spec((4,), np.int32),                                 # 1 shape
        spec((1,), np.int32, data=[0]),                       # 2 begin
        spec((1,), np.int32, data=[1]),                       # 3 end
        spec((1,), np.int32, data=[1]),                       # 4 strides
        spec((), np.int32),                                   # 5 batch (scalar)
        spec((), np.int32, data=-1),                          # 6 -1
        spec((2,), np.int32),                                 # 7 new shape
        spec((1, 128), scale=0.05, zero_point=-3),            # 8 flat
        spec((10, 128), data=w, scale=0.01),                  # 9 weights
        spec((10,), np.int32, data=bias, scale=0.05 * 0.01),  # 10 bias
        spec((1, 10), scale=0.3, zero_point=4),               # 11 output
    ]
    ops = [
        ("SHAPE", [0], [1], {"out_type": 2}),
        ("STRIDED_SLICE", [1, 2, 3, 4], [5], {"begin_mask": 0, "end_mask": 0,
                                              "shrink_axis_mask": 1}, 2),
        ("PACK", [5, 6], [7], {"values_count": 2, "axis": 0}),
        ("RESHAPE", [0, 7], [8], {}),
        ("FULLY_CONNECTED", [8, 9, 10], [11], {"fused_activation_function": 0}, 4),
    ]
    model = graph_model(tensors, ops, [0], [11])
    steps = steps_of(model)
    assert [type(s).__name__ for s in steps] == ["Constant", "Constant", "Constant", "Alias", "Node"]
    for _ in range(3):
        x = random_int(rng, (1, 4, 4, 8))
        assert_same_as_litert(model, [x])


def test_copy_chain_with_aliases():
    """PAD -> TRANSPOSE -> CONCATENATION (with a constant) -> STRIDED_SLICE (negative
    stride) -> CONCATENATION with the RESHAPE'd input -> RESHAPE, plus a SQUEEZE of the
    slice; int8.  Several nodes write one output, aliases are read while copies run,
    and the planner reuses memory across the chain."""
    rng = np.random.default_rng(32)
    c = random_int(rng, (4, 2, 3))
    q = dict(scale=0.05, zero_point=7)
    tensors = [
        spec((2, 3, 2), **q),                                   # 0 input
        spec((3, 2), np.int32, data=[[1, 1], [0, 0], [0, 0]]),  # 1 paddings
        spec((4, 3, 2), **q),                                   # 2 padded (output)
        spec((3,), np.int32, data=[0, 2, 1]),                   # 3 perm
        spec((4, 2, 3), **q),                                   # 4 transposed
        spec((4, 2, 3), data=c, **q),                           # 5 constant
        spec((8, 2, 3), **q),                                   # 6 concatenated
        spec((3,), np.int32, data=[1, 0, 1]),                   # 7 begin
        spec((3,), np.int32, data=[8, 0, 2]),                   # 8 end
        spec((3,), np.int32, data=[3, -1, 1]),                  # 9 strides
        spec((3, 2, 1), **q),                                   # 10 sliced
        spec((3, 2, 2), **q),                                   # 11 input reshaped
        spec((3, 2, 3), **q),                                   # 12 sliced ++ reshaped
        spec((6, 3), **q),                                      # 13 output
        spec((3, 2), **q),                                      # 14 squeezed (output)
    ]
    ops = [
        ("PAD", [0, 1], [2], {}),
        ("TRANSPOSE", [2, 3], [4], {}),
        ("CONCATENATION", [4, 5], [6], {"axis": 0}),
        ("STRIDED_SLICE", [6, 7, 8, 9], [10], {"begin_mask": 2, "end_mask": 2}, 2),
        ("RESHAPE", [0], [11], {"new_shape": [3, 2, 2]}),
        ("CONCATENATION", [10, 11], [12], {"axis": -1}),
        ("RESHAPE", [12], [13], {"new_shape": [6, 3]}),
        ("SQUEEZE", [10], [14], {"squeeze_dims": [2]}),
    ]
    model = graph_model(tensors, ops, [0], [13, 2, 14])
    x = random_int(rng, (2, 3, 2))
    padded = np.pad(x, [[1, 1], [0, 0], [0, 0]], constant_values=np.int8(7))
    cat = np.concatenate([padded.transpose(0, 2, 1), c], axis=0)
    sliced = cat[1:8:3, ::-1, 1:2]
    want = np.concatenate([sliced, x.reshape(3, 2, 2)], axis=2).reshape(6, 3)
    assert_same_as_litert(model, [x])
    for preserve in (True, False):
        it = Interpreter(model_content=model, preserve_inputs=preserve)
        it.allocate_tensors()
        it.set_tensor(0, x)
        it.invoke()
        np.testing.assert_array_equal(it.get_tensor(13), want)
        np.testing.assert_array_equal(it.get_tensor(2), padded)
        np.testing.assert_array_equal(it.get_tensor(14), sliced.reshape(3, 2))


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.uint8])
def test_other_element_types(dtype):
    """Only the element size matters: 8-byte and 1-byte types through every kernel."""
    rng = np.random.default_rng(41)
    x = rand(rng, (2, 3, 4), dtype) if dtype != np.uint8 else random_int(rng, (2, 3, 4), np.uint8)
    y = rand(rng, (2, 3, 4), dtype) if dtype != np.uint8 else random_int(rng, (2, 3, 4), np.uint8)
    s = spec((2, 3, 4), dtype)
    cases = [
        (op_model("TRANSPOSE", [s, spec((3,), np.int32, data=[2, 0, 1])], [spec((4, 2, 3), dtype)]),
         [x], np.transpose(x, (2, 0, 1))),
        (op_model("CONCATENATION", [s, s], [spec((2, 6, 4), dtype)], {"axis": 1}),
         [x, y], np.concatenate([x, y], axis=1)),
        (op_model("STRIDED_SLICE", [s, spec((3,), np.int32, data=[1, 2, 3]),
                                    spec((3,), np.int32, data=[0, 0, 0]),
                                    spec((3,), np.int32, data=[-1, -2, -1])],
                  [spec((2, 2, 4), dtype)], {"end_mask": 7}, version=2),
         [x], x[1::-1, 2::-2, 3::-1]),
    ]
    if dtype == np.uint8:  # LiteRT pads uint8 with the output zero point
        q = spec((2, 3, 4), dtype, scale=0.1, zero_point=200)
        cases.append((op_model("PAD", [q, spec((3, 2), np.int32, data=[0, 1, 1, 0, 2, 2])],
                               [spec((3, 4, 8), dtype, scale=0.1, zero_point=200)]),
                      [x], np.pad(x, [[0, 1], [1, 0], [2, 2]], constant_values=np.uint8(200))))
    for model, inputs, want in cases:
        got, = run_microdl(model, inputs)
        np.testing.assert_array_equal(got, want)
        try:
            lit, = run_litert(model, inputs)
        except (RuntimeError, ValueError):
            continue  # LiteRT lacks this type for this op (e.g. bool CONCATENATION)
        np.testing.assert_array_equal(lit, want)


@pytest.mark.parametrize("name,version", [("RESHAPE", 2), ("PAD", 7), ("STRIDED_SLICE", 9)])
def test_unknown_versions_are_unsupported(name, version):
    if name == "RESHAPE":
        model = op_model(name, [spec((2, 2), np.float32)], [spec((4,), np.float32)],
                         {"new_shape": [4]}, version=version)
    elif name == "PAD":
        model = op_model(name, [spec((2,), np.float32), spec((1, 2), np.int32, data=[1, 1])],
                         [spec((4,), np.float32)], version=version)
    else:
        model = slice_model((4,), np.float32, [0], [2], [1], {}, (2,), version=version)
    with pytest.raises(UnsupportedOpError, match="version"):
        Interpreter(model_content=model)


from hypothesis import HealthCheck, assume, given, settings, strategies as st  # noqa: E402


@st.composite
def slice_specs(draw):
    rank = draw(st.integers(1, 5))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    n = draw(st.integers(1, rank))
    entries = draw(st.lists(st.tuples(st.integers(-7, 7), st.integers(-7, 7),
                                      st.sampled_from([1, 2, 3, -1, -2, -3])),
                            min_size=n, max_size=n))
    begin, end, strides = (list(v) for v in zip(*entries))
    masks = {k: draw(st.integers(0, (1 << n) - 1)) for k in ("begin_mask", "end_mask")}
    shrink = draw(st.integers(0, (1 << n) - 1))
    masks["shrink_axis_mask"] = sum(1 << i for i in range(n) if shrink >> i & 1
                                    and strides[i] > 0 and -shape[i] <= begin[i] < shape[i])
    masks["new_axis_mask"] = draw(st.sampled_from([0, 0, 0] + [1 << i for i in range(n)]))
    return shape, begin, end, strides, masks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slice_specs(), st.sampled_from(DTYPES))
def test_strided_slice_property(case, dtype):
    shape, begin, end, strides, masks = case
    x = rand(np.random.default_rng(0), shape, dtype)
    try:
        want = ref.strided_slice(x, begin, end, strides, **masks)
    except IndexError:  # a shrunk index out of range (the new axis moved it): invalid
        assume(False)
    check(slice_model(shape, dtype, begin, end, strides, masks, want.shape), [x], want)
