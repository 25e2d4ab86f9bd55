"""The bundled synthetic sample: deterministic, in the real formats, and shaped as the study describes."""

import hashlib
import pathlib

import pandas as pd
import pytest

from helpers import config
from helpers.survey import ingest
from helpers.synthetic import sample

SAMPLE = config.RAW / "sample"


def _digests(folder: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    sample.write_sample(out)
    return out


def test_generator_is_deterministic_and_matches_the_committed_sample(regenerated):
    assert _digests(regenerated) == _digests(SAMPLE)


def test_survey_export_looks_like_the_online_form():
    raw = (SAMPLE / "2025" / "survey.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, as the form exports"
    frame = pd.read_csv(SAMPLE / "2025" / "survey.csv", dtype=str, encoding="utf-8-sig")
    assert frame.columns[0] == "時間戳記"
    assert frame["時間戳記"].str.match(r"^\d{4}/\d{1,2}/\d{1,2} (上午|下午) \d{1,2}:\d{2}:\d{2}$").all()
    assert frame["您希望本所提供哪些通勤減碳誘因？（可複選）"].str.contains(", ", regex=False).any()


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    out = tmp_path_factory.mktemp("processed")
    for year in (2024, 2025):
        ingest.ingest_year(year, SAMPLE, out, key=b"sample-test")
    return out


def test_route_a_legs_are_the_previous_years_legs(processed):
    y24, y25 = ingest.load_year(processed, 2024), ingest.load_year(processed, 2025)
    route_a = y25["respondents"].query("route == 'A'")["respondent_id"]
    assert len(route_a) == 105
    cols = ["respondent_id", "pattern_no", "leg_no", "mode_id", "distance_km"]
    a25 = y25["legs"][y25["legs"]["respondent_id"].isin(route_a)][cols].sort_values(cols[:3]).reset_index(drop=True)
    a24 = y24["legs"][y24["legs"]["respondent_id"].isin(route_a)][cols].sort_values(cols[:3]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a25, a24)


def test_short_walks_only_from_2025(processed):
    walks = {y: ingest.load_year(processed, y)["legs"].query("mode_id == 'walk'")["distance_km"] for y in (2024, 2025)}
    assert (walks[2024] >= 0.5).all()
    assert (walks[2025] < 0.5).any()


def test_sample_holds_only_synthetic_identifiers():
    survey = pd.read_csv(SAMPLE / "2025" / "survey.csv", dtype=str, encoding="utf-8-sig")
    assert survey["電子郵件地址"].str.endswith("@example.org").all()
    assert survey["員工編號"].str.fullmatch(r"T\d{5}").all()
