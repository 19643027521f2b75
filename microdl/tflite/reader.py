"""Read a TFLite flatbuffer into a microdl Graph, validating every field.

The flatbuffer is parsed with the `flatbuffers` runtime and the generated schema code
of the `tflite` package.  Python's flatbuffers has no verifier, so every vector length,
index, buffer range, shape and quantization field is checked here before use: a
truncated, corrupted or hostile file raises ModelError naming what is wrong and never
makes us loop or allocate in proportion to a forged length.
"""
from __future__ import annotations

import struct

import numpy as np
import tflite

from microdl.core.errors import ModelError
from microdl.core.graph import Graph, Op, Quantization, Signature, Tensor
from microdl.tflite import schema

MAX_TENSOR_BYTES = 1 << 31  # one tensor may not exceed 2 GiB
MAX_RANK = 8

# What a flatbuffer accessor raises on out-of-range offsets and bad data.
_READ_ERRORS = (IndexError, struct.error, ValueError, TypeError, OverflowError,
                UnicodeDecodeError, AttributeError, KeyError, RecursionError)


def _as_bytes(model_content) -> bytes:
    if isinstance(model_content, bytes):
        return model_content
    if isinstance(model_content, (bytearray, memoryview)):
        return bytes(model_content)
    raise TypeError(
        f"model_content must be bytes, bytearray or memoryview, not "
        f"{type(model_content).__name__}"
    )


class _Reader:
    def __init__(self, buf: bytes):
        self.buf = buf
        self.n = len(buf)

    def length(self, value: int, what: str, elem_bytes: int = 1) -> int:
        """A vector length that fits in the file (so loops over it are bounded)."""
        if value < 0 or value * elem_bytes > self.n:
            raise ModelError(f"{what}: vector length {value} exceeds the file size "
                             f"({self.n} bytes); the file is corrupted")
        return value

    def ints(self, table, field: str, what: str) -> list:
        if getattr(table, field + "IsNone")():
            return []
        self.length(getattr(table, field + "Length")(), what, 4)
        return [int(v) for v in getattr(table, field + "AsNumpy")()]

    def string(self, value, what: str) -> str:
        if value is None:
            return ""
        return value.decode("utf-8", errors="replace")


def read_model(model_content) -> Graph:
    """Parse a .tflite flatbuffer into a Graph (subgraph 0, with the model's number
    of subgraphs, its signature defs, and subgraphs 1, 2, ... as Graphs in
    `Graph.subgraphs`, each validated as subgraph 0 is).

    Args:
        model_content: the file's bytes.
    Returns:
        Graph whose constant tensors are read-only numpy views of `model_content`
        (copied only where a buffer is misaligned for its dtype).
    Raises:
        ModelError: the file is not a valid TFLite model; the message names the tensor,
            buffer or operator at fault.
        TypeError: model_content is not bytes-like.
    """
    buf = _as_bytes(model_content)
    if len(buf) < 8:
        raise ModelError(f"not a TFLite model: {len(buf)} bytes is too short")
    if buf[4:8] != b"TFL3":
        raise ModelError(
            f"not a TFLite model: file identifier {buf[4:8]!r}, expected b'TFL3'"
        )
    r = _Reader(buf)
    try:
        model = tflite.Model.GetRootAs(buf, 0)
        n_subgraphs = r.length(model.SubgraphsLength(), "model.subgraphs", 4)
        if n_subgraphs < 1:
            raise ModelError("the model has no subgraph")
        n_buffers = r.length(model.BuffersLength(), "model.buffers", 4)
        n_codes = r.length(model.OperatorCodesLength(), "model.operator_codes", 4)
        codes = [_read_opcode(model, i) for i in range(n_codes)]
        tensors, ops, inputs, outputs = _read_subgraph(r, model, 0, codes, n_buffers)
        others = [_read_subgraph(r, model, k, codes, n_buffers)
                  for k in range(1, n_subgraphs)]
        description = r.string(model.Description(), "description")
        signatures = _read_signatures(r, model, n_subgraphs)
    except ModelError:
        raise
    except _READ_ERRORS as e:
        raise ModelError(f"corrupted or truncated TFLite file ({len(buf)} bytes): "
                         f"{type(e).__name__}: {e}") from None
    _check_data_flow(tensors, ops, inputs)
    subgraphs = []
    for k, (ts, os_, ins, outs) in enumerate(others, start=1):
        try:
            _check_data_flow(ts, os_, ins)
        except ModelError as e:
            raise ModelError(f"subgraph {k}: {e}") from None
        subgraphs.append(Graph(tensors=ts, ops=os_, inputs=ins, outputs=outs))
    return Graph(tensors=tensors, ops=ops, inputs=inputs, outputs=outputs,
                 description=description, signatures=signatures,
                 num_subgraphs=n_subgraphs, subgraphs=subgraphs)


