"""A year's results computed once from the processed tables, and its machine-readable summary.json."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.business_travel import claims
from helpers.inventory import (decompose, emissions, extrapolate, factors, modeshare, rollforward, roster, trend,
                               uncertainty)
from helpers.schemas import atomic_write_bytes
from helpers.survey import attitudes, ingest

# A report run (report.run_year) names a private folder here: the notebooks and the summary writer of that run
# then compute each year's results once and load them from there (keyed on the processed files' size and time).
RESULTS_CACHE_ENV = "WORKBENCH_RESULTS_CACHE"


@dataclass
class YearResults:
    """Everything the reports need about one survey year."""

    year: int
    tables: dict[str, pd.DataFrame]
    report: dict
    factor_set_year: int
    factors: dict[str, float]
    per_person: pd.DataFrame
    main_modes: pd.DataFrame
    coded_attitudes: pd.DataFrame
    main_mode_rule: str

    @property
    def totals(self) -> dict[str, float]:
        return emissions.totals(self.per_person)


def year_results(processed_dir: Path, year: int, main_mode_rule: str = "longest") -> YearResults:
    """Load a year's processed tables and compute per-person emissions, main modes and coded attitudes."""
    return _once(_cache_file(processed_dir, year, main_mode_rule),
                 lambda: _year_results(processed_dir, year, main_mode_rule))


def _once(path: Path | None, compute, dumps=lambda v: pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL),
          loads=pickle.loads):
    """compute() once per report run: its result kept at `path` in the run's cache (None: outside a run, just
    compute). Notebooks started together ask at once: the first computes under a lock, the others wait and load."""
    if path is None:
        return compute()
    with _locked(path.with_suffix(".lock")):
        if path.exists():
            return loads(path.read_bytes())
        out = compute()
        atomic_write_bytes(path, dumps(out))
    return out


@contextmanager
def _locked(path: Path):
    """An exclusive lock on a file (POSIX); elsewhere no lock, and two notebooks may both compute."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cache_file(processed_dir: Path, year: int, main_mode_rule: str) -> Path | None:
    """Where this run keeps these results, or None outside a report run (or before the year is processed)."""
    return _run_cache_path(Path(processed_dir).resolve() / str(year), (main_mode_rule,), str(year), recursive=False)


def _run_cache_path(folder: Path, params: tuple, prefix: str, recursive: bool) -> Path | None:
    """A file in the run's cache keyed on the size and time of the files in `folder` (and below it, when
    recursive; hidden files and folders, e.g. the cache itself, left out) and on params; None outside a run."""
    cache = os.environ.get(RESULTS_CACHE_ENV)
    if not cache or not folder.is_dir():
        return None
    files = ((p.relative_to(folder), p) for p in (folder.rglob("*") if recursive else folder.iterdir()) if p.is_file())
    stats = sorted((rel.as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for rel, p in files
                   if not any(part.startswith(".") for part in rel.parts))
    key = hashlib.sha256(repr((str(folder), params, stats)).encode()).hexdigest()[:24]
    return Path(cache) / f"{prefix}-{key}.pickle"


def _year_results(processed_dir: Path, year: int, main_mode_rule: str) -> YearResults:
    """year_results() computed from the processed tables."""
    data = ingest.load_year(processed_dir, year)
    report = data.pop("report")
    if report.get("estimate_basis") == "roll_forward":  # the year's inventory is built from its census year
        census = ingest.load_year(processed_dir, report["census_year"])
        census.pop("report")
        rolled, counts = rollforward.roll_forward(census, data, year, report["census_year"])
        data.update(rolled)
        report = {**report, "roll_forward": counts}
    fac = factors.factors_by_mode(year)
    per = emissions.per_respondent(data["respondents"], data["patterns"], data["legs"], fac)
    per = per.merge(data["respondents"][["respondent_id", "route", "department"]], on="respondent_id", how="left")
    main = modeshare.main_modes(data["patterns"], data["legs"], rule=main_mode_rule)
    coded = attitudes.code_free_text(data["attitudes"])
    return YearResults(year, data, report, factors.factor_set_year(year), fac, per, main, coded, main_mode_rule)


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.items() if int(v) > 0}


def build_summary(year: int, raw_dir: Path | None = None, processed_dir: Path | None = None,
                  main_mode_rule: str = "longest", min_cell: int = 3, base_year: int | None = None) -> dict:
    """summary.json content: full-precision figures of one year (rounding is for display only).

    Computed once per report run (the summary notebook and the summary.json writer both ask; at 10^5 staff the
    decomposition, staff counts and trend take seconds): kept in the run's results cache, keyed on every processed
    file's size and time and on the parameters."""
    from helpers import config

    processed_dir = Path(processed_dir or config.PROCESSED / config.DEFAULT_DATASET)
    params = (int(year), main_mode_rule, int(min_cell), resolve_base_year(year, base_year))
    # keyed on every processed year (base year, trend) and the business-travel tables, not only this year's
    cache = _run_cache_path(processed_dir.resolve(), params, f"summary-{params[0]}", recursive=True)
    return _once(cache, lambda: _build_summary(processed_dir, *params))


