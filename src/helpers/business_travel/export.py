"""Reading the expense system's exports (CSV through the survey's reader, or xlsx): headers mapped, dates, times
and amounts parsed, the checks shared by claims and long trips, rejects collected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, privacy, reference
from helpers.business_travel.reference import MAPPING_FILE, _norm1, normalise_label
from helpers.schemas import REJECTS
from helpers.survey import ingest


# --------------------------------------------------------------------------------------------- raw parsing

def parse_dates(values: pd.Series) -> pd.Series:
    """Dates from Gregorian (2025-11-03, 2025/11/03, 20251103) or ROC (114/11/03, 1141103, 114年11月3日) text."""
    text = normalise_label(values)
    patterns = (
        r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$",
        r"^(?P<y>\d{2,3})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$",
        r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$",
        r"^(?P<y>\d{3})(?P<m>\d{2})(?P<d>\d{2})$",
        r"^(?:民國)?(?P<y>\d{2,4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日$",
    )
    parts = pd.DataFrame(index=values.index, columns=["y", "m", "d"], dtype="float64")
    for pattern in patterns:
        found = text.str.extract(pattern).astype("float64")
        parts = parts.fillna(found)
    year = parts["y"].where(parts["y"] >= 1000, parts["y"] + config.ROC_OFFSET)
    dates = pd.to_datetime(pd.DataFrame({"year": year, "month": parts["m"], "day": parts["d"]}), errors="coerce")
    return dates.astype("datetime64[ns]")


def parse_times(values: pd.Series) -> pd.Series:
    """Clock times 'HH:MM' from '9:30', '09:30:00', '0930' (24-hour); NA when missing or unparseable."""
    text = normalise_label(values)
    found = text.str.extract(r"^(?P<h>\d{1,2}):?(?P<m>\d{2})(?::\d{2}(?:\.\d+)?)?$").astype("float64")
    ok = found["h"].between(0, 23) & found["m"].between(0, 59)
    hh = found["h"].where(ok).astype("Int64").astype("string").str.zfill(2)
    mm = found["m"].where(ok).astype("Int64").astype("string").str.zfill(2)
    return (hh + ":" + mm).astype("string")


def parse_amounts(values: pd.Series) -> pd.Series:
    """Amounts in NTD from text like '245', '1,245', 'NT$245', '245元'; NaN when not a number."""
    text = normalise_label(values).str.replace(r"(?i)NT\$|NTD|\$|元|,", "", regex=True)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _find_input(year_dir: Path, names: list[str]) -> Path | None:
    found = [year_dir / name for name in names if (year_dir / name).exists()]
    if len(found) > 1:
        raise ValueError(f"{year_dir}: both {found[0].name} and {found[1].name} exist; keep only one export")
    return found[0] if found else None


def read_export(path: Path) -> tuple[pd.DataFrame, str]:
    """Raw export as text cells (NA for blanks), fully blank lines dropped; returns (frame, encoding used)."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        frame, encoding = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl"), "xlsx"
        cells = None
    else:  # the survey's CSV reader: UTF-8/Big5, truncated files, structure errors named with file and row
        frame, encoding = ingest.read_export(path)
        cells, header_cells = frame.attrs.get("cells"), frame.attrs.get("header_cells")
        frame.attrs.clear()
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.apply(lambda col: col.astype("string").str.strip()).replace("", pd.NA)
    frame.insert(0, "_row", np.arange(1, len(frame) + 1, dtype="int64"))
    # a row with more or fewer cells than the header (an unquoted "1,245"): its cells are not in their columns
    misshapen = (pd.Series(cells != header_cells, index=frame.index) & (pd.Series(cells, index=frame.index) > 0)
                 if cells is not None else pd.Series(False, index=frame.index))
    blank = frame.drop(columns="_row").isna().all(axis=1) & ~misshapen
    frame["_cells"] = pd.Series(cells if cells is not None else 0, index=frame.index).astype("int64")
    frame.attrs["header_cells"] = header_cells if cells is not None else len(frame.columns) - 2
    frame = frame.loc[~blank].reset_index(drop=True)
    return frame, encoding


