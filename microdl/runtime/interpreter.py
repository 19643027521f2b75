"""microdl.Interpreter: a drop-in for tflite_runtime's / LiteRT's Interpreter on
quantized, float32 and dynamic-range models, with its SignatureRunner and OpResolverType (re-exported, with
load_delegate and the rest of LiteRT's module, by microdl.interpreter)."""
from __future__ import annotations

import ctypes
import enum
import os
import sys

import numpy as np

from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.core.graph import Graph
from microdl.core.tables import text_table
from microdl.runtime import controlflow, parallel, planner, shapeinfer
from microdl.runtime._engine import MAX_THREADS, Engine, KernelError, kernel_table
from microdl.runtime.cparams import pack_params
from microdl.core.fixedpoint import ROUNDING_DOUBLE, ROUNDING_SINGLE
from microdl.runtime.ops import conv as conv_ops
from microdl.runtime.ops import (Alias, Constant, Node, PrepareContext, Unsupported,
                                 load_all, preparer_for)
from microdl.core.macs import op_macs
from microdl.tflite.reader import read_model

ARENA_ALIGNMENT = 16
# rounding= name -> (PrepareContext.rounding, PrepareContext.fc_float64)
_ROUNDING_TARGETS = {"litert": (ROUNDING_SINGLE, True), "single": (ROUNDING_SINGLE, False),
                     "tflm": (ROUNDING_DOUBLE, False), "double": (ROUNDING_DOUBLE, False)}
MAX_ARENA_BYTES = 1 << 31
_MEMORY_MODES = ("fast", "small")
# Fewest output pixels per im2col block _cap_scratch leaves a conv_s8_fast node, per
# memory mode (tools/bench_runtime.py --memory measures the latency cost: smaller
# blocks mean more GEMM calls).
_MIN_CAPPED_BLOCK = {"fast": 8, "small": 2}
# Guard bytes on each side of the arena with MICRODL_ARENA_GUARD=1 (tools/fuzz.py).
ARENA_GUARD_BYTES = 256
_GUARD_PATTERN = np.array([0xA5, 0x5A, 0xC3, 0x3C], np.uint8)


def _tflite_dtype_name(dtype):
    return "UNKNOWN" if dtype is None else np.dtype(dtype).name.upper()


@enum.unique
class OpResolverType(enum.Enum):
    """Which kernels an Interpreter binds (the members and values of LiteRT's
    ``OpResolverType``).

    AUTO, BUILTIN, BUILTIN_WITHOUT_DEFAULT_DELEGATES: microdl's fast kernels (im2col +
    GEMM microkernels, vectorized depthwise); BUILTIN_REF: its plain reference kernels
    (the loops of LiteRT's reference kernels).  Both give the same bits."""

    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


def _reference_kernels(resolver):
    """True for BUILTIN_REF.  Accepts microdl's OpResolverType and an
    ``OpResolverType`` member of LiteRT or tflite_runtime (same member names), so a
    shim that maps only ``Interpreter`` to microdl keeps working.

    Raises:
        ValueError: anything else (LiteRT's wording)."""
    if isinstance(resolver, enum.Enum) and type(resolver).__name__ == "OpResolverType":
        member = OpResolverType.__members__.get(resolver.name)
        if member is not None:
            return member is OpResolverType.BUILTIN_REF
    raise ValueError(f"Unrecognized passed in op resolver type: {resolver}")


# LiteRT's reset_all_variables() before allocate_tensors() on a model with variables.
_VARIABLES_UNALLOCATED = "tflite/core/subgraph.cc:1092 tensor.data.raw != nullptr was not true."
# LiteRT's RuntimeError when memory that views point at would be replaced.
_VIEWS_HELD = """There is at least 1 reference to internal data
      in the interpreter in the form of a numpy array or slice. Be sure to
      only hold the function returned from tensor() if you are using raw
      data access."""


def _is_index(value):
    return isinstance(value, (int, np.integer))


