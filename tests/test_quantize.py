"""QUANTIZE and DEQUANTIZE against LiteRT's reference kernels and the numpy reference
(microdl/reference/activations.py): float rounding (exact .5 ties, saturation, NaN,
infinities, -0.0), integer requantization between int8 / int16 / int32."""
import numpy as np
import pytest

from microdl.core.errors import UnsupportedOpError
from microdl.reference import activations as ref
from tests.oplib import (assert_same_as_litert, op_model, random_int, run_litert, run_microdl,
                         spec)

F32 = np.float32


def _float_inputs(rng, n, scale, zero_point):
    """Random floats over and beyond the quantized range, exact ties, specials."""
    x = (rng.standard_normal(n) * scale * 150).astype(F32)
    k = rng.integers(-200, 200, n // 4) - zero_point
    x[: n // 4] = ((k + 0.5) * F32(scale)).astype(F32)            # k + 0.5 ties
    x[n // 4: n // 2] = ((k - 0.5) * F32(scale)).astype(F32)
    x[n // 2: n // 2 + 40] = (rng.standard_normal(40) * scale * 1e7).astype(F32)
    x[-12:] = [np.inf, -np.inf, np.nan, 3e38, -3e38, 0.0, -0.0,
               F32(scale) * F32(2.0 ** 31), -F32(scale) * F32(2.0 ** 31),
               F32(scale) * F32(0.49999997), F32(scale) * F32(-0.49999997),
               F32(scale) * F32(8388607.5)]
    return x


@pytest.mark.parametrize("out_dtype", [np.int8, np.int16])
@pytest.mark.parametrize("seed", range(4))
def test_quantize_float_matches_litert(out_dtype, seed):
    rng = np.random.default_rng(seed + (100 if out_dtype == np.int16 else 0))
    for _ in range(4):
        scale = float(F32(10 ** rng.uniform(-5, 2)))
        zp = int(rng.integers(-128, 128)) if out_dtype == np.int8 else \
            int(rng.choice([0, int(rng.integers(-3000, 3000))]))
        model = op_model("QUANTIZE", [spec((3, 200), np.float32)],
                         [spec((3, 200), out_dtype, scale=scale, zero_point=zp)])
        x = _float_inputs(rng, 600, scale, zp).reshape(3, 200)
        want, = run_litert(model, [x])
        for rounding in ("single", "double"):
            np.testing.assert_array_equal(run_microdl(model, [x], rounding=rounding)[0],
                                          want)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(ref.quantize_f32(x, scale, zp, out_dtype),
                                          want)


REQUANT = [(np.int8, np.int8), (np.int16, np.int8), (np.int16, np.int16),
           (np.int32, np.int8), (np.int32, np.int16), (np.int16, np.int32)]


def _int_inputs(rng, dtype, n):
    if dtype == np.int32:
        x = rng.integers(-300000, 300000, n).astype(np.int32)
        x[:4] = [-(1 << 31), (1 << 31) - 1, 0, -1]
        return x
    return random_int(rng, (n,), dtype)


@pytest.mark.parametrize("in_dtype,out_dtype", REQUANT)
def test_requantize_matches_litert(in_dtype, out_dtype):
    rng = np.random.default_rng(REQUANT.index((in_dtype, out_dtype)))
    for k in range(8):
        out_s = float(F32(10 ** rng.uniform(-4, 0)))
        spread = 3.0 if k >= 6 else 1.5  # also ratios far from 1 (saturating)
        in_s = float(F32(out_s * 10 ** rng.uniform(-spread, spread)))
        in_zp = {np.int8: int(rng.integers(-128, 128)), np.int16: 0,
                 np.int32: int(rng.integers(-5000, 5000))}[in_dtype]
        if in_dtype == np.int16 and out_dtype != np.int16 and k % 2:
            in_zp = int(rng.integers(-300, 300))
        out_zp = int(rng.integers(-128, 128)) if out_dtype == np.int8 else 0
        model = op_model("QUANTIZE",
                         [spec((500,), in_dtype, scale=in_s, zero_point=in_zp)],
                         [spec((500,), out_dtype, scale=out_s, zero_point=out_zp)])
        x = _int_inputs(rng, in_dtype, 500)
        want, = run_litert(model, [x])
        for rounding in ("single", "double"):
            np.testing.assert_array_equal(run_microdl(model, [x], rounding=rounding)[0],
                                          want)
        np.testing.assert_array_equal(
            ref.requantize(x, in_s, in_zp, out_s, out_zp, out_dtype,
                           ref.ROUNDING_DOUBLE), want)


@pytest.mark.parametrize("out_dtype", [np.int16, np.int32])
def test_int8_to_wider_matches_reference(out_dtype):
    """LiteRT 2.3 refuses int8 -> int16 / int32; TFLite Micro runs them with the same
    Requantize, checked against the numpy reference."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        in_s = float(F32(rng.uniform(0.01, 1)))
        out_s = float(F32(rng.uniform(1e-4, 0.1)))
        in_zp, out_zp = int(rng.integers(-128, 128)), int(rng.integers(-100, 100))
        model = op_model("QUANTIZE",
                         [spec((256,), np.int8, scale=in_s, zero_point=in_zp)],
                         [spec((256,), out_dtype, scale=out_s, zero_point=out_zp)])
        x = np.arange(-128, 128, dtype=np.int8)
        got, = run_microdl(model, [x], rounding="double")
        np.testing.assert_array_equal(
            got, ref.requantize(x, in_s, in_zp, out_s, out_zp, out_dtype,
                                ref.ROUNDING_DOUBLE))


@pytest.mark.parametrize("in_dtype", [np.int8, np.int16])
def test_dequantize_matches_litert(in_dtype):
    rng = np.random.default_rng(11 if in_dtype == np.int8 else 12)
    for _ in range(8):
        scale = float(F32(10 ** rng.uniform(-6, 3)))
        zp = int(rng.integers(-128, 128)) if in_dtype == np.int8 else 0
        model = op_model("DEQUANTIZE", [spec((2, 3, 50), in_dtype, scale=scale,
                                             zero_point=zp)],
                         [spec((2, 3, 50), np.float32)])
        x = random_int(rng, (2, 3, 50), in_dtype)
        x.flat[:2] = [np.iinfo(in_dtype).min, np.iinfo(in_dtype).max]
        want, = run_litert(model, [x])
        got, = run_microdl(model, [x])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
        np.testing.assert_array_equal(ref.dequantize(x, scale, zp).view(np.int32),
                                      want.view(np.int32))


def test_quantize_dequantize_chain():
    """A float -> int8 -> float model (two ops) matches LiteRT."""
    from microdl.core.graph import Graph, Op, Quantization, Tensor
    from microdl.tflite.writer import write_model
    q = Quantization(np.array([0.02], F32), np.array([-3], np.int64), 0)
    tensors = [Tensor(0, "x", np.dtype(np.float32), (4, 25), (4, 25)),
               Tensor(1, "q", np.dtype(np.int8), (4, 25), (4, 25), quant=q),
               Tensor(2, "y", np.dtype(np.float32), (4, 25), (4, 25))]
    ops = [Op(0, "QUANTIZE", 1, [0], [1]), Op(1, "DEQUANTIZE", 1, [1], [2])]
    model = write_model(Graph(tensors, ops, [0], [2]))
    rng = np.random.default_rng(0)
    x = _float_inputs(rng, 100, 0.02, -3).reshape(4, 25)
    want, = run_litert(model, [x])
    got, = run_microdl(model, [x])
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


@pytest.mark.parametrize("op,ins,outs", [
    ("QUANTIZE", spec((4,), np.float32), spec((4,), np.int32, scale=0.1)),
    ("QUANTIZE", spec((4,), np.float32),
     spec((4,), np.uint8, scale=0.1, zero_point=128)),
    ("QUANTIZE", spec((4,), np.float32),
     spec((4,), np.int8, scales=[0.1, 0.2, 0.1, 0.3], zero_points=[0, 0, 0, 0])),
    ("QUANTIZE", spec((4,), np.int32, scale=0.1), spec((4,), np.int32, scale=0.2)),
    ("QUANTIZE", spec((4,), np.int16, scale=0.1, zero_point=2),
     spec((4,), np.int16, scale=0.2)),
    ("QUANTIZE", spec((4,), np.int8, scale=1e10), spec((4,), np.int8, scale=1.0)),
    ("DEQUANTIZE", spec((4,), np.int16, scale=0.1, zero_point=5),
     spec((4,), np.float32)),
    ("DEQUANTIZE", spec((4,), np.uint8, scale=0.1, zero_point=5),
     spec((4,), np.float32)),
    ("DEQUANTIZE", spec((4,), np.float16), spec((4,), np.float32)),
    ("DEQUANTIZE", spec((4,), np.int8, scale=0.1), spec((4,), np.int16)),
])
def test_unsupported(op, ins, outs):
    model = op_model(op, [ins], [outs])
    with pytest.raises(UnsupportedOpError):
        run_microdl(model, [np.zeros(ins["shape"], ins["dtype"])])


@pytest.mark.parametrize("src,dst", [(np.uint8, np.int8), (np.int8, np.uint8),
                                     (np.uint8, np.uint8)])
def test_quantize_uint8_interfaces_match_litert(src, dst):
    rng = np.random.default_rng(11)
    for _ in range(4):
        in_scale = float(rng.uniform(0.01, 0.2))
        same = rng.random() < 0.5
        out_scale = in_scale if same else float(rng.uniform(0.01, 0.2))
        lo_in = 0 if src == np.uint8 else -128
        lo_out = 0 if dst == np.uint8 else -128
        in_zp = int(rng.integers(lo_in, lo_in + 256))
        out_zp = in_zp + (lo_out - lo_in) if same else int(rng.integers(lo_out, lo_out + 256))
        model = op_model("QUANTIZE", [spec((2, 130), src, scale=in_scale, zero_point=in_zp)],
                         [spec((2, 130), dst, scale=out_scale, zero_point=out_zp)])
        x = np.arange(260).reshape(2, 130).astype(np.uint8).view(np.dtype(src))
        assert_same_as_litert(model, [x])
