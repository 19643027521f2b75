"""The float32 numpy reference (microdl.floatexec.ops / executor.FloatExecutor)
against LiteRT's BUILTIN_REF float kernels: every float model in ../shared/models,
one-op models for every supported op over random shapes and options, batches, input
validation and unsupported-op reporting."""
import time

import numpy as np
import pytest

from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.floatexec import ops as F
from microdl.floatexec.executor import FloatExecutor, supported_ops
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.conftest import shared_model
from tests.oplib import graph_model, op_model, run_litert, spec

SAME, VALID = 0, 1
FLOAT_MODELS = ["mlperf_tiny/ad01_fp32.tflite", "mlperf_tiny/kws_ref_model_float32.tflite",
                "mlperf_tiny/pretrainedResnet.tflite", "mlperf_tiny/vww_96_float.tflite",
                "tflm/hello_world_float.tflite"]


def fspec(shape, data=None):
    return spec(shape, np.float32, data=data)


def execute(model, inputs, **kw):
    return FloatExecutor(read_model(model), **kw).run(inputs)


def assert_close(got, want, rel=1e-5):
    """Same dtype and shape; integers equal; floats within rel * max(1, max|want|)."""
    assert got.dtype == want.dtype and got.shape == want.shape, \
        (got.dtype, want.dtype, got.shape, want.shape)
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    err = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
    tol = rel * max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    assert err <= tol, f"max abs error {err:.3g} > {tol:.3g}"


def check(model, inputs, rel=1e-5, **kw):
    """FloatExecutor agrees with LiteRT BUILTIN_REF on every output."""
    want = run_litert(model, inputs)
    got = execute(model, inputs, **kw)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_close(g, w, rel)
    return got


# ------------------------------------------------------------ whole models
def _model_inputs(graph, rng, trial):
    scale = 3.0 if trial % 2 else 1.0
    return [(rng.uniform(-1, 1, graph.tensors[t].shape) * scale).astype(np.float32)
            for t in graph.inputs]


@pytest.mark.parametrize("path", FLOAT_MODELS)
def test_float_model_matches_litert(path):
    """max |microdl - LiteRT| <= 1e-4 x (max - min of LiteRT's outputs over all the
    trial inputs).  The dynamic-range KWS model needs hybrid="litert" (LiteRT also
    quantizes its conv inputs on the fly)."""
    model = open(shared_model(*path.split("/")), "rb").read()
    ex = FloatExecutor(read_model(model), hybrid="litert")
    rng = np.random.default_rng(7)
    errs, outs = [], []
    for trial in range(4):
        xs = _model_inputs(ex.graph, rng, trial)
        want = run_litert(model, xs)
        got = ex.run(xs)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            errs.append(float(np.max(np.abs(g - w))))
            outs.append(w.ravel())
    span = float(np.ptp(np.concatenate(outs)))
    print(f"\n{path}: max abs error {max(errs):.3g}, output range {span:.3g}, "
          f"ratio {max(errs) / span:.3g}")
    assert max(errs) <= 1e-4 * span


def _dequantized_weights_model(model):
    """The model with every constant int8 weights tensor of a float op replaced by its
    float32 dequantized values (a plain float model LiteRT runs without hybrid math)."""
    g = read_model(model)
    for op in g.ops:
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w = g.tensors[op.inputs[1]]
            if w.dtype == np.int8 and g.tensors[op.inputs[0]].dtype == np.float32:
                q = w.quant
                w.data = F.dequantize(w.data, q.scales, q.zero_points, q.quantized_dimension)
                w.dtype, w.quant = np.dtype(np.float32), None
    return write_model(g)


def test_hybrid_dequantize_is_the_float_model():
    """hybrid="dequantize" (the default) on the dynamic-range KWS model equals LiteRT
    on the same model with float32 weights; it differs from LiteRT's hybrid kernels by
    their input quantization noise (a few % of the output range)."""
    model = open(shared_model("mlperf_tiny", "kws_ref_model_float32.tflite"), "rb").read()
    plain = _dequantized_weights_model(model)
    ex = FloatExecutor(read_model(model))
    assert ex.hybrid == "dequantize"
    rng = np.random.default_rng(3)
    for trial in range(3):
        xs = _model_inputs(ex.graph, rng, trial)
        got, = ex.run(xs)
        want, = run_litert(plain, xs)
        assert np.max(np.abs(got - want)) <= 1e-4 * max(float(np.ptp(want)), 1e-3)
        hybrid, = run_litert(model, xs)
        assert np.max(np.abs(got - hybrid)) < 0.1  # same network, noisier kernel


