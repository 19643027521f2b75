"""AVERAGE_POOL_2D, MAX_POOL_2D and MEAN (int8, int16) against LiteRT's reference
kernels and the numpy reference (microdl.reference.pooling)."""
import zlib

import numpy as np
import pytest

from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.fixedpoint import ROUNDING_SINGLE
from microdl.reference import pooling as ref
from tests.oplib import (assert_same_as_litert, op_model, random_int, run_litert,
                         run_microdl, spec)

SAME, VALID = 0, 1
PADDING_NAME = {SAME: "SAME", VALID: "VALID"}
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3
POOLS = ["AVERAGE_POOL_2D", "MAX_POOL_2D"]


def seed(*key):
    return zlib.crc32(repr(key).encode())


def act_range(act, scale, zp, dtype):
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


# ------------------------------------------------------------------- pooling
def pool_model(op, shape, filt, stride, padding, act=ACT_NONE, dtype=np.int8,
               scale=0.05, zp=0, out_scale=None, out_zp=None, version=None):
    n, h, w, c = shape
    oh, _ = ref.pool_output_and_padding(h, filt[0], stride[0], PADDING_NAME[padding])
    ow, _ = ref.pool_output_and_padding(w, filt[1], stride[1], PADDING_NAME[padding])
    out_scale = scale if out_scale is None else out_scale
    out_zp = zp if out_zp is None else out_zp
    options = {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
               "filter_height": filt[0], "filter_width": filt[1],
               "fused_activation_function": act}
    if version is None:
        version = 2 if dtype == np.int8 else 3
    return op_model(op, [spec(shape, dtype, scale=scale, zero_point=zp)],
                    [spec((n, oh, ow, c), dtype, scale=out_scale, zero_point=out_zp)],
                    options, version=version)


def check_pool(op, shape, filt, stride, padding, act, rng, dtype=np.int8, zp=0,
               scale=0.05):
    model = pool_model(op, shape, filt, stride, padding, act, dtype, scale=scale, zp=zp)
    x = random_int(rng, shape, dtype)
    assert_same_as_litert(model, [x])
    lo, hi = act_range(act, scale, zp, dtype)
    fn = ref.average_pool if op == "AVERAGE_POOL_2D" else ref.max_pool
    want = fn(x, filt, stride, PADDING_NAME[padding], lo, hi)
    np.testing.assert_array_equal(run_microdl(model, [x])[0], want)


GEOMETRIES = [(padding, hw, filt, stride)
              for padding in (SAME, VALID)
              for hw in ((5, 5), (6, 6), (7, 4), (1, 9))
              for filt, stride in (((2, 2), (2, 2)), ((3, 3), (1, 1)), ((3, 2), (2, 1)),
                                   ((1, 1), (2, 2)))
              if padding == SAME or (filt[0] <= hw[0] and filt[1] <= hw[1])]


@pytest.mark.parametrize("op", POOLS)
@pytest.mark.parametrize("padding,hw,filt,stride", GEOMETRIES)
def test_pool_geometries(op, padding, hw, filt, stride):
    filt_stride = (filt, stride)
    rng = np.random.default_rng(seed(op, padding, hw, filt_stride))
    check_pool(op, (2,) + hw + (3,), filt, stride, padding, ACT_NONE, rng,
               zp=int(rng.integers(-128, 128)))


@pytest.mark.parametrize("op", POOLS)
@pytest.mark.parametrize("channels", [1, 3, 7, 17, 33])
def test_pool_channels_zero_points_activations(op, channels):
    rng = np.random.default_rng(seed(op, channels))
    for zp, act in ((-128, ACT_NONE), (127, ACT_RELU), (0, ACT_RELU6),
                    (-5, ACT_RELU_N1_TO_1)):
        scale = 0.02 if act == ACT_RELU_N1_TO_1 else 0.05
        check_pool(op, (1, 8, 7, channels), (3, 3), (2, 2), SAME, act, rng, zp=zp,
                   scale=scale)


@pytest.mark.parametrize("op", POOLS)
@pytest.mark.parametrize("shape", [(1, 8, 8, 64), (1, 25, 5, 64), (1, 3, 3, 256),
                                   (2, 3, 3, 17), (1, 1, 1, 7),
                                   # around the average kernel's 256-channel blocks
                                   (1, 4, 3, 255), (1, 3, 4, 257), (2, 2, 2, 513)])
def test_global_pool(op, shape):
    """Filter == input size (MLPerf Tiny's ResNet-8 and DS-CNN heads)."""
    rng = np.random.default_rng(seed(op, shape))
    for padding in (VALID, SAME):
        check_pool(op, shape, shape[1:3], (1, 1), padding, ACT_NONE, rng,
                   zp=int(rng.integers(-128, 128)))
    # Global pooling with the stride equal to the window, as some converters emit.
    check_pool(op, shape, shape[1:3], shape[1:3], VALID, ACT_NONE, rng)


