"""The researcher's workbench: every processed survey year of a dataset behind one small API.

Open a dataset once (`helpers.open("sample")`); each year's per-person and per-leg tables are computed at open
by the same helpers the reports use (summary.year_results, emissions, modeshare), so every number here equals
the reports' number, and kept in the year folder for the next open while nothing they come from changes
(helpers.workbench_cache). Then compare two years, follow the people present in both, and draw one view:

    >>> import helpers
    >>> wb = helpers.open("sample")
    >>> wb.years
    [2024, 2025, 2026]
    >>> shares = wb.compare(2024, 2025, by="group", raw=True)
    >>> shares[["persons_2024", "persons_2025", "persons_change"]]
                   persons_2024  persons_2025  persons_change
    group
    public                   45            44              -1
    non_motorised             9             7              -2
    private                  83            80              -3

Breakdowns meant for display (`raw=False`, the default) show cells of fewer than `min_cell` persons as "<k",
cells hidden so that no small cell can be worked out from the year's total as "×" (privacy.suppress_with_totals,
as the reports' band tables), and the figures derived from hidden cells as "—". The workbench applies it to every
breakdown, mode shares included: its filters can narrow any cell to a few identifiable people.
People are identified only by their keyed pseudonym (`respondent_id`); employee numbers never reach the
processed tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, privacy, reference, schemas, workbench_cache
from helpers.inventory import emissions, modeshare, rollforward
from helpers.publish import preflight, summary, tables

MAX_THREADS = 4  # years opened at once (at most one per core)
UNKNOWN_DEPARTMENT = "（未填）"  # respondents who left the department blank
BREAKDOWNS = {  # breakdown -> its label; group and mode count legs by their own mode, persons by their main mode
    "group": "運具類別 Mode group",
    "mode": "運具 Mode",
    "department": "單位 Department",
    "distance_bin": "單程距離 One-way distance",
    "route": "填答路徑 Route",
}
MODE_BREAKDOWNS = ("group", "mode")
PERSON_COLUMN = {"group": "main_group", "mode": "main_mode", "department": "department",
                 "distance_bin": "distance_bin", "route": "route"}
# stayers' transitions: named sets of modes beside group ids and mode ids
MODE_SETS = {"car": "car_", "motorcycle": "motorcycle_", "mrt": "mrt_", "bus": "bus_", "taxi": "taxi_"}


@dataclass(frozen=True)
class Measure:
    """A figure the view can show per category: its column in compare(), the count that decides suppression."""

    label: str
    unit: str
    value: str  # column of a breakdown (see Workbench.breakdown)
    count: str  # persons behind the value: "persons" or "leg_persons"; under min_cell the row is suppressed
    fmt: str  # format of the value in display tables
    share: bool = False  # a share: its change is shown in percentage points
    extra: tuple[str, ...] = ()  # further columns shown beside it (e.g. the leg counts of a leg share)


MEASURES = {
    "annual_kgco2e": Measure("年排放量 Annual emissions", "kgCO2e／年", "annual_kgco2e", "leg_persons", "{:,.2f}"),
    "intensity": Measure("平均排放強度 Mean intensity", "kgCO2e／延人公里", "mean_intensity_kgco2e_per_pkm",
                         "persons", "{:.4f}"),
    "leg_share": Measure("運具次數比例 Leg share", "%", "leg_share", "leg_persons", "{:.2%}", share=True,
                         extra=("legs",)),
    "main_share": Measure("旅次主運具比例 Main-mode share", "%", "person_share", "persons", "{:.2%}", share=True),
    "distance": Measure("平均單程距離 Mean one-way distance", "公里", "mean_one_way_km", "persons", "{:,.2f}"),
}
BREAKDOWN_COLUMNS = ("persons", "person_share", "legs", "leg_share", "leg_persons", "annual_kgco2e", "kg_share",
                     "daily_kgco2e", "mean_intensity_kgco2e_per_pkm", "mean_one_way_km")
COUNT_COLUMNS = ("persons", "legs", "leg_persons")


@dataclass
class View:
    """One explored view: the display table (suppressed), its chart, and the raw comparison behind them."""

    selection: dict
    title: str
    table: pd.DataFrame  # display-ready, suppressed: this is what may be shown or exported
    raw: pd.DataFrame = field(repr=False)  # compare(..., raw=True): unsuppressed numbers, for analysis only
    notes: list[str] = field(default_factory=list)
    chart: pd.DataFrame = field(default=None, repr=False)  # what the chart draws: the shown categories only
    draw: object = field(default=None, repr=False)  # chart -> matplotlib Figure

    @cached_property
    def figure(self):
        """The chart (a matplotlib Figure), drawn on first use: exporting a view draws nothing."""
        return self.draw(self.chart)


@dataclass
class TransitionView:
    """The stayers' view: main-mode transitions (suppressed) and the switchers from one mode set to another."""

    selection: dict
    title: str
    matrix: pd.DataFrame  # display-ready, suppressed
    switchers: pd.DataFrame  # by pseudonym: department, main mode and annual kgCO2e in both years
    notes: list[str] = field(default_factory=list)


def parts(view: View | TransitionView) -> list:
    """What a view shows, in order: its title (Markdown), table(s), chart, notes (Markdown)."""
    from IPython.display import Markdown

    shown = [Markdown(f"### {tables.md(view.title)}")]  # titles hold department names: typed text, made inert
    if isinstance(view, View):
        shown += [tables.show(view.table), view.figure]
    else:
        shown += [tables.show(view.matrix, caption="留任者主運具移轉 Stayers' main mode, year a (rows) to year b"),
                  tables.show(view.switchers, caption=f"轉換者 Switchers: {len(view.switchers):,} 人（以代號識別）")]
    return shown + [Markdown(note) for note in view.notes]


