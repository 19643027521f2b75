"""Export a trained Sequential to a float32 TFLite microdl.core.graph.Graph (batch 1).

Lowering, layer by layer (inference mode):

* Dropout: removed.
* Conv1D -> RESHAPE to (1, 1, time, channels), CONV_2D (its kernel is already
  (filters, 1, k, channels)), RESHAPE back to (1, time', filters); folding and fusion
  as for Conv2D.
* Conv2D / DepthwiseConv2D / Dense -> CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED
  with a float32 bias (zeros when the layer has none).  A BatchNorm directly after one
  of them is folded in: with s = gamma / sqrt(moving_var + eps),
  kernel'[..o..] = kernel * s[o] and bias' = (bias - moving_mean) * s + beta
  (in float64, then float32).  A ReLU / ReLU6 directly after (the folded) layer becomes
  its fused_activation_function (1 / 3).
* Any other BatchNorm -> MUL by s then ADD (beta - mean * s), constants of shape (C,).
* ReLU / ReLU6 not fused -> RELU / RELU6.
* MaxPool2D / AveragePool2D -> MAX_POOL_2D / AVERAGE_POOL_2D.
* GlobalAveragePool -> MEAN over a constant int32 axis tensor [1, 2], keep_dims False.
* Flatten -> RESHAPE with a constant int32 shape tensor [1, features].
* LSTM -> one UNIDIRECTIONAL_SEQUENCE_LSTM (float32, time_major False, fused
  activation TANH, no clipping) with TFLite's 24 input slots: 0 the sequence
  (1, time, features); 1-4 input-to-{input, forget, cell, output} weights (units,
  features); 5-8 recurrent-to-gate weights (units, units); 9-11 peephole omitted (-1);
  12-15 gate biases (units,); 16-17 projection omitted; 18 output state and 19 cell
  state, (1, units) float32 variable tensors without data (zero at the start, as
  after reset_all_variables); 20-23 layer-norm coefficients omitted.  Its output is
  the whole sequence (1, time, units); with return_sequences False a STRIDED_SLICE
  (begin [0, time-1, 0], end [1, time, units], shrink_axis_mask 2) keeps h_T (1, units).
* with_softmax=True appends SOFTMAX (beta 1) for classifiers.

The graph input is (1,) + input_shape with shape_signature (-1,) + input_shape; every
activation tensor carries a -1 batch in its signature as well.  Tensor names are the
layer names ("conv2d/kernel", "conv2d/bias", "conv2d" for its output)."""
from __future__ import annotations

import numpy as np

from microdl.core.graph import Graph, Op, Tensor
from microdl.train import layers as L

_ACT = {L.ReLU: 1, L.ReLU6: 3}
_PADDING = {"same": 0, "valid": 1}


class _Builder:
    def __init__(self):
        self.tensors = []
        self.ops = []

    def tensor(self, name, shape, dtype=np.float32, data=None):
        shape = tuple(int(d) for d in shape)
        if data is not None:
            data = np.ascontiguousarray(data, dtype=dtype).reshape(shape)
            data.setflags(write=False)
            sig = shape
        else:
            sig = (-1,) + shape[1:] if shape else shape
        t = Tensor(index=len(self.tensors), name=name, dtype=np.dtype(dtype), shape=shape,
                   shape_signature=sig, data=data)
        self.tensors.append(t)
        return t.index

    def op(self, name, inputs, outputs, options, version=1):
        self.ops.append(Op(index=len(self.ops), name=name, version=version,
                           inputs=list(inputs), outputs=list(outputs), options=dict(options)))


def _fold_batchnorm(kernel, bias, bn, out_axis):
    """Rescale `kernel` along `out_axis` and `bias` by the BatchNorm's eval affine."""
    scale, shift = bn.scale_shift()
    shape = [1] * kernel.ndim
    shape[out_axis] = -1
    return kernel * scale.reshape(shape), bias * scale + shift


def _reshape(b, name, x, new_shape):
    """RESHAPE x to new_shape (a constant int32 shape tensor); returns the new tensor."""
    new_shape = [int(d) for d in new_shape]
    s = b.tensor(f"{name}/shape", (len(new_shape),), np.int32, data=new_shape)
    y = b.tensor(name, new_shape)
    b.op("RESHAPE", [x, s], [y], {"new_shape": new_shape})
    return y


