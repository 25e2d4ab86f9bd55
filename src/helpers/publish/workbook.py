"""The organisation's inventory workbook: reports/<year>/inventory.xlsx, written by each year's run.

Load: the year's results (helpers.publish.summary.year_results, the business-travel tables), the factor set, and the
report tables the run's notebooks displayed (each carries its cells under tables.TABLE_MIMETYPE in the executed
notebook). Process: one register row per emission source, in the shape of a Taiwanese ISO 14064-1 inventory
register (category 3, transport); the report tables as they were shown, with numbers as numbers.
Save: sheets 類別三排放源 (the register), 說明 (what this is), 報表目錄 (index) and one sheet per report table.
Every text cell is neutralised against formula injection; the register's totals are checked against the figures
of summary.json before the file is written.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import nbformat
import pandas as pd

from helpers import config, reference
from helpers.business_travel import claims, reference as bt_reference, schemas
from helpers.inventory import emissions, factors
from helpers.publish import summary, tables, travel_tables
from helpers.schemas import FORMULA_PREFIXES, atomic_write_bytes  # noqa: F401  (FORMULA_PREFIXES: tests use it here)
from helpers.schemas import safe_cell as safe_text  # the one formula neutraliser of every CSV/XLSX written

WORKBOOK_FILE = "inventory.xlsx"
REGISTER_SHEET = "類別三排放源"
ABOUT_SHEET = "說明"
INDEX_SHEET = "報表目錄"
SUMMARY_FILE = "summary.json"
EXECUTED_SUBDIR = "executed"

PKM_UNIT = "延人公里（pkm）"
FACTOR_UNIT = "kgCO2e／延人公里"
KG_PER_TONNE = 1000.0
TOTAL_TOLERANCE_KG = 1e-6  # register totals vs summary.json: the same figures summed in another order

# Distance methods whose km are looked up or reported (measured) rather than inferred from fares or coordinates.
MEASURED_METHODS = {"station_table", "distance_table"}
# Factor-set derivation method -> factor data-quality grade (labels.yaml, family factor_grade).
FACTOR_GRADE_OF_METHOD = {"fuel_per_vehicle_km": "derived", "energy_per_pkm": "derived", "fuel_per_pkm": "derived",
                          "mixed_rail": "derived", "fixed": "published", "zero": "zero", "proxy": "proxy"}

# Register columns: id -> zh-TW header (the order is the sheet's).
REGISTER_COLUMNS = {
    "category": "排放類別",
    "subcategory": "排放源類型",
    "ghg_protocol": "GHG Protocol 範疇三類別",
    "source": "排放源",
    "mode_group": "運具類別",
    "activity": "活動數據",
    "activity_unit": "活動數據單位",
    "activity_basis": "活動數據來源",
    "activity_grade": "活動數據品質",
    "estimated_share": "活動數據推估占比",
    "factor": "排放係數",
    "factor_unit": "排放係數單位",
    "factor_source": "排放係數來源",
    "factor_version": "排放係數版本",
    "factor_grade": "排放係數品質",
    "gwp_basis": "GWP 基準",
    "emission_kgco2e": "排放量（kgCO2e）",
    "emission_tco2e": "排放量（tCO2e）",
}
NUMBER_FORMATS = {"activity": "#,##0.00", "estimated_share": "0.0%", "factor": "0.000####",
                  "emission_kgco2e": "#,##0.00", "emission_tco2e": "0.0000"}
CATEGORY = "類別3 運輸"
ACTIVITY_RECORDS = {"short_trips": "報支系統公出申報", "long_trips": "出差紀錄（去程、回程各段起訖站）"}
SUBCATEGORIES = {"commuting": ("員工通勤", "類別7"), "short_trips": ("商務旅行－短程公出", "類別6"),
                 "long_trips": ("商務旅行－長程出差", "類別6")}

# Excel sheet names: at most 31 characters, none of []:*?/\
SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


# ----------------------------------------------------------------------------------------------- register

def _factor_set_info(year: int) -> dict:
    """Factor-set year, version and GWP basis of an inventory year's factor set."""
    set_year = factors.factor_set_year(year)
    doc = reference.load_yaml(config.REFERENCE / factors.FACTORS_SUBDIR / f"{set_year}.yaml")
    return {"set_year": set_year, "version": str(doc.get("version", "")), "gwp_basis": str(doc.get("gwp_basis", ""))}


