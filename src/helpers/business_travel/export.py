"""Reading the expense system's exports (CSV through the survey's reader, or xlsx): rows numbered as a spreadsheet
shows them, headers mapped, dates, times and amounts parsed, the checks shared by claims and long trips (their
rejects go to the one collector, helpers.rejects)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, privacy
from helpers.business_travel.reference import MAPPING_FILE, normalise_one_label, normalise_label
from helpers.rejects import FIRST_DATA_ROW, Rejects
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


def find_input(year_dir: Path, names: list[str]) -> Path | None:
    """The year's export among the accepted file names (None if there is none); two of them are an error."""
    found = [year_dir / name for name in names if (year_dir / name).exists()]
    if len(found) > 1:
        raise ValueError(f"{year_dir}: both {found[0].name} and {found[1].name} exist; keep only one export")
    return found[0] if found else None


def read_export(path: Path) -> tuple[pd.DataFrame, str]:
    """Raw export as text cells (NA for blanks), fully blank lines dropped; returns (frame, encoding used).

    `_row` is each row's number as a spreadsheet shows it (header = row 1; blank lines keep their numbers)."""
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
    frame.insert(0, "_row", np.arange(FIRST_DATA_ROW, len(frame) + FIRST_DATA_ROW, dtype="int64"))
    # a row with more or fewer cells than the header (an unquoted "1,245"): its cells are not in their columns
    misshapen = (pd.Series(cells != header_cells, index=frame.index) & (pd.Series(cells, index=frame.index) > 0)
                 if cells is not None else pd.Series(False, index=frame.index))
    blank = frame.drop(columns="_row").isna().all(axis=1) & ~misshapen
    frame["_cells"] = pd.Series(cells if cells is not None else 0, index=frame.index).astype("int64")
    frame.attrs["header_cells"] = header_cells if cells is not None else len(frame.columns) - 2
    frame = frame.loc[~blank].reset_index(drop=True)
    return frame, encoding


def split_misshapen(raw: pd.DataFrame, file: str, rejects: Rejects) -> pd.DataFrame:
    """The rows whose cell count is the header's; the other CSV rows go to `rejects`, as the survey reader does:
    an unquoted "1,245" shifts every later cell, so such a row is rejected whole."""
    header_cells = raw.attrs.pop("header_cells", None)
    cells = raw.pop("_cells")
    bad = (cells > 0) & (cells != header_cells)
    rejects.add(file, raw.loc[bad, "_row"], None, None, "row_cells",
                "此列 " + cells[bad].astype("string") + f" 欄，標題列 {header_cells} 欄（金額如 1,245 之逗號未加引號？）")
    return raw[~bad]


def map_headers(columns: list[str], fields: dict, path: Path) -> dict[str, str]:
    """field -> header of the file, from the mapping's accepted header texts; errors name file and headers."""
    by_norm = {}
    for column in columns:
        by_norm.setdefault(normalise_one_label(column), column)
    found, missing = {}, []
    for field, spec in fields.items():
        hits = [by_norm[normalise_one_label(h)] for h in spec["headers"] if normalise_one_label(h) in by_norm]
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


def check_employee_and_date(raw: pd.DataFrame, cols: dict, rejects: Rejects, file: str, year: int,
                            employee_field: str = "employee_no") -> tuple[pd.Series, pd.Series]:
    """Employee number and date checks shared by claims and long trips; returns (employee_no, date)."""
    rows = raw["_row"]
    employee = privacy.normalise_employee_no(raw[cols[employee_field]])
    rejects.add(file, rows[employee.isna()], cols[employee_field], None, "missing_value", "應填申請人員工編號")
    text = raw[cols["date"]]
    dates = parse_dates(text)
    rejects.add(file, rows[text.isna()], cols["date"], None, "missing_value", "應填出差日期")
    bad = text.notna() & dates.isna()
    rejects.add(file, rows[bad], cols["date"], text[bad], "bad_date", "例：2025-11-03、2025/11/03、民國 114/11/03")
    outside = dates.notna() & (dates.dt.year != year)
    rejects.add(file, rows[outside], cols["date"], text[outside], "date_outside_year", f"盤查年度為 {year} 年")
    return employee, dates
