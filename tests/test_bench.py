"""The scale benchmark: its synthetic survey is accepted by the real ingestion, and `bench.main` writes the table.

A benchmark, not a timed test: nothing here asserts a duration.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from helpers.publish import summary
from helpers.survey import ingest
from helpers.synthetic import bench

KEY = b"bench-test-key"
N = 200


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict, dict]:
    """A staff of N in the raw formats, both years ingested: (folder, info, {year: ingest report})."""
    folder = tmp_path_factory.mktemp("bench")
    info = bench.generate(N, folder / "raw")
    reports = {year: ingest.ingest_year(year, folder / "raw", folder / "processed", key=KEY)
               for year in (bench.PREV_YEAR, bench.YEAR)}
    return folder, info, reports


def test_generated_survey_is_accepted_and_reconciles(generated):
    _, info, reports = generated
    for year, rep in reports.items():
        assert rep["reconciles"] and rep["rejected"] == 0, rep
        assert rep["raw_rows"] == info[year]["survey_rows"]
        assert rep["attendance_rows_rejected"] == 0
    now = reports[bench.YEAR]
    assert now["accepted"] + now["declined"] == N  # every staff member answered once (resubmissions superseded)
    assert now["raw_rows"] == N + now["duplicates"]
    assert now["carried_over"] == now["routes"]["A"] > 0 and all(now["routes"][r] > 0 for r in "BCD")
    assert 2.0 <= now["legs"] / now["accepted"] <= 4.0  # about 3 legs each


def test_generated_files_are_the_real_formats(generated):
    folder, _, _ = generated
    mapping = ingest.load_mapping(bench.YEAR)
    raw = (folder / "raw" / str(bench.YEAR) / mapping["survey_file"]).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the form's UTF-8 export with BOM
    survey, encoding = ingest.read_export(folder / "raw" / str(bench.YEAR) / mapping["survey_file"])
    assert encoding == "utf-8-sig" and ingest.check_columns(survey, mapping, "survey.csv") == []
    stamps = survey[mapping["columns"]["timestamp"]]
    assert stamps.str.match(r"^\d{4}/\d{1,2}/\d{1,2} (上午|下午) \d{1,2}:\d\d:\d\d$").all()
    data = ingest.load_year(folder / "processed", bench.YEAR)
    assert set(data["attitudes"]["question"]) == {"alternative", "barrier", "incentive"}
    assert data["legs"]["mode_id"].nunique() >= 10


def test_attendance_readers_agree(generated):
    pytest.importorskip("python_calamine")
    folder, _, _ = generated
    path = folder / "raw" / str(bench.YEAR) / ingest.load_mapping(bench.YEAR)["attendance"]["file"]
    fast = pd.read_excel(path, sheet_name=None, dtype=str, engine="calamine")
    slow = pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl")
    assert list(fast) == list(slow)
    for sheet in fast:
        pd.testing.assert_frame_equal(fast[sheet], slow[sheet])


def test_prepare_then_measure_times_every_stage(tmp_path):
    prepared = bench.prepare(N, tmp_path)  # generates both years and ingests the previous one (route A)
    assert prepared["respondents"] == N and prepared["previous_year_ingest_s"] > 0
    result = bench.measure(tmp_path)
    assert set(result["seconds"]) == {"ingest", "load", "emissions", "mode_shares", "attitudes"}
    assert result["respondents"] == N and result["reconciles"] and result["peak_rss_mb"] > 0


def test_main_writes_the_table(tmp_path, capsys):
    out = tmp_path / "bench"
    assert bench.main(argparse.Namespace(sizes="200", out=out, full_run=False)) == 0
    results = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert [r["n"] for r in results["sizes"]] == [200]
    assert results["sizes"][0]["respondents"] == 200 and results["machine"]["cores"] >= 1
    table = (out / "bench.md").read_text(encoding="utf-8")
    assert "| respondents |" in table and "| 200 |" in table and "peak MiB" in table
    assert "| 200 |" in capsys.readouterr().out


def test_markdown_reports_the_annual_run_against_the_floor():
    row = {"n": 10**6, "raw_rows": 10**6, "legs": 2_800_000, "total_s": 50.0, "s_per_1e5": 5.0,
           "peak_rss_mb": 3000.0, "seconds": dict.fromkeys(("ingest", "load", "emissions", "mode_shares",
                                                            "attitudes"), 10.0),
           "prepare": {"generate_s": 1.0, "previous_year_ingest_s": 1.0}}
    results = {"date": "today", "machine": bench.machine(), "sizes": [row], "floor": {"seconds": 0.5, "runs_s": [0.5]},
               "annual_run": {"seconds": 5.0, "runs_s": [5.0], "jobs": 2, "notebooks": 7, "budget_s": 3.5,
                              "ratio": 5.0 / 3.5, "per_notebook": {"01_ingest": {"total_s": 1.0, "imports_s": 0.4,
                                                                                 "cells_s": 0.3}}}}
    text = bench.markdown(results)
    assert "10^6 respondents: 50.0 s (target <= 60 s: met)" in text
    assert "| 7 | 0.50 | 3.50 | 5.00 | 1.43 | <= 1.5 (met) |" in text


def test_year_results_are_reused_within_a_run(generated, tmp_path, monkeypatch):
    folder, _, _ = generated
    monkeypatch.setenv(summary.RESULTS_CACHE_ENV, str(tmp_path))
    first = summary.year_results(folder / "processed", bench.YEAR)
    assert len(list(tmp_path.glob("*.pickle"))) == 1
    again = summary.year_results(folder / "processed", bench.YEAR)
    pd.testing.assert_frame_equal(first.per_person, again.per_person)
    assert again.totals == first.totals
    monkeypatch.delenv(summary.RESULTS_CACHE_ENV)
    assert summary.year_results(folder / "processed", bench.YEAR).totals == first.totals


def test_markdown_reports_the_full_annual_run():
    row = {"n": 10**5, "notebooks": 7, "seconds": 30.5, "year_s": {"2024": 15.0, "2025": 15.5},
           "peak_process_mb": 530.0, "peak_all_mb": 1400.0, "generate_s": 20.0, "survey_rows": 101_000}
    text = bench.markdown({"date": "today", "machine": bench.machine(), "sizes": [], "full_runs": [row]})
    assert "| 100,000 | 7 x 2 | 30.5 | 15.0 | 15.5 | 530 | 1,400 | <= 20 s (NOT met) |" in text
    assert "| respondents |" not in text  # no scale sizes measured: no empty scale table


def test_tree_memory_counts_the_children():
    child = subprocess.Popen([sys.executable, "-c", "b = bytearray(300 * 2**20); import time; time.sleep(30)"])
    try:
        deadline = time.time() + 20
        while time.time() < deadline and bench._tree_rss_mb(child.pid) < 250:
            time.sleep(0.1)
        assert bench._tree_rss_mb(child.pid) >= 250  # the child's 300 MiB buffer
        assert bench._tree_rss_mb(os.getpid()) >= bench._tree_rss_mb(child.pid) + 50  # this process and its child
    finally:
        child.kill()
        child.wait()


def test_workbench_years_follow_one_staff(tmp_path):
    written = bench.workbench_years(300, tmp_path / "processed", years=(2024, 2025, 2026))
    assert list(written) == [2024, 2025, 2026] and all(w["respondents"] == 300 for w in written.values())
    data = {y: ingest.load_year(tmp_path / "processed", y) for y in written}  # schema-validated on read
    for prev, year in ((2024, 2025), (2025, 2026)):
        now, before = data[year]["respondents"], data[prev]["respondents"]
        assert set(now.loc[now["route"] != "C", "respondent_id"]) <= set(before["respondent_id"])
        assert not set(now.loc[now["route"] == "C", "respondent_id"]) & set(before["respondent_id"])
        reused = now.loc[now["route"] == "A", "respondent_id"]
        assert len(reused) and not before.set_index("respondent_id").loc[reused, "route"].eq("D").any()
        legs = {y: data[y]["legs"].set_index(["respondent_id", "pattern_no", "leg_no"]) for y in (prev, year)}
        again = legs[year][legs[year].index.get_level_values(0).isin(reused)]
        pd.testing.assert_frame_equal(again.sort_index(), legs[prev].loc[again.index].sort_index())
        assert data[year]["legs"]["respondent_id"].isin(now.loc[now["in_inventory"], "respondent_id"]).all()


def test_measure_workbench_reports_open_and_views(tmp_path):
    result = bench.measure_workbench(150, tmp_path / "wb", measures=("main_share",), breakdowns=("group", "mode"))
    assert result["years"] == list(bench.WORKBENCH_YEARS) and result["views"] == 4  # x (all, one department)
    assert {"opens", "first_view_s", "view_median_s", "view_max_s", "stayers_median_s", "stayers_max_s"} <= set(result)
    opens = result["opens"]
    assert list(opens) == list(bench.OPENS) and all(o["seconds"] > 0 and o["peak_rss_mb"] > 0 for o in opens.values())
    assert [opens[k]["cache_status"] for k in bench.OPENS] == [["computed"], ["written"], ["read"]]
    assert not (tmp_path / "wb").exists()  # the generated tables are removed
    text = bench.markdown({"date": "today", "machine": bench.machine(), "sizes": [], "workbench": result})
    assert f"| open ({len(bench.WORKBENCH_YEARS)} years), next open, fresh process" in text
    assert "| view, slowest (" in text and "| stayers' view, slowest (" in text


def test_bootstrap_timing_is_measured_and_reported():
    boot = bench.measure_bootstrap(n=3000, resamples=50, repeats=1)
    assert boot["n"] == 3000 and boot["resamples"] == 50 and boot["seconds"] > 0
    text = bench.markdown({"date": "today", "machine": bench.machine(), "sizes": [], "bootstrap": boot})
    assert "Bootstrap (helpers.inventory.uncertainty): 50 resamples of 3,000 respondents" in text
