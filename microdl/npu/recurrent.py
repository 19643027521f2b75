"""Recurrent operators and CPU fallback in the NPU cost model (microdl/npu/MODEL.md,
"Recurrent operators and the CPU").

* ``cpu_reason(op, g)``: why Vela 5.2 would leave an operator to the CPU (SVDF and the
  other operators its TFLite front end does not support, int32 feature maps outside
  the few operators that take them), or None.  Such operators cost 0 NPU cycles, as
  Vela reports them, and the tensors they exchange with NPU operators become the
  inputs and outputs of separate NPU command streams (``boundary_tensors``).
* ``lstm_step_graph(op, g)``: the operations one time step of a
  UNIDIRECTIONAL_SEQUENCE_LSTM becomes when Vela unrolls it (its TFLite front end
  supports the integer LSTM without CIFG, peephole, projection or layer norm): per
  gate two FULLY_CONNECTED layers (the step's input features and the recurrent
  output state, each to int16), an int16 ADD with the gate's lookup-table activation
  (sigmoid or tanh) in its output stage and, for the sigmoid gates, a clamp to the
  reference's sigmoid range; the cell state's two MULs, ADD and cell clip; a
  standalone tanh of the cell state; the MUL by the output gate that writes the new
  output state; a copy of it into the sequence output.  The estimator costs that
  graph with its ordinary per-layer formulas and multiplies by the number of steps.
  Source of the lowering: Vela 5.2's per-layer report for such models (one
  FullyConnected x 2, Add, Sigmoid/Tanh, Clamp / Mul row group per gate and step)
  and the unrolling in ethos-u-vela's lstm.py.
"""
from __future__ import annotations

import numpy as np

from microdl.core.graph import Graph, Op, Tensor

# TFLite operators Vela 5.2's TFLite front end does not support at all (CPU only).
CPU_ONLY_OPS = frozenset({
    "SVDF", "BIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_RNN",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "RNN", "LSTM", "WHILE", "IF", "CALL_ONCE",
    "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"})
# Operators Vela lets read or write int32 feature maps (its int32 tensor rule).
INT32_OPS = frozenset({"ADD", "SUB", "MUL", "SUM", "ARG_MAX", "TRANSPOSE", "MIRROR_PAD",
                       "SHAPE"})

# UNIDIRECTIONAL_SEQUENCE_LSTM input slots (TFLite's lstm_shared.h order).
_IN_W = (1, 2, 3, 4)          # input-to-{input, forget, cell, output} weights
_REC_W = (5, 6, 7, 8)         # recurrent-to-{input, forget, cell, output} weights
_PEEPHOLE = (9, 10, 11)
_BIAS = (12, 13, 14, 15)      # {input, forget, cell, output} gate biases
_PROJECTION = (16, 17)
_OUTPUT_STATE, _CELL_STATE = 18, 19
_LAYER_NORM = (20, 21, 22, 23)
GATES = ("input", "forget", "cell", "output")


def _present(op, i):
    return i < len(op.inputs) and op.inputs[i] >= 0


def cpu_reason(op, g):
    """Why Vela 5.2 runs `op` on the CPU, as text, or None if the NPU runs it.

    Rules (Vela 5.2's TFLite supported-operator checks): operators in CPU_ONLY_OPS;
    an int32 non-constant input or output on an operator not in INT32_OPS; an
    UNIDIRECTIONAL_SEQUENCE_LSTM with CIFG (no input gate), peephole, projection or
    layer-norm tensors."""
    if op.name in CPU_ONLY_OPS:
        return f"runs on the CPU: Vela 5.2 does not support {op.name} on Ethos-U " \
               f"(0 NPU cycles, as Vela reports)"
    if op.name not in INT32_OPS:
        for i in list(op.inputs) + list(op.outputs):
            if i < 0:
                continue
            t = g.tensors[i]
            if t.data is None and t.dtype is not None and \
                    np.dtype(t.dtype) == np.int32:
                return f"runs on the CPU: int32 tensor {t.name or i!r} (Vela 5.2 " \
                       f"runs int32 feature maps only through {sorted(INT32_OPS)})"
    if op.name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        missing = [i for i in _IN_W + _REC_W if not _present(op, i)]
        extras = [i for i in _PEEPHOLE + _PROJECTION + _LAYER_NORM if _present(op, i)]
        if missing or extras:
            return ("runs on the CPU: Vela 5.2 unrolls only LSTMs with all input and "
                    "recurrent weights and no peephole, projection or layer norm")
    return None


def boundary_tensors(g, cpu_ops):
    """(inputs, outputs) of the NPU command streams that CPU operators cut the graph
    into: tensors a CPU operator writes and an NPU operator reads, and tensors an
    NPU operator writes and a CPU operator reads (they live in the memory the CPU
    sees, like the network's own input and output)."""
    producer = {o: op.index for op in g.ops for o in op.outputs}
    ins, outs = set(), set()
    for op in g.ops:
        for i in op.inputs:
            if i < 0 or g.tensors[i].data is not None or i not in producer:
                continue
            p_cpu, c_cpu = producer[i] in cpu_ops, op.index in cpu_ops
            if p_cpu and not c_cpu:
                ins.add(i)
            elif c_cpu and not p_cpu:
                outs.add(i)
    return ins, outs


