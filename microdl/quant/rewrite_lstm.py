"""Fold the WHILE loop a Keras 3 ``LSTM`` layer exports into one fused float
UNIDIRECTIONAL_SEQUENCE_LSTM, so microdl-convert can quantize it.

TensorFlow 2.x exports a Keras 3 LSTM (``keras.layers.LSTM``, TensorFlow backend,
``unroll=False``) as a WHILE op over six loop variables
``(step, time, outputs, h, c, inputs)``:

- main graph: ``inputs`` = the layer input (1, T, F) made time-major (T, 1, F) by a
  RESHAPE (batch 1) or a TRANSPOSE with perm (1, 0, 2); ``step`` = ``time`` = 0 and
  ``outputs``, ``h``, ``c`` zeros (constants);
- cond subgraph: ``step < T and time < T`` (LESS, LESS, LOGICAL_AND);
- body subgraph: ``x_t = GATHER(inputs, time)``,
  ``z = FULLY_CONNECTED(x_t, W) + FULLY_CONNECTED(h, R) + b`` (ADDs, RESHAPEs), four
  gates by SPLIT along the last axis, ``c' = sigmoid(z_f) * c + sigmoid(z_i) *
  tanh(z_c)``, ``h' = sigmoid(z_o) * tanh(c')`` (LOGISTIC, TANH, MUL, ADD), and
  ``outputs`` either the last h' reshaped to (1, 1, U) (``return_sequences=False``) or
  the (T, 1, U) sequence with h' written at row ``time`` (SLICE, CONCATENATION,
  ``return_sequences=True``); step and time + 1.

Keras computes these equations for a layer with ``activation="tanh"``,
``recurrent_activation="sigmoid"``, no mask, no dropout at inference, and no
``go_backwards`` (keras/src/layers/rnn/lstm.py ``LSTMCell.call``); its gate order in
the kernel's columns is i, f, c, o.  The matcher does not rely on that order: it
names each SPLIT output by the role it plays in the equations above and reorders
the rows into TFLite's i, f, c, o input slots (tensorflow/lite/kernels/lstm.cc,
inputs 1-4, 5-8, 12-15).  W (4U, F), R (4U, U) and b (4U) are the body's constant
FULLY_CONNECTED weights and the sum of its constant bias terms.

The fused op is batch-major (time_major False) and reads the layer input (1, T, F);
its output (1, T, U) replaces the RESHAPE back to batch-major (sequences), or a
STRIDED_SLICE that takes the last step replaces the one that read ``outputs`` (last
step; ``h`` after the loop is the same slice).  The state tensors are variables
starting at zero (the loop's initial values must be zero constants), cell_clip 0
(Keras does not clip).

Recognition is strict: every op of both subgraphs must be accounted for by the
pattern, every constant must have the value the equations need, and the loop's other
results (step, time, c, inputs) must be unused; otherwise the WHILE op is left as it
is and :func:`why_not_keras_lstm` says which part did not match.
"""
from __future__ import annotations

import copy

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.graph import Graph, Op, Tensor
from microdl.floatexec import ops as F

LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
CONTROL_FLOW = ("WHILE", "IF", "CALL_ONCE")
FLOAT32 = np.dtype(np.float32)


class NotKerasLSTM(ModelError):
    """A WHILE op is not the exact loop of a Keras 3 LSTM layer (says what differs)."""


class _Sub:
    """Producer / consumer maps over one subgraph."""

    def __init__(self, g: Graph, what: str):
        self.g, self.what = g, what
        self.producer, self.consumers = {}, {}
        for op in g.ops:
            for t in op.outputs:
                self.producer[t] = op
            for t in op.inputs:
                if t >= 0:
                    self.consumers.setdefault(t, []).append(op)
        self.used = set()

    def fail(self, msg):
        raise NotKerasLSTM(f"{self.what}: {msg}")

    def op(self, t, name, n_in=None):
        """The op of type `name` writing tensor t (marked as matched)."""
        op = self.producer.get(t)
        if op is None or op.name != name:
            got = "nothing" if op is None else op.name
            self.fail(f"tensor {t} ({self.g.tensors[t].name!r}) is written by {got}, "
                      f"expected {name}")
        if n_in is not None and len(op.inputs) != n_in:
            self.fail(f"op {op.index} ({name}): {len(op.inputs)} inputs, expected {n_in}")
        act = op.options.get("fused_activation_function", 0)
        if act not in (0, None):
            self.fail(f"op {op.index} ({name}): fused activation {act}")
        self.used.add(op.index)
        return op

    def const(self, t, what):
        if t < 0 or self.g.tensors[t].data is None:
            self.fail(f"{what} (tensor {t}) must be a constant")
        return np.asarray(self.g.tensors[t].data)

    def expect_value(self, t, value, what):
        v = self.const(t, what)
        if v.size != np.size(value) or not np.array_equal(v.ravel(), np.ravel(value)):
            self.fail(f"{what} (tensor {t}) is {v.ravel().tolist()}, expected "
                      f"{np.ravel(value).tolist()}")

    def shape(self, t):
        return tuple(self.g.tensors[t].shape)

    def either(self, op, k_a, k_b, first):
        """Operands (a, b) of commutative `op`, a being the one `first(t)` accepts."""
        a, b = op.inputs[k_a], op.inputs[k_b]
        if first(a):
            return a, b
        if first(b):
            return b, a
        self.fail(f"op {op.index} ({op.name}): operands {a}, {b} do not match the "
                  f"LSTM cell")


