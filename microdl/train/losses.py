"""Losses: each maps (predictions, targets) to (scalar loss, d loss / d predictions).

Both losses average over the batch, so the gradient already carries the 1/N factor."""
from __future__ import annotations

import numpy as np


class Loss:
    """Base class: `__call__(pred, target) -> (loss: float, grad: ndarray like pred)`."""

    name = "loss"
    default_metrics = ()

    def __call__(self, pred, target):
        raise NotImplementedError

    def get_config(self):
        return {"class": type(self).__name__}


def log_softmax(z):
    """Numerically stable log-softmax over the last axis."""
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _as_probabilities(target, num_classes, dtype):
    """Integer labels (N,) -> one-hot (N, K); (N, K) targets are used as given."""
    target = np.asarray(target)
    if target.ndim == 1:
        onehot = np.zeros((target.shape[0], num_classes), dtype)
        onehot[np.arange(target.shape[0]), target.astype(np.int64)] = 1
        return onehot
    return target.astype(dtype, copy=False)


class SoftmaxCrossEntropy(Loss):
    """Softmax cross-entropy from logits.

    pred: logits (N, K) float; target: integer class labels (N,) or class probabilities
    (N, K).  loss = -mean_n sum_k t[n, k] * log_softmax(pred)[n, k];
    grad = (softmax(pred) - t) / N."""

    name = "cross_entropy"
    default_metrics = ("accuracy",)

    def __call__(self, pred, target):
        logp = log_softmax(pred)
        t = _as_probabilities(target, pred.shape[-1], pred.dtype)
        n = pred.shape[0]
        loss = -float((t * logp).sum()) / n
        grad = (np.exp(logp) - t) / pred.dtype.type(n)
        return loss, grad.astype(pred.dtype, copy=False)


class MeanSquaredError(Loss):
    """Mean squared error over every element: loss = mean((pred - target)^2),
    grad = 2 (pred - target) / pred.size.  pred and target have the same shape (targets of
    shape (N,) are accepted for (N, 1) predictions)."""

    name = "mse"
    default_metrics = ("mae",)

    def __call__(self, pred, target):
        target = np.asarray(target, pred.dtype).reshape(pred.shape)
        diff = pred - target
        loss = float((diff * diff).mean())
        return loss, (2 * diff / pred.dtype.type(diff.size)).astype(pred.dtype, copy=False)


LOSSES = {"cross_entropy": SoftmaxCrossEntropy, "SoftmaxCrossEntropy": SoftmaxCrossEntropy,
          "mse": MeanSquaredError, "MeanSquaredError": MeanSquaredError}


def get(loss):
    """A Loss instance from an instance or a name ('cross_entropy', 'mse')."""
    if isinstance(loss, Loss):
        return loss
    try:
        return LOSSES[loss]()
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}") from None
