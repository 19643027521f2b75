"""microdl.train: layer and loss gradients vs central finite differences (float64),
float TFLite export vs LiteRT, reproducibility, save/load, a short digits training."""
from __future__ import annotations

import json

import numpy as np
import pytest

from microdl.train import (SGD, Adam, AveragePool2D, BatchNorm, Conv2D, Dense,
                           DepthwiseConv2D, Dropout, Flatten, GlobalAveragePool, MaxPool2D,
                           MeanSquaredError, ReLU, ReLU6, Sequential, SoftmaxCrossEntropy,
                           is_model_file, load)
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.oplib import run_litert

# ------------------------------------------------------------------ gradient checks

EPS = 1e-6


def _to_float64(layer):
    layer.params = {k: v.astype(np.float64) for k, v in layer.params.items()}
    layer.state = {k: v.astype(np.float64) for k, v in layer.state.items()}


def _numeric_grad(f, arr, rng, max_checks=60):
    """Central differences of the scalar f() w.r.t. up to max_checks random elements of
    arr (perturbed in place).  Returns (flat indices, gradient values)."""
    flat = arr.reshape(-1)
    idx = rng.choice(flat.size, size=min(flat.size, max_checks), replace=False)
    out = []
    for i in idx:
        old = flat[i]
        flat[i] = old + EPS
        up = f()
        flat[i] = old - EPS
        down = f()
        flat[i] = old
        out.append((up - down) / (2 * EPS))
    return idx, np.array(out)


def _avoid_kinks(x, points, margin=1e-2):
    """Move entries closer than margin to any kink point away (finite differences across
    a kink of ReLU/ReLU6 are meaningless)."""
    for p in points:
        near = np.abs(x - p) < margin
        x = np.where(near, p + 0.5, x)
    return x


def check_layer_gradients(layer, input_shape, training=True, batch=3, seed=0, x=None):
    rng = np.random.default_rng(seed)
    layer.build(input_shape, rng)
    _to_float64(layer)
    for k in layer.params:   # non-trivial gamma/beta etc.
        layer.params[k] = rng.normal(size=layer.params[k].shape)
    if "moving_var" in layer.state:
        layer.state["moving_mean"] = rng.normal(size=layer.state["moving_mean"].shape)
        layer.state["moving_var"] = rng.uniform(0.5, 2.0, size=layer.state["moving_var"].shape)
    if x is None:
        x = rng.normal(size=(batch,) + tuple(input_shape))
    frozen_state = {k: v.copy() for k, v in layer.state.items()}

    def loss():
        layer.rng = np.random.default_rng(123)          # same dropout mask every call
        layer.state = {k: v.copy() for k, v in frozen_state.items()}
        return float((layer.forward(x, training=training) * proj).sum())

    layer.rng = np.random.default_rng(123)
    y = layer.forward(x, training=training)
    assert y.shape == (x.shape[0],) + layer.output_shape
    assert y.dtype == np.float64
    proj = rng.normal(size=y.shape)
    loss()
    dx = layer.backward(proj)
    grads = {k: v.copy() for k, v in layer.grads.items()}
    assert dx.shape == x.shape
    idx, num = _numeric_grad(loss, x, rng)
    np.testing.assert_allclose(dx.reshape(-1)[idx], num, rtol=1e-5, atol=1e-7,
                               err_msg=f"{layer!r} d/dx")
    assert set(grads) == set(layer.params)
    for k, p in layer.params.items():
        assert grads[k].shape == p.shape
        idx, num = _numeric_grad(loss, p, rng)
        np.testing.assert_allclose(grads[k].reshape(-1)[idx], num, rtol=1e-5, atol=1e-7,
                                   err_msg=f"{layer!r} d/d{k}")


IMG = (7, 6, 3)

