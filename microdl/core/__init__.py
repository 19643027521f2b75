"""microdl's bottom layer: the graph IR, errors, fixed-point arithmetic of the TFLite
quantization spec, shape formulas, data-movement ops on numpy arrays and MAC counts.
Imports nothing else of microdl (ARCHITECTURE.md; checked by import-linter)."""
