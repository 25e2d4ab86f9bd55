"""Roster (staff in scope) and response counts: the sample's published 135 / 131 / 4, bad roster rows, a
generated staff with non-respondents."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers import config, privacy
from helpers.inventory import roster
from helpers.rejects import Rejects
from helpers.schemas import STAFF
from helpers.survey import ingest
from helpers.synthetic import bench, sample

KEY = b"roster-test-key"


@pytest.fixture(scope="module")
def sample_processed(tmp_path_factory) -> Path:
    processed = tmp_path_factory.mktemp("inventory") / "processed"
    for year in (2024, 2025):
        ingest.ingest_year(year, config.RAW / "sample", processed, key=KEY)
    return processed


def test_sample_2025_staff_in_scope_and_response_rate(sample_processed):
    data = ingest.load_year(sample_processed, 2025)
    counts = roster.response_counts(data["staff"], data["respondents"])
    assert (counts["staff_in_scope"], counts["valid"], counts["declined"], counts["not_answered"]) == (135, 131, 4, 0)
    assert f"{counts['response_rate']:.2%}" == "97.04%"
    assert counts["respondents_not_in_scope"] == 0
    assert int((~data["staff"]["in_scope"]).sum()) == 3  # the head (agency car) and two outsourced staff
    assert data["report"]["roster"] == {"file": "roster.xlsx", "rows": 138, "in_scope": 135, "rows_rejected": 0}
    assert "staff" not in ingest.load_year(sample_processed, 2024)  # the 2024 form has no roster


def test_roster_bad_rows_are_rejected_with_file_row_column_value(tmp_path):
    rows = [("T1", "甲", "A組", "是", "2020-01-02", None, 200), ("", "乙", "A組", "是", None, None, 200),
            ("T3", "丙", "A組", "也許", None, None, 200), ("T4", "丁", "B組", "否", "昨天", None, 200),
            ("T5", "戊", "B組", "是", "2025/3/1", "2025-06-30", "很多"), ("T5", "戊", "B組", "是", None, None, 10)]
    frame = pd.DataFrame(rows, columns=["員工編號", "姓名", "單位", "納入盤查範圍", "到職日", "離職日", "實際出勤天數"])
    path = tmp_path / "roster.xlsx"
    path.write_bytes(sample.xlsx_bytes(frame, "人員名冊"))
    rejects = Rejects()
    staff = roster.read_roster(path, ingest.load_mapping(2025), KEY, rejects, 2025)
    rej = rejects.frame()
    got = sorted(zip(rej["row"].astype(int), rej["column"], rej["value"].fillna(""), rej["reason_code"]))
    assert got == [(3, "員工編號", "", "roster_no_employee"), (4, "納入盤查範圍", "也許", "roster_in_scope_unknown"),
                   (5, "到職日", "昨天", "roster_date_invalid"),
                   (6, "員工編號", privacy.pseudonymise(pd.Series(["T5"]), KEY).iloc[0], "roster_duplicate"),
                   (7, "員工編號", privacy.pseudonymise(pd.Series(["T5"]), KEY).iloc[0], "roster_duplicate")]
    assert len(staff) == 1 and staff["in_scope"].all() and staff["join_date"].iloc[0] == pd.Timestamp("2020-01-02")
    STAFF.validate(staff)


def test_roster_mapping_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="roster.xlsx: roster from the personnel office not found"):
        roster.read_roster(tmp_path / "roster.xlsx", ingest.load_mapping(2025), KEY, Rejects(), 2025)
    frame = pd.DataFrame({"員工編號": ["T1"], "實際出勤天數": [200]})
    (tmp_path / "roster.xlsx").write_bytes(sample.xlsx_bytes(frame, "人員名冊"))
    with pytest.raises(ingest.IngestError, match="header row lacks.*納入盤查範圍"):
        roster.read_roster(tmp_path / "roster.xlsx", ingest.load_mapping(2025), KEY, Rejects(), 2025)


def test_generated_staff_with_non_respondents(tmp_path):
    n = 600
    bench.generate(n, tmp_path / "raw")
    for year in (2024, 2025):
        report = ingest.ingest_year(year, tmp_path / "raw", tmp_path / "processed", key=KEY)
    data = ingest.load_year(tmp_path / "processed", 2025)
    counts = roster.response_counts(data["staff"], data["respondents"])
    assert counts["staff_in_scope"] == n + round(n * bench.NON_RESPONDENT_SHARE)
    assert counts["valid"] == report["accepted"] and counts["declined"] == report["declined"]
    assert counts["valid"] + counts["declined"] + counts["not_answered"] == counts["staff_in_scope"]
    assert counts["not_answered"] >= round(n * bench.NON_RESPONDENT_SHARE)  # + those whose rows were rejected
