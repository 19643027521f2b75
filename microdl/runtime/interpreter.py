"""microdl.Interpreter: a drop-in for tflite_runtime's Interpreter on int8 models."""
from __future__ import annotations

import os

import numpy as np

from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.graph import Graph
from microdl.core.tables import text_table
from microdl.runtime import parallel, planner
from microdl.runtime._engine import MAX_THREADS, Engine, kernel_table
from microdl.runtime.cparams import pack_params
from microdl.core.fixedpoint import ROUNDING_DOUBLE, ROUNDING_SINGLE
from microdl.runtime.ops import (Alias, Constant, Node, PrepareContext, Unsupported,
                                 load_all, preparer_for)
from microdl.core.macs import op_macs
from microdl.tflite.reader import read_model

ARENA_ALIGNMENT = 16
# rounding= name -> (PrepareContext.rounding, PrepareContext.fc_float64)
_ROUNDING_TARGETS = {"litert": (ROUNDING_SINGLE, True), "single": (ROUNDING_SINGLE, False),
                     "tflm": (ROUNDING_DOUBLE, False), "double": (ROUNDING_DOUBLE, False)}
MAX_ARENA_BYTES = 1 << 31
# Guard bytes on each side of the arena with MICRODL_ARENA_GUARD=1 (tools/fuzz.py).
ARENA_GUARD_BYTES = 256
_GUARD_PATTERN = np.array([0xA5, 0x5A, 0xC3, 0x3C], np.uint8)


def _tflite_dtype_name(dtype):
    return "UNKNOWN" if dtype is None else np.dtype(dtype).name.upper()