def _lstm(b, layer, x, shape):
    """Emit layer (an L.LSTM) reading tensor x of sample shape (time, features); returns
    the output tensor index (see the module docstring)."""
    if len(shape) != 2 or shape[1] != layer.input_shape[1]:
        raise ValueError(f"{layer.name}: built for (time, {layer.input_shape[1]}) inputs, "
                         f"the export input gives {shape}")
    steps, u = shape[0], layer.units
    k, r = layer.params["kernel"], layer.params["recurrent_kernel"]
    bias = layer.params["bias"]
    gates = ("input", "forget", "cell", "output")
    ins = [x]
    ins += [b.tensor(f"{layer.name}/input_to_{g}_weights", (u, shape[1]),
                     data=k[j * u:(j + 1) * u]) for j, g in enumerate(gates)]
    ins += [b.tensor(f"{layer.name}/recurrent_to_{g}_weights", (u, u),
                     data=r[j * u:(j + 1) * u]) for j, g in enumerate(gates)]
    ins += [-1, -1, -1]
    ins += [b.tensor(f"{layer.name}/{g}_gate_bias", (u,), data=bias[j * u:(j + 1) * u])
            for j, g in enumerate(gates)]
    ins += [-1, -1]
    for what in ("output_state", "cell_state"):
        t = b.tensor(f"{layer.name}/{what}", (1, u))
        b.tensors[t].is_variable = True
        b.tensors[t].shape_signature = (1, u)
        ins.append(t)
    ins += [-1, -1, -1, -1]
    seq_name = layer.name if layer.return_sequences else f"{layer.name}/sequence"
    seq = b.tensor(seq_name, (1, steps, u))
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [seq],
         {"fused_activation_function": 4, "cell_clip": 0.0, "proj_clip": 0.0,
          "time_major": False, "asymmetric_quantize_inputs": False})
    if layer.return_sequences:
        return seq
    begin = b.tensor(f"{layer.name}/begin", (3,), np.int32, data=[0, steps - 1, 0])
    end = b.tensor(f"{layer.name}/end", (3,), np.int32, data=[1, steps, u])
    strides = b.tensor(f"{layer.name}/strides", (3,), np.int32, data=[1, 1, 1])
    y = b.tensor(layer.name, (1, u))
    b.op("STRIDED_SLICE", [seq, begin, end, strides], [y],
         {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
          "shrink_axis_mask": 2, "offset": False})
    return y


