"""Small shared helpers for the command-line tools and benchmarks."""
from __future__ import annotations

import os
import time

import numpy as np


def median_latency(fn, repeats=50, warmup=5, min_seconds=0.2):
    """Median wall time of fn() in seconds, after `warmup` calls; runs at least
    `repeats` times and at least `min_seconds` in total.  Returns (median, p10, p90)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) > 100_000:
            break
    t = np.array(times)
    return float(np.median(t)), float(np.percentile(t, 10)), float(np.percentile(t, 90))


def interleaved_latency(fns, repeats=200, rounds=10, warmup=5):
    """Median wall time (seconds) of each callable in `fns` ({name: fn}), measured
    side by side: `rounds` rounds, each timing every fn repeats // rounds times in
    turn, so slow drifts of a shared machine (clock, neighbours) hit every fn alike.
    Returns {name: (median, p10, p90)} over all timed calls."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    per_round = max(1, repeats // max(rounds, 1))
    times = {name: [] for name in fns}
    for _ in range(max(rounds, 1)):
        for name, fn in fns.items():
            fn()  # re-warm caches after the other runtimes
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    out = {}
    for name, ts in times.items():
        t = np.array(ts)
        out[name] = (float(np.median(t)), float(np.percentile(t, 10)),
                     float(np.percentile(t, 90)))
    return out


def random_inputs(details, seed=0):
    """One random array per input detail: integers over the dtype's full range, or
    standard-normal floats."""
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        dt = np.dtype(d["dtype"])
        if dt.kind in "iu":
            info = np.iinfo(dt)
            out.append(rng.integers(info.min, info.max + 1, size=d["shape"],
                                    dtype=np.int64).astype(dt))
        else:
            out.append(rng.standard_normal(d["shape"]).astype(dt))
    return out


def load_bmp_as_int8(path, shape):
    """An 8-bit BMP's pixels (top row first) copied byte for byte into an int8 array
    of `shape`, as the TFLite Micro person_detection example feeds its model.
    Requires Pillow."""
    from PIL import Image

    with Image.open(path) as img:
        raw = img.tobytes()
    return np.frombuffer(raw, np.uint8).view(np.int8).reshape(shape).copy()


def firmware_dir():
    """The folder of the embedded default models: the checkout's `firmware_models/`
    beside the package when running from source, else the copy installed inside the
    package (`microdl/firmware_models`, put there by setup.py for sdists and wheels)."""
    pkg = os.path.dirname(os.path.abspath(__file__))
    checkout = os.path.join(os.path.dirname(pkg), "firmware_models")
    installed = os.path.join(pkg, "firmware_models")
    return checkout if os.path.isdir(os.path.join(checkout, "digits_cnn")) else installed