@pytest.mark.parametrize("op", POOLS)
def test_pool_random(op):
    rng = np.random.default_rng(seed(op, "random"))
    for _ in range(30):
        h, w = (int(v) for v in rng.integers(1, 12, 2))
        padding = int(rng.integers(0, 2))
        fh = int(rng.integers(1, h + 1 if padding == VALID else h + 3))
        fw = int(rng.integers(1, w + 1 if padding == VALID else w + 3))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        shape = (int(rng.integers(1, 3)), h, w, int(rng.choice([1, 3, 7, 17])))
        act = int(rng.choice([ACT_NONE, ACT_RELU, ACT_RELU6]))
        check_pool(op, shape, (fh, fw), stride, padding, act, rng,
                   zp=int(rng.integers(-128, 128)))


@pytest.mark.parametrize("op", POOLS)
def test_pool_int16(op):
    rng = np.random.default_rng(seed(op, "s16"))
    for shape, filt, stride, padding in (((1, 9, 9, 5), (3, 3), (2, 2), SAME),
                                         ((2, 6, 5, 3), (2, 3), (1, 2), VALID),
                                         ((1, 5, 4, 8), (5, 4), (1, 1), VALID)):
        for act in (ACT_NONE, ACT_RELU):
            check_pool(op, shape, filt, stride, padding, act, rng, dtype=np.int16,
                       scale=0.001)


def test_average_rounding_ties():
    """Exact halves round away from zero: +-0.5 -> +-1, +-1.5 -> +-2."""
    x = np.array([1, 0, -1, 0, 3, 0, -3, 0], np.int8).reshape(1, 1, 8, 1)
    model = pool_model("AVERAGE_POOL_2D", (1, 1, 8, 1), (1, 2), (1, 2), VALID)
    want, = run_litert(model, [x])
    np.testing.assert_array_equal(want.ravel(), [1, -1, 2, -2])
    np.testing.assert_array_equal(run_microdl(model, [x])[0], want)


def test_pool_requantizing_unsupported():
    model = pool_model("AVERAGE_POOL_2D", (1, 4, 4, 2), (2, 2), (2, 2), VALID,
                       scale=0.05, zp=0, out_scale=0.1, out_zp=0)
    with pytest.raises(UnsupportedOpError):
        run_microdl(model, [np.zeros((1, 4, 4, 2), np.int8)])
    model = pool_model("MAX_POOL_2D", (1, 4, 4, 2), (2, 2), (2, 2), VALID, zp=0, out_zp=3)
    with pytest.raises(UnsupportedOpError):
        run_microdl(model, [np.zeros((1, 4, 4, 2), np.int8)])


def test_pool_bad_models():
    model = op_model("MAX_POOL_2D", [spec((4, 4, 2), scale=0.1)],
                     [spec((2, 2, 2), scale=0.1)],
                     {"padding": VALID, "stride_h": 2, "stride_w": 2, "filter_height": 2,
                      "filter_width": 2}, version=2)
    with pytest.raises(ModelError):
        run_microdl(model, [np.zeros((4, 4, 2), np.int8)])
    model = op_model("MAX_POOL_2D", [spec((1, 4, 4, 2), scale=0.1)],
                     [spec((1, 3, 3, 2), scale=0.1)],
                     {"padding": VALID, "stride_h": 2, "stride_w": 2, "filter_height": 2,
                      "filter_width": 2}, version=2)
    with pytest.raises(ModelError):
        run_microdl(model, [np.zeros((1, 4, 4, 2), np.int8)])
    with pytest.raises(UnsupportedOpError):
        run_microdl(pool_model("MAX_POOL_2D", (1, 4, 4, 2), (2, 2), (2, 2), VALID,
                               version=4), [np.zeros((1, 4, 4, 2), np.int8)])


# ---------------------------------------------------------------------- MEAN
def mean_model(shape, axes, keep_dims, q, dtype=np.int8, axes_const=True):
    (s_in, z_in), (s_out, z_out) = q
    ax = sorted({a % len(shape) for a in axes})
    if keep_dims:
        out = tuple(1 if d in ax else n for d, n in enumerate(shape))
    else:
        out = tuple(n for d, n in enumerate(shape) if d not in ax)
    axes = np.array(axes, np.int32)
    return op_model("MEAN", [spec(shape, dtype, scale=s_in, zero_point=z_in),
                             spec(axes.shape, np.int32, data=axes if axes_const else None)],
                    [spec(out, dtype, scale=s_out, zero_point=z_out)],
                    {"keep_dims": keep_dims}, version=2)


