"""Each microkernel of conv_s8_fast (cext/src/ukernels/, declared in
cext/include/mdl_ukernels.h) on its own, XNNPACK-tester style: every SIMD microkernel
against its portable C twin, and every microkernel against the numpy reference
(microdl.reference.conv.conv2d), over shapes just below, at and above its tiles.

How one microkernel is isolated: the conv_s8_fast operator runs exactly the
microkernels that its variant fields name (mdl_conv.h: `lanes` the GEMM, `im2col`,
`fused_rq`), so a one-op CONV_2D model whose prepared node has those fields forced runs
one chosen pipeline of microkernels.  Two pipelines that differ in one microkernel hold
that microkernel to its twin; block_pixels, the number of patches (GEMM rows) per
microkernel call, is forced to 1..5 around the 2- and 4-patch register tiles.  The
variants are forced the way prepare chooses them (MICRODL_PORTABLE_KERNELS,
_LANES_MAX_K) plus the new fields set on the prepared node, with the scratch re-sized
by the C buffer-size query.

    pipeline           im2col              GEMM                    requantization
    dot4               s8-im2col-pixel-c   s8-gemm-dot4-c          s32-requant-rows-c
    lanes16-c          s8-im2col-pixel-c   s8-gemm-lanes16-c       s32-requant-rows-c
    lanes16-avx2       s8-im2col-pixel-c   s8-gemm-lanes16-avx2    s32-requant-rows-c
    lanes16-rq-avx2    s8-im2col-pixel-c   s8-gemm-lanes16-rq-avx2 (fused)
    row16 + lanes16-c  s8-im2col-row16-avx2 s8-gemm-lanes16-c     s32-requant-rows-c
    row16 + rq-avx2    s8-im2col-row16-avx2 s8-gemm-lanes16-rq-avx2 (fused)
    c4-rq-vnni         s8-im2col-pixel8u-avx2, s8-pack-lanes16c4u-avx512vnni,
                       s8-gemm-lanes16c4-rq-avx512vnni (fused)

fused_rq 1 (prepare's choice) runs the AVX512-VNNI pipeline where the CPU has it (K
rounded up to 4 at most 2048), else the AVX2 one; fused_rq MDL_CONV_S8_FAST_RQ_INT16
(2) forces the AVX2 int16 one.  On a CPU without AVX2 the operator runs the portable
twins instead; the AVX2 (AVX512-VNNI) comparisons are then skipped."""
import platform
import zlib
from dataclasses import replace

import numpy as np
import pytest

from microdl.core import shapes
from microdl.core.fixedpoint import ROUNDING_DOUBLE, ROUNDING_SINGLE
from microdl.reference import conv as R
from microdl.runtime import cparams
from microdl.runtime._engine import KernelError, build_info
from microdl.runtime.ops import conv as conv_ops
from tests.oplib import op_model, random_int, run_litert, run_microdl, spec

PORTABLE_ENV = "MICRODL_PORTABLE_KERNELS"
REFERENCE_ENV = "MICRODL_REFERENCE_KERNELS"
PADDING = {"SAME": 0, "VALID": 1}
C = cparams.C
ROWS, LANES, LANES_C = C["CONV_FAST_ROWS"], C["CONV_FAST_LANES"], C["CONV_FAST_LANES_C"]
PIXEL, ROW16 = C["CONV_S8_FAST_IM2COL_PIXEL"], C["CONV_S8_FAST_IM2COL_ROW16"]
IM2COL_ROWS = C["CONV_S8_FAST_IM2COL_ROWS"]
RQ_INT16 = C["CONV_S8_FAST_RQ_INT16"]

# pipeline name -> (lanes, im2col, fused_rq, needs AVX2 to run as named)
PIPELINES = {
    "dot4": (ROWS, PIXEL, 0, False),
    "lanes16-c": (LANES_C, PIXEL, 0, False),
    "lanes16-avx2": (LANES, PIXEL, 0, True),
    "lanes16-rq-avx2": (LANES, PIXEL, RQ_INT16, True),
    "row16+lanes16-c": (LANES_C, ROW16, 0, True),
    "row16+rq-avx2": (LANES, ROW16, RQ_INT16, True),
    "c4-rq-vnni": (LANES, PIXEL, 1, True),
    "rows+igemm-rq-avx2": (LANES, IM2COL_ROWS, RQ_INT16, True),
}
HAVE_AVX2 = build_info()["cpu_uses_avx2"]
HAVE_VNNI = build_info()["cpu_uses_avx512vnni"]
# cext/include/mdl_fixedpoint.h MDL_F64_OUT_OF_RANGE_IS_MIN: x86's double -> int32
# conversion of an out-of-range value (LiteRT's FULLY_CONNECTED cast gives it there).
F64_OUT_OF_RANGE_IS_MIN = platform.machine().lower() in (
    "x86_64", "amd64", "i386", "i686")
needs_avx2 = [pytest.mark.skipif(not HAVE_AVX2, reason="this CPU has no AVX2"),
              pytest.mark.allow_skip("the AVX2 microkernels run only on AVX2 CPUs")]
needs_vnni = [pytest.mark.skipif(not HAVE_VNNI, reason="this CPU has no AVX512-VNNI"),
              pytest.mark.allow_skip("the AVX512-VNNI microkernels run only on CPUs "
                                     "with AVX512F/BW/VL/VNNI")]


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


class Case:
    """A one-op int8 CONV_2D model and its numpy-reference output."""

    def __init__(self, rng, *, n=1, h, w, c, oc, k=(3, 3), stride=(1, 1),
                 dilation=(1, 1), padding="SAME", in_zp=None, out_zp=None, relu=False,
                 kind="random", bias=True, reals=None, weights=None):
        kh, kw = k
        self.k = kh * kw * c
        self.wt = random_int(rng, (oc, kh, kw, c))
        if weights is not None:  # "min" / "max": every weight -128 / 127
            self.wt[:] = -128 if weights == "min" else 127
        in_scale, out_scale = 0.05, 1.0
        self.in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
        self.out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
        if reals is None:  # effective multipliers around what keeps outputs in range
            base = 1.0 / (74.0 * 74.0 * np.sqrt(self.k) / 40.0)
            reals = base * np.exp(rng.uniform(-1.5, 1.5, oc))
        ws = (reals * out_scale / in_scale).astype(np.float32)
        self.bias = (rng.integers(-4000, 4000, oc).astype(np.int32) if bias else None)
        self.mult, self.shift = R.multipliers(in_scale, ws, out_scale, oc)
        self.stride, self.dilation, self.padding = stride, dilation, padding
        self.act = (max(self.out_zp, -128), 127) if relu else None
        oh = shapes.out_size(padding, h, kh, stride[0], dilation[0])
        ow = shapes.out_size(padding, w, kw, stride[1], dilation[1])
        self.pixels = n * oh * ow
        ins = [spec((n, h, w, c), scale=in_scale, zero_point=self.in_zp),
               spec((oc, kh, kw, c), data=self.wt, scales=ws)]
        if bias:
            ins.append(spec((oc,), np.int32, data=self.bias,
                            scales=ws * np.float32(in_scale)))
        options = {"padding": PADDING[padding], "stride_h": stride[0],
                   "stride_w": stride[1], "dilation_h_factor": dilation[0],
                   "dilation_w_factor": dilation[1],
                   "fused_activation_function": 1 if relu else 0}
        self.model = op_model("CONV_2D", ins, [spec((n, oh, ow, oc), scale=out_scale,
                                                    zero_point=self.out_zp)],
                              options, version=3)
        if kind == "min":
            self.x = np.full((n, h, w, c), -128, np.int8)
        elif kind == "max":
            self.x = np.full((n, h, w, c), 127, np.int8)
        else:
            self.x = random_int(rng, (n, h, w, c))

    def reference(self, rounding=ROUNDING_DOUBLE):
        return R.conv2d(self.x, self.wt, self.bias, input_zp=self.in_zp,
                        output_zp=self.out_zp, mult=self.mult, shift=self.shift,
                        stride=self.stride, dilation=self.dilation, padding=self.padding,
                        act=self.act, rounding=rounding)


