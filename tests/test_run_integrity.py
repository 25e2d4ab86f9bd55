"""Run integrity at ingestion: a wrong key, a route A that matches almost nobody, a garbage export, rows outside
the survey year, misshapen claims rows, invisible characters and hostile long rows stop the run or end as rejects
(issue 2.1). Each case reproduces a way the landed pipeline published a wrong inventory."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import privacy
from helpers.business_travel import claims as bt_claims
from helpers.publish import summary
from helpers.survey import ingest
from helpers.survey.ingest import IngestError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "raw" / "sample"
KEY = b"integrity-test-key"
OTHER_KEY = b"another-machine-key"
EMP, ROUTE, DEPT, TS = "員工編號", "本年度填答方式", "單位", "時間戳記"
EMP_2024, DEPT_2024 = "員工代號", "服務單位"  # the 2024 form's headers
DAYS1, MODE11, KM11 = "【通勤方式一】每週通勤天數", "【通勤方式一】第1段運具", "【通勤方式一】第1段單程距離（公里）"
ROUTE_A = "A. 同意沿用去年資料，且通勤方式沒有改變"


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    shutil.copytree(SAMPLE, folder)
    return folder


def read_survey(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    return rows[0], rows[1:]


def write_survey(path: Path, header: list[str], rows: list[list[str]], text: str | None = None) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    path.write_text("\ufeff" + (text if text is not None else buf.getvalue()), encoding="utf-8")


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------------------- key fingerprint

def test_a_changed_key_stops_before_anything_is_written(tmp_path, raw):
    processed = tmp_path / "processed"
    ingest.ingest_year(2024, raw, processed, key=KEY)
    before = _contents(processed)
    with pytest.raises(privacy.KeyMismatchError) as info:
        ingest.ingest_year(2025, raw, processed, key=OTHER_KEY)
    message = str(info.value)
    assert privacy.key_fingerprint(KEY) in message and privacy.key_fingerprint(OTHER_KEY) in message
    assert privacy.KEY_FILE_ENV in message and "Scheduling the annual run" in message
    assert _contents(processed) == before and not (processed / "2025").exists()
    # the fingerprint is stored with the year, its carry-over store (and so the manifest), never the key
    fingerprint = json.loads((processed / "2024" / "ingest_report.json").read_text())["key_fingerprint"]
    assert fingerprint == privacy.key_fingerprint(KEY)
    assert (processed / "carryover" / "2024" / privacy.KEY_FINGERPRINT_FILE).read_text().strip() == fingerprint
    assert KEY.decode() not in json.dumps(_contents(processed), default=repr)
    # with the right key the year goes through and reproduces the published total
    report = ingest.ingest_year(2025, raw, processed, key=KEY)
    assert report["carried_over"] == 105 and report["key_fingerprint"] == fingerprint


def test_run_preflight_refuses_another_key_or_a_missing_key(tmp_path, raw, monkeypatch, capsys):
    from helpers import cli

    processed, out = tmp_path / "processed", tmp_path / "out"
    ingest.ingest_year(2024, raw, processed, key=KEY)
    monkeypatch.setenv(privacy.KEY_ENV, OTHER_KEY.decode())
    args = ["run", "--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(processed), "--out", str(out)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert privacy.key_fingerprint(KEY) in err and err.count("\n") == 1
    assert not out.exists()
    # a cron job under another HOME: no key there. The run must not create a new key and carry on
    monkeypatch.delenv(privacy.KEY_ENV)
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(tmp_path / "elsewhere" / "pseudonym.key"))
    assert cli.main(args) == 2
    assert "no pseudonymisation key" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists()


# ----------------------------------------------------------------------------------- route A match threshold

def test_route_a_matching_almost_nobody_stops_with_the_numbers(tmp_path, raw):
    processed = tmp_path / "processed"
    header, rows = read_survey(raw / "2024" / "survey.csv")
    write_survey(raw / "2024" / "survey.csv", header, rows[::2])  # half of last year's answers (a partial export)
    ingest.ingest_year(2024, raw, processed, key=KEY)
    with pytest.raises(IngestError) as info:
        ingest.ingest_year(2025, raw, processed, key=KEY)
    message = str(info.value)
    assert "route-A respondents" in message and "of 105" in message and "--route-a-max-unmatched" in message
    assert not (processed / "2025").exists()
    report = ingest.ingest_year(2025, raw, processed, key=KEY, route_a_max_unmatched=1.0)  # the explicit flag
    assert report["route_a_unmatched"] > 0.2 * 105


# ------------------------------------------------------------------------------------------ garbage export

def test_an_export_of_garbage_after_a_valid_header_stops(tmp_path, raw):
    processed = tmp_path / "processed"
    header, rows = read_survey(raw / "2024" / "survey.csv")
    garbage = [["#REF!"] * len(header) for _ in rows]
    write_survey(raw / "2024" / "survey.csv", header, garbage)
    with pytest.raises(IngestError) as info:
        ingest.ingest_year(2024, raw, processed, key=KEY)
    assert "only 0 of" in str(info.value) and "bad_timestamp" in str(info.value)
    assert not (processed / "2024").exists()
    # mostly garbage: below the share
    write_survey(raw / "2024" / "survey.csv", header, rows[:10] + garbage)
    with pytest.raises(IngestError, match="at least 50% needed"):
        ingest.ingest_year(2024, raw, processed, key=KEY)
    report = ingest.ingest_year(2024, raw, processed, key=KEY, min_accepted_share=0.0)
    assert report["accepted"] == 10


def test_summary_json_never_holds_a_nan(tmp_path, monkeypatch):
    monkeypatch.setattr(summary, "build_summary", lambda *a, **k: {"year": 2025, "annual_total_kgco2e": math.nan})
    with pytest.raises(ValueError):
        summary.write_summary(2025, tmp_path, tmp_path, tmp_path)
    assert not (tmp_path / "summary.json").exists()


# ------------------------------------------------------------------------------- timestamps, route A + commute

def test_rows_submitted_outside_the_survey_year_are_rejected(tmp_path, raw):
    processed = tmp_path / "processed"
    ingest.ingest_year(2024, raw, processed, key=KEY)
    header, rows = read_survey(raw / "2025" / "survey.csv")
    old = [row[:] for row in rows[:3]]
    for row in old:
        row[header.index(TS)] = row[header.index(TS)].replace("2025/", "2024/", 1)
    write_survey(raw / "2025" / "survey.csv", header, rows[3:] + old)
    report = ingest.ingest_year(2025, raw, processed, key=KEY)
    rejects = pd.read_parquet(processed / "2025" / "rejects.parquet")
    outside = rejects[rejects["reason_code"] == "timestamp_outside_year"]
    assert len(outside) == 3 and report["timestamps_outside_year"] == 3
    assert outside["value"].str.startswith("2024/").all()
    assert report["reconciles"]


def test_route_a_with_a_typed_commute_counts_as_route_b(tmp_path, raw):
    processed = tmp_path / "processed"
    ingest.ingest_year(2024, raw, processed, key=KEY)
    header, rows = read_survey(raw / "2025" / "survey.csv")
    row = next(r for r in rows if r[header.index(ROUTE)] == ROUTE_A)
    row[header.index(DAYS1)], row[header.index(MODE11)], row[header.index(KM11)] = "5", "臺鐵", "42.5"
    write_survey(raw / "2025" / "survey.csv", header, rows)
    report = ingest.ingest_year(2025, raw, processed, key=KEY)
    assert report["routes"]["A"] == 104 and report["routes"]["B"] == 9
    assert report["route_a_with_commute"] == [rows.index(row) + 2]
    me = privacy.pseudonymise(pd.Series([row[header.index(EMP)]]), KEY)[0]
    legs = pd.read_parquet(processed / "2025" / "legs.parquet")
    mine = legs[legs["respondent_id"] == me]
    assert mine[["mode_id", "distance_km"]].values.tolist() == [["tra", 42.5]]  # this year's answer, not last year's


# --------------------------------------------------------------------------------------- invisible characters

def test_invisible_characters_do_not_make_a_second_department_or_lose_a_person(tmp_path, raw):
    processed = tmp_path / "processed"
    clean = ingest.ingest_year(2024, raw, processed, key=KEY)
    departments = set(pd.read_parquet(processed / "2024" / "respondents.parquet")["department"])
    header, rows = read_survey(raw / "2024" / "survey.csv")
    for i, row in enumerate(rows[:12]):
        mark = ["\u200b", "\ufeff", "\x00", "\u200d"][i % 4]
        row[header.index(DEPT_2024)] = row[header.index(DEPT_2024)] + mark
        row[header.index(EMP_2024)] = mark + row[header.index(EMP_2024)]
    write_survey(raw / "2024" / "survey.csv", header, rows)
    report = ingest.ingest_year(2024, raw, processed, key=KEY)
    assert report["accepted"] == clean["accepted"]  # every employee number still matches the attendance file
    respondents = pd.read_parquet(processed / "2024" / "respondents.parquet")
    assert set(respondents["department"]) == departments
    assert not respondents["department"].str.contains("[\u200b\ufeff\x00\u200d]").any()


# --------------------------------------------------------------------------------------------- claims reader

def test_claims_row_with_an_unquoted_thousands_separator_is_rejected(tmp_path, raw):
    clean = bt_claims.ingest_claims(raw / "2025", tmp_path / "clean" / "2025", 2025, key=KEY)["claims"]
    path = raw / "2025" / "claims.csv"
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    lines[1] = lines[1].replace(",190,", ",1,245,")  # 1,245 NTD typed without quotes: one cell too many
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    report = bt_claims.ingest_claims(raw / "2025", tmp_path / "processed" / "2025", 2025, key=KEY)
    claims = pd.read_parquet(tmp_path / "processed" / "2025" / "business_travel" / "claims.parquet")
    assert not (claims["amount_ntd"] == 1).any()
    rejects = pd.read_parquet(tmp_path / "processed" / "2025" / "business_travel" / "rejects.parquet")
    shape = rejects[rejects["reason_code"] == "row_cells"]
    # lines[1] is spreadsheet row 2 (header = row 1); the cell count is the reject's detail
    assert shape["row"].tolist() == [2] and shape["detail"].iloc[0].startswith("此列 15 欄，標題列 14 欄")
    assert report["claims"]["reconciled"] and report["claims"]["raw_rows"] == clean["raw_rows"]
    assert report["claims"]["accepted_rows"] == clean["accepted_rows"] - 1


# --------------------------------------------------------------------------------------- hostile long rows

HOSTILE = """
import resource, sys
limit = 1 << 30
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from pathlib import Path
from helpers.survey import ingest
frame, _ = ingest.read_export(Path(sys.argv[1]))
cells = frame.attrs["cells"]
print(len(frame), len(frame.columns), int(cells.max()))
"""


def test_a_1mb_row_of_500000_cells_is_read_in_bounded_memory(tmp_path):
    header, rows = read_survey(SAMPLE / "2025" / "survey.csv")
    path = tmp_path / "hostile.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, rows[0], rows[1] + ["x"] * 500_000, rows[2]])
    path.write_text(buf.getvalue(), encoding="utf-8")
    assert path.stat().st_size > 1_000_000
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-c", HOSTILE, str(path)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["3", str(len(header)), str(len(header) + 500_000)]


def test_the_hostile_row_is_a_reject_naming_its_cell_count(tmp_path, raw):
    header, rows = read_survey(raw / "2024" / "survey.csv")
    lines = io.StringIO()
    csv.writer(lines, lineterminator="\n").writerows([header, *rows])
    text = lines.getvalue().splitlines()
    text[3] = text[3] + "," + ",".join(["x"] * 100_000)
    write_survey(raw / "2024" / "survey.csv", header, rows, text="\n".join(text) + "\n")
    report = ingest.ingest_year(2024, raw, tmp_path / "processed", key=KEY)
    rejects = pd.read_parquet(tmp_path / "processed" / "2024" / "rejects.parquet")
    hit = rejects[rejects["reason_code"] == "row_cells"]
    assert hit["row"].tolist() == [4] and hit["value"].isna().all()
    assert hit["detail"].item().startswith(f"此列 {len(header) + 100_000} 欄，標題列 {len(header)} 欄")
    assert report["reconciles"] and report["rejected"] == 1