def test_vww_runs_well_under_a_second():
    model = open(shared_model("mlperf_tiny", "vww_96_float.tflite"), "rb").read()
    ex = FloatExecutor.from_model(model)
    x = np.random.default_rng(0).uniform(0, 1, (1, 96, 96, 3)).astype(np.float32)
    best = min(_timed(ex.run, [x]) for _ in range(3))
    assert best < 0.5, f"{best:.3f} s"


def _timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


# ----------------------------------------------------------- batches
@pytest.mark.parametrize("path", ["mlperf_tiny/pretrainedResnet.tflite",
                                  "mlperf_tiny/kws_ref_model_float32.tflite",
                                  "mlperf_tiny/ad01_fp32.tflite"])
def test_batch_equals_samples_one_by_one(path):
    model = open(shared_model(*path.split("/")), "rb").read()
    ex = FloatExecutor.from_model(model)
    shape = ex.graph.tensors[ex.graph.inputs[0]].shape
    x = np.random.default_rng(5).standard_normal((3,) + tuple(shape[1:])).astype(np.float32)
    out, = ex.run([x])
    ones = [ex.run([x[b:b + 1]])[0] for b in range(3)]
    np.testing.assert_array_equal(out, np.concatenate(ones))
    everything = ex.run_all({ex.graph.tensors[ex.graph.inputs[0]].name: x})
    single = ex.run_all([x[1:2]])
    assert set(everything) == set(single)
    for t, v in everything.items():
        assert v.shape == (3,) + single[t].shape[1:]
        np.testing.assert_array_equal(v[1:2], single[t])


def _flatten_fc_model(rng):
    """tf.reshape(x, [tf.shape(x)[0], -1]) -> FULLY_CONNECTED, in float."""
    w = rng.standard_normal((5, 24)).astype(np.float32)
    tensors = [
        fspec((1, 2, 3, 4)),                                  # 0 input
        spec((4,), np.int32),                                 # 1 shape
        spec((1,), np.int32, data=[0]),                       # 2 begin
        spec((1,), np.int32, data=[1]),                       # 3 end
        spec((1,), np.int32, data=[1]),                       # 4 strides
        spec((), np.int32),                                   # 5 batch (scalar)
        spec((), np.int32, data=-1),                          # 6 -1
        spec((2,), np.int32),                                 # 7 new shape
        fspec((1, 24)),                                       # 8 flat
        fspec((5, 24), data=w),                               # 9 weights
        fspec((1, 5)),                                        # 10 output
    ]
    ops = [("SHAPE", [0], [1], {"out_type": 2}),
           ("STRIDED_SLICE", [1, 2, 3, 4], [5], {"shrink_axis_mask": 1}, 2),
           ("PACK", [5, 6], [7], {"values_count": 2, "axis": 0}),
           ("RESHAPE", [0, 7], [8], {}),
           ("FULLY_CONNECTED", [8, 9, -1], [10], {"fused_activation_function": 1})]
    return graph_model(tensors, ops, [0], [10])


def test_keras_flatten_pattern_and_its_batch():
    rng = np.random.default_rng(11)
    model = _flatten_fc_model(rng)
    x = rng.standard_normal((4, 2, 3, 4)).astype(np.float32)
    for b in range(4):
        check(model, [x[b:b + 1]])
    ex = FloatExecutor.from_model(model)
    acts = ex.run_all([x])
    assert acts[10].shape == (4, 5) and acts[8].shape == (4, 24)
    assert acts[1].shape == (4, 4) and acts[5].shape == (4,)  # stacked per sample
    np.testing.assert_array_equal(acts[1][2], [1, 2, 3, 4])
    np.testing.assert_array_equal(acts[10][2:3], ex.run([x[2:3]])[0])


# ------------------------------------------------------------- validation
def test_input_validation_messages():
    model = op_model("ADD", [fspec((1, 3)), fspec((1, 3))], [fspec((1, 3))])
    ex = FloatExecutor.from_model(model)
    a = np.ones((1, 3), np.float32)
    with pytest.raises(ValueError, match="dtype float64, expected float32"):
        ex.run([a, np.ones((1, 3))])
    with pytest.raises(ValueError, match=r"shape \[1, 4\], expected \[1, 3\]"):
        ex.run([a, np.ones((1, 4), np.float32)])
    with pytest.raises(ValueError, match="1 inputs given, the graph has 2"):
        ex.run([a])
    with pytest.raises(ValueError, match="unknown names"):
        ex.run({"input0": a, "nope": a})
    with pytest.raises(ValueError, match="batch size"):
        ex.run([np.ones((2, 3), np.float32), np.ones((3, 3), np.float32)])
    out, = ex.run({"input0": a, "input1": [[1, 2, 3]]})  # lists take the input dtype
    np.testing.assert_array_equal(out, [[2, 3, 4]])


