"""microdl.train: a small numpy float32 trainer (Sequential models) with export to a
float TFLite graph, the starting point of the int8 converter.

    from microdl.train import Sequential, Conv2D, ReLU, GlobalAveragePool, Dense
    model = Sequential([Conv2D(16, 3), ReLU(), GlobalAveragePool(), Dense(10)],
                       input_shape=(8, 8, 1), seed=0)
    model.compile("cross_entropy", Adam(1e-2))
    history = model.fit(x, y, epochs=10, batch_size=32, validation_data=(xv, yv))
    graph = model.to_graph(name="digits", with_softmax=True)   # microdl.core.graph.Graph
    model.save("digits.npz"); model = microdl.train.load("digits.npz")
"""
from microdl.train.layers import (LSTM, AveragePool2D, BatchNorm, Conv1D, Conv2D, Dense,
                                  DepthwiseConv2D, Dropout, Flatten, GlobalAveragePool,
                                  Layer, MaxPool2D, ReLU, ReLU6)
from microdl.train.losses import MeanSquaredError, SoftmaxCrossEntropy
from microdl.train.model import Sequential, from_config, is_model_file, load
from microdl.train.optimizers import SGD, Adam

__all__ = [
    "Sequential", "load", "from_config", "is_model_file",
    "Layer", "Conv1D", "Conv2D", "DepthwiseConv2D", "Dense", "MaxPool2D", "AveragePool2D",
    "GlobalAveragePool", "Flatten", "LSTM", "ReLU", "ReLU6", "BatchNorm", "Dropout",
    "SoftmaxCrossEntropy", "MeanSquaredError", "SGD", "Adam",
]
