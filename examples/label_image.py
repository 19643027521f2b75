"""Classify an image with a quantized .tflite model, as a tflite_runtime script does.

The only microdl-specific line is the import: ``from microdl import interpreter as
tflite`` in place of ``import tflite_runtime.interpreter as tflite``.

    python examples/label_image.py                      # person.bmp, person_detect
    python examples/label_image.py -i no_person.bmp -k 1
    python examples/label_image.py --runtime litert -m model.tflite   # same script on LiteRT

Preprocessing: the image is converted to the model's channels (L or RGB) and resized
to its input height x width.  TFLite Micro's test images (person.bmp, no_person.bmp)
hold int8 pixels stored as bytes, and its person_detection example feeds them to the
int8 model as they are: that is the default (--int8-bytes).  With --no-int8-bytes the
pixels are scaled to [-1, 1] (MobileNet's x / 127.5 - 1) and quantized with the input's
scale and zero point (q = round(x / scale) + zero_point, clamped), the usual recipe for
an ordinary photo.  Prints the top_k labels: label, dequantized score, raw output.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "shared", "models", "tflm")


def load_runtime(name):
    if name == "litert":
        from ai_edge_litert import interpreter as tflite
    elif name == "tflite_runtime":
        import tflite_runtime.interpreter as tflite
    else:
        from microdl import interpreter as tflite
    return tflite


def load_labels(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def preprocess(path, detail, int8_bytes):
    _, height, width, channels = detail["shape"]
    img = Image.open(path).convert("L" if channels == 1 else "RGB").resize((width, height))
    pixels = np.asarray(img, np.uint8).reshape(1, height, width, channels)
    dtype = np.dtype(detail["dtype"])
    if int8_bytes and dtype == np.int8:
        return pixels.view(np.int8)
    x = pixels.astype(np.float32) / 127.5 - 1.0
    if dtype.kind in "iu":
        scale, zero_point = detail["quantization"]
        info = np.iinfo(dtype)
        x = np.clip(np.round(x / scale) + zero_point, info.min, info.max)
    return x.astype(dtype)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-i", "--image", default=os.path.join(MODELS, "person.bmp"))
    ap.add_argument("-m", "--model_file", default=os.path.join(MODELS, "person_detect.tflite"))
    ap.add_argument("-l", "--label_file", default=os.path.join(HERE, "person_labels.txt"))
    ap.add_argument("-k", "--top_k", type=int, default=2)
    ap.add_argument("--num_threads", type=int, default=1)
    ap.add_argument("--int8-bytes", action=argparse.BooleanOptionalAction, default=True,
                    help="feed an int8 model the image bytes as int8 (TFLite Micro's "
                         "test images); else scale to [-1, 1] and quantize")
    ap.add_argument("--runtime", choices=("microdl", "litert", "tflite_runtime"),
                    default="microdl")
    ap.add_argument("--reference_kernels", action="store_true",
                    help="OpResolverType.BUILTIN_REF: the runtime's reference kernels")
    args = ap.parse_args(argv)

    tflite = load_runtime(args.runtime)
    resolver = (tflite.OpResolverType.BUILTIN_REF if args.reference_kernels
                else tflite.OpResolverType.AUTO)
    interpreter = tflite.Interpreter(model_path=args.model_file,
                                     experimental_op_resolver_type=resolver,
                                     num_threads=args.num_threads)
    interpreter.allocate_tensors()
    input_details = interpreter.get_input_details()[0]
    output_details = interpreter.get_output_details()[0]

    interpreter.set_tensor(input_details["index"], preprocess(args.image, input_details,
                                                                args.int8_bytes))
    interpreter.invoke()
    raw = interpreter.get_tensor(output_details["index"])[0]

    scale, zero_point = output_details["quantization"]
    scores = (raw.astype(np.float32) - zero_point) * scale if scale else raw
    labels = load_labels(args.label_file)
    for i in np.argsort(-scores, kind="stable")[:args.top_k]:
        print(f"{labels[i]}: {scores[i]:.6f} (raw {raw[i]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
