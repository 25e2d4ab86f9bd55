"""A bad command fails before any kernel starts: one line, exit 2, nothing written (helpers.publish.preflight, helpers.cli)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import cli
from helpers.publish import preflight

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "raw" / "sample"


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    shutil.copytree(SAMPLE, folder)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(*args: str) -> int:
    return cli.main(["run", *args])


@pytest.mark.parametrize("where", ["equal", "inside", "contains"])
def test_out_overlapping_the_raw_folder_is_refused_and_nothing_is_touched(tmp_path, raw, where, capsys):
    out = {"equal": raw, "inside": raw / "2025", "contains": tmp_path}[where]
    before = _files(raw)
    assert _run("--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / "p" / "x"),
                "--out", str(out)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: --out") and "--raw-dir" in err
    assert _files(raw) == before


def test_out_overlapping_the_processed_folder_is_refused(tmp_path, raw, capsys):
    processed = tmp_path / "processed"
    assert _run("--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(processed),
                "--out", str(processed / "reports")) == 2
    assert "--processed-dir" in capsys.readouterr().err
    assert not processed.exists()


def test_processed_inside_raw_is_refused(tmp_path, raw, capsys):
    assert _run("--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(raw / "processed"),
                "--out", str(tmp_path / "out")) == 2
    assert "--processed-dir" in capsys.readouterr().err


@pytest.mark.parametrize("min_cell", ["1", "0", "-3"])
def test_min_cell_below_2_is_refused(tmp_path, raw, min_cell, capsys):
    assert _run("--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / "p"),
                "--out", str(tmp_path / "o"), "--min-cell", min_cell) == 2
    assert "--min-cell" in capsys.readouterr().err
    assert not (tmp_path / "p").exists() and not (tmp_path / "o").exists()


def test_missing_raw_year_and_files_and_mapping(tmp_path, raw, capsys):
    common = ["--raw-dir", str(raw), "--processed-dir", str(tmp_path / "p"), "--out", str(tmp_path / "o")]
    assert _run("--year", "2031", *common) == 2  # no form mapping for that year
    assert "no survey form mapping for 2031" in capsys.readouterr().err
    (raw / "2024" / "attendance.xlsx").unlink()
    assert _run("--year", "2024", *common) == 2
    assert "missing ['attendance.xlsx']" in capsys.readouterr().err
    shutil.rmtree(raw / "2024")
    assert _run("--year", "2024", *common) == 2
    assert "no raw folder for 2024" in capsys.readouterr().err
    assert _run("--year", "2024", "--raw-dir", str(tmp_path / "nowhere"), "--processed-dir", str(tmp_path / "p"),
                "--out", str(tmp_path / "o")) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "p").exists() and not (tmp_path / "o").exists()


def test_out_is_a_file_or_not_writable(tmp_path, raw, capsys):
    a_file = tmp_path / "report.html"
    a_file.write_text("x")
    assert _run("--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / "p"),
                "--out", str(a_file)) == 2
    assert "is a file" in capsys.readouterr().err
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert _run("--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / "p"),
                    "--out", str(locked / "reports")) == 2
        assert "no permission to write" in capsys.readouterr().err
    finally:
        locked.chmod(0o755)


def test_bad_year_is_one_line(capsys):
    assert _run("--year", "99999") == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_check_paths_allows_separate_folders(tmp_path):
    preflight.check_paths(tmp_path / "raw", tmp_path / "processed", tmp_path / "reports")


def _subprocess(*args: str, stdin=None, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True, text=True, env=env,
                          timeout=120, **kw)


def test_bad_run_fails_fast_without_traceback(tmp_path, raw, capsys):
    started = time.perf_counter()  # the checks themselves (the interpreter's start is the machine's business)
    assert _run("--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / "p"),
                "--out", str(tmp_path / "o"), "--min-cell", "1") == 2
    assert time.perf_counter() - started < 2.0
    done = _subprocess("run", "--year", "2025", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / "p"),
                       "--out", str(raw))
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_factors_into_a_closed_pipe_is_quiet(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run(f"'{sys.executable}' -m helpers factors --year 2024 | head -1; exit ${{PIPESTATUS[0]}}",
                          shell=True, executable="/bin/bash", capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr and done.stderr == ""


def test_permission_error_is_one_line(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    try:  # root may write there: /sys refuses everyone
        done = _subprocess("sample", "--out", str(target / "sample") if os.geteuid() else "/sys/workbench-sample")
    finally:
        target.chmod(0o755)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error:") and len(done.stderr.strip().splitlines()) == 1


def test_readme_sections_named_in_messages_exist():
    """An error message that sends the operator to a README section names one that exists."""
    import re

    headings = {line.lstrip("#").strip() for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("#")}
    named = set()
    for path in (ROOT / "src" / "helpers").glob("*.py"):
        named |= set(re.findall(r"README, ['\"]([^'\"]+)['\"]", path.read_text(encoding="utf-8")))
    assert named, "no README section is named by any message (the pattern changed?)"
    assert named <= headings, f"named in messages but not README headings: {sorted(named - headings)}"
