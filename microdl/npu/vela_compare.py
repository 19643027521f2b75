"""Compare microdl.npu's estimate of a model with Vela's, layer by layer.

Input: the model's .tflite bytes and Vela's report for it, as a dict
``{"summary": {...}, "layers": [...]}`` where ``summary`` is the row of Vela's
``<model>_summary_<system>.csv`` and ``layers`` the rows of its
``<model>_per-layer.csv`` (written by ``vela --verbose-performance``), with the CSV
column names as keys (``"Op Cycles"``, ``"Original Operator"``, ``"Name"``...) and
numbers as floats.  Running Vela is left to the caller (tools/npu_family.py).

How layers are matched (microdl/npu/MODEL.md, "Matching microdl's layers to Vela's"):
each Vela row names the tensor its NPU operation writes (``Name``); rows naming the
same tensor as the output of one TFLite operator belong to that operator (Vela's
fused activation rows, the parts of a split layer, the LUT of an activation).  Then
microdl's operators are merged into groups until every group has Vela rows: an
operator Vela removed or fused (RESHAPE, a PAD folded into the next convolution's
padding) joins the operator that consumes its output; a convolution that Vela writes
straight into a CONCATENATION's output (its rows name the concatenation's tensor, with
``Original Operator`` Conv2D) joins that concatenation.  Rows naming ``<unnamed>``
(the model's tensors have no names) are aligned by operator type in execution order.
Cycles are compared per group.
"""
from __future__ import annotations

import numpy as np

from microdl.npu.config import NPUConfig
from microdl.npu.estimator import estimate
from microdl.tflite import read_model

# Vela's "Original Operator" names for the TFLite operators it may write into
# another operator's output tensor.
_VELA_TYPE = {
    "CONV_2D": "Conv2D", "DEPTHWISE_CONV_2D": "DepthwiseConv2D",
    "FULLY_CONNECTED": "FullyConnected", "MAX_POOL_2D": "MaxPool",
    "AVERAGE_POOL_2D": "AvgPool", "ADD": "Add", "CONCATENATION": "Concat",
    "HARD_SWISH": "HardSwish", "LOGISTIC": "Sigmoid", "MEAN": "Mean", "PAD": "Pad",
    "RESHAPE": "Reshape", "SOFTMAX": "Softmax", "MUL": "Mul", "SUB": "Sub",
    "QUANTIZE": "Quantize", "TANH": "Tanh", "SVDF": "Svdf",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLstm",
}
UNNAMED = "<unnamed>"     # Vela's Name for a tensor without a name in the model