LAYER_CASES = [
    ("conv_same", lambda: Conv2D(4, 3), IMG),
    ("conv_valid_stride2_rect", lambda: Conv2D(3, (3, 2), strides=2, padding="valid"), IMG),
    ("conv_same_stride2", lambda: Conv2D(2, 3, strides=(2, 1)), IMG),
    ("conv_dilated", lambda: Conv2D(2, 3, dilation=2), IMG),
    ("conv_1x1_nobias", lambda: Conv2D(5, 1, use_bias=False), IMG),
    ("dw_same", lambda: DepthwiseConv2D(3), IMG),
    ("dw_valid_stride2_mult2", lambda: DepthwiseConv2D((3, 2), strides=2, padding="valid",
                                                       depth_multiplier=2), IMG),
    ("dw_dilated", lambda: DepthwiseConv2D(3, dilation=(2, 1)), IMG),
    ("dense", lambda: Dense(5), (7,)),
    ("dense_nobias", lambda: Dense(4, use_bias=False), (6,)),
    ("maxpool", lambda: MaxPool2D(2), IMG),
    ("maxpool_same_3s2", lambda: MaxPool2D(3, strides=2, padding="same"), IMG),
    ("avgpool", lambda: AveragePool2D(2), IMG),
    ("avgpool_same_3s2", lambda: AveragePool2D(3, strides=2, padding="same"), IMG),
    ("gap", lambda: GlobalAveragePool(), IMG),
    ("flatten", lambda: Flatten(), IMG),
    ("dropout", lambda: Dropout(0.4), IMG),
    ("batchnorm_train_4d", lambda: BatchNorm(), IMG),
    ("batchnorm_train_2d", lambda: BatchNorm(), (5,)),
]


@pytest.mark.parametrize("name,make,shape", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_gradients(name, make, shape):
    check_layer_gradients(make(), shape, training=True)


def test_batchnorm_eval_gradients():
    check_layer_gradients(BatchNorm(), IMG, training=False)


@pytest.mark.parametrize("make,kinks,scale", [(ReLU, [0.0], 1.0), (ReLU6, [0.0, 6.0], 4.0)])
def test_activation_gradients(make, kinks, scale):
    rng = np.random.default_rng(5)
    x = _avoid_kinks(scale * rng.normal(size=(3,) + IMG) + (1.0 if scale > 1 else 0.0), kinks)
    check_layer_gradients(make(), IMG, x=x)


def test_relu6_clips():
    layer = ReLU6()
    layer.build((4,), None)
    np.testing.assert_array_equal(layer.forward(np.array([[-1.0, 3.0, 6.5, 0.0]])),
                                  [[0.0, 3.0, 6.0, 0.0]])


def test_dropout_train_and_eval():
    layer = Dropout(0.5)
    layer.build((1000,), None)
    layer.rng = np.random.default_rng(0)
    x = np.ones((4, 1000), np.float32)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < (y == 0).mean() < 0.6


def test_batchnorm_running_stats():
    layer = BatchNorm(momentum=0.5)
    layer.build((3,), None)
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(4000, 3)).astype(np.float32)
    for _ in range(20):
        y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(layer.state["moving_mean"], x.mean(0), rtol=1e-4)
    np.testing.assert_allclose(layer.state["moving_var"], x.var(0), rtol=1e-4)
    ye = layer.forward(x, training=False)
    np.testing.assert_allclose(ye, y, atol=1e-3)


def _check_loss(loss, pred, target):
    rng = np.random.default_rng(1)
    value, grad = loss(pred, target)
    assert grad.shape == pred.shape and grad.dtype == pred.dtype
    idx, num = _numeric_grad(lambda: loss(pred, target)[0], pred, rng, max_checks=pred.size)
    np.testing.assert_allclose(grad.reshape(-1)[idx], num, rtol=1e-5, atol=1e-8)
    return value


def test_cross_entropy_gradient_labels_and_probabilities():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4)) * 3
    labels = rng.integers(0, 4, size=5)
    v1 = _check_loss(SoftmaxCrossEntropy(), logits, labels)
    v2 = _check_loss(SoftmaxCrossEntropy(), logits, np.eye(4)[labels])
    assert v1 == pytest.approx(v2)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert v1 == pytest.approx(-np.mean(np.log(p[np.arange(5), labels])))
    soft = rng.dirichlet(np.ones(4), size=5)
    _check_loss(SoftmaxCrossEntropy(), logits, soft)
    # Large logits stay finite.
    value, grad = SoftmaxCrossEntropy()(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_mse_gradient():
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(6, 2))
    target = rng.normal(size=(6, 2))
    v = _check_loss(MeanSquaredError(), pred, target)
    assert v == pytest.approx(np.mean((pred - target) ** 2))
    _check_loss(MeanSquaredError(), rng.normal(size=(6, 1)), rng.normal(size=6))


