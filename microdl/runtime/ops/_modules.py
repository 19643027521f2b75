"""Imports every op module (each registers its prepare functions)."""
# One line per module.
from microdl.runtime.ops import fully_connected  # noqa: F401
from microdl.runtime.ops import conv  # noqa: F401
from microdl.runtime.ops import data  # noqa: F401
from microdl.runtime.ops import rearrange  # noqa: F401
from microdl.runtime.ops import compare  # noqa: F401
from microdl.runtime.ops import elementwise  # noqa: F401
from microdl.runtime.ops import pooling  # noqa: F401
from microdl.runtime.ops import activations  # noqa: F401
from microdl.runtime.ops import quantize  # noqa: F401
from microdl.runtime.ops import hybrid  # noqa: F401
from microdl.runtime.ops import float32  # noqa: F401
from microdl.runtime.ops import svdf  # noqa: F401
from microdl.runtime.ops import lstm  # noqa: F401
from microdl.runtime.ops import spatial  # noqa: F401
from microdl.runtime.ops import accumulate  # noqa: F401
from microdl.runtime.ops import arith  # noqa: F401
