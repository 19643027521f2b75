"""Findings of tools/fuzz.py, each rebuilt from an in-repo model plus the recorded
mutation (tools/fuzz_mutator.py), written before its fix; LiteRT's reference kernels
confirm each rebuilt model is invalid.

1. An operator whose options table is of another op's type (found by the campaign on
   vww_96_int8: DEPTHWISE_CONV_2D carrying FloorModOptions; LiteRT rejected it --
   "params->dilation_height_factor > 0 was not true" -- while microdl ran it with
   default strides and dilations, a silent wrong reading of a malformed model).
2. An operator reading a tensor nothing writes (below).
3. A convolution without an options table (below).
"""
import os
import sys
import warnings

import numpy as np
import pytest

import microdl
from microdl import ModelError
from tests.oplib import reference_interpreter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fuzz_mutator as fm  # noqa: E402

DIGITS_CNN = os.path.join(ROOT, "firmware_models", "digits_cnn", "digits_cnn_int8.tflite")


def _mutated(path, mutation):
    with open(path, "rb") as f:
        model = fm.decode(f.read())
    fm.apply(model, mutation)
    return fm.encode(model)


def _wrong_options(op_index):
    """digits_cnn with operator `op_index`'s options replaced by a FloorModOptions
    table (BuiltinOptions type 72), as the campaign's mutation did."""
    return _mutated(DIGITS_CNN, fm.Mutation(
        ("Subgraphs", 0, "Operators", op_index, "BuiltinOptions"),
        fm.Union(72, fm.default_table("FloorModOptions"))))


def test_conv_with_options_of_another_op_litert_rejects_it():
    """The oracle's view of the same file: not a valid CONV_2D (its options are
    missing, so its strides are 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((RuntimeError, ValueError), match="stride"):
            it = reference_interpreter(model_content=_wrong_options(0))
            it.invoke()


@pytest.mark.parametrize("op_index,op_name", [(0, "CONV_2D"), (1, "CONV_2D"),
                                              (2, "RESHAPE"), (3, "FULLY_CONNECTED")])
def test_options_table_of_another_op_is_a_model_error(op_index, op_name):
    with pytest.raises(ModelError, match=f"operator {op_index} \\({op_name}\\): options "
                                         f"table FloorModOptions"):
        microdl.Interpreter(model_content=_wrong_options(op_index))


# 2. An operator that reads a tensor nothing writes (found by the campaign on
#    quantize1: the subgraph's inputs emptied; LiteRT: "Input tensor 0 lacks data";
#    microdl ran the op on the arena's zeros and returned made-up outputs).
def _no_inputs():
    return _mutated(os.path.join(ROOT, "firmware_models", "sine", "sine_int8.tflite"),
                    fm.Mutation(("Subgraphs", 0, "Inputs"), np.zeros(0, np.int32)))


def test_op_reading_an_unwritten_tensor_litert_rejects_it():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((RuntimeError, ValueError), match="lacks data"):
            reference_interpreter(model_content=_no_inputs()).invoke()


def test_op_reading_an_unwritten_tensor_is_a_model_error():
    with pytest.raises(ModelError, match=r"operator 0 \(FULLY_CONNECTED\) reads tensor 0 "
                                         r".*which nothing writes"):
        microdl.Interpreter(model_content=_no_inputs())


def test_op_reading_a_later_op_output_is_a_model_error():
    """The same check in the graph's order: op 0 reading op 1's output."""
    with open(os.path.join(ROOT, "firmware_models", "sine", "sine_int8.tflite"), "rb") as f:
        model = fm.decode(f.read())
    ops = model.fields["Subgraphs"][0].fields["Operators"]
    later = int(ops[1].fields["Outputs"][0])
    ins = ops[0].fields["Inputs"].copy()
    ins[0] = later
    fm.apply(model, fm.Mutation(("Subgraphs", 0, "Operators", 0, "Inputs"), ins))
    with pytest.raises(ModelError, match=f"reads tensor {later} .*which nothing writes"):
        microdl.Interpreter(model_content=fm.encode(model))


# 3. A CONV_2D with no options table at all (found by the campaign on vww_96_int8:
#    operator 20's options removed; LiteRT: "params->stride_height > 0 was not true";
#    microdl ran it with stride 1 and SAME padding of its own choosing).
def _no_options(op_index):
    return _mutated(DIGITS_CNN, fm.Mutation(
        ("Subgraphs", 0, "Operators", op_index, "BuiltinOptions"), fm.Union(0, None)))


def test_conv_without_options_litert_rejects_it():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((RuntimeError, ValueError), match="stride"):
            reference_interpreter(model_content=_no_options(0)).invoke()


def test_conv_without_options_is_a_model_error():
    with pytest.raises(ModelError, match=r"operator 0 \(CONV_2D\): no Conv2DOptions table"):
        microdl.Interpreter(model_content=_no_options(0))
