"""Multiply-accumulate counts per op (what an NPU MAC array or a dot-product unit does)."""
from __future__ import annotations

import numpy as np


def op_macs(op, graph) -> int:
    """MACs of one invoke of `op`: CONV_2D out_elems*KH*KW*C_in, DEPTHWISE_CONV_2D
    out_elems*KH*KW, FULLY_CONNECTED out_elems*accum_depth, TRANSPOSE_CONV
    in_elems*KH*KW*C_out; SVDF batch*filters*(input_size + memory_size) (the feature
    matrix product, then each filter's dot product with its time weights);
    UNIDIRECTIONAL_SEQUENCE_LSTM batch*time*(4*cells*(inputs + outputs) +
    outputs*cells with a projection) (the gates' input and recurrent matrix
    products); 0 for ops without multiply-accumulate."""
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
        if op.name == "SVDF":
            x, wf, wt = t[op.inputs[0]], t[op.inputs[1]], t[op.inputs[2]]
            batch = int(x.shape[0]) if len(x.shape) > 1 else 1
            return int(batch * wf.shape[0] * (wf.shape[-1] + wt.shape[-1]))
        if op.name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            x = t[op.inputs[0]]
            steps = int(np.prod(x.shape[:-1]))        # time x batch
            cells, n_in = (int(v) for v in t[op.inputs[2]].shape)
            n_out = int(t[op.inputs[6]].shape[-1])
            gates = 3 if op.inputs[1] < 0 else 4      # CIFG: no input gate
            macs = gates * cells * (n_in + n_out)
            if len(op.inputs) > 16 and op.inputs[16] >= 0:
                macs += n_out * cells                 # projection
            return int(steps * macs)
    except (IndexError, ValueError):
        return 0
    return 0
