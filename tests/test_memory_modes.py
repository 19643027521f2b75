"""memory="fast" | "small": every model both modes run, bit for bit against LiteRT's
reference kernels (person_detect, which LiteRT refuses, against TFLite Micro), with
inputs kept and reusable, on 1 and 2 threads; the in-place convolutions on one-op
models of many geometries against LiteRT; and the arena plan of every model checked
by a walk over the schedule that shares nothing with the planner: two tensors whose
bytes overlap are never live at once, except an in-place node's input and output at
that node, when the input dies there.  arena_bytes in "small" is never above "fast"."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import microdl
from microdl.core.errors import UnsupportedOpError
from microdl.runtime.ops import Alias
from tests.conftest import shared_model
from tests.oplib import reference_interpreter, random_int, run_litert
from tests.test_conv_fast import conv_model, depthwise_model

MODELS = [
    ("mlperf_tiny", "kws_ref_model.tflite"),
    ("mlperf_tiny", "vww_96_int8.tflite"),
    ("mlperf_tiny", "pretrainedResnet_quant.tflite"),
    ("mlperf_tiny", "ad01_int8.tflite"),
    ("tflm", "hello_world_int8.tflite"),
    ("tflm", "micro_speech_quantized.tflite"),
    ("tflm", "person_detect.tflite"),
]
# Models with in-place candidates where "small" must actually go below "fast" (with
# preserve_inputs=False).
SHRINKS = {"kws_ref_model.tflite", "vww_96_int8.tflite", "pretrainedResnet_quant.tflite",
           "person_detect.tflite", "micro_speech_quantized.tflite"}
INPLACE_KERNELS = {"depthwise_conv_s8_inplace", "conv_s8_fast_inplace"}
CONFIGS = [(mode, keep, threads) for mode in ("fast", "small") for keep in (True, False)
           for threads in (1, 2)]


def _inputs(details, seed, n=3):
    rng = np.random.default_rng(seed)
    xs = []
    for k in range(n):
        xs.append([rng.integers(np.iinfo(d["dtype"]).min, np.iinfo(d["dtype"]).max + 1,
                                d["shape"]).astype(d["dtype"]) if k != 1 else
                   np.clip(d["quantization"][1] + rng.normal(0, 20, d["shape"]), -128,
                           127).astype(d["dtype"]) for d in details])
    xs.append([np.full(d["shape"], np.iinfo(d["dtype"]).max, d["dtype"]) for d in details])
    return xs


def _oracle_outputs(path, name, xs):
    """Outputs of the independent oracle for every input set, and the rounding microdl
    must use to match it."""
    if name == "person_detect.tflite":
        rt = pytest.importorskip("tflite_micro.python.tflite_micro.runtime")
        tflm = rt.Interpreter.from_file(path, arena_size=400_000)
        outs = []
        for x in xs:
            for j, v in enumerate(x):
                tflm.set_input(v, j)
            tflm.invoke()
            outs.append([tflm.get_output(0)])
        return outs, "tflm"
    ref = reference_interpreter(model_path=path)
    outs = []
    for x in xs:
        for d, v in zip(ref.get_input_details(), x):
            ref.set_tensor(d["index"], v)
        ref.invoke()
        outs.append([ref.get_tensor(d["index"]) for d in ref.get_output_details()])
    return outs, "litert"


def _ours(path, rounding, mode, keep, threads):
    try:
        it = microdl.Interpreter(model_path=path, rounding=rounding, memory=mode,
                                 preserve_inputs=keep, num_threads=threads)
    except UnsupportedOpError as e:  # pragma: no cover - every model above runs
        pytest.fail(f"microdl no longer runs {path}: {e}")
    it.allocate_tensors()
    return it


@pytest.mark.parametrize("folder,name", MODELS, ids=[m[1] for m in MODELS])
def test_every_mode_bit_exact(folder, name):
    path = shared_model(folder, name)
    probe = _ours(path, "litert", "fast", True, 1)
    xs = _inputs(probe.get_input_details(), len(name))
    want, rounding = _oracle_outputs(path, name, xs)
    arena = {}
    for mode, keep, threads in CONFIGS:
        it = _ours(path, rounding, mode, keep, threads)
        arena[mode, keep, threads] = it.arena_bytes
        ins, outs = it.get_input_details(), it.get_output_details()
        for x, w in zip(xs, want):
            for d, v in zip(ins, x):
                it.set_tensor(d["index"], v)
            it.invoke()
            for d, v in zip(outs, w):
                np.testing.assert_array_equal(
                    it.get_tensor(d["index"]), v,
                    err_msg=f"{name} memory={mode} preserve_inputs={keep} "
                            f"threads={threads}")
            if keep:  # the inputs survive invoke (in-place nodes never take them)
                for d, v in zip(ins, x):
                    np.testing.assert_array_equal(it.get_tensor(d["index"]), v)
    for keep in (True, False):
        for threads in (1, 2):
            assert arena["small", keep, threads] <= arena["fast", keep, threads]
    if name in SHRINKS:
        assert arena["small", False, 1] < arena["fast", False, 1]


def check_plan(it):
    """Walks the interpreter's bound nodes in run order (independently of the planner)
    and fails if two tensors whose arena bytes overlap are live at the same node, or a
    node's scratch overlaps a live tensor or another scratch of its stage, except an
    in-place node's input and output at that node, when no later node reads the
    input's bytes.  Returns the number of in-place nodes seen."""
    g = it._graph
    nodes = [n for _, n in it._nodes]
    end = len(nodes)
    alias = {}
    for _, s in it._steps:
        if isinstance(s, Alias):
            alias[s.output] = alias.get(s.input, s.input)
    group = lambda t: alias.get(t, t)  # noqa: E731
    live = {}  # group -> [first, last] node index

    def use(t, k):
        if t is None or not isinstance(t, (int, np.integer)) or t < 0:
            return
        if g.tensors[t].data is not None:
            return
        lo, hi = live.get(group(t), (k, k))
        live[group(t)] = (min(lo, k), max(hi, k))

    for t in g.inputs:
        use(t, 0)
        if it._preserve_inputs:
            use(t, end - 1)
    for k, n in enumerate(nodes):
        for t in n.inputs:
            use(t, k)
        use(n.output, k)
    for t in g.outputs:
        use(t, end - 1)
    span = {grp: (it._offsets[grp], it._offsets[grp] + g.tensors[grp].nbytes)
            for grp in live}
    for t, grp in alias.items():  # an alias covers the same bytes as its root
        assert it._offsets.get(t, it._offsets[grp]) == it._offsets[grp]
    inplace = {}
    for k, n in enumerate(nodes):
        if n.kernel in INPLACE_KERNELS:
            x, y = group(int(n.inputs[0])), group(n.output)
            assert live[x][1] == k, f"node {k}: in-place input read later"
            assert live[y][0] == k
            assert x not in {group(t) for t in g.outputs}
            if it._preserve_inputs:
                assert x not in {group(t) for t in g.inputs}
            inplace[frozenset((x, y))] = k
    groups = sorted(live)
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            (a0, a1), (b0, b1) = span[a], span[b]
            if a1 <= b0 or b1 <= a0:
                continue
            la, lb = live[a], live[b]
            if la[1] < lb[0] or lb[1] < la[0]:
                continue
            k = inplace.get(frozenset((a, b)))
            assert k is not None and max(la[0], lb[0]) == min(la[1], lb[1]) == k, \
                f"tensors {a} and {b} share arena bytes while both live"
    base = it._arena.ctypes.data
    scratch = {}
    plan = it._arena_plan
    for k, n in enumerate(nodes):
        if n.scratch_bytes:
            off = plan.scratch_offset(k)
            assert off is not None and 0 <= off and off + n.scratch_bytes <= it.arena_bytes
            scratch[k] = (off, off + n.scratch_bytes)
            for grp, (lo, hi) in live.items():
                if lo <= k <= hi:
                    s0, s1 = span[grp]
                    assert s1 <= off or off + n.scratch_bytes <= s0, \
                        f"node {k}: scratch overlaps live tensor {grp}"
    assert base % 16 == 0
    return len(set(inplace.values()))


