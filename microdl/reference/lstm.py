"""Reference UNIDIRECTIONAL_SEQUENCE_LSTM in TFLite's integer "8x8_16" form: what
microdl's lstm_s8 kernel computes.

int8 input, output and output state (asymmetric), int8 gate weights (symmetric),
int32 gate biases, int16 cell state with a power-of-two scale, gates in int16: Q3.12
before the activations (or the scale of the intermediate tensors with layer norm),
Q0.15 after them.  Written from TFLite's integer LSTM (tflite/kernels/lstm_eval.cc,
unidirectional_sequence_lstm.cc's Prepare, the portable tensor utils and gemmlowp's
int16 fixed point), one element at a time with Python integers.  It shares no code
with microdl/runtime/ops/lstm.py (which computes the same parameters for the C
kernel); it does its own prepare math from the op's tensors.

Supported here: CIFG or not, peephole, layer norm, projection (with bias and clip),
cell clip, time-major and batch-major inputs.
"""
from __future__ import annotations

import math

import numpy as np

from microdl.reference.activations import (multiply_by_quantized_multiplier,
                                           quantize_multiplier, rdbpot, srdhm, wrap16,
                                           wrap32)

F32 = np.float32
DOUBLE = 0  # rounding of MultiplyByQuantizedMultiplier (gemmlowp's double rounding)


# ------------------------------------------------------------- int16 fixed point
def _srdhm16(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    if a == b == -32768:
        return 32767
    ab = a * b
    num = ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14))
    q = abs(num) >> 15
    return wrap16(q if num >= 0 else -q)


def _rdbpot16(x, e):
    if e == 0:
        return x
    return wrap16(rdbpot(x, e))


def _sat_pot16(x, e):
    """gemmlowp SaturatingRoundingMultiplyByPOT<e> on int16."""
    if e == 0:
        return x
    if e < 0:
        return _rdbpot16(x, -e)
    thr = (1 << (15 - e)) - 1
    if x > thr:
        return 32767
    if x < -thr:
        return -32768
    return wrap16(x << e)


def _const16(v32):
    """A gemmlowp 32-bit fixed-point constant rescaled to 16 bits."""
    return wrap16(rdbpot(v32, 16))


def _exp_quarter(a):
    """exp(a) for a in [-1/4, 0), Q0.15."""
    c = _const16(1895147668)
    third = _const16(715827883)
    x = wrap16(a + (1 << 12))
    x2 = _srdhm16(x, x)
    x3 = _srdhm16(x2, x)
    x4 = _srdhm16(x2, x2)
    x4_4 = _sat_pot16(x4, -2)
    t = _sat_pot16(wrap16(_srdhm16(wrap16(x4_4 + x3), third) + x2), -1)
    return max(-32768, min(32767, c + _srdhm16(c, wrap16(x + t))))


_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
           (2, 39332535), (3, 720401), (4, 242))


def _exp_neg(a, ib):
    """gemmlowp exp_on_negative_values: a <= 0 in int16 with ib integer bits; Q0.15."""
    frac = 15 - ib
    quarter = 1 << (frac - 2)
    a_mod = wrap16((a & (quarter - 1)) - quarter)
    result = _exp_quarter(_sat_pot16(a_mod, ib))
    remainder = wrap16(a_mod - a)
    for e, m in _BARREL:
        if ib > e and remainder & (1 << (frac + e)):
            result = _srdhm16(result, _const16(m))
    if ib > 5 and a < _const16(-(1 << (36 - ib))):
        result = 0
    return 32767 if a == 0 else result


def _newton(a):
    """Q2.13 Newton-Raphson estimate of 1 / (1 + a), a in Q0.15 (gemmlowp)."""
    half = (a + 32767 + (1 if a + 32767 >= 0 else -1))
    half = wrap16(int(half / 2))
    x = wrap16(_const16(1515870810) + _srdhm16(half, _const16(-1010580540)))
    for _ in range(3):
        hx = _srdhm16(half, x)
        x = wrap16(x + _sat_pot16(_srdhm16(x, wrap16(8192 - hx)), 2))
    return x


def sigmoid16(v):
    """gemmlowp logistic: int16 Q3.12 in, Q0.15 out."""
    if v == 0:
        return 16384
    absv = v if v > 0 else wrap16(-v)
    pos = _sat_pot16(_newton(_exp_neg(wrap16(-absv), 3)), 1)
    return pos if v > 0 else wrap16(32767 - pos)


def tanh16(v, ib):
    """gemmlowp tanh: int16 with ib integer bits in, Q0.15 out."""
    if v == 0:
        return 0
    n = v if v < 0 else wrap16(-v)
    t = _sat_pot16(wrap16(_newton(_exp_neg(n, ib + 1)) - 8192), 2)
    return wrap16(-t) if v < 0 else t


# ------------------------------------------------------------------ layer norm
def _sat_shl32(x, e):
    thr = (1 << (31 - e)) - 1
    return (1 << 31) - 1 if x > thr else -(1 << 31) if x < -thr else wrap32(x << e)


