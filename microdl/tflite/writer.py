"""Write a microdl Graph as a standard TFLite flatbuffer (schema version 3).

Uses the builder functions generated into the `tflite` package, so every file written
here opens in LiteRT, TFLite Micro and Netron.
"""
from __future__ import annotations

import flatbuffers
import numpy as np
import tflite

from microdl.core.graph import Graph
from microdl.tflite import schema

_T = tflite  # generated builder functions live in per-table modules
_ALIGN = 16


def _vector(builder, start_fn, values, prepend):
    start_fn(builder, len(values))
    for v in reversed(values):
        prepend(v)
    return builder.EndVector()


def _int_vector(builder, start_fn, values):
    return _vector(builder, start_fn, [int(v) for v in values], builder.PrependInt32)


def _options(builder, op):
    name = op.options.get("_options_type")
    if name is None and op.options:
        name = schema.options_name_for_op(op.name)
    if name is None:
        return 0, 0
    module, cls, fields = schema.options_fields(name)
    vectors = {}
    strings = {camel: builder.CreateString(op.options[key])
               for camel, key, is_vector in fields
               if not is_vector and isinstance(op.options.get(key), str)}
    for camel, key, is_vector in fields:
        if is_vector and op.options.get(key):
            start = getattr(module, f"{name}Start{camel}Vector")
            vectors[camel] = _int_vector(builder, start, op.options[key])
    getattr(module, f"{name}Start")(builder)
    for camel, key, is_vector in fields:
        if is_vector:
            if camel in vectors:
                getattr(module, f"{name}Add{camel}")(builder, vectors[camel])
        elif camel in strings:
            getattr(module, f"{name}Add{camel}")(builder, strings[camel])
        elif key in op.options:
            getattr(module, f"{name}Add{camel}")(builder, op.options[key])
    return schema.OPTIONS_CODES[name], getattr(module, f"{name}End")(builder)


def _tensor_maps(builder, start_fn, entries):
    offsets = []
    for name, index in entries.items():
        name_off = builder.CreateString(name)
        _T.TensorMapStart(builder)
        _T.TensorMapAddName(builder, name_off)
        _T.TensorMapAddTensorIndex(builder, int(index))
        offsets.append(_T.TensorMapEnd(builder))
    return _vector(builder, start_fn, offsets, builder.PrependUOffsetTRelative)


def _signatures(builder, graph):
    """The model's signature_defs vector (0 when the graph has none)."""
    if not graph.signatures:
        return 0
    offsets = []
    for sig in graph.signatures:
        if not 0 <= sig.subgraph_index < graph.num_subgraphs:
            raise ValueError(f"signature {sig.key!r}: subgraph_index "
                             f"{sig.subgraph_index} out of range [0, "
                             f"{graph.num_subgraphs})")
        for index in list(sig.inputs.values()) + list(sig.outputs.values()):
            if not 0 <= index < len(graph.tensors):
                raise ValueError(f"signature {sig.key!r}: tensor index {index} out of "
                                 f"range [0, {len(graph.tensors)})")
        ins = _tensor_maps(builder, _T.SignatureDefStartInputsVector, sig.inputs)
        outs = _tensor_maps(builder, _T.SignatureDefStartOutputsVector, sig.outputs)
        key = builder.CreateString(sig.key)
        _T.SignatureDefStart(builder)
        _T.SignatureDefAddInputs(builder, ins)
        _T.SignatureDefAddOutputs(builder, outs)
        _T.SignatureDefAddSignatureKey(builder, key)
        _T.SignatureDefAddSubgraphIndex(builder, int(sig.subgraph_index))
        offsets.append(_T.SignatureDefEnd(builder))
    return _vector(builder, _T.ModelStartSignatureDefsVector, offsets,
                   builder.PrependUOffsetTRelative)