def test_unsupported_ops_are_all_listed():
    tensors = [spec((1, 4), np.int8, scale=0.1), spec((1, 4), np.int8, scale=0.1),
               spec((1, 4), np.int8, scale=0.2), fspec((1, 4)), fspec((1, 4))]
    ops = [("ADD", [0, 1], [2], {}),                        # quantized ADD
           ("DEQUANTIZE", [2], [3], {}),
           ("FLOOR", [3], [4], {})]                         # no float reference
    model = graph_model(tensors, ops, [0, 1], [4])
    with pytest.raises(UnsupportedOpError) as e:
        FloatExecutor.from_model(model)
    ops_ = e.value.ops
    assert [o["index"] for o in ops_] == [0, 2]
    assert ops_[0]["op_name"] == "ADD" and ops_[0]["dtypes"] == ["int8", "int8", "int8"]
    assert ops_[1]["op_name"] == "FLOOR" and "no float reference" in ops_[1]["reason"]
    assert set(ops_[0]) == {"index", "op_name", "version", "dtypes", "reason"}


def test_declared_shape_mismatch_is_model_error():
    model = op_model("RELU", [fspec((1, 3))], [fspec((1, 4))])
    with pytest.raises(ModelError, match="declares"):
        FloatExecutor.from_model(model).run([np.ones((1, 3), np.float32)])


def test_supported_ops_list():
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV",
            "STRIDED_SLICE", "MEAN", "QUANTIZE", "DEQUANTIZE"} <= set(supported_ops())


