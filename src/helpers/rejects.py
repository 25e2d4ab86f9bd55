"""The one collector of rejects: input rows that do not enter the inventory, from any input file (survey export,
attendance and roster workbooks, expense claims, long trips), each with its reason.

A record names the `file`; the `row` as a spreadsheet shows it (the header is row 1, the first data row 2; a
quoted cell holding a line break is still one row); the `column` as headed in the file (blank when the whole row
is meant); the `value` as typed (blank when the cell is empty or no single cell is meant); the `reason_code`;
the `reason`, the code's zh-TW label in data/reference/labels.yaml (`reject_reason`, one label per code); and a
short zh-TW `detail` where the label alone does not say what was expected or which row counts instead.

Base layer: imports only config, reference and schemas (every stage may use it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import reference
from helpers.schemas import REJECTS, write_csv, write_table

FIRST_DATA_ROW = 2  # rows are numbered as a spreadsheet shows them: the header is row 1
LABEL_FAMILY = "reject_reason"
PSEUDONYM_SHOWN = "值為假名，非員工編號"  # detail of a reject whose value is a person's keyed pseudonym
SORT = ["file", "row", "column"]  # one order for every rejects table (ties keep the order of detection)


def _text(values, n: int) -> pd.Series:
    """n text cells from a scalar (None: all blank) or a sequence; empty strings are blank."""
    if values is None or np.isscalar(values):
        out = pd.Series([values] * n, dtype="string")
    else:
        out = pd.Series(np.asarray(values, dtype=object), dtype="string")
    return out.mask(out == "")


class Rejects:
    """Collects reject records while input files are read; `frame()` gives them as one REJECTS table."""

    def __init__(self) -> None:
        self._frames: list[pd.DataFrame] = []

    def add(self, file: str, rows, column, values, code: str, detail=None) -> None:
        """Record `rows` (spreadsheet row numbers) of `file` as rejects for `code`; `column` (one header, or one per
        row), `values` (as typed; None when no cell is meant) and `detail` (scalar or one per row) are optional."""
        label = reference.labels(LABEL_FAMILY).get(code)
        if label is None:
            reference.require_label(LABEL_FAMILY, code)  # raises, naming labels.yaml
        rows = pd.array(np.asarray(rows, dtype="int64"), dtype="Int64")
        n = len(rows)
        if n == 0:
            return
        self._frames.append(pd.DataFrame({
            "file": pd.Series([file] * n, dtype="string"), "row": rows,
            "column": _text(column, n), "value": _text(values, n),
            "reason_code": code, "reason": label, "detail": _text(detail, n),
        }))

    def frame(self) -> pd.DataFrame:
        """All records so far, sorted by file, row and column (whole-row records first), as a REJECTS table."""
        if not self._frames:
            return REJECTS.empty()
        return combine(self._frames)


def one_of(options) -> str:
    """A reject's detail naming the accepted answers: 應為「單程」「來回」之一."""
    return "應為" + "".join(f"「{o}」" for o in options) + "之一"


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Several rejects tables (e.g. of two files) as one, in the one sort order, validated."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return REJECTS.empty()
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(SORT, na_position="first", kind="stable").reset_index(drop=True)
    return REJECTS.validate(out)


def rows_rejected(rejects: pd.DataFrame, file: str | None = None, exclude: tuple[str, ...] = ()) -> int:
    """Distinct rows (of one file, when given) with at least one reject record, leaving out the codes `exclude`."""
    sel = rejects if file is None else rejects[rejects["file"] == file]
    if exclude:
        sel = sel[~sel["reason_code"].isin(exclude)]
    return int(sel["row"].nunique())


def save(rejects: pd.DataFrame, folder: Path) -> None:
    """Write a rejects table as rejects.parquet (the contract) and rejects.csv (for the people who fix the inputs:
    UTF-8 with BOM, formulas neutralised) into `folder`."""
    folder = Path(folder)
    write_table(rejects, REJECTS, folder / "rejects.parquet")
    write_csv(REJECTS.validate(rejects), folder / "rejects.csv")
