"""Mode shares: leg-count share and trip main-mode share, per mode and per group."""

from __future__ import annotations

import pandas as pd

from helpers import reference
from helpers.inventory import emissions

MAIN_MODE_RULES = {
    "longest": "主運具＝距離最長的一段；同距離時依運具優先序（軌道 > 公路大眾運輸 > 私人機動 > 非機動）",
    "public_first": "主運具＝若有大眾運輸段則取其中最長者，否則取距離最長的一段；同距離時依運具優先序",
}


def main_pattern(patterns: pd.DataFrame) -> pd.DataFrame:
    """Each respondent's main pattern: most days per week, ties -> lowest pattern number."""
    ordered = patterns.sort_values(["respondent_id", "days_per_week", "pattern_no"], ascending=[True, False, True])
    return ordered.drop_duplicates("respondent_id")[["respondent_id", "pattern_no"]]


def main_modes(patterns: pd.DataFrame, legs: pd.DataFrame, rule: str = "longest",
               modes: pd.DataFrame | None = None) -> pd.DataFrame:
    """One main mode per respondent (of the main pattern) under `rule`: respondent_id, mode_id, group."""
    if rule not in MAIN_MODE_RULES:
        raise ValueError(f"main-mode rule {rule!r} unknown; expected one of {sorted(MAIN_MODE_RULES)}")
    modes = reference.modes() if modes is None else modes
    # as main_pattern() and the picks below, on integer codes in respondent-id order (faster than text keys)
    legs_key, patterns_key = emissions.id_codes(legs["respondent_id"], patterns["respondent_id"])
    main = main_pattern(patterns.assign(respondent_id=patterns_key)).rename(columns={"respondent_id": "key"})
    cand = legs.assign(key=legs_key).merge(main, on=["key", "pattern_no"])
    cand = cand.merge(modes[["mode_id", "group", "priority"]], on="mode_id", how="left", validate="m:1")
    if cand["group"].isna().any():
        raise ValueError(f"modes not in the catalogue: {sorted(cand.loc[cand['group'].isna(), 'mode_id'].unique())}")
    keys = ["key", "distance_km", "priority"]
    ascending = [True, False, True]
    if rule == "public_first":
        cand["not_public"] = cand["group"] != "public"
        keys.insert(1, "not_public")
        ascending.insert(1, True)
    picked = cand.sort_values(keys, ascending=ascending).drop_duplicates("key")
    return picked[["respondent_id", "mode_id", "group"]].reset_index(drop=True)


def _shares(counts: pd.Series, index: list[str]) -> pd.DataFrame:
    counts = counts.reindex(index, fill_value=0).astype("int64")
    total = counts.sum()
    return pd.DataFrame({"count": counts, "share": counts / total if total else 0.0})


def leg_share_by_group(legs: pd.DataFrame, modes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Legs per mode group and their share (every leg of every pattern counts once)."""
    modes = reference.modes() if modes is None else modes
    groups = legs["mode_id"].map(dict(zip(modes["mode_id"], modes["group"])))
    return _shares(groups.value_counts(), list(reference.GROUPS))


def leg_share_by_mode(legs: pd.DataFrame, modes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Legs per mode and their share, in catalogue order, modes with no leg included as 0."""
    modes = reference.modes() if modes is None else modes
    return _shares(legs["mode_id"].value_counts(), modes["mode_id"].tolist())


def main_share_by_group(main: pd.DataFrame) -> pd.DataFrame:
    """Respondents per main-mode group and their share."""
    return _shares(main["group"].value_counts(), list(reference.GROUPS))


def main_share_by_mode(main: pd.DataFrame, modes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Respondents per main mode and their share, in catalogue order."""
    modes = reference.modes() if modes is None else modes
    return _shares(main["mode_id"].value_counts(), modes["mode_id"].tolist())
