"""Display tables for the reports: zh-TW headers, formatted numbers, base-year comparison columns."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from pandas.io.formats.style import Styler

from helpers import config, privacy, reference

# The MIME type under which every report table also carries its cells: the executed notebooks then hold each
# displayed table with its caption, and the inventory workbook (helpers.publish.workbook) is built from them.
TABLE_MIMETYPE = "application/vnd.workbench.table+json"


def fmt_kg(value: float) -> str:
    """kgCO2e with thousands separators and 2 decimals: 44,950.43."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.2f}"


def fmt_int(value: float) -> str:
    """A count with thousands separators."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{int(value):,d}"


def fmt_pct(value: float, decimals: int = 2) -> str:
    """A share as a percentage, 2 decimals unless told: 31.02%."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.{decimals}f}%"


def fmt_number(value: float, decimals: int = 0) -> str:
    """A figure with thousands separators and `decimals` decimals (rounded, not cut): 1,234.5."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{decimals}f}"


def fmt_pp(value: float) -> str:
    """A difference of shares in percentage points, signed: +0.23 個百分點."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:+.2f}"


def fmt_signed(value: float, decimals: int = 2) -> str:
    """A signed difference with thousands separators."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+,.{decimals}f}"


class ReportTable(Styler):
    """A report table: shown as HTML, and carrying its caption and cells (TABLE_MIMETYPE) for the workbook."""

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {TABLE_MIMETYPE: table_payload(self.data, getattr(self, "raw_caption", self.caption))}


def _cell(value):
    """A JSON cell: finite numbers as numbers, blanks (None, NaN, NA) as null, anything else as text."""
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _cell(value.item())
    return str(value)


def table_payload(frame: pd.DataFrame, caption: str | None) -> dict:
    """The displayed table as JSON: caption, column headers and rows of cells (index not included)."""
    return {"caption": str(caption or ""), "columns": [str(c) for c in frame.columns],
            "rows": [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]}


# Number text as the fmt_* functions print it: 1,234.56  131  31.02%  +0.23  -6  0.0833 (no leading zeros).
NUMBER_TEXT = re.compile(r"^(?P<sign>[+-])?(?P<int>0|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)(?:\.(?P<dec>\d+))?(?P<pct>%)?$")
BLANK_TEXT = frozenset({"", "—", "-", "–"})  # cells that say "no figure"
SUPPRESSED_TEXT = re.compile(r"^<\d+$")  # a small-cell marker of privacy.suppress_small ("<3")


@dataclass(frozen=True)
class NumberText:
    """A number read back from report text: its value (a share as a fraction), decimals, and how it was shown."""

    value: float | int
    decimals: int
    percent: bool
    signed: bool


def number_text(cell) -> NumberText | None:
    """A cell as a number when it is one, or number text as the reports print it; None for anything else."""
    if cell is None or isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return NumberText(cell, 0, False, False)
    if isinstance(cell, float):
        return NumberText(cell, 0 if cell.is_integer() else 4, False, False) if math.isfinite(cell) else None
    if hasattr(cell, "item") and not isinstance(cell, str):  # numpy scalars
        return number_text(cell.item())
    match = NUMBER_TEXT.match(str(cell).strip())
    if not match:
        return None
    decimals = len(match["dec"] or "")
    digits = match["int"].replace(",", "") + (f".{match['dec']}" if decimals else "")
    value = float(digits) if decimals else int(digits)
    value = -value if match["sign"] == "-" else value
    return NumberText(value / 100 if match["pct"] else value, decimals, bool(match["pct"]), bool(match["sign"]))


def _blank(cell) -> bool:
    return cell is None or cell is pd.NA or (isinstance(cell, float) and math.isnan(cell)) \
        or (isinstance(cell, str) and cell.strip() in BLANK_TEXT)


def numeric_columns(frame: pd.DataFrame) -> list:
    """Columns holding figures: every non-blank cell a number or number text (or a small-cell marker such as <3)."""
    found = []
    for col in frame.columns:
        cells = [c for c in frame[col].tolist() if not _blank(c)]
        numbers = [number_text(c) for c in cells]
        if any(numbers) and all(n is not None or SUPPRESSED_TEXT.match(str(c).strip())
                                for c, n in zip(cells, numbers)):
            found.append(col)
    return found


def _integral(series: pd.Series) -> bool:
    """A numeric column whose values are all whole numbers (shown without decimals)."""
    values = pd.to_numeric(series, errors="coerce").dropna()
    return pd.api.types.is_numeric_dtype(series) and len(values) > 0 and bool((values % 1 == 0).all())


SHORT_TEXT = 10  # a text column whose cells are all this short (dates, ids, 去程/回程) is never wrapped


def format_columns(frame: pd.DataFrame, formats: dict[str, Callable[[float], str]]) -> pd.DataFrame:
    """The number cells of the named columns as text through their fmt_* function; other cells of those columns
    (a total row's label) stay as they are, blanks become empty."""
    out = frame.copy()
    for col, fmt in formats.items():
        if col in out.columns:
            numeric = pd.to_numeric(out[col], errors="coerce")
            out[col] = numeric.map(fmt, na_action="ignore").fillna(out[col].astype("string")).fillna("")
    return out


def show(frame: pd.DataFrame, caption: str | None = None,
         formats: dict[str, Callable[[float], str]] | None = None) -> ReportTable:
    """A display-ready HTML table without the index; every cell, header and the caption HTML-escaped.

    The one table formatter of the reports: cells may hold text typed by respondents (department names,
    free-text answers, reject values), so nothing in a table is ever markup. Text left, figures right and
    unwrapped, whole-number columns without decimals (thousands separators), short text unwrapped. `formats`
    (column -> a fmt_* function) writes those columns' figures as text first (format_columns).
    """
    if formats:
        frame = format_columns(frame, formats)
    styler = ReportTable(frame).hide(axis="index").format(escape="html").format_index(escape="html", axis=1)
    if caption:
        styler = styler.set_caption(html.escape(caption))
        styler.raw_caption = caption  # the workbook gets the text, the page the escaped text
    figures = numeric_columns(frame)
    whole = [c for c in figures if _integral(frame[c])]
    if whole:
        styler = styler.format("{:,.0f}", subset=whole, na_rep="")
    text = [c for c in frame.columns if c not in figures]
    longest = {c: max((len(str(v)) for v in frame[c].tolist() if not _blank(v)), default=0) for c in text}
    short = [c for c in text if longest[c] <= SHORT_TEXT]
    long = [c for c in text if longest[c] > SHORT_TEXT]
    # per-cell properties (id selectors): the table-wide rules below must not set text-align, or they would win
    if figures:
        styler = styler.set_properties(subset=figures, **{"text-align": "right", "white-space": "nowrap",
                                                          "font-variant-numeric": "tabular-nums"})
    if short:
        styler = styler.set_properties(subset=short, **{"text-align": "left", "white-space": "nowrap"})
    if long:  # wraps, but never into a column one character wide: a wide table scrolls instead
        styler = styler.set_properties(subset=long, **{"text-align": "left", "min-width": "11em"})
    return styler.set_table_styles([
        {"selector": "caption", "props": "caption-side: top; font-weight: bold; text-align: left; padding: 4px 0;"},
        {"selector": "th", "props": "text-align: center; background: #f0f3f7; padding: 2px 8px; word-break: keep-all;"},
        {"selector": "td", "props": "padding: 2px 10px; vertical-align: top;"},
    ])


# The one listing of rejects in the reports (survey in 01, business travel in 06): the columns of rejects.csv.
REJECT_COLUMNS = {"file": "檔案 File", "row": "列 Row", "column": "欄位 Column", "value": "值 Value",
                  "reason": "原因 Reason", "detail": "說明 Detail"}


def rejects_table(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejects for a report: file, row as a spreadsheet shows it (header = row 1), column, value (pseudonyms as
    填答者 1, 2, ... of this table), the zh-TW reason and its detail; blanks as empty cells."""
    out = rejects[list(REJECT_COLUMNS)].copy()
    out["value"] = privacy.hide_pseudonyms(out["value"])
    return out.rename(columns=REJECT_COLUMNS).reset_index(drop=True).fillna("")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:/])")


def md(text) -> str:
    """Text from an input file made inert inside Markdown: HTML-escaped, Markdown punctuation backslash-escaped,
    line breaks as spaces (so '[x](javascript:...)', '<script>' or '# title' show as typed, never as markup)."""
    flat = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


FIGURE_ROW_CSS = """
.wb-figures { display: flex; flex-wrap: wrap; gap: 0.6rem; margin: 0.8rem 0 1.2rem; break-inside: avoid; }
.wb-figure { flex: 1 1 10rem; border: 1px solid #dde3e8; border-top: 4px solid #1f6f8b; border-radius: 6px;
             padding: 0.5rem 0.8rem; background: #f7fafb; }
.wb-figure .label { font-size: 0.85em; color: #445; }
.wb-figure .value { font-size: 1.45em; font-weight: 700; color: #123; font-variant-numeric: tabular-nums;
                    white-space: nowrap; }
.wb-figure .unit { font-size: 0.8em; color: #556; margin-left: 0.25em; }
.wb-figure .note { font-size: 0.8em; color: #667; }
"""


def figure_row(items: list[tuple[str, str, str, str]]):
    """Headline figures as a row of cards above a report's text: (label, value, unit, note) each, all escaped."""
    from IPython.display import HTML

    cards = "".join(
        f'<div class="wb-figure"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}<span class="unit">{html.escape(unit)}</span></div>'
        + (f'<div class="note">{html.escape(note)}</div>' if note else "") + "</div>"
        for label, value, unit, note in items)
    return HTML(f'<style>{FIGURE_ROW_CSS}</style><div class="wb-figures">{cards}</div>')


def share_comparison(current: pd.DataFrame, base: pd.DataFrame | None, year: int, base_year: int | None,
                     names: dict[str, str], key_label: str, drop_empty: bool = True) -> pd.DataFrame:
    """Counts and shares of a year beside the base year with the difference in percentage points (Tables 6-7)."""
    frame = pd.DataFrame({"key": current.index, "n": current["count"].to_numpy(), "s": current["share"].to_numpy()})
    if base is not None:
        frame["bn"] = frame["key"].map(base["count"]).fillna(0).astype(int)
        frame["bs"] = frame["key"].map(base["share"]).fillna(0.0)
    if drop_empty:
        keep = frame["n"] > 0
        if base is not None:
            keep |= frame["bn"] > 0
        frame = frame[keep]
    total = {"key": "合計 Total", "n": frame["n"].sum(), "s": frame["s"].sum()}
    if base is not None:
        total |= {"bn": frame["bn"].sum(), "bs": frame["bs"].sum()}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    y, b = config.year_label(year), (config.year_label(base_year) if base_year else "")
    out = pd.DataFrame({key_label: frame["key"].map(lambda k: names.get(k, k)),
                        f"{y} 數量": frame["n"].map(fmt_int), f"{y} 比例": frame["s"].map(fmt_pct)})
    if base is not None:
        out[f"{b} 數量"] = frame["bn"].map(fmt_int)
        out[f"{b} 比例"] = frame["bs"].map(fmt_pct)
        out["差異（百分點）"] = (frame["s"] - frame["bs"]).map(fmt_pp)
    return out


def mode_label(mode_id: str) -> str:
    """The zh-TW name of a mode id ('臺北捷運'); unknown ids as they are."""
    return reference.mode_names("zh").get(mode_id, mode_id)


group_label = reference.group_label


ROUTE_LABELS = {code: f"{zh} {en}" for code, (zh, en) in reference.label_pairs("route").items()}
WALK_RULE_TEXT = {  # {year}: the survey year whose form had the rule (data/reference/survey/<year>.yaml walk_rule)
    "all_walks": "{year} 年問卷記錄所有步行段（含 500 公尺以下）。",
    "walks_from_500m": "{year} 年問卷未要求填寫 500 公尺以下的步行段。",
}


def walk_rule_text(rule: str, year: int) -> str:
    """What a year's form asked about short walks, naming the year ('2025 年問卷記錄所有步行段…')."""
    return WALK_RULE_TEXT[rule].format(year=int(year)) if rule in WALK_RULE_TEXT else f"{int(year)} 年：{rule}"


def walk_rule_note(rule: str, base_rule: str | None, year: int, base_year: int | None) -> str | None:
    """A caveat when two years' questionnaires recorded short walks differently, naming both years (None if alike)."""
    if base_rule is None or base_year is None or rule == base_rule:
        return None
    return ("**注意（walking rule differs）：** 兩年度問卷對步行段的記錄規則不同 — "
            f"{walk_rule_text(base_rule, base_year).rstrip('。')}；{walk_rule_text(rule, year)} "
            "因此「運具次數」（leg counts）中的步行與非機動運具段數差異部分來自問卷設計，並非行為改變；"
            "「旅次主運具」與排放量幾乎不受影響（短程步行的排放係數為 0）。")

FACTOR_METHOD_LABELS = reference.labels("factor_method")


def factor_report(table: pd.DataFrame, modes: set[str] | None = None, caption: str | None = None) -> ReportTable:
    """The factor report: per mode the factor derived from the inputs, the study's printed one, the one used, why.

    `table` is `factors.factor_table(year)`; `modes` limits the rows (e.g. the modes of this year's legs).
    """
    shown = table if modes is None else table[table["mode_id"].isin(modes)]
    three = "{:.3f}".format
    frame = pd.DataFrame({
        "運具 Mode": shown["mode_id"].map(mode_label),
        "由輸入值推導 Derived from inputs": shown["derived_kgco2e_per_pkm"].map(three),
        "研究刊印 Printed": shown["published_kgco2e_per_pkm"].map(lambda v: "—" if pd.isna(v) else three(v)),
        "採用 Used": shown["factor_kgco2e_per_pkm"].map(three),
        "推導方式 Method": shown["method"].map(lambda m: FACTOR_METHOD_LABELS.get(m, m)),
        "說明 Why": shown["why"],
    })
    left = [{"selector": f"td.col{frame.columns.get_loc(c)}", "props": "text-align: left;"}
            for c in ("推導方式 Method", "說明 Why")]  # text columns read from the left
    return show(frame, caption).set_table_styles(left, overwrite=False)
