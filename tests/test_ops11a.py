"""MIRROR_PAD, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, GATHER_ND, CAST,
RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, ADD_N and CUMSUM
(microdl.runtime.ops.spatial and .accumulate; cext/src/resize.c, accumulate.c).

Oracles: one-op models built with the writer, run in LiteRT's reference kernels
(BUILTIN_REF) and in microdl, every output element equal; and a numpy expression of
each op written here from TensorFlow's definition (np.pad modes, the block
rearrangements, fancy indexing, np.cumsum, ResizeBilinearInteger's arithmetic redone
in Python integers), so a case LiteRT cannot run still has an oracle.  RESIZE_BILINEAR
int8 also against TFLite Micro.  int8 / int16 / int32 / float32 (every pair LiteRT's
CAST takes), random shapes, up- and downscales, extreme inputs; the refusals."""
import numpy as np
import pytest

from microdl import Interpreter
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.runtime._engine import KernelError
from microdl.core.fixedpoint import quantize_multiplier, requantize_smaller_than_one
from tests.oplib import (assert_same_as_litert, op_model, random_int, run_litert,
                         run_microdl, spec)

I32 = np.int32
DTYPES = [np.int8, np.int16, np.int32, np.float32]


def qspec(shape, dtype, data=None, zero_point=None):
    """int8 (scale 0.05, zero point 3) / int16 (0.01, 0) quantized specs, plain others."""
    dtype = np.dtype(dtype)
    if dtype == np.int8:
        return spec(shape, dtype, scale=0.05, zero_point=3 if zero_point is None
                    else zero_point, data=data)
    if dtype == np.int16:
        return spec(shape, dtype, scale=0.01, zero_point=0, data=data)
    return spec(shape, dtype, data=data)


def rand(rng, shape, dtype):
    if np.dtype(dtype) == np.float32:
        return rng.standard_normal(shape).astype(np.float32)
    if np.dtype(dtype) == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    return random_int(rng, shape, dtype)


def const(values, dtype=I32):
    a = np.asarray(values, dtype)
    return spec(a.shape, dtype, data=a)


def check(model, inputs, wants, litert=True):
    """microdl == LiteRT BUILTIN_REF (when litert), and microdl == numpy `wants`."""
    if litert:
        assert_same_as_litert(model, inputs)
    got = run_microdl(model, inputs)
    assert len(got) == len(wants)
    for g, w in zip(got, wants):
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape,
                                                           w.shape)
        np.testing.assert_array_equal(g, w)


def rand_shape(rng, rank, lo=1, hi=5):
    return tuple(int(v) for v in rng.integers(lo, hi + 1, rank))


def refuses(model, exc=ModelError, match=None):
    with pytest.raises(exc, match=match):
        Interpreter(model_content=model).allocate_tensors()


# ------------------------------------------------------------------- MIRROR_PAD
def mirror_model(shape, pads, mode, dtype, out_shape=None, pad_dtype=I32):
    if out_shape is None:
        out_shape = tuple(n + a + b for n, (a, b) in zip(shape, pads))
    return op_model("MIRROR_PAD", [qspec(shape, dtype), const(pads, pad_dtype)],
                    [qspec(out_shape, dtype)], {"mode": mode})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize("seed", range(5))
def test_mirror_pad(dtype, mode, seed):
    rng = np.random.default_rng(100 + seed)
    rank = int(rng.integers(1, 5))
    shape = rand_shape(rng, rank, 1, 5)
    lim = [n - 1 if mode == 0 else n for n in shape]
    if seed == 0:  # the largest pads allowed
        pads = [(m, m) for m in lim]
    else:
        pads = [(int(rng.integers(0, m + 1)), int(rng.integers(0, m + 1))) for m in lim]
    x = rand(rng, shape, dtype)
    want = np.pad(x, pads, mode="reflect" if mode == 0 else "symmetric")
    check(mirror_model(shape, pads, mode, dtype, pad_dtype=I32 if seed % 2 else np.int64),
          [x], [want])


def test_mirror_pad_constant_input_folds():
    x = np.arange(12, dtype=np.int8).reshape(3, 4)
    pads = [(2, 1), (1, 3)]
    want = np.pad(x, pads, mode="reflect")
    model = op_model("MIRROR_PAD", [qspec(x.shape, np.int8, data=x), const(pads)],
                     [qspec(want.shape, np.int8)], {"mode": 0})
    check(model, [], [want])


@pytest.mark.parametrize("mode,pads", [(0, [(3, 0)]), (1, [(0, 4)]), (0, [(-1, 0)])])
def test_mirror_pad_refuses_pads_beyond_the_input(mode, pads):
    refuses(mirror_model((3,), pads, mode, np.int8, out_shape=(3 + sum(pads[0]),)),
            match="paddings")