class Interpreter:
    """Runs an int8 .tflite model in one static arena with C kernels.

    Same interface as ``tflite_runtime.interpreter.Interpreter`` /
    ``ai_edge_litert.interpreter.Interpreter`` for the calls below, plus
    ``arena_bytes`` (the static arena: activations and kernel scratch),
    ``persistent_bytes`` (read-only data made at prepare time: packed weights,
    effective biases, multipliers, lookup tables), ``get_ops_details()`` with MACs,
    ``profile_ops()`` and ``summary()``.

    Args:
        model_path: path of a .tflite file.
        model_content: the file's bytes (instead of model_path).
        num_threads: threads that run the large convolutions (CONV_2D and
            DEPTHWISE_CONV_2D layers are cut into bands of output rows, one per thread,
            with results identical to one thread); None or 1: the calling thread only
            (the default).  At most 64.  The worker threads are made by
            allocate_tensors(), never during invoke().  ValueError (LiteRT's wording)
            if not an int >= 1.
        rounding: whose integer rounding to reproduce bit for bit: "litert"
            (default; LiteRT 2.x's reference kernels: FULLY_CONNECTED requantizes in
            double precision, round(acc * input_scale * filter_scale / output_scale),
            the other kernels use gemmlowp's double rounding) or "tflm" (TFLite
            Micro: double rounding everywhere).  "double" is an alias of "tflm";
            "single" is TFLite built with TFLITE_SINGLE_ROUNDING before LiteRT 1.3
            (FULLY_CONNECTED with a Q31 multiplier and single rounding, the rest as
            "litert").
        preserve_inputs: keep input tensors intact through invoke() (as LiteRT does,
            so invoke() can be repeated without set_tensor); False lets the arena reuse
            input memory, which lowers arena_bytes on chain models.
        experimental_preserve_all_tensors: give every tensor its own arena memory for
            the whole invoke, so intermediate tensors can be read afterwards
            (debugging, per-layer error reports); costs arena bytes.
        experimental_delegates, experimental_op_resolver_type: accepted and
            ignored, for drop-in compatibility.

    Raises:
        ModelError: the file is malformed (names the tensor/op at fault).
        UnsupportedOpError: the model uses ops microdl cannot run (lists all of them).
        ValueError: neither or both of model_path / model_content given.
    """

    def __init__(self, model_path=None, model_content=None, num_threads=None,
                 experimental_delegates=None, experimental_op_resolver_type=None,
                 experimental_preserve_all_tensors=False, preserve_inputs=True,
                 rounding="litert"):
        if (model_path is None) == (model_content is None):
            raise ValueError("pass exactly one of model_path or model_content")
        if model_path is not None:
            with open(os.fspath(model_path), "rb") as f:
                model_content = f.read()
        self._graph: Graph = read_model(model_content)
        # Same checks and wording as LiteRT's Interpreter.
        if num_threads is not None:
            if not isinstance(num_threads, int) or isinstance(num_threads, bool):
                raise ValueError("type of num_threads should be int")
            if num_threads < 1:
                raise ValueError("num_threads should >= 1")
        if rounding not in _ROUNDING_TARGETS:
            raise ValueError(f"rounding must be 'litert' or 'tflm', got {rounding!r}")
        self._threads = min(num_threads or 1, MAX_THREADS)
        code, fc_float64 = _ROUNDING_TARGETS[rounding]
        self._ctx = PrepareContext(rounding=code, fc_float64=fc_float64)
        self._preserve_inputs = bool(preserve_inputs)
        self._preserve_all = bool(experimental_preserve_all_tensors)
        self._steps = self._prepare()
        self._engine = None
        self._arena = None
        self._views = {}
        self.arena_bytes = 0
        self.lower_bound_bytes = 0
        self.persistent_bytes = 0

    # ------------------------------------------------------------------ prepare
    def _prepare(self):
        load_all()
        g = self._graph
        steps = []  # (op index, step)
        unsupported = []
        for op in g.ops:
            try:
                fn = preparer_for(op, g)
                if fn is None:
                    raise Unsupported("no microdl kernel for this operator")
                for t in list(op.inputs) + list(op.outputs):
                    if t >= 0 and g.tensors[t].dtype is None:
                        raise Unsupported(f"tensor {t} has a type microdl cannot hold")
                for step in fn(op, g, self._ctx):
                    if isinstance(step, Constant):
                        t = g.tensors[step.output]
                        value = np.asarray(step.value, t.dtype).reshape(t.shape)
                        value.flags.writeable = False
                        t.data = value
                    steps.append((op.index, step))
            except Unsupported as e:
                unsupported.append(UnsupportedOpError.entry(op, g, e))
            except ModelError as e:
                msg = str(e)
                if not msg.startswith(f"op {op.index} "):
                    msg = f"op {op.index} ({op.name}): {msg}"
                raise ModelError(msg) from None
        if unsupported:
            raise UnsupportedOpError(unsupported)
        return steps

    # ----------------------------------------------------------------- allocate
    def allocate_tensors(self):
        """Plan the arena, allocate it once and bind every C node to its addresses."""
        g = self._graph
        nodes, steps, groups = self._schedule()
        plan = planner.plan_graph(
            g, steps,
            aliases=[(s.input, s.output) for _, s in self._steps if isinstance(s, Alias)],
            variables=[t.index for t in g.tensors if t.is_variable],
            preserve_inputs=self._preserve_inputs, preserve_all=self._preserve_all,
            alignment=ARENA_ALIGNMENT)
        total = plan.total_bytes
        if total > MAX_ARENA_BYTES:
            raise ModelError(f"the model needs a {total}-byte arena, more than the "
                             f"{MAX_ARENA_BYTES} bytes microdl allows")
        self.lower_bound_bytes = plan.lower_bound_bytes
        # One allocation; sliced so the arena base is 16-byte aligned.
        # MICRODL_ARENA_GUARD=1 (tools/fuzz.py): ARENA_GUARD_BYTES of a pattern on both
        # sides, which check_arena_guards() verifies.
        guard = ARENA_GUARD_BYTES if os.environ.get("MICRODL_ARENA_GUARD") == "1" else 0
        raw = np.zeros(total + ARENA_ALIGNMENT + 2 * guard, np.uint8)
        shift = (-raw.ctypes.data) % ARENA_ALIGNMENT + guard
        arena = raw[shift:shift + total]
        self._guards = ((raw[:shift], raw[shift + total:]) if guard else ())
        for g_ in self._guards:
            g_[...] = _GUARD_PATTERN[np.arange(g_.size) % _GUARD_PATTERN.size]
        self._arena = arena
        self._views, self._offsets = self._tensor_views(plan, arena)
        self._bind(nodes, groups, plan, arena)
        self.arena_bytes = total
        self._node_ops = [i for i, _ in nodes]

    def _schedule(self):
        """(nodes, steps, groups): the C nodes in run order as (op index, node), the
        planner's Step of each (what it reads and writes, its stage, its scratch), and
        the number of bands of every stage (a node split over threads is one stage of
        several bands, run at once)."""
        g = self._graph
        nodes, steps, groups = [], [], []
        for i, s in self._steps:
            if not isinstance(s, Node):
                continue
            bands = ([s] if self._threads < 2 else
                     parallel.split_rows(s, self._threads,
                                         g.tensors[s.output].dtype.itemsize))
            for b in bands:
                nodes.append((i, b))
                reads = [int(r) for r in b.inputs if isinstance(r, (int, np.integer))]
                steps.append(planner.Step(reads, [b.output], len(groups), b.scratch_bytes))
            groups.append(len(bands))
        return nodes, steps, groups

    def _tensor_views(self, plan, arena):
        """({tensor: numpy view}, {tensor: arena offset}): constants view their data,
        arena tensors their planned bytes; tensors nothing uses have neither."""
        views, offsets = {}, {}
        for t in self._graph.tensors:
            if t.data is not None:
                views[t.index] = t.data
                continue
            off = plan.tensor_offset(t.index)
            if off is None:
                continue
            offsets[t.index] = off
            views[t.index] = arena[off:off + t.nbytes].view(t.dtype).reshape(t.shape)
        return views, offsets

    def _bind(self, nodes, groups, plan, arena):
        table = kernel_table()
        engine = Engine(len(nodes), self._threads if len(nodes) > len(groups) else 1)
        engine.set_groups(groups)
        keep = []
        base = arena.ctypes.data
        for k, (op_index, node) in enumerate(nodes):
            if node.kernel not in table:
                raise RuntimeError(f"kernel {node.kernel!r} is not in the C kernel table")
            kidx, fields = table[node.kernel]
            params = pack_params(node.kernel, fields, node.params)
            keep.append(params)
            addrs = []
            for j, ref in enumerate(node.inputs):
                if ref is None:
                    addrs.append(0)
                elif isinstance(ref, np.ndarray):
                    arr = np.ascontiguousarray(ref)
                    keep.append(arr)
                    addrs.append(arr.ctypes.data)
                else:
                    view = self._views[int(ref)]
                    skip = node.input_byte_offset if j == 0 else 0
                    if not 0 <= skip < max(view.nbytes, 1):
                        raise RuntimeError(f"op {op_index}: band offset {skip} outside "
                                           f"its input")
                    addrs.append(view.ctypes.data + skip)
            out = self._views[node.output]
            if out.base is None or self._graph.tensors[node.output].data is not None:
                raise ModelError(f"op {op_index}: output tensor {node.output} is constant")
            if not 0 <= node.output_byte_offset < max(out.nbytes, 1):
                raise RuntimeError(f"op {op_index}: band offset outside its output")
            scratch = base + plan.scratch_offset(k) if node.scratch_bytes > 0 else 0
            engine.set_node(k, kidx, params.ctypes.data, addrs,
                            out.ctypes.data + node.output_byte_offset, scratch)
        self._keep = keep
        # Prepare-time read-only data: packed/padded filters, effective biases,
        # per-channel multipliers and shifts, lookup tables.  Weights that kernels read
        # in place from the model bytes are not counted here.
        # (The bands of a split node share their arrays: count each once.)
        self.persistent_bytes = int(sum({id(a): a.nbytes for a in keep}.values()))
        self._engine = engine

    # ------------------------------------------------------------------- invoke
    def invoke(self):
        """Run the model.  Integer-only C kernels, GIL released, no allocation.

        Raises:
            RuntimeError: allocate_tensors() has not been called."""
        engine = self._engine
        if engine is None:
            raise RuntimeError("Invoke called on model that is not ready.")
        engine.run()

    def check_arena_guards(self):
        """With MICRODL_ARENA_GUARD=1 set at allocate_tensors(): check that the guard
        bytes before and after the arena still hold their pattern (no kernel wrote
        outside the arena).  A no-op without the variable.

        Raises:
            RuntimeError: a guard byte was overwritten (names the side and offset)."""
        for side, g_ in zip(("before", "after"), getattr(self, "_guards", ())):
            bad = np.flatnonzero(g_ != _GUARD_PATTERN[np.arange(g_.size) % _GUARD_PATTERN.size])
            if bad.size:
                raise RuntimeError(f"arena guard overwritten {side} the arena at guard "
                                   f"byte {int(bad[0])} of {g_.size}")

    def profile_ops(self, repeats=50, warmup=3):
        """Host time of every op: each op's C nodes are run alone `repeats` times
        (after `warmup` full invokes so every input holds real data) and the median is
        taken.  Returns a list, one dict per op with nodes, of index, op_name,
        kernel (the C kernel names of its nodes, "+"-joined), seconds (median) and
        macs.  Uses the current input tensors.

        Raises:
            RuntimeError: allocate_tensors() has not been called."""
        import time

        if self._engine is None:
            raise RuntimeError("Invoke called on model that is not ready.")
        for _ in range(max(warmup, 1)):
            self._engine.run()
        spans = {}
        for k, op_index in enumerate(self._node_ops):
            lo, hi = spans.get(op_index, (k, k))
            spans[op_index] = (min(lo, k), max(hi, k) + 1)
        g = self._graph
        rows = []
        for op_index, (lo, hi) in sorted(spans.items(), key=lambda kv: kv[1]):
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                self._engine.run_range(lo, hi)
                times.append(time.perf_counter() - t0)
            op = g.ops[op_index]
            rows.append(dict(index=op_index, op_name=op.name,
                             kernel="+".join(s.kernel for i, s in self._steps
                                             if i == op_index and isinstance(s, Node)),
                             seconds=float(np.median(times)), macs=op_macs(op, g)))
        return rows

    # ------------------------------------------------------------------ tensors
    def _check_index(self, index):
        n = len(self._graph.tensors)
        if not isinstance(index, (int, np.integer)) or not 0 <= index < n:
            raise ValueError(f"Invalid tensor index {index} exceeds max tensor index "
                             f"{n - 1}")
        return int(index)

    def set_tensor(self, tensor_index, value):
        """Copy `value` into the tensor (strict dtype and shape, as LiteRT).

        Raises:
            ValueError: bad index, unallocated tensor, wrong dtype or shape."""
        index = self._check_index(tensor_index)
        t = self._graph.tensors[index]
        view = self._views.get(index)
        if view is None or self._engine is None:
            raise ValueError("Cannot set tensor: Tensor is unallocated. Try calling "
                             "allocate_tensors() first")
        value = np.asarray(value)
        if value.dtype != t.dtype:
            raise ValueError(f"Cannot set tensor: Got value of type "
                             f"{_tflite_dtype_name(value.dtype)} but expected type "
                             f"{_tflite_dtype_name(t.dtype)} for input {index}, name: "
                             f"{t.name} ")
        if value.ndim != len(t.shape):
            raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {value.ndim} "
                             f"but expected {len(t.shape)} for input {index}.")
        for d, (got, want) in enumerate(zip(value.shape, t.shape)):
            if got != want:
                raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {got} but "
                                 f"expected {want} for dimension {d} of input {index}.")
        if t.data is not None:
            raise ValueError(f"Cannot set tensor: tensor {index} ({t.name}) is a "
                             f"constant of the model")
        view[...] = value

    def get_tensor(self, tensor_index, subgraph_index=0):
        """A copy of the tensor's current value."""
        index = self._check_index(tensor_index)
        view = self._views.get(index)
        if view is None:
            raise ValueError("Tensor data is null. Run allocate_tensors() first")
        return np.array(view, copy=True)

    def tensor(self, tensor_index):
        """A function returning a numpy view of the tensor's memory in the arena
        (valid until allocate_tensors() is called again)."""
        index = self._check_index(tensor_index)

        def view():
            v = self._views.get(index)
            if v is None:
                raise ValueError("Tensor data is null. Run allocate_tensors() first")
            return v

        return view

    # ------------------------------------------------------------------ details
    def _details(self, index):
        t = self._graph.tensors[index]
        q = t.quant
        if q is None:
            scales, zps, qdim = np.array([], np.float32), np.array([], np.int32), 0
            quantization = (0.0, 0)
        else:
            scales = q.scales.astype(np.float32)
            zps = q.zero_points.astype(np.int32)
            qdim = q.quantized_dimension
            quantization = (float(scales[0]), int(zps[0])) if scales.size == 1 else (0.0, 0)
        return {
            "name": t.name,
            "index": index,
            "shape": np.array(t.shape, np.int32),
            "shape_signature": np.array(t.shape_signature, np.int32),
            "dtype": t.dtype.type if t.dtype is not None else None,
            "quantization": quantization,
            "quantization_parameters": {"scales": scales, "zero_points": zps,
                                        "quantized_dimension": qdim, "block_size": 0},
            "sparsity_parameters": {},
        }

    def get_input_details(self):
        """List of dicts (name, index, shape, shape_signature, dtype, quantization,
        quantization_parameters, sparsity_parameters), one per model input."""
        return [self._details(i) for i in self._graph.inputs]

    def get_output_details(self):
        """As get_input_details, for the model outputs."""
        return [self._details(i) for i in self._graph.outputs]

    def get_tensor_details(self):
        """As get_input_details, for every tensor of the model."""
        return [self._details(t.index) for t in self._graph.tensors]

    def get_signature_list(self):
        return {}

    def get_ops_details(self):
        """Per op: index, op_name, version, inputs, outputs (tensor indices) and macs
        (multiply-accumulates of one invoke)."""
        g = self._graph
        return [dict(index=op.index, op_name=op.name, version=op.version,
                     inputs=np.array(op.inputs, np.int32),
                     outputs=np.array(op.outputs, np.int32), macs=op_macs(op, g))
                for op in g.ops]

    def summary(self) -> str:
        """A per-layer table: op, output shape, MACs, weight bytes, and the output's
        arena offset and size in bytes (after allocate_tensors())."""
        g = self._graph
        rows = [("#", "op", "output shape", "MACs", "weights B", "arena off", "size B")]
        total_macs = total_w = 0
        for op in g.ops:
            out = g.tensors[op.outputs[0]] if op.outputs else None
            macs = op_macs(op, g)
            wbytes = sum(g.tensors[t].nbytes for t in op.inputs
                         if t >= 0 and g.tensors[t].data is not None)
            total_macs += macs
            total_w += wbytes
            off = self._offsets.get(out.index) if (out is not None and self._engine) else None
            rows.append((str(op.index), op.name,
                         "x".join(map(str, out.shape)) if out is not None else "-",
                         f"{macs:,}", f"{wbytes:,}", "-" if off is None else str(off),
                         f"{out.nbytes:,}" if out is not None else "-"))
        lines = [text_table(rows, left=(1, 2))]
        lines.append(f"total: {total_macs:,} MACs, {total_w:,} weight bytes, "
                     f"arena {self.arena_bytes:,} bytes, persistent (packed weights, "
                     f"biases, multipliers, tables) {self.persistent_bytes:,} bytes")
        return "\n".join(lines)

    @property
    def weight_bytes(self):
        """Bytes of the model's constant tensors that ops read (weights, biases and
        other constant operands, as stored in the file; constants microdl folds at
        prepare time are not counted, nor the packed copies in persistent_bytes)."""
        g = self._graph
        produced = {t for op in g.ops for t in op.outputs}
        read = {t for op in g.ops for t in op.inputs if t >= 0} - produced
        return int(sum(g.tensors[t].nbytes for t in read if g.tensors[t].data is not None))
