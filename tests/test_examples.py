"""The scripts in examples/ run as a user runs them (a subprocess, default paths into
../shared) and print what LiteRT prints when the same script runs on it
(``--runtime litert --reference_kernels``: LiteRT's reference kernels) on the same
input."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tflite

from tests.conftest import shared_model
from tests.oplib import ORACLE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")

pytestmark = pytest.mark.allow_skip("a second-oracle run (MICRODL_ORACLE set) has no "
                                    "LiteRT 2.x to run the examples on")


@pytest.fixture(autouse=True)
def litert_oracle():
    if ORACLE != "litert":
        pytest.skip("the examples are compared with LiteRT 2.x in the main run")


def run(script, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout.splitlines()


def per_tensor_dimension_zeroed(path, out_path):
    """A copy of `path` where a quantized_dimension beyond the tensor's rank becomes 0:
    person_detect.tflite stores 3 (the filter's dimension) on its rank-1 per-channel
    biases, which LiteRT refuses and TFLite Micro reads along the only dimension.  The
    int32 field is rewritten in place in the flatbuffer."""
    buf = bytearray(open(path, "rb").read())
    model = tflite.Model.GetRootAs(bytes(buf), 0)
    sg = model.Subgraphs(0)
    patched = 0
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        q = t.Quantization()
        if q is None or q.QuantizedDimension() < t.ShapeLength():
            continue
        field = q._tab.Offset(16)  # QuantizationParameters.quantized_dimension
        pos = q._tab.Pos + field
        buf[pos:pos + 4] = np.int32(0).tobytes()
        patched += 1
    assert patched > 0
    with open(out_path, "wb") as f:
        f.write(bytes(buf))
    return out_path


@pytest.mark.parametrize("image,top", [("person.bmp", "person"),
                                       ("no_person.bmp", "notperson")])
def test_label_image_matches_litert(tmp_path, image, top):
    model = shared_model("tflm", "person_detect.tflite")
    img = shared_model("tflm", image)
    patched = per_tensor_dimension_zeroed(model, tmp_path / "person_detect_qdim0.tflite")
    for extra in ([], ["--no-int8-bytes"]):
        ours = run("label_image.py", "-i", img, *extra)
        theirs = run("label_image.py", "-i", img, "-m", str(patched), "--runtime", "litert",
                     "--reference_kernels", *extra)
        assert ours == theirs and len(ours) == 2
        assert {line.split(":")[0] for line in ours} == {"person", "notperson"}
        if not extra:  # TFLite Micro's own check on its example images
            assert ours[0].startswith(f"{top}:"), ours
    # The default paths are ../shared's person.bmp and person_detect.tflite.
    if image == "person.bmp":
        assert run("label_image.py") == run("label_image.py", "-i", img, "-m", model)


def test_stream_kws_matches_litert():
    ours = run("stream_kws.py")
    theirs = run("stream_kws.py", "--runtime", "litert", "--reference_kernels")
    assert ours == theirs
    assert len(ours) == 29  # 3 s of 20 ms frames, an invoke every 5 frames
    labels = {line.split()[2] for line in ours}
    assert labels <= {"silence", "unknown", "yes", "no"} and len(labels) >= 2


def test_stream_kws_runs_the_mlperf_model(tmp_path):
    labels = tmp_path / "kws_labels.txt"
    labels.write_text("down\ngo\nleft\nno\noff\non\nright\nstop\nup\nyes\nsilence\nunknown\n")
    args = ["-m", shared_model("mlperf_tiny", "kws_ref_model.tflite"), "-l", str(labels),
            "--seconds", "2", "--seed", "3"]
    ours = run("stream_kws.py", *args)
    assert ours == run("stream_kws.py", *args, "--runtime", "litert", "--reference_kernels")
    assert len(ours) == 19 and all(len(line.split()) == 4 + 1 + 12 for line in ours)