class Interpreter:
    """Runs a .tflite model in one static arena with C kernels: quantized int8/int16
    models (integer-only, bit-exact with LiteRT's reference kernels), float32 models
    and dynamic-range models (int8 weights, float32 activations: LiteRT's hybrid
    kernels' arithmetic).

    A drop-in for ``tflite_runtime.interpreter.Interpreter`` /
    ``ai_edge_litert.interpreter.Interpreter`` (LiteRT 2.x): same argument names,
    order and defaults, same methods (details dicts, signatures, ``tensor()`` views,
    the private ``_get_ops_details`` / ``_get_tensor_details``), same exception types
    and, where user code may match them, the same messages.  ``microdl.interpreter``
    is the module to import in place of ``tflite_runtime.interpreter``.  Extras:
    ``arena_bytes`` (the static arena: activations and kernel scratch),
    ``persistent_bytes`` (read-only data made at prepare time: packed weights,
    effective biases, multipliers, lookup tables), ``get_ops_details()`` with MACs,
    ``profile_ops()`` and ``summary()``.

    Tensors are NHWC, filters OHWI (CONV_2D) / 1HWO (DEPTHWISE_CONV_2D), as in the
    file; dtypes as the file declares them (int8 / int16 activations, int32 / int64
    biases).

    Args:
        model_path: path (str or os.PathLike) of a .tflite file.
        model_content: the file's bytes (bytes, bytearray or memoryview), instead of
            model_path.
        experimental_delegates: None or empty: microdl has no delegates (it runs every
            op with its own CPU kernels); any delegate is refused with ValueError.
        num_threads: threads that run the large convolutions (CONV_2D and
            DEPTHWISE_CONV_2D layers are cut into bands of output rows, one per thread,
            with results identical to one thread); None or 1: the calling thread only
            (the default).  At most 64.  The worker threads are made by
            allocate_tensors(), never during invoke().  An int >= 1 (a bool counts as
            an int, as in LiteRT); else ValueError with LiteRT's wording.
        experimental_op_resolver_type: an OpResolverType member: BUILTIN_REF binds the
            plain reference kernels, the others the fast ones (same results).  The
            environment variable MICRODL_REFERENCE_KERNELS=1 forces the reference
            kernels whatever this says.  Anything else: ValueError, as LiteRT.
        experimental_preserve_all_tensors: give every tensor its own arena memory for
            the whole invoke, so intermediate tensors can be read afterwards
            (debugging, per-layer error reports); costs arena bytes.
        experimental_disable_delegate_clustering,
        experimental_default_delegate_latest_features,
        experimental_disable_delegate_node_fusion,
        experimental_force_delegate_node_profiling: LiteRT's delegate options;
            accepted with no effect (no delegates).
        experimental_compress_quantization_zero_points: accepted, reported by the
            property of that name; microdl stores one zero point per tensor or
            channel either way.
        preserve_inputs: (keyword only) keep input tensors intact through invoke() (as
            LiteRT does, so invoke() can be repeated without set_tensor); False lets
            the arena reuse input memory, which lowers arena_bytes on chain models.
        rounding: (keyword only) whose integer rounding to reproduce bit for bit:
            "litert" (default; LiteRT 2.x's reference kernels: FULLY_CONNECTED
            requantizes in double precision, round(acc * input_scale * filter_scale /
            output_scale), the other kernels use gemmlowp's double rounding) or "tflm"
            (TFLite Micro: double rounding everywhere).  "double" is an alias of
            "tflm"; "single" is TFLite built with TFLITE_SINGLE_ROUNDING before LiteRT
            1.3 (FULLY_CONNECTED with a Q31 multiplier and single rounding, the rest
            as "litert").
        memory: (keyword only) "fast" (default): every layer reads its whole input and writes its
            whole output into its own arena memory (the arena sits at or near the
            layer-by-layer bound, lower_bound_bytes); "small": in addition, a fast
            int8 convolution (DEPTHWISE_CONV_2D, CONV_2D) whose input dies at that
            layer writes its output into the input's memory, one output row at a time
            through a small ring of rows in scratch (cext/include/mdl_inplace.h), when
            that lowers arena_bytes.  Same results, bit for bit; in-place layers are
            not cut into bands for num_threads > 1.  Inputs are only overwritten with
            preserve_inputs=False; experimental_preserve_all_tensors disables it.
            ValueError for any other value.  Models with control flow plan as "fast".
        max_loop_iterations: (keyword only) for models with control flow (IF, WHILE,
            CALL_ONCE over subgraphs; VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE
            resource variables, microdl.runtime.controlflow): the most WHILE-loop
            iterations (summed over all loops) one invoke() may run before it stops
            with RuntimeError (default 10,000,000; LiteRT has no cap, so a model
            whose loop never ends would hang it).  An int >= 0, else ValueError.

    Raises:
        ValueError: neither or both of model_path / model_content given ("`model_path`
            or `model_content` must be specified.", "Can't both provide `model_path`
            and `model_content`"), the file cannot be read ("Could not open '<path>'.
            ..."), bad num_threads / experimental_op_resolver_type, or a delegate.
        ModelError (a ValueError): the file is malformed (names the tensor/op at fault).
        UnsupportedOpError (a ModelError): the model uses ops microdl cannot run (lists
            all of them), or control flow with shapes that change between iterations
            or branches (dynamic shapes).
        TypeError: model_content is not bytes-like.

    Views (``tensor()``) keep the arena they point into alive, also after the
    Interpreter is gone.  allocate_tensors() while such a view is held raises
    RuntimeError, as LiteRT does (the arena would be replaced); unlike LiteRT,
    invoke() accepts held views, since it never moves memory.
    """

    def __init__(self, model_path=None, model_content=None, experimental_delegates=None,
                 num_threads=None, experimental_op_resolver_type=OpResolverType.AUTO,
                 experimental_preserve_all_tensors=False,
                 experimental_disable_delegate_clustering=False,
                 experimental_default_delegate_latest_features=False,
                 experimental_compress_quantization_zero_points=False,
                 experimental_disable_delegate_node_fusion=False,
                 experimental_force_delegate_node_profiling=False,
                 *, preserve_inputs=True, rounding="litert", memory="fast",
                 max_loop_iterations=controlflow.MAX_LOOP_ITERATIONS):
        # LiteRT's checks, in LiteRT's order and wording.
        reference = _reference_kernels(experimental_op_resolver_type)
        if num_threads is not None:
            if not isinstance(num_threads, int):
                raise ValueError("type of num_threads should be int")
            if num_threads < 1:
                raise ValueError("num_threads should >= 1")
        if rounding not in _ROUNDING_TARGETS:
            raise ValueError(f"rounding must be 'litert' or 'tflm', got {rounding!r}")
        if memory not in _MEMORY_MODES:
            raise ValueError(f"memory must be 'fast' or 'small', got {memory!r}")
        self._memory = memory
        self._inplace_ops = []
        self._fused_ops = []
        has_path = model_path is not None and os.fspath(model_path) != ""
        has_content = model_content is not None and (
            not hasattr(model_content, "__len__") or len(model_content) > 0)
        if has_path and has_content:
            raise ValueError("Can't both provide `model_path` and `model_content`")
        if not has_path and not has_content:
            # An empty file's bytes are a malformed model too (ModelError is a
            # ValueError, LiteRT's type).
            cls = ValueError if model_content is None else ModelError
            raise cls("`model_path` or `model_content` must be specified.")
        if has_path:
            path = os.fspath(model_path)
            try:
                with open(path, "rb") as f:
                    model_content = f.read()
            except OSError as e:
                raise ValueError(f"Could not open '{path}'.The model allocation is "
                                 f"null/empty") from e
        if experimental_delegates:
            raise ValueError(
                f"microdl has no delegates: it runs every op with its own CPU kernels, "
                f"so experimental_delegates must be None or empty (got "
                f"{len(experimental_delegates)} delegate(s))")
        self._graph: Graph = read_model(model_content)
        # Control flow (IF, WHILE, CALL_ONCE, resource variables): the ops run are a
        # flat lowering (runtime/controlflow.py); what the user sees stays subgraph 0.
        self._user_graph = self._graph
        self._cf = None
        self._loops = []
        if controlflow.has_control_flow(self._graph):
            if not _is_index(max_loop_iterations) or max_loop_iterations < 0:
                raise ValueError(f"max_loop_iterations must be an int >= 0, got "
                                 f"{max_loop_iterations!r}")
            try:
                self._cf = controlflow.lower(self._graph, min(int(max_loop_iterations),
                                                              2**31 - 1))
            except Unsupported as e:
                raise UnsupportedOpError([dict(index=-1, op_name="control flow",
                                               version=1, dtypes=[],
                                               reason=str(e))]) from None
            self._graph = self._cf.graph
        self._threads = min(int(num_threads or 1), MAX_THREADS)
        code, fc_float64 = _ROUNDING_TARGETS[rounding]
        self._ctx = PrepareContext(rounding=code, fc_float64=fc_float64,
                                   reference_kernels=reference)
        self._experimental_compress_quantization_zero_points = bool(
            experimental_compress_quantization_zero_points)
        self._preserve_inputs = bool(preserve_inputs)
        self._preserve_all = bool(experimental_preserve_all_tensors)
        self._steps = self._prepare()
        self._engine = None
        self._arena = None
        self._user_buffer = None  # what tensor() views are made from (see _ensure_safe)
        self._views = {}
        self._offsets = {}
        self.arena_bytes = 0
        self.lower_bound_bytes = 0
        self.persistent_bytes = 0
        self._signature_defs = self.get_signature_list()

    @property
    def experimental_compress_quantization_zero_points(self):
        """The constructor argument of that name (no effect in microdl)."""
        return self._experimental_compress_quantization_zero_points

    # ------------------------------------------------------------------ prepare
    def _prepare(self, graph=None, before_op=None):
        """Prepare every op of `graph` (default: the model's), calling
        before_op(op, graph) first when given (a re-prepare after a resize)."""
        load_all()
        g = self._graph if graph is None else graph
        steps = []  # (op index, step)
        unsupported = []
        for op in g.ops:
            try:
                if before_op is not None:
                    before_op(op, g)
                fn = controlflow.PREPARE.get(op.name) or preparer_for(op, g)
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
                where = self._cf.origin.get(op.index) if self._cf is not None else None
                unsupported.append(UnsupportedOpError.entry(
                    op, g, f"(inlined from {where}) {e}" if where else e))
            except ModelError as e:
                msg = str(e)
                if self._cf is not None and op.index in self._cf.origin:
                    msg = f"{self._cf.origin[op.index]}: {msg}"
                if not msg.startswith(f"op {op.index} "):
                    msg = f"op {op.index} ({op.name}): {msg}"
                raise ModelError(msg) from None
        if unsupported:
            if self._cf is not None:  # a subgraph inlined twice: list its ops once
                unsupported = list({(u["op_name"], u["reason"]): u
                                    for u in unsupported}.values())
            raise UnsupportedOpError(unsupported)
        return steps

    # ------------------------------------------------------------------- resize
    # The graph at the shapes of its file (set by the first resize) and whether a
    # resize waits for allocate_tensors().
    _file_graph = None
    _resize_pending = False

    def resize_tensor_input(self, input_index, tensor_size, strict=False):
        """Give tensor `input_index` the shape `tensor_size` (e.g. a batch of N:
        [N, H, W, C]); allocate_tensors() then prepares every op again for the new
        shapes and plans a new arena.  As LiteRT 2.x: until then invoke() raises
        RuntimeError and the tensor has no data; the new shape shows in
        get_input_details() at once; resizing to the current shape of an allocated
        interpreter changes nothing.

        Args:
            input_index: tensor index (the 'index' of get_input_details()).
            tensor_size: the new shape, a 1-D sequence of ints (converted to int32).
            strict: only dimensions that are -1 in the tensor's shape_signature may
                change (the batch of the MLPerf Tiny models, for instance).

        Output shapes follow through every op (microdl.runtime.shapeinfer: the rules of
        LiteRT's kernels, plus a RESHAPE / TRANSPOSE_CONV with a constant shape operand
        whose first entry is the model's batch takes the new batch).

        Raises:
            TypeError: input_index not an int, strict not a bool-like value.
            ValueError: tensor_size not 1-D or not numbers (OverflowError outside int32).
            RuntimeError: LiteRT's messages: index out of range; with strict, a rank
                change or a change of a dimension that is not -1 in shape_signature;
                a constant or variable tensor ("Attempting to resize a fixed-size
                tensor."); a negative dimension.
            allocate_tensors() then raises ModelError naming the op whose shapes
            cannot follow (or UnsupportedOpError for shapes the kernels refuse).
            RuntimeError (LiteRT's message) while a view from tensor() is held."""
        self._ensure_safe()
        g = self._graph
        if self._cf is not None:
            raise RuntimeError("microdl cannot resize the inputs of a model with "
                               "control flow (IF, WHILE, CALL_ONCE, resource variables)")
        index, shape = shapeinfer.check_resize(g, input_index, tensor_size, strict)
        if (tuple(g.tensors[index].shape) == shape and self._engine is not None
                and not self._resize_pending):
            return
        if self._file_graph is None:
            self._file_graph = g
        self._graph = shapeinfer.with_shape(g, index, shape)
        self._views.pop(index, None)
        self._engine = None
        self._resize_pending = True

    def _prepare_resized(self):
        """Prepare the graph again at the shapes resize_tensor_input() set (ModelError
        naming the first op whose shapes cannot follow; the interpreter then stays
        unallocated)."""
        g = self._graph
        for i in g.inputs:
            if g.tensors[i].nbytes > MAX_ARENA_BYTES:
                raise ModelError(f"input tensor {i} of shape {g.tensors[i].shape} "
                                 f"takes more than the {MAX_ARENA_BYTES} bytes microdl "
                                 f"allows")
        copy = shapeinfer.copy_for_resize(g, {})
        hook = shapeinfer.ShapePropagation(self._file_graph, self._ctx, MAX_ARENA_BYTES)
        steps = self._prepare(copy, hook.before_op)
        self._graph, self._steps = copy, steps
        self._resize_pending = False

    # ----------------------------------------------------------------- allocate
    def allocate_tensors(self):
        """Plan the arena, allocate it once and bind every C node to its addresses
        (after resize_tensor_input(): prepare every op again for the new shapes
        first).  Variable tensors start at their reset value (reset_all_variables).

        Raises:
            RuntimeError: a view from tensor() is still held (LiteRT's message): the
                arena it points into would be replaced."""
        self._ensure_safe()
        if self._resize_pending:
            self._prepare_resized()
        nodes, steps, groups = self._schedule()
        plan = self._plan(steps)
        nodes, steps, groups, plan = self._cap_scratch(nodes, steps, groups, plan)
        bound = plan.lower_bound_bytes  # the layer-by-layer bound
        self._inplace_ops = []
        self._fused_ops = []
        if self._memory == "small" and not self._preserve_all and self._cf is None:
            nodes, steps, groups, plan = self._plan_small(nodes, steps, groups, plan)
        total = plan.total_bytes
        if total > MAX_ARENA_BYTES:
            raise ModelError(f"the model needs a {total}-byte arena, more than the "
                             f"{MAX_ARENA_BYTES} bytes microdl allows")
        self.lower_bound_bytes = bound
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
        # Resource variables and CALL_ONCE flags outlive allocate_tensors(), as in
        # LiteRT (state lives in the interpreter, not in the tensors' memory).
        kept = ({i: np.array(self._views[i]) for i in self._cf.persistent
                 if i in self._views} if self._cf is not None and self._arena is not None
                else {})
        self._views, self._offsets = self._tensor_views(plan, arena)
        for i, value in kept.items():
            self._views[i][...] = value
        self._bind(nodes, groups, plan, arena)
        self._arena_plan, self._nodes = plan, nodes
        self.arena_bytes = total
        self._node_ops = [i for i, _ in nodes]
        self._user_buffer = (ctypes.c_uint8 * arena.nbytes).from_buffer(arena)
        self.reset_all_variables()

    def _plan(self, steps, inplace=()):
        g = self._graph
        return planner.plan_graph(
            g, steps,
            aliases=[(s.input, s.output) for _, s in self._steps if isinstance(s, Alias)],
            variables=[t.index for t in g.tensors if t.is_variable] +
            (self._cf.persistent if self._cf is not None else []),
            preserve_inputs=self._preserve_inputs, preserve_all=self._preserve_all,
            alignment=ARENA_ALIGNMENT, inplace=inplace, loops=self._loops)

    def _cap_scratch(self, nodes, steps, groups, plan):
        """Shrinks the im2col block of conv_s8_fast nodes (ops/conv.py
        cap_conv_scratch) whose scratch raises the arena above the tensors' own peak
        (largest live set of tensors), to what fits under it but not below
        _MIN_CAPPED_BLOCK pixels of the memory mode; keeps the result when
        the arena shrinks.  Replaces those nodes in self._steps.  Returns (nodes,
        steps, groups, plan)."""
        live = planner.tensor_live_bytes(plan.buffers, ARENA_ALIGNMENT)
        peak = max(live.values(), default=0)
        if plan.total_bytes <= peak:
            return nodes, steps, groups, plan
        replace = {}
        for (_, node), pos, st in zip(nodes, self._positions, steps):
            s = self._steps[pos][1]
            if s.kernel != "conv_s8_fast" or pos in replace:
                continue
            room = (peak - live.get(st.stage, 0)) // max(groups[st.stage], 1)
            capped = conv_ops.cap_conv_scratch(s, max(room, 0),
                                               _MIN_CAPPED_BLOCK[self._memory])
            if capped is not s:
                replace[pos] = capped
        if not replace:
            return nodes, steps, groups, plan
        n2, st2, gr2 = self._schedule(replace)
        plan2 = self._plan(st2)
        if plan2.total_bytes >= plan.total_bytes:
            self._schedule()
            return nodes, steps, groups, plan
        for pos, node in replace.items():
            self._steps[pos] = (self._steps[pos][0], node)
        return n2, st2, gr2, plan2

    # How _plan_small picks each in-place node's offset (ops/conv.py inplace_deltas)
    # from (ring bytes, block bytes, |delta|, is one of the first two deltas); each
    # strategy is planned and the smallest arena kept (offsets interact along chains
    # of in-place layers, no single rule wins on every model).
    # _plan_small's chain search tries only chains whose intermediates are live at
    # a stage holding at least this share of the largest live set.
    _HOT_SHARE = 0.6
    # ... and plans at most this many candidates in all (each plan of a graph costs
    # milliseconds: the search stays around a second on 30-layer models, seconds on
    # hundreds of layers; what it found by then is kept).
    _CHAIN_TRIES = 400

    _INPLACE_STRATEGIES = (
        lambda ring, block, dist, basic: (not basic, ring, dist),
        lambda ring, block, dist, basic: (ring, block, dist),
        lambda ring, block, dist, basic: (ring + block, dist),
    )

    def _plan_small(self, nodes, steps, groups, fast_plan):
        """memory="small": the in-place variant (ops/conv.py inplace_node) of every
        node the planner lets write into its dying input, at an offset chosen by each
        of _INPLACE_STRATEGIES; then each in-place node is dropped again (largest ring
        first) when that lowers the arena.  From the smallest plan, one pass of local
        search (every candidate, largest output first, at each offset or out of place,
        kept when the arena shrinks).  Kept only if it beats fast_plan.  Returns (nodes, steps, groups, plan)."""
        options = {}  # position in self._steps -> [(delta, ring bytes, block, basic)]
        for k, (_, s) in enumerate(self._steps):
            if (isinstance(s, Node) and s.kernel in conv_ops.INPLACE_KERNELS and
                    isinstance(s.inputs[0], (int, np.integer))):
                deltas = conv_ops.inplace_deltas(s.params, ARENA_ALIGNMENT)
                basic = [d for d in deltas[:2] if d <= 0]  # start, or end if growing
                opts = [(d, v[1], conv_ops.inplace_block_bytes(s.params, d), d in basic)
                        for j, d in enumerate(deltas)
                        for v in [conv_ops.inplace_node(s, d)] if v is not None]
                if opts:
                    options[k] = opts

        inplace_cache, chain_cache = {}, {}

        def inplace_variant(k, delta):
            if (k, delta) not in inplace_cache:
                inplace_cache[k, delta] = conv_ops.inplace_node(self._steps[k][1], delta)[0]
            return inplace_cache[k, delta]

        def chain_variant(k, n, extra):
            if (k, n, extra) not in chain_cache:
                chain_cache[k, n, extra] = conv_ops.chain_node(
                    [self._steps[j][1] for j in range(k, k + n)], extra)[0]
            return chain_cache[k, n, extra]

        tries = [0]

        def attempt(choice, chosen, chains=()):
            """chains: (k, length, extra) runs of positions whose nodes run as one
            chain node (ops/conv.py chain_node, `extra` rows per window); those are
            then not in place."""
            tries[0] += 1
            fused = {j for k, n, _ in chains for j in range(k, k + n)}
            variants = {k: inplace_variant(k, choice[k][0]) for k in chosen if k not in fused}
            for k, n, extra in chains:
                variants[k] = chain_variant(k, n, extra)
                for j in range(k + 1, k + n):
                    variants[j] = None
            n_, st, gr = self._schedule(variants)
            cands = [planner.InPlace(j, int(b.inputs[0]), b.output, choice[pos][0])
                     for j, (pos, (_, b)) in enumerate(zip(self._positions, n_))
                     if pos in chosen and pos not in fused]
            plan = self._plan(st, cands)
            return {self._positions[c.step] for c in plan.inplace}, (n_, st, gr, plan)

        best, best_chosen, best_choice = (nodes, steps, groups, fast_plan), set(), {}
        for rule in self._INPLACE_STRATEGIES:
            choice = {k: min(opts, key=lambda o: rule(o[1], o[2], abs(o[0]), o[3]))
                      for k, opts in options.items()}
            chosen, result = attempt(choice, set(choice))
            if chosen != set(choice):  # the others run out of place, own scratch
                chosen, result = attempt(choice, chosen)
            for k in sorted(chosen, key=lambda k: (-choice[k][1], k)):
                fewer, r = attempt(choice, chosen - {k})
                if fewer == chosen - {k} and r[3].total_bytes < result[3].total_bytes:
                    chosen, result = fewer, r
            if chosen and result[3].total_bytes < best[3].total_bytes:
                best, best_chosen, best_choice = result, chosen, choice
        def local_search(best, choice, chosen, chains):
            """One pass: each in-place candidate (largest output first, not in a
            chain) at each offset or out of place, kept when the arena shrinks."""
            fused = {j for k, n, _ in chains for j in range(k, k + n)}
            for k in sorted(options, key=lambda k: -self._graph.tensors[
                    self._steps[k][1].output].nbytes):
                if k in fused:
                    continue
                for o in [None] + options[k]:
                    if o is not None and k in chosen and o == choice[k]:
                        continue
                    c2, ch2 = dict(choice), set(chosen) - {k}
                    if o is not None:
                        c2[k] = o
                        ch2.add(k)
                    got, r = attempt(c2, ch2, chains)
                    if got == ch2 and r[3].total_bytes < best[3].total_bytes:
                        best, choice, chosen = r, c2, ch2
            return best, choice, chosen

        def hot_tensors(plan):
            """Tensors live at a stage whose live bytes are within _HOT_SHARE of the
            largest: the only ones whose removal can lower the arena soon."""
            live = planner.tensor_live_bytes(plan.buffers, ARENA_ALIGNMENT)
            top = max(live.values(), default=0)
            hot = {st for st, b in live.items() if b >= self._HOT_SHARE * top}
            roots = {b.key for b in plan.buffers if not isinstance(b.key, tuple) and
                     any(b.first <= st <= b.last for st in hot)}
            return {t for t in range(len(self._graph.tensors)) if plan.root(t) in roots}

        def spread(plan):  # tie-break: bytes live summed over the stages
            return sum(planner.tensor_live_bytes(plan.buffers, ARENA_ALIGNMENT).values())

        choice, chosen, chains = dict(best_choice), set(best_chosen), []
        if chosen:
            best, choice, chosen = local_search(best, choice, chosen, chains)
        # Fused chains (ops/conv.py chain_node), best improvement first: in each
        # round every candidate is tried and the one that lowers the arena most (or
        # keeps it with the fewest bytes live over the stages: it may shrink once
        # another peak is gone) is kept; then the in-place search again, and chains
        # that no longer lower the arena are dropped (they cost time).
        candidates = [(k, n, e) for k, n in self._chain_candidates()
                      for e in (conv_ops.CHAIN_EXTRA_ROWS, 0)]
        if candidates:
            budget = tries[0] + self._CHAIN_TRIES
            while tries[0] < budget:  # best improvement first, until none improves
                step = None
                base = (best[3].total_bytes, spread(best[3]))
                hot = hot_tensors(best[3])
                for k, n, e in candidates:
                    if any(k < j + m and j < k + n for j, m, _ in chains):
                        continue
                    if not any(self._steps[j][1].output in hot for j in range(k, k + n - 1)):
                        continue  # fusing it removes no tensor live near the peak
                    trial = chains + [(k, n, e)]
                    ch2 = chosen - set(range(k, k + n))
                    got, r = attempt(choice, ch2, trial)
                    score = (r[3].total_bytes, spread(r[3]))
                    if got == ch2 and score < base and (step is None or score < step[:2]):
                        step = score + ((k, n, e), r, ch2)
                if step is None:
                    break
                best, chosen, chains = step[3], step[4], chains + [step[2]]
            best, choice, chosen = local_search(best, choice, chosen, chains)
            for kn in list(chains):
                fewer = [c for c in chains if c != kn]
                got, r = attempt(choice, chosen, fewer)
                if got == chosen and r[3].total_bytes <= best[3].total_bytes:
                    best, chains = r, fewer
        best_chosen = chosen
        self._chains = sorted(chains)
        self._inplace_ops = sorted({self._steps[k][0] for k in best_chosen})
        self._fused_ops = [tuple(self._steps[j][0] for j in range(k, k + n))
                           for k, n, _ in self._chains]
        return best

    def _chain_candidates(self):
        """(k, length) runs of positions in self._steps whose fast convolution nodes
        can run as one chain node (ops/conv.py chain_node): each node's output is
        read by the next node only and is no graph output or variable."""
        g = self._graph
        readers = {}
        for k, (_, s) in enumerate(self._steps):
            refs = s.inputs if isinstance(s, Node) else [s.input]
            for r in refs:
                if isinstance(r, (int, np.integer)):
                    readers.setdefault(int(r), set()).add(k)
        kept = set(g.outputs) | {t.index for t in g.tensors if t.is_variable}

        def link(k):
            a, b = self._steps[k][1], self._steps[k + 1][1]
            return (isinstance(a, Node) and isinstance(b, Node) and
                    a.output not in kept and readers.get(a.output, set()) == {k + 1})

        out = []
        for k in range(len(self._steps) - 1):
            for n in range(2, conv_ops.CHAIN_MAX_OPS + 1):
                if k + n > len(self._steps) or not link(k + n - 2):
                    break
                if conv_ops.chain_node([self._steps[j][1]
                                        for j in range(k, k + n)]) is not None:
                    out.append((k, n))
        return out

    def _schedule(self, replace=None):
        """(nodes, steps, groups): the C nodes in run order as (op index, node), the
        planner's Step of each (what it reads and writes, its stage, its scratch), and
        the number of bands of every stage (a node split over threads is one stage of
        several bands, run at once).  replace: {position in self._steps: Node} run
        instead (in-place variants and chain nodes, never split; None: the node
        runs inside the chain node before it).  Sets self._group_sources (per group,
        the unsplit node of a group of bands, else None) and self._positions (the position
        in self._steps of every node)."""
        g = self._graph
        nodes, steps, groups, positions, sources = [], [], [], [], []
        label_stage, loops = {}, []  # control flow: loops as (first, last) stage
        for k, (i, s) in enumerate(self._steps):
            if not isinstance(s, Node):
                continue
            if replace and k in replace:
                s = replace[k]
                if s is None:  # fused into the node before it (a pair node)
                    continue
            if s.kernel == "cf_label":
                label_stage[s.params["label"]] = len(groups)
            elif s.kernel == "cf_branch" and s.params["target"] in label_stage:
                loops.append((label_stage[s.params["target"]], len(groups)))
            bands = ([s] if self._threads < 2 or s.output < 0 else
                     parallel.split_rows(s, self._threads,
                                         g.tensors[s.output].dtype.itemsize))
            for b in bands:
                nodes.append((i, b))
                positions.append(k)
                reads = [int(r) for r in b.inputs if isinstance(r, (int, np.integer))]
                steps.append(planner.Step(reads, [b.output], len(groups), b.scratch_bytes))
            groups.append(len(bands))
            sources.append(s if len(bands) > 1 else None)
        self._positions = positions
        self._group_sources = sources
        self._loops = loops
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
        if self._cf is not None:
            nodes = controlflow.resolve_targets(nodes)
        engine = Engine(len(nodes), self._threads if len(nodes) > len(groups) else 1)
        engine.set_groups(groups)
        keep = []
        base = arena.ctypes.data
        for k, (op_index, node) in enumerate(nodes):
            scratch = base + plan.scratch_offset(k) if node.scratch_bytes > 0 else 0
            self._bind_node(engine, table, k, op_index, node, scratch, keep)
        self._bind_wholes(engine, table, nodes, groups, plan, base, keep)
        self._keep = keep
        # Prepare-time read-only data: packed/padded filters, effective biases,
        # per-channel multipliers and shifts, lookup tables.  Weights that kernels read
        # in place from the model bytes are not counted here.
        # (The bands of a split node share their arrays: count each once.)
        self.persistent_bytes = int(sum({id(a): a.nbytes for a in keep}.values()))
        self._engine = engine

    def _bind_node(self, engine, table, k, op_index, node, scratch, keep, whole=False):
        """Engine.set_node for one Node: its packed params and resolved addresses
        (arrays kept alive in `keep`; a band's input/output byte offsets checked)."""
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
        if node.output < 0:  # control flow (cf_label, cf_branch): writes nothing
            engine.set_node(k, kidx, params.ctypes.data, addrs, 0, scratch, whole=whole)
            return
        out = self._views[node.output]
        if out.base is None or self._graph.tensors[node.output].data is not None:
            raise ModelError(f"op {op_index}: output tensor {node.output} is constant")
        if not 0 <= node.output_byte_offset < max(out.nbytes, 1):
            raise RuntimeError(f"op {op_index}: band offset outside its output")
        engine.set_node(k, kidx, params.ctypes.data, addrs,
                        out.ctypes.data + node.output_byte_offset, scratch, whole=whole)

    def _bind_wholes(self, engine, table, nodes, groups, plan, base, keep):
        """For each group of row bands, bind its unsplit node as the group's whole
        node (Engine.set_node(whole=True)): run in place of the bands when the pool
        runs the group on the calling thread alone (a backoff under CPU contention),
        one kernel call instead of one per band, same results.  It uses the first
        band's scratch, so only when it fits there (a fast convolution's im2col block
        is made smaller to fit: ops/conv.py cap_conv_scratch; the block size does not
        change the results)."""
        k = 0
        for size, src in zip(groups, self._group_sources):
            if src is not None and size > 1:
                first = nodes[k][1]
                whole = conv_ops.cap_conv_scratch(src, first.scratch_bytes)
                if whole.scratch_bytes <= first.scratch_bytes:
                    scratch = (base + plan.scratch_offset(k)
                               if whole.scratch_bytes > 0 else 0)
                    self._bind_node(engine, table, k, nodes[k][0], whole, scratch, keep,
                                    whole=True)
            k += size

    # ------------------------------------------------------------------- invoke
    def invoke(self):
        """Run the model.  Integer-only C kernels, GIL released, no allocation.

        Raises:
            RuntimeError: allocate_tensors() has not been called."""
        engine = self._engine
        if engine is None:
            raise RuntimeError("Invoke called on model that is not ready.")
        if self._cf is None:
            engine.run()
            return
        try:
            engine.run()
        except KernelError as e:
            if "status 3" in str(e):  # MDL_ERR_LOOP_LIMIT (mdl_control.h)
                raise RuntimeError(
                    f"invoke stopped: the model's WHILE loops ran more than "
                    f"max_loop_iterations iterations in one invoke (a loop that does "
                    f"not end?); raise max_loop_iterations= if that is intended") from None
            if "status 4" in str(e):  # MDL_ERR_UNSET_VARIABLE
                raise RuntimeError("invoke stopped: READ_VARIABLE of a resource "
                                   "variable that no ASSIGN_VARIABLE has set yet") from None
            raise

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
        kernel (the C kernel names of its bound nodes, "+"-joined), seconds (median)
        and macs.  With memory="small", ops fused into a chain are one row: index of
        the first, op_name "CONV_2D+DEPTHWISE_CONV_2D+...", macs summed.  Uses the
        current input tensors.

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
            if all(n.kernel.startswith("cf_") for _, n in self._nodes[lo:hi]):
                continue  # control flow: a jump run alone would jump out of its range
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                self._engine.run_range(lo, hi)
                times.append(time.perf_counter() - t0)
            fused = next((c for c in self._fused_ops if c[0] == op_index), (op_index,))
            kernels = dict.fromkeys(n.kernel for _, n in self._nodes[lo:hi])
            rows.append(dict(index=op_index,
                             op_name="+".join(g.ops[i].name for i in fused),
                             kernel="+".join(kernels),
                             seconds=float(np.median(times)),
                             macs=int(sum(op_macs(g.ops[i], g) for i in fused))))
        return rows

    # ------------------------------------------------------------------ tensors
    def _check_index(self, index):
        if not _is_index(index):
            raise TypeError(f"tensor_index must be an int, not {type(index).__name__}")
        n = len(self._user_graph.tensors)
        if not 0 <= index < n:
            raise ValueError(f"Invalid tensor index {index} exceeds max tensor index "
                             f"{n - 1}")
        return int(index)

    def _check_subgraph(self, subgraph_index):
        """Subgraph 0 is the one microdl runs; LiteRT's ValueError outside the model's
        subgraphs, and a ValueError (never an answer from subgraph 0) for the others."""
        if not _is_index(subgraph_index):
            raise TypeError(f"subgraph_index must be an int, not "
                            f"{type(subgraph_index).__name__}")
        n = self._graph.num_subgraphs
        if not 0 <= subgraph_index < n:
            raise ValueError(f"Invalid subgraph index {subgraph_index} exceeds max "
                             f"subgraph index {n}")
        if subgraph_index != 0:
            raise ValueError(f"subgraph {subgraph_index}: microdl runs and holds the "
                             f"tensors of subgraph 0 only (the model has {n} subgraphs)")
        return 0

    def _safe_to_run(self):
        """True when no view from tensor() into the arena is alive.  Every such view
        is made by np.frombuffer from self._user_buffer (a ctypes array over the
        arena, referenced by nothing else), so every view and every slice of one holds
        a memoryview that references it: its reference count is 2 (this attribute,
        getrefcount's argument) exactly when none is held."""
        return self._user_buffer is None or sys.getrefcount(self._user_buffer) == 2

    def _ensure_safe(self):
        """Raises RuntimeError (LiteRT's message) if a view from tensor() is held; called
        before anything that replaces the arena."""
        if not self._safe_to_run():
            raise RuntimeError(_VIEWS_HELD)

    def set_tensor(self, tensor_index, value):
        """Copy `value` into the tensor (strict dtype and shape, as LiteRT).

        Args:
            tensor_index: int, the 'index' of a details dict.
            value: array-like of the tensor's dtype and shape.
        Raises:
            TypeError: the index is not an int.
            ValueError: bad index, unallocated tensor, wrong dtype or shape, or a
                constant tensor (LiteRT's messages)."""
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
        """A copy of the tensor's current value (numpy array of its shape and dtype).

        Raises:
            TypeError: an index is not an int.
            ValueError: bad tensor or subgraph index (a subgraph other than 0 is never
                answered from subgraph 0), or allocate_tensors() not called yet."""
        self._check_subgraph(subgraph_index)
        index = self._check_index(tensor_index)
        view = self._views.get(index)
        if view is None:
            raise ValueError("Tensor data is null. Run allocate_tensors() first")
        return np.array(view, copy=True)

    def tensor(self, tensor_index):
        """A function returning a numpy view of the tensor's memory (no copy; writes go
        to the arena).  As in LiteRT the index is checked when the function is called.

        A view keeps the arena alive (also after the Interpreter is gone);
        allocate_tensors() refuses to run while one is held (RuntimeError), so a view
        never points at memory the interpreter no longer uses.  Hold the function, not
        the array.  Constant tensors give their read-only data.

        Raises (when called):
            TypeError / ValueError: bad index, or allocate_tensors() not called yet."""

        def view():
            index = self._check_index(tensor_index)
            t = self._graph.tensors[index]
            if t.data is not None:
                return t.data
            off = self._offsets.get(index)
            if off is None or self._user_buffer is None or index not in self._views:
                raise ValueError("Tensor data is null. Run allocate_tensors() first")
            return np.frombuffer(self._user_buffer, np.uint8, t.nbytes,
                                 off).view(t.dtype).reshape(t.shape)

        return view

    def reset_all_variables(self):
        """Set every variable tensor (is_variable in the file: state that persists
        between invokes) to its reset value, as LiteRT does: the zero point for int8,
        zero bytes otherwise.

        Raises:
            RuntimeError: before the first allocate_tensors() of a model with variable
                tensors (LiteRT's message: they have no memory yet); a model without
                any returns, as in LiteRT."""
        for t in self._graph.tensors:
            if not t.is_variable or t.data is not None:
                continue
            if self._arena is None:
                raise RuntimeError(_VARIABLES_UNALLOCATED)
            view = self._views.get(t.index)
            if view is None:
                continue
            fill = 0
            if t.dtype == np.int8 and t.quant is not None:
                fill = t.quant.zero_point
            view[...] = fill

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

    def _get_tensor_details(self, tensor_index, subgraph_index):
        """The details dict of one tensor (as get_input_details) of `subgraph_index`.

        Raises:
            ValueError: bad tensor index, or a subgraph other than 0."""
        self._check_subgraph(int(subgraph_index))
        return self._details(self._check_index(int(tensor_index)))

    def get_input_details(self):
        """List of dicts (name, index, shape, shape_signature, dtype, quantization,
        quantization_parameters, sparsity_parameters), one per model input."""
        return [self._details(i) for i in self._graph.inputs]

    def get_output_details(self):
        """As get_input_details, for the model outputs."""
        return [self._details(i) for i in self._graph.outputs]

    def get_tensor_details(self, subgraph_index=0):
        """As get_input_details, for every tensor of the subgraph.

        Raises:
            ValueError: subgraph_index outside the model (LiteRT's message), or a
                subgraph other than 0 (microdl holds subgraph 0 only)."""
        n = self._graph.num_subgraphs
        if subgraph_index < 0 or subgraph_index >= n:
            raise ValueError(f"subgraph_index is out of range: {subgraph_index} for the "
                             f"model, which has {n} subgraphs.")
        self._check_subgraph(subgraph_index)
        return [self._details(t.index) for t in self._user_graph.tensors]

    def num_subgraphs(self):
        """Number of subgraphs in the model file (microdl runs subgraph 0, and the
        subgraphs its IF / WHILE / CALL_ONCE ops call, inlined into it)."""
        return self._graph.num_subgraphs

    def _get_op_details(self, op_index):
        """LiteRT's op details: index, op_name, inputs, outputs (int32 tensor indices,
        -1 for an omitted input), operand_types and result_types (numpy types of the
        present inputs / outputs).

        Raises:
            ValueError: "Invalid node index"."""
        ops = self._user_graph.ops
        if not _is_index(op_index):
            raise TypeError(f"op_index must be an int, not {type(op_index).__name__}")
        if not 0 <= op_index < len(ops):
            raise ValueError("Invalid node index")
        op = ops[int(op_index)]
        ts = self._graph.tensors

        def types(indices):
            return [ts[i].dtype.type if ts[i].dtype is not None else None
                    for i in indices if i != -1]

        return {"index": int(op_index), "op_name": op.name,
                "inputs": np.array(op.inputs, np.int32),
                "outputs": np.array(op.outputs, np.int32),
                "operand_types": types(op.inputs), "result_types": types(op.outputs)}

    def _get_ops_details(self):
        """_get_op_details of every op, in execution order (as LiteRT's reference
        kernels see the model; get_ops_details adds versions and MACs)."""
        return [self._get_op_details(i) for i in range(len(self._user_graph.ops))]

    # --------------------------------------------------------------- signatures
    def _get_full_signature_list(self):
        """{signature key: {"inputs": {name: tensor index}, "outputs": {...}}}, keys in
        file order, names sorted (LiteRT's order)."""
        return {s.key: {"inputs": dict(sorted(s.inputs.items())),
                        "outputs": dict(sorted(s.outputs.items()))}
                for s in self._graph.signatures}

    def get_signature_list(self):
        """{signature key: {"inputs": [names], "outputs": [names]}} of the model's
        SignatureDefs (LiteRT's layout and order); {} for a model without any."""
        return {k: {"inputs": list(v["inputs"]), "outputs": list(v["outputs"])}
                for k, v in self._get_full_signature_list().items()}

    def get_signature_runner(self, signature_key=None):
        """A SignatureRunner for `signature_key`: call it with keyword inputs by
        signature name, it returns {output name: numpy array}.

        Args:
            signature_key: a key of get_signature_list(); None when the model has
                exactly one signature.
        Raises:
            ValueError: None with a number of signatures other than one, or an unknown
                key (LiteRT's messages), or a signature of another subgraph than 0."""
        if signature_key is None:
            if len(self._signature_defs) != 1:
                raise ValueError(
                    f"SignatureDef signature_key is None and model has "
                    f"{len(self._signature_defs)} Signatures. None is only allowed when "
                    f"the model has 1 SignatureDef")
            signature_key = next(iter(self._signature_defs))
        return SignatureRunner(interpreter=self, signature_key=signature_key)

    def get_ops_details(self):
        """Per op: index, op_name, version, inputs, outputs (tensor indices) and macs
        (multiply-accumulates of one invoke)."""
        g = self._user_graph
        return [dict(index=op.index, op_name=op.name, version=op.version,
                     inputs=np.array(op.inputs, np.int32),
                     outputs=np.array(op.outputs, np.int32), macs=op_macs(op, g))
                for op in g.ops]

    def summary(self) -> str:
        """A per-layer table: op, output shape, MACs, weight bytes, and the output's
        arena offset and size in bytes (after allocate_tensors()), then the totals and
        (after allocate_tensors()) the memory plan: the memory= mode, arena_bytes, the
        layer-by-layer bound (lower_bound_bytes) and the ops run in place, with the
        largest scratch of one of them (ring of output rows plus a convolution's own
        im2col block) in bytes."""
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
        if self._engine is not None:
            ring = max((n.scratch_bytes for _, n in self._nodes
                        if n.kernel in conv_ops.INPLACE_KERNELS.values()), default=0)
            inplace = ", ".join(map(str, self._inplace_ops)) or "none"
            fused = ", ".join("+".join(map(str, c)) for c in self._fused_ops) or "none"
            window = max((n.scratch_bytes for _, n in self._nodes
                          if n.kernel == "conv_chain_s8"), default=0)
            lines.append(f"memory={self._memory!r}: arena {self.arena_bytes:,} bytes, "
                         f"layer-by-layer bound {self.lower_bound_bytes:,} bytes; "
                         f"in place: ops {inplace} (largest scratch of one, ring "
                         f"of rows included: {ring:,} bytes); fused: ops "
                         f"{fused} (largest scratch of one, window of rows "
                         f"included: {window:,} bytes)")
        return "\n".join(lines)

    def arena_offsets(self):
        """{tensor index: byte offset in the arena} of every tensor the current plan
        places in the arena (after allocate_tensors(); aliases report their root's
        offset).  Tensors with no entry hold no arena bytes of their own: constants,
        tensors nothing uses, and with memory="small" the intermediate tensors of
        fused chains (summary()), which only ever exist as windows of rows in their
        chain's scratch.

        Raises:
            RuntimeError: allocate_tensors() has not been called."""
        if self._engine is None:
            raise RuntimeError("arena_offsets() needs allocate_tensors() first")
        return dict(self._offsets)

    @property
    def weight_bytes(self):
        """Bytes of the model's constant tensors that ops read (weights, biases and
        other constant operands, as stored in the file; constants microdl folds at
        prepare time are not counted, nor the packed copies in persistent_bytes)."""
        g = self._graph
        produced = {t for op in g.ops for t in op.outputs}
        read = {t for op in g.ops for t in op.inputs if t >= 0} - produced
        return int(sum(g.tensors[t].nbytes for t in read if g.tensors[t].data is not None))


