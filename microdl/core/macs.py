"""Multiply-accumulate counts per op (what an NPU MAC array or a dot-product unit does)."""
from __future__ import annotations

import numpy as np


def op_macs(op, graph) -> int:
    """MACs of one invoke of `op`: CONV_2D out_elems*KH*KW*C_in, DEPTHWISE_CONV_2D
    out_elems*KH*KW, FULLY_CONNECTED out_elems*accum_depth, TRANSPOSE_CONV
    in_elems*KH*KW*C_out; 0 for ops without multiply-accumulate."""
    t = graph.tensors
    try:
        if op.name == "CONV_2D":
            w, y = t[op.inputs[1]], t[op.outputs[0]]
            return int(y.size * int(np.prod(w.shape[1:])))
        if op.name == "DEPTHWISE_CONV_2D":
            w, y = t[op.inputs[1]], t[op.outputs[0]]
            return int(y.size * w.shape[1] * w.shape[2])
        if op.name == "FULLY_CONNECTED":
            w, y = t[op.inputs[1]], t[op.outputs[0]]
            return int(y.size * w.shape[-1])
        if op.name == "TRANSPOSE_CONV":
            w, x = t[op.inputs[1]], t[op.inputs[2]]
            return int(x.size * w.shape[0] * w.shape[1] * w.shape[2])
    except (IndexError, ValueError):
        return 0
    return 0
