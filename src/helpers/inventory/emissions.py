"""Commuting emissions: per leg, per respondent (daily and annual), totals, intensity and distance bins."""

from __future__ import annotations

import numpy as np
import pandas as pd

ROUND_TRIP = 2  # each reported leg is travelled there and back on a commuting day
DISTANCE_BINS_KM = (0, 5, 10, 15, 20, 30, np.inf)
DISTANCE_BIN_LABELS = ("<5", "5-10", "10-15", "15-20", "20-30", ">=30")


def attach_factors(legs: pd.DataFrame, factors: dict[str, float]) -> pd.DataFrame:
    """Legs with factor_kgco2e_per_pkm and one-way emission_kgco2e; unknown modes raise naming the mode."""
    out = legs.copy()
    out["factor_kgco2e_per_pkm"] = out["mode_id"].map(factors).astype("float64")
    missing = out.loc[out["factor_kgco2e_per_pkm"].isna(), "mode_id"].unique()
    if len(missing):
        raise ValueError(f"no emission factor for mode(s) {sorted(map(str, missing))} in the factor set")
    out["emission_kgco2e"] = out["distance_km"] * out["factor_kgco2e_per_pkm"]
    return out


def pattern_shares(patterns: pd.DataFrame) -> pd.DataFrame:
    """Patterns with share = days_per_week / the respondent's total commuting days per week."""
    out = patterns.copy()
    out["share"] = out["days_per_week"] / out.groupby("respondent_id")["days_per_week"].transform("sum")
    return out


def per_respondent(respondents: pd.DataFrame, patterns: pd.DataFrame, legs: pd.DataFrame,
                   factors: dict[str, float]) -> pd.DataFrame:
    """One row per respondent in the inventory: one-way km, daily km and kgCO2e, annual kgCO2e, intensity.

    daily = sum over patterns of share x sum over legs of 2 x distance_km x factor;
    annual = daily x attendance_days; intensity = daily kgCO2e / daily km (kgCO2e per pkm).
    one_way_km (the distance that is binned) = days-weighted mean of the patterns' one-way distances, computed
    exactly: legs summed in whole metres, days per week weighted to 1/1000 day (see `weighted_one_way_km`).
    """
    people = respondents.loc[respondents["in_inventory"], ["respondent_id", "attendance_days"]]
    legs_f = attach_factors(legs, factors)
    shares = pattern_shares(patterns)[["respondent_id", "pattern_no", "share", "days_per_week"]]
    # grouped and joined on an integer code per respondent: several times faster than on the text ids
    people_key, shares_key, legs_key = id_codes(people["respondent_id"], shares["respondent_id"],
                                                legs_f["respondent_id"])
    per_pattern = pd.DataFrame({"key": legs_key, "pattern_no": legs_f["pattern_no"].to_numpy(),
                                "m": metres(legs_f["distance_km"]), "kg": legs_f["emission_kgco2e"].to_numpy()})
    per_pattern = per_pattern.groupby(["key", "pattern_no"], as_index=False).agg(
        one_way_m=("m", "sum"), one_way_kgco2e=("kg", "sum"))
    per_pattern = per_pattern.merge(pd.DataFrame({"key": shares_key, "pattern_no": shares["pattern_no"].to_numpy(),
                                                  "share": shares["share"].to_numpy(),
                                                  "days": shares["days_per_week"].to_numpy()}),
                                    on=["key", "pattern_no"], how="left", validate="1:1")
    # exact integers: metres x thousandths of a day, summed per respondent
    per_pattern["days_milli"] = np.rint(per_pattern["days"].to_numpy() * 1000).astype("int64")
    per_pattern["w_m"] = per_pattern["days_milli"] * per_pattern["one_way_m"]
    per_pattern["w_kg"] = per_pattern["share"] * per_pattern["one_way_kgco2e"]
    agg = per_pattern.groupby("key", as_index=False).agg(w_m=("w_m", "sum"), days_milli=("days_milli", "sum"),
                                                         one_way_kg=("w_kg", "sum"))
    agg["one_way_km"] = weighted_one_way_km(agg.pop("w_m"), agg.pop("days_milli"))
    out = people.assign(key=people_key).merge(agg, on="key", how="left", validate="1:1").drop(columns="key")
    if out["one_way_km"].isna().any():
        lacking = out.loc[out["one_way_km"].isna(), "respondent_id"].tolist()
        raise ValueError(f"respondents in the inventory without legs: {lacking[:5]} ({len(lacking)} in all)")
    out["daily_km"] = ROUND_TRIP * out["one_way_km"]
    out["daily_kgco2e"] = ROUND_TRIP * out.pop("one_way_kg")
    out["annual_kgco2e"] = out["daily_kgco2e"] * out["attendance_days"]
    out["intensity_kgco2e_per_pkm"] = out["daily_kgco2e"] / out["daily_km"]
    return out


def metres(distance_km: pd.Series) -> np.ndarray:
    """Whole metres (int64) of distances kept to the metre (ingest.parse_distance_km), recovered exactly."""
    return np.rint(np.asarray(distance_km, dtype="float64") * 1000).astype("int64")