class SignatureRunner:
    """Runs one SignatureDef of a model by its names (LiteRT's SignatureRunner; made
    by Interpreter.get_signature_runner).

    ``runner(**inputs)`` copies each input (keyword = the signature's input name,
    value = numpy array of the tensor's dtype and shape) into the model, invokes it and
    returns {output name: copy of the output array}.  Tensors are allocated on the
    first call if allocate_tensors() was not called.  No other call on the interpreter
    while a call runs.

    Args:
        interpreter: the Interpreter.
        signature_key: the signature's key.
    Raises:
        ValueError: no interpreter, no key, an unknown key (LiteRT's messages), or a
            signature of a subgraph other than 0 (microdl runs subgraph 0 only).
    """

    def __init__(self, interpreter=None, signature_key=None):
        if not interpreter:
            raise ValueError("None interpreter provided.")
        if not signature_key:
            raise ValueError("None signature_key provided.")
        self._interpreter = interpreter
        self._signature_key = signature_key
        defs = interpreter._get_full_signature_list()
        if signature_key not in defs:
            raise ValueError(f'Invalid signature_key provided: "{signature_key}".')
        sig = next(s for s in interpreter._graph.signatures if s.key == signature_key)
        if sig.subgraph_index != 0:
            raise ValueError(f"signature {signature_key!r} runs subgraph "
                             f"{sig.subgraph_index}; microdl runs subgraph 0 only")
        self._subgraph_index = 0
        self._inputs = defs[signature_key]["inputs"]
        self._outputs = defs[signature_key]["outputs"]

    def __call__(self, **kwargs):
        """Run the signature: keyword inputs by signature name; returns {output name:
        numpy array}.

        Raises:
            ValueError: a wrong number of inputs, an unknown input name (LiteRT's
                messages), or a value of the wrong dtype or shape (set_tensor's)."""
        it = self._interpreter
        if len(kwargs) != len(self._inputs):
            raise ValueError(
                f"Invalid number of inputs provided for running a SignatureDef, "
                f"expected {len(self._inputs)} vs provided {len(kwargs)}")
        values = {}
        for name, value in kwargs.items():
            if name not in self._inputs:
                raise ValueError(f"Invalid Input name ({name}) for SignatureDef")
            values[name] = np.asarray(value)
        # LiteRT resizes the inputs to the given shapes before every run.  With
        # resize_tensor_input available, do the same; without it, set_tensor refuses
        # a shape other than the model's (LiteRT's dimension-mismatch message).
        resize = getattr(it, "resize_tensor_input", None)
        resized = False
        if resize is not None:
            for name, value in values.items():
                index = self._inputs[name]
                if tuple(value.shape) != tuple(it._graph.tensors[index].shape):
                    resize(index, list(value.shape))
                    resized = True
        if it._engine is None or resized:
            it.allocate_tensors()
        for name, value in values.items():
            it.set_tensor(self._inputs[name], value)
        it.invoke()
        return {name: it.get_tensor(index) for name, index in self._outputs.items()}

    def get_input_details(self):
        """{input name: details dict (as Interpreter.get_input_details)}."""
        return {name: self._interpreter._get_tensor_details(index, self._subgraph_index)
                for name, index in self._inputs.items()}

    def get_output_details(self):
        """{output name: details dict}."""
        return {name: self._interpreter._get_tensor_details(index, self._subgraph_index)
                for name, index in self._outputs.items()}