def show(view: View | TransitionView) -> None:
    """Display a view in a notebook (the chart is closed after, so that it shows once)."""
    from IPython.display import display

    for part in parts(view):
        display(part)
    _close(view)


def live(output, draw, controls: dict) -> None:
    """Show draw(**values of the controls) in an ipywidgets Output now and again whenever a control changes.

    `draw` is e.g. Workbench.view or Workbench.transition_view; `controls` maps its argument names to widgets.
    The output's content is set as data (its `outputs`), not captured with `with output:`, which can leave a
    notebook executed without a front end (papermill) waiting for ever.
    """
    from IPython import get_ipython

    formatter = get_ipython().display_formatter

    def redraw(change=None):
        view = draw(**{name: control.value for name, control in controls.items()})
        bundles = [formatter.format(part) for part in parts(view)]
        _close(view)
        output.outputs = tuple({"output_type": "display_data", "data": data, "metadata": metadata}
                               for data, metadata in bundles)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()


def _close(view: View | TransitionView) -> None:
    """Close a view's chart once shown (pyplot would show an open figure again at the end of the cell)."""
    if isinstance(view, View) and "figure" in view.__dict__:
        import matplotlib.pyplot as plt

        plt.close(view.figure)


def resolve(source: str | Path) -> Path:
    """The processed folder of a dataset name (data/processed/<name>) or of a path to a processed folder."""
    text = str(source).strip()
    if not text:
        raise ValueError("give a dataset name (e.g. 'sample') or a processed folder (e.g. data/processed/sample)")
    path = Path(text).expanduser()
    candidates = [path] if (path.is_absolute() or len(path.parts) > 1) else [path, config.PROCESSED / text]
    for folder in candidates:
        if folder.is_dir() and processed_years(folder):
            return folder.resolve()
    tried = " or ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no processed survey year in {tried}; run the pipeline first, e.g. "
                            f"`python -m helpers run --year 2024 2025` (or `make report` for the sample)")


def processed_years(folder: Path) -> list[int]:
    """Gregorian years with processed tables (<folder>/<year>/respondents.parquet), ascending."""
    return sorted(int(p.name) for p in Path(folder).iterdir()
                  if p.is_dir() and p.name.isdigit() and (p / "respondents.parquet").exists())


def open_workbench(source: str | Path = config.DEFAULT_DATASET, years: Iterable[int | str] | None = None,
                   main_mode_rule: str = "longest", min_cell: int = 3, cache: bool = True) -> Workbench:
    """Open a dataset's processed years (all, or `years`, Gregorian or ROC) and compute its tables once.

    cache=True reads each year's tables from <processed>/<year>/.derived/ when the processed files, reference
    files and code are those they were computed from, and stores them there otherwise (helpers.workbench_cache);
    cache=False computes every year afresh and stores nothing. Years are loaded in threads (up to MAX_THREADS,
    one per core).
    """
    _min_cell(min_cell)  # before the work of loading
    folder = resolve(source)
    found = processed_years(folder)
    wanted = found if years is None else sorted({config.to_gregorian(y) for y in years})
    missing = [y for y in wanted if y not in found]
    if missing:
        raise ValueError(f"{folder}: year(s) {missing} not processed; processed years: {found}")

    def load(year: int) -> workbench_cache.YearTables:
        compute = partial(year_tables, folder, year, main_mode_rule)
        return workbench_cache.year_tables(folder, year, main_mode_rule, compute) if cache else compute()

    # years in threads: reading parquet and most of pandas' work release the GIL (five cold years of 10^5 on 2
    # cores: 3.5 s instead of 5-6 s); each year's computation touches only its own frames
    with ThreadPoolExecutor(max_workers=max(1, min(len(wanted), os.cpu_count() or 1, MAX_THREADS))) as pool:
        tables = dict(zip(wanted, pool.map(load, wanted)))
    return Workbench(folder, tables, main_mode_rule, min_cell)


def year_tables(processed_dir: Path, year: int, main_mode_rule: str) -> workbench_cache.YearTables:
    """A year's person and leg tables computed from the reports' results (summary.year_results)."""
    res = summary.year_results(processed_dir, year, main_mode_rule)
    persons = _persons(res)
    return workbench_cache.YearTables(persons, _legs(res, persons), res.report.get("walk_rule", "all_walks"),
                                      results=res)


class YearResultsByYear(Mapping):
    """year -> summary.YearResults, computed on first use (wb.decompose needs a year's full tables; opening
    the workbench does not), or kept from the open when the year was computed then."""

    def __init__(self, processed_dir: Path, years: list[int], main_mode_rule: str, known: dict):
        self._processed_dir, self._years, self._rule = processed_dir, years, main_mode_rule
        self._known = {y: r for y, r in known.items() if r is not None}

    def __getitem__(self, year: int) -> summary.YearResults:
        if year not in self._years:
            raise KeyError(year)
        if year not in self._known:
            self._known[year] = summary.year_results(self._processed_dir, year, self._rule)
        return self._known[year]

    def __iter__(self):
        return iter(self._years)

    def __len__(self) -> int:
        return len(self._years)


