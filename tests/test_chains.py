"""memory="small": fused chains of fast convolutions (cext/include/mdl_chain.h; the
interpreter's _plan_small picks them).  Chains of 2-4 CONV_2D / DEPTHWISE_CONV_2D
layers of random geometry against LiteRT's reference kernels, with the plan checked
by test_memory_modes.check_plan (which shares nothing with the planner); the issue's
goal on VWW and person_detect (48 KiB in "small" mode, inputs kept); and a chain node
that is refused when its window is too small for its reader."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import microdl
from microdl.core import shapes
from microdl.runtime._engine import KernelError
from tests.conftest import shared_model
from tests.oplib import graph_model, random_int, run_litert, spec
from tests.test_memory_modes import check_plan

PAD = {"SAME": 0, "VALID": 1}  # schema Padding


def chain_model(rng, h, w, c, layers):
    """An int8 model of consecutive layers: ("conv", out_channels, (kh, kw), stride,
    padding) or ("dw", depth_multiplier, (kh, kw), stride, padding); per-channel
    weights, multipliers that keep most outputs in range."""
    tensors = [spec((1, h, w, c), scale=0.05, zero_point=int(rng.integers(-128, 128)))]
    ops, x, in_scale = [], 0, 0.05
    for kind, n, (kh, kw), stride, padding in layers:
        oc = n if kind == "conv" else c * n
        taps = kh * kw * (c if kind == "conv" else 1)
        real = 1.0 / (74.0 * 74.0 * np.sqrt(taps) / 40.0)
        ws = np.full(oc, real / in_scale, np.float32) * rng.uniform(0.7, 1.3, oc).astype(np.float32)
        shape = (oc, kh, kw, c) if kind == "conv" else (1, kh, kw, oc)
        tensors.append(spec(shape, data=random_int(rng, shape), scales=ws,
                            quantized_dimension=0 if kind == "conv" else 3))
        bound = int(30 / real) + 1
        tensors.append(spec((oc,), np.int32, data=rng.integers(-bound, bound, oc).astype(np.int32),
                            scales=ws * np.float32(in_scale)))
        h = shapes.out_size(padding, h, kh, stride, 1)
        w = shapes.out_size(padding, w, kw, stride, 1)
        tensors.append(spec((1, h, w, oc), scale=1.0, zero_point=int(rng.integers(-128, 128))))
        opts = {"padding": PAD[padding], "stride_h": stride, "stride_w": stride,
                "dilation_h_factor": 1, "dilation_w_factor": 1,
                "fused_activation_function": 0}
        if kind == "dw":
            opts["depth_multiplier"] = n
        y = len(tensors) - 1
        ops.append(("CONV_2D" if kind == "conv" else "DEPTHWISE_CONV_2D",
                    [x, y - 2, y - 1], [y], opts, 3))
        x, c, in_scale = y, oc, 1.0
    return graph_model(tensors, ops, [0], [x])


def _run(model, keep, x):
    it = microdl.Interpreter(model_content=model, memory="small", preserve_inputs=keep)
    it.allocate_tensors()
    check_plan(it)
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], x)
    it.invoke()
    return it, it.get_tensor(it.get_output_details()[0]["index"])


LAYER = st.tuples(st.sampled_from(["conv", "dw"]), st.integers(1, 3),
                  st.sampled_from([(1, 1), (3, 3), (5, 3), (3, 1)]), st.integers(1, 2),
                  st.sampled_from(["SAME", "VALID"]))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_chains_bit_exact(data):
    """Whether layers run fused is the planner's choice; the answer must equal
    LiteRT's either way, with inputs kept and reusable."""
    h, w = data.draw(st.integers(6, 20), "h"), data.draw(st.integers(3, 12), "w")
    c = data.draw(st.integers(1, 12), "c")
    layers = data.draw(st.lists(LAYER, min_size=2, max_size=5), "layers")
    layers = [(k, n * 4 if k == "conv" else n, f, s, p) for k, n, f, s, p in layers]
    hh, ww = h, w
    for _, _, (kh, kw), s, p in layers:  # VALID needs room
        if p == "VALID" and (hh < kh or ww < kw):
            return
        hh, ww = shapes.out_size(p, hh, kh, s, 1), shapes.out_size(p, ww, kw, s, 1)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), "seed"))
    model = chain_model(rng, h, w, c, layers)
    x = random_int(rng, (1, h, w, c))
    want, = run_litert(model, [x])
    for keep in (True, False):
        _, got = _run(model, keep, x)
        np.testing.assert_array_equal(got, want)


def test_chain_goes_below_the_layer_by_layer_bound():
    """An expansion, a depthwise and a projection (an inverted residual block without
    the residual): fused, the wide intermediate tensors never exist whole; the arena
    drops below the layer-by-layer bound and the in-place-only plan."""
    rng = np.random.default_rng(5)
    model = chain_model(rng, 24, 24, 8, [("conv", 48, (1, 1), 1, "SAME"),
                                         ("dw", 1, (3, 3), 2, "SAME"),
                                         ("conv", 8, (1, 1), 1, "SAME")])
    x = random_int(rng, (1, 24, 24, 8))
    want, = run_litert(model, [x])
    it, got = _run(model, False, x)
    np.testing.assert_array_equal(got, want)
    assert it._fused_ops == [(0, 1, 2)]
    assert [n.kernel for _, n in it._nodes] == ["conv_chain_s8"]
    assert it.arena_bytes < it.lower_bound_bytes
    assert "fused: ops 0+1+2" in it.summary()
    # the wide tensor alone (24 x 24 x 48) is more than twice the whole arena
    assert it.arena_bytes < 24 * 24 * 48 // 2


