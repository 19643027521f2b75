"""microdl.npu on the recurrent models of ../shared/models/tflm, with Vela 5.2 as the
oracle: trained_lstm_int8 (UNIDIRECTIONAL_SEQUENCE_LSTM, which Vela unrolls per time
step) and keyword_scrambled_8bit (SVDF, which Vela leaves to the CPU), on
Ethos-U55-64/128/256 and Ethos-U65-256 in Vela's default system configurations.

Print the table (before/after figures in microdl/npu/MODEL.md):
    python tests/test_npu_recurrent.py [--per-layer]
"""
from __future__ import annotations

import functools
import importlib.util
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __package__ in (None, ""):
    sys.path.insert(0, ROOT)

from microdl.npu import estimate  # noqa: E402
from microdl.npu.vela_compare import compare_model  # noqa: E402
from microdl.tflite import read_model  # noqa: E402
from tests.conftest import shared_model  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "npu_family", os.path.join(ROOT, "tools", "npu_family.py"))
F = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(F)

MODELS = ["trained_lstm_int8", "keyword_scrambled_8bit"]
TOLERANCE = 0.30


def _path(model):
    return shared_model("tflm", f"{model}.tflite")


@functools.lru_cache(maxsize=None)
def _vela(model, npu):
    return F.run_vela(_path(model), npu)


def _compare(model, npu):
    with open(_path(model), "rb") as f:
        return compare_model(f.read(), _vela(model, npu), npu)


@pytest.mark.parametrize("npu", F.NPUS)
@pytest.mark.parametrize("model", MODELS)
def test_recurrent_model_against_vela(model, npu):
    if F.vela_command() is None:
        pytest.skip("ethos-u-vela is not installed: no `vela` command")
    r = _compare(model, npu)
    assert abs(r["ratio"] - 1) <= TOLERANCE, (
        f"{model} on {npu}: microdl {r['microdl_total']:,.0f} vs Vela "
        f"{r['vela_total']:,.0f} cycles (ratio {r['ratio']:.3f})")
    names = [la["ops"] for la in r["layers"]]
    assert "(unmatched Vela rows)" not in names
    for la in r["layers"]:
        if la["ops"] in ("SVDF", "QUANTIZE") and la["vela"] == 0:
            # Operators Vela leaves to the CPU: 0 NPU cycles in both.
            assert la["microdl"] == 0, la
        if "UNIDIRECTIONAL_SEQUENCE_LSTM" in la["ops"]:
            assert abs(la["ratio"] - 1) <= TOLERANCE, la


def test_svdf_runs_on_cpu_with_its_macs():
    with open(_path("keyword_scrambled_8bit"), "rb") as f:
        data = f.read()
    g = read_model(data)
    est = estimate(data, "ethos-u55-128")
    svdf = [la for la in est.layers if la.op_name == "SVDF"]
    assert len(svdf) == 7
    for la in svdf:
        op = g.ops[la.index]
        filters, n_in = g.tensors[op.inputs[1]].shape
        memory = g.tensors[op.inputs[2]].shape[1]
        assert la.cycles == 0 and la.bound == "cpu" and "CPU" in la.note
        assert la.macs == filters * (n_in + memory)
    # The int16 -> int32 QUANTIZE at the end: int32 feature maps stay on the CPU.
    assert est.layers[-1].op_name == "QUANTIZE" and est.layers[-1].cycles == 0
    assert est.layers[0].op_name == "QUANTIZE" and est.layers[0].cycles > 0


def test_lstm_is_unrolled_and_bigger_arrays_are_not_slower():
    with open(_path("trained_lstm_int8"), "rb") as f:
        data = f.read()
    cycles = []
    for npu in ("ethos-u55-64", "ethos-u55-128", "ethos-u55-256"):
        (la,) = [x for x in estimate(data, npu).layers
                 if x.op_name == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
        assert "28 steps" in la.note and la.macs == 28 * 4 * 20 * (28 + 20)
        cycles.append(la.cycles)
    assert cycles[0] >= cycles[1] >= cycles[2] > 0


def main():
    per_layer = "--per-layer" in sys.argv
    print(f"{'model':24s} {'NPU':14s} {'Vela cycles':>12s} {'microdl':>10s} {'ratio':>6s}")
    for model in MODELS:
        for npu in F.NPUS:
            r = _compare(model, npu)
            print(f"{model:24s} {npu:14s} {r['vela_total']:12,.0f} "
                  f"{r['microdl_total']:10,.0f} {r['ratio']:6.3f}")
            if per_layer:
                for la in r["layers"]:
                    print(f"    {la['ops'][:40]:40s} Vela {la['vela']:>9,.0f} microdl "
                          f"{la['microdl']:>9,.0f} ratio {la['ratio']:.3f}")


if __name__ == "__main__":
    main()
