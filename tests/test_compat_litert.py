"""microdl.interpreter against LiteRT 2.x's ai_edge_litert.interpreter, the module it
replaces: the same sequence of calls on both, for every model in ../shared/models that
both load and for one-op models with signatures, variables and several subgraphs, and
a comparison of results, details dicts, exception types and messages.

Where microdl differs on purpose, the test says so and checks microdl's behaviour
instead (LiteRT crashes or gives a binding's TypeError there, or microdl holds only
subgraph 0).
"""
import enum
import glob
import inspect
import os
import re
import warnings

import numpy as np
import pytest

from microdl import interpreter as md
from microdl.core.errors import UnsupportedOpError
from microdl.core.graph import Graph, Op, Signature
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model
from tests.conftest import SHARED_MODELS, shared_model
from tests.oplib import ORACLE, _tensor, spec

pytestmark = pytest.mark.allow_skip(
    "float32 models are skipped until microdl has float32 kernels (they turn on by "
    "themselves); a second-oracle run (MICRODL_ORACLE=tflite_runtime) has no LiteRT 2.x")


@pytest.fixture(scope="module")
def lite():
    """LiteRT 2.x's interpreter module (not the MICRODL_ORACLE one: this is about its
    Python API)."""
    if ORACLE != "litert":
        pytest.skip("the compatibility tests compare with LiteRT 2.x, run in the main run")
    import ai_edge_litert.interpreter as m

    return m


def both(lite, **kwargs):
    """(LiteRT on its reference kernels, microdl) made with the same arguments."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lite.Interpreter(experimental_op_resolver_type=lite.OpResolverType.BUILTIN_REF,
                               **kwargs)
    ours = md.Interpreter(experimental_op_resolver_type=md.OpResolverType.BUILTIN_REF,
                          **kwargs)
    return ref, ours


def outcome(fn):
    """("ok", value) or ("raise", exception type, message) of calling fn."""
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - the comparison is the point
        return ("raise", type(e), str(e))


_MAX_INDEX = re.compile(r"max tensor index \d+")


def assert_same_outcome(a, b, what, normalize_max_index=False):
    """Same exception type and message (or both returning)."""
    if a[0] == "ok" or b[0] == "ok":
        assert a[0] == b[0] == "ok", f"{what}: LiteRT {a[:3]} microdl {b[:3]}"
        return
    ma, mb = a[2], b[2]
    if normalize_max_index:
        # LiteRT counts its own temporary tensors beyond the model's in this message.
        ma, mb = _MAX_INDEX.sub("max tensor index N", ma), _MAX_INDEX.sub("max tensor index N", mb)
    assert a[1] is b[1] and ma == mb, f"{what}: LiteRT {a[1].__name__}({a[2]!r}) vs " \
                                      f"microdl {b[1].__name__}({b[2]!r})"


def assert_same_value(a, b, what):
    """Deep equality of details dicts / lists / arrays, dtypes included."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{what}: keys {list(a)} vs {list(b)}"
        for k in a:
            assert_same_value(a[k], b[k], f"{what}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{what}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_value(x, y, f"{what}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, \
            f"{what}: {a.dtype}{a.shape} vs {getattr(b, 'dtype', None)}{getattr(b, 'shape', None)}"
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        assert type(a) is type(b) and a == b, f"{what}: {a!r} vs {b!r}"


def assert_same_results(a, b, what):
    """Integer outputs bit for bit; float32 outputs within 1e-5 of their range."""
    assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
    if a.dtype.kind == "f":
        tol = 1e-5 * max(float(np.ptp(a)), 1e-6)
        np.testing.assert_allclose(b, a, rtol=0, atol=tol, err_msg=what)
    else:
        np.testing.assert_array_equal(b, a, err_msg=what)


def random_input(rng, d):
    shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -(1 << 15)), min(info.max, 1 << 15) + 1,
                        size=shape).astype(dtype)


