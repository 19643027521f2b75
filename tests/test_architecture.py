"""The package's shape (ARCHITECTURE.md): imports go only downward, `import microdl`
stays light, and the one copy of a shared rule behaves as its source says."""
import decimal
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lint_imports(cwd, pythonpath):
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports not found: pip install import-linter (a test extra)")
    env = dict(os.environ, PYTHONPATH=pythonpath)
    return subprocess.run([exe, "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_import_contract_holds():
    p = lint_imports(ROOT, ROOT)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    assert "BROKEN" not in p.stdout


def test_import_contract_fails_on_an_upward_import(tmp_path):
    """The contract can fail: core importing the runtime breaks it."""
    shutil.copytree(os.path.join(ROOT, "microdl"), tmp_path / "microdl",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__", "*.c"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), tmp_path / "pyproject.toml")
    with open(tmp_path / "microdl" / "core" / "shapes.py", "a") as f:
        f.write("\nimport microdl.runtime.planner  # planted upward import\n")
    p = lint_imports(tmp_path, str(tmp_path))
    assert p.returncode != 0, p.stdout[-3000:]
    assert "microdl.core.shapes -> microdl.runtime.planner" in p.stdout, p.stdout[-3000:]


def test_import_microdl_loads_no_upper_layer():
    """`import microdl` (the runtime a Pi loads) imports core, tflite and runtime only:
    no quant, npu, train, floatexec, evaluation, bench, pipeline or CLI module."""
    code = ("import sys, microdl; "
            "print('\\n'.join(m for m in sys.modules if m.startswith('microdl')))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    loaded = set(p.stdout.split())
    assert "microdl.runtime.interpreter" in loaded
    allowed = ("microdl", "microdl.core", "microdl.tflite", "microdl.runtime")
    extra = sorted(m for m in loaded
                   if m != "microdl" and not m.startswith(tuple(a + "." for a in allowed[1:]))
                   and m not in allowed)
    assert not extra, f"import microdl loaded {extra}"


def _decimal_round(x):
    """Independent oracle: the exact binary value of x rounded half away from zero."""
    ctx = decimal.Context(prec=400, rounding=decimal.ROUND_HALF_UP)
    return float(decimal.Decimal(float(x)).quantize(decimal.Decimal(1), context=ctx))


def test_round_half_away_is_std_round_exactly():
    from microdl.core.fixedpoint import round_half_away

    rng = np.random.default_rng(0)
    f32 = np.concatenate([
        rng.uniform(-300, 300, 4000).astype(np.float32),
        np.arange(-50, 50, dtype=np.float32) + np.float32(0.5),           # ties
        np.nextafter(np.float32(0.5), np.float32(0)).reshape(1),          # 0.49999997
        np.nextafter(np.arange(1, 9, dtype=np.float32) + np.float32(0.5),
                     np.float32(100)),
        np.float32([0.0, -0.0, 2.0 ** 23 + 1, -(2.0 ** 23) - 1, 1e30])])
    got = round_half_away(f32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [_decimal_round(v) for v in f32])
    f64 = np.concatenate([rng.uniform(-1e6, 1e6, 2000), np.arange(-20, 20) + 0.5,
                          [np.nextafter(0.5, 0), 2.0 ** 52 + 1]])
    np.testing.assert_array_equal(round_half_away(f64), [_decimal_round(v) for v in f64])
    assert round_half_away(2.5) == 3.0 and round_half_away(-2.5) == -3.0
    assert np.isnan(round_half_away(np.float32("nan")))
