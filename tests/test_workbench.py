"""The researcher's workbench on the sample run: its numbers are the reports' (summary.json), its display tables
are suppressed, its docstring examples run, and it names people only by pseudonym."""

from __future__ import annotations

import doctest
import json
import os
import re

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest

import helpers
from helpers import config, privacy, schemas, workbench
from helpers.inventory import emissions
from helpers.publish import pages, runner, summary, tables

YEARS = (2024, 2025)
HOSTILE = "<b>$\\frac{1}{$</b>"  # a department name typed as markup and as matplotlib math


@pytest.fixture(scope="module")
def sample_root(pipeline_run, tmp_path_factory):
    """A processed-data root whose dataset 'sample' is the session run's processed folder."""
    root = tmp_path_factory.mktemp("processed_root")
    (root / "sample").symlink_to(pipeline_run.processed_dir, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def wb(pipeline_run):
    return helpers.open(pipeline_run.processed_dir, years=list(YEARS))  # the two census years (2026 rolls forward)


@pytest.fixture(scope="module")
def published(pipeline_run) -> dict[int, dict]:
    return {y: json.loads((pipeline_run.out_dir / str(y) / "summary.json").read_text(encoding="utf-8")) for y in YEARS}


def _nonzero(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.items() if v}


def test_open_by_dataset_name_or_folder(sample_root, pipeline_run, monkeypatch):
    monkeypatch.setattr(config, "PROCESSED", sample_root)
    by_name = helpers.open("sample")
    assert by_name.years == [2024, 2025, 2026]  # 2026: the sample's roll-forward year
    assert helpers.open(pipeline_run.processed_dir, years=[114]).years == [2025]  # ROC years accepted
    with pytest.raises(FileNotFoundError, match="no processed survey year in .*nowhere.*python -m helpers run"):
        helpers.open("nowhere")
    with pytest.raises(ValueError, match=r"year\(s\) \[2023\] not processed; processed years: \[2024, 2025, 2026\]"):
        helpers.open("sample", years=[2023])
    with pytest.raises(ValueError, match="year 2027 is not processed"):
        by_name.compare(2025, 2027)
    with pytest.raises(ValueError, match="min_cell = 1: small-cell suppression needs at least 2"):
        helpers.open("sample", min_cell=1)


def test_group_comparison_equals_the_reports(wb, published):
    shares = wb.compare(2024, 2025, by="group", raw=True)
    for y in YEARS:
        assert shares[f"persons_{y}"].to_dict() == published[y]["main_modes"]
        assert shares[f"legs_{y}"].to_dict() == published[y]["legs"]
        assert shares[f"annual_kgco2e_{y}"].sum() == pytest.approx(published[y]["annual_total_kgco2e"], abs=1e-6)
        assert shares[f"daily_kgco2e_{y}"].sum() == pytest.approx(published[y]["daily_total_kgco2e"], abs=1e-9)
        assert shares[f"person_share_{y}"].sum() == pytest.approx(1.0)
    # the published figures themselves (docs/METHOD.md): 31.02% of legs public, 61.07% private main modes
    assert round(100 * shares.loc["public", "leg_share_2025"], 2) == 31.02
    assert round(100 * shares.loc["private", "person_share_2025"], 2) == 61.07
    assert shares.loc["public", "persons_change"] == 44 - 45
    assert shares.loc["private", "person_share_change"] == pytest.approx(80 / 131 - 83 / 137)


def test_mode_distance_route_and_totals_equal_the_reports(wb, published):
    modes = wb.compare(2024, 2025, by="mode", raw=True)
    bins = wb.compare(2024, 2025, by="distance_bin", raw=True)
    for y in YEARS:
        assert _nonzero(modes[f"legs_{y}"]) == published[y]["leg_counts_by_mode"]
        assert _nonzero(modes[f"persons_{y}"]) == published[y]["main_mode_counts_by_mode"]
        assert bins[f"persons_{y}"].to_dict() == published[y]["distance_bins"]
        totals = wb.totals(y)
        for key in ("respondents", "daily_total_kgco2e", "annual_total_kgco2e", "mean_intensity_kgco2e_per_pkm",
                    "ratio_intensity_kgco2e_per_pkm"):
            assert totals[key] == pytest.approx(published[y][key], rel=1e-12), key
    assert list(bins.index) == list(emissions.DISTANCE_BIN_LABELS)
    routes = wb.compare(2024, 2025, by="route", raw=True)
    assert _nonzero(routes["persons_2025"]) == {r: n for r, n in published[2025]["routes"].items() if r != "D"}
    assert round(wb.totals(2025)["annual_total_kgco2e"], 2) == 44950.43  # the study's figure


def test_department_breakdown_equals_the_emissions_report(wb, pipeline_run):
    per = summary.year_results(pipeline_run.processed_dir, 2025).per_person  # what 02_emissions tabulates
    expected = per.groupby("department")["annual_kgco2e"].agg(["size", "sum"])
    depts = wb.compare(2024, 2025, by="department", raw=True)
    assert depts["persons_2025"].to_dict() == expected["size"].to_dict()
    assert depts["annual_kgco2e_2025"].to_dict() == pytest.approx(expected["sum"].to_dict())
    one = depts.index[0]
    within = wb.compare(2024, 2025, by="group", department=one, raw=True)
    assert within["persons_2025"].sum() == depts.loc[one, "persons_2025"]
    assert within["annual_kgco2e_2025"].sum() == pytest.approx(depts.loc[one, "annual_kgco2e_2025"])
    with pytest.raises(ValueError, match="department\\(s\\) \\['無此單位'\\] not in"):
        wb.compare(2024, 2025, department="無此單位")


def test_persons_and_legs_tables(wb, published):
    people, legs = wb.persons(), wb.legs()
    assert people.groupby("year").size().to_dict() == {y: published[y]["respondents"] for y in YEARS}
    assert legs.groupby("year").size().to_dict() == {y: sum(published[y]["legs"].values()) for y in YEARS}
    assert people["respondent_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert not people.isna().any().any() and not legs.isna().any().any()
    assert (people.loc[people["route"] == "A", "basis"] == "carried_over").all()
    # per person, the legs' annual kgCO2e add up to the person's
    per_leg = legs.groupby(["year", "respondent_id"])["annual_kgco2e"].sum()
    per_person = people.set_index(["year", "respondent_id"])["annual_kgco2e"]
    pd.testing.assert_series_equal(per_leg.sort_index(), per_person.sort_index(), check_names=False)


def test_display_tables_suppress_small_cells_per_year(wb):
    raw = wb.compare(2024, 2025, by="mode", measure="main_share", raw=True)
    shown = wb.compare(2024, 2025, by="mode", measure="main_share")
    k = wb.min_cell
    hidden_marks = {f"<{k}", privacy.SUPPRESSED_SECONDARY}
    for y in YEARS:
        count_col, share_col = (f"{config.year_label(y)} 人數", f"{config.year_label(y)} 旅次主運具比例 Main-mode share")
        counts, shares = shown[count_col].tolist(), shown[share_col].tolist()
        for mode, count, share in zip(raw.index, counts, shares):
            n = raw.loc[mode, f"persons_{y}"]
            if n < k:
                assert count in hidden_marks, (y, mode, count)
            if count in hidden_marks:
                assert share == privacy.SUPPRESSED_DERIVED
            else:
                assert count == f"{n:,}" and share == f"{raw.loc[mode, f'person_share_{y}']:.2%}"
        # no hidden count can be worked out from the year's total: none, or at least two with a positive sum
        hidden = [raw.loc[m, f"persons_{y}"] for m, c in zip(raw.index, counts) if c in hidden_marks]
        assert not hidden or (len(hidden) >= 2 and sum(hidden) > 0)
    changes = shown[shown.columns[-1]]
    either = shown.iloc[:, [1, 3]].isin(hidden_marks).any(axis=1)
    assert either.any() and (changes[either] == privacy.SUPPRESSED_DERIVED).all()
    assert shown[shown.columns[0]].iloc[0] == "高鐵"


def test_chart_leaves_out_every_hidden_category(wb):
    for dept in wb.departments():
        view = wb.view(2024, 2025, measure="main_share", by="group", department=dept)
        hidden = view.table.iloc[:, [1, 3]].isin({privacy.SUPPRESSED_SECONDARY}).any(axis=1)
        drawn = {t.get_text() for t in view.figure.axes[0].get_xticklabels()}
        assert not drawn & set(view.table.loc[hidden, view.table.columns[0]])
        plt.close(view.figure)
        if hidden.any():
            return
    pytest.skip("no department with a complementary-suppressed group")


def test_one_small_cell_is_not_given_away_by_the_total(wb):
    """A department where one main-mode group has fewer than k persons: its count would follow from the
    department's total (shown in the department view) and the other groups, so another cell is hidden too."""
    for dept in wb.departments():
        raw = wb.compare(2024, 2025, by="group", department=dept, raw=True)
        if (raw["persons_2025"] < wb.min_cell).sum() == 1:
            break
    else:
        pytest.skip("no department with exactly one small group in 2025")
    shown = wb.compare(2024, 2025, by="group", department=dept)
    counts = shown[f"{config.year_label(2025)} 人數"]
    assert (counts == privacy.SUPPRESSED_SECONDARY).sum() >= 2 or (counts == f"<{wb.min_cell}").sum() >= 2


def test_transitions_and_switchers_follow_stayers_by_pseudonym(wb, pipeline_run):
    stayers = wb.stayers(2024, 2025)
    people = wb.persons()
    ids = {y: set(people.loc[people["year"] == y, "respondent_id"]) for y in YEARS}
    assert set(stayers["respondent_id"]) == ids[2024] & ids[2025]
    moves = wb.transitions(2024, 2025, by="mode", raw=True)
    assert int(moves.to_numpy().sum()) == len(stayers)
    route_a = stayers[stayers["route"] == "A"]
    assert (route_a["main_mode_2024"] == route_a["main_mode_2025"]).all()  # a reused commute cannot change
    moved = wb.switchers(2024, 2025, from_="private", to="public")
    assert len(moved) == int(moves.loc[["motorcycle_petrol"], ["mrt_new_taipei"]].to_numpy().sum()) > 0
    assert moved["main_group_2024"].eq("private").all() and moved["main_group_2025"].eq("public").all()
    assert set(moved["route"]) <= {"B"}  # only a changed commute (route B) can move
    assert wb.switchers(2024, 2025, from_="car", to="public").empty  # nobody left the car in the sample
    shown = wb.transitions(2024, 2025)
    cells = shown.iloc[:, 1:].to_numpy().ravel()
    marks = {f"<{wb.min_cell}", privacy.SUPPRESSED_SECONDARY}
    assert all(c in marks or int(c.replace(",", "")) >= wb.min_cell for c in cells)
    # no employee number from the raw export anywhere in what the workbench returns
    raw = pd.read_csv(pipeline_run.raw_dir / "2025" / "survey.csv", dtype=str, encoding="utf-8-sig")
    numbers = set(raw["員工編號"].dropna())
    for frame in (people, wb.legs(), stayers, moved):
        text = frame.astype(str).to_numpy().ravel()
        assert not numbers & set(text)
    with pytest.raises(ValueError, match="mode selector 'boat'"):
        wb.switchers(2024, 2025, from_="boat")


@pytest.mark.parametrize("measure", list(workbench.MEASURES))
@pytest.mark.parametrize("by", list(workbench.BREAKDOWNS))
def test_every_view_is_drawn(wb, measure, by):
    view = wb.view(2024, 2025, measure=measure, by=by, department=wb.departments()[0])
    assert view.figure.axes[0].get_title() and len(view.table) == len(view.raw)
    cells = view.table.iloc[:, 1:].to_numpy().ravel()
    assert not [c for c in cells if "nan" in str(c).lower()]
    walking = [n for n in view.notes if "walking rule" in n]
    assert bool(walking) == (measure == "leg_share")  # the 2024 form did not ask for walks under 500 m
    assert not walking or ("2024" in walking[0] and "2025" in walking[0])
    plt.close(view.figure)


def test_view_draws_only_shown_categories_and_exports_safely(wb, tmp_path):
    view = wb.view(2024, 2025, measure="main_share", by="mode")
    pd.testing.assert_frame_equal(view.table, wb.compare(2024, 2025, by="mode", measure="main_share"))
    marks = {f"<{wb.min_cell}", privacy.SUPPRESSED_SECONDARY}
    shown = (~view.table.iloc[:, [1, 3]].isin(marks).any(axis=1)).sum()  # neither year's count hidden
    axes = view.figure.axes[0]
    assert len(axes.patches) == 2 * shown and len(axes.get_xticklabels()) == shown
    assert "不顯示" in axes.get_title()
    csv_path, xlsx_path = wb.export(view, tmp_path)
    back = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back.columns) == list(view.table.columns) and back.shape == view.table.shape
    assert pd.read_excel(xlsx_path, dtype=str, engine="openpyxl").shape == view.table.shape


def test_hostile_department_names_are_neutralised_in_exports(pipeline_run, tmp_path):
    processed = tmp_path / "processed"
    for y in YEARS:
        (processed / str(y)).mkdir(parents=True)
        for path in (pipeline_run.processed_dir / str(y)).glob("*"):
            if path.is_file():
                (processed / str(y) / path.name).write_bytes(path.read_bytes())
        path = processed / str(y) / "respondents.parquet"
        frame = schemas.read_table(schemas.RESPONDENTS, path)
        first, second = sorted(frame["department"].dropna().unique())[:2]
        frame["department"] = frame["department"].replace({first: "=HYPERLINK(\"http://x\")", second: HOSTILE})
        schemas.write_table(frame, schemas.RESPONDENTS, path)
    hostile = helpers.open(processed)
    view = hostile.view(2024, 2025, measure="annual_kgco2e", by="department")
    view.figure.canvas.draw()  # a "$" in a label must not start matplotlib's math mode (it would raise)
    assert HOSTILE in [t.get_text().replace("\\$", "$") for t in view.figure.axes[0].get_xticklabels()]
    assert "<b>" not in tables.show(view.table).to_html() and "&lt;b&gt;" in tables.show(view.table).to_html()
    csv_path, xlsx_path = hostile.export(view, tmp_path / "out")
    text = csv_path.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and not re.search(r"(^|,)=HYPERLINK", text, re.M)
    cells = pd.read_excel(xlsx_path, dtype=str, engine="openpyxl").iloc[:, 0].tolist()
    assert "'=HYPERLINK(\"http://x\")" in cells


def test_docstring_examples_run(sample_root, monkeypatch):
    monkeypatch.setattr(config, "PROCESSED", sample_root)
    globs = {"helpers": helpers, "wb": helpers.open("sample")}
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in doctest.DocTestFinder().find(workbench, globs=globs) if t.examples]
    for test in tests:
        runner.run(test, out=out.append)
    assert runner.tries >= 8, f"only {runner.tries} examples found"
    assert runner.failures == 0, "".join(out)


