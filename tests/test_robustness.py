"""Bad input gets a clear Python exception, never a crash, hang or silent garbage."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import microdl
from microdl import ModelError, UnsupportedOpError
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.conftest import shared_model


def model_bytes(name="hello_world_int8.tflite", folder="tflm"):
    with open(shared_model(folder, name), "rb") as f:
        return f.read()


def load_and_run(content):
    """Either a ModelError at load, or a model that allocates and invokes."""
    try:
        it = microdl.Interpreter(model_content=content)
    except ModelError:
        return "rejected"
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    it.invoke()
    for d in it.get_output_details():
        it.get_tensor(d["index"])
    return "ran"


@pytest.mark.parametrize("name,folder", [("hello_world_int8.tflite", "tflm"),
                                         ("kws_ref_model.tflite", "mlperf_tiny")])
def test_truncated_files_raise_model_error(name, folder):
    data = model_bytes(name, folder)
    lengths = sorted(set(list(range(0, 64)) + list(range(64, len(data), max(1, len(data) // 300)))))
    outcomes = {load_and_run(data[:n]) for n in lengths}
    assert "rejected" in outcomes
    # Truncating the file anywhere before its last bytes must be detected.
    for n in (0, 7, 8, 16, len(data) // 2, len(data) - 64):
        with pytest.raises(ModelError):
            microdl.Interpreter(model_content=data[:n])


@pytest.mark.parametrize("seed", range(4))
def test_random_byte_flips_never_crash(seed):
    data = bytearray(model_bytes("kws_ref_model.tflite", "mlperf_tiny"))
    rng = np.random.default_rng(seed)
    for _ in range(60):
        corrupted = bytearray(data)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 8))):
            corrupted[pos] ^= int(rng.integers(1, 256))
        load_and_run(bytes(corrupted))


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=2048))
def test_random_bytes_are_rejected(blob):
    with pytest.raises(ModelError):
        microdl.Interpreter(model_content=b"\x18\x00\x00\x00TFL3" + blob)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_flips_in_the_flatbuffer_tables(data):
    raw = bytearray(model_bytes())
    # hello_world: tables sit around the weights; flip anywhere.
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.integers(0, 255))
    load_and_run(bytes(raw))


def test_not_a_model():
    with pytest.raises(ModelError, match="TFL3"):
        microdl.Interpreter(model_content=b"\x00" * 64)
    with pytest.raises(TypeError):
        microdl.Interpreter(model_content=1234)
    with pytest.raises(ValueError, match="must be specified"):
        microdl.Interpreter()


def test_unsupported_ops_are_all_listed():
    # trained_lstm_int8 runs; with a fused RELU its integer LSTM is refused.
    path = shared_model("tflm", "trained_lstm_int8.tflite")
    g = read_model(open(path, "rb").read())
    g.ops[0].options["fused_activation_function"] = 1
    with pytest.raises(UnsupportedOpError) as e:
        microdl.Interpreter(model_content=write_model(g))
    names = [o["op_name"] for o in e.value.ops]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in names
    op = e.value.ops[names.index("UNIDIRECTIONAL_SEQUENCE_LSTM")]
    assert op["version"] >= 1 and "int8" in op["dtypes"]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in str(e.value)
    assert isinstance(e.value, ValueError)


def test_set_tensor_checks_dtype_and_shape():
    it = microdl.Interpreter(model_content=model_bytes())
    d = it.get_input_details()[0]
    with pytest.raises(ValueError, match="allocate_tensors"):
        it.set_tensor(d["index"], np.zeros(d["shape"], np.int8))
    it.allocate_tensors()
    with pytest.raises(ValueError, match="Got value of type FLOAT32 but expected type INT8"):
        it.set_tensor(d["index"], np.zeros(d["shape"], np.float32))
    with pytest.raises(ValueError, match="Dimension mismatch. Got 3 but expected 2"):
        it.set_tensor(d["index"], np.zeros((1, 1, 1), np.int8))
    with pytest.raises(ValueError, match="Got 2 but expected 1 for dimension 1"):
        it.set_tensor(d["index"], np.zeros((1, 2), np.int8))
    with pytest.raises(ValueError, match="Invalid tensor index"):
        it.set_tensor(10_000, np.zeros(1, np.int8))
    with pytest.raises(ValueError, match="Invalid tensor index"):
        it.get_tensor(-1)


def test_invoke_before_allocate_raises():
    it = microdl.Interpreter(model_content=model_bytes())
    with pytest.raises(RuntimeError, match="not ready"):
        it.invoke()
    with pytest.raises(ValueError, match="allocate_tensors"):
        it.get_tensor(it.get_output_details()[0]["index"])


def test_set_tensor_copies_and_get_tensor_copies():
    it = microdl.Interpreter(model_content=model_bytes())
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = np.full(d["shape"], 5, np.int8)
    it.set_tensor(d["index"], x)
    x[...] = 9
    assert it.get_tensor(d["index"]).ravel()[0] == 5
    got = it.get_tensor(d["index"])
    got[...] = 7
    assert it.tensor(d["index"])().ravel()[0] == 5
    it.tensor(d["index"])()[...] = 3  # a view writes through
    assert it.get_tensor(d["index"]).ravel()[0] == 3
