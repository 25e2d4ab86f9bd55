"""Bootstrap over respondents: percentile 95 % intervals of the annual total, mean intensity and group shares.

Each resample draws n respondents with replacement (fixed seed); a statistic of a resample is a weighted sum
over respondents with the draw counts as weights, so B resamples are one (B x n) @ (n x k) product, done in
chunks that keep the count matrix to a few tens of MB (1,000 resamples of 10^5 respondents: see `make bench`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers import reference

SEED = 20251114
RESAMPLES = 1000
LEVEL = 0.95
CHUNK_CELLS = 4_000_000  # resample x respondent cells per chunk (32 MB of float64 counts)


def person_matrix(per_person: pd.DataFrame, main_modes: pd.DataFrame, legs: pd.DataFrame) -> pd.DataFrame:
    """Per respondent: annual and daily kgCO2e, intensity, main-mode group indicators and leg counts per group."""
    groups = list(reference.GROUPS)
    people = pd.Index(per_person["respondent_id"])
    group_code = {g: k for k, g in enumerate(groups)}
    n, g = len(people), len(groups)
    main = np.zeros((n, g))
    at = people.get_indexer(main_modes["respondent_id"])
    code = main_modes["group"].map(group_code).to_numpy()
    main[at[at >= 0], code[at >= 0].astype(int)] = 1.0
    leg_group = legs["mode_id"].map(reference.modes().set_index("mode_id")["group"]).map(group_code)
    at = people.get_indexer(legs["respondent_id"])
    keep = (at >= 0) & leg_group.notna().to_numpy()
    counts = np.bincount(at[keep] * g + leg_group.to_numpy()[keep].astype(int), minlength=n * g).reshape(n, g)
    out = pd.DataFrame({"annual_kgco2e": per_person["annual_kgco2e"].to_numpy(dtype="float64"),
                        "daily_kgco2e": per_person["daily_kgco2e"].to_numpy(dtype="float64"),
                        "intensity": per_person["intensity_kgco2e_per_pkm"].to_numpy(dtype="float64")})
    for k, name in enumerate(groups):
        out[f"main_{name}"] = main[:, k]
    for k, name in enumerate(groups):
        out[f"legs_{name}"] = counts[:, k].astype("float64")
    return out


def resample_sums(values: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples x k) sums of the (n x k) `values` over bootstrap resamples of its n rows."""
    n = values.shape[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // max(n, 1))
    out = np.empty((resamples, values.shape[1]))
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        draws = rng.integers(0, n, size=(rows, n), dtype=np.int32)
        weights = np.empty((rows, n))  # float counts: the product below is then one BLAS call
        for i in range(rows):  # one bincount per resample stays in cache (one over the whole chunk does not)
            weights[i] = np.bincount(draws[i], minlength=n)
        out[start:start + rows] = weights @ values
    return out


def bootstrap(per_person: pd.DataFrame, main_modes: pd.DataFrame, legs: pd.DataFrame,
              resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> dict:
    """Percentile intervals: annual and daily totals (kgCO2e), mean intensity (kgCO2e/pkm), main-mode and leg shares.

    Returns {"annual_total_kgco2e_ci95": [lo, hi], "daily_total_kgco2e_ci95": ..., "mean_intensity_..._ci95": ...,
    "main_mode_shares_ci95": {group: [lo, hi]}, "leg_shares_ci95": {group: [lo, hi]}, "bootstrap": {...}}.
    """
    if len(per_person) < 2:
        raise ValueError(f"a bootstrap needs at least 2 respondents, got {len(per_person)}")
    matrix = person_matrix(per_person, main_modes, legs)
    n = len(matrix)
    sums = pd.DataFrame(resample_sums(matrix.to_numpy(), resamples, seed), columns=matrix.columns)
    groups = list(reference.GROUPS)
    legs_total = sums[[f"legs_{g}" for g in groups]].sum(axis=1)
    q = [(1 - level) / 2, 1 - (1 - level) / 2]

    def interval(series: pd.Series) -> list[float]:
        return [float(v) for v in np.quantile(series.to_numpy(), q)]

    return {
        "annual_total_kgco2e_ci95": interval(sums["annual_kgco2e"]),
        "daily_total_kgco2e_ci95": interval(sums["daily_kgco2e"]),
        "mean_intensity_kgco2e_per_pkm_ci95": interval(sums["intensity"] / n),
        "main_mode_shares_ci95": {g: interval(sums[f"main_{g}"] / n) for g in groups},
        "leg_shares_ci95": {g: interval(sums[f"legs_{g}"] / legs_total) for g in groups},
        "bootstrap": {"resamples": int(resamples), "seed": int(seed), "level": level, "method": "percentile",
                      "unit": "respondent"},
    }


def with_interval(value: float, interval: list[float], fmt: str = "{:,.2f}") -> str:
    """'44,950.43 (95 % CI a–b)' for display."""
    return f"{fmt.format(value)} (95 % CI {fmt.format(interval[0])}–{fmt.format(interval[1])})"
