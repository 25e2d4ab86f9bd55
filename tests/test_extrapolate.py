"""All-staff extrapolation: equals respondents-only when everyone answered; department means under min_cell."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.inventory import extrapolate


def _per(ids, depts, daily, days):
    return pd.DataFrame({"respondent_id": ids, "department": depts, "daily_kgco2e": daily,
                         "attendance_days": days, "annual_kgco2e": [d * a for d, a in zip(daily, days)]})


def _status(ids, depts, days):
    return pd.DataFrame({"respondent_id": ids, "department": pd.Series(depts, dtype="string"),
                         "attendance_days": days, "status": "valid"})


def test_everyone_answered_gives_the_respondents_total():
    per = _per(["a", "b", "c"], ["X", "X", "Y"], [1.0, 2.0, 4.0], [200.0, 100.0, 50.0])
    out = extrapolate.extrapolate(per, _status(["a", "b", "c"], ["X", "X", "Y"], [200.0, 100.0, 50.0]), min_cell=1)
    assert out["annual_kgco2e"].sum() == pytest.approx(per["annual_kgco2e"].sum(), abs=1e-12)
    assert (out["basis"] == "respondent").all()


def test_department_mean_when_enough_respondents_else_all_respondents():
    per = _per(["a", "b", "c", "d"], ["X", "X", "X", "Y"], [1.0, 2.0, 3.0, 10.0], [100.0] * 4)
    status = _status(["a", "b", "c", "d", "e", "f", "g"], ["X", "X", "X", "Y", "X", "Y", "Z"],
                     [100.0] * 4 + [10.0, 20.0, None])
    out = extrapolate.extrapolate(per, status, min_cell=3).set_index("respondent_id")
    assert out.loc["e", "basis"] == "department_mean" and out.loc["e", "annual_kgco2e"] == pytest.approx(2.0 * 10)
    overall = (1 + 2 + 3 + 10) / 4
    assert out.loc["f", "basis"] == "overall_mean" and out.loc["f", "annual_kgco2e"] == pytest.approx(overall * 20)
    # no attendance days on the roster: the respondents' mean attendance, flagged
    assert out.loc["g", "attendance_estimated"] and out.loc["g", "annual_kgco2e"] == pytest.approx(overall * 100)
    summary = extrapolate.all_staff_summary(out.reset_index(), 3)
    assert summary["extrapolation"] == {"min_cell": 3, "persons": 7, "respondent": 4, "department_mean": 1,
                                        "overall_mean": 2, "attendance_estimated": 1}
    with pytest.raises(ValueError, match="min_cell"):
        extrapolate.extrapolate(per, status, min_cell=0)


def test_sample_all_staff_total_beside_the_published_figure(tmp_path):
    from helpers import config
    from helpers.publish import summary
    from helpers.survey import ingest

    for year in (2024, 2025):
        ingest.ingest_year(year, config.RAW / "sample", tmp_path, key=b"extrapolate-test")
    s = summary.build_summary(2025, processed_dir=tmp_path)
    assert f"{s['annual_total_kgco2e']:,.2f}" == "44,950.43"  # unchanged
    assert s["staff_in_scope"] == 135 and f"{s['response_rate']:.2%}" == "97.04%"
    ext = s["extrapolation"]
    assert ext["persons"] == 135 and ext["department_mean"] + ext["overall_mean"] == 4
    assert s["annual_total_all_staff_kgco2e"] > s["annual_total_kgco2e"]
    assert s["extrapolation_method"] == extrapolate.METHOD
    assert summary.build_summary(2024, processed_dir=tmp_path)["staff_in_scope"] is None


def test_generated_staff_all_staff_total(tmp_path):
    from helpers.publish import summary
    from helpers.survey import ingest
    from helpers.synthetic import bench

    bench.generate(900, tmp_path / "raw")
    for year in (2024, 2025):
        ingest.ingest_year(year, tmp_path / "raw", tmp_path / "processed", key=b"extrapolate-test")
    s = summary.build_summary(2025, processed_dir=tmp_path / "processed")
    ext, response = s["extrapolation"], s["response"]
    assert ext["persons"] == s["staff_in_scope"] == response["valid"] + response["declined"] + response["not_answered"]
    assert ext["department_mean"] + ext["overall_mean"] == response["declined"] + response["not_answered"]
    assert ext["department_mean"] > 0  # departments of about 100 respondents have their own mean
    per_person_mean = s["annual_total_kgco2e"] / s["respondents"]
    estimated = s["annual_total_all_staff_kgco2e"] - s["annual_total_kgco2e"]
    assert estimated == pytest.approx(per_person_mean * (ext["persons"] - s["respondents"]), rel=0.25)


@pytest.mark.parametrize("source", ["sample", "generated"])
def test_roster_of_respondents_only_gives_the_respondents_total(tmp_path, source):
    from helpers import config
    from helpers.publish import summary
    from helpers.survey import ingest
    from helpers.synthetic import bench

    raw = config.RAW / "sample"
    if source == "generated":
        raw = tmp_path / "raw"
        bench.generate(500, raw)
    for year in (2024, 2025):
        ingest.ingest_year(year, raw, tmp_path / "processed", key=b"extrapolate-test")
    res = summary.year_results(tmp_path / "processed", 2025)
    staff = res.tables["staff"]
    res.tables["staff"] = staff[staff["respondent_id"].isin(res.per_person["respondent_id"])]  # everyone answered
    out = summary.staff_summary(res)
    assert out["response_rate"] == 1.0
    assert out["annual_total_all_staff_kgco2e"] == pytest.approx(res.totals["annual_total_kgco2e"], rel=1e-12)