def run_pipeline(case, pipeline, block=None, rounding=None):
    """case's output through `pipeline` (a name of PIPELINES or a (lanes, im2col,
    fused_rq) tuple), block_pixels forced to `block`, the kernel's rounding forced to
    `rounding` (None: prepare's)."""
    lanes, im2col, fused = (PIPELINES[pipeline][:3] if isinstance(pipeline, str)
                            else pipeline)
    nodes = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(REFERENCE_ENV, raising=False)
        if lanes == LANES_C:
            mp.setenv(PORTABLE_ENV, "1")
        else:
            mp.delenv(PORTABLE_ENV, raising=False)
        if lanes == ROWS:
            mp.setattr(conv_ops, "_LANES_MAX_K", 0)
        prepare_node = conv_ops._conv_s8_fast_node

        def forced_node(*args, **kwargs):
            node = prepare_node(*args, **kwargs)
            p = dict(node.params, im2col=im2col, fused_rq=fused)
            if block is not None:
                p["block_pixels"] = block
            if rounding is not None:
                p["rounding"] = rounding
            node = replace(node, params=p,
                           scratch_bytes=cparams.conv_s8_fast_buffer_size(p))
            nodes.append(node)
            return node

        mp.setattr(conv_ops, "_conv_s8_fast_node", forced_node)
        out, = run_microdl(case.model, [case.x])
    node, = nodes
    assert node.kernel == "conv_s8_fast" and node.params["lanes"] == lanes
    return out


def check(case, pipelines, blocks=(None,), rounding=None):
    """Every pipeline (and block size) == the numpy reference; returns the outputs."""
    want = case.reference(ROUNDING_DOUBLE if rounding is None else rounding)
    outs = {}
    for pipeline in pipelines:
        for block in blocks:
            got = run_pipeline(case, pipeline, block, rounding)
            np.testing.assert_array_equal(got, want, err_msg=f"{pipeline}, block {block}")
            outs[pipeline, block] = got
    return outs


def twins(simd, portable):
    """A SIMD pipeline and its portable twin, both against the reference."""
    return pytest.param(simd, portable, id=f"{simd}-vs-{portable}", marks=needs_avx2)


# ------------------------------------------------------------------ the GEMM tiles
# Output channels around the 16-channel lane blocks and the 8-lane half (and the
# 4-channel blocks of dot4; 24 and 40: a last block of 8 lanes whose pixels are not
# contiguous in the output), patches per call 1..5 around the 2-patch (16 lanes) and
# 4-patch (8 lanes) steps, patch lengths K around the int16 pairs (odd K reads one entry
# past the patch, times a zero weight), the 16-entry padding and the 64-entry unpadded
# limit; 1x1 filters so that the patches are the input pixels.
GEMM_OC = [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40]
GEMM_K = [1, 2, 3, 15, 16, 17, 63, 64, 65]


@pytest.mark.parametrize("simd,portable", [twins("lanes16-avx2", "lanes16-c"),
                                           twins("lanes16-rq-avx2", "lanes16-c")])
@pytest.mark.parametrize("oc", GEMM_OC)
def test_lanes16_gemm_tiles(simd, portable, oc):
    rng = _rng("lanes16", simd, oc)
    for k in (1, 3, 16, 17, 64, 65):
        case = Case(rng, h=3, w=3, c=k, oc=oc, k=(1, 1), padding="VALID")  # 9 patches
        outs = check(case, [simd, portable], blocks=(1, 2, 3, 4, 5))
        for b in (1, 2, 3, 4, 5):
            np.testing.assert_array_equal(outs[simd, b], outs[portable, b])


@pytest.mark.parametrize("k", GEMM_K)
def test_lanes16_gemm_patch_lengths(k):
    rng = _rng("lanes16k", k)
    case = Case(rng, h=2, w=5, c=k, oc=17, k=(1, 1), padding="VALID")
    pipelines = ["lanes16-c"] + (["lanes16-avx2", "lanes16-rq-avx2"] if HAVE_AVX2 else [])
    check(case, pipelines, blocks=(None, 3))


@pytest.mark.parametrize("oc", GEMM_OC)
def test_dot4_gemm_tiles(oc):
    """s8-gemm-dot4-c (the rows form, production K > 4096) around its 4-channel x
    2-patch tile, K padded to 16."""
    rng = _rng("dot4", oc)
    for k in (1, 15, 16, 17, 33):
        case = Case(rng, h=3, w=3, c=k, oc=oc, k=(1, 1), padding="VALID")
        check(case, ["dot4"], blocks=(1, 2, 3, 4, 5))


def test_dot4_gemm_long_patches():
    rng = _rng("dot4long")
    case = Case(rng, h=3, w=4, c=520, oc=6, k=(3, 3))  # K 4680 > 4096: dot4 by default
    check(case, ["dot4"])
    assert conv_ops._LANES_MAX_K < case.k


# ------------------------------------------- the AVX512-VNNI int8 pipeline (c4-rq-vnni)
# s8-gemm-lanes16c4-rq-avx512vnni over uint8 patches (s8-im2col-pixel8u-avx2) and the
# filter packed per call (s8-pack-lanes16c4u-avx512vnni), against its twins (the
# portable lanes16-c pipeline and the AVX2 int16 lanes16-rq-avx2) and the numpy
# reference.  Its tiles: 8 patches x 1 block of 16 channels, 6 x 2, 4 x 3, 4 x 4, then
# 4, 2, 1 patches; output channels around the 16-channel blocks and the 4-block (64)
# groups (a last block of fewer lanes: the masked store); 1..21 patches per call
# (the operator's calls take up to 64); K around the 4-byte quads (K rounded up to 4,
# the int16 pairs' odd K) and the VNNI form's K limit (2048: above it the AVX2 form).
VNNI_OC = [1, 5, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 80]
VNNI_K = [1, 2, 3, 4, 5, 6, 7, 8, 9, 27, 63, 64, 65, 144]