@pytest.mark.parametrize("folder,name", MODELS, ids=[m[1] for m in MODELS])
def test_plan_never_overwrites_a_live_tensor(folder, name):
    path = shared_model(folder, name)
    seen = 0
    for mode, keep, threads in CONFIGS:
        it = _ours(path, "litert", mode, keep, threads)
        n = check_plan(it)
        if mode == "fast":
            assert n == 0
        seen += n
    if name in SHRINKS:
        assert seen > 0


def test_memory_argument_checked():
    path = shared_model("tflm", "hello_world_int8.tflite")
    with pytest.raises(ValueError, match="memory"):
        microdl.Interpreter(model_path=path, memory="tiny")


def test_summary_shows_the_plan():
    it = _ours(shared_model("mlperf_tiny", "kws_ref_model.tflite"), "litert", "small",
               False, 1)
    text = it.summary()
    assert f"arena {it.arena_bytes:,} bytes" in text
    assert f"layer-by-layer bound {it.lower_bound_bytes:,} bytes" in text
    assert "in place: ops 0" in text
    assert it.arena_bytes < it.lower_bound_bytes


# One-op models: the input dies at the op, so "small" runs it in place.
DEPTHWISE = [dict(h=9, w=7, c=8), dict(h=8, w=8, c=16, stride=(2, 2)),
             dict(h=10, w=6, c=24, padding="VALID"),
             dict(h=11, w=9, c=5, k=(5, 3), dilation=(2, 1)),
             dict(h=7, w=12, c=3, k=(1, 1)), dict(h=12, w=5, c=32, k=(3, 3),
                                                  stride=(2, 1), padding="VALID"),
             dict(h=6, w=6, c=17, mult=2), dict(h=16, w=3, c=8, k=(5, 1)),
             # output larger than the input, its last row across the input's end
             dict(h=9, w=7, c=9, k=(2, 1), stride=(1, 2), padding="VALID", mult=2)]
