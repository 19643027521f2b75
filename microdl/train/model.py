"""Sequential model: a list of layers trained with mini-batch gradient descent.

All randomness (weight initialisation, shuffling, dropout masks) comes from one
np.random.Generator created from `seed`, so the same seed, data and calls give identical
weights."""
from __future__ import annotations

import json
import time

import numpy as np

from microdl.train import losses as _losses
from microdl.train import optimizers as _optimizers
from microdl.train.layers import LAYERS, Layer

FORMAT = "microdl.train.Sequential"
FORMAT_VERSION = 1
_ARCH_KEY = "architecture"


_DEFAULT_NAMES = {"ReLU": "relu", "ReLU6": "relu6"}


def _snake(name):
    """Default layer name from the class name: Conv2D -> conv2d, BatchNorm -> batch_norm."""
    if name in _DEFAULT_NAMES:
        return _DEFAULT_NAMES[name]
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper() and not name[i - 1].isdigit():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _metric(name, pred, target):
    """Batch value of a metric: 'accuracy' (argmax of logits vs integer labels or one-hot
    targets) or 'mae' (mean absolute error)."""
    if name == "accuracy":
        target = np.asarray(target)
        labels = target.argmax(axis=-1) if target.ndim == pred.ndim else target
        return float((pred.argmax(axis=-1) == labels).mean())
    if name == "mae":
        return float(np.abs(pred - np.asarray(target, pred.dtype).reshape(pred.shape)).mean())
    raise ValueError(f"unknown metric {name!r} (expected 'accuracy' or 'mae')")