def _subgraph(b, graph, k, buffer_index, codes, code_index):
    """The SubGraph table of `graph` (subgraph k); adds its operator codes to
    codes / code_index."""
    tensor_offsets = []
    for t in graph.tensors:
        name = b.CreateString(t.name)
        shape = _int_vector(b, _T.TensorStartShapeVector, t.shape)
        sig = _int_vector(b, _T.TensorStartShapeSignatureVector, t.shape_signature)
        quant = 0
        if t.quant is not None:
            scales = _vector(b, _T.QuantizationParametersStartScaleVector,
                             [float(s) for s in t.quant.scales], b.PrependFloat32)
            zps = _vector(b, _T.QuantizationParametersStartZeroPointVector,
                          [int(z) for z in t.quant.zero_points], b.PrependInt64)
            _T.QuantizationParametersStart(b)
            _T.QuantizationParametersAddScale(b, scales)
            _T.QuantizationParametersAddZeroPoint(b, zps)
            _T.QuantizationParametersAddQuantizedDimension(b, t.quant.quantized_dimension)
            quant = _T.QuantizationParametersEnd(b)
        _T.TensorStart(b)
        _T.TensorAddShape(b, shape)
        _T.TensorAddShapeSignature(b, sig)
        # dtype None: a RESOURCE handle (VAR_HANDLE's output), the one type without
        # numpy data that microdl writes.
        _T.TensorAddType(b, schema.TENSOR_TYPE_BY_NAME["RESOURCE"] if t.dtype is None
                         else schema.TENSOR_TYPE_BY_DTYPE[np.dtype(t.dtype)])
        _T.TensorAddBuffer(b, buffer_index.get((k, t.index), 0))
        _T.TensorAddName(b, name)
        if quant:
            _T.TensorAddQuantization(b, quant)
        if t.is_variable:
            _T.TensorAddIsVariable(b, True)
        tensor_offsets.append(_T.TensorEnd(b))

    op_offsets = []
    for op in graph.ops:
        key = (op.name, op.version, op.custom_code)
        if key not in code_index:
            code_index[key] = len(codes)
            codes.append(key)
        ins = _int_vector(b, _T.OperatorStartInputsVector, op.inputs)
        outs = _int_vector(b, _T.OperatorStartOutputsVector, op.outputs)
        otype, opts = _options(b, op)
        mids = (_int_vector(b, _T.OperatorStartIntermediatesVector, op.intermediates)
                if op.intermediates else None)
        _T.OperatorStart(b)
        _T.OperatorAddOpcodeIndex(b, code_index[key])
        _T.OperatorAddInputs(b, ins)
        _T.OperatorAddOutputs(b, outs)
        if opts:
            _T.OperatorAddBuiltinOptionsType(b, otype)
            _T.OperatorAddBuiltinOptions(b, opts)
        if mids is not None:
            _T.OperatorAddIntermediates(b, mids)
        op_offsets.append(_T.OperatorEnd(b))

    tensors = _vector(b, _T.SubGraphStartTensorsVector, tensor_offsets,
                      b.PrependUOffsetTRelative)
    operators = _vector(b, _T.SubGraphStartOperatorsVector, op_offsets,
                        b.PrependUOffsetTRelative)
    inputs = _int_vector(b, _T.SubGraphStartInputsVector, graph.inputs)
    outputs = _int_vector(b, _T.SubGraphStartOutputsVector, graph.outputs)
    sg_name = b.CreateString("main" if k == 0 else f"subgraph{k}")
    _T.SubGraphStart(b)
    _T.SubGraphAddTensors(b, tensors)
    _T.SubGraphAddInputs(b, inputs)
    _T.SubGraphAddOutputs(b, outputs)
    _T.SubGraphAddOperators(b, operators)
    _T.SubGraphAddName(b, sg_name)
    return _T.SubGraphEnd(b)


def write_model(graph: Graph, description: str = "microdl") -> bytes:
    """Serialize `graph` to .tflite bytes.

    Constant tensors get their own 16-byte-aligned buffer; activations point at the
    empty buffer 0.  Op options are taken from `Op.options` (snake_case keys of the
    op's BuiltinOptions table).  `graph.signatures` (microdl.core.graph.Signature)
    become the model's signature_defs.  The graph is subgraph 0 and
    `graph.subgraphs` (Graphs) subgraphs 1, 2, ...; without those, with
    `graph.num_subgraphs` > 1 the file lists that same subgraph table again as
    subgraphs 1, 2, ... (models for tests of multi-subgraph inspection).

    Raises:
        ValueError: a signature names a subgraph or a tensor out of range, or
            num_subgraphs disagrees with graph.subgraphs."""
    b = flatbuffers.Builder(1024)
    graphs = [graph] + list(graph.subgraphs)
    if graph.subgraphs and graph.num_subgraphs != len(graphs):
        raise ValueError(f"graph.num_subgraphs is {graph.num_subgraphs} but the graph "
                         f"holds {len(graphs)} subgraphs")
    # Buffers: 0 is the empty sentinel.
    buffer_index = {}  # (subgraph, tensor index) -> buffer
    buffer_offsets = []
    for k, g in enumerate(graphs):
        for t in g.tensors:
            if t.data is None:
                continue
            raw = np.ascontiguousarray(t.data, dtype=t.dtype).tobytes()
            b.StartVector(1, len(raw), _ALIGN)
            b.head = b.head - len(raw)
            b.Bytes[b.head:b.head + len(raw)] = raw
            data = b.EndVector()
            _T.BufferStart(b)
            _T.BufferAddData(b, data)
            buffer_offsets.append(b.EndObject())
            buffer_index[k, t.index] = len(buffer_offsets)
    _T.BufferStart(b)
    empty = b.EndObject()
    buffers = _vector(b, _T.ModelStartBuffersVector, [empty] + buffer_offsets,
                      b.PrependUOffsetTRelative)

    codes = []
    code_index = {}
    sg_offsets = [_subgraph(b, g, k, buffer_index, codes, code_index)
                  for k, g in enumerate(graphs)]
    if not graph.subgraphs:
        sg_offsets = sg_offsets * max(int(graph.num_subgraphs), 1)
    subgraphs = _vector(b, _T.ModelStartSubgraphsVector, sg_offsets,
                        b.PrependUOffsetTRelative)

    code_offsets = []
    for name, version, custom in codes:
        custom_off = b.CreateString(custom) if custom else 0
        code = schema.BUILTIN_CODES[name]
        _T.OperatorCodeStart(b)
        _T.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        _T.OperatorCodeAddBuiltinCode(b, code)
        _T.OperatorCodeAddVersion(b, version)
        if custom_off:
            _T.OperatorCodeAddCustomCode(b, custom_off)
        code_offsets.append(_T.OperatorCodeEnd(b))
    opcodes = _vector(b, _T.ModelStartOperatorCodesVector, code_offsets,
                      b.PrependUOffsetTRelative)
    signature_defs = _signatures(b, graph)
    desc = b.CreateString(description)
    _T.ModelStart(b)
    _T.ModelAddVersion(b, 3)
    _T.ModelAddOperatorCodes(b, opcodes)
    _T.ModelAddSubgraphs(b, subgraphs)
    _T.ModelAddDescription(b, desc)
    _T.ModelAddBuffers(b, buffers)
    if signature_defs:
        _T.ModelAddSignatureDefs(b, signature_defs)
    b.Finish(_T.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())