def inv_sqrt(x):
    """TFLite GetInvSqrtQuantizedMultiplierExp(x, reverse_shift=-1): (multiplier,
    shift) with 1 / sqrt(x) ~= multiplier * 2^(shift - 31)."""
    if x <= 1:
        return (1 << 31) - 1, 0
    s = 11
    while x >= 1 << 29:
        x = int(x / 4)
        s += 1
    clz = 32 - x.bit_length()
    pairs = (clz - 1) // 2 - 1
    s -= pairs
    x = wrap32(x << (2 * pairs))
    half_input = rdbpot(x >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    r = 1 << 28
    for _ in range(5):
        r3 = _sat_shl32(srdhm(srdhm(r, r), r), 6)
        r = _sat_shl32(wrap32(srdhm(half_three, r) - srdhm(half_input, r3)), 3)
    r = srdhm(r, 1518500250)
    if s < 0:
        r, s = wrap32(r << -s), 0
    return r, -s


def _trunc(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def layer_norm16(gate, weight, bias, scale_mq, guard):
    """TFLite ApplyLayerNorm on one int16 gate vector (list of ints)."""
    n = len(gate)
    total = sum(gate)
    sq = sum(v * v for v in gate)
    mean = _trunc(total * 1024, n)
    variance = sq * _trunc(1 << 20, n) - mean * mean
    v2 = _trunc(variance, 1 << 20)
    if v2 < 1:
        v2 = guard
    im, ish = inv_sqrt(v2)
    out = []
    for j, v in enumerate(gate):
        rescaled = _mbqm(1024 * v - mean, im, ish)
        v3 = wrap32(rescaled * int(weight[j]) + int(bias[j]))
        v4 = _trunc(v3 + 512 if v3 > 0 else v3 - 512, 1024)
        out.append(max(-32768, min(32767, _mbqm(v4, scale_mq[0], scale_mq[1] + 12))))
    return out


# ------------------------------------------------------------------ the op
def _mbqm(x, m, s):
    return multiply_by_quantized_multiplier(int(x), m, s, DOUBLE)


def _qm(real):
    return quantize_multiplier(float(real))


def _scale(t):
    return F32(t.quant.scales[0])


def lstm_8x8_16(op, graph, x, output_state, cell_state):
    """Run one UNIDIRECTIONAL_SEQUENCE_LSTM op of `graph` on input `x`.

    x: int8 array of the op's input shape ([time, batch, input] if time_major, else
    [batch, time, input]); output_state: int8 [batch, n_output]; cell_state: int16
    [batch, n_cell] (the variables before the call).
    Returns (output int8 [..., n_output] in x's layout, output_state, cell_state).
    """
    ts = graph.tensors

    def inp(k):
        i = op.inputs[k] if k < len(op.inputs) else -1
        return ts[i] if i >= 0 else None

    w_in = [inp(k) for k in (1, 2, 3, 4)]       # input / forget / cell / output gates
    w_rec = [inp(k) for k in (5, 6, 7, 8)]
    w_peep = [inp(9), inp(10), None, inp(11)]
    ln = [inp(k) for k in (20, 21, 22, 23)] if len(op.inputs) == 24 else [None] * 4
    use_ln = ln[1] is not None
    bias = [inp(k) for k in (12, 13, 14, 15)]
    proj_w, proj_b = inp(16), inp(17)
    os_t, cs_t = inp(18), inp(19)
    out_t = ts[op.outputs[0]]
    opts = op.options
    cifg = w_in[0] is None
    in_t = inp(0)
    in_s, in_zp = _scale(in_t), int(in_t.quant.zero_points[0])
    os_s, os_zp = _scale(os_t), int(os_t.quant.zero_points[0])
    cell_log2 = int(round(math.log2(float(_scale(cs_t)))))
    hid = ts[op.intermediates[4]]
    hid_s, hid_zp = _scale(hid), int(hid.quant.zero_points[0])
    gate_ss = [F32(2.0 ** -12)] * 4
    if use_ln:
        gate_ss = [_scale(ts[i]) for i in op.intermediates[:4]]
    n_cell = w_in[3].shape[0]
    n_output = w_rec[3].shape[1]

    gates = []
    for g in range(4):
        if g == 0 and cifg:
            gates.append(None)
            continue
        gate_s = gate_ss[g]
        wi, wr = w_in[g].data.astype(np.int64), w_rec[g].data.astype(np.int64)
        bi = wi.sum(axis=1) * (-in_zp)
        if not use_ln:
            bi = bi + bias[g].data.astype(np.int64)
        br = wr.sum(axis=1) * (-os_zp)
        mi = _qm(F32(_scale(w_in[g]) * in_s) / gate_s)
        mr = _qm(F32(_scale(w_rec[g]) * os_s) / gate_s)
        peep = None
        if w_peep[g] is not None:
            real = F32(2.0 ** cell_log2 * float(_scale(w_peep[g])) / float(gate_s))
            peep = (w_peep[g].data.astype(np.int64), _qm(real))
        norm = None
        if use_ln:
            lns = _scale(ln[g])
            norm = (ln[g].data, bias[g].data, _qm(lns), max(1, int(F32(10000) * lns)))
        gates.append((wi, bi, mi, wr, br, mr, peep, norm))
    hidden_m = _qm(F32(2.0 ** -15 / float(hid_s) * 2.0 ** -15))
    if proj_w is not None:
        pw = proj_w.data.astype(np.int64)
        pb = pw.sum(axis=1) * hid_zp
        if proj_b is not None:
            pb = pb + proj_b.data.astype(np.int64)
        proj_m = _qm(F32(_scale(proj_w) * hid_s) / os_s)
    cell_clip = proj_clip = 0
    if opts.get("cell_clip", 0) > 0:
        cell_clip = int(min(max(F32(opts["cell_clip"]) / _scale(cs_t), -32768.0), 32767.0))
    if opts.get("proj_clip", 0) > 0:
        proj_clip = int(min(max(F32(opts["proj_clip"]) / _scale(out_t), -128.0), 127.0))

    def matvec(vec, w, b, m, acc):
        for r in range(w.shape[0]):
            v = _mbqm(int(b[r]) + int(np.dot(w[r], vec)), *m) + acc[r]
            acc[r] = max(-32768, min(32767, v))

    def step(xt, h, c):
        """One time step of one batch row: xt int8 [n_input], h [n_output], c [n_cell]."""
        act = []
        for g, p in enumerate(gates):
            if p is None:
                act.append(None)
                continue
            wi, bi, mi, wr, br, mr, peep, norm = p
            acc = [0] * n_cell
            matvec(xt, wi, bi, mi, acc)
            matvec(h, wr, br, mr, acc)
            if peep is not None and g != 3:
                # TFLite walks the peephole weights over n_output entries.
                for j in range(n_output):
                    v = _mbqm(int(peep[0][j]) * c[j], *peep[1]) + acc[j]
                    acc[j] = max(-32768, min(32767, v))
            if norm is not None and g != 3:
                acc = layer_norm16(acc, *norm)
            act.append(acc)
        act = [None if a is None else
               [tanh16(v, 3) for v in a] if g == 2 else [sigmoid16(v) for v in a]
               for g, a in enumerate(act[:3])] + [act[3]]
        f, cg = act[1], act[2]
        i = [wrap16(32767 - v) for v in f] if cifg else act[0]
        new_c = []
        for j in range(n_cell):
            a = wrap16(rdbpot(f[j] * c[j], 15))
            b = wrap16(rdbpot(i[j] * cg[j], 30 + cell_log2))
            v = max(-32768, min(32767, a + b))
            if cell_clip > 0:
                v = max(-cell_clip, min(cell_clip, v))
            new_c.append(v)
        o = act[3]
        if gates[3][6] is not None:
            peep = gates[3][6]
            for j in range(n_output):
                v = _mbqm(int(peep[0][j]) * new_c[j], *peep[1]) + o[j]
                o[j] = max(-32768, min(32767, v))
        if gates[3][7] is not None:
            o = layer_norm16(o, *gates[3][7])
        o = [sigmoid16(v) for v in o]
        tc = [tanh16(v, 15 + cell_log2) for v in new_c]
        if proj_w is None:
            hnew = [max(-128, min(127, _mbqm(o[j] * tc[j], *hidden_m) + hid_zp))
                    for j in range(n_cell)]
        else:
            hidden = [max(-128, min(127, _mbqm(o[j] * tc[j], *hidden_m) - hid_zp))
                      for j in range(n_cell)]
            hnew = []
            for r in range(n_output):
                v = _mbqm(int(pb[r]) + int(np.dot(pw[r], hidden)), *proj_m) + os_zp
                v = max(-128, min(127, v))
                if proj_clip > 0:
                    v = max(-proj_clip, min(proj_clip, v))
                hnew.append(v)
        return hnew, new_c

    time_major = bool(opts.get("time_major", False))
    xs = np.asarray(x).astype(np.int64)
    if xs.ndim == 2:
        xs = xs[None] if time_major else xs[:, None]
    seq = xs if time_major else xs.transpose(1, 0, 2)   # [time, batch, input]
    h = np.asarray(output_state).reshape(-1, n_output).astype(np.int64).tolist()
    c = np.asarray(cell_state).reshape(-1, n_cell).astype(np.int64).tolist()
    out = np.zeros(seq.shape[:2] + (n_output,), np.int8)
    for t in range(seq.shape[0]):
        for b in range(seq.shape[1]):
            h[b], c[b] = step(seq[t, b], h[b], c[b])
            out[t, b] = h[b]
    if not time_major:
        out = out.transpose(1, 0, 2)
    return (out.reshape(np.asarray(x).shape[:-1] + (n_output,)),
            np.array(h, np.int8).reshape(np.shape(output_state)),
            np.array(c, np.int16).reshape(np.shape(cell_state)))