class Sequential:
    """A stack of layers.

    layers: list of Layer instances (unnamed layers get Keras-style names: conv2d,
    conv2d_1, ...).  input_shape: shape of one sample without batch, e.g. (8, 8, 1) or
    (64,); if omitted the model is built at the first fit/predict.  seed: seed of the
    model's np.random.Generator.  Data are float32 NHWC arrays."""

    def __init__(self, layers, input_shape=None, seed=0, name="model"):
        self.layers = list(layers)
        self.name = name
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.input_shape = None
        self.loss = None
        self.optimizer = None
        self.metrics = ()
        counts = {}
        taken = {l.name for l in self.layers if l.name}
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"not a Layer: {layer!r}")
            layer.rng = self.rng
            if layer.name is None:
                base = _snake(type(layer).__name__)
                while True:
                    k = counts.get(base, 0)
                    counts[base] = k + 1
                    cand = base if k == 0 else f"{base}_{k}"
                    if cand not in taken:
                        break
                layer.name = cand
                taken.add(cand)
        names = [l.name for l in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique: {names}")
        if input_shape is not None:
            self.build(input_shape)

    # ------------------------------------------------------------------ structure

    @property
    def built(self):
        return self.input_shape is not None

    def build(self, input_shape):
        """Create every layer's parameters for samples of `input_shape` (no batch)."""
        shape = tuple(int(d) for d in input_shape)
        self.input_shape = shape
        for layer in self.layers:
            shape = layer.build(shape, self.rng)
        self.output_shape = shape
        return self

    def compile(self, loss="cross_entropy", optimizer="adam", metrics=None):
        """Choose the loss ('cross_entropy' from logits, 'mse' or a Loss), the optimizer
        ('adam', 'sgd' or an Optimizer) and metrics (default: accuracy for cross-entropy,
        mae for mse)."""
        self.loss = _losses.get(loss)
        self.optimizer = _optimizers.get(optimizer)
        self.metrics = tuple(self.loss.default_metrics if metrics is None else metrics)
        return self

    def _ensure_built(self, x):
        if not self.built:
            self.build(x.shape[1:])
        elif tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"input samples of shape {tuple(x.shape[1:])}, model built "
                             f"for {self.input_shape}")

    def count_params(self):
        return int(sum(p.size for l in self.layers for p in l.params.values()))

    def summary(self):
        """One line per layer: name, type, output shape, parameter count."""
        lines = [f"Model {self.name!r}  input {self.input_shape}"]
        for l in self.layers:
            n = sum(p.size for p in l.params.values())
            lines.append(f"  {l.name:<24} {type(l).__name__:<18} {str(l.output_shape):<16} {n}")
        lines.append(f"  total parameters: {self.count_params()}")
        return "\n".join(lines)

    # ------------------------------------------------------------ forward/backward

    def forward(self, x, training=False):
        """Output of the last layer for a batch x (N,) + input_shape."""
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dy):
        """Back-propagate d loss / d output; fills every layer's grads; returns dL/dx."""
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def _param_slots(self):
        return [((i, k), p, layer.grads[k]) for i, layer in enumerate(self.layers)
                for k, p in layer.params.items()]

    def train_step(self, x, y):
        """One optimisation step on a batch; returns (loss, predictions)."""
        pred = self.forward(x, training=True)
        loss, grad = self.loss(pred, y)
        self.backward(grad)
        self.optimizer.step(self._param_slots())
        return loss, pred

    # ------------------------------------------------------------------- training

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, shuffle=True,
            progress=True, lr_schedule=None):
        """Train for `epochs` passes over (x, y) in mini-batches.

        x: float array (N,) + input_shape (converted to float32); y: labels (N,) int or
        targets (N, K) float.  validation_data: optional (x_val, y_val) evaluated after
        each epoch.  shuffle: reshuffle every epoch with the model's generator.
        progress: a tqdm bar per epoch (False disables it).  lr_schedule: optional
        callable epoch (0-based) -> learning rate.

        Returns the history: {"loss": [...], "<metric>": [...], "val_loss": [...],
        "val_<metric>": [...], "time": [...seconds per epoch]}; training values are
        averages over the epoch's batches in training mode."""
        if self.loss is None:
            raise RuntimeError("call compile() before fit()")
        x = np.asarray(x, np.float32)
        y = np.asarray(y)
        if len(x) != len(y):
            raise ValueError(f"{len(x)} inputs but {len(y)} targets")
        self._ensure_built(x)
        history = {"loss": [], **{m: [] for m in self.metrics}}
        if validation_data is not None:
            history["val_loss"] = []
            history.update({f"val_{m}": [] for m in self.metrics})
        history["time"] = []
        n = len(x)
        steps = -(-n // batch_size)
        for epoch in range(epochs):
            if lr_schedule is not None:
                self.optimizer.lr = float(lr_schedule(epoch))
            t0 = time.perf_counter()
            order = self.rng.permutation(n) if shuffle else np.arange(n)
            totals = {"loss": 0.0, **{m: 0.0 for m in self.metrics}}
            bar = _progress(steps, f"epoch {epoch + 1}/{epochs}", progress)
            for s in range(steps):
                idx = order[s * batch_size:(s + 1) * batch_size]
                yb = y[idx]
                loss, pred = self.train_step(x[idx], yb)
                totals["loss"] += loss * len(idx)
                for m in self.metrics:
                    totals[m] += _metric(m, pred, yb) * len(idx)
                if bar is not None:
                    bar.update(1)
                    if s % 10 == 0 or s == steps - 1:
                        bar.set_postfix(loss=f"{totals['loss'] / min(n, (s + 1) * batch_size):.4f}")
            for k, v in totals.items():
                history[k].append(v / n)
            post = {k: history[k][-1] for k in totals}
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size=max(batch_size, 256))
                for k, v in val.items():
                    history[f"val_{k}"].append(v)
                    post[f"val_{k}"] = v
            history["time"].append(time.perf_counter() - t0)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4f}" for k, v in post.items()})
                bar.close()
        return history

    def predict(self, x, batch_size=256):
        """Inference-mode outputs (logits for classifiers) for x (N,) + input_shape,
        float32."""
        x = np.asarray(x, np.float32)
        self._ensure_built(x)
        outs = [self.forward(x[i:i + batch_size], training=False)
                for i in range(0, len(x), batch_size)]
        return np.concatenate(outs) if outs else np.zeros((0,) + self.output_shape, np.float32)

    def evaluate(self, x, y, batch_size=256):
        """Inference-mode loss and metrics over (x, y): {"loss": ..., "<metric>": ...}."""
        if self.loss is None:
            raise RuntimeError("call compile() before evaluate()")
        pred = self.predict(x, batch_size)
        out = {"loss": self.loss(pred, np.asarray(y))[0]}
        for m in self.metrics:
            out[m] = _metric(m, pred, y)
        return out

    # ------------------------------------------------------------- weights and I/O

    def get_weights(self):
        """{"<layer index>/<layer name>/<param or state name>": array} (copies)."""
        out = {}
        for i, layer in enumerate(self.layers):
            for k, v in {**layer.params, **layer.state}.items():
                out[f"{i}/{layer.name}/{k}"] = v.copy()
        return out

    def set_weights(self, weights):
        """Inverse of get_weights (shapes must match the built model)."""
        for i, layer in enumerate(self.layers):
            for store in (layer.params, layer.state):
                for k, v in store.items():
                    new = np.asarray(weights[f"{i}/{layer.name}/{k}"])
                    if new.shape != v.shape:
                        raise ValueError(f"{layer.name}/{k}: shape {new.shape}, expected {v.shape}")
                    store[k] = new.astype(v.dtype).copy()

    def get_config(self):
        """The architecture as a JSON-serialisable dict."""
        cfg = {"format": FORMAT, "version": FORMAT_VERSION, "name": self.name,
               "seed": self.seed,
               "input_shape": list(self.input_shape) if self.built else None,
               "layers": [{"class": type(l).__name__, "config": l.get_config()}
                          for l in self.layers]}
        if self.loss is not None:
            cfg["compile"] = {"loss": self.loss.get_config()["class"],
                              "optimizer": self.optimizer.get_config(),
                              "metrics": list(self.metrics)}
        return cfg

    def save(self, path):
        """Write one .npz file: the architecture JSON under "architecture" and every
        weight array under get_weights() keys.  Loads without pickle."""
        if not self.built:
            raise RuntimeError("build or fit the model before saving it")
        arrays = {_ARCH_KEY: np.array(json.dumps(self.get_config()))}
        arrays.update(self.get_weights())
        with open(path, "wb") as f:  # a file object: numpy must not append ".npz"
            np.savez(f, **arrays)

    def to_graph(self, input_shape=None, name=None, with_softmax=False):
        """Float32 TFLite graph of the inference-mode model (see microdl.train.export)."""
        from microdl.train.export import to_graph
        return to_graph(self, input_shape=input_shape, name=name, with_softmax=with_softmax)

    def to_tflite(self, input_shape=None, name=None, with_softmax=False):
        """Float32 .tflite bytes of the inference-mode model."""
        from microdl.tflite.writer import write_model
        g = self.to_graph(input_shape, name=name, with_softmax=with_softmax)
        return write_model(g, description=g.description)


