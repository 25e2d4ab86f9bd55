"""Checks before a run starts a kernel: everything the run needs is there, and no output can overwrite an input.

`check_run()` raises PreflightError (one line, for the person who typed the command) on the first problem; the
CLI turns it into exit code 2. It reads no survey row: it costs milliseconds, so a bad command fails at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers import config

MIN_CELL_FLOOR = 2  # a suppression threshold of 1 would show every count, i.e. no suppression at all


class PreflightError(ValueError):
    """The command, its folders or the year's inputs are not usable; nothing was run or written."""


def _overlap(a: Path, b: Path) -> bool:
    """True when a equals b, or one folder is inside the other (paths resolved, symlinks followed)."""
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def check_paths(raw_dir: Path, processed_dir: Path, out: Path, protected: dict[str, Path] | None = None) -> None:
    """Refuse folder combinations where writing one would replace or delete another.

    The report folder (--out) must not be, contain or lie inside the raw folder, the processed folder or the
    project's notebooks/reference data; the processed folder must not overlap the raw folder.
    """
    raw, processed, report = (Path(p).expanduser().resolve() for p in (raw_dir, processed_dir, out))
    pairs = [("--out", report, "--raw-dir", raw), ("--out", report, "--processed-dir", processed),
             ("--processed-dir", processed, "--raw-dir", raw)]
    for name, folder in (protected or {}).items():
        pairs += [("--out", report, name, Path(folder).resolve()),
                  ("--processed-dir", processed, name, Path(folder).resolve())]
    for a_name, a, b_name, b in pairs:
        if _overlap(a, b):
            how = "is" if a == b else "is inside" if a.is_relative_to(b) else "contains"
            raise PreflightError(f"{a_name} {a} {how} {b_name} {b}: a run replaces the folders it writes, so it "
                                 f"would destroy the other; choose separate folders (e.g. --out reports/<dataset>)")


def _writable_folder(path: Path, option: str) -> None:
    """The folder exists and is writable, or can be created (its nearest existing parent is writable)."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise PreflightError(f"{option} {path} is a file, not a folder")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise PreflightError(f"{option} {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PreflightError(f"{option} {path}: no permission to write in {probe} (read-only mount or owner?)")


def check_year_inputs(year: int, raw_dir: Path, reference_dir: Path | None = None) -> None:
    """The year's form mapping, factor set and raw files exist."""
    from helpers.inventory import factors
    from helpers.survey import ingest

    try:
        mapping = ingest.load_mapping(year, reference_dir)
    except FileNotFoundError as exc:
        raise PreflightError(str(exc)) from None
    try:
        factors.factor_set_year(year, reference_dir)
    except ValueError as exc:
        raise PreflightError(str(exc)) from None
    year_dir = Path(raw_dir) / str(year)
    if not year_dir.is_dir():
        raise PreflightError(f"{year_dir}: no raw folder for {year} (--raw-dir {raw_dir}); put the survey export "
                             f"and the attendance file there (see data/raw/README.md)")
    needed = [mapping.get("survey_file", "survey.csv"), mapping["attendance"]["file"]]
    needed += [mapping["roster"]["file"]] if "roster" in mapping else []
    missing = [name for name in dict.fromkeys(needed) if not (year_dir / name).is_file()]
    if missing:
        present = sorted(p.name for p in year_dir.iterdir())
        raise PreflightError(f"{year_dir}: missing {missing} (named in {mapping['_path']}); the folder has "
                             f"{present or 'no files'}")


def check_run(years: list[int], *, raw_dir: Path, processed_dir: Path, out: Path, min_cell: int, jobs: int,
              notebooks_dir: Path | None = None, base_year: int | None = None,
              shares: dict[str, float] | None = None, cell_timeout: float | None = None) -> bool:
    """Everything `python -m helpers run` needs, checked before the first notebook starts; True when the
    pseudonymisation key was created now (first use)."""
    if not years:
        raise PreflightError("no year given; e.g. --year 2025 (or ROC 114)")
    if int(min_cell) < MIN_CELL_FLOOR:
        raise PreflightError(f"--min-cell {min_cell}: small-cell suppression needs at least {MIN_CELL_FLOOR} "
                             "(1 would show every count); the default is 3")
    for option, value in (shares or {}).items():
        if not 0 <= float(value) <= 1:
            raise PreflightError(f"{option} {value}: give a share between 0 and 1")
    if int(jobs) < 1:
        raise PreflightError(f"--jobs {jobs}: give 1 or more")
    if cell_timeout is not None and not float(cell_timeout) >= 0:
        raise PreflightError(f"--cell-timeout {cell_timeout}: give seconds, 0 or more (0: no limit)")
    notebooks = Path(notebooks_dir or config.NOTEBOOKS)
    if not notebooks.is_dir() or not any(notebooks.glob("[0-9]*_*.ipynb")):
        raise PreflightError(f"--notebooks-dir {notebooks}: no NN_*.ipynb notebooks there")
    check_paths(raw_dir, processed_dir, out, protected={"the notebooks folder": notebooks,
                                                        "the reference data": config.REFERENCE})
    if not Path(raw_dir).is_dir():
        raise PreflightError(f"--raw-dir {raw_dir}: no such folder (it holds one <year>/ folder per survey year)")
    _writable_folder(out, "--out")
    _writable_folder(processed_dir, "--processed-dir")
    for year in years:
        check_year_inputs(year, raw_dir)
    return check_key(processed_dir)


def check_key(processed_dir: Path) -> bool:
    """The pseudonymisation key is the one the processed folder's years were made with; True when it was just
    created (first use: nothing processed yet). A missing key with processed data is an error, not a new key."""
    from helpers import privacy

    made_with = privacy.stored_fingerprints(processed_dir)
    try:
        key = privacy.load_key(create=not made_with)
    except FileNotFoundError:
        raise PreflightError(f"no pseudonymisation key at {privacy.key_file()} (nor ${privacy.KEY_ENV}), but "
                             f"{processed_dir} was made with the key of fingerprint {', '.join(made_with)}; supply "
                             f"that key: set {privacy.KEY_FILE_ENV} to its file; "
                             "see README, 'Scheduling the annual run'") from None
    except (OSError, ValueError) as exc:
        raise PreflightError(f"pseudonymisation key: {exc}") from None
    try:
        privacy.check_key(processed_dir, key)
    except privacy.KeyMismatchError as exc:
        raise PreflightError(str(exc)) from None
    return privacy.key_file_created
