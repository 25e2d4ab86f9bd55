"""Personal data: keyed pseudonyms for employee numbers (HMAC-SHA256), small-cell suppression, retention purge."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
import unicodedata
from pathlib import Path

import pandas as pd

KEY_ENV = "WORKBENCH_PSEUDONYM_KEY"  # the key itself (any string), e.g. from a secrets manager
KEY_FILE_ENV = "WORKBENCH_PSEUDONYM_KEY_FILE"  # or a path to a file holding it
DEFAULT_KEY_FILE = Path.home() / ".config" / "commute-workbench" / "pseudonym.key"
PSEUDONYM_HEX = 16  # 64 bits of the HMAC: collision-free for any staff size


def key_file() -> Path:
    """Where the pseudonymisation key file lives (outside the repository by default)."""
    return Path(os.environ.get(KEY_FILE_ENV, DEFAULT_KEY_FILE)).expanduser()


def load_key(create: bool = True) -> bytes:
    """The pseudonymisation key: $WORKBENCH_PSEUDONYM_KEY, else the key file, created on first use."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    path = key_file()
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if not key:
            raise ValueError(f"{path}: pseudonymisation key file is empty")
        return key.encode("ascii")
    if not create:
        raise FileNotFoundError(f"{path}: no pseudonymisation key; set {KEY_ENV} or create the file")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    print(
        f"note: created a new pseudonymisation key at {path} (mode 600). Keep it and back it up outside git: "
        f"pseudonyms stay stable across survey years only with the same key. "
        f"To use another, set {KEY_ENV} or {KEY_FILE_ENV}.",
        file=sys.stderr,
    )
    return key.encode("ascii")


def normalise_employee_no(values: pd.Series) -> pd.Series:
    """Canonical employee numbers: NFKC (full-width -> ASCII), trimmed, upper-case; blanks -> NA."""
    text = values.astype("string").map(lambda v: unicodedata.normalize("NFKC", v), na_action="ignore")
    text = text.str.strip().str.upper()
    return text.mask(text == "")


def pseudonymise(values: pd.Series, key: bytes | None = None) -> pd.Series:
    """Keyed pseudonyms (first 16 hex of HMAC-SHA256) of employee numbers; NA stays NA."""
    key = load_key() if key is None else key
    canon = normalise_employee_no(values)
    uniques = canon.dropna().unique()
    table = {v: hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX] for v in uniques}
    return canon.map(table, na_action="ignore").astype("string")


DESTRUCTION_LOG = "destruction_log.jsonl"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_destruction(log_dir: Path, what: str, reason: str, files: list[Path], subjects: list[str] | None = None,
                       when: str | None = None) -> dict:
    """Append a destruction record (what, when, by whom, why, file hashes) to <log_dir>/destruction_log.jsonl."""
    import datetime as dt
    import getpass
    import json

    record = {
        "when": when or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "by": os.environ.get("WORKBENCH_OPERATOR") or getpass.getuser(),
        "what": what,
        "reason": reason,
        "files": [{"path": str(f), "sha256": file_sha256(f)} for f in files if Path(f).exists()],
    }
    if subjects is not None:
        # the subjects themselves are not listed: a count and a digest suffice to verify later
        record["subjects"] = len(subjects)
        record["subjects_sha256"] = hashlib.sha256("\n".join(sorted(map(str, subjects))).encode()).hexdigest()
    log = Path(log_dir) / DESTRUCTION_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return record
