"""Streaming keyword spotting: a quantized .tflite keyword model run over a sliding
window of feature frames, as a tflite_runtime script on a Pi does with a microphone.

The only microdl-specific line is the import: ``from microdl import interpreter as
tflite`` in place of ``import tflite_runtime.interpreter as tflite``.

    python examples/stream_kws.py                  # micro_speech_quantized.tflite, 3 s
    python examples/stream_kws.py --runtime litert # the same script on LiteRT
    python examples/stream_kws.py -m kws_ref_model.tflite -l labels.txt

The audio is synthetic and seeded (--seed): quiet noise with two tone bursts, 16 kHz.
Each 20 ms a 30 ms frame becomes one row of features: Hann window, power spectrum,
triangular bands spaced evenly in log frequency (as many as the model's features per
frame), log energy mapped to [0, 25.5], a simple stand-in for TFLite Micro's audio
frontend (not its exact features).  The window holds the last --frames rows; every
--stride frames it is quantized with the input's scale and zero point, written through
a tensor() view and the model is invoked.  Prints one line per invoke: time in ms,
the top label, its dequantized score and the raw output values.
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "shared", "models", "tflm")
RATE = 16000
FRAME, HOP, FFT = 480, 320, 512  # 30 ms frames every 20 ms


def load_runtime(name):
    if name == "litert":
        from ai_edge_litert import interpreter as tflite
    elif name == "tflite_runtime":
        import tflite_runtime.interpreter as tflite
    else:
        from microdl import interpreter as tflite
    return tflite


def synthetic_audio(seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    audio = 0.01 * rng.standard_normal(t.size)
    for start, freq in ((0.6, 700.0), (1.8, 1500.0)):
        on = (t >= start) & (t < start + 0.4)
        audio[on] += 0.3 * np.sin(2 * np.pi * freq * t[on]) * np.hanning(on.sum())
    return audio.astype(np.float32)


def band_matrix(n_bands):
    """Triangular bands, centers evenly spaced in log frequency over 125-7500 Hz."""
    freqs = np.fft.rfftfreq(FFT, 1.0 / RATE)
    edges = np.geomspace(125.0, 7500.0, n_bands + 2)
    m = np.zeros((n_bands, freqs.size), np.float32)
    for b in range(n_bands):
        lo, mid, hi = edges[b:b + 3]
        m[b] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return m


def feature_frames(audio, n_features):
    bands = band_matrix(n_features)
    window = np.hanning(FRAME).astype(np.float32)
    for start in range(0, audio.size - FRAME + 1, HOP):
        spectrum = np.abs(np.fft.rfft(audio[start:start + FRAME] * window, FFT)) ** 2
        energy = bands @ spectrum
        yield np.clip(2.0 * np.log(energy + 1e-3) + 4.0, 0.0, 25.5)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-m", "--model_file",
                    default=os.path.join(MODELS, "micro_speech_quantized.tflite"))
    ap.add_argument("-l", "--label_file",
                    default=os.path.join(HERE, "micro_speech_labels.txt"))
    ap.add_argument("--frames", type=int, default=49, help="rows in the window")
    ap.add_argument("--stride", type=int, default=5, help="new frames per invoke")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runtime", choices=("microdl", "litert", "tflite_runtime"),
                    default="microdl")
    ap.add_argument("--reference_kernels", action="store_true",
                    help="OpResolverType.BUILTIN_REF: the runtime's reference kernels")
    args = ap.parse_args(argv)

    tflite = load_runtime(args.runtime)
    resolver = (tflite.OpResolverType.BUILTIN_REF if args.reference_kernels
                else tflite.OpResolverType.AUTO)
    interpreter = tflite.Interpreter(model_path=args.model_file,
                                     experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    input_details = interpreter.get_input_details()[0]
    output_details = interpreter.get_output_details()[0]
    with open(args.label_file) as f:
        labels = [line.strip() for line in f if line.strip()]

    shape = tuple(input_details["shape"])
    n_features = int(np.prod(shape)) // args.frames
    in_scale, in_zero = input_details["quantization"]
    out_scale, out_zero = output_details["quantization"]
    info = np.iinfo(input_details["dtype"])
    model_input = interpreter.tensor(input_details["index"])  # hold the function only

    window = np.zeros((args.frames, n_features), np.float32)
    for n, row in enumerate(feature_frames(synthetic_audio(args.seconds, args.seed),
                                           n_features), start=1):
        window = np.roll(window, -1, axis=0)
        window[-1] = row
        if n % args.stride:
            continue
        q = np.clip(np.round(window / in_scale) + in_zero, info.min, info.max)
        model_input()[...] = q.astype(input_details["dtype"]).reshape(shape)
        interpreter.invoke()
        raw = interpreter.get_tensor(output_details["index"])[0]
        scores = (raw.astype(np.float32) - out_zero) * out_scale
        top = int(np.argmax(scores))
        print(f"{n * HOP * 1000 // RATE:5d} ms: {labels[top]:8s} {scores[top]:.4f} "
              f"raw {' '.join(str(v) for v in raw)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