def test_model_gradient_end_to_end():
    """Whole-model backward (conv, BN, pools, dense) vs finite differences on the loss."""
    model = Sequential([Conv2D(3, 3), BatchNorm(), ReLU6(), MaxPool2D(2),
                        DepthwiseConv2D(3, depth_multiplier=2), AveragePool2D(2, padding="same"),
                        Flatten(), Dense(4)], input_shape=(6, 6, 2), seed=0)
    for l in model.layers:
        _to_float64(l)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 6, 2))
    y = rng.integers(0, 4, size=3)
    loss = SoftmaxCrossEntropy()

    def f():
        return loss(model.forward(x, training=True), y)[0]

    _, g = loss(model.forward(x, training=True), y)
    model.backward(g)
    for layer in model.layers:
        for k, p in layer.params.items():
            idx, num = _numeric_grad(f, p, rng, max_checks=15)
            np.testing.assert_allclose(layer.grads[k].reshape(-1)[idx], num, rtol=1e-4,
                                       atol=1e-7, err_msg=f"{layer.name}/{k}")


# --------------------------------------------------------------------- TFLite export


def _randomize_batchnorm(model, rng):
    for layer in model.layers:
        if isinstance(layer, BatchNorm):
            c = layer.params["gamma"].shape
            layer.params["gamma"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
            layer.params["beta"] = rng.normal(0, 0.3, c).astype(np.float32)
            layer.state["moving_mean"] = rng.normal(0, 0.3, c).astype(np.float32)
            layer.state["moving_var"] = rng.uniform(0.5, 2.0, c).astype(np.float32)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _check_export(model, n=4, with_softmax=False, seed=0, train_targets=None):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n,) + model.input_shape).astype(np.float32)
    if train_targets is not None:   # a few steps so the weights / BN statistics move
        model.fit(x, train_targets(x), epochs=2, batch_size=2, progress=False)
    _randomize_batchnorm(model, rng)
    graph = model.to_graph(name="m", with_softmax=with_softmax)
    tfl = write_model(graph)
    want = model.predict(x)
    if with_softmax:
        want = _softmax(want.astype(np.float64))
    got = np.concatenate([run_litert(tfl, [x[i:i + 1]])[0] for i in range(n)])
    assert got.dtype == np.float32 and got.shape == want.shape
    span = max(float(want.max() - want.min()), 1e-6)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * span)
    inp = graph.tensors[graph.inputs[0]]
    assert inp.shape == (1,) + model.input_shape
    assert inp.shape_signature == (-1,) + model.input_shape
    return graph


def _ops(graph):
    return [op.name for op in graph.ops]