def _zero_const(sub, t, shape, what):
    v = sub.const(t, what)
    if tuple(v.shape) != tuple(shape) or v.dtype != FLOAT32 or np.any(v != 0):
        sub.fail(f"{what} (tensor {t}) must be float32 zeros of shape {shape}")


def _match(graph: Graph, op) -> dict:
    """Check `op` (a WHILE of `graph`) against the Keras 3 LSTM loop; returns what the
    rewrite needs.  Raises NotKerasLSTM naming the first mismatch."""
    main = _Sub(graph, f"op {op.index} (WHILE)")
    if len(op.inputs) != 6 or len(op.outputs) != 6:
        main.fail(f"{len(op.inputs)} loop variables, a Keras LSTM loop has 6")
    if min(op.inputs) < 0:
        main.fail("an omitted loop variable")
    subs = getattr(graph, "subgraphs", None) or []
    ci = int(op.options.get("cond_subgraph_index", -1))
    bi = int(op.options.get("body_subgraph_index", -1))
    for k, what in ((ci, "cond"), (bi, "body")):
        if not 1 <= k <= len(subs):
            main.fail(f"{what} subgraph {k} is not loaded (the graph holds "
                      f"{len(subs)} subgraphs besides subgraph 0)")
    cond = _Sub(subs[ci - 1], f"op {op.index} (WHILE) cond subgraph {ci}")
    body = _Sub(subs[bi - 1], f"op {op.index} (WHILE) body subgraph {bi}")
    if len(cond.g.inputs) != 6 or len(cond.g.outputs) != 1:
        cond.fail("expected 6 inputs and 1 output")
    if len(body.g.inputs) != 6 or len(body.g.outputs) != 6:
        body.fail("expected 6 inputs and 6 outputs")

    # ---- main graph: initial values and the time-major input
    x_seq = op.inputs[5]
    if len(main.shape(x_seq)) != 3 or main.shape(x_seq)[1] != 1:
        main.fail(f"loop input 5 has shape {main.shape(x_seq)}, expected (T, 1, F) "
                  f"(batch 1)")
    steps, _, features = main.shape(x_seq)
    acc_shape = main.shape(op.inputs[2])
    units = main.shape(op.inputs[3])[-1] if len(main.shape(op.inputs[3])) == 2 else -1
    if units < 1 or steps < 1 or features < 1:
        main.fail("bad loop-variable shapes")
    for k in (0, 1):
        main.expect_value(op.inputs[k], 0, f"initial loop counter {k}")
    sequences = acc_shape == (steps, 1, units)
    if not sequences and acc_shape != (1, 1, units):
        main.fail(f"loop output buffer shape {acc_shape}, expected ({steps}, 1, {units}) "
                  f"or (1, 1, {units})")
    _zero_const(main, op.inputs[2], acc_shape, "initial output buffer")
    _zero_const(main, op.inputs[3], (1, units), "initial h")
    _zero_const(main, op.inputs[4], (1, units), "initial c")
    to_time_major = main.producer.get(x_seq)
    if to_time_major is None or to_time_major.name not in ("RESHAPE", "TRANSPOSE") or \
            not to_time_major.inputs or to_time_major.inputs[0] < 0:
        main.fail("loop input 5 must come from a RESHAPE or TRANSPOSE of the layer input")
    x = to_time_major.inputs[0]
    if main.shape(x) != (1, steps, features) or graph.tensors[x].dtype != FLOAT32:
        main.fail(f"layer input {x} has shape {main.shape(x)}, expected "
                  f"(1, {steps}, {features}) float32")
    if to_time_major.name == "TRANSPOSE":
        if len(to_time_major.inputs) != 2:
            main.fail("TRANSPOSE without its perm")
        main.expect_value(to_time_major.inputs[1], [1, 0, 2], "transpose perm")

    # ---- cond: step < T and time < T
    c_in = cond.g.inputs
    and_op = cond.op(cond.g.outputs[0], "LOGICAL_AND", 2)
    less = [cond.op(t, "LESS", 2) for t in and_op.inputs]
    if sorted(lo.inputs[0] for lo in less) != sorted([c_in[0], c_in[1]]):
        cond.fail("the loop condition must be step < T and time < T")
    for lo in less:
        cond.expect_value(lo.inputs[1], steps, "loop bound")
    if len(cond.used) != len(cond.g.ops):
        cond.fail(f"{len(cond.g.ops) - len(cond.used)} ops beyond step < T and time < T")

    # ---- body
    a = body.g.inputs
    o = body.g.outputs
    if o[5] != a[5]:
        body.fail("the input sequence must pass through the loop unchanged")
    for k in (0, 1):
        add = body.op(o[k], "ADD", 2)
        one = body.either(add, 0, 1, lambda t: t == a[k])[1]
        body.expect_value(one, 1, f"counter {k} increment")
    h_new, c_new = o[3], o[4]
    for t, shape in ((h_new, (1, units)), (c_new, (1, units))):
        if body.shape(t) != shape:
            body.fail(f"tensor {t} has shape {body.shape(t)}, expected {shape}")

    def produced_by(name):
        return lambda t: t in body.producer and body.producer[t].name == name

    mul_h = body.op(h_new, "MUL", 2)
    sig_o, tanh_c = body.either(mul_h, 0, 1, produced_by("LOGISTIC"))
    if body.op(tanh_c, "TANH", 1).inputs[0] != c_new:
        body.fail("h' must be sigmoid(z_o) * tanh(c')")
    z_o = body.op(sig_o, "LOGISTIC", 1).inputs[0]
    add_c = body.op(c_new, "ADD", 2)

    def keeps_c(t):
        p = body.producer.get(t)
        return p is not None and p.name == "MUL" and a[4] in p.inputs

    fc_term, ic_term = body.either(add_c, 0, 1, keeps_c)
    mul_f = body.op(fc_term, "MUL", 2)
    sig_f = body.either(mul_f, 0, 1, lambda t: t != a[4])[0]
    if a[4] not in mul_f.inputs or sig_f == a[4]:
        body.fail("c' must be sigmoid(z_f) * c + ...")
    z_f = body.op(sig_f, "LOGISTIC", 1).inputs[0]
    mul_i = body.op(ic_term, "MUL", 2)
    sig_i, tanh_g = body.either(mul_i, 0, 1, produced_by("LOGISTIC"))
    z_i = body.op(sig_i, "LOGISTIC", 1).inputs[0]
    z_c = body.op(tanh_g, "TANH", 1).inputs[0]

    split = body.producer.get(z_i)
    if split is None or split.name != "SPLIT" or len(split.outputs) != 4:
        body.fail("the four gates must come from one SPLIT into 4")
    body.op(split.outputs[0], "SPLIT", 2)
    order = []
    for z in (z_i, z_f, z_c, z_o):
        if z not in split.outputs:
            body.fail("the four gates must come from one SPLIT into 4")
        order.append(split.outputs.index(z))
    if sorted(order) != [0, 1, 2, 3]:
        body.fail("two gates read the same SPLIT output")
    axis = body.const(split.inputs[0], "split axis")
    axis = int(axis.ravel()[0]) if axis.size == 1 else None
    z = split.inputs[1]
    if body.shape(z) != (1, 4 * units) or axis not in (1, -1):
        body.fail(f"SPLIT of a {body.shape(z)} tensor along axis {axis}, expected "
                  f"(1, {4 * units}) along the last axis")
    # z = sum of FULLY_CONNECTED(x_t, W), FULLY_CONNECTED(h, R) and constant biases
    leaves, stack = [], [z]
    while stack:
        t = stack.pop()
        p = body.producer.get(t)
        if p is not None and p.name == "ADD" and len(body.consumers.get(t, [])) == 1:
            body.op(t, "ADD", 2)
            stack.extend(p.inputs)
        else:
            leaves.append(t)
    kernel = recurrent = None
    bias = np.zeros(4 * units, np.float64)
    for t in leaves:
        while t in body.producer and body.producer[t].name == "RESHAPE" \
                and body.g.tensors[t].size == 4 * units \
                and len(body.consumers.get(t, [])) == 1:
            t = body.op(t, "RESHAPE").inputs[0]
        if body.g.tensors[t].data is not None:
            v = body.const(t, "gate bias")
            if v.dtype != FLOAT32 or v.size != 4 * units or v.shape[-1] != 4 * units:
                body.fail(f"constant gate term {t} has shape {v.shape}, expected "
                          f"({4 * units},)")
            bias += v.ravel()
            continue
        fc = body.op(t, "FULLY_CONNECTED")
        if fc.options.get("keep_num_dims") or len(fc.inputs) not in (2, 3):
            body.fail(f"op {fc.index} (FULLY_CONNECTED): unexpected options")
        src = fc.inputs[0]
        if src == a[3]:
            width, which = units, "recurrent"
        elif src in body.producer and body.producer[src].name == "GATHER":
            gather = body.op(src, "GATHER", 2)
            if gather.inputs != [a[5], a[1]] or int(gather.options.get("axis", 0)) != 0 \
                    or int(gather.options.get("batch_dims", 0)) != 0:
                body.fail("x_t must be GATHER(inputs, time) along axis 0")
            width, which = features, "input"
        else:
            body.fail(f"op {fc.index} (FULLY_CONNECTED) reads tensor {src}, neither x_t "
                      f"nor h")
        w = body.const(fc.inputs[1], f"{which} weights")
        if w.dtype != FLOAT32 or w.shape != (4 * units, width):
            body.fail(f"{which} weights have shape {w.shape}, expected "
                      f"({4 * units}, {width}) float32")
        if len(fc.inputs) == 3 and fc.inputs[2] >= 0:
            bias += body.const(fc.inputs[2], "FULLY_CONNECTED bias").ravel()
        if which == "input":
            if kernel is not None:
                body.fail("two input FULLY_CONNECTED terms")
            kernel = w
        else:
            if recurrent is not None:
                body.fail("two recurrent FULLY_CONNECTED terms")
            recurrent = w
    if kernel is None or recurrent is None:
        body.fail("z must have an input and a recurrent FULLY_CONNECTED term")

    # outputs buffer update
    if not sequences:
        r = body.op(o[2], "RESHAPE")
        if r.inputs[0] != h_new or body.shape(o[2]) != (1, 1, units):
            body.fail("the output buffer must be h' reshaped to (1, 1, U)")
    else:
        cat = body.op(o[2], "CONCATENATION", 3)
        if int(cat.options.get("axis", 0)) != 0:
            body.fail("the output sequence must be concatenated along time")
        mid = body.op(cat.inputs[1], "RESHAPE")
        if mid.inputs[0] != h_new or body.shape(cat.inputs[1]) != (1, 1, units):
            body.fail("row `time` of the output sequence must be h'")
        _match_slice(body, cat.inputs[0], a[2], a[1], before=True)
        _match_slice(body, cat.inputs[2], a[2], o[1], before=False)
    if len(body.used) != len(body.g.ops):
        extra = sorted({p.name for p in body.g.ops if p.index not in body.used})
        body.fail(f"ops outside the LSTM cell: {', '.join(extra)}")

    # ---- main graph: the loop's results
    out = op.outputs
    for k in (0, 1, 4, 5):
        if main.consumers.get(out[k]) or out[k] in graph.outputs:
            main.fail(f"loop result {k} is used after the loop (only the outputs and h "
                      f"can be)")
    if out[2] in graph.outputs:
        main.fail("the loop's output buffer is a graph output")
    users = main.consumers.get(out[2], [])
    if sequences:
        if len(users) != 1 or users[0].name not in ("RESHAPE", "TRANSPOSE") or \
                main.shape(users[0].outputs[0]) != (1, steps, units):
            main.fail(f"the output sequence must be read by one RESHAPE / TRANSPOSE to "
                      f"(1, {steps}, {units})")
        if users[0].inputs[0] != out[2] or users[0].name == "TRANSPOSE" and (
                len(users[0].inputs) != 2 or users[0].inputs[1] == out[2]):
            main.fail("the output sequence must be the data input of its reader")
        if users[0].name == "TRANSPOSE":
            main.expect_value(users[0].inputs[1], [1, 0, 2], "transpose perm")
    else:
        probe = np.arange(units, dtype=np.float32).reshape(1, 1, units)
        for u in users:
            if u.name != "STRIDED_SLICE":
                main.fail(f"the last output is read by {u.name}, expected STRIDED_SLICE")
            if len(u.inputs) != 4 or u.inputs[0] != out[2]:
                main.fail(f"op {u.index} (STRIDED_SLICE) must slice the last output")
            params = [main.const(u.inputs[k], "slice parameter") for k in (1, 2, 3)]
            try:
                got = F.strided_slice(
                    probe, *params, int(u.options.get("begin_mask", 0)),
                    int(u.options.get("end_mask", 0)),
                    int(u.options.get("ellipsis_mask", 0)),
                    int(u.options.get("new_axis_mask", 0)),
                    int(u.options.get("shrink_axis_mask", 0)),
                    bool(u.options.get("offset", False)))
            except (ValueError, IndexError, TypeError) as e:
                main.fail(f"op {u.index} (STRIDED_SLICE): {e}")
            if got.shape != (1, units) or not np.array_equal(got, probe[0]) or \
                    main.shape(u.outputs[0]) != (1, units):
                main.fail(f"op {u.index} (STRIDED_SLICE) must take the last step as "
                          f"(1, {units})")
    order = np.array(order)
    return dict(x=x, to_time_major=to_time_major, steps=steps, units=units,
                features=features, sequences=sequences, users=users,
                kernel=np.asarray(kernel, np.float32), recurrent=np.asarray(
                    recurrent, np.float32), bias=bias.astype(np.float32), order=order)


