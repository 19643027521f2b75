"""Control flow over subgraphs (WHILE, IF, CALL_ONCE) and resource variables
(VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE), bit-exact with LiteRT's reference kernels
(BUILTIN_REF) on models built with microdl's writer (tests/cflib.py), and the
malformed models that must be refused with a clear microdl exception."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microdl import Interpreter
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.tflite.reader import read_model
from tests.cflib import RESOURCE, multi_model, subgraph
from tests.oplib import assert_same_as_litert, random_int, reference_interpreter, spec
from tests.test_engine import assert_invoke_allocates_nothing

I8 = np.int8
BOOL = np.bool_
Q = dict(scale=0.05, zero_point=-3)       # the data
C = dict(scale=0.5, zero_point=0)         # counters: real value = q / 2
WHILE = dict(cond_subgraph_index=1, body_subgraph_index=2)


def _counter(v):
    return np.array([2 * v], I8)


def counting_loop(n_shape=(4,), step=None):
    """(i, n, x) -> WHILE i < n: i += 1, x += step (int8 ADD, saturating)."""
    step = np.array([1, 2, 3, 4], I8) if step is None else step
    main = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec(n_shape, I8, **Q),
                     spec((1,), I8, **C), spec((1,), I8, **C), spec(n_shape, I8, **Q)],
                    [("WHILE", [0, 1, 2], [3, 4, 5], WHILE)], [0, 1, 2], [3, 5])
    cond = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec(n_shape, I8, **Q),
                     spec((1,), BOOL)],
                    [("LESS", [0, 1], [3], {}, 2)], [0, 1, 2], [3])
    body = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec(n_shape, I8, **Q),
                     spec((1,), I8, data=_counter(1), **C), spec((1,), I8, **C),
                     spec(n_shape, I8, data=step, **Q), spec(n_shape, I8, **Q)],
                    [("ADD", [0, 3], [4], {}, 2), ("ADD", [2, 5], [6], {}, 2)],
                    [0, 1, 2], [4, 1, 6])
    return multi_model(main, cond, body)


def _runs(model, inputs_list, **kwargs):
    """Outputs of microdl and LiteRT for each input list, on one interpreter each
    (repeated invokes)."""
    ours = Interpreter(model_content=model, **kwargs)
    ours.allocate_tensors()
    ref = reference_interpreter(model_content=model)
    for inputs in inputs_list:
        for it in (ours, ref):
            for d, x in zip(it.get_input_details(), inputs):
                it.set_tensor(d["index"], x)
            it.invoke()
        for d, e in zip(ours.get_output_details(), ref.get_output_details()):
            got, want = ours.get_tensor(d["index"]), ref.get_tensor(e["index"])
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
    return ours


def test_while_counting_loop_adds_n_times():
    model = counting_loop()
    rng = np.random.default_rng(0)
    cases = [[_counter(0), _counter(n), random_int(rng, (4,))] for n in (0, 1, 2, 5, 13)]
    cases.append([_counter(3), _counter(1), random_int(rng, (4,))])  # cond false at once
    ours = _runs(model, cases)
    # An independent oracle: the loop in numpy (ADD of equal scales is exact here).
    x = np.array([-100, 0, 50, 120], I8)
    ours.set_tensor(0, _counter(0))
    ours.set_tensor(1, _counter(7))
    ours.set_tensor(2, x)
    ours.invoke()
    want = np.clip(x.astype(int) + 7 * np.array([1 + 3, 2 + 3, 3 + 3, 4 + 3]), -128, 127)
    np.testing.assert_array_equal(ours.get_tensor(5), want)
    np.testing.assert_array_equal(ours.get_tensor(3), _counter(7))


@pytest.mark.parametrize("threads", [1, 2])
def test_while_body_fully_connected(threads):
    """x (1, 8) -> WHILE i < n: x = FC(x) + x (int8 FULLY_CONNECTED and ADD in the body)."""
    rng = np.random.default_rng(1)
    w = random_int(rng, (8, 8))
    bias = rng.integers(-500, 500, 8).astype(np.int32)
    main = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((1, 8), I8, **Q),
                     spec((1,), I8, **C), spec((1,), I8, **C), spec((1, 8), I8, **Q)],
                    [("WHILE", [0, 1, 2], [3, 4, 5], WHILE)], [0, 1, 2], [5])
    cond = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((1, 8), I8, **Q),
                     spec((1,), BOOL)], [("LESS", [0, 1], [3], {}, 2)], [0, 1, 2], [3])
    body = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((1, 8), I8, **Q),
                     spec((1,), I8, data=_counter(1), **C), spec((1,), I8, **C),
                     spec((8, 8), I8, scale=0.01, data=w),
                     spec((8,), np.int32, scale=0.05 * 0.01, data=bias),
                     spec((1, 8), I8, scale=0.2, zero_point=5), spec((1, 8), I8, **Q)],
                    [("ADD", [0, 3], [4], {}, 2),
                     ("FULLY_CONNECTED", [2, 5, 6], [7], {}, 4),
                     ("ADD", [7, 2], [8], {}, 2)],
                    [0, 1, 2], [4, 1, 8])
    model = multi_model(main, cond, body)
    cases = [[_counter(0), _counter(n), random_int(rng, (1, 8))] for n in (0, 1, 3, 6)]
    _runs(model, cases, num_threads=threads)


def if_model(then_ops=None):
    """(c: bool, x) -> IF c: x + k1 (ADD) else: x * k2 (MUL), int8."""
    main = subgraph([spec((1,), BOOL), spec((2, 3), I8, **Q), spec((2, 3), I8, **Q)],
                    [("IF", [0, 1], [2], dict(then_subgraph_index=1,
                                              else_subgraph_index=2))], [0, 1], [2])
    k1 = np.array([[1, -2, 3], [40, -50, 60]], I8)
    then = subgraph([spec((2, 3), I8, **Q), spec((2, 3), I8, data=k1, **Q),
                     spec((2, 3), I8, **Q)], [("ADD", [0, 1], [2], {}, 2)], [0], [2])
    k2 = np.array([[30, -20, 10], [0, 5, -5]], I8)
    other = subgraph([spec((2, 3), I8, **Q), spec((2, 3), I8, scale=0.1, zero_point=0,
                                                  data=k2),
                      spec((2, 3), I8, scale=0.02, zero_point=7)],
                     [("MUL", [0, 1], [2], {}, 2)], [0], [2])
    return multi_model(main, then, other)


def test_if_chooses_a_branch_at_run_time():
    model = if_model()
    rng = np.random.default_rng(2)
    cases = [[np.array([bool(c)]), random_int(rng, (2, 3))] for c in (1, 0, 0, 1, 1, 0)]
    _runs(model, cases)
    assert read_model(model).num_subgraphs == 3


def test_if_nested_in_while():
    """WHILE i < n: x = IF (i < m): x + k else: x (the else branch passes its input
    through: the IF output is a copy of it)."""
    main = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((1,), I8, **C),
                     spec((3,), I8, **Q), spec((1,), I8, **C), spec((1,), I8, **C),
                     spec((1,), I8, **C), spec((3,), I8, **Q)],
                    [("WHILE", [0, 1, 2, 3], [4, 5, 6, 7], WHILE)], [0, 1, 2, 3], [7])
    cond = subgraph([spec((1,), I8, **C)] * 3 + [spec((3,), I8, **Q), spec((1,), BOOL)],
                    [("LESS", [0, 1], [4], {}, 2)], [0, 1, 2, 3], [4])
    body = subgraph([spec((1,), I8, **C)] * 3 + [spec((3,), I8, **Q),
                     spec((1,), I8, data=_counter(1), **C), spec((1,), I8, **C),
                     spec((1,), BOOL), spec((3,), I8, **Q)],
                    [("LESS", [0, 2], [6], {}, 2), ("ADD", [0, 4], [5], {}, 2),
                     ("IF", [6, 3], [7], dict(then_subgraph_index=3,
                                              else_subgraph_index=4))],
                    [0, 1, 2, 3], [5, 1, 2, 7])
    then = subgraph([spec((3,), I8, **Q), spec((3,), I8, data=np.array([5, -7, 9], I8), **Q),
                     spec((3,), I8, **Q)], [("ADD", [0, 1], [2], {}, 2)], [0], [2])
    other = subgraph([spec((3,), I8, **Q)], [], [0], [0])
    model = multi_model(main, cond, body, then, other)
    rng = np.random.default_rng(3)
    cases = [[_counter(0), _counter(n), _counter(m), random_int(rng, (3,))]
             for n, m in ((4, 2), (5, 9), (0, 3), (6, 0))]
    _runs(model, cases)


def accumulator_model(with_init=True):
    """state += x every invoke (resource variable), initialised by CALL_ONCE."""
    v = dict(container="c", shared_name="acc")
    ops = [("VAR_HANDLE", [], [0], v), ("READ_VARIABLE", [0], [2], {}),
           ("ADD", [2, 1], [3], {}, 2), ("ASSIGN_VARIABLE", [0, 3], [], {})]
    if with_init:
        ops.insert(0, ("CALL_ONCE", [], [], dict(init_subgraph_index=1)))
    main = subgraph([RESOURCE, spec((4,), I8, **Q), spec((4,), I8, **Q),
                     spec((4,), I8, **Q)], ops, [1], [3])
    init = subgraph([RESOURCE, spec((4,), I8, data=np.array([10, 20, 30, -40], I8), **Q)],
                    [("VAR_HANDLE", [], [0], v), ("ASSIGN_VARIABLE", [0, 1], [], {})],
                    [], [])
    return multi_model(main, init)


def test_resource_variable_accumulates_and_call_once_runs_once():
    """As LiteRT: the variable persists across invokes; CALL_ONCE's init runs on the
    first invoke only; reset_all_variables() touches neither (measured on LiteRT's
    BUILTIN_REF: the sums go on after it)."""
    model = accumulator_model()
    ours = Interpreter(model_content=model)
    ours.allocate_tensors()
    ref = reference_interpreter(model_content=model)
    rng = np.random.default_rng(4)
    for k in range(8):
        x = random_int(rng, (4,)) // 8
        if k in (3, 6):
            ours.reset_all_variables()
            ref.reset_all_variables()
        for it in (ours, ref):
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
        np.testing.assert_array_equal(ours.get_tensor(3), ref.get_tensor(3))
    # allocate_tensors() again keeps the state and the CALL_ONCE flag (as LiteRT).
    ours.allocate_tensors()
    ref.allocate_tensors()
    for it in (ours, ref):
        it.set_tensor(it.get_input_details()[0]["index"], np.array([1, 2, 3, 4], I8))
        it.invoke()
    np.testing.assert_array_equal(ours.get_tensor(3), ref.get_tensor(3))
    # An independent oracle of the first invokes: the state starts at the init value.
    fresh = Interpreter(model_content=model)
    fresh.allocate_tensors()
    state = np.array([10, 20, 30, -40])
    for x in (np.array([1, 2, 3, 4], I8), np.array([-5, 0, 5, 9], I8)):
        fresh.set_tensor(1, x)
        fresh.invoke()
        state = np.clip(state + x.astype(int) + 3, -128, 127)  # zero point -3, same scale
        np.testing.assert_array_equal(fresh.get_tensor(3), state)


def test_details_stay_those_of_subgraph_0():
    model = accumulator_model()
    ours = Interpreter(model_content=model)
    ours.allocate_tensors()
    ref = reference_interpreter(model_content=model)
    assert ours.num_subgraphs() == 2
    assert len(ours.get_tensor_details()) == 4
    assert [o["op_name"] for o in ours._get_ops_details()] == [
        "CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ADD", "ASSIGN_VARIABLE"]
    assert ([o["op_name"] for o in ours._get_ops_details()] ==
            [o["op_name"] for o in ref._get_ops_details()])
    with pytest.raises(ValueError):
        ours.get_tensor(5)
    with pytest.raises(ValueError):
        ours.get_tensor_details(subgraph_index=1)
    with pytest.raises(RuntimeError, match="control flow"):
        ours.resize_tensor_input(1, [8])


def test_loop_tensors_keep_their_memory_over_the_loop():
    """The planner keeps every tensor live across the loop boundary over the whole
    loop: no tensor crossing it shares bytes with one used inside the loop."""
    model = counting_loop((64,), step=np.ones(64, I8))
    ours = Interpreter(model_content=model)
    ours.allocate_tensors()
    plan, g = ours._arena_plan, ours._graph
    (a, b), = ours._loops
    spans = {bf.key: (bf.first, bf.last) for bf in plan.buffers}
    for t, (lo, hi) in spans.items():
        if isinstance(t, tuple):
            continue
        crosses = lo <= b and hi >= a and (lo < a or hi > b)
        if crosses:
            assert lo <= a and hi >= b, (t, lo, hi, a, b)
    cases = [[_counter(0), _counter(n), np.arange(64).astype(I8)] for n in (3, 9)]
    _runs(model, cases)
    assert len(g.tensors) > 6


# ---------------------------------------------------------------- hostile models
def test_subgraph_index_out_of_range():
    model = counting_loop()
    g = read_model(model)
    g.ops[0].options["body_subgraph_index"] = 7
    from microdl.tflite.writer import write_model
    with pytest.raises(ModelError, match="subgraph index 7 out of range"):
        Interpreter(model_content=write_model(g))


def test_recursion_is_refused():
    """A WHILE body that runs the same WHILE again (subgraph 2 calls subgraph 2)."""
    main = subgraph([spec((1,), BOOL), spec((1,), BOOL)],
                    [("WHILE", [0], [1], WHILE)], [0], [1])
    cond = subgraph([spec((1,), BOOL)], [], [0], [0])
    body = subgraph([spec((1,), BOOL), spec((1,), BOOL)],
                    [("WHILE", [0], [1], WHILE)], [0], [1])
    with pytest.raises(ModelError, match="calls itself"):
        Interpreter(model_content=multi_model(main, cond, body))
    # Through subgraph 0 too: an IF whose branch is subgraph 0.
    main = subgraph([spec((1,), BOOL), spec((1,), BOOL)],
                    [("IF", [0, 0], [1], dict(then_subgraph_index=0,
                                              else_subgraph_index=1))], [0], [1])
    other = subgraph([spec((1,), BOOL)], [], [0], [0])
    with pytest.raises(ModelError, match="calls itself"):
        Interpreter(model_content=multi_model(main, other))


def test_condition_must_be_a_bool_scalar():
    main = subgraph([spec((1,), I8, **C), spec((1,), I8, **C)],
                    [("WHILE", [0], [1], WHILE)], [0], [1])
    cond = subgraph([spec((1,), I8, **C)], [], [0], [0])  # int8, not bool
    body = subgraph([spec((1,), I8, **C)], [], [0], [0])
    with pytest.raises(ModelError, match="must be a bool of one element"):
        Interpreter(model_content=multi_model(main, cond, body))
    main = subgraph([spec((2,), BOOL), spec((2, 3), I8, **Q), spec((2, 3), I8, **Q)],
                    [("IF", [0, 1], [2], dict(then_subgraph_index=1,
                                              else_subgraph_index=1))], [0, 1], [2])
    then = subgraph([spec((2, 3), I8, **Q)], [], [0], [0])
    with pytest.raises(ModelError, match="must be a bool of one element"):
        Interpreter(model_content=multi_model(main, then))


def test_mismatched_counts_and_dynamic_shapes():
    # The IF passes one input, the branch takes two.
    main = subgraph([spec((1,), BOOL), spec((3,), I8, **Q), spec((3,), I8, **Q)],
                    [("IF", [0, 1], [2], dict(then_subgraph_index=1,
                                              else_subgraph_index=1))], [0, 1], [2])
    two = subgraph([spec((3,), I8, **Q), spec((3,), I8, **Q)], [], [0, 1], [0])
    with pytest.raises(ModelError, match="takes 2 inputs, the op passes 1"):
        Interpreter(model_content=multi_model(main, two))
    # WHILE with 2 inputs and 1 output.
    main = subgraph([spec((1,), BOOL), spec((1,), BOOL), spec((1,), BOOL)],
                    [("WHILE", [0, 1], [2], WHILE)], [0, 1], [2])
    sg = subgraph([spec((1,), BOOL)], [], [0], [0])
    with pytest.raises(ModelError, match="must pair up"):
        Interpreter(model_content=multi_model(main, sg, sg))
    # A body whose output is larger than its input: a dynamic shape.
    main = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((2,), I8, **Q),
                     spec((1,), I8, **C), spec((1,), I8, **C), spec((2,), I8, **Q)],
                    [("WHILE", [0, 1, 2], [3, 4, 5], WHILE)], [0, 1, 2], [5])
    cond = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((2,), I8, **Q),
                     spec((1,), BOOL)], [("LESS", [0, 1], [3], {}, 2)], [0, 1, 2], [3])
    body = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((2,), I8, **Q),
                     spec((4,), I8, **Q), spec((1,), I8, data=np.array([0], I8))],
                    [("CONCATENATION", [2, 2], [3], dict(axis=0))], [0, 1, 2], [0, 1, 3])
    with pytest.raises(UnsupportedOpError, match="dynamic shapes"):
        Interpreter(model_content=multi_model(main, cond, body))


def test_endless_loop_stops_at_max_loop_iterations():
    """cond is its own input, always true: LiteRT would loop forever; microdl stops
    after max_loop_iterations iterations with a RuntimeError and stays usable."""
    main = subgraph([spec((1,), BOOL), spec((3,), I8, **Q), spec((1,), BOOL),
                     spec((3,), I8, **Q)],
                    [("WHILE", [0, 1], [2, 3], WHILE)], [0, 1], [3])
    cond = subgraph([spec((1,), BOOL), spec((3,), I8, **Q)], [], [0, 1], [0])
    body = subgraph([spec((1,), BOOL), spec((3,), I8, **Q),
                     spec((3,), I8, data=np.array([1, 1, 1], I8), **Q),
                     spec((3,), I8, **Q)], [("ADD", [1, 2], [3], {}, 2)], [0, 1], [0, 3])
    model = multi_model(main, cond, body)
    ours = Interpreter(model_content=model, max_loop_iterations=1000)
    ours.allocate_tensors()
    ours.set_tensor(0, np.array([True]))
    ours.set_tensor(1, np.zeros(3, I8))
    with pytest.raises(RuntimeError, match="max_loop_iterations"):
        ours.invoke()
    # With the condition false the loop body never runs (as in LiteRT).
    ours.set_tensor(0, np.array([False]))
    ours.set_tensor(1, np.array([1, 2, 3], I8))
    ours.invoke()
    np.testing.assert_array_equal(ours.get_tensor(3), [1, 2, 3])
    assert_same_as_litert(model, [np.array([False]), np.array([1, 2, 3], I8)])
    with pytest.raises(ValueError, match="max_loop_iterations"):
        Interpreter(model_content=model, max_loop_iterations=-1)


def test_resource_handle_from_nowhere_is_unsupported():
    main = subgraph([RESOURCE, spec((4,), I8, **Q)],
                    [("READ_VARIABLE", [0], [1], {})], [0], [1])
    with pytest.raises((UnsupportedOpError, ModelError)):
        Interpreter(model_content=multi_model(main))


def test_read_before_any_assignment_fails_as_in_litert():
    model = accumulator_model(with_init=False)
    ref = reference_interpreter(model_content=model)
    ref.set_tensor(1, np.array([1, 2, 3, 4], I8))
    with pytest.raises(RuntimeError):
        ref.invoke()
    ours = Interpreter(model_content=model)
    ours.allocate_tensors()
    ours.set_tensor(1, np.array([1, 2, 3, 4], I8))
    with pytest.raises(RuntimeError, match="no ASSIGN_VARIABLE has set"):
        ours.invoke()


def swap_model():
    """WHILE i < n: (a, b) = (b, a + k): body outputs that are other loop variables
    (a parallel assignment: microdl stages them through temporaries)."""
    main = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((3,), I8, **Q),
                     spec((3,), I8, **Q), spec((1,), I8, **C), spec((1,), I8, **C),
                     spec((3,), I8, **Q), spec((3,), I8, **Q)],
                    [("WHILE", [0, 1, 2, 3], [4, 5, 6, 7], WHILE)], [0, 1, 2, 3], [6, 7])
    cond = subgraph([spec((1,), I8, **C)] * 2 + [spec((3,), I8, **Q)] * 2 +
                    [spec((1,), BOOL)], [("LESS", [0, 1], [4], {}, 2)], [0, 1, 2, 3], [4])
    body = subgraph([spec((1,), I8, **C)] * 2 + [spec((3,), I8, **Q)] * 2 +
                    [spec((1,), I8, data=_counter(1), **C), spec((1,), I8, **C),
                     spec((3,), I8, data=np.array([3, -1, 2], I8), **Q),
                     spec((3,), I8, **Q)],
                    [("ADD", [0, 4], [5], {}, 2), ("ADD", [2, 6], [7], {}, 2)],
                    [0, 1, 2, 3], [5, 1, 3, 7])
    return multi_model(main, cond, body)


def test_while_swapping_loop_variables():
    rng = np.random.default_rng(5)
    model = swap_model()
    _runs(model, [[_counter(0), _counter(n), random_int(rng, (3,)), random_int(rng, (3,))]
                  for n in (0, 1, 2, 3, 7)])
    # numpy oracle
    ours = Interpreter(model_content=model)
    ours.allocate_tensors()
    a, b = np.array([1, 2, 3]), np.array([-10, 0, 10])
    for d, x in zip(range(4), (_counter(0), _counter(3), a.astype(I8), b.astype(I8))):
        ours.set_tensor(d, x)
    ours.invoke()
    for _ in range(3):
        a, b = b, np.clip(a + np.array([3, -1, 2]) + 3, -128, 127)
    np.testing.assert_array_equal(ours.get_tensor(6), a)
    np.testing.assert_array_equal(ours.get_tensor(7), b)


@pytest.mark.parametrize("threads", [1, 3])
def test_while_body_convolution_in_row_bands(threads):
    """A CONV_2D (SAME, 3x3, int8 per-channel) in the body; with threads it is cut into
    row bands, which the loop runs every iteration."""
    rng = np.random.default_rng(6)
    shape = (1, 12, 10, 8)
    w = random_int(rng, (8, 3, 3, 8)) // 4
    ws = rng.uniform(0.002, 0.01, 8).astype(np.float32)
    bias = rng.integers(-2000, 2000, 8).astype(np.int32)
    conv = dict(padding=0, stride_h=1, stride_w=1, dilation_h_factor=1,
                dilation_w_factor=1, fused_activation_function=0)
    main = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec(shape, I8, **Q),
                     spec((1,), I8, **C), spec((1,), I8, **C), spec(shape, I8, **Q)],
                    [("WHILE", [0, 1, 2], [3, 4, 5], WHILE)], [0, 1, 2], [5])
    cond = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec(shape, I8, **Q),
                     spec((1,), BOOL)], [("LESS", [0, 1], [3], {}, 2)], [0, 1, 2], [3])
    body = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec(shape, I8, **Q),
                     spec((1,), I8, data=_counter(1), **C), spec((1,), I8, **C),
                     spec((8, 3, 3, 8), I8, data=w, scales=ws),
                     spec((8,), np.int32, data=bias, scales=ws * np.float32(0.05)),
                     spec(shape, I8, **Q)],
                    [("ADD", [0, 3], [4], {}, 2), ("CONV_2D", [2, 5, 6], [7], conv, 3)],
                    [0, 1, 2], [4, 1, 7])
    model = multi_model(main, cond, body)
    ours = _runs(model, [[_counter(0), _counter(n), random_int(rng, shape)]
                         for n in (0, 1, 4)], num_threads=threads)
    if threads > 1:
        assert sum(n.kernel.startswith("conv") for _, n in ours._nodes) > 1  # bands


def test_invoke_allocates_nothing_with_control_flow():
    rng = np.random.default_rng(7)
    for model, inputs in ((swap_model(), [_counter(0), _counter(9), random_int(rng, (3,)),
                                          random_int(rng, (3,))]),
                          (accumulator_model(), [random_int(rng, (4,))])):
        it = Interpreter(model_content=model)
        it.allocate_tensors()
        for d, x in zip(it.get_input_details(), inputs):
            it.set_tensor(d["index"], x)
        assert_invoke_allocates_nothing(it)


_COUNTING = counting_loop()
_IF = if_model()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), start=st.integers(-8, 8), n=st.integers(-8, 20))
def test_counting_loop_matches_litert(seed, start, n):
    x = random_int(np.random.default_rng(seed), (4,))
    assert_same_as_litert(_COUNTING, [_counter(start), _counter(n), x])


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), cond=st.booleans())
def test_if_matches_litert(seed, cond):
    x = random_int(np.random.default_rng(seed), (2, 3))
    assert_same_as_litert(_IF, [np.array([cond]), x])


def test_exponential_inlining_is_refused():
    """Subgraph k runs subgraph k + 1 twice (two IFs), 24 levels deep: 2^24 copies
    once inlined.  Refused (UnsupportedOpError), neither hanging nor exhausting
    memory."""
    depth = 24
    ifs = lambda k: [("IF", [0, 0, 1], [2], dict(then_subgraph_index=k, else_subgraph_index=k)),
                     ("IF", [0, 0, 2], [3], dict(then_subgraph_index=k, else_subgraph_index=k))]
    main = subgraph([spec((1,), BOOL), spec((2,), I8, **Q), spec((2,), I8, **Q),
                     spec((2,), I8, **Q)], ifs(1), [0, 1], [3])
    levels = [subgraph([spec((1,), BOOL), spec((2,), I8, **Q), spec((2,), I8, **Q),
                        spec((2,), I8, **Q)], ifs(k + 1), [0, 1], [3])
              for k in range(1, depth)]
    last = subgraph([spec((1,), BOOL), spec((2,), I8, **Q)], [], [0, 1], [1])
    with pytest.raises(UnsupportedOpError, match="inlines to more than"):
        Interpreter(model_content=multi_model(main, *levels, last))


def test_resource_variable_updated_inside_a_loop_and_a_branch():
    """The handle is a WHILE loop variable: the body adds x to the variable n times;
    after the loop an IF adds k to it only when c is true; the output reads it."""
    v = dict(container="", shared_name="state")
    main = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), RESOURCE,
                     spec((1,), I8, **C), spec((1,), I8, **C), RESOURCE,
                     spec((1,), BOOL), spec((4,), I8, **Q)],
                    [("CALL_ONCE", [], [], dict(init_subgraph_index=3)),
                     ("VAR_HANDLE", [], [2], v),
                     ("WHILE", [0, 1, 2], [3, 4, 5], WHILE),
                     ("IF", [6, 5], [], dict(then_subgraph_index=4, else_subgraph_index=5)),
                     ("READ_VARIABLE", [5], [7], {})], [0, 1, 6], [7])
    cond = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), RESOURCE, spec((1,), BOOL)],
                    [("LESS", [0, 1], [3], {}, 2)], [0, 1, 2], [3])
    body = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), RESOURCE,
                     spec((1,), I8, data=_counter(1), **C), spec((1,), I8, **C),
                     spec((4,), I8, **Q), spec((4,), I8, data=np.array([2, -3, 5, 1], I8), **Q),
                     spec((4,), I8, **Q)],
                    [("ADD", [0, 3], [4], {}, 2), ("READ_VARIABLE", [2], [5], {}),
                     ("ADD", [5, 6], [7], {}, 2), ("ASSIGN_VARIABLE", [2, 7], [], {})],
                    [0, 1, 2], [4, 1, 2])
    init = subgraph([RESOURCE, spec((4,), I8, data=np.array([0, 10, -10, 3], I8), **Q)],
                    [("VAR_HANDLE", [], [0], v), ("ASSIGN_VARIABLE", [0, 1], [], {})], [], [])
    then = subgraph([RESOURCE, spec((4,), I8, **Q),
                     spec((4,), I8, data=np.array([7, 7, -7, -7], I8), **Q),
                     spec((4,), I8, **Q)],
                    [("READ_VARIABLE", [0], [1], {}), ("ADD", [1, 2], [3], {}, 2),
                     ("ASSIGN_VARIABLE", [0, 3], [], {})], [0], [])
    other = subgraph([RESOURCE], [], [0], [])
    model = multi_model(main, cond, body, init, then, other)
    _runs(model, [[_counter(0), _counter(n), np.array([c])]
                  for n, c in ((2, True), (0, False), (3, False), (1, True), (5, True))])


def test_unsupported_op_in_a_branch_names_its_subgraph():
    main = subgraph([spec((1,), BOOL), spec((2, 3), I8, **Q), spec((2, 3), I8, **Q)],
                    [("IF", [0, 1], [2], dict(then_subgraph_index=1,
                                              else_subgraph_index=1))], [0, 1], [2])
    then = subgraph([spec((2, 3), I8, **Q), spec((2, 3), I8, **Q)],
                    [("HASHTABLE_LOOKUP", [0], [1], {})], [0], [1])
    with pytest.raises(UnsupportedOpError, match=r"inlined from subgraph 1 op 0") as e:
        Interpreter(model_content=multi_model(main, then))
    assert len(e.value.ops) == 1


def test_nested_while_loops():
    """WHILE i < n: (WHILE j < m: x += k, j += 1, from j = 0); i += 1: x gains
    n * m * k (saturating), the inner loop's tensors planned inside the outer's."""
    lt = subgraph([spec((1,), I8, **C), spec((1,), I8, **C), spec((1,), I8, **C),
                   spec((4,), I8, **Q), spec((1,), BOOL)],
                  [("LESS", [0, 1], [4], {}, 2)], [0, 1, 2, 3], [4])
    main = subgraph([spec((1,), I8, **C)] * 3 + [spec((4,), I8, **Q)] +
                    [spec((1,), I8, **C)] * 3 + [spec((4,), I8, **Q)],
                    [("WHILE", [0, 1, 2, 3], [4, 5, 6, 7],
                      dict(cond_subgraph_index=1, body_subgraph_index=2))],
                    [0, 1, 2, 3], [7])
    # outer body: (i, n, m, x) -> (i + 1, n, m, inner(x))
    outer = subgraph([spec((1,), I8, **C)] * 3 + [spec((4,), I8, **Q),
                      spec((1,), I8, data=_counter(1), **C), spec((1,), I8, **C),
                      spec((1,), I8, data=_counter(0), **C), spec((1,), I8, **C),
                      spec((1,), I8, **C), spec((1,), I8, **C), spec((4,), I8, **Q)],
                     [("ADD", [0, 4], [5], {}, 2),
                      ("WHILE", [6, 2, 1, 3], [7, 8, 9, 10],
                       dict(cond_subgraph_index=4, body_subgraph_index=3))],
                     [0, 1, 2, 3], [5, 1, 2, 10])
    # inner body: (j, m, n, x) -> (j + 1, m, n, x + k)
    inner = subgraph([spec((1,), I8, **C)] * 3 + [spec((4,), I8, **Q),
                      spec((1,), I8, data=_counter(1), **C), spec((1,), I8, **C),
                      spec((4,), I8, data=np.array([1, -1, 2, 0], I8), **Q),
                      spec((4,), I8, **Q)],
                     [("ADD", [0, 4], [5], {}, 2), ("ADD", [3, 6], [7], {}, 2)],
                     [0, 1, 2, 3], [5, 1, 2, 7])
    model = multi_model(main, lt, outer, inner, lt)  # LiteRT: one cond per loop
    rng = np.random.default_rng(8)
    ours = _runs(model, [[_counter(0), _counter(n), _counter(m), random_int(rng, (4,)) // 4]
                         for n, m in ((2, 3), (0, 4), (3, 0), (1, 1), (4, 2))])
    assert len(ours._loops) == 2
    ours.set_tensor(0, _counter(0))
    ours.set_tensor(1, _counter(3))
    ours.set_tensor(2, _counter(2))
    ours.set_tensor(3, np.zeros(4, I8))
    ours.invoke()
    x = np.zeros(4, int)
    for _ in range(6):
        x = np.clip(x + np.array([1, -1, 2, 0]) + 3, -128, 127)
    np.testing.assert_array_equal(ours.get_tensor(7), x)


# ------------------------------------------------ int32 arithmetic (loop counters)
@pytest.mark.parametrize("name", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("act", [0, 1, 2, 3])
def test_int32_binary_ops(name, act):
    """int32 ADD / SUB / MUL with broadcasting, wrapping and the fused activations,
    against LiteRT and numpy's int32 arithmetic."""
    from tests.oplib import op_model, run_microdl
    rng = np.random.default_rng(10 + act)
    i32 = np.iinfo(np.int32)
    for sa, sb, so in (((2, 3, 4), (4,), (2, 3, 4)), ((1,), (5,), (5,)),
                       ((3, 1, 2), (1, 4, 1), (3, 4, 2)), ((), (2, 2), (2, 2))):
        a = rng.integers(i32.min, i32.max, sa, dtype=np.int64, endpoint=True).astype(np.int32)
        b = rng.integers(-1000, 1000, sb).astype(np.int32)
        if a.size > 1:
            a.flat[0], a.flat[1] = i32.max, i32.min  # wraps
        model = op_model(name, [spec(sa, np.int32), spec(sb, np.int32)],
                         [spec(so, np.int32)], dict(fused_activation_function=act))
        assert_same_as_litert(model, [a, b])
        with np.errstate(over="ignore"):
            want = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply}[name](a, b)
        lo, hi = {0: (i32.min, i32.max), 1: (0, i32.max), 2: (-1, 1), 3: (0, 6)}[act]
        np.testing.assert_array_equal(run_microdl(model, [a, b])[0], np.clip(want, lo, hi))


