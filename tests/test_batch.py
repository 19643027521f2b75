"""Batches and resize_tensor_input().

Oracles: LiteRT's reference kernels (BUILTIN_REF) resized the same way (outputs,
output shapes, exception types and messages), TFLite Micro at batch 1 for
person_detect (which LiteRT refuses to load), and the model run one item at a time
(batch N must equal N batch-1 runs element for element, the contract).  Every op
family of the int8 / int16 path is checked at batch 2-3 on a one-op model against
LiteRT resized to that batch."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microdl
from microdl.core.errors import ModelError
from tests.conftest import shared_model
from tests.oplib import (ORACLE, oracle_module, op_model, graph_model, random_int,
                         spec)
from tests.test_conv import conv_case
from tests.test_conv_fast import conv_model, depthwise_model
from tests.test_engine import assert_invoke_allocates_nothing
from tests.test_models import ORACLE_ROUNDING, tflm_runtime  # noqa: F401

ROUNDING = ORACLE_ROUNDING[ORACLE]

MLPERF = [("mlperf_tiny", "ad01_int8.tflite"), ("mlperf_tiny", "vww_96_int8.tflite"),
          ("mlperf_tiny", "kws_ref_model.tflite"),
          ("mlperf_tiny", "pretrainedResnet_quant.tflite"),
          ("tflm", "micro_speech_quantized.tflite"),
          # float32 (and KWS's float file: dynamic-range CONV_2D) models
          ("mlperf_tiny", "ad01_fp32.tflite"), ("mlperf_tiny", "vww_96_float.tflite"),
          ("mlperf_tiny", "kws_ref_model_float32.tflite"),
          ("mlperf_tiny", "pretrainedResnet.tflite")]
KWS = ("mlperf_tiny", "kws_ref_model.tflite")


def oracle(model_path=None, model_content=None):
    """The oracle's Interpreter on its reference kernels, not yet allocated."""
    m = oracle_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return m.Interpreter(model_path=model_path, model_content=model_content,
                             num_threads=1,
                             experimental_op_resolver_type=m.OpResolverType.BUILTIN_REF)


def batch_inputs(rng, shape, dtype):
    """One batch whose items differ in kind: uniform over the whole range, a narrow
    range, and the two extreme fills (then uniform again)."""
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return rng.standard_normal(shape).astype(np.float32)
    info = np.iinfo(dtype)
    x = random_int(rng, shape, dtype)
    kinds = [None, "narrow", info.min, info.max]
    for b in range(shape[0]):
        kind = kinds[b % len(kinds)]
        if kind == "narrow":
            x[b] = rng.integers(-20, 20, size=shape[1:]).astype(dtype)
        elif kind is not None:
            x[b] = kind
    return x


def run(it, xs):
    """Set the inputs, invoke, return every output."""
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def resized(it, shapes, strict=False):
    """Resize every input of `it` to `shapes`, allocate, return it."""
    for d, s in zip(it.get_input_details(), shapes):
        it.resize_tensor_input(d["index"], s, strict=strict)
    it.allocate_tensors()
    return it