def match_layers(graph, rows):
    """Group microdl's operators with the Vela rows they correspond to.

    Args:
        graph: microdl.core.graph.Graph of the model.
        rows: Vela's per-layer CSV rows (dicts with "Name", "Original Operator",
            "Op Cycles").
    Returns:
        list of (op indices, row indices), in execution order; every row belongs to
        exactly one group, and so does every operator.  Rows naming no tensor of the
        graph are returned as a group with no operators.
    """
    ops = graph.ops
    producer = {}
    for op in ops:
        for o in op.outputs:
            producer[o] = op.index
    by_name = {}
    for op in ops:
        for o in op.outputs:
            by_name.setdefault(graph.tensors[o].name, op.index)
    consumers = {}
    for op in ops:
        for i in op.inputs:
            if i >= 0:
                consumers.setdefault(i, []).append(op.index)
    parent = list(range(len(ops)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a, b):
        parent[find(a)] = find(b)

    row_op = {}
    orphans = []
    names = sorted((n for n in by_name if n), key=len, reverse=True)
    pending = []
    cursor = [0]

    def aligned(row):
        """The operator of a row naming an unnamed tensor: Vela's rows come in
        execution order, so the next operator (from the last one matched so) of
        the row's type; a row without a suffix moves on to the next operator when
        that one is of the same type and the current one already has rows."""
        vtype = str(row.get("Original Operator", ""))
        name = str(row.get("Name", ""))
        c = cursor[0]
        if c < len(ops) and _VELA_TYPE.get(ops[c].name) == vtype:
            has = c in row_op.values()
            nxt = c + 1
            if (has and name == UNNAMED and nxt < len(ops) and
                    _VELA_TYPE.get(ops[nxt].name) == vtype):
                c = nxt
        else:
            c = next((i for i in range(c, len(ops))
                      if _VELA_TYPE.get(ops[i].name) == vtype), None)
            if c is None:
                return None
        cursor[0] = c
        return c

    for r, row in enumerate(rows):
        name = str(row.get("Name", ""))
        if name.startswith(UNNAMED):
            k = aligned(row)
            if k is not None:
                row_op[r] = k
                for q in pending:
                    row_op[q] = k
                pending = []
                continue
        k = by_name.get(name) if name else None
        if k is None:
            # Vela's own tensors: "<name>_act", "<name>_intermediate", "<name>_split_1"
            # belong to the operator writing <name>; anonymous ones ("#112") to the
            # next row that names a graph tensor (they feed it).
            base = next((n for n in names if name.startswith(n + "_")), None)
            k = by_name.get(base)
            vtype = str(row.get("Original Operator", ""))
            if k is not None and _VELA_TYPE.get(ops[k].name) not in (None, vtype):
                # ... unless the row comes from an operator of another type that
                # reads <name> (a SOFTMAX lowered into "<name>_softmax_3" ...).
                out = ops[k].outputs[0] if ops[k].outputs else None
                k = next((c for c in consumers.get(out, [])
                          if _VELA_TYPE.get(ops[c].name) == vtype), k)
        if k is None:
            pending.append(r)
            continue
        for q in pending:
            row_op[q] = k
        pending = []
        row_op[r] = k
        vtype = str(row.get("Original Operator", ""))
        if _VELA_TYPE.get(ops[k].name) not in (None, vtype):
            # Another operator wrote into this one's output (conv into concat):
            # the input producer of that type joins the group.
            for i in ops[k].inputs:
                p = producer.get(i)
                if p is not None and _VELA_TYPE.get(ops[p].name) == vtype:
                    union(p, k)
                    break
    if pending and row_op:
        last = row_op[max(row_op)]
        for q in pending:
            row_op[q] = last
    elif pending:
        orphans.extend(pending)
    has_rows = set(row_op.values())
    # Operators without rows join their (first) consumer, or else their producer.
    for op in reversed(ops):
        if any(find(op.index) == find(k) for k in has_rows):
            continue
        nxt = [c for o in op.outputs for c in consumers.get(o, [])]
        if nxt:
            union(op.index, min(nxt))
        else:
            prev = [producer[i] for i in op.inputs if i in producer]
            if prev:
                union(op.index, max(prev))
    groups = {}
    for op in ops:
        groups.setdefault(find(op.index), ([], []))[0].append(op.index)
    for r, k in row_op.items():
        groups[find(k)][1].append(r)
    out = sorted(groups.values(), key=lambda g: min(g[0]))
    if orphans:
        out.append(([], orphans))
    return out


def compare_model(model: bytes, vela: dict, npu, graph=None) -> dict:
    """microdl's estimate of `model` on `npu` beside Vela's report `vela`.

    Args:
        model: .tflite bytes.
        vela: {"summary": summary CSV row, "layers": per-layer CSV rows} (see the
            module docstring).
        npu: preset name or NPUConfig (the one Vela's system config describes).
    Returns:
        dict with "npu", "vela_total" / "microdl_total" (cycles), "ratio"
        (microdl / Vela), "vela_sram_bytes" (Vela's sram_memory_used, KiB -> bytes),
        "microdl_arena_bytes", and "layers": one dict per matched group with "ops"
        (the TFLite operator names, "+"-joined), "op_indices", "vela", "microdl"
        (cycles) and "ratio".
    Raises:
        KeyError: `vela` lacks "summary" / "layers" or the CSV columns used.
    """
    cfg = NPUConfig.preset(npu) if isinstance(npu, str) else npu
    graph = graph or read_model(model)
    est = estimate(model, cfg)
    rows = vela["layers"]
    groups = match_layers(graph, rows)
    layers = []
    for op_idx, row_idx in groups:
        v = float(sum(rows[r]["Op Cycles"] for r in row_idx))
        m = float(sum(est.layers[k].cycles for k in op_idx))
        names = "+".join(graph.ops[k].name for k in op_idx) or "(unmatched Vela rows)"
        layers.append({"ops": names, "op_indices": list(op_idx), "vela": v,
                       "microdl": m, "ratio": (m / v) if v > 0 else
                       (1.0 if m == 0 else float("inf"))})
    vt = float(vela["summary"]["cycles_total"])
    return {"npu": cfg.name, "vela_total": vt, "microdl_total": est.total_cycles,
            "ratio": est.total_cycles / vt if vt > 0 else float("inf"),
            "vela_sram_bytes": float(vela["summary"]["sram_memory_used"]) * 1024,
            "microdl_arena_bytes": est.arena_bytes, "layers": layers}


def _stats(ratios):
    r = np.asarray(ratios, float)
    if r.size == 0:
        return None
    err = np.abs(r - 1)
    worst = r[int(np.argmax(np.abs(np.log(np.maximum(r, 1e-9)))))]
    return {"n": int(r.size), "median": float(np.median(r)),
            "p90_abs_err": float(np.percentile(err, 90)), "worst": float(worst),
            "min": float(r.min()), "max": float(r.max()),
            "within_15": float(np.mean(err <= 0.15)),
            "within_30": float(np.mean(err <= 0.30))}


def distribution(results) -> dict:
    """Per NPU (and "all"): statistics of the total ratios and of the per-layer
    ratios of compare_model results.

    Each entry: {"total": stats, "layer": stats}; stats = n, median ratio,
    p90_abs_err (90th percentile of |ratio - 1|), worst (the ratio farthest from 1
    in log terms), min, max, within_15 / within_30 (fraction with |ratio - 1| <= 0.15
    / 0.30).  Layers where Vela and microdl both report 0 cycles are left out."""
    out = {}
    npus = sorted({r["npu"] for r in results}) + ["all"]
    for npu in npus:
        sel = [r for r in results if npu == "all" or r["npu"] == npu]
        lay = [la["ratio"] for r in sel for la in r["layers"]
               if la["vela"] > 0 or la["microdl"] > 0]
        out[npu] = {"total": _stats([r["ratio"] for r in sel]), "layer": _stats(lay)}
    return out


def format_stats(dist) -> str:
    """distribution() as a text table."""
    head = (f"{'NPU':14s} {'what':6s} {'n':>5s} {'median':>7s} {'p90|err|':>9s} "
            f"{'worst':>7s} {'<=15%':>6s} {'<=30%':>6s}")
    lines = [head]
    for npu, d in dist.items():
        for what in ("total", "layer"):
            s = d[what]
            if s is None:
                continue
            lines.append(f"{npu:14s} {what:6s} {s['n']:5d} {s['median']:7.3f} "
                         f"{s['p90_abs_err']:9.3f} {s['worst']:7.3f} "
                         f"{s['within_15']:6.0%} {s['within_30']:6.0%}")
    return "\n".join(lines)
