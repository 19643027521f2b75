"""microdl: bit-exact integer-only TFLite int8 runtime with a static arena."""
from microdl.core.errors import ModelError, UnsupportedOpError
from microdl.runtime.interpreter import Interpreter

__version__ = "0.1.0"
__all__ = ["Interpreter", "ModelError", "UnsupportedOpError", "__version__"]
