"""Report runner: execute the numbered notebooks with papermill and publish them as HTML, one year at a time.

A year is run into a hidden staging folder `<out>/.<year>.tmp-XXXX` and swapped into `<out>/<year>` only when
every notebook (and the summary/manifest writers) succeeded, so a failed run never leaves a half-written report.
A failing executed notebook is kept in `<out>/<year>.failed/` for debugging.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

import nbformat

from helpers import config, privacy
from helpers.publish import manifest, method, runguard, summary, workbook
from helpers.publish.pages import Notebook, PARAMETER_TAGS, render_html, write_top_index, write_year_index


KERNEL_NAME = "python3"
# The kernel's own log is not the report's business: at ERROR it prints "[IPKernelApp] ERROR | KeyboardInterrupt
# caught in kernel" when papermill stops it after the last cell (a cron job would mail that). Cell errors still
# reach the run through the notebook's outputs, and a dead kernel through papermill.
KERNEL_ARGUMENTS = ["--log-level=CRITICAL"]
CELL_TIMEOUT_S = config.CELL_TIMEOUT_S
KERNEL_START_ATTEMPTS = 3  # a kernel that dies before its first cell (a port race) is started again, twice at most
NOTEBOOK_PATTERN = re.compile(r"^(\d+)_.+\.ipynb$")
# written into the staging folder, in this order, after the notebooks succeeded
# (METHOD.html: docs/METHOD.md, linked from every report page)
SIDECARS = (summary.write_summary, manifest.write_manifest, workbook.write_workbook, method.write_method)


class RunError(RuntimeError):
    """A year's run failed; the message names the notebook, the cell and the error, for the person running it."""


def discover(notebooks_dir: Path | str | None = None) -> list[Notebook]:
    """The NN_*.ipynb notebooks of a folder, sorted by number then name."""
    folder = Path(notebooks_dir or config.NOTEBOOKS)
    found = [Notebook(int(match.group(1)), path) for path in folder.glob("*.ipynb")
             if (match := NOTEBOOK_PATTERN.match(path.name))]
    return sorted(found, key=lambda nb: (nb.number, nb.path.name))


# --------------------------------------------------------------------------------------------------- execute

def execute_notebook(path: Path | str, out_path: Path | str, parameters: dict, cwd: Path | str | None = None,
                     on_cell_start=None, cell_timeout: float | None = None) -> None:
    """Execute one notebook with papermill (kernel python3) into out_path; raises papermill's errors.

    on_cell_start(cell=, cell_index=) is called (in this thread) before each cell; it may wait, or raise to stop.
    cell_timeout: seconds one cell may run (None or 0: no limit); a cell that hangs then fails the notebook.
    """
    import papermill

    path = Path(path)
    kernel_cwd = str(Path(cwd or path.parent).resolve())
    _absolute_pythonpath()
    papermill.execute_notebook(
        str(path), str(out_path), parameters=parameters, kernel_name=KERNEL_NAME,
        progress_bar=False, log_output=False,
        # written once at the end (and before raising on a cell error), not after every cell
        request_save_on_cell_execute=False,
        # the kernel's working directory, given to nbclient directly: papermill's own `cwd=` does a
        # process-wide os.chdir, which is not safe when several notebooks run at once in threads
        resources={"metadata": {"path": kernel_cwd}},
        extra_arguments=KERNEL_ARGUMENTS,
        on_cell_start=on_cell_start,
        execution_timeout=cell_timeout or None,
    )


def _absolute_pythonpath() -> None:
    """Make relative PYTHONPATH entries (e.g. PYTHONPATH=src) absolute: kernels start in the notebooks' folder."""
    entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    absolute = os.pathsep.join(str(Path(entry).resolve()) if entry else entry for entry in entries)
    if os.environ.get("PYTHONPATH") and absolute != os.environ["PYTHONPATH"]:
        os.environ["PYTHONPATH"] = absolute


def notebook_parameters(path: Path | str, available: dict) -> dict:
    """The subset of `available` that the notebook declares in its `parameters` cell."""
    import papermill

    declared = papermill.inspect_notebook(str(path))
    return {name: value for name, value in available.items() if name in declared}


# ------------------------------------------------------------------------------------------------------- run

_progress_lock = threading.Lock()


