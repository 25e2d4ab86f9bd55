"""Warnings reach a person: terminal, the summary page's 注意事項 and summary.json `warnings` (helpers.publish.warnings_log);
charts draw Chinese with the packaged font even without system fonts; a successful run is quiet."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


from helpers.publish import warnings_log
from helpers.survey import ingest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "raw" / "sample"
KEY = b"warnings-test-key"


def test_collect_names_rejects_route_a_losses_and_small_cells(tmp_path, monkeypatch):
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    shutil.copytree(SAMPLE, raw)
    ingest.ingest_year(2024, raw, processed, key=KEY)
    path = raw / "2025" / "survey.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header = rows[0]
    route_a = [r for r in rows[1:] if r[header.index("本年度填答方式")].startswith("A.")]
    route_a[0][header.index("員工編號")] = "Z99999"  # no 2024 record: rejected
    route_a[1][header.index("時間戳記")] = "2023/3/3 上午 9:00:00"  # another year's answer
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")
    ingest.ingest_year(2025, raw, processed, key=KEY)
    monkeypatch.setenv(warnings_log.WARNINGS_FILE_ENV, str(tmp_path / "run-warnings.jsonl"))
    warnings_log.record("key_created", "本次執行首次建立假名化金鑰")
    found = warnings_log.collect(2025, processed, min_cell=15)  # the smallest departments have 12-14
    codes = [w.code for w in found]
    assert {"key_created", "survey_rejects", "route_a_unmatched", "timestamps_outside_year",
            "suppressed_cells"} <= set(codes), codes
    assert len(codes) == len(set(codes))
    for warning in found:  # zh-TW text, no code names or English sentences for reviewers
        assert any("\u4e00" <= ch <= "\u9fff" for ch in warning.text), warning
    text = {w.code: w.text for w in found}
    assert "1 人找不到 2024 年的紀錄" in text["route_a_unmatched"]
    md = warnings_log.markdown(found)
    assert md.count("\n- ") == len(found) - 1 and text["survey_rejects"] in md
    assert not any(w.code in md for w in found), "the page shows the zh-TW text, not the code"
    assert warnings_log.markdown([]) == warnings_log.NONE_TEXT


def test_codes_are_documented():
    import inspect

    source = inspect.getsource(warnings_log)
    used = set(__import__("re").findall(r'RunWarning\("([a-z_]+)"', source))
    assert used and used <= set(warnings_log.CODES), used - set(warnings_log.CODES)


def test_respondents_missing_from_the_roster_are_a_warning():
    from types import SimpleNamespace

    import pandas as pd

    staff = pd.DataFrame({"respondent_id": pd.Series(["a", "b", "c", "d"], dtype="string"),
                          "department": "行政室", "in_scope": [True, True, True, False], "attendance_days": 200.0})
    respondents = pd.DataFrame({"respondent_id": pd.Series(["a", "b", "d", "x", "y"], dtype="string"),
                                "in_inventory": [True, True, True, True, False], "route": ["B", "B", "B", "C", "D"]})
    ctx = SimpleNamespace(report={"routes": {}}, results=SimpleNamespace(tables={"staff": staff,
                                                                                 "respondents": respondents}))
    found = warnings_log._respondents_not_in_scope(ctx)
    # d is on the roster but out of scope, x is not on it at all; y declined (not in the inventory)
    assert [w.code for w in found] == ["respondents_not_in_scope"] and found[0].text.startswith("2 位")
    everyone = respondents[respondents["respondent_id"].isin(["a", "b"])]
    ctx.results.tables["respondents"] = everyone
    assert warnings_log._respondents_not_in_scope(ctx) == []


# ------------------------------------------------------------------------------------------- the whole run

def test_a_run_shows_its_warnings_everywhere_and_prints_no_kernel_noise(pipeline_run):
    err = pipeline_run.stderr
    assert "IPKernelApp" not in err and "ERROR" not in err and "Traceback" not in err
    assert err.count(str(pipeline_run.out_dir / "index.html")) == 1  # the report path, once
    for year in ("2024", "2025", "2026"):
        summary = json.loads((pipeline_run.out_dir / year / "summary.json").read_text(encoding="utf-8"))
        warnings = summary["warnings"]
        assert isinstance(warnings, list)
        # 2026 is rolled forward from the 2025 census: its figures are an estimate, and the warnings say so
        assert ("roll_forward_estimate" in {w["code"] for w in warnings}) == (year == "2026")
        assert all(set(w) == {"code", "text"} for w in warnings)
        page = (pipeline_run.out_dir / year / "07_summary.html").read_text(encoding="utf-8")
        assert "注意事項" in page
        assert f"[{year}] 注意事項 warnings" in err
        for warning in warnings:
            assert warning["text"] in page and f"{warning['code']}: {warning['text']}" in err
        if not warnings:
            assert warnings_log.NONE_TEXT in page


# ------------------------------------------------------------------------------------------------ the font

FONT_CHECK = r"""
import warnings, matplotlib
matplotlib.use("Agg")
from matplotlib import font_manager as fm
# a fresh machine: no system font at all, only what matplotlib ships
fm.fontManager.ttflist = [e for e in fm.fontManager.ttflist if "mpl-data" in e.fname]
fm.findSystemFonts = lambda *a, **k: []
from helpers.publish import plots
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    font = plots.setup()
    import pandas as pd
    frame = pd.DataFrame({"群組": ["大眾運輸", "非機動", "私人機動"], "段數": [58, 43, 86]})
    fig = plots.bar_chart(frame, "群組", "段數", title="運具次數分配（延人次）", xlabel="運具群組",
                          ylabel="運具段數 (段)")
    fig.savefig(__import__("sys").argv[1])
print(font)
for w in caught:
    print("WARNING", w.message)
"""


def test_charts_draw_chinese_without_any_system_font(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLCONFIGDIR=str(tmp_path / "mpl"))
    done = subprocess.run([sys.executable, "-c", FONT_CHECK, str(tmp_path / "chart.png")], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "Noto Sans CJK TC", done.stdout
    glyphs = [line for line in lines + done.stderr.splitlines() if "Glyph" in line and "missing" in line]
    assert not glyphs, glyphs[:3]
    assert not [line for line in lines if line.startswith("WARNING")], lines


def test_make_lab_passes_allow_root_only_for_root():
    done = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    command = next(line for line in done.stdout.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in command) == (os.geteuid() == 0)