def vnni_twins(portable):
    return pytest.param("c4-rq-vnni", portable, id=f"c4-rq-vnni-vs-{portable}",
                        marks=needs_vnni)


@pytest.mark.parametrize("simd,portable", [vnni_twins("lanes16-c"),
                                           vnni_twins("lanes16-rq-avx2")])
@pytest.mark.parametrize("oc", VNNI_OC)
def test_vnni_gemm_tiles(simd, portable, oc):
    rng = _rng("vnni", portable, oc)
    for k in (1, 3, 4, 16, 17, 64, 65):
        for h, w in ((1, 1), (3, 7), (3, 3), (1, 13)):  # 1, 21, 9, 13 patches
            case = Case(rng, h=h, w=w, c=k, oc=oc, k=(1, 1), padding="VALID")
            outs = check(case, [simd, portable])
            np.testing.assert_array_equal(outs[simd, None], outs[portable, None])


@pytest.mark.parametrize("k", VNNI_K)
@pytest.mark.parametrize("oc", [9, 40, 70])
@pytest.mark.parametrize("simd,portable", [vnni_twins("lanes16-c")])
def test_vnni_patch_lengths(simd, portable, k, oc):
    """1x1 filters (the patches one run of the input when K is a multiple of 4) and 3x3
    ones with K / 9 channels where that divides."""
    rng = _rng("vnnik", k, oc)
    geoms = [dict(h=2, w=5, c=k, k=(1, 1), padding="VALID")]
    if k % 9 == 0:
        geoms.append(dict(h=5, w=6, c=k // 9, k=(3, 3)))
    for g in geoms:
        check(Case(rng, oc=oc, **g), [simd, portable])


@pytest.mark.parametrize("simd,portable", [vnni_twins("lanes16-c")])
def test_vnni_extremes(simd, portable):
    """Every weight -128 or 127 with every input -128 or 127 (the largest uint8 x int8
    products, 255 * -128), zero points at the int8 extremes, ReLU, no bias."""
    rng = _rng("vnniext")
    for weights in ("min", "max"):
        for kind, in_zp, out_zp in (("min", 127, -128), ("max", -128, 127),
                                    ("min", -128, 127), ("random", None, None)):
            for kw in (dict(), dict(relu=True), dict(bias=False)):
                case = Case(rng, h=4, w=5, c=8, oc=20, k=(3, 3), weights=weights,
                            kind=kind, in_zp=in_zp, out_zp=out_zp, **kw)
                check(case, [simd, portable])


@pytest.mark.parametrize("oc", [8, 17, 64])
@pytest.mark.parametrize("simd,portable", [vnni_twins("lanes16-c")])
def test_vnni_requantization(simd, portable, oc):
    """The fused requantization of every lane: multipliers > 1 (left shifts: the full,
    non-lean form), tiny ones (large right shifts), both mixed in one layer, on random
    and largest sums."""
    rng = _rng("vnnirq", oc)
    for reals in (np.full(oc, 1.7), np.full(oc, 3e-9), np.full(oc, 0.5),
                  np.where(np.arange(oc) % 2, 2.5, 1e-3)):
        for kind in ("random", "max", "min"):
            case = Case(rng, h=3, w=3, c=6, oc=oc, k=(1, 1), reals=reals, kind=kind)
            check(case, [simd, portable])


IM2COL_GEOMETRIES_VNNI = [
    dict(h=5, w=7, c=3, k=(3, 3)),                      # SAME: padding on every edge
    dict(h=6, w=5, c=5, k=(3, 3), stride=(2, 2)),
    dict(h=7, w=9, c=4, k=(4, 4), stride=(2, 1)),       # asymmetric padding
    dict(h=10, w=11, c=1, k=(10, 4), stride=(2, 2)),    # KWS's first layer's shape
    dict(h=7, w=8, c=3, k=(3, 3), dilation=(2, 2)),     # dilation: taps per column
    dict(h=9, w=9, c=2, k=(3, 2), dilation=(1, 3), stride=(2, 1)),
    dict(h=3, w=5, c=8, k=(1, 1), padding="VALID"),     # 1x1: one run of the input
    dict(h=4, w=6, c=3, k=(1, 1), stride=(2, 1)),       # 1x1, stride 2 rows
    dict(n=2, h=4, w=3, c=5, k=(3, 3)),                 # batches: blocks span images
    dict(n=3, h=4, w=4, c=12, k=(1, 1)),                # 1x1 run across images
    dict(h=1, w=1, c=3, k=(3, 3)),                      # one pixel, 8 of 9 taps padded
    dict(h=5, w=5, c=40, k=(3, 3)),                     # long rows (120 bytes)
    dict(h=9, w=9, c=64, k=(3, 3), stride=(2, 2)),      # K 576 (ResNet's largest)
]


@pytest.mark.parametrize("g", IM2COL_GEOMETRIES_VNNI,
                         ids=lambda g: "-".join(f"{k}{v}" for k, v in g.items()))
@pytest.mark.parametrize("simd,portable", [vnni_twins("lanes16-c")])
def test_vnni_im2col(g, simd, portable):
    rng = _rng("vnniim2col", sorted(g.items()))
    for kind, in_zp, out_zp in (("random", None, None), ("random", -128, 127),
                                ("max", 127, -128), ("min", -128, None)):
        case = Case(rng, oc=19, in_zp=in_zp, out_zp=out_zp, kind=kind, **g)
        check(case, [simd, portable])


@pytest.mark.parametrize("simd,portable", [vnni_twins("lanes16-c")])
def test_vnni_packed_groups_and_k_limit(simd, portable):
    """Filters larger than the VNNI form's stack block (packed group by group: K 576 x
    80 channels, K 2048 x 20 (one block of 16 per group)), and K just above its limit
    (2052: the AVX2 form)."""
    rng = _rng("vnnigroups")
    for g, oc in ((dict(h=4, w=4, c=64, k=(3, 3)), 80),
                  (dict(h=3, w=4, c=2048, k=(1, 1)), 20),
                  (dict(h=3, w=3, c=228, k=(3, 3)), 18)):
        check(Case(rng, oc=oc, **g), [simd, portable])

# ------------------------------------------------------------------- requantization
# s32-requant-rows-c: channel counts around its 32-channel short-row limit and
# 64-channel chunks, rows (patches) 1..5, both roundings (single rounding is reachable
# only forced: convolutions requantize with double rounding), zero points at the int8
# extremes, the ReLU clamp.
@pytest.mark.parametrize("oc", [1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65])
@pytest.mark.parametrize("rounding", [ROUNDING_DOUBLE, ROUNDING_SINGLE],
                         ids=["double", "single"])
def test_requant_rows(oc, rounding):
    rng = _rng("rq", oc, rounding)
    for in_zp, out_zp, relu in ((-128, 127, False), (127, -128, True),
                                (None, None, False)):
        case = Case(rng, h=1, w=5, c=3, oc=oc, k=(1, 1), in_zp=in_zp, out_zp=out_zp,
                    relu=relu)
        check(case, ["lanes16-c"], blocks=(1, 2, 5), rounding=rounding)


@pytest.mark.parametrize("oc", [8, 17])
def test_requant_extreme_multipliers(oc):
    """Multipliers > 1 (left shifts: the full, non-lean AVX2 requantization), tiny
    ones, and both mixed in one layer, fused in registers or in a separate pass."""
    rng = _rng("rqext", oc)
    for reals in (np.full(oc, 1.7), np.full(oc, 3e-9),
                  np.where(np.arange(oc) % 2, 2.5, 1e-3)):
        for kind in ("random", "max"):
            case = Case(rng, h=3, w=3, c=2, oc=oc, k=(1, 1), reals=reals, kind=kind)
            pipelines = ["lanes16-c"] + (["lanes16-rq-avx2"] if HAVE_AVX2 else [])
            pipelines += ["c4-rq-vnni"] if HAVE_VNNI else []
            check(case, pipelines, blocks=(None, 3))


# --------------------------------------------------------------------------- im2col
# Geometries for the im2col microkernels: padding on every edge (SAME 3x3, 5x3),
# asymmetric padding (even filters), strides 2, dilation 2 (pixel only), odd widths,
# 1x1 filters whose blocks cross output rows, batches, windows near the end of the
# input (the row16 loads are bounded by it).
IM2COL_GEOMETRIES = [
    dict(h=5, w=7, c=3, k=(3, 3)),                      # SAME: padding on every edge
    dict(h=6, w=5, c=5, k=(3, 3), stride=(2, 2)),       # row_len 15
    dict(h=7, w=9, c=4, k=(4, 4), stride=(2, 1)),       # row_len 16, asymmetric pad
    dict(h=9, w=3, c=1, k=(5, 3)),                      # fh != 3, every window at an edge
    dict(h=10, w=11, c=1, k=(10, 4), stride=(2, 2)),    # KWS's first layer's shape
    dict(h=4, w=5, c=2, k=(2, 2), padding="VALID"),     # no padding, fh 2
    dict(h=3, w=17, c=3, k=(3, 3), stride=(1, 2)),      # odd width, long runs
    dict(n=2, h=4, w=3, c=5, k=(3, 3)),                 # batches: blocks span images
    dict(h=1, w=1, c=3, k=(3, 3)),                      # one pixel, 8 of 9 taps padded
]


@pytest.mark.parametrize("g", IM2COL_GEOMETRIES,
                         ids=lambda g: "-".join(f"{k}{v}" for k, v in g.items()))
@pytest.mark.parametrize("simd,portable", [twins("row16+lanes16-c", "lanes16-c"),
                                           twins("row16+rq-avx2", "lanes16-rq-avx2")])
def test_row16_im2col(g, simd, portable):
    rng = _rng("row16", sorted(g.items()), simd)
    for kind, in_zp in (("random", None), ("random", -128), ("max", 127), ("min", -128)):
        case = Case(rng, oc=9, in_zp=in_zp, kind=kind, **g)
        assert conv_ops._row16_im2col_fits(dict(filter_h=g["k"][0], filter_w=g["k"][1],
                                                input_c=g["c"], dilation_w=1), case.k)
        outs = check(case, [simd, portable], blocks=(None, 1, 3, 5))
        for b in (None, 1, 3, 5):
            np.testing.assert_array_equal(outs[simd, b], outs[portable, b])


@pytest.mark.parametrize("g", IM2COL_GEOMETRIES + [
    dict(h=7, w=8, c=3, k=(3, 3), dilation=(2, 2)),     # dilation: taps per column
    dict(h=9, w=9, c=2, k=(3, 2), dilation=(1, 3), stride=(2, 1)),
    dict(h=3, w=5, c=8, k=(1, 1), padding="VALID"),     # 1x1: blocks cross output rows
    dict(h=4, w=6, c=3, k=(1, 1), stride=(2, 1)),       # 1x1, stride 2 rows
    dict(h=5, w=5, c=40, k=(3, 3)),                     # long rows (120 entries)
], ids=lambda g: "-".join(f"{k}{v}" for k, v in g.items()))
def test_pixel_im2col(g):
    rng = _rng("pixel", sorted(g.items()))
    for in_zp, out_zp in ((None, None), (-128, 127), (127, -128)):
        case = Case(rng, oc=5, in_zp=in_zp, out_zp=out_zp, **g)
        check(case, ["lanes16-c", "dot4"], blocks=(None, 1, 4))


ROWS_GEOMETRIES = [
    dict(h=6, w=7, c=16, k=(3, 3)),                     # SAME: padding on every edge
    dict(h=9, w=9, c=6, k=(3, 3), stride=(2, 2)),       # stride 2: runs 12 apart
    dict(h=5, w=11, c=8, k=(3, 3), padding="VALID"),    # no padding columns
    dict(h=7, w=5, c=2, k=(5, 3), stride=(1, 2)),       # fh 5, odd width
    dict(h=8, w=8, c=10, k=(3, 3), dilation=(2, 1)),    # dilation_h: rows 2 apart
    dict(n=2, h=4, w=6, c=4, k=(3, 3)),                 # batches
    dict(h=1, w=1, c=8, k=(3, 3)),                      # one pixel: 8 of 9 taps padded
    dict(h=3, w=20, c=32, k=(2, 2), stride=(2, 2)),     # even filter, long rows
    dict(h=4, w=4, c=16, k=(1, 3)),                     # one filter row
    dict(h=5, w=3, c=1, k=(7, 2)),                      # taller than the input
]


@pytest.mark.parametrize("g", ROWS_GEOMETRIES,
                         ids=lambda g: "-".join(f"{k}{v}" for k, v in g.items()))
@pytest.mark.parametrize("oc", [5, 16, 37])
def test_rows_igemm(g, oc):
    """The IM2COL_ROWS form (widened input rows, s8-igemm-lanes16-rq-avx2) == its twin
    (pixel patches, lanes16-c + requant-rows-c) == the numpy reference, blocks 1..5
    around the 4-patch tile, 1 block of channels, 2, or a partial third."""
    rng = _rng("rows", sorted(g.items()), oc)
    for kind, in_zp in (("random", None), ("random", -128), ("max", 127), ("min", -128)):
        case = Case(rng, oc=oc, in_zp=in_zp, kind=kind, **g)
        assert conv_ops._rows_im2col_fits(dict(filter_h=g["k"][0], filter_w=g["k"][1],
                                               input_c=g["c"], dilation_w=1))
        blocks = (None, 1, 2, 3, 4, 5)
        outs = check(case, ["rows+igemm-rq-avx2", "lanes16-c"], blocks=blocks)
        for b in blocks:
            np.testing.assert_array_equal(outs["rows+igemm-rq-avx2", b],
                                          outs["lanes16-c", b])


def test_rows_form_falls_back_to_patches_when_memory_is_tight():
    """cap_conv_scratch turns an IM2COL_ROWS node whose widened rows exceed the room into
    pixel patches (same outputs), then shrinks the block as before."""
    rng = _rng("rows-cap")
    case = Case(rng, oc=8, h=4, w=40, c=32, k=(3, 3))
    from microdl.runtime.ops import PREPARERS, PrepareContext, load_all
    from microdl.tflite.reader import read_model
    load_all()
    graph = read_model(case.model)
    node, = PREPARERS["CONV_2D"](graph.ops[0], graph, PrepareContext(rounding=ROUNDING_SINGLE))
    assert node.params["im2col"] == IM2COL_ROWS
    patches = cparams.conv_s8_fast_buffer_size(dict(node.params, im2col=PIXEL))
    assert node.scratch_bytes > patches  # 3 rows of 42 x 32 int16 > 1 block of patches
    capped = conv_ops.cap_conv_scratch(node, patches)
    assert capped.params["im2col"] == PIXEL and capped.scratch_bytes == patches
    assert capped.params["block_pixels"] == node.params["block_pixels"]


def test_row16_is_never_chosen_beyond_its_row_table():
    """filter_h > MDL_CONV_S8_FAST_ROW16_MAX_FH with unpadded patches (65 x 1 x 16 =
    1040 entries): the row16 im2col would overrun its table of filter-row pointers (a
    stack overflow before this layer split), so prepare takes the pixel im2col and the
    operator rejects a forced row16."""
    rng = _rng("fh65")
    case = Case(rng, h=67, w=2, c=16, oc=3, k=(65, 1), padding="VALID")
    assert not conv_ops._row16_im2col_fits(
        dict(filter_h=65, filter_w=1, input_c=16, dilation_w=1), case.k)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(PORTABLE_ENV, raising=False)
        mp.delenv(REFERENCE_ENV, raising=False)
        out, = run_microdl(case.model, [case.x])
    np.testing.assert_array_equal(out, case.reference())
    with pytest.raises(KernelError):
        run_pipeline(case, "row16+rq-avx2")


# ------------------------------------------------- the operator and the buffer size
def test_operator_rejects_variants_that_do_not_fit():
    """mdl_conv_s8_fast validates the variant fields: the fused requantization needs the
    SIMD lanes form, row16 needs unpadded short filter rows."""
    rng = _rng("reject")
    case = Case(rng, h=4, w=4, c=24, oc=5, k=(3, 3))  # filter rows of 72 entries
    with pytest.raises(KernelError):
        run_pipeline(case, "row16+lanes16-c")
    with pytest.raises(KernelError):
        run_pipeline(case, (LANES_C, PIXEL, 1))  # fused with the portable-only form
    with pytest.raises(KernelError):
        run_pipeline(case, (LANES, PIXEL, 1), rounding=ROUNDING_SINGLE)


def _params(**over):
    p = {f: 0 for f in cparams.kernel_fields("conv_s8_fast")}
    p.update(batches=1, input_h=5, input_w=5, input_c=3, filter_h=3, filter_w=3,
             filter_c=3, output_h=5, output_w=5, output_c=8, stride_h=1, stride_w=1,
             dilation_h=1, dilation_w=1, block_pixels=4, lanes=LANES)
    p.update(over)
    return p


@pytest.mark.parametrize("lanes", [ROWS, LANES, LANES_C])
@pytest.mark.parametrize("c,k", [(1, (1, 1)), (3, (3, 3)), (7, (3, 3)), (16, (2, 2)),
                                 (65, (1, 1)), (60, (3, 3))])
def test_buffer_size_api(lanes, c, k):
    """mdl_conv_s8_fast_patch_len / _get_buffer_size through cparams: patch_len is K in
    the lanes forms up to 64 entries, else K rounded up to 16; the scratch holds
    block_pixels patches plus 16 entries of slack, in bytes."""
    kk = k[0] * k[1] * c
    p = _params(input_c=c, filter_c=c, filter_h=k[0], filter_w=k[1], lanes=lanes)
    want_len = kk if lanes != ROWS and kk <= 64 else -(-kk // 16) * 16
    assert cparams.conv_s8_fast_patch_len(p) == want_len
    for block in (1, 2, 16):
        p["block_pixels"] = block
        assert cparams.conv_s8_fast_buffer_size(p) == 2 * (block * want_len + 16)


def test_buffer_size_api_rejects_out_of_range():
    for over in (dict(block_pixels=0), dict(block_pixels=17), dict(lanes=3)):
        with pytest.raises(ValueError):
            cparams.conv_s8_fast_buffer_size(_params(**over))
    with pytest.raises(RuntimeError, match="missing parameter"):
        cparams.conv_s8_fast_patch_len({"batches": 1})
    from microdl.runtime import _engine
    with pytest.raises(ValueError, match="int32 values"):
        _engine.conv_s8_fast_get_buffer_size(np.zeros(3, np.int32))


def test_prepare_sizes_scratch_with_the_c_query():
    """The node's scratch_bytes is what C says for the node's own parameters, and the
    microkernels prepare picks are the production ones."""
    rng = _rng("prepare")
    for g, im2col in ((dict(h=6, w=6, c=3, k=(3, 3)), ROW16),
                      (dict(h=6, w=6, c=24, k=(3, 3)), IM2COL_ROWS),
                      (dict(h=6, w=6, c=7, k=(3, 3)), PIXEL),   # filter rows of 21: odd
                      (dict(h=6, w=6, c=16, k=(1, 1)), PIXEL)):
        case = Case(rng, oc=8, **g)
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv(PORTABLE_ENV, raising=False)
            mp.delenv(REFERENCE_ENV, raising=False)
            from microdl.runtime.ops import PREPARERS, PrepareContext, load_all
            from microdl.tflite.reader import read_model
            load_all()
            graph = read_model(case.model)
            node, = PREPARERS["CONV_2D"](graph.ops[0], graph,
                                        PrepareContext(rounding=ROUNDING_SINGLE))
        assert node.params["lanes"] == LANES and node.params["fused_rq"] == 1
        assert node.params["im2col"] == im2col
        assert node.scratch_bytes == cparams.conv_s8_fast_buffer_size(node.params)


# ===================================================== FULLY_CONNECTED: s8-gemv-8c16
# The fast FULLY_CONNECTED form (cext/src/fully_connected_s8.c) runs one s8-gemv
# microkernel per chunk of 64 channels and, for LiteRT's double requantization, one
# s32-requant-f64 microkernel; its `gemv` field picks them: FC_GEMV_8C16 (prepare's
# choice) the best the CPU runs (the AVX512-VNNI GEMV where the CPU has AVX512-VNNI and
# AVX512VL, else AVX2, with the AVX2 requantization), FC_GEMV_8C16_AVX2 (forced here)
# the AVX2 pair, FC_GEMV_8C16_C the portable twins (prepare's choice under
# MICRODL_PORTABLE_KERNELS=1); the Q31 roundings go through s32-requant-rows-c in all.
# Output channels around the 8-channel block, the two-block (16) pass of the VNNI
# kernel, the 8-lane requantization step and the 64-channel chunk; depths around the
# 16-input group (a partial last group goes through the kernels' zeroed tail buffer);
# 1 and 3 rows.
from fractions import Fraction  # noqa: E402

from microdl.core.fixedpoint import quantize_multiplier, requantize_r  # noqa: E402
from microdl.runtime.ops import fully_connected as fc_ops  # noqa: E402

FC_OC = [1, 7, 8, 9, 15, 16, 17, 24, 25, 63, 64, 65, 71, 72, 73, 129]
FC_DEPTH = [1, 2, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65]
GEMV_BEST, GEMV_AVX2, GEMV_C = C["FC_GEMV_8C16"], C["FC_GEMV_8C16_AVX2"], C["FC_GEMV_8C16_C"]


def _round_half_away_exact(v):
    """std::round of the double v, in exact rational arithmetic (an oracle that shares
    nothing with the kernels' rounding code)."""
    a = abs(Fraction(v))
    r = int(a + Fraction(1, 2)) if a.denominator != 1 else int(a)
    return -r if v < 0 else r


class FcCase:
    """A one-op int8 FULLY_CONNECTED model and its numpy / exact-rational reference."""

    def __init__(self, rng, *, batches, depth, oc, per_channel=True, in_zp=None,
                 out_zp=None, relu=False, kind="random", reals=None, bias=True,
                 in_scale=0.05, out_scale=0.5):
        self.w = random_int(rng, (oc, depth))
        if kind == "max":
            self.w[:] = 127
        if reals is None:
            base = 1.0 / (74.0 * 74.0 * np.sqrt(depth) / 40.0)
            reals = base * np.exp(rng.uniform(-1.5, 1.5, oc if per_channel else 1))
        reals = np.asarray(reals, np.float64)
        self.w_scales = (reals * out_scale / in_scale).astype(np.float32)
        self.in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
        self.out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
        self.bias = rng.integers(-4000, 4000, oc).astype(np.int32) if bias else None
        self.in_scale, self.out_scale = in_scale, out_scale
        self.act = (max(self.out_zp, -128), 127) if relu else (-128, 127)
        ws = self.w_scales
        ins = [spec((batches, depth), scale=in_scale, zero_point=self.in_zp),
               spec((oc, depth), data=self.w, scales=ws if per_channel else None,
                    scale=None if per_channel else float(ws[0])),
               spec((oc,), np.int32, data=self.bias,
                    scales=np.broadcast_to(ws, (oc,)) * np.float32(in_scale))
               if bias else None]
        self.model = op_model("FULLY_CONNECTED", ins,
                              [spec((batches, oc), scale=out_scale, zero_point=self.out_zp)],
                              {"fused_activation_function": 1 if relu else 0},
                              version=12 if per_channel else 4)
        if kind == "max":
            self.x = np.full((batches, depth), 127, np.int8)
        elif kind == "min":
            self.x = np.full((batches, depth), -128, np.int8)
        else:
            self.x = random_int(rng, (batches, depth))
        self.oc = oc

    def reference(self, rounding):
        """rounding: the Interpreter's name ("litert": double-precision requantization
        as LiteRT's reference kernel; "single" / "tflm": the Q31 multipliers)."""
        acc = (self.x.astype(np.int64) - self.in_zp) @ self.w.astype(np.int64).T
        if self.bias is not None:
            acc = acc + self.bias
        real = (np.float64(self.in_scale) * np.broadcast_to(self.w_scales, (self.oc,))
                .astype(np.float64) / np.float64(self.out_scale))
        if rounding == "litert":
            v = np.empty(acc.shape, np.int64)
            for idx in np.ndindex(acc.shape):
                prod = float(acc[idx]) * float(real[idx[-1]])  # one IEEE product
                r = _round_half_away_exact(prod)
                if not -(1 << 31) <= r < (1 << 31):  # the C++ cast: the target's own
                    r = -(1 << 31) if F64_OUT_OF_RANGE_IS_MIN or r < 0 else (1 << 31) - 1
                v[idx] = r
        else:
            ms = [quantize_multiplier(r) for r in real]
            m = np.array([a for a, _ in ms], np.int64)
            s = np.array([b for _, b in ms], np.int64)
            code = ROUNDING_SINGLE if rounding == "single" else ROUNDING_DOUBLE
            v = requantize_r(acc, m, s, code).astype(np.int64)
        v = (v + self.out_zp + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 `acc += zp`
        return np.clip(v, *self.act).astype(np.int8)


def run_fc(case, gemv, rounding):
    """case's output with the fast form's `gemv` variant: GEMV_BEST and GEMV_C through
    prepare's own switch (MICRODL_PORTABLE_KERNELS), GEMV_AVX2 forced on the prepared
    node; the node checked."""
    nodes = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(REFERENCE_ENV, raising=False)
        if gemv == GEMV_C:
            mp.setenv(PORTABLE_ENV, "1")
        else:
            mp.delenv(PORTABLE_ENV, raising=False)
        make = fc_ops._fast_node

        def spy(*args, **kwargs):
            node = make(*args, **kwargs)
            if gemv == GEMV_AVX2:
                node = replace(node, params=dict(node.params, gemv=GEMV_AVX2))
            nodes.append(node)
            return node

        mp.setattr(fc_ops, "_fast_node", spy)
        out, = run_microdl(case.model, [case.x], rounding=rounding)
    node, = nodes
    assert node.kernel == "fully_connected_s8_fast" and node.params["gemv"] == gemv
    return out


def check_fc(case, roundings=("litert", "single", "tflm")):
    """Every variant == the reference for every rounding (so == each other)."""
    for rounding in roundings:
        want = case.reference(rounding)
        for gemv in (GEMV_BEST, GEMV_AVX2, GEMV_C):
            got = run_fc(case, gemv, rounding)
            np.testing.assert_array_equal(got, want, err_msg=f"gemv {gemv}, {rounding}")


@pytest.mark.parametrize("oc", FC_OC)
def test_gemv_8c16_tiles(oc):
    rng = _rng("gemv", oc)
    for depth in FC_DEPTH:
        for batches in (1, 3):
            check_fc(FcCase(rng, batches=batches, depth=depth, oc=oc),
                     roundings=("litert", "single"))


@pytest.mark.parametrize("oc", [9, 33])
def test_gemv_8c16_long_rows(oc):
    """Long rows (K 1003: many groups, a partial last one) on both microkernels."""
    rng = _rng("gemvlong", oc)
    check_fc(FcCase(rng, batches=2, depth=1003, oc=oc))


@pytest.mark.parametrize("per_channel", [True, False], ids=["per-channel", "per-tensor"])
@pytest.mark.parametrize("oc", [8, 17, 40])
def test_gemv_8c16_requantization(per_channel, oc):
    """Every rounding (LiteRT's double, single and double Q31), zero points at the int8
    extremes, ReLU, no bias, per-tensor scales (repeated per channel at prepare), the
    largest sums (all 127) and multipliers > 1 (the double product beyond int32:
    saturated) and tiny ones; products beyond the int32 range (1e5)."""
    rng = _rng("gemvrq", per_channel, oc)
    n = oc if per_channel else 1
    for kw in (dict(in_zp=-128, out_zp=127), dict(in_zp=127, out_zp=-128, relu=True),
               dict(out_zp=20, relu=True),  # ReLU clamp above the int8 minimum
               dict(bias=False), dict(kind="max"), dict(kind="min", in_zp=127),
               dict(kind="max", reals=np.full(n, 3.0)),
               dict(kind="max", reals=np.full(n, 1e-6)),

               dict(reals=np.where(np.arange(n) % 2, 2.5, 1e-3))):
        case = FcCase(rng, batches=2, depth=33, oc=oc, per_channel=per_channel, **kw)
        check_fc(case)
    # Products beyond +-2^31 (multiplier 1e5): LiteRT's double requantization casts
    # std::round's result to int32, which is INT32_MIN on x86-64 and saturates on ARM
    # (measured against the x86 wheel in tests/test_requantize_extremes.py); the Q31
    # roundings are left out: TFLite's single rounding truncates an out-of-range int64
    # result to int32 there.
    for kw in (dict(kind="max"), dict(kind="min", in_zp=127)):
        case = FcCase(rng, batches=2, depth=33, oc=oc, per_channel=per_channel,
                      reals=np.full(n, 1e5), **kw)
        check_fc(case, roundings=("litert",))


def test_gemv_pack_layout():
    """pack_gemv_weights against the layout written out by hand: with G groups, byte
    ((b * G + g) * 8 + c) * 16 + t is w[8 b + c, 16 g + t], zero past the layer."""
    rng = _rng("pack")
    w = random_int(rng, (11, 19))
    packed = fc_ops.pack_gemv_weights(w)
    groups = 2
    assert packed.dtype == np.int8 and packed.size == 2 * groups * 8 * 16
    for b in range(2):
        for g in range(groups):
            for c in range(8):
                for t in range(16):
                    o, k = 8 * b + c, 16 * g + t
                    want = w[o, k] if o < 11 and k < 19 else 0
                    assert packed[((b * groups + g) * 8 + c) * 16 + t] == want


def test_fc_fast_needs_no_scratch():
    """The fast form runs from a stack buffer of one chunk: no arena scratch."""
    rng = _rng("scratch")
    case = FcCase(rng, batches=1, depth=640, oc=128)
    nodes = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(REFERENCE_ENV, raising=False)
        make = fc_ops._fast_node
        mp.setattr(fc_ops, "_fast_node", lambda *a, **k: nodes.append(make(*a, **k)) or
                   nodes[-1])
        run_microdl(case.model, [case.x])
    assert [n.scratch_bytes for n in nodes] == [0]


def test_gemv_requant_f64_ties():
    """Products exactly halfway between integers (scales 0.5 and 0.25 in exact binary:
    input scale 0.5, output scale 1, weight scales 1 and 0.5) round away from zero in
    LiteRT's double requantization, on both microkernels."""
    rng = _rng("ties")
    for oc in (8, 11):
        reals = np.where(np.arange(oc) % 2, 0.5, 0.25)
        case = FcCase(rng, batches=4, depth=2, oc=oc, reals=reals, bias=False,
                      in_scale=0.5, out_scale=1.0, in_zp=0, out_zp=0)
        case.x = rng.integers(-3, 4, case.x.shape).astype(np.int8)
        acc = case.x.astype(np.int64) @ case.w.astype(np.int64).T
        assert np.any(acc % 2 == 1) and np.any(acc % 4 == 2)  # there are ties
        check_fc(case, roundings=("litert",))


# ============================== DEPTHWISE_CONV_2D: s8-dwconv-lanes16-rq-avx512vnni
# The depthwise lanes form (depth multiplier 1) runs its blocks of 16 channels through
# s8-dwconv-lanes16-rq-avx512vnni where the CPU has AVX512-VNNI (form
# DEPTHWISE_FAST_LANES, prepare's choice); DEPTHWISE_FAST_LANES_AVX2 forces the AVX2
# batches, DEPTHWISE_FAST_LANES_C the portable loop (the twin,
# s8-dwconv-lanes16-rq-c's arithmetic).  All three against the plain reference kernel
# (MICRODL_REFERENCE_KERNELS=1) and LiteRT's reference kernels: channels around the
# 16-channel block (a last block of 1..15 channels runs AVX2 / C), 3x3 filters (5 pairs:
# the weights in registers) and other tap counts (odd: an extra zero-weight tap),
# strides, dilation, padding (runs of windows and single border windows), extreme
# inputs and weights, multipliers > 1 (the non-lean requantization).
from tests.oplib import assert_same_as_litert  # noqa: E402
from tests.test_conv_fast import depthwise_model  # noqa: E402

DW_LANES, DW_C, DW_AVX2 = (C["DEPTHWISE_FAST_LANES"], C["DEPTHWISE_FAST_LANES_C"],
                           C["DEPTHWISE_FAST_LANES_AVX2"])


def run_dw(model, x, form):
    """model's output with the depthwise lanes form forced to `form` (None: the plain
    reference kernel)."""
    forms = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(PORTABLE_ENV, raising=False)
        if form is None:
            mp.setenv(REFERENCE_ENV, "1")
        else:
            mp.delenv(REFERENCE_ENV, raising=False)
        make = conv_ops._depthwise_lanes_node

        def forced(*args, **kwargs):
            node = make(*args, **kwargs)
            node.inputs[7][0] = form
            forms.append(form)
            return node

        mp.setattr(conv_ops, "_depthwise_lanes_node", forced)
        out, = run_microdl(model, [x])
    assert forms == ([] if form is None else [form])
    return out


def check_dw(model, x):
    want = run_dw(model, x, None)
    for form in (DW_LANES, DW_AVX2, DW_C):
        np.testing.assert_array_equal(run_dw(model, x, form), want, err_msg=f"form {form}")
    assert_same_as_litert(model, [x])


DW_GEOMETRIES = [
    dict(h=6, w=7, k=(3, 3)),
    dict(h=7, w=9, k=(3, 3), stride=(2, 2)),
    dict(h=9, w=8, k=(3, 3), dilation=(2, 2)),
    dict(h=6, w=6, k=(3, 3), padding="VALID"),
    dict(h=7, w=7, k=(5, 5)),                      # 13 pairs
    dict(h=5, w=6, k=(2, 2)),                      # 2 pairs, asymmetric padding
    dict(h=5, w=6, k=(3, 1), stride=(1, 2)),       # 3 taps: an extra zero tap
    dict(h=4, w=5, k=(1, 1)),                      # 1 tap
    dict(n=2, h=5, w=5, k=(3, 3)),
    dict(h=25, w=5, k=(3, 3)),                     # KWS's geometry
]


@pytest.mark.parametrize("c", [16, 17, 31, 32, 48, 64])
@pytest.mark.parametrize("g", DW_GEOMETRIES,
                         ids=lambda g: "-".join(f"{k}{v}" for k, v in g.items()))
def test_dwconv_vnni(c, g):
    rng = _rng("dwvnni", c, sorted(g.items()))
    model = depthwise_model(rng, c=c, **g)
    check_dw(model, random_int(rng, (g.get("n", 1), g["h"], g["w"], c)))


@pytest.mark.parametrize("c", [16, 40])
def test_dwconv_vnni_extremes(c):
    """Inputs all -128 / 127 with zero points at the other end, multipliers > 1 and tiny
    ones (the full requantization), ReLU, no bias."""
    rng = _rng("dwvnniext", c)
    for kw in (dict(in_zp=127, out_zp=-128), dict(in_zp=-128, out_zp=127, act=1),
               dict(real=2.5), dict(real=(1e-3, 3.0)), dict(real=1e-7), dict(bias=False)):
        model = depthwise_model(rng, h=5, w=6, c=c, **kw)
        for fill in (-128, 127):
            check_dw(model, np.full((1, 5, 6, c), fill, np.int8))
        check_dw(model, random_int(rng, (1, 5, 6, c)))



# ------------------------------------------------------------------------ s8-vadd
# The int8 ADD / SUB rows (add_s8.c's fast path): the SIMD s8-vadd microkernel this CPU
# runs (ukernel BEST: AVX2 here, NEON on ARM: tests/test_ukernels_arm.py) against its
# portable twin (ukernel C, MICRODL_PORTABLE_KERNELS=1) and both against the numpy
# reference and LiteRT's reference kernels, over row lengths just below, at and above
# the 16-element step, the broadcast forms that reach the microkernel (a scalar first or
# second operand: b_stride 0, SUB's order swapped) and clamps.
ADD_UKERNEL_BEST, ADD_UKERNEL_C = C["ADD_UKERNEL_BEST"], C["ADD_UKERNEL_C"]
VADD_SHAPES = [((n,), (n,)) for n in (1, 7, 15, 16, 17, 31, 32, 33, 100)] + [
    ((2, 19), (1,)), ((1,), (3, 17)), ((4, 33), (33,)), ((3, 16), (3, 1)),
    ((1, 5, 1), (2, 1, 40)), ((2, 8, 8, 16), (2, 8, 8, 16))]


def run_add(model, inputs, ukernel):
    """The outputs with the s8-vadd variant `ukernel`, chosen through prepare's own
    switch (MICRODL_PORTABLE_KERNELS); the prepared nodes' field checked."""
    from microdl.runtime import ops as ops_pkg
    seen = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(REFERENCE_ENV, raising=False)
        if ukernel == ADD_UKERNEL_C:
            mp.setenv(PORTABLE_ENV, "1")
        else:
            mp.delenv(PORTABLE_ENV, raising=False)
        for name in ("ADD", "SUB"):
            prepare = ops_pkg.PREPARERS[name]

            def spy(op, graph, ctx, _prepare=prepare):
                steps = _prepare(op, graph, ctx)
                seen.extend(st.params["ukernel"] for st in steps)
                return steps

            mp.setitem(ops_pkg.PREPARERS, name, spy)
        out, = run_microdl(model, inputs)
    assert seen and all(u == ukernel for u in seen)
    return out


def vadd_case(rng, op, shape1, shape2, act):
    """A one-op ADD / SUB model with random scales and zero points (the extremes
    included), its inputs and the numpy reference's output (None under RELU6)."""
    from microdl.reference import elementwise as ref_ew
    s1, s2 = (float(rng.choice([0.5, 1.0, 3.0]) * rng.uniform(0.01, 0.1)) for _ in "ab")
    so = float(rng.uniform(0.02, 0.3))
    z1, z2, zo = (int(rng.choice([-128, 127, rng.integers(-128, 128)])) for _ in "abc")
    out_shape = np.broadcast_shapes(shape1, shape2)
    model = op_model(op, [spec(shape1, scale=s1, zero_point=z1),
                          spec(shape2, scale=s2, zero_point=z2)],
                     [spec(out_shape, scale=so, zero_point=zo)],
                     {"fused_activation_function": act})
    x1, x2 = random_int(rng, shape1), random_int(rng, shape2)
    want = None  # RELU6's clamp: LiteRT only
    if act in (0, 1):  # no clamp, RELU: [zo, 127]
        want = ref_ew.add(x1, x2, s1, z1, s2, z2, so, zo, act_min=max(-128, zo) if act
                          else None, subtract=op == "SUB")
    return model, [x1, x2], want


@pytest.mark.parametrize("op", ["ADD", "SUB"])
@pytest.mark.parametrize("shapes", VADD_SHAPES, ids=lambda s: f"{s[0]}+{s[1]}")
def test_vadd_rows(op, shapes):
    rng = _rng("vadd", op, shapes)
    for act in (0, 1, 3):
        model, inputs, want = vadd_case(rng, op, *shapes, act)
        litert, = run_litert(model, inputs)
        for ukernel in (ADD_UKERNEL_BEST, ADD_UKERNEL_C):
            got = run_add(model, inputs, ukernel)
            np.testing.assert_array_equal(got, litert, err_msg=f"ukernel {ukernel}")
            if want is not None:
                np.testing.assert_array_equal(got, want, err_msg=f"ukernel {ukernel}")


def test_vadd_every_input_pair():
    """All 65,536 (x1, x2) pairs in one row on both microkernels == LiteRT: every lane
    position of the 16-element step sees every value."""
    a = np.repeat(np.arange(-128, 128), 256).astype(np.int8)
    b = np.tile(np.arange(-128, 128), 256).astype(np.int8)
    for op in ("ADD", "SUB"):
        model = op_model(op, [spec(a.shape, scale=0.037, zero_point=-3),
                              spec(b.shape, scale=0.011, zero_point=90)],
                         [spec(a.shape, scale=0.05, zero_point=7)])
        litert, = run_litert(model, [a, b])
        for ukernel in (ADD_UKERNEL_BEST, ADD_UKERNEL_C):
            np.testing.assert_array_equal(run_add(model, [a, b], ukernel), litert)
