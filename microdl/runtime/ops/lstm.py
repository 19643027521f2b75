"""UNIDIRECTIONAL_SEQUENCE_LSTM in TFLite's integer "8x8_16" form (kernel lstm_s8).

Operands (tflite/kernels/lstm_shared.h): 0 input; 1-4 input-to-{input, forget, cell,
output} weights; 5-8 recurrent-to-gate weights; 9-11 cell-to-{input, forget, output}
(peephole) weights; 12-15 gate biases; 16 projection weights, 17 projection bias; 18
output state and 19 cell state (variable tensors: read and updated in place by the
kernel, kept in the arena for the whole run, reset by reset_all_variables); 20-23 layer
norm coefficients.  Intermediates (Operator.intermediates): 5 tensors: the four gates'
scales (read only under layer norm; without it the gates are Q3.12) and the hidden
state's scale and zero point.

Prepare follows TFLite's PopulateQuantizedLstmParams8x8_16 and
PopulatePrecomputedZPTimesWeightsWithBias (unidirectional_sequence_lstm.cc): effective
scales in float32 in TFLite's operand order, QuantizeMultiplier on each; zero points
folded into per-row effective biases; cell and projection clips quantized with a
truncating cast.  Numpy twin: microdl/reference/lstm.py.
"""
from __future__ import annotations

import math

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.fixedpoint import ROUNDING_DOUBLE, quantize_multiplier
from microdl.runtime.ops import Node, Unsupported, register
from microdl.runtime.ops.common import (ACT_TANH, INT8, INT16, INT32, per_tensor_quant,
                                        require_constant, require_dtype, tensor_at)

F32 = np.float32
# LiteRT 2.x's integer LSTM requantizes with gemmlowp's double rounding
# (MultiplyByQuantizedMultiplier; single rounding fails the tests against LiteRT).
# The kernel follows LiteRT for every rounding= target: TFLite Micro's LSTM uses its
# int16 LOGISTIC / TANH kernels (reference_integer_ops::Logistic / Tanh, table
# interpolation) instead of gemmlowp's sigmoid / tanh, and differs from LiteRT (and
# microdl) by 1-2 on a few percent of trained_lstm_int8's LSTM outputs (measured with
# tflite-micro's Python interpreter); rounding="tflm" does not reproduce that.
KERNEL_ROUNDING = ROUNDING_DOUBLE
GATES = ("input", "forget", "cell", "output")


def _mult(op, what, real):
    try:
        return quantize_multiplier(float(real))
    except ValueError as e:
        raise ModelError(f"op {op.index} ({op.name}): {what} scale: {e}") from None


