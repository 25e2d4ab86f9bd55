"""Small-cell suppression cannot be undone by subtraction: every published breakdown is checked with the
differencing checker (tests/disclosure.py) against every total on the same page and in summary.json."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from disclosure import Published, bounds_of, derivable, number
from hostile import SMALL_UNITS, parse_html

from helpers import privacy
from helpers.publish import summary
from helpers.survey import attitudes

K = 3


def department_frame(per: pd.DataFrame) -> pd.DataFrame:
    """Persons and annual kgCO2e per department, as 02_emissions groups them."""
    return per.groupby(per["department"].fillna("（未填）"), as_index=False).agg(
        persons=("respondent_id", "size"), annual_kgco2e=("annual_kgco2e", "sum"))


def department_disclosure(true: pd.DataFrame, shown_rows: list[tuple[str, str, str]], total_persons: float,
                          total_kg: float) -> Published:
    """The checker's view of a department table: rows as shown (label, persons text, kg text) and the totals."""
    pub = Published()
    units = true.set_index("department")
    for unit, row in units.iterrows():
        pub.true[(unit, "persons")], pub.true[(unit, "kg")] = float(row["persons"]), float(row["annual_kgco2e"])
    named = {label for label, _, _ in shown_rows}
    pooled = [u for u in units.index if u not in named]
    for label, persons, kg in shown_rows:
        members = pooled if label == privacy.POOLED_LABEL else [label]
        for kind, text in (("persons", persons), ("kg", kg)):
            known = bounds_of(text, K)
            if known is None:
                pub.show([(u, kind) for u in members], number(text))
            else:
                pub.hidden.update({(u, kind): known for u in members})
    for unit in pooled:  # a pooled unit's own figures are not shown
        pub.hidden.setdefault((unit, "persons"), (0.0, float("inf")))
        pub.hidden.setdefault((unit, "kg"), (0.0, float("inf")))
    pub.show([(u, "persons") for u in units.index], total_persons)
    pub.show([(u, "kg") for u in units.index], total_kg)
    return pub


def _pooled_rows(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    shown = privacy.pool_small_units(frame, "department", "persons", K)
    return [(r.department, f"{r.persons:,d}", f"{r.annual_kgco2e:,.2f}") for r in shown.itertuples()]


@pytest.fixture(scope="module")
def sample_people(pipeline_run) -> pd.DataFrame:
    return summary.year_results(pipeline_run.processed_dir, 2025).per_person


@pytest.mark.parametrize("sizes", [{"一人單位": 1}, {"兩人單位": 2}, {"一人單位": 1, "兩人單位": 2}, {}])
def test_no_small_unit_can_be_worked_out(sample_people, sizes):
    per = sample_people.copy()
    start = 0
    for unit, size in sizes.items():
        per.loc[per.index[start:start + size], "department"] = unit
        start += size
    true = department_frame(per)
    rows = _pooled_rows(true)
    assert not {label for label, _, _ in rows} & set(sizes)  # small units are not named
    pub = department_disclosure(true, rows, len(per), per["annual_kgco2e"].sum())
    assert derivable(pub) == []


def test_the_checker_finds_what_plain_suppression_gives_away(sample_people):
    """Showing a 1-person unit as '<3' with its emission hidden: total minus the other units gives it back."""
    per = sample_people.copy()
    per.loc[per.index[:1], "department"] = "一人單位"
    true = department_frame(per)
    shown = privacy.suppress_small(true.set_index("department"), k=K, count_cols=["persons"],
                                   formats={"annual_kgco2e": "{:,.2f}"}).reset_index()
    rows = [(r.department, str(r.persons), str(r.annual_kgco2e)) for r in shown.itertuples()]
    found = derivable(department_disclosure(true, rows, len(per), per["annual_kgco2e"].sum()))
    assert ("一人單位", "persons") in found and ("一人單位", "kg") in found


def test_department_table_of_a_run_discloses_no_small_unit(hostile_run):
    """The page's table, its headline figures and summary.json, on a run with a department of 1 person."""
    per = summary.year_results(hostile_run.processed_dir, 2025).per_person
    page = parse_html(hostile_run.out_dir / "2025" / "02_emissions.html")
    table = page.table("各單位人數與年排放量")
    rows = [tuple(r[:3]) for r in table["rows"][1:]]
    assert not {label for label, _, _ in rows} & set(SMALL_UNITS)
    facts = json.loads((hostile_run.out_dir / "2025" / "summary.json").read_text(encoding="utf-8"))
    assert facts["respondents"] == len(per)
    pub = department_disclosure(department_frame(per), rows, facts["respondents"], facts["annual_total_kgco2e"])
    assert derivable(pub) == []


def test_emission_band_tables_disclose_no_small_cell(pipeline_run):
    """04's barrier and incentive x emission-band tables against the per-reason totals (the tables above them and
    summary.json) and the number of persons (n in the captions)."""
    res = summary.year_results(pipeline_run.processed_dir, 2025)
    facts = json.loads((pipeline_run.out_dir / "2025" / "summary.json").read_text(encoding="utf-8"))
    page = parse_html(pipeline_run.out_dir / "2025" / "04_attitudes.html")
    cars = attitudes.petrol_car_users(res.main_modes)
    checked = 0
    for question, who, caption, published in (("barrier", cars, "不搭乘大眾運輸原因 × 排放級距", facts["barriers"]),
                                              ("incentive", None, "誘因需求 × 排放級距", facts["incentives"])):
        band = attitudes.by_emission_band(res.coded_attitudes, question, res.per_person, who)
        labels = [attitudes.label(question, c) for c in band.index[:-1]] + [band.index[-1]]
        rows = {r[0]: r[1:] for r in page.table(caption)["rows"][1:]}
        pub = Published()
        for code, label in zip(band.index, labels):
            cells = [(code, b) for b in band.columns]
            for cell, text in zip(cells, rows[label]):
                pub.true[cell] = float(band.loc[cell])
                known = bounds_of(text, K)
                if known is None:
                    pub.show([cell], number(text))
                else:
                    pub.hidden[cell] = known
            total = published.get(code, 0) if code != band.index[-1] else (len(cars) if who is not None
                                                                          else len(res.per_person))
            pub.show(cells, total)  # the row's total is published
        checked += len(pub.hidden)
        assert derivable(pub) == [], question
    assert checked > 0  # the sample has small cells to protect


def test_suppress_with_totals_hides_a_complement_only_where_needed():
    counts = pd.DataFrame({"a": [2, 1, 0, 12], "b": [25, 1, 3, 9], "c": [16, 1, 0, 8], "d": [9, 7, 0, 7]})
    shown = privacy.suppress_with_totals(counts, k=3)
    x = privacy.SUPPRESSED_SECONDARY
    assert shown.iloc[0].tolist() == [x, "25", "16", x]  # "<3 of 52" alone would be 52 - 25 - 16 - 9
    assert shown.iloc[1].tolist() == ["<3", "<3", "<3", "7"]  # three "<3" adding up to 3: not one answer
    assert shown.iloc[2].tolist() == [x, x, x, x]  # "<3" zeros adding up to 0 would give themselves away
    assert shown.iloc[3].tolist() == ["12", "9", "8", "7"]
