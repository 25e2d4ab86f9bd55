"""The inventory workbook (helpers.publish.workbook): register totals, report tables as numbers, no formulas."""

from __future__ import annotations

import io
import json

import nbformat
import pandas as pd
import pytest
from openpyxl import load_workbook

from helpers.publish import tables, workbook

YEARS = (2024, 2025)


def _register_rows(ws) -> tuple[list[dict], dict]:
    """The register's source rows (as dicts by zh header) and its total row."""
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    sources, total = [], None
    for row in rows[1:]:
        if row[0] is None:
            continue
        record = dict(zip(header, row))
        if str(row[0]).startswith("合計"):
            total = record
        else:
            sources.append(record)
    return sources, total


@pytest.mark.parametrize("year", YEARS)
def test_register_totals_equal_summary_json(pipeline_run, year):
    folder = pipeline_run.out_dir / str(year)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    wb = load_workbook(folder / "inventory.xlsx")
    assert wb.sheetnames[:3] == [workbook.REGISTER_SHEET, workbook.ABOUT_SHEET, workbook.INDEX_SHEET]
    sources, total = _register_rows(wb[workbook.REGISTER_SHEET])
    kg, sub = workbook.REGISTER_COLUMNS["emission_kgco2e"], workbook.REGISTER_COLUMNS["subcategory"]
    by_kind = {name: sum(r[kg] for r in sources if r[sub] == name) for name, _ in workbook.SUBCATEGORIES.values()}
    bt = summary.get("business_travel") or {}
    assert by_kind["員工通勤"] == pytest.approx(summary["annual_total_kgco2e"], abs=1e-6)
    assert by_kind["商務旅行－短程公出"] == pytest.approx(bt.get("total_kgco2e", 0.0), abs=1e-6)
    assert by_kind["商務旅行－長程出差"] == pytest.approx(bt.get("long_trips_kgco2e", 0.0), abs=1e-6)
    expected = summary["annual_total_kgco2e"] + bt.get("total_kgco2e", 0.0) + bt.get("long_trips_kgco2e", 0.0)
    assert total[kg] == pytest.approx(expected, abs=1e-6)
    assert total[workbook.REGISTER_COLUMNS["emission_tco2e"]] == pytest.approx(expected / 1000, abs=1e-9)
    for r in sources:  # every row is checkable: activity x factor = emissions, numbers stored as numbers
        activity, factor = r[workbook.REGISTER_COLUMNS["activity"]], r[workbook.REGISTER_COLUMNS["factor"]]
        assert isinstance(activity, int | float) and isinstance(factor, int | float)
        assert activity * factor == pytest.approx(r[kg], rel=1e-9, abs=1e-9), r
        assert r[workbook.REGISTER_COLUMNS["activity_unit"]] == "延人公里（pkm）"
        assert r[workbook.REGISTER_COLUMNS["gwp_basis"]].startswith("IPCC AR5")
        assert r[workbook.REGISTER_COLUMNS["activity_grade"]] in ("量測", "推估")
        assert r[workbook.REGISTER_COLUMNS["factor_grade"]] in ("公告值", "由公開數據推導", "代用值", "零排放（不適用）")
        assert r[workbook.REGISTER_COLUMNS["factor_source"]] and r[workbook.REGISTER_COLUMNS["factor_version"]]


def test_sample_2025_register_has_every_category_and_the_published_figures(pipeline_run):
    wb = load_workbook(pipeline_run.out_dir / "2025" / "inventory.xlsx")
    sources, _ = _register_rows(wb[workbook.REGISTER_SHEET])
    kg, sub, src = (workbook.REGISTER_COLUMNS[k] for k in ("emission_kgco2e", "subcategory", "source"))
    by_kind = {}
    for r in sources:
        by_kind[r[sub]] = by_kind.get(r[sub], 0.0) + r[kg]
    assert round(by_kind["員工通勤"], 2) == 44950.43
    assert round(by_kind["商務旅行－短程公出"], 2) == 69.63
    assert round(by_kind["商務旅行－長程出差"], 2) == 208.62
    flight = next(r for r in sources if r[src].endswith("國內線航班"))
    assert flight[workbook.REGISTER_COLUMNS["factor_grade"]] == "代用值"
    taxi = next(r for r in sources if r[src].endswith("計程車（汽油）"))
    assert taxi[workbook.REGISTER_COLUMNS["activity_grade"]] == "推估"  # km from fares