def _split_misshapen(raw: pd.DataFrame, file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the rows, rejects of the CSV rows whose cell count differs from the header's), as the survey reader does:
    an unquoted "1,245" shifts every later cell, so such a row is rejected whole."""
    header_cells = raw.attrs.pop("header_cells", None)
    cells = raw.pop("_cells")
    bad = (cells > 0) & (cells != header_cells)
    shape = _Rejects(file)
    shape.add(raw.loc[bad, "_row"], None, cells[bad].astype("string") + " cells", "row_cells",
              f"expected the header's {header_cells} cells (a comma in an unquoted amount such as 1,245?)")
    return raw[~bad], shape.frame()


def map_headers(columns: list[str], fields: dict, path: Path) -> dict[str, str]:
    """field -> header of the file, from the mapping's accepted header texts; errors name file and headers."""
    by_norm = {}
    for column in columns:
        by_norm.setdefault(_norm1(column), column)
    found, missing = {}, []
    for field, spec in fields.items():
        hits = [by_norm[_norm1(h)] for h in spec["headers"] if _norm1(h) in by_norm]
        hits = list(dict.fromkeys(hits))
        if len(hits) > 1:
            raise ValueError(f"{path}: columns {hits} all map to field '{field}'; keep one or edit {MAPPING_FILE}")
        if hits:
            found[field] = hits[0]
        elif spec.get("required"):
            missing.append(f"{field} (one of {spec['headers']})")
    if missing:
        raise ValueError(f"{path}: required column(s) missing: {'; '.join(missing)}. Headers found: "
                         f"{[c for c in columns if c != '_row']}. Rename the header or add it to {MAPPING_FILE}")
    return found


class _Rejects:
    """Collects reject records; each names file, data row, column header, value and what was expected."""

    def __init__(self, file: str):
        self.file = file
        self.frames: list[pd.DataFrame] = []

    def add(self, rows: pd.Series, column: str | None, values: pd.Series | None, code: str, expected: str) -> None:
        """Record the rows (data row numbers) with their offending values and the expectation."""
        reference.require_label("reject_reason", code)
        if len(rows) == 0:
            return
        rows = rows.astype("int64").reset_index(drop=True)
        vals = (pd.Series(pd.NA, index=rows.index, dtype="string") if values is None
                else values.astype("string").reset_index(drop=True))
        shown = vals.fillna("(empty)")
        where = f"{self.file}, row " + rows.astype("string") + " (line " + (rows + 1).astype("string") + ")"
        if column is not None:
            where = where + f", column '{column}'"
        reason = where + ": value '" + shown + "': " + expected
        self.frames.append(pd.DataFrame({"file": self.file, "row": rows.astype("Int64"), "column": column,
                                         "value": vals, "reason_code": code, "reason": reason}))

    def frame(self) -> pd.DataFrame:
        """All records so far as a REJECTS table."""
        if not self.frames:
            return REJECTS.empty()
        return REJECTS.validate(pd.concat(self.frames, ignore_index=True).sort_values("row", kind="stable"))


def _check_common(raw: pd.DataFrame, cols: dict, rej: _Rejects, year: int, employee_field: str = "employee_no"):
    """Employee number and date checks shared by claims and long trips; returns (employee_no, date)."""
    rows = raw["_row"]
    employee = privacy.normalise_employee_no(raw[cols[employee_field]])
    rej.add(rows[employee.isna()], cols[employee_field], None, "missing_value",
            "expected the applicant's employee number")
    text = raw[cols["date"]]
    dates = parse_dates(text)
    rej.add(rows[text.isna()], cols["date"], None, "missing_value", "expected the date of the trip")
    bad = text.notna() & dates.isna()
    rej.add(rows[bad], cols["date"], text[bad], "bad_date",
            "expected a date such as 2025-11-03, 2025/11/03 or ROC 114/11/03")
    outside = dates.notna() & (dates.dt.year != year)
    rej.add(rows[outside], cols["date"], text[outside], "date_outside_year",
            f"expected a date in the inventory year {year}")
    return employee, dates