def test_mirror_pad_refuses_wrong_output_shape_and_mode():
    refuses(mirror_model((3, 2), [(1, 1), (0, 0)], 0, np.int8, out_shape=(5, 3)))
    refuses(mirror_model((3, 2), [(1, 1), (0, 0)], 2, np.int8), match="mode")


# ------------------------------------------------- SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND
def space_to_batch_ref(x, block, pads, pad_value):
    """TensorFlow's definition: pad, split each spatial dim into (T_i, block_i), move
    the block offsets to the front of the batch."""
    m = len(block)
    xp = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)], constant_values=pad_value)
    b = x.shape[0]
    shape = [b]
    for i in range(m):
        shape += [xp.shape[1 + i] // block[i], block[i]]
    r = xp.reshape(shape + [x.shape[-1]])
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + [2 * m + 1]
    r = r.transpose(perm)
    return np.ascontiguousarray(r.reshape([b * int(np.prod(block))] +
                                          [xp.shape[1 + i] // block[i] for i in range(m)]
                                          + [x.shape[-1]]))


def batch_to_space_ref(x, block, crops):
    m = len(block)
    nb = int(np.prod(block))
    b = x.shape[0] // nb
    r = x.reshape(list(block) + [b] + list(x.shape[1:]))
    perm = [m]
    for i in range(m):
        perm += [m + 1 + i, i]
    perm += [2 * m + 1]
    r = r.transpose(perm).reshape([b] + [x.shape[1 + i] * block[i] for i in range(m)]
                                  + [x.shape[-1]])
    sl = tuple([slice(None)] + [slice(c0, r.shape[1 + i] - c1)
                                for i, (c0, c1) in enumerate(crops)] + [slice(None)])
    return np.ascontiguousarray(r[sl])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(5))
def test_space_to_batch_nd(dtype, seed):
    rng = np.random.default_rng(200 + seed)
    m = 1 if seed == 4 else 2
    block = [int(v) for v in rng.integers(1, 4, m)]
    pads, spatial = [], []
    for b in block:
        p0, p1 = int(rng.integers(0, 3)), int(rng.integers(0, 3))
        t = int(rng.integers(1, 4))
        n = t * b - p0 - p1
        if n < 1:
            p0, p1, n = 0, 0, t * b
        pads.append((p0, p1))
        spatial.append(n)
    shape = (int(rng.integers(1, 3)),) + tuple(spatial) + (int(rng.integers(1, 4)),)
    x = rand(rng, shape, dtype)
    pad_value = 3 if np.dtype(dtype) == np.int8 else 0   # the output zero point
    want = space_to_batch_ref(x, block, pads, pad_value).astype(dtype)
    model = op_model("SPACE_TO_BATCH_ND", [qspec(shape, dtype), const(block), const(pads)],
                     [qspec(want.shape, dtype)])
    check(model, [x], [want])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(5))
def test_batch_to_space_nd(dtype, seed):
    rng = np.random.default_rng(300 + seed)
    m = 1 if seed == 4 else 2
    block = [int(v) for v in rng.integers(1, 4, m)]
    spatial = [int(v) for v in rng.integers(1, 4, m)]
    crops = []
    for b, s in zip(block, spatial):
        c0 = int(rng.integers(0, b))
        c1 = int(rng.integers(0, min(b, s * b - c0)))
        crops.append((c0, c1))
    shape = (int(rng.integers(1, 3)) * int(np.prod(block)),) + tuple(spatial) + \
        (int(rng.integers(1, 4)),)
    x = rand(rng, shape, dtype)
    want = batch_to_space_ref(x, block, crops)
    model = op_model("BATCH_TO_SPACE_ND", [qspec(shape, dtype), const(block), const(crops)],
                     [qspec(want.shape, dtype)])
    check(model, [x], [want])


def test_space_to_batch_round_trip():
    rng = np.random.default_rng(5)
    x = random_int(rng, (2, 6, 4, 3), np.int8)
    want = space_to_batch_ref(x, [3, 2], [(0, 0), (0, 0)], 0)
    back = batch_to_space_ref(want, [3, 2], [(0, 0), (0, 0)])
    np.testing.assert_array_equal(back, x)


def test_batch_space_refusals():
    blk = const([2, 2])
    refuses(op_model("SPACE_TO_BATCH_ND", [qspec((1, 3, 4, 1), np.int8), blk,
                                           const([(0, 0), (0, 0)])],
                     [qspec((4, 1, 2, 1), np.int8)]), match="multiple of block")
    refuses(op_model("BATCH_TO_SPACE_ND", [qspec((3, 2, 2, 1), np.int8), blk,
                                           const([(0, 0), (0, 0)])],
                     [qspec((1, 4, 4, 1), np.int8)]), match="multiple of prod")
    refuses(op_model("BATCH_TO_SPACE_ND", [qspec((4, 2, 2, 1), np.int8), blk,
                                           const([(-1, 0), (0, 0)])],
                     [qspec((1, 5, 4, 1), np.int8)]), match="crops")
    refuses(op_model("SPACE_TO_BATCH_ND", [qspec((4, 2), np.int8), const([2]),
                                           const([(0, 0)])],
                     [qspec((8, 1), np.int8)]), match="3-D or 4-D")


