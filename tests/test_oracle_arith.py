"""Requantization arithmetic checked against oracles that share no code with microdl.

Issue 16 ("CI that cannot pass by accident"): several tests built their expectation
from microdl's own `quantize_multiplier` / `requantize_r`, so a bug there moved the
expectation with it.  Every expectation here comes from one of:

* an exact re-derivation of TFLite's `QuantizeMultiplier`
  (tensorflow/lite/kernels/internal/quantization_util.cc) written below with
  `fractions.Fraction` and Python integers -- nothing is imported from
  `microdl.quant` to compute it;
* LiteRT 2.3's reference kernels (`OpResolverType.BUILTIN_REF`) on one-op models
  (`tests/oplib.py`);
* integer models of TFLite's `MultiplyByQuantizedMultiplier`
  (tensorflow/lite/kernels/internal/common.h) under `TFLITE_SINGLE_ROUNDING` and of
  gemmlowp's double rounding (gemmlowp/fixedpoint/fixedpoint.h
  `SaturatingRoundingDoublingHighMul`, `RoundingDivideByPOT`), also written below;
* a model of LiteRT's reference FULLY_CONNECTED requantization, which since LiteRT
  v1.3 is round((double)acc * effective_scale) with no Q31 multiplier
  (tflite/kernels/internal/reference/integer_ops/fully_connected.h), pinned against
  the wheel by test_litert_fully_connected_requantizes_in_double.

The FULLY_CONNECTED and convolution models are built so that the tests can fail:
each model asserts that a double-rounding requantization, and a single-rounding one
whose Q31 multiplier is off by one unit (or truncated instead of rounded), give a
different answer from LiteRT on that very model.

With |accumulator| near 2**30 LiteRT's double-precision FULLY_CONNECTED and a Q31
single rounding differ on a few elements in a thousand; microdl's litert mode
requantizes FULLY_CONNECTED in double as LiteRT does
(test_fully_connected_large_bias_full_sweep_matches_litert, which failed on 4 of
48,640 per-tensor and 45 of 46,848 per-channel elements while microdl used the Q31
multiplier).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from microdl.core import fixedpoint  # the code under test, never the oracle
from tests.oplib import op_model, run_litert, run_microdl, spec

TWO31 = 1 << 31


# ------------------------------------------------------------------ the oracles
def _frexp_exact(f: Fraction):
    """(q, e) with f = q * 2**e and q in [1/2, 1), for f > 0 (C frexp, exactly)."""
    e = f.numerator.bit_length() - f.denominator.bit_length()  # f / 2**e in (1/2, 2)
    if f >= Fraction(2) ** e:
        e += 1
    return f / Fraction(2) ** e, e


def tflite_quantize_multiplier(d: float):
    """TFLite QuantizeMultiplier (quantization_util.cc), exactly:

        q = frexp(d, &shift)                      # d = q * 2**shift, q in [0.5, 1)
        q_fixed = TfLiteRound(q * (1LL << 31))     # std::round: half away from zero
        if q_fixed == 1 << 31: q_fixed /= 2; ++shift
        if shift < -31: shift = 0; q_fixed = 0     # flush tiny multipliers

    q * 2**31 is exact in double (a power-of-two scaling of a normalised mantissa), so
    doing it in Fraction gives the same integers.  Only d >= 0 is modelled."""
    if d == 0.0:
        return 0, 0
    q, shift = _frexp_exact(Fraction(d))
    x = q * TWO31
    fl = x.numerator // x.denominator
    q_fixed = fl + (1 if x - fl >= Fraction(1, 2) else 0)
    if q_fixed == TWO31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def truncated_multiplier(d: float):
    """The planted bug 1: q_fixed = (int64)(q * 2**31), no rounding."""
    q, shift = _frexp_exact(Fraction(d))
    return int(q * TWO31), shift


def rounds_up(d: float) -> bool:
    """Whether QuantizeMultiplier rounds q * 2**31 up (its fractional part >= 1/2)."""
    q, _ = _frexp_exact(Fraction(d))
    x = q * TWO31
    return x - x.numerator // x.denominator >= Fraction(1, 2)


def conv_real_multiplier(in_scale, w_scale, out_scale) -> float:
    """TFLite's effective scale: double(input_scale) * double(filter_scale) /
    double(output_scale) (GetQuantizedConvolutionMultipler for per-tensor FC,
    PopulateConvolutionQuantizationParams per channel), all scales float32."""
    return float(np.float32(in_scale)) * float(np.float32(w_scale)) / float(np.float32(out_scale))


def single_rounding(acc, m, shift):
    """MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING (common.h):
    total = 31 - shift; (x * m + (1 << (total - 1))) >> total (arithmetic shift).
    acc, m, shift broadcast; |acc| < 2**31, 0 <= m <= 2**31 so int64 holds it."""
    acc = np.asarray(acc, np.int64)
    m = np.asarray(m, np.int64)
    total = 31 - np.asarray(shift, np.int64)
    assert np.all(total >= 1) and np.all(total <= 62)
    return (acc * m + (np.int64(1) << (total - 1))) >> total


def double_rounding(acc, m, shift):
    """gemmlowp double rounding as TFLite's default MultiplyByQuantizedMultiplier
    (shift <= 0 here): RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m), -shift).
    SRDHM: (x*m + (x*m >= 0 ? 2**30 : 1 - 2**30)) / 2**31, C division (toward zero);
    RDBPOT: (x >> e) + ((x & mask) > (mask >> 1) + (x < 0))."""
    acc = np.asarray(acc, np.int64)
    m = np.asarray(m, np.int64)
    exponent = -np.asarray(shift, np.int64)
    assert np.all(exponent >= 0) and np.all(m < TWO31)
    ab = acc * m
    s = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    high = np.where(s >= 0, s >> 31, -((-s) >> 31))
    mask = (np.int64(1) << exponent) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> exponent) + ((high & mask) > threshold)


# ------------------------------------------------------ 1. quantize_multiplier
def _random_doubles(rng, n, lo_exp, hi_exp):
    """Doubles with uniformly random 52-bit mantissas and exponents in [lo, hi)."""
    mant = rng.integers(0, 1 << 52, n, dtype=np.int64)
    exps = rng.integers(lo_exp, hi_exp, n)
    return [math.ldexp(1.0 + int(m) / (1 << 52), int(e)) for m, e in zip(mant, exps)]


def _multiplier_cases():
    rng = np.random.default_rng(16)
    vals = [0.0, 0.5, 1.0, 0.75, 2.0 ** -31, 2.0 ** -32, 2.0 ** -33, 5e-324, 1e-300,
            float(np.float32(0.1)), 1 / 3, 2 / 3, 2.0 ** 29, math.pi, math.e]
    vals += _random_doubles(rng, 4000, -36, 29)               # random doubles
    vals += list(rng.uniform(0, 1, 500)) + list(rng.uniform(0, 2 ** 20, 200))
    # q * 2**31 with fractional part exactly 1/2 (q = (2k + 1) / 2**32), k both
    # even and odd (round-half-even would differ on even k), and the doubles just
    # below and above such a tie.
    ks = list(rng.integers(1 << 30, 1 << 31, 600)) + [1 << 30, (1 << 31) - 2]
    for k in ks:
        e = int(rng.integers(-31, 30))
        tie = math.ldexp((2 * int(k) + 1) / 2.0 ** 32, e)
        vals += [tie, math.nextafter(tie, 0.0), math.nextafter(tie, math.inf)]
    # Renormalisation at 2**31: q = 1 - 2**-32 is a tie that rounds to 2**31; so does
    # anything above it (e.g. the double just below a power of two, q = 1 - 2**-53);
    # q just below 1 - 2**-32 rounds to 2**31 - 1.
    for e in range(-33, 30):
        p = math.ldexp(1.0, e)
        tie = math.ldexp(1.0 - 2.0 ** -32, e)
        vals += [math.nextafter(p, 0.0), tie, math.nextafter(tie, 0.0),
                 math.nextafter(tie, math.inf), math.ldexp(1.0 - 2.0 ** -31, e), p]
    # Tiny values around the flush-to-zero threshold (shift < -31 -> 0), including
    # those that are renormalised back up to shift -31.
    vals += [math.ldexp(v, -32) for v in (0.5, 0.75, 0.999, 1.0 - 2.0 ** -33)]
    vals += _random_doubles(rng, 300, -45, -30)
    # Scale ratios as real models produce them: float32 scales, multiplied and divided
    # in double (conv/FC effective scale), in float32 (MUL: s1 * s2 / so), and simple
    # ratios (ADD/SUB/QUANTIZE style).
    a = (10.0 ** rng.uniform(-5, 0, 1500)).astype(np.float32)
    b = (10.0 ** rng.uniform(-5, 0, 1500)).astype(np.float32)
    c = (10.0 ** rng.uniform(-4, 1, 1500)).astype(np.float32)
    vals += [float(x) * float(y) / float(z) for x, y, z in zip(a, b, c)]
    vals += [float(np.float32(x * y / z)) for x, y, z in zip(a, b, c)]
    vals += [float(x) / float(z) for x, z in zip(a, c)]
    vals += [float(x) / (2.0 * float(max(y, z))) for x, y, z in zip(a, b, c)]
    # microdl refuses multipliers whose shift would exceed 30 (d >= ~2**30); TFLite's
    # single-rounding build saturates those instead.  Keep the representable range.
    return [float(v) for v in vals if tflite_quantize_multiplier(float(v))[1] <= 30]


MULTIPLIER_CASES = _multiplier_cases()


def test_oracle_pins_known_values():
    """The oracle itself, on values worked out by hand from the C++."""
    q = tflite_quantize_multiplier
    assert q(0.5) == (1 << 30, 0) and q(1.0) == (1 << 30, 1) and q(0.75) == (3 << 29, 0)
    assert q(2.0 ** -32) == (1 << 30, -31) and q(2.0 ** -33) == (0, 0)
    assert q(math.nextafter(2.0 ** -32, 0)) == (1 << 30, -31)      # renormalised up
    assert q(math.ldexp(1.0 - 2.0 ** -31, -32)) == (0, 0)           # 2**31-1, shift -32
    assert q(math.ldexp((2 * (1 << 30) + 1) / 2.0 ** 32, 0)) == ((1 << 30) + 1, 0)  # tie
    assert q(math.ldexp(1.0 - 2.0 ** -32, -3)) == (1 << 30, -2)     # tie to 2**31
    assert q(math.ldexp(1.0 - 2.0 ** -32 - 2.0 ** -40, -3)) == (TWO31 - 1, -3)
    assert q(0.1) == (1717986918, -3)  # 0.1 * 2**34 = 1717986918.4


def test_quantize_multiplier_matches_tflite():
    """microdl.core.fixedpoint.quantize_multiplier against the exact oracle on random
    doubles, exact ties, near-ties, renormalising values, tiny values and
    float32-derived scale ratios."""
    assert len(MULTIPLIER_CASES) > 10000
    bad = []
    for d in MULTIPLIER_CASES:
        want = tflite_quantize_multiplier(d)
        got = fixedpoint.quantize_multiplier(d)
        if (int(got[0]), int(got[1])) != want:
            bad.append((d.hex(), want, got))
    assert not bad, f"{len(bad)} of {len(MULTIPLIER_CASES)} differ, e.g. {bad[:3]}"


def test_quantize_multiplier_array_matches_tflite():
    """quantize_multiplier_array: int32 arrays, element for element with the oracle."""
    want = [tflite_quantize_multiplier(d) for d in MULTIPLIER_CASES]
    m, s = fixedpoint.quantize_multiplier_array(np.array(MULTIPLIER_CASES))
    assert m.dtype == np.int32 and s.dtype == np.int32
    assert m.shape == s.shape == (len(MULTIPLIER_CASES),)
    wm = np.array([w[0] for w in want], np.int64)
    ws = np.array([w[1] for w in want], np.int64)
    bad = np.flatnonzero((m.astype(np.int64) != wm) | (s.astype(np.int64) != ws))
    assert bad.size == 0, f"{bad.size} differ, first {MULTIPLIER_CASES[bad[0]].hex()}"


def test_multiplier_cases_exercise_both_roundings():
    """The case list can tell rounding from truncation and half-away from half-even."""
    up = sum(rounds_up(d) for d in MULTIPLIER_CASES if d > 2.0 ** -40)
    assert 3000 < up < len(MULTIPLIER_CASES) - 3000
    ties_even = [d for d in MULTIPLIER_CASES if d > 0
                 and (_frexp_exact(Fraction(d))[0] * TWO31).denominator == 2
                 and (_frexp_exact(Fraction(d))[0] * TWO31).numerator // 2 % 2 == 0]
    assert len(ties_even) > 100


# ------------------------------------------ 2. FULLY_CONNECTED and convolutions
# What LiteRT 2.3's reference kernels do (read in google-ai-edge/LiteRT and pinned
# below against the wheel):
# * FULLY_CONNECTED (tflite/kernels/internal/reference/integer_ops/fully_connected.h,
#   since LiteRT commit 9213607 "Make the fully_connected ref kernel do requant in
#   float", in v1.3.0 and later): acc_scaled = (int32) round((double)acc *
#   ((double)input_scale * (double)filter_scale / (double)output_scale)) -- no Q31
#   multiplier at all; C round() is half away from zero.  For small accumulators
#   this equals TFLITE_SINGLE_ROUNDING with the Q31 multiplier; for |acc| near 2**30
#   the Q31 multiplier's error (<= 2**-31 relative) shows.
# * CONV_2D / DEPTHWISE_CONV_2D per channel: Q31 multipliers from QuantizeMultiplier
#   and gemmlowp double rounding (reference_integer_ops::ConvPerChannel,
#   DepthwiseConvPerChannel, MultiplyByQuantizedMultiplier).
#
# Design: each output unit o gets its own rounding boundary, the accumulator value
# acc*_o where the real product M_o * acc crosses y_o + 1/2 (y_o one of the int8
# outputs).  Its int32 bias puts acc*_o inside the window that a sweep of the input
# over all 256 int8 values (weight 1) covers, so each unit sees 256 consecutive
# accumulators across that boundary.  |acc*| is kept in [2**29, 2**31): a one-unit
# change of the Q31 multiplier then moves the boundary by acc*/m ~ 1/4..1 accumulator
# steps, and double rounding differs from single rounding within ~2**30/m steps of
# it, so across ~100-200 units both changes flip some output.
SWEEP = np.arange(-128, 128, dtype=np.int64)
ACC_MIN, ACC_MAX = 1 << 29, (1 << 31) - (1 << 14)


def litert_fc_requant(acc, effective_scale):
    """LiteRT's reference FULLY_CONNECTED requantization: (int32) round((double)acc *
    effective_scale), C round() = half away from zero, done exactly on the double
    product (|product| < 2**9, so floor and the subtraction are exact)."""
    p = np.asarray(acc, np.int64).astype(np.float64) * np.asarray(effective_scale, np.float64)
    a = np.abs(p)
    r = np.floor(a)
    return (np.sign(p) * (r + (a - r >= 0.5))).astype(np.int64)


def _log_uniform(rng, lo, hi, n=None):
    return np.float32(10.0 ** rng.uniform(np.log10(lo), np.log10(hi), n))


class SweepCase:
    """Scales, biases and the independent expectations of one boundary-sweep model.

    reals: effective scales (double); mult/shift: the oracle's Q31 multipliers;
    acc: (256, units) int64 accumulators.  agree_only: keep only the units on which
    LiteRT's double-precision FC requantization and TFLITE_SINGLE_ROUNDING with the
    oracle's Q31 multiplier give the same 256 outputs (both computed here), so that a
    runtime doing the latter must match LiteRT exactly on the model."""

    def __init__(self, rng, per_channel, want_round_up=None, extra=0, agree_only=False):
        self.in_zp = int(rng.integers(-128, 128))
        self.out_zp = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
        boundaries = np.arange(-128, 127) + 0.5 - self.out_zp   # M * acc* values
        vmax = float(np.abs(boundaries).max())
        for _ in range(1000):
            in_s = _log_uniform(rng, 1e-3, 1.0)
            w_ref = _log_uniform(rng, 1e-4, 0.1)
            m_target = float(rng.uniform(1.0, 1.05)) * vmax / ACC_MAX
            out_s = np.float32(float(in_s) * float(w_ref) / m_target)
            if per_channel:
                w_s = (w_ref * rng.uniform(1.0, 1.2, boundaries.size)).astype(np.float32)
            else:
                w_s = np.full(boundaries.size, w_ref, np.float32)
            reals = np.array([conv_real_multiplier(in_s, w, out_s) for w in w_s])
            if want_round_up is None or rounds_up(reals[0]) == want_round_up:
                break
        self.per_channel = per_channel
        self.in_s, self.out_s = float(in_s), float(out_s)
        self.w_ref = w_s[:1]
        acc_star = boundaries / reals
        keep = (np.abs(acc_star) >= ACC_MIN) & (np.abs(acc_star) <= ACC_MAX)
        self.reals, self.w_s = reals[keep], w_s[keep]
        pairs = [tflite_quantize_multiplier(r) for r in self.reals]
        self.mult = np.array([p[0] for p in pairs], np.int64)
        self.shift = np.array([p[1] for p in pairs], np.int64)
        self.trunc_mult = np.array([truncated_multiplier(r)[0] for r in self.reals], np.int64)
        # Extra input columns (depth > 1) hold constants; their sum is folded into
        # the bias so the boundary still falls inside the sweep.
        self.extra_x = rng.integers(-128, 128, extra)
        self.extra_w = rng.integers(-3, 4, extra)
        const = int(((self.extra_x - self.in_zp) * self.extra_w).sum())
        # sweep term (x - in_zp) runs over [-128 - in_zp, 127 - in_zp]; centre on it
        jitter = rng.integers(-64, 65, int(keep.sum()))
        self.bias = (np.rint(acc_star[keep] + 0.5 + self.in_zp - const).astype(np.int64)
                     + jitter)
        self.acc = (self.bias[None, :] + const + (SWEEP - self.in_zp)[:, None])
        assert np.all(np.abs(self.acc) < TWO31 - 1)
        self.candidates = int(keep.sum())
        if agree_only:
            same = np.all(self.out(litert_fc_requant(self.acc, self.reals))
                          == self.out(single_rounding(self.acc, self.mult, self.shift)), axis=0)
            for name in ("reals", "w_s", "mult", "shift", "trunc_mult", "bias"):
                setattr(self, name, getattr(self, name)[same])
            self.acc = self.acc[:, same]
        self.units = int(self.bias.size)

    def out(self, q):
        return np.clip(q + self.out_zp, -128, 127).astype(np.int8)


def fc_sweep_model(rng, per_channel, want_round_up=None, depth=1, agree_only=False):
    """One FULLY_CONNECTED model (version 4 per-tensor, 12 per-channel, as in
    tests/test_fully_connected.py): input (256, depth), filter (units, depth) with
    column 0 all ones, int32 bias of scale input_scale * filter_scale."""
    c = SweepCase(rng, per_channel, want_round_up, extra=depth - 1, agree_only=agree_only)
    w = np.zeros((c.units, depth), np.int8)
    w[:, 0] = 1
    w[:, 1:] = c.extra_w[None, :]
    w_s = c.w_s if per_channel else c.w_ref
    bias_scales = (np.broadcast_to(w_s, (c.units,)).astype(np.float64)
                   * np.float64(np.float32(c.in_s)))
    inputs = [spec((256, depth), scale=c.in_s, zero_point=c.in_zp),
              (spec((c.units, depth), data=w, scales=c.w_s) if per_channel
               else spec((c.units, depth), data=w, scale=float(c.w_ref[0]))),
              spec((c.units,), np.int32, data=c.bias.astype(np.int32),
                   scales=bias_scales.astype(np.float32))]
    out = spec((256, c.units), scale=c.out_s, zero_point=c.out_zp)
    model = op_model("FULLY_CONNECTED", inputs, [out], {"fused_activation_function": 0},
                     version=12 if per_channel else 4)
    x = np.empty((256, depth), np.int8)
    x[:, 0] = SWEEP
    x[:, 1:] = c.extra_x[None, :]
    return model, x, c


def _n_diff(a, b):
    return int(np.count_nonzero(np.asarray(a) != np.asarray(b)))


# (per_channel, require QuantizeMultiplier to round up (per-tensor) or None, depth)
FC_CASES = [(False, True, 1), (False, False, 1), (False, True, 4), (False, True, 1),
            (False, False, 2), (True, None, 1), (True, None, 3), (True, None, 1)]


@pytest.mark.parametrize("k", range(len(FC_CASES)))
def test_litert_fully_connected_requantizes_in_double(k):
    """The oracle fact behind the FC tests: on the full large-bias sweep LiteRT 2.3's
    reference FULLY_CONNECTED equals round(acc * effective_scale) in double
    (litert_fc_requant) on every element, and neither Q31 single rounding nor Q31
    double rounding does."""
    per_channel, want_round_up, depth = FC_CASES[k]
    model, x, c = fc_sweep_model(np.random.default_rng(1600 + k), per_channel,
                                 want_round_up, depth)
    want, = run_litert(model, [x])
    assert want.shape == (256, c.units) and c.units >= 100
    np.testing.assert_array_equal(c.out(litert_fc_requant(c.acc, c.reals)), want)
    assert _n_diff(c.out(single_rounding(c.acc, c.mult, c.shift)), want) > 0
    assert _n_diff(c.out(double_rounding(c.acc, c.mult, c.shift)), want) > 0


@pytest.mark.parametrize("k", range(len(FC_CASES)))
def test_fully_connected_rounding_boundaries_match_litert(k):
    """FULLY_CONNECTED int8 through LiteRT and microdl (rounding="litert") on a
    boundary-sweep model whose units are those where LiteRT's double-precision
    requantization and Q31 single rounding provably agree (see SweepCase), compared
    element for element; plus the checks that the model can fail: microdl's double
    rounding (TFLite Micro), an independent double-rounding model, an independent
    single-rounding model with the multiplier one unit off either way, and one with
    the truncated multiplier (where QuantizeMultiplier rounded up) all differ from
    LiteRT."""
    per_channel, want_round_up, depth = FC_CASES[k]
    rng = np.random.default_rng(1600 + k)
    model, x, c = fc_sweep_model(rng, per_channel, want_round_up, depth, agree_only=True)
    assert c.units >= 60
    want, = run_litert(model, [x])
    assert want.shape == (256, c.units)
    assert int(want.max()) - int(want.min()) >= 140, "outputs do not span the int8 range"
    np.testing.assert_array_equal(c.out(litert_fc_requant(c.acc, c.reals)), want)
    np.testing.assert_array_equal(c.out(single_rounding(c.acc, c.mult, c.shift)), want)

    got, = run_microdl(model, [x])
    assert got.dtype == want.dtype and got.shape == want.shape
    assert _n_diff(got, want) == 0, f"{_n_diff(got, want)} of {want.size} differ"

    # The model discriminates: each of these arithmetic changes flips outputs.
    dbl, = run_microdl(model, [x], rounding="double")
    assert _n_diff(dbl, want) > 0, "double rounding indistinguishable on this model"
    assert _n_diff(c.out(double_rounding(c.acc, c.mult, c.shift)), want) > 0
    for delta in (-1, 1):
        off = c.out(single_rounding(c.acc, c.mult + delta, c.shift))
        assert _n_diff(off, want) > 0, f"multiplier {delta:+d} indistinguishable"
    if per_channel or want_round_up:
        assert np.any(c.trunc_mult != c.mult)
        trunc = c.out(single_rounding(c.acc, c.trunc_mult, c.shift))
        assert _n_diff(trunc, want) > 0, "truncated multiplier indistinguishable"


@pytest.mark.parametrize("k", range(len(FC_CASES)))
def test_fully_connected_large_bias_full_sweep_matches_litert(k):
    """The unfiltered large-bias sweep, microdl against LiteRT element for element,
    including the units where LiteRT's double-precision requantization and a Q31
    single rounding disagree (so a Q31 FULLY_CONNECTED in litert mode fails here)."""
    per_channel, want_round_up, depth = FC_CASES[k]
    model, x, c = fc_sweep_model(np.random.default_rng(1600 + k), per_channel,
                                 want_round_up, depth)
    want, = run_litert(model, [x])
    got, = run_microdl(model, [x])
    assert _n_diff(got, want) == 0, f"{_n_diff(got, want)} of {want.size} differ"


@pytest.mark.parametrize("k", range(len(FC_CASES)))
def test_fully_connected_single_rounding_target_matches_independent_model(k):
    """rounding="single" (TFLite built with TFLITE_SINGLE_ROUNDING before LiteRT 1.3:
    a Q31 multiplier, one rounding) against the independent single-rounding model on
    the full large-bias sweep, where it is distinguishable from both LiteRT's
    double-precision requantization and double rounding."""
    per_channel, want_round_up, depth = FC_CASES[k]
    model, x, c = fc_sweep_model(np.random.default_rng(1600 + k), per_channel,
                                 want_round_up, depth)
    want = c.out(single_rounding(c.acc, c.mult, c.shift))
    assert _n_diff(want, c.out(litert_fc_requant(c.acc, c.reals))) > 0
    assert _n_diff(want, c.out(double_rounding(c.acc, c.mult, c.shift))) > 0
    got, = run_microdl(model, [x], rounding="single")
    assert _n_diff(got, want) == 0, f"{_n_diff(got, want)} of {want.size} differ"


@pytest.mark.parametrize("per_channel", [False, True])
def test_fully_connected_exact_ties_match_litert(per_channel):
    """Power-of-two scales make acc * scale land exactly on k + 1/2 for about 1 in 16
    accumulators, so the tie rule of the double-precision requantization (C round:
    half away from zero) decides those outputs; LiteRT is the oracle, and the
    independent model must show ties are present and that rounding them toward zero
    or to even would differ."""
    rng = np.random.default_rng(77 + per_channel)
    units, depth = 16, 8
    in_s, out_s = 2.0 ** -4, 2.0 ** -2
    w_s = (2.0 ** -rng.integers(1, 4, units)) if per_channel else np.full(units, 2.0 ** -2)
    w = rng.integers(-128, 128, (units, depth)).astype(np.int8)
    bias = rng.integers(-300, 300, units).astype(np.int32)
    in_zp, out_zp = int(rng.integers(-20, 20)), int(rng.integers(-10, 10))
    inputs = [spec((256, depth), scale=in_s, zero_point=in_zp),
              (spec((units, depth), data=w, scales=w_s) if per_channel
               else spec((units, depth), data=w, scale=float(w_s[0]))),
              (spec((units,), np.int32, data=bias, scales=(w_s * in_s).astype(np.float32))
               if per_channel else spec((units,), np.int32, data=bias,
                                        scale=float(w_s[0] * in_s)))]
    out = spec((256, units), scale=out_s, zero_point=out_zp)
    model = op_model("FULLY_CONNECTED", inputs, [out], {"fused_activation_function": 0},
                     version=12 if per_channel else 4)
    x = rng.integers(-40, 40, (256, depth)).astype(np.int8)
    acc = (x.astype(np.int64) - in_zp) @ w.astype(np.int64).T + bias
    scale = np.float64(in_s) * w_s / np.float64(out_s)
    prod = acc * scale
    ties = np.abs(prod - np.trunc(prod)) == 0.5
    assert ties.sum() > 200, "too few exact ties"

    def clip(q):
        return np.clip(q + out_zp, -128, 127).astype(np.int8)

    want, = run_litert(model, [x])
    np.testing.assert_array_equal(want, clip(litert_fc_requant(acc, scale)))
    toward_zero = np.where(ties, np.trunc(prod), litert_fc_requant(acc, scale))
    assert _n_diff(clip(toward_zero.astype(np.int64)), want) > 0
    assert _n_diff(clip(np.rint(prod).astype(np.int64)), want) > 0   # half to even
    got, = run_microdl(model, [x])
    assert _n_diff(got, want) == 0, f"{_n_diff(got, want)} of {want.size} differ"


def conv_sweep_model(rng, depthwise):
    """Per-channel CONV_2D (1x1 kernel, one input channel, filter (units, 1, 1, 1) of
    ones, version 3) or DEPTHWISE_CONV_2D (filter (1, 1, 1, units) of ones, per-channel
    on dimension 3, depth_multiplier 1, version 3) on a 16x16 image holding the 256-value
    sweep, int32 biases near the rounding boundaries."""
    c = SweepCase(rng, per_channel=True)
    bias_scales = (c.w_s.astype(np.float64) * np.float64(np.float32(c.in_s))).astype(np.float32)
    options = {"padding": 1, "stride_h": 1, "stride_w": 1, "dilation_h_factor": 1,
               "dilation_w_factor": 1, "fused_activation_function": 0}
    sweep = SWEEP.astype(np.int8).reshape(1, 16, 16, 1)
    if depthwise:
        options["depth_multiplier"] = 1
        x = np.ascontiguousarray(np.broadcast_to(sweep, (1, 16, 16, c.units)))
        w = spec((1, 1, 1, c.units), data=np.ones((1, 1, 1, c.units), np.int8),
                 scales=c.w_s, quantized_dimension=3)
        name, in_shape = "DEPTHWISE_CONV_2D", (1, 16, 16, c.units)
    else:
        x = sweep
        w = spec((c.units, 1, 1, 1), data=np.ones((c.units, 1, 1, 1), np.int8),
                 scales=c.w_s)
        name, in_shape = "CONV_2D", (1, 16, 16, 1)
    inputs = [spec(in_shape, scale=c.in_s, zero_point=c.in_zp), w,
              spec((c.units,), np.int32, data=c.bias.astype(np.int32), scales=bias_scales)]
    model = op_model(name, inputs, [spec((1, 16, 16, c.units), scale=c.out_s,
                                         zero_point=c.out_zp)], options, version=3)
    return model, x, c


CONV_CASES = [(False, 0), (False, 1), (True, 0), (True, 1)]


@pytest.mark.parametrize("depthwise,k", CONV_CASES)
def test_conv_rounding_boundaries_match_litert(depthwise, k):
    """CONV_2D / DEPTHWISE_CONV_2D per-channel int8 with large biases through LiteRT
    (Q31 multipliers, double rounding in the 2.3 wheel's reference convolutions) and
    microdl; the independent double-rounding model with the oracle multipliers agrees
    with LiteRT, and the same with multipliers one unit off, or truncated, or with
    single rounding, does not -- so a truncating quantize_multiplier is caught on the
    convolution paths too."""
    rng = np.random.default_rng(1700 + 10 * depthwise + k)
    model, x, c = conv_sweep_model(rng, depthwise)
    assert c.units >= 100
    want, = run_litert(model, [x])
    want2 = want.reshape(256, c.units)
    assert int(want.max()) - int(want.min()) >= 140, "outputs do not span the int8 range"
    np.testing.assert_array_equal(c.out(double_rounding(c.acc, c.mult, c.shift)), want2)

    got, = run_microdl(model, [x])
    assert got.dtype == want.dtype and got.shape == want.shape
    assert _n_diff(got, want) == 0, f"{_n_diff(got, want)} of {want.size} differ"
    got_tflm, = run_microdl(model, [x], rounding="double")   # TFLite Micro: also double
    assert _n_diff(got_tflm, want) == 0

    assert _n_diff(c.out(single_rounding(c.acc, c.mult, c.shift)), want2) > 0
    for delta in (-1, 1):
        assert _n_diff(c.out(double_rounding(c.acc, c.mult + delta, c.shift)), want2) > 0
    assert np.any(c.trunc_mult != c.mult)
    assert _n_diff(c.out(double_rounding(c.acc, c.trunc_mult, c.shift)), want2) > 0


# ------------------------------------------------ 3. ADD, SUB, MUL: every pair
NONE, RELU, RELU6 = 0, 1, 3
I8 = np.arange(-128, 128, dtype=np.int8)
ALL_X1 = np.repeat(I8, 256).reshape(256, 256)   # x1[i, j] = i - 128
ALL_X2 = np.tile(I8, 256).reshape(256, 256)     # x2[i, j] = j - 128


def _quant(rng, op, zps, kind="random"):
    """((scale, zp) x 3) inside TFLite's valid multiplier range (as in
    tests/test_elementwise.py): ADD/SUB output scale 0.6-4 x the larger input
    scale; MUL output scale 0.5-300 x s1 * s2.  kind="tie": power-of-two scale
    ratios, which make exact halves common; kind="small": input scales 0.005-0.02 so
    that relu6's upper clamp (6 / output scale) leaves many output levels."""
    s1, s2 = (float(v) for v in rng.uniform(0.005, 0.02 if kind == "small" else 0.2, 2))
    if kind == "tie":
        s2 = s1
        so = s1 * s1 * 2.0 ** int(rng.integers(2, 7)) if op == "MUL" else 2 * s1
    elif op == "MUL":
        so = s1 * s2 * float(rng.uniform(0.5, 300))
    else:
        so = max(s1, s2) * float(rng.uniform(0.6, 4))
    return [(s1, zps[0]), (s2, zps[1]), (so, zps[2])]