def _factor_columns(mode_id: str, table: pd.DataFrame, info: dict) -> dict:
    """Factor source, version, grade and GWP basis of a mode of the factor set."""
    row = table.loc[mode_id]
    method = str(row["method"])
    source = f"{info['set_year']} 年版排放係數組：{tables.FACTOR_METHOD_LABELS.get(method, method)}；{row['why']}"
    grade = "published" if row["value"] == "printed" else FACTOR_GRADE_OF_METHOD.get(method, "derived")
    return {"factor_source": source, "factor_version": f"{info['set_year']} 年版（版本 {info['version']}）",
            "factor_grade": reference.labels("factor_grade")[grade], "gwp_basis": info["gwp_basis"]}


def _long_factor_columns(mode_id: str, table: pd.DataFrame, info: dict) -> dict:
    """Factor columns of a long-trip mode: the factor set's, or long_trip_modes.yaml's own factor."""
    doc = reference.load_yaml(bt_reference.REFERENCE_DIR / bt_reference.LONG_MODES_FILE)
    spec = (doc.get("modes") or {}).get(mode_id, {})
    if spec.get("factor") == "factor_set" or not spec:
        return _factor_columns(mode_id, table, info)
    grade = str(spec.get("factor_grade", "proxy"))
    return {"factor_source": str(spec.get("factor_source_zh") or spec.get("factor_source", "")).strip(),
            "factor_version": f"{bt_reference.LONG_MODES_FILE}（版本 {doc.get('version', '')}）",
            "factor_grade": reference.labels("factor_grade")[grade],
            "gwp_basis": str(spec.get("gwp_basis", info["gwp_basis"]))}


def _activity_grade(methods: pd.Series, km: pd.Series) -> tuple[str, float]:
    """Activity grade of a source (estimated when any km is not measured) and the estimated share of its km."""
    estimated = ~methods.isin(MEASURED_METHODS)
    total = float(km.sum())
    share = float(km[estimated].sum()) / total if total else float(estimated.any())
    return reference.labels("activity_grade")["estimated" if estimated.any() else "measured"], share


def _method_text(methods: pd.Series) -> str:
    """The distance methods of a source, best first, as zh-TW labels."""
    names = schemas.zh(schemas.METHOD_LABELS)
    return "、".join(names[m] for m in schemas.METHODS if m in set(methods))


def _source_factor(part: pd.DataFrame, km: float, kg: float) -> float:
    """The factor of a source's trips: their common factor, else (factors changed within the year) kg / km."""
    values = part["factor_kgco2e_per_pkm"].unique()
    return float(values[0]) if len(values) == 1 or not km else kg / km


