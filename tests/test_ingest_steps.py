"""The named steps of ingest.ingest_year, one at a time, on bad-input corpus files (tests/corpus/, see its README)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from helpers.survey import ingest
from helpers.survey.ingest import IngestError

CORPUS = Path(__file__).resolve().parent / "corpus"
KEY = b"steps-test-key"


def attendance(path: Path, staff=tuple(f"T9000{i}" for i in range(1, 10)), days: int = 200) -> None:
    """The personnel office's workbook as the corpus mappings expect it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "出勤天數"
    ws.append(["員工編號", "姓名", "實際出勤天數"])
    for emp in staff:
        ws.append([emp, "王小明", days])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def raw_year(tmp_path: Path, name: str, year: int, staff=None) -> Path:
    folder = tmp_path / "raw" / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CORPUS / name, folder / "survey.csv")
    attendance(folder / "attendance.xlsx", *(() if staff is None else (staff,)))
    return folder


def loaded(tmp_path: Path, name: str, year: int = 2024, staff=None) -> tuple[ingest.Answers, Path]:
    folder = raw_year(tmp_path, name, year, staff)
    return ingest.load_survey(folder, year, ingest.load_mapping(year)), folder


def codes(answers: ingest.Answers) -> list[tuple[int, str]]:
    frame = answers.rejects.frame()
    return list(zip(frame["row"].astype(int), frame["reason_code"]))


def test_load_survey_numbers_rows_as_a_spreadsheet_and_stops_on_an_empty_export(tmp_path):
    answers, _ = loaded(tmp_path, "valid_2024.csv")
    assert answers.raw_rows == 3 and list(answers.rows["_row"]) == [2, 3, 4]
    assert answers.encoding == "utf-8-sig" and answers.rejects.frame().empty
    with pytest.raises(IngestError, match="no answers"):
        loaded(tmp_path / "other", "header_only.csv")


def test_validate_rows_rejects_blank_rows_and_pseudonymises(tmp_path):
    answers, _ = loaded(tmp_path, "blank_rows.csv")
    answers = ingest.validate_rows(answers, KEY)
    assert codes(answers) == [(3, "blank_row"), (4, "blank_row")]
    assert answers.rows["respondent_id"].str.fullmatch(r"[0-9a-f]{16}").all() and len(answers.rows) == 3


def test_validate_rows_rejects_an_unreadable_timestamp(tmp_path):
    answers = ingest.validate_rows(loaded(tmp_path, "bad_timestamp.csv")[0], KEY)
    assert [code for _, code in codes(answers)] == ["bad_timestamp"]


def test_resolve_resubmissions_keeps_the_latest(tmp_path):
    answers = ingest.resolve_resubmissions(ingest.validate_rows(loaded(tmp_path, "duplicate_rows.csv")[0], KEY))
    assert codes(answers) == [(2, "superseded"), (3, "superseded")]
    assert set(answers.rows["_row"]) == {4, 5, 6} and list(answers.superseded["_row"].sort_values()) == [2, 3]


def test_resolve_routes_rejects_an_unknown_route(tmp_path):
    answers = ingest.validate_rows(loaded(tmp_path, "unknown_route.csv", 2025)[0], KEY)
    answers = ingest.resolve_routes(ingest.resolve_resubmissions(answers))
    assert codes(answers) == [(3, "unknown_route")] and set(answers.rows["route"]) <= set("ABCD")


def test_parse_answered_commutes_rejects_an_answer_without_a_commute(tmp_path):
    answers = ingest.validate_rows(loaded(tmp_path, "no_commute.csv")[0], KEY)
    answers = ingest.parse_answered_commutes(ingest.resolve_routes(ingest.resolve_resubmissions(answers)))
    assert [code for _, code in codes(answers)] == ["no_commute"]
    assert set(answers.patterns["respondent_id"]) == set(answers.rows["respondent_id"])
    assert answers.legs["distance_km"].gt(0).all() and "mode_id" in answers.legs


def until_commutes(answers: ingest.Answers) -> ingest.Answers:
    answers = ingest.validate_rows(answers, KEY)
    return ingest.parse_answered_commutes(ingest.resolve_routes(ingest.resolve_resubmissions(answers)))


def test_carry_over_copies_last_years_commute_of_route_a(tmp_path):
    raw_year(tmp_path, "valid_2024.csv", 2024)
    ingest.ingest_year(2024, tmp_path / "raw", tmp_path / "processed", key=KEY)
    answers = until_commutes(loaded(tmp_path, "routes_abcd.csv", 2025)[0])
    before = len(answers.legs)
    answers = ingest.carry_over(answers, tmp_path / "processed")
    assert answers.route_a == answers.carried == 1 and len(answers.legs) > before
    carried = answers.rows.loc[answers.rows["route"] == "A", "respondent_id"]
    assert carried.isin(answers.legs["respondent_id"]).all()


def test_carry_over_stops_without_last_years_store(tmp_path):
    answers = until_commutes(loaded(tmp_path, "routes_abcd.csv", 2025)[0])
    with pytest.raises(IngestError, match="ingest 2024 first"):
        ingest.carry_over(answers, tmp_path / "processed")


def test_join_attendance_rejects_a_respondent_the_personnel_office_does_not_list(tmp_path):
    answers, folder = loaded(tmp_path, "valid_2024.csv", staff=("T90001", "T90002"))
    answers = ingest.join_attendance(ingest.carry_over(until_commutes(answers), tmp_path / "processed"), folder, KEY)
    assert codes(answers) == [(4, "no_attendance")]
    assert answers.rows["attendance_days"].eq(200).all() and len(answers.rows) == 2


def test_build_tables_reconciles_and_the_sanity_check_catches_a_stray_leg(tmp_path):
    answers, folder = loaded(tmp_path, "valid_2024.csv")
    answers = ingest.join_attendance(ingest.carry_over(until_commutes(answers), tmp_path / "processed"), folder, KEY)
    tables, report = ingest.build_tables(answers)
    assert report["reconciles"] and report["accepted"] == 3 and report["legs"] == len(tables["legs"]) == 5
    ingest.sanity_check_outputs(tables, report)  # a good year passes
    stray = tables["legs"].iloc[:1].assign(respondent_id="0123456789abcdef")
    broken = {**tables, "legs": pd.concat([tables["legs"], stray], ignore_index=True)}
    with pytest.raises(AssertionError):
        ingest.sanity_check_outputs(broken, {**report, "legs": report["legs"] + 1})
