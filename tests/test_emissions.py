"""Emission arithmetic on small hand-made inventories (numbers checked by hand)."""

import pandas as pd
import pytest

from helpers import emissions

FACTORS = {"car_petrol": 0.103, "mrt_taipei": 0.024, "walk": 0.0}


def _inventory():
    respondents = pd.DataFrame({"respondent_id": ["a", "b"], "attendance_days": [200.0, 100.0],
                                "in_inventory": [True, True]})
    patterns = pd.DataFrame({"respondent_id": ["a", "b", "b"], "pattern_no": [1, 1, 2],
                             "days_per_week": [5.0, 3.0, 2.0]})
    legs = pd.DataFrame({"respondent_id": ["a", "b", "b", "b"], "pattern_no": [1, 1, 2, 2], "leg_no": [1, 1, 1, 2],
                         "mode_id": ["car_petrol", "car_petrol", "walk", "mrt_taipei"],
                         "distance_km": [10.0, 20.0, 1.0, 9.0]})
    return respondents, patterns, legs


def test_daily_annual_and_intensity_by_hand():
    per = emissions.per_respondent(*_inventory(), FACTORS).set_index("respondent_id")
    # a: 2 x 10 km x 0.103 = 2.06 kg/day; x 200 days = 412 kg
    assert per.loc["a", "daily_kgco2e"] == pytest.approx(2.06)
    assert per.loc["a", "annual_kgco2e"] == pytest.approx(412.0)
    # b: 3/5 x (2 x 20 x 0.103) + 2/5 x (2 x 9 x 0.024) = 2.472 + 0.1728 = 2.6448 kg/day
    assert per.loc["b", "daily_kgco2e"] == pytest.approx(2.6448)
    assert per.loc["b", "one_way_km"] == pytest.approx(0.6 * 20 + 0.4 * 10)
    assert per.loc["b", "intensity_kgco2e_per_pkm"] == pytest.approx(2.6448 / (2 * 16))
    tot = emissions.totals(per.reset_index())
    assert tot["daily_total_kgco2e"] == pytest.approx(2.06 + 2.6448)
    assert tot["annual_total_kgco2e"] == pytest.approx(412.0 + 264.48)
    assert tot["mean_intensity_kgco2e_per_pkm"] == pytest.approx((0.103 + 2.6448 / 32) / 2)
    assert tot["ratio_intensity_kgco2e_per_pkm"] == pytest.approx((2.06 + 2.6448) / (20 + 32))


def test_excluded_respondents_do_not_count():
    respondents, patterns, legs = _inventory()
    respondents.loc[1, "in_inventory"] = False
    per = emissions.per_respondent(respondents, patterns, legs, FACTORS)
    assert list(per["respondent_id"]) == ["a"]


def test_missing_factor_names_the_mode():
    respondents, patterns, legs = _inventory()
    with pytest.raises(ValueError, match="mrt_taipei"):
        emissions.per_respondent(respondents, patterns, legs, {"car_petrol": 0.103, "walk": 0.0})


def test_distance_bins_edges_are_left_closed():
    per = pd.DataFrame({"one_way_km": [0.3, 4.99, 5.0, 10.0, 15.0, 20.0, 29.9, 30.0, 120.0]})
    dist = emissions.distance_distribution(per)
    assert dist.to_dict() == {"<5": 2, "5-10": 1, "10-15": 1, "15-20": 1, "20-30": 2, ">=30": 2}


def test_by_mode_adds_up_to_the_annual_total():
    respondents, patterns, legs = _inventory()
    per = emissions.per_respondent(respondents, patterns, legs, FACTORS)
    by_mode = emissions.by_mode(legs, patterns, per, FACTORS)
    assert by_mode["annual_kgco2e"].sum() == pytest.approx(per["annual_kgco2e"].sum())
