"""Control flow over subgraphs (TFLite IF, WHILE, CALL_ONCE) and resource variables
(VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE), lowered into one flat list of ops.

The C engine runs a flat node list; control flow becomes bytecode in it
(cext/include/mdl_control.h: a label node and a jump node, taken by the run loop):

- IF(cond, args) -> outs:
  ``[jump if cond false -> E] [then ops] [copy then outputs -> outs] [jump -> F]
  E: [else ops] [copy else outputs -> outs] F:``
- WHILE(args) -> outs (the outputs are the loop variables):
  ``[copy args -> outs] T: [cond ops] [jump if cond false -> F] [body ops]
  [copy body outputs -> outs] [jump -> T] F:``
- CALL_ONCE(init): ``[jump if done -> F] [init ops] [done = true] F:`` with `done` a
  bool kept in the arena for the Interpreter's life: the init subgraph runs on the
  first invoke only (LiteRT keeps one such flag per init subgraph, per interpreter).
- VAR_HANDLE names a resource by (container, shared_name); every such pair gets one
  storage tensor kept in the arena for the Interpreter's life (dtype and shape of
  its first ASSIGN_VARIABLE value or READ_VARIABLE output; all must agree);
  ASSIGN_VARIABLE copies into it, READ_VARIABLE out of it; a READ_VARIABLE before any
  ASSIGN_VARIABLE of its variable stops invoke with RuntimeError, as in LiteRT.

A called subgraph is inlined at every call site: its inputs are the caller's tensors,
its other tensors get new indices after subgraph 0's (subgraph 0's tensors keep
theirs).  Copies are the existing copy_strided kernel.  Loops need their tensors'
memory kept over the whole loop (microdl.runtime.planner, ``loops=``).

Refused: subgraph indices out of range and recursion (a subgraph that calls itself,
directly or not), mismatched input / output counts, a condition that is not a bool of
one element (ModelError); shapes or dtypes that differ between a loop's inputs and its
body's outputs or a branch's outputs and the IF's (dynamic shapes, Unsupported);
inlining that grows past MAX_FLAT_OPS ops or MAX_FLAT_TENSORS tensors (a model whose
subgraphs each call the next twice doubles at every level), nesting deeper than
MAX_DEPTH (Unsupported).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from microdl.core.errors import ModelError
from microdl.core.graph import Graph, Op, Tensor
from microdl.runtime.ops import Node, Unsupported
from microdl.runtime.ops.data import _copy_node

CONTROL_OPS = ("IF", "WHILE", "CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE",
               "ASSIGN_VARIABLE")
COPY, LABEL, BRANCH = "_CF_COPY", "_CF_LABEL", "_CF_BRANCH"
ALWAYS, IF_FALSE, IF_TRUE, TRAP_IF_FALSE = 0, 1, 2, 3  # mdl_control.h MDL_CF_*
# Nesting depth of calls and ops after inlining (a model calling subgraphs twice at
# every level would otherwise grow exponentially).
MAX_DEPTH = 64
MAX_FLAT_OPS = 100_000
MAX_FLAT_TENSORS = 400_000
# Default cap on the loop iterations (back edges taken) of one invoke.
MAX_LOOP_ITERATIONS = 10_000_000


def has_control_flow(graph: Graph) -> bool:
    """True when subgraph 0 uses any op of CONTROL_OPS."""
    return any(op.name in CONTROL_OPS for op in graph.ops)


@dataclasses.dataclass
class Lowered:
    """The flat graph and what the Interpreter must keep: `graph` (subgraph 0's
    tensors first, at their own indices, then the inlined ones; ops in run order,
    Op.index = position), `persistent` (tensor indices live for the Interpreter's
    whole life: resource storage and CALL_ONCE flags), `resources` ({(container,
    shared_name): storage tensor index}), `origin` ({flat op index: "subgraph k op
    j"})."""

    graph: Graph
    persistent: list
    resources: dict
    origin: dict


def _shape_str(t):
    return f"{np.dtype(t.dtype).name if t.dtype is not None else 'resource'}{list(t.shape)}"


class _Lowering:
    def __init__(self, graph, max_iterations):
        self.g = graph
        self.tensors = list(graph.tensors)
        self.ops = []
        self.origin = {}
        self.labels = 0
        self.max_iterations = int(max_iterations)
        self.resource_of = {}  # flat resource tensor -> (container, shared_name)
        self.storage = {}      # (container, shared_name) -> flat tensor index
        self.assigned = {}     # (container, shared_name) -> flat bool "set" flag
        self.done_flags = {}   # init subgraph index -> flat bool tensor index
        self.persistent = []
        self._true = None

    # ------------------------------------------------------------ building blocks
    def new_tensor(self, like: Tensor, name=None, **changes) -> int:
        index = len(self.tensors)
        if index >= MAX_FLAT_TENSORS:
            raise Unsupported(f"control flow inlines to more than {MAX_FLAT_TENSORS} "
                              f"tensors")
        self.tensors.append(dataclasses.replace(like, index=index,
                                                name=name or like.name, **changes))
        return index

    def emit(self, name, inputs, outputs, options=None, where="", src=None,
             intermediates=()):
        """Append one op: a pseudo-op `name` with `options`, or a copy of the model's
        op `src` on the flat tensors `inputs` / `outputs` / `intermediates`."""
        if len(self.ops) >= MAX_FLAT_OPS:
            raise Unsupported(f"control flow inlines to more than {MAX_FLAT_OPS} ops")
        index = len(self.ops)
        if src is not None:
            op = Op(index=index, name=src.name, version=src.version, inputs=inputs,
                    outputs=outputs, options=dict(src.options),
                    custom_code=src.custom_code, intermediates=list(intermediates))
        else:
            op = Op(index=index, name=name, version=1, inputs=inputs, outputs=outputs,
                    options=dict(options or {}))
        self.ops.append(op)
        if where:
            self.origin[index] = where
        return op

    def label(self):
        self.labels += 1
        return self.labels

    def place(self, label, where):
        self.emit(LABEL, [], [], {"label": label}, where)

    def jump(self, label, where, when=ALWAYS, cond=None):
        self.emit(BRANCH, [] if cond is None else [cond], [],
                  {"label": label, "when": when, "max_iterations": self.max_iterations},
                  where)

    def copy(self, src, dst, where):
        if src != dst:
            self.emit(COPY, [src], [dst], {}, where)

    def flag(self, name):
        """A bool[1] kept for the Interpreter's life, False until set."""
        index = len(self.tensors)
        self.tensors.append(Tensor(index=index, name=name, dtype=np.dtype(np.bool_),
                                   shape=(1,), shape_signature=(1,)))
        self.persistent.append(index)
        return index

    def true_tensor(self):
        if self._true is None:
            self._true = len(self.tensors)
            value = np.ones((1,), np.bool_)
            value.flags.writeable = False
            self.tensors.append(Tensor(index=self._true, name="call_once true",
                                       dtype=np.dtype(np.bool_), shape=(1,),
                                       shape_signature=(1,), data=value))
        return self._true

    # ------------------------------------------------------------------ inlining
    def subgraph(self, k, where, stack):
        n = self.g.num_subgraphs
        if not 0 <= k < n or k - 1 >= len(self.g.subgraphs):
            raise ModelError(f"{where}: subgraph index {k} out of range [0, {n})")
        if k in stack:
            chain = " -> ".join(map(str, stack + (k,)))
            raise ModelError(f"{where}: subgraph {k} calls itself (recursion "
                             f"{chain}); TFLite control flow cannot recurse")
        if len(stack) >= MAX_DEPTH:
            raise Unsupported(f"{where}: subgraphs nested deeper than {MAX_DEPTH}")
        return self.g.subgraphs[k - 1]

    def inline(self, k, args, where, stack, what):
        """Emit subgraph k's ops with its inputs bound to the flat tensors `args`;
        returns its tensor map (subgraph tensor index -> flat index)."""
        sub = self.subgraph(k, where, stack)
        if len(args) != len(sub.inputs):
            raise ModelError(f"{where}: {what} subgraph {k} takes {len(sub.inputs)} "
                             f"inputs, the op passes {len(args)}")
        tmap = {}
        for j, (i, a) in enumerate(zip(sub.inputs, args)):
            want, got = sub.tensors[i], self.tensors[a]
            if (want.dtype != got.dtype or tuple(want.shape) != tuple(got.shape)):
                raise Unsupported(f"{where}: input {j} of {what} subgraph {k} is "
                                  f"{_shape_str(want)}, the op passes {_shape_str(got)} "
                                  f"(dynamic shapes are not supported)")
            tmap[i] = a
        for t in sub.tensors:
            if t.index not in tmap:
                tmap[t.index] = self.new_tensor(t, name=f"sg{k}/{t.name}")
        self.ops_of(sub, tmap, stack + (k,), f"subgraph {k}")
        return sub, tmap

    def ops_of(self, graph, tmap, stack, prefix):
        for op in graph.ops:
            where = f"{prefix} op {op.index} ({op.name})"
            ins = [tmap[i] if i >= 0 else -1 for i in op.inputs]
            outs = [tmap[i] for i in op.outputs]
            handler = getattr(self, "op_" + op.name.lower(), None)
            if op.name in CONTROL_OPS:
                handler(op, ins, outs, where, stack)
            else:
                self.emit(None, ins, outs, where=where if prefix != "subgraph 0" else "",
                          src=op, intermediates=[tmap[i] for i in op.intermediates])

    def outputs_into(self, sub, tmap, outs, where, what):
        """Copy the subgraph's outputs into `outs` (same count, dtypes and shapes)."""
        if len(sub.outputs) != len(outs):
            raise ModelError(f"{where}: {what} subgraph has {len(sub.outputs)} outputs, "
                             f"the op has {len(outs)}")
        srcs = [tmap[i] for i in sub.outputs]
        for j, (s, d) in enumerate(zip(srcs, outs)):
            self.check_same(s, d, where, f"output {j} of the {what} subgraph")
        return srcs

    def check_same(self, s, d, where, what):
        a, b = self.tensors[s], self.tensors[d]
        if a.dtype is None or b.dtype is None:
            if self.resource_of.get(s) is None or a.dtype != b.dtype:
                raise Unsupported(f"{where}: {what}: a resource handle microdl cannot "
                                  f"follow")
            return
        if a.dtype != b.dtype or tuple(a.shape) != tuple(b.shape):
            raise Unsupported(f"{where}: {what} is {_shape_str(a)}, the op's is "
                              f"{_shape_str(b)} (dynamic shapes are not supported)")

    def cond_tensor(self, t, where, what):
        x = self.tensors[t]
        if x.dtype != np.dtype(np.bool_) or x.size != 1:
            raise ModelError(f"{where}: {what} must be a bool of one element, got "
                             f"{_shape_str(x)}")

    def assign(self, srcs, outs, where):
        """outs[j] = srcs[j] for all j at once (a source may be another output)."""
        pending = [(s, d) for s, d in zip(srcs, outs) if s != d]
        live = set(outs)
        staged = []
        for s, d in pending:
            if self.tensors[d].dtype is None:  # a resource: same handle, no data
                self.resource_of[d] = self.resource_of.get(s)
                continue
            if s in live:
                tmp = self.new_tensor(self.tensors[s], name=f"{self.tensors[s].name}/tmp",
                                      is_variable=False, data=None)
                self.copy(s, tmp, where)
                staged.append((tmp, d))
            else:
                staged.append((s, d))
        for s, d in staged:
            self.copy(s, d, where)

    # ----------------------------------------------------------------- the ops
    def op_if(self, op, ins, outs, where, stack):
        if not ins:
            raise ModelError(f"{where}: IF needs a condition input")
        cond = ins[0]
        self.cond_tensor(cond, where, "the condition (input 0)")
        then_k = int(op.options.get("then_subgraph_index", 0))
        else_k = int(op.options.get("else_subgraph_index", 0))
        other, end = self.label(), self.label()
        self.jump(other, where, IF_FALSE, cond)
        for k, what, last in ((then_k, "then", False), (else_k, "else", True)):
            sub, tmap = self.inline(k, ins[1:], where, stack, what)
            srcs = self.outputs_into(sub, tmap, outs, where, what)
            self.assign(srcs, outs, where)
            if not last:
                self.jump(end, where)
                self.place(other, where)
        self.place(end, where)

    def op_while(self, op, ins, outs, where, stack):
        if len(ins) != len(outs) or -1 in ins:
            raise ModelError(f"{where}: WHILE has {len(ins)} inputs and {len(outs)} "
                             f"outputs; they must pair up")
        cond_k = int(op.options.get("cond_subgraph_index", 0))
        body_k = int(op.options.get("body_subgraph_index", 0))
        for j, (a, b) in enumerate(zip(ins, outs)):
            self.check_same(a, b, where, f"input {j}")
        self.assign(ins, outs, where)
        top, end = self.label(), self.label()
        self.place(top, where)
        sub, tmap = self.inline(cond_k, outs, where, stack, "cond")
        if len(sub.outputs) != 1:
            raise ModelError(f"{where}: the cond subgraph {cond_k} has "
                             f"{len(sub.outputs)} outputs, WHILE needs 1")
        cond = tmap[sub.outputs[0]]
        self.cond_tensor(cond, where, f"the output of cond subgraph {cond_k}")
        self.jump(end, where, IF_FALSE, cond)
        sub, tmap = self.inline(body_k, outs, where, stack, "body")
        srcs = self.outputs_into(sub, tmap, outs, where, "body")
        self.assign(srcs, outs, where)
        self.jump(top, where)
        self.place(end, where)

    def op_call_once(self, op, ins, outs, where, stack):
        k = int(op.options.get("init_subgraph_index", 0))
        sub = self.subgraph(k, where, stack)
        if ins or outs or sub.inputs or sub.outputs:
            raise ModelError(f"{where}: CALL_ONCE and its init subgraph {k} take no "
                             f"inputs and give no outputs")
        flag = self.done_flags.get(k)
        if flag is None:
            flag = self.done_flags[k] = self.flag(f"call_once {k} done")
        end = self.label()
        self.jump(end, where, IF_TRUE, flag)
        self.inline(k, [], where, stack, "init")
        self.copy(self.true_tensor(), flag, where)
        self.place(end, where)

    def op_var_handle(self, op, ins, outs, where, stack):
        if len(outs) != 1:
            raise ModelError(f"{where}: VAR_HANDLE has one output")
        key = (str(op.options.get("container", "")), str(op.options.get("shared_name", "")))
        self.resource_of[outs[0]] = key

    def _resource(self, t, where):
        key = self.resource_of.get(t)
        if key is None:
            raise Unsupported(f"{where}: its resource handle does not come from a "
                              f"VAR_HANDLE microdl can follow")
        return key

    def _storage(self, key, like, where):
        s = self.storage.get(key)
        t = self.tensors[like]
        if t.dtype is None:
            raise ModelError(f"{where}: a resource variable's value cannot be a resource")
        if s is None:
            s = self.new_tensor(t, name=f"resource {key[0]}/{key[1]}", data=None,
                                is_variable=False)
            self.storage[key] = s
            self.persistent.append(s)
            self.assigned[key] = self.flag(f"resource {key[0]}/{key[1]} set")
        self.check_same(like, s, where, f"the value of resource {key[1]!r}")
        return s

    def op_assign_variable(self, op, ins, outs, where, stack):
        if len(ins) != 2 or outs:
            raise ModelError(f"{where}: ASSIGN_VARIABLE takes (resource, value)")
        key = self._resource(ins[0], where)
        self.copy(ins[1], self._storage(key, ins[1], where), where)
        self.copy(self.true_tensor(), self.assigned[key], where)

    def op_read_variable(self, op, ins, outs, where, stack):
        if len(ins) != 1 or len(outs) != 1:
            raise ModelError(f"{where}: READ_VARIABLE takes a resource, gives a value")
        key = self._resource(ins[0], where)
        storage = self._storage(key, outs[0], where)
        self.jump(0, where, TRAP_IF_FALSE, self.assigned[key])  # never jumps
        self.copy(storage, outs[0], where)


def lower(graph: Graph, max_iterations: int = MAX_LOOP_ITERATIONS) -> Lowered:
    """Lower subgraph 0 of `graph` and every subgraph it calls into one flat Graph
    (see the module docstring).

    Args:
        graph: the model as read (microdl.tflite.reader), with Graph.subgraphs.
        max_iterations: loop iterations (back edges of all WHILE loops) one invoke may
            take; more stop the invoke with an error (LiteRT has no such cap; a
            hostile model could loop forever).
    Raises:
        ModelError, Unsupported: see the module docstring."""
    low = _Lowering(graph, max_iterations)
    low.ops_of(graph, {t.index: t.index for t in graph.tensors}, (0,), "subgraph 0")
    flat = Graph(tensors=low.tensors, ops=low.ops, inputs=list(graph.inputs),
                 outputs=list(graph.outputs), description=graph.description,
                 signatures=graph.signatures, num_subgraphs=graph.num_subgraphs,
                 subgraphs=graph.subgraphs)
    return Lowered(flat, low.persistent, dict(low.storage), low.origin)


# ------------------------------------------------------------------- prepare
def _prepare_copy(op, graph, ctx):
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if src.dtype != dst.dtype or src.nbytes != dst.nbytes:
        raise ModelError(f"op {op.index}: copy of {_shape_str(src)} into {_shape_str(dst)}")
    if src.size == 0:
        return []
    return _copy_node(op, src, dst, (src.size,), (1,), 0, (1,), 0)


def _prepare_label(op, graph, ctx):
    return [Node("cf_label", {"label": int(op.options["label"])}, [], -1)]


def _prepare_branch(op, graph, ctx):
    params = {"target": int(op.options["label"]) if op.options["when"] != TRAP_IF_FALSE
              else -1, "when": int(op.options["when"]),
              "max_iterations": int(op.options["max_iterations"])}
    return [Node("cf_branch", params, list(op.inputs), -1)]


PREPARE = {COPY: _prepare_copy, LABEL: _prepare_label, BRANCH: _prepare_branch}


def resolve_targets(nodes):
    """nodes: [(op index, Node)] in run order.  Returns the list with every cf_branch
    node's `target` (a label id) replaced by the position of its cf_label node, and
    the loops as [(first position, last position)] (a label and the jump back to it).

    Raises:
        ModelError: a jump to a label that is not in the list."""
    where = {n.params["label"]: k for k, (_, n) in enumerate(nodes) if n.kernel == "cf_label"}
    out = []
    for k, (i, n) in enumerate(nodes):
        if n.kernel == "cf_branch" and n.params["when"] != TRAP_IF_FALSE:
            label = n.params["target"]
            if label not in where:
                raise ModelError(f"op {i}: jump to a label that is not bound")
            n = dataclasses.replace(n, params=dict(n.params, target=where[label]))
        out.append((i, n))
    return out
