"""Paths, year conventions and run constants shared by every stage."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("WORKBENCH_ROOT", Path(__file__).resolve().parents[2]))
DATA = ROOT / "data"
RAW = DATA / "raw"
PROCESSED = DATA / "processed"
REFERENCE = DATA / "reference"
NOTEBOOKS = ROOT / "notebooks"
REPORTS = ROOT / "reports"

DEFAULT_DATASET = "sample"
SAMPLE_YEARS = (2024, 2025, 2026)  # 2026: an off-year rolled forward from the 2025 census

ROC_OFFSET = 1911  # ROC (Minguo) year + 1911 = Gregorian year


def to_gregorian(year: int | str) -> int:
    """Return the Gregorian year for a Gregorian (e.g. 2025) or ROC (e.g. 114) year."""
    try:
        value = int(str(year).strip())
    except ValueError:
        raise ValueError(f"year {year!r} is not a number; give e.g. 2025 or ROC 114") from None
    if 1 <= value < 1000:
        return value + ROC_OFFSET
    if 1912 <= value <= 2200:
        return value
    raise ValueError(f"year {year!r} is neither a Gregorian year (e.g. 2025) nor an ROC year (e.g. 114)")


def to_roc(year: int) -> int:
    """Return the ROC year for a Gregorian year (2025 -> 114)."""
    return int(year) - ROC_OFFSET


def year_label(year: int) -> str:
    """Both calendars for display: '2025（民國114年）'."""
    return f"{int(year)}（民國{to_roc(year)}年）"


# seconds one notebook cell of a report run may take before the run stops with an error (`run --cell-timeout`);
# the longest cell, ingestion, takes minutes at 10^6 staff: a hanging cell must not block a scheduled run for ever
CELL_TIMEOUT_S = 3600
