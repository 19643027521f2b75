"""Optimizers: update parameter arrays in place from their gradients.

`step(slots)` takes a list of (key, param, grad): `key` is a stable hashable name of the
parameter (the model uses (layer index, param name)) under which the optimizer keeps its
per-parameter state (momentum buffers, Adam moments).  `lr` can be changed between
steps (learning-rate schedules)."""
from __future__ import annotations

import numpy as np


class Optimizer:
    def __init__(self, lr):
        self.lr = float(lr)
        self.slots = {}
        self.iterations = 0

    def step(self, params):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with (optionally Nesterov) momentum:
    v = momentum * v - lr * g;  p += v   (Nesterov: p += momentum * v - lr * g)."""

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False):
        super().__init__(lr)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def step(self, params):
        self.iterations += 1
        for key, p, g in params:
            if self.momentum == 0.0:
                p -= self.lr * g
                continue
            v = self.slots.get(key)
            if v is None:
                v = self.slots[key] = np.zeros_like(p)
            v *= self.momentum
            v -= self.lr * g
            if self.nesterov:
                p += self.momentum * v - self.lr * g
            else:
                p += v

    def get_config(self):
        return {"class": "SGD", "lr": self.lr, "momentum": self.momentum,
                "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction:
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7):
        super().__init__(lr)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.epsilon = float(epsilon)

    def step(self, params):
        self.iterations += 1
        t = self.iterations
        b1, b2 = self.beta1, self.beta2
        step = self.lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for key, p, g in params:
            slot = self.slots.get(key)
            if slot is None:
                slot = self.slots[key] = (np.zeros_like(p), np.zeros_like(p))
            m, v = slot
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= (step * m / (np.sqrt(v) + self.epsilon)).astype(p.dtype, copy=False)

    def get_config(self):
        return {"class": "Adam", "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2,
                "epsilon": self.epsilon}


OPTIMIZERS = {"sgd": SGD, "SGD": SGD, "adam": Adam, "Adam": Adam}


def get(optimizer):
    """An Optimizer from an instance, a name ('sgd', 'adam') or a config dict."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, dict):
        cfg = dict(optimizer)
        return OPTIMIZERS[cfg.pop("class")](**cfg)
    try:
        return OPTIMIZERS[optimizer]()
    except KeyError:
        raise ValueError(f"unknown optimizer {optimizer!r}") from None