def _progress(message: str) -> None:
    with _progress_lock:  # whole lines, also from worker threads
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


class _Skipped(Exception):
    """A notebook held at its gate was not run on: the first notebook, or another one, failed."""


class _Gate:
    """Holds notebooks after their imports and parameters cells until the first notebook (ingest) has succeeded,
    and then lets at most `jobs` of them run their other cells at once.

    So the next notebooks start their kernels and import their libraries while others compute: kernel
    start-up overlaps with work instead of adding to it. By house rule nothing before a notebook's
    parameters cell reads data (it is the imports), so holding there changes no output.
    """

    def __init__(self, jobs: int):
        self._ready, self._abort = threading.Event(), threading.Event()
        self._slots = threading.Semaphore(max(1, jobs))

    def open(self) -> None:
        self._ready.set()

    def abort(self) -> None:
        self._abort.set()
        self._ready.set()

    def enter(self) -> None:
        self._ready.wait()
        while not self._slots.acquire(timeout=0.05):
            if self._abort.is_set():
                raise _Skipped()
        if self._abort.is_set():
            self._slots.release()
            raise _Skipped()

    def leave(self) -> None:
        self._slots.release()

    def hook(self, nb: nbformat.NotebookNode, held: list):
        """on_cell_start for one notebook: imports and parameters cells run ahead, the gate is before the rest."""
        has_parameters = any(PARAMETER_TAGS & set(cell.get("metadata", {}).get("tags", [])) for cell in nb.cells)
        seen = {"parameters": False}

        def on_cell_start(cell, cell_index):
            tags = PARAMETER_TAGS & set(cell.get("metadata", {}).get("tags", []))
            if held or cell.cell_type != "code" or tags:
                seen["parameters"] |= bool(tags)
                return
            if has_parameters and not seen["parameters"]:  # the imports above the parameters cell
                return
            self.enter()
            held.append(True)

        return on_cell_start


def _run_one(year: int, nb: Notebook, stage: Path, available: dict, gate: _Gate | None = None,
             cell_timeout: float | None = None) -> None:
    """Execute and render one notebook into the staging folder; progress on stderr."""
    started = time.perf_counter()
    _progress(f"[{year}] start {nb.path.name}")
    executed = stage / "executed" / nb.path.name
    held: list = []
    try:
        hook = gate.hook(nbformat.read(nb.path, as_version=4), held) if gate is not None else None
        ran: list = []  # cells started (a kernel that never started is started again; one that ran cells is not)

        def on_cell_start(cell, cell_index):
            ran.append(cell_index)
            if hook is not None:
                hook(cell=cell, cell_index=cell_index)

        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                execute_notebook(nb.path, executed, notebook_parameters(nb.path, available), cwd=nb.path.parent,
                                 on_cell_start=on_cell_start, cell_timeout=cell_timeout)
                break
            except RuntimeError as exc:
                if ran or attempt == KERNEL_START_ATTEMPTS or not _kernel_did_not_start(exc):
                    raise
                _progress(f"[{year}] retry {nb.path.name}: its kernel did not start ({exc}); any kernel error printed "
                          "above is this one, handled: starting another kernel")
        render_html(executed, stage / f"{nb.name}.html")
    except _Skipped:
        _progress(f"[{year}] skip  {nb.path.name}: an earlier notebook failed")
        raise
    except BaseException:
        _progress(f"[{year}] FAILED {nb.path.name} after {time.perf_counter() - started:.1f} s")
        raise
    finally:
        if held:
            gate.leave()
    _progress(f"[{year}] done  {nb.path.name} in {time.perf_counter() - started:.1f} s")


def _kernel_did_not_start(exc: BaseException) -> bool:
    """A kernel that died before answering: most often its port was taken between jupyter_client choosing it and
    the kernel binding it (kernels started at once; "Address already in use"). Nothing of the notebook ran."""
    return "before replying to kernel_info" in str(exc) or "Address already in use" in str(exc)