class Workbench:
    """Processed survey years of one dataset: person x year and leg tables, comparisons, transitions, views."""

    def __init__(self, processed_dir: Path, tables: dict[int, workbench_cache.YearTables], main_mode_rule: str,
                 min_cell: int = 3):
        self.processed_dir = Path(processed_dir)
        self.main_mode_rule = main_mode_rule
        self.min_cell = _min_cell(min_cell)
        # year -> summary.YearResults (the reports' results of that year), computed when first used
        self.results = YearResultsByYear(self.processed_dir, sorted(tables), main_mode_rule,
                                         {y: t.results for y, t in tables.items()})
        self.cache_status = {y: t.status for y, t in tables.items()}  # per year: read, written, computed ...
        self._walk_rule = {y: t.walk_rule for y, t in tables.items()}
        # one set of categories for every year, so that years compare and concatenate as categoricals
        names = sorted({d for t in tables.values() for d in t.persons["department"].astype(str).unique()})
        departments = pd.CategoricalDtype(sorted(set(names) - {UNKNOWN_DEPARTMENT})
                                          + ([UNKNOWN_DEPARTMENT] if UNKNOWN_DEPARTMENT in names else []))
        self._persons, self._legs = {}, {}
        for y, t in tables.items():
            self._persons[y] = t.persons.assign(department=t.persons["department"].astype(str).astype(departments))
            self._legs[y] = t.legs.assign(department=t.legs["department"].astype(str).astype(departments))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{y}: {len(p):,}" for y, p in self._persons.items())
        return f"<Workbench {self.processed_dir} — persons per year {{{sizes}}}, min_cell={self.min_cell}>"

    # ------------------------------------------------------------------------------------------ tables
    @property
    def years(self) -> list[int]:
        """The processed years, ascending (Gregorian)."""
        return sorted(self._persons)

    def year(self, year: int | str) -> int:
        """A processed year as Gregorian (accepts ROC, 114 -> 2025); raises naming the processed years."""
        value = config.to_gregorian(year)
        if value not in self._persons:
            raise ValueError(f"year {year} is not processed in {self.processed_dir}; processed years: {self.years}")
        return value

    def departments(self, years: Iterable[int | str] | None = None) -> list[str]:
        """Departments present in the given years (all years by default), sorted, the blank label last."""
        names = {d for y in self._years(years) for d in self._persons[y]["department"].unique()}
        return sorted(names - {UNKNOWN_DEPARTMENT}) + ([UNKNOWN_DEPARTMENT] if UNKNOWN_DEPARTMENT in names else [])

    def persons(self, years: Iterable[int | str] | int | None = None) -> pd.DataFrame:
        """One row per respondent in the inventory and year.

        Columns: year, respondent_id (keyed pseudonym), department, route (A/B/C), basis (where the commute
        came from: survey = answered that year, carried_over = route A, last year's answers), attendance_days,
        one_way_km (days-weighted over patterns), daily_km, daily_kgco2e, annual_kgco2e,
        intensity_kgco2e_per_pkm, distance_bin, main_mode and main_group (of the main pattern).

        >>> people = wb.persons(2025)
        >>> len(people), round(float(people["annual_kgco2e"].sum()), 2)
        (131, 44950.43)
        """
        return pd.concat([self._persons[y] for y in self._years(years)], ignore_index=True)

    def legs(self, years: Iterable[int | str] | int | None = None) -> pd.DataFrame:
        """One row per reported leg and year: the leg (pattern_no, leg_no, mode_id, group, distance_km one-way),
        its factor, pattern_share (the pattern's share of the person's commuting days), its round trips' daily_kgco2e, annual_kgco2e and
        annual_pkm, and the person's department, route and distance_bin.

        >>> wb.legs(2025)["group"].value_counts().to_dict()
        {'private': 86, 'public': 58, 'non_motorised': 43}
        """
        return pd.concat([self._legs[y] for y in self._years(years)], ignore_index=True)

    def totals(self, year: int | str, department: str | Iterable[str] | None = None) -> dict[str, float]:
        """emissions.totals() of a year's respondents (of some departments): respondents, daily and annual kgCO2e,
        mean and ratio intensity, daily km. Raw numbers: do not display a department's with few respondents.

        >>> round(wb.totals(2024)["daily_total_kgco2e"], 2)
        272.87
        """
        persons, _ = self._slice(self.year(year), department)
        return emissions.totals(persons)

    # ------------------------------------------------------------------------------------- breakdowns
    def breakdown(self, year: int | str, by: str = "group", department: str | Iterable[str] | None = None
                  ) -> pd.DataFrame:
        """Raw figures per category of `by` in one year (of some departments), one row per category:

        persons (by main mode for group/mode), person_share, legs (by the leg's own mode for group/mode, else
        the legs of the category's persons), leg_share, leg_persons (persons with such legs), annual_kgco2e and
        daily_kgco2e (by the leg's mode for group/mode), kg_share, mean_intensity_kgco2e_per_pkm (mean over the
        persons of daily kgCO2e / daily km, the study's intensity) and mean_one_way_km.
        """
        year = self.year(year)
        _check_by(by)
        persons, legs = self._slice(year, department)
        return _breakdown(persons, legs, by)

    def compare(self, a: int | str, b: int | str, by: str = "group", measure: str = "main_share",
                department: str | Iterable[str] | None = None, raw: bool = False) -> pd.DataFrame:
        """Two years side by side per category of `by`, with the change from a to b.

        raw=True: every column of breakdown() for each year, `<column>_<a>` and `<column>_<b>`, and
        `<column>_change` (b - a; shares as fractions, so 0.01 is one percentage point), indexed by category id.
        raw=False (for display): the chosen `measure` (see MEASURES) with its persons, zh-TW labels, changes of
        shares in percentage points, cells under min_cell suppressed.

        >>> table = wb.compare(2024, 2025, by="group", measure="main_share")
        >>> list(table.columns[1:3])
        ['2024（民國113年） 人數', '2024（民國113年） 旅次主運具比例 Main-mode share']
        >>> print(table.iloc[:, [0, 2, 4, 5]].to_string(index=False))  # doctest: +NORMALIZE_WHITESPACE
                 運具類別 Mode group 2024（民國113年） 旅次主運具比例 Main-mode share 2025（民國114年） 旅次主運具比例 Main-mode share 差異 Change（百分點 pp）
           大眾運輸 Public transport                               32.85%                               33.59%             +0.74
             非機動運具 Non-motorised                                6.57%                                5.34%             -1.23
        私人機動運具 Private motorised                               60.58%                               61.07%             +0.48
        """
        a, b = self.year(a), self.year(b)
        _check_by(by)
        frames = {y: self.breakdown(y, by, department) for y in (a, b)}
        index = _category_order(by, frames[a].index.union(frames[b].index, sort=False))
        wide = {}
        for column in BREAKDOWN_COLUMNS:
            fill = 0 if column in COUNT_COLUMNS or column.endswith("share") or column.endswith("kgco2e") else np.nan
            left = frames[a][column].reindex(index, fill_value=fill)
            right = frames[b][column].reindex(index, fill_value=fill)
            wide[f"{column}_{a}"], wide[f"{column}_{b}"], wide[f"{column}_change"] = left, right, right - left
        out = pd.DataFrame(wide, index=pd.Index(index, name=by))
        for column in COUNT_COLUMNS:
            out[[f"{column}_{a}", f"{column}_{b}", f"{column}_change"]] = out[
                [f"{column}_{a}", f"{column}_{b}", f"{column}_change"]].astype("int64")
        if raw:
            return out
        return self._display(out, a, b, by, _measure(measure))

    def _display(self, wide: pd.DataFrame, a: int, b: int, by: str, m: Measure) -> pd.DataFrame:
        """The display table of one measure. Each year's counts are suppressed on their own, with the year's total
        taken as known (privacy.suppress_with_totals: "<k", and "×" where a small cell would follow from the
        total); every figure of a hidden count shows "—", the change too when either year's count is hidden."""
        count_label = "人數" if m.count == "persons" or by not in MODE_BREAKDOWNS else "使用人數"
        columns, hidden = {BREAKDOWNS[by]: [category_label(by, c) for c in wide.index]}, []
        for y in (a, b):
            head = config.year_label(y)
            counts = privacy.suppress_with_totals(pd.DataFrame([wide[f"{m.count}_{y}"].to_numpy()]),
                                                  k=self.min_cell).iloc[0].to_numpy()
            hide = np.array([c in (f"<{self.min_cell}", privacy.SUPPRESSED_SECONDARY) for c in counts], dtype=bool)
            columns[f"{head} {count_label}"] = counts
            for extra in m.extra:
                columns[f"{head} {EXTRA_LABELS[extra]}"] = _shown(wide[f"{extra}_{y}"], "{:,.0f}", hide)
            columns[f"{head} {m.label}"] = _shown(wide[f"{m.value}_{y}"], m.fmt, hide)
            hidden.append(hide)
        change = wide[f"{m.value}_change"] * (100 if m.share else 1)
        label = "差異 Change（百分點 pp）" if m.share else f"差異 Change（{m.unit}）"
        columns[label] = _shown(change, "{:+.2f}" if m.share else "{:+" + m.fmt[2:], hidden[0] | hidden[1])
        return pd.DataFrame(columns)

    # ----------------------------------------------------------------------------------------- stayers
    def stayers(self, a: int | str, b: int | str, department: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Respondents in the inventory of both years, one row each: respondent_id, department and route of
        year b, and main_mode, main_group, one_way_km, annual_kgco2e of each year (suffixes _<a>, _<b>).

        The department filter applies to year b's department. Route-A respondents reuse last year's commute,
        so their main mode cannot change between consecutive years.
        """
        a, b = self.year(a), self.year(b)
        keep = ["respondent_id", "main_mode", "main_group", "one_way_km", "annual_kgco2e"]
        left = self._persons[a][keep]
        right, _ = self._slice(b, department)
        right = right[["respondent_id", "department", "route", *keep[1:]]]
        both = right.merge(left, on="respondent_id", suffixes=(f"_{b}", f"_{a}"), validate="1:1")
        order = ["respondent_id", "department", "route"] + [f"{c}_{y}" for c in keep[1:] for y in (a, b)]
        return both[order].reset_index(drop=True)

    def transitions(self, a: int | str, b: int | str, by: str = "group",
                    department: str | Iterable[str] | None = None, raw: bool = False) -> pd.DataFrame:
        """Stayers (in both years) counted by main mode group (by="group") or main mode (by="mode") in year a
        (rows) and year b (columns). raw=False: zh-TW labels and every cell under min_cell suppressed.

        >>> moves = wb.transitions(2024, 2025, raw=True)
        >>> int(moves.to_numpy().sum()) == len(wb.stayers(2024, 2025))
        True
        """
        a, b = self.year(a), self.year(b)
        if by not in MODE_BREAKDOWNS:
            raise ValueError(f"transitions by {by!r}: expected one of {list(MODE_BREAKDOWNS)}")
        return self._transitions(self.stayers(a, b, department), a, b, by, raw)

    def _transitions(self, both: pd.DataFrame, a: int, b: int, by: str, raw: bool) -> pd.DataFrame:
        """transitions() of the stayers `both` (stayers(a, b, ...))."""
        column = PERSON_COLUMN[by]
        order = list(reference.GROUPS) if by == "group" else reference.modes()["mode_id"].tolist()
        matrix = pd.crosstab(both[f"{column}_{a}"].astype(str), both[f"{column}_{b}"].astype(str))
        present = [c for c in order if c in matrix.index or c in matrix.columns]
        if by == "group":
            present = order
        matrix = matrix.reindex(index=present, columns=present, fill_value=0).astype("int64")
        matrix.index.name, matrix.columns.name = f"{by}_{a}", f"{by}_{b}"
        if raw:
            return matrix
        shown = privacy.suppress_with_totals(matrix.reset_index(drop=True), k=self.min_cell)
        shown.columns = [f"{config.year_label(b)}：{category_label(by, c)}" for c in matrix.columns]
        shown.insert(0, f"{config.year_label(a)} ＼ {config.year_label(b)}", [category_label(by, c)
                                                                              for c in matrix.index])
        return shown

    def switchers(self, a: int | str, b: int | str, from_: str | Iterable[str] = "car",
                  to: str | Iterable[str] = "public", department: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Stayers whose main mode was in `from_` in year a and is in `to` in year b, by pseudonym only.

        `from_` and `to`: a mode group (public, non_motorised, private), a mode id (car_petrol), a named set
        (car, motorcycle, mrt, bus, taxi) or a list of these.

        >>> moved = wb.switchers(2024, 2025, from_="car", to="public")
        >>> list(moved.columns[:3])
        ['respondent_id', 'department', 'route']
        """
        a, b = self.year(a), self.year(b)
        return _switchers(self.stayers(a, b, department), a, b, from_, to)

    def transition_view(self, a: int | str, b: int | str, from_: str | Iterable[str] = "car",
                        to: str | Iterable[str] = "public", by: str = "group",
                        department: str | Iterable[str] | None = None) -> TransitionView:
        """The explore notebook's stayers' view: transitions(a, b, by) for display and switchers(a, b, from_, to)
        with zh-TW headers and mode names, by pseudonym only."""
        a, b = self.year(a), self.year(b)
        if by not in MODE_BREAKDOWNS:
            raise ValueError(f"transitions by {by!r}: expected one of {list(MODE_BREAKDOWNS)}")
        depts = _departments(department)
        both = self.stayers(a, b, depts)  # once: the matrix, the switchers and the count are all of these
        moved = _switchers(both, a, b, from_, to)
        shown = pd.DataFrame({
            "代號 Pseudonym": moved["respondent_id"].astype(str),
            "單位 Department": moved["department"].astype(str),
            f"{a} 主運具": moved[f"main_mode_{a}"].astype(str).map(partial(category_label, "mode")),
            f"{b} 主運具": moved[f"main_mode_{b}"].astype(str).map(partial(category_label, "mode")),
            f"{a} 年排放 kgCO2e": moved[f"annual_kgco2e_{a}"].map(tables.fmt_kg),
            f"{b} 年排放 kgCO2e": moved[f"annual_kgco2e_{b}"].map(tables.fmt_kg),
        })
        who = "、".join(depts) if depts else "全體"
        moves = f"{selector_label(from_)} → {selector_label(to)}"
        title = f"留任者的運具轉換 Stayers: {config.year_label(a)} → {config.year_label(b)}（{who}；{moves}）"
        stayers = len(both)
        notes = [f"兩年度皆在盤查中的留任者 {stayers:,} 人" if stayers >= self.min_cell
                 else f"兩年度皆在盤查中的留任者少於 {self.min_cell} 人",
                 "路徑 A（沿用去年資料）者的主運具與前一年相同；轉換只可能出現在重新填答（路徑 B）者。"
                 " Route-A respondents reuse last year's commute, so only re-answered commutes can change.",
                 privacy.suppression_note(self.min_cell)]
        selection = {"a": a, "b": b, "from_": from_, "to": to, "by": by, "department": depts}
        return TransitionView(selection, title, self._transitions(both, a, b, by, raw=False), shown, notes)

    def decompose(self, a: int | str, b: int | str, raw: bool = False) -> pd.DataFrame:
        """Why the annual total changed from year a to year b: issue 2.5's additive decomposition
        (helpers.inventory.decompose: leavers, joiners, attendance, behaviour, factors; walking rule as a memo),
        whose effects add up to the change of the annual total. raw=False: the reports' display table."""
        from helpers.inventory import decompose

        a, b = self.year(a), self.year(b)
        table = decompose.decompose_years(self.results[a], self.results[b])
        return table if raw else decompose.display_table(table)

    # ------------------------------------------------------------------------------------------ views
    def view(self, a: int | str, b: int | str, measure: str = "main_share", by: str = "group",
             department: str | Iterable[str] | None = None) -> View:
        """The explore notebook's view: display table (suppressed) and chart of `measure` by `by` in two years.

        >>> v = wb.view(2024, 2025, measure="annual_kgco2e", by="distance_bin")
        >>> v.title
        '年排放量 Annual emissions：2024（民國113年） 與 2025（民國114年），依 單程距離 One-way distance（全體）'
        """
        a, b = self.year(a), self.year(b)
        m = _measure(measure)
        depts = _departments(department)
        raw = self.compare(a, b, by=by, department=depts, raw=True)
        table = self._display(raw, a, b, by, m)
        who = "、".join(depts) if depts else "全體"
        title = f"{m.label}：{config.year_label(a)} 與 {config.year_label(b)}，依 {BREAKDOWNS[by]}（{who}）"
        # the chart draws only what the table shows: a category hidden in either year ("<k" or "×") is left out
        marks = {f"<{self.min_cell}", privacy.SUPPRESSED_SECONDARY}
        counts = [c for c in table.columns if c.endswith(" 人數") or c.endswith(" 使用人數")]
        small = table[counts].isin(marks).any(axis=1).to_numpy()
        scale = 100 if m.share else 1
        chart = pd.concat([pd.DataFrame({"category": [category_label(by, c) for c in raw.index[~small]],
                                         "year": config.year_label(y),
                                         "value": raw.loc[~small, f"{m.value}_{y}"].to_numpy() * scale})
                           for y in (a, b)], ignore_index=True)
        hidden = f"（{int(small.sum())} 類因小格遮蔽不顯示）" if small.any() else ""
        draw = partial(_chart, m=m, by=by, years=(a, b), title=f"{m.label}{hidden}")
        notes = [privacy.suppression_note(self.min_cell)]
        if m.value == "leg_share" or "legs" in m.extra:
            walk = tables.walk_rule_note(self._walk_rule[b], self._walk_rule[a], b, a)
            if walk:
                notes.append(walk)
        if by in MODE_BREAKDOWNS:
            notes.append("運具類別與運具：人數、平均強度與距離依各人的旅次主運具歸類；運具次數與排放量依各段的運具歸類。"
                         " Persons, intensity and distance by main mode; legs and emissions by each leg's mode.")
        selection = {"a": a, "b": b, "measure": measure, "by": by, "department": depts}
        return View(selection, title, table, raw, notes, chart, draw)

    def export(self, view: View, folder: str | Path, stem: str | None = None) -> list[Path]:
        """Write a view's display table (suppressed) as CSV (schemas.write_csv: UTF-8 with BOM, CRLF) and XLSX into
        `folder`; cells starting with = + - @ or a tab/CR get a leading ' so no spreadsheet runs them as formulas."""
        s = view.selection
        stem = stem or f"explore_{s['measure']}_by_{s['by']}_{s['a']}_{s['b']}"
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, xlsx_path = folder / f"{stem}.csv", folder / f"{stem}.xlsx"
        schemas.write_csv(view.table, csv_path)
        schemas.neutralise_formulas(view.table).to_excel(xlsx_path, index=False, sheet_name="view")
        return [csv_path, xlsx_path]

    # -------------------------------------------------------------------------------------- internals
    def _years(self, years: Iterable[int | str] | int | str | None) -> list[int]:
        if years is None:
            return self.years
        if isinstance(years, (int, str)):
            years = [years]
        return [self.year(y) for y in years]

    def _slice(self, year: int, department: str | Iterable[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        persons, legs = self._persons[year], self._legs[year]
        depts = _departments(department)
        if not depts:
            return persons, legs
        unknown = [d for d in depts if d not in self.departments()]
        if unknown:
            raise ValueError(f"department(s) {unknown} not in {self.processed_dir}; known: {self.departments()}")
        return persons[persons["department"].isin(depts)], legs[legs["department"].isin(depts)]


EXTRA_LABELS = {"legs": "運具次數 Legs"}


def mode_set(selector: str | Iterable[str]) -> set[str]:
    """Mode ids of a group id, a mode id, a named set (MODE_SETS: car, motorcycle, ...) or a list of these."""
    catalogue = reference.modes()
    if not isinstance(selector, str):
        return set().union(*(mode_set(s) for s in selector))
    ids = catalogue["mode_id"].tolist()
    if selector in reference.GROUPS:
        return set(catalogue.loc[catalogue["group"] == selector, "mode_id"])
    if selector in ids:
        return {selector}
    if selector in MODE_SETS:
        return {m for m in ids if m.startswith(MODE_SETS[selector])}
    raise ValueError(f"mode selector {selector!r}: expected a group {list(reference.GROUPS)}, a named set "
                     f"{sorted(MODE_SETS)} or a mode id {ids}")


SET_LABELS = {"car": "汽車（全部）Car", "motorcycle": "機車（全部）Motorcycle", "mrt": "捷運（全部）MRT",
              "bus": "公車（全部）City bus", "taxi": "計程車 Taxi"}


def selector_label(selector: str | Iterable[str]) -> str:
    """Display name of a mode selector: a group, a named set, a mode id, or a list of these."""
    if not isinstance(selector, str):
        return "、".join(selector_label(s) for s in selector)
    if selector in reference.GROUPS:
        return tables.group_label(selector)
    return SET_LABELS.get(selector) or tables.mode_label(selector)


def mode_selectors() -> list[tuple[str, str]]:
    """(label, selector) of every mode selector for a drop-down: groups, named sets, then each mode."""
    values = list(reference.GROUPS) + list(MODE_SETS) + reference.modes()["mode_id"].tolist()
    return [(selector_label(v), v) for v in values]


def category_label(by: str, category: str) -> str:
    """Display label of a breakdown category (zh-TW, with English where the reports have it)."""
    if by in MODE_BREAKDOWNS:
        known = _mode_labels(str(config.REFERENCE))[by]
        if category in known:
            return known[category]
        return tables.group_label(category) if by == "group" else tables.mode_label(category)
    if by == "route":
        return tables.ROUTE_LABELS.get(category, str(category))
    if by == "distance_bin":
        return f"{category} km"
    return str(category)


@lru_cache(maxsize=4)
def _mode_labels(reference_dir: str) -> dict[str, dict[str, str]]:
    """Labels of every mode group and mode, looked up once per reference folder (each lookup reads modes.yaml:
    done per row, it made a redraw take seconds)."""
    return {"group": {g: tables.group_label(g) for g in reference.GROUPS},
            "mode": {m: tables.mode_label(m) for m in reference.modes()["mode_id"]}}


def _switchers(both: pd.DataFrame, a: int, b: int, from_: str | Iterable[str], to: str | Iterable[str]
               ) -> pd.DataFrame:
    """The stayers `both` (Workbench.stayers) whose main mode was in `from_` in year a and is in `to` in year b."""
    origin, target = mode_set(from_), mode_set(to)
    moved = both[both[f"main_mode_{a}"].isin(origin) & both[f"main_mode_{b}"].isin(target)]
    return moved.sort_values(["department", "respondent_id"]).reset_index(drop=True)


def _chart(chart: pd.DataFrame, m: Measure, by: str, years: tuple[int, int], title: str):
    """Grouped bars of a view's shown categories, year a in grey and year b in the house blue."""
    from helpers.publish import plots

    plots.setup(font_warning=False)
    if chart.empty:  # every category hidden: say so instead of an empty chart
        import matplotlib.pyplot as plt

        figure, ax = plt.subplots(figsize=(8, 1.6))
        ax.axis("off")
        ax.set_title(title)
        ax.text(0.5, 0.4, "所有類別皆因小格遮蔽而不顯示 All categories hidden (small cells)", ha="center", va="center")
        return figure
    a, b = (config.year_label(y) for y in years)
    wide = by in ("mode", "department")
    # category labels may be typed text (departments): a "$" must not start matplotlib's math mode
    chart = chart.assign(category=chart["category"].astype(str).str.replace("$", r"\$", regex=False))
    figure = plots.grouped_bar(chart, "category", "value", "year", title=title, xlabel=BREAKDOWNS[by],
                               ylabel=f"{m.label.split()[0]} ({'%' if m.share else m.unit})",
                               colours={a: "#999999", b: plots.NEUTRAL}, hue_labels={a: a, b: b},
                               value_format="{:.3f}" if m.value == "mean_intensity_kgco2e_per_pkm" else "{:,.1f}",
                               figsize=(10, 5) if wide else None)
    if wide:
        for label in figure.axes[0].get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
        figure.tight_layout()
    return figure


def _shown(values: pd.Series, fmt: str, hide: np.ndarray) -> list[str]:
    """Formatted values, privacy.SUPPRESSED_DERIVED where hidden, blank where not defined."""
    return [privacy.SUPPRESSED_DERIVED if h else ("" if pd.isna(v) else fmt.format(v))
            for v, h in zip(values.to_numpy(), hide)]


def _min_cell(value: int) -> int:
    if int(value) < preflight.MIN_CELL_FLOOR:
        raise ValueError(f"min_cell = {value}: small-cell suppression needs at least {preflight.MIN_CELL_FLOOR} "
                         "(1 would show every count), as for the reports; the default is 3")
    return int(value)


def _check_by(by: str) -> None:
    if by not in BREAKDOWNS:
        raise ValueError(f"breakdown {by!r} unknown; expected one of {list(BREAKDOWNS)}")


def _measure(measure: str) -> Measure:
    if measure not in MEASURES:
        raise ValueError(f"measure {measure!r} unknown; expected one of {list(MEASURES)}")
    return MEASURES[measure]


def _departments(department: str | Iterable[str] | None) -> list[str]:
    if department is None or (isinstance(department, str) and not department.strip()):
        return []
    return [department] if isinstance(department, str) else [d for d in department if str(d).strip()]


def _persons(res: summary.YearResults) -> pd.DataFrame:
    """The person table of one year's results (see Workbench.persons)."""
    per = res.per_person
    respondents = res.tables["respondents"]
    # looked up on integer codes per respondent (text-key merges are several times slower at 10^5 people)
    per_key, main_key, resp_key = emissions.id_codes(per["respondent_id"], res.main_modes["respondent_id"],
                                                     respondents["respondent_id"])
    main_pos = pd.Index(main_key).get_indexer(per_key)
    if (main_pos < 0).any():
        lacking = per.loc[main_pos < 0, "respondent_id"].tolist()
        raise ValueError(f"{res.year}: respondents without a main mode: {lacking[:5]} ({len(lacking)} in all)")
    resp_pos = pd.Index(resp_key).get_indexer(per_key)
    main = res.main_modes.iloc[main_pos]
    return pd.DataFrame({
        "year": np.full(len(per), res.year, dtype="int64"),
        "respondent_id": per["respondent_id"].astype("string").array,
        "department": per["department"].astype("string").fillna(UNKNOWN_DEPARTMENT).to_numpy(),
        # a roll-forward year also has stayers carried from the census (route R, legs from the census)
        "route": pd.Categorical(per["route"], categories=[*schemas.ROUTES, rollforward.ROUTE]),
        "basis": pd.Categorical(respondents["legs_source"].to_numpy()[resp_pos],
                                categories=[*schemas.LEG_SOURCES, rollforward.LEGS_SOURCE]),
        "attendance_days": per["attendance_days"].to_numpy(),
        "one_way_km": per["one_way_km"].to_numpy(),
        "daily_km": per["daily_km"].to_numpy(),
        "daily_kgco2e": per["daily_kgco2e"].to_numpy(),
        "annual_kgco2e": per["annual_kgco2e"].to_numpy(),
        "intensity_kgco2e_per_pkm": per["intensity_kgco2e_per_pkm"].to_numpy(),
        "distance_bin": emissions.distance_bin(per["one_way_km"]).array,
        "main_mode": pd.Categorical(main["mode_id"], categories=reference.modes()["mode_id"].tolist()),
        "main_group": pd.Categorical(main["group"], categories=reference.GROUPS),
    })


def _legs(res: summary.YearResults, persons: pd.DataFrame) -> pd.DataFrame:
    """The leg table of one year's results (see Workbench.legs)."""
    frame = emissions.leg_emissions(res.tables["legs"], res.tables["patterns"], res.per_person, res.factors)
    if len(frame) != len(res.tables["legs"]):
        raise ValueError(f"{res.year}: {len(res.tables['legs']) - len(frame)} leg(s) belong to no respondent of the "
                         "inventory; the processed tables disagree (ingest the year again)")
    modes = reference.modes()
    mode = pd.Categorical(frame["mode_id"], categories=modes["mode_id"].tolist())
    group = pd.Categorical.from_codes(pd.Index(reference.GROUPS).get_indexer(modes["group"])[mode.codes],
                                      categories=reference.GROUPS)
    person_key, legs_key = emissions.id_codes(persons["respondent_id"], frame["respondent_id"])
    pos = pd.Index(person_key).get_indexer(legs_key)
    frame = frame.drop(columns=["emission_kgco2e"]).rename(columns={"share": "pattern_share"})
    frame["mode_id"] = mode
    frame.insert(0, "year", np.int64(res.year))
    frame.insert(5, "group", group)
    for column in ("department", "route", "distance_bin"):
        frame[column] = persons[column].array.take(pos)
    return frame


def _breakdown(persons: pd.DataFrame, legs: pd.DataFrame, by: str) -> pd.DataFrame:
    """Raw figures per category (see Workbench.breakdown), through the reports' helpers."""
    person_key = persons[PERSON_COLUMN[by]]
    per_category = {key: emissions.totals(group) | {"mean_one_way_km": float(group["one_way_km"].mean())}
                    for key, group in persons.groupby(person_key, observed=True)}
    out = pd.DataFrame.from_dict(per_category, orient="index")
    if by in MODE_BREAKDOWNS:
        main = persons.rename(columns={"main_mode": "mode_id", "main_group": "group"})[["mode_id", "group"]]
        main = main.astype("string")
        legs_plain = legs[["mode_id"]].astype("string")
        if by == "group":
            people, leg_counts = modeshare.main_share_by_group(main), modeshare.leg_share_by_group(legs_plain)
        else:
            people, leg_counts = modeshare.main_share_by_mode(main), modeshare.leg_share_by_mode(legs_plain)
        kg = emissions.mode_totals(legs)
        if by == "group":
            kg = kg.groupby(kg["mode_id"].map(reference.modes().set_index("mode_id")["group"]))[
                ["daily_kgco2e", "annual_kgco2e"]].sum()
        else:
            kg = kg.set_index(kg["mode_id"].astype(str))[["daily_kgco2e", "annual_kgco2e"]]
        leg_key = legs["group"] if by == "group" else legs["mode_id"]
        leg_persons = legs.groupby(leg_key, observed=True)["respondent_id"].nunique()
        index = people.index
        frame = pd.DataFrame({
            "persons": people["count"], "person_share": people["share"],
            "legs": leg_counts["count"].reindex(index, fill_value=0),
            "leg_share": leg_counts["share"].reindex(index, fill_value=0.0),
            "leg_persons": leg_persons.reindex(index, fill_value=0).astype("int64"),
            "annual_kgco2e": kg["annual_kgco2e"].reindex(index, fill_value=0.0),
            "daily_kgco2e": kg["daily_kgco2e"].reindex(index, fill_value=0.0),
        }, index=index)
        frame = frame[(frame["persons"] > 0) | (frame["legs"] > 0)] if by == "mode" else frame
    else:
        leg_key = legs[PERSON_COLUMN[by]]
        leg_counts = legs.groupby(leg_key, observed=True).size()
        total_legs = len(legs)
        persons_n = out["respondents"].astype("int64")
        frame = pd.DataFrame({
            "persons": persons_n, "person_share": persons_n / max(len(persons), 1),
            "legs": leg_counts.reindex(out.index, fill_value=0).astype("int64"),
            "leg_share": leg_counts.reindex(out.index, fill_value=0) / max(total_legs, 1),
            "leg_persons": persons_n,
            "annual_kgco2e": out["annual_total_kgco2e"], "daily_kgco2e": out["daily_total_kgco2e"],
        }, index=out.index)
    total_kg = float(persons["annual_kgco2e"].sum())
    frame["kg_share"] = frame["annual_kgco2e"] / total_kg if total_kg else 0.0
    frame["mean_intensity_kgco2e_per_pkm"] = out["mean_intensity_kgco2e_per_pkm"].reindex(frame.index)
    frame["mean_one_way_km"] = out["mean_one_way_km"].reindex(frame.index)
    frame.index = frame.index.astype(str)
    return frame[list(BREAKDOWN_COLUMNS)]


def _category_order(by: str, found: pd.Index) -> list[str]:
    """Categories in report order: groups and modes as the catalogue, bins by distance, routes A-C, departments
    by name (the blank label last)."""
    found = [str(c) for c in found]
    if by == "group":
        order = list(reference.GROUPS)
    elif by == "mode":
        order = reference.modes()["mode_id"].tolist()
    elif by == "distance_bin":
        order = list(emissions.DISTANCE_BIN_LABELS)
    elif by == "route":
        order = sorted(found)
    else:
        order = sorted(set(found) - {UNKNOWN_DEPARTMENT}) + [UNKNOWN_DEPARTMENT]
    if by in ("group", "distance_bin"):
        return order
    return [c for c in order if c in found]
