"""LiteRT on this host as the tests' oracle inside an emulated root without a LiteRT wheel.

There is no ai_edge_litert (nor tflite-runtime) wheel for armv7l, so in the Debian armhf
root of tools/test_armhf_qemu.sh the tests could not judge microdl against LiteRT's
reference kernels.  This file bridges that: on the host, ``serve`` runs the real
``ai_edge_litert`` (x86-64) behind a Unix socket placed inside the root; in the root,
the same file is installed as ``ai_edge_litert/interpreter.py`` and its ``Interpreter``
forwards each call (constructor, allocate_tensors, set_tensor, invoke, get_tensor, the
*_details and resize_tensor_input ...) to one host interpreter.  So microdl runs on the
emulated ARM core and the oracle is LiteRT itself, unchanged, on the host: the same
independent oracle as the x86-64 test run, not a re-run of microdl.

    python tools/host_oracle.py serve ROOT/tmp/mdl-oracle.sock ROOT   # host
    MICRODL_HOST_ORACLE=/tmp/mdl-oracle.sock python -m pytest ...      # in the root

TFLite Micro's Python package (the oracle of person_detect, tests/test_models.py) has
no wheel for aarch64 or armv7l either: ``install_shims(SITE, litert=...)`` installs this
file as ``microdl_host_oracle`` in a site-packages folder, with
``tflite_micro.python.tflite_micro.runtime`` (Interpreter.from_file / from_bytes) and,
where the root has no real LiteRT, ``ai_edge_litert.interpreter`` forwarding to it.

model_path arguments are paths inside the root (the server prefixes ROOT).  Arrays
cross the socket as (dtype string, shape, bytes), so the two sides' NumPy versions need
not match (the root has Debian's NumPy 1.24).  A method that returns a callable or a
runner (``tensor``, ``get_signature_runner``) is not forwarded: it raises
NotImplementedError in the root.  An exception on the host is raised again in the root
with the same builtin type (ValueError, RuntimeError, ...) and message.
"""
import builtins
import enum
import os
import pickle
import socket
import struct
import sys
import threading

import numpy as np

_SOCK_ENV = "MICRODL_HOST_ORACLE"


def _send(conn, obj):
    data = pickle.dumps(obj, protocol=4)
    conn.sendall(struct.pack("<Q", len(data)) + data)


def _recv_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("host oracle: connection closed")
        buf += chunk
    return bytes(buf)


def _recv(conn):
    n, = struct.unpack("<Q", _recv_exact(conn, 8))
    return pickle.loads(_recv_exact(conn, n))


