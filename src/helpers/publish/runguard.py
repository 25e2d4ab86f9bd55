"""Run guard: one run at a time per dataset, and a year's processed tables and report published together.

A run of `python -m helpers run` holds an exclusive lock on its processed folder and its report folder
(`<folder>/.workbench-run.lock`, flock): a second run of the same dataset or into the same reports refuses at
once with the holder's pid (exit 3) instead of mixing its tables with the first run's.

Before a year's notebooks start, the processed folder is copied into `<processed>/.run-snapshot/` (a real copy,
not hard links: a writer that rewrites a file in place must not change the snapshot; the processed tables are
pseudonymous and compact, 10^5 respondents take a few MB). When the year's report is
swapped in, the snapshot is dropped; when the year fails, is interrupted or the process dies, the snapshot is put
back (at once, or at the start of the next run), so processed tables and report never disagree. Leftovers of
killed runs (staging folders, temporary files, results caches) are removed at the start of every run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".workbench-run.lock"
SNAPSHOT_DIR = ".run-snapshot"
RUN_ID_FILE = ".run-id"  # in a published report folder: the run that wrote it
CACHE_DIR = ".run-cache"  # the run's results cache (helpers.publish.summary), inside the processed folder


class LockedError(RuntimeError):
    """Another run holds the lock of the dataset or of the report folder."""


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


@contextmanager
def locked(processed_dir: Path, out: Path | None = None):
    """Hold an exclusive lock on the processed folder and the report folder (created when missing) for the
    duration; LockedError when another run holds either."""
    import fcntl

    handles = []
    processed = Path(processed_dir).resolve()
    try:
        for folder in sorted({processed} | ({Path(out).resolve()} if out is not None else set())):
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 -- held until the end
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise LockedError(f"{folder} is in use by another run ({holder}); wait until it has finished, "
                                  "then run again") from None
            handle.seek(0)
            handle.truncate()
            if folder == processed:  # who holds it, for the refusal message (not written into the reports folder)
                handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started "
                             f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}\n")
            handle.flush()
            handles.append(handle)
        yield
    finally:
        for handle in handles:
            handle.close()  # closing releases the flock; the file stays (removing it would race)


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith("."))


def snapshot(processed_dir: Path, year: int, report_dir: Path, run_id: str) -> Path:
    """Copy of the processed folder's contents into <processed>/.run-snapshot (with the run's id)."""
    processed_dir = Path(processed_dir)
    snap = processed_dir / SNAPSHOT_DIR
    tmp = processed_dir / f"{SNAPSHOT_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    for entry in _entries(processed_dir):
        if entry.is_dir():
            shutil.copytree(entry, tmp / "data" / entry.name, ignore=shutil.ignore_patterns(".*"))
        else:
            shutil.copy2(entry, tmp / "data" / entry.name)
    (tmp / "run.json").write_text(json.dumps({"run_id": run_id, "year": int(year), "report": str(report_dir)}),
                                  encoding="utf-8")
    tmp.rename(snap)
    return snap


def discard_snapshot(processed_dir: Path) -> None:
    """The year was published: its snapshot is no longer needed."""
    shutil.rmtree(Path(processed_dir) / SNAPSHOT_DIR, ignore_errors=True)


def restore_snapshot(processed_dir: Path) -> bool:
    """Put the processed folder back as it was before the year's run; True when there was a snapshot."""
    processed_dir = Path(processed_dir)
    snap = processed_dir / SNAPSHOT_DIR
    if not (snap / "data").is_dir():
        shutil.rmtree(snap, ignore_errors=True)
        return False
    for entry in _entries(processed_dir):
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for entry in _entries(snap / "data"):
        entry.rename(processed_dir / entry.name)
    shutil.rmtree(snap)
    return True


def recover(processed_dir: Path, out: Path) -> None:
    """At the start of a run (lock held): finish what a killed run left, and remove its leftovers.

    A snapshot left behind means a run died during a year: when its report was swapped in (the report's run id
    is the snapshot's) the snapshot is dropped, else the processed folder is put back as it was.
    """
    processed_dir, out = Path(processed_dir), Path(out)
    snap = processed_dir / SNAPSHOT_DIR
    if snap.exists():
        try:
            info = json.loads((snap / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        published = Path(info.get("report", "/nonexistent")) / RUN_ID_FILE
        if info and published.exists() and published.read_text(encoding="utf-8").strip() == info.get("run_id"):
            discard_snapshot(processed_dir)
        elif restore_snapshot(processed_dir):
            _say(f"note: an earlier run of {info.get('year', 'a year')} was interrupted; {processed_dir} was put "
                 "back as it was before that run (its report was not published either)")
    stale = [processed_dir / f"{SNAPSHOT_DIR}.tmp", processed_dir / CACHE_DIR]
    for folder in (processed_dir, processed_dir / "carryover", out):
        if folder.is_dir():
            stale += [p for p in folder.iterdir() if p.name.startswith(".") and p.name != LOCK_FILE
                      and p.name != SNAPSHOT_DIR and (".tmp" in p.name or p.name.endswith(".old") or ".old-" in p.name)]
    for folder in (processed_dir, out):  # temporary files of interrupted atomic writes, anywhere below
        if folder.is_dir():
            stale += [p for p in folder.rglob(".*.tmp") if p.is_file()]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink(missing_ok=True)
