"""Processed-table contracts: each table's columns, dtypes, units and checks, validated on write and read."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd


class SchemaError(ValueError):
    """A processed table breaks its contract; the message names table, column, row and value."""


@dataclass(frozen=True)
class Column:
    """One column: name, pandas dtype, whether nulls are allowed, an optional check with its wording."""

    name: str
    dtype: str
    nullable: bool = False
    check: Callable[[pd.Series], pd.Series] | None = None
    expect: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Schema:
    """A table contract; `key` columns must be unique together."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def empty(self) -> pd.DataFrame:
        """An empty frame with the right columns and dtypes."""
        return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in self.columns})

    def validate(self, frame: pd.DataFrame, source: str = "") -> pd.DataFrame:
        """Coerce dtypes, order columns and check the contract; raise SchemaError naming the first offence."""
        where = f"{source}: " if source else ""
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            raise SchemaError(f"{where}table '{self.name}' lacks column(s) {missing}; has {list(frame.columns)}")
        extra = [c for c in frame.columns if c not in self.names]
        if extra:
            raise SchemaError(f"{where}table '{self.name}' has unexpected column(s) {extra}")
        out = frame[self.names].reset_index(drop=True)
        for col in self.columns:
            series = out[col.name]
            try:
                if col.dtype.startswith("datetime"):
                    series = pd.to_datetime(series)
                else:
                    series = series.astype(col.dtype)
            except (TypeError, ValueError) as exc:
                raise SchemaError(f"{where}table '{self.name}', column '{col.name}': cannot be {col.dtype}: {exc}") from None
            nulls = series.isna()
            if not col.nullable and nulls.any():
                row = int(nulls.to_numpy().nonzero()[0][0])
                raise SchemaError(f"{where}table '{self.name}', row {row}, column '{col.name}': empty value not allowed")
            if col.check is not None:
                ok = col.check(series[~nulls]).astype(bool)
                if not ok.all():
                    bad = ok[~ok].index[0]
                    raise SchemaError(
                        f"{where}table '{self.name}', row {int(bad)}, column '{col.name}': value {str(series[bad])!r}; "
                        f"expected {col.expect}"
                    )
            out[col.name] = series
        if self.key:
            dup = out.duplicated(list(self.key), keep=False)
            if dup.any():
                row = int(dup.to_numpy().nonzero()[0][0])
                raise SchemaError(
                    f"{where}table '{self.name}', row {row}: key {dict(out.loc[row, list(self.key)])} is not unique"
                )
        return out


def _between(lo: float, hi: float, lo_open: bool = False) -> Callable[[pd.Series], pd.Series]:
    return lambda s: ((s > lo) if lo_open else (s >= lo)) & (s <= hi)


def _in(values: tuple[str, ...]) -> Callable[[pd.Series], pd.Series]:
    return lambda s: s.isin(values)


ROUTES = ("A", "B", "C", "D")
LEG_SOURCES = ("survey", "carried_over", "none")
MAX_DISTANCE_KM = 300.0  # one-way commute legs above this are rejected as absurd
MAX_PATTERNS = 3
MAX_LEGS = 6

RESPONDENTS = Schema(
    "respondents",
    (
        Column("respondent_id", "string", expect="16 hex digits", check=lambda s: s.str.fullmatch(r"[0-9a-f]{16}")),
        Column("year", "int64", expect="a Gregorian year", check=_between(1912, 2200)),
        Column("source_row", "int64", expect="the raw file's row as a spreadsheet shows it (header = row 1)",
               check=_between(1, 10**9)),
        Column("submitted_at", "datetime64[ns]", nullable=True),
        Column("route", "string", expect=f"one of {ROUTES}", check=_in(ROUTES)),
        Column("department", "string", nullable=True),
        Column("attendance_days", "float64", nullable=True, expect="0 < days <= 366", check=_between(0, 366, True), unit="days/yr"),
        Column("legs_source", "string", expect=f"one of {LEG_SOURCES}", check=_in(LEG_SOURCES)),
        Column("in_inventory", "bool"),
    ),
    key=("respondent_id",),
)

PATTERNS = Schema(
    "patterns",
    (
        Column("respondent_id", "string"),
        Column("pattern_no", "int64", expect=f"1..{MAX_PATTERNS}", check=_between(1, MAX_PATTERNS)),
        Column("days_per_week", "float64", expect="0 < days <= 7", check=_between(0, 7, True), unit="days/week"),
    ),
    key=("respondent_id", "pattern_no"),
)