def register(year: int, processed_dir: Path | str, main_mode_rule: str = "longest") -> pd.DataFrame:
    """One row per emission source of ISO 14064-1 category 3 (commuting by mode, short and long business trips
    by mode): activity in pkm, factor, source, grades and kgCO2e / tCO2e; columns as REGISTER_COLUMNS' ids."""
    processed_dir = Path(processed_dir)
    res = summary.year_results(processed_dir, year, main_mode_rule)
    table = factors.factor_table(year).set_index("mode_id")
    info = _factor_set_info(year)
    catalogue = reference.modes().set_index("mode_id")
    group_zh = reference.group_names("zh")
    rows = []

    by_mode = emissions.by_mode(res.tables["legs"], res.tables["patterns"], res.per_person, res.factors)
    by_mode = by_mode.join(catalogue[["group", "priority"]], on="mode_id")
    by_mode["group_order"] = by_mode["group"].map({g: i for i, g in enumerate(reference.GROUPS)})
    name, code = SUBCATEGORIES["commuting"]
    for r in by_mode.sort_values(["group_order", "priority"]).itertuples():
        rows.append({"kind": "commuting", "category": CATEGORY, "subcategory": name, "ghg_protocol": code,
                     "source": f"{name}－{tables.mode_label(r.mode_id)}", "mode_group": group_zh[r.group],
                     "activity": float(r.annual_pkm), "activity_unit": PKM_UNIT,
                     "activity_basis": "問卷填報單程距離 × 2（往返）× 通勤型態日數比例 × 人事室實際出勤天數",
                     "activity_grade": reference.labels("activity_grade")["measured"], "estimated_share": 0.0,
                     "factor": res.factors[r.mode_id], "factor_unit": FACTOR_UNIT,
                     **_factor_columns(r.mode_id, table, info),
                     "emission_kgco2e": float(r.annual_kgco2e)})

    bt = claims.load_tables(processed_dir / str(year))
    if bt is not None:
        long_names = travel_tables.long_trip_names()
        for kind, frame, names, factor_columns in (
                ("short_trips", bt["rides"], reference.mode_names("zh"), _factor_columns),
                ("long_trips", bt["long_trips"], long_names, _long_factor_columns)):
            records = ACTIVITY_RECORDS[kind]
            name, code = SUBCATEGORIES[kind]
            for mode_id, part in frame.groupby("mode_id", sort=False):
                grade, share = _activity_grade(part["method"], part["distance_km"])
                km, kg = float(part["distance_km"].sum()), float(part["emission_kgco2e"].sum())
                group = catalogue["group"].get(mode_id)
                rows.append({"kind": kind, "category": CATEGORY, "subcategory": name, "ghg_protocol": code,
                             "source": f"{name}－{names.get(mode_id, mode_id)}",
                             "mode_group": group_zh.get(group, "") if group else "",
                             "activity": km, "activity_unit": PKM_UNIT,
                             "activity_basis": f"{records}，距離依{_method_text(part['method'])}",
                             "activity_grade": grade, "estimated_share": share,
                             "factor": _source_factor(part, km, kg),
                             "factor_unit": FACTOR_UNIT, **factor_columns(mode_id, table, info),
                             "emission_kgco2e": kg})
    out = pd.DataFrame(rows, columns=["kind", *REGISTER_COLUMNS])
    out["emission_tco2e"] = out["emission_kgco2e"] / KG_PER_TONNE
    return out


def register_totals(reg: pd.DataFrame) -> dict[str, float]:
    """kgCO2e per kind of source (commuting, short_trips, long_trips) and in all."""
    by_kind = reg.groupby("kind")["emission_kgco2e"].sum()
    out = {kind: float(by_kind.get(kind, 0.0)) for kind in SUBCATEGORIES}
    out["total"] = float(reg["emission_kgco2e"].sum())
    return out


def summary_totals(summary_json: dict) -> dict[str, float]:
    """The same kgCO2e figures as summary.json gives them (commuting, short and long business trips, total)."""
    bt = summary_json.get("business_travel") or {}
    out = {"commuting": float(summary_json["annual_total_kgco2e"]),
           "short_trips": float(bt.get("total_kgco2e", 0.0)), "long_trips": float(bt.get("long_trips_kgco2e", 0.0))}
    out["total"] = sum(out.values())
    return out


def check_totals(reg: pd.DataFrame, summary_json: dict) -> None:
    """Raise if the register's kgCO2e per kind or in all differ from summary.json's."""
    ours, theirs = register_totals(reg), summary_totals(summary_json)
    bad = {k: (ours[k], theirs[k]) for k in ours if abs(ours[k] - theirs[k]) > TOTAL_TOLERANCE_KG}
    if bad:
        raise ValueError("inventory register totals differ from summary.json (register, summary.json kgCO2e): "
                         + "; ".join(f"{k}: {a:.6f} vs {b:.6f}" for k, (a, b) in bad.items()))


# ------------------------------------------------------------------------------------------ report tables

