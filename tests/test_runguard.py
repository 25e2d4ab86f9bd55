"""One run at a time per dataset, processed tables and report published together, leftovers of killed runs
cleaned, deletions that stay deleted (helpers.publish.runguard, helpers.publish.runner, the destruction log in helpers.survey.ingest)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers import cli, privacy
from helpers.publish import runguard
from helpers.schemas import LEGS, PATTERNS, read_table, write_table
from helpers.survey import ingest
from helpers.survey.ingest import IngestError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "raw" / "sample"
KEY = b"runguard-test-key"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
PARAMETERS = 'year = 2025\nprocessed_dir = ""\nraw_dir = ""'


def notebook(path: Path, title: str, *sources: str) -> Path:
    cells = [new_markdown_cell(f"# {title}"), new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
             *(new_code_cell(source) for source in sources)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC}), path)
    return path


INGEST_LIKE = ("from pathlib import Path\nimport json\n"
               "folder = Path(processed_dir) / str(year)\nfolder.mkdir(parents=True, exist_ok=True)\n"
               "(folder / 'respondents.parquet').write_text('new run')\n"
               "(folder / 'ingest_report.json').write_text(json.dumps({'input_files': []}))")


@pytest.fixture
def setup(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, KEY.decode())
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    raw, processed, out = tmp_path / "raw", tmp_path / "processed", tmp_path / "reports"
    shutil.copytree(SAMPLE, raw)
    (processed / "2025").mkdir(parents=True)
    (processed / "2025" / "respondents.parquet").write_text("previous run")
    return raw, processed, out


def _args(raw: Path, processed: Path, out: Path, notebooks: Path, year: str = "2025") -> list[str]:
    return ["run", "--year", year, "--raw-dir", str(raw), "--processed-dir", str(processed), "--out", str(out),
            "--notebooks-dir", str(notebooks), "--jobs", "1"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def test_a_failed_year_puts_the_processed_folder_back(setup, tmp_path, capsys):
    raw, processed, out = setup
    notebooks = tmp_path / "nb"
    notebook(notebooks / "01_ingest.ipynb", "匯入", INGEST_LIKE)
    notebook(notebooks / "02_summary.ipynb", "摘要", 'raise RuntimeError("later notebook fails")')
    before = _tree(processed)
    assert cli.main(_args(raw, processed, out, notebooks)) == 1
    assert "later notebook fails" in capsys.readouterr().err
    assert _tree(processed) == before  # processed tables agree with the (absent) report
    assert not (processed / runguard.SNAPSHOT_DIR).exists() and not (processed / runguard.CACHE_DIR).exists()


def test_a_killed_run_is_rolled_back_by_the_next_run_and_leftovers_go(setup, tmp_path):
    raw, processed, out = setup
    before = _tree(processed)
    # what a run killed with SIGKILL after its ingest leaves behind
    runguard.snapshot(processed, 2025, out / "2025", "killed-run")
    (processed / "2025" / "respondents.parquet").write_text("half-published")
    (processed / runguard.CACHE_DIR).mkdir()
    (processed / runguard.CACHE_DIR / "2025-abc.pickle").write_bytes(b"results")
    (processed / ".2025.tmp-x1y2").mkdir()
    (out / ".2025.tmp-abcd").mkdir(parents=True)
    (out / ".2024.old-zz").mkdir()
    (processed / "2025" / ".legs.parquet.k3j.tmp").write_bytes(b"partial")
    with runguard.locked(processed, out):
        runguard.recover(processed, out)
    assert _tree(processed) == before
    leftovers = [p for p in (*processed.rglob(".*"), *out.rglob(".*")) if p.name != runguard.LOCK_FILE]
    assert leftovers == []


def test_a_published_year_keeps_its_data_when_the_run_died_after_the_swap(setup, tmp_path):
    raw, processed, out = setup
    runguard.snapshot(processed, 2025, out / "2025", "run-42")
    (processed / "2025" / "respondents.parquet").write_text("published")
    (out / "2025").mkdir(parents=True)
    (out / "2025" / runguard.RUN_ID_FILE).write_text("run-42\n")
    runguard.recover(processed, out)
    assert (processed / "2025" / "respondents.parquet").read_text() == "published"
    assert not (processed / runguard.SNAPSHOT_DIR).exists()


def test_a_second_run_of_the_same_dataset_refuses(setup, tmp_path, capsys):
    raw, processed, out = setup
    notebooks = tmp_path / "nb"
    notebook(notebooks / "01_ingest.ipynb", "匯入", INGEST_LIKE)
    with runguard.locked(processed):
        assert cli.main(_args(raw, processed, tmp_path / "other-out", notebooks)) == 3
    err = capsys.readouterr().err
    assert "in use by another run" in err and f"pid {os.getpid()}" in err and err.count("\n") == 1
    assert (processed / "2025" / "respondents.parquet").read_text() == "previous run"


def test_two_processes_at_once_one_waits_for_nobody(setup, tmp_path):
    raw, processed, out = setup
    notebooks = tmp_path / "nb"
    flag = tmp_path / "go-on"
    notebook(notebooks / "01_ingest.ipynb", "匯入",
             f"import time\nfrom pathlib import Path\nwhile not Path({str(flag)!r}).exists():\n    time.sleep(0.1)\n"
             + INGEST_LIKE)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    first = subprocess.Popen([sys.executable, "-m", "helpers", *_args(raw, processed, out, notebooks)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (processed / runguard.SNAPSHOT_DIR).exists() and time.time() < deadline:
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "-m", "helpers", *_args(raw, processed, out, notebooks)], env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 3, second.stderr
        assert "in use by another run" in second.stderr and "Traceback" not in second.stderr
        first.send_signal(signal.SIGTERM)  # systemd stopping the first run: it unwinds and puts processed back
        time.sleep(1)
        flag.write_text("")  # the running notebook ends (a cell in progress is waited for)
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, err
    assert (processed / "2025" / "respondents.parquet").read_text() == "previous run"
    assert not (out / "2025").exists() and not (processed / runguard.SNAPSHOT_DIR).exists()


def test_inputs_changed_during_the_run_publish_nothing(setup, tmp_path, capsys, monkeypatch):
    from helpers.publish import runner

    monkeypatch.setattr(runner, "SIDECARS", ())  # this fake year has no tables to summarise
    raw, processed, out = setup
    notebooks = tmp_path / "nb"
    survey = raw / "2025" / "survey.csv"
    record = json.dumps({"input_files": [{"path": "2025/survey.csv", "sha256": privacy.file_sha256(survey)}]})
    notebook(notebooks / "01_ingest.ipynb", "匯入",
             "from pathlib import Path\n"
             f"folder = Path(processed_dir) / str(year)\n(folder / 'ingest_report.json').write_text({record!r})\n"
             "p = Path(raw_dir) / str(year) / 'survey.csv'\np.write_bytes(p.read_bytes() + b'\\n')")
    assert cli.main(_args(raw, processed, out, notebooks)) == 1
    assert "changed in" in capsys.readouterr().err
    assert not (out / "2025").exists()
    assert (processed / "2025" / "respondents.parquet").read_text() == "previous run"


# ------------------------------------------------------------------------------------------ destruction log

def _store_ids(processed: Path, year: int) -> set[str]:
    return set(read_table(PATTERNS, ingest.carryover_dir(processed, year) / "patterns.parquet")["respondent_id"])


def test_route_d_deletions_are_recorded_once_and_stay_deleted(tmp_path):
    processed = tmp_path / "data" / "processed" / "sample"
    ingest.ingest_year(2024, SAMPLE, processed, key=KEY)
    assert len(_store_ids(processed, 2024)) == 137
    ingest.ingest_year(2025, SAMPLE, processed, key=KEY)
    log = privacy.destruction_log_for(processed)
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 1 and records[0]["subjects"] == 4 and "of 4 person(s)" in records[0]["what"]
    assert len(records[0]["subject_digests"]) == 4 and records[0]["store_year"] == 2024
    assert not any(p in log.read_text() for p in _store_ids(processed, 2024))
    assert len(_store_ids(processed, 2024)) == 133
    # re-running both years, in either order: nothing put back, nothing recorded again
    ingest.ingest_year(2025, SAMPLE, processed, key=KEY)
    ingest.ingest_year(2024, SAMPLE, processed, key=KEY)
    assert len(_store_ids(processed, 2024)) == 133
    ingest.ingest_year(2025, SAMPLE, processed, key=KEY)
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1
    assert ingest.load_year(processed, 2025)["report"]["carried_over"] == 105


def test_a_decliner_who_answered_last_year_but_cannot_be_found_stops_the_run(tmp_path):
    processed = tmp_path / "data" / "processed" / "sample"
    ingest.ingest_year(2024, SAMPLE, processed, key=KEY)
    survey = pd.read_csv(SAMPLE / "2025" / "survey.csv", dtype=str)
    decliner = survey.loc[survey["本年度填答方式"].str.startswith("D."), "員工編號"].iloc[0]
    gone = privacy.pseudonymise(pd.Series([decliner]), KEY)[0]
    store = ingest.carryover_dir(processed, 2024)
    for name, schema in (("patterns", PATTERNS), ("legs", LEGS)):  # removed without a record: an altered store
        frame = read_table(schema, store / f"{name}.parquet")
        write_table(frame[frame["respondent_id"] != gone], schema, store / f"{name}.parquet")
    with pytest.raises(IngestError, match="1 route-D respondent"):
        ingest.ingest_year(2025, SAMPLE, processed, key=KEY)
    assert not (processed / "2025").exists()
