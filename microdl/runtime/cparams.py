"""The C kernels' parameter structs seen from Python.

Every kernel's parameter struct is declared once, by an X-macro in its header
(cext/README.md); the kernel table of registry.c gives its field names in struct order,
and `pack_params` fills it by name (strictly: a missing or unknown field is an error).
Prepare also asks C, through the same packed struct, what it must not re-compute from
copied constants: the patch length and arena scratch size of conv_s8_fast
(mdl_conv_s8_fast_patch_len, mdl_conv_s8_fast_get_buffer_size), and the kernels'
limits and variant codes (`C`, from cext/include/mdl_conv.h)."""
from __future__ import annotations

import numpy as np

from microdl.core.errors import ModelError
from microdl.runtime import _engine

# {constant name without MDL_: value} of cext/include/mdl_conv.h.
C = dict(_engine.CONV_CONSTANTS)
# ... and of cext/include/mdl_fully_connected.h (the fast FULLY_CONNECTED form).
C.update(_engine.FC_CONSTANTS)

_TABLE = None


def kernel_fields(kernel):
    """The parameter field names of `kernel` in struct order ("name[n]" for arrays)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _engine.kernel_table()
    return _TABLE[kernel][1]


def pack_params(kernel, fields, params):
    """{field: value} -> int32 array in the C struct's field order (strict)."""
    values = []
    seen = set()
    for f in fields:
        if f.endswith("]"):
            name, n = f[:-1].split("[")
            n = int(n)
            v = params.get(name)
            if v is None or len(v) != n:
                raise RuntimeError(f"{kernel}: parameter {name} needs {n} values, got {v!r}")
            values.extend(int(x) for x in v)
        else:
            name = f
            if name not in params:
                raise RuntimeError(f"{kernel}: missing parameter {name}")
            values.append(int(params[name]))
        seen.add(name)
    extra = set(params) - seen
    if extra:
        raise RuntimeError(f"{kernel}: unknown parameters {sorted(extra)}")
    arr = np.array(values, np.int64)
    if np.any(arr < -(1 << 31)) or np.any(arr >= (1 << 31)):
        raise ModelError(f"{kernel}: a parameter does not fit in int32: {params}")
    return arr.astype(np.int32)


def _packed_conv_s8_fast(params):
    return pack_params("conv_s8_fast", kernel_fields("conv_s8_fast"), params)


def conv_s8_fast_patch_len(params):
    """int16 entries per patch of a conv_s8_fast node (mdl_conv_s8_fast_patch_len); it
    depends on the geometry and the GEMM form (`lanes`) only."""
    return int(_engine.conv_s8_fast_patch_len(_packed_conv_s8_fast(params)))


def conv_s8_fast_buffer_size(params):
    """Bytes of arena scratch a conv_s8_fast node needs
    (mdl_conv_s8_fast_get_buffer_size).

    Raises:
        ValueError: block_pixels or lanes out of the kernel's range."""
    size = int(_engine.conv_s8_fast_get_buffer_size(_packed_conv_s8_fast(params)))
    if size < 0:
        raise ValueError(f"conv_s8_fast: no buffer size for block_pixels "
                         f"{params.get('block_pixels')}, lanes {params.get('lanes')}")
    return size