@pytest.mark.parametrize("year", YEARS)
def test_every_report_table_has_a_sheet_with_numbers_as_numbers(pipeline_run, year):
    folder = pipeline_run.out_dir / str(year)
    shown = workbook.report_tables(folder / "executed")
    assert len(shown) >= 10
    wb = load_workbook(folder / "inventory.xlsx")
    index = list(wb[workbook.INDEX_SHEET].iter_rows(min_row=2, values_only=True))
    assert [caption for _, _, caption in index] == [t["caption"] for t in shown]
    for name, _, _ in index:
        for row in wb[name].iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{name}!{cell.coordinate} is a formula: {cell.value!r}"
    emissions = wb[next(name for name, page, caption in index if caption.endswith("各運具年排放量"))]
    values = [row for row in emissions.iter_rows(min_row=5, values_only=True)]
    kg_col = [c.value for c in emissions[4]].index("年排放 kgCO2e/yr")
    assert values and all(isinstance(row[kg_col], int | float) for row in values)


def test_table_payload_travels_with_the_displayed_table():
    frame = pd.DataFrame({"運具 Mode": ["汽油汽車", "步行"], "人數": [3, None], "排放": [1.5, float("nan")]})
    bundle = tables.show(frame, caption="標題")._repr_mimebundle_()
    assert bundle[tables.TABLE_MIMETYPE] == {"caption": "標題", "columns": ["運具 Mode", "人數", "排放"],
                                             "rows": [["汽油汽車", 3.0, 1.5], ["步行", None, None]]}


def test_number_text_as_the_reports_print_it():
    assert workbook.as_number("44,950.43") == (44950.43, "#,##0.00")
    assert workbook.as_number("131") == (131, "#,##0")
    assert workbook.as_number("31.02%") == (pytest.approx(0.3102), "0.00%")
    assert workbook.as_number("-0.23") == (-0.23, "+#,##0.00;-#,##0.00;#,##0.00")
    assert workbook.as_number("0.0833") == (0.0833, "#,##0.0000")
    for text in ("2025-11-12", "007", "LT114-001", "<3", "42（89.36%）", "1,23", "225f732bee37ed45", "—"):
        assert workbook.as_number(text) is None, text


def test_hostile_text_is_never_a_formula(tmp_path):
    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
    report = [{"page": "06_business_travel", "caption": "=cmd|' /C calc'!A0",
               "columns": ["=col", "起站"], "rows": [[h, h] for h in hostile]}]
    reg = pd.DataFrame([{"kind": "commuting", **{k: "=x" for k in workbook.REGISTER_COLUMNS},
                         **{k: 1.0 for k in workbook.NUMBER_FORMATS}}])
    wb = load_workbook(io.BytesIO(workbook.build_workbook(2025, reg, report)))
    cells = [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(workbook.FORMULA_PREFIXES)]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in texts and "'-2+3" in texts


def test_totals_that_differ_from_summary_json_stop_the_workbook():
    reg = pd.DataFrame({"kind": ["commuting", "short_trips"], "emission_kgco2e": [100.0, 2.0]})
    workbook.check_totals(reg, {"annual_total_kgco2e": 100.0, "business_travel": {"total_kgco2e": 2.0}})
    with pytest.raises(ValueError, match="commuting: 100.000000 vs 100.010000"):
        workbook.check_totals(reg, {"annual_total_kgco2e": 100.01, "business_travel": {"total_kgco2e": 2.0}})


def test_report_tables_read_from_executed_notebooks(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(t)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": "t", tables.TABLE_MIMETYPE: {"caption": "甲", "columns": ["a"], "rows": [[1]]}})]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "02_emissions.ipynb")
    assert workbook.report_tables(tmp_path) == [{"page": "02_emissions", "caption": "甲", "columns": ["a"],
                                                 "rows": [[1]]}]