# ----------------------------------------------------------------- public names
def public_names(obj):
    return {n for n in dir(obj) if not n.startswith("_")
            and not inspect.ismodule(getattr(obj, n))}


def test_every_public_name_of_litert_exists(lite):
    """Every public name of ai_edge_litert.interpreter (its imported modules aside:
    ctypes, np, os, ...) is in microdl.interpreter, and so is every public method of
    its Interpreter and SignatureRunner, plus the private helpers scripts use."""
    names = public_names(lite)
    assert {"Interpreter", "load_delegate", "OpResolverType"} <= names  # the listing works
    assert names - public_names(md) == set()
    used_private = {"_get_ops_details", "_get_op_details", "_get_tensor_details",
                    "_get_full_signature_list"}
    missing = (public_names(lite.Interpreter) | used_private) - set(dir(md.Interpreter))
    assert missing == set(), missing
    assert public_names(lite.SignatureRunner) - set(dir(md.SignatureRunner)) == set()
    assert [(m.name, m.value) for m in lite.OpResolverType] == \
        [(m.name, m.value) for m in md.OpResolverType]
    assert issubclass(md.InterpreterWithCustomOps, md.Interpreter)


CALLABLES = ["Interpreter.__init__", "Interpreter.get_tensor", "Interpreter.set_tensor",
             "Interpreter.tensor", "Interpreter.get_tensor_details",
             "Interpreter._get_tensor_details", "Interpreter._get_op_details",
             "Interpreter.get_signature_runner", "Interpreter.get_signature_list",
             "Interpreter.reset_all_variables", "Interpreter.num_subgraphs",
             "Interpreter.invoke", "Interpreter.allocate_tensors",
             "Interpreter.resize_tensor_input",
             "SignatureRunner.__init__", "InterpreterWithCustomOps.__init__",
             "load_delegate", "Delegate.__init__"]


def _params(fn):
    out = []
    for p in inspect.signature(fn).parameters.values():
        default = p.default
        if isinstance(default, enum.Enum):
            default = (type(default).__name__, default.name)
        out.append((p.name, p.kind, default))
    return out


@pytest.mark.parametrize("name", CALLABLES)
def test_same_argument_names_order_and_defaults(lite, name):
    """LiteRT's parameters, in LiteRT's order with its defaults, lead microdl's (which
    may add keyword-only ones after them)."""
    def get(mod):
        obj = mod
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    theirs, ours = _params(get(lite)), _params(get(md))
    assert ours[:len(theirs)] == theirs
    assert all(kind == inspect.Parameter.KEYWORD_ONLY for _, kind, _ in ours[len(theirs):])


# ----------------------------------------------------------- constructor checks
HELLO = ("tflm", "hello_world_int8.tflite")

CONSTRUCTOR_CASES = {
    "missing file": lambda path: dict(model_path="/nonexistent/dir/model.tflite"),
    "empty path": lambda path: dict(model_path=""),
    "nothing": lambda path: dict(),
    "both": lambda path: dict(model_path=path, model_content=b"x"),
    "threads 0": lambda path: dict(model_path=path, num_threads=0),
    "threads -3": lambda path: dict(model_path=path, num_threads=-3),
    "threads float": lambda path: dict(model_path=path, num_threads=1.0),
    "threads numpy int": lambda path: dict(model_path=path, num_threads=np.int64(2)),
    "threads True": lambda path: dict(model_path=path, num_threads=True),
    "threads False": lambda path: dict(model_path=path, num_threads=False),
    "threads 2": lambda path: dict(model_path=path, num_threads=2),
    "threads checked before the file": lambda path: dict(model_path="/nope", num_threads=0),
    "all experimental keywords": lambda path: dict(
        model_path=path, experimental_preserve_all_tensors=True,
        experimental_disable_delegate_clustering=True,
        experimental_default_delegate_latest_features=True,
        experimental_compress_quantization_zero_points=True,
        experimental_disable_delegate_node_fusion=True,
        experimental_force_delegate_node_profiling=True),
    "no delegates": lambda path: dict(model_path=path, experimental_delegates=[]),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTOR_CASES))
