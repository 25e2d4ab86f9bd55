"""Survey ingestion: form export + attendance -> pseudonymous, validated, tidy tables per year.

Load (survey export, attendance file, form mapping) / Process (pseudonymise, resolve duplicates and
routes, parse patterns and legs, carry route-A legs over, join attendance, code attitude answers) /
Save (all tables of the year at once, or nothing). Every raw row ends up in the inventory, as a
decliner, as a superseded duplicate or in rejects with its reason; the ingest report reconciles them.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import shutil
import sys
import tempfile
import threading
import unicodedata
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, privacy, reference
from helpers.inventory import roster
from helpers.rejects import FIRST_DATA_ROW, PSEUDONYM_SHOWN, Rejects, one_of
from helpers.schemas import (ATTITUDES, LEGS, MAX_DISTANCE_KM, PATTERNS, REJECTS, RESPONDENTS, STAFF, isin_ids,
                             read_table, write_csv, write_table)

ATTITUDE_FIELDS = ("alternative", "barrier", "incentive")
MULTI_SELECT = ("barrier", "incentive")
METRE_KM = Decimal("0.001")  # distances are kept to the metre (3 decimals of km)
ENCODINGS = ("utf-8-sig", "cp950")  # the form's UTF-8 export; Excel re-saves in Taiwan give Big5/cp950
ROUTE_A_MAX_UNMATCHED = 0.2  # stop when a larger share of route-A respondents has no record last year
MIN_ACCEPTED_SHARE = 0.5  # stop when fewer raw rows than this share end in the inventory (a garbage export)
DAYS_TOTAL_COLUMN = "（各通勤型態每週日數合計）"  # the reject's column when all patterns together are wrong


class IngestError(ValueError):
    """Input that stops the run before anything is written; the message names file, row, column and value."""


def load_mapping(year: int, reference_dir: Path | None = None) -> dict:
    """The form mapping of a survey year: data/reference/survey/<year>.yaml."""
    path = Path(reference_dir or config.REFERENCE) / "survey" / f"{year}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no survey form mapping for {year}; copy last year's file and edit it "
                                "(see README, 'Adding next year')")
    mapping = reference.load_yaml(path)
    mapping["_path"] = str(path)
    return mapping


# ---------------------------------------------------------------- load
# ---------------------------------------------------------------- read each raw file once
_reads = threading.local()


@contextmanager
def read_once():
    """Within this block each raw file (CSV export, workbook sheet) is parsed once and handed out as copies.

    Ingestion reads the same files for several purposes (the roster is also the attendance file, and the
    identifiers the masker hides come from the survey, the workbooks and the claims); at 10^5 staff each extra
    parse of a workbook costs about a second. The parsed raw data are dropped when the outermost block ends, so
    no raw personal data stay in memory after ingestion. A file changed on disk (size or mtime) is read again.
    """
    if getattr(_reads, "memo", None) is not None:  # nested: the outer block's memo serves
        yield
        return
    _reads.memo = {}
    try:
        with privacy.remembering_pseudonyms():
            yield
    finally:
        _reads.memo = None


def _read_memo(kind: str, path: Path, detail, read):
    """read() once per (file as it is on disk, detail) inside read_once(); a fresh read outside it."""
    memo = getattr(_reads, "memo", None)
    if memo is None:
        return read()
    stat = Path(path).stat()
    key = (kind, str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, detail)
    if key not in memo:
        memo[key] = read()
    return memo[key]


def read_sheet(path: Path, sheet: str | int = 0) -> tuple[pd.DataFrame | None, list[str]]:
    """A workbook sheet as text cells (header = first row) and the workbook's sheet names; None when the sheet is
    absent. Raises what the xlsx reader raises for a damaged file (callers name the file)."""
    def read():
        with pd.ExcelFile(path, engine=xlsx_engine()) as book:
            sheets = list(book.sheet_names)
            present = sheet in sheets if isinstance(sheet, str) else 0 <= sheet < len(sheets)
            return (pd.read_excel(book, sheet_name=sheet, dtype=str) if present else None), sheets

    frame, sheets = _read_memo("sheet", path, sheet, read)
    return (frame.copy() if frame is not None else None), list(sheets)


def read_export(path: Path) -> tuple[pd.DataFrame, str]:
    """Read a CSV export as text cells, trying UTF-8 (with or without BOM) then Big5/cp950 (once per file inside
    read_once()).

    Every record of the file becomes a row, blank lines included, so row numbers match what a spreadsheet
    shows (header = row 1). The number of cells each record had is kept in `frame.attrs["cells"]` (and the
    header's in `frame.attrs["header_cells"]`): a record with more or fewer cells than the header is rejected
    by `ingest_year`, and a last record cut short at the end of the file stops the run as a truncated file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: export not found")
    frame, encoding = _read_memo("csv", path, None, lambda: _read_export(path))
    copy = frame.copy()
    copy.attrs = dict(frame.attrs)
    return copy, encoding


def _read_export(path: Path) -> tuple[pd.DataFrame, str]:
    """read_export() without the memo.

    Every record of the file becomes a row, blank lines included, so row numbers match what a spreadsheet
    shows (header = row 1). The number of cells each record had is kept in `frame.attrs["cells"]` (and the
    header's in `frame.attrs["header_cells"]`): a record with more or fewer cells than the header is rejected
    by `ingest_year`, and a last record cut short at the end of the file stops the run as a truncated file.
    """
    data = path.read_bytes()
    if not data.strip():
        raise IngestError(f"{path}: the file is empty")
    if data.startswith(b"PK\x03\x04"):
        raise IngestError(f"{path}: this is an Excel/zip file, not CSV text; export the form answers as CSV")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{path}: the file is UTF-16 (Excel's 'Unicode text'); save it as 'CSV UTF-8' instead")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise IngestError(f"{path}: neither UTF-8 nor Big5/cp950 text; export the form again as CSV (UTF-8)")
    invisible = privacy.INVISIBLE.search(text.removeprefix("\ufeff")) is not None
    if invisible:  # NUL, zero-width spaces, a BOM inside a cell: never data, and they split one value into two
        text = privacy.INVISIBLE.sub("", text)
    cells = _cell_counts(text, path)
    header_cells = max(int(cells[0]), 1)
    try:
        # the parser gets UTF-8 bytes: a text buffer is re-encoded by pandas in small chunks (~20 s at 10^6 rows)
        utf8 = (data.removeprefix(b"\xef\xbb\xbf") if encoding == "utf-8-sig" and not invisible
                else text.encode("utf-8"))
        # no more cells than the header has are parsed: a hostile row of 10^5 cells costs its bytes, not a
        # column per cell for every row (its surplus cells make it a reject, counted by _cell_counts)
        table = pd.read_csv(io.BytesIO(utf8), encoding="utf-8", header=None, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, names=range(header_cells), usecols=range(header_cells))
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().removeprefix("Error tokenizing data. C error: ")
        hint = "; the file looks truncated (cut off inside a quoted cell)" if "EOF" in detail else ""
        raise IngestError(f"{path}: not a well-formed CSV ({detail}){hint}") from None
    if len(cells) != len(table):  # both parsers must agree on where the records are
        raise IngestError(f"{path}: the CSV structure is ambiguous ({len(table)} vs {len(cells)} records); "
                          "open it in a spreadsheet and save it again as CSV")
    last = len(cells) - 1
    if last > 0 and 0 < cells[last] < header_cells and not text.endswith(("\n", "\r")):
        raise IngestError(f"{path}, row {last + 1}: the last row has {cells[last]} of {header_cells} cells and the "
                          "file does not end with a line break; the file looks truncated. Export it again")
    frame = table.iloc[1:, :header_cells].reset_index(drop=True)
    frame.attrs["headers"] = [str(c) for c in table.iloc[0, :header_cells]]  # as written in the file
    frame.columns = [norm_header(c) for c in table.iloc[0, :header_cells]]
    frame.attrs["cells"] = cells[1:]
    frame.attrs["first_records"] = _first_records(text)  # header row and a few more, for hints
    frame.attrs["header_cells"] = header_cells
    return frame, encoding


def _first_records(text: str, n: int = 6, max_cells: int = 200) -> list[list[str]]:
    """The first n records of the CSV text (at most max_cells cells each), for hints about a misplaced header."""
    try:
        return [record[:max_cells] for record in itertools.islice(csv.reader(io.StringIO(text[:1 << 20])), n)]
    except csv.Error:
        return []


def _cell_counts(text: str, path: Path) -> np.ndarray:
    """Number of cells of every CSV record (0 for a blank line), header first."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # one huge cell is a reject of its row, not a broken file
    try:
        return np.fromiter(map(len, csv.reader(io.StringIO(text))), dtype=np.int64)
    except csv.Error as exc:
        raise IngestError(f"{path}: not a well-formed CSV ({exc})") from None
    finally:
        csv.field_size_limit(limit)


def norm_header(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


def expected_columns(mapping: dict) -> dict[str, str]:
    """field name -> export header, for every column the mapping names (patterns expanded)."""
    cols = {k: norm_header(v) for k, v in mapping["columns"].items()}
    pat = mapping["patterns"]
    for p in range(1, pat["count"] + 1):
        label = pat["labels"][p]
        cols[f"days_{p}"] = norm_header(pat["days"].format(p=label))
        for leg in range(1, pat["legs"] + 1):
            cols[f"mode_{p}_{leg}"] = norm_header(pat["leg_mode"].format(p=label, l=leg))
            cols[f"km_{p}_{leg}"] = norm_header(pat["leg_km"].format(p=label, l=leg))
    return cols


def check_columns(frame: pd.DataFrame, mapping: dict, file: str) -> list[str]:
    """Stop on a mapped header the export lacks (or has twice); return (and warn about) unexpected extra headers."""
    expected = expected_columns(mapping)
    missing = [f"{field}: '{head}'" for field, head in expected.items() if head not in frame.columns]
    if missing:
        raise IngestError(f"{file}: the export lacks column(s) named in {mapping['_path']}: {missing[:5]}"
                          f"{' ...' if len(missing) > 5 else ''}; {_header_hint(frame, expected)}")
    headers = pd.Index(frame.columns)
    twice = sorted(set(headers[headers.duplicated()]) & set(expected.values()))
    if twice:
        where = {h: [int(i) + 1 for i in np.flatnonzero(headers == h)] for h in twice}
        raise IngestError(f"{file}: column header(s) named in {mapping['_path']} appear more than once "
                          f"(header -> column numbers): {where}; rename the form questions so each is unique")
    known = set(expected.values()) | {norm_header(c) for c in mapping.get("personal_columns", [])}
    extra = [c for c in frame.columns if c not in known]
    if extra:
        warnings.warn(f"{file}: column(s) not in the mapping, ignored: {extra}", stacklevel=2)
    return extra


def _header_hint(frame: pd.DataFrame, expected: dict[str, str]) -> str:
    """Why the mapped headers were not found: a title row above the header, another delimiter, or a changed form."""
    heads = set(expected.values())
    first = frame.attrs.get("first_records") or [list(frame.columns)]
    found = [sum(norm_header(cell) in heads for cell in record) for record in first]
    best = int(np.argmax(found))
    if best > 0 and found[best] >= max(3, len(heads) // 2):
        return f"the headers are on row {best + 1}: delete the row(s) above them so the header is row 1"
    if len(frame.columns) == 1 and any(sep in frame.columns[0] for sep in (";", "\t")):
        return "the file has a single column: cells seem separated by ';' or tabs, export it again as CSV (commas)"
    return "the form changed? update the mapping (headers are compared after NFKC and trimming)"


# ---------------------------------------------------------------- parsing helpers (vectorised)
KM_UNITS = re.compile(r"\s*(公里|km|KM|Km|kilometers?|公裡)\s*$")
DAY_UNITS = re.compile(r"\s*(天|日|days?)\s*$")


def clean_text(values: pd.Series) -> pd.Series:
    """NFKC (full-width digits and letters to ASCII), trimmed; blank -> NA."""
    codes, uniques = pd.factorize(values.astype("string"))  # each distinct text is normalised once
    text = privacy.nfkc_visible(pd.Series(uniques, dtype="string")).str.strip()
    text = text.mask(text == "")
    return pd.Series(text.array.take(codes, allow_fill=True), index=values.index, name=values.name)


def extract(text: pd.Series, pattern: str) -> pd.DataFrame:
    """text.str.extract(pattern) ("string" text, plain (...) groups), the rows Arrow's RE2 matches done in C.

    RE2's \\d and \\s are ASCII only, so a row it matches, Python's re matches with the same groups; the
    rows it does not match (no match, or other Unicode digits and spaces) go through re as before.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    groups = iter(range(re.compile(pattern).groups))
    named = re.sub(r"(?<!\\)\((?!\?)", lambda _: f"(?P<g{next(groups)}>", pattern)  # RE2 returns named groups
    found = pc.extract_regex(pa.array(text.array), named)
    matched = pc.is_valid(found).to_numpy(zero_copy_only=False)
    out = pd.DataFrame({i: pd.Series(pd.array(pc.struct_field(found, [i]), dtype=text.dtype), index=text.index)
                        .where(matched) for i in range(re.compile(pattern).groups)})
    rest = ~matched & text.notna().to_numpy()
    if rest.any():
        out.loc[rest] = text[rest].str.extract(pattern).to_numpy()
    return out


def _number_text(values: pd.Series, unit: re.Pattern) -> pd.Series:
    """Typed numbers as plain decimal text: NFKC, unit removed, '5,5' -> '5.5', '1,234' -> '1234'."""
    text = clean_text(values).str.replace(unit, "", regex=True)
    text = text.str.replace(r"^(\d+),(\d{1,2})$", r"\1.\2", regex=True)  # 5,5 -> 5.5 (not 1,234)
    return text.str.replace(r"^(\d{1,3}),(\d{3})$", r"\1\2", regex=True)


def parse_number(values: pd.Series, unit: re.Pattern) -> pd.Series:
    """Numbers typed by people: '5', '５', '5 km', '5公里', '5,5' (decimal comma) -> float; NaN if not a number."""
    return pd.to_numeric(_number_text(values, unit), errors="coerce")


def parse_distance_km(values: pd.Series) -> pd.Series:
    """Typed one-way distances -> km to the metre: the typed decimal rounded half-up to 3 decimals, exactly.

    '10.0005' -> 10.001, '0.6' -> 0.6. Each value is the double nearest to a whole number of metres, so that
    `emissions.metres` recovers the metres exactly and sums of legs are exact (0.6 + 8.2 + 1.2 = 10.000 km).
    NaN if not a finite number.
    """
    codes, uniques = pd.factorize(_number_text(values, KM_UNITS))  # distinct typed values are few
    number = pd.to_numeric(pd.Series(uniques, dtype="string"), errors="coerce").to_numpy(dtype="float64",
                                                                                        na_value=np.nan)
    exact = np.array([float(Decimal(u).quantize(METRE_KM, ROUND_HALF_UP)) if np.isfinite(n) else np.nan
                      for u, n in zip(uniques, number)] + [np.nan], dtype="float64")  # [-1]: blank
    return pd.Series(exact[codes], index=values.index, dtype="float64", name=values.name)


def parse_timestamp(values: pd.Series) -> pd.Series:
    """Google Forms zh-TW timestamps ('2025/3/5 下午 2:31:07') or ISO; NaT if unreadable."""
    text = clean_text(values)
    m = extract(text, r"^(\d{4})/(\d{1,2})/(\d{1,2})\s*(上午|下午)\s*(\d{1,2}):(\d{2}):(\d{2})$")
    pm = (m[3] == "下午").fillna(False).to_numpy(dtype=bool)  # NA where the text is not a zh-TW timestamp
    hour = (pd.to_numeric(m[4], errors="coerce") % 12 + np.where(pm, 12, 0)).astype("Int64").astype("string")
    canon = (m[0] + "-" + m[1].str.zfill(2) + "-" + m[2].str.zfill(2) + " " + hour.str.zfill(2) + ":" + m[5]
             + ":" + m[6])
    zh = pd.to_datetime(canon, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    iso = pd.to_datetime(text.where(m[0].isna()), errors="coerce", format="mixed")
    return zh.fillna(iso).astype("datetime64[ns]")


def split_multi(values: pd.Series, labels: dict[str, str], sep: str) -> pd.DataFrame:
    """Multi-select cells -> long (idx, code, free_text): known labels become codes, the rest is free text.

    Cells are split on the form's separator exactly as the export writes it (Google Forms: ", "), before any
    normalisation: a respondent's own full-width "，" (which NFKC would turn into ",") never splits their text.
    Labels are matched after NFKC; the free text is kept as typed (trimmed), its pieces re-joined with `sep`.
    """
    raw = values.astype("string").dropna()
    if not sep:
        raise ValueError("multi_select_separator is empty; set it to the form's separator (Google Forms: ', ')")
    tokens = raw.str.split(sep, regex=False).explode().str.strip()
    tokens = tokens[tokens.notna() & (tokens != "")]
    if tokens.empty:
        return pd.DataFrame({"idx": pd.Series(dtype="int64"), "code": pd.Series(dtype="string"),
                             "free_text": pd.Series(dtype="string")})
    norm_labels = {norm_header(k): v for k, v in labels.items()}
    codes = clean_text(tokens).map(norm_labels)
    known = pd.DataFrame({"idx": tokens.index[codes.notna()], "code": codes[codes.notna()].to_numpy(),
                          "free_text": pd.NA})
    free = tokens[codes.isna()].groupby(level=0).agg(sep.join)
    other = pd.DataFrame({"idx": free.index, "code": pd.NA, "free_text": free.to_numpy()})
    out = pd.concat([known, other], ignore_index=True)
    return out.astype({"idx": "int64", "code": "string", "free_text": "string"})


# ---------------------------------------------------------------- process
def _legs_long(survey: pd.DataFrame, mapping: dict, cols: dict[str, str]) -> pd.DataFrame:
    """Pattern and leg cells as long rows: idx, pattern_no, leg_no, days_text, mode_text, km_text.

    Legs with blank mode and km are left out (most of the 3 x 6 slots are blank), except leg 1 of a pattern
    with days or any leg given: that row carries the pattern's days.
    """
    pat = mapping["patterns"]
    parts = []
    for p in range(1, pat["count"] + 1):
        filled = [clean_text(survey[cols[f"mode_{p}_{leg}"]]).notna()
                  | clean_text(survey[cols[f"km_{p}_{leg}"]]).notna() for leg in range(1, pat["legs"] + 1)]
        pattern_used = clean_text(survey[cols[f"days_{p}"]]).notna() | np.logical_or.reduce(filled)
        for leg in range(1, pat["legs"] + 1):
            keep = (pattern_used if leg == 1 else filled[leg - 1]).to_numpy()
            parts.append(pd.DataFrame({
                "idx": survey.index[keep], "pattern_no": p, "leg_no": leg,
                "days_text": survey[cols[f"days_{p}"]].to_numpy()[keep],
                "mode_text": survey[cols[f"mode_{p}_{leg}"]].to_numpy()[keep],
                "km_text": survey[cols[f"km_{p}_{leg}"]].to_numpy()[keep],
            }))
    return pd.concat(parts, ignore_index=True)


def parse_commutes(survey: pd.DataFrame, mapping: dict, cols: dict[str, str], file: str,
                   rejects: Rejects) -> tuple[pd.DataFrame, pd.DataFrame, pd.Index]:
    """Patterns and legs of the rows that answered the commute part; returns (patterns, legs, bad row idx)."""
    long = _legs_long(survey, mapping, cols)
    long["mode_raw"] = long["mode_text"]  # rejects show the cells as typed
    long["mode_text"] = clean_text(long["mode_text"])
    long["km_raw"] = clean_text(long["km_text"])
    long["days_raw"] = clean_text(long["days_text"])
    modes_map = {norm_header(k): v for k, v in mapping["answers"]["mode"].items()}
    long["mode_id"] = long["mode_text"].map(modes_map).astype("string")
    long["distance_km"] = parse_distance_km(long["km_raw"])
    row_of = survey["_row"]
    has_leg = long["mode_text"].notna() | long["km_raw"].notna()
    legs = long[has_leg].copy()
    head = lambda kind, p, l=None: cols[f"{kind}_{p}" if l is None else f"{kind}_{p}_{l}"]  # noqa: E731

    def reject(mask: pd.Series, frame: pd.DataFrame, kind: str, value_col: str, code: str, detail=None) -> pd.Series:
        """Record the rows of `frame` under `mask` as rejects; returns the mask (bool) to combine."""
        mask = mask.fillna(False).astype(bool)
        bad = frame[mask]
        columns = [head(kind, p, l) if kind != "days" else head(kind, p) for p, l in zip(bad["pattern_no"], bad["leg_no"])]
        rejects.add(file, row_of.loc[bad["idx"]].to_numpy(), pd.Series(columns, dtype="string").to_numpy(),
                    bad[value_col].to_numpy(), code, detail)
        return mask

    d = legs["distance_km"]
    bad_leg = reject(legs["mode_text"].isna(), legs, "mode", "km_text", "leg_without_mode")
    bad_leg |= reject(legs["mode_text"].notna() & legs["mode_id"].isna(), legs, "mode", "mode_raw",
                      "unknown_mode", f"不在表單對照 {Path(mapping['_path']).name}（answers.mode）之運具選項內")
    bad_leg |= reject(legs["mode_text"].notna() & legs["km_raw"].isna(), legs, "km", "km_text",
                      "leg_without_distance")
    bad_leg |= reject(legs["km_raw"].notna() & d.isna(), legs, "km", "km_text", "distance_not_a_number")
    bad_leg |= reject(d.notna() & (d <= 0), legs, "km", "km_text", "distance_not_positive")
    bad_leg |= reject(d > MAX_DISTANCE_KM, legs, "km", "km_text", "distance_absurd",
                      f"單程超過 {MAX_DISTANCE_KM:g} 公里，不是每日通勤")
    # patterns: days per week given, legs given
    pats = long[long["leg_no"] == 1][["idx", "pattern_no", "days_raw", "days_text"]].copy()
    pats["days_per_week"] = parse_number(pats["days_raw"], DAY_UNITS)
    pats["leg_no"] = 1
    pat_has_legs = legs.groupby(["idx", "pattern_no"]).size().rename("n_legs")
    pats = pats.join(pat_has_legs, on=["idx", "pattern_no"])
    used = pats["days_raw"].notna() | pats["n_legs"].notna()
    pats = pats[used].copy()
    days = pats["days_per_week"]
    bad_pat = reject(pats["days_raw"].notna() & pats["n_legs"].isna(), pats, "days", "days_text",
                     "pattern_without_legs")
    bad_pat |= reject(pats["days_raw"].isna() & pats["n_legs"].notna(), pats, "days", "days_text",
                      "pattern_without_days")
    bad_pat |= reject(pats["days_raw"].notna() & days.isna(), pats, "days", "days_text", "days_not_a_number")
    bad_pat |= reject((days <= 0) | (days > 7), pats, "days", "days_text", "days_out_of_range")
    total_days = pats.groupby("idx")["days_per_week"].sum()
    over = total_days[total_days > 7]
    rejects.add(file, row_of.loc[over.index].to_numpy(), DAYS_TOTAL_COLUMN, over.map("{:g}".format).to_numpy(),
                "days_total_over_7")
    bad_idx = pd.Index(legs.loc[bad_leg, "idx"]).union(pd.Index(pats.loc[bad_pat, "idx"])).union(over.index)
    legs = legs[~legs["idx"].isin(bad_idx)].copy()
    pats = pats[~pats["idx"].isin(bad_idx)].copy()
    # legs keep their order; gaps left by blank legs are closed
    legs["leg_no"] = legs.sort_values(["idx", "pattern_no", "leg_no"]).groupby(["idx", "pattern_no"]).cumcount() + 1
    return (pats[["idx", "pattern_no", "days_per_week"]].reset_index(drop=True),
            legs[["idx", "pattern_no", "leg_no", "mode_id", "distance_km"]].reset_index(drop=True), bad_idx)


def xlsx_engine() -> str:
    """pandas' xlsx reader: python-calamine when installed (10^6 rows in seconds, not a minute), else openpyxl.

    Both give the same text cells with dtype=str (numbers as '180' / '180.5', blanks as NaN, errors as NaN).
    """
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return "openpyxl"
    return "calamine"


def read_mapped_sheet(path: Path, mapping: dict, section: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The sheet a form mapping's `section` (attendance, roster) names, headers normalised, and {field: header}
    of its mapped columns; stops (IngestError) on a damaged workbook, a missing sheet or a missing header."""
    spec = mapping[section]
    try:  # only the mapped sheet is read
        frame, sheets = read_sheet(path, spec["sheet"])
    except Exception as exc:  # the readers raise many kinds for a damaged file
        raise IngestError(f"{path}: cannot be read as an xlsx workbook ({type(exc).__name__}: {exc})") from None
    if frame is None:
        raise IngestError(f"{path}: no sheet '{spec['sheet']}' (sheets: {sheets}); "
                          f"set {section}.sheet in {mapping['_path']}")
    frame.columns = [norm_header(c) for c in frame.columns]
    need = {k: norm_header(v) for k, v in spec["columns"].items()}
    missing = [v for v in need.values() if v not in frame.columns]
    if missing:
        raise IngestError(f"{path}, sheet '{spec['sheet']}': header row lacks {missing} (has {list(frame.columns)}); "
                          "the header must be on the first row")
    return frame, need


def read_attendance(path: Path, mapping: dict, key: bytes, rejects: Rejects) -> pd.DataFrame:
    """Attendance xlsx -> respondent_id, attendance_days (bad rows rejected, the file's problems named)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: attendance file from the personnel office not found")
    frame, need = read_mapped_sheet(path, mapping, "attendance")
    name = path.name
    rows = pd.Series(frame.index + FIRST_DATA_ROW, index=frame.index)
    emp = privacy.normalise_employee_no(frame[need["employee_no"]])
    days = parse_number(frame[need["attendance_days"]], DAY_UNITS)
    raw_days = clean_text(frame[need["attendance_days"]])
    blank = emp.isna() & raw_days.isna()
    frame, emp, days, raw_days, rows = frame[~blank], emp[~blank], days[~blank], raw_days[~blank], rows[~blank]
    no_emp = emp.isna()
    rejects.add(name, rows[no_emp], need["employee_no"], None, "attendance_no_employee")
    bad = ~no_emp & (days.isna() | (days <= 0) | (days > 366))
    rejects.add(name, rows[bad], need["attendance_days"], raw_days[bad], "attendance_days_invalid")
    ok = ~no_emp & ~bad
    out = pd.DataFrame({"respondent_id": privacy.pseudonymise(emp[ok], key), "attendance_days": days[ok],
                        "_row": rows[ok]})
    dup = out["respondent_id"].duplicated(keep=False)
    rejects.add(name, out.loc[dup, "_row"], need["employee_no"], out.loc[dup, "respondent_id"],
                "attendance_duplicate", PSEUDONYM_SHOWN)
    return out[~dup].drop(columns="_row").reset_index(drop=True)


def year_identifiers(raw_year: Path, mapping: dict | None, survey: pd.DataFrame | None = None) -> set[str]:
    """Employee numbers, e-mails and names in a year's raw files (survey export, attendance and roster workbooks,
    expense claims and long trips): what privacy.Masker hides wherever a respondent types them.

    `survey`: the export already read (else it is read here). Files that are absent are skipped.
    """
    raw_year = Path(raw_year)
    found: set[str] = set()
    wanted = {norm_header(h) for h in privacy.NAME_HEADERS}

    def take(frame: pd.DataFrame, headers: set[str]) -> None:
        for column in frame.columns:
            if norm_header(column) in headers:
                found.update(clean_text(frame[column]).dropna().unique())

    if mapping is not None:
        cols = mapping["columns"]
        heads = wanted | {norm_header(cols[k]) for k in ("employee_no", "email") if k in cols}
        heads |= {norm_header(c) for c in mapping.get("personal_columns", [])}
        path = raw_year / mapping.get("survey_file", "survey.csv")
        if survey is None and path.exists():
            survey = read_export(path)[0]
        if survey is not None:
            take(survey, heads)
        books = {(spec["file"], spec["sheet"]): spec["columns"]["employee_no"]
                 for spec in (mapping.get("attendance"), mapping.get("roster")) if spec}
        for (name, sheet), emp_header in books.items():
            if (raw_year / name).exists():
                try:
                    frame = read_sheet(raw_year / name, sheet)[0]
                except Exception:  # noqa: BLE001 - the reader of that file names its problem
                    continue
                if frame is not None:
                    take(frame, wanted | {norm_header(emp_header)})
    bt_mapping = reference.load_yaml(config.REFERENCE / "business_travel" / "claims_mapping.yaml")
    for section in ("claims", "long_trips"):
        spec = bt_mapping.get(section) or {}
        fields = spec.get("fields") or {}
        heads = wanted | {norm_header(h) for f in ("employee_no", "applicant_name")
                          for h in (fields.get(f) or {}).get("headers", [])}
        for name in spec.get("files") or []:
            path = raw_year / name
            if not path.exists():
                continue
            try:
                frame = read_sheet(path)[0] if path.suffix.lower() != ".csv" else read_export(path)[0]
            except Exception:  # noqa: BLE001 - business-travel ingestion names the file's problem
                continue
            if frame is not None:
                take(frame, heads)
    return found


def carryover_dir(processed_dir: Path, year: int) -> Path:
    """Where a year's reusable commute answers live (read by next year's route A)."""
    return Path(processed_dir) / "carryover" / str(year)


def survey_window(year: int, mapping: dict) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the submission timestamps a year's export may hold: the mapping's survey_window
    ([first day, last day]) or the calendar year."""
    window = mapping.get("survey_window")
    if window:
        return pd.Timestamp(str(window[0])), pd.Timestamp(str(window[1])) + pd.Timedelta(days=1)
    return pd.Timestamp(f"{year}-01-01"), pd.Timestamp(f"{year + 1}-01-01")


@dataclass
class Answers:
    """A survey year between the ingest steps: the answers still in play and what the steps found on the way.

    `rows` is the export as text cells plus `_row` (the row as a spreadsheet shows it) and, as the steps go,
    respondent_id, submitted_at, route and attendance_days; a row that a step rejects leaves `rows` and goes to
    `rejects` with its reason, so that raw rows = in `rows` + superseded + rejected at every step.
    """

    year: int
    mapping: dict
    path: Path  # the survey export
    rows: pd.DataFrame
    rejects: Rejects
    encoding: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # NFKC header -> as written in the export
    cells: np.ndarray | None = None  # cells of each record (0 for a blank line), header not included
    header_cells: int = 0
    extra_columns: list[str] = field(default_factory=list)
    raw_rows: int = 0
    superseded: pd.DataFrame | None = None  # respondent_id, submitted_at, _row of earlier submissions
    outside_window: int = 0
    route_a_with_commute: list[int] = field(default_factory=list)
    route_a: int = 0
    carried: int = 0
    patterns: pd.DataFrame | None = None
    legs: pd.DataFrame | None = None
    attendance_file: str = ""
    staff: pd.DataFrame | None = None
    masker: privacy.Masker | None = None  # personal data typed into answers, masked before anything is written

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def cols(self) -> dict[str, str]:
        return expected_columns(self.mapping)


def load_survey(raw_year: Path, year: int, mapping: dict) -> Answers:
    """Load: the year's export as text cells, its columns checked against the form mapping (stops on a missing one)."""
    path = Path(raw_year) / mapping.get("survey_file", "survey.csv")
    survey, encoding = read_export(path)
    extra = check_columns(survey, mapping, str(path))
    # the reader's notes; cleared so that pandas does not copy them along with every derived frame
    info = dict(survey.attrs)
    survey.attrs.clear()
    headers = dict(zip(survey.columns, info.get("headers", survey.columns)))
    header_cells = info.get("header_cells", len(survey.columns))
    survey["_row"] = survey.index + FIRST_DATA_ROW
    if len(survey) == 0:
        raise IngestError(f"{path}: the export has a header row but no answers; export it again after the "
                          "survey has answers")
    return Answers(year, mapping, path, survey, Rejects(), encoding=encoding, headers=headers,
                   cells=info.get("cells"), header_cells=header_cells, extra_columns=extra, raw_rows=len(survey),
                   masker=privacy.Masker(year_identifiers(Path(raw_year), mapping, survey)))


def validate_rows(answers: Answers, key: bytes) -> Answers:
    """Reject rows that cannot be an answer (cells out of place, blank, no employee number, no readable
    timestamp, submitted outside the survey); pseudonymise the employee numbers of the others."""
    survey, rejects, file, cols, year = answers.rows, answers.rejects, answers.file, answers.cols, answers.year
    # a record with more or fewer cells than the header: its cells cannot be trusted to sit in their columns
    if answers.cells is not None:
        cells, header_cells = answers.cells, answers.header_cells
        misshapen = pd.Series((cells != 0) & (cells != header_cells), index=survey.index)
        rejects.add(file, survey.loc[misshapen, "_row"], None, None, "row_cells",
                    "此列 " + pd.Series(cells, index=survey.index)[misshapen].astype("string")
                    + f" 欄，標題列 {header_cells} 欄（儲存格之逗號未加引號，或此列被截斷？）")
        survey = survey[~misshapen]
    # blank rows (every cell empty) are rejected, not silently skipped
    content = survey.drop(columns="_row").apply(lambda c: clean_text(c).notna()).any(axis=1)
    rejects.add(file, survey.loc[~content, "_row"], None, None, "blank_row")
    survey = survey[content]

    emp = privacy.normalise_employee_no(survey[cols["employee_no"]])
    rejects.add(file, survey.loc[emp.isna(), "_row"], cols["employee_no"], None, "no_employee_no")
    survey = survey[emp.notna()].copy()
    survey["respondent_id"] = privacy.pseudonymise(emp[emp.notna()], key)
    survey["submitted_at"] = parse_timestamp(survey[cols["timestamp"]])
    bad_ts = survey["submitted_at"].isna()
    rejects.add(file, survey.loc[bad_ts, "_row"], cols["timestamp"], survey.loc[bad_ts, cols["timestamp"]],
                "bad_timestamp", "應為表單寫入之日期時間，例：2025/3/5 下午 2:31:07")
    survey = survey[~bad_ts]
    start, end = survey_window(year, answers.mapping)
    outside = (survey["submitted_at"] < start) | (survey["submitted_at"] >= end)
    rejects.add(file, survey.loc[outside, "_row"], cols["timestamp"], survey.loc[outside, cols["timestamp"]],
                "timestamp_outside_year", f"{year} 年調查期間為 {start:%Y-%m-%d} 至 "
                f"{end - pd.Timedelta(days=1):%Y-%m-%d}（表單對照之 survey_window）；是否為其他年度之匯出檔？")
    answers.rows, answers.outside_window = survey[~outside], int(outside.sum())
    return answers


def resolve_resubmissions(answers: Answers) -> Answers:
    """Several submissions by one person: the latest counts, the earlier ones are superseded (listed in rejects)."""
    survey = answers.rows
    keys = ["respondent_id", "submitted_at", "_row"]
    order = survey[keys].sort_values(keys)  # the key columns only: whole rows are copied once, below
    latest = order.drop_duplicates("respondent_id", keep="last")
    superseded = order[~order.index.isin(latest.index)]
    kept_row = superseded["respondent_id"].map(latest.set_index("respondent_id")["_row"])
    answers.rejects.add(answers.file, superseded["_row"], None, None, "superseded",
                        "以第 " + kept_row.astype("string") + " 列為準")
    answers.rows, answers.superseded = survey[survey.index.isin(latest.index)], superseded  # in file order
    return answers


def resolve_routes(answers: Answers) -> Answers:
    """Each answer's route (A reuse, B changed, C new, D declined) from the form's options; route A with commute
    cells typed anyway counts as B (the typed commute is this year's first-hand answer)."""
    survey, cols, mapping = answers.rows, answers.cols, answers.mapping
    if "route" in cols:
        route_map = {norm_header(k): v for k, v in mapping["answers"]["route"].items()}
        route_text = clean_text(survey[cols["route"]])
        survey["route"] = route_text.map(route_map).astype("string")
        bad = survey["route"].isna()
        answers.rejects.add(answers.file, survey.loc[bad, "_row"], cols["route"], route_text[bad], "unknown_route",
                            one_of(mapping["answers"]["route"]))
        survey = survey[~bad]
    else:
        survey["route"] = mapping.get("default_route", "C")
    # (rejected with the reason below if that commute is incomplete)
    commute_cols = [c for k, c in cols.items() if k.startswith(("days_", "mode_", "km_"))]
    typed = survey[commute_cols].apply(lambda c: clean_text(c).notna()).any(axis=1) & (survey["route"] == "A")
    answers.route_a_with_commute = [int(r) for r in survey.loc[typed, "_row"]]
    survey.loc[typed, "route"] = "B"
    answers.rows = survey
    return answers


def parse_answered_commutes(answers: Answers) -> Answers:
    """Patterns and legs of the route B and C answers (first survey year: everyone); an answer with a bad or
    no commute is rejected. The commute cells are dropped from `rows` once parsed (memory at 10^6 rows)."""
    survey, cols, file = answers.rows, answers.cols, answers.file
    answering = survey[survey["route"].isin(["B", "C"])]
    pats, legs, bad_idx = parse_commutes(answering, answers.mapping, cols, file, answers.rejects)
    no_commute = answering.index.difference(pats["idx"]).difference(bad_idx)
    answers.rejects.add(file, answering.loc[no_commute, "_row"], None, None, "no_commute")
    drop = bad_idx.union(no_commute)
    needed = ["_row", "respondent_id", "submitted_at", "route"] + [cols[k] for k in ("department", *ATTITUDE_FIELDS)
                                                                   if k in cols]
    survey = survey[needed].drop(index=drop)
    del answering
    id_of = survey["respondent_id"]
    answers.patterns = (pats[pats["idx"].isin(survey.index)].assign(respondent_id=lambda f: f["idx"].map(id_of))
                        .drop(columns="idx"))
    answers.legs = (legs[legs["idx"].isin(survey.index)].assign(respondent_id=lambda f: f["idx"].map(id_of))
                    .drop(columns="idx"))
    answers.rows = survey
    return answers


def carry_over(answers: Answers, processed_dir: Path, max_unmatched: float = ROUTE_A_MAX_UNMATCHED) -> Answers:
    """Route A: last year's patterns and legs for the same pseudonym, from last year's carry-over store.

    Stops when the store is missing, or when more than `max_unmatched` of route-A answers have no record there.
    """
    survey, year, cols = answers.rows, answers.year, answers.cols
    route_a = survey[survey["route"] == "A"]
    answers.route_a = len(route_a)
    if not len(route_a):
        return answers
    prev = carryover_dir(processed_dir, year - 1)
    if not (prev / "legs.parquet").exists():
        raise IngestError(
            f"{answers.path}: {len(route_a)} route-A respondents reuse last year's answers, but {prev} does not "
            f"exist; ingest {year - 1} first (python -m helpers run --year {year - 1} {year})")
    prev_pats = read_table(PATTERNS, prev / "patterns.parquet")
    prev_legs = read_table(LEGS, prev / "legs.parquet")
    found = isin_ids(route_a["respondent_id"], prev_pats["respondent_id"])
    unmatched = int((~found).sum())
    if unmatched > max_unmatched * len(route_a):
        raise IngestError(
            f"{answers.path}: {unmatched} of {len(route_a)} route-A respondents ({unmatched / len(route_a):.0%}) "
            f"have no {year - 1} record in {prev} (more than the {max_unmatched:.0%} allowed): wrong "
            f"--processed-dir, {year - 1} not ingested from the right raw files, or employee numbers changed? "
            f"Nothing was written. If this is right, run again with --route-a-max-unmatched 1")
    answers.rejects.add(answers.file, route_a.loc[~found, "_row"], cols["employee_no"],
                        route_a.loc[~found, "respondent_id"], "route_a_no_previous",
                        f"查無 {year - 1} 年紀錄；{PSEUDONYM_SHOWN}")
    answers.rows = survey.drop(index=route_a.index[~found])
    keep = route_a.loc[found, "respondent_id"]
    answers.patterns = pd.concat([answers.patterns, prev_pats[isin_ids(prev_pats["respondent_id"], keep)]],
                                 ignore_index=True)
    answers.legs = pd.concat([answers.legs, prev_legs[isin_ids(prev_legs["respondent_id"], keep)]], ignore_index=True)
    answers.carried = int(found.sum())
    return answers


def join_attendance(answers: Answers, raw_year: Path, key: bytes) -> Answers:
    """Each answer's attendance days from the personnel office's file (an answer without them is rejected, route D
    excepted); the roster of staff in scope too, when the form mapping names one."""
    mapping, survey, cols = answers.mapping, answers.rows, answers.cols
    att_path = Path(raw_year) / mapping["attendance"]["file"]
    attendance = read_attendance(att_path, mapping, key, answers.rejects)
    # a left join on pseudonyms, unique on both sides (de-duplicated above), without copying the survey columns
    days_of = attendance.set_index("respondent_id")["attendance_days"]
    survey = survey.assign(attendance_days=survey["respondent_id"].map(days_of))
    no_att = survey["attendance_days"].isna() & (survey["route"] != "D")
    answers.rejects.add(answers.file, survey.loc[no_att, "_row"], cols["employee_no"],
                        survey.loc[no_att, "respondent_id"], "no_attendance",
                        f"{att_path.name} 無此人之有效出勤天數；{PSEUDONYM_SHOWN}")
    answers.rows, answers.attendance_file = survey[~no_att], att_path.name
    if "roster" in mapping:
        answers.staff = roster.read_roster(Path(raw_year) / mapping["roster"]["file"], mapping, key, answers.rejects,
                                           answers.year)
    return answers


def build_tables(answers: Answers, census_year: int | None = None) -> tuple[dict[str, pd.DataFrame], dict]:
    """The year's tables (respondents, patterns, legs, attitudes, rejects, staff) and its ingest report."""
    survey, cols, year, file, mapping = answers.rows, answers.cols, answers.year, answers.file, answers.mapping
    in_inv = survey["route"] != "D"
    respondents = pd.DataFrame({
        "respondent_id": survey["respondent_id"], "year": year, "source_row": survey["_row"],
        "submitted_at": survey["submitted_at"], "route": survey["route"],
        "department": answers.masker.mask(clean_text(survey[cols["department"]])) if "department" in cols else pd.NA,
        "attendance_days": survey["attendance_days"].where(in_inv),
        "legs_source": np.where(~in_inv, "none", np.where(survey["route"] == "A", "carried_over", "survey")),
        "in_inventory": in_inv,
    })
    members = respondents.loc[in_inv, "respondent_id"]
    pats = answers.patterns[isin_ids(answers.patterns["respondent_id"], members)][PATTERNS.names]
    legs = answers.legs[isin_ids(answers.legs["respondent_id"], members)][LEGS.names]
    fields = ["respondent_id"] + [cols[q] for q in ATTITUDE_FIELDS if q in cols]
    attitudes = code_attitudes(survey.loc[in_inv, fields], mapping, cols)
    attitudes["free_text"] = answers.masker.mask(attitudes["free_text"])

    rej = answers.rejects.frame()
    rej["value"] = answers.masker.mask(rej["value"])
    # name columns as the export spells them (matching compared NFKC-normalised headers)
    in_survey = rej["file"] == file
    rej.loc[in_survey, "column"] = rej.loc[in_survey, "column"].replace(answers.headers)
    counts = respondents["route"].value_counts()
    rejected_rows = int(rej.loc[rej["file"] == file].query("reason_code != 'superseded'")["row"].nunique())
    report = {
        "year": year, "file": file, "encoding": answers.encoding, "form_mapping": Path(mapping["_path"]).name,
        "walk_rule": mapping.get("walk_rule", "all_walks"),
        "raw_rows": answers.raw_rows, "accepted": int(in_inv.sum()), "declined": int((~in_inv).sum()),
        "duplicates": int(len(answers.superseded)), "rejected": rejected_rows, "carried_over": answers.carried,
        "routes": {r: int(counts.get(r, 0)) for r in ("A", "B", "C", "D")},
        "attendance_rows_rejected": int((rej["file"] == answers.attendance_file).sum()),
        "patterns": int(len(pats)), "legs": int(len(legs)), "extra_columns_ignored": answers.extra_columns,
        "superseded_rows": [int(r) for r in answers.superseded["_row"].sort_values()],
    }
    census_year = year if census_year is None else census_year
    report["estimate_basis"] = "roll_forward" if census_year != year else "census"
    report["census_year"] = census_year
    if answers.staff is not None:
        report["roster"] = {"file": mapping["roster"]["file"], "rows": int(len(answers.staff)),
                            "in_scope": int(answers.staff["in_scope"].sum()),
                            "rows_rejected": int((rej["file"] == mapping["roster"]["file"]).sum())}
    report["reconciles"] = report["raw_rows"] == (report["accepted"] + report["declined"] + report["duplicates"]
                                                  + report["rejected"])
    tables = {"respondents": respondents, "patterns": pats, "legs": legs, "attitudes": attitudes, "rejects": rej}
    if answers.staff is not None:
        tables["staff"] = answers.staff
    return tables, report


def sanity_check_outputs(tables: dict[str, pd.DataFrame], report: dict) -> None:
    """Plain asserts on a year's tables before they are written: the counts reconcile, every leg belongs to a
    pattern and every pattern to a respondent in the inventory, days and distances in range."""
    resp, pats, legs = tables["respondents"], tables["patterns"], tables["legs"]
    members = resp.loc[resp["in_inventory"], "respondent_id"]
    assert report["raw_rows"] == report["accepted"] + report["declined"] + report["duplicates"] + report["rejected"]
    assert report["accepted"] == len(members) and report["declined"] == int((~resp["in_inventory"]).sum())
    assert sum(report["routes"].values()) == len(resp) and resp["respondent_id"].is_unique
    assert report["patterns"] == len(pats) and report["legs"] == len(legs)
    # every respondent in the inventory has a commute, and no one else (Arrow set lookups: cheap at 10^6 rows)
    assert isin_ids(members, pats["respondent_id"]).all() and isin_ids(pats["respondent_id"], members).all()
    assert isin_ids(legs["respondent_id"], members).all()
    assert resp.loc[resp["in_inventory"], "attendance_days"].gt(0).all()
    assert pats["days_per_week"].between(0, 7, inclusive="right").all()
    assert pats.groupby("respondent_id")["days_per_week"].sum().le(7).all()
    assert legs["distance_km"].gt(0).all() and legs["distance_km"].le(MAX_DISTANCE_KM).all()
    assert int((resp["legs_source"] == "carried_over").sum()) <= report["carried_over"]  # (before attendance)


def ingest_year(year: int, raw_dir: Path, processed_dir: Path, key: bytes | None = None,
                reference_dir: Path | None = None, route_a_max_unmatched: float = ROUTE_A_MAX_UNMATCHED,
                min_accepted_share: float = MIN_ACCEPTED_SHARE) -> dict:
    """Ingest one survey year: write data/processed/<dataset>/<year>/ tables and return the ingest report.

    Load -> validate rows -> resubmissions -> routes -> commutes -> carry over (route A) -> join attendance ->
    tables and report -> checks -> save. Stops (IngestError) before writing anything when the key is not the one
    the folder's other years were made with, when more than `route_a_max_unmatched` of route-A respondents have
    no record last year, or when fewer than `min_accepted_share` of the raw rows (or none) end in the inventory.
    """
    key = privacy.load_key() if key is None else key
    fingerprint = privacy.check_key(processed_dir, key)
    mapping = load_mapping(year, reference_dir)
    census_year = check_roll_forward(year, mapping, processed_dir)
    raw_year = Path(raw_dir) / str(year)
    with read_once():  # the roster is read for attendance, staff in scope and the masker's identifiers: once
        answers = load_survey(raw_year, year, mapping)
        answers = validate_rows(answers, key)
        answers = resolve_resubmissions(answers)
        answers = resolve_routes(answers)
        answers = parse_answered_commutes(answers)
        answers = carry_over(answers, processed_dir, route_a_max_unmatched)
        answers = join_attendance(answers, raw_year, key)
    tables, report = build_tables(answers, census_year)
    if not report["reconciles"]:
        raise IngestError(f"{answers.path}: counts do not reconcile: {report}")
    _check_accepted(answers.path, report, tables["rejects"][tables["rejects"]["file"] == answers.file],
                    min_accepted_share)
    report["key_fingerprint"] = fingerprint
    report["route_a_with_commute"] = answers.route_a_with_commute
    report["route_a_unmatched"] = int(answers.route_a - answers.carried)
    report["timestamps_outside_year"] = answers.outside_window
    # the raw files as read: checked again when the report is published (publish.runner.run_year)
    read = [answers.path, raw_year / mapping["attendance"]["file"]]
    read += [raw_year / mapping["roster"]["file"]] if "roster" in mapping else []
    report["input_files"] = privacy.describe_files(list(dict.fromkeys(read)), root=Path(raw_dir))
    sanity_check_outputs(tables, report)
    resp = tables["respondents"]
    decliners = resp.loc[~resp["in_inventory"], "respondent_id"]
    check_decliners(Path(processed_dir), year - 1, decliners, answers.path)
    save_year(Path(processed_dir), year, tables, report)
    if len(decliners):
        remove_from_carryover(Path(processed_dir), year - 1, decliners, reason=f"route D in the {year} survey")
    return report


def _check_accepted(survey_path: Path, report: dict, rejects: pd.DataFrame, min_share: float) -> None:
    """Stop when no raw row, or fewer than min_share of them, ended in the inventory: an export of garbage."""
    raw, accepted = report["raw_rows"], report["accepted"]
    if accepted > 0 and accepted >= min_share * raw:
        return
    reasons = rejects.query("reason_code != 'superseded'").groupby("reason_code")["row"].nunique()
    top = ", ".join(f"{code} {n}" for code, n in reasons.sort_values(ascending=False).head(4).items())
    raise IngestError(f"{survey_path}: only {accepted} of {raw} raw rows are usable respondents (at least "
                      f"{min_share:.0%} needed; rejected rows by reason: {top or 'none'}); is this the right export? "
                      f"Nothing was written. If this is right, run again with --min-accepted-share 0")


def code_attitudes(survey: pd.DataFrame, mapping: dict, cols: dict[str, str]) -> pd.DataFrame:
    """Attitude answers, long: respondent_id, question, code (form option) or free_text (the 'other' answer)."""
    sep = mapping.get("multi_select_separator", ", ")
    parts = []
    for question in ATTITUDE_FIELDS:
        if question not in cols:
            continue
        labels = mapping["answers"][question]
        if question in MULTI_SELECT:
            long = split_multi(survey[cols[question]], labels, sep)
        else:
            text = clean_text(survey[cols[question]]).dropna()
            codes = text.map({norm_header(k): v for k, v in labels.items()})
            long = pd.DataFrame({"idx": text.index, "code": codes.astype("string"),
                                 "free_text": text.where(codes.isna()).astype("string")})
        long["respondent_id"] = long["idx"].map(survey["respondent_id"])
        long["question"] = question
        parts.append(long)
    if not parts:
        return ATTITUDES.empty()
    return pd.concat(parts, ignore_index=True)[ATTITUDES.names]


def save_year(processed_dir: Path, year: int, tables: dict[str, pd.DataFrame], report: dict) -> None:
    """Write all of a year's tables into a fresh folder, then swap it in: all or nothing."""
    final = processed_dir / str(year)
    processed_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{year}.tmp-", dir=processed_dir))
    try:
        schemas = {"respondents": RESPONDENTS, "patterns": PATTERNS, "legs": LEGS, "attitudes": ATTITUDES,
                   "rejects": REJECTS, "staff": STAFF}
        for name, frame in tables.items():
            write_table(frame, schemas[name], tmp / f"{name}.parquet")
        write_csv(REJECTS.validate(tables["rejects"]), tmp / "rejects.csv")
        (tmp / "ingest_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        carry = tmp / "_carryover"
        # a deletion in the log stays deleted: people who asked (route D) are not put back by a re-ingest
        write_table(_without_deleted(processed_dir, year, tables["patterns"]), PATTERNS, carry / "patterns.parquet")
        write_table(_without_deleted(processed_dir, year, tables["legs"]), LEGS, carry / "legs.parquet")
        if report.get("key_fingerprint"):
            (carry / privacy.KEY_FINGERPRINT_FILE).write_text(report["key_fingerprint"] + "\n", encoding="ascii")
        _swap(tmp / "_carryover", carryover_dir(processed_dir, year))
        # keep whatever else lives in the year folder (e.g. business_travel/) across re-runs
        if final.exists():
            for child in final.iterdir():  # (not a table this run no longer has, e.g. a roster removed)
                if not (tmp / child.name).exists() and child.name.removesuffix(".parquet") not in schemas:
                    shutil.move(str(child), tmp / child.name)
        _swap(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _swap(new: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    new.rename(final)
    if old.exists():
        shutil.rmtree(old)


def remove_from_carryover(processed_dir: Path, year: int, respondent_ids: pd.Series, reason: str) -> int:
    """Delete people's reusable answers from a year's carry-over store and record the deletion, once.

    Only people who have rows in the store are deleted and recorded (a re-run finds them gone and records
    nothing). The record (privacy.destruction_log_for(processed_dir)) holds the store files' hashes from before
    the deletion, the number of people and rows, and one digest per person (privacy.subject_digest), with which
    every later re-ingest of that year drops them again; never the pseudonyms themselves.
    """
    store = carryover_dir(processed_dir, year)
    if not (store / "legs.parquet").exists():
        return 0
    files = [store / "patterns.parquet", store / "legs.parquet"]
    frames = {name: read_table(schema, store / f"{name}.parquet") for name, schema in (("patterns", PATTERNS),
                                                                                        ("legs", LEGS))}
    hits = {name: isin_ids(frame["respondent_id"], respondent_ids) for name, frame in frames.items()}
    found = sorted(set(frames["patterns"].loc[hits["patterns"], "respondent_id"])
                   | set(frames["legs"].loc[hits["legs"], "respondent_id"]))
    if not found:
        return 0
    before = privacy.describe_files(files, root=Path(processed_dir))
    removed = int(sum(hit.sum() for hit in hits.values()))
    # the record first: a deletion never happens unrecorded
    privacy.record_destruction(privacy.destruction_log_for(processed_dir),
                               what=f"carry-over store {year}: patterns and legs of {len(found)} person(s) "
                                    f"({removed} rows)", reason=reason, files=before, subjects=found,
                               store_year=int(year), subject_digests=privacy.subject_digest(found),
                               processed_dir=str(Path(processed_dir).resolve()))
    for (name, frame), schema in zip(frames.items(), (PATTERNS, LEGS)):
        if hits[name].any():
            write_table(frame[~hits[name]], schema, store / f"{name}.parquet")
    return removed


def _without_deleted(processed_dir: Path, year: int, frame: pd.DataFrame) -> pd.DataFrame:
    """frame without the people whose carry-over answers of `year` the destruction log says were deleted."""
    deleted = privacy.deleted_subjects(privacy.destruction_log_for(processed_dir), year)
    if not deleted or frame.empty:
        return frame
    ids = frame["respondent_id"].drop_duplicates()
    gone = ids[pd.Series(privacy.subject_digest(ids), index=ids.index).isin(deleted)]
    return frame[~isin_ids(frame["respondent_id"], gone)]


def check_decliners(processed_dir: Path, year: int, decliners: pd.Series, survey_path: Path) -> None:
    """Route D of `year + 1`: everyone who answered in `year` must be in its carry-over store or already deleted.

    Someone who answered last year but is in neither was pseudonymised differently (another key, another
    numbering) or the store was altered: their deletion would silently do nothing, so the run stops.
    """
    previous = Path(processed_dir) / str(year) / "respondents.parquet"
    store = carryover_dir(processed_dir, year)
    if not len(decliners) or not previous.exists() or not (store / "patterns.parquet").exists():
        return
    answered = read_table(RESPONDENTS, previous).query("in_inventory")["respondent_id"]
    asked = decliners[isin_ids(decliners, answered)]
    in_store = isin_ids(asked, read_table(PATTERNS, store / "patterns.parquet")["respondent_id"])
    deleted = privacy.deleted_subjects(privacy.destruction_log_for(processed_dir), year)
    logged = pd.Series(privacy.subject_digest(asked), index=asked.index).isin(deleted)
    lost = int((~in_store & ~logged).sum())
    if lost:
        raise IngestError(f"{survey_path}: {lost} route-D respondent(s) answered in {year} but have no record in "
                          f"{store} to delete and no logged deletion: the store was made with another key or was "
                          "altered. Nothing was written")


def load_year(processed_dir: Path, year: int) -> dict[str, pd.DataFrame]:
    """Read a year's processed tables (validated) and its ingest report; `staff` only when the year has a roster."""
    folder = Path(processed_dir) / str(year)
    out: dict = {name: read_table(schema, folder / f"{name}.parquet") for name, schema in
                 (("respondents", RESPONDENTS), ("patterns", PATTERNS), ("legs", LEGS), ("attitudes", ATTITUDES),
                  ("rejects", REJECTS))}
    if (folder / "staff.parquet").exists():
        out["staff"] = read_table(STAFF, folder / "staff.parquet")
    out["report"] = json.loads((folder / "ingest_report.json").read_text(encoding="utf-8"))
    return out


def check_roll_forward(year: int, mapping: dict, processed_dir: Path) -> int:
    """The census year of a year (itself, or `roll_forward_from` of its mapping, checked); stops on a bad setting."""
    value = mapping.get("roll_forward_from")
    if value is None:
        return year
    census = config.to_gregorian(value)
    if census >= year:
        raise IngestError(f"{mapping['_path']}: roll_forward_from: {value} must be an earlier census year than {year}")
    if "roster" not in mapping:
        raise IngestError(f"{mapping['_path']}: a roll-forward year needs the personnel office's roster (joiners, "
                          "leavers, attendance days): add a `roster:` section")
    if not (Path(processed_dir) / str(census) / "respondents.parquet").exists():
        raise IngestError(f"{year} is rolled forward from the {census} census ({mapping['_path']}), but {census} "
                          f"has not been processed; run it first (python -m helpers run --year {census} {year})")
    return census


def ensure_previous(year: int, raw_dir: Path, processed_dir: Path) -> None:
    """Ingest last year first when this year has route-A answers and last year's carry-over store is missing;
    and the census year of a roll-forward year when it has not been processed."""
    path = config.REFERENCE / "survey" / f"{year}.yaml"
    census = reference.load_yaml(path).get("roll_forward_from") if path.exists() else None
    if census is not None:
        census = config.to_gregorian(census)
        if (census < year and not (Path(processed_dir) / str(census) / "respondents.parquet").exists()
                and (Path(raw_dir) / str(census)).exists()):
            print(f"note: ingesting {census} first: {year} is rolled forward from its census", file=sys.stderr)
            ensure_previous(census, raw_dir, processed_dir)
            ingest_year(census, raw_dir, processed_dir)
    prev = year - 1
    if (carryover_dir(processed_dir, prev) / "legs.parquet").exists():
        return
    if (Path(raw_dir) / str(prev)).exists() and (config.REFERENCE / "survey" / f"{prev}.yaml").exists():
        print(f"note: ingesting {prev} first: {year} route-A answers reuse its commute data", file=sys.stderr)
        ensure_previous(prev, raw_dir, processed_dir)
        ingest_year(prev, raw_dir, processed_dir)
