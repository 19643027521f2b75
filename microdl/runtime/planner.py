"""Static arena planning: every buffer gets a fixed offset in one arena.

A buffer is live over steps [first, last] (inclusive).  Placement is greedy: buffers
are taken in some order, each put at the lowest 16-byte-aligned offset that overlaps no
placed buffer whose lifetime overlaps its own.  TFLite Micro's GreedyMemoryPlanner
(tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc) takes them largest
first; that order misses the lower bound on some chains (VWW: 64,512 B against a largest
live set of 55,296 B), so plan() also tries size x lifetime, lifetime and first-use
orders and keeps the smallest arena (stopping as soon as one meets the lower bound).
"""
from __future__ import annotations

from dataclasses import dataclass

ALIGNMENT = 16


@dataclass
class Buffer:
    """A block of arena memory: `size` bytes live from step `first` to `last`."""

    key: object
    size: int
    first: int
    last: int


def align(n: int, alignment: int = ALIGNMENT) -> int:
    return (n + alignment - 1) // alignment * alignment


_ORDERS = (
    ("size", lambda b: (-b.size, b.first, b.last)),
    ("size x lifetime", lambda b: (-b.size * (b.last - b.first + 1), b.first, b.last)),
    ("lifetime", lambda b: (-(b.last - b.first), -b.size, b.first)),
    ("first use", lambda b: (b.first, -b.size, b.last)),
)


def _place(order, alignment):
    placed = []  # (offset, end, buffer)
    offsets = {}
    for b in order:
        size = align(max(b.size, 1), alignment)
        conflicts = sorted(
            (off, end) for off, end, o in placed
            if not (o.last < b.first or b.last < o.first)
        )
        offset = 0
        for off, end in conflicts:
            if off - offset >= size:
                break
            offset = max(offset, end)
        offsets[b.key] = offset
        placed.append((offset, offset + size, b))
    total = max((end for _, end, _ in placed), default=0)
    return offsets, total


def plan(buffers, alignment: int = ALIGNMENT):
    """Assign offsets.

    Args:
        buffers: list of Buffer.
    Returns:
        (offsets, arena_bytes): {key: offset in bytes}, and the arena size in bytes
        (a multiple of `alignment`), the smallest over the greedy orders tried.
    """
    bound = lower_bound(buffers, alignment)
    best = None
    for _, key in _ORDERS:
        offsets, total = _place(sorted(buffers, key=key), alignment)
        if best is None or total < best[1]:
            best = (offsets, total)
        if total <= bound:
            break
    return best


def lower_bound(buffers, alignment: int = ALIGNMENT) -> int:
    """Largest sum of (aligned) sizes of buffers live at the same step: no static
    plan can use less."""
    steps = {s for b in buffers for s in (b.first, b.last)}
    best = 0
    for s in steps:
        live = sum(align(b.size, alignment) for b in buffers if b.first <= s <= b.last)
        best = max(best, live)
    return best