# -------------------------------------------------------------------- GATHER_ND
def gather_nd_case(rng, dtype):
    rank = int(rng.integers(1, 5))
    shape = rand_shape(rng, rank, 1, 5)
    k = int(rng.integers(1, rank + 1))
    lead = rand_shape(rng, int(rng.integers(1, 3)), 1, 4)
    idx = np.stack([rng.integers(0, shape[j], lead) for j in range(k)], -1).astype(I32)
    x = rand(rng, shape, dtype)
    return x, idx, x[tuple(np.moveaxis(idx, -1, 0))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(5))
def test_gather_nd_computed_indices(dtype, seed):
    rng = np.random.default_rng(400 + seed)
    x, idx, want = gather_nd_case(rng, dtype)
    idx = idx.astype(np.int64 if seed % 2 else I32)
    model = op_model("GATHER_ND", [qspec(x.shape, dtype), spec(idx.shape, idx.dtype)],
                     [qspec(want.shape, dtype)])
    check(model, [x, idx], [want])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(3))
def test_gather_nd_constant_indices(dtype, seed):
    rng = np.random.default_rng(450 + seed)
    x, idx, want = gather_nd_case(rng, dtype)
    idx_dtype = np.int64 if seed % 2 else I32
    model = op_model("GATHER_ND", [qspec(x.shape, dtype), const(idx, idx_dtype)],
                     [qspec(want.shape, dtype)])
    check(model, [x], [want])


def test_gather_nd_index_out_of_range_fails_the_invoke():
    """LiteRT fails its invoke on an out-of-range index; microdl's kernel returns an
    error (KernelError) before reading outside params; constant ones fail prepare."""
    x = np.arange(12, dtype=np.int8).reshape(4, 3)
    model = op_model("GATHER_ND", [qspec(x.shape, np.int8), spec((2, 1), I32)],
                     [qspec((2, 3), np.int8)])
    it = Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    for bad in ([[0], [4]], [[-1], [0]], [[2**31 - 1], [0]]):
        with pytest.raises(Exception):
            run_litert(model, [x, np.array(bad, I32)])
        it.set_tensor(it.get_input_details()[1]["index"], np.array(bad, I32))
        with pytest.raises(KernelError):
            it.invoke()
    it.set_tensor(it.get_input_details()[1]["index"], np.array([[3], [1]], I32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]),
                                  x[[3, 1]])
    model64 = op_model("GATHER_ND", [qspec(x.shape, np.int8), spec((1, 1), np.int64)],
                       [qspec((1, 3), np.int8)])
    it64 = Interpreter(model_content=model64)
    it64.allocate_tensors()
    it64.set_tensor(it64.get_input_details()[0]["index"], x)
    it64.set_tensor(it64.get_input_details()[1]["index"], np.array([[2**32 + 1]], np.int64))
    with pytest.raises(KernelError):   # not wrapped to 1 by a narrowing
        it64.invoke()
    refuses(op_model("GATHER_ND", [qspec(x.shape, np.int8), const([[4]])],
                     [qspec((1, 3), np.int8)]), match="outside params")
    refuses(op_model("GATHER_ND", [qspec(x.shape, np.int8), const([[0, 0, 0]])],
                     [qspec((1,), np.int8)]), match="index depth")


# ------------------------------------------------------------------------- CAST
CAST_TYPES = [np.int8, np.uint8, np.int16, np.int32, np.int64, np.float32, np.bool_]


def cast_input(rng, src, dst):
    """Inputs LiteRT and C++ define: floats inside the target's range (static_cast of
    an out-of-range float is undefined), with halves, negative fractions and -0.0."""
    src, dst = np.dtype(src), np.dtype(dst)
    shape = (3, 7)
    if src == np.float32:
        if dst in (np.float32, np.bool_):
            x = rng.standard_normal(shape).astype(np.float32) * 1e3
        else:
            info = np.iinfo(dst)
            lo, hi = max(float(info.min), -1e9), min(float(info.max), 1e9)
            x = rng.uniform(lo, hi, shape).astype(np.float32)
            x.flat[:6] = [0.5, -0.5, 1.5, -0.0, 0.0, 2.75]
            x = np.clip(x, max(lo, -1.0) if dst == np.uint8 else lo, hi)
            if dst == np.uint8:
                x = np.abs(x)
        return x.astype(np.float32)
    x = rand(rng, shape, src)
    if src != np.bool_:
        x.flat[:3] = [0, 1, -1] if np.issubdtype(src, np.signedinteger) else [0, 1, 255]
    return x


