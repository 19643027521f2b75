"""Engine properties: no allocation in invoke(), the GIL released for concurrent
interpreters, arena planning."""
import threading
import tracemalloc

import numpy as np

import microdl
from microdl.runtime import planner
from tests.conftest import shared_model


def _interpreter(name="ad01_int8.tflite", folder="mlperf_tiny", **kw):
    it = microdl.Interpreter(model_path=shared_model(folder, name), **kw)
    it.allocate_tensors()
    return it


def _traced_peak(fn):
    """(bytes still allocated, peak bytes) that fn() leaves / reaches, per tracemalloc
    (which sees Python objects and numpy buffers)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        fn()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before, peak - before


def assert_invoke_allocates_nothing(it, calls=200):
    """calls x it.invoke() adds nothing to what an empty loop allocates (tracemalloc)."""
    it.invoke()  # warm up
    invoke = it.invoke

    def empty_loop():
        for _ in range(calls):
            pass

    def invoke_loop():
        for _ in range(calls):
            invoke()

    # The loop itself costs a few bytes (its iterator); invoke() must add nothing.
    assert _traced_peak(invoke_loop) == _traced_peak(empty_loop)
    return empty_loop


def test_invoke_allocates_nothing():
    it = _interpreter()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], np.ones(d["shape"], np.int8))
    empty_loop = assert_invoke_allocates_nothing(it)
    # A check that can fail: something that allocates is seen.
    assert _traced_peak(lambda: [it.get_tensor(d["index"]) for _ in range(3)])[1] > \
        _traced_peak(empty_loop)[1]


def test_kernels_never_allocate():
    import glob
    import os
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = (glob.glob(os.path.join(root, "cext", "src", "*.c")) +
             glob.glob(os.path.join(root, "cext", "src", "ukernels", "*.c")))
    assert len(paths) > 20
    for path in paths:
        with open(path) as f:
            code = f.read()
        assert not re.search(r"\b(malloc|calloc|realloc|free|printf)\s*\(", code), path


def test_two_threads_two_interpreters_identical_results():
    name = "ad01_int8.tflite"
    a, b = _interpreter(name), _interpreter(name)
    rng = np.random.default_rng(0)
    d = a.get_input_details()[0]
    out = a.get_output_details()[0]["index"]
    xs = [rng.integers(-128, 128, d["shape"]).astype(np.int8) for _ in range(20)]
    solo = _interpreter(name)
    want = []
    for x in xs:
        solo.set_tensor(d["index"], x)
        solo.invoke()
        want.append(solo.get_tensor(out))
    results = {}

    def worker(it, key):
        got = []
        for _ in range(25):
            for x in xs:
                it.set_tensor(d["index"], x)
                it.invoke()
                got.append(it.get_tensor(out))
        results[key] = got

    threads = [threading.Thread(target=worker, args=(it, k)) for k, it in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in ("a", "b"):
        assert len(results[key]) == 25 * len(xs)
        for i, g in enumerate(results[key]):
            np.testing.assert_array_equal(g, want[i % len(xs)])


def test_planner_never_overlaps_live_buffers():
    rng = np.random.default_rng(1)
    for _ in range(50):
        bufs = []
        for k in range(int(rng.integers(1, 30))):
            first = int(rng.integers(0, 20))
            bufs.append(planner.Buffer(k, int(rng.integers(1, 5000)), first,
                                       first + int(rng.integers(0, 6))))
        offsets, total = planner.plan(bufs)
        assert total >= planner.lower_bound(bufs)
        for i, x in enumerate(bufs):
            assert offsets[x.key] % 16 == 0
            assert offsets[x.key] + x.size <= total
            for y in bufs[i + 1:]:
                if x.last < y.first or y.last < x.first:
                    continue
                ox, oy = offsets[x.key], offsets[y.key]
                assert ox + x.size <= oy or oy + y.size <= ox


def test_planner_reaches_lower_bound_on_a_chain():
    sizes = [100, 400, 50, 800, 200, 30]
    bufs = [planner.Buffer(i, s, i, i + 1) for i, s in enumerate(sizes)]
    _, total = planner.plan(bufs)
    assert total == planner.lower_bound(bufs)


def test_arena_is_aligned_and_inputs_preserved():
    it = _interpreter()
    assert it.arena_bytes % 16 == 0
    assert it._arena.ctypes.data % 16 == 0
    d = it.get_input_details()[0]
    x = np.arange(640).astype(np.int8).reshape(d["shape"])
    it.set_tensor(d["index"], x)
    it.invoke()
    first = it.get_tensor(it.get_output_details()[0]["index"])
    np.testing.assert_array_equal(it.get_tensor(d["index"]), x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), first)


def test_not_preserving_inputs_never_grows_the_arena():
    a = _interpreter()
    b = _interpreter(preserve_inputs=False)
    assert b.arena_bytes <= a.arena_bytes


# TFLite Micro's measured minimum arenas (head + tail, x86-64; ../shared/models/README.md)
# and the largest live set of activations, from the issue.
TFLM_ARENA = {"kws_ref_model.tflite": 24285, "vww_96_int8.tflite": 103683,
              "pretrainedResnet_quant.tflite": 55993, "ad01_int8.tflite": 3983}
LIVE_SET = {"kws_ref_model.tflite": 16000, "vww_96_int8.tflite": 55296,
            "pretrainedResnet_quant.tflite": 49152, "ad01_int8.tflite": 768}


def test_arena_within_tflite_micro_and_at_lower_bound(monkeypatch):
    for name, tflm in TFLM_ARENA.items():
        kept = _interpreter(name)
        assert kept.arena_bytes <= tflm, name
        # The planner reaches the largest live set of its buffers (activations and the
        # fast kernels' im2col scratch) once inputs may be reused.
        reused = _interpreter(name, preserve_inputs=False)
        assert reused.arena_bytes == reused.lower_bound_bytes, name
    # Without scratch (the plain reference kernels), that bound is the activations'
    # largest live set: reached on every model, chain (VWW: TFLite Micro needs 73,728 B)
    # or not.
    monkeypatch.setenv("MICRODL_REFERENCE_KERNELS", "1")
    for name, live in LIVE_SET.items():
        reused = _interpreter(name, preserve_inputs=False)
        assert reused.lower_bound_bytes == live, name
        assert reused.arena_bytes == live, name


def test_preserve_all_tensors_keeps_intermediates_like_litert():
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = shared_model("mlperf_tiny", "kws_ref_model.tflite")
    ours = microdl.Interpreter(model_path=path, experimental_preserve_all_tensors=True)
    ours.allocate_tensors()
    ref = Interpreter(model_path=path, experimental_preserve_all_tensors=True,
                      experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    ref.allocate_tensors()
    d = ours.get_input_details()[0]
    x = np.random.default_rng(3).integers(-128, 128, d["shape"]).astype(np.int8)
    ours.set_tensor(d["index"], x)
    ref.set_tensor(d["index"], x)
    ours.invoke()
    ref.invoke()
    compared = 0
    for op in ours.get_ops_details():
        for t in op["outputs"]:
            np.testing.assert_array_equal(ours.get_tensor(t), ref.get_tensor(t))
            compared += 1
    assert compared == len(ours.get_ops_details())
    plain = _interpreter("kws_ref_model.tflite")
    assert ours.arena_bytes > plain.arena_bytes


def test_profile_ops_covers_every_executed_op():
    it = _interpreter("kws_ref_model.tflite")
    rows = it.profile_ops(repeats=3)
    executed = {op for op in it._node_ops}
    assert [r["index"] for r in rows] == sorted(executed)
    assert all(r["seconds"] > 0 for r in rows)
    assert sum(r["macs"] for r in rows) == sum(o["macs"] for o in it.get_ops_details())
    # The RESHAPE is an alias: no node, no row.
    assert "RESHAPE" not in {r["op_name"] for r in rows}