def from_config(config):
    """An unbuilt-or-built Sequential from get_config() output (fresh weights)."""
    if config.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} architecture (format={config.get('format')!r})")
    if config.get("version", 0) > FORMAT_VERSION:
        raise ValueError(f"architecture version {config['version']} is newer than "
                         f"{FORMAT_VERSION}")
    layers = []
    for spec in config["layers"]:
        cls = LAYERS.get(spec["class"])
        if cls is None:
            raise ValueError(f"unknown layer class {spec['class']!r}")
        layers.append(cls(**spec["config"]))
    model = Sequential(layers, input_shape=config.get("input_shape"),
                       seed=config.get("seed", 0), name=config.get("name", "model"))
    comp = config.get("compile")
    if comp:
        model.compile(comp["loss"], dict(comp["optimizer"]), comp.get("metrics"))
    return model


def is_model_file(path):
    """True if `path` is a .npz written by Sequential.save."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if _ARCH_KEY not in z.files:
                return False
            return json.loads(str(z[_ARCH_KEY])).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def load(path):
    """Read a model written by Sequential.save (architecture, weights, BatchNorm
    statistics, compile settings; the optimizer state starts fresh)."""
    with np.load(path, allow_pickle=False) as z:
        if _ARCH_KEY not in z.files:
            raise ValueError(f"{path}: no {_ARCH_KEY!r} entry; not a microdl-trained model")
        config = json.loads(str(z[_ARCH_KEY]))
        model = from_config(config)
        if not model.built:
            raise ValueError(f"{path}: the saved model has no input shape")
        model.set_weights({k: z[k] for k in z.files if k != _ARCH_KEY})
    return model


def _progress(total, desc, enabled):
    """A tqdm bar, or None when disabled or tqdm is not installed."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="batch", leave=True)