def lstm_dims(op, g):
    """(steps, batch per step, features, cells, outputs) of an integer
    UNIDIRECTIONAL_SEQUENCE_LSTM: Vela unrolls batch-major sequences one batch row
    at a time (steps = batch x time, batch per step 1) and time-major ones one time
    step at a time over the whole batch."""
    t = g.tensors
    x = t[op.inputs[0]]
    time_major = bool(op.options.get("time_major", False))
    if len(x.shape) == 3:
        a, b, n_feature = (int(v) for v in x.shape)
        n_time, n_batch = (a, b) if time_major else (b, a)
    else:
        n_time, n_batch, n_feature = 1, int(x.shape[0]), int(x.shape[-1])
    n_cell = int(t[op.inputs[_IN_W[0]]].shape[0])
    n_out = int(t[op.inputs[_REC_W[0]]].shape[-1])
    if time_major:
        return n_time, n_batch, n_feature, n_cell, n_out
    return n_time * n_batch, 1, n_feature, n_cell, n_out


def lstm_step_graph(op, g):
    """One unrolled time step of `op` (UNIDIRECTIONAL_SEQUENCE_LSTM) as a Graph, and
    the number of such steps.

    The step's input features, the output state and the cell state are the step
    graph's inputs and outputs (they stay in the memory of the LSTM's input and
    variable tensors); the gate weights are the model's own tensors (so their
    encoded sizes are the real ones).  Each op's ``options["gate"]`` names the part
    of the step it belongs to ("input" ... "output", or "state").

    Returns:
        (Graph, steps).
    Raises:
        IndexError / ValueError: the operator lacks the tensors of an integer LSTM.
    """
    steps, batch, n_feature, n_cell, n_out = lstm_dims(op, g)
    src = g.tensors
    act_dtype = np.dtype(src[op.inputs[0]].dtype)
    tensors, ops = [], []

    def tensor(shape, dtype, data=None, name=""):
        i = len(tensors)
        tensors.append(Tensor(index=i, name=name or f"lstm_t{i}", dtype=np.dtype(dtype),
                              shape=tuple(shape), shape_signature=tuple(shape),
                              data=data))
        return i

    def const(slot):
        s = src[op.inputs[slot]]
        return tensor(s.shape, s.dtype, s.data, s.name)

    def emit(name, inputs, outputs, gate, **options):
        ops.append(Op(index=len(ops), name=name, version=1, inputs=list(inputs),
                      outputs=list(outputs), options=dict(options, gate=gate)))

    x = tensor((batch, n_feature), act_dtype, name="feature")
    h = tensor((batch, n_out), act_dtype, name="output_state")
    c = tensor((batch, n_cell), np.int16, name="cell_state")
    gate_out = {}
    for k, gate in enumerate(GATES):
        w_in, w_rec = const(_IN_W[k]), const(_REC_W[k])
        bias = const(_BIAS[k]) if _present(op, _BIAS[k]) else -1
        fi = tensor((batch, n_cell), np.int16)
        fr = tensor((batch, n_cell), np.int16)
        emit("FULLY_CONNECTED", [x, w_in, bias], [fi], gate)
        emit("FULLY_CONNECTED", [h, w_rec, -1], [fr], gate)
        s = tensor((batch, n_cell), np.int16)
        emit("ADD", [fi, fr], [s], gate)
        a = tensor((batch, n_cell), np.int16)
        emit("TANH" if gate == "cell" else "LOGISTIC", [s], [a], gate)
        if gate != "cell":
            # The sigmoid's output clamped to the range the reference's table reaches.
            clamped = tensor((batch, n_cell), np.int16)
            emit("RELU_N1_TO_1", [a], [clamped], gate)
            a = clamped
        gate_out[gate] = a
    cf = tensor((batch, n_cell), np.int16)
    emit("MUL", [c, gate_out["forget"]], [cf], "state")
    ci = tensor((batch, n_cell), np.int16)
    emit("MUL", [gate_out["cell"], gate_out["input"]], [ci], "state")
    c_sum = tensor((batch, n_cell), np.int16)
    emit("ADD", [cf, ci], [c_sum], "state")
    c_new = tensor((batch, n_cell), np.int16, name="cell_state_out")
    emit("RELU_N1_TO_1", [c_sum], [c_new], "state")          # cell clip
    tc = tensor((batch, n_cell), np.int16)
    emit("TANH", [c_new], [tc], "state")
    h_new = tensor((batch, n_out), act_dtype, name="output_state_out")
    emit("MUL", [gate_out["output"], tc], [h_new], "state")
    y = tensor((batch, n_out), act_dtype, name="sequence_output")
    emit("SLICE", [h_new], [y], "state")                      # into the output sequence
    graph = Graph(tensors=tensors, ops=ops, inputs=[x, h, c],
                  outputs=[h_new, c_new, y])
    return graph, steps