def test_explore_notebook_parameters_are_read_by_papermill():
    papermill = pytest.importorskip("papermill")
    found = papermill.inspect_notebook(str(config.NOTEBOOKS / "explore.ipynb"))
    assert set(found) == {"processed_dir", "year_a", "year_b", "measure", "breakdown", "department", "switch_from",
                          "switch_to", "min_cell", "main_mode_rule", "export_dir"}
    assert all(p["help"] for p in found.values())


def test_explore_notebook_runs_headless_and_is_not_a_report(pipeline_run, tmp_path, monkeypatch):
    path = config.NOTEBOOKS / "explore.ipynb"
    assert path.exists() and path.name not in [nb.path.name for nb in runner.discover()]  # not in the annual run
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(config.ROOT / "src"),
                                                                   os.environ.get("PYTHONPATH")])))
    executed, export = tmp_path / "explore.ipynb", tmp_path / "export"
    runner.execute_notebook(path, executed, {"processed_dir": str(pipeline_run.processed_dir),
                                             "export_dir": str(export), "department": ""})
    nb = nbformat.read(executed, as_version=4)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr"], "warnings or errors printed"
    text = json.dumps(outputs, ensure_ascii=False)
    static = [o for o in nb.cells[-1].outputs]  # the default view, shown statically at the end
    assert sum("image/png" in o.get("data", {}) for o in static) == 1
    html_tables = [o["data"]["text/html"] for o in static if "text/html" in o.get("data", {})]
    assert len(html_tables) == 3 and "33.59%" in html_tables[0] and "61.07%" in html_tables[0]
    assert "代號 Pseudonym" in html_tables[2] and re.search(r"[0-9a-f]{16}", html_tables[2])
    assert "nan" not in " ".join(html_tables).lower() and "Traceback" not in text
    assert sorted(p.suffix for p in export.iterdir()) == [".csv", ".xlsx"]
    # the live outputs (the widgets' drawings) are saved as widget state: the view, then the stayers' view
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    drawn = [[set(o["data"]) for o in w["state"]["outputs"]] for w in state.values() if w["model_name"] == "OutputModel"]
    drawn.sort(key=lambda parts: sum("text/html" in d for d in parts))  # the view (1 table), the stayers' (2)
    assert len(drawn) == 2 and {"image/png", "text/plain"} in drawn[0] and sum("text/html" in d for d in drawn[1]) == 2
    exporting = next(cell for cell in nb.cells if "wb.export(" in cell.source)
    assert [o["data"].keys() for o in exporting.outputs] == [{"text/markdown", "text/plain"}]  # no stray chart
    raw = pd.read_csv(pipeline_run.raw_dir / "2025" / "survey.csv", dtype=str, encoding="utf-8-sig")
    assert not [n for n in raw["員工編號"].dropna().unique() if n in text]
    pages.render_html(executed, tmp_path / "explore.html")
    assert "33.59%" in (tmp_path / "explore.html").read_text(encoding="utf-8")


def test_decompose_adds_up_to_the_change_of_the_annual_total(wb, published):
    table = wb.decompose(2024, 2025, raw=True)
    total = float(table.loc[table["effect"] == "total", "kgco2e"].iloc[0])
    assert total == pytest.approx(published[2025]["annual_total_kgco2e"] - published[2024]["annual_total_kgco2e"])
    assert table.loc[table["in_sum"], "kgco2e"].sum() == pytest.approx(total)
    assert len(wb.decompose(2024, 2025)) == len(table)