def _encode(x):
    """Plain Python values only (tuples tagged "__nd__" / "__dt__" / "__enum__"), so
    neither side unpickles the other's NumPy objects."""
    if isinstance(x, np.ndarray):
        return ("__nd__", x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, np.generic):
        return ("__nd__", x.dtype.str, None, x.tobytes())
    if isinstance(x, type) and issubclass(x, np.generic):
        return ("__dt__", np.dtype(x).str)
    if isinstance(x, np.dtype):
        return ("__dtype__", x.str)
    if isinstance(x, enum.Enum):
        return ("__enum__", type(x).__name__, x.name)
    if isinstance(x, dict):
        return {k: _encode(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_encode(v) for v in x]
    if isinstance(x, tuple):
        return ("__tuple__", [_encode(v) for v in x])
    return x


def _decode(x, enums=None):
    """The inverse of _encode; enums: enum class name -> this side's enum class."""
    if isinstance(x, tuple) and x and isinstance(x[0], str):
        tag = x[0]
        if tag == "__nd__":
            _, dt, shape, data = x
            a = np.frombuffer(data, dtype=np.dtype(dt))
            return a[0] if shape is None else a.reshape(shape).copy()
        if tag == "__dt__":
            return np.dtype(x[1]).type
        if tag == "__dtype__":
            return np.dtype(x[1])
        if tag == "__enum__":
            return enums[x[1]][x[2]] if enums and x[1] in enums else x[2]
        if tag == "__tuple__":
            return tuple(_decode(v, enums) for v in x[1])
    if isinstance(x, dict):
        return {k: _decode(v, enums) for k, v in x.items()}
    if isinstance(x, list):
        return [_decode(v, enums) for v in x]
    return x


# ------------------------------------------------------------------- host side


def _host_enums():
    from ai_edge_litert import interpreter as lite
    enums = {"OpResolverType": lite.OpResolverType}
    try:
        from tflite_micro.python.tflite_micro import runtime as tflm
        enums["InterpreterConfig"] = tflm.InterpreterConfig
    except ImportError:
        pass
    return enums


def _construct(kind, kw, root):
    """kind "litert": ai_edge_litert's Interpreter(**kw); "tflm_file" / "tflm_bytes":
    TFLite Micro's Interpreter.from_file / from_bytes(**kw)."""
    if kw.get("model_path"):
        kw["model_path"] = os.path.join(root, kw["model_path"].lstrip("/"))
    if kind == "litert":
        from ai_edge_litert import interpreter as lite
        return lite.Interpreter(**kw)
    from tflite_micro.python.tflite_micro import runtime as tflm
    if kind == "tflm_file":
        return tflm.Interpreter.from_file(**kw)
    if kind == "tflm_bytes":
        return tflm.Interpreter.from_bytes(**kw)
    raise ValueError(f"host oracle: unknown interpreter kind {kind!r}")


def _session(conn, root):
    enums = _host_enums()
    objs = {}
    with conn:
        while True:
            try:
                req = _recv(conn)
            except ConnectionError:
                return
            try:
                if req[0] == "new":
                    it = _construct(req[1], _decode(req[2], enums), root)
                    objs[id(it)] = it
                    out = id(it)
                elif req[0] == "call":
                    _, h, name, args, kw = req
                    out = getattr(objs[h], name)(*_decode(args, enums),
                                                 **_decode(kw, enums))
                    if callable(out) or (out is not None and not isinstance(
                            out, (np.ndarray, np.generic, dict, list, tuple, str, int,
                                  float, bool, bytes))):
                        raise NotImplementedError(
                            f"host oracle: {name}() returns {type(out).__name__}, which "
                            f"is not forwarded")
                elif req[0] == "del":
                    objs.pop(req[1], None)
                    out = None
                else:
                    raise ValueError(f"host oracle: unknown request {req[0]!r}")
                _send(conn, ("ok", _encode(out)))
            except Exception as e:  # the guest raises it again
                _send(conn, ("err", type(e).__name__, str(e)))


def serve(sock_path, root):
    """Accept guest connections on sock_path forever (one thread each)."""
    if os.path.exists(sock_path):
        os.remove(sock_path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    os.chmod(sock_path, 0o666)
    srv.listen(16)
    print(f"host oracle: LiteRT on {sock_path}", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=_session, args=(conn, root), daemon=True).start()


# ------------------------------------------------------------------ guest side


class OpResolverType(enum.Enum):
    """LiteRT 2.x's op resolver choices (same names and values)."""
    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


_conn = None
_lock = threading.Lock()


def _request(*req):
    global _conn
    with _lock:
        if _conn is None:
            path = os.environ.get(_SOCK_ENV)
            if not path:
                raise ImportError(f"host oracle: {_SOCK_ENV} is not set (no LiteRT here)")
            _conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            _conn.connect(path)
        _send(_conn, req)
        reply = _recv(_conn)
    if reply[0] == "err":
        exc = getattr(builtins, reply[1], None)
        if not (isinstance(exc, type) and issubclass(exc, Exception)):
            exc = RuntimeError
        raise exc(reply[2])
    return _decode(reply[1], {"OpResolverType": OpResolverType,
                              "InterpreterConfig": InterpreterConfig})


class Interpreter:
    """ai_edge_litert.interpreter.Interpreter on the host, called from here."""

    def __init__(self, model_path=None, model_content=None, **kwargs):
        if kwargs.get("experimental_delegates"):
            raise NotImplementedError("host oracle: delegates are not forwarded")
        kw = dict(kwargs, model_path=model_path,
                  model_content=bytes(model_content) if model_content is not None else None)
        self._h = _request("new", "litert", _encode(kw))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kw):
            return _request("call", self._h, name, _encode(list(args)), _encode(kw))
        return call

    def __del__(self):
        try:
            if _conn is not None and hasattr(self, "_h"):
                _request("del", self._h)
        except Exception:
            pass


class InterpreterConfig(enum.Enum):
    """TFLite Micro's interpreter configurations (same names and values)."""
    kAllocationRecording = 0
    kPreserveAllTensors = 1


class TflmInterpreter(Interpreter):
    """tflite_micro.python.tflite_micro.runtime.Interpreter on the host: from_file and
    from_bytes (the path inside the root), then its methods forwarded."""

    def __init__(self, kind, kw):
        self._h = _request("new", kind, _encode(kw))

    @classmethod
    def from_file(cls, model_path, **kw):
        return cls("tflm_file", dict(kw, model_path=model_path))

    @classmethod
    def from_bytes(cls, model_data, **kw):
        return cls("tflm_bytes", dict(kw, model_data=bytes(model_data)))


def install_shims(site, litert):
    """This file as SITE/microdl_host_oracle.py, TFLite Micro's runtime module forwarding
    to it, and (litert true) ai_edge_litert.interpreter too."""
    import shutil
    shutil.copy2(os.path.abspath(__file__), os.path.join(site, "microdl_host_oracle.py"))
    shims = {("tflite_micro", "python", "tflite_micro", "runtime"):
             "from microdl_host_oracle import InterpreterConfig, "
             "TflmInterpreter as Interpreter  # noqa: F401\n"}
    if litert:
        shims[("ai_edge_litert", "interpreter")] = (
            "from microdl_host_oracle import Interpreter, OpResolverType  # noqa: F401\n")
    for parts, text in shims.items():
        for k in range(1, len(parts)):
            d = os.path.join(site, *parts[:k])
            os.makedirs(d, exist_ok=True)
            init = os.path.join(d, "__init__.py")
            if not os.path.exists(init):
                with open(init, "w") as f:
                    f.write('"""Forwarded to the host (microdl tools/host_oracle.py)."""\n')
        with open(os.path.join(site, *parts) + ".py", "w") as f:
            f.write(text)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "install":
        install_shims(sys.argv[2], litert=sys.argv[3] == "litert")
    else:
        sys.exit("usage: python tools/host_oracle.py serve SOCKET ROOT\n"
                 "       python tools/host_oracle.py install SITE_PACKAGES litert|tflm")
