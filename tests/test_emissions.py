"""Emission arithmetic on small hand-made inventories (numbers checked by hand)."""

import pandas as pd
import pytest

from helpers.inventory import emissions

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


# Legs typed with 1-3 decimals whose float sum falls just below a bin edge (0.6 + 8.2 + 1.2 = 9.999999999999998):
# the exact sum is the edge, and the lower edge belongs to the bin above.
EDGE_SUMS = [
    (["0.1", "4.8", "0.1"], "5-10"),
    (["0.6", "8.2", "1.2"], "10-15"),
    (["0.1", "14.7", "0.2"], "15-20"),
    (["0.2", "19.4", "0.4"], "20-30"),
    (["0.7", "28.9", "0.4"], ">=30"),
    (["0.007", "9.982", "0.011"], "10-15"),  # typed to the metre
]


def _one_pattern_each(typed_legs: list[list[str]], days: list[float] | None = None):
    """An inventory of one respondent per leg list (typed km, parsed as ingestion does), one pattern each."""
    from helpers.survey import ingest
    ids = [f"r{i}" for i in range(len(typed_legs))]
    respondents = pd.DataFrame({"respondent_id": ids, "attendance_days": 200.0, "in_inventory": True})
    patterns = pd.DataFrame({"respondent_id": ids, "pattern_no": 1, "days_per_week": days or 5.0})
    rows = [(rid, 1, n + 1, "walk", km) for rid, legs in zip(ids, typed_legs) for n, km in enumerate(legs)]
    legs = pd.DataFrame(rows, columns=["respondent_id", "pattern_no", "leg_no", "mode_id", "km_text"])
    legs["distance_km"] = ingest.parse_distance_km(legs.pop("km_text"))
    return respondents, patterns, legs


@pytest.mark.parametrize(("typed", "expected_bin"), EDGE_SUMS)
def test_a_sum_of_legs_on_a_bin_edge_is_binned_above_it(typed, expected_bin):
    assert sum(float(k) for k in typed) < float(expected_bin.split("-")[0].lstrip(">="))  # float alone gets it wrong
    per = emissions.per_respondent(*_one_pattern_each([typed]), FACTORS)
    dist = emissions.distance_distribution(per)
    assert dist[expected_bin] == 1 and dist.sum() == 1
    assert per["one_way_km"].iloc[0] == float(expected_bin.split("-")[0].lstrip(">="))


def test_days_weighted_mean_of_several_patterns_on_an_edge_is_exact():
    # a: 0.6 + 8.2 + 1.2 = 10.0 km on 3 days and 0.1 + 9.7 + 0.2 = 10.0 km on 2 days -> mean 10.0 (10-15);
    # b: 0.1 + 14.7 + 0.2 = 15.0 km on 0.3 and on 0.1 days a week -> mean 15.0 (15-20)
    from helpers.survey import ingest
    respondents = pd.DataFrame({"respondent_id": ["a", "b"], "attendance_days": 200.0, "in_inventory": True})
    patterns = pd.DataFrame({"respondent_id": ["a", "a", "b", "b"], "pattern_no": [1, 2, 1, 2],
                             "days_per_week": [3.0, 2.0, 0.3, 0.1]})
    typed = {("a", 1): ["0.6", "8.2", "1.2"], ("a", 2): ["0.1", "9.7", "0.2"],
             ("b", 1): ["0.1", "14.7", "0.2"], ("b", 2): ["0.1", "14.7", "0.2"]}
    rows = [(rid, p, n + 1, "walk", km) for (rid, p), kms in typed.items() for n, km in enumerate(kms)]
    legs = pd.DataFrame(rows, columns=["respondent_id", "pattern_no", "leg_no", "mode_id", "km_text"])
    legs["distance_km"] = ingest.parse_distance_km(legs.pop("km_text"))
    per = emissions.per_respondent(respondents, patterns, legs, FACTORS).set_index("respondent_id")
    assert per.loc["a", "one_way_km"] == 10.0 and per.loc["b", "one_way_km"] == 15.0
    # (float sums and shares give 9.999999999999998 and 14.999999999999996: bins 5-10 and 10-15)
    assert emissions.distance_bin(per["one_way_km"]).astype(str).to_dict() == {"a": "10-15", "b": "15-20"}


def test_distances_are_kept_to_the_metre_from_the_typed_text():
    from helpers.survey import ingest
    got = ingest.parse_distance_km(pd.Series(["0.6", "10.0005", "3,25", "１２ km", "abc", "", "1e400"]))
    assert got.iloc[:4].tolist() == [0.6, 10.001, 3.25, 12.0]
    assert got.iloc[4:].isna().all()
    assert emissions.metres(got.iloc[:4]).tolist() == [600, 10001, 3250, 12000]