def _read_subgraph(r, model, k, codes, n_buffers):
    """(tensors, ops, inputs, outputs) of subgraph k, validated as subgraph 0 is (a
    subgraph other than 0 names itself in the error message)."""
    sg = model.Subgraphs(k)
    try:
        n_tensors = r.length(sg.TensorsLength(), f"subgraph {k} tensors", 4)
        tensors = [_read_tensor(r, model, sg, i, n_buffers) for i in range(n_tensors)]
        n_ops = r.length(sg.OperatorsLength(), f"subgraph {k} operators", 4)
        ops = [_read_op(r, sg, i, codes, n_tensors) for i in range(n_ops)]
        inputs = _check_indices(r.ints(sg, "Inputs", "subgraph inputs"), n_tensors,
                                "subgraph inputs")
        outputs = _check_indices(r.ints(sg, "Outputs", "subgraph outputs"), n_tensors,
                                 "subgraph outputs")
    except ModelError as e:
        if k == 0:
            raise
        raise ModelError(f"subgraph {k}: {e}") from None
    return tensors, ops, inputs, outputs


def _read_signatures(r, model, n_subgraphs):
    """The model's SignatureDefs as Signature objects, in file order.  Every
    subgraph_index must name a subgraph and every tensor_index a tensor of it."""
    if model.SignatureDefsIsNone():
        return []
    n = r.length(model.SignatureDefsLength(), "model.signature_defs", 4)
    sigs = []
    for k in range(n):
        sd = model.SignatureDefs(k)
        key = r.string(sd.SignatureKey(), "signature key")
        what = f"signature_def {k} ({key!r})"
        sub = int(sd.SubgraphIndex())
        if not 0 <= sub < n_subgraphs:
            raise ModelError(f"{what}: subgraph_index {sub} out of range "
                             f"[0, {n_subgraphs})")
        n_tensors = r.length(model.Subgraphs(sub).TensorsLength(),
                             f"subgraph {sub} tensors", 4)
        maps = []
        for side in ("Inputs", "Outputs"):
            entries = {}
            if not getattr(sd, side + "IsNone")():
                count = r.length(getattr(sd, side + "Length")(),
                                 f"{what} {side.lower()}", 4)
                for j in range(count):
                    tm = getattr(sd, side)(j)
                    name = r.string(tm.Name(), "signature tensor name")
                    t = int(tm.TensorIndex())
                    if not 0 <= t < n_tensors:
                        raise ModelError(f"{what} {side.lower()[:-1]} {name!r}: tensor "
                                         f"index {t} out of range [0, {n_tensors}) of "
                                         f"subgraph {sub}")
                    entries[name] = t
            maps.append(entries)
        sigs.append(Signature(key=key, inputs=maps[0], outputs=maps[1],
                              subgraph_index=sub))
    return sigs


def _check_data_flow(tensors, ops, inputs):
    """Every tensor an operator reads is a model input, a constant, a variable or an
    earlier operator's output (LiteRT: "Input tensor N lacks data"); found by
    tools/fuzz.py, where such an op ran on whatever the arena held."""
    written = set(inputs) | {t.index for t in tensors
                             if t.data is not None or t.is_variable}
    for op in ops:
        for t in op.inputs:
            if t >= 0 and t not in written:
                raise ModelError(f"operator {op.index} ({op.name}) reads tensor {t} "
                                 f"({tensors[t].name!r}), which nothing writes: not a "
                                 f"model input, a constant, a variable or an earlier "
                                 f"operator's output")
        written.update(op.outputs)


def _check_indices(indices, n_tensors, what, allow_optional=False):
    lo = -1 if allow_optional else 0
    for t in indices:
        if not lo <= t < n_tensors:
            raise ModelError(f"{what}: tensor index {t} out of range [0, {n_tensors})")
    return indices


