"""People across two years, linked by pseudonym: commute activity per person and mode, who stayed, joined or
left, and the stayers' main-mode-group transitions."""

from __future__ import annotations

import pandas as pd

from helpers import reference
from helpers.inventory import emissions

ACTIVITY_COLUMNS = ["respondent_id", "attendance_days", "mode_id", "daily_pkm"]


def activity(respondents: pd.DataFrame, patterns: pd.DataFrame, legs: pd.DataFrame) -> pd.DataFrame:
    """One row per person in the inventory and mode: respondent_id, attendance_days (days/yr), mode_id, daily_pkm.

    daily_pkm = sum over the person's legs of that mode of (pattern share of commuting days) x 2 x one-way km,
    so that daily kgCO2e = sum over modes of daily_pkm x factor, as emissions.per_respondent computes it.
    """
    people = respondents.loc[respondents["in_inventory"], ["respondent_id", "attendance_days"]]
    shares = emissions.pattern_shares(patterns)[["respondent_id", "pattern_no", "share"]]
    frame = legs.merge(shares, on=["respondent_id", "pattern_no"], how="left", validate="m:1")
    frame["daily_pkm"] = emissions.ROUND_TRIP * frame["distance_km"] * frame["share"]
    per_mode = frame.groupby(["respondent_id", "mode_id"], as_index=False)["daily_pkm"].sum()
    out = people.merge(per_mode, on="respondent_id", how="inner", validate="1:m")
    return out[ACTIVITY_COLUMNS].reset_index(drop=True)


def daily_kgco2e(activity_frame: pd.DataFrame, factors: dict[str, float]) -> pd.Series:
    """Daily kgCO2e per person (index respondent_id) of an activity() frame under a factor set."""
    factor = activity_frame["mode_id"].map(factors).astype("float64")
    if factor.isna().any():
        missing = sorted(activity_frame.loc[factor.isna(), "mode_id"].astype(str).unique())
        raise ValueError(f"no emission factor for mode(s) {missing} in the factor set")
    return (activity_frame["daily_pkm"] * factor).groupby(activity_frame["respondent_id"]).sum()


def attendance(activity_frame: pd.DataFrame) -> pd.Series:
    """Attendance days per person (index respondent_id) of an activity() frame."""
    return activity_frame.drop_duplicates("respondent_id").set_index("respondent_id")["attendance_days"]


def link(ids_base: pd.Series, ids_year: pd.Series) -> dict[str, pd.Index]:
    """Stayers (in both years), joiners (this year only) and leavers (base year only), as sorted id indexes."""
    base, year = pd.Index(ids_base.unique()), pd.Index(ids_year.unique())
    return {"stayers": year.intersection(base).sort_values(), "joiners": year.difference(base).sort_values(),
            "leavers": base.difference(year).sort_values()}


def transitions(main_base: pd.DataFrame, main_year: pd.DataFrame) -> pd.DataFrame:
    """Stayers' main-mode group, base year (rows) x year (columns), counts of persons (every group shown)."""
    both = main_base[["respondent_id", "group"]].merge(main_year[["respondent_id", "group"]], on="respondent_id",
                                                       suffixes=("_base", "_year"))
    groups = list(reference.GROUPS)
    table = pd.crosstab(pd.Categorical(both["group_base"], groups), pd.Categorical(both["group_year"], groups),
                        dropna=False)
    table.index.name, table.columns.name = "base", "year"
    return table.reindex(index=groups, columns=groups, fill_value=0).astype("int64")


def transition_table(main_base: pd.DataFrame, main_year: pd.DataFrame, min_cell: int = 3) -> pd.DataFrame:
    """transitions() for display: group labels, cells under min_cell shown as '<k' (privacy.suppress_small)."""
    from helpers import privacy

    table = transitions(main_base, main_year)
    shown = privacy.suppress_small(table.rename(columns=reference.group_label), k=min_cell)
    shown.insert(0, "上年度主運具 Base year ↓ / 本年度 Year →", [reference.group_label(g) for g in table.index])
    return shown.reset_index(drop=True)
