"""The float32 reference executor: runs a float (or dequantized) graph op by op in
numpy, as TFLite's float kernels compute, keeping every intermediate tensor.  What
calibration, the per-layer error report and bench's float accuracy compare against.
Imports core and tflite only (ARCHITECTURE.md)."""
from microdl.floatexec.executor import FloatExecutor

__all__ = ["FloatExecutor"]