def _match_slice(body, t, acc, index, before):
    """t = SLICE(acc, [0,0,0], [time, -1, -1]) (before) or SLICE(acc, [time + 1, 0, 0],
    [-1, -1, -1]) (after, `index` being time + 1)."""
    s = body.op(t, "SLICE", 3)
    if s.inputs[0] != acc:
        body.fail("the output sequence update must slice the previous buffer")
    dynamic, fixed = (2, 1) if before else (1, 2)
    body.expect_value(s.inputs[fixed], [0, 0, 0] if before else [-1, -1, -1],
                      "slice begin" if before else "slice size")
    cat = body.op(s.inputs[dynamic], "CONCATENATION", 2)
    if int(cat.options.get("axis", 0)) != 0:
        body.fail("slice parameters must be concatenated along axis 0")
    r = body.op(cat.inputs[0], "RESHAPE")
    if r.inputs[0] != index or body.g.tensors[cat.inputs[0]].shape != (1,):
        body.fail("the output sequence slice must start / end at row `time`")
    body.expect_value(cat.inputs[1], [-1, -1] if before else [0, 0], "slice tail")


def why_not_keras_lstm(graph: Graph, op) -> str:
    """Why WHILE op `op` of `graph` is not the loop of a Keras 3 LSTM ('' if it is)."""
    try:
        _match(graph, op)
    except NotKerasLSTM as e:
        return str(e)
    return ""


