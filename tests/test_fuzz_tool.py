"""tools/fuzz.py and tools/fuzz_mutator.py: the mutator changes exactly one field and
its re-serialization is faithful (checked in LiteRT), every invariant of the harness
fires on a planted violation, and a planted crash stops a real atheris campaign."""
import ctypes
import os
import random
import subprocess
import sys

import numpy as np
import pytest

import microdl
from tests.conftest import shared_model
from tests.oplib import op_model, reference_interpreter, spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fuzz  # noqa: E402
import fuzz_mutator as fm  # noqa: E402

FIRMWARE = [os.path.join(ROOT, "firmware_models", d, f"{d}_int8.tflite")
            for d in ("sine", "digits_mlp", "digits_cnn")]


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _seeds():
    return FIRMWARE + [shared_model("tflm", "hello_world_int8.tflite"),
                       shared_model("mlperf_tiny", "kws_ref_model.tflite"),
                       shared_model("tflm_int16_ops/conv", "conv3.tflite"),
                       shared_model("tflm_int16_ops/strided_slice", "strided_slice5.tflite")]


def _litert_outputs(content, inputs):
    it = reference_interpreter(model_content=content)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


@pytest.mark.parametrize("path", _seeds(), ids=os.path.basename)
def test_reencoding_is_faithful_in_litert(path):
    """decode + encode (the mutator's object layer) gives a model LiteRT runs to the
    same bits as the original file."""
    data = _read(path)
    again = fm.encode(fm.decode(data))
    assert fm.diff(fm.decode(data), fm.decode(again)) == []
    it = reference_interpreter(model_content=data)
    rng = np.random.default_rng(0)
    inputs = []
    for d in it.get_input_details():
        info = np.iinfo(d["dtype"])
        inputs.append(rng.integers(info.min, info.max, d["shape"], endpoint=True)
                      .astype(d["dtype"]))
    for a, b in zip(_litert_outputs(data, inputs), _litert_outputs(again, inputs)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("path", _seeds(), ids=os.path.basename)
def test_mutations_change_exactly_one_field(path):
    base = fm.decode(fm.encode(fm.decode(_read(path))))
    rng = random.Random(path)
    kinds = set()
    for _ in range(150):
        m = fm.mutate(base, rng)
        assert m is not None
        fm.apply(base, m)
        try:
            out = fm.encode(base)
        finally:
            fm.undo(base, m)
        mutated = fm.decode(out)  # parseable by the schema's accessors
        d = fm.diff(base, mutated)
        # One field changed: the one the mutation names (a replaced options table
        # counts as one field even when several of its entries differ).
        assert d, f"{m}: no field changed"
        assert all(p[:len(m.path)] == m.path for p in d), f"{m}: changed {d}"
        assert len(d) == 1 or m.path[-1] == "BuiltinOptions", f"{m}: changed {d}"
        kinds.add(next(k for k in m.path if isinstance(k, str)))
        kinds.add(m.path[-1])
    # The mutator reaches every part of the model.
    assert {"Subgraphs", "Buffers"} <= kinds
    assert {"Shape", "Inputs", "Outputs"} & kinds


def test_mutation_replays_on_a_fresh_decode():
    data = _read(FIRMWARE[0])
    model = fm.decode(data)
    m = fm.Mutation(("Subgraphs", 0, "Tensors", 0, "Shape"), np.array([1, 7], np.int32))
    fm.apply(model, m)
    again = fm.decode(fm.encode(model))
    assert fm.get(again, m.path).tolist() == [1, 7]
    fm.undo(model, m)
    assert fm.diff(model, fm.decode(data)) == []


# ------------------------------------------------------------- the harness checks
def _add_model():
    s = spec((1, 4), scale=0.5, zero_point=0)
    return op_model("ADD", [s, s], [spec((1, 4), scale=1.0, zero_point=0)])


def test_check_model_runs_a_good_model():
    out = fuzz.check_model(_add_model())
    assert out[0] == "ran"


def test_check_model_classifies_rejections():
    assert fuzz.check_model(b"\x00" * 64)[:2] == ("rejected", "load")  # the reader
    # A model that parses but an op's prepare refuses: a stride of 0.
    from tests.oplib import op_model, spec
    bad = op_model("MAX_POOL_2D", [spec((1, 4, 4, 1), np.int8, scale=0.1)],
                   [spec((1, 2, 2, 1), np.int8, scale=0.1)],
                   {"padding": 1, "stride_w": 0, "stride_h": 2, "filter_width": 2,
                    "filter_height": 2})
    stats = fuzz.new_stats()
    assert fuzz.check_model(bad, stats)[:2] == ("rejected", "prepare")
    assert stats["prepared"] == 1 and stats["loaded"] == 0


def test_allocating_invoke_is_a_finding(monkeypatch):
    real = microdl.Interpreter.invoke

    def leaky(self):
        real(self)
        self._leak = np.zeros(100)

    monkeypatch.setattr(microdl.Interpreter, "invoke", leaky)
    with pytest.raises(fuzz.Finding, match="allocated"):
        fuzz.check_model(_add_model())


def test_write_past_the_arena_is_caught(monkeypatch):
    monkeypatch.setenv("MICRODL_ARENA_GUARD", "1")
    real = microdl.Interpreter.invoke

    def overflowing(self):
        real(self)  # then one byte past the end, as an out-of-bounds kernel would
        ctypes.memset(self._arena.ctypes.data + self._arena.nbytes + 5, 0, 1)

    it = microdl.Interpreter(model_content=_add_model())
    it.allocate_tensors()
    it.invoke()
    it.check_arena_guards()  # intact after a real invoke
    monkeypatch.setattr(microdl.Interpreter, "invoke", overflowing)
    it.invoke()
    with pytest.raises(RuntimeError, match="after the arena at guard byte 5"):
        it.check_arena_guards()
    with pytest.raises(RuntimeError, match="arena guard"):  # (ctypes allocates)
        fuzz.check_model(_add_model(), check_alloc=False)


def test_write_before_the_arena_is_caught(monkeypatch):
    monkeypatch.setenv("MICRODL_ARENA_GUARD", "1")
    it = microdl.Interpreter(model_content=_add_model())
    it.allocate_tensors()
    ctypes.memset(it._arena.ctypes.data - 1, 0, 1)
    with pytest.raises(RuntimeError, match="before the arena"):
        it.check_arena_guards()


def test_guards_off_by_default(monkeypatch):
    monkeypatch.delenv("MICRODL_ARENA_GUARD", raising=False)
    it = microdl.Interpreter(model_content=_add_model())
    it.allocate_tensors()
    assert it._arena.base.nbytes < it._arena.nbytes + 2 * 16 + 1
    it.check_arena_guards()


def test_reference_kernel_mismatch_is_a_finding(monkeypatch):
    real = microdl.Interpreter.get_tensor

    def differs(self, index, subgraph_index=0):
        out = real(self, index)
        if os.environ.get("MICRODL_REFERENCE_KERNELS") == "1":
            out.ravel()[0] ^= 1
        return out

    monkeypatch.setattr(microdl.Interpreter, "get_tensor", differs)
    with pytest.raises(fuzz.Finding, match="reference kernels"):
        fuzz.check_model(_add_model())


def test_small_memory_mismatch_is_a_finding(monkeypatch):
    real = microdl.Interpreter.get_tensor

    def differs(self, index, subgraph_index=0):
        out = real(self, index)
        if self._memory == "small":
            out.ravel()[0] ^= 1
        return out

    monkeypatch.setattr(microdl.Interpreter, "get_tensor", differs)
    with pytest.raises(fuzz.Finding, match='memory="small"'):
        fuzz.check_model(_add_model())


def test_unexpected_exception_escapes(monkeypatch):
    def broken(self):
        raise IndexError("planted")

    monkeypatch.setattr(microdl.Interpreter, "allocate_tensors", broken)
    with pytest.raises(IndexError):
        fuzz.check_model(_add_model())


def test_planted_crash_stops_a_campaign(tmp_path):
    """A real atheris run (the checkout's build, Python coverage): the planted finding
    in the corpus is caught, written as an artifact and fails the run."""
    corpus, arts = tmp_path / "corpus", tmp_path / "artifacts"
    corpus.mkdir()
    (corpus / "good").write_bytes(_add_model())
    planted = spec((1, 4), scale=0.5, zero_point=0, name="PLANTED")
    (corpus / "planted").write_bytes(op_model("ADD", [planted, planted],
                                              [spec((1, 4), scale=1.0)]))
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "fuzz.py"),
                        "--seconds", "60", "--no-instrument", "--no-default-seeds",
                        "--plant-crash", "--corpus", str(corpus), "--artifacts", str(arts)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "planted crash" in r.stdout
    assert "findings: 1" in r.stdout
    assert any(p.name.startswith("crash-") for p in arts.iterdir())


def test_litert_check_compares_with_litert(tmp_path, monkeypatch, capsys):
    (tmp_path / "good").write_bytes(_read(FIRMWARE[0]))
    assert fuzz.litert_check(str(tmp_path)) == 0
    assert "1  same outputs" in capsys.readouterr().out
    real = microdl.Interpreter.get_tensor

    def wrong(self, index, subgraph_index=0):
        out = real(self, index)
        out.ravel()[0] ^= 1
        return out

    monkeypatch.setattr(microdl.Interpreter, "get_tensor", wrong)
    assert fuzz.litert_check(str(tmp_path)) == 1
    assert "outputs differ" in capsys.readouterr().out
