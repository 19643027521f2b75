"""microdl's intermediate representation: tensors and ops in execution order (NHWC).

No I/O and no math here; microdl.tflite.reader builds a Graph from a .tflite
flatbuffer, microdl.tflite.writer writes one back, and microdl.runtime prepares one
for the C engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass
class Quantization:
    """Affine quantization real = scale * (q - zero_point) (TFLite quantization spec).

    scales, zero_points: float32 / int64 arrays of length 1 (per-tensor) or of the size
    of dimension `quantized_dimension` (per-channel)."""

    scales: np.ndarray
    zero_points: np.ndarray
    quantized_dimension: int = 0

    @property
    def per_channel(self) -> bool:
        return self.scales.size > 1

    @property
    def scale(self) -> float:
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0])


@dataclass
class Tensor:
    """One tensor of the graph.

    shape: static shape (tuple of ints >= 0); shape_signature: shape with -1 for
    dynamic dims (equal to shape for static models); dtype: numpy dtype; data: the
    constant value (read-only array of `shape` and `dtype`) or None for activations."""

    index: int
    name: str
    dtype: np.dtype
    shape: tuple
    shape_signature: tuple
    quant: Optional[Quantization] = None
    data: Optional[np.ndarray] = None
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Size in bytes."""
        return self.size * np.dtype(self.dtype).itemsize


@dataclass
class Op:
    """One operator: builtin name (e.g. "CONV_2D"), op version, input and output tensor
    indices (-1 for an omitted optional input) and the builtin options as a dict with
    snake_case keys (e.g. {"stride_w": 1, "padding": 0, ...}); `intermediates`: the
    operator's intermediate tensor indices (the schema's Operator.intermediates: the
    integer LSTM reads the quantization of its gates' and hidden state's tensors there),
    empty for most ops."""

    index: int
    name: str
    version: int
    inputs: list
    outputs: list
    options: dict = field(default_factory=dict)
    custom_code: Optional[str] = None
    intermediates: list = field(default_factory=list)


@dataclass
class Signature:
    """One SignatureDef of the model (TFLite schema `SignatureDef`).

    key: the signature_key (e.g. "serving_default"); inputs / outputs: {name in the
    signature: tensor index in subgraph `subgraph_index`}, in the file's order."""

    key: str
    inputs: dict
    outputs: dict
    subgraph_index: int = 0


@dataclass
class Graph:
    """Subgraph 0 of a model: tensors, ops in execution order, graph input and output
    tensor indices; plus what the model says about all its subgraphs: their number
    (num_subgraphs) and its signature defs (signatures, a list of Signature in file
    order, possibly naming other subgraphs); `subgraphs`: the model's other subgraphs
    as Graphs, subgraphs[k - 1] being subgraph k (control flow: IF, WHILE, CALL_ONCE
    name them by index; empty when the graph was built in memory with one
    subgraph)."""

    tensors: list
    ops: list
    inputs: list
    outputs: list
    description: str = ""
    signatures: list = field(default_factory=list)
    num_subgraphs: int = 1
    subgraphs: list = field(default_factory=list)

    def consumers(self) -> dict:
        """Map tensor index -> list of op indices reading it."""
        out = {}
        for op in self.ops:
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(op.index)
        return out
