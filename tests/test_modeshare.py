"""Main-mode rules and share tables."""

import pandas as pd
import pytest

from helpers.inventory import modeshare


def _trip(legs, days=(5.0,)):
    patterns = pd.DataFrame({"respondent_id": "r", "pattern_no": range(1, len(days) + 1), "days_per_week": days})
    frame = pd.DataFrame(legs, columns=["pattern_no", "leg_no", "mode_id", "distance_km"]).assign(respondent_id="r")
    return patterns, frame


def test_longest_leg_is_the_main_mode():
    patterns, legs = _trip([(1, 1, "walk", 0.8), (1, 2, "mrt_taipei", 9.0), (1, 3, "bus_city_diesel", 2.0)])
    assert modeshare.main_modes(patterns, legs).loc[0, "mode_id"] == "mrt_taipei"


def test_tie_goes_to_the_documented_priority():
    patterns, legs = _trip([(1, 1, "motorcycle_petrol", 5.0), (1, 2, "tra", 5.0)])
    assert modeshare.main_modes(patterns, legs).loc[0, "mode_id"] == "tra"


def test_public_first_rule_prefers_public_transport():
    patterns, legs = _trip([(1, 1, "car_petrol", 8.0), (1, 2, "tra", 5.0)])
    assert modeshare.main_modes(patterns, legs, rule="longest").loc[0, "mode_id"] == "car_petrol"
    assert modeshare.main_modes(patterns, legs, rule="public_first").loc[0, "mode_id"] == "tra"


def test_main_pattern_is_the_one_with_most_days():
    patterns, legs = _trip([(1, 1, "car_petrol", 20.0), (2, 1, "motorcycle_petrol", 18.0)], days=(2.0, 3.0))
    assert modeshare.main_modes(patterns, legs).loc[0, "mode_id"] == "motorcycle_petrol"


def test_unknown_rule_is_refused():
    patterns, legs = _trip([(1, 1, "walk", 1.0)])
    with pytest.raises(ValueError, match="rule"):
        modeshare.main_modes(patterns, legs, rule="fastest")


def test_leg_shares_count_every_leg_and_sum_to_one():
    legs = pd.DataFrame({"mode_id": ["walk", "mrt_taipei", "walk", "car_petrol"]})
    by_group = modeshare.leg_share_by_group(legs)
    assert by_group["count"].to_dict() == {"public": 1, "non_motorised": 2, "private": 1}
    assert by_group["share"].sum() == pytest.approx(1.0)
