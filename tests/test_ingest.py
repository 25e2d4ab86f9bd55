"""Survey ingestion on the bad-input corpus (tests/corpus/, see its README.md), the four routes, duplicates,
attendance problems, mapping errors, atomic writes and the reconciliation of every raw row."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from helpers import config, privacy, reference
from helpers.survey import ingest
from helpers.survey.ingest import IngestError
from helpers.synthetic import sample

CORPUS = Path(__file__).resolve().parent / "corpus"
KEY = b"corpus-test-key"
STAFF = [f"T9000{i}" for i in range(1, 10)]  # everyone the personnel office lists in the corpus cases
SHEET, EMP_HEAD, DAYS_HEAD = "出勤天數", "員工編號", "實際出勤天數"
DAYS_TOTAL = ingest.DAYS_TOTAL_COLUMN  # the column of a reject about all patterns together
KM_1_1 = "通勤方式1－第1段距離（公里，步行500公尺以下免填）"
MODE_1_1 = "通勤方式1－第1段交通工具"
DAYS_1, DAYS_2 = "通勤方式1－每週天數", "通勤方式2－每週天數"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, KEY.decode())


def write_attendance(path: Path, rows: list[tuple] | None = None, sheet: str = SHEET,
                     header: tuple = (EMP_HEAD, "姓名", DAYS_HEAD), title_row: bool = False) -> Path:
    """An attendance workbook as the personnel office sends it (default: everyone in STAFF, 200 days)."""
    rows = rows if rows is not None else [(emp, "王小明", 200) for emp in STAFF]
    frame = pd.DataFrame(rows, columns=list(header))
    data = sample.xlsx_bytes(frame, sheet)
    if title_row:  # a title line above the header: build the sheet by hand
        wb = Workbook()
        ws = wb.active
        ws.title = sheet
        ws.append(["113年度同仁出勤天數統計"])
        ws.append(list(header))
        for row in rows:
            ws.append(list(row))
        buf = io.BytesIO()
        wb.save(buf)
        data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_roster(path: Path, rows: list[tuple] | None = None) -> Path:
    """A roster as the personnel office sends it (default: everyone in STAFF in scope, 200 days)."""
    rows = rows if rows is not None else [(emp, "王小明", "運輸計畫組", "是", "2020-01-02", None, 200) for emp in STAFF]
    frame = pd.DataFrame(rows, columns=["員工編號", "姓名", "單位", "納入盤查範圍", "到職日", "離職日", "實際出勤天數"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(sample.xlsx_bytes(frame, "人員名冊"))
    return path


class Case:
    """A corpus case in a fresh data/ layout: data/raw/corpus/<year>/, data/processed/corpus/."""

    def __init__(self, tmp_path: Path):
        self.data = tmp_path / "data"
        self.raw = self.data / "raw" / "corpus"
        self.processed = self.data / "processed" / "corpus"

    def put(self, name: str, year: int, attendance: bool = True) -> None:
        folder = self.raw / str(year)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / name, folder / "survey.csv")
        mapping = ingest.load_mapping(year) if (config.REFERENCE / "survey" / f"{year}.yaml").exists() else {}
        if "roster" in mapping:  # the 2025 form reads attendance days from the personnel office's roster
            if attendance and not (folder / mapping["roster"]["file"]).exists():
                write_roster(folder / mapping["roster"]["file"])
        elif attendance and not (folder / "attendance.xlsx").exists():
            write_attendance(folder / "attendance.xlsx")

    def ingest(self, year: int, **kwargs) -> dict:
        return ingest.ingest_year(year, self.raw, self.processed, key=KEY, **kwargs)

    def run(self, name: str, year: int = 2024, **kwargs) -> dict:
        """Ingest a corpus file (for 2025, after valid_2024.csv as 2024)."""
        if year == 2025:
            self.put("valid_2024.csv", 2024)
            self.ingest(2024)
        self.put(name, year)
        return self.ingest(year, **kwargs)

    def table(self, name: str, year: int) -> pd.DataFrame:
        return pd.read_parquet(self.processed / str(year) / f"{name}.parquet")

    def rejects(self, year: int) -> pd.DataFrame:
        return self.table("rejects", year)

    @property
    def log(self) -> Path:
        return privacy.destruction_log(self.data, "corpus")


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case(tmp_path)


def pseudonym(emp: str) -> str:
    return privacy.pseudonymise(pd.Series([emp]), KEY).iloc[0]


def assert_reconciles(report: dict) -> None:
    assert report["reconciles"]
    assert report["raw_rows"] == report["accepted"] + report["declined"] + report["duplicates"] + report["rejected"]


def assert_no_identifiers(frame: pd.DataFrame) -> None:
    text = frame.astype("string").fillna("")
    for column in text.columns:
        hits = text[column].str.contains(r"T9000\d|T99999|@example\.org", regex=True)
        assert not hits.any(), f"identifier in column {column}: {list(text.loc[hits, column])}"


# ------------------------------------------------------------------ accepted, with the quirk normalised
ACCEPTED = {  # file: (year, expected report fields)
    "valid_2024.csv": (2024, {"accepted": 3, "encoding": "utf-8-sig", "legs": 5, "patterns": 4}),
    "utf8_no_bom.csv": (2024, {"accepted": 3, "encoding": "utf-8-sig", "legs": 5}),
    "big5_cp950.csv": (2024, {"accepted": 3, "encoding": "cp950", "legs": 5}),
    "crlf_line_endings.csv": (2024, {"accepted": 3, "legs": 5}),
    "fullwidth_digits.csv": (2024, {"accepted": 3, "legs": 5}),
    "km_units.csv": (2024, {"accepted": 3, "legs": 5}),
    "decimal_comma.csv": (2024, {"accepted": 3, "legs": 5}),
    "days_with_unit.csv": (2024, {"accepted": 3, "patterns": 4}),
    "header_variants.csv": (2024, {"accepted": 3, "legs": 5}),
    "leg_gap.csv": (2024, {"accepted": 3, "legs": 5}),
    "excel_timestamp.csv": (2024, {"accepted": 3}),
    "no_trailing_newline.csv": (2024, {"accepted": 3}),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted(case: Case, name: str):
    year, expected = ACCEPTED[name]
    report = case.run(name, year)
    assert_reconciles(report)
    assert {k: report[k] for k in expected} == expected
    assert report["rejected"] == 0 and report["raw_rows"] == 3
    resp = case.table("respondents", year)
    assert set(resp["respondent_id"]) == {pseudonym(e) for e in STAFF[:3]}
    assert_no_identifiers(resp)


def _legs_of(case: Case, emp: str, year: int = 2024) -> pd.DataFrame:
    legs = case.table("legs", year)
    return legs[legs["respondent_id"] == pseudonym(emp)].sort_values(["pattern_no", "leg_no"])


def test_fullwidth_employee_no_days_and_distance(case: Case):
    case.run("fullwidth_digits.csv")
    legs = _legs_of(case, "T90003")  # 'Ｔ９０００３' gets the same pseudonym as 'T90003'
    assert legs["distance_km"].tolist() == [7.2, 7.5]
    pats = case.table("patterns", 2024)
    assert pats.loc[pats["respondent_id"] == pseudonym("T90003"), "days_per_week"].tolist() == [3.0, 2.0]


def test_km_units_are_stripped(case: Case):
    case.run("km_units.csv")
    legs = case.table("legs", 2024)
    assert _legs_of(case, "T90001")["distance_km"].tolist() == [5.0]
    assert _legs_of(case, "T90002")["distance_km"].tolist() == [0.8, 5.0]
    assert _legs_of(case, "T90003")["distance_km"].tolist() == [5.0, 7.5]
    assert legs["distance_km"].notna().all()


def test_decimal_comma(case: Case):
    case.run("decimal_comma.csv")
    assert _legs_of(case, "T90003")["distance_km"].tolist() == [7.2, 7.5]


def test_days_with_unit(case: Case):
    case.run("days_with_unit.csv")
    pats = case.table("patterns", 2024)
    assert pats.loc[pats["respondent_id"] == pseudonym("T90003"), "days_per_week"].tolist() == [3.0, 2.0]


def test_leg_gap_closed(case: Case):
    case.run("leg_gap.csv")
    legs = _legs_of(case, "T90002")
    assert legs["leg_no"].tolist() == [1, 2]
    assert legs["mode_id"].tolist() == ["walk", "mrt_taipei"]


def test_big5_reads_the_same_as_utf8(case: Case, tmp_path: Path):
    case.run("big5_cp950.csv")
    other = Case(tmp_path / "other")
    other.run("valid_2024.csv")
    for name in ("respondents", "patterns", "legs"):
        pd.testing.assert_frame_equal(case.table(name, 2024), other.table(name, 2024))


def test_extra_column_warns(case: Case):
    case.put("extra_column.csv", 2024)
    with pytest.warns(UserWarning, match=r"survey\.csv: column\(s\) not in the mapping, ignored: \['備註'\]"):
        report = case.ingest(2024)
    assert report["extra_columns_ignored"] == ["備註"] and report["accepted"] == 3
    assert_reconciles(report)


def test_reject_rows_are_the_rows_excel_shows(case: Case):
    """Bad first and last rows, a two-line cell, a blank line and a formula: each reject names the row Excel shows."""
    header, r1, r2, r3 = csv.reader(io.StringIO((CORPUS / "valid_2024.csv").read_text(encoding="utf-8-sig")))
    km, dept, emp = header.index(KM_1_1), header.index("服務單位"), header.index("員工代號")
    first, two_lines, formula, last = list(r1), list(r2), list(r3), list(r2)
    first[km], two_lines[dept], formula[km] = "-3", "運輸計畫組\n第二科", '=HYPERLINK("http://x","5")'
    last[emp], last[km], last[header.index("電子郵件地址")] = "T90004", "約五公里", "e90004@example.org"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header), writer.writerow(first), writer.writerow(two_lines)
    out.write("\r\n")
    writer.writerow(formula), writer.writerow(last)
    folder = case.raw / "2024"
    folder.mkdir(parents=True)
    (folder / "survey.csv").write_bytes(out.getvalue().encode("utf-8-sig"))
    write_attendance(folder / "attendance.xlsx")
    report = case.ingest(2024, min_accepted_share=0)
    rej = case.rejects(2024)
    # header = row 1: first row 2, the two-line cell row 3, blank row 4, the formula row 5, the last row 6
    assert rej[["row", "reason_code"]].values.tolist() == [
        [2, "distance_not_positive"], [4, "blank_row"], [5, "distance_not_a_number"], [6, "distance_not_a_number"]]
    assert case.table("respondents", 2024)["source_row"].tolist() == [3]
    assert_reconciles(report)
    written = pd.read_csv(case.processed / "2024" / "rejects.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert written["value"].tolist()[2] == '\'=HYPERLINK("http://x","5")'  # inert in Excel


def test_multiline_cell_keeps_row_numbers(case: Case):
    report = case.run("multiline_cell.csv")
    rej = case.rejects(2024)
    assert rej[["row", "column", "value", "reason_code"]].values.tolist() == [
        [4, KM_1_1, "-3", "distance_not_positive"]]
    resp = case.table("respondents", 2024)
    assert resp.loc[resp["respondent_id"] == pseudonym("T90001"), "department"].item() == "運輸計畫組\n第二科"
    assert_reconciles(report)


# ------------------------------------------------------------------ rejected rows, each with its reason
REJECTED = {  # file: (year, [(row, column, value, reason_code), ...])
    "blank_rows.csv": (2024, [(3, None, "", "blank_row"), (4, None, "", "blank_row")]),
    "unknown_mode.csv": (2024, [(4, MODE_1_1, "飛機", "unknown_mode")]),
    "negative_distance.csv": (2024, [(4, KM_1_1, "-3", "distance_not_positive")]),
    "zero_distance.csv": (2024, [(4, KM_1_1, "0", "distance_not_positive")]),
    "absurd_distance.csv": (2024, [(4, KM_1_1, "350", "distance_absurd")]),
    "thousands_separator.csv": (2024, [(4, KM_1_1, "1,234", "distance_absurd")]),
    "distance_not_a_number.csv": (2024, [(4, KM_1_1, "約五公里", "distance_not_a_number")]),
    "distance_range.csv": (2024, [(4, KM_1_1, "5-10", "distance_not_a_number")]),
    "days_zero.csv": (2024, [(4, DAYS_1, "0", "days_out_of_range")]),
    "days_over_7.csv": (2024, [(4, DAYS_1, "8", "days_out_of_range"), (4, DAYS_TOTAL, "10", "days_total_over_7")]),
    "days_total_over_7.csv": (2024, [(4, DAYS_TOTAL, "9", "days_total_over_7")]),
    "days_not_a_number.csv": (2024, [(4, DAYS_1, "每天", "days_not_a_number")]),
    "leg_without_distance.csv": (2024, [(4, KM_1_1, "", "leg_without_distance")]),
    "distance_without_mode.csv": (2024, [(4, MODE_1_1, "7.2", "leg_without_mode")]),
    "pattern_without_legs.csv": (2024, [(4, DAYS_2, "2", "pattern_without_legs")]),
    "legs_without_days.csv": (2024, [(4, DAYS_2, "", "pattern_without_days")]),
    "no_employee_no.csv": (2024, [(4, "員工代號", "", "no_employee_no")]),
    "bad_timestamp.csv": (2024, [(4, "時間戳記", "昨天", "bad_timestamp")]),
    "no_commute.csv": (2024, [(4, None, "", "no_commute")]),
    "row_too_many_cells.csv": (2024, [(4, None, "", "row_cells")]),  # detail: 此列 44 欄，標題列 43 欄
    "row_too_few_cells.csv": (2024, [(3, None, "", "row_cells")]),
    "unknown_route.csv": (2025, [(3, "本年度填答方式", "E. 其他", "unknown_route")]),
    "route_a_no_previous.csv": (2025, [(3, "員工編號", pseudonym("T90009"), "route_a_no_previous")]),
}
# the one route-A answer of the case has no 2024 record: 100 % unmatched stops the run unless allowed
REJECT_OPTIONS = {"route_a_no_previous.csv": {"route_a_max_unmatched": 1.0}}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected(case: Case, name: str):
    year, expected = REJECTED[name]
    report = case.run(name, year, **REJECT_OPTIONS.get(name, {}))
    assert_reconciles(report)
    rej = case.rejects(year)
    got = sorted((int(r.row), None if pd.isna(r.column) else r.column, "" if pd.isna(r.value) else r.value,
                  r.reason_code) for r in rej.itertuples())
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert (rej["file"] == "survey.csv").all()
    # the reason is the code's zh-TW label, the same wording as business travel's rejects
    assert (rej["reason"] == rej["reason_code"].map(reference.labels("reject_reason"))).all()
    rows = {e[0] for e in expected}
    assert report["rejected"] == len(rows)
    assert report["accepted"] == report["raw_rows"] - len(rows)
    assert_no_identifiers(rej)
    assert_no_identifiers(case.table("respondents", year))
    # the rejects are also written as CSV for the people who fix the inputs
    csv = pd.read_csv(case.processed / str(year) / "rejects.csv", dtype=str, keep_default_na=False)
    assert len(csv) == len(rej)


def test_duplicates_latest_counts(case: Case):
    report = case.run("duplicate_rows.csv")
    assert_reconciles(report)
    assert report["duplicates"] == 2 and report["accepted"] == 3 and report["superseded_rows"] == [2, 3]
    assert _legs_of(case, "T90001")["distance_km"].tolist() == [12.5]  # row 5 (later), not row 2 (15.5 km)
    resp = case.table("respondents", 2024).set_index("respondent_id")
    assert resp.loc[pseudonym("T90001"), "source_row"] == 5
    assert resp.loc[pseudonym("T90002"), "source_row"] == 6  # an identical copy: the later row is kept
    rej = case.rejects(2024)
    assert rej["reason_code"].tolist() == ["superseded", "superseded"]
    assert rej["detail"].tolist() == ["以第 5 列為準", "以第 6 列為準"]


# ------------------------------------------------------------------ the run stops, nothing is written
STOPS = {  # file: (year, exception, fragments the message must contain)
    "truncated_in_quotes.csv": (2024, IngestError, ["survey.csv", "truncated", "row 3"]),
    "truncated_mid_row.csv": (2024, IngestError, ["survey.csv", "row 4", "6 of 43 cells", "truncated"]),
    "empty.csv": (2024, IngestError, ["survey.csv", "empty"]),
    "header_only.csv": (2024, IngestError, ["survey.csv", "no answers"]),
    "missing_column.csv": (2024, IngestError, ["survey.csv", "employee_no: '員工代號'", "2024.yaml"]),
    "title_row_above_header.csv": (2024, IngestError, ["survey.csv", "headers are on row 2"]),
    "semicolon_delimited.csv": (2024, IngestError, ["survey.csv", "';'"]),
    "utf16.csv": (2024, IngestError, ["survey.csv", "UTF-16"]),
    "xlsx_renamed.csv": (2024, IngestError, ["survey.csv", "Excel/zip"]),
    "not_text.csv": (2024, IngestError, ["survey.csv", "neither UTF-8 nor Big5/cp950"]),
    "duplicate_header.csv": (2024, IngestError, ["survey.csv", "員工代號", "[3, 44]", "more than once"]),
}


@pytest.mark.parametrize("name", sorted(STOPS))
def test_stops_before_writing(case: Case, name: str):
    year, error, fragments = STOPS[name]
    case.put(name, year)
    with pytest.raises(error) as info:
        case.ingest(year)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert not case.processed.exists() or not any(case.processed.iterdir()), list(case.processed.rglob("*"))


def test_failed_rerun_leaves_previous_output(case: Case):
    case.run("valid_2024.csv")
    before = {p: p.read_bytes() for p in case.processed.rglob("*") if p.is_file()}
    case.put("truncated_mid_row.csv", 2024)
    with pytest.raises(IngestError):
        case.ingest(2024)
    after = {p: p.read_bytes() for p in case.processed.rglob("*") if p.is_file()}
    assert after == before


def test_error_in_attendance_after_survey_parsed_writes_nothing(case: Case):
    case.put("valid_2024.csv", 2024, attendance=False)
    write_attendance(case.raw / "2024" / "attendance.xlsx", sheet="工作表1")
    with pytest.raises(IngestError):
        case.ingest(2024)
    assert not case.processed.exists() or not any(case.processed.iterdir())


# ------------------------------------------------------------------ routes A/B/C/D (2025 form)
def test_four_routes_and_route_d_deletion(case: Case):
    case.put("valid_2024.csv", 2024)
    case.ingest(2024)
    store = ingest.carryover_dir(case.processed, 2024)
    hashes_before = {p.name: privacy.file_sha256(p) for p in store.glob("*.parquet")}
    legs_2024 = _legs_of(case, "T90001", 2024)
    case.put("routes_abcd.csv", 2025)
    report = case.ingest(2025)
    assert_reconciles(report)
    assert report["routes"] == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert (report["accepted"], report["declined"], report["carried_over"]) == (3, 1, 1)
    resp = case.table("respondents", 2025).set_index("respondent_id")
    assert resp.loc[pseudonym("T90001"), "legs_source"] == "carried_over"
    assert resp.loc[pseudonym("T90002"), "legs_source"] == "survey"
    assert resp.loc[pseudonym("T90004"), "route"] == "C"
    assert not resp.loc[pseudonym("T90003"), "in_inventory"]
    assert pd.isna(resp.loc[pseudonym("T90003"), "attendance_days"])
    # route A: last year's legs, unchanged; route B: the new answer
    pd.testing.assert_frame_equal(_legs_of(case, "T90001", 2025).reset_index(drop=True),
                                  legs_2024.reset_index(drop=True))
    assert _legs_of(case, "T90002", 2025)[["mode_id", "distance_km"]].values.tolist() == [["mrt_taipei", 9.0]]
    legs = case.table("legs", 2025)
    assert pseudonym("T90003") not in set(legs["respondent_id"])
    # route D: removed from last year's carry-over store, with a destruction record
    for name in ("patterns", "legs"):
        assert pseudonym("T90003") not in set(pd.read_parquet(store / f"{name}.parquet")["respondent_id"])
    records = [json.loads(line) for line in case.log.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["reason"] == "route D in the 2025 survey" and record["subjects"] == 1
    assert record["subjects_sha256"] == hashlib.sha256(pseudonym("T90003").encode()).hexdigest()
    assert {Path(f["path"]).name: f["sha256"] for f in record["files"]} == hashes_before  # taken before deletion
    assert record["by"] and record["when"]
    assert pseudonym("T90003") not in case.log.read_text(encoding="utf-8")
    # the log lives outside data/processed, so neither a purge nor `make clean` removes it
    assert case.log == case.data / "destruction_log" / "corpus.jsonl"


def test_route_a_without_previous_year_stops(case: Case):
    case.put("routes_abcd.csv", 2025)
    with pytest.raises(IngestError, match=r"route-A respondents .* ingest 2024 first"):
        case.ingest(2025)
    assert not (case.processed / "2025").exists()


def test_sample_figures(tmp_path: Path):
    processed = tmp_path / "processed"
    reports = {y: ingest.ingest_year(y, config.RAW / "sample", processed, key=KEY) for y in (2024, 2025)}
    assert (reports[2024]["accepted"], reports[2024]["legs"]) == (137, 192)
    r = reports[2025]
    assert (r["accepted"], r["routes"], r["legs"]) == (131, {"A": 105, "B": 8, "C": 18, "D": 4}, 187)
    for report in reports.values():
        assert_reconciles(report)


# ------------------------------------------------------------------ attendance file problems
def _attendance_case(case: Case, **kwargs) -> Path:
    case.put("valid_2024.csv", 2024, attendance=False)
    return write_attendance(case.raw / "2024" / "attendance.xlsx", **kwargs)


def test_attendance_missing_a_respondent(case: Case):
    _attendance_case(case, rows=[("T90001", "甲", 200), ("T90002", "乙", 180)])
    report = case.ingest(2024)
    assert_reconciles(report)
    rej = case.rejects(2024)
    assert rej[["row", "column", "value", "reason_code"]].values.tolist() == [
        [4, "員工代號", pseudonym("T90003"), "no_attendance"]]
    assert "attendance.xlsx" in rej["detail"].item() and report["accepted"] == 2


def test_attendance_over_366_days(case: Case):
    _attendance_case(case, rows=[("T90001", "甲", 200), ("T90002", "乙", 180), ("T90003", "丙", 400)])
    report = case.ingest(2024)
    assert_reconciles(report)
    rej = case.rejects(2024).set_index("reason_code")
    assert rej.loc["attendance_days_invalid", ["file", "row", "column", "value"]].tolist() == [
        "attendance.xlsx", 4, DAYS_HEAD, "400"]
    assert rej.loc["no_attendance", "row"] == 4 and report["attendance_rows_rejected"] == 1


def test_attendance_duplicate_employee(case: Case):
    _attendance_case(case, rows=[("T90001", "甲", 200), ("T90002", "乙", 180), ("T90003", "丙", 150),
                                 ("t90003 ", "丙", 151)])
    report = case.ingest(2024)
    rej = case.rejects(2024)
    dup = rej[rej["reason_code"] == "attendance_duplicate"]
    assert dup["row"].tolist() == [4, 5] and (dup["value"] == pseudonym("T90003")).all()
    assert report["accepted"] == 2
    assert_no_identifiers(rej)


@pytest.mark.parametrize("kwargs, fragments", [
    ({"sheet": "工作表1"}, ["attendance.xlsx", "no sheet '出勤天數'", "工作表1"]),
    ({"header": ("員工", "姓名", "天數")}, ["attendance.xlsx", "header row lacks", "員工編號"]),
    ({"title_row": True}, ["attendance.xlsx", "header row lacks", "first row"]),
], ids=["wrong_sheet", "wrong_header", "title_row"])
def test_attendance_structure_stops(case: Case, kwargs: dict, fragments: list[str]):
    _attendance_case(case, **kwargs)
    with pytest.raises(IngestError) as info:
        case.ingest(2024)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert not (case.processed / "2024").exists()


def test_attendance_not_a_workbook(case: Case):
    case.put("valid_2024.csv", 2024, attendance=False)
    (case.raw / "2024" / "attendance.xlsx").write_text("員工編號,實際出勤天數\nT90001,200\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"attendance\.xlsx: cannot be read as an xlsx workbook"):
        case.ingest(2024)


def test_attendance_file_missing(case: Case):
    case.put("valid_2024.csv", 2024, attendance=False)
    with pytest.raises(FileNotFoundError, match="attendance file"):
        case.ingest(2024)


# ------------------------------------------------------------------ mapping errors
def _reference_copy(tmp_path: Path) -> Path:
    ref = tmp_path / "reference"
    shutil.copytree(config.REFERENCE, ref)
    return ref


def test_mapping_names_a_column_the_export_lacks(case: Case, tmp_path: Path):
    ref = _reference_copy(tmp_path)
    path = ref / "survey" / "2025.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("department: 單位", "department: 服務單位名稱"),
                    encoding="utf-8")
    case.raw.mkdir(parents=True)
    shutil.copytree(config.RAW / "sample" / "2025", case.raw / "2025")
    with pytest.raises(IngestError) as info:
        ingest.ingest_year(2025, case.raw, case.processed, key=KEY, reference_dir=ref)
    message = str(info.value)
    assert "survey.csv" in message and "department: '服務單位名稱'" in message and str(path) in message
    assert not case.processed.exists()


def test_mapping_missing_for_year(case: Case):
    case.put("valid_2024.csv", 2019)
    with pytest.raises(FileNotFoundError, match=r"2019\.yaml: no survey form mapping for 2019"):
        case.ingest(2019)


def test_mapping_answer_label_typo_rejects_not_crashes(case: Case, tmp_path: Path):
    ref = _reference_copy(tmp_path)
    path = ref / "survey" / "2024.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("機車（汽油）: motorcycle_petrol",
                                                              "機車(汽油) : motorcycle_petrol"), encoding="utf-8")
    case.put("valid_2024.csv", 2024)
    report = case.ingest(2024, reference_dir=ref)  # labels are compared NFKC-normalised and trimmed
    assert report["accepted"] == 3 and report["rejected"] == 0


# ------------------------------------------------------------------ parsing helpers
def test_parse_number_examples():
    values = pd.Series(["5", "５", "5 km", "5公里", "5,5", "1,234", "5-10", "", None, "－3", "5.5KM"])
    got = ingest.parse_number(values, ingest.KM_UNITS).tolist()
    expected = [5.0, 5.0, 5.0, 5.0, 5.5, 1234.0, None, None, None, -3.0, 5.5]
    assert [None if pd.isna(g) else g for g in got] == expected


def test_parse_timestamp_examples():
    got = ingest.parse_timestamp(pd.Series(["2025/3/5 下午 2:31:07", "2025/3/5 上午 12:01:00", "2025/3/5 下午 12:00:00",
                                            "2025-03-05 14:31", "昨天", "2025/2/30 上午 1:00:00", None]))
    assert [str(t) if pd.notna(t) else "NaT" for t in got] == [
        "2025-03-05 14:31:07", "2025-03-05 00:01:00", "2025-03-05 12:00:00", "2025-03-05 14:31:00", "NaT", "NaT", "NaT"]


# ------------------------------------------------------------------ the corpus itself
def test_corpus_listed_in_readme_and_tested():
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in CORPUS.glob("*.csv"))
    tested = set(ACCEPTED) | set(REJECTED) | set(STOPS) | {"extra_column.csv", "multiline_cell.csv",
                                                             "duplicate_rows.csv", "routes_abcd.csv"}
    assert len(files) >= 30
    assert [f for f in files if f"`{f}`" not in readme] == []
    assert sorted(set(files) - tested) == []
    assert sorted(tested - set(files)) == []


def test_multi_select_splits_only_on_the_forms_separator():
    labels = {"開車／騎車比較彈性方便": "flexible", "等車時間太長": "wait_long"}
    cells = pd.Series(["開車／騎車比較彈性方便, 要接送小孩上學，公車班次太少",  # the form's ", " vs a typed "，"
                       "我覺得，等車時間太長",  # a sentence that ends with an option's words is not that option
                       "等車時間太長, 開車／騎車比較彈性方便"])
    long = ingest.split_multi(cells, labels, ", ")
    rows = [(int(i), c if pd.notna(c) else None, t if pd.notna(t) else None)
            for i, c, t in long.sort_values(["idx", "code"]).itertuples(index=False)]
    assert sorted(rows, key=str) == sorted([(0, "flexible", None), (0, None, "要接送小孩上學，公車班次太少"),
                                            (1, None, "我覺得，等車時間太長"),
                                            (2, "flexible", None), (2, "wait_long", None)], key=str)
