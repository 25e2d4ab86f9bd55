"""Bootstrap over respondents: intervals contain the estimate, the vectorised resampling is the plain one."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import config
from helpers.inventory import uncertainty
from helpers.publish import summary
from helpers.survey import ingest
from helpers.synthetic import bench

KEY = b"uncertainty-test-key"


def test_vectorised_resample_sums_equal_the_plain_loop():
    values = np.random.default_rng(3).random((57, 4))
    got = uncertainty.resample_sums(values, resamples=25, seed=11)
    rng = np.random.default_rng(11)  # the same draws, one resample at a time
    expected = np.array([values[rng.integers(0, 57, size=57, dtype=np.int32)].sum(axis=0) for _ in range(25)])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    small_chunks = uncertainty.CHUNK_CELLS
    try:
        uncertainty.CHUNK_CELLS = 57 * 3  # several chunks: the same numbers
        np.testing.assert_allclose(uncertainty.resample_sums(values, resamples=25, seed=11), got, rtol=1e-12)
    finally:
        uncertainty.CHUNK_CELLS = small_chunks


def _check_contains(res, ci):
    tot = res.totals
    lo, hi = ci["annual_total_kgco2e_ci95"]
    assert lo < tot["annual_total_kgco2e"] < hi
    lo, hi = ci["mean_intensity_kgco2e_per_pkm_ci95"]
    assert lo < tot["mean_intensity_kgco2e_per_pkm"] < hi
    shares = res.main_modes["group"].value_counts(normalize=True)
    for group, (lo, hi) in ci["main_mode_shares_ci95"].items():
        assert lo <= shares.get(group, 0.0) <= hi, group
    for group, (lo, hi) in ci["leg_shares_ci95"].items():
        assert 0 <= lo <= hi <= 1, group


def test_sample_intervals_contain_the_published_figures(tmp_path):
    for year in (2024, 2025):
        ingest.ingest_year(year, config.RAW / "sample", tmp_path, key=KEY)
    res = summary.year_results(tmp_path, 2025)
    ci = uncertainty.bootstrap(res.per_person, res.main_modes, res.tables["legs"])
    _check_contains(res, ci)
    assert ci["bootstrap"] == {"resamples": 1000, "seed": uncertainty.SEED, "level": 0.95, "method": "percentile",
                               "unit": "respondent"}
    again = uncertainty.bootstrap(res.per_person, res.main_modes, res.tables["legs"])
    assert again == ci  # fixed seed: the same interval every run
    text = uncertainty.with_interval(res.totals["annual_total_kgco2e"], ci["annual_total_kgco2e_ci95"])
    assert text.startswith("44,950.43 (95 % CI ") and "–" in text
    s = summary.build_summary(2025, processed_dir=tmp_path)
    assert s["annual_total_kgco2e_ci95"] == ci["annual_total_kgco2e_ci95"]


def test_generated_staff_interval_contains_the_estimate(tmp_path):
    bench.generate(1500, tmp_path / "raw")
    for year in (2024, 2025):
        ingest.ingest_year(year, tmp_path / "raw", tmp_path / "processed", key=KEY)
    res = summary.year_results(tmp_path / "processed", 2025)
    ci = uncertainty.bootstrap(res.per_person, res.main_modes, res.tables["legs"], resamples=400)
    _check_contains(res, ci)
    # a larger staff gives a relatively narrower interval than the 131 of the sample
    lo, hi = ci["annual_total_kgco2e_ci95"]
    assert (hi - lo) / res.totals["annual_total_kgco2e"] < 0.15


def test_too_few_respondents():
    import pandas as pd

    with pytest.raises(ValueError, match="at least 2 respondents"):
        uncertainty.bootstrap(pd.DataFrame({"respondent_id": ["a"]}), pd.DataFrame(), pd.DataFrame())