def to_graph(model, input_shape=None, name=None, with_softmax=False):
    """Float32 Graph of `model` (a built Sequential) for one sample of `input_shape`
    (default: the model's), batch 1.  name: the graph description (default model.name)."""
    if input_shape is None:
        if not model.built:
            raise ValueError("the model is not built; pass input_shape")
        input_shape = model.input_shape
    input_shape = tuple(int(d) for d in input_shape)
    b = _Builder()
    x = b.tensor("input", (1,) + input_shape)
    inputs = [x]
    shape = input_shape
    layers = [l for l in model.layers if not isinstance(l, L.Dropout)]
    i = 0
    while i < len(layers):
        layer = layers[i]
        i += 1
        if isinstance(layer, (L.Conv2D, L.Dense)):  # DepthwiseConv2D is a Conv2D
            kernel = layer.params["kernel"].astype(np.float64)
            if shape[-1] != layer.input_shape[-1]:
                raise ValueError(f"{layer.name}: built for {layer.input_shape[-1]} input "
                                 f"channels/features, the export input gives {shape[-1]}")
            out_shape = layer.compute_output_shape(shape)
            bias = (layer.params["bias"].astype(np.float64) if layer.use_bias
                    else np.zeros(out_shape[-1]))
            out_axis = 3 if isinstance(layer, L.DepthwiseConv2D) else 0
            if i < len(layers) and isinstance(layers[i], L.BatchNorm):
                kernel, bias = _fold_batchnorm(kernel, bias, layers[i], out_axis)
                i += 1
            act = 0
            if i < len(layers) and type(layers[i]) in _ACT:
                act = _ACT[type(layers[i])]
                i += 1
            w = b.tensor(f"{layer.name}/kernel", kernel.shape, data=kernel)
            bb = b.tensor(f"{layer.name}/bias", bias.shape, data=bias)
            conv1d = isinstance(layer, L.Conv1D)
            if conv1d:  # (1, T, C) -> (1, 1, T, C) -> CONV_2D -> (1, T', F)
                x = _reshape(b, f"{layer.name}/input_2d", x, (1, 1) + tuple(shape))
                y = b.tensor(f"{layer.name}/conv_2d", (1, 1) + out_shape)
            else:
                y = b.tensor(layer.name, (1,) + out_shape)
            if isinstance(layer, L.Dense):
                b.op("FULLY_CONNECTED", [x, w, bb], [y],
                     {"fused_activation_function": act, "weights_format": 0,
                      "keep_num_dims": False})
            else:
                opts = {"padding": _PADDING[layer.padding],
                        "stride_h": layer.strides[0], "stride_w": layer.strides[1],
                        "dilation_h_factor": layer.dilation[0],
                        "dilation_w_factor": layer.dilation[1],
                        "fused_activation_function": act}
                dilated = layer.dilation != (1, 1)
                if isinstance(layer, L.DepthwiseConv2D):
                    opts["depth_multiplier"] = layer.depth_multiplier
                    b.op("DEPTHWISE_CONV_2D", [x, w, bb], [y], opts, version=2 if dilated else 1)
                else:
                    b.op("CONV_2D", [x, w, bb], [y], opts)
            if conv1d:
                y = _reshape(b, layer.name, y, (1,) + out_shape)
            x, shape = y, out_shape
            continue
        out_shape = layer.compute_output_shape(shape)
        if isinstance(layer, L.BatchNorm):
            scale, shift = layer.scale_shift()
            s = b.tensor(f"{layer.name}/scale", scale.shape, data=scale)
            mid = b.tensor(f"{layer.name}/mul", (1,) + shape)
            b.op("MUL", [x, s], [mid], {"fused_activation_function": 0})
            o = b.tensor(f"{layer.name}/shift", shift.shape, data=shift)
            y = b.tensor(layer.name, (1,) + out_shape)
            b.op("ADD", [mid, o], [y], {"fused_activation_function": 0})
        elif type(layer) in _ACT:
            y = b.tensor(layer.name, (1,) + out_shape)
            b.op("RELU" if isinstance(layer, L.ReLU) else "RELU6", [x], [y], {})
        elif isinstance(layer, (L.MaxPool2D, L.AveragePool2D)):
            y = b.tensor(layer.name, (1,) + out_shape)
            b.op("MAX_POOL_2D" if isinstance(layer, L.MaxPool2D) else "AVERAGE_POOL_2D",
                 [x], [y], {"padding": _PADDING[layer.padding],
                            "stride_h": layer.strides[0], "stride_w": layer.strides[1],
                            "filter_height": layer.pool_size[0],
                            "filter_width": layer.pool_size[1],
                            "fused_activation_function": 0})
        elif isinstance(layer, L.GlobalAveragePool):
            axes = b.tensor(f"{layer.name}/axes", (2,), np.int32, data=[1, 2])
            y = b.tensor(layer.name, (1,) + out_shape)
            b.op("MEAN", [x, axes], [y], {"keep_dims": False})
        elif isinstance(layer, L.LSTM):
            y = _lstm(b, layer, x, shape)
        elif isinstance(layer, L.Flatten):
            new_shape = [1, int(np.prod(shape))]
            s = b.tensor(f"{layer.name}/shape", (2,), np.int32, data=new_shape)
            y = b.tensor(layer.name, (1,) + out_shape)
            b.op("RESHAPE", [x, s], [y], {"new_shape": new_shape})
        else:
            raise NotImplementedError(f"no TFLite lowering for {type(layer).__name__}")
        x, shape = y, out_shape
    if with_softmax:
        if len(shape) != 1:
            raise ValueError(f"SOFTMAX expects (classes,) outputs, got {shape}")
        y = b.tensor("softmax", (1,) + shape)
        b.op("SOFTMAX", [x], [y], {"beta": 1.0})
        x = y
    return Graph(tensors=b.tensors, ops=b.ops, inputs=inputs, outputs=[x],
                 description=name or model.name)