def test_export_cnn_bn_relu6_pools():
    model = Sequential([
        Conv2D(8, 3, name="conv_a"), BatchNorm(name="bn_a"), ReLU6(name="act_a"),
        MaxPool2D(2, name="pool_max"),
        Conv2D(6, 3, strides=2, padding="valid", use_bias=False), BatchNorm(), ReLU(),
        Dropout(0.3),
        AveragePool2D(2, strides=1, padding="same"), BatchNorm(name="bn_alone"),
        ReLU6(name="relu6_alone"),
        GlobalAveragePool(name="gap"), Dense(5, name="logits"),
    ], input_shape=(14, 12, 3), seed=3)
    model.compile("cross_entropy", SGD(0.05, momentum=0.9))
    graph = _check_export(model, train_targets=lambda x: np.arange(len(x)) % 5)
    assert _ops(graph) == ["CONV_2D", "MAX_POOL_2D", "CONV_2D", "AVERAGE_POOL_2D", "MUL",
                           "ADD", "RELU6", "MEAN", "FULLY_CONNECTED"]
    assert [op.options.get("fused_activation_function") for op in graph.ops[:3]] == [3, 0, 1]
    names = [t.name for t in graph.tensors]
    for n in ("input", "conv_a/kernel", "conv_a/bias", "conv_a", "pool_max", "bn_alone",
              "gap", "gap/axes", "logits"):
        assert n in names
    mean = graph.ops[7]
    axes = graph.tensors[mean.inputs[1]]
    assert axes.dtype == np.int32 and axes.data.tolist() == [1, 2]
    assert mean.options == {"keep_dims": False}
    assert graph.tensors[graph.outputs[0]].shape == (1, 5)
    g2 = _check_export(model, with_softmax=True, seed=1)
    assert _ops(g2)[-1] == "SOFTMAX"
    # The bytes read back into the same graph (names, shapes, signatures, constants).
    back = read_model(write_model(g2))
    assert _ops(back) == _ops(g2)
    for a, b in zip(back.tensors, g2.tensors):
        assert (a.name, a.shape, a.shape_signature, a.dtype) == (b.name, b.shape,
                                                                 b.shape_signature, b.dtype)
        assert (a.data is None) == (b.data is None)
        if a.data is not None:
            np.testing.assert_array_equal(a.data, b.data)


def test_export_mlp():
    model = Sequential([Dense(16), BatchNorm(), ReLU(), Dropout(0.5), Dense(8), ReLU6(),
                        Dense(3)], input_shape=(10,), seed=1)
    model.compile("mse", Adam(1e-2))
    graph = _check_export(model, n=5, train_targets=lambda x: x[:, :3] * 2)
    assert _ops(graph) == ["FULLY_CONNECTED"] * 3
    assert [op.options["fused_activation_function"] for op in graph.ops] == [1, 3, 0]


def test_export_depthwise_flatten():
    model = Sequential([
        Conv2D(4, 1), ReLU(),
        DepthwiseConv2D(3, strides=2, depth_multiplier=2), BatchNorm(), ReLU6(),
        DepthwiseConv2D(3, dilation=2, padding="valid"),
        ReLU(), MaxPool2D(2, padding="same"), Flatten(name="flat"), Dense(4),
    ], input_shape=(13, 11, 2), seed=2)
    model.compile("cross_entropy", Adam(1e-2))
    graph = _check_export(model, train_targets=lambda x: np.arange(len(x)) % 4)
    assert _ops(graph) == ["CONV_2D", "DEPTHWISE_CONV_2D", "DEPTHWISE_CONV_2D",
                           "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"]
    dw = graph.ops[1]
    assert dw.options["depth_multiplier"] == 2 and dw.options["fused_activation_function"] == 3
    assert graph.tensors[dw.inputs[1]].shape == (1, 3, 3, 8)
    assert graph.ops[2].version == 2  # dilation
    reshape = graph.ops[4]
    shape_t = graph.tensors[reshape.inputs[1]]
    feat = graph.tensors[reshape.outputs[0]].shape[1]
    assert shape_t.dtype == np.int32 and shape_t.data.tolist() == [1, feat]


