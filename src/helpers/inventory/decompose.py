"""The change of the annual total between two years, split into additive effects that sum to it exactly.

total(year) - total(base) = leavers + joiners + attendance + behaviour + factors, where
- leavers   = - sum over people only in the base year of their base annual kgCO2e (base factors);
- joiners   = + sum over people only in this year of their annual kgCO2e under the BASE factors;
- attendance, behaviour, factors for stayers (people in both years, linked by pseudonym): the Shapley split of
  each stayer's change e(C, F) x D between attendance days D, commute C (distances, modes, patterns) and factor
  set F: each effect is its marginal contribution averaged over the 6 orders in which the three can change;
- factors also holds the joiners' change from base to this year's factors (same activity, new factors).
The walking rule (the 2024 form did not ask for walks under 500 m) changes leg counts, never kg: walking has
factor 0, so its effect is named with 0 kg (row walking_rule, a memo outside the sum).
See docs/METHOD.md, "Year-on-year change explained".
"""

from __future__ import annotations

from itertools import product
from math import factorial

import numpy as np
import pandas as pd

from helpers.inventory import panel

EFFECTS = ("leavers", "joiners", "attendance", "behaviour", "factors")
LABELS = {
    "leavers": "離開者（上年度有、本年度無）Leavers",
    "joiners": "新進者（本年度新納入）Joiners",
    "attendance": "留任者出勤天數 Stayers' attendance days",
    "behaviour": "留任者通勤行為（距離、運具）Stayers' commute (distance, mode)",
    "factors": "排放係數組 Factor set",
    "walking_rule": "步行記錄規則（只影響運具次數）Walking rule (leg counts only)",
    "total": "年排放量變化 Change of the annual total",
}
SHORT_LABELS = {"leavers": "離開者", "joiners": "新進者", "attendance": "出勤天數", "behaviour": "通勤行為",
                "factors": "排放係數"}  # chart ticks
WALK_MODES = ("walk",)


def shapley3(values: dict[tuple[int, int, int], np.ndarray]) -> list[np.ndarray]:
    """Shapley values of three players from v(s) for every s in {0,1}^3 (1 = the player's new value).

    Returns one array per player; they sum to v(1,1,1) - v(0,0,0) for every element.
    """
    n = 3
    out = []
    for player in range(n):
        phi = 0.0
        for s in product((0, 1), repeat=n):
            if s[player]:
                continue
            size = sum(s)
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            with_player = tuple(1 if k == player else s[k] for k in range(n))
            phi = phi + weight * (values[with_player] - values[s])
        out.append(phi)
    return out


def decompose(activity_base: pd.DataFrame, activity_year: pd.DataFrame, factors_base: dict[str, float],
              factors_year: dict[str, float]) -> pd.DataFrame:
    """Additive decomposition of the annual-total change, kgCO2e: effect, label, persons, kgco2e, in_sum.

    activity_*: panel.activity() of the base year and of this year; factors_*: {mode_id: kgCO2e/pkm} of each.
    The rows with in_sum True add up to the `total` row (= this year's total - the base year's total).
    """
    groups = panel.link(activity_base["respondent_id"], activity_year["respondent_id"])
    # e[(c, f)]: daily kgCO2e per person of commute c (0 base, 1 this year) under factor set f
    e = {(c, f): panel.daily_kgco2e(act, fac) for (c, act), (f, fac) in
         product(((0, activity_base), (1, activity_year)), ((0, factors_base), (1, factors_year)))}
    days = {0: panel.attendance(activity_base), 1: panel.attendance(activity_year)}
    stay, join, leave = groups["stayers"], groups["joiners"], groups["leavers"]
    values = {(d, c, f): (e[(c, f)].reindex(stay).to_numpy() * days[d].reindex(stay).to_numpy())
              for d, c, f in product((0, 1), repeat=3)}
    att, beh, fac = (float(np.sum(v)) for v in shapley3(values))
    joiners_base_f = float((e[(1, 0)].reindex(join) * days[1].reindex(join)).sum())
    joiners_year_f = float((e[(1, 1)].reindex(join) * days[1].reindex(join)).sum())
    effects = {
        "leavers": -float((e[(0, 0)].reindex(leave) * days[0].reindex(leave)).sum()),
        "joiners": joiners_base_f,
        "attendance": att,
        "behaviour": beh,
        "factors": fac + (joiners_year_f - joiners_base_f),
    }
    total_base = float((e[(0, 0)] * days[0].reindex(e[(0, 0)].index)).sum())
    total_year = float((e[(1, 1)] * days[1].reindex(e[(1, 1)].index)).sum())
    walk = _walk_kg(activity_year, factors_year) - _walk_kg(activity_base, factors_base)
    persons = {"leavers": len(leave), "joiners": len(join), "attendance": len(stay), "behaviour": len(stay),
               "factors": len(stay) + len(join), "walking_rule": len(stay), "total": len(stay) + len(join)}
    rows = [(k, v, True) for k, v in effects.items()] + [("walking_rule", walk, False),
                                                          ("total", total_year - total_base, False)]
    out = pd.DataFrame({"effect": [r[0] for r in rows], "label": [LABELS[r[0]] for r in rows],
                        "persons": [persons[r[0]] for r in rows], "kgco2e": [r[1] for r in rows],
                        "in_sum": [r[2] for r in rows]})
    out.attrs.update(total_base_kgco2e=total_base, total_year_kgco2e=total_year)
    return out


def _walk_kg(activity_frame: pd.DataFrame, factors: dict[str, float]) -> float:
    """Annual kgCO2e of the walking legs (0 while walking's factor is 0)."""
    walks = activity_frame[activity_frame["mode_id"].isin(WALK_MODES)]
    return float((walks["daily_pkm"] * walks["mode_id"].map(factors).astype("float64") * walks["attendance_days"]).sum())


def as_dict(table: pd.DataFrame) -> dict[str, float]:
    """{effect: kgCO2e} for summary.json (the five effects, walking_rule and total)."""
    return {str(k): float(v) for k, v in zip(table["effect"], table["kgco2e"])}


def decompose_years(base, res) -> pd.DataFrame:
    """decompose() of two helpers.publish.summary.YearResults (base year first)."""
    act = [panel.activity(r.tables["respondents"], r.tables["patterns"], r.tables["legs"]) for r in (base, res)]
    return decompose(act[0], act[1], base.factors, res.factors)


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The decomposition for a report: effect, persons, kgCO2e (signed) and share of the change."""
    total = float(table.loc[table["effect"] == "total", "kgco2e"].iloc[0])
    counted = table["in_sum"] | (table["effect"] == "total")
    return pd.DataFrame({
        "效果 Effect": table["label"],
        "人數 Persons": table["persons"].map("{:,}".format),
        "kgCO2e／年": table["kgco2e"].map(lambda v: f"{v + 0.0:+,.2f}"),  # + 0.0: no "-0.00"
        "占變化 Share of change": [f"{v / total + 0.0:.1%}" if shown and total else "—"
                                 for v, shown in zip(table["kgco2e"], counted)],
    })