def _wrap32(a):
    return ((np.asarray(a, np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def _weights(op, graph, k, what, shape):
    """Constant int8 per-tensor symmetric weights of `shape`, or None if omitted."""
    t = tensor_at(graph, op, k, optional=True)
    if t is None:
        return None
    require_dtype(t, INT8)
    require_constant(op, t, what)
    if tuple(t.shape) != tuple(shape):
        raise ModelError(f"op {op.index} ({op.name}): {what} (tensor {t.index}) has "
                         f"shape {tuple(t.shape)}, expected {tuple(shape)}")
    per_tensor_quant(t, require_zero_point=0)
    return t


def _vector(op, graph, k, what, n, dtype):
    t = tensor_at(graph, op, k, optional=True)
    if t is None:
        return None
    require_dtype(t, dtype)
    require_constant(op, t, what)
    if tuple(t.shape) != (n,):
        raise ModelError(f"op {op.index} ({op.name}): {what} (tensor {t.index}) has "
                         f"shape {tuple(t.shape)}, expected ({n},)")
    return t


def _state(op, graph, k, what, dtype, size):
    t = tensor_at(graph, op, k)
    if not t.is_variable:
        raise ModelError(f"op {op.index} ({op.name}): {what} (tensor {t.index}) must be "
                         f"a variable tensor")
    if t.data is not None:
        raise Unsupported(f"{what} (tensor {t.index}) has an initial value in the file")
    require_dtype(t, dtype)
    if t.size != size:
        raise ModelError(f"op {op.index} ({op.name}): {what} (tensor {t.index}) has "
                         f"{t.size} elements, expected {size}")
    return t


def _checked_log2(x):
    """TFLite CheckedLog2: (round(log2 x), whether x is a power of two within 1e-3)."""
    lg = F32(math.log(float(x))) * F32(1.0 / math.log(2.0))
    r = float(np.round(lg))
    return int(r), abs(float(lg) - r) < 1e-3


@register("UNIDIRECTIONAL_SEQUENCE_LSTM")
def prepare_unidirectional_sequence_lstm(op, graph, ctx):
    """int8 input [batch, time, n_input] ([time, batch, n_input] with time_major),
    int8 gate weights [n_cell, n_input] / [n_cell, n_output], int32 biases [n_cell],
    int16 peephole weights [n_cell], int8 projection [n_output, n_cell] with int32
    bias [n_output], int8 output state [batch, n_output] and int16 cell state [batch,
    n_cell] (scale 2^-15 .. 2^-9); output int8 [..., n_output] in the input's layout.

    Layer norm (int16 coefficients [n_cell], the gates' intermediate tensors giving
    their scales) as TFLite's ApplyLayerNorm.

    Raises Unsupported for float / hybrid LSTMs, diagonal recurrent weights, per-channel weights, peephole with n_output != n_cell, a fused activation
    other than TANH; ModelError for inconsistent shapes or quantization."""
    if op.version > 4:
        raise Unsupported(f"version {op.version}")
    if len(op.inputs) not in (20, 24) or len(op.outputs) != 1:
        raise ModelError(f"op {op.index} ({op.name}): {len(op.inputs)} inputs and "
                         f"{len(op.outputs)} outputs, expected 20 or 24 and 1")
    x = tensor_at(graph, op, 0)
    y = tensor_at(graph, op, 0, "output")
    w_o = tensor_at(graph, op, 4)
    if x.dtype != INT8 or w_o.dtype != INT8:
        raise Unsupported(f"input {x.dtype} with weights {w_o.dtype}: only the integer "
                          f"8x8_16 form (int8 input and weights) is supported")
    require_dtype(y, INT8)
    # TFLite's test: layer norm when the forget gate's coefficients are present.
    layer_norm = len(op.inputs) == 24 and op.inputs[21] >= 0
    o = op.options
    if int(o.get("fused_activation_function", ACT_TANH)) != ACT_TANH:
        raise Unsupported(f"fused activation {o.get('fused_activation_function')}: the "
                          f"integer LSTM computes tanh only")
    if len(x.shape) != 3:
        raise ModelError(f"op {op.index} ({op.name}): input must be 3-D, got "
                         f"{tuple(x.shape)}")
    time_major = bool(o.get("time_major", False))
    n_time, n_batch = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    n_input = int(x.shape[2])
    rec_o = tensor_at(graph, op, 8)
    if len(rec_o.shape) != 2 or len(w_o.shape) != 2:
        raise Unsupported("diagonal (1-D) recurrent weights")
    n_cell, n_output = int(w_o.shape[0]), int(rec_o.shape[1])
    if n_cell < 1 or n_output < 1 or n_input < 1:
        raise ModelError(f"op {op.index} ({op.name}): empty gate dimension")
    w_in = [_weights(op, graph, 1 + g, f"input-to-{GATES[g]} weights", (n_cell, n_input))
            for g in range(4)]
    w_rec = [_weights(op, graph, 5 + g, f"recurrent-to-{GATES[g]} weights",
                      (n_cell, n_output)) for g in range(4)]
    cifg = w_in[0] is None
    if any(w is None for w in w_in[1:] + w_rec[1:]) or (w_rec[0] is None) != cifg:
        raise ModelError(f"op {op.index} ({op.name}): missing gate weights (the input "
                         f"gate's input and recurrent weights go together)")
    peep = [_vector(op, graph, k, f"cell-to-{g} weights", n_cell, INT16)
            for k, g in ((9, "input"), (10, "forget"), (11, "output"))]
    peephole = peep[2] is not None
    if ((peep[0] is not None) and cifg) or any(
            (p is None) == peephole for p in peep[1:]) or (
            peephole and not cifg and peep[0] is None):
        raise ModelError(f"op {op.index} ({op.name}): peephole weights must be all "
                         f"present or all absent")
    bias = [_vector(op, graph, 12 + g, f"{GATES[g]} gate bias", n_cell, INT32)
            for g in range(4)]
    if (bias[0] is None) != cifg or any(b is None for b in bias[1:]):
        raise ModelError(f"op {op.index} ({op.name}): gate biases inconsistent with "
                         f"the input gate's presence")
    proj_w = _weights(op, graph, 16, "projection weights", (n_output, n_cell))
    proj_b = _vector(op, graph, 17, "projection bias", n_output, INT32)
    if proj_b is not None and proj_w is None:
        raise ModelError(f"op {op.index} ({op.name}): projection bias without weights")
    if proj_w is None and n_output != n_cell:
        raise ModelError(f"op {op.index} ({op.name}): n_output {n_output} != n_cell "
                         f"{n_cell} without projection")
    if peephole and n_output != n_cell:
        raise Unsupported("peephole with projection to n_output != n_cell (TFLite's "
                          "integer kernel walks the peephole over n_output entries)")
    out_state = _state(op, graph, 18, "output state", INT8, n_batch * n_output)
    cell_state = _state(op, graph, 19, "cell state", INT16, n_batch * n_cell)
    if tuple(y.shape) != tuple(x.shape[:2]) + (n_output,):
        raise ModelError(f"op {op.index} ({op.name}): output has shape "
                         f"{tuple(y.shape)}, expected {tuple(x.shape[:2]) + (n_output,)}")
    if len(op.intermediates) != 5:
        raise ModelError(f"op {op.index} ({op.name}): the integer LSTM needs 5 "
                         f"intermediate tensors, the op has {len(op.intermediates)}")
    hidden = graph.tensors[op.intermediates[4]]
    hid_scale, hid_zp = per_tensor_quant(hidden)
    ln_coeff = [None] * 4
    if layer_norm:
        ln_coeff = [_vector(op, graph, 20 + g, f"{GATES[g]} layer norm coefficients",
                            n_cell, INT16) for g in range(4)]
        if (ln_coeff[0] is None) != cifg or any(c is None for c in ln_coeff[1:]):
            raise ModelError(f"op {op.index} ({op.name}): layer norm coefficients "
                             f"inconsistent with the input gate's presence")
        for c in ln_coeff:
            if c is not None:
                per_tensor_quant(c)

    in_scale, in_zp = per_tensor_quant(x)
    os_scale, os_zp = per_tensor_quant(out_state)
    cs_scale, cs_zp = per_tensor_quant(cell_state)
    out_scale, _ = per_tensor_quant(y)
    if cs_zp != 0:
        raise Unsupported(f"cell state zero point {cs_zp}, expected 0")
    cell_shift, pot = _checked_log2(cs_scale)
    if not pot:
        raise ModelError(f"op {op.index} ({op.name}): cell state scale {cs_scale} is "
                         f"not a power of two")
    if not -15 <= cell_shift <= -9:
        raise Unsupported(f"cell state scale 2^{cell_shift}: the kernel handles 2^-15 "
                          f"to 2^-9 (tanh of the cell state in Q0.15 to Q6.9)")
    for k in (9, 10, 11):
        t = tensor_at(graph, op, k, optional=True)
        if t is not None:
            per_tensor_quant(t)

    # Effective scales, float32 as TFLite computes them (gate scale 2^-12 without
    # layer norm, the intermediate tensors' scales with it).
    gate_scales = [F32(2.0 ** -12)] * 4
    if layer_norm:
        gate_scales = [F32(per_tensor_quant(graph.tensors[i])[0])
                       for i in op.intermediates[:4]]
    in_s, os_s = F32(in_scale), F32(os_scale)
    in_mult, in_shift, rec_mult, rec_shift = [0] * 4, [0] * 4, [0] * 4, [0] * 4
    peep_mult, peep_shift = [0] * 4, [0] * 4
    for g in range(4):
        if g == 0 and cifg:
            continue
        ws_i, ws_r = F32(w_in[g].quant.scales[0]), F32(w_rec[g].quant.scales[0])
        in_mult[g], in_shift[g] = _mult(op, f"input-to-{GATES[g]}",
                                        F32(ws_i * in_s) / gate_scales[g])
        rec_mult[g], rec_shift[g] = _mult(op, f"recurrent-to-{GATES[g]}",
                                          F32(ws_r * os_s) / gate_scales[g])
    cell_weights = None
    if peephole or layer_norm:
        cell_weights = np.zeros((8, n_cell), np.int16)
    if peephole:
        for g, t in ((0, peep[0]), (1, peep[1]), (3, peep[2])):
            if t is None:
                continue
            real = F32(2.0 ** cell_shift * float(F32(t.quant.scales[0])) /
                       float(gate_scales[g]))
            peep_mult[g], peep_shift[g] = _mult(op, f"cell-to-{GATES[g]}", real)
            cell_weights[g] = t.data
    ln_mult, ln_shift, ln_guard = [0] * 4, [0] * 4, [1] * 4
    ln_bias = np.zeros((4, n_cell), np.int64)
    for g, c in enumerate(ln_coeff):
        if c is None:
            continue
        ln_scale = F32(c.quant.scales[0])
        ln_mult[g], shift = _mult(op, f"{GATES[g]} layer norm", ln_scale)
        ln_shift[g] = shift + 12
        ln_guard[g] = max(1, int(F32(10000.0) * ln_scale))
        cell_weights[4 + g] = c.data
        ln_bias[g] = bias[g].data
    hidden_mult, hidden_shift = _mult(
        op, "hidden", F32(2.0 ** -15 / float(F32(hid_scale)) * 2.0 ** -15))
    proj_mult = proj_shift = 0
    if proj_w is not None:
        proj_mult, proj_shift = _mult(
            op, "projection", F32(F32(proj_w.quant.scales[0]) * F32(hid_scale)) / os_s)

    # Effective biases: gate bias - input zero point x row sums (input side),
    # - output-state zero point x row sums (recurrent side), projection bias +
    # hidden zero point x row sums.
    biases = np.zeros((9, max(n_cell, n_output)), np.int64)
    w_in_arr = np.zeros((4, n_cell, n_input), np.int8)
    w_rec_arr = np.zeros((4, n_cell, n_output), np.int8)
    for g in range(4):
        if g == 0 and cifg:
            continue
        w_in_arr[g], w_rec_arr[g] = w_in[g].data, w_rec[g].data
        # Under layer norm the gate bias is added after the normalization instead.
        gate_bias = 0 if layer_norm else bias[g].data.astype(np.int64)
        biases[g, :n_cell] = gate_bias - in_zp * w_in[g].data.astype(np.int64).sum(axis=1)
        biases[4 + g, :n_cell] = -os_zp * w_rec[g].data.astype(np.int64).sum(axis=1)
    if proj_w is not None:
        pb = hid_zp * proj_w.data.astype(np.int64).sum(axis=1)
        if proj_b is not None:
            pb = pb + proj_b.data.astype(np.int64)
        biases[8, :n_output] = pb
    bias_arr = np.concatenate([biases[:8, :n_cell].ravel(), biases[8, :n_output]] +
                              ([ln_bias.ravel()] if layer_norm else []))

    cell_clip = proj_clip = 0
    if float(o.get("cell_clip", 0.0)) < 0 or float(o.get("proj_clip", 0.0)) < 0:
        raise ModelError(f"op {op.index} ({op.name}): negative cell_clip / proj_clip")
    if float(o.get("cell_clip", 0.0)) > 0:
        cell_clip = int(min(max(F32(o["cell_clip"]) / F32(cs_scale), F32(-32768.0)),
                            F32(32767.0)))
    if float(o.get("proj_clip", 0.0)) > 0:
        proj_clip = int(min(max(F32(o["proj_clip"]) / F32(out_scale), F32(-128.0)),
                            F32(127.0)))

    params = dict(n_batch=n_batch, n_time=n_time, n_input=n_input, n_cell=n_cell,
                  n_output=n_output, time_major=int(time_major), cifg=int(cifg),
                  peephole=int(peephole), projection=int(proj_w is not None),
                  layer_norm=int(layer_norm), ln_mult=ln_mult, ln_shift=ln_shift,
                  ln_guard=ln_guard,
                  in_mult=in_mult, in_shift=in_shift, rec_mult=rec_mult,
                  rec_shift=rec_shift, peep_mult=peep_mult, peep_shift=peep_shift,
                  hidden_mult=hidden_mult, hidden_shift=hidden_shift, hidden_zp=hid_zp,
                  proj_mult=proj_mult, proj_shift=proj_shift, output_zp=os_zp,
                  cell_shift=cell_shift, cell_clip=cell_clip, proj_clip=proj_clip,
                  rounding=KERNEL_ROUNDING)
    scratch = (11 * n_cell + 15) // 16 * 16  # MDL_LSTM_S8_SCRATCH_BYTES
    return [Node("lstm_s8", params,
                 [x.index, w_in_arr, w_rec_arr, _wrap32(bias_arr), cell_weights,
                  None if proj_w is None else proj_w.index, out_state.index,
                  cell_state.index],
                 y.index, scratch_bytes=scratch)]