def random_mean_quant(rng, dtype, same=False):
    s_in = float(rng.uniform(0.01, 0.1))
    s_out = s_in if same else float(rng.uniform(0.005, 0.1))
    if dtype == np.int16:
        return (s_in / 100, 0), (s_out / 100, 0)
    z_in = int(rng.integers(-128, 128))
    z_out = z_in if same else int(rng.integers(-128, 128))
    return (s_in, z_in), (s_out, z_out)


def check_mean(shape, axes, keep_dims, q, rng, dtype=np.int8):
    model = mean_model(shape, axes, keep_dims, q, dtype)
    x = random_int(rng, shape, dtype)
    assert_same_as_litert(model, [x])
    (s_in, z_in), (s_out, z_out) = q
    want = ref.mean(x, axes, keep_dims, s_in, z_in, s_out, z_out)
    got, = run_microdl(model, [x])
    np.testing.assert_array_equal(got, want)
    return x, model


@pytest.mark.parametrize("shape", [(1, 8, 8, 64), (1, 5, 5, 3), (2, 6, 4, 17),
                                   (1, 1, 1, 33), (1, 25, 5, 7)])
@pytest.mark.parametrize("keep_dims", [True, False])
@pytest.mark.parametrize("same", [True, False])
def test_mean_global_average(shape, keep_dims, same):
    """MEAN over H, W: the global-average-pool pattern."""
    rng = np.random.default_rng(seed(shape, keep_dims, same))
    for axes in ([1, 2], [2, 1]):
        check_mean(shape, axes, keep_dims, random_mean_quant(rng, np.int8, same), rng)


def test_mean_general_axes():
    rng = np.random.default_rng(seed("mean axes"))
    for _ in range(40):
        rank = int(rng.integers(1, 6))
        shape = tuple(int(v) for v in rng.integers(1, 7, rank))
        n_axes = int(rng.integers(1, rank + 1))
        axes = sorted(rng.choice(rank, n_axes, replace=False).tolist())
        if rng.random() < 0.3:
            axes = [a - rank for a in axes]
        if rng.random() < 0.2:
            axes = axes + axes[:1]  # repeated axis
        keep_dims = bool(rng.integers(0, 2))
        check_mean(shape, axes, keep_dims,
                   random_mean_quant(rng, np.int8, bool(rng.random() < 0.3)), rng)


def test_mean_int16():
    rng = np.random.default_rng(seed("mean s16"))
    for shape, axes, keep in (((1, 6, 5, 8), [1, 2], True), ((3, 7), [0], False),
                              ((2, 3, 4), [-1, 0], True)):
        check_mean(shape, axes, keep, random_mean_quant(rng, np.int16), rng,
                   dtype=np.int16)


def test_mean_double_rounding_like_litert():
    """LiteRT 2.3's MEAN requantizes with double rounding: on ties the single-rounding
    reference disagrees with LiteRT and the double one agrees."""
    rng = np.random.default_rng(3)
    q = ((0.05, 0), (0.05, 0))
    n = 4
    sums = np.arange(-3 * n, 3 * n + 1)
    x = np.zeros((len(sums), n), np.int8)
    for i, s in enumerate(sums):  # rows with every sum; many exact halves
        row = np.full(n, abs(s) // n)
        row[:abs(s) % n] += 1
        x[i] = np.sign(s) * row
    model = mean_model(x.shape, [1], False, q)
    want, = run_litert(model, [x])
    np.testing.assert_array_equal(run_microdl(model, [x])[0], want)
    np.testing.assert_array_equal(ref.mean(x, [1], False, 0.05, 0, 0.05, 0), want)
    single = ref.mean(x, [1], False, 0.05, 0, 0.05, 0, rounding=ROUNDING_SINGLE)
    assert not np.array_equal(single, want)
    check_mean((1, 4, 4, 9), [1, 2], True, random_mean_quant(rng, np.int8), rng)


def test_mean_rejections():
    q = ((0.05, 0), (0.05, 0))
    with pytest.raises(UnsupportedOpError):  # axes must be constant
        run_microdl(mean_model((1, 4, 4, 2), [1, 2], True, q, axes_const=False),
                    [np.zeros((1, 4, 4, 2), np.int8), np.array([1, 2], np.int32)])
    with pytest.raises(UnsupportedOpError):  # int16 zero points must be 0
        run_microdl(mean_model((2, 3), [1], False, ((0.01, 2), (0.01, 0)), np.int16),
                    [np.zeros((2, 3), np.int16)])
    model = op_model("MEAN", [spec((2, 3), scale=0.1),
                              spec((1,), np.int32, data=np.array([2], np.int32))],
                     [spec((2,), scale=0.1)], {"keep_dims": False}, version=2)
    with pytest.raises(ModelError):  # axis out of range
        run_microdl(model, [np.zeros((2, 3), np.int8)])
