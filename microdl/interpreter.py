"""The module to import instead of ``tflite_runtime.interpreter`` or
``ai_edge_litert.interpreter``::

    from microdl import interpreter as tflite

    it = tflite.Interpreter(model_path="model.tflite", num_threads=2)
    it.allocate_tensors()

Every public name of LiteRT 2.x's module is here, with the same arguments, defaults and
exception types (tests/test_compat_litert.py lists them from LiteRT itself):

- ``Interpreter``, ``SignatureRunner``, ``OpResolverType``: microdl's
  (microdl.runtime.interpreter); ``OpResolverType.BUILTIN_REF`` selects the plain
  reference kernels, the other members the fast ones (same results).
- ``load_delegate`` / ``Delegate``: microdl has no delegates (it runs every op with its
  own CPU kernels), so both raise ValueError naming the library, as LiteRT does for a
  delegate that fails to load; the exception is also an OSError, what LiteRT raises
  when the library file is missing, so either ``except`` clause of existing code
  catches it.  No library is opened.
- ``InterpreterWithCustomOps``: an Interpreter that refuses custom op registerers by
  name (microdl runs builtin ops only).
"""
from __future__ import annotations

import os

from microdl.runtime.interpreter import Interpreter, OpResolverType, SignatureRunner

__all__ = ["Delegate", "DelegateError", "Interpreter", "InterpreterWithCustomOps",
           "OpResolverType", "SignatureRunner", "load_delegate"]


class DelegateError(ValueError, OSError):
    """A delegate cannot be used: microdl has no delegates.  A ValueError (what
    LiteRT's load_delegate documents) and an OSError (what LiteRT raises when the
    library is not found)."""


def _library_name(library):
    try:
        return os.fsdecode(library)
    except TypeError:
        return repr(library)


class Delegate:
    """LiteRT's wrapper of a TfLiteDelegate library.  microdl has none: the constructor
    always raises DelegateError (a ValueError and an OSError) naming the library.

    Args:
        library: name or path of the shared library (never opened).
        options: dict of delegate options (ignored).
    """

    def __init__(self, library, options=None):
        raise DelegateError(
            f"{_library_name(library)}: microdl has no delegates; it runs every op "
            f"with its own CPU kernels (the library was not loaded)")


def load_delegate(library, options=None):
    """LiteRT's ``load_delegate``: always raises, as LiteRT does for a delegate that
    cannot be loaded ("Failed to load delegate from <library>" and the reason), so
    the fallback of code written for LiteRT (``except ValueError``) runs the model on
    microdl's kernels.

    Args:
        library: name or path of the delegate's shared library (never opened).
        options: dict of delegate options (ignored).
    Raises:
        DelegateError: always; a ValueError and an OSError.
    """
    try:
        return Delegate(library, options)
    except DelegateError as e:
        raise DelegateError(f"Failed to load delegate from {_library_name(library)}\n"
                            f"{e}") from None


class InterpreterWithCustomOps(Interpreter):
    """LiteRT's Interpreter that registers custom ops.  microdl runs builtin ops only:
    with no registerers this is a plain Interpreter; any registerer is refused.

    Args:
        custom_op_registerers: None or empty; otherwise ValueError naming them
            (symbol names as given, functions by their __name__).
        **kwargs: the Interpreter's arguments.
    Raises:
        ValueError: custom op registerers were given.
    """

    def __init__(self, custom_op_registerers=None, **kwargs):
        registerers = list(custom_op_registerers or [])
        if registerers:
            names = [r if isinstance(r, str) else getattr(r, "__name__", repr(r))
                     for r in registerers]
            raise ValueError(
                f"microdl cannot register custom ops ({', '.join(names)}): it runs "
                f"builtin ops only; a model with custom ops raises UnsupportedOpError "
                f"naming them")
        self._custom_op_registerers = []
        super().__init__(**kwargs)
