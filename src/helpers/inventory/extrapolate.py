"""All staff in scope from the respondents: each non-respondent gets a mean daily emission times own attendance.

GHG Protocol Scope 3 guidance allows extrapolating a representative sample of employees to all of them. The
respondents-only total (the study's figure) is kept as it is; this adds an estimate for all staff in scope.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.schemas import isin_ids

METHOD = "department_mean_daily_x_own_attendance"
METHOD_TEXT = ("未填答者以同單位填答者之平均每日排放（該單位填答者不足 {k} 人時，以全體填答者平均）乘以其本人實際出勤天數推估"
               "（GHG Protocol 範疇三指引允許以具代表性之樣本外推至全體員工）")
BASES = ("respondent", "department_mean", "overall_mean")


def extrapolate(per_person: pd.DataFrame, status: pd.DataFrame, min_cell: int = 3) -> pd.DataFrame:
    """One row per person of the all-staff inventory: respondents as computed, non-respondents estimated.

    per_person: respondents (respondent_id, daily_kgco2e, annual_kgco2e, department); status: roster.staff_status().
    A non-respondent gets the mean daily kgCO2e of the respondents of the same (roster) department when that
    department has at least `min_cell` respondents, else of all respondents, times own attendance days (the
    respondents' mean attendance when the roster has none: attendance_estimated). Returns respondent_id,
    department, attendance_days, daily_kgco2e, annual_kgco2e, basis, attendance_estimated.
    """
    if min_cell < 1:
        raise ValueError(f"min_cell = {min_cell}: a department mean needs at least 1 respondent")
    roster_dept = status.set_index("respondent_id")["department"]
    resp = per_person[["respondent_id", "attendance_days", "daily_kgco2e", "annual_kgco2e"]].copy()
    own = per_person["department"] if "department" in per_person else pd.Series(pd.NA, index=per_person.index)
    resp["department"] = resp["respondent_id"].map(roster_dept).fillna(own).astype("string")
    resp["basis"] = "respondent"
    resp["attendance_estimated"] = False
    missing = status[~isin_ids(status["respondent_id"], resp["respondent_id"])]
    if len(missing) and resp.empty:
        raise ValueError(f"{len(missing)} staff in scope did not answer and there is no respondent to estimate from")
    stats = resp.groupby("department", dropna=True)["daily_kgco2e"].agg(["mean", "size"])
    dept_mean = stats.loc[stats["size"] >= min_cell, "mean"]
    overall = float(resp["daily_kgco2e"].mean()) if len(resp) else np.nan
    daily = missing["department"].map(dept_mean)
    basis = np.where(daily.notna(), "department_mean", "overall_mean")
    days = missing["attendance_days"]
    est = pd.DataFrame({
        "respondent_id": missing["respondent_id"], "attendance_days": days.fillna(resp["attendance_days"].mean()),
        "daily_kgco2e": daily.fillna(overall).astype("float64"), "department": missing["department"].astype("string"),
        "basis": basis, "attendance_estimated": days.isna(),
    })
    est["annual_kgco2e"] = est["daily_kgco2e"] * est["attendance_days"]
    cols = ["respondent_id", "department", "attendance_days", "daily_kgco2e", "annual_kgco2e", "basis",
            "attendance_estimated"]
    frames = [f[cols] for f in (resp, est) if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else resp[cols]


def all_staff_summary(all_staff: pd.DataFrame, min_cell: int) -> dict:
    """Total and counts of an extrapolate() result, for summary.json."""
    basis = all_staff["basis"].value_counts()
    return {
        "annual_total_all_staff_kgco2e": float(all_staff["annual_kgco2e"].sum()),
        "daily_total_all_staff_kgco2e": float(all_staff["daily_kgco2e"].sum()),
        "extrapolation_method": METHOD,
        "extrapolation": {"min_cell": int(min_cell), "persons": int(len(all_staff)),
                          **{b: int(basis.get(b, 0)) for b in BASES},
                          "attendance_estimated": int(all_staff["attendance_estimated"].sum())},
    }


def response_table(summary: dict) -> pd.DataFrame:
    """Staff in scope and response counts of a summary.json, for display (zh-TW with English)."""
    r = summary["response"]
    return pd.DataFrame({
        "項目 Item": ["納入盤查範圍員工 Staff in scope", "有效填答 Valid respondents", "拒絕（路徑 D）Declined",
                    "未填答 Not answered", "填答率 Response rate (valid ÷ in scope)"],
        "數值 Value": [f"{summary['staff_in_scope']:,}", f"{r['valid']:,}", f"{r['declined']:,}",
                     f"{r['not_answered']:,}", f"{summary['response_rate']:.2%}"],
    })


def totals_table(summary: dict) -> pd.DataFrame:
    """Respondents-only total (the study's figure) beside the all-staff estimate, for display."""
    ext = summary["extrapolation"]
    first = ("僅填答者 Respondents only（研究發表口徑）" if summary.get("estimate_basis", "census") == "census" else
             "沿用普查之留任者及填答之新進者 Carried stayers and answering newcomers（推估 estimate）")
    return pd.DataFrame({
        "口徑 Basis": [first, "全體範圍內員工 All staff in scope（推估 estimate）"],
        "人數 Persons": [f"{summary['respondents']:,}", f"{ext['persons']:,}"],
        "年排放量 kgCO2e／年": [f"{summary['annual_total_kgco2e']:,.2f}", f"{summary['annual_total_all_staff_kgco2e']:,.2f}"],
        "其中推估 Estimated persons": ["0", f"{ext['department_mean'] + ext['overall_mean']:,}"],
    })