def weighted_one_way_km(weighted_m: pd.Series, days_milli: pd.Series) -> pd.Series:
    """Days-weighted mean one-way km from exact integers: sum(days x metres) / (sum(days) x 1000).

    Both operands are integers below 2**53, so the one division is correctly rounded: a mean that is exactly a
    bin edge (10 km) comes out as that edge, and one below it (by at least 1/(days x 1000) m) stays below it.
    """
    return pd.Series(weighted_m, dtype="float64") / (pd.Series(days_milli, dtype="float64") * 1000)


def id_codes(*ids: pd.Series) -> list[np.ndarray]:
    """One integer code per distinct respondent id across the given columns, in sorted id order."""
    codes, _ = pd.factorize(pd.concat(list(ids), ignore_index=True), sort=True)
    return np.split(codes, np.cumsum([len(i) for i in ids])[:-1])


def totals(per_person: pd.DataFrame) -> dict[str, float]:
    """Inventory totals: daily and annual kgCO2e, mean intensity (study's) and ratio of totals, kgCO2e/pkm."""
    return {
        "respondents": int(len(per_person)),
        "daily_total_kgco2e": float(per_person["daily_kgco2e"].sum()),
        "annual_total_kgco2e": float(per_person["annual_kgco2e"].sum()),
        "mean_intensity_kgco2e_per_pkm": float(per_person["intensity_kgco2e_per_pkm"].mean()),
        "ratio_intensity_kgco2e_per_pkm": float(per_person["daily_kgco2e"].sum() / per_person["daily_km"].sum()),
        "daily_total_km": float(per_person["daily_km"].sum()),
    }


def distance_bin(one_way_km: pd.Series) -> pd.Series:
    """The study's one-way distance bin of each value: <5, 5-10, 10-15, 15-20, 20-30, >=30 km (lower edge in).

    Bin `per_respondent`'s one_way_km, which is exact at the edges; a float sum of legs is not (0.6 + 8.2 + 1.2).
    """
    return pd.cut(one_way_km, bins=list(DISTANCE_BINS_KM), labels=list(DISTANCE_BIN_LABELS), right=False)


def distance_distribution(per_person: pd.DataFrame) -> pd.Series:
    """Persons per one-way distance bin, in bin order (all bins present)."""
    return distance_bin(per_person["one_way_km"]).value_counts().reindex(list(DISTANCE_BIN_LABELS), fill_value=0)


def leg_emissions(legs: pd.DataFrame, patterns: pd.DataFrame, per_person: pd.DataFrame,
                  factors: dict[str, float]) -> pd.DataFrame:
    """Every leg of the respondents in per_person with its share of their commuting days and its round trips'
    daily_kgco2e, annual_kgco2e and annual_pkm (weighted by pattern share; annual: x attendance days)."""
    legs_f = attach_factors(legs, factors)
    shares = pattern_shares(patterns)
    # looked up on integer codes (respondent x pattern), as per_respondent(): much faster than text-key merges
    people_key, shares_key, legs_key = id_codes(per_person["respondent_id"], shares["respondent_id"],
                                                legs_f["respondent_id"])
    width = int(max(shares["pattern_no"].max(), legs_f["pattern_no"].max(), 0)) + 1 if len(legs_f) else 1
    pattern_pos = pd.Index(shares_key * width + shares["pattern_no"].to_numpy()).get_indexer(
        legs_key * width + legs_f["pattern_no"].to_numpy())
    person_pos = pd.Index(people_key).get_indexer(legs_key)
    found = (pattern_pos >= 0) & (person_pos >= 0)
    frame = legs_f[found].copy()
    frame["share"] = shares["share"].to_numpy()[pattern_pos[found]]
    frame["attendance_days"] = per_person["attendance_days"].to_numpy()[person_pos[found]]
    frame["daily_kgco2e"] = ROUND_TRIP * frame["emission_kgco2e"] * frame["share"]
    frame["annual_kgco2e"] = frame["daily_kgco2e"] * frame["attendance_days"]
    frame["annual_pkm"] = ROUND_TRIP * frame["distance_km"] * frame["share"] * frame["attendance_days"]
    return frame.reset_index(drop=True)


def mode_totals(leg_frame: pd.DataFrame) -> pd.DataFrame:
    """daily_kgco2e, annual_kgco2e and annual_pkm per mode_id of a leg_emissions() frame."""
    return leg_frame.groupby("mode_id", as_index=False, observed=True)[
        ["daily_kgco2e", "annual_kgco2e", "annual_pkm"]].sum()


def by_mode(legs: pd.DataFrame, patterns: pd.DataFrame, per_person: pd.DataFrame,
            factors: dict[str, float]) -> pd.DataFrame:
    """Annual kgCO2e per mode: each leg's round trips weighted by pattern share and attendance days."""
    return mode_totals(leg_emissions(legs, patterns, per_person, factors))