LEGS = Schema(
    "legs",
    (
        Column("respondent_id", "string"),
        Column("pattern_no", "int64", expect=f"1..{MAX_PATTERNS}", check=_between(1, MAX_PATTERNS)),
        Column("leg_no", "int64", expect=f"1..{MAX_LEGS}", check=_between(1, MAX_LEGS)),
        Column("mode_id", "string"),
        Column("distance_km", "float64", expect=f"0 < km <= {MAX_DISTANCE_KM:g}, to the metre (3 decimals)",
               check=lambda s: _between(0, MAX_DISTANCE_KM, True)(s) & ((s * 1000 - (s * 1000).round()).abs() < 1e-6),
               unit="km one-way"),
    ),
    key=("respondent_id", "pattern_no", "leg_no"),
)

ATTITUDES = Schema(
    "attitudes",
    (
        Column("respondent_id", "string"),
        Column("question", "string"),
        Column("code", "string", nullable=True),
        Column("free_text", "string", nullable=True),
    ),
)

REJECTS = Schema(  # the one rejects table of every input file (helpers.rejects collects it)
    "rejects",
    (
        Column("file", "string"),
        Column("row", "Int64", nullable=True, expect="the row as a spreadsheet shows it (header = row 1)",
               check=_between(2, 10**9)),
        Column("column", "string", nullable=True),
        Column("value", "string", nullable=True),
        Column("reason_code", "string"),
        Column("reason", "string", expect="the code's zh-TW label (labels.yaml, reject_reason)"),
        Column("detail", "string", nullable=True),
    ),
)

STAFF = Schema(  # the personnel office's roster of a year, pseudonymous (helpers.inventory.roster)
    "staff",
    (
        Column("respondent_id", "string", expect="16 hex digits", check=lambda s: s.str.fullmatch(r"[0-9a-f]{16}")),
        Column("year", "int64", expect="a Gregorian year", check=_between(1912, 2200)),
        Column("department", "string", nullable=True),
        Column("in_scope", "bool"),
        Column("join_date", "datetime64[ns]", nullable=True),
        Column("leave_date", "datetime64[ns]", nullable=True),
        Column("attendance_days", "float64", nullable=True, expect="0 < days <= 366", check=_between(0, 366, True),
               unit="days/yr"),
    ),
    key=("respondent_id",),
)

SCHEMAS = {s.name: s for s in (RESPONDENTS, PATTERNS, LEGS, ATTITUDES, REJECTS, STAFF)}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write bytes to path via a temporary sibling and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Text a spreadsheet would run as a formula (OWASP CSV injection): = + - @ tab CR at the start of a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """Text for a CSV/XLSX cell that no spreadsheet runs as a formula: a leading = + - @ tab or CR gets a single
    quote (OWASP), the rest of the value shown as it was."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell passed through safe_cell (numbers, dates and blanks unchanged)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_object_dtype(out[column]) or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: safe_cell(v) if isinstance(v, str) else v).astype(out[column].dtype)
    out.columns = [safe_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """The product's one CSV writer (files people open in Excel): UTF-8 with BOM, formulas neutralised, CRLF line
    ends as RFC 4180 (a cell holding a line break or carriage return is then quoted), atomic."""
    data = neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    atomic_write_bytes(Path(path), data)
    return Path(path)


def write_table(frame: pd.DataFrame, schema: Schema, path: Path) -> pd.DataFrame:
    """Validate and write a table as parquet atomically; returns the validated frame."""
    checked = schema.validate(frame, source=str(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        checked.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return checked


def read_table(schema: Schema, path: Path) -> pd.DataFrame:
    """Read a parquet table and validate it against its schema."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: processed table '{schema.name}' not found; run the ingest step first")
    try:
        return schema.validate(pd.read_parquet(path), source=str(path))
    except SchemaError as exc:  # most often a table written by an earlier version of the workbench
        raise SchemaError(f"{exc}. If the table was written by an earlier version of the workbench, ingest the year "
                          "again: `python -m helpers run --year <year>` (with the same --raw-dir and --processed-dir) "
                          "re-reads its raw files") from None


def isin_ids(values: pd.Series, ids) -> pd.Series:
    """values.isin(ids) for text keys (pseudonyms), hashed by Arrow in one pass (pandas loops over ids in Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    left = pa.array(values.astype("string").array)
    right = pa.array(pd.Series(ids, dtype="string").array)
    right = right.combine_chunks() if isinstance(right, pa.ChunkedArray) else right
    hit = pc.is_in(left, value_set=right.cast(left.type))
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)
