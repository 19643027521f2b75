"""Exceptions raised by microdl."""

import numpy as np


class ModelError(ValueError):
    """The .tflite model is malformed: truncated, corrupted, or internally inconsistent.

    The message names the tensor, buffer or operator at fault."""


class UnsupportedOpError(ModelError):
    """The model uses operators (or versions, or dtype combinations) microdl cannot run.

    Attributes:
        ops: list of dicts, one per unsupported operator, with keys ``index``,
            ``op_name``, ``version``, ``dtypes`` (input dtypes then output dtypes, as
            strings) and ``reason``.
    """

    def __init__(self, ops):
        self.ops = list(ops)
        lines = [
            f"  op {o['index']}: {o['op_name']} v{o['version']} "
            f"({', '.join(o['dtypes'])}): {o['reason']}"
            for o in self.ops
        ]
        super().__init__(
            f"the model has {len(self.ops)} operator(s) microdl cannot run:\n"
            + "\n".join(lines)
        )

    @staticmethod
    def entry(op, graph, reason):
        """One ``ops`` entry for `op` of `graph` (microdl.core.graph): its index, name,
        version, the dtypes of its inputs then outputs (numpy names, "unknown" for a
        type microdl cannot hold) and `reason`."""
        def name(t):
            d = graph.tensors[t].dtype
            return "unknown" if d is None else np.dtype(d).name

        dtypes = [name(t) for t in op.inputs if t >= 0] + [name(t) for t in op.outputs]
        return dict(index=op.index, op_name=op.name, version=op.version, dtypes=dtypes,
                    reason=str(reason))
