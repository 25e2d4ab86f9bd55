"""The report runner on small throwaway notebooks: execution, hidden code, index pages, failure and atomicity."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers import cli
from helpers.publish import pages, runguard, runner

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
PARAMETERS = 'year: int = 2000  # survey year\nmin_cell: int = 1  # smallest cell shown'


def write_notebook(path: Path, title: str, *sources: str) -> Path:
    """A notebook with a markdown title, a parameters cell and the given code cells."""
    cells = [new_markdown_cell(f"# {title}\n\nSome text."),
             new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
             *(new_code_cell(source) for source in sources)]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC}), path)
    return path


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_ingest.ipynb", "匯入 Ingest",
                   'import sys\nprint("INGEST_" + "DONE", year, min_cell)\nprint("STDERR_" + "NOISE", file=sys.stderr)')
    write_notebook(folder / "02_summary.ipynb", "摘要 Summary", 'print("SUMMARY_" + "TEXT", year * 2)')
    for year in ("2024", "2025"):  # the run's preflight wants the year's raw files (these notebooks read none)
        (tmp_path / "raw" / year).mkdir(parents=True)
        for name in ("survey.csv", "attendance.xlsx", "roster.xlsx"):
            (tmp_path / "raw" / year / name).write_bytes(b"")
    return folder


@pytest.fixture
def sidecar(monkeypatch) -> list:
    """Replace summary/manifest writers by a fake one that writes summary.json and records its calls."""
    calls: list = []

    def write_summary(year, *, raw_dir, processed_dir, out_dir, params):
        calls.append({"year": year, "out_dir": out_dir, "params": params})
        (Path(out_dir) / "summary.json").write_text(json.dumps({"year": year, "總計": 1}, ensure_ascii=False))

    monkeypatch.setattr(runner, "SIDECARS", (write_summary,))
    return calls


def run(tmp_path: Path, notebooks: Path, *years: str, jobs: int = 2, out: Path | None = None) -> int:
    return cli.main(["run", "--year", *years, "--out", str(out or tmp_path / "reports"),
                     "--raw-dir", str(tmp_path / "raw"), "--processed-dir", str(tmp_path / "processed"),
                     "--notebooks-dir", str(notebooks), "--jobs", str(jobs)])


def test_run_executes_renders_and_indexes(tmp_path, notebooks, sidecar, capsys):
    (tmp_path / "reports" / "2025.failed").mkdir(parents=True)  # left by an earlier failed run
    assert run(tmp_path, notebooks, "2025") == 0
    assert not (tmp_path / "reports" / "2025.failed").exists()
    year_dir = tmp_path / "reports" / "2025"
    assert sorted(p.name for p in (year_dir / "executed").iterdir()) == ["01_ingest.ipynb", "02_summary.ipynb"]

    page = (year_dir / "01_ingest.html").read_text(encoding="utf-8")
    assert "INGEST_DONE 2025 3" in page  # output shown, parameters injected
    assert 'print("INGEST_" + "DONE"' not in page and "import sys" not in page  # code hidden
    assert "STDERR_NOISE" not in page  # stderr dropped
    assert "<title>匯入 Ingest</title>" in page and 'lang="zh-Hant"' in page and "Noto Sans CJK TC" in page

    executed = nbformat.read(year_dir / "executed" / "01_ingest.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "year = 2025" in injected.source and "min_cell = 3" in injected.source
    assert "raw_dir" not in injected.source  # only the parameters a notebook declares are passed

    index = (year_dir / "index.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in index
    assert index.index("02_summary.html") < index.index("01_ingest.html")  # summary listed first
    assert index.index(pages.READ_FIRST_LABEL) < index.index("01_ingest.html")
    assert "summary.json" in index
    assert 'href="2025/index.html"' in (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")

    assert [c["year"] for c in sidecar] == [2025] and sidecar[0]["params"]["base_year"] == 2024
    assert json.loads((year_dir / "summary.json").read_text(encoding="utf-8"))["總計"] == 1
    assert not list((tmp_path / "reports").glob(".*tmp*"))
    assert "02_summary.ipynb" in capsys.readouterr().err  # progress lines

    assert cli.main(["summary", "--year", "114", "--out", str(tmp_path / "reports")]) == 0
    assert json.loads(capsys.readouterr().out) == {"year": 2025, "總計": 1}


def test_roc_year_and_concurrency_give_the_sequential_result(tmp_path, notebooks, sidecar):
    write_notebook(notebooks / "03_more.ipynb", "更多 More", 'print("MORE", year)')
    assert run(tmp_path, notebooks, "114", jobs=1, out=tmp_path / "seq") == 0
    assert run(tmp_path, notebooks, "2025", jobs=3, out=tmp_path / "par") == 0
    assert sorted(p.name for p in (tmp_path / "seq").iterdir() if p.name != runguard.LOCK_FILE) == ["2025", "index.html"]
    names = sorted(p.name for p in (tmp_path / "seq" / "2025").glob("*.html"))
    assert names == ["01_ingest.html", "02_summary.html", "03_more.html", "index.html"]
    for name in names:
        assert (tmp_path / "seq" / "2025" / name).read_bytes() == (tmp_path / "par" / "2025" / name).read_bytes()


def test_failure_names_notebook_and_cell_and_keeps_the_previous_report(tmp_path, notebooks, sidecar, capsys):
    assert run(tmp_path, notebooks, "2025") == 0
    year_dir = tmp_path / "reports" / "2025"
    before = {p.relative_to(year_dir): p.read_bytes() for p in year_dir.rglob("*") if p.is_file()}

    write_notebook(notebooks / "03_broken.ipynb", "壞掉 Broken", 'x = 1', 'value = int("not a number")\nprint(value)')
    capsys.readouterr()
    assert run(tmp_path, notebooks, "2025") != 0
    err = capsys.readouterr().err
    assert "03_broken.ipynb" in err and 'value = int("not a number")' in err and "cell index 3" in err
    assert "ValueError" in err and "2025.failed" in err

    after = {p.relative_to(year_dir): p.read_bytes() for p in year_dir.rglob("*") if p.is_file()}
    assert after == before  # the previous good report is intact
    assert (tmp_path / "reports" / "2025.failed" / "03_broken.ipynb").exists()
    assert not list((tmp_path / "reports").glob(".*tmp*"))
    assert len(sidecar) == 1  # no summary for the failed run


def test_a_hanging_cell_stops_the_run_at_the_cell_time_limit(tmp_path, notebooks, sidecar, capsys):
    assert run(tmp_path, notebooks, "2025") == 0
    year_dir = tmp_path / "reports" / "2025"
    before = {p.relative_to(year_dir): p.read_bytes() for p in year_dir.rglob("*") if p.is_file()}
    write_notebook(notebooks / "03_hangs.ipynb", "卡住 Hangs", "import time\ntime.sleep(600)")
    capsys.readouterr()
    started = time.monotonic()
    status = cli.main(["run", "--year", "2025", "--out", str(tmp_path / "reports"), "--raw-dir", str(tmp_path / "raw"),
                       "--processed-dir", str(tmp_path / "processed"), "--notebooks-dir", str(notebooks),
                       "--cell-timeout", "3"])
    assert status == 1 and time.monotonic() - started < 120  # stopped, not blocked for the cell's 600 s
    err = capsys.readouterr().err
    assert "03_hangs.ipynb" in err and "cell time limit" in err and "--cell-timeout" in err
    assert {p.relative_to(year_dir): p.read_bytes() for p in year_dir.rglob("*") if p.is_file()} == before
    assert len(sidecar) == 1  # no summary for the stopped run


def test_a_kernel_that_dies_before_its_first_cell_is_started_again(tmp_path, notebooks, sidecar, capsys, monkeypatch):
    """Kernels started at once can lose their port to another process (zmq "Address already in use"): the
    kernel dies before answering. Nothing of the notebook ran, so the runner starts another kernel."""
    real, calls = runner.execute_notebook, []

    def flaky(path, *args, **kwargs):
        calls.append(Path(path).name)
        if calls.count(Path(path).name) == 1 and Path(path).name == "02_summary.ipynb":
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runner, "execute_notebook", flaky)
    assert run(tmp_path, notebooks, "2025") == 0
    err = capsys.readouterr().err
    assert "retry 02_summary.ipynb" in err and calls.count("02_summary.ipynb") == 2
    assert "SUMMARY_TEXT 4050" in (tmp_path / "reports" / "2025" / "02_summary.html").read_text(encoding="utf-8")


def test_a_kernel_that_dies_after_running_cells_is_not_run_again(tmp_path, notebooks, sidecar, capsys, monkeypatch):
    real, calls = runner.execute_notebook, []

    def dies_mid_way(path, out_path, parameters, cwd=None, on_cell_start=None, cell_timeout=None):
        calls.append(Path(path).name)
        if Path(path).name == "02_summary.ipynb":
            on_cell_start(cell=nbformat.v4.new_code_cell("x = 1"), cell_index=0)  # a cell ran (side effects)
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(path, out_path, parameters, cwd=cwd, on_cell_start=on_cell_start, cell_timeout=cell_timeout)

    monkeypatch.setattr(runner, "execute_notebook", dies_mid_way)
    assert run(tmp_path, notebooks, "2025") == 1
    assert calls.count("02_summary.ipynb") == 1 and "retry" not in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_a_negative_cell_time_limit_is_refused_before_any_kernel(tmp_path, notebooks, sidecar, capsys, value):
    status = cli.main(["run", "--year", "2025", "--out", str(tmp_path / "reports"), "--raw-dir", str(tmp_path / "raw"),
                       "--processed-dir", str(tmp_path / "processed"), "--notebooks-dir", str(notebooks),
                       "--cell-timeout", value])
    assert status == 2 and "--cell-timeout" in capsys.readouterr().err and not sidecar


def test_failure_without_previous_report_leaves_no_year_folder(tmp_path, notebooks, sidecar, capsys):
    write_notebook(notebooks / "01_ingest.ipynb", "匯入 Ingest", 'raise RuntimeError("no raw data")')
    assert run(tmp_path, notebooks, "2025", "2024") != 0
    err = capsys.readouterr().err
    assert "01_ingest.ipynb" in err and "RuntimeError: no raw data" in err
    reports = tmp_path / "reports"
    assert sorted(p.name for p in reports.iterdir() if p.is_dir()) == ["2024.failed", "2025.failed"]


def test_discover_sorts_by_number_and_finds_titles(tmp_path):
    for name in ("10_z.ipynb", "02_b.ipynb", "notes.ipynb", "01_a.ipynb"):
        write_notebook(tmp_path / name, f"Title {name}")
    assert [nb.path.name for nb in runner.discover(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "10_z.ipynb"]
    assert pages.notebook_title(nbformat.read(tmp_path / "02_b.ipynb", as_version=4)) == "Title 02_b.ipynb"


def test_summary_without_a_run_or_processed_data_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["summary", "--year", "2025", "--out", str(tmp_path),
                     "--processed-dir", str(tmp_path / "processed")]) == 2
    assert "summary.json" in capsys.readouterr().err
