"""Name and dtype tables over the published TFLite schema (the `tflite` package)."""
from __future__ import annotations

import importlib
import re

import numpy as np
import tflite

# TensorType value -> numpy dtype (types microdl can hold in memory).
_DTYPE_BY_NAME = {
    "FLOAT32": np.float32, "FLOAT16": np.float16, "FLOAT64": np.float64,
    "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "UINT16": np.uint16,
    "INT32": np.int32, "UINT32": np.uint32, "INT64": np.int64, "UINT64": np.uint64,
    "BOOL": np.bool_,
}

TENSOR_TYPE_NAMES = {
    v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")
}
TENSOR_TYPE_BY_NAME = {v: k for k, v in TENSOR_TYPE_NAMES.items()}
DTYPES = {
    code: np.dtype(_DTYPE_BY_NAME[name])
    for code, name in TENSOR_TYPE_NAMES.items()
    if name in _DTYPE_BY_NAME
}
TENSOR_TYPE_BY_DTYPE = {dt: code for code, dt in DTYPES.items()}

BUILTIN_NAMES = {
    v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")
}
BUILTIN_CODES = {v: k for k, v in BUILTIN_NAMES.items()}

OPTIONS_NAMES = {
    v: k for k, v in vars(tflite.BuiltinOptions).items()
    if not k.startswith("_") and k != "NONE"
}
OPTIONS_CODES = {v: k for k, v in OPTIONS_NAMES.items()}

# Builtin operator -> its options table (where the name does not follow the rule).
_OPTIONS_FOR_OP = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions", "MEAN": "ReducerOptions", "SUM": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions", "REDUCE_MIN": "ReducerOptions",
    "REDUCE_PROD": "ReducerOptions", "FULLY_CONNECTED": "FullyConnectedOptions",
    "TRANSPOSE_CONV": "TransposeConvOptions", "STRIDED_SLICE": "StridedSliceOptions",
    "LEAKY_RELU": "LeakyReluOptions", "HARD_SWISH": "HardSwishOptions",
    "CONCATENATION": "ConcatenationOptions", "PACK": "PackOptions",
    "RESHAPE": "ReshapeOptions", "SQUEEZE": "SqueezeOptions", "SHAPE": "ShapeOptions",
    "SOFTMAX": "SoftmaxOptions", "ADD": "AddOptions", "SUB": "SubOptions",
    "MUL": "MulOptions", "PAD": "PadOptions", "PADV2": "PadV2Options",
    "TRANSPOSE": "TransposeOptions", "QUANTIZE": "QuantizeOptions",
    "DEQUANTIZE": "DequantizeOptions", "SVDF": "SVDFOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "SPLIT": "SplitOptions", "SPLIT_V": "SplitVOptions", "UNPACK": "UnpackOptions",
    "SLICE": "SliceOptions", "TILE": "TileOptions", "BROADCAST_TO": "BroadcastToOptions",
    "REVERSE_V2": "ReverseV2Options", "DEPTH_TO_SPACE": "DepthToSpaceOptions",
    "SPACE_TO_DEPTH": "SpaceToDepthOptions", "GATHER": "GatherOptions",
    "ZEROS_LIKE": "ZerosLikeOptions", "FILL": "FillOptions", "GELU": "GeluOptions",
    "EXP": "ExpOptions", "ARG_MAX": "ArgMaxOptions", "ARG_MIN": "ArgMinOptions",
    # issue 11, ops11a
    "MIRROR_PAD": "MirrorPadOptions", "BATCH_TO_SPACE_ND": "BatchToSpaceNDOptions",
    "SPACE_TO_BATCH_ND": "SpaceToBatchNDOptions", "GATHER_ND": "GatherNdOptions",
    "CAST": "CastOptions", "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions", "ADD_N": "AddNOptions",
    "CUMSUM": "CumsumOptions",
    "BATCH_MATMUL": "BatchMatMulOptions", "L2_NORMALIZATION": "L2NormOptions",
    "LOG_SOFTMAX": "LogSoftmaxOptions", "SQUARED_DIFFERENCE": "SquaredDifferenceOptions",
    # issue 11, control flow and resource variables
    "IF": "IfOptions", "WHILE": "WhileOptions", "CALL_ONCE": "CallOnceOptions",
    "VAR_HANDLE": "VarHandleOptions", "READ_VARIABLE": "ReadVariableOptions",
    "ASSIGN_VARIABLE": "AssignVariableOptions",
}


def options_name_for_op(op_name: str):
    """The BuiltinOptions table name a builtin op carries, or None."""
    return _OPTIONS_FOR_OP.get(op_name)


def snake(name: str) -> str:
    """"StrideW" -> "stride_w", "DilationHFactor" -> "dilation_h_factor"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_SKIP_SUFFIXES = ("BufferHasIdentifier", "AsNumpy", "Length", "IsNone")


def options_fields(options_name: str):
    """Return (class, [(CamelName, snake_name, is_vector)]) for an options table."""
    module = importlib.import_module(f"tflite.{options_name}")
    cls = getattr(module, options_name)
    fields = []
    for attr in vars(cls):
        if (attr.startswith(("_", "GetRootAs")) or attr == "Init" or
                attr.endswith(_SKIP_SUFFIXES)):
            continue
        fields.append((attr, snake(attr), hasattr(cls, attr + "Length")))
    return module, cls, fields


def dtype_name(dtype) -> str:
    """numpy dtype -> TFLite-style lower-case name ("int8"); None -> "unknown"."""
    return "unknown" if dtype is None else np.dtype(dtype).name
