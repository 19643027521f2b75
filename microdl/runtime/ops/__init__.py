"""Per-operator prepare functions: TFLite op -> validated C nodes.

Each builtin op microdl runs has one prepare function registered with
``@register("OP_NAME")``.  It is called once, at load time, as ``fn(op, graph, ctx)`` (ctx: PrepareContext) and
does all validation and float math (TFLite Micro's Prepare): it returns a list of
steps, each one of

- ``Node``: one call of a C kernel from the kernel table (cext/src/registry.c);
- ``Alias``: the output tensor shares the input tensor's arena memory (RESHAPE,
  SQUEEZE): no work at invoke;
- ``Constant``: the output's value, computed now because it does not depend on the
  model's inputs (SHAPE of a static tensor, arithmetic on constants).

or raises ``Unsupported(reason)`` when microdl cannot run this op / version / dtype
combination (collected for all ops into one UnsupportedOpError), or ModelError when the
model is inconsistent.  Eval is then integer-only C with no validation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np

PREPARERS: dict = {}


class Unsupported(Exception):
    """Raised by a prepare function: microdl cannot run this op as configured."""


@dataclass
class Node:
    """One C kernel call.

    kernel: name in the C kernel table (e.g. "fully_connected_s8").
    params: {field name: int or sequence of ints} for every field of the kernel's
        parameter struct (array fields take a sequence of exactly their length).
    inputs: data pointers in the order the kernel's node entry documents; each is a
        tensor index (int, arena or constant tensor), a numpy array computed at prepare
        time (multipliers, shifts, lookup tables; kept alive by the interpreter), or
        None for NULL.
    output: tensor index written by the kernel.
    scratch_bytes: arena scratch the kernel needs during this node only.
    input_byte_offset, output_byte_offset: bytes added to the address of inputs[0]
        and of the output (a row slice of a convolution, microdl.runtime.parallel).
    """

    kernel: str
    params: dict
    inputs: list
    output: int
    scratch_bytes: int = 0
    input_byte_offset: int = 0
    output_byte_offset: int = 0


@dataclass
class Alias:
    """Tensor `output` occupies the same bytes as tensor `input` (same byte size)."""

    input: int
    output: int


@dataclass
class Constant:
    """Tensor `output` is the constant `value`, known at prepare time."""

    output: int
    value: np.ndarray


Step = Union[Node, Alias, Constant]


@dataclass
class PrepareContext:
    """What a prepare function may need beyond the op and the graph.

    rounding: which runtime's integer arithmetic to reproduce.
        microdl.core.fixedpoint.ROUNDING_SINGLE: the LiteRT pip wheels (measured on
        LiteRT 2.3: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, ADD/SUB/MUL, MEAN,
        activations and QUANTIZE requantize with gemmlowp's double rounding;
        FULLY_CONNECTED in double precision, see fc_float64); ROUNDING_DOUBLE: TFLite
        Micro (double rounding everywhere).  Each prepare function maps this to the
        rounding its kernel's `rounding` field needs.
    fc_float64: FULLY_CONNECTED requantizes as LiteRT's reference kernel has since
        LiteRT 1.3: round((double)acc * input_scale * filter_scale / output_scale),
        no Q31 multiplier (tests/test_oracle_arith.py pins it against the wheel).
        False: a Q31 multiplier with `rounding` (TFLite Micro; TFLite before that
        change).  None (default): True exactly when `rounding` is ROUNDING_SINGLE.
    reference_kernels: bind the plain reference kernels where an op has fast ones too
        (same results; the Interpreter sets it for OpResolverType.BUILTIN_REF).  The
        environment variable MICRODL_REFERENCE_KERNELS=1 forces it on
        (microdl.runtime.ops.conv.use_reference_kernels).
    carried_shapes: {op index: shape} set by microdl.runtime.shapeinfer when an input
        was resized to a new batch and a RESHAPE / TRANSPOSE_CONV has a constant shape
        operand whose first entry is the model's batch: the value the prepare function
        uses instead of that operand (the same shape with the new batch first).  Empty
        for a model at the shapes of its file.
    """

    rounding: int
    fc_float64: Optional[bool] = None
    reference_kernels: bool = False
    carried_shapes: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.fc_float64 is None:
            self.fc_float64 = self.rounding == 1  # fixedpoint.ROUNDING_SINGLE


FORMS = ("int", "float32", "hybrid")


def op_form(op, graph) -> str:
    """Which family of kernels an op needs, from its tensors' dtypes:

    - "float32": every non-constant input and every output is float32, and no constant
      input is an integer tensor of weights (float models);
    - "hybrid": a float32 activation input with int8 constant weights (dynamic-range
      models, what tf.lite.Optimize.DEFAULT writes without a representative dataset);
    - "int": everything else (quantized int8/int16 ops, and the ops that convert
      between float and integer such as QUANTIZE / DEQUANTIZE).
    """
    ts = graph.tensors
    ins = [ts[i] for i in op.inputs if i >= 0]
    outs = [ts[i] for i in op.outputs if i >= 0]
    acts = [t for t in ins if t.data is None]
    consts = [t for t in ins if t.data is not None]
    f32 = np.dtype(np.float32)
    if not acts or any(t.dtype != f32 for t in acts) or any(t.dtype != f32 for t in outs):
        return "int"
    if any(t.dtype in (np.dtype(np.int8), np.dtype(np.uint8)) for t in consts):
        return "hybrid"
    return "float32"


def register(*names: str, form: str = "int") -> Callable:
    """Decorator: register a prepare function for builtin op names.

    form: "int" (the default preparer of the op: quantized kernels and any dtype it
    chooses to handle) or "float32" / "hybrid" (see op_form): used for ops of that
    form, in preference to the default one."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")

    def deco(fn):
        for name in names:
            key = name if form == "int" else (name, form)
            if key in PREPARERS:
                raise RuntimeError(f"{key} registered twice")
            PREPARERS[key] = fn
        return fn

    return deco


def preparer_for(op, graph) -> Optional[Callable]:
    """The prepare function for this op: the one registered for its form, else the
    op's default one; None if microdl has neither."""
    form = op_form(op, graph)
    fn = PREPARERS.get((op.name, form)) if form != "int" else None
    return fn or PREPARERS.get(op.name)


def load_all():
    """Import every op module so their @register calls run."""
    from microdl.runtime.ops import _modules  # noqa: F401