def test_while_with_int32_counter_as_tensorflow_writes_it():
    """(i, x) -> WHILE i < 7: i + 1 (int32 ADD), x + k (int8 ADD): the loop shape
    tf.while_loop exports."""
    i32 = np.int32
    main = subgraph([spec((), i32), spec((4,), I8, **Q), spec((), i32), spec((4,), I8, **Q)],
                    [("WHILE", [0, 1], [2, 3], WHILE)], [0, 1], [2, 3])
    cond = subgraph([spec((), i32), spec((4,), I8, **Q), spec((), i32, data=np.array(7, i32)),
                     spec((), BOOL)], [("LESS", [0, 2], [3], {})], [0, 1], [3])
    body = subgraph([spec((), i32), spec((4,), I8, **Q), spec((), i32, data=np.array(1, i32)),
                     spec((), i32), spec((4,), I8, data=np.array([1, 2, 3, 4], I8), **Q),
                     spec((4,), I8, **Q)],
                    [("ADD", [0, 2], [3], {}), ("ADD", [1, 4], [5], {}, 2)], [0, 1], [3, 5])
    model = multi_model(main, cond, body)
    rng = np.random.default_rng(11)
    _runs(model, [[np.array(s, i32), random_int(rng, (4,))] for s in (0, 3, 7, 100, -4)])
