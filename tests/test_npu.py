"""microdl.npu: NPU configs (presets, files, validation) and the cost model's
invariants (more MACs/cycle never slower, memory-bound layers scale with bandwidth,
overhead adds exactly, the SRAM fit flag flips at the arena size)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microdl.core.graph import Graph, Op, Quantization, Tensor
from microdl.npu import (PRESETS, Estimate, NPUConfig, NPUConfigError,
                         encoded_weight_bytes, estimate, load_config,
                         planned_arena_bytes, save_config)
from microdl.core.macs import op_macs
from tests.conftest import shared_model

MLPERF = ["vww_96_int8", "kws_ref_model", "pretrainedResnet_quant", "ad01_int8"]
U55_CHAIN = ["ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256"]
FAST = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------- graph builder
class _Builder:
    """Builds small int8 graphs op by op (a chain, plus optional side inputs)."""

    def __init__(self, shape, seed=0):
        self.tensors = []
        self.ops = []
        self.rng = np.random.default_rng(seed)
        self.x = self._act(shape)
        self.inputs = [self.x]

    def _tensor(self, shape, dtype=np.int8, data=None):
        t = Tensor(index=len(self.tensors), name=f"t{len(self.tensors)}",
                   dtype=np.dtype(dtype), shape=tuple(shape),
                   shape_signature=tuple(shape),
                   quant=Quantization(np.array([0.05], np.float32),
                                      np.array([0], np.int64)),
                   data=data)
        self.tensors.append(t)
        return t.index

    def _act(self, shape):
        return self._tensor(shape)

    def _const(self, shape, dtype=np.int8):
        if np.dtype(dtype) == np.int8:
            data = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        else:
            data = self.rng.integers(-1000, 1000, size=shape).astype(dtype)
        return self._tensor(shape, dtype, data)

    def _op(self, name, inputs, out_shape, **options):
        y = self._act(out_shape)
        self.ops.append(Op(index=len(self.ops), name=name, version=1,
                           inputs=list(inputs), outputs=[y], options=options))
        self.x = y
        return y

    def shape(self):
        return self.tensors[self.x].shape

    def conv(self, c_out, k=3, stride=1):
        n, h, w, c = self.shape()
        oh, ow = -(-h // stride), -(-w // stride)
        wt = self._const((c_out, k, k, c))
        b = self._const((c_out,), np.int32)
        return self._op("CONV_2D", [self.x, wt, b], (n, oh, ow, c_out), padding=0,
                        stride_w=stride, stride_h=stride, dilation_w_factor=1,
                        dilation_h_factor=1, fused_activation_function=1)

    def depthwise(self, k=3, stride=1):
        n, h, w, c = self.shape()
        oh, ow = -(-h // stride), -(-w // stride)
        wt = self._const((1, k, k, c))
        b = self._const((c,), np.int32)
        return self._op("DEPTHWISE_CONV_2D", [self.x, wt, b], (n, oh, ow, c),
                        padding=0, stride_w=stride, stride_h=stride,
                        depth_multiplier=1, dilation_w_factor=1, dilation_h_factor=1,
                        fused_activation_function=1)

    def avgpool(self, k=2):
        n, h, w, c = self.shape()
        return self._op("AVERAGE_POOL_2D", [self.x], (n, h // k, w // k, c),
                        padding=1, stride_w=k, stride_h=k, filter_width=k,
                        filter_height=k, fused_activation_function=0)

    def add_residual(self):
        other = self._act(self.shape())
        self.inputs.append(other)
        return self._op("ADD", [self.x, other], self.shape(),
                        fused_activation_function=0)

    def reshape_flat(self):
        shape = self.shape()
        return self._op("RESHAPE", [self.x], (shape[0], int(np.prod(shape[1:]))))

    def fc(self, c_out):
        n, c = self.shape()
        wt = self._const((c_out, c))
        b = self._const((c_out,), np.int32)
        return self._op("FULLY_CONNECTED", [self.x, wt, b], (n, c_out),
                        fused_activation_function=0)

    def softmax(self):
        return self._op("SOFTMAX", [self.x], self.shape(), beta=1.0)

    def custom(self):
        return self._op("SOME_CUSTOM_OP", [self.x], self.shape())

    def graph(self):
        return Graph(tensors=self.tensors, ops=self.ops, inputs=list(self.inputs),
                     outputs=[self.x])


def small_cnn(seed=0, h=24, w=24, c=3):
    b = _Builder((1, h, w, c), seed)
    b.conv(16, k=3, stride=2)
    b.depthwise()
    b.conv(32, k=1)
    b.add_residual()
    b.avgpool(2)
    b.reshape_flat()
    b.fc(10)
    b.softmax()
    return b.graph()


@st.composite
def layer_graphs(draw):
    """A one- or two-op graph with random shapes: conv, depthwise, FC, pool, add."""
    kind = draw(st.sampled_from(["conv", "conv1x1", "depthwise", "fc", "pool", "add"]))
    side = 4 if kind == "fc" else 40           # FC weights grow with h*w*c
    h = draw(st.integers(1, side))
    w = draw(st.integers(1, side))
    c = draw(st.integers(1, 96))
    b = _Builder((1, h, w, c), seed=draw(st.integers(0, 1000)))
    if kind == "conv":
        b.conv(draw(st.integers(1, 96)), k=draw(st.sampled_from([1, 3, 5])),
               stride=draw(st.sampled_from([1, 2])))
    elif kind == "conv1x1":
        b.conv(draw(st.integers(1, 256)), k=1)
    elif kind == "depthwise":
        b.depthwise(k=draw(st.sampled_from([3, 5])), stride=draw(st.sampled_from([1, 2])))
    elif kind == "fc":
        b.reshape_flat()
        b.fc(draw(st.integers(1, 300)))
    elif kind == "pool":
        k = draw(st.integers(1, max(1, min(h, w))))
        b.avgpool(k)
    else:
        b.add_residual()
    return b.graph()


def _model_bytes(name):
    with open(shared_model("mlperf_tiny", f"{name}.tflite"), "rb") as f:
        return f.read()


# ------------------------------------------------------------------ presets
def test_presets_have_public_figures():
    assert set(PRESETS) == {"ethos-u55-32", "ethos-u55-64", "ethos-u55-128",
                            "ethos-u55-256", "ethos-u65-256", "ethos-u65-512",
                            "generic"}
    for name, cfg in PRESETS.items():
        h, w, d = cfg.ublock_hwc
        assert h * w * d * cfg.dot_product_depth == cfg.macs_per_cycle, name
    u55 = NPUConfig.preset("ethos-u55-128")
    assert (u55.macs_per_cycle, u55.clock_hz) == (128, 500e6)
    assert u55.sram_gb_per_s == pytest.approx(4.0)        # Ethos_U55_High_End_Embedded
    assert u55.offchip_gb_per_s == pytest.approx(0.5)
    assert (u55.weights_in, u55.activations_in) == ("offchip", "sram")  # Shared_Sram
    u65 = NPUConfig.preset("ETHOS-U65-256")               # case-insensitive
    assert (u65.macs_per_cycle, u65.clock_hz) == (256, 1e9)
    assert u65.sram_gb_per_s == pytest.approx(16.0)       # Ethos_U65_Client_Server
    assert u65.offchip_gb_per_s == pytest.approx(12.0)
    assert u65.sram_bytes == 384 * 1024                   # Dedicated_Sram_384KB
    assert u65.activations_in == "sram_cache"
    assert NPUConfig.preset("ethos-u65-512").macs_per_cycle == 512
    assert [PRESETS[n].macs_per_cycle for n in U55_CHAIN] == [32, 64, 128, 256]


def test_unknown_preset_lists_names():
    with pytest.raises(NPUConfigError) as e:
        NPUConfig.preset("ethos-u99")
    for name in PRESETS:
        assert name in str(e.value)


@pytest.mark.parametrize("macs", [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096])
def test_derived_ublock_grows_one_dimension_at_a_time(macs):
    cfg = NPUConfig(macs_per_cycle=macs)
    h, w, d = cfg.ublock_hwc
    assert h * w * d * 8 == macs
    if macs > 8:
        ph, pw, pd = NPUConfig(macs_per_cycle=macs // 2).ublock_hwc
        ratios = sorted([h / ph, w / pw, d / pd])
        assert ratios == [1, 1, 2]
    assert cfg.output_rate == macs / 64 and cfg.elementwise_rate == macs / 192


# --------------------------------------------------------------- validation
@pytest.mark.parametrize("changes, message", [
    (dict(macs_per_cycle=0), "macs_per_cycle must be > 0"),
    (dict(macs_per_cycle=96), "power of two"),
    (dict(macs_per_cycle=128, ublock=(2, 2, 8)), "macs_per_cycle is 128"),
    (dict(ublock=(2, 2)), "ublock must be three positive integers"),
    (dict(ofm_block=(16, 0, 16)), "ofm_block must be three positive integers"),
    (dict(clock_hz=-1.0), "clock_hz must be > 0"),
    (dict(clock_hz=float("nan")), "clock_hz must be finite"),
    (dict(sram_bytes_per_cycle=0), "sram_bytes_per_cycle must be > 0"),
    (dict(offchip_bytes_per_cycle="fast"), "offchip_bytes_per_cycle must be a number"),
    (dict(sram_bytes=-5), "sram_bytes must be an integer >= 0"),
    (dict(op_overhead_cycles=-1), "op_overhead_cycles must be >= 0"),
    (dict(weights_in="dram"), "weights_in must be one of"),
    (dict(activations_in="cache"), "activations_in must be one of"),
    (dict(ifm_block_depth=12), "multiple of dot_product_depth"),
    (dict(compress_weights="yes"), "compress_weights must be true or false"),
    (dict(name=""), "name must be a non-empty string"),
])
def test_bad_config_values_raise_clear_errors(changes, message):
    with pytest.raises(NPUConfigError, match=message):
        NPUConfig(**changes)


def test_from_dict_errors():
    with pytest.raises(NPUConfigError, match=r"unknown NPU config key\(s\) \['mac'\]"):
        NPUConfig.from_dict({"mac": 128})
    with pytest.raises(NPUConfigError, match="not both"):
        NPUConfig.from_dict({"sram_gb_per_s": 4, "sram_bytes_per_cycle": 8})
    with pytest.raises(NPUConfigError, match="unknown NPU preset"):
        NPUConfig.from_dict({"preset": "nope"})
    with pytest.raises(NPUConfigError, match="table of settings"):
        NPUConfig.from_dict([1, 2])


def test_from_dict_units_and_preset_base():
    cfg = NPUConfig.from_dict({"preset": "ethos-u55-128", "clock_mhz": 400,
                               "offchip_gb_per_s": 0.2, "sram_bytes": 512 * 1024})
    assert cfg.clock_hz == 400e6
    assert cfg.offchip_bytes_per_cycle == pytest.approx(0.5)
    assert cfg.macs_per_cycle == 128 and cfg.ublock == (1, 2, 8)
    assert cfg.sram_bytes == 512 * 1024


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("ext", ["json", "toml"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_config_file_round_trip(tmp_path, ext, name):
    cfg = NPUConfig.preset(name).replace(name=f"my {name}", sram_bytes=123456,
                                         offchip_bytes_per_cycle=1 / 3)
    path = tmp_path / f"npu.{ext}"
    save_config(cfg, path)
    assert load_config(path) == cfg


def test_config_file_handwritten(tmp_path):
    toml = tmp_path / "chip.toml"
    toml.write_text('preset = "ethos-u55-64"\nname = "my mcu"\nclock_mhz = 250\n'
                    'sram_bytes = 262144\nsram_gb_per_s = 2.0\n'
                    'weights_in = "sram"\n')
    cfg = load_config(toml)
    assert (cfg.name, cfg.macs_per_cycle, cfg.clock_hz) == ("my mcu", 64, 250e6)
    assert cfg.sram_bytes_per_cycle == pytest.approx(8.0)
    assert cfg.weights_in == "sram"
    js = tmp_path / "chip.json"
    js.write_text(json.dumps({"macs_per_cycle": 512, "clock_hz": 8e8}))
    cfg = load_config(js)
    assert cfg.ublock_hwc == (2, 2, 16) and cfg.name == "generic"


def test_bad_config_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("macs_per_cycle = [unclosed\n")
    with pytest.raises(NPUConfigError, match="not valid TOML"):
        load_config(bad)
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(NPUConfigError, match="not valid JSON"):
        load_config(bad)
    bad = tmp_path / "bad.yaml"
    bad.write_text("macs_per_cycle: 1\n")
    with pytest.raises(NPUConfigError, match=r"\.json or \.toml"):
        load_config(bad)
    bad = tmp_path / "key.toml"
    bad.write_text("macs = 64\n")
    with pytest.raises(NPUConfigError) as e:
        load_config(bad)
    assert "key.toml" in str(e.value) and "macs_per_cycle" in str(e.value)
    bad = tmp_path / "value.json"
    bad.write_text(json.dumps({"weights_in": "rom"}))
    with pytest.raises(NPUConfigError, match="weights_in must be one of"):
        load_config(bad)
    with pytest.raises(OSError):
        load_config(tmp_path / "missing.toml")


# ---------------------------------------------------------- estimate basics
def test_estimate_structure_and_totals():
    g = small_cnn()
    est = estimate(g, "ethos-u55-128")
    assert isinstance(est, Estimate) and est.arena_source == "planned"
    assert [layer.index for layer in est.layers] == list(range(len(g.ops)))
    cfg = est.config
    for layer, op in zip(est.layers, g.ops):
        assert layer.op_name == op.name
        assert layer.macs == op_macs(op, g)
        assert layer.output_shape == tuple(g.tensors[op.outputs[0]].shape)
        if op.name == "RESHAPE":
            assert (layer.cycles, layer.bound) == (0.0, "none")
            continue
        assert layer.cycles == pytest.approx(
            max(layer.compute_cycles, layer.memory_cycles) + layer.overhead_cycles)
        assert layer.bound == ("compute" if layer.compute_cycles >= layer.memory_cycles
                               else "memory")
        assert 0 <= layer.utilization <= 1
        assert layer.sram_bytes > 0
    assert est.total_cycles == pytest.approx(sum(la.cycles for la in est.layers))
    assert est.latency_s == pytest.approx(est.total_cycles / cfg.clock_hz)
    assert est.inferences_per_s == pytest.approx(1 / est.latency_s)
    assert est.total_macs == sum(op_macs(op, g) for op in g.ops)
    assert est.mac_utilization == pytest.approx(
        est.total_macs / (est.total_cycles * cfg.macs_per_cycle))
    assert est.sram_bytes_read_written == sum(la.sram_bytes for la in est.layers)
    assert est.offchip_bytes == sum(la.offchip_bytes for la in est.layers)
    # Weights come from flash once: the off-chip traffic is the weight streams.
    assert est.offchip_bytes == est.encoded_weight_bytes
    d = json.loads(json.dumps(est.to_dict()))
    assert d["total_cycles"] == est.total_cycles and len(d["layers"]) == len(g.ops)
    assert d["config"]["name"] == "ethos-u55-128"


def test_estimate_accepts_config_objects_and_rejects_bad_input():
    g = small_cnn()
    a = estimate(g, NPUConfig.preset("ethos-u65-256"))
    b = estimate(g, "ethos-u65-256")
    assert a.total_cycles == b.total_cycles
    with pytest.raises(TypeError):
        estimate("model.tflite", "ethos-u55-128")
    with pytest.raises(TypeError):
        estimate(g, 128)
    with pytest.raises(NPUConfigError):
        estimate(g, "ethos-u77")


def test_unknown_op_is_costed_and_noted():
    b = _Builder((1, 8, 8, 16))
    b.custom()
    est = estimate(b.graph(), "generic")
    (layer,) = est.layers
    assert layer.cycles > 0 and "no specific model" in layer.note


def test_softmax_pays_per_pass_overhead():
    b = _Builder((1, 10))
    b.softmax()
    est = estimate(b.graph(), "ethos-u55-128")
    assert est.layers[0].overhead_cycles >= 28 * est.config.op_overhead_cycles


def test_weights_in_sram_moves_no_offchip_bytes():
    g = small_cnn()
    cfg = NPUConfig.preset("ethos-u55-128").replace(weights_in="sram")
    est = estimate(g, cfg)
    assert est.offchip_bytes == 0
    assert est.sram_required_bytes == est.arena_bytes + est.encoded_weight_bytes


def test_sram_cache_puts_network_io_offchip():
    g = small_cnn()
    cfg = NPUConfig.preset("ethos-u65-256")
    est = estimate(g, cfg)
    first, last = est.layers[0], est.layers[-1]
    weights0 = est.layers[0].offchip_bytes - g.tensors[g.inputs[0]].nbytes
    assert weights0 > 0                                # weights and the input image
    assert last.offchip_bytes == g.tensors[g.outputs[0]].nbytes
    # The arena does not fit: every activation moves off-chip.
    small = estimate(g, cfg.replace(sram_bytes=est.arena_bytes - 1))
    assert not small.fits_sram
    assert small.offchip_bytes > est.offchip_bytes
    assert first.offchip_bytes > 0



def test_relabel_of_network_input_stays_offchip():
    # A RESHAPE of the network input is the same bytes: on Ethos-U65 (network
    # input and output in DRAM) the FULLY_CONNECTED reading it reads DRAM, and
    # as plain NHWC (MODEL.md, "Sixth round").
    b = _Builder((1, 8, 8, 16), seed=3)
    b.reshape_flat()
    b.fc(10)
    g = b.graph()
    cfg = NPUConfig.preset("ethos-u65-256").replace(weights_in="sram")
    fc = estimate(g, cfg).layers[1]
    assert fc.op_name == "FULLY_CONNECTED"
    # Weights in SRAM: the off-chip bytes are the input read and the output write.
    assert fc.offchip_bytes == g.tensors[g.inputs[0]].nbytes + 10


def test_binary_elementwise_pays_no_latency_or_fill():
    # ADD streams element by element: fixed overhead only (the command bound
    # aside, which does not bind for an SRAM-resident map).
    b = _Builder((1, 16, 16, 32), seed=4)
    b.conv(32, k=1)
    b.add_residual()
    b.conv(32, k=1)
    g = b.graph()
    cfg = NPUConfig.preset("ethos-u55-128")
    add = estimate(g, cfg).layers[1]
    assert add.op_name == "ADD"
    assert add.overhead_cycles == cfg.op_overhead_cycles
    assert add.cycles == max(add.compute_cycles, add.memory_cycles) + \
        cfg.op_overhead_cycles


# --------------------------------------------------------------- invariants
@FAST
@given(layer_graphs())
def test_more_macs_per_cycle_never_slower(g):
    """Per layer and in total, on the Ethos-U55 chain and on derived configs."""
    chains = [[PRESETS[n] for n in U55_CHAIN],
              [NPUConfig(macs_per_cycle=m) for m in (32, 64, 128, 256, 512, 1024)]]
    for chain in chains:
        prev = None
        for cfg in chain:
            est = estimate(g, cfg)
            if prev is not None:
                assert est.total_cycles <= prev.total_cycles + 1e-9
                for a, b in zip(est.layers, prev.layers):
                    assert a.cycles <= b.cycles + 1e-9, (cfg.name, a, b)
                    assert a.compute_cycles <= b.compute_cycles + 1e-9
            prev = est


@FAST
@given(layer_graphs(), st.sampled_from([1.5, 2.0, 3.0, 8.0]),
       st.sampled_from(["sram", "offchip"]))
def test_memory_bound_layers_scale_inversely_with_bandwidth(g, k, weights_in):
    base = NPUConfig(macs_per_cycle=256, sram_bytes_per_cycle=0.05,
                     offchip_bytes_per_cycle=0.02, weights_in=weights_in)
    fast = base.replace(sram_bytes_per_cycle=base.sram_bytes_per_cycle * k,
                        offchip_bytes_per_cycle=base.offchip_bytes_per_cycle * k)
    slow_est, fast_est = estimate(g, base), estimate(g, fast)
    assert fast_est.total_cycles <= slow_est.total_cycles
    for a, b in zip(slow_est.layers, fast_est.layers):
        if a.bound == "none":
            continue
        assert b.memory_cycles == pytest.approx(a.memory_cycles / k, rel=1e-12)
        assert (a.sram_bytes, a.offchip_bytes) == (b.sram_bytes, b.offchip_bytes)
        if a.bound == "memory" and b.bound == "memory":
            # The layer time beyond its fixed part is the memory time.
            assert b.cycles - b.overhead_cycles == pytest.approx(
                (a.cycles - a.overhead_cycles) / k, rel=1e-12)


@FAST
@given(layer_graphs(), st.integers(1, 5000))
def test_overhead_adds_exactly(g, extra):
    cfg = NPUConfig.preset("ethos-u55-128")
    a = estimate(g, cfg)
    b = estimate(g, cfg.replace(op_overhead_cycles=cfg.op_overhead_cycles + extra))
    added = 0
    for la, lb in zip(a.layers, b.layers):
        passes = 0 if la.bound == "none" else (28 if la.op_name == "SOFTMAX" else 1)
        if "separate pass" in la.note:
            passes += 1           # the fused ReLU's own pass (few output channels)
        assert lb.cycles - la.cycles == pytest.approx(extra * passes)
        assert lb.overhead_cycles - la.overhead_cycles == pytest.approx(extra * passes)
        added += extra * passes
    assert b.total_cycles - a.total_cycles == pytest.approx(added)


def test_overhead_adds_exactly_with_softmax():
    g = small_cnn()
    cfg = NPUConfig.preset("ethos-u65-256")
    a = estimate(g, cfg)
    b = estimate(g, cfg.replace(op_overhead_cycles=cfg.op_overhead_cycles + 100))
    n_ops = sum(1 for op in g.ops if op.name not in ("RESHAPE", "SOFTMAX"))
    assert b.total_cycles - a.total_cycles == pytest.approx(100 * (n_ops + 28))


@pytest.mark.parametrize("preset", ["ethos-u55-128", "ethos-u65-256", "generic"])
def test_sram_fit_flag_flips_at_the_arena_size(preset):
    g = small_cnn()
    cfg = NPUConfig.preset(preset)
    arena = estimate(g, cfg).arena_bytes
    assert arena == planned_arena_bytes(g) > 0
    assert estimate(g, cfg.replace(sram_bytes=arena)).fits_sram
    assert not estimate(g, cfg.replace(sram_bytes=arena - 1)).fits_sram
    in_sram = cfg.replace(weights_in="sram")
    need = estimate(g, in_sram).sram_required_bytes
    assert need > arena
    assert estimate(g, in_sram.replace(sram_bytes=need)).fits_sram
    assert not estimate(g, in_sram.replace(sram_bytes=need - 1)).fits_sram


def test_weight_compression_estimate():
    rng = np.random.default_rng(1)
    zeros = np.zeros(4096, np.int8)
    assert encoded_weight_bytes(zeros) < 64
    noise = rng.integers(-128, 128, 4096).astype(np.int8)
    assert 0.9 * 4096 < encoded_weight_bytes(noise) <= 4096 + 16
    small = np.clip(np.round(rng.normal(0, 2, 4096)), -127, 127).astype(np.int8)
    assert encoded_weight_bytes(small) < 0.5 * 4096
    sparse = np.where(rng.random(4096) < 0.05, noise, 0).astype(np.int8)
    assert encoded_weight_bytes(sparse) < 0.2 * 4096
    g = small_cnn()
    raw = estimate(g, NPUConfig.preset("ethos-u55-128").replace(compress_weights=False))
    assert raw.encoded_weight_bytes >= raw.weight_bytes


# ------------------------------------------------------------- real models
@pytest.mark.parametrize("name", MLPERF)
def test_mlperf_models(name):
    content = _model_bytes(name)
    import microdl
    it = microdl.Interpreter(model_content=content)
    it.allocate_tensors()
    for preset in ("ethos-u55-128", "ethos-u65-256"):
        est = estimate(content, preset)
        assert est.arena_source == "microdl" and est.arena_bytes == it.arena_bytes
        assert est.fits_sram
        assert est.total_macs == sum(d["macs"] for d in it.get_ops_details())
        assert 0 < est.mac_utilization < 1
        assert all(math.isfinite(la.cycles) for la in est.layers)
    from microdl.tflite import read_model
    g = read_model(content)
    # Planned here from lifetimes alone (no kernel scratch): close to microdl's plan.
    assert 0.75 * it.arena_bytes <= planned_arena_bytes(g) <= 1.25 * it.arena_bytes
    assert estimate(g, "ethos-u55-128").total_cycles == pytest.approx(
        estimate(content, "ethos-u55-128").total_cycles)
