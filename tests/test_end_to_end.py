"""End to end: `python -m helpers run` on the bundled sample reproduces the study's published figures.

Figures and their printed precision are the study's (docs/METHOD.md; commuting and business travel).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

PUBLISHED = {
    2025: {
        "respondents": 131, "routes": {"A": 105, "B": 8, "C": 18, "D": 4},
        "daily": "246.43", "annual": "44,950.43", "intensity": ("0.0833", 4),
        "distance_bins": {"<5": 50, "5-10": 37, "10-15": 17, "15-20": 5, "20-30": 15, ">=30": 7},
        "legs": {"public": 58, "non_motorised": 43, "private": 86},
        "main_modes": {"public": 44, "non_motorised": 7, "private": 80},
    },
    2024: {
        "respondents": 137, "daily": "272.87", "annual": "56,287.09", "intensity": ("0.084", 3),
        "legs": {"public": 60, "non_motorised": 43, "private": 89},
        "main_modes": {"public": 45, "non_motorised": 9, "private": 83},
    },
}
ATTITUDES_2025 = {
    "petrol_car_main_mode_users": 52,
    "alternatives": {"bus_city_diesel": 16, "bus_city_electric": 9, "mrt_taipei": 8},
    "barriers": {"flexible": 12, "wait_long": 11, "timetable": 10, "transfers": 7, "no_service": 6,
                 "station_far": 3, "child_transport": 3},
    "incentives": {"reward_scheme": 73, "tpass_subsidy": 60, "bike_station": 42, "escooter_parking": 24,
                   "ev_parking_fee": 20, "bike_parking": 18, "showers": 14},
}


def _summary(run, year: int) -> dict:
    return json.loads((run.out_dir / str(year) / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("year", [2024, 2025])
def test_summary_reproduces_the_published_commuting_figures(pipeline_run, year):
    s, pub = _summary(pipeline_run, year), PUBLISHED[year]
    assert s["year"] == year
    assert s["respondents"] == pub["respondents"]
    assert f"{s['daily_total_kgco2e']:,.2f}" == pub["daily"]
    assert f"{s['annual_total_kgco2e']:,.2f}" == pub["annual"]
    value, digits = pub["intensity"]
    assert f"{s['mean_intensity_kgco2e_per_pkm']:.{digits}f}" == value
    assert s["legs"] == pub["legs"]
    assert s["main_modes"] == pub["main_modes"]
    for key in ("routes", "distance_bins"):
        if key in pub:
            assert s[key] == pub[key]
    total_legs = sum(s["legs"].values())
    assert sum(s["leg_counts_by_mode"].values()) == total_legs
    assert sum(s["main_mode_counts_by_mode"].values()) == s["respondents"]
    assert round(100 * s["leg_counts_by_mode"]["car_petrol"] / total_legs) == 31  # "about 31%"


def test_published_shares_at_their_printed_precision(pipeline_run):
    s25, s24 = _summary(pipeline_run, 2025), _summary(pipeline_run, 2024)
    share = lambda part, whole: f"{100 * part / whole:.2f}%"  # noqa: E731
    assert [share(s25["legs"][g], 187) for g in ("public", "non_motorised", "private")] == ["31.02%", "22.99%", "45.99%"]
    assert [share(s24["legs"][g], 192) for g in ("public", "non_motorised", "private")] == ["31.25%", "22.40%", "46.35%"]
    assert [share(s25["main_modes"][g], 131) for g in ("public", "non_motorised", "private")] == ["33.59%", "5.34%", "61.07%"]
    assert [share(s24["main_modes"][g], 137) for g in ("public", "non_motorised", "private")] == ["32.85%", "6.57%", "60.58%"]
    assert f"{131 / 135:.2%}" == "97.04%"  # response rate: valid / (valid + declined)
    assert s25["respondents"] + s25["routes"]["D"] == 135


def test_attitude_counts_2025(pipeline_run):
    s = _summary(pipeline_run, 2025)
    assert s["petrol_car_main_mode_users"] == ATTITUDES_2025["petrol_car_main_mode_users"]
    for key in ("alternatives", "barriers", "incentives"):
        for code, n in ATTITUDES_2025[key].items():
            assert s[key].get(code) == n, (key, code)
    assert sum(s["alternatives"].values()) == 52
    assert _summary(pipeline_run, 2024)["alternatives"] == {}  # no attitude questions in the 2024 form


def test_business_travel_pilot(pipeline_run):
    bt = _summary(pipeline_run, 2025)["business_travel"]
    assert (bt["claims"], bt["taxi_claims"], bt["mrt_claims"], bt["bus_claims"]) == (47, 42, 3, 5)
    assert f"{bt['total_kgco2e']:.2f}" == "69.63"
    assert "business_travel" not in _summary(pipeline_run, 2024)


def test_every_report_is_rendered_linked_and_clean(pipeline_run):
    out = pipeline_run.out_dir
    top = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="2024/index.html"' in top and 'href="2025/index.html"' in top
    for year in (2024, 2025):
        index = (out / str(year) / "index.html").read_text(encoding="utf-8")
        pages = sorted(p.name for p in (out / str(year)).glob("[0-9][0-9]_*.html"))
        assert len(pages) == 7
        assert index.index("07_summary.html") < index.index("01_ingest.html"), "the summary is listed first"
        for page in pages:
            text = (out / str(year) / page).read_text(encoding="utf-8")
            body = re.sub(r"<style.*?</style>|<script.*?</script>", "", text, flags=re.S)
            assert page in index
            assert "Traceback" not in body and "jupyter.stderr" not in body and "jp-OutputArea-error" not in body, page
            assert "Warning" not in re.sub(r"<[^>]+>", "", body), page
            charted = ("02_", "03_", "04_", "05_", "06_") if year == 2025 else ("02_", "03_")  # 2024: no attitudes,
            assert "<img" in text or not page.startswith(charted), f"{year} {page} has no chart"  # claims or base
        manifest = json.loads((out / str(year) / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["parameters"]["year"] == year


def test_year_on_year_report_flags_the_walking_rule(pipeline_run):
    text = (pipeline_run.out_dir / "2025" / "05_year_on_year.html").read_text(encoding="utf-8")
    assert "walking rule differs" in text
    assert "44,950.43" in text and "56,287.09" in text


def test_walking_rule_caveat_names_both_years(pipeline_run):
    for page in ("03_mode_share.html", "05_year_on_year.html", "07_summary.html"):
        text = (pipeline_run.out_dir / "2025" / page).read_text(encoding="utf-8")
        assert "2024 年問卷未要求填寫 500 公尺以下的步行段；2025 年問卷記錄所有步行段" in text, page
        assert "本年問卷" not in text, page


def test_year_on_year_defaults_to_the_year_before_and_refuses_the_same_year(pipeline_run, tmp_path, monkeypatch):
    import nbformat
    import papermill

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "05_year_on_year.ipynb"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(Path(notebook).parents[1] / "src"),
                                                                   os.environ.get("PYTHONPATH")])))
    common = {"processed_dir": str(pipeline_run.processed_dir)}
    executed = tmp_path / "05.ipynb"
    papermill.execute_notebook(str(notebook), str(executed), kernel_name="python3", progress_bar=False,
                               cwd=str(notebook.parent), parameters={"year": 2025, **common})
    text = "\n".join(json.dumps(c.get("outputs", []), ensure_ascii=False)
                     for c in nbformat.read(executed, as_version=4).cells)
    assert "通勤排放 2024（民國113年） 與 2025（民國114年） 比較" in text
    with pytest.raises(papermill.PapermillExecutionError, match="cannot be compared with itself"):
        papermill.execute_notebook(str(notebook), str(tmp_path / "05_same.ipynb"), kernel_name="python3",
                                   progress_bar=False, cwd=str(notebook.parent),
                                   parameters={"year": 2024, "base_year": 2024, **common})


def test_every_report_page_links_the_method_page_of_its_folder(pipeline_run):
    for year in (2024, 2025):
        folder = pipeline_run.out_dir / str(year)
        method = (folder / "METHOD.html").read_text(encoding="utf-8")
        assert "分箱距離 binned distance" in method and "<table>" in method and "<h2" in method
        for page in sorted(folder.glob("[0-9][0-9]_*.html")):
            assert 'href="METHOD.html"' in page.read_text(encoding="utf-8"), page.name


def test_factor_report_table_in_emissions_and_summary(pipeline_run):
    for page in ("02_emissions.html", "07_summary.html"):
        text = (pipeline_run.out_dir / "2025" / page).read_text(encoding="utf-8")
        for header in ("由輸入值推導 Derived from inputs", "研究刊印 Printed", "採用 Used", "說明 Why"):
            assert header in text, (page, header)
        assert "0.068" in text, page  # the diesel city bus (used by the sample): printed 0.069, its inputs 0.068
    emissions = (pipeline_run.out_dir / "2025" / "02_emissions.html").read_text(encoding="utf-8")
    assert "0.0863" in emissions  # every mode in 02: Kaohsiung's printed 0.084 vs its inputs' 0.0863


def _text(run, year: int, page: str) -> str:
    html = (run.out_dir / str(year) / f"{page}.html").read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", "", re.sub(r"<style.*?</style>|<script.*?</script>", "", html, flags=re.S))


def test_inventory_over_the_years_in_the_2025_reports(pipeline_run):
    s = _summary(pipeline_run, 2025)
    assert (s["staff_in_scope"], s["response"]["valid"], s["response"]["declined"]) == (135, 131, 4)
    assert f"{s['response_rate']:.2%}" == "97.04%" and s["estimate_basis"] == "census"
    lo, hi = s["annual_total_kgco2e_ci95"]
    summary_page = _text(pipeline_run, 2025, "07_summary")
    assert f"44,950.43 (95 % CI {lo:,.2f}–{hi:,.2f})" in summary_page
    assert "97.04%" in summary_page and f"{s['annual_total_all_staff_kgco2e']:,.2f}" in summary_page
    change = s["change_decomposition"]
    assert sum(change[k] for k in ("leavers", "joiners", "attendance", "behaviour", "factors")) == \
        pytest.approx(change["total"], abs=1e-6)
    yoy = _text(pipeline_run, 2025, "05_year_on_year")
    assert "年排放量變化之分解" in yoy and f"{change['joiners']:+,.2f}" in yoy and "留任者主運具類別轉移" in yoy
    assert "不顯示趨勢" in yoy  # two years processed when 2025 ran


def test_2026_is_a_labelled_roll_forward_with_a_trend(pipeline_run):
    s = _summary(pipeline_run, 2026)
    assert s["estimate_basis"] == "roll_forward" and s["census_year"] == 2025
    assert s["roll_forward"]["joiners_answered"] == 6 and s["roll_forward"]["leavers"] == 7
    assert [t["estimate_basis"] for t in s["trend"]] == ["census", "census", "roll_forward"]
    for page in ("01_ingest", "02_emissions", "03_mode_share", "04_attitudes", "05_year_on_year", "07_summary"):
        text = _text(pipeline_run, 2026, page)
        assert "推估 Estimate：2026 年非普查年" in text and "以 2025 年普查為基礎" in text, page
        assert "Traceback" not in text and "Warning" not in text, page
    summary_page = _text(pipeline_run, 2026, "07_summary")
    assert "〔推估（以 2025 年普查為基礎）〕" in summary_page
    # the figure cards say so too, and give no census response rate ("—") for an off-year
    assert "員工通勤（推估）" in summary_page and "非普查年（以 2025 年普查推估）" in summary_page
    assert "填答率 —" not in summary_page and "員工通勤（填答者）" not in summary_page
    assert f"沿用 2025 年普查通勤資料 {s['roll_forward']['stayers_carried']} 人" in summary_page
    assert "推估 Roll-forward（2025 年普查）" in _text(pipeline_run, 2026, "05_year_on_year")
    assert '<img' in (pipeline_run.out_dir / "2026" / "05_year_on_year.html").read_text(encoding="utf-8")
