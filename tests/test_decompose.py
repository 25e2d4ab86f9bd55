"""Year-on-year change explained: the effects add up to the change, each effect isolates what it names."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import config
from helpers.inventory import decompose, panel
from helpers.publish import summary
from helpers.survey import ingest
from helpers.synthetic import bench

KEY = b"decompose-test-key"


def _act(rows):
    return pd.DataFrame(rows, columns=panel.ACTIVITY_COLUMNS)


def _in_sum(table):
    return table.loc[table["in_sum"], "kgco2e"].sum()


def _effects(table):
    return table.set_index("effect")["kgco2e"]


FAC0 = {"car_petrol": 0.1, "mrt_taipei": 0.02, "walk": 0.0}
FAC1 = {"car_petrol": 0.1, "mrt_taipei": 0.03, "walk": 0.0}


def test_each_effect_isolates_its_cause():
    base = _act([("s", 200.0, "car_petrol", 20.0), ("l", 100.0, "mrt_taipei", 30.0)])
    # only the stayer's attendance changes, a joiner arrives, the leaver leaves; same factors
    year = _act([("s", 150.0, "car_petrol", 20.0), ("j", 50.0, "mrt_taipei", 10.0)])
    eff = _effects(decompose.decompose(base, year, FAC0, FAC0))
    assert eff["attendance"] == pytest.approx(20 * 0.1 * (150 - 200))
    assert eff["behaviour"] == pytest.approx(0) and eff["factors"] == pytest.approx(0)
    assert eff["leavers"] == pytest.approx(-30 * 0.02 * 100) and eff["joiners"] == pytest.approx(10 * 0.02 * 50)
    # only the commute changes (car -> MRT, same days): all of it is behaviour
    year = _act([("s", 200.0, "mrt_taipei", 20.0)])
    eff = _effects(decompose.decompose(base.iloc[:1], year, FAC0, FAC0))
    assert eff["behaviour"] == pytest.approx(20 * (0.02 - 0.1) * 200) and eff["attendance"] == pytest.approx(0)
    # only the factor set changes: the factor effect, for stayers and joiners alike
    year = _act([("s", 200.0, "mrt_taipei", 20.0), ("j", 100.0, "mrt_taipei", 5.0)])
    eff = _effects(decompose.decompose(year.iloc[:1], year, FAC0, FAC1))
    assert eff["factors"] == pytest.approx(20 * 0.01 * 200 + 5 * 0.01 * 100)  # stayer + joiner, new factors
    assert eff["joiners"] == pytest.approx(5 * 0.02 * 100)


def test_everything_changes_and_the_effects_still_add_up():
    base = _act([("a", 200.0, "car_petrol", 20.0), ("a", 200.0, "walk", 1.0), ("b", 180.0, "mrt_taipei", 30.0),
                 ("c", 150.0, "car_petrol", 8.0)])
    year = _act([("a", 170.0, "mrt_taipei", 22.0), ("b", 210.0, "mrt_taipei", 25.0), ("b", 210.0, "walk", 0.6),
                 ("d", 90.0, "car_petrol", 40.0)])
    table = decompose.decompose(base, year, FAC0, FAC1)
    total = table.attrs["total_year_kgco2e"] - table.attrs["total_base_kgco2e"]
    assert _in_sum(table) == pytest.approx(total, abs=1e-9)
    assert _effects(table)["total"] == pytest.approx(total, abs=1e-12)
    assert _effects(table)["walking_rule"] == 0.0  # walks change leg counts, not kg
    assert dict(zip(table["effect"], table["persons"]))["joiners"] == 1


@pytest.fixture(scope="module")
def sample_results(tmp_path_factory):
    processed = tmp_path_factory.mktemp("decompose") / "processed"
    for year in (2024, 2025):
        ingest.ingest_year(year, config.RAW / "sample", processed, key=KEY)
    return summary.year_results(processed, 2024), summary.year_results(processed, 2025)


def test_sample_change_2024_to_2025_sums_to_the_published_difference(sample_results):
    base, res = sample_results
    table = decompose.decompose_years(base, res)
    change = res.totals["annual_total_kgco2e"] - base.totals["annual_total_kgco2e"]
    assert f"{change:,.2f}" == f"{44950.43 - 56287.09:,.2f}"
    assert _in_sum(table) == pytest.approx(change, abs=1e-6)
    eff = _effects(table)
    assert eff["factors"] == 0.0  # both years use the 2024 factor set
    persons = dict(zip(table["effect"], table["persons"]))
    assert (persons["joiners"], persons["leavers"], persons["attendance"]) == (18, 24, 113)  # routes C; D + left; A + B
    # a different factor set for 2025 (e.g. a new grid factor): still exact, now with a factor effect
    act = [panel.activity(r.tables["respondents"], r.tables["patterns"], r.tables["legs"]) for r in (base, res)]
    new = {m: f * (0.9 if m.startswith(("mrt", "tra", "thsr")) else 1.0) for m, f in res.factors.items()}
    table = decompose.decompose(act[0], act[1], base.factors, new)
    assert _in_sum(table) == pytest.approx(_effects(table)["total"], abs=1e-6) and _effects(table)["factors"] < 0


def test_transitions_of_stayers_with_suppression(sample_results):
    base, res = sample_results
    table = panel.transitions(base.main_modes, res.main_modes)
    assert int(table.to_numpy().sum()) == 113
    shown = panel.transition_table(base.main_modes, res.main_modes, min_cell=3)
    cells = shown.drop(columns=shown.columns[0]).to_numpy().ravel()
    assert all(c == "<3" or int(c.replace(",", "")) >= 3 for c in cells)


def test_generated_staff_change_sums(tmp_path):
    bench.generate(800, tmp_path / "raw")
    for year in (2024, 2025):
        ingest.ingest_year(year, tmp_path / "raw", tmp_path / "processed", key=KEY)
    base, res = (summary.year_results(tmp_path / "processed", y) for y in (2024, 2025))
    table = decompose.decompose_years(base, res)
    change = res.totals["annual_total_kgco2e"] - base.totals["annual_total_kgco2e"]
    assert _in_sum(table) == pytest.approx(change, rel=1e-12, abs=1e-6)
    assert (_effects(table)[["leavers", "joiners", "attendance", "behaviour"]] != 0).all()
