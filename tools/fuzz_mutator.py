"""Structure-aware mutations of .tflite models for tools/fuzz.py.

The `tflite` package on PyPI has the flatbuffers accessors and builder functions of the
TFLite schema but no object API, so this module builds a small one by introspection:
`decode(buf)` turns a model into a tree of `Table` objects (every field the schema
names, scalars with their defaults included), `encode(table)` writes it back with
`flatbuffers.Builder` through the schema's own `<Table>Add<Field>` functions.

`mutate(model, rng)` changes exactly one field of the tree -- a tensor (shape, type,
buffer index, quantization scale / zero point / quantized dimension), an operator
(opcode index, input / output indices, one field of its options table, or the options
table's type), an opcode (builtin code, version), a buffer (size or contents) or a
subgraph (inputs / outputs) -- and returns a `Mutation` (path and new value) that
`apply()` replays on a fresh decode, so a finding can be rebuilt from the original
model plus its recorded mutation.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import math
import re
from dataclasses import dataclass

import flatbuffers
import numpy as np
import tflite

_SKIP = {"Init", "GetRootAs"}
_SCALAR_SLOT = re.compile(r"Prepend(\w+?)Slot\((\d+),\s*\w+,\s*([^)]*)\)")
# flatbuffers slot kind -> (min, max) of an integer field, or "float" / "bool".
_INT_RANGES = {f"{s}Int{b}": ((-(1 << (b - 1)), (1 << (b - 1)) - 1) if s == "" else
                              (0, (1 << b) - 1))
               for s in ("", "Ui") for b in (8, 16, 32, 64)}
_INT_RANGES = {k.replace("UiInt", "Uint"): v for k, v in _INT_RANGES.items()}


class Table:
    """One flatbuffers table: `cls` the schema class name, `fields` {accessor name:
    value}.  Values: int / float / bool, bytes (string), None (absent), a numpy array
    (vector of scalars), a list of Table or bytes, a Table, or a Union."""

    __slots__ = ("cls", "fields")

    def __init__(self, cls, fields):
        self.cls = cls
        self.fields = fields

    def __repr__(self):
        return f"{self.cls}({', '.join(self.fields)})"


@dataclass
class Union:
    """A union field: `type` its enum value, `value` the Table (or None)."""
    type: int
    value: object


@dataclass
class _Field:
    name: str
    kind: str          # scalar, vector, string_or_table, union
    slot: str = ""     # scalar: flatbuffers slot kind (Int8, Float32, Bool, ...)
    index: int = 0     # scalar: vtable slot
    default: object = 0


_FIELDS: dict = {}


def _module(cls):
    return importlib.import_module(f"tflite.{cls}")


def _builder_fn(cls, what):
    mod = _module(cls)
    return getattr(mod, f"{cls}{what}", None) or getattr(mod, what)


def fields_of(cls) -> list:
    """The fields of schema table `cls` (name, kind, slot), in vtable order."""
    if cls in _FIELDS:
        return _FIELDS[cls]
    klass = getattr(_module(cls), cls)
    names = [n for n, f in vars(klass).items()
             if callable(f) and not n.startswith("_") and n not in _SKIP
             and not n.startswith("GetRootAs") and not n.endswith("BufferHasIdentifier")]
    base = [n for n in names
            if not any(n.endswith(sfx) and n[:-len(sfx)] in names
                       for sfx in ("AsNumpy", "Length", "IsNone"))]
    out = []
    for n in base:
        add = _builder_fn(cls, f"Add{n}")
        src = inspect.getsource(add)
        m = _SCALAR_SLOT.search(src)
        if m and m.group(1) != "UOffsetTRelative":
            out.append(_Field(n, "scalar", m.group(1), int(m.group(2)),
                              ast.literal_eval(m.group(3).strip())))
        elif f"{n}Length" in names:
            out.append(_Field(n, "vector"))
        elif f"{n}Type" in names:
            out.append(_Field(n, "union"))
        else:
            out.append(_Field(n, "string_or_table"))
    slot_of = {}
    for n in names:
        add = getattr(_module(cls), f"{cls}Add{n}", None)
        if add is not None:
            m = re.search(r"Slot\((\d+)", inspect.getsource(add))
            slot_of[n] = int(m.group(1)) if m else 0
    out.sort(key=lambda f: slot_of.get(f.name, 0))
    _FIELDS[cls] = out
    return out


_UNION_ENUMS = {"Details": "QuantizationDetails", "ArraySegments": "SparseIndexVector",
                "ArrayIndices": "SparseIndexVector"}


def _enum_classes(field_name):
    enum_name = _UNION_ENUMS.get(field_name, field_name)
    enum = getattr(importlib.import_module(f"tflite.{enum_name}"), enum_name)
    return {v: k for k, v in vars(enum).items() if not k.startswith("_")}


def _decode_table(obj, cls) -> Table:
    fields = {}
    union_types = {f"{f.name}Type" for f in fields_of(cls) if f.kind == "union"}
    for f in fields_of(cls):
        acc = getattr(obj, f.name)
        if f.kind == "scalar":
            if f.name not in union_types:
                # The raw field (some accessors remap: OperatorCode.BuiltinCode).
                o = obj._tab.Offset(4 + 2 * f.index)
                fields[f.name] = (obj._tab.Get(getattr(flatbuffers.number_types,
                                                       f"{f.slot}Flags"), o + obj._tab.Pos)
                                  if o else f.default)
        elif f.kind == "vector":
            if getattr(obj, f"{f.name}IsNone")():
                fields[f.name] = None
                continue
            if hasattr(obj, f"{f.name}AsNumpy"):
                fields[f.name] = np.array(getattr(obj, f"{f.name}AsNumpy")())
                continue
            n = getattr(obj, f"{f.name}Length")()
            items = [acc(j) for j in range(n)]
            fields[f.name] = [it if isinstance(it, (bytes, str)) else
                              _decode_table(it, type(it).__name__) for it in items]
        elif f.kind == "union":
            t = getattr(obj, f"{f.name}Type")()
            tab = acc()
            name = _enum_classes(f.name).get(t)
            if tab is None or name in (None, "NONE"):
                fields[f.name] = Union(t, None)
            else:
                sub = getattr(_module(name), name)()
                sub.Init(tab.Bytes, tab.Pos)
                fields[f.name] = Union(t, _decode_table(sub, name))
            fields.pop(f"{f.name}Type", None)  # held by the Union
        else:
            v = acc()
            fields[f.name] = (v if v is None or isinstance(v, (bytes, str)) else
                              _decode_table(v, type(v).__name__))
    return Table(cls, fields)


def decode(buf: bytes) -> Table:
    """The Model table of a .tflite file as a Table tree.  Raises whatever the
    flatbuffers accessors raise on a malformed buffer (struct.error, IndexError...)."""
    m = tflite.Model.GetRootAs(buf, 0)
    return _decode_table(m, "Model")


_NP_PREPEND = {np.dtype(np.int8): "Int8", np.dtype(np.uint8): "Uint8",
               np.dtype(np.int16): "Int16", np.dtype(np.uint16): "Uint16",
               np.dtype(np.int32): "Int32", np.dtype(np.uint32): "Uint32",
               np.dtype(np.int64): "Int64", np.dtype(np.uint64): "Uint64",
               np.dtype(np.float32): "Float32", np.dtype(np.float64): "Float64",
               np.dtype(np.bool_): "Bool"}


def _encode_table(b: flatbuffers.Builder, t: Table) -> int:
    offs = {}
    for f in fields_of(t.cls):
        v = t.fields.get(f.name)
        if v is None or f.kind == "scalar":
            continue
        if f.kind == "union":
            if v.value is not None:
                offs[f.name] = _encode_table(b, v.value)
            continue
        if isinstance(v, Table):
            offs[f.name] = _encode_table(b, v)
        elif isinstance(v, (bytes, str)):
            offs[f.name] = b.CreateString(v)
        elif isinstance(v, np.ndarray):
            if v.dtype == np.uint8 or v.dtype == np.int8:
                offs[f.name] = b.CreateNumpyVector(v)
            else:
                start = _builder_fn(t.cls, f"Start{f.name}Vector")
                start(b, len(v))
                prepend = getattr(b, f"Prepend{_NP_PREPEND[v.dtype]}")
                for x in v[::-1]:
                    prepend(x.item())
                offs[f.name] = b.EndVector()
        else:  # list of tables / strings
            items = [b.CreateString(x) if isinstance(x, (bytes, str)) else _encode_table(b, x)
                     for x in v]
            _builder_fn(t.cls, f"Start{f.name}Vector")(b, len(items))
            for o in reversed(items):
                b.PrependUOffsetTRelative(o)
            offs[f.name] = b.EndVector()
    _builder_fn(t.cls, "Start")(b)
    for f in fields_of(t.cls):
        v = t.fields.get(f.name)
        add = _builder_fn(t.cls, f"Add{f.name}")
        if f.kind == "scalar":
            if f.name.endswith("Type") and isinstance(t.fields.get(f.name[:-4]), Union):
                v = t.fields[f.name[:-4]].type
            add(b, v)
        elif f.name in offs:
            add(b, offs[f.name])
    return _builder_fn(t.cls, "End")(b)


def encode(model: Table) -> bytes:
    """Serialize a Model Table with the TFL3 file identifier."""
    b = flatbuffers.Builder(1024)
    b.Finish(_encode_table(b, model), file_identifier=b"TFL3")
    return bytes(b.Output())


def default_table(cls) -> Table:
    """A table of schema class `cls` with every field at its default."""
    b = flatbuffers.Builder(64)
    _builder_fn(cls, "Start")(b)
    b.Finish(_builder_fn(cls, "End")(b))
    buf = bytes(b.Output())
    obj = getattr(_module(cls), cls)()
    obj.Init(buf, flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, 0))
    return _decode_table(obj, cls)


# ---------------------------------------------------------------- paths and edits
@dataclass
class Mutation:
    """`path`: keys from the Model table down to one field (field names and list
    indices), `value`: its new value (the old one is kept to undo)."""
    path: tuple
    value: object
    old: object = None

    def __str__(self):
        v = self.value
        if isinstance(v, np.ndarray):
            v = v.tolist() if v.size <= 16 else f"<{v.dtype} x {v.size}>"
        return ".".join(str(p) for p in self.path) + f" = {v!r}"


def _child(node, key):
    if isinstance(node, Table):
        return node.fields[key]
    if isinstance(node, Union):
        return node.value if key == "value" else node.type
    return node[key]


def _set(node, key, value):
    if isinstance(node, Table):
        node.fields[key] = value
    elif isinstance(node, Union):
        setattr(node, key, value)
    else:
        node[key] = value


def get(model, path):
    node = model
    for k in path:
        node = _child(node, k)
    return node


def apply(model: Table, mutation: Mutation) -> Mutation:
    """Set the field at mutation.path to mutation.value (mutation.old is filled in)."""
    parent = get(model, mutation.path[:-1])
    mutation.old = _child(parent, mutation.path[-1])
    _set(parent, mutation.path[-1], mutation.value)
    return mutation


def undo(model: Table, mutation: Mutation):
    _set(get(model, mutation.path[:-1]), mutation.path[-1], mutation.old)


# ---------------------------------------------------------------- choosing a field
_INTS = [0, 1, -1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 64, 127, 128, 255, 256, -128, -129,
         1000, 32767, -32768, 65535, 65536, (1 << 31) - 1, -(1 << 31)]
_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-9, 1e-30, 1e30, 3.4e38, -3.4e38, float("inf"),
           float("-inf"), float("nan"), 2.0 ** -31, 2.0 ** 31, 1.17549435e-38]


def _int_value(rng, old, lo=-(1 << 31), hi=(1 << 31) - 1):
    r = rng.random()
    if r < 0.5:
        v = rng.choice(_INTS)
    elif r < 0.8:
        v = int(old) + rng.choice([-2, -1, 1, 2])
    elif r < 0.9:
        v = int(old) * rng.choice([2, 4, -1]) + rng.randint(0, 1)
    else:
        v = rng.randint(-300, 300)
    return max(lo, min(hi, v))


def _float_value(rng, old):
    r = rng.random()
    if r < 0.6:
        return rng.choice(_FLOATS)
    f = float(old) if math.isfinite(old) else 1.0
    return float(np.float32(f * rng.choice([0.5, 2.0, -1.0, 1e-3, 1e3, 1.0000001])))


def _scalar_value(rng, old, slot):
    if slot == "Bool":
        return not old
    if slot.startswith("Float"):
        return _float_value(rng, old)
    lo, hi = _INT_RANGES.get(slot, (-(1 << 31), (1 << 31) - 1))
    return _int_value(rng, old, lo, hi)


def _vector_edit(rng, arr, lo, hi):
    """A new array: one element changed, or one element dropped / added."""
    a = np.array(arr, copy=True)
    r = rng.random()
    if a.size and r < 0.75:
        i = rng.randrange(a.size)
        if a.dtype.kind == "f":
            a[i] = _float_value(rng, float(a[i]))
        else:
            info = np.iinfo(a.dtype)
            a[i] = _int_value(rng, int(a[i]), max(lo, info.min), min(hi, info.max))
        return a
    if a.size and r < 0.88:
        return np.delete(a, rng.randrange(a.size))
    x = (_float_value(rng, 1.0) if a.dtype.kind == "f" else
         max(np.iinfo(a.dtype).min, min(np.iinfo(a.dtype).max, _int_value(rng, 1))))
    return np.insert(a, rng.randint(0, a.size), x).astype(a.dtype)


def _scalar_fields(t: Table):
    return [f for f in fields_of(t.cls) if f.kind == "scalar"]


def _edit_scalar_or_vector(rng, t: Table, path, names=None):
    """One scalar field of table t, or one element of one of its int/float vectors."""
    cands = []
    for f in fields_of(t.cls):
        if names is not None and f.name not in names:
            continue
        if f.kind == "scalar" and not (f.name.endswith("Type") and
                                       isinstance(t.fields.get(f.name[:-4]), Union)):
            cands.append(f)
        elif f.kind == "vector" and isinstance(t.fields.get(f.name), np.ndarray):
            cands.append(f)
    if not cands:
        return None
    f = rng.choice(cands)
    old = t.fields[f.name]
    if f.kind == "scalar":
        return Mutation(path + (f.name,), _scalar_value(rng, old, f.slot))
    return Mutation(path + (f.name,), _vector_edit(rng, old, -(1 << 31), (1 << 31) - 1))


def _tensor_mutation(rng, model, s, sg):
    tensors = sg.fields.get("Tensors") or []
    if not tensors:
        return None
    i = rng.randrange(len(tensors))
    t = tensors[i]
    path = ("Subgraphs", s, "Tensors", i)
    r = rng.random()
    q = t.fields.get("Quantization")
    if r < 0.35:
        return _edit_scalar_or_vector(rng, t, path, {"Shape", "ShapeSignature"}) or \
            Mutation(path + ("Shape",), np.array([rng.choice([0, 1, 2, 3])], np.int32))
    if r < 0.45:
        return Mutation(path + ("Type",), rng.randrange(0, 20))
    if r < 0.55:
        nbuf = len(model.fields.get("Buffers") or [])
        return Mutation(path + ("Buffer",), rng.choice([0, nbuf, nbuf - 1, rng.randrange(
            max(nbuf, 1)), (1 << 32) - 1, int(t.fields["Buffer"]) + 1]) % (1 << 32))
    if r < 0.6:
        return Mutation(path + ("IsVariable",), not t.fields["IsVariable"])
    if q is None or rng.random() < 0.05:
        return Mutation(path + ("Quantization",), None if q is not None else
                        default_table("QuantizationParameters"))
    return _edit_scalar_or_vector(rng, q, path + ("Quantization",),
                                  {"Scale", "ZeroPoint", "QuantizedDimension", "Min",
                                   "Max"})


def _operator_mutation(rng, model, s, sg):
    ops = sg.fields.get("Operators") or []
    if not ops:
        return None
    i = rng.randrange(len(ops))
    op = ops[i]
    path = ("Subgraphs", s, "Operators", i)
    ntens = len(sg.fields.get("Tensors") or [])
    r = rng.random()
    if r < 0.1:
        ncodes = len(model.fields.get("OperatorCodes") or [])
        return Mutation(path + ("OpcodeIndex",), rng.choice(
            [0, ncodes, ncodes - 1, rng.randrange(max(ncodes, 1)), (1 << 32) - 1]) % (1 << 32))
    if r < 0.4:
        name = rng.choice(["Inputs", "Outputs", "Inputs", "Intermediates"])
        arr = op.fields.get(name)
        arr = np.zeros(0, np.int32) if arr is None else arr
        a = np.array(arr, copy=True)
        if a.size and rng.random() < 0.8:
            a[rng.randrange(a.size)] = rng.choice([-1, 0, ntens - 1, ntens, rng.randrange(
                max(ntens, 1)), -2, (1 << 31) - 1])
        elif a.size and rng.random() < 0.5:
            a = np.delete(a, rng.randrange(a.size))
        else:
            a = np.append(a, np.int32(rng.choice([-1, rng.randrange(max(ntens, 1))])))
        return Mutation(path + (name,), a.astype(np.int32))
    opts = op.fields.get("BuiltinOptions")
    if r < 0.9 and isinstance(opts, Union) and opts.value is not None:
        m = _edit_scalar_or_vector(rng, opts.value, path + ("BuiltinOptions", "value"))
        if m is not None:
            return m
    # The options table: another type (a default table of it), or none.
    names = _enum_classes("BuiltinOptions")
    if rng.random() < 0.2:
        return Mutation(path + ("BuiltinOptions",), Union(0, None))
    t = rng.choice([k for k in names if k != 0])
    return Mutation(path + ("BuiltinOptions",), Union(t, default_table(names[t])))


def _subgraph_mutation(rng, model, s, sg):
    name = rng.choice(["Inputs", "Outputs"])
    ntens = len(sg.fields.get("Tensors") or [])
    arr = sg.fields.get(name)
    a = np.zeros(0, np.int32) if arr is None else np.array(arr, copy=True)
    r = rng.random()
    if a.size and r < 0.6:
        a[rng.randrange(a.size)] = rng.choice([-1, 0, ntens, ntens - 1,
                                              rng.randrange(max(ntens, 1))])
    elif a.size and r < 0.8:
        a = np.delete(a, rng.randrange(a.size))
    else:
        a = np.append(a, np.int32(rng.randrange(max(ntens, 1))))
    return Mutation(("Subgraphs", s, name), a.astype(np.int32))


def _buffer_mutation(rng, model):
    bufs = model.fields.get("Buffers") or []
    full = [k for k, b in enumerate(bufs) if b.fields.get("Data") is not None]
    if not full:
        return None
    k = rng.choice(full)
    d = bufs[k].fields["Data"]
    r = rng.random()
    if r < 0.5 and d.size:
        d = np.array(d, copy=True)
        for _ in range(rng.randint(1, 8)):
            d[rng.randrange(d.size)] = rng.choice([0, 0x7F, 0x80, 0xFF, rng.randrange(256)])
    elif r < 0.75:
        d = d[:rng.randrange(d.size + 1)].copy() if rng.random() < 0.7 else None
    else:
        d = np.concatenate([d, np.full(rng.choice([1, 3, 4, 16]), rng.randrange(256),
                                       np.uint8)])
    return Mutation(("Buffers", k, "Data"), d)


def _opcode_mutation(rng, model):
    codes = model.fields.get("OperatorCodes") or []
    if not codes:
        return None
    k = rng.randrange(len(codes))
    return _edit_scalar_or_vector(rng, codes[k], ("OperatorCodes", k))


def _plausible_mutation(rng, model):
    """A change that keeps the file well formed and usually runnable, so the input
    reaches prepare and the kernels: weight / bias bytes changed in place (sizes
    kept), a scale scaled by a small factor or a zero point moved a little, or an op
    option set to a small value (activation codes, strides, flags)."""
    sgs = model.fields.get("Subgraphs") or []
    if not sgs:
        return None
    s = rng.randrange(len(sgs))
    sg = sgs[s]
    r = rng.random()
    if r < 0.35:
        bufs = model.fields.get("Buffers") or []
        full = [k for k, b in enumerate(bufs) if b.fields.get("Data") is not None and
                b.fields["Data"].size]
        if not full:
            return None
        k = rng.choice(full)
        d = np.array(bufs[k].fields["Data"], copy=True)
        for _ in range(rng.randint(1, 16)):
            d[rng.randrange(d.size)] = rng.randrange(256)
        return Mutation(("Buffers", k, "Data"), d)
    if r < 0.7:
        tensors = sg.fields.get("Tensors") or []
        quantized = [i for i, t in enumerate(tensors)
                     if t.fields.get("Quantization") is not None and
                     isinstance(t.fields["Quantization"].fields.get("Scale"), np.ndarray)
                     and t.fields["Quantization"].fields["Scale"].size]
        if not quantized:
            return None
        i = rng.choice(quantized)
        q = tensors[i].fields["Quantization"]
        path = ("Subgraphs", s, "Tensors", i, "Quantization")
        zp = q.fields.get("ZeroPoint")
        if rng.random() < 0.5 or not isinstance(zp, np.ndarray) or not zp.size:
            a = np.array(q.fields["Scale"], copy=True)
            j = rng.randrange(a.size)
            a[j] = np.float32(a[j] * rng.choice([0.25, 0.5, 0.9, 1.1, 2.0, 4.0]))
            return Mutation(path + ("Scale",), a)
        a = np.array(zp, copy=True)
        j = rng.randrange(a.size)
        a[j] = max(-128, min(127, int(a[j]) + rng.choice([-20, -5, -1, 1, 5, 20])))
        return Mutation(path + ("ZeroPoint",), a)
    ops = sg.fields.get("Operators") or []
    with_opts = [i for i, op in enumerate(ops)
                 if isinstance(op.fields.get("BuiltinOptions"), Union) and
                 op.fields["BuiltinOptions"].value is not None]
    if not with_opts:
        return None
    i = rng.choice(with_opts)
    t = ops[i].fields["BuiltinOptions"].value
    cands = _scalar_fields(t)
    if not cands:
        return None
    f = rng.choice(cands)
    old = t.fields[f.name]
    if f.slot == "Bool":
        value = not old
    elif f.slot.startswith("Float"):
        value = float(np.float32(float(old) * rng.choice([0.5, 2.0]) if old else 0.5))
    else:
        value = rng.choice([0, 1, 2, 3])
    return Mutation(("Subgraphs", s, "Operators", i, "BuiltinOptions", "value", f.name),
                    value)


def mutate(model: Table, rng) -> Mutation | None:
    """Choose one field of `model` and a new value for it (not applied: see apply):
    two times in five a plausible change (_plausible_mutation), else any field."""
    for _ in range(8):
        if rng.random() < 0.4:
            m = _plausible_mutation(rng, model)
            if m is not None and not _same(get(model, m.path), m.value):
                return m
            continue
        sgs = model.fields.get("Subgraphs") or []
        r = rng.random()
        if sgs and r < 0.85:
            s = rng.randrange(len(sgs))
            sg = sgs[s]
            r2 = rng.random()
            fn = (_tensor_mutation if r2 < 0.5 else _operator_mutation if r2 < 0.9 else
                  _subgraph_mutation)
            m = fn(rng, model, s, sg)
        elif r < 0.95:
            m = _buffer_mutation(rng, model)
        else:
            m = _opcode_mutation(rng, model)
        if m is not None and not _same(get(model, m.path), m.value):
            return m
    return None


def _same(a, b):
    if isinstance(a, Union) and isinstance(b, Union):
        return a.type == b.type and not diff(a.value, b.value)
    return not diff(a, b)


# ------------------------------------------------------------------ comparing trees
def _equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def diff(a, b, path=()):
    """The paths of the fields where trees a and b differ (a list of tables or a
    vector counts as one field when its length differs)."""
    if isinstance(a, Table) and isinstance(b, Table):
        if a.cls != b.cls:
            return [path]
        out = []
        for k in a.fields:
            out += diff(a.fields[k], b.fields.get(k), path + (k,))
        return out
    if isinstance(a, Union) and isinstance(b, Union):
        if a.type != b.type:
            return [path]
        return diff(a.value, b.value, path + ("value",))
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [path]
        out = []
        for k, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, path + (k,))
        return out
    return [] if _equal(a, b) else [path]
