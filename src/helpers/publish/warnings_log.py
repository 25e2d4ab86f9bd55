"""Warnings of a run: everything that lowers the quality of a figure, each with a stable code and zh-TW text.

A run shows them (a) in the terminal at the end of each year, (b) in the 「注意事項」 section of the summary page
(07_summary) and (c) in summary.json `warnings`, a list of {"code", "text"}. Today's codes: see CODES.

Three ways for a stage to add one (codes are snake_case and never change meaning; texts are for reviewers):
- a check on the processed data: decorate a function `(ctx: Context) -> list[RunWarning]` with `@check`
  (it is run by collect(), in the summary notebook and for summary.json alike, so both show the same list);
- a stage that writes a processed report: put `"warnings": [{"code": ..., "text": ...}]` into the year's
  ingest_report.json (ingest) and collect() picks them up;
- something the run itself learns (e.g. the key was created now): record(code, text) appends it to the run's
  warnings file ($WORKBENCH_WARNINGS_FILE, set by the runner), which collect() reads too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

WARNINGS_FILE_ENV = "WORKBENCH_WARNINGS_FILE"
NONE_TEXT = "本年度沒有需要特別注意的事項。"


@dataclass(frozen=True)
class RunWarning:
    """One warning: `code` (stable, snake_case) and `text` (Traditional Chinese, one sentence or two)."""

    code: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text}


@dataclass
class Context:
    """What a check may look at: the year's processed folder and the run's parameters."""

    year: int
    processed_dir: Path
    min_cell: int = 3
    main_mode_rule: str = "longest"

    @cached_property
    def report(self) -> dict:
        """The year's ingest_report.json ({} when the year is not processed)."""
        try:
            return json.loads((Path(self.processed_dir) / str(self.year) / "ingest_report.json")
                              .read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    @cached_property
    def results(self):
        """helpers.publish.summary.YearResults of the year (computed once per run)."""
        from helpers.publish import summary

        return summary.year_results(Path(self.processed_dir), self.year, self.main_mode_rule)


CHECKS: list[Callable[[Context], list[RunWarning]]] = []


def check(function: Callable[[Context], list[RunWarning]]) -> Callable[[Context], list[RunWarning]]:
    """Register a check run by collect()."""
    CHECKS.append(function)
    return function


def record(code: str, text: str) -> None:
    """Append a warning the run learnt (not derivable from the processed data) to the run's warnings file."""
    path = os.environ.get(WARNINGS_FILE_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"code": code, "text": text}, ensure_ascii=False) + "\n")


def recorded() -> list[RunWarning]:
    """The warnings record() appended during this run."""
    path = os.environ.get(WARNINGS_FILE_ENV)
    if not path or not Path(path).exists():
        return []
    return [RunWarning(**json.loads(line)) for line in Path(path).read_text(encoding="utf-8").splitlines() if line]


def collect(year: int, processed_dir: Path | str, min_cell: int = 3, main_mode_rule: str = "longest") -> list[RunWarning]:
    """Every warning of a year: the checks, the processed reports' own and the run's recorded ones (no repeats)."""
    ctx = Context(int(year), Path(processed_dir), int(min_cell), main_mode_rule)
    found: list[RunWarning] = list(recorded())
    for function in CHECKS:
        found += function(ctx)
    found += [RunWarning(w["code"], w["text"]) for w in ctx.report.get("warnings", [])]
    return list(dict.fromkeys(found))


def markdown(warnings: list[RunWarning]) -> str:
    """The 注意事項 list for a report page (texts are ours, never raw input)."""
    if not warnings:
        return NONE_TEXT
    return "\n".join(f"- {w.text}" for w in warnings)  # codes are for summary.json and the terminal


def terminal(year: int, warnings: list[RunWarning]) -> str:
    """Lines for the end of a year's run in the terminal."""
    if not warnings:
        return f"[{year}] 注意事項 warnings: none"
    return "\n".join([f"[{year}] 注意事項 warnings ({len(warnings)}):"] + [f"  - {w.code}: {w.text}" for w in warnings])


# ------------------------------------------------------------------------------------------------- checks

def _n(value) -> str:
    return f"{int(value):,}"


@check
def _survey_rejects(ctx: Context) -> list[RunWarning]:
    rep = ctx.report
    out = []
    if rep.get("rejected"):
        out.append(RunWarning("survey_rejects", f"問卷有 {_n(rep['rejected'])} 列退件，未納入盤查（占原始資料 "
                                                f"{rep['rejected'] / rep['raw_rows']:.1%}）；原因與列號見資料匯入報告。"))
    if rep.get("timestamps_outside_year"):
        out.append(RunWarning("timestamps_outside_year", f"有 {_n(rep['timestamps_outside_year'])} 列的填答時間不在 "
                                                         f"{ctx.year} 年調查期間內，已退件（可能混入其他年度的匯出檔）。"))
    routes_a = rep.get("routes", {}).get("A", 0) + rep.get("route_a_unmatched", 0)
    if rep.get("route_a_unmatched"):
        out.append(RunWarning("route_a_unmatched", f"選擇沿用去年資料（路徑 A）的 {_n(routes_a)} 人中，有 "
                                                   f"{_n(rep['route_a_unmatched'])} 人找不到 {ctx.year - 1} 年的紀錄而退件"
                                                   f"（{rep['route_a_unmatched'] / routes_a:.1%}），其通勤排放未計入。"))
    if rep.get("route_a_with_commute"):
        rows = ", ".join(map(str, rep["route_a_with_commute"][:10]))
        out.append(RunWarning("route_a_with_commute", f"{_n(len(rep['route_a_with_commute']))} 人選擇沿用去年資料（路徑 A）"
                                                      f"卻填寫了通勤資料，已以本年填寫內容計算並計為路徑 B（問卷列 {rows}）。"))
    return out


