"""Build single-op .tflite models and run them in microdl and in LiteRT's reference
kernels (the oracle).  Used by the per-op tests."""
from __future__ import annotations

import os
import warnings
import zlib

import numpy as np

from microdl.core.graph import Graph, Op, Quantization, Tensor
from microdl.tflite.writer import write_model

MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "..", "shared", "models")


def spec(shape, dtype=np.int8, scale=None, zero_point=0, data=None, scales=None,
         zero_points=None, quantized_dimension=0, name=None):
    """A tensor description for op_model.  `data` makes it a constant; `scales` (a
    sequence) makes it per-channel along `quantized_dimension`."""
    return dict(shape=tuple(shape), dtype=np.dtype(dtype), scale=scale,
                zero_point=zero_point, data=data, scales=scales,
                zero_points=zero_points, quantized_dimension=quantized_dimension,
                name=name)


def _tensor(s, idx, default_name):
    """microdl Tensor from a spec() dict (per-tensor or per-channel quantization)."""
    quant = None
    if s["scales"] is not None:
        zps = s["zero_points"] if s["zero_points"] is not None else [0] * len(s["scales"])
        quant = Quantization(np.asarray(s["scales"], np.float32),
                             np.asarray(zps, np.int64), s["quantized_dimension"])
    elif s["scale"] is not None:
        quant = Quantization(np.array([s["scale"]], np.float32),
                             np.array([s["zero_point"]], np.int64), 0)
    data = None
    if s["data"] is not None:
        data = np.asarray(s["data"], s["dtype"]).reshape(s["shape"])
    return Tensor(index=idx, name=s["name"] or default_name, dtype=s["dtype"],
                  shape=s["shape"], shape_signature=tuple(s.get("signature") or s["shape"]),
                  quant=quant, data=data)


def op_model(op_name, inputs, outputs, options=None, version=1):
    """Serialize a one-op model.  inputs/outputs: lists of spec() dicts, or None for
    an omitted optional input.  Non-constant inputs become the model inputs in order.
    Returns the .tflite bytes."""
    tensors, op_inputs, op_outputs, graph_inputs = [], [], [], []

    def add(s, default_name):
        tensors.append(_tensor(s, len(tensors), default_name))
        return len(tensors) - 1

    for k, s in enumerate(inputs):
        if s is None:
            op_inputs.append(-1)
            continue
        idx = add(s, f"input{k}")
        op_inputs.append(idx)
        if s["data"] is None:
            graph_inputs.append(idx)
    for k, s in enumerate(outputs):
        op_outputs.append(add(s, f"output{k}"))
    op = Op(index=0, name=op_name, version=version, inputs=op_inputs,
            outputs=op_outputs, options=dict(options or {}))
    g = Graph(tensors=tensors, ops=[op], inputs=graph_inputs, outputs=op_outputs)
    return write_model(g)


def graph_model(tensors, ops, inputs, outputs):
    """Serialize a multi-op graph.  tensors: list of spec() dicts (their position is
    the tensor index; `shape_signature` may be given); ops: (name, inputs, outputs,
    options[, version])."""
    ts = [_tensor(s, i, f"t{i}") for i, s in enumerate(tensors)]
    graph_ops = [Op(index=k, name=o[0], version=o[4] if len(o) > 4 else 1, inputs=list(o[1]),
                    outputs=list(o[2]), options=dict(o[3])) for k, o in enumerate(ops)]
    return write_model(Graph(tensors=ts, ops=graph_ops, inputs=list(inputs), outputs=list(outputs)))


ORACLE = os.environ.get("MICRODL_ORACLE", "litert")
ORACLES = {"litert": "ai_edge_litert.interpreter", "tflite_runtime": "tflite_runtime.interpreter"}


def oracle_module():
    """The reference interpreter's module: LiteRT (``ai_edge_litert``, the default) or,
    with ``MICRODL_ORACLE=tflite_runtime``, tflite-runtime (2.14 under NumPy 1.x: the
    second oracle .ci/run runs the model and per-op tests against)."""
    import importlib

    if ORACLE not in ORACLES:
        raise ValueError(f"MICRODL_ORACLE must be one of {sorted(ORACLES)}, got {ORACLE!r}")
    return importlib.import_module(ORACLES[ORACLE])


def reference_interpreter(model_path=None, model_content=None, **kwargs):
    """The oracle's Interpreter on its reference kernels (BUILTIN_REF, one thread),
    tensors allocated."""
    m = oracle_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = m.Interpreter(model_path=model_path, model_content=model_content,
                           num_threads=1,
                           experimental_op_resolver_type=m.OpResolverType.BUILTIN_REF,
                           **kwargs)
    it.allocate_tensors()
    return it


def run_litert(model, inputs):
    """Outputs of the oracle's reference kernels (LiteRT BUILTIN_REF unless
    MICRODL_ORACLE says otherwise) for a list of inputs."""
    it = reference_interpreter(model_content=model)
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def run_microdl(model, inputs, rounding="litert"):
    """Outputs of microdl's Interpreter for a list of inputs."""
    from microdl import Interpreter

    it = Interpreter(model_content=model, rounding=rounding)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def random_int(rng, shape, dtype=np.int8):
    """Uniform random integers over the dtype's full range."""
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, size=shape, dtype=np.int64).astype(dtype)


def assert_same_as_litert(model, inputs, rounding="litert"):
    """Every output element of microdl equals LiteRT's reference kernels."""
    want = run_litert(model, inputs)
    got = run_microdl(model, inputs, rounding=rounding)
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert w.dtype == g.dtype and w.shape == g.shape, (w.dtype, g.dtype, w.shape, g.shape)
        if not np.array_equal(w, g):
            diff = np.argwhere(w != g)
            raise AssertionError(
                f"{len(diff)} of {w.size} elements differ; first at {diff[0].tolist()}: "
                f"litert {w[tuple(diff[0])]} microdl {g[tuple(diff[0])]}")


# ------------------------------------------------------------------ float32 models
def max_range_error(got, want):
    """max |got - want| / (max - min of want) in float64 (divided by max |want| when
    `want` is constant, and not divided when that is 0 too), the float-model tolerance
    measure of issue 12; NaN/inf positions must agree exactly."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.size == 0:
        return 0.0
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got)), "non-finite values differ"
    assert np.array_equal(got[~finite], want[~finite]), "non-finite values differ"
    if not finite.any():
        return 0.0
    err = float(np.max(np.abs(got[finite] - want[finite])))
    span = float(want[finite].max() - want[finite].min())
    if span == 0:  # a constant output (one element, say): relative to its magnitude
        span = float(np.max(np.abs(want[finite])))
    return err / span if span > 0 else err


FLOAT_TOLERANCE = 1e-5


def stable_seed(*parts):
    """A seed for np.random.default_rng from test parameters, the same in every
    process (hash() of a str changes between runs with PYTHONHASHSEED)."""
    return zlib.crc32(repr(parts).encode())


def assert_close_to_litert(model, inputs, tol=FLOAT_TOLERANCE):
    """Every float output of microdl is within tol * (output range) of LiteRT's
    reference kernels (max_range_error); dtypes and shapes equal.  Returns the
    largest error seen."""
    want = run_litert(model, inputs)
    got = run_microdl(model, inputs)
    assert len(want) == len(got)
    worst = 0.0
    for w, g in zip(want, got):
        assert w.dtype == g.dtype and w.shape == g.shape, (w.dtype, g.dtype, w.shape, g.shape)
        e = max_range_error(g, w)
        assert e <= tol, f"error {e:.3g} of the output range (tolerance {tol:g})"
        worst = max(worst, e)
    return worst
