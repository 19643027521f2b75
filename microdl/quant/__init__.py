"""Quantization arithmetic (fixed point) shared by the runtime and the converter."""
