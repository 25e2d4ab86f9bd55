"""Off-year roll-forward from a census: a year rolled onto itself reproduces its total; the 2026 sample example;
the settings a careless operator gets wrong."""

from __future__ import annotations

import shutil

import pytest

from helpers import config
from helpers.inventory import decompose, emissions, rollforward
from helpers.publish import summary
from helpers.schemas import LEGS, PATTERNS, RESPONDENTS
from helpers.survey import ingest
from helpers.synthetic import bench

KEY = b"rollforward-test-key"


def _onto_itself(tables: dict) -> tuple[dict, dict]:
    """Roll a census year onto itself: the same roster, nobody answers the off-year survey."""
    nobody = {"respondents": RESPONDENTS.empty(), "patterns": PATTERNS.empty(), "legs": LEGS.empty(),
              "staff": tables["staff"]}
    return rollforward.roll_forward(tables, nobody, 2025, 2025)


def _total(tables: dict, factors: dict) -> float:
    per = emissions.per_respondent(tables["respondents"], tables["patterns"], tables["legs"], factors)
    return float(per["annual_kgco2e"].sum())


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    processed = tmp_path_factory.mktemp("rollforward") / "processed"
    for year in (2024, 2025, 2026):
        ingest.ingest_year(year, config.RAW / "sample", processed, key=KEY)
    return processed


def test_roll_forward_of_2025_onto_itself_reproduces_its_total(sample_dir):
    census = ingest.load_year(sample_dir, 2025)
    rolled, counts = _onto_itself(census)
    res = summary.year_results(sample_dir, 2025)
    assert f"{_total(rolled, res.factors):,.2f}" == "44,950.43"
    assert _total(rolled, res.factors) == pytest.approx(res.totals["annual_total_kgco2e"], abs=1e-9)
    assert counts["stayers"] == 135 and counts["stayers_carried"] == 131 and counts["stayers_estimated"] == 4
    assert counts["joiners"] == counts["leavers"] == 0


def test_the_2026_sample_is_rolled_forward_from_2025(sample_dir):
    report = ingest.load_year(sample_dir, 2026)["report"]
    assert (report["estimate_basis"], report["census_year"], report["routes"]["C"]) == ("roll_forward", 2025, 6)
    s = summary.build_summary(2026, processed_dir=sample_dir)
    assert s["estimate_basis"] == "roll_forward" and s["census_year"] == 2025
    rf = s["roll_forward"]
    assert (rf["stayers"], rf["stayers_carried"], rf["stayers_estimated"]) == (128, 124, 4)
    assert (rf["joiners"], rf["joiners_answered"], rf["joiners_estimated"], rf["leavers"]) == (9, 6, 3, 7)
    assert s["respondents"] == rf["stayers_carried"] + rf["joiners_answered"]
    assert s["staff_in_scope"] == 137 and s["response_rate"] is None  # only newcomers were asked
    assert s["extrapolation"]["persons"] == 137  # estimated: 4 stayers without census data + 3 silent joiners
    assert s["extrapolation"]["department_mean"] + s["extrapolation"]["overall_mean"] == 7
    # the change from the census: stayers kept their commute, so no behaviour effect; the effects add up
    change = s["change_decomposition"]
    assert change["behaviour"] == 0.0 and change["factors"] == 0.0
    assert sum(v for k, v in change.items() if k in decompose.EFFECTS) == pytest.approx(change["total"], abs=1e-6)
    # three years: a trend, census and roll-forward marked
    assert [(t["year"], t["estimate_basis"]) for t in s["trend"]] == [(2024, "census"), (2025, "census"),
                                                                     (2026, "roll_forward")]
    assert s["trend"][0]["annual_total_all_staff_kgco2e"] is None  # 2024: no roster
    assert summary.build_summary(2025, processed_dir=sample_dir)["trend"] is None  # two years only
    assert "2025" in rollforward.label(report) and rollforward.label({"estimate_basis": "census"}) == ""


def test_roll_forward_onto_itself_on_a_generated_staff(tmp_path):
    bench.generate(700, tmp_path / "raw")
    for year in (2024, 2025):
        ingest.ingest_year(year, tmp_path / "raw", tmp_path / "processed", key=KEY)
    census = ingest.load_year(tmp_path / "processed", 2025)
    rolled, counts = _onto_itself(census)
    res = summary.year_results(tmp_path / "processed", 2025)
    assert _total(rolled, res.factors) == pytest.approx(res.totals["annual_total_kgco2e"], rel=1e-12)
    assert counts["stayers_carried"] == res.totals["respondents"]
    assert counts["stayers_estimated"] == counts["staff_in_scope"] - res.totals["respondents"]


def test_operator_errors_are_named(tmp_path, sample_dir):
    ref = tmp_path / "reference"
    shutil.copytree(config.REFERENCE, ref)
    path = ref / "survey" / "2026.yaml"
    text = path.read_text(encoding="utf-8")
    raw = config.RAW / "sample"
    path.write_text(text.replace("roll_forward_from: 2025", "roll_forward_from: 2026"), encoding="utf-8")
    with pytest.raises(ingest.IngestError, match="must be an earlier census year than 2026"):
        ingest.ingest_year(2026, raw, sample_dir, key=KEY, reference_dir=ref)
    path.write_text(text.replace("roll_forward_from: 2025", "roll_forward_from: 2023"), encoding="utf-8")
    with pytest.raises(ingest.IngestError, match="2023 has not been processed; run it first"):
        ingest.ingest_year(2026, raw, sample_dir, key=KEY, reference_dir=ref)
    cut = text.index("roster:")
    path.write_text(text[:cut] + text[text.index("# attendance days"):], encoding="utf-8")
    with pytest.raises(ingest.IngestError, match="needs the personnel office's roster"):
        ingest.ingest_year(2026, raw, sample_dir, key=KEY, reference_dir=ref)
    with pytest.raises(ValueError, match="needs this year's roster"):
        rollforward.roll_forward(ingest.load_year(sample_dir, 2025), {"respondents": RESPONDENTS.empty()}, 2026, 2025)