def _elementwise_model(op, shape, q, act, dtype):
    options = {"fused_activation_function": act}
    if op != "MUL":
        options["pot_scale_int16"] = False
    return op_model(op, [spec(shape, dtype, scale=s, zero_point=z) for s, z in q[:2]],
                    [spec(shape, dtype, scale=q[2][0], zero_point=q[2][1])], options,
                    version=2 if dtype == np.int8 else 3)


# (zero points, or None for random ones, activation, kind).  Extreme zero points put
# an input's real range on one side of 0 (zp -128: >= 0, zp 127: <= 0); the sets are
# chosen per op so the real result still reaches both sides of the output's range.
_ADD_SUB_COMMON = [(None, NONE, "random"), (None, NONE, "random"),
                   ((-128, 127, -128), NONE, "random"), ((127, -128, 127), NONE, "random"),
                   ((-128, -128, -128), NONE, "random"), ((127, 127, 127), NONE, "random"),
                   ((0, 0, 0), NONE, "random"), (None, NONE, "tie"),
                   ((-128, 127, 0), NONE, "tie"), (None, RELU, "random"),
                   (None, RELU6, "small"), ((-128, 127, -128), RELU6, "small")]
INT8_CONFIGS = {
    "ADD": _ADD_SUB_COMMON + [((127, -128, -128), RELU, "random")],
    "SUB": _ADD_SUB_COMMON + [((-128, 127, -128), RELU, "random")],
    "MUL": [(None, NONE, "random"), (None, NONE, "random"),
            ((-128, 127, 127), NONE, "random"), ((127, -128, 127), NONE, "random"),
            ((-128, -128, -128), NONE, "random"), ((127, 127, -128), NONE, "random"),
            ((0, 0, 0), NONE, "random"), (None, NONE, "tie"), ((127, -128, 0), NONE, "tie"),
            (None, RELU, "random"), ((127, 127, -128), RELU, "random"),
            (None, RELU6, "small"), ((-128, -128, -128), RELU6, "small")],
}


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_elementwise_all_int8_pairs_match_litert(op):
    """All 65,536 int8 (x1, x2) pairs in one (256, 256) model per quantization config
    (random scales, extreme zero points, power-of-two ties, fused none/relu/relu6),
    microdl element for element against LiteRT's reference kernels."""
    rng = np.random.default_rng(["ADD", "SUB", "MUL"].index(op) + 160)
    for zps, act, kind in INT8_CONFIGS[op]:
        for _ in range(20):   # redraw configs whose outputs are nearly all clamped
            z = zps
            if z is None:   # with relu/relu6 an output zp below -40 leaves room above 0
                z = (int(rng.integers(-128, 128)), int(rng.integers(-128, 128)),
                     int(rng.integers(-128, -40 if act else 128)))
            q = _quant(rng, op, z, kind)
            model = _elementwise_model(op, (256, 256), q, act, np.int8)
            want, = run_litert(model, [ALL_X1, ALL_X2])
            inside = np.count_nonzero((want != want.min()) & (want != want.max()))
            if np.unique(want).size >= 40 and inside >= 3000:
                break
        else:
            raise AssertionError(f"{op} {zps} act={act}: no informative config")
        got, = run_microdl(model, [ALL_X1, ALL_X2])
        assert got.dtype == want.dtype and got.shape == want.shape
        n = _n_diff(got, want)
        assert n == 0, (f"{op} q={q} act={act}: {n} of 65536 differ, first at "
                        f"{np.argwhere(got != want)[0].tolist()}")


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_elementwise_int16_sweep_matches_litert(op):
    """int16 (zero points 0, pot_scale_int16 false): 65,536 pairs -- every
    combination of 256 values per input that include -32768, -32767, -1, 0, 1, 32767
    and random ones -- against LiteRT, with and without relu."""
    rng = np.random.default_rng(["ADD", "SUB", "MUL"].index(op) + 1616)
    edge = np.array([-32768, -32767, -16384, -256, -2, -1, 0, 1, 2, 255, 16383, 32767])
    for act in (NONE, RELU, NONE):
        vals = np.concatenate([edge, rng.integers(-32768, 32768, 256 - edge.size)])
        vals = vals.astype(np.int16)
        x1 = np.repeat(vals, 256).reshape(256, 256)
        x2 = np.tile(rng.permutation(vals), 256).reshape(256, 256)
        q = _quant(rng, op, (0, 0, 0))
        model = _elementwise_model(op, (256, 256), q, act, np.int16)
        want, = run_litert(model, [x1, x2])
        got, = run_microdl(model, [x1, x2])
        assert got.dtype == want.dtype and got.shape == want.shape
        n = _n_diff(got, want)
        assert n == 0, f"{op} int16 q={q} act={act}: {n} of 65536 differ"
        assert np.unique(want).size >= 1000
