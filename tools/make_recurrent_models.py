"""Write the small float Keras LSTM test models of tests/test_keras_lstm.py.

Needs TensorFlow 2.x with Keras 3 and tf_keras (Keras 2); CI never runs this script,
the tests read what it wrote (committed under tests/data/).  Set up and run:

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu tf-keras
    /tmp/tfvenv/bin/python tools/make_recurrent_models.py          # from the repo root

(tensorflow-cpu 2.21.0, keras 3.15.1, tf_keras 2.21.0 on CPython 3.11.7 wrote the committed
files.)  One network, input (1, 8, 8) float32, LSTM(16) then Dense(10) softmax, with
fixed seeded weights (not trained: a normal draw scaled so the gates are far from
saturation), converted by ``tf.lite.TFLiteConverter.from_keras_model`` (float, builtin
ops), written twice per variant:

- ``keras2_lstm[_seq].tflite``: built with tf_keras (Keras 2); TensorFlow's converter
  fuses its LSTM into one float UNIDIRECTIONAL_SEQUENCE_LSTM;
- ``keras3_lstm[_seq].tflite``: the same weights in Keras 3 (``keras``); its LSTM
  becomes a WHILE loop over a body subgraph (GATHER, FULLY_CONNECTED, SPLIT, LOGISTIC,
  TANH, MUL, ADD ...);
- ``keras_lstm[_seq].npz``: the Keras weights (kernel (8, 64), recurrent_kernel
  (16, 64), bias (64,), Keras's gate order i, f, c, o along the last axis; dense_kernel,
  dense_bias for the non-sequence variant), 16 reference inputs x (16, 8, 8) and
  TensorFlow's float outputs of each .tflite on them (run one sample at a time by
  LiteRT in TensorFlow, state reset: y_keras2, y_keras3) and of Keras itself (y_keras).

``_seq`` variants: LSTM(16, return_sequences=True) alone, output (1, 8, 16).
"""
from __future__ import annotations

import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"
STEPS, FEATURES, UNITS, CLASSES = 8, 8, 16, 10


def weights(seed):
    rng = np.random.default_rng(seed)
    w = dict(kernel=rng.normal(0, 0.4, (FEATURES, 4 * UNITS)),
             recurrent_kernel=rng.normal(0, 0.3, (UNITS, 4 * UNITS)),
             bias=rng.normal(0, 0.2, (4 * UNITS,)),
             dense_kernel=rng.normal(0, 0.5, (UNITS, CLASSES)),
             dense_bias=rng.normal(0, 0.1, (CLASSES,)))
    w["bias"][UNITS:2 * UNITS] += 1.0  # unit forget bias, as Keras initializes it
    return {k: v.astype(np.float32) for k, v in w.items()}


def build(keras, w, seq):
    inp = keras.Input(shape=(STEPS, FEATURES), batch_size=1, name="x")
    lstm = keras.layers.LSTM(UNITS, return_sequences=seq, name="lstm")
    y = lstm(inp)
    layers = [lstm]
    if not seq:
        dense = keras.layers.Dense(CLASSES, activation="softmax", name="dense")
        y = dense(y)
        layers.append(dense)
    model = keras.Model(inp, y)
    lstm.set_weights([w["kernel"], w["recurrent_kernel"], w["bias"]])
    if not seq:
        layers[1].set_weights([w["dense_kernel"], w["dense_bias"]])
    return model


def to_tflite(model):
    """The ordinary route: TFLiteConverter.from_keras_model, float, builtin ops only.
    (A Keras 3 LSTM converts to builtins only with a fixed batch size: with batch None
    TensorFlow's converter cannot lower its TensorList ops; the SavedModel route of
    model.export() fails the same way.)"""
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def run_tflite(content, xs):
    it = tf.lite.Interpreter(model_content=content)
    it.allocate_tensors()
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    out = []
    for x in xs:
        it.reset_all_variables()
        it.set_tensor(d["index"], x[None])
        it.invoke()
        out.append(it.get_tensor(o["index"])[0])
    return np.stack(out)


def op_names(content):
    it = tf.lite.Interpreter(model_content=content)
    return sorted({d["op_name"] for d in it._get_ops_details()})


def main():
    import keras
    import tf_keras

    OUT.mkdir(parents=True, exist_ok=True)
    xs = np.random.default_rng(1).normal(0, 1, (16, STEPS, FEATURES)).astype(np.float32)
    for seq, suffix in ((False, ""), (True, "_seq")):
        w = weights(11)
        m2, m3 = build(tf_keras, w, seq), build(keras, w, seq)
        y_keras = np.asarray(m3.predict(xs, batch_size=1, verbose=0))
        y2_keras = np.asarray(m2.predict(xs, batch_size=1, verbose=0))
        assert np.allclose(y_keras, y2_keras, atol=1e-5), "Keras 2 and 3 disagree"
        t2, t3 = to_tflite(m2), to_tflite(m3)
        names2, names3 = op_names(t2), op_names(t3)
        assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in names2, names2
        assert "WHILE" in names3, names3
        y2, y3 = run_tflite(t2, xs), run_tflite(t3, xs)
        for name, content in ((f"keras2_lstm{suffix}.tflite", t2),
                              (f"keras3_lstm{suffix}.tflite", t3)):
            (OUT / name).write_bytes(content)
            print(f"{name}: {len(content)} bytes", file=sys.stderr)
        keep = dict(kernel=w["kernel"], recurrent_kernel=w["recurrent_kernel"],
                    bias=w["bias"])
        if not seq:
            keep.update(dense_kernel=w["dense_kernel"], dense_bias=w["dense_bias"])
        np.savez(OUT / f"keras_lstm{suffix}.npz", x=xs, y_keras=y_keras, y_keras2=y2,
                 y_keras3=y3, **keep)
        print(f"{suffix or 'last'}: keras2 ops {names2}; keras3 ops {names3}; "
              f"max |tflite2 - keras| {np.abs(y2 - y_keras).max():.2e}, "
              f"max |tflite3 - keras| {np.abs(y3 - y_keras).max():.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
