"""Attitude answers: preferred alternatives, reasons not to use public transport, incentives wanted."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, reference
from helpers.schemas import isin_ids

PETROL_CAR = "car_petrol"
# Annual-emission bands for the barrier/incentive breakdown, kgCO2e per person and year
EMISSION_BANDS_KG = (0, 100, 300, 600, float("inf"))
EMISSION_BAND_LABELS = ("<100", "100-300", "300-600", ">=600")


@lru_cache(maxsize=2)
def _synonyms(path: str) -> dict:
    return reference.load_yaml(Path(path))


def synonyms(path: Path | None = None) -> dict:
    """Free-text coding rules, code labels and themes (data/reference/survey/synonyms.yaml)."""
    return _synonyms(str(path or config.REFERENCE / "survey" / "synonyms.yaml"))


def code_free_text(attitudes: pd.DataFrame, rules: dict | None = None) -> pd.DataFrame:
    """Attitudes with free-text answers coded by the synonym rules; adds `coded_from` (form / free_text / none).

    Every rule that matches a free text adds its code: a text giving two reasons ("要接送小孩上學, 公車班次太少")
    becomes one row per code (child_transport, timetable), each keeping the text. Texts no rule matches stay
    one row without a code. Count persons per code with `persons_by_code` (one count per person and code).
    """
    rules = synonyms() if rules is None else rules
    out = attitudes.copy().reset_index(drop=True)
    out["coded_from"] = out["code"].notna().map({True: "form", False: "none"})
    found_rows, found_codes = [], []
    for question in out["question"].unique():
        rows = np.flatnonzero(((out["question"] == question) & out["code"].isna() & out["free_text"].notna())
                              .to_numpy())  # the few uncoded free texts, not every answer
        texts = out["free_text"].iloc[rows]
        for rule in rules.get(question) or []:
            hit = texts.str.contains(rule["pattern"], regex=True, na=False).to_numpy(dtype=bool)
            found_rows.append(rows[hit])
            found_codes.append(np.full(int(hit.sum()), rule["code"], dtype=object))
    if not found_rows or not sum(len(r) for r in found_rows):
        return out
    rows = np.concatenate(found_rows)
    coded = out.iloc[rows].assign(code=pd.array(np.concatenate(found_codes), dtype="string"), coded_from="free_text")
    coded = coded.assign(_row=rows).drop_duplicates(["_row", "code"])
    rest = out.drop(index=np.unique(rows)).assign(_row=lambda f: f.index)
    # one row per code, in the answers' order, codes of one text in rule order
    merged = pd.concat([rest, coded]).sort_values("_row", kind="stable")
    return merged.drop(columns="_row").reset_index(drop=True)


def label(question: str, code: str, lang: str = "zh", rules: dict | None = None) -> str:
    """Display label of an attitude code (modes take the catalogue name)."""
    rules = synonyms() if rules is None else rules
    entry = (rules.get("labels", {}).get(question) or {}).get(code)
    if entry:
        return entry[lang]
    names = reference.mode_names(lang)
    if code in names:
        return names[code]
    return {"none": {"zh": "沒有可替代的運具", "en": "No alternative"}}.get(code, {}).get(lang, code)


def persons_by_code(coded: pd.DataFrame, question: str, who: pd.Series | None = None) -> pd.Series:
    """Persons choosing each code of a question (one count per person and code), most frequent first."""
    frame = coded[(coded["question"] == question) & coded["code"].notna()]
    if who is not None:
        frame = frame[isin_ids(frame["respondent_id"], who)]
    counts = frame.drop_duplicates(["respondent_id", "code"])["code"].value_counts()
    return counts.sort_index().sort_values(ascending=False, kind="stable").astype("int64")


def petrol_car_users(main_modes: pd.DataFrame) -> pd.Series:
    """Respondent ids whose trip main mode is a petrol car (asked about alternatives and barriers)."""
    return main_modes.loc[main_modes["mode_id"] == PETROL_CAR, "respondent_id"]


def uncoded_texts(coded: pd.DataFrame, question: str) -> list[str]:
    """Free-text answers no rule coded (ideas to read), de-duplicated, in order of appearance."""
    frame = coded[(coded["question"] == question) & coded["code"].isna() & coded["free_text"].notna()]
    return list(dict.fromkeys(frame["free_text"].tolist()))


def themes(coded: pd.DataFrame, who: pd.Series, rules: dict | None = None) -> pd.DataFrame:
    """The study's three themes of barriers: persons citing any reason of the theme, with its codes."""
    rules = synonyms() if rules is None else rules
    frame = coded[(coded["question"] == "barrier") & isin_ids(coded["respondent_id"], who) & coded["code"].notna()]
    rows = []
    for theme_id, theme in rules["themes"].items():
        persons = frame.loc[frame["code"].isin(theme["codes"]), "respondent_id"].nunique()
        rows.append({"theme": theme_id, "name_zh": theme["zh"], "name_en": theme["en"], "persons": persons,
                     "codes": "、".join(label("barrier", c, rules=rules) for c in theme["codes"])})
    return pd.DataFrame(rows)


def emission_band(annual_kgco2e: pd.Series) -> pd.Series:
    """Annual-emission band of each person: <100, 100-300, 300-600, >=600 kgCO2e per year."""
    return pd.cut(annual_kgco2e, bins=list(EMISSION_BANDS_KG), labels=list(EMISSION_BAND_LABELS), right=False)


def by_emission_band(coded: pd.DataFrame, question: str, per_person: pd.DataFrame,
                     who: pd.Series | None = None) -> pd.DataFrame:
    """Persons per code (rows) and annual-emission band (columns), with the band sizes as the last row."""
    people = per_person if who is None else per_person[isin_ids(per_person["respondent_id"], who)]
    bands = pd.Series(emission_band(people["annual_kgco2e"]).to_numpy(), index=people["respondent_id"])
    frame = coded[(coded["question"] == question) & coded["code"].notna()
                  & isin_ids(coded["respondent_id"], bands.index)]
    frame = frame.drop_duplicates(["respondent_id", "code"]).assign(band=lambda f: f["respondent_id"].map(bands))
    table = pd.crosstab(frame["code"], frame["band"]).reindex(columns=list(EMISSION_BAND_LABELS), fill_value=0)
    table.loc["（該級距人數）"] = bands.value_counts().reindex(list(EMISSION_BAND_LABELS), fill_value=0)
    return table.astype("int64")
