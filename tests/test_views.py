"""Views and lifetimes (issue 13): a numpy view from ``tensor()`` never goes stale and
never points at freed memory.

- allocate_tensors() while a view (or a slice of one) is held raises RuntimeError with
  LiteRT's message, taken here from LiteRT itself;
- views made after it point at the new arena (checked against LiteRT's outputs);
- a view keeps its arena alive after the Interpreter is destroyed, and the arena is
  freed once the last view goes.
"""
import gc
import warnings
import weakref

import numpy as np
import pytest

import microdl
from tests.conftest import shared_model
from tests.oplib import ORACLE, reference_interpreter

KWS = ("mlperf_tiny", "kws_ref_model.tflite")


def litert_views_message():
    """LiteRT's RuntimeError message for allocate_tensors() with a view held."""
    import ai_edge_litert.interpreter as lite

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = lite.Interpreter(model_path=shared_model(*KWS))
    it.allocate_tensors()
    view = it.tensor(it.get_input_details()[0]["index"])()
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    del view
    return str(e.value)


def litert_outputs(path, x):
    ref = reference_interpreter(model_path=path)
    ref.set_tensor(ref.get_input_details()[0]["index"], x)
    ref.invoke()
    return ref.get_tensor(ref.get_output_details()[0]["index"])


def ready(path, **kw):
    it = microdl.Interpreter(model_path=path, **kw)
    it.allocate_tensors()
    return it, it.get_input_details()[0], it.get_output_details()[0]


@pytest.mark.allow_skip("a second-oracle run (MICRODL_ORACLE set) has no LiteRT 2.x "
                        "to take the message from")
def test_allocate_with_a_view_held_raises_litert_runtime_error():
    if ORACLE != "litert":
        pytest.skip("LiteRT 2.x gives the message")
    message = litert_views_message()
    it, d, o = ready(shared_model(*KWS))
    view = it.tensor(d["index"])()
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    assert str(e.value) == message
    part = view[0, 3:5]  # a slice outlives the view it was cut from
    del view
    with pytest.raises(RuntimeError):
        it.allocate_tensors()
    out = it.tensor(o["index"])()  # an output view counts too
    del part
    with pytest.raises(RuntimeError):
        it.allocate_tensors()
    del out
    it.allocate_tensors()  # nothing held: the arena is replaced
    # The interpreter is still usable after a refused allocate_tensors().
    x = np.full(d["shape"], 7, np.int8)
    it.set_tensor(d["index"], x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(o["index"]),
                                  litert_outputs(shared_model(*KWS), x))


def test_views_after_a_second_allocate_point_at_the_new_arena():
    """Writes through a view made after allocate_tensors() reach the kernels, and an
    output view shows the new results (LiteRT's outputs on the same inputs)."""
    path = shared_model(*KWS)
    it, d, o = ready(path)
    rng = np.random.default_rng(0)
    it.allocate_tensors()
    it.allocate_tensors()
    inp, out = it.tensor(d["index"]), it.tensor(o["index"])
    for _ in range(3):
        x = rng.integers(-128, 128, d["shape"]).astype(np.int8)
        inp()[...] = x
        it.invoke()
        np.testing.assert_array_equal(out(), litert_outputs(path, x))
        np.testing.assert_array_equal(it.get_tensor(d["index"]), x)


def test_views_held_across_invoke_see_every_result():
    """invoke() never moves memory, so microdl lets views live across it (LiteRT
    refuses invoke() while one is held): the held output view shows each run."""
    path = shared_model(*KWS)
    it, d, o = ready(path)
    inp, out = it.tensor(d["index"])(), it.tensor(o["index"])()
    assert inp.flags.writeable and out.dtype == np.int8 and out.shape == tuple(o["shape"])
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.integers(-128, 128, d["shape"]).astype(np.int8)
        inp[...] = x
        it.invoke()
        np.testing.assert_array_equal(out, litert_outputs(path, x))
    it.reset_all_variables()  # allowed with views held, as in LiteRT


def test_a_view_keeps_its_arena_alive_after_the_interpreter_is_gone():
    path = shared_model(*KWS)
    it, d, o = ready(path)
    x = np.random.default_rng(2).integers(-128, 128, d["shape"]).astype(np.int8)
    it.set_tensor(d["index"], x)
    it.invoke()
    out = it.tensor(o["index"])()
    inp = it.tensor(d["index"])()
    arena_owner = weakref.ref(it._arena.base if it._arena.base is not None else it._arena)
    gone = weakref.ref(it)
    del it
    gc.collect()
    assert gone() is None  # the Interpreter and its C engine are destroyed
    assert arena_owner() is not None  # ... but not the memory the views point at
    churn = [np.full(4096, 0x5A, np.uint8) for _ in range(2000)]  # reuse freed memory
    np.testing.assert_array_equal(out, litert_outputs(path, x))
    np.testing.assert_array_equal(inp, x)
    inp[...] = 0  # writable, and writes land in memory still owned
    del churn, out
    assert arena_owner() is not None  # inp still holds it
    del inp
    gc.collect()
    assert arena_owner() is None  # the last view gone, the arena is freed


def test_replaced_arenas_are_freed():
    """allocate_tensors() again (no view held) frees the previous arena: nothing in C
    keeps pointing at it, and nothing leaks."""
    it, d, o = ready(shared_model(*KWS), num_threads=2)
    first = weakref.ref(it._arena.base if it._arena.base is not None else it._arena)
    it.allocate_tensors()
    gc.collect()
    assert first() is None
    x = np.zeros(d["shape"], np.int8)
    it.set_tensor(d["index"], x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(o["index"]),
                                  litert_outputs(shared_model(*KWS), x))


def test_constant_tensor_views_are_read_only():
    it, d, o = ready(shared_model(*KWS))
    const = next(t.index for t in it._graph.tensors if t.data is not None)
    view = it.tensor(const)()
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[...] = 0
    it.allocate_tensors()  # constant views do not point into the arena
