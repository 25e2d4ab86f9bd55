"""The workbench's per-year cache of derived tables, inside the processed year folder: <processed>/<year>/.derived/.

Opening the workbench computes, for every year, the reports' per-person results (summary.year_results) and from
them the person and leg tables: about 1.3 s per year of 10^5 respondents. The tables are kept here so that the
next open reads them (about 0.1 s per year) instead. An entry is used only when its key matches:

- the content (SHA-256) of every file in the year folder, and of the census year's folder when the year is rolled
  forward from it (the tables the numbers come from);
- the content of every file under the reference folder (factors, modes, labels, survey mappings);
- the code: the content of every .py file of the helpers package, and the pandas, numpy and pyarrow versions;
- the main-mode rule.

Anything else is ignored and rebuilt, so the cache never serves numbers the processed tables would not give. Each
file is written to a temporary sibling and renamed (two notebooks opening at once both write whole files, the last
one stays); its SHA-256 is recorded in the entry's JSON, written last, and checked on every read: a truncated or
damaged file is recomputed, not read. A folder that cannot be written (read-only) is computed every time, without
error. The cache holds only what the processed folder holds (pseudonyms, departments, routes, legs, kgCO2e: no
employee numbers, e-mails or names), and it lives inside the year folder, so a purge of the year deletes it too.
It is separate from the report run's results cache (<processed>/.run-cache, helpers.publish.summary): that one
lives for one run and holds the full year results; this one holds the workbench's own tables across sessions.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from helpers import config

CACHE_DIR = ".derived"  # inside <processed>/<year>/
FORMAT = 1  # bump when what an entry holds changes shape
TABLES = ("persons", "legs")
STATUS = ("read", "written", "computed (folder not writable)")  # what YearTables.status says


@dataclass
class YearTables:
    """A year's workbench tables: persons (department as text), legs, the year's walking rule; where they came from."""

    persons: pd.DataFrame
    legs: pd.DataFrame
    walk_rule: str
    status: str = "computed"  # one of STATUS (or "computed" before the cache was tried)
    results: object = None  # summary.YearResults when computed now (None when read from the cache)


def year_tables(processed_dir: Path, year: int, main_mode_rule: str,
                compute: Callable[[], YearTables]) -> YearTables:
    """The cached tables of a year when their key matches, else compute() (stored when the folder is writable)."""
    folder = Path(processed_dir) / str(year) / CACHE_DIR
    key = entry_key(processed_dir, year, main_mode_rule)
    stem = f"workbench-{main_mode_rule}-{key}"
    cached = _read(folder, stem)
    if cached is not None:
        return cached
    tables = compute()
    # the processed year may have been replaced while we computed (a run re-ingesting it): store only when the
    # files we keyed on are still the ones there
    if entry_key(processed_dir, year, main_mode_rule) != key:
        return tables
    tables.status = STATUS[1] if _write(folder, stem, tables, main_mode_rule) else STATUS[2]
    return tables


def entry_key(processed_dir: Path, year: int, main_mode_rule: str) -> str:
    """The key of a year's entry: its processed files, the census year's, the reference files, the code (hex)."""
    year_dir = Path(processed_dir) / str(year)
    digest = hashlib.sha256(repr((FORMAT, main_mode_rule, code_version())).encode())
    folders = [year_dir]
    census = _census_year(year_dir)
    if census is not None and census != year:
        folders.append(Path(processed_dir) / str(census))
    for folder in folders:
        digest.update(f"\0{folder.name}\0".encode())
        _hash_files(digest, sorted(p for p in folder.iterdir() if p.is_file()), folder)
    digest.update(b"\0reference\0")
    reference = Path(config.REFERENCE)
    _hash_files(digest, sorted(p for p in reference.rglob("*") if p.is_file()), reference)
    return digest.hexdigest()[:32]


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 of the helpers package's sources and of the versions of pandas, numpy and pyarrow."""
    import numpy
    import pyarrow

    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(repr((pd.__version__, numpy.__version__, pyarrow.__version__)).encode())
    _hash_files(digest, sorted(package.rglob("*.py")), package)
    return digest.hexdigest()


def _hash_files(digest, paths: list[Path], root: Path) -> None:
    for path in paths:
        digest.update(f"\0{path.relative_to(root).as_posix()}\0".encode())
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())


def _census_year(year_dir: Path) -> int | None:
    """The census year a rolled-forward year is built from (its ingest report), else None."""
    try:
        report = json.loads((year_dir / "ingest_report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if report.get("estimate_basis") != "roll_forward":
        return None
    return int(report["census_year"])


def _read(folder: Path, stem: str) -> YearTables | None:
    """The entry when it is whole and every file has its recorded SHA-256; None otherwise (never raises)."""
    try:
        meta = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
        frames = {}
        for name in TABLES:
            data = (folder / f"{stem}.{name}.parquet").read_bytes()
            if hashlib.sha256(data).hexdigest() != meta["sha256"][name]:
                return None
            frames[name] = pd.read_parquet(io.BytesIO(data))
            if len(frames[name]) != meta["rows"][name]:
                return None
        return YearTables(frames["persons"], frames["legs"], meta["walk_rule"], STATUS[0])
    except Exception:  # noqa: BLE001  (missing, truncated, damaged, an older layout: all mean "compute it")
        return None


def _write(folder: Path, stem: str, tables: YearTables, main_mode_rule: str) -> bool:
    """Store an entry (tables first, the JSON that vouches for them last) and drop this rule's older entries;
    False when the folder cannot be written."""
    try:
        folder.mkdir(mode=0o700, exist_ok=True)  # personal data (pseudonymised), as the processed tables
        meta = {"format": FORMAT, "main_mode_rule": main_mode_rule, "walk_rule": tables.walk_rule,
                "sha256": {}, "rows": {}}
        for name in TABLES:
            frame = getattr(tables, name)
            buffer = io.BytesIO()
            frame.to_parquet(buffer, compression="lz4")
            data = buffer.getvalue()
            _write_private(folder / f"{stem}.{name}.parquet", data)
            meta["sha256"][name], meta["rows"][name] = hashlib.sha256(data).hexdigest(), len(frame)
        _write_private(folder / f"{stem}.json", json.dumps(meta, indent=1).encode("utf-8"))
    except OSError:
        return False
    for old in folder.glob(f"workbench-{main_mode_rule}-*"):  # entries of older tables, references or code
        if not old.name.startswith(stem + "."):
            try:
                old.unlink(missing_ok=True)
            except OSError:
                pass
    return True


def _write_private(path: Path, data: bytes) -> None:
    """Write bytes readable by the owner only, via a temporary sibling (.<name>.<random>.tmp) and a rename: a
    reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
