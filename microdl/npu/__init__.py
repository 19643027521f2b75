"""microdl.npu: how long an int8 model would take on an edge NPU, and whether it fits.

    >>> from microdl.npu import estimate, NPUConfig
    >>> est = estimate(open("model.tflite", "rb").read(), "ethos-u55-128")
    >>> est.total_cycles, est.latency_s, est.fits_sram

See microdl/npu/MODEL.md for the model (estimator.py: the entry point and results;
layers.py: per-layer cycle formulas; compression.py: weight streams; memory.py:
traffic and the arena) and microdl/npu/config.py for the presets.
"""
from microdl.npu.config import (ACTIVATION_PLACES, PRESETS, WEIGHT_PLACES, NPUConfig,
                                NPUConfigError, load_config, save_config)
from microdl.npu.compression import encoded_weight_bytes
from microdl.npu.estimator import (Estimate, LayerEstimate, SramPlacement, estimate,
                                   sram_placement)
from microdl.npu.memory import placement, planned_arena_bytes

__all__ = ["ACTIVATION_PLACES", "PRESETS", "WEIGHT_PLACES", "Estimate", "LayerEstimate",
           "NPUConfig", "NPUConfigError", "encoded_weight_bytes", "estimate",
           "load_config", "placement", "planned_arena_bytes", "save_config",
           "SramPlacement", "sram_placement"]
