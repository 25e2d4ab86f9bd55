"""tools/compare_outputs.py: two output trees compare identical apart from run stamps, and every real change shows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import compare_outputs  # noqa: E402

PAGE = """<html><head><title>{title}</title><style>.x {{color: red}}</style></head><body>
<h1>年度報告 {when}</h1><p>處理資料：{root}/processed</p>
<table id="T_{uid}"><thead><tr><th id="T_{uid}_level0_col0">運具</th><th>排放量</th></tr></thead>
<tbody><tr><td id="T_{uid}_row0_col0">臺鐵</td><td>{value}</td></tr></tbody></table>
<img src="data:image/png;base64,{image}"></body></html>"""


def write_tree(root: Path, *, when: str = "2026-11-23T01:00:00+00:00", uid: str = "ab12c", value: str = "187.49",
               km: float = 7.2, image: str = "iVBORw0KGgo", commit: str = "abc", summary_total: float = 44950.43,
               address: str = "0x7f00aa", xlsx_sha: str = "aa", csv_sha: str = "bb", module: str = "tables") -> Path:
    """A miniature output tree: parquet, summary/manifest json, rejects csv, HTML page, executed notebook."""
    (root / "processed" / "2025").mkdir(parents=True)
    (root / "reports" / "2025" / "executed").mkdir(parents=True)
    pd.DataFrame({"respondent_id": ["a1", "b2"], "distance_km": [km, float("nan")]}).to_parquet(
        root / "processed" / "2025" / "legs.parquet")
    (root / "processed" / "2025" / "rejects.csv").write_text(
        f"file,row,reason\nsurvey.csv,4,bad ({root}/raw/2025/survey.csv)\n", encoding="utf-8-sig")
    (root / "reports" / "2025" / "summary.json").write_text(json.dumps(
        {"year": 2025, "annual_total_kgco2e": summary_total}), encoding="utf-8")
    (root / "reports" / "2025" / "manifest.json").write_text(json.dumps(
        {"generated_at": when, "git": {"commit": commit, "dirty": False}, "parameters": {"raw_dir": f"{root}/raw"},
         "inputs": [{"path": "2025/attendance.xlsx", "sha256": xlsx_sha}, {"path": "2025/survey.csv", "sha256": csv_sha}]}),
        encoding="utf-8")
    (root / "reports" / "2025" / "02_emissions.html").write_text(
        PAGE.format(title="排放", when="", root=root, uid=uid, value=value, image=image), encoding="utf-8")
    nb = new_notebook(cells=[new_code_cell("from helpers import emissions", outputs=[
        new_output("display_data", data={"text/plain": f"<helpers.{module}.ReportTable at {address}>",
                                         "text/html": f'<table id="T_{uid}"><tr><td>{value}</td></tr></table>'}),
        new_output("stream", name="stdout", text=f"run at {when}\n")])])
    nbformat.write(nb, root / "reports" / "2025" / "executed" / "02_emissions.ipynb")
    return root


def differences(tmp_path: Path, **changes) -> dict[str, list[str]]:
    before = write_tree(tmp_path / "before")
    after = write_tree(tmp_path / "after", **changes)
    return compare_outputs.compare_trees(before, after)


def test_run_stamps_folders_and_styler_ids_are_not_differences(tmp_path):
    # another folder, time, commit, random table id, object address and module of a class: the same results
    # (and the hash of a workbook, whose bytes hold the time it was written)
    assert differences(tmp_path, when="2026-11-24T09:30:00+00:00", uid="ff99e", commit="def",
                       address="0x7fbb01", xlsx_sha="cc", module="publish.tables") == {}


@pytest.mark.parametrize("change, where", [
    ({"km": 7.3}, "processed/2025/legs.parquet"),
    ({"value": "187.50"}, "reports/2025/02_emissions.html"),
    ({"summary_total": 44950.44}, "reports/2025/summary.json"),
    ({"image": "iVBORw0KGgp"}, "reports/2025/02_emissions.html"),
    ({"csv_sha": "cc"}, "reports/2025/manifest.json"),
])
def test_a_changed_result_is_named_with_its_file(tmp_path, change, where):
    found = differences(tmp_path, **change)
    assert where in found, found
    if "value" in change:  # the table cell and the executed notebook's output both show it
        assert "reports/2025/executed/02_emissions.ipynb" in found
        assert any("187.49" in line and "187.50" in line for line in found[where])


def test_parquet_dtype_and_missing_file_are_differences(tmp_path):
    before = write_tree(tmp_path / "before")
    after = write_tree(tmp_path / "after")
    pd.DataFrame({"respondent_id": ["a1", "b2"], "distance_km": pd.array([7, None], dtype="Int64")}).to_parquet(
        after / "processed" / "2025" / "legs.parquet")
    (after / "reports" / "2025" / "summary.json").unlink()
    (after / "reports" / "2025" / "extra.csv").write_text("x\n", encoding="utf-8")
    found = compare_outputs.compare_trees(before, after)
    assert any("dtype of distance_km" in line for line in found["processed/2025/legs.parquet"])
    assert found["reports/2025/summary.json"] == ["only in before"]
    assert found["reports/2025/extra.csv"] == ["only in after"]


def test_cli_exit_codes(tmp_path, capsys):
    before = write_tree(tmp_path / "before")
    write_tree(tmp_path / "same")
    assert compare_outputs.main([str(before), str(tmp_path / "same")]) == 0
    assert "identical" in capsys.readouterr().out
    after = write_tree(tmp_path / "after", value="1.00")
    assert compare_outputs.main([str(before), str(after)]) == 1
    assert "DIFFERS reports/2025/02_emissions.html" in capsys.readouterr().out
    assert compare_outputs.main([str(before), str(tmp_path / "nowhere")]) == 2
