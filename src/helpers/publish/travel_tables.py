"""Report tables of business travel (notebook 06): totals by mode, method and data quality, months, the review
list and long trips with zh-TW headers and labels; the method note (rejects: tables.rejects_table)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from helpers import privacy, reference
from helpers.business_travel.claims import APPLICANT_PREFIX
from helpers.business_travel.distances import METERS_PER_KM
from helpers.business_travel.reference import (FARE_RULES_FILE, LONG_DISTANCES_FILE, LONG_MODES_FILE,
                                               LONG_STATIONS_FILE, REFERENCE_DIR, STATION_DISTANCES_FILE, TARIFF_FILE,
                                               load_reference)
from helpers.business_travel.schemas import (DIRECTION_LABELS, FAMILIES, FAMILY_LABELS, FLAG_LABELS, METHOD_LABELS,
                                             METHOD_QUALITY, METHODS, PILOT_2025, PILOT_YEAR, QUALITY_LABELS,
                                             QUALITY_LEVELS, TRIP_TYPE_LABELS, zh)
from helpers.inventory import factors
from helpers.publish import tables
from helpers.schemas import write_csv


# Display names for the tables the notebook shows (English identifiers -> zh-TW headers).
COLUMN_LABELS = {
    "mode_id": "運具代碼", "mode": "運具", "family": "類別", "method": "推估方法", "quality": "資料品質",
    "claims": "申報件數", "rides": "趟次", "distance_km": "距離（公里）", "emission_kgco2e": "排放量（kgCO2e）",
    "share": "排放占比", "claims_share": "件數占比", "month": "月份", "claim_id": "申報編號",
    "source_row": "原始資料列", "applicant": "申請人（本表編號）", "date": "日期", "time": "時間",
    "trip_type": "單程/來回", "modes": "交通工具", "amount_ntd": "金額（元）", "flags": "註記",
    "trip_no": "出差單號", "direction": "方向", "leg_no": "段次", "origin_station": "起站",
    "destination_station": "迄站", "applicants": "申請人數", "rides_share": "趟次占比",
    "factor_kgco2e_per_pkm": "係數（kgCO2e/人公里）", "taxi_claims": "計程車件數", "mrt_claims": "含捷運件數",
    "bus_claims": "含公車件數",
}


# ------------------------------------------------------------------------------- tables for the notebook

# Number formats for display (tables' fmt_* functions): kg with 2 decimals, km with 1, NTD and counts whole,
# shares as percentages with 1 decimal, factors with 3.
FORMATS = {"distance_km": partial(tables.fmt_number, decimals=1), "emission_kgco2e": tables.fmt_kg,
           "share": partial(tables.fmt_pct, decimals=1), "rides_share": partial(tables.fmt_pct, decimals=1),
           "claims_share": partial(tables.fmt_pct, decimals=1), "amount_ntd": tables.fmt_number,
           "claims": tables.fmt_number, "rides": tables.fmt_number,
           "factor_kgco2e_per_pkm": partial(tables.fmt_number, decimals=3), "taxi_claims": tables.fmt_number,
           "mrt_claims": tables.fmt_number, "bus_claims": tables.fmt_number}


def show(frame: pd.DataFrame, caption: str | None = None):
    """A report table through tables.show: zh-TW headers, the FORMATS of its figures, blanks for NA."""
    return tables.show(frame.rename(columns=COLUMN_LABELS).fillna(""), caption,
                       formats={COLUMN_LABELS.get(col, col): fmt for col, fmt in FORMATS.items()})


def _with_total(out: pd.DataFrame, rides: pd.DataFrame, label_col: str) -> pd.DataFrame:
    total = float(rides["emission_kgco2e"].sum())
    out["share"] = out["emission_kgco2e"] / total if total else 0.0
    row = {c: "" for c in out.columns}
    row.update({label_col: "合計", "claims": rides["claim_id"].nunique(), "rides": len(rides),
                "distance_km": rides["distance_km"].sum(), "emission_kgco2e": total, "share": 1.0 if total else 0.0})
    return pd.concat([out, pd.DataFrame([row])], ignore_index=True)


def _ride_totals(rides: pd.DataFrame, by: str) -> pd.DataFrame:
    g = rides.groupby(by)
    return pd.DataFrame({"claims": g["claim_id"].nunique(), "rides": g.size(),
                         "distance_km": g["distance_km"].sum(), "emission_kgco2e": g["emission_kgco2e"].sum()})


def totals_by_mode(rides: pd.DataFrame) -> pd.DataFrame:
    """Per mode: claims, rides, km, kgCO2e and share of kgCO2e (largest first), with a total row."""
    out = _ride_totals(rides, "mode_id").sort_values("emission_kgco2e", ascending=False)
    out.insert(0, "mode", out.index.map(reference.mode_names("zh")))
    return _with_total(out.reset_index(drop=True), rides, "mode")


def totals_by_method(rides: pd.DataFrame) -> pd.DataFrame:
    """Per distance method (best first): its quality, claims, rides, km, kgCO2e and share, with a total row."""
    out = _ride_totals(rides, "method")
    out = out.reindex([m for m in METHODS if m in out.index])
    out.insert(0, "quality", out.index.map(METHOD_QUALITY).map(zh(QUALITY_LABELS)))
    out.insert(0, "method", out.index.map(zh(METHOD_LABELS)))
    return _with_total(out.reset_index(drop=True), rides, "method")


def quality_shares(rides: pd.DataFrame) -> pd.DataFrame:
    """Per data-quality level (all four listed): rides and kgCO2e with their shares."""
    g = rides.groupby("quality")
    out = pd.DataFrame({"rides": g.size(), "emission_kgco2e": g["emission_kgco2e"].sum()}).reindex(
        list(QUALITY_LEVELS), fill_value=0)
    n, total = out["rides"].sum(), out["emission_kgco2e"].sum()
    out["rides_share"] = out["rides"] / n if n else 0.0
    out["share"] = out["emission_kgco2e"] / total if total else 0.0
    out.insert(0, "quality", out.index.map(zh(QUALITY_LABELS)))
    return out.reset_index(drop=True)[["quality", "rides", "rides_share", "emission_kgco2e", "share"]]


def monthly(claims: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month (gaps filled with 0): claims, taxi/MRT/bus claims, km and kgCO2e."""
    g = claims.groupby(claims["date"].dt.to_period("M"))
    out = pd.DataFrame({"claims": g.size(), "taxi_claims": g["includes_taxi"].sum(),
                        "mrt_claims": g["includes_mrt"].sum(), "bus_claims": g["includes_bus"].sum(),
                        "distance_km": g["distance_km"].sum(), "emission_kgco2e": g["emission_kgco2e"].sum()})
    if len(out):
        out = out.reindex(pd.period_range(out.index.min(), out.index.max(), freq="M"), fill_value=0)
    out.index = out.index.astype(str)
    return out.rename_axis("month").reset_index()