@pytest.mark.parametrize("folder,name", [("mlperf_tiny", "vww_96_int8.tflite"),
                                         ("tflm", "person_detect.tflite")])
@pytest.mark.parametrize("keep", [True, False])
def test_vww_and_person_detect_fit_48_kib(folder, name, keep):
    """The memory issue's goal: VWW and person_detect at or below 48 KiB in "small"
    mode (bit-exactness in every mode: test_memory_modes)."""
    it = microdl.Interpreter(model_path=shared_model(folder, name), memory="small",
                             preserve_inputs=keep)
    it.allocate_tensors()
    assert it.arena_bytes <= 48 * 1024
    assert it._fused_ops
    check_plan(it)


def test_chain_window_too_small_is_refused():
    """A chain node whose window cannot hold what one output row of its reader reads
    fails the invoke with a KernelError (C checks it) instead of reading past it."""
    rng = np.random.default_rng(5)
    model = chain_model(rng, 24, 24, 8, [("conv", 48, (1, 1), 1, "SAME"),
                                         ("dw", 1, (3, 3), 2, "SAME"),
                                         ("conv", 8, (1, 1), 1, "SAME")])
    it = microdl.Interpreter(model_content=model, memory="small", preserve_inputs=False)
    it.allocate_tensors()
    node = it._nodes[0][1]
    assert node.kernel == "conv_chain_s8"
    it.set_tensor(it.get_input_details()[0]["index"], random_int(rng, (1, 24, 24, 8)))
    it.invoke()
    rows = list(node.params["window_rows"])
    rows[0] = 2  # the 3x3 depthwise reader needs 3 rows of the expansion
    node.params["window_rows"] = rows
    it._bind(it._nodes, [1], it._arena_plan, it._arena)
    with pytest.raises(KernelError):
        it.invoke()


def test_npu_sram_check_uses_the_small_plan():
    """The NPU model places activations with the plan microdl runs (memory="small"):
    VWW's tensors then fit a 48 KiB SRAM with nothing spilled, where the one-stage-
    per-op plan spills and pays for it; placed tensors keep the interpreter's
    offsets, and fused intermediates (no arena bytes of their own) are not placed."""
    from microdl.npu import NPUConfig, estimate, sram_placement
    model = open(shared_model("mlperf_tiny", "vww_96_int8.tflite"), "rb").read()
    cfg = NPUConfig.preset("ethos-u55-128").replace(sram_bytes=48 * 1024)
    fast = sram_placement(model, cfg)
    small = sram_placement(model, cfg, memory="small")
    assert fast.spilled_bytes > 0 and fast.extra_cycles > 0
    assert small.spilled_bytes == 0 and small.extra_cycles == 0
    it = microdl.Interpreter(model_content=model, memory="small")
    it.allocate_tensors()
    offsets = it.arena_offsets()
    placed = {t["index"]: t["offset"] for t in small.tensors}
    assert placed and all(offsets[t] == off for t, off in placed.items())
    mids = {it._graph.ops[i].outputs[0] for chain in it._fused_ops for i in chain[:-1]}
    assert mids and not mids & set(offsets) and not mids & set(placed)
    assert not estimate(model, cfg).fits_sram
    assert estimate(model, cfg, memory="small").fits_sram
    with pytest.raises(ValueError, match="memory"):
        sram_placement(model, cfg, memory="tiny")


def test_bench_row_in_small_mode():
    from microdl.bench import bench_model
    path = shared_model("tflm", "person_detect.tflite")
    fast = bench_model(path, repeats=5)
    small = bench_model(path, repeats=5, memory="small")
    it = microdl.Interpreter(model_path=path, memory="small")
    it.allocate_tensors()
    assert (small["memory"], small["arena_bytes"]) == ("small", it.arena_bytes)
    assert fast["memory"] == "fast" and fast["arena_bytes"] > small["arena_bytes"]
    assert small["arena_bound_bytes"] == it.lower_bound_bytes > small["arena_bytes"]


def test_profile_ops_shows_chains():
    """profile_ops() in "small" mode: a fused chain is one row named by its ops and
    bound kernel, with the chain's MACs; every MAC of the model is in some row."""
    it = microdl.Interpreter(model_path=shared_model("mlperf_tiny", "vww_96_int8.tflite"),
                             memory="small", preserve_inputs=False)
    it.allocate_tensors()
    rows = it.profile_ops(repeats=2)
    fused = {c[0]: c for c in it._fused_ops}
    assert fused
    g = it._graph
    for r in rows:
        if r["index"] in fused:
            c = fused[r["index"]]
            assert r["kernel"] == "conv_chain_s8"
            assert r["op_name"] == "+".join(g.ops[i].name for i in c)
    assert sum(r["macs"] for r in rows) == sum(o["macs"] for o in it.get_ops_details())
