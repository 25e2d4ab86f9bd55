"""Shared fixtures. `pipeline_run`: the whole pipeline run once per test session on a copy of the sample."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIPELINE_KEY = "pipeline-test-key"  # pseudonymisation key of the session's run (no key file is created)
PIPELINE_YEARS = ("2024", "2025", "2026")  # 2026: the off-year rolled forward from 2025


@dataclass(frozen=True)
class PipelineRun:
    """Folders of a finished `python -m helpers run` and what it printed."""

    raw_dir: Path  # the copy of data/raw/sample the run read
    processed_dir: Path
    out_dir: Path  # reports: <out>/<year>/*.html, executed/*.ipynb, summary.json, manifest.json
    key: str
    stdout: str
    stderr: str


def _run_pipeline(raw: Path, base: Path) -> PipelineRun:
    """`python -m helpers run --year 2024 2025 2026` on the raw folder `raw`, processed data and reports under `base`."""
    processed, out = base / "processed", base / "reports"
    env = dict(os.environ)
    env["WORKBENCH_PSEUDONYM_KEY"] = PIPELINE_KEY
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    # the notebooks' `python3` kernel must be this interpreter (the one with the project's packages)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "--year", *PIPELINE_YEARS, "--raw-dir", str(raw),
         "--processed-dir", str(processed), "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )
    if done.returncode != 0:
        pytest.fail(f"`python -m helpers run` failed ({done.returncode}):\n{done.stderr[-6000:]}", pytrace=False)
    return PipelineRun(raw, processed, out, PIPELINE_KEY, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> PipelineRun:
    """Run `python -m helpers run --year 2024 2025 2026` on a temporary copy of the sample, once per session."""
    base = tmp_path_factory.mktemp("pipeline")
    raw = base / "raw" / "sample"
    shutil.copytree(ROOT / "data" / "raw" / "sample", raw)
    return _run_pipeline(raw, base)


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory) -> PipelineRun:
    """The whole pipeline, once per session, on a copy of the sample with markup, formulas and personal data
    typed into every free-text field (tests/hostile.py)."""
    from hostile import make_hostile_raw

    base = tmp_path_factory.mktemp("hostile")
    raw = make_hostile_raw(ROOT / "data" / "raw" / "sample", base / "raw" / "sample")
    return _run_pipeline(raw, base)
