"""Reference integer SVDF (int8 input, int8 feature weights, int16 or int8 state and
time weights, int32 bias, int8 output), one invoke at a time.

Written from TFLite's definition of the op: LiteRT's tflite/kernels/svdf.cc (Prepare:
the two effective scales) and kernels/internal/reference/svdf.h EvalIntegerSVDF (int16
state), and TFLite Micro's kernels/svdf_common.cc (the same arithmetic templated on the
state type, with a state zero point for the int8 state).  Plain numpy over whole
arrays, so it is an oracle independent of the C loops.

One invoke:

1. the state [batch, num_filters * memory_size] (each filter's memory_size entries
   contiguous, oldest first) drops its oldest entry: every row moves left by one;
2. the newest entry of filter f is
   zp_state + clamp(requantize(sum_i w_feature[f, i] * (x[i] - zp_in), scale 1),
   state dtype range), stored in the state dtype (two's-complement wrap);
3. out[u] = clamp(zp_out + requantize(bias[u] + sum over the rank filters f of unit u
   of sum_m w_time[f, m] * (state[f, m] - zp_state), scale 2), -128, 127).

scale 1 = input_scale * feature_scale / state_scale, scale 2 = state_scale *
time_scale / output_scale.  Neither runtime applies the fused activation in the
integer kernel (LiteRT requires RELU and leaves the clamp to the output's int8 range),
so neither does this.  int32 sums wrap as two's complement.
"""
from __future__ import annotations

import numpy as np

from microdl.core.fixedpoint import (ROUNDING_DOUBLE, quantize_multiplier, requantize_r,
                                     wrap_int32)


def effective_scales(input_scale, feature_scale, state_scale, time_scale, output_scale,
                     float64=False):
    """(scale 1, scale 2) as Python floats.  float64=False: multiplied and divided in
    float32, then widened (TFLite Micro's svdf_common.cc, and TensorFlow's svdf.cc
    before LiteRT took the quotients in double); True: the float32 scales widened
    first, the quotients taken in double (LiteRT's current svdf.cc)."""
    s = [np.float32(v) for v in (input_scale, feature_scale, state_scale, time_scale,
                                 output_scale)]
    if float64:
        d = [float(v) for v in s]
        return d[0] * d[1] / d[2], d[2] * d[3] / d[4]
    return float(s[0] * s[1] / s[2]), float(s[2] * s[3] / s[4])


def svdf_step(x, state, w_feature, w_time, bias, rank, input_zp, state_zp, output_zp,
              scale1, scale2, rounding=ROUNDING_DOUBLE):
    """One SVDF invoke.

    x: int8 [batch, input_size]; state: int16 or int8 [batch, num_filters *
    memory_size] (not modified); w_feature: int8 [num_filters, input_size]; w_time:
    [num_filters, memory_size] of the state's dtype; bias: int32 [num_units] or None;
    rank: filters per unit (num_filters = num_units * rank); scale1, scale2: the real
    effective scales (see effective_scales).
    Returns (output int8 [batch, num_units], new state of the state's dtype and shape).
    """
    x = np.asarray(x)
    state = np.asarray(state)
    sdt = state.dtype
    batch = x.shape[0]
    nf, mem = w_time.shape
    units = nf // rank
    m1, sh1 = quantize_multiplier(scale1)
    m2, sh2 = quantize_multiplier(scale2)
    info = np.iinfo(sdt)
    # 1. shift: the whole buffer moves left by one element (each row's oldest entry
    # falls off; the last slot of every row is rewritten in step 2).
    flat = state.reshape(-1).copy()
    flat[:-1] = flat[1:]
    s = flat.reshape(batch, nf, mem).astype(np.int64)
    # 2. newest entry of every filter
    acc = wrap_int32((x.astype(np.int64) - input_zp) @ w_feature.astype(np.int64).T)
    v = np.clip(requantize_r(acc, m1, sh1, rounding), info.min, info.max) + state_zp
    s[:, :, mem - 1] = v
    s = ((s - info.min) % (1 << info.bits)) + info.min  # store in the state dtype
    new_state = s.astype(sdt).reshape(state.shape)
    # 3. time weights, rank reduction, bias, output
    prod = wrap_int32(((s - state_zp) * w_time.astype(np.int64)[None]).sum(axis=2))
    red = prod.reshape(batch, units, rank).sum(axis=2)
    if bias is not None:
        red = red + np.asarray(bias, np.int64)[None]
    out = requantize_r(wrap_int32(red), m2, sh2, rounding) + output_zp
    return np.clip(out, -128, 127).astype(np.int8), new_state