def test_export_digits_cnn_with_softmax():
    from microdl.train.models import build_digits_cnn
    model = build_digits_cnn(0)
    graph = _check_export(model, with_softmax=True)
    assert _ops(graph) == ["CONV_2D", "CONV_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    assert model.to_graph().description == "digits_cnn"
    assert graph.tensors[graph.outputs[0]].name == "softmax"


# ---------------------------------------------------------- reproducibility, save/load


def _small_model(seed):
    return Sequential([Conv2D(4, 3), BatchNorm(), ReLU(), Dropout(0.2), Flatten(), Dense(3)],
                      input_shape=(5, 5, 1), seed=seed).compile("cross_entropy", Adam(1e-2))


def _toy_data():
    rng = np.random.default_rng(42)
    x = rng.normal(size=(40, 5, 5, 1)).astype(np.float32)
    return x, rng.integers(0, 3, size=40)


def test_same_seed_same_weights():
    x, y = _toy_data()
    runs = []
    for seed in (7, 7, 8):
        m = _small_model(seed)
        h = m.fit(x, y, epochs=3, batch_size=8, progress=False, validation_data=(x, y))
        runs.append((m.get_weights(), h))
    (w1, h1), (w2, h2), (w3, _) = runs
    assert w1.keys() == w2.keys()
    for k in w1:
        np.testing.assert_array_equal(w1[k], w2[k])
    assert h1["loss"] == h2["loss"] and h1["val_accuracy"] == h2["val_accuracy"]
    assert any(not np.array_equal(w1[k], w3[k]) for k in w1)
    assert set(h1) == {"loss", "accuracy", "val_loss", "val_accuracy", "time"}
    assert len(h1["loss"]) == 3


def test_save_load_round_trip(tmp_path):
    x, y = _toy_data()
    m = _small_model(3)
    m.fit(x, y, epochs=2, batch_size=8, progress=False)
    path = tmp_path / "model.mdl"          # no .npz suffix: the exact path is written
    m.save(path)
    assert path.exists() and is_model_file(path)
    with np.load(path, allow_pickle=False) as z:
        arch = json.loads(str(z["architecture"]))
    assert arch["format"] == "microdl.train.Sequential"
    assert [l["class"] for l in arch["layers"]][:2] == ["Conv2D", "BatchNorm"]
    m2 = load(path)
    assert m2.get_config() == m.get_config()
    w1, w2 = m.get_weights(), m2.get_weights()
    assert w1.keys() == w2.keys()
    for k in w1:
        np.testing.assert_array_equal(w1[k], w2[k])
        assert w1[k].dtype == w2[k].dtype
    np.testing.assert_array_equal(m.predict(x), m2.predict(x))
    assert write_model(m.to_graph()) == write_model(m2.to_graph())
    assert m2.evaluate(x, y) == m.evaluate(x, y)
    m2.fit(x, y, epochs=1, batch_size=8, progress=False)   # compiled on load
    bad = tmp_path / "other.npz"
    np.savez(bad, a=np.zeros(3))
    assert not is_model_file(bad)
    with pytest.raises(ValueError):
        load(bad)


def test_fit_progress_bar_and_predict_shapes(capsys):
    x, y = _toy_data()
    m = _small_model(0)
    m.fit(x, y, epochs=1, batch_size=16, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err
    assert m.predict(x, batch_size=7).shape == (40, 3)
    with pytest.raises(ValueError):
        m.predict(np.zeros((2, 4, 4, 1), np.float32))


def test_sgd_and_adam_minimise_quadratic():
    for opt in (SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9, nesterov=True), SGD(0.1),
                Adam(0.1)):
        p = np.array([3.0, -2.0])
        for _ in range(300):
            opt.step([("p", p, 2 * p)])
        assert np.abs(p).max() < 1e-2, opt


# ------------------------------------------------------------------ quick training


def test_digits_cnn_quick():
    pytest.importorskip("sklearn")
    from microdl.train.models import train_digits_cnn
    model, data = train_digits_cnn(seed=0, epochs=4)
    acc = model.evaluate(*data["test"])["accuracy"]
    assert acc >= 0.90, acc
    assert len(data["train"][0]) + len(data["test"][0]) == 1797


def test_sine_quick():
    from microdl.train.models import train_sine
    model, data = train_sine(seed=0, epochs=120)
    x, _ = data["test"]
    assert float(np.mean((model.predict(x) - np.sin(x)) ** 2)) < 0.02


def test_digits_cnn_full_training_reaches_97_percent():
    """The issue's bar: the default digits CNN reaches >= 97% held-out accuracy (its
    time, a few seconds here, is reported by tools/train_firmware_models.py, not
    asserted: machines are noisy)."""
    pytest.importorskip("sklearn")
    from microdl.train.models import train_digits_cnn
    model, data = train_digits_cnn(seed=0)
    acc = model.evaluate(*data["test"])["accuracy"]
    assert acc >= 0.97, acc
