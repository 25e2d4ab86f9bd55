"""Reproducibility (ISO 14064-1 verification): the same inputs give byte-identical outputs, and the manifest says
exactly what a run was computed from."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import config, privacy
from helpers.publish import manifest, runner
from helpers.survey import ingest

KEY = b"reproducible-test-key"
SAMPLE_RAW = config.RAW / "sample"
YEARS = (2024, 2025)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, KEY.decode())


def _run(base: Path) -> Path:
    processed = base / "processed"
    for year in YEARS:
        ingest.ingest_year(year, SAMPLE_RAW, processed, key=KEY)
    return processed


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): privacy.file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _params(year: int, processed: Path, out: Path) -> dict:
    """The parameters runner.run_year passes to the sidecar writers."""
    return {"year": year, "base_year": year - 1, "raw_dir": str(SAMPLE_RAW.resolve()),
            "processed_dir": str(processed.resolve()), "out_dir": str(out), "main_mode_rule": "longest", "min_cell": 3}


def _write(year: int, processed: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    # called exactly as runner._write_sidecars calls it
    path = manifest.write_manifest(year, raw_dir=SAMPLE_RAW, processed_dir=processed, out_dir=out,
                                   params=_params(year, processed, out))
    assert path == out / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_same_inputs_give_identical_processed_files(tmp_path: Path):
    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    a, b = _hashes(first), _hashes(second)
    assert sorted(a) == sorted(b)
    assert any(name.endswith(".parquet") for name in a)
    assert a == b


def test_manifest_identical_apart_from_generated_at(tmp_path: Path):
    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    for year in YEARS:
        one = _write(year, first, tmp_path / "a" / "reports" / str(year))
        two = _write(year, second, tmp_path / "b" / "reports" / f".{year}.tmp-xyz")
        assert one.pop("generated_at") and two.pop("generated_at")
        assert one == two


def test_manifest_content(tmp_path: Path):
    processed = _run(tmp_path)
    m = _write(2025, processed, tmp_path / "reports" / "2025")
    assert list(m)[0] == "generated_at"
    assert m["year"] == 2025 and m["roc_year"] == 114
    assert {f["path"] for f in m["inputs"]} >= {"2025/survey.csv", "2025/roster.xlsx"}  # roster = attendance
    survey = next(f for f in m["inputs"] if f["path"] == "2025/survey.csv")
    assert survey["sha256"] == privacy.file_sha256(SAMPLE_RAW / "2025" / "survey.csv")
    refs = {f["path"] for f in m["reference"]}
    assert {"survey/2025.yaml", "factors/2024.yaml", "modes.yaml", "survey/synonyms.yaml"} <= refs
    assert any(p.startswith("business_travel/") for p in refs)
    assert m["factor_set"] == {"year": 2024, "version": "2025-11", "file": "factors/2024.yaml"}
    assert {f["path"] for f in m["carryover_read"]} == {"carryover/2024/legs.parquet",
                                                       "carryover/2024/patterns.parquet",
                                                       "carryover/2024/key_fingerprint.txt"}
    assert m["key_fingerprint"] == privacy.key_fingerprint(KEY)  # which key, never the key
    assert "2025/legs.parquet" in {f["path"] for f in m["processed"]}
    for name in ("python", "pandas", "numpy", "pyarrow", "papermill", "nbconvert", "matplotlib", "seaborn", "openpyxl"):
        assert m["packages"][name], name
    assert m["parameters"] == {"base_year": 2024, "main_mode_rule": "longest", "min_cell": 3,
                               "raw_dir": "data/raw/sample", "year": 2025}
    head = subprocess.run(["git", "-C", str(config.ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert m["git"]["commit"] == head.stdout.strip() and isinstance(m["git"]["dirty"], bool)


def test_git_state_outside_a_checkout(tmp_path: Path):
    assert manifest.git_state(tmp_path) == {"commit": None, "dirty": None}


def test_runner_calls_write_manifest():
    assert manifest.write_manifest in runner.SIDECARS


def test_same_inputs_give_identical_summary(tmp_path: Path):
    from helpers.publish import summary

    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    for year in YEARS:
        one = json.dumps(summary.build_summary(year, raw_dir=SAMPLE_RAW, processed_dir=first), sort_keys=True,
                         ensure_ascii=False, default=str)
        two = json.dumps(summary.build_summary(year, raw_dir=SAMPLE_RAW, processed_dir=second), sort_keys=True,
                         ensure_ascii=False, default=str)
        assert one == two


def test_pipeline_run_matches_a_fresh_ingest_and_writes_manifests(pipeline_run, tmp_path: Path):
    """The survey tables of the session's full run equal, byte for byte, those of a separate ingest."""
    fresh = tmp_path / "processed"
    for year in YEARS:
        ingest.ingest_year(year, pipeline_run.raw_dir, fresh, key=pipeline_run.key.encode())
    names = ["respondents.parquet", "patterns.parquet", "legs.parquet", "attitudes.parquet", "rejects.parquet",
             "rejects.csv", "ingest_report.json"]
    for year in YEARS:
        for name in names:
            ours, theirs = fresh / str(year) / name, pipeline_run.processed_dir / str(year) / name
            assert privacy.file_sha256(ours) == privacy.file_sha256(theirs), f"{year}/{name}"
        store = ingest.carryover_dir(pipeline_run.processed_dir, year)
        assert _hashes(ingest.carryover_dir(fresh, year)) == _hashes(store)
        m = json.loads((pipeline_run.out_dir / str(year) / "manifest.json").read_text(encoding="utf-8"))
        assert m["year"] == year and m["generated_at"] and m["parameters"]["min_cell"] == 3
        assert "out_dir" not in m["parameters"] and "processed_dir" not in m["parameters"]
        attendance = ingest.load_mapping(year)["attendance"]["file"]
        assert {f["path"] for f in m["inputs"]} >= {f"{year}/survey.csv", f"{year}/{attendance}"}