def _describe_failure(year: int, nb: Notebook, exc: BaseException, executed: Path) -> str:
    """Which notebook, which cell (index in the source notebook, first source line) and what error."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, TimeoutError):  # nbclient's CellTimeoutError: a cell ran longer than --cell-timeout
        return (f"{year}: notebook {nb.path.name} stopped: a cell ran longer than the cell time limit "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); if the data are that "
                "large, run again with a larger --cell-timeout (seconds, 0 = no limit)")
    if not isinstance(exc, PapermillExecutionError):
        return f"{year}: notebook {nb.path.name} failed: {type(exc).__name__}: {exc}"
    index = exc.cell_index
    try:  # papermill's index counts its injected-parameters cell: give the index in the source notebook
        cells = nbformat.read(executed, as_version=4).cells
        injected = sum(1 for cell in cells[1:index + 1]
                       if "injected-parameters" in cell.get("metadata", {}).get("tags", []))
        index -= injected
    except (OSError, ValueError):
        pass
    first_line = next((line.strip() for line in str(exc.source).splitlines() if line.strip()), "")
    return (f"{year}: notebook {nb.path.name} failed in cell index {index} (0-based; In [{exc.exec_count}]) "
            f"`{first_line}`:\n  {exc.ename}: {exc.evalue}")


def run_year(year: int, *, raw_dir: Path | str, processed_dir: Path | str, out: Path | str,
             base_year: int | None = None, main_mode_rule: str = "longest", min_cell: int = 3,
             jobs: int = 2, notebooks_dir: Path | str | None = None, route_a_max_unmatched: float = 0.2,
             min_accepted_share: float = 0.5, run_warnings: list[tuple[str, str]] | None = None,
             cell_timeout: float | None = CELL_TIMEOUT_S) -> Path:
    """Run all notebooks of one (Gregorian) year into <out>/<year>; returns that folder or raises RunError.

    cell_timeout: seconds any one notebook cell may run (None or 0: no limit), so that a hanging cell fails the
    scheduled run with a message instead of blocking it for ever."""
    out = Path(out).resolve()
    notebooks = discover(notebooks_dir)
    if not notebooks:
        raise RunError(f"no NN_*.ipynb notebooks found in {Path(notebooks_dir or config.NOTEBOOKS).resolve()}")
    out.mkdir(parents=True, exist_ok=True)
    processed = Path(processed_dir).resolve()
    processed.mkdir(parents=True, exist_ok=True)
    final, failed_dir = out / str(year), out / f"{year}.failed"
    stage = Path(tempfile.mkdtemp(prefix=f".{year}.tmp-", dir=out))
    stage.chmod(0o755)  # mkdtemp makes it private; the published report is not
    params = {
        "year": int(year),
        "base_year": int(base_year) if base_year is not None else int(year) - 1,
        "raw_dir": str(Path(raw_dir).resolve()),
        "processed_dir": str(Path(processed_dir).resolve()),
        # the staging folder that becomes <out>/<year>: whatever a notebook writes there is swapped in with it
        "out_dir": str(stage),
        "main_mode_rule": main_mode_rule,
        "min_cell": int(min_cell),
        "route_a_max_unmatched": float(route_a_max_unmatched),
        "min_accepted_share": float(min_accepted_share),
    }
    # a private folder for the run, where helpers.publish.summary.year_results keeps each year's results for the others
    # (inside the processed folder, whose data it holds; a killed run's is removed by the next run)
    from helpers.publish.summary import RESULTS_CACHE_ENV

    cache, previous = processed / runguard.CACHE_DIR, os.environ.get(RESULTS_CACHE_ENV)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    os.environ[RESULTS_CACHE_ENV] = str(cache)  # inherited by the kernels started below
    from helpers.publish import warnings_log

    previous_warnings = os.environ.get(warnings_log.WARNINGS_FILE_ENV)
    os.environ[warnings_log.WARNINGS_FILE_ENV] = str(cache / "warnings.jsonl")
    for code, text in run_warnings or ():
        warnings_log.record(code, text)
    run_id = f"{os.getpid()}-{time.time_ns()}"
    # the processed folder as it was: put back unless the report is published too (runguard)
    runguard.snapshot(processed, year, final, run_id)
    published = False
    try:
        (stage / "executed").mkdir()
        failures = _run_all(year, notebooks, stage, params, jobs=jobs, cell_timeout=cell_timeout)
        if failures:
            raise RunError(_keep_failures(year, failures, stage, final, failed_dir))
        _write_sidecars(year, stage, params)
        write_year_index(stage, year, notebooks, params)
        _check_inputs_unchanged(year, Path(params["raw_dir"]), processed)
        (stage / runguard.RUN_ID_FILE).write_text(run_id + "\n", encoding="utf-8")
        _swap_in(stage, final)
        published = True
        runguard.discard_snapshot(processed)
        shutil.rmtree(failed_dir, ignore_errors=True)  # a stale failure of an earlier run no longer applies
    except BaseException:
        if not published:
            runguard.restore_snapshot(processed)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        for name, value in ((RESULTS_CACHE_ENV, previous), (warnings_log.WARNINGS_FILE_ENV, previous_warnings)):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    write_top_index(out)
    return final


def _check_inputs_unchanged(year: int, raw_dir: Path, processed_dir: Path) -> None:
    """The raw files hashed at ingestion are still those bytes when the report is published (else: RunError)."""
    folder = Path(processed_dir) / str(year)
    recorded = []
    for name in ("ingest_report.json", "business_travel/report.json"):
        try:
            content = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        recorded += content.get("input_files", [])
        for part in ("claims", "long_trips"):
            entry = content.get(part) or {}
            if isinstance(entry, dict) and entry.get("sha256") and entry.get("file"):
                recorded.append({"path": entry["file"], "sha256": entry["sha256"]})
    changed = [entry["path"] for entry in recorded
               if not (raw_dir / entry["path"]).is_file()
               or privacy.file_sha256(raw_dir / entry["path"]) != entry["sha256"]]
    if changed:
        raise RunError(f"{year}: {changed} changed in {raw_dir} while the year was running (another run, or a "
                       "file being copied?); nothing was published. Run again when the files are complete")


def _run_all(year: int, notebooks: list[Notebook], stage: Path, params: dict, jobs: int,
             cell_timeout: float | None = None) -> list:
    """Run the first notebook (01, ingest) alone, then the others, `jobs` at a time; returns [(notebook, exception)]
    of the failures in notebook order. The next notebooks start their kernels and imports meanwhile (_Gate)."""
    first, rest = notebooks[0], notebooks[1:]
    gate = _Gate(jobs)
    with ThreadPoolExecutor(max_workers=max(1, jobs) + 1) as pool:  # one notebook more than run at once
        head = pool.submit(_run_one, year, first, stage, params, None, cell_timeout)
        futures = {nb: pool.submit(_run_one, year, nb, stage, params, gate, cell_timeout) for nb in rest}
        try:
            if head.exception() is not None:
                gate.abort()
            else:
                gate.open()
                for future in as_completed(futures.values()):
                    if future.exception() is not None:
                        break
        finally:  # a failure (or Ctrl-C): notebooks held at the gate or not started are skipped, running ones finish
            if not all(future.done() and future.exception() is None for future in (head, *futures.values())):
                gate.abort()
                for other in futures.values():
                    other.cancel()
    results = {first: head, **futures}
    return [(nb, future.exception()) for nb, future in results.items()
            if not future.cancelled() and future.exception() is not None
            and not isinstance(future.exception(), _Skipped)]


def _keep_failures(year: int, failures: list, stage: Path, final: Path, failed_dir: Path) -> str:
    """Move the failing executed notebooks to <out>/<year>.failed/ and build the error message."""
    shutil.rmtree(failed_dir, ignore_errors=True)
    failed_dir.mkdir()
    lines = []
    for nb, exc in failures:
        executed = stage / "executed" / nb.path.name
        lines.append(_describe_failure(year, nb, exc, executed))
        if executed.exists():
            shutil.move(str(executed), failed_dir / nb.path.name)
            lines.append(f"  The executed notebook, with the traceback, is kept at {failed_dir / nb.path.name}.")
        else:
            lines.append("  No executed notebook was written (the kernel stopped before the end).")
    kept = f"; the previous report in {final} is unchanged" if final.exists() else ""
    lines.append(f"No report was written for {year}{kept}.")
    return "\n".join(lines)


def _write_sidecars(year: int, stage: Path, params: dict) -> None:
    """Call each SIDECARS writer (summary.json, manifest, ...) with the run's folders and parameters."""
    for function in SIDECARS:
        try:
            function(year, raw_dir=Path(params["raw_dir"]), processed_dir=Path(params["processed_dir"]),
                     out_dir=stage, params=dict(params))
        except Exception as exc:
            name = f"{function.__module__}.{function.__qualname__}"
            raise RunError(f"{year}: the report was not written: {name}() failed: "
                           f"{type(exc).__name__}: {exc}") from exc


