"""An off-year estimated from the last census (docs/METHOD.md §12.2): stayers keep their census commute with this
year's attendance days, leavers drop out, joiners use their answers (or the all-staff extrapolation).

A year is rolled forward when its form mapping says `roll_forward_from: <census year>`; its survey asks only
newcomers (route C; any other answer given is used too). The processed tables of the year hold what was
collected (answers, roster); `roll_forward` builds the year's inventory from them and the census year's tables.
"""

from __future__ import annotations

import pandas as pd

from helpers.schemas import isin_ids

ROUTE = "R"  # route of a carried stayer in the rolled-forward respondents (in memory only, never written)
LEGS_SOURCE = "census"
LABEL = "推估（以 {census} 年普查為基礎）"
LABEL_EN = "Estimate (rolled forward from the {census} census)"


def roll_forward(census: dict[str, pd.DataFrame], year_tables: dict[str, pd.DataFrame], year: int,
                 census_year: int) -> tuple[dict[str, pd.DataFrame], dict]:
    """The year's inventory tables (respondents, patterns, legs) and the counts of how each person is covered.

    census: the census year's processed tables (respondents, patterns, legs; staff if it had a roster);
    year_tables: this year's (respondents, patterns, legs, staff: the roster is required).
    Stayers = in scope this year and on the census year's staff (its roster, else its respondents); joiners =
    in scope this year only; leavers = on the census staff, not in scope this year. A stayer who answers this
    year uses the answer; a stayer in the census inventory with attendance days this year is carried (route
    "R", legs_source "census"); the other stayers and the joiners without an answer are left to the all-staff
    extrapolation (counted as estimated).
    """
    if "staff" not in year_tables:
        raise ValueError(f"{year}: a roll-forward year needs this year's roster (joiners, leavers, attendance days); "
                         "add `roster:` to the form mapping")
    staff = year_tables["staff"]
    scope = staff[staff["in_scope"]]
    resp = year_tables["respondents"]
    answered = set(resp.loc[resp["in_inventory"], "respondent_id"])
    declined = set(resp.loc[~resp["in_inventory"], "respondent_id"])
    c_resp = census["respondents"]
    if "staff" in census:
        census_staff = set(census["staff"].loc[census["staff"]["in_scope"], "respondent_id"])
    else:
        census_staff = set(c_resp["respondent_id"])
    members = set(c_resp.loc[c_resp["in_inventory"], "respondent_id"])
    in_scope = set(scope["respondent_id"])
    stayers, joiners, leavers = in_scope & census_staff, in_scope - census_staff, census_staff - in_scope
    has_days = set(scope.loc[scope["attendance_days"].notna(), "respondent_id"])
    carried = (stayers & members & has_days) - answered - declined
    carried_ids = pd.Series(sorted(carried), dtype="string")
    carry = scope[isin_ids(scope["respondent_id"], carried_ids)].sort_values("respondent_id")
    rows = pd.DataFrame({
        "respondent_id": carry["respondent_id"].to_numpy(), "year": int(year),
        "source_row": pd.array([pd.NA] * len(carry), dtype="Int64"),
        "submitted_at": pd.NaT, "route": ROUTE, "department": carry["department"].to_numpy(),
        "attendance_days": carry["attendance_days"].to_numpy(), "legs_source": LEGS_SOURCE, "in_inventory": True,
    })
    respondents = pd.concat([resp.astype({"source_row": "Int64"}), rows], ignore_index=True)
    keep = lambda frame: frame[isin_ids(frame["respondent_id"], carried_ids)]  # noqa: E731
    patterns = pd.concat([year_tables["patterns"], keep(census["patterns"])], ignore_index=True)
    legs = pd.concat([year_tables["legs"], keep(census["legs"])], ignore_index=True)
    counts = {
        "census_year": int(census_year), "staff_in_scope": len(in_scope),
        "stayers": len(stayers), "stayers_carried": len(carried), "stayers_answered": len(stayers & answered),
        "stayers_estimated": len(stayers - carried - answered),
        "joiners": len(joiners), "joiners_answered": len(joiners & answered),
        "joiners_estimated": len(joiners - answered), "leavers": len(leavers),
        "answers_outside_scope": len(answered - in_scope),
    }
    return {"respondents": respondents, "patterns": patterns, "legs": legs}, counts


def label(report: dict) -> str:
    """'推估（以 2025 年普查為基礎）' for a rolled-forward year, '' for a census year."""
    return LABEL.format(census=report["census_year"]) if report.get("estimate_basis") == "roll_forward" else ""


def banner(report: dict, year: int) -> str:
    """The notice every page of a rolled-forward year opens with (Markdown, zh-TW with English)."""
    rf, census = report.get("roll_forward") or {}, report["census_year"]
    counts = (f"留任 {rf['stayers']} 人（沿用普查通勤資料 {rf['stayers_carried']}、推估 {rf['stayers_estimated']}）、"
              f"新進 {rf['joiners']} 人（填答 {rf['joiners_answered']}、推估 {rf['joiners_estimated']}）、"
              f"離職 {rf['leavers']} 人。") if rf else ""
    return (f"**推估 Estimate：{year} 年非普查年，本頁所有數字皆為以 {census} 年普查為基礎之推估**"
            f"（{LABEL_EN.format(census=census)}）。留任者沿用 {census} 年之通勤資料、乘以本年度實際出勤天數；"
            f"離職者不列入；新進者使用其填答，未填答者以全體員工推估方法估計。{counts}")


def counts_table(counts: dict) -> pd.DataFrame:
    """How the staff of a rolled-forward year is covered, for display."""
    rows = [("留任者 Stayers", counts["stayers"], "在普查年與本年度皆在職"),
            ("　沿用普查通勤資料 carried from the census", counts["stayers_carried"], "普查通勤 × 本年度出勤天數"),
            ("　本年度重新填答 answered this year", counts["stayers_answered"], "使用本年度填答"),
            ("　推估 estimated", counts["stayers_estimated"], "普查時未填答或拒絕：以全體員工推估方法估計"),
            ("新進者 Joiners", counts["joiners"], "本年度新納入"),
            ("　填答 answered", counts["joiners_answered"], "使用其填答（路徑 C）"),
            ("　推估 estimated", counts["joiners_estimated"], "未填答：以全體員工推估方法估計"),
            ("離職者 Leavers", counts["leavers"], "普查年在職、本年度不在範圍內：不列入")]
    return pd.DataFrame({"類別 Group": [r[0] for r in rows], "人數 Persons": [f"{r[1]:,}" for r in rows],
                         "處理方式 Treatment": [r[2] for r in rows]})
