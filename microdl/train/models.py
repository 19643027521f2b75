"""Reference models trained with microdl.train: digits CNN, digits MLP, digits LSTM (the
image read row by row), sine regression.

Each `train_*` returns (model, data) where data = {"train": (x, y), "test": (x, y)} (the
sine task adds "val").  Data splits are seeded by `split_seed` (fixed by default, so every
training seed is scored on the same held-out set); `seed` drives initialisation, batch
order and dropout.

Full runs (the >= 97 % digits check, timings):

    python -m microdl.train.models            # all four
    python -m microdl.train.models cnn lstm   # some
"""
from __future__ import annotations

import math
import time

import numpy as np

from microdl.train.layers import LSTM, Conv2D, Dense, Flatten, ReLU
from microdl.train.model import Sequential
from microdl.train.optimizers import Adam


# -------------------------------------------------------------------------- data


def digits_data(split_seed=0, flat=False, test_fraction=0.2, sequence=False):
    """scikit-learn's bundled 8x8 digits (1,797 images, no download), pixels scaled from
    0..16 to [0, 1], split by a seeded permutation: {"train": (x, y), "test": (x, y)}.
    x: float32 (N, 8, 8, 1) NHWC, (N, 64) with flat=True, or (N, 8, 8) = (batch, time,
    features) with sequence=True (row t of the image is time step t); y: int64 labels
    (N,).  The split is the same for every layout."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    if flat:
        x = x.reshape(len(x), 64)
    elif not sequence:
        x = x[..., None]
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(split_seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = perm[:n_test], perm[n_test:]
    return {"train": (x[train], y[train]), "test": (x[test], y[test])}


def sine_data(split_seed=0, n=1000, noise=0.1):
    """TFLite Micro hello_world's task: x uniform in [0, 2 pi], y = sin(x) + noise * N(0, 1),
    split 60 / 20 / 20 into train / val / test.  x, y: float32 (N, 1)."""
    rng = np.random.default_rng(split_seed)
    x = rng.uniform(0.0, 2 * math.pi, size=(n, 1)).astype(np.float32)
    y = (np.sin(x) + noise * rng.standard_normal((n, 1))).astype(np.float32)
    a, b = int(0.6 * n), int(0.8 * n)
    return {"train": (x[:a], y[:a]), "val": (x[a:b], y[a:b]), "test": (x[b:], y[b:])}


# ---------------------------------------------------------------------- builders


def build_digits_cnn(seed=0):
    """8x8x1 -> Conv 3x3x16 SAME, ReLU -> Conv 3x3x32 stride 2 SAME, ReLU (4x4x32) ->
    Flatten (512) -> Dense 10 logits.  9,930 parameters."""
    return Sequential([
        Conv2D(16, 3, padding="same", name="conv1"), ReLU(name="relu1"),
        Conv2D(32, 3, strides=2, padding="same", name="conv2"), ReLU(name="relu2"),
        Flatten(name="flatten"), Dense(10, name="logits"),
    ], input_shape=(8, 8, 1), seed=seed, name="digits_cnn")


def build_digits_mlp(seed=0):
    """64 pixels -> Dense 32, ReLU -> Dense 16, ReLU -> Dense 10 logits."""
    return Sequential([
        Dense(32, name="fc1"), ReLU(name="relu1"),
        Dense(16, name="fc2"), ReLU(name="relu2"),
        Dense(10, name="logits"),
    ], input_shape=(64,), seed=seed, name="digits_mlp")


def build_digits_lstm(seed=0):
    """8 time steps of 8 pixels (the image's rows) -> LSTM 32 units, last h (32) ->
    Dense 10 logits.  5,578 parameters."""
    return Sequential([
        LSTM(32, name="lstm"), Dense(10, name="logits"),
    ], input_shape=(8, 8), seed=seed, name="digits_lstm")


def build_sine(seed=0):
    """hello_world: 1 -> Dense 16, ReLU -> Dense 16, ReLU -> Dense 1."""
    return Sequential([
        Dense(16, name="fc1"), ReLU(name="relu1"),
        Dense(16, name="fc2"), ReLU(name="relu2"),
        Dense(1, name="out"),
    ], input_shape=(1,), seed=seed, name="sine")


# ---------------------------------------------------------------------- training


def _cosine(lr, epochs, floor=0.05):
    """Cosine decay from lr to floor * lr over `epochs`."""
    return lambda e: lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * e / max(epochs, 1))))


def train_digits_cnn(seed=0, epochs=30, batch_size=32, lr=3e-3, progress=False, split_seed=0):
    """Train build_digits_cnn on digits_data (Adam, cosine-decayed lr, cross-entropy).
    Returns (model, data)."""
    data = digits_data(split_seed)
    model = build_digits_cnn(seed).compile("cross_entropy", Adam(lr))
    model.fit(*data["train"], epochs=epochs, batch_size=batch_size, progress=progress,
              lr_schedule=_cosine(lr, epochs))
    return model, data


def train_digits_mlp(seed=0, epochs=60, batch_size=32, lr=3e-3, progress=False, split_seed=0):
    """Train build_digits_mlp on flattened digits_data.  Returns (model, data)."""
    data = digits_data(split_seed, flat=True)
    model = build_digits_mlp(seed).compile("cross_entropy", Adam(lr))
    model.fit(*data["train"], epochs=epochs, batch_size=batch_size, progress=progress,
              lr_schedule=_cosine(lr, epochs))
    return model, data


def train_digits_lstm(seed=0, epochs=60, batch_size=32, lr=5e-3, progress=False,
                      split_seed=0):
    """Train build_digits_lstm on digits_data(sequence=True).  Returns (model, data)."""
    data = digits_data(split_seed, sequence=True)
    model = build_digits_lstm(seed).compile("cross_entropy", Adam(lr))
    model.fit(*data["train"], epochs=epochs, batch_size=batch_size, progress=progress,
              lr_schedule=_cosine(lr, epochs))
    return model, data


def train_sine(seed=0, epochs=300, batch_size=32, lr=1e-2, progress=False, split_seed=0):
    """Train build_sine on sine_data with MSE.  Returns (model, data)."""
    data = sine_data(split_seed)
    model = build_sine(seed).compile("mse", Adam(lr))
    model.fit(*data["train"], epochs=epochs, batch_size=batch_size, progress=progress,
              validation_data=data["val"], lr_schedule=_cosine(lr, epochs))
    return model, data


def _report(name, fn, seed):
    t0 = time.perf_counter()
    model, data = fn(seed)
    dt = time.perf_counter() - t0
    res = model.evaluate(*data["test"])
    extra = ""
    if name == "sine":
        x, _ = data["test"]
        clean = float(np.mean((model.predict(x) - np.sin(x)) ** 2))
        extra = f"  mse vs clean sin {clean:.5f}"
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in res.items())
    print(f"{name:<10} seed {seed}  {dt:6.1f} s  params {model.count_params():>6}  "
          f"test {metrics}{extra}", flush=True)
    return res, dt


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    fns = {"cnn": train_digits_cnn, "mlp": train_digits_mlp, "lstm": train_digits_lstm,
           "sine": train_sine}
    p.add_argument("which", nargs="*", help="cnn, mlp, lstm, sine (default: all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = p.parse_args(argv)
    bad = [w for w in args.which if w not in fns]
    if bad:
        p.error(f"unknown model(s) {bad}; choose from {list(fns)}")
    for which in args.which or list(fns):
        for seed in args.seeds:
            _report(which, fns[which], seed)


if __name__ == "__main__":
    main()
