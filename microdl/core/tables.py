"""Text tables: the one formatter behind every table microdl prints.

Fixed width: cells padded to their column's widest cell and joined by two spaces;
columns listed in `left` are left-aligned, the others right-aligned (numbers).
Markdown: GitHub pipes, right-aligned where listed in `right`.

It sits in core (not in microdl.evaluation) because tables are printed on every
layer: the runtime's Interpreter.summary and the NPU cost model's per-layer table sit
below evaluation, and imports only go downward.
"""
from __future__ import annotations


def _cells(rows):
    return [[str(v) for v in row] for row in rows]


def text_table(rows, left=()):
    """The rows (header first; cells are str()-ed) as fixed-width lines joined by
    newlines; columns whose index is in `left` are left-aligned, the rest
    right-aligned.  Every row must have the header's number of cells."""
    rows = _cells(rows)
    if not rows:
        return ""
    n = len(rows[0])
    if any(len(r) != n for r in rows):
        raise ValueError(f"every table row needs {n} cells")
    left = set(left)
    widths = [max(len(r[c]) for r in rows) for c in range(n)]
    return "\n".join("  ".join(v.ljust(w) if c in left else v.rjust(w)
                               for c, (v, w) in enumerate(zip(r, widths)))
                     for r in rows)


def markdown_table(rows, right=()):
    """The rows (header first) as a GitHub-flavoured markdown table; columns whose
    index is in `right` are right-aligned (``---:``)."""
    rows = _cells(rows)
    if not rows:
        return ""
    right = set(right)
    rule = "|" + "|".join("---:" if c in right else "---"
                          for c in range(len(rows[0]))) + "|"
    lines = ["| " + " | ".join(rows[0]) + " |", rule]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)