def decomposition(processed_dir: Path, base: YearResults, res: YearResults) -> pd.DataFrame:
    """decompose.decompose_years(base, res), computed once per report run (05, 07 and summary.json all show it;
    about 2 s at 10^5 staff)."""
    caches = [_cache_file(processed_dir, r.year, r.main_mode_rule) for r in (base, res)]
    path = None if None in caches else caches[1].with_name(f"{caches[1].stem}-change-{caches[0].stem}.pickle")
    return _once(path, lambda: decompose.decompose_years(base, res))


def _build_summary(processed_dir: Path, year: int, main_mode_rule: str, min_cell: int, base_year: int) -> dict:
    """build_summary() computed from the processed tables."""
    res = year_results(processed_dir, year, main_mode_rule)
    tot = res.totals
    legs = res.tables["legs"]
    cars = attitudes.petrol_car_users(res.main_modes)
    has_attitudes = len(res.coded_attitudes) > 0
    out = {
        "year": year,
        "respondents": tot["respondents"],
        "routes": res.report["routes"],
        "daily_total_kgco2e": tot["daily_total_kgco2e"],
        "annual_total_kgco2e": tot["annual_total_kgco2e"],
        "mean_intensity_kgco2e_per_pkm": tot["mean_intensity_kgco2e_per_pkm"],
        "ratio_intensity_kgco2e_per_pkm": tot["ratio_intensity_kgco2e_per_pkm"],
        "distance_bins": {str(k): int(v) for k, v in emissions.distance_distribution(res.per_person).items()},
        "legs": {g: int(v) for g, v in modeshare.leg_share_by_group(legs)["count"].items()},
        "main_modes": {g: int(v) for g, v in modeshare.main_share_by_group(res.main_modes)["count"].items()},
        "leg_counts_by_mode": _counts(modeshare.leg_share_by_mode(legs)["count"]),
        "main_mode_counts_by_mode": _counts(modeshare.main_share_by_mode(res.main_modes)["count"]),
        "petrol_car_main_mode_users": int(len(cars)),
        "alternatives": _counts(attitudes.persons_by_code(res.coded_attitudes, "alternative", cars)) if has_attitudes else {},
        "barriers": _counts(attitudes.persons_by_code(res.coded_attitudes, "barrier", cars)) if has_attitudes else {},
        "incentives": _counts(attitudes.persons_by_code(res.coded_attitudes, "incentive")) if has_attitudes else {},
        "main_mode_rule": main_mode_rule,
        "walk_rule": res.report.get("walk_rule", "all_walks"),
        "factor_set_year": res.factor_set_year,
        "ingest": {k: res.report[k] for k in ("raw_rows", "accepted", "declined", "duplicates", "rejected",
                                              "carried_over", "reconciles")},
    }
    out["estimate_basis"] = res.report.get("estimate_basis", "census")
    out["census_year"] = res.report.get("census_year", year)
    out["roll_forward"] = res.report.get("roll_forward")
    out.update(staff_summary(res, min_cell))
    out.update(bootstrap_intervals(processed_dir, res))
    base = base_results(processed_dir, base_year, main_mode_rule)
    out["change_base_year"] = base.year if base is not None else None
    out["change_decomposition"] = (decompose.as_dict(decomposition(processed_dir, base, res)) if base is not None
                                   else None)
    years = trend_table(processed_dir, year, main_mode_rule, min_cell)
    out["trend"] = (years.astype(object).where(years.notna(), None).to_dict(orient="records")
                    if years is not None else None)
    bt = claims.business_summary(processed_dir / str(year))
    if bt is not None:
        out["business_travel"] = bt
    return out


