"""Every year, not just two: annual total, intensity and shares per year, census or roll-forward marked."""

from __future__ import annotations

import pandas as pd

from helpers import reference
from helpers.inventory import modeshare

MIN_YEARS = 3  # a trend section is shown from three years on
BASIS_LABELS = {"census": "普查 Census", "roll_forward": "推估 Roll-forward"}


def trend_table(results: list, all_staff_kgco2e: dict[int, float | None]) -> pd.DataFrame:
    """One row per year of helpers.publish.summary.YearResults (oldest first): basis, persons, totals, intensity, shares.

    all_staff_kgco2e: the all-staff total of each year (None without a roster).
    """
    rows = []
    for res in sorted(results, key=lambda r: r.year):
        tot = res.totals
        shares = modeshare.main_share_by_group(res.main_modes)["share"]
        rows.append({
            "year": int(res.year), "estimate_basis": res.report.get("estimate_basis", "census"),
            "census_year": int(res.report.get("census_year", res.year)), "persons": tot["respondents"],
            "annual_total_kgco2e": tot["annual_total_kgco2e"],
            "annual_total_all_staff_kgco2e": all_staff_kgco2e.get(res.year),
            "mean_intensity_kgco2e_per_pkm": tot["mean_intensity_kgco2e_per_pkm"],
            **{f"main_share_{g}": float(shares[g]) for g in reference.GROUPS},
        })
    return pd.DataFrame(rows)


def display_table(trend: pd.DataFrame) -> pd.DataFrame:
    """The trend for a report (zh-TW with English headers), census / roll-forward marked."""
    from helpers import config

    out = pd.DataFrame({
        "年度 Year": trend["year"].map(config.year_label),
        "資料基礎 Basis": [BASIS_LABELS[b] + ("" if b == "census" else f"（{c} 年普查）")
                         for b, c in zip(trend["estimate_basis"], trend["census_year"])],
        "人數 Persons": trend["persons"].map("{:,}".format),
        "年排放量 kgCO2e／年": trend["annual_total_kgco2e"].map("{:,.2f}".format),
        "全體員工推估 All staff": trend["annual_total_all_staff_kgco2e"].map(
            lambda v: "—" if v is None or pd.isna(v) else f"{v:,.2f}"),
        "平均強度 kgCO2e/pkm": trend["mean_intensity_kgco2e_per_pkm"].map("{:.4f}".format),
    })
    for g in reference.GROUPS:
        out[f"主運具 {reference.group_label(g)}"] = trend[f"main_share_{g}"].map("{:.2%}".format)
    return out