def fuse_keras_lstm(graph: Graph) -> Graph:
    """Replace every WHILE op of `graph` that is exactly a Keras 3 LSTM loop (module
    docstring) by one fused float UNIDIRECTIONAL_SEQUENCE_LSTM (24 inputs, TFLite's
    slots; weights float32 (U, F) and (U, U), biases (U,), state variables (1, U)).

    Returns `graph` itself when it has no such loop, else a new Graph whose unused
    tensors are dropped (indices renumbered, signatures updated) and which keeps the
    other subgraphs only while some control-flow op still calls them.  A WHILE op
    that does not match is left unchanged (see why_not_keras_lstm)."""
    plans = []
    for op in graph.ops:
        if op.name == "WHILE":
            try:
                plans.append((op.index, _match(graph, op)))
            except NotKerasLSTM:
                continue
    if not plans:
        return graph
    g = copy.deepcopy(graph)
    replace = {}
    drop = set()
    for index, plan in plans:
        new_ops, removed = _fused_ops(g, g.ops[index], plan)
        replace[index] = new_ops
        drop |= removed
    ops = []
    for op in g.ops:
        if op.index in drop:
            continue
        ops.extend(replace.get(op.index, [op]))
    g.ops = ops
    if not any(op.name in CONTROL_FLOW for op in g.ops):
        g.subgraphs, g.num_subgraphs = [], 1
        g.signatures = [s for s in g.signatures if s.subgraph_index == 0]
    return _compact(g)