def one_by_one(path, x, rounding=ROUNDING):
    """The model's outputs for each item of batch x, run at batch 1."""
    it = microdl.Interpreter(model_path=path, rounding=rounding)
    it.allocate_tensors()
    return [np.concatenate(o) for o in zip(*(run(it, [x[b:b + 1]])
                                             for b in range(len(x))))]


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (compared with the oracle's)
        return type(e), str(e)
    return None, None


# ------------------------------------------------------------------- the models
@pytest.mark.parametrize("folder,name", MLPERF, ids=[m[1] for m in MLPERF])
def test_model_batch4_equals_batch1_runs_and_litert(folder, name):
    path = shared_model(folder, name)
    ours = microdl.Interpreter(model_path=path, rounding=ROUNDING)
    ours.allocate_tensors()
    d = ours.get_input_details()[0]
    shape = [4] + list(d["shape"][1:])
    # The MLPerf Tiny models declare their batch dynamic: strict resizing allows it.
    strict = bool(d["shape_signature"][0] == -1)
    resized(ours, [shape], strict=strict)
    ref = resized(oracle(model_path=path), [shape], strict=strict)
    # Every tensor's shape as LiteRT propagates it (constants unchanged).  LiteRT's
    # hybrid kernels append their own temporaries after the model's tensors.
    mine = [list(t["shape"]) for t in ours.get_tensor_details()]
    assert mine == [list(t["shape"]) for t in ref.get_tensor_details()][:len(mine)]
    assert ours.get_output_details()[0]["shape"][0] == 4
    rng = np.random.default_rng(len(name))
    for _ in range(2):
        x = batch_inputs(rng, shape, d["dtype"])
        got = run(ours, [x])
        for g, w, s in zip(got, run(ref, [x]), one_by_one(path, x)):
            np.testing.assert_array_equal(g, w, err_msg="batch 4 vs LiteRT batch 4")
            np.testing.assert_array_equal(g, s, err_msg="batch 4 vs 4 x batch 1")


@pytest.mark.allow_skip("a second-oracle run (MICRODL_ORACLE set) checks the LiteRT "
                        "family only; TFLite Micro is checked in the main run")
def test_person_detect_batch4_equals_tflite_micro_batch1(tflm_runtime):
    """person_detect (static batch 1, LiteRT refuses the file; its RESHAPE to [1, 2]
    takes the carried batch): batch 4 equals TFLite Micro item by item, and microdl's
    own batch-1 runs."""
    path = shared_model("tflm", "person_detect.tflite")
    ours = microdl.Interpreter(model_path=path, rounding="tflm")
    ours.allocate_tensors()
    with pytest.raises(RuntimeError, match="ResizeInputTensorStrict"):
        ours.resize_tensor_input(ours.get_input_details()[0]["index"], [4, 96, 96, 1],
                                 strict=True)
    resized(ours, [[4, 96, 96, 1]])
    assert list(ours.get_output_details()[0]["shape"]) == [4, 2]
    tflm = tflm_runtime.Interpreter.from_file(path, arena_size=1_000_000)
    rng = np.random.default_rng(5)
    x = batch_inputs(rng, (4, 96, 96, 1), np.int8)
    got, = run(ours, [x])
    want = []
    for b in range(4):
        tflm.set_input(x[b:b + 1], 0)
        tflm.invoke()
        want.append(tflm.get_output(0))
    np.testing.assert_array_equal(got, np.concatenate(want))
    np.testing.assert_array_equal(got, one_by_one(path, x, rounding="tflm")[0])


def test_other_dynamic_dimension_follows_like_litert():
    """KWS with 50 instead of 49 frames: every layer's shape follows (the final
    average pool then sees a 25x5 window in a 25x5 map); same outputs and output
    shape as LiteRT resized the same way."""
    path = shared_model(*KWS)
    shape = [2, 50, 10, 1]
    ours = resized(microdl.Interpreter(model_path=path, rounding=ROUNDING), [shape])
    ref = resized(oracle(model_path=path), [shape])
    x = batch_inputs(np.random.default_rng(3), shape, np.int8)
    np.testing.assert_array_equal(run(ours, [x])[0], run(ref, [x])[0])
    assert [list(t["shape"]) for t in ours.get_tensor_details()] == \
        [list(t["shape"]) for t in ref.get_tensor_details()]
    assert [2, 25, 5, 64] in [list(t["shape"]) for t in ours.get_tensor_details()]


def test_threads_at_batch4_equal_one_thread():
    for folder, name in MLPERF[1:4]:
        path = shared_model(folder, name)
        its = []
        for threads in (1, 2):
            it = microdl.Interpreter(model_path=path, num_threads=threads,
                                     rounding=ROUNDING)
            it.allocate_tensors()
            d = it.get_input_details()[0]
            its.append(resized(it, [[4] + list(d["shape"][1:])]))
        x = batch_inputs(np.random.default_rng(9), [4] + list(d["shape"][1:]), np.int8)
        one, two = (run(it, [x])[0] for it in its)
        np.testing.assert_array_equal(one, two, err_msg=name)
        np.testing.assert_array_equal(two, one_by_one(path, x)[0], err_msg=name)


# ------------------------------------------------------------- the life cycle
def test_allocate_twice_resize_back_and_invoke_allocation_free():
    path = shared_model(*KWS)
    it = microdl.Interpreter(model_path=path, rounding=ROUNDING)
    it.allocate_tensors()
    arena1 = it.arena_bytes
    d = it.get_input_details()[0]
    rng = np.random.default_rng(1)
    x = batch_inputs(rng, (4, 49, 10, 1), np.int8)
    want = one_by_one(path, x)[0]
    # Two resizes before one allocate: the last one counts.
    it.resize_tensor_input(d["index"], [3, 49, 10, 1])
    it.resize_tensor_input(d["index"], [4, 49, 10, 1])
    it.allocate_tensors()
    np.testing.assert_array_equal(run(it, [x])[0], want)
    arena4 = it.arena_bytes
    assert arena4 > arena1
    it.allocate_tensors()  # again: same plan, same results
    assert it.arena_bytes == arena4
    np.testing.assert_array_equal(run(it, [x])[0], want)
    assert_invoke_allocates_nothing(it)
    # Back to batch 1: the plan of the file again.
    it.resize_tensor_input(d["index"], [1, 49, 10, 1])
    it.allocate_tensors()
    assert it.arena_bytes == arena1
    assert list(it.get_output_details()[0]["shape"]) == [1, 12]
    np.testing.assert_array_equal(run(it, [x[2:3]])[0], want[2:3])


def test_state_between_resize_and_allocate_matches_litert():
    path = shared_model(*KWS)
    pair = [microdl.Interpreter(model_path=path), oracle(model_path=path)]
    for it in pair:
        it.allocate_tensors()
    seen = []
    for it in pair:
        x = np.zeros((1, 49, 10, 1), np.int8)
        it.set_tensor(0, x)
        it.invoke()
        it.resize_tensor_input(0, [1, 49, 10, 1])  # the same shape: nothing changes
        it.invoke()
        it.resize_tensor_input(0, [2, 49, 10, 1])
        s = [list(it.get_input_details()[0]["shape"]),
             list(it.get_output_details()[0]["shape"]),
             _outcome(it.invoke),
             _outcome(lambda: it.set_tensor(0, np.zeros((2, 49, 10, 1), np.int8))),
             _outcome(lambda: it.get_tensor(0))]
        it.allocate_tensors()
        s.append(list(it.get_output_details()[0]["shape"]))
        s.append(_outcome(lambda: it.set_tensor(0, np.zeros((2, 49, 10, 1), np.int8))))
        s.append(_outcome(it.invoke))
        seen.append(s)
    assert seen[0] == seen[1]
    assert seen[0][2][0] is RuntimeError  # invoke before the new allocate_tensors()
    # Resizing before the first allocate_tensors() works too.
    fresh = [microdl.Interpreter(model_path=path), oracle(model_path=path)]
    x = batch_inputs(np.random.default_rng(2), (3, 49, 10, 1), np.int8)
    a, b = (run(resized(it, [[3, 49, 10, 1]]), [x])[0] for it in fresh)
    np.testing.assert_array_equal(a, b)


RESIZE_CASES = [
    ("batch", 0, [4, 49, 10, 1], False),
    ("same", 0, [1, 49, 10, 1], False),
    ("rank", 0, [4, 49, 10], False),
    ("empty", 0, [], False),
    ("zero batch", 0, [0, 49, 10, 1], False),
    ("height", 0, [1, 50, 10, 1], False),
    ("float entries", 0, [4.5, 49, 10, 1], False),
    ("strings of ints", 0, ["2", "49", "10", "1"], False),
    ("numpy shape", np.int64(0), np.array([2, 49, 10, 1]), False),
    ("negative", 0, [-4, 49, 10, 1], False),
    ("minus one", 0, [-1, 49, 10, 1], False),
    ("negative height", 0, [1, -5, 10, 1], False),
    ("index -1", -1, [4, 49, 10, 1], False),
    ("index past the end", 999, [4, 49, 10, 1], False),
    ("index -1 strict", -1, [4, 49, 10, 1], True),
    ("bool index", True, [4], False),
    ("constant tensor", 1, [4], False),
    ("constant tensor strict", 1, [4], True),
    ("constant tensor strict rank", 1, [1, 2], True),
    ("scalar size", 0, 4, False),
    ("2-D size", 999, [[4, 49, 10, 1]], False),
    ("not a number", 0, "abc", False),
    ("None size", 0, None, False),
    ("int32 overflow", 0, [2 ** 31, 49, 10, 1], False),
    ("strict batch", 0, [4, 49, 10, 1], True),
    ("strict same", 0, [1, 49, 10, 1], True),
    ("strict height", 0, [1, 50, 10, 1], True),
    ("strict rank", 0, [4, 49, 10], True),
    ("strict -1 in a dynamic dimension", 0, [-1, 49, 10, 1], True),
    ("strict -1 in a static dimension", 0, [1, -1, 10, 1], True),
    ("strict as 1", 0, [1, 50, 10, 1], 1),
    ("strict as 0.0", 0, [1, 50, 10, 1], 0.0),
    ("strict as None", 0, [1, 50, 10, 1], None),
    ("strict as numpy bool", 0, [1, 50, 10, 1], np.bool_(True)),
    ("strict as a string", 0, [4, 49, 10, 1], "yes"),
    ("strict as a list", 0, [4, 49, 10, 1], [1]),
    ("float index", 0.0, [4, 49, 10, 1], False),
    ("string index", "0", [4, 49, 10, 1], False),
]


@pytest.mark.parametrize("label,index,size,strict", RESIZE_CASES,
                         ids=[c[0] for c in RESIZE_CASES])
def test_resize_errors_match_litert(label, index, size, strict):
    """Exception type and message (TypeError: type only, LiteRT's names the argument
    types of its C++ binding) and the shape then shown, as LiteRT."""
    path = shared_model(*KWS)
    seen = []
    for it in (microdl.Interpreter(model_path=path), oracle(model_path=path)):
        it.allocate_tensors()
        kind, msg = _outcome(lambda: it.resize_tensor_input(index, size, strict=strict))
        if kind is TypeError:
            msg = msg.split(":")[0]
        seen.append((kind, msg, list(it.get_input_details()[0]["shape"])))
    assert seen[0] == seen[1]


def test_resize_keywords_as_litert():
    it = microdl.Interpreter(model_path=shared_model(*KWS))
    it.resize_tensor_input(input_index=0, tensor_size=[2, 49, 10, 1], strict=True)
    it.allocate_tensors()
    assert list(it.get_output_details()[0]["shape"]) == [2, 12]


def test_shapes_that_cannot_follow_name_the_op():
    """Both runtimes refuse; microdl with ModelError naming the op whose shapes
    cannot follow, and stays unallocated until a resize that works."""
    cases = [(("tflm", "person_detect.tflite"), [1, 192, 96, 1], r"op 29 \(RESHAPE\)",
              [2, 96, 96, 1]),
             (("tflm", "micro_speech_quantized.tflite"), [1, 1961], r"op 0 \(RESHAPE\)",
              [2, 1960])]
    for parts, shape, where, good in cases:
        path = shared_model(*parts)
        it = microdl.Interpreter(model_path=path)
        it.allocate_tensors()
        index = it.get_input_details()[0]["index"]
        it.resize_tensor_input(index, shape)
        with pytest.raises(ModelError, match="^" + where):
            it.allocate_tensors()
        with pytest.raises(RuntimeError, match="not ready"):
            it.invoke()
        with pytest.raises(ModelError, match="^" + where):  # still pending
            it.allocate_tensors()
        it.resize_tensor_input(index, good)
        it.allocate_tensors()
        assert it.get_output_details()[0]["shape"][0] == 2
    # LiteRT refuses the micro_speech case too (person_detect it cannot load).
    ref = oracle(model_path=shared_model("tflm", "micro_speech_quantized.tflite"))
    ref.allocate_tensors()
    ref.resize_tensor_input(ref.get_input_details()[0]["index"], [1, 1961])
    with pytest.raises(RuntimeError, match="RESHAPE"):
        ref.allocate_tensors()


def test_too_large_a_resize_is_a_clear_error():
    it = microdl.Interpreter(model_path=shared_model(*KWS))
    it.resize_tensor_input(0, [1 << 28, 49, 10, 1])
    with pytest.raises(ModelError, match="bytes microdl allows"):
        it.allocate_tensors()
    it = microdl.Interpreter(model_path=shared_model(*KWS))
    it.resize_tensor_input(0, [1, 1 << 24, 10, 1])  # a large map: refused before prepare
    with pytest.raises(ModelError, match=r"^op 0 \(CONV_2D\).*bytes microdl allows"):
        it.allocate_tensors()


# ------------------------------------------------------------ one op per family
Q = dict(scale=0.05, zero_point=3)
Q16 = dict(scale=0.01, zero_point=0)


def _w(rng, shape, **q):
    return spec(shape, data=random_int(rng, shape), **q)


def _conv16(rng):
    w = random_int(rng, (5, 3, 3, 4))
    return op_model("CONV_2D", [spec((1, 6, 7, 4), np.int16, **Q16),
                                spec((5, 3, 3, 4), data=w, scales=[0.01] * 5),
                                spec((5,), np.int64, data=rng.integers(-999, 999, 5),
                                     scales=[1e-4] * 5)],
                    [spec((1, 6, 7, 5), np.int16, scale=0.5, zero_point=0)],
                    {"padding": 0, "stride_h": 1, "stride_w": 1}, version=4)


def _transpose_conv(rng, dtype=np.int8, n=1):
    """A TRANSPOSE_CONV of batch n: a constant output_shape fixes the batch (LiteRT
    cannot resize it), so the batch > 1 cases are static models."""
    q = Q16 if dtype == np.int16 else Q
    return op_model("TRANSPOSE_CONV",
                    [spec((4,), np.int32, data=np.array([n, 8, 10, 3], np.int32)),
                     _w(rng, (3, 3, 3, 2), scales=[0.01, 0.02, 0.015]),
                     spec((n, 4, 5, 2), dtype, **q)],
                    [spec((n, 8, 10, 3), dtype, scale=0.3, zero_point=0)],
                    {"padding": 0, "stride_h": 2, "stride_w": 2},
                    version=3 if dtype == np.int16 else 2)


def _fc(rng, in_shape, keep=False):
    out = tuple(in_shape[:-1]) + (7,) if keep else (int(np.prod(in_shape[:-1])), 7)
    return op_model("FULLY_CONNECTED",
                    [spec(in_shape, **Q), _w(rng, (7, in_shape[-1]), scale=0.01),
                     spec((7,), np.int32, data=rng.integers(-900, 900, 7),
                          scale=0.05 * 0.01)],
                    [spec(out, scale=0.2, zero_point=-5)],
                    {"keep_num_dims": keep}, version=9 if keep else 4)


def _binary(op, shape1, shape2, dtype=np.int8, const2=False, rng=None):
    q1, q2 = (Q16, Q16) if dtype == np.int16 else (Q, dict(scale=0.07, zero_point=-9))
    data = random_int(rng, shape2, dtype) if const2 else None
    out = dict(scale=0.1, zero_point=0) if dtype == np.int16 else dict(scale=0.1,
                                                                         zero_point=2)
    if op == "MUL":
        out["scale"] = 0.004 if dtype == np.int8 else 0.001
    options = {} if op == "MUL" else {"pot_scale_int16": False}
    return op_model(op, [spec(shape1, dtype, **q1), spec(shape2, dtype, data=data, **q2)],
                    [spec(np.broadcast_shapes(shape1, shape2), dtype, **out)], options,
                    version=(2 if dtype == np.int8 else 3) if op != "MUL" else
                    (2 if dtype == np.int8 else 4))


def _pool(op, dtype=np.int8, filt=(3, 3), stride=(2, 2), padding=0, shape=(1, 7, 9, 5)):
    from microdl.core.shapes import out_size
    q = Q16 if dtype == np.int16 else Q
    oh = out_size(padding, shape[1], filt[0], stride[0])
    ow = out_size(padding, shape[2], filt[1], stride[1])
    return op_model(op, [spec(shape, dtype, **q)],
                    [spec((shape[0], oh, ow, shape[3]), dtype, **q)],
                    {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
                     "filter_height": filt[0], "filter_width": filt[1]},
                    version=2 if dtype == np.int8 else 3)


def _mean(axes, keep, dtype=np.int8, shape=(1, 4, 5, 6)):
    ax = sorted({a % len(shape) for a in axes})
    out = tuple(1 if d in ax else n for d, n in enumerate(shape)) if keep else \
        tuple(n for d, n in enumerate(shape) if d not in ax)
    qi, qo = (Q16, dict(scale=0.02, zero_point=0)) if dtype == np.int16 else \
        (Q, dict(scale=0.03, zero_point=-7))
    return op_model("MEAN", [spec(shape, dtype, **qi),
                             spec((len(axes),), np.int32, data=np.array(axes, np.int32))],
                    [spec(out, dtype, **qo)], {"keep_dims": keep}, version=2)


def _unary(op, shape, dtype=np.int8, out=None, options=None, version=1):
    q = Q16 if dtype == np.int16 else Q
    out_dtype, out_q = out if out is not None else (dtype, q)
    return op_model(op, [spec(shape, dtype, **q)], [spec(shape, out_dtype, **out_q)],
                    options or {}, version=version)


def _data(op, inputs, out, options=None, version=1):
    return op_model(op, inputs, [out], options or {}, version=version)


def _flatten_pattern():
    """Keras's flatten: SHAPE -> STRIDED_SLICE -> PACK(-1) -> RESHAPE, the batch taken
    from the input at run time (folded by microdl for each batch)."""
    q = dict(scale=0.05, zero_point=3)
    tensors = [spec((1, 3, 4, 2), **q),                                   # 0 input
               spec((4,), np.int32),                                      # 1 shape
               spec((1,), np.int32, data=[0]), spec((1,), np.int32, data=[1]),
               spec((1,), np.int32, data=[1]),                            # 2-4 slice
               spec((), np.int32),                                        # 5 batch
               spec((), np.int32, data=np.array(-1, np.int32)),           # 6 -1
               spec((2,), np.int32),                                      # 7 packed
               spec((1, 24), **q)]                                        # 8 output
    ops = [("SHAPE", [0], [1], {"out_type": 2}),
           ("STRIDED_SLICE", [1, 2, 3, 4], [5], {"shrink_axis_mask": 1}),
           ("PACK", [5, 6], [7], {"values_count": 2, "axis": 0}),
           ("RESHAPE", [0, 7], [8], {})]
    return graph_model(tensors, ops, [0], [8])


def _op_cases():
    rng = np.random.default_rng(12)
    qo = dict(scale=0.3, zero_point=-4)
    c = {
        "conv_fast": (conv_model(rng, h=6, w=7, c=3, oc=20, stride=(2, 1)), [[3, 6, 7, 3]]),
        "conv_1x1": (conv_model(rng, h=4, w=5, c=16, oc=9, k=(1, 1)), [[2, 4, 5, 16]]),
        "conv_valid_dilated": (conv_model(rng, h=9, w=8, c=5, oc=4, dilation=(2, 2),
                                          padding="VALID"), [[3, 9, 8, 5]]),
        "conv_rows_form": (conv_model(rng, h=3, w=4, c=520, oc=5), [[2, 3, 4, 520]]),
        "conv_grouped": (conv_case(rng, h=5, w=6, c=6, oc=4, groups=2).model,
                         [[3, 5, 6, 6]]),
        "conv_16x8": (_conv16(rng), [[2, 6, 7, 4]]),
        "depthwise_many_taps": (depthwise_model(rng, h=9, w=10, c=8, k=(9, 9)),
                                [[2, 9, 10, 8]]),
        "depthwise_lanes": (depthwise_model(rng, h=6, w=5, c=16), [[3, 6, 5, 16]]),
        "depthwise_mult2": (depthwise_model(rng, h=6, w=5, c=3, mult=2, stride=(2, 2)),
                            [[2, 6, 5, 3]]),
        "depthwise_c1": (depthwise_model(rng, h=7, w=6, c=1, mult=8), [[3, 7, 6, 1]]),
        "depthwise_large_channels": (depthwise_model(rng, h=4, w=4, c=40, k=(5, 5)),
                                     [[2, 4, 4, 40]]),
        "transpose_conv": (_transpose_conv(rng, n=3), [[3, 4, 5, 2]]),
        "transpose_conv_16x8": (_transpose_conv(rng, np.int16, n=2), [[2, 4, 5, 2]]),
        "fc": (_fc(rng, (1, 20)), [[3, 20]]),
        "fc_rank4_input": (_fc(rng, (1, 2, 3, 4)), [[3, 2, 3, 4]]),
        "fc_keep_num_dims": (_fc(rng, (1, 3, 6), keep=True), [[2, 3, 6]]),
        "add": (_binary("ADD", (1, 4, 5, 3), (1, 4, 5, 3)), [[3, 4, 5, 3]] * 2),
        "add_broadcast_const": (_binary("ADD", (1, 4, 5, 3), (1, 1, 1, 3), const2=True,
                                        rng=rng), [[3, 4, 5, 3]]),
        "sub_broadcast": (_binary("SUB", (1, 4, 5, 3), (1, 1, 5, 1)),
                          [[2, 4, 5, 3], [1, 1, 5, 1]]),
        "mul": (_binary("MUL", (1, 6, 4), (1, 6, 4)), [[3, 6, 4], [3, 6, 4]]),
        "mul_broadcast_batch": (_binary("MUL", (1, 6, 4), (1, 1, 4)),
                                [[3, 6, 4], [3, 1, 4]]),
        "add_int16": (_binary("ADD", (1, 5, 6), (1, 5, 6), np.int16),
                      [[3, 5, 6], [3, 5, 6]]),
        "mul_int16": (_binary("MUL", (1, 5, 6), (1, 5, 6), np.int16),
                      [[2, 5, 6], [2, 5, 6]]),
        "avg_pool": (_pool("AVERAGE_POOL_2D"), [[3, 7, 9, 5]]),
        "max_pool_valid": (_pool("MAX_POOL_2D", padding=1), [[2, 7, 9, 5]]),
        "avg_pool_global": (_pool("AVERAGE_POOL_2D", filt=(7, 9), stride=(1, 1),
                                  padding=1), [[3, 7, 9, 5]]),
        "avg_pool_int16": (_pool("AVERAGE_POOL_2D", np.int16), [[2, 7, 9, 5]]),
        "max_pool_int16": (_pool("MAX_POOL_2D", np.int16), [[3, 7, 9, 5]]),
        "mean_hw_keep": (_mean([1, 2], True), [[3, 4, 5, 6]]),
        "mean_hw": (_mean([1, 2], False), [[2, 4, 5, 6]]),
        "mean_channels": (_mean([-1], False), [[3, 4, 5, 6]]),
        "mean_batch_axis": (_mean([0, 2], True), [[3, 4, 5, 6]]),
        "mean_int16": (_mean([1, 2], True, np.int16), [[2, 4, 5, 6]]),
        "softmax": (_unary("SOFTMAX", (1, 10), out=(np.int8, dict(scale=1 / 256,
                                                                    zero_point=-128)),
                           options={"beta": 1.0}), [[3, 10]]),
        "softmax_rank4": (_unary("SOFTMAX", (1, 2, 3, 7),
                                 out=(np.int8, dict(scale=1 / 256, zero_point=-128)),
                                 options={"beta": 0.7}), [[2, 2, 3, 7]]),
        "softmax_int16_out": (_unary("SOFTMAX", (1, 9), out=(np.int16, dict(
            scale=1 / 65536, zero_point=-32768)), options={"beta": 1.0}, version=3),
            [[3, 9]]),
        "logistic": (_unary("LOGISTIC", (1, 5, 3), out=(np.int8, dict(
            scale=1 / 256, zero_point=-128))), [[3, 5, 3]]),
        "tanh": (_unary("TANH", (1, 5, 3), out=(np.int8, dict(scale=1 / 128,
                                                               zero_point=0))),
                 [[2, 5, 3]]),
        "hard_swish": (_unary("HARD_SWISH", (1, 4, 4), out=(np.int8, qo)), [[3, 4, 4]]),
        "leaky_relu": (_unary("LEAKY_RELU", (1, 4, 4), out=(np.int8, qo),
                              options={"alpha": 0.2}), [[3, 4, 4]]),
        "relu": (_unary("RELU", (1, 4, 4), out=(np.int8, qo)), [[2, 4, 4]]),
        "relu6": (_unary("RELU6", (1, 8), out=(np.int8, qo)), [[3, 8]]),
        "relu_int16": (_unary("RELU", (1, 8), np.int16, out=(np.int16, dict(
            scale=0.02, zero_point=0)), version=3), [[3, 8]]),
        "leaky_relu_int16": (_unary("LEAKY_RELU", (1, 8), np.int16, out=(np.int16, dict(
            scale=0.02, zero_point=0)), options={"alpha": 0.3}, version=2), [[2, 8]]),
        "quantize_float": (op_model("QUANTIZE", [spec((1, 6), np.float32)],
                                    [spec((1, 6), **Q)]), [[3, 6]]),
        "requantize_int8": (op_model("QUANTIZE", [spec((1, 6), **Q)],
                                     [spec((1, 6), scale=0.02, zero_point=-1)], version=2),
                            [[3, 6]]),
        "requantize_int16_int8": (op_model("QUANTIZE", [spec((1, 6), np.int16, **Q16)],
                                           [spec((1, 6), **Q)], version=4), [[2, 6]]),
        "dequantize": (op_model("DEQUANTIZE", [spec((1, 2, 6), **Q)],
                                [spec((1, 2, 6), np.float32)], version=2), [[3, 2, 6]]),
        "reshape_minus_one": (_data("RESHAPE", [spec((1, 2, 3, 4), **Q),
                                                spec((2,), np.int32, data=[-1, 12])],
                                    spec((2, 12), **Q)), [[3, 2, 3, 4]]),
        "reshape_new_shape_option": (_data("RESHAPE", [spec((1, 6, 4), **Q)],
                                           spec((1, 24), **Q), {"new_shape": [-1, 24]}),
                                     [[2, 6, 4]]),
        "squeeze": (_data("SQUEEZE", [spec((1, 1, 1, 7), **Q)], spec((1, 7), **Q),
                          {"squeeze_dims": [1, 2]}), [[3, 1, 1, 7]]),
        "expand_dims": (_data("EXPAND_DIMS", [spec((1, 5), **Q),
                                              spec((1,), np.int32, data=[1])],
                              spec((1, 1, 5), **Q)), [[3, 5]]),
        "transpose": (_data("TRANSPOSE", [spec((1, 2, 3, 4), **Q),
                                          spec((4,), np.int32, data=[0, 3, 1, 2])],
                            spec((1, 4, 2, 3), **Q)), [[3, 2, 3, 4]]),
        "transpose_batch_moved": (_data("TRANSPOSE", [spec((1, 2, 3), **Q),
                                                      spec((3,), np.int32, data=[2, 0, 1])],
                                        spec((3, 1, 2), **Q)), [[2, 2, 3]]),
        "strided_slice": (_data("STRIDED_SLICE", [
            spec((1, 6, 5, 4), **Q), spec((4,), np.int32, data=[0, 1, 0, 1]),
            spec((4,), np.int32, data=[1, 6, 5, 4]), spec((4,), np.int32, data=[1, 2, 2, 1])],
            spec((1, 3, 3, 3), **Q), {"begin_mask": 1, "end_mask": 1}, version=2),
            [[3, 6, 5, 4]]),
        "concatenation": (_data("CONCATENATION", [spec((1, 3, 2), **Q),
                                                  spec((1, 3, 5), **Q)],
                                spec((1, 3, 7), **Q), {"axis": -1}),
                          [[3, 3, 2], [3, 3, 5]]),
        "concatenation_batch_axis": (_data("CONCATENATION", [spec((1, 3), **Q),
                                                             spec((1, 3), **Q)],
                                           spec((2, 3), **Q), {"axis": 0}),
                                     [[2, 3], [3, 3]]),
        "pack": (_data("PACK", [spec((1, 4), **Q), spec((1, 4), **Q)], spec((1, 2, 4), **Q),
                       {"values_count": 2, "axis": 1}), [[3, 4], [3, 4]]),
        "pad": (_data("PAD", [spec((1, 3, 4, 2), **Q),
                              spec((4, 2), np.int32, data=[[0, 0], [1, 2], [2, 1], [0, 0]])],
                      spec((1, 6, 7, 2), **Q)), [[3, 3, 4, 2]]),
        "padv2": (_data("PADV2", [spec((1, 3, 4), **Q),
                                  spec((3, 2), np.int32, data=[[0, 0], [1, 1], [0, 2]]),
                                  spec((1,), data=[-7], **Q)],
                        spec((1, 5, 6), **Q)), [[2, 3, 4]]),
        "flatten_pattern": (_flatten_pattern(), [[3, 3, 4, 2]]),
    }
    return c


OP_CASES = _op_cases()


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_op_at_batch_2_3_matches_litert(name):
    """The one-op model resized in both runtimes: same output shapes and values
    (shapes of the outputs after invoke: LiteRT sizes a RESHAPE whose shape is
    computed in the graph only then)."""
    model, shapes = OP_CASES[name]
    ours = resized(microdl.Interpreter(model_content=model, rounding=ROUNDING), shapes)
    ref = resized(oracle(model_content=model), shapes)
    rng = np.random.default_rng(len(name))
    for _ in range(2):
        xs = [batch_inputs(rng, s, d["dtype"])
              for s, d in zip(shapes, ours.get_input_details())]
        for g, w in zip(run(ours, xs), run(ref, xs)):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_array_equal(g, w)
    assert [tuple(d["shape"]) for d in ours.get_output_details()] == \
        [w.shape for w in run(ref, xs)]


@pytest.mark.parametrize("name", ["conv_fast", "depthwise_lanes", "depthwise_mult2",
                                  "depthwise_c1"])
@pytest.mark.parametrize("env", ["MICRODL_REFERENCE_KERNELS", "MICRODL_PORTABLE_KERNELS"])
def test_conv_kernel_variants_at_batch_3(name, env, monkeypatch):
    """The reference and the portable convolution kernels at batch > 1 too."""
    monkeypatch.setenv(env, "1")
    model, shapes = OP_CASES[name]
    shapes = [[3] + s[1:] for s in shapes]
    ours = resized(microdl.Interpreter(model_content=model, rounding=ROUNDING), shapes)
    ref = resized(oracle(model_content=model), shapes)
    x = batch_inputs(np.random.default_rng(4), shapes[0], np.int8)
    np.testing.assert_array_equal(run(ours, [x])[0], run(ref, [x])[0])


def test_transpose_conv_carries_the_batch_litert_refuses():
    """A constant output_shape [1, 8, 10, 3]: LiteRT resized to batch 3 fails at
    invoke; microdl carries the batch, and each item equals the batch-1 model."""
    model = _transpose_conv(np.random.default_rng(6))
    ref = resized(oracle(model_content=model), [[3, 4, 5, 2]])
    with pytest.raises(RuntimeError, match="TRANSPOSE_CONV"):
        run(ref, [np.zeros((3, 4, 5, 2), np.int8)])
    ours = resized(microdl.Interpreter(model_content=model), [[3, 4, 5, 2]])
    x = batch_inputs(np.random.default_rng(8), (3, 4, 5, 2), np.int8)
    got, = run(ours, [x])
    one = oracle(model_content=model)
    one.allocate_tensors()
    want = np.concatenate([run(one, [x[b:b + 1]])[0] for b in range(3)])
    np.testing.assert_array_equal(got, want)


RESIZABLE = sorted(n for n in OP_CASES if not n.startswith("transpose_conv"))


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(RESIZABLE), batch=st.integers(1, 6),
       seed=st.integers(0, 2 ** 16))