# ------------------------------------------------------------ convolutions
def _conv_out(padding, size, k, stride, dilation=1):
    eff = (k - 1) * dilation + 1
    return -(-size // stride) if padding == SAME else (size - eff) // stride + 1


CONV_CASES = [  # (h, w, c, o, kh, kw, stride, dilation, padding)
    (7, 6, 3, 4, 3, 3, (1, 1), (1, 1), SAME), (8, 9, 2, 5, 3, 2, (2, 2), (1, 1), SAME),
    (9, 8, 3, 2, 3, 3, (2, 1), (1, 1), VALID), (10, 10, 4, 3, 3, 3, (1, 1), (2, 2), SAME),
    (11, 9, 2, 3, 2, 3, (2, 2), (2, 1), VALID), (6, 7, 5, 6, 1, 1, (1, 1), (1, 1), VALID),
    (5, 5, 3, 2, 5, 5, (1, 1), (1, 1), SAME), (12, 7, 2, 4, 4, 3, (3, 2), (1, 2), SAME),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_2d(case):
    h, w, c, o, kh, kw, stride, dil, padding = case
    rng = np.random.default_rng(sum(case[:6]))
    wt = rng.standard_normal((o, kh, kw, c)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    oh, ow = (_conv_out(padding, h, kh, stride[0], dil[0]),
              _conv_out(padding, w, kw, stride[1], dil[1]))
    for act, bias in ((0, True), (1, False), (3, True), (2, True)):
        n = 2 if act == 0 else 1  # a static batch of 2 runs in LiteRT too
        opts = dict(padding=padding, stride_h=stride[0], stride_w=stride[1],
                    dilation_h_factor=dil[0], dilation_w_factor=dil[1],
                    fused_activation_function=act)
        x = rng.standard_normal((n, h, w, c)).astype(np.float32)
        ins = [fspec((n, h, w, c)), fspec(wt.shape, wt)]
        model = op_model("CONV_2D", ins + [fspec((o,), b if bias else np.zeros(o))],
                         [fspec((n, oh, ow, o))], opts)
        want = check(model, [x])
        if not bias:  # LiteRT's float CONV_2D insists on a bias; ours may omit it
            got, = execute(op_model("CONV_2D", ins, [fspec((n, oh, ow, o))], opts), [x])
            assert_close(got, want[0])


DW_CASES = [  # (h, w, c, mult, kh, kw, stride, dilation, padding)
    (7, 6, 3, 1, 3, 3, (1, 1), (1, 1), SAME), (8, 9, 2, 2, 3, 3, (2, 2), (1, 1), SAME),
    (9, 8, 3, 2, 3, 2, (1, 2), (1, 1), VALID), (10, 11, 4, 1, 3, 3, (1, 1), (2, 2), SAME),
    (11, 9, 2, 3, 2, 3, (2, 2), (2, 1), VALID), (6, 6, 1, 4, 3, 3, (2, 2), (1, 1), SAME),
    (12, 7, 3, 2, 5, 3, (3, 2), (2, 2), SAME),
]


@pytest.mark.parametrize("case", DW_CASES)
def test_depthwise_conv_2d(case):
    h, w, c, m, kh, kw, stride, dil, padding = case
    rng = np.random.default_rng(sum(case[:6]))
    o = c * m
    wt = rng.standard_normal((1, kh, kw, o)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    oh, ow = (_conv_out(padding, h, kh, stride[0], dil[0]),
              _conv_out(padding, w, kw, stride[1], dil[1]))
    for act, bias in ((0, True), (1, False), (3, True)):
        model = op_model("DEPTHWISE_CONV_2D", [fspec((1, h, w, c)), fspec(wt.shape, wt)]
                         + [fspec((o,), b if bias else np.zeros(o))],
                         [fspec((1, oh, ow, o))],
                         dict(padding=padding, stride_h=stride[0], stride_w=stride[1],
                              dilation_h_factor=dil[0], dilation_w_factor=dil[1],
                              depth_multiplier=m, fused_activation_function=act),
                         version=2)
        check(model, [rng.standard_normal((1, h, w, c)).astype(np.float32)])


@pytest.mark.parametrize("kind", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_conv_random_sweep(kind):
    """Random sizes (odd and even), filters, strides 1-3, dilations 1-2, SAME /
    VALID, depth multipliers 1-3, batch 1-2; bias omitted in our model half the time."""
    rng = np.random.default_rng(99 if kind == "CONV_2D" else 98)
    done = 0
    while done < 25:
        h, w = (int(v) for v in rng.integers(1, 13, 2))
        kh, kw = (int(v) for v in rng.integers(1, 6, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        dil = tuple(int(v) for v in rng.integers(1, 3, 2))
        padding = int(rng.integers(0, 2))
        oh, ow = (_conv_out(padding, h, kh, stride[0], dil[0]),
                  _conv_out(padding, w, kw, stride[1], dil[1]))
        if oh < 1 or ow < 1:
            continue
        n, c = int(rng.integers(1, 3)), int(rng.integers(1, 5))
        if kind == "CONV_2D":
            o = int(rng.integers(1, 6))
            wt = rng.standard_normal((o, kh, kw, c)).astype(np.float32)
            opts = {}
        else:
            m = int(rng.integers(1, 4))
            o = c * m
            wt = rng.standard_normal((1, kh, kw, o)).astype(np.float32)
            opts = {"depth_multiplier": m}
            n = 1  # LiteRT's float depthwise kernel runs any batch, keep it simple
        opts.update(padding=padding, stride_h=stride[0], stride_w=stride[1],
                    dilation_h_factor=dil[0], dilation_w_factor=dil[1],
                    fused_activation_function=int(rng.choice([0, 1, 2, 3])))
        b = rng.standard_normal(o).astype(np.float32)
        x = rng.standard_normal((n, h, w, c)).astype(np.float32)
        ins = [fspec(x.shape), fspec(wt.shape, wt)]
        want, = check(op_model(kind, ins + [fspec((o,), b)], [fspec((n, oh, ow, o))], opts,
                               version=2 if kind != "CONV_2D" else 1), [x])
        zero = op_model(kind, ins + [fspec((o,), np.zeros(o))], [fspec((n, oh, ow, o))], opts,
                        version=2 if kind != "CONV_2D" else 1)
        got, = execute(op_model(kind, ins, [fspec((n, oh, ow, o))], opts), [x])
        assert_close(got, run_litert(zero, [x])[0])
        done += 1


TCONV_CASES = [  # (h, w, c, o, kh, kw, stride, padding, out_h, out_w)
    (4, 5, 3, 2, 3, 3, (2, 2), SAME, 8, 10), (4, 5, 3, 2, 3, 3, (2, 2), SAME, 7, 9),
    (3, 4, 2, 3, 3, 2, (2, 1), VALID, 7, 5), (5, 5, 2, 2, 4, 4, (2, 2), SAME, 10, 10),
    (3, 3, 4, 2, 2, 2, (2, 2), VALID, 6, 6), (6, 4, 1, 3, 3, 3, (1, 1), SAME, 6, 4),
    (3, 4, 2, 2, 5, 3, (3, 2), VALID, 11, 9),
]


@pytest.mark.parametrize("case", TCONV_CASES)
def test_transpose_conv(case):
    h, w, c, o, kh, kw, stride, padding, oh, ow = case
    rng = np.random.default_rng(sum(case[:6]))
    wt = rng.standard_normal((o, kh, kw, c)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    for act, bias in ((0, False), (0, True), (1, True)):
        inputs = [spec((4,), np.int32, data=[1, oh, ow, o]), fspec(wt.shape, wt),
                  fspec((1, h, w, c))] + ([fspec((o,), b)] if bias else [])
        model = op_model("TRANSPOSE_CONV", inputs, [fspec((1, oh, ow, o))],
                         dict(padding=padding, stride_h=stride[0], stride_w=stride[1],
                              fused_activation_function=act),
                         version=4 if act else (3 if bias else 1))
        check(model, [rng.standard_normal((1, h, w, c)).astype(np.float32)])


@pytest.mark.parametrize("in_shape,keep", [((3, 7), False), ((1, 7), False),
                                           ((2, 3, 7), True), ((2, 3, 7), False),
                                           ((1, 2, 2, 6), False)])
def test_fully_connected(in_shape, keep):
    rng = np.random.default_rng(len(in_shape) * 2 + keep)
    i, o = in_shape[-1], 5
    wt = rng.standard_normal((o, i)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    out_shape = in_shape[:-1] + (o,) if keep else (int(np.prod(in_shape)) // i, o)
    for act, bias in ((0, True), (1, False), (2, True), (3, True)):
        model = op_model("FULLY_CONNECTED", [fspec(in_shape), fspec(wt.shape, wt),
                                             fspec((o,), b) if bias else None],
                         [fspec(out_shape)],
                         dict(fused_activation_function=act, keep_num_dims=keep))
        check(model, [rng.standard_normal(in_shape).astype(np.float32) * 2])


def test_hybrid_fully_connected_litert():
    """Per-tensor int8 weights, float input and output: LiteRT's dynamic-range kernel
    (row-wise input quantization) reproduced with hybrid="litert"."""
    rng = np.random.default_rng(2)
    wq = rng.integers(-127, 128, (6, 10)).astype(np.int8)
    b = rng.standard_normal(6).astype(np.float32)
    for act in (0, 1):
        model = op_model("FULLY_CONNECTED", [fspec((3, 10)),
                                             spec((6, 10), np.int8, scale=0.02, data=wq),
                                             fspec((6,), b)],
                         [fspec((3, 6))], dict(fused_activation_function=act), version=3)
        x = rng.standard_normal((3, 10)).astype(np.float32)
        check(model, [x], hybrid="litert")
        got, = execute(model, [x])  # dequantized weights: plain float math
        want = F.fully_connected(x, wq.astype(np.float32) * np.float32(0.02), b,
                                 activation=act)
        assert_close(got, want)


# ------------------------------------------------------------------ pooling
POOL_CASES = [  # (h, w, c, fh, fw, stride, padding)
    (7, 6, 3, 3, 3, (1, 1), SAME), (8, 9, 2, 2, 2, (2, 2), VALID),
    (9, 8, 3, 3, 2, (2, 2), SAME), (10, 7, 4, 3, 3, (2, 1), VALID),
    (5, 5, 2, 5, 5, (1, 1), VALID), (6, 7, 2, 4, 3, (3, 2), SAME),
]


@pytest.mark.parametrize("name", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pool(name, case):
    h, w, c, fh, fw, stride, padding = case
    rng = np.random.default_rng(sum(case[:5]))
    oh, ow = _conv_out(padding, h, fh, stride[0]), _conv_out(padding, w, fw, stride[1])
    for act in (0, 1, 3):
        model = op_model(name, [fspec((1, h, w, c))], [fspec((1, oh, ow, c))],
                         dict(padding=padding, stride_h=stride[0], stride_w=stride[1],
                              filter_height=fh, filter_width=fw,
                              fused_activation_function=act))
        check(model, [(rng.standard_normal((1, h, w, c)) * 4).astype(np.float32)])


# -------------------------------------------------------------- arithmetic
BROADCAST = [((1, 4, 5, 3), (1, 4, 5, 3)), ((1, 4, 5, 3), (3,)), ((1, 1, 5, 1), (1, 4, 1, 3)),
             ((2, 3), (1,)), ((), (4, 2)), ((3, 1, 2), (1, 4, 1))]


@pytest.mark.parametrize("name", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("shapes", BROADCAST)
def test_binary_broadcasting(name, shapes):
    sa, sb = shapes
    rng = np.random.default_rng(len(sa) * 7 + len(sb))
    out = np.broadcast_shapes(sa, sb)
    for act in (0, 1, 2, 3):
        model = op_model(name, [fspec(sa), fspec(sb)], [fspec(out)],
                         dict(fused_activation_function=act),
                         version=1 if sa == sb else 2)
        check(model, [(rng.standard_normal(sa) * 3).astype(np.float32),
                      (rng.standard_normal(sb) * 3).astype(np.float32)])


@pytest.mark.parametrize("name", ["ADD", "SUB", "MUL"])
def test_binary_int32(name):
    rng = np.random.default_rng(1)
    a = rng.integers(-1000, 1000, (2, 3)).astype(np.int32)
    b = rng.integers(-1000, 1000, (3,)).astype(np.int32)
    model = op_model(name, [spec((2, 3), np.int32), spec((3,), np.int32)],
                     [spec((2, 3), np.int32)], dict(fused_activation_function=0), version=2)
    check(model, [a, b])


@pytest.mark.parametrize("name", ["CONV_2D", "ADD"])
def test_fused_tanh_is_an_explicit_tanh(name):
    """LiteRT's float kernels ignore a fused TANH; ours applies it, like CONV_2D / ADD
    followed by a TANH op (which is what LiteRT is compared against here)."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((1, 5, 5, 2)) * 2).astype(np.float32)
    if name == "CONV_2D":
        wt = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
        ins = [fspec((1, 5, 5, 2)), fspec(wt.shape, wt), fspec((3,), np.zeros(3))]
        opts = dict(padding=SAME, stride_h=1, stride_w=1, dilation_h_factor=1,
                    dilation_w_factor=1)
        out = (1, 5, 5, 3)
    else:
        y = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
        ins = [fspec((1, 5, 5, 2)), fspec((1, 5, 5, 2), y)]
        opts, out = {}, (1, 5, 5, 2)
    fused = op_model(name, ins, [fspec(out)], dict(opts, fused_activation_function=4))
    tensors = ins + [fspec(out), fspec(out)]
    k = len(ins)
    unfused = graph_model(tensors, [(name, list(range(k)), [k], dict(opts)),
                                    ("TANH", [k], [k + 1], {})], [0], [k + 1])
    got, = execute(fused, [x])
    want, = run_litert(unfused, [x])
    assert_close(got, want)


# -------------------------------------------------------------- activations
@pytest.mark.parametrize("name,opts", [("LOGISTIC", {}), ("TANH", {}), ("HARD_SWISH", {}),
                                       ("LEAKY_RELU", {"alpha": 0.2}), ("RELU", {}),
                                       ("RELU6", {}), ("RELU_N1_TO_1", {}),
                                       ("LEAKY_RELU", {"alpha": 1.5})])
def test_unary_activation(name, opts):
    rng = np.random.default_rng(len(name))
    x = np.concatenate([rng.standard_normal(200) * 5, np.linspace(-20, 20, 81),
                        [0.0, -0.0, 3.0, -3.0, 6.0, 1.0, -1.0, 90.0, -90.0]])
    x = x.astype(np.float32).reshape(1, -1)
    model = op_model(name, [fspec(x.shape)], [fspec(x.shape)], opts)
    check(model, [x], rel=2e-6)


@pytest.mark.parametrize("shape,beta", [((1, 10), 1.0), ((2, 3, 7), 0.5), ((1, 1, 1, 12), 2.0),
                                        ((4, 1), 1.0)])
def test_softmax(shape, beta):
    x = (np.random.default_rng(len(shape)).standard_normal(shape) * 6).astype(np.float32)
    model = op_model("SOFTMAX", [fspec(shape)], [fspec(shape)], {"beta": beta})
    check(model, [x], rel=1e-6)


@pytest.mark.parametrize("shape,axes,keep", [((1, 5, 6, 3), [1, 2], True),
                                             ((1, 5, 6, 3), [1, 2], False),
                                             ((2, 4, 3), [-1], False), ((2, 4, 3), [0, 2], True),
                                             ((3, 4), [1, 1, -1], False),
                                             ((2, 3, 4), [0, 1, 2], False)])
def test_mean(shape, axes, keep):
    x = np.random.default_rng(len(axes)).standard_normal(shape).astype(np.float32)
    want = np.mean(x, axis=tuple(sorted({a % len(shape) for a in axes})), keepdims=keep)
    model = op_model("MEAN", [fspec(shape), spec((len(axes),), np.int32, data=axes)],
                     [fspec(want.shape)], {"keep_dims": keep})
    check(model, [x])


# --------------------------------------------------------- (de)quantization
@pytest.mark.parametrize("dtype,scale,zp", [(np.int8, 0.05, -3), (np.int8, 0.1, 0),
                                            (np.int16, 0.001, 0), (np.uint8, 0.03, 128)])
def test_quantize_dequantize(dtype, scale, zp):
    rng = np.random.default_rng(int(scale * 1000))
    info = np.iinfo(dtype)
    ties = (np.arange(-40, 40) + 0.5) * scale  # exact halves round away from zero
    x = np.concatenate([rng.standard_normal(300) * scale * 80, ties,
                        [info.max * scale * 3, info.min * scale * 3, 0.0]])
    x = x.astype(np.float32).reshape(1, -1)
    q = spec(x.shape, dtype, scale=scale, zero_point=zp)
    quant = op_model("QUANTIZE", [fspec(x.shape)], [q])
    got, = check(quant, [x])
    np.testing.assert_array_equal(got, F.quantize(x, scale, zp, dtype))
    dq = op_model("DEQUANTIZE", [q], [fspec(x.shape)], version=2)
    check(dq, [got], rel=0)


def test_dequantize_float16_and_per_channel():
    w = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float16)
    model = op_model("DEQUANTIZE", [spec((3, 4), np.float16, data=w)], [fspec((3, 4))],
                     version=3)
    got, = FloatExecutor.from_model(model).run([])
    np.testing.assert_array_equal(got, w.astype(np.float32))
    q = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)
    got = F.dequantize(q, [0.5, 0.25, 2.0], [0, 1, -1], axis=0)
    np.testing.assert_array_equal(got, (q - np.array([[0], [1], [-1]])) *
                                  np.array([[0.5], [0.25], [2.0]], np.float32))


# ------------------------------------------------------------ data movement
def test_reshape_squeeze_expand_dims_shape():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    check(op_model("RESHAPE", [fspec(x.shape), spec((2,), np.int32, data=[-1, 6])],
                   [fspec((4, 6))]), [x])
    check(op_model("RESHAPE", [fspec(x.shape)], [fspec((2, 12))], {"new_shape": [2, 12]}), [x])
    check(op_model("RESHAPE", [fspec(x.shape), spec((3,), np.int32)], [fspec((6, 2, 2))]),
          [x, np.array([6, 2, 2], np.int32)])
    y = x.reshape(1, 2, 1, 12)
    check(op_model("SQUEEZE", [fspec(y.shape)], [fspec((2, 12))], {"squeeze_dims": []}), [y])
    check(op_model("SQUEEZE", [fspec(y.shape)], [fspec((1, 2, 12))], {"squeeze_dims": [-2]}), [y])
    for axis, out in ((0, (1, 1, 2, 3, 4)), (-1, (1, 2, 3, 4, 1)), (2, (1, 2, 1, 3, 4))):
        check(op_model("EXPAND_DIMS", [fspec(x.shape), spec((1,), np.int32, data=[axis])],
                       [fspec(out)]), [x])
    for dt, code in ((np.int32, 2), (np.int64, 4)):
        check(op_model("SHAPE", [fspec(x.shape)], [spec((4,), dt)], {"out_type": code}), [x])


@pytest.mark.parametrize("seed", range(3))
def test_pad_padv2_concatenation_pack_transpose(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 5, 4))
    x = rng.standard_normal(shape).astype(np.float32)
    pads = rng.integers(0, 3, (4, 2)).astype(np.int32)
    out = tuple(int(s + a + b) for s, (a, b) in zip(shape, pads))
    check(op_model("PAD", [fspec(shape), spec((4, 2), np.int32, data=pads)], [fspec(out)]), [x])
    check(op_model("PADV2", [fspec(shape), spec((4, 2), np.int32, data=pads),
                             fspec((), np.float32(-2.5))], [fspec(out)]), [x])
    axis = int(rng.integers(-4, 4))
    y = rng.standard_normal(shape).astype(np.float32)
    cat = np.concatenate([x, y, x], axis=axis)
    check(op_model("CONCATENATION", [fspec(shape)] * 3, [fspec(cat.shape)],
                   {"axis": axis, "fused_activation_function": 0}), [x, y, x])
    pack_axis = int(rng.integers(0, 5))
    check(op_model("PACK", [fspec(shape)] * 2, [fspec(np.stack([x, y], pack_axis).shape)],
                   {"values_count": 2, "axis": pack_axis}), [x, y])
    perm = [int(p) for p in rng.permutation(4)]
    check(op_model("TRANSPOSE", [fspec(shape), spec((4,), np.int32, data=perm)],
                   [fspec(np.transpose(x, perm).shape)]), [x])


def test_quantized_data_movement():
    """Data ops on int8 tensors sharing one quantization are exact copies; PAD fills
    with the zero point; a requantizing copy is unsupported."""
    rng = np.random.default_rng(8)
    x = rng.integers(-128, 128, (1, 3, 4, 2)).astype(np.int8)
    q = dict(scale=0.1, zero_point=-5)
    check(op_model("PAD", [spec(x.shape, np.int8, **q),
                           spec((4, 2), np.int32, data=[[0, 0], [1, 2], [0, 1], [0, 0]])],
                   [spec((1, 6, 5, 2), np.int8, **q)]), [x])
    check(op_model("RESHAPE", [spec(x.shape, np.int8, **q)], [spec((3, 8), np.int8, **q)],
                   {"new_shape": [3, 8]}), [x])
    bad = op_model("RESHAPE", [spec(x.shape, np.int8, **q)],
                   [spec((3, 8), np.int8, scale=0.2, zero_point=-5)], {"new_shape": [3, 8]})
    with pytest.raises(UnsupportedOpError, match="quantization"):
        FloatExecutor.from_model(bad)


def test_concatenation_fused_activation():
    """LiteRT refuses fused activations on CONCATENATION; ours applies them."""
    x = np.array([[-2.0, 0.5, 7.0]], np.float32)
    model = op_model("CONCATENATION", [fspec((1, 3))] * 2, [fspec((1, 6))],
                     {"axis": 1, "fused_activation_function": 3})
    got, = execute(model, [x, -x])
    np.testing.assert_array_equal(got, [[0, 0.5, 6, 2, 0, 0]])


SLICES = [  # (shape, begin, end, strides, masks)
    ((4, 5, 6), [1, 0, 2], [3, 5, 6], [1, 2, 1], {}),
    ((4, 5, 6), [-1, 4, 0], [0, 0, 6], [-1, -2, 3], {}),
    ((4, 5, 6), [0, 1, 0], [4, 2, 6], [1, 1, 1], {"shrink_axis_mask": 2}),
    ((4, 5, 6), [1, 0], [3, 0], [1, 1], {"ellipsis_mask": 2}),
    ((4, 5, 6), [0, 1, 0], [0, 4, 0], [1, 1, 1], {"begin_mask": 5, "end_mask": 5}),
    ((4, 5, 6), [0, 1, 0, 2], [0, 3, 0, 5], [1, 1, 1, 1],
     {"new_axis_mask": 1, "begin_mask": 4, "end_mask": 4}),
    ((4, 5), [-3, -9], [9, -1], [2, 1], {}),
]


@pytest.mark.parametrize("case", SLICES)
def test_strided_slice(case):
    shape, begin, end, strides, masks = case
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    opts = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                shrink_axis_mask=0, offset=False)
    opts.update(masks)
    want = F.strided_slice(x, begin, end, strides, **{k: v for k, v in opts.items()})
    n = len(begin)
    model = op_model("STRIDED_SLICE", [fspec(shape), spec((n,), np.int32, data=begin),
                                       spec((n,), np.int32, data=end),
                                       spec((n,), np.int32, data=strides)],
                     [fspec(want.shape)], opts, version=5 if masks.get("offset") else 4)
    check(model, [x])


def test_strided_slice_offset():
    """offset=True: end is a size counted from begin (LiteRT's BUILTIN_REF resolver
    has no version 8, so checked against the numpy slice)."""
    x = np.random.default_rng(0).standard_normal((4, 7, 5)).astype(np.float32)
    model = op_model("STRIDED_SLICE", [fspec(x.shape), spec((3,), np.int32, data=[1, -5, 0]),
                                       spec((3,), np.int32, data=[2, 3, 5]),
                                       spec((3,), np.int32, data=[1, 1, 2])],
                     [fspec((2, 3, 3))], {"offset": True}, version=8)
    got, = execute(model, [x])
    np.testing.assert_array_equal(got, x[1:3, 2:5, 0:5:2])


def test_strided_slice_random_sweep():
    """Random begin / end / strides (negative, out of range) and masks vs LiteRT."""
    rng = np.random.default_rng(21)
    for _ in range(40):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(v) for v in rng.integers(1, 6, rank))
        n = int(rng.integers(1, rank + 1))
        begin, end, strides = [], [], []
        masks = dict(begin_mask=0, end_mask=0, shrink_axis_mask=0, ellipsis_mask=0,
                     new_axis_mask=0)
        for i in range(n):
            size = shape[i]
            s = int(rng.choice([1, 1, 2, 3, -1, -2]))
            begin.append(int(rng.integers(-size - 2, size + 3)))
            end.append(int(rng.integers(-size - 2, size + 3)))
            strides.append(s)
            for m in ("begin_mask", "end_mask"):
                if rng.random() < 0.3:
                    masks[m] |= 1 << i
            if s > 0 and rng.random() < 0.2:
                masks["shrink_axis_mask"] |= 1 << i
                begin[-1] = int(rng.integers(-size, size))
        if n >= 2 and rng.random() < 0.2:
            masks["ellipsis_mask"] = 1 << int(rng.integers(0, n))
        x = rng.standard_normal(shape).astype(np.float32)
        want = F.strided_slice(x, begin, end, strides, **masks)
        model = op_model("STRIDED_SLICE", [fspec(shape), spec((n,), np.int32, data=begin),
                                           spec((n,), np.int32, data=end),
                                           spec((n,), np.int32, data=strides)],
                         [fspec(want.shape)], masks, version=4)
        got, = check(model, [x])
        np.testing.assert_array_equal(got, want)