CONV = [dict(h=8, w=8, c=8, oc=16, k=(1, 1)), dict(h=9, w=9, c=3, oc=8, stride=(2, 2)),
        dict(h=7, w=5, c=16, oc=8, k=(1, 1)), dict(h=10, w=4, c=1, oc=64, k=(4, 2),
                                                 stride=(2, 2)),
        dict(h=6, w=6, c=4, oc=4, k=(3, 3))]


@pytest.mark.parametrize("case", DEPTHWISE + CONV,
                         ids=[f"dw{i}" for i in range(len(DEPTHWISE))] +
                             [f"conv{i}" for i in range(len(CONV))])
@pytest.mark.parametrize("seed", [0, 1])
def test_in_place_one_op(case, seed):
    rng = np.random.default_rng(seed + 10 * len(str(case)))
    model = (conv_model(rng, **case) if "oc" in case else depthwise_model(rng, **case))
    it = microdl.Interpreter(model_content=model, memory="small", preserve_inputs=False)
    it.allocate_tensors()
    fast = microdl.Interpreter(model_content=model, preserve_inputs=False)
    fast.allocate_tensors()
    d = it.get_input_details()[0]
    for trial in range(3):
        x = random_int(rng, tuple(d["shape"]))
        want, = run_litert(model, [x])
        it.set_tensor(d["index"], x)
        it.invoke()
        np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]),
                                      want)
    assert check_plan(it) == 1, "the op did not run in place"
    assert it.arena_bytes < fast.arena_bytes


def test_plan_checker_catches_an_overlap():
    """The checker above fails on a plan where two live tensors share bytes."""
    it = _ours(shared_model("mlperf_tiny", "kws_ref_model.tflite"), "litert", "fast",
               True, 1)
    node = it._nodes[3][1]
    x, y = int(node.inputs[0]), node.output
    it._offsets[y] = it._offsets[x]
    with pytest.raises(AssertionError, match="share arena bytes"):
        check_plan(it)


# TFLite Micro's arenas (head + tail) as its RecordingMicroAllocator reports them,
# measured with the tflite-micro package by tools/bench_runtime.py (README table).
TFLM_ARENA = {"kws_ref_model.tflite": 24272, "vww_96_int8.tflite": 103680,
              "pretrainedResnet_quant.tflite": 55984, "ad01_int8.tflite": 3984,
              "hello_world_int8.tflite": 1504, "micro_speech_quantized.tflite": 7584,
              "person_detect.tflite": 85264}


@pytest.mark.parametrize("folder,name", MODELS, ids=[m[1] for m in MODELS])
def test_fast_mode_at_or_below_tflite_micro(folder, name):
    it = _ours(shared_model(folder, name), "litert", "fast", True, 1)
    assert it.arena_bytes <= TFLM_ARENA[name]


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_in_place_random_geometries(data):
    """Random one-op geometries in "small" mode against LiteRT; whether a layer runs in
    place is the planner's choice, the answer must be exact either way (and the C
    operator's ring never overflows: it would fail the invoke)."""
    dw = data.draw(st.booleans(), "depthwise")
    h, w = data.draw(st.integers(1, 14), "h"), data.draw(st.integers(1, 10), "w")
    c = data.draw(st.integers(1, 20), "c")
    k = (data.draw(st.integers(1, 5), "kh"), data.draw(st.integers(1, 4), "kw"))
    stride = (data.draw(st.integers(1, 3), "sh"), data.draw(st.integers(1, 2), "sw"))
    dil = (data.draw(st.integers(1, 2), "dh"), 1)
    padding = data.draw(st.sampled_from(["SAME", "VALID"]), "padding")
    if padding == "VALID" and (h < (k[0] - 1) * dil[0] + 1 or w < k[1]):
        padding = "SAME"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), "seed"))
    if dw:
        model = depthwise_model(rng, h=h, w=w, c=c, k=k, stride=stride, dilation=dil,
                                padding=padding, mult=data.draw(st.sampled_from([1, 2])))
    else:
        model = conv_model(rng, h=h, w=w, c=c, oc=data.draw(st.integers(1, 40), "oc"),
                           k=k, stride=stride, dilation=dil, padding=padding)
    it = microdl.Interpreter(model_content=model, memory="small", preserve_inputs=False)
    it.allocate_tensors()
    check_plan(it)
    d = it.get_input_details()[0]
    x = random_int(rng, tuple(d["shape"]))
    want, = run_litert(model, [x])
    it.set_tensor(d["index"], x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), want)
