"""Build multi-subgraph .tflite models (control flow: IF, WHILE, CALL_ONCE; resource
variables) with microdl's writer, for tests/test_control_flow.py."""
from __future__ import annotations

from microdl.core.graph import Graph, Op, Tensor
from microdl.tflite.writer import write_model
from tests.oplib import _tensor


RESOURCE = "resource"


def subgraph(tensors, ops, inputs, outputs):
    """One subgraph as a Graph.  tensors: list of oplib.spec() dicts or RESOURCE (a
    resource handle tensor; position = tensor index); ops: (name, inputs, outputs,
    options[, version])."""
    ts = [Tensor(index=i, name=f"h{i}", dtype=None, shape=(), shape_signature=())
          if s == RESOURCE else _tensor(s, i, f"t{i}") for i, s in enumerate(tensors)]
    graph_ops = [Op(index=k, name=o[0], version=o[4] if len(o) > 4 else 1,
                    inputs=list(o[1]), outputs=list(o[2]), options=dict(o[3]))
                 for k, o in enumerate(ops)]
    return Graph(tensors=ts, ops=graph_ops, inputs=list(inputs), outputs=list(outputs))


def multi_model(*subgraphs):
    """Serialize subgraphs (from subgraph()) as one model: the first is subgraph 0."""
    main = subgraphs[0]
    main.subgraphs = list(subgraphs[1:])
    main.num_subgraphs = len(subgraphs)
    return write_model(main)