def test_op_at_any_batch_matches_litert(name, batch, seed):
    """Any batch 1-6 (inputs of batch 1 in a case keep it: broadcast operands;
    TRANSPOSE_CONV's constant output_shape fixes its batch in LiteRT)."""
    model, shapes = OP_CASES[name]
    shapes = [[batch] + s[1:] if s[0] > 1 else s for s in shapes]
    ours = resized(microdl.Interpreter(model_content=model, rounding=ROUNDING), shapes)
    ref = resized(oracle(model_content=model), shapes)
    rng = np.random.default_rng(seed)
    xs = [batch_inputs(rng, s, d["dtype"])
          for s, d in zip(shapes, ours.get_input_details())]
    for g, w in zip(run(ours, xs), run(ref, xs)):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_every_prepared_op_has_a_shape_rule():
    """Every builtin op microdl prepares (any form) has an output-shape rule, so a
    resize can follow it."""
    from microdl.runtime import shapeinfer
    from microdl.runtime.ops import PREPARERS, load_all

    load_all()
    names = {k if isinstance(k, str) else k[0] for k in PREPARERS}
    assert len(names) >= 27
    assert names - set(shapeinfer.RULES) == set()


def test_resize_leaves_the_model_constants_alone():
    path = shared_model("mlperf_tiny", "vww_96_int8.tflite")
    it = microdl.Interpreter(model_path=path)
    it.allocate_tensors()
    consts = {t["index"]: it.get_tensor(t["index"]) for t in it.get_tensor_details()
              if it._graph.tensors[t["index"]].data is not None}
    it.resize_tensor_input(0, [3, 96, 96, 3])
    it.allocate_tensors()
    assert len(consts) > 50
    for i, v in consts.items():
        np.testing.assert_array_equal(it.get_tensor(i), v)