def _read_opcode(model, i):
    oc = model.OperatorCodes(i)
    code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
    name = schema.BUILTIN_NAMES.get(code)
    if name is None:
        name = f"UNKNOWN_BUILTIN_{code}"
    custom = oc.CustomCode()
    custom = custom.decode("utf-8", errors="replace") if custom is not None else None
    return name, int(oc.Version()), custom


def _read_quant(r, t, index, name, shape):
    q = t.Quantization()
    if q is None:
        return None
    scales = np.array([], np.float32)
    if not q.ScaleIsNone():
        r.length(q.ScaleLength(), f"tensor {index} ({name!r}) scales", 4)
        scales = np.array(q.ScaleAsNumpy(), np.float32)
    zps = np.array([], np.int64)
    if not q.ZeroPointIsNone():
        r.length(q.ZeroPointLength(), f"tensor {index} ({name!r}) zero points", 8)
        zps = np.array(q.ZeroPointAsNumpy(), np.int64)
    if scales.size == 0 and zps.size == 0:
        return None  # min/max only, or empty: not quantized
    if scales.size != zps.size:
        raise ModelError(f"tensor {index} ({name!r}): {scales.size} scales but "
                         f"{zps.size} zero points")
    if not np.all(np.isfinite(scales)):
        raise ModelError(f"tensor {index} ({name!r}): non-finite quantization scale")
    qdim = int(q.QuantizedDimension())
    if scales.size == 1:
        # Per-tensor: the dimension is meaningless. Some converters (e.g. the one that
        # wrote TFLM's person_detect.tflite) store an out-of-range value; accept it.
        qdim = 0
    else:
        if len(shape) == 1 and not 0 <= qdim < 1:
            # A per-channel bias (rank 1) with the filter's dimension stored, as in
            # person_detect.tflite; TFLite Micro reads it along its only dimension.
            qdim = 0
        if not 0 <= qdim < len(shape):
            raise ModelError(f"tensor {index} ({name!r}): quantized_dimension {qdim} "
                             f"out of range for rank {len(shape)}")
        if shape[qdim] != scales.size:
            raise ModelError(f"tensor {index} ({name!r}): {scales.size} per-channel "
                             f"scales for dimension {qdim} of size {shape[qdim]}")
    return Quantization(scales=scales, zero_points=zps, quantized_dimension=qdim)


def _read_tensor(r, model, sg, index, n_buffers):
    t = sg.Tensors(index)
    name = r.string(t.Name(), "tensor name")
    shape = tuple(r.ints(t, "Shape", f"tensor {index} ({name!r}) shape"))
    if len(shape) > MAX_RANK:
        raise ModelError(f"tensor {index} ({name!r}): rank {len(shape)} > {MAX_RANK}")
    if any(d < 0 for d in shape):
        raise ModelError(f"tensor {index} ({name!r}): negative dimension in {shape}")
    sig = tuple(r.ints(t, "ShapeSignature", f"tensor {index} shape_signature")) or shape
    type_code = int(t.Type())
    dtype = schema.DTYPES.get(type_code)
    count = int(np.prod(shape, dtype=np.float64)) if shape else 1
    itemsize = dtype.itemsize if dtype is not None else 1
    if count * itemsize > MAX_TENSOR_BYTES:
        raise ModelError(f"tensor {index} ({name!r}): shape {shape} needs "
                         f"{count * itemsize:.0f} bytes, more than the "
                         f"{MAX_TENSOR_BYTES} bytes microdl accepts")
    quant = _read_quant(r, t, index, name, shape)
    b = int(t.Buffer())
    if not 0 <= b < n_buffers:
        raise ModelError(f"tensor {index} ({name!r}): buffer index {b} out of range "
                         f"[0, {n_buffers})")
    data = _read_buffer(r, model, b, index, name)
    if data is not None:
        if dtype is None:
            raise ModelError(f"tensor {index} ({name!r}): constant of unsupported type "
                             f"{schema.TENSOR_TYPE_NAMES.get(type_code, type_code)}")
        expected = count * itemsize
        if data.size != expected:
            raise ModelError(f"tensor {index} ({name!r}): buffer {b} holds {data.size} "
                             f"bytes, shape {shape} of {dtype.name} needs {expected}")
        data = data.view(dtype)
        if data.ctypes.data % dtype.alignment:
            data = data.copy()  # C reads it through a typed pointer
        data = data.reshape(shape)
        data.flags.writeable = False
    return Tensor(index=index, name=name, dtype=dtype, shape=shape,
                  shape_signature=sig, quant=quant, data=data,
                  is_variable=bool(t.IsVariable()))