def _fused_ops(g, op, plan):
    """The ops replacing WHILE `op`, and the indices of main-graph ops they make
    redundant (the time-major RESHAPE / TRANSPOSE, the readers of the buffer)."""
    u, steps = plan["units"], plan["steps"]
    base = g.tensors[op.outputs[3]].name.rsplit("/while", 1)[0] or "lstm"

    def tensor(name, shape, data=None, dtype=FLOAT32, variable=False):
        if data is not None:
            data = np.ascontiguousarray(data, dtype=dtype).reshape(shape)
            data.flags.writeable = False
        t = Tensor(index=len(g.tensors), name=name, dtype=np.dtype(dtype),
                   shape=tuple(shape), shape_signature=tuple(shape), data=data,
                   is_variable=variable)
        g.tensors.append(t)
        return t.index

    gates = ("input", "forget", "cell", "output")
    rows = [slice(k * u, (k + 1) * u) for k in plan["order"]]
    ins = [plan["x"]]
    ins += [tensor(f"{base}/input_to_{n}_weights", (u, plan["features"]),
                   plan["kernel"][r]) for n, r in zip(gates, rows)]
    ins += [tensor(f"{base}/recurrent_to_{n}_weights", (u, u), plan["recurrent"][r])
            for n, r in zip(gates, rows)]
    ins += [-1, -1, -1]
    ins += [tensor(f"{base}/{n}_gate_bias", (u,), plan["bias"][r])
            for n, r in zip(gates, rows)]
    ins += [-1, -1]
    ins += [tensor(f"{base}/{n}", (1, u), variable=True)
            for n in ("output_state", "cell_state")]
    ins += [-1, -1, -1, -1]
    removed = set()
    if len([c for c in g.ops if plan["to_time_major"].outputs[0] in c.inputs]) == 1:
        removed.add(plan["to_time_major"].index)
    if plan["sequences"]:
        seq = plan["users"][0].outputs[0]
        removed.add(plan["users"][0].index)
    else:
        seq = tensor(f"{base}/sequence", (1, steps, u))
    lstm = Op(index=-1, name=LSTM, version=1, inputs=ins, outputs=[seq],
              options={"fused_activation_function": 4, "cell_clip": 0.0,
                       "proj_clip": 0.0, "time_major": False,
                       "asymmetric_quantize_inputs": False})
    new = [lstm]
    last_readers = [] if plan["sequences"] else [c.outputs[0] for c in plan["users"]]
    removed |= {c.index for c in ([] if plan["sequences"] else plan["users"])}
    if any(op.outputs[3] in c.inputs for c in g.ops) or op.outputs[3] in g.outputs:
        last_readers.append(op.outputs[3])
    for k, y in enumerate(last_readers):
        begin = tensor(f"{base}/last_step/begin{k}", (3,), [0, steps - 1, 0], np.int32)
        end = tensor(f"{base}/last_step/end{k}", (3,), [1, steps, u], np.int32)
        strides = tensor(f"{base}/last_step/strides{k}", (3,), [1, 1, 1], np.int32)
        new.append(Op(index=-1, name="STRIDED_SLICE", version=1,
                      inputs=[seq, begin, end, strides], outputs=[y],
                      options={"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0,
                               "new_axis_mask": 0, "shrink_axis_mask": 2,
                               "offset": False}))
    return new, removed


def _compact(g):
    """Drop tensors no op, graph input / output or signature names; renumber."""
    keep = set(g.inputs) | set(g.outputs)
    for op in g.ops:
        keep.update(t for t in op.inputs + op.outputs + list(op.intermediates) if t >= 0)
    for s in g.signatures:
        keep.update(s.inputs.values())
        keep.update(s.outputs.values())
    new_index = {}
    tensors = []
    for t in g.tensors:
        if t.index in keep:
            new_index[t.index] = len(tensors)
            t.index = len(tensors)
            tensors.append(t)

    def remap(ts):
        return [new_index[t] if t >= 0 else t for t in ts]

    g.tensors = tensors
    for k, op in enumerate(g.ops):
        op.index = k
        op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
        op.intermediates = remap(op.intermediates)
    g.inputs, g.outputs = remap(g.inputs), remap(g.outputs)
    for s in g.signatures:
        if s.subgraph_index == 0:
            s.inputs = {k: new_index[v] for k, v in s.inputs.items()}
            s.outputs = {k: new_index[v] for k, v in s.outputs.items()}
    return g
