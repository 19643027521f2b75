"""Imports every op module (each registers its prepare functions)."""
# One line per module.
from microdl.runtime.ops import fully_connected  # noqa: F401