@pytest.mark.parametrize("src", CAST_TYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("dst", CAST_TYPES, ids=lambda t: np.dtype(t).name)
def test_cast(src, dst):
    rng = np.random.default_rng(abs(hash((np.dtype(src).name, np.dtype(dst).name))) % 2**32)
    x = cast_input(rng, src, dst)
    want = (x != 0) if np.dtype(dst) == np.bool_ else x.astype(dst)
    model = op_model("CAST", [spec(x.shape, src)], [spec(x.shape, dst)])
    check(model, [x], [want])


def test_cast_constant_folds_and_saturates_out_of_range_floats():
    x = np.array([300.7, -300.2, np.nan, 3e9, -3e9, 1.9], np.float32)
    model = op_model("CAST", [spec(x.shape, np.float32, data=x)], [spec(x.shape, np.int8)])
    check(model, [], [np.array([127, -128, 0, 127, -128, 1], np.int8)], litert=False)
    model = op_model("CAST", [spec(x.shape, np.float32)], [spec(x.shape, np.int32)])
    check(model, [x], [np.array([300, -300, 0, 2**31 - 1, -2**31, 1], np.int32)],
          litert=False)


def test_cast_refuses_shape_change():
    refuses(op_model("CAST", [spec((2, 3), np.int8)], [spec((3, 2), np.float32)]))


# ---------------------------------------------------------------------- RESIZE
RESIZE_OPTS = [(False, False), (True, False), (False, True)]
SIZES = [(1, 1, 1, 1), (1, 1, 5, 3), (5, 1, 1, 4), (2, 3, 6, 9), (6, 9, 2, 3),
         (4, 4, 7, 7), (7, 5, 3, 11), (3, 8, 8, 3), (2, 2, 2, 2), (5, 7, 16, 2),
         (16, 12, 5, 7), (9, 9, 4, 4), (8, 8, 64, 64), (64, 64, 7, 9), (5, 5, 2049, 3)]


def resize_model(op, shape, size, dtype, align, half):
    return op_model(op, [qspec(shape, dtype), const(size)],
                    [qspec((shape[0], size[0], size[1], shape[3]), dtype)],
                    {"align_corners": align, "half_pixel_centers": half})


def nearest_ref(x, size, align, half):
    """GetNearestNeighbor in float32, written out again."""
    def src(n_in, n_out):
        f = np.float32
        scale = f(n_in - 1) / f(n_out - 1) if align and n_out > 1 else f(n_in) / f(n_out)
        out = []
        for v in range(n_out):
            s = (f(v) + f(0.5 if half else 0)) * scale
            i = int(np.floor(s + f(0.5))) if align else int(np.floor(s))
            i = min(i, n_in - 1)
            out.append(max(i, 0) if half else i)
        return out
    return x[:, src(x.shape[1], size[0])][:, :, src(x.shape[2], size[1])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align,half", RESIZE_OPTS + [(True, True)])
@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_resize_nearest_neighbor(dtype, align, half, dims):
    h, w, oh, ow = dims
    rng = np.random.default_rng(h * 1000 + w * 100 + oh * 10 + ow)
    x = rand(rng, (2, h, w, 3), dtype)
    model = resize_model("RESIZE_NEAREST_NEIGHBOR", x.shape, [oh, ow], dtype, align, half)
    check(model, [x], [nearest_ref(x, (oh, ow), align, half)])


def _cdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def bilinear_int_ref(x, size, align, half):
    """ResizeBilinearInteger (double rounding) in Python integers, every weight as the
    reference computes it (no shortcut where the two source rows coincide)."""
    def scale(n_in, n_out):
        if align and n_out > 1:
            return ((1 << 10) * (n_in - 1) + (n_out - 1) // 2) // (n_out - 1)
        return ((1 << 10) * n_in + n_out // 2) // n_out

    def coords(v, s, n):
        sv = v * s + _cdiv(s, 2) - (1 << 9) if half else v * s
        return sv, max(_cdiv(sv, 1 << 10), 0), min(_cdiv(sv + 1023, 1 << 10), n - 1)
    b, h, w, c = x.shape
    hs, ws = scale(h, size[0]), scale(w, size[1])
    xi = x.astype(np.int64)
    out = np.empty((b, size[0], size[1], c), x.dtype)
    for y in range(size[0]):
        iy, y0, y1 = coords(y, hs, h)
        dy = iy - 1024 * y0
        for xx in range(size[1]):
            ix, x0, x1 = coords(xx, ws, w)
            dx = ix - 1024 * x0
            acc = (xi[:, y0, x0] * (1024 - dy) * (1024 - dx) + xi[:, y1, x0] * dy * (1024 - dx)
                   + xi[:, y0, x1] * (1024 - dy) * dx + xi[:, y1, x1] * dy * dx)
            t = acc + np.where(acc > 0, 1 << 19, -(1 << 19))
            out[:, y, xx] = np.sign(t) * (np.abs(t) // (1 << 20))
    return out


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
@pytest.mark.parametrize("align,half", RESIZE_OPTS)
@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_resize_bilinear_integer(dtype, align, half, dims):
    h, w, oh, ow = dims
    rng = np.random.default_rng(7 + h * 1000 + w * 100 + oh * 10 + ow)
    x = rand(rng, (2, h, w, 3), dtype)
    info = np.iinfo(dtype)
    x[0, ..., 0] = info.min          # extreme inputs: one channel at each end
    x[1, ..., 0] = info.max
    model = resize_model("RESIZE_BILINEAR", x.shape, [oh, ow], dtype, align, half)
    check(model, [x], [bilinear_int_ref(x, (oh, ow), align, half)])


@pytest.mark.parametrize("align,half", RESIZE_OPTS)
@pytest.mark.parametrize("dims", SIZES, ids=str)
def test_resize_bilinear_float32(align, half, dims):
    h, w, oh, ow = dims
    rng = np.random.default_rng(9 + h * 1000 + w * 100 + oh * 10 + ow)
    x = rand(rng, (2, h, w, 3), np.float32)
    model = resize_model("RESIZE_BILINEAR", x.shape, [oh, ow], np.float32, align, half)
    assert_same_as_litert(model, [x])


@pytest.mark.parametrize("seed", range(20))
def test_resize_bilinear_random_shapes(seed):
    rng = np.random.default_rng(1000 + seed)
    dtype = [np.int8, np.int16, np.float32][seed % 3]
    h, w, oh, ow = (int(v) for v in rng.integers(1, 24, 4))
    align, half = RESIZE_OPTS[seed % 3]
    x = rand(rng, (1, h, w, int(rng.integers(1, 5))), dtype)
    model = resize_model("RESIZE_BILINEAR", x.shape, [oh, ow], dtype, align, half)
    assert_same_as_litert(model, [x])
    model = resize_model("RESIZE_NEAREST_NEIGHBOR", x.shape, [oh, ow], dtype, align, half)
    assert_same_as_litert(model, [x])


def test_resize_bilinear_int8_matches_tflite_micro():
    from tflite_micro.python.tflite_micro import runtime as tflm_rt

    rng = np.random.default_rng(11)
    for dims in SIZES[:8]:
        for align, half in RESIZE_OPTS:
            h, w, oh, ow = dims
            x = random_int(rng, (1, h, w, 2), np.int8)
            model = resize_model("RESIZE_BILINEAR", x.shape, [oh, ow], np.int8, align, half)
            tflm = tflm_rt.Interpreter.from_bytes(model, arena_size=100_000)
            tflm.set_input(x, 0)
            tflm.invoke()
            got = run_microdl(model, [x], rounding="tflm")[0]
            np.testing.assert_array_equal(got, tflm.get_output(0))


def test_resize_refusals():
    x = (1, 2, 2, 1)
    refuses(resize_model("RESIZE_BILINEAR", x, [3, 3], np.int8, True, True),
            match="both set")
    refuses(resize_model("RESIZE_BILINEAR", x, [3, 3], np.uint8, False, False),
            UnsupportedOpError)
    # A >1000x upscale: the 1/1024-step scale rounds so the last rows' lower source
    # row is past the input (LiteRT reads outside it); microdl refuses.
    refuses(resize_model("RESIZE_BILINEAR", (1, 2, 3, 1), [3000, 5], np.int8, False,
                         False), UnsupportedOpError, "would read outside")
    refuses(resize_model("RESIZE_BILINEAR", x, [3, 3], np.int32, False, False),
            UnsupportedOpError)
    refuses(op_model("RESIZE_NEAREST_NEIGHBOR", [qspec(x, np.int8), const([0, 3])],
                     [qspec((1, 0, 3, 1), np.int8)]), match="positive")
    refuses(op_model("RESIZE_NEAREST_NEIGHBOR", [qspec((2, 2, 1), np.int8), const([3, 3])],
                     [qspec((2, 3, 3), np.int8)]), match="4-D")


# ------------------------------------------------------------------------ ADD_N
@pytest.mark.parametrize("dtype", [np.int32, np.float32])
@pytest.mark.parametrize("n", [2, 3, 8, 9, 13])
def test_add_n(dtype, n):
    rng = np.random.default_rng(n)
    shape = (2, 3, 5)
    if dtype == np.int32:
        xs = [rng.integers(-2**26, 2**26, shape).astype(I32) for _ in range(n)]
        want = np.sum(xs, axis=0, dtype=np.int64).astype(I32)
    else:
        xs = [(rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4)).astype(np.float32)
              for _ in range(n)]
        xs[0][0, 0, 0], xs[1][0, 0, 0] = -0.0, -0.0
        acc = np.zeros(shape, np.float32)
        for x in xs:
            acc = (acc + x).astype(np.float32)
        want = acc
    model = op_model("ADD_N", [spec(shape, dtype) for _ in range(n)], [spec(shape, dtype)])
    check(model, xs, [want])


def test_add_n_with_a_constant_input():
    c = np.arange(6, dtype=I32).reshape(2, 3)
    x = np.full((2, 3), 7, I32)
    model = op_model("ADD_N", [spec((2, 3), I32), spec((2, 3), I32, data=c),
                               spec((2, 3), I32)], [spec((2, 3), I32)])
    check(model, [x, x], [x + c + x])


def test_add_n_refusals():
    refuses(op_model("ADD_N", [spec((2,), np.int16, scale=0.1)] * 2,
                     [spec((2,), np.int16, scale=0.1)]), UnsupportedOpError)
    refuses(op_model("ADD_N", [spec((2,), np.int8), spec((2,), np.int8)],
                     [spec((2,), np.int8)]), UnsupportedOpError, "per-tensor")
    refuses(op_model("ADD_N", [spec((2,), np.int8, scale=0.1),
                               spec((2,), np.int8, scale=0.2)],
                     [spec((2,), np.int8, scale=0.1)]), match="share one scale")
    refuses(op_model("ADD_N", [spec((2,), np.int8, scale=0.1)] * 9,
                     [spec((2,), np.int8, scale=0.1)]), UnsupportedOpError, "up to 8")
    refuses(op_model("ADD_N", [spec((2,), I32), spec((3,), I32)], [spec((2,), I32)]),
            match="shapes differ")
    refuses(op_model("ADD_N", [spec((2,), I32)], [spec((2,), I32)]), match="at least two")


# ----------------------------------------------------------------------- CUMSUM
def cumsum_ref(x, axis, exclusive, reverse):
    y = np.flip(x, axis) if reverse else x
    if x.dtype == np.float32:   # sequential float32 additions
        acc = np.zeros_like(np.take(y, [0], axis))
        parts = []
        for k in range(y.shape[axis]):
            cur = np.take(y, [k], axis)
            if exclusive:
                parts.append(acc)
                acc = (acc + cur).astype(np.float32)
            else:
                acc = (acc + cur).astype(np.float32)
                parts.append(acc)
        r = np.concatenate(parts, axis)
    else:
        r = np.cumsum(y, axis, dtype=x.dtype)
        if exclusive:
            r = np.concatenate([np.zeros_like(np.take(r, [0], axis)),
                                np.take(r, range(r.shape[axis] - 1), axis)], axis)
    return np.ascontiguousarray(np.flip(r, axis) if reverse else r)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_cumsum(dtype, exclusive, reverse, seed):
    rng = np.random.default_rng(500 + seed)
    rank = int(rng.integers(1, 5))
    shape = rand_shape(rng, rank, 1, 6)
    axis = int(rng.integers(-rank, rank))
    if dtype == np.float32:
        x = rand(rng, shape, dtype)
    else:
        x = rng.integers(-2**20, 2**20, shape).astype(dtype)
    model = op_model("CUMSUM", [spec(shape, dtype), spec((), I32, data=np.int32(axis))],
                     [spec(shape, dtype)], {"exclusive": exclusive, "reverse": reverse})
    check(model, [x], [cumsum_ref(x, axis % rank, exclusive, reverse)])


def test_cumsum_refusals():
    refuses(op_model("CUMSUM", [spec((2, 3), np.int16, scale=0.1),
                                spec((), I32, data=np.int32(0))],
                     [spec((2, 3), np.int16, scale=0.1)]), UnsupportedOpError)
    refuses(op_model("CUMSUM", [spec((2, 3), I32), spec((), I32, data=np.int32(2))],
                     [spec((2, 3), I32)]), match="axis 2")
    refuses(op_model("CUMSUM", [spec((2, 3), I32), spec((), I32)], [spec((2, 3), I32)]),
            UnsupportedOpError)


# ------------------------------------------------------- resize_tensor_input
@pytest.mark.parametrize("name,inputs,outputs,options,new_shape,fn", [
    ("MIRROR_PAD", [qspec((1, 3, 4), np.int8), const([(0, 0), (2, 1), (1, 1)])],
     [qspec((1, 6, 6), np.int8)], {"mode": 0}, (3, 3, 4),
     lambda x: np.pad(x, [(0, 0), (2, 1), (1, 1)], mode="reflect")),
    ("RESIZE_BILINEAR", [qspec((1, 3, 4, 2), np.int8), const([5, 2])],
     [qspec((1, 5, 2, 2), np.int8)], {}, (2, 3, 4, 2),
     lambda x: bilinear_int_ref(x, (5, 2), False, False)),
    ("RESIZE_NEAREST_NEIGHBOR", [qspec((1, 3, 4, 2), np.int16), const([5, 2])],
     [qspec((1, 5, 2, 2), np.int16)], {"half_pixel_centers": True}, (4, 3, 4, 2),
     lambda x: nearest_ref(x, (5, 2), False, True)),
    ("SPACE_TO_BATCH_ND", [qspec((1, 4, 4, 1), np.int8), const([2, 2]),
                           const([(0, 0), (0, 0)])],
     [qspec((4, 2, 2, 1), np.int8)], {}, (2, 4, 4, 1),
     lambda x: space_to_batch_ref(x, [2, 2], [(0, 0), (0, 0)], 3)),
    ("CUMSUM", [spec((1, 5), I32), spec((), I32, data=np.int32(1))],
     [spec((1, 5), I32)], {}, (3, 5), lambda x: np.cumsum(x, 1, dtype=I32)),
    ("CAST", [spec((1, 5), np.int16)], [spec((1, 5), np.float32)], {}, (2, 5),
     lambda x: x.astype(np.float32)),
])
def test_outputs_follow_an_input_resize(name, inputs, outputs, options, new_shape, fn):
    """The shape rules of microdl.runtime.shapeinfer: a new batch propagates."""
    rng = np.random.default_rng(3)
    model = op_model(name, inputs, outputs, options)
    it = Interpreter(model_content=model)
    it.resize_tensor_input(0, list(new_shape))
    it.allocate_tensors()
    dtype = np.dtype(inputs[0]["dtype"])
    x = random_int(rng, new_shape, dtype) if dtype != I32 else \
        rng.integers(-1000, 1000, new_shape).astype(I32)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    got = it.get_tensor(it.get_output_details()[0]["index"])
    np.testing.assert_array_equal(got, fn(x))


def test_gather_nd_computed_indices_into_constant_params():
    params = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    idx = np.array([[1, 2], [0, 0], [1, 0]], I32)
    model = op_model("GATHER_ND", [spec(params.shape, np.float32, data=params),
                                   spec(idx.shape, I32)], [spec((3, 4), np.float32)])
    check(model, [idx], [params[idx[:, 0], idx[:, 1]]])


# ------------------------------------------- int8 ADD_N / CUMSUM (TFLite Micro only)
def tflm_run(model, inputs):
    from tflite_micro.python.tflite_micro import runtime as tflm_rt

    it = tflm_rt.Interpreter.from_bytes(model, arena_size=200_000)
    for k, x in enumerate(inputs):
        it.set_input(x, k)
    it.invoke()
    return it.get_output(0)


def int8_sum_ref(parts, s_in, zp_in, s_out, zp_out):
    """TFLite Micro's int8 sum, re-derived: each term (v - zp) * 2^20 times Q31(1/2),
    the sum started from the term of v = 0, requantized by Q31(2 s_in / (2^20 s_out));
    `parts` is a list of int8 arrays (one per summand), summed in order."""
    in_m, in_s = quantize_multiplier(0.5)
    out_m, out_s = quantize_multiplier(2 * s_in / ((1 << 20) * s_out))

    def term(v):
        return requantize_smaller_than_one((np.asarray(v, np.int64) - zp_in) << 20,
                                           in_m, in_s)
    acc = term(np.zeros_like(parts[0]))
    outs = []
    for v in parts:
        acc = acc + term(v)
        outs.append(np.clip(requantize_smaller_than_one(acc, out_m, out_s) + zp_out,
                            -128, 127).astype(np.int8))
    return outs


@pytest.mark.parametrize("n", [2, 3, 5, 8])
@pytest.mark.parametrize("scales", [(0.05, 3, 0.1, -5), (0.02, -128, 0.02, -128),
                                    (0.1, 127, 0.3, 0)])
def test_add_n_int8_matches_tflite_micro(n, scales):
    s_in, zp_in, s_out, zp_out = scales
    rng = np.random.default_rng(n)
    xs = [random_int(rng, (3, 7), np.int8) for _ in range(n)]
    xs[0][0, :] = -128
    xs[1][0, :] = 127
    model = op_model("ADD_N", [spec((3, 7), np.int8, scale=s_in, zero_point=zp_in)] * n,
                     [spec((3, 7), np.int8, scale=s_out, zero_point=zp_out)])
    want = tflm_run(model, xs)
    np.testing.assert_array_equal(want, int8_sum_ref(xs, s_in, zp_in, s_out, zp_out)[-1])
    for rounding in ("tflm", "litert"):
        np.testing.assert_array_equal(run_microdl(model, xs, rounding=rounding)[0], want)


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_cumsum_int8_matches_tflite_micro(exclusive, reverse, seed):
    rng = np.random.default_rng(600 + seed)
    rank = int(rng.integers(1, 4))
    shape = rand_shape(rng, rank, 1, 6)
    axis = int(rng.integers(-rank, rank))
    s_in, zp_in, s_out, zp_out = [(0.05, 3, 0.2, -7), (0.01, -20, 0.05, 10),
                                  (0.1, 0, 0.1, 0)][seed]
    x = random_int(rng, shape, np.int8)
    model = op_model("CUMSUM", [spec(shape, np.int8, scale=s_in, zero_point=zp_in),
                                spec((), I32, data=np.int32(axis))],
                     [spec(shape, np.int8, scale=s_out, zero_point=zp_out)],
                     {"exclusive": exclusive, "reverse": reverse})
    want = tflm_run(model, [x])
    a = axis % rank
    y = np.flip(x, a) if reverse else x
    parts = [np.take(y, k, a) for k in range(y.shape[a])]
    if exclusive:   # the sum of the elements before: a first summand of value zp
        parts = [np.full_like(parts[0], zp_in)] + parts[:-1]
    ref = np.stack(int8_sum_ref(parts, s_in, zp_in, s_out, zp_out), a)
    np.testing.assert_array_equal(want, np.flip(ref, a) if reverse else ref)
    for rounding in ("tflm", "litert"):
        np.testing.assert_array_equal(run_microdl(model, [x], rounding=rounding)[0], want)


# ------------------------------------------------------------- bad models
@pytest.mark.parametrize("name,inputs,outputs,options,exc,match", [
    ("MIRROR_PAD", [qspec((3, 2), np.int8), const([[1, 1]])], [qspec((5, 2), np.int8)],
     {"mode": 0}, ModelError, "expected"),
    ("MIRROR_PAD", [qspec((3, 2), np.int8), spec((2, 2), I32)], [qspec((5, 2), np.int8)],
     {"mode": 0}, UnsupportedOpError, "must be constant"),
    ("MIRROR_PAD", [qspec((3,), np.int8), const([[1.0, 1.0]], np.float32)],
     [qspec((5,), np.int8)], {"mode": 0}, UnsupportedOpError, "float32"),
    ("SPACE_TO_BATCH_ND", [qspec((1, 4, 4, 1), np.int8), const([2]),
                           const([(0, 0)])], [qspec((2, 2, 4, 1), np.int8)], {},
     ModelError, "needs 2 entries"),
    ("SPACE_TO_BATCH_ND", [qspec((1, 4, 4, 1), np.int8), const([0, 2]),
                           const([(0, 0), (0, 0)])], [qspec((0, 2, 2, 1), np.int8)], {},
     ModelError, ">= 1"),
    ("SPACE_TO_BATCH_ND", [qspec((1, 128, 128, 1), np.int8), const([128, 128]),
                           const([(0, 0), (0, 0)])], [qspec((16384, 1, 1, 1), np.int8)],
     {}, UnsupportedOpError, "block positions"),
    ("BATCH_TO_SPACE_ND", [qspec((4, 2, 2, 1), np.int8), spec((2,), I32),
                           const([(0, 0), (0, 0)])], [qspec((1, 4, 4, 1), np.int8)], {},
     UnsupportedOpError, "must be constant"),
    ("GATHER_ND", [qspec((4, 3), np.int8), spec((2, 1), np.float32)],
     [qspec((2, 3), np.int8)], {}, UnsupportedOpError, "float32"),
    ("GATHER_ND", [qspec((4, 3), np.int8), spec((2, 1), I32)],
     [qspec((2, 4), np.int8)], {}, ModelError, "shape"),
    ("GATHER_ND", [qspec((4, 3), np.int8), spec((2, 1), I32)],
     [qspec((2, 3), np.int16)], {}, ModelError, "int16"),
    ("RESIZE_BILINEAR", [qspec((1, 2, 2, 1), np.int8), const([3, 3, 3])],
     [qspec((1, 3, 3, 1), np.int8)], {}, ModelError, "two positive"),
    ("RESIZE_BILINEAR", [qspec((1, 2, 2, 1), np.int8), spec((2,), I32)],
     [qspec((1, 3, 3, 1), np.int8)], {}, UnsupportedOpError, "must be constant"),
    ("CAST", [spec((2,), np.int8)], [spec((2,), np.float16)], {}, UnsupportedOpError,
     "float16"),
    ("CUMSUM", [spec((2, 3), I32), spec((2,), I32, data=np.array([0, 1], I32))],
     [spec((2, 3), I32)], {}, ModelError, "one element"),
    ("ADD_N", [spec((2,), I32), spec((2,), np.float32)], [spec((2,), I32)], {},
     ModelError, "float32"),
])
def test_bad_models_raise_clear_errors(name, inputs, outputs, options, exc, match):
    refuses(op_model(name, inputs, outputs, options), exc, match)
