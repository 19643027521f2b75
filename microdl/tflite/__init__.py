"""Reading and writing standard TFLite flatbuffers (schema from the `tflite` package)."""
from microdl.tflite.reader import read_model
from microdl.tflite.writer import write_model

__all__ = ["read_model", "write_model"]
