"""Attitude answers: preferred alternatives, reasons not to use public transport, incentives wanted."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, reference
from helpers.ingest import isin_ids

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
    """Attitudes with free-text answers coded by the synonym rules; adds `coded_from` (form / free_text / none)."""
    rules = synonyms() if rules is None else rules
    out = attitudes.copy()
    out["coded_from"] = out["code"].notna().map({True: "form", False: "none"})
    for question in out["question"].unique():
        mask = (out["question"] == question) & out["code"].isna() & out["free_text"].notna()
        for rule in rules.get(question) or []:
            rows = np.flatnonzero(mask.to_numpy())  # the few uncoded free texts, not every answer
            found = out["free_text"].iloc[rows].str.contains(rule["pattern"], regex=True, na=False)
            hit = np.zeros(len(out), dtype=bool)
            hit[rows[found.to_numpy(dtype=bool)]] = True
            out.loc[hit, "code"] = rule["code"]
            out.loc[hit, "coded_from"] = "free_text"
            mask &= ~hit
    return out


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