def bootstrap_intervals(processed_dir: Path, res: YearResults) -> dict:
    """uncertainty.bootstrap of a year, computed once per report run (the summary notebook and the summary.json
    writer both ask; 1,000 resamples of 10^5 respondents take seconds)."""
    cache = _cache_file(processed_dir, res.year, res.main_mode_rule)
    return _once(cache.with_name(f"{cache.stem}-bootstrap.json") if cache is not None else None,
                 lambda: uncertainty.bootstrap(res.per_person, res.main_modes, res.tables["legs"]),
                 dumps=lambda v: json.dumps(v).encode("utf-8"), loads=lambda b: json.loads(b.decode("utf-8")))


def staff_summary(res: YearResults, min_cell: int = 3) -> dict:
    """Staff in scope, response counts and rate, and the all-staff total (None where the year has no roster)."""
    if "staff" not in res.tables:
        return {"staff_in_scope": None, "response_rate": None, "annual_total_all_staff_kgco2e": None,
                "extrapolation_method": None}
    status = roster.staff_status(res.tables["staff"], res.tables["respondents"])
    counts = roster.response_counts(res.tables["staff"], res.tables["respondents"])
    out = {"staff_in_scope": counts.pop("staff_in_scope"), "response_rate": counts.pop("response_rate"),
           "response": counts}
    if res.report.get("estimate_basis") == "roll_forward":  # only newcomers were asked: no census response rate
        out["response_rate"], out["response"] = None, None
    out.update(extrapolate.all_staff_summary(extrapolate.extrapolate(res.per_person, status, min_cell), min_cell))
    return out


def trend_table(processed_dir: Path, year: int, main_mode_rule: str = "longest", min_cell: int = 3):
    """inventory.trend.trend_table of every processed year up to `year`, or None under trend.MIN_YEARS years."""
    folder = Path(processed_dir)
    years = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and int(p.name) <= year
                   and (p / "respondents.parquet").exists()) if folder.is_dir() else []
    if len(years) < trend.MIN_YEARS:
        return None
    results = [year_results(folder, y, main_mode_rule) for y in years]
    all_staff = {r.year: staff_summary(r, min_cell)["annual_total_all_staff_kgco2e"] for r in results}
    return trend.trend_table(results, all_staff)


def write_summary(year: int, raw_dir: Path, processed_dir: Path, out_dir: Path, params: dict | None = None) -> Path:
    """Write <out_dir>/summary.json for a run."""
    from helpers.publish import warnings_log

    rule = (params or {}).get("main_mode_rule", "longest")
    min_cell = int((params or {}).get("min_cell", 3))
    summary = build_summary(year, raw_dir=raw_dir, processed_dir=processed_dir, main_mode_rule=rule,
                            min_cell=min_cell, base_year=(params or {}).get("base_year"))
    # what lowers the quality of a figure, as the summary page's 注意事項 lists it
    summary["warnings"] = [w.as_dict() for w in warnings_log.collect(year, processed_dir, min_cell, rule)]
    path = Path(out_dir) / "summary.json"
    # allow_nan=False: a NaN or infinity is a bug upstream, never an output (json.dumps raises ValueError)
    text = json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))
    return path


def resolve_base_year(year: int, base_year: int | None) -> int:
    """The comparison year of a report: base_year, or the year before `year` when it is 0 or None.

    Refuses to compare a year with itself (a table of zeros that looks like "no change").
    """
    resolved = int(year) - 1 if not base_year else int(base_year)
    if resolved == int(year):
        raise ValueError(f"base_year {base_year} is the report's own year {year}: a year cannot be compared with "
                         f"itself; set base_year to an earlier year (e.g. {int(year) - 1}), or 0 for the year before")
    return resolved


def base_results(processed_dir: Path, base_year: int | None, main_mode_rule: str = "longest") -> YearResults | None:
    """The comparison year's results, or None when that year has not been processed."""
    if not base_year or not (Path(processed_dir) / str(base_year) / "respondents.parquet").exists():
        return None
    return year_results(processed_dir, base_year, main_mode_rule)


def emissions_by_group(results: list[YearResults]) -> pd.DataFrame:
    """Annual commuting kgCO2e per mode group for each year's results (long format: year, group, annual_kgco2e)."""
    from helpers import reference

    group_of = reference.modes().set_index("mode_id")["group"]
    frames = []
    for res in results:
        by_mode = emissions.by_mode(res.tables["legs"], res.tables["patterns"], res.per_person, res.factors)
        by_group = by_mode.groupby(by_mode["mode_id"].map(group_of))["annual_kgco2e"].sum()
        by_group = by_group.reindex(list(reference.GROUPS), fill_value=0.0)
        frames.append(pd.DataFrame({"year": res.year, "group": by_group.index, "annual_kgco2e": by_group.to_numpy()}))
    return pd.concat(frames, ignore_index=True)