@check
def _claims_rejects(ctx: Context) -> list[RunWarning]:
    try:
        rep = json.loads((Path(ctx.processed_dir) / str(ctx.year) / "business_travel" / "report.json")
                         .read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = []
    rejected = (rep.get("claims") or {}).get("rejected_rows", 0)
    if rejected:
        out.append(RunWarning("claims_rejects", f"公出報支有 {_n(rejected)} 列退件，未計入公務差旅排放；明細見公務差旅報告。"))
    review = rep.get("claims_needing_review", 0)
    if review:
        out.append(RunWarning("claims_need_review", f"{_n(review)} 件公出報支的距離為推估或金額不合費率，需人工複核。"))
    return out


@check
def _proxy_factors(ctx: Context) -> list[RunWarning]:
    from helpers.inventory import factors
    from helpers.publish import tables

    if not ctx.report:
        return []
    used = set(ctx.results.tables["legs"]["mode_id"])
    table = factors.factor_table(ctx.year)
    proxies = table[table["is_proxy"].fillna(False).astype(bool) & table["mode_id"].isin(used)]
    return [RunWarning("proxy_factor", f"「{tables.mode_label(row.mode_id)}」無公告排放係數，以"
                                       f"「{tables.mode_label(row.proxy_of)}」的係數代用。")
            for row in proxies.itertuples()]


@check
def _suppressed_cells(ctx: Context) -> list[RunWarning]:
    if not ctx.report:
        return []
    per = ctx.results.per_person
    sizes = per["department"].fillna("（未填）").value_counts()
    small = sizes[sizes < ctx.min_cell]
    if small.empty:
        return []
    return [RunWarning("suppressed_cells", f"{_n(len(small))} 個單位的填答人數少於 {ctx.min_cell} 人，依個資保護"
                                           f"不揭露其細項（表中以「<{ctx.min_cell}」表示），但仍計入總量。")]


@check
def _roll_forward(ctx: Context) -> list[RunWarning]:
    if ctx.report.get("estimate_basis") != "roll_forward":
        return []
    rf = ctx.results.report.get("roll_forward") or {}
    census = ctx.report.get("census_year")
    return [RunWarning("roll_forward_estimate", f"本年度未全面調查：通勤排放為以 {census} 年普查為基礎之推估（留任者沿用普查"
                                                f"通勤資料 {_n(rf.get('stayers_carried', 0))} 人、推估 "
                                                f"{_n(rf.get('stayers_estimated', 0))} 人；新進者 {_n(rf.get('joiners', 0))} 人），"
                                                "通勤方式若已改變不會反映；請定期重新普查。")]


@check
def _respondents_not_in_scope(ctx: Context) -> list[RunWarning]:
    from helpers.inventory import roster

    tables = ctx.results.tables if ctx.report else {}
    if "staff" not in tables:
        return []
    outside = roster.response_counts(tables["staff"], tables["respondents"])["respondents_not_in_scope"]
    if not outside:
        return []
    return [RunWarning("respondents_not_in_scope", f"{_n(outside)} 位納入盤查的填答者不在本年度人事名冊的盤查範圍內"
                                                   "（名冊遺漏、已離職或非本機關人員）；其排放仍計入合計，請人事單位確認名冊。")]


@check
def _cjk_font(ctx: Context) -> list[RunWarning]:
    from helpers.publish import plots

    if plots.cjk_font() is not None:
        return []
    return [RunWarning("no_cjk_font", "找不到可顯示繁體中文的字型，圖表中的中文可能顯示為方框；"
                                      "請安裝專案相依套件（noto-cjk-sans-otc）後重新執行。")]


CODES = {
    "key_created": "the pseudonymisation key was created by this run (first use): back it up",
    "survey_rejects": "survey rows rejected", "timestamps_outside_year": "rows submitted outside the survey year",
    "route_a_unmatched": "route-A respondents without last year's record",
    "route_a_with_commute": "route A with a typed commute, counted as B",
    "claims_rejects": "expense-claim rows rejected", "claims_need_review": "claims whose distance needs a look",
    "proxy_factor": "a mode's factor is another mode's (proxy)", "suppressed_cells": "small cells not shown",
    "no_cjk_font": "no font for Chinese chart text",
    "roll_forward_estimate": "the year's commuting figures are rolled forward from a census year (an estimate)",
    "respondents_not_in_scope": "respondents who are not in the roster's staff in scope",
}