def _swap_in(stage: Path, final: Path) -> None:
    """Replace `final` by `stage` with two renames (the old report is removed only after the new one is in)."""
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        old.rmdir()
        final.rename(old)
    try:
        stage.rename(final)
    except OSError:
        if old is not None:
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------- cli

def run_cli(args, years: list[int], notebooks_dir: Path | str | None = None) -> int:
    """`python -m helpers run`: run every year in turn; 0 when all succeeded, 1 (with the reason) otherwise."""
    from helpers.publish import preflight

    notebooks_dir = notebooks_dir or getattr(args, "notebooks_dir", None)
    base_year = config.to_gregorian(args.base_year) if args.base_year is not None else None
    # everything the run needs, before the first kernel starts: a bad command fails at once (exit 2)
    key_created = preflight.check_run(years, raw_dir=args.raw_dir, processed_dir=args.processed_dir, out=args.out,
                        min_cell=args.min_cell, jobs=args.jobs, notebooks_dir=notebooks_dir, base_year=base_year,
                        cell_timeout=getattr(args, "cell_timeout", CELL_TIMEOUT_S),
                        shares={"--route-a-max-unmatched": getattr(args, "route_a_max_unmatched", 0.2),
                                "--min-accepted-share": getattr(args, "min_accepted_share", 0.5)})
    # (the key file's path is in the terminal's note, not in the report: it names the operator's home folder)
    run_warnings = [("key_created", "本次執行首次建立假名化金鑰；請依執行紀錄所示位置另行備份，遺失後各年度資料將無法串連。")
                    ] if key_created else []
    status = 0
    with runguard.locked(args.processed_dir, args.out), _sigterm_as_interrupt():
        runguard.recover(args.processed_dir, args.out)
        for year in years:
            started = time.perf_counter()
            try:
                run_year(year, raw_dir=args.raw_dir, processed_dir=args.processed_dir, out=args.out,
                         base_year=base_year, main_mode_rule=args.main_mode_rule, min_cell=args.min_cell,
                         jobs=args.jobs, notebooks_dir=notebooks_dir,
                         route_a_max_unmatched=getattr(args, "route_a_max_unmatched", 0.2),
                         min_accepted_share=getattr(args, "min_accepted_share", 0.5), run_warnings=run_warnings,
                         cell_timeout=getattr(args, "cell_timeout", CELL_TIMEOUT_S))
            except RunError as exc:
                print(f"error: {exc}", file=sys.stderr)
                status = 1
                continue
            _progress(f"[{year}] report written ({time.perf_counter() - started:.1f} s)")
            _progress(_warnings_text(Path(args.out).resolve() / str(year)))
    index = Path(args.out).resolve() / "index.html"
    if index.exists():
        _progress(f"reports: {index}")
    return status


def _warnings_text(year_dir: Path) -> str:
    """The year's warnings from its summary.json, for the terminal (a cron job's mail)."""
    from helpers.publish import warnings_log

    try:
        content = json.loads((year_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"[{year_dir.name}] 注意事項 warnings: see the summary page"
    found = [warnings_log.RunWarning(w["code"], w["text"]) for w in content.get("warnings", [])]
    return warnings_log.terminal(int(year_dir.name), found)


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (systemd stop, kill) unwinds like Ctrl-C, so the year's processed folder is put back."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def summary_cli(args, year: int) -> int:
    """`python -m helpers summary`: print <out>/<year>/summary.json, or compute it when no run wrote one."""
    path = Path(args.out) / str(year) / "summary.json"
    if path.exists():
        print(path.read_text(encoding="utf-8").rstrip("\n"))
        return 0
    try:
        built = summary.build_summary(year, raw_dir=args.raw_dir, processed_dir=args.processed_dir)
    except FileNotFoundError as exc:
        print(f"error: {path} not found (no run wrote it) and it cannot be computed: {exc}; "
              f"run `python -m helpers run --year {year}` first", file=sys.stderr)
        return 2
    print(json.dumps(built, indent=2, ensure_ascii=False, default=str))
    return 0