def _codes_to_text(codes: pd.Series, labels: dict[str, str], sep_in: str, sep_out: str) -> pd.Series:
    """'a;b' code lists -> 'label a<sep_out>label b' (NA/empty -> '')."""
    long = codes.fillna("").str.split(sep_in).explode()
    text = long.map(labels).dropna()
    return text.groupby(level=0).agg(sep_out.join).reindex(codes.index, fill_value="")


def review_list(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims that needed an estimate or carry a flag: applicant by number in this list (申請人 1, 2, ..., never the
    pseudonym), raw data row, amount, km, method, reasons."""
    out = claims[claims["needs_review"]].reset_index(drop=True)
    return pd.DataFrame({
        "claim_id": out["claim_id"], "source_row": out["source_row"],
        "applicant": privacy.report_sequence(out["applicant_id"], APPLICANT_PREFIX),
        "date": out["date"].dt.strftime("%Y-%m-%d"), "trip_type": out["trip_type"].map(zh(TRIP_TYPE_LABELS)),
        "modes": _codes_to_text(out["modes"], reference.mode_names("zh"), "+", "、"),
        "amount_ntd": out["amount_ntd"], "distance_km": out["distance_km"], "emission_kgco2e": out["emission_kgco2e"],
        "method": _codes_to_text(out["methods"], zh(METHOD_LABELS), "+", "＋"),
        "quality": out["quality"].map(zh(QUALITY_LABELS)),
        "flags": _codes_to_text(out["flags"], zh(FLAG_LABELS), ";", "；"),
    })


def long_trip_names(reference_dir: Path | None = None) -> dict[str, str]:
    """Long-trip mode id -> zh-TW name (long_trip_modes.yaml, else the mode catalogue)."""
    doc = reference.load_yaml(Path(reference_dir or REFERENCE_DIR) / LONG_MODES_FILE)
    return {**reference.mode_names("zh"), **{m: s.get("name_zh", m) for m, s in (doc.get("modes") or {}).items()}}


def long_trip_table(legs: pd.DataFrame, reference_dir: Path | None = None) -> pd.DataFrame:
    """Long-trip legs for display: trip, applicant by number in this table (申請人 1, 2, ...), direction, mode,
    stations, km, method, kgCO2e."""
    return pd.DataFrame({
        "trip_no": legs["trip_no"], "applicant": privacy.report_sequence(legs["applicant_id"], APPLICANT_PREFIX),
        "direction": legs["direction"].map(zh(DIRECTION_LABELS)), "leg_no": legs["leg_no"],
        "date": legs["date"].dt.strftime("%Y-%m-%d"), "mode": legs["mode_id"].map(long_trip_names(reference_dir)),
        "origin_station": legs["origin_station"], "destination_station": legs["destination_station"],
        "distance_km": legs["distance_km"], "method": legs["method"].map(zh(METHOD_LABELS)),
        "factor_kgco2e_per_pkm": legs["factor_kgco2e_per_pkm"], "emission_kgco2e": legs["emission_kgco2e"],
    }).reset_index(drop=True)


def applicants_by_family(claims: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Claims and distinct applicants per mode family; applicant counts below min_cell shown as '<min_cell'."""
    counts = pd.DataFrame({
        "family": [zh(FAMILY_LABELS)[f] for f in FAMILIES],
        "claims": [int(claims[f"includes_{f}"].sum()) for f in FAMILIES],
        "applicants": [int(claims.loc[claims[f"includes_{f}"], "applicant_id"].nunique()) for f in FAMILIES],
    })
    counts["applicants"] = privacy.suppress_small(counts["applicants"], k=min_cell)
    return counts


def overview(summary: dict) -> pd.DataFrame:
    """Headline figures of business_summary() as an indicator / value / unit table (zh-TW)."""
    n = summary["claims"]
    pct = lambda k: f"（{tables.fmt_pct(summary[k] / n)}）" if n else ""  # noqa: E731
    rows = [
        ("公出申報件數 Claims", tables.fmt_int(n), "件"),
        ("計程車件數 Taxi claims", tables.fmt_int(summary["taxi_claims"]) + pct("taxi_claims"), "件"),
        ("含捷運件數 Claims including MRT", tables.fmt_int(summary["mrt_claims"]), "件"),
        ("含公車件數 Claims including bus", tables.fmt_int(summary["bus_claims"]), "件"),
        ("趟次 Rides", tables.fmt_int(summary["rides"]), "趟"),
        ("總距離 Distance", tables.fmt_kg(summary["distance_km"]), "延人公里"),
        ("報支金額 Amount claimed", tables.fmt_int(summary["amount_ntd"]), "新臺幣元"),
        ("公出排放量 Emissions (short trips)", tables.fmt_kg(summary["total_kgco2e"]), "kgCO2e"),
        ("需估計或標記之申報 Claims needing review", tables.fmt_int(summary["claims_needing_review"]), "件"),
        ("剔除列數 Rejected rows", tables.fmt_int(summary["rejected_rows"]), "列"),
        ("長程出差排放（另列）Long trips, reported separately", tables.fmt_kg(summary["long_trips_kgco2e"]), "kgCO2e"),
    ]
    return pd.DataFrame(rows, columns=["指標 Indicator", "數值 Value", "單位 Unit"])


def pilot_comparison(summary: dict, year: int) -> pd.DataFrame | None:
    """This year's figures beside the study's pilot (2025 only; None otherwise), with a match column."""
    if int(year) != PILOT_YEAR:
        return None
    ours = {k: summary[k] for k in PILOT_2025}
    ours["total_kgco2e"] = round(ours["total_kgco2e"], 2)
    return pd.DataFrame({
        "項目 Item": ["申報件數 Claims", "計程車 Taxi", "含捷運 Including MRT", "含公車 Including bus", "排放量 kgCO2e"],
        "試辦期研究報告 Pilot": [tables.fmt_int(v) if k != "total_kgco2e" else tables.fmt_kg(v) for k, v in PILOT_2025.items()],
        "本次計算 This run": [tables.fmt_int(v) if k != "total_kgco2e" else tables.fmt_kg(v) for k, v in ours.items()],
        "一致 Match": ["✓" if ours[k] == v else "✗" for k, v in PILOT_2025.items()],
    })


def write_review_csv(claims: pd.DataFrame, path: Path) -> Path:
    """Write the claims needing review (no applicant id; raw data row to find them) as UTF-8-BOM CSV for Excel."""
    out = review_list(claims).drop(columns=["applicant"]).rename(columns=COLUMN_LABELS)
    return write_csv(out, Path(path))


def method_note(year: int, reference_dir: Path | None = None) -> str:
    """Markdown method note (boundary, taxi assumption, formulas, sources), written from the reference files."""
    ref = load_reference(reference_dir)
    tariff_doc = reference.load_yaml(ref.folder / TARIFF_FILE)
    rules_doc = reference.load_yaml(ref.folder / FARE_RULES_FILE)
    fac = factors.factors_by_mode(year)
    group = tariff_doc["groups"][ref.default_group]
    t = group["tariffs"][-1]
    flat = lambda text: " ".join(str(text).split())  # noqa: E731
    paragraphs = [
        "**邊界 Boundary.** 僅計非機關擁有之運輸（計程車、捷運、公車、高鐵、臺鐵、國內線航班）。機關公務車屬範疇一／二，"
        "不計入類別6：匯出檔中交通工具為「公務車」者列為剔除。Agency-owned vehicles are scope 1/2 and excluded.",
        f"**計程車車種 Taxi type.** 匯出檔未註明油車或電動車：除交通工具或備註寫明「電動」外，一律以汽油計程車係數 "
        f"{fac['taxi_petrol']:.3f} kgCO2e/人公里計算（電動計程車 {fac['taxi_electric']:.3f}）。"
        "Taxis count as petrol unless the claim says electric.",
        f"**計程車距離 Taxi distance.** 每趟 km = {t['flagfall_km']:g} + (金額 − 加成 − {t['flagfall_ntd']:g}) ÷ "
        f"{t['step_ntd']:g} × {t['step_m'] / METERS_PER_KM:g}（{group['name_zh']}，{t['valid_from']} 起之日間費率）。"
        f"夜間 {t['night_start']}–{t['night_end']}（以上車時間為準）每趟加收 {t['night_surcharge_ntd']:g} 元，"
        "換算前先扣除；春節加成亦同。來回申報為兩趟，各半金額，兩趟之夜間與否皆依申報時間。"
        "延滯計時無法與里程區分，一併視為里程（距離偏高，屬保守估計）。金額低於起跳價（以起跳里程計）或不在費率級距上者，"
        "照公式計算並標記待檢視。",
        "**捷運與公車 MRT and bus.** 依序：(1) 起訖站查站間距離表（品質高）；(2) 依票價規則反推距離級距之中點"
        "（估計，品質低）；(3) 金額 ÷ 每公里平均票價（金額推估，品質最低）。多運具合併申報時，無站名之捷運／公車部分"
        "以標準票價計，其餘金額歸計程車（無計程車時歸捷運），並標記為拆分。",
        "**長程出差 Long trips.** 去程、回程分列，每段記錄運具與起訖站，查標準距離表（任一方向）；距離表無此站對時，"
        "以站點座標之大圓距離 × 繞行係數估計並標記。長程出差不在試辦期（2025-10-30 至 12-31）69.63 kgCO2e 之範圍內，"
        "另列，不計入短程公出合計（摘要頁與盤查工作簿另列長程出差並計入類別3 合計）。"
        "Long trips are reported separately from the short trips.",
        f"**排放係數 Factors.** {factors.factor_set_year(year)} 年係數組（kgCO2e/人公里，data/reference/factors/）；"
        "國內線航班不在該係數組內，係數見 long_trip_modes.yaml（次級引用，品質低）。",
    ]
    zh_text = lambda spec, key: flat(spec.get(f"{key}_zh") or spec[key])  # noqa: E731  zh-TW note, else the source
    sources = [f"- 計程車費率：{zh_text(t, 'source')}"]
    sources += [f"- {rule.get('name_zh', name)}票價規則：{zh_text(rule, 'source')}"
                for name, rule in (rules_doc.get("rules") or {}).items()]
    sources.append(f"- 站間距離表、長程標準距離表與站點座標（{STATION_DISTANCES_FILE}、{LONG_DISTANCES_FILE}、"
                   f"{LONG_STATIONS_FILE}）：隨附數值為近似值，供範例使用，使用者可替換。")
    for mode_id, spec in ref.long_modes.items():
        name = spec.get("name_zh", mode_id)
        sources.append(f"- {name}繞行係數 ×{float(spec['detour_factor']):.2f}：{zh_text(spec, 'detour_source')}")
        if spec.get("factor_source"):
            sources.append(f"- {name}排放係數 {float(spec['factor_kgco2e_per_pkm']):.3f} kgCO2e/人公里："
                           f"{zh_text(spec, 'factor_source')}")
    return "\n\n".join(paragraphs) + "\n\n**資料來源 Sources.**\n\n" + "\n".join(sources)
