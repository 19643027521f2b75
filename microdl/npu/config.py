"""NPU configurations for microdl's cost model: MAC array, clock, memories, placement.

An :class:`NPUConfig` describes one accelerator in one system: how many 8-bit MACs it
does per cycle and in what shape (the micro-block), how fast its output, elementwise,
pooling and weight-decoding units are, its clock, its on-chip SRAM (size, bandwidth,
latency), its off-chip memory (flash or DRAM: bandwidth, latencies), the width of its
memory ports, a fixed per-operator overhead, and where weights and activations live.

Units are in the field names or docstrings: cycles are NPU clock cycles, sizes are
bytes, clocks are Hz, bandwidths are bytes per NPU cycle (the ``*_gb_per_s``
properties and config-file keys give them in GB/s, 1 GB = 1e9 bytes).

Presets (``PRESETS`` / :meth:`NPUConfig.preset`) hold the public figures of Arm's
Ethos-U55 (32/64/128/256 MACs/cycle) and Ethos-U65 (256/512 MACs/cycle) in the system
configurations Vela 5.2 uses when none is given, plus a "generic" NPU to edit.  Where
each figure comes from (Vela = Arm's open-source ethos-u-vela compiler, 5.2.0):

* MAC micro-block (OFM height x width x depth, each lane an 8-deep dot product per
  cycle): Vela's ``architecture_features.py`` accelerator table (also quoted by Arm
  on its community forum, "2x2x8 for the 256-MAC configuration"): U55-32 1x1x4,
  U55-64 1x1x8, U55-128 1x2x8, U55-256 and U65-256 2x2x8, U65-512 two cores of 2x2x8
  (modelled here as one 2x2x16 block with two weight decoders).
* Unit throughputs: Vela's per-configuration output-cycle tables and cycle formulas
  (``architecture_features.py``, ``npu_performance.py``): the output unit writes one
  OFM element per cycle per 64 MACs of array (U55-128: 2 per cycle), ADD/SUB one
  element per cycle per 192 MACs (U55-128: 1.5 cycles per element), pooling takes 4
  cycles per micro-block per kernel element on 8-bit data, a step of 32 input
  channels takes 4 cycles, and the weight decoder delivers 8 weights per cycle per
  core (32 cycles for an 8-channel x 32-deep weight set).
* Memories: Vela's ``vela.ini`` system configurations.  An AXI port moves 8 bytes per
  cycle on Ethos-U55 (64-bit) and 16 on Ethos-U65 (128-bit), scaled by the memory's
  clock ratio.  Ethos_U55_High_End_Embedded: 500 MHz; SRAM 8 B/cycle (4 GB/s),
  32-cycle read and write latency; off-chip flash 1 B/cycle (0.5 GB/s), 64-cycle
  read latency.  Ethos_U65_Client_Server: 1 GHz; SRAM 16 B/cycle (16 GB/s), 32/32
  cycles; DRAM 12 B/cycle (12 GB/s), 500-cycle read and 250-cycle write latency.
* Placement: Vela's memory modes.  Shared_Sram (the U55 default): weights in off-chip
  flash, all activations in SRAM.  Dedicated_Sram_384KB (the U65 default): weights
  and the activation arena in DRAM, with a 384 KiB SRAM the NPU uses as a cache;
  microdl models that as the network's input and output tensors in DRAM and the
  intermediate tensors in SRAM when the arena fits ("sram_cache").
* SRAM size: U65 384 KiB (Dedicated_Sram_384KB); Vela gives no size for Shared_Sram,
  so the U55 presets take the 4 MiB arena cache size its summary reports for that
  mode.  Edit ``sram_bytes`` to your chip's figure.

Ours, not Arm's: the per-operator overhead (32 cycles: decoding about 30
register-setting commands of the command stream at one per cycle), the OFM block
size (16 x 16 x 16), and the "generic" preset (256 MACs at 400 MHz, 1 MiB of SRAM at
16 B/cycle, 4 B/cycle off-chip).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from typing import Optional

WEIGHT_PLACES = ("offchip", "sram")
ACTIVATION_PLACES = ("sram", "offchip", "sram_cache")
GB = 1e9  # bytes in a GB (decimal, as memory vendors quote bandwidth)


class NPUConfigError(ValueError):
    """An NPU configuration is invalid (bad value, unknown key or unknown preset)."""


@dataclass(frozen=True)
class NPUConfig:
    """One NPU in one system.  See the module docstring for where presets come from.

    Attributes:
        name: label used in reports.
        macs_per_cycle: 8-bit x 8-bit multiply-accumulates per NPU cycle at full
            utilization (= product of ``ublock`` x ``dot_product_depth``).
        clock_hz: NPU clock in Hz.
        sram_bytes: on-chip SRAM available to the model (activation arena, plus the
            weights when ``weights_in == "sram"``), in bytes.
        sram_bytes_per_cycle: SRAM bandwidth in bytes per NPU cycle.
        offchip_bytes_per_cycle: off-chip memory (flash or DRAM) bandwidth in bytes per
            NPU cycle.
        op_overhead_cycles: fixed cycles added to every operator the NPU executes
            (pipeline fill/drain and setup), in cycles.
        weights_in: "offchip" (weights streamed once per inference from flash/DRAM
            into an SRAM staging buffer) or "sram" (weights resident in SRAM).
        activations_in: "sram" (every activation tensor in SRAM), "offchip" (every
            activation tensor in off-chip memory) or "sram_cache" (the network's input
            and output tensors off-chip, the intermediate ones in SRAM if the arena
            fits in ``sram_bytes``, off-chip otherwise).
        ublock: MAC micro-block (OFM height, width, depth) computed together per
            cycle; None derives it from ``macs_per_cycle`` (see ``ublock_hwc``).
        dot_product_depth: input channels each MAC lane sums per cycle (Ethos-U: 8).
        ifm_block_depth: input channels the array consumes per step, in
            ``ifm_block_depth / dot_product_depth`` cycles (Ethos-U: 32 for 8-bit data).
        weights_per_cycle: weight decoder throughput in weights per cycle (Ethos-U:
            8 per core).
        output_elems_per_cycle: OFM elements the output (scale/bias/activation) unit
            writes per cycle; None = macs_per_cycle / 64.
        elementwise_elems_per_cycle: output elements per cycle of elementwise ops
            (ADD, SUB, MUL, activations...); None = macs_per_cycle / 192.
        pool_cycles_per_kernel_element: cycles per micro-block per pooling kernel
            element (Ethos-U, 8-bit: 4).
        ofm_block: largest OFM block (height, width, depth) processed at once; sets
            how often weights are re-read and inputs re-fetched (halo, depth blocks).
        axi_bytes: data width of the NPU's memory ports in bytes (Ethos-U55: 8,
            Ethos-U65: 16); the bandwidths above already include it.  Short
            requests are costed by memory burst (sram_burst_bytes,
            offchip_burst_bytes), not by bus beat.
        sram_latency_cycles: SRAM read and write latency in cycles.
        offchip_read_latency_cycles / offchip_write_latency_cycles: off-chip memory
            read and write latency in cycles.
        compress_weights: estimate the size of losslessly compressed weight streams
            (Ethos-U's weight encoder) instead of using raw int8 weight bytes.
        lut_cycles_per_elem: cycles per OFM element of a table-lookup activation
            (LOGISTIC, TANH, HARD_SWISH...), standalone or fused into the output
            stage of the layer before it (Vela's activation table: 1.0 on Ethos-U55
            and U65-256, 0.5 on U65-512).
        brick_depth: channel granularity of intermediate feature maps in SRAM
            (Ethos-U's NHCWB16 "brick" layout: 16); elementwise operators on them
            process whole bricks, so 8 channels cost as much as 16.  1 = no bricks.
        sram_burst_bytes / offchip_burst_bytes: burst length of each memory in bytes
            (vela.ini: SRAM 32, flash and DRAM 128).  A request for fewer contiguous
            bytes still occupies a whole burst of bus time.
    """

    name: str = "generic"
    macs_per_cycle: int = 256
    clock_hz: float = 400e6
    sram_bytes: int = 1 << 20
    sram_bytes_per_cycle: float = 16.0
    offchip_bytes_per_cycle: float = 4.0
    op_overhead_cycles: int = 32
    weights_in: str = "offchip"
    activations_in: str = "sram"
    ublock: Optional[tuple] = None
    dot_product_depth: int = 8
    ifm_block_depth: int = 32
    weights_per_cycle: float = 8.0
    output_elems_per_cycle: Optional[float] = None
    elementwise_elems_per_cycle: Optional[float] = None
    pool_cycles_per_kernel_element: float = 4.0
    ofm_block: tuple = (16, 16, 16)
    axi_bytes: int = 16
    sram_latency_cycles: int = 32
    offchip_read_latency_cycles: int = 64
    offchip_write_latency_cycles: int = 64
    compress_weights: bool = True
    lut_cycles_per_elem: float = 1.0
    brick_depth: int = 16
    sram_burst_bytes: int = 32
    offchip_burst_bytes: int = 128

    def __post_init__(self):
        # Normalise list-valued fields (from JSON/TOML) to tuples, then validate.
        for name in ("ublock", "ofm_block"):
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))
        _validate(self)

    # ----------------------------------------------------------- derived values
    @property
    def ublock_hwc(self) -> tuple:
        """The MAC micro-block (height, width, depth) in OFM elements.

        Given by ``ublock`` or, when None, derived from ``macs_per_cycle`` the way
        Ethos-U grows its array: 32 -> 1x1x4, 64 -> 1x1x8, 128 -> 1x2x8, 256 -> 2x2x8,
        then doubling depth, width, height in turn (512 -> 2x2x16, 1024 -> 2x4x16...).
        Each doubling doubles one dimension, so a bigger array never needs more
        micro-blocks for the same layer."""
        if self.ublock is not None:
            return tuple(int(v) for v in self.ublock)
        return _derive_ublock(self.macs_per_cycle // self.dot_product_depth)

    @property
    def output_rate(self) -> float:
        """OFM elements per cycle of the output unit."""
        if self.output_elems_per_cycle is not None:
            return float(self.output_elems_per_cycle)
        return self.macs_per_cycle / 64.0

    @property
    def elementwise_rate(self) -> float:
        """Output elements per cycle of elementwise operators."""
        if self.elementwise_elems_per_cycle is not None:
            return float(self.elementwise_elems_per_cycle)
        return self.macs_per_cycle / 192.0

    @property
    def sram_gb_per_s(self) -> float:
        """SRAM bandwidth in GB/s (1e9 bytes/s)."""
        return self.sram_bytes_per_cycle * self.clock_hz / GB

    @property
    def offchip_gb_per_s(self) -> float:
        """Off-chip memory bandwidth in GB/s (1e9 bytes/s)."""
        return self.offchip_bytes_per_cycle * self.clock_hz / GB

    @property
    def peak_macs_per_s(self) -> float:
        """MACs per second at full utilization."""
        return self.macs_per_cycle * self.clock_hz

    # ------------------------------------------------------------ construction
    @classmethod
    def preset(cls, name: str) -> "NPUConfig":
        """The preset called `name` (case-insensitive; see ``PRESETS``).

        Raises:
            NPUConfigError: unknown name (the message lists the known ones)."""
        key = str(name).strip().lower()
        if key not in PRESETS:
            raise NPUConfigError(f"unknown NPU preset {name!r}; known presets: "
                                 f"{', '.join(PRESETS)}")
        return PRESETS[key]

    @classmethod
    def from_dict(cls, values: dict) -> "NPUConfig":
        """Build a config from a flat dict of field values.

        Extra keys accepted: ``preset`` (start from that preset and override the other
        keys), ``sram_gb_per_s`` / ``offchip_gb_per_s`` (bandwidth in GB/s instead of
        bytes per cycle, converted with the clock) and ``clock_mhz``.

        Raises:
            NPUConfigError: unknown key, bad value, or both forms of one setting."""
        if not isinstance(values, dict):
            raise NPUConfigError(f"an NPU config must be a table of settings, got "
                                 f"{type(values).__name__}")
        values = dict(values)
        base = {}
        if "preset" in values:
            base = cls.preset(values.pop("preset")).to_dict()
        names = {f.name for f in dataclasses.fields(cls)}
        extra = {"sram_gb_per_s", "offchip_gb_per_s", "clock_mhz"}
        unknown = sorted(set(values) - names - extra)
        if unknown:
            raise NPUConfigError(f"unknown NPU config key(s) {unknown}; valid keys: "
                                 f"preset, {', '.join(sorted(names | extra))}")
        if "clock_mhz" in values:
            if "clock_hz" in values:
                raise NPUConfigError("give clock_hz or clock_mhz, not both")
            values["clock_hz"] = _number("clock_mhz", values.pop("clock_mhz")) * 1e6
        merged = {**base, **values}
        clock = _number("clock_hz", merged.get("clock_hz", cls.clock_hz))
        for mem in ("sram", "offchip"):
            gb_key, bpc_key = f"{mem}_gb_per_s", f"{mem}_bytes_per_cycle"
            if gb_key in values:
                if bpc_key in values:
                    raise NPUConfigError(f"give {bpc_key} or {gb_key}, not both")
                gbps = _number(gb_key, merged.pop(gb_key))
                if clock <= 0:
                    raise NPUConfigError("clock_hz must be > 0 to convert GB/s")
                merged[bpc_key] = gbps * GB / clock
        try:
            return cls(**merged)
        except TypeError as e:  # pragma: no cover - keys were checked above
            raise NPUConfigError(str(e)) from None

    def to_dict(self) -> dict:
        """Field values as a flat dict of JSON/TOML-friendly values (tuples as
        lists, None fields omitted); ``NPUConfig.from_dict`` reads it back."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def replace(self, **changes) -> "NPUConfig":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


# -------------------------------------------------------------------- helpers
def _derive_ublock(lanes: int) -> tuple:
    """Micro-block (h, w, c) with h*w*c == lanes (lanes = MACs / dot-product depth)."""
    if lanes <= 4:
        return (1, 1, max(int(lanes), 1))
    h, w, c = 1, 1, 4
    order = ("c", "w", "h")  # 8 = 1x1x8, 16 = 1x2x8, 32 = 2x2x8, 64 = 2x2x16, ...
    k = 0
    while h * w * c < lanes:
        dim = order[k % 3]
        if dim == "c":
            c *= 2
        elif dim == "w":
            w *= 2
        else:
            h *= 2
        k += 1
    return (h, w, c)


def _number(key, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise NPUConfigError(f"{key} must be a number, got {v!r}")
    if not math.isfinite(v):
        raise NPUConfigError(f"{key} must be finite, got {v!r}")
    return v


def _validate(c: NPUConfig):
    def positive(key, integer=False, allow_none=False):
        v = getattr(c, key)
        if v is None and allow_none:
            return
        _number(key, v)
        if integer and int(v) != v:
            raise NPUConfigError(f"{key} must be an integer, got {v!r}")
        if v <= 0:
            raise NPUConfigError(f"{key} must be > 0, got {v!r}")

    if not isinstance(c.name, str) or not c.name:
        raise NPUConfigError(f"name must be a non-empty string, got {c.name!r}")
    for key in ("macs_per_cycle", "dot_product_depth", "ifm_block_depth",
                "axi_bytes", "brick_depth", "sram_burst_bytes", "offchip_burst_bytes"):
        positive(key, integer=True)
    for key in ("clock_hz", "sram_bytes_per_cycle", "offchip_bytes_per_cycle",
                "weights_per_cycle", "pool_cycles_per_kernel_element",
                "lut_cycles_per_elem"):
        positive(key)
    for key in ("output_elems_per_cycle", "elementwise_elems_per_cycle"):
        positive(key, allow_none=True)
    _number("sram_bytes", c.sram_bytes)
    if int(c.sram_bytes) != c.sram_bytes or c.sram_bytes < 0:
        raise NPUConfigError(f"sram_bytes must be an integer >= 0, got {c.sram_bytes!r}")
    for key in ("op_overhead_cycles", "sram_latency_cycles",
                "offchip_read_latency_cycles", "offchip_write_latency_cycles"):
        v = _number(key, getattr(c, key))
        if v < 0:
            raise NPUConfigError(f"{key} must be >= 0, got {v!r}")
    if c.weights_in not in WEIGHT_PLACES:
        raise NPUConfigError(f"weights_in must be one of {WEIGHT_PLACES}, got "
                             f"{c.weights_in!r}")
    if c.activations_in not in ACTIVATION_PLACES:
        raise NPUConfigError(f"activations_in must be one of {ACTIVATION_PLACES}, got "
                             f"{c.activations_in!r}")
    if not isinstance(c.compress_weights, bool):
        raise NPUConfigError(f"compress_weights must be true or false, got "
                             f"{c.compress_weights!r}")
    if c.ifm_block_depth % c.dot_product_depth:
        raise NPUConfigError(f"ifm_block_depth ({c.ifm_block_depth}) must be a multiple "
                             f"of dot_product_depth ({c.dot_product_depth})")
    for key in ("ublock", "ofm_block"):
        v = getattr(c, key)
        if v is None and key == "ublock":
            continue
        if (not isinstance(v, tuple) or len(v) != 3 or
                not all(isinstance(x, int) and not isinstance(x, bool) and x > 0
                        for x in v)):
            raise NPUConfigError(f"{key} must be three positive integers "
                                 f"(height, width, depth), got {v!r}")
    if c.ublock is None:
        lanes = c.macs_per_cycle / c.dot_product_depth
        if lanes != int(lanes) or int(lanes) & (int(lanes) - 1):
            raise NPUConfigError(
                f"macs_per_cycle ({c.macs_per_cycle}) / dot_product_depth "
                f"({c.dot_product_depth}) must be a power of two to derive the "
                f"micro-block; give ublock explicitly otherwise")
    else:
        h, w, d = c.ublock
        if h * w * d * c.dot_product_depth != c.macs_per_cycle:
            raise NPUConfigError(
                f"ublock {c.ublock} x dot_product_depth {c.dot_product_depth} = "
                f"{h * w * d * c.dot_product_depth} MACs, but macs_per_cycle is "
                f"{c.macs_per_cycle}")


# -------------------------------------------------------------------- presets
def _ethos_u55(macs, ublock, output_rate, elementwise_rate):
    # Ethos_U55_High_End_Embedded + Shared_Sram (Vela 5.2's U55 defaults).
    return NPUConfig(
        name=f"ethos-u55-{macs}", macs_per_cycle=macs, clock_hz=500e6,
        sram_bytes=4 << 20, sram_bytes_per_cycle=8.0, offchip_bytes_per_cycle=1.0,
        op_overhead_cycles=32, weights_in="offchip", activations_in="sram",
        ublock=ublock, weights_per_cycle=8.0, output_elems_per_cycle=output_rate,
        elementwise_elems_per_cycle=elementwise_rate, axi_bytes=8,
        sram_latency_cycles=32, offchip_read_latency_cycles=64,
        offchip_write_latency_cycles=0)


def _ethos_u65(macs, ublock, weights_per_cycle, output_rate, elementwise_rate):
    # Ethos_U65_Client_Server + Dedicated_Sram_384KB (Vela 5.2's U65 defaults).
    return NPUConfig(
        name=f"ethos-u65-{macs}", macs_per_cycle=macs, clock_hz=1e9,
        sram_bytes=384 << 10, sram_bytes_per_cycle=16.0, offchip_bytes_per_cycle=12.0,
        op_overhead_cycles=32, weights_in="offchip", activations_in="sram_cache",
        ublock=ublock, weights_per_cycle=weights_per_cycle,
        output_elems_per_cycle=output_rate,
        elementwise_elems_per_cycle=elementwise_rate, axi_bytes=16,
        lut_cycles_per_elem=1.0 if macs <= 256 else 0.5,
        sram_latency_cycles=32, offchip_read_latency_cycles=500,
        offchip_write_latency_cycles=250)


PRESETS = {
    "ethos-u55-32": _ethos_u55(32, (1, 1, 4), 0.5, 1 / 6),
    "ethos-u55-64": _ethos_u55(64, (1, 1, 8), 1.0, 1 / 3),
    "ethos-u55-128": _ethos_u55(128, (1, 2, 8), 2.0, 2 / 3),
    "ethos-u55-256": _ethos_u55(256, (2, 2, 8), 4.0, 4 / 3),
    "ethos-u65-256": _ethos_u65(256, (2, 2, 8), 8.0, 4.0, 4 / 3),
    "ethos-u65-512": _ethos_u65(512, (2, 2, 16), 16.0, 8.0, 8 / 3),
    # A made-up mid-range NPU for users to edit; derived rates follow its MACs.
    "generic": NPUConfig(),
}


# ------------------------------------------------------------------ files
def load_config(path) -> NPUConfig:
    """Read an NPUConfig from a .json or .toml file of flat ``key = value`` settings
    (the NPUConfig field names, plus ``preset``, ``sram_gb_per_s``,
    ``offchip_gb_per_s`` and ``clock_mhz``; see ``NPUConfig.from_dict``).

    Raises:
        NPUConfigError: unknown extension, unparsable file, bad or unknown settings.
        OSError: the file cannot be read."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    with open(path, "rb") as f:
        raw = f.read()
    if ext == ".json":
        try:
            values = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise NPUConfigError(f"{path}: not valid JSON: {e}") from None
    elif ext == ".toml":
        toml = _toml_module()
        try:
            values = toml.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, toml.TOMLDecodeError) as e:
            raise NPUConfigError(f"{path}: not valid TOML: {e}") from None
    else:
        raise NPUConfigError(f"{path}: NPU config files must end in .json or .toml")
    try:
        return NPUConfig.from_dict(values)
    except NPUConfigError as e:
        raise NPUConfigError(f"{path}: {e}") from None


def save_config(config: NPUConfig, path) -> None:
    """Write `config` to a .json or .toml file that ``load_config`` reads back
    unchanged."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    values = config.to_dict()
    if ext == ".json":
        text = json.dumps(values, indent=2) + "\n"
    elif ext == ".toml":
        text = "".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items())
    else:
        raise NPUConfigError(f"{path}: NPU config files must end in .json or .toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _toml_module():
    try:
        import tomllib  # Python >= 3.11
        return tomllib
    except ImportError:  # pragma: no cover - depends on the Python version
        try:
            import tomli
            return tomli
        except ImportError:
            raise NPUConfigError("reading .toml NPU configs needs Python >= 3.11 or "
                                 "the 'tomli' package (pip install tomli); or use "
                                 ".json") from None


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)  # shortest round-tripping form; TOML accepts it
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise NPUConfigError(f"cannot write {v!r} to TOML")
