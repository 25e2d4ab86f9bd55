"""A differencing checker: can a hidden cell of a published breakdown be worked out from what is published?

The published figures are linear equations over the true cells: a shown cell (or a pooled row) gives its value,
every total shown on the same page or in summary.json gives the sum of the cells it covers. A hidden cell is
derivable when its value follows exactly from these equations — tried over every combination of them (the cell's
unit vector lies in the row space of the equations restricted to the hidden cells) — or when, within one total,
the bounds a reader knows ("<3": 0..2; "×" and every other count: at least 0) leave one value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from helpers import privacy


@dataclass
class Published:
    """True cell values, which cells are hidden (with the bounds a reader knows), and the published sums."""

    true: dict = field(default_factory=dict)       # cell -> true value
    hidden: dict = field(default_factory=dict)     # cell -> (lower, upper) known to a reader
    sums: list = field(default_factory=list)       # (cells, published value): shown cells, pooled rows, totals

    def show(self, cells, value: float) -> None:
        self.sums.append((tuple(cells), float(value)))

    def check_consistent(self, rounding: float = 0.005) -> None:
        """The published sums agree with the true cells up to display rounding (2 decimals): the checker is looking
        at the right figures."""
        for cells, value in self.sums:
            assert abs(sum(self.true[c] for c in cells) - value) <= rounding + 1e-9 * abs(value), (cells, value)


def derivable(pub: Published, tol: float = 1e-9) -> list:
    """Hidden cells whose value a reader can work out from the published sums (empty: nothing is disclosed)."""
    pub.check_consistent()
    hidden = sorted(pub.hidden, key=str)
    index = {c: i for i, c in enumerate(hidden)}
    rows, residuals = [], []
    for cells, value in pub.sums:
        row = np.zeros(len(hidden))
        known = 0.0
        for c in cells:
            if c in index:
                row[index[c]] += 1
            else:
                known += pub.true[c]
        if row.any():
            rows.append(row)
            residuals.append(value - known)
    found = set()
    if rows:
        matrix = np.array(rows)
        rank = np.linalg.matrix_rank(matrix)
        for c, i in index.items():
            unit = np.zeros(len(hidden))
            unit[i] = 1
            if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
                found.add(c)
        # one total at a time, with the bounds a reader knows
        for row, residual in zip(rows, residuals):
            cells = [hidden[i] for i in np.flatnonzero(row)]
            bounds = [pub.hidden[c] for c in cells]
            ranges = privacy.interval_given_total([b[0] for b in bounds], [b[1] for b in bounds], residual)
            found |= {c for c, (lo, hi) in zip(cells, ranges) if hi - lo <= tol}
    return sorted(found, key=str)


def bounds_of(text: str, k: int) -> tuple[float, float] | None:
    """What a reader knows of a cell shown as `text`: None when shown (a number), else (lower, upper)."""
    text = str(text).strip()
    if text == f"<{k}":
        return (0.0, k - 1.0)
    if text in (privacy.SUPPRESSED_SECONDARY, privacy.SUPPRESSED_DERIVED, "", "—"):
        return (0.0, float("inf"))
    return None


def number(text: str) -> float:
    return float(str(text).replace(",", ""))
