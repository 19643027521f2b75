"""microdl.npu: how long an int8 model would take on an edge NPU, and whether it fits.

    >>> from microdl.npu import estimate, NPUConfig
    >>> est = estimate(open("model.tflite", "rb").read(), "ethos-u55-128")
    >>> est.total_cycles, est.latency_s, est.fits_sram

See microdl/npu/cost.py for the model and microdl/npu/config.py for the presets.
"""
from microdl.npu.config import (ACTIVATION_PLACES, PRESETS, WEIGHT_PLACES, NPUConfig,
                                NPUConfigError, load_config, save_config)
from microdl.npu.cost import (Estimate, LayerEstimate, encoded_weight_bytes, estimate,
                              planned_arena_bytes)

__all__ = ["ACTIVATION_PLACES", "PRESETS", "WEIGHT_PLACES", "Estimate", "LayerEstimate",
           "NPUConfig", "NPUConfigError", "encoded_weight_bytes", "estimate",
           "load_config", "planned_arena_bytes", "save_config"]