def _read_buffer(r, model, b, index, name):
    if b == 0:
        return None
    buffer = model.Buffers(b)
    if buffer is None:
        return None
    offset, size = int(buffer.Offset()), int(buffer.Size())
    if offset > 1:
        # Large-model layout: data stored after the flatbuffer, at an absolute offset.
        if offset + size > r.n:
            raise ModelError(f"tensor {index} ({name!r}): buffer {b} range "
                             f"[{offset}, {offset + size}) lies outside the file")
        return np.frombuffer(r.buf, np.uint8, size, offset)
    if buffer.DataIsNone():
        return None
    r.length(buffer.DataLength(), f"buffer {b}")
    data = buffer.DataAsNumpy()
    if not isinstance(data, np.ndarray) or data.size == 0:
        return None
    return data


# Ops whose parameters have no usable default: LiteRT zero-fills a missing table and
# rejects the op (stride 0), so a missing table is an error (found by tools/fuzz.py).
_OPTIONS_REQUIRED = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "AVERAGE_POOL_2D",
                     "MAX_POOL_2D")


def _read_options(op, op_name):
    otype = int(op.BuiltinOptionsType())
    if otype == 0 or op.BuiltinOptions() is None:
        if op_name in _OPTIONS_REQUIRED:
            raise ModelError(f"no {schema.options_name_for_op(op_name)} table")
        return {}
    options_name = schema.OPTIONS_NAMES.get(otype)
    if options_name is None:
        raise ModelError(f"unknown builtin options type {otype}")
    expected = schema.options_name_for_op(op_name)
    if expected is not None and options_name != expected:
        # Found by tools/fuzz.py: read as defaults, a CONV_2D's strides and dilations
        # would be made up (LiteRT finds no options and rejects the op).
        raise ModelError(f"options table {options_name}, expected {expected}")
    table = op.BuiltinOptions()
    if table is None:
        return {}
    _, cls, fields = schema.options_fields(options_name)
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out = {}
    for camel, key, is_vector in fields:
        if is_vector:
            if getattr(obj, camel + "IsNone")():
                out[key] = []
            else:
                n = getattr(obj, camel + "Length")()
                if n * 4 > len(table.Bytes):
                    raise ModelError(f"options {options_name}.{camel}: length {n} "
                                     f"exceeds the file")
                out[key] = [int(v) for v in getattr(obj, camel + "AsNumpy")()]
        else:
            value = getattr(obj, camel)()
            if isinstance(value, bytes):  # VarHandleOptions' container, shared_name
                value = value.decode("utf-8", errors="replace")
            if isinstance(value, (int, float, bool, str)):
                out[key] = value
    out["_options_type"] = options_name
    return out


def _read_op(r, sg, index, codes, n_tensors):
    op = sg.Operators(index)
    oc = int(op.OpcodeIndex())
    if not 0 <= oc < len(codes):
        raise ModelError(f"operator {index}: opcode index {oc} out of range "
                         f"[0, {len(codes)})")
    name, version, custom = codes[oc]
    inputs = _check_indices(r.ints(op, "Inputs", f"operator {index} inputs"), n_tensors,
                            f"operator {index} ({name}) inputs", allow_optional=True)
    outputs = _check_indices(r.ints(op, "Outputs", f"operator {index} outputs"),
                             n_tensors, f"operator {index} ({name}) outputs")
    try:
        options = _read_options(op, name)
    except ModelError as e:
        raise ModelError(f"operator {index} ({name}): {e}") from None
    intermediates = _check_indices(
        r.ints(op, "Intermediates", f"operator {index} intermediates"), n_tensors,
        f"operator {index} ({name}) intermediates")
    return Op(index=index, name=name, version=version, inputs=inputs, outputs=outputs,
              options=options, custom_code=custom, intermediates=intermediates)