def test_constructor_checks_as_litert(lite, case):
    path = shared_model(*HELLO)
    kwargs = CONSTRUCTOR_CASES[case](path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = outcome(lambda: lite.Interpreter(**kwargs))
    b = outcome(lambda: md.Interpreter(**kwargs))
    assert_same_outcome(a, b, case)
    if a[0] == "ok" and "experimental_compress_quantization_zero_points" in kwargs:
        assert b[1].experimental_compress_quantization_zero_points is \
            a[1].experimental_compress_quantization_zero_points is True


@pytest.mark.parametrize("value", [2, "BUILTIN_REF", None, 1.5, "AUTO"])
def test_bad_op_resolver_type_is_refused_as_litert(lite, value):
    path = shared_model(*HELLO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = outcome(lambda: lite.Interpreter(model_path=path,
                                             experimental_op_resolver_type=value))
    b = outcome(lambda: md.Interpreter(model_path=path, experimental_op_resolver_type=value))
    assert a[0] == "raise"
    assert_same_outcome(a, b, f"resolver {value!r}")


def test_every_resolver_member_is_accepted_and_litert_members_too(lite):
    """microdl's members, and LiteRT's (a shim that maps only Interpreter passes
    those), all construct and give the same outputs."""
    path = shared_model("mlperf_tiny", "kws_ref_model.tflite")
    outs = []
    x = None
    for member in list(md.OpResolverType) + list(lite.OpResolverType):
        it = md.Interpreter(model_path=path, experimental_op_resolver_type=member)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        if x is None:
            x = random_input(np.random.default_rng(3), d)
        it.set_tensor(d["index"], x)
        it.invoke()
        outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_builtin_ref_binds_the_reference_kernels(monkeypatch):
    """BUILTIN_REF is a PrepareContext field the Interpreter sets; the environment
    variable still forces it."""
    monkeypatch.delenv("MICRODL_REFERENCE_KERNELS", raising=False)
    path = shared_model("mlperf_tiny", "kws_ref_model.tflite")

    def kernels(**kw):
        it = md.Interpreter(model_path=path, **kw)
        return {s.kernel for _, s in it._steps if hasattr(s, "kernel")}

    fast = kernels()
    ref = kernels(experimental_op_resolver_type=md.OpResolverType.BUILTIN_REF)
    assert "conv_s8_fast" in fast and "conv_s8" not in fast
    assert "conv_s8" in ref and "conv_s8_fast" not in ref
    assert kernels(experimental_op_resolver_type=md.OpResolverType.BUILTIN) == fast
    monkeypatch.setenv("MICRODL_REFERENCE_KERNELS", "1")
    assert kernels() == ref


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_delegates_are_refused_clearly(lite):
    """load_delegate of a library that does not exist: LiteRT raises OSError (ctypes);
    microdl's error is an OSError too, and the ValueError LiteRT documents, naming
    the library.  A delegate passed to Interpreter: ValueError (LiteRT: an
    AttributeError on a non-delegate object)."""
    lib = "libmicrodl-no-such-delegate.so"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = outcome(lambda: lite.load_delegate(lib))
    assert a[0] == "raise" and issubclass(a[1], OSError) and lib in a[2]
    for fn in (lambda: md.load_delegate(lib), lambda: md.load_delegate(lib, {"k": 1})):
        b = outcome(fn)
        assert b[0] == "raise" and issubclass(b[1], OSError) and issubclass(b[1], ValueError)
        assert b[2].startswith(f"Failed to load delegate from {lib}\n")
    with pytest.raises(ValueError, match="libedgetpu.so.1"):
        md.Delegate("libedgetpu.so.1")
    path = shared_model(*HELLO)
    with pytest.raises(ValueError, match="no delegates"):
        md.Interpreter(model_path=path, experimental_delegates=[object()])


def test_custom_op_registerers_are_refused_by_name(lite):
    path = shared_model(*HELLO)
    a = outcome(lambda: lite.InterpreterWithCustomOps(custom_op_registerers=["FooRegisterer"],
                                                      model_path=path))
    b = outcome(lambda: md.InterpreterWithCustomOps(custom_op_registerers=["FooRegisterer"],
                                                    model_path=path))
    assert a[0] == b[0] == "raise" and a[1] is b[1] is ValueError and "FooRegisterer" in b[2]

    def RegisterMyOp(resolver):  # noqa: N802 - a registerer's usual name
        pass

    with pytest.raises(ValueError, match="RegisterMyOp"):
        md.InterpreterWithCustomOps(custom_op_registerers=[RegisterMyOp], model_path=path)
    it = md.InterpreterWithCustomOps(model_path=path)
    it.allocate_tensors()
    ref = lite.InterpreterWithCustomOps(model_path=path)
    assert_same_value(ref.get_input_details(), it.get_input_details(), "details")


# ------------------------------------------------------------- every model
def shared_models():
    paths = sorted(glob.glob(os.path.join(SHARED_MODELS, "**", "*.tflite"), recursive=True))
    return [os.path.relpath(p, SHARED_MODELS) for p in paths]


def only_float32_missing(err):
    return all("float32" in o["dtypes"] for o in err.ops)


# Models LiteRT loads but cannot run safely, so never run there.
LITERT_UNSAFE = {
    # int8-state SVDF: LiteRT's kernel reads the int8 state as int16, past its end (heap
    # corruption, an abort at exit).  tests/test_svdf.py checks it against TFLite Micro.
    os.path.join("tflm", "keyword_scrambled_8bit.tflite"),
}


def load_pair(lite, rel):
    """(LiteRT, microdl) for a model both load; skips (allow_skip) a float32 model
    while microdl lacks float32 kernels, returns None for a model one of them refuses
    for another reason (checked by the tests below) or one of LITERT_UNSAFE."""
    if rel in LITERT_UNSAFE:
        return None
    path = os.path.join(SHARED_MODELS, rel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ref = lite.Interpreter(model_path=path, num_threads=1,
                                   experimental_op_resolver_type=lite.OpResolverType.BUILTIN_REF)
        except ValueError:
            return None
    try:
        ours = md.Interpreter(model_path=path, num_threads=1,
                              experimental_op_resolver_type=md.OpResolverType.BUILTIN_REF)
    except UnsupportedOpError as e:
        if only_float32_missing(e):
            pytest.skip(f"{rel}: float32 model; microdl's float32 kernels are another "
                        f"branch (issue 12) and this case turns on when they land")
        return None
    return ref, ours


@pytest.mark.parametrize("rel", shared_models() or ["(no models)"])
def test_same_calls_same_answers(lite, rel):
    """The sequence a script runs, before and after allocate_tensors(), its errors
    included, on LiteRT and on microdl: details dicts, signatures, op details, outputs
    on seeded inputs, and every exception type and message."""
    pair = load_pair(lite, rel)
    if pair is None:
        pytest.skip(f"{rel}: not loadable by both (see the refusal tests)")
    ref, ours = pair
    seq = []

    def call(what, fn, normalize=False):
        a, b = outcome(lambda: fn(ref)), outcome(lambda: fn(ours))
        assert_same_outcome(a, b, f"{rel}: {what}", normalize)
        if a[0] == "ok":
            assert_same_value(a[1], b[1], f"{rel}: {what}")
        seq.append(what)
        return a, b

    ins = ref.get_input_details()
    outs = ref.get_output_details()
    d0, o0 = ins[0], outs[0]
    good = [np.zeros(d["shape"], d["dtype"]) for d in ins]
    wrong_dtype = np.float32 if np.dtype(d0["dtype"]) != np.float32 else np.int8
    for what, fn in [
            ("input details", lambda it: it.get_input_details()),
            ("output details", lambda it: it.get_output_details()),
            ("tensor details", lambda it: it.get_tensor_details()),
            ("tensor details of subgraph 0", lambda it: it.get_tensor_details(subgraph_index=0)),
            ("_get_tensor_details", lambda it: it._get_tensor_details(o0["index"], 0)),
            ("signature list", lambda it: it.get_signature_list()),
            ("full signature list", lambda it: it._get_full_signature_list()),
            ("num_subgraphs", lambda it: it.num_subgraphs()),
            ("ops details", lambda it: it._get_ops_details()),
            ("invoke before allocate", lambda it: it.invoke()),
            ("get_tensor before allocate", lambda it: it.get_tensor(o0["index"])),
            ("set_tensor before allocate", lambda it: it.set_tensor(d0["index"], good[0])),
            ("tensor() before allocate", lambda it: it.tensor(d0["index"])()),
            ("allocate", lambda it: it.allocate_tensors()),
            ("allocate again", lambda it: it.allocate_tensors()),
            ("wrong dtype", lambda it: it.set_tensor(d0["index"], good[0].astype(wrong_dtype))),
            ("a list", lambda it: it.set_tensor(d0["index"], good[0].tolist())),
            ("wrong rank", lambda it: it.set_tensor(d0["index"], good[0].reshape(-1)[:1])),
            ("wrong dimension", lambda it: it.set_tensor(
                d0["index"], np.zeros(tuple(d0["shape"][:-1]) + (d0["shape"][-1] + 1,),
                                      d0["dtype"]))),
            ("get_tensor of subgraph 1", lambda it: it.get_tensor(o0["index"], 1)),
            ("get_tensor of subgraph -1", lambda it: it.get_tensor(o0["index"], -1)),
            ("tensor details of subgraph 1", lambda it: it.get_tensor_details(1)),
            ("tensor details of subgraph -1", lambda it: it.get_tensor_details(-1)),
            ("op details out of range", lambda it: it._get_op_details(len(it._get_ops_details()))),
            ("op details -1", lambda it: it._get_op_details(-1)),
            ("unknown signature key", lambda it: it.get_signature_runner("no such key")),
            ("empty signature key", lambda it: it.get_signature_runner("")),
            ("reset_all_variables", lambda it: it.reset_all_variables())]:
        call(what, fn)
    # LiteRT's Python error reporter never empties its buffer: after "invoke before
    # allocate" its next C++ error message starts with that one's text.  Compared on a
    # fresh pair, so the message is the one a script sees first.
    ref2, ours2 = load_pair(lite, rel)
    a, b = (outcome(lambda: ref2.reset_all_variables()),
            outcome(lambda: ours2.reset_all_variables()))
    assert_same_outcome(a, b, f"{rel}: reset_all_variables before allocate")
    seq.append("reset_all_variables before allocate")
    for what, fn in [
            ("set_tensor bad index", lambda it: it.set_tensor(100000, good[0])),
            ("set_tensor negative index", lambda it: it.set_tensor(-1, good[0])),
            ("get_tensor bad index", lambda it: it.get_tensor(100000)),
            ("tensor() bad index", lambda it: it.tensor(100000)())]:
        call(what, fn, normalize=True)
    if len(ref.get_signature_list()) != 1:
        call("signature runner of None", lambda it: it.get_signature_runner())
    call("tensor() factory of a bad index (checked when called)",
         lambda it: callable(it.tensor(100000)))

    # Results on seeded inputs, set through set_tensor and through a tensor() view.
    # TRANSPOSE_CONV's output_shape, a graph input in some TFLite Micro test models,
    # gets the output's real shape.
    shapes = {}
    details = {d["index"]: d for d in ref.get_tensor_details()}
    for op in ref._get_ops_details():
        if op["op_name"] == "TRANSPOSE_CONV":
            shapes[int(op["inputs"][0])] = details[int(op["outputs"][0])]["shape"]
    rng = np.random.default_rng(len(rel))
    for trial in range(3):
        xs = [shapes[d["index"]] if d["index"] in shapes else random_input(rng, d)
              for d in ins]
        for it in (ref, ours):
            for d, x in zip(ins, xs):
                if trial == 2:
                    it.tensor(d["index"])()[...] = x
                else:
                    it.set_tensor(d["index"], x)
            it.invoke()
        for d in ins + outs:
            assert_same_results(ref.get_tensor(d["index"]), ours.get_tensor(d["index"]),
                                f"{rel}: trial {trial}, tensor {d['name']}")
    # Signatures by name.
    for key in ref.get_signature_list():
        rr, rm = ref.get_signature_runner(key), ours.get_signature_runner(key)
        assert_same_value(rr.get_input_details(), rm.get_input_details(), f"{rel}: {key} inputs")
        assert_same_value(rr.get_output_details(), rm.get_output_details(), f"{rel}: {key} outputs")
        feeds = {name: random_input(rng, d) for name, d in rr.get_input_details().items()}
        a, b = rr(**feeds), rm(**feeds)
        assert list(a) == list(b)
        for name in a:
            assert_same_results(a[name], b[name], f"{rel}: {key} -> {name}")
        del rr, rm
    # A view held across allocate_tensors(): RuntimeError, LiteRT's message.
    views = [ref.tensor(d0["index"])(), ours.tensor(d0["index"])()]
    call("allocate with a view held", lambda it: it.allocate_tensors())
    call("resize with a view held",
         lambda it: it.resize_tensor_input(d0["index"], list(d0["shape"])))
    del views
    call("allocate after the view is gone", lambda it: it.allocate_tensors())
    assert len(seq) >= 37


def test_the_shared_models_are_covered(lite):
    """The loop above really compares the int8 models (a filter that skipped all of
    them would pass); person_detect is the one LiteRT refuses."""
    loadable = []
    for rel in shared_models():
        pair = None
        try:
            pair = load_pair(lite, rel)
        except pytest.skip.Exception:
            pass
        if pair is not None:
            loadable.append(os.path.basename(rel))
    for name in ("kws_ref_model.tflite", "vww_96_int8.tflite", "ad01_int8.tflite",
                 "pretrainedResnet_quant.tflite", "hello_world_int8.tflite",
                 "micro_speech_quantized.tflite", "conv0.tflite", "add0.tflite"):
        assert name in loadable, name
    path = shared_model("tflm", "person_detect.tflite")
    with pytest.raises(ValueError):
        lite.Interpreter(model_path=path)
    md.Interpreter(model_path=path)  # microdl accepts the per-tensor quantized_dimension


def test_models_microdl_refuses_name_their_ops():
    """A model microdl cannot run raises UnsupportedOpError naming the op, never a
    crash or a wrong answer.  Every int8 shared model runs now (SVDF and LSTM
    included), so trained_lstm_int8 with a fused RELU on its LSTM (the integer kernel
    computes tanh only) stands in."""
    path = os.path.join(SHARED_MODELS, "tflm", "trained_lstm_int8.tflite")
    g = read_model(open(path, "rb").read())
    g.ops[0].options["fused_activation_function"] = 1
    with pytest.raises(UnsupportedOpError, match="UNIDIRECTIONAL_SEQUENCE_LSTM"):
        md.Interpreter(model_content=write_model(g))


# -------------------------------------------------- one-op models of our own
def _add_graph(signatures=(), num_subgraphs=1, variable=False):
    ts = [_tensor(spec((1, 4), scale=0.5, zero_point=3, name="zb"), 0, ""),
          _tensor(spec((1, 4), scale=0.5, zero_point=-7, name="ya"), 1, ""),
          _tensor(spec((1, 4), scale=1.0, zero_point=1, name="sum"), 2, ""),
          _tensor(spec((1, 4), scale=1.0, zero_point=1, name="sum2"), 3, "")]
    ts[1].is_variable = variable
    ops = [Op(0, "ADD", 1, [0, 1], [2], {}), Op(1, "ADD", 1, [2, 1], [3], {})]
    return Graph(tensors=ts, ops=ops, inputs=[0] if variable else [0, 1], outputs=[2, 3],
                 signatures=list(signatures), num_subgraphs=num_subgraphs)


TWO_SIGNATURES = [Signature("zsig", {"zz": 0, "aa": 1}, {"out_b": 3, "out_a": 2}),
                  Signature("asig", {"q": 1, "p": 0}, {"r": 2, "s": 3})]


def test_signatures_of_a_written_model(lite):
    """Two signatures with names out of alphabetical order: lists, runners, details,
    results and every error of the signature API, as LiteRT."""
    model = write_model(_add_graph(TWO_SIGNATURES))
    ref, ours = both(lite, model_content=model)
    for what, fn in [
            ("list", lambda it: it.get_signature_list()),
            ("full list", lambda it: it._get_full_signature_list()),
            ("None key with 2 signatures", lambda it: it.get_signature_runner()),
            ("unknown key", lambda it: it.get_signature_runner("nope")),
            ("key of another type", lambda it: it.get_signature_runner(1))]:
        a, b = outcome(lambda: fn(ref)), outcome(lambda: fn(ours))
        assert_same_outcome(a, b, what)
        if a[0] == "ok":
            assert_same_value(a[1], b[1], what)
    rng = np.random.default_rng(5)
    for key in ("zsig", "asig"):
        rr, rm = ref.get_signature_runner(key), ours.get_signature_runner(key)
        assert_same_value(rr.get_input_details(), rm.get_input_details(), key)
        assert_same_value(rr.get_output_details(), rm.get_output_details(), key)
        names = list(rr.get_input_details())
        feeds = {n: rng.integers(-128, 128, (1, 4)).astype(np.int8) for n in names}
        a, b = rr(**feeds), rm(**feeds)
        assert_same_value(a, b, f"{key} results")
        for what, kw in [("no inputs", {}), ("one input", {names[0]: feeds[names[0]]}),
                         ("unknown name", {names[0]: feeds[names[0]], "x": feeds[names[1]]}),
                         ("wrong dtype", {names[0]: feeds[names[0]],
                                          names[1]: feeds[names[1]].astype(np.float32)})]:
            assert_same_outcome(outcome(lambda: rr(**kw)), outcome(lambda: rm(**kw)),
                                f"{key}: {what}")
        with pytest.raises(TypeError):
            rm(feeds[names[0]], feeds[names[1]])  # keyword inputs only, as LiteRT
    for what, args in [("no interpreter", {}), ("no key", {"interpreter": "it"}),
                       ("bad key", {"interpreter": "it", "signature_key": "x"})]:
        a = outcome(lambda: lite.SignatureRunner(**{k: (ref if v == "it" else v)
                                                    for k, v in args.items()}))
        b = outcome(lambda: md.SignatureRunner(**{k: (ours if v == "it" else v)
                                                  for k, v in args.items()}))
        assert_same_outcome(a, b, what)


def test_a_runner_allocates_when_needed(lite):
    """A runner called before allocate_tensors() allocates, as LiteRT's does."""
    model = write_model(_add_graph(TWO_SIGNATURES[:1]))
    ref, ours = both(lite, model_content=model)
    feeds = {"zz": np.full((1, 4), 9, np.int8), "aa": np.full((1, 4), -3, np.int8)}
    assert_same_value(ref.get_signature_runner()(**feeds),
                      ours.get_signature_runner()(**feeds), "first call")


def test_variable_tensors_reset_as_litert(lite):
    """A variable int8 tensor (zero point -7): its value after allocate_tensors(),
    after set_tensor, the outputs that read it, and after reset_all_variables()."""
    model = write_model(_add_graph(variable=True))
    ref, ours = both(lite, model_content=model)
    steps = []
    for it in (ref, ours):
        it.allocate_tensors()
        got = [it.get_tensor(1)]
        it.set_tensor(1, np.arange(4, dtype=np.int8).reshape(1, 4) * 20)
        it.set_tensor(0, np.full((1, 4), 10, np.int8))
        it.invoke()
        got += [it.get_tensor(1), it.get_tensor(2), it.get_tensor(3)]
        assert it.reset_all_variables() is None
        got.append(it.get_tensor(1))
        it.invoke()
        got.append(it.get_tensor(3))
        steps.append(got)
    assert_same_value(steps[0], steps[1], "variable")
    assert np.all(steps[1][0] == -7) and np.all(steps[1][4] == -7)  # really reset


def test_a_second_subgraph_is_never_answered_from_the_first(lite):
    """A file listing two subgraphs: both count them; LiteRT's messages outside them;
    microdl refuses subgraph 1 with ValueError instead of answering from subgraph 0
    (it holds subgraph 0 only), and a signature on subgraph 1 likewise."""
    sigs = [Signature("main", {"a": 0, "b": 1}, {"y": 3}),
            Signature("other", {"a": 0, "b": 1}, {"y": 3}, subgraph_index=1)]
    model = write_model(_add_graph(sigs, num_subgraphs=2))
    ref, ours = both(lite, model_content=model)
    assert ref.num_subgraphs() == ours.num_subgraphs() == 2
    assert_same_value(ref.get_signature_list(), ours.get_signature_list(), "signatures")
    ref.allocate_tensors()
    ours.allocate_tensors()
    for what, fn in [("subgraph 2", lambda it: it.get_tensor(0, 2)),
                     ("details of subgraph 2", lambda it: it.get_tensor_details(2))]:
        assert_same_outcome(outcome(lambda: fn(ref)), outcome(lambda: fn(ours)), what)
    with pytest.raises(ValueError, match="subgraph 1"):
        ours.get_tensor(0, subgraph_index=1)
    with pytest.raises(ValueError, match="subgraph 1"):
        ours.get_tensor_details(subgraph_index=1)
    with pytest.raises(ValueError, match="subgraph 1"):
        ours._get_tensor_details(0, 1)
    with pytest.raises(ValueError, match="subgraph 1"):
        ours.get_signature_runner("other")
    feeds = {"a": np.full((1, 4), 4, np.int8), "b": np.full((1, 4), 2, np.int8)}
    assert_same_value(ref.get_signature_runner("main")(**feeds),
                      ours.get_signature_runner("main")(**feeds), "main")


def test_microdl_refuses_what_litert_crashes_on():
    """LiteRT 2.3 segfaults on set_tensor of a constant tensor and on
    _get_tensor_details of a subgraph that does not exist (not run here); microdl
    raises ValueError.  Non-int indices are a TypeError on both (LiteRT's comes from
    its binding)."""
    it = md.Interpreter(model_path=shared_model(*HELLO))
    it.allocate_tensors()
    const = next(d for d in it.get_tensor_details() if d["index"] not in
                 [x["index"] for x in it.get_input_details()] and
                 it._graph.tensors[d["index"]].data is not None)
    with pytest.raises(ValueError, match="constant"):
        it.set_tensor(const["index"], np.zeros(const["shape"], const["dtype"]))
    with pytest.raises(ValueError, match="subgraph index 3"):
        it._get_tensor_details(0, 3)
    for fn in (lambda: it.get_tensor("0"), lambda: it.set_tensor(0.0, np.zeros((1, 1), np.int8)),
               lambda: it.tensor("x")(), lambda: it.get_tensor(0, "0")):
        with pytest.raises(TypeError):
            fn()


def test_a_runner_resizes_to_its_inputs_as_litert(lite):
    """LiteRT's runner resizes the inputs to the shapes it is given: a batch of 3 on
    hello_world (shape_signature [-1, 1]), then back to 1."""
    ref, ours = both(lite, model_path=shared_model(*HELLO))
    rr, rm = ref.get_signature_runner(), ours.get_signature_runner()
    for batch in (3, 1):
        x = np.arange(batch, dtype=np.int8).reshape(batch, 1) * 40 - 50
        assert_same_value(rr(dense_input=x), rm(dense_input=x), f"batch {batch}")
        assert_same_value(ref.get_input_details(), ours.get_input_details(), f"batch {batch}")
