"""Run manifest: what a year's report was computed from, so the inventory can be verified and re-run (ISO 14064-1).

<out>/<year>/manifest.json records the SHA-256 of every raw input file of the year and of the reference files
used (survey mapping, emission factors, mode catalogue, answer synonyms, business-travel tables), the factor
set's year and version, the carry-over store read by route A, the processed tables written, the package
versions, the git commit (and whether the working tree had uncommitted changes) and the run parameters.
The same inputs give the same manifest apart from its single `generated_at` field.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import helpers
from helpers import config, privacy, reference
from helpers.inventory import factors
from helpers.schemas import atomic_write_bytes

MANIFEST_FILE = "manifest.json"
PACKAGES = ("pandas", "numpy", "pyarrow", "papermill", "nbconvert", "matplotlib", "seaborn", "openpyxl", "pyyaml")
# folders a run writes to: where the outputs go does not change them, so they are not recorded
OUTPUT_LOCATIONS = ("processed_dir", "out_dir")
REFERENCE_FILES = ("modes.yaml", "survey/synonyms.yaml")
REFERENCE_FOLDERS = ("business_travel",)


def _portable(path: Path) -> str:
    """A path relative to the repository when inside it (same on every checkout), else absolute."""
    path = Path(path).resolve()
    root = Path(config.ROOT).resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def _files_under(folder: Path) -> list[Path]:
    """The files under folder, without hidden ones or those in hidden folders (the workbench's .derived cache,
    a run's temporary files): what the run wrote, not what a researcher's session left there."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def reference_files(year: int, reference_dir: Path | None = None) -> list[Path]:
    """The reference files a year's run reads: its survey mapping, factor set, modes, synonyms, business travel."""
    ref = Path(reference_dir or config.REFERENCE)
    factor_file = ref / factors.FACTORS_SUBDIR / f"{factors.factor_set_year(year, ref)}.yaml"
    used = [ref / "survey" / f"{year}.yaml", factor_file]
    used += [ref / name for name in REFERENCE_FILES]
    for folder in REFERENCE_FOLDERS:
        used += _files_under(ref / folder)
    return [p for p in used if p.exists()]


def _key_fingerprint(year_dir: Path) -> str | None:
    try:
        return json.loads((year_dir / "ingest_report.json").read_text(encoding="utf-8")).get("key_fingerprint")
    except (OSError, ValueError):
        return None


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape the numbers and the reports, and Python's."""
    out: dict[str, str | None] = {"python": platform.python_version(), "commute-carbon-workbench": helpers.__version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path | None = None) -> dict:
    """Commit of the working tree and whether tracked files have uncommitted changes; nulls outside git."""
    root = Path(root or config.ROOT)

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def factor_set(year: int, reference_dir: Path | None = None) -> dict:
    """The emission-factor set an inventory year uses: its year, version and file."""
    ref = Path(reference_dir or config.REFERENCE)
    set_year = factors.factor_set_year(year, ref)
    path = ref / factors.FACTORS_SUBDIR / f"{set_year}.yaml"
    return {"year": set_year, "version": str(reference.load_yaml(path).get("version")),
            "file": path.relative_to(ref).as_posix()}


def build_manifest(year: int, raw_dir: Path, processed_dir: Path, params: dict,
                   reference_dir: Path | None = None) -> dict:
    """The manifest's content (without generated_at)."""
    raw_dir, processed_dir = Path(raw_dir), Path(processed_dir)
    ref = Path(reference_dir or config.REFERENCE)
    raw_year = raw_dir / str(year)
    parameters = {k: (_portable(v) if k == "raw_dir" else v) for k, v in sorted(params.items())
                  if k not in OUTPUT_LOCATIONS}
    return {
        "year": int(year),
        "roc_year": config.to_roc(year),
        "parameters": parameters,
        "inputs": privacy.describe_files(_files_under(raw_year), root=raw_dir),
        "reference": privacy.describe_files(reference_files(year, ref), root=ref),
        "factor_set": factor_set(year, ref),
        # route A reuses last year's answers from here (after route-D deletions)
        "carryover_read": privacy.describe_files(_files_under(processed_dir / "carryover" / str(year - 1)),
                                                 root=processed_dir),
        "processed": privacy.describe_files(_files_under(processed_dir / str(year)), root=processed_dir),
        # the pseudonymisation key the year was made with (an HMAC of a fixed label, never the key)
        "key_fingerprint": _key_fingerprint(processed_dir / str(year)),
        "packages": package_versions(),
        "git": git_state(),
    }


def write_manifest(year: int, raw_dir: Path, processed_dir: Path, out_dir: Path, params: dict | None = None) -> Path:
    """Write <out_dir>/manifest.json for a year's run; returns its path."""
    content = build_manifest(year, raw_dir, processed_dir, dict(params or {}))
    content = {"generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **content}
    path = Path(out_dir) / MANIFEST_FILE
    text = json.dumps(content, ensure_ascii=False, indent=2, default=str) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
    return path