def report_tables(executed_dir: Path | str) -> list[dict]:
    """Every table the executed notebooks displayed, in notebook and display order: page, caption, columns, rows."""
    found = []
    for path in sorted(Path(executed_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
                payload = output.get("data", {}).get(tables.TABLE_MIMETYPE)
                if payload is not None:
                    if isinstance(payload, str):
                        payload = json.loads(payload)
                    found.append({"page": path.stem, **payload})
    return found


def as_number(cell) -> tuple[float | int, str] | None:
    """A cell as (number, Excel number format) when it is a number or number text as the reports print it."""
    number = tables.number_text(cell)
    if number is None:
        return None
    zeros = "." + "0" * number.decimals if number.decimals else ""
    if number.percent:
        return number.value, f"0{zeros}%"
    if isinstance(cell, float):
        return number.value, "#,##0.####"
    body = f"#,##0{zeros}"
    return number.value, (f"+{body};-{body};{body}" if number.signed else body)


def sheet_title(page: str, number: int, caption: str, year: int, taken: set[str]) -> str:
    """A unique Excel sheet name: 'NN-k caption' without the year label, forbidden characters and overflow."""
    caption = " ".join(caption.replace(config.year_label(year), "").split()) or page
    base = SHEET_NAME_FORBIDDEN.sub("_", f"{page[:2]}-{number} {caption}")[:SHEET_NAME_MAX].strip()
    name, k = base, 2
    while name.lower() in {t.lower() for t in taken}:
        suffix = f"~{k}"
        name, k = base[:SHEET_NAME_MAX - len(suffix)] + suffix, k + 1
    taken.add(name)
    return name


# ----------------------------------------------------------------------------------------------- writing

def _width(text: str) -> int:
    """Display width of text in a spreadsheet column (CJK characters count twice)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _fit_columns(ws, widths: dict[int, int], cap: int = 60) -> None:
    from openpyxl.utils import get_column_letter

    for j, width in widths.items():
        ws.column_dimensions[get_column_letter(j)].width = min(cap, max(8, width + 2))


def _header(ws, row: int, headers: list[str]) -> dict[int, int]:
    from openpyxl.styles import Alignment, Font, PatternFill

    fill = PatternFill("solid", fgColor="F0F3F7")
    widths = {}
    for j, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=j, value=safe_text(text))
        cell.font, cell.fill = Font(bold=True), fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        widths[j] = _width(text)
    return widths


def _write_register(ws, reg: pd.DataFrame) -> None:
    from openpyxl.styles import Font

    widths = _header(ws, 1, list(REGISTER_COLUMNS.values()))
    keys = list(REGISTER_COLUMNS)
    for i, record in enumerate(reg[keys].to_dict("records"), start=2):
        for j, key in enumerate(keys, start=1):
            value = record[key]
            if key in NUMBER_FORMATS:
                cell = ws.cell(row=i, column=j, value=float(value))
                cell.number_format = NUMBER_FORMATS[key]
            else:
                cell = ws.cell(row=i, column=j, value=safe_text(value))
                widths[j] = max(widths[j], _width(str(value)))
    total_row = len(reg) + 3  # one blank row: a filter over the sources leaves the total out
    ws.cell(row=total_row, column=1, value="合計 Total").font = Font(bold=True)
    for key in ("activity", "emission_kgco2e", "emission_tco2e"):
        j = keys.index(key) + 1
        cell = ws.cell(row=total_row, column=j, value=float(reg[key].sum()))
        cell.number_format, cell.font = NUMBER_FORMATS[key], Font(bold=True)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{ws.cell(row=len(reg) + 1, column=len(keys)).coordinate}"
    _fit_columns(ws, widths, cap=40)


def _write_table(ws, table: dict) -> None:
    from openpyxl.styles import Alignment, Font

    ws.cell(row=1, column=1, value=safe_text(table["caption"] or table["page"])).font = Font(bold=True)
    ws.cell(row=2, column=1, value=safe_text(f"報告頁：{table['page']}.html"))
    widths = _header(ws, 4, table["columns"])
    numeric = {j for j, col in enumerate(table["columns"]) if col in set(tables.numeric_columns(
        pd.DataFrame(table["rows"], columns=range(len(table["columns"]))).set_axis(table["columns"], axis=1)))}
    for i, row in enumerate(table["rows"], start=5):
        for j, value in enumerate(row, start=1):
            if value is None or (isinstance(value, str) and value.strip() in tables.BLANK_TEXT and j - 1 in numeric):
                continue
            number = as_number(value) if j - 1 in numeric else None
            if number is not None:
                cell = ws.cell(row=i, column=j, value=number[0])
                cell.number_format = number[1]
            else:
                cell = ws.cell(row=i, column=j, value=safe_text(value))
                cell.alignment = Alignment(horizontal="right" if j - 1 in numeric else "left", wrap_text=False)
            widths[j] = max(widths.get(j, 0), _width(str(value)))
    ws.freeze_panes = "A5"
    _fit_columns(ws, widths)


def _write_about(ws, year: int, reg: pd.DataFrame, info: dict, n_tables: int) -> None:
    from openpyxl.styles import Font

    totals = register_totals(reg)
    rows = [
        ("盤查年度", config.year_label(year)),
        ("邊界", "ISO 14064-1:2018 類別3（運輸）：員工通勤（GHG Protocol 範疇三類別7）、商務旅行（類別6）"),
        ("排放係數組", f"{info['set_year']} 年版（版本 {info['version']}）"),
        ("GWP 基準", info["gwp_basis"]),
        ("員工通勤（kgCO2e）", totals["commuting"]),
        ("商務旅行－短程公出（kgCO2e）", totals["short_trips"]),
        ("商務旅行－長程出差（kgCO2e）", totals["long_trips"]),
        ("類別3 合計（kgCO2e）", totals["total"]),
        ("類別3 合計（tCO2e）", totals["total"] / KG_PER_TONNE),
        ("工作表", f"「{REGISTER_SHEET}」為盤查清冊格式，每列一排放源，可貼入機關盤查清冊；「{INDEX_SHEET}」列出"
                 f"其後 {n_tables} 張報表（與 HTML 報告所示相同，數值為數字）。"),
        ("核對", "各排放源排放量合計與 summary.json 之員工通勤年排放量、公出排放量與長程出差排放量相符（產製時已檢核）。"),
        ("資料品質", "活動數據：「量測」為問卷填報距離或站間距離表；「推估」為依車資、票價、金額或大圓距離推估之距離。"
                 "排放係數：「由公開數據推導」為依公開輸入值重新推導並與公告值核對；「公告值」為研究報告公告值；"
                 "「代用值」為以他種運具或國外係數代用。"),
    ]
    ws.cell(row=1, column=1, value=f"{config.year_label(year)} 類別3 排放盤查工作簿").font = Font(bold=True, size=13)
    for i, (key, value) in enumerate(rows, start=3):
        ws.cell(row=i, column=1, value=key).font = Font(bold=True)
        cell = ws.cell(row=i, column=2, value=value if isinstance(value, float) else safe_text(value))
        if isinstance(value, float):
            cell.number_format = "0.0000" if "tCO2e" in key else "#,##0.00"
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 110


def build_workbook(year: int, reg: pd.DataFrame, report: list[dict]) -> bytes:
    """The workbook as xlsx bytes: register, about, index and one sheet per report table."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = REGISTER_SHEET
    _write_register(ws, reg)
    _write_about(wb.create_sheet(ABOUT_SHEET), year, reg, _factor_set_info(year), len(report))
    index = wb.create_sheet(INDEX_SHEET)
    widths = _header(index, 1, ["工作表", "報告頁", "表格標題"])
    taken = {REGISTER_SHEET, ABOUT_SHEET, INDEX_SHEET}
    counters: dict[str, int] = {}
    for i, table in enumerate(report, start=2):
        counters[table["page"]] = counters.get(table["page"], 0) + 1
        name = sheet_title(table["page"], counters[table["page"]], table["caption"], year, taken)
        _write_table(wb.create_sheet(name), table)
        for j, value in enumerate((name, f"{table['page']}.html", table["caption"]), start=1):
            index.cell(row=i, column=j, value=safe_text(value))
            widths[j] = max(widths[j], _width(value))
    _fit_columns(index, widths, cap=80)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_workbook(year: int, raw_dir: Path, processed_dir: Path, out_dir: Path, params: dict | None = None) -> Path:
    """Write <out_dir>/inventory.xlsx for a run (after summary.json, whose totals the register must equal)."""
    out_dir = Path(out_dir)
    reg = register(year, processed_dir, (params or {}).get("main_mode_rule", "longest"))
    summary_path = out_dir / SUMMARY_FILE
    if summary_path.exists():
        check_totals(reg, json.loads(summary_path.read_text(encoding="utf-8")))
    path = out_dir / WORKBOOK_FILE
    atomic_write_bytes(path, build_workbook(year, reg, report_tables(out_dir / EXECUTED_SUBDIR)))
    return path
