"""Personal data: keyed pseudonyms for employee numbers (HMAC-SHA256), small-cell suppression, retention purge.

Destruction records (route-D deletions from the carry-over store, retention purges) are appended to
data/destruction_log/<dataset>.jsonl, outside data/raw and data/processed, so neither a purge nor `make clean`
removes them. Terms of retention: data/reference/retention.yaml.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sys
import threading
import unicodedata
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from helpers import config, reference

KEY_ENV = "WORKBENCH_PSEUDONYM_KEY"  # the key itself (any string), e.g. from a secrets manager
KEY_FILE_ENV = "WORKBENCH_PSEUDONYM_KEY_FILE"  # or a path to a file holding it
DEFAULT_KEY_FILE = Path.home() / ".config" / "commute-workbench" / "pseudonym.key"
PSEUDONYM_HEX = 16  # 64 bits of the HMAC: collision-free for any staff size
FINGERPRINT_LABEL = b"commute-workbench pseudonymisation key fingerprint v1"  # HMAC'd with the key, never a number
KEY_FINGERPRINT_FILE = "key_fingerprint.txt"  # in each carry-over store: the key its pseudonyms were made with


class KeyMismatchError(ValueError):
    """The key in use is not the one the processed data were pseudonymised with: years would not link."""


def key_file() -> Path:
    """Where the pseudonymisation key file lives (outside the repository by default)."""
    return Path(os.environ.get(KEY_FILE_ENV, DEFAULT_KEY_FILE)).expanduser()


key_file_created = False  # set when load_key() created the key file in this process (a warning of the run)


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
    global key_file_created
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    key_file_created = True
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    print(
        f"note: created a new pseudonymisation key at {path} (mode 600). Keep it and back it up outside git: "
        f"pseudonyms stay stable across survey years only with the same key. "
        f"To use another, set {KEY_ENV} or {KEY_FILE_ENV}.",
        file=sys.stderr,
    )
    return key.encode("ascii")


def key_source() -> str:
    """Where load_key() takes the key from, for messages (never the key itself)."""
    if os.environ.get(KEY_ENV):
        return f"${KEY_ENV}"
    return f"key file {key_file()}" + ("" if KEY_FILE_ENV not in os.environ else f" (${KEY_FILE_ENV})")


def key_fingerprint(key: bytes) -> str:
    """16 hex digits identifying a key (HMAC of a fixed label): stored with processed data, reveals nothing."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def stored_fingerprints(processed_dir: Path) -> dict[str, list[str]]:
    """fingerprint -> the processed years / carry-over stores made with it, read from ingest reports and stores."""
    found: dict[str, list[str]] = {}
    processed_dir = Path(processed_dir)
    if not processed_dir.is_dir():
        return found
    for report in sorted(processed_dir.glob("[0-9]*/ingest_report.json")):
        try:
            fingerprint = json.loads(report.read_text(encoding="utf-8")).get("key_fingerprint")
        except (OSError, ValueError):
            continue
        if fingerprint:
            found.setdefault(fingerprint, []).append(report.parent.name)
    for store in sorted(processed_dir.glob(f"carryover/[0-9]*/{KEY_FINGERPRINT_FILE}")):
        fingerprint = store.read_text(encoding="ascii").strip()
        if fingerprint:
            found.setdefault(fingerprint, []).append(f"carryover/{store.parent.name}")
    return found


def check_key(processed_dir: Path, key: bytes) -> str:
    """The key's fingerprint, after checking it is the one every processed year of the folder was made with.

    Raises KeyMismatchError naming the expected fingerprint and how to supply that key: a run with another key
    would find no route-A respondent's last-year record and publish a wrong inventory.
    """
    mine = key_fingerprint(key)
    others = {fp: where for fp, where in stored_fingerprints(processed_dir).items() if fp != mine}
    if others:
        expected = ", ".join(f"{fp} (made {', '.join(where)})" for fp, where in others.items())
        raise KeyMismatchError(
            f"{processed_dir}: its data were pseudonymised with another key (fingerprint {expected}); the key in use, "
            f"from {key_source()}, has fingerprint {mine}. Supply the key those years were made with: set "
            f"{KEY_FILE_ENV} to its file (or {KEY_ENV}); see README, 'Scheduling the annual run'. If that key is "
            f"lost, earlier years cannot be linked: use a new --processed-dir")
    return mine


def nfkc_visible(texts: pd.Series) -> pd.Series:
    """Each text NFKC-normalised (full-width digits and letters to ASCII) without invisible characters (INVISIBLE).

    Pure-ASCII texts, most cells of an export, are already NFKC; of INVISIBLE only NUL is ASCII: they skip the
    per-text Python call (a tenth of the ingestion time at 10^5 staff)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = texts.astype("string")
    ascii_ = pd.Series(pc.string_is_ascii(pa.array(texts.array)).to_numpy(zero_copy_only=False), index=texts.index)
    ascii_ = ascii_.fillna(False).astype(bool)
    out = texts.copy()
    out[ascii_] = texts[ascii_].str.replace("\x00", "", regex=False)
    out[~ascii_] = texts[~ascii_].map(lambda v: unicodedata.normalize("NFKC", strip_invisible(v)), na_action="ignore")
    return out


def normalise_employee_no(values: pd.Series) -> pd.Series:
    """Canonical employee numbers: NFKC (full-width -> ASCII), trimmed, upper-case; blanks -> NA."""
    codes, uniques = pd.factorize(values.astype("string"))  # each distinct number is normalised once
    text = nfkc_visible(pd.Series(uniques, dtype="string"))
    text = text.str.strip().str.upper().str.replace(r"^(\d+)\.0$", r"\1", regex=True)  # 10037.0 from Excel
    text = text.mask(text == "")
    return pd.Series(text.array.take(codes, allow_fill=True), index=values.index, name=values.name)


# NUL, zero-width spaces and joiners, word joiner, soft hyphen, BOM and bidi controls: invisible in a spreadsheet,
# they would make "行政室\u200b" a second department or an employee number nobody can match
INVISIBLE = re.compile("[\x00\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def strip_invisible(text: str) -> str:
    """text without invisible characters (INVISIBLE)."""
    return INVISIBLE.sub("", text) if INVISIBLE.search(text) else text


_pseudonyms = threading.local()


@contextmanager
def remembering_pseudonyms():
    """Within this block each employee number is hashed once per key (survey, attendance and roster name the
    same people); the table is dropped when the outermost block ends."""
    if getattr(_pseudonyms, "tables", None) is not None:
        yield
        return
    _pseudonyms.tables = {}
    try:
        yield
    finally:
        _pseudonyms.tables = None


def pseudonymise(values: pd.Series, key: bytes | None = None) -> pd.Series:
    """Keyed pseudonyms (first 16 hex of HMAC-SHA256) of employee numbers; NA stays NA."""
    key = load_key() if key is None else key
    canon = normalise_employee_no(values)
    tables = getattr(_pseudonyms, "tables", None)
    table = tables.setdefault(key, {}) if tables is not None else {}
    keyed = hmac.new(key, digestmod=hashlib.sha256)  # the key's pads once; a copy per number
    for number in canon.dropna().unique():
        if number not in table:
            h = keyed.copy()
            h.update(number.encode("utf-8"))
            table[number] = h.hexdigest()[:PSEUDONYM_HEX]
    return canon.map(table, na_action="ignore").astype("string")


def report_sequence(ids: pd.Series, prefix: str) -> pd.Series:
    """Stand-ins for pseudonyms in a report table: '<prefix> 1', '<prefix> 2', ... in order of first appearance.

    A report never shows a pseudonym: the same keyed pseudonym would link a person's rows across tables, reports
    and years. The numbers are only meaningful within one table; NA stays NA.
    """
    codes, _ = pd.factorize(ids.astype("string"))
    return pd.Series([f"{prefix} {c + 1}" if c >= 0 else pd.NA for c in codes], index=ids.index, dtype="string")


PSEUDONYM_PATTERN = rf"[0-9a-f]{{{PSEUDONYM_HEX}}}"


def hide_pseudonyms(values: pd.Series, prefix: str = "填答者") -> pd.Series:
    """A report column with every pseudonym (16 hex digits) replaced by report_sequence(); other text unchanged."""
    text = values.astype("string")
    is_id = text.str.fullmatch(PSEUDONYM_PATTERN).fillna(False).astype(bool)
    return text.mask(is_id, report_sequence(text.where(is_id), prefix))


# ---------------------------------------------------------------- personal data typed into free text
MASK = "[已遮蔽]"  # replaces an identifying span; the rest of the text stays readable
NAME_HEADERS = ("姓名", "申請人", "申請人姓名")  # name columns of personnel files and expense exports
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# a run of digits with phone separators, kept when it holds 8-15 digits: 0912-345-678, (02)2345-6789, +886 ...
PHONE_PATTERN = re.compile(r"(?<![A-Za-z0-9])\+?\(?\d[\d\s\-()]{6,}\d(?![A-Za-z0-9])")
# employee-number shapes: 1-3 letters then 4-8 digits (T10037, E90001), not inside a longer code
EMPLOYEE_NO_PATTERN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,3}-?\d{4,8}(?![A-Za-z0-9])")
# street addresses: a road (路/街/大道, optional 段) with its numbers (巷/弄/號/樓), or a lane with numbers;
# city and district before the road stay readable
_ROAD = r"[^\W\d_A-Za-z市縣區鄉鎮村里]{1,8}(?:路|街|大道)(?:[一二三四五六七八九十\d]+段)?"
ADDRESS_PATTERN = re.compile(rf"{_ROAD}(?:\d+(?:之\d+)?[巷弄號樓])+|\d+巷(?:\d+(?:之\d+)?[弄號樓])*")
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class Masker:
    """Masks personal data in free text: e-mails, phone numbers, employee-number shapes, street addresses, and
    every employee number and name it is given (those present in the year's raw files)."""

    def __init__(self, identifiers=()):
        idents = {unicodedata.normalize("NFKC", str(v)).strip() for v in identifiers if v is not None}
        idents = {v for v in idents if v and v.lower() not in ("nan", "none")}
        self.codes = {v.upper() for v in idents if TOKEN_PATTERN.fullmatch(v)}
        names = {v for v in idents if not TOKEN_PATTERN.fullmatch(v) and "@" not in v and len(v) >= 2}
        # a colleague is also named by the given name: the last two characters of a three-character name
        names |= {v[1:] for v in names if len(v) == 3 and all("\u4e00" <= c <= "\u9fff" for c in v)}
        self.names = names
        self.name_lengths = sorted({len(v) for v in names}, reverse=True)
        self.emails = {v.lower() for v in idents if "@" in v}

    def mask_text(self, text: str) -> str:
        """One text with every identifying span replaced by MASK."""
        text = unicodedata.normalize("NFKC", text)
        text = EMAIL_PATTERN.sub(MASK, text)
        text = PHONE_PATTERN.sub(lambda m: MASK if 8 <= sum(c.isdigit() for c in m.group()) <= 15 else m.group(), text)
        text = ADDRESS_PATTERN.sub(MASK, text)
        text = EMPLOYEE_NO_PATTERN.sub(MASK, text)
        text = TOKEN_PATTERN.sub(lambda m: MASK if m.group().upper() in self.codes else m.group(), text)
        if self.names:
            text = self._mask_names(text)
        return text

    def _mask_names(self, text: str) -> str:
        out, i = [], 0
        while i < len(text):
            for length in self.name_lengths:
                if text[i:i + length] in self.names:
                    out.append(MASK)
                    i += length
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def mask(self, values: pd.Series) -> pd.Series:
        """A text column with personal data masked (each distinct text once); NA stays NA."""
        codes, uniques = pd.factorize(values.astype("string"))
        masked = pd.array([self.mask_text(str(v)) for v in uniques], dtype="string")
        return pd.Series(masked.take(codes, allow_fill=True), index=values.index, name=values.name)


def mask_personal(values: pd.Series, identifiers=()) -> pd.Series:
    """Free text with personal data replaced by MASK ("要接送小孩 [已遮蔽]"): see Masker."""
    return Masker(identifiers).mask(values)


# ---------------------------------------------------------------- small-cell suppression
SUPPRESSED_DERIVED = "—"  # a share, emission or other figure computed from a suppressed count


def suppress_small(data: pd.DataFrame | pd.Series, k: int = 3, count_cols: list[str] | None = None,
                   formats: dict[str, str] | None = None) -> pd.DataFrame | pd.Series:
    """Display-ready copy of a breakdown with every count under k shown as "<k" (e.g. "<3").

    A Series is a column of counts. In a DataFrame, `count_cols` are the counts (default: every numeric
    column); the other numeric columns are derived from them (shares, emissions, means), and in a row where
    any count is under k they show SUPPRESSED_DERIVED, so a small group's figures cannot be read from them
    either (text columns such as labels are left as they are).
    Counts become text ("12", "<3"); derived cells keep their numbers unless `formats` gives a format string
    per column (e.g. {"share": "{:.1%}"}). Zero counts are suppressed too. Blank (NA) counts stay blank.
    Totals over several cells are not suppressed here: show a total only where it cannot give a suppressed
    cell away (at least two cells suppressed, or none).
    """
    k = int(k)
    numeric = lambda s: pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)  # noqa: E731
    if k < 1:
        raise ValueError(f"k = {k}: the smallest cell shown must be at least 1")
    label = f"<{k}"
    if isinstance(data, pd.Series):
        return _suppress_counts(data, k, label)
    frame = data.copy()
    counts = list(count_cols) if count_cols is not None else [c for c in frame.columns if numeric(frame[c])]
    unknown = [c for c in counts if c not in frame.columns]
    if unknown:
        raise KeyError(f"suppress_small: count column(s) {unknown} not in the table (has {list(frame.columns)})")
    small = pd.Series(False, index=frame.index)
    for col in counts:
        values = pd.to_numeric(frame[col], errors="raise")
        small |= (values < k).fillna(False).astype(bool)
        frame[col] = _suppress_counts(values, k, label)
    derived = [c for c in frame.columns if c not in counts and numeric(frame[c])]
    for col in derived:
        shown = frame[col].astype(object)
        if formats and col in formats:
            shown = shown.map(lambda v, f=formats[col]: f.format(v) if pd.notna(v) else "")
        frame[col] = shown.where(~small, SUPPRESSED_DERIVED)
    return frame


SUPPRESSED_SECONDARY = "×"  # hidden, of any size, so that no small cell can be worked out from a published total
POOLED_LABEL = "其他單位（合併）"


def interval_given_total(lower: list[float], upper: list[float], total: float) -> list[tuple[float, float]]:
    """Feasible range of each hidden cell when the hidden cells add up to `total` and each lies in its bounds."""
    lo_sum, hi_sum = sum(lower), sum(upper)
    return [(max(lo, total - (hi_sum - hi)), min(hi, total - (lo_sum - lo))) for lo, hi in zip(lower, upper)]


def suppress_with_totals(counts: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Display copy of a table of counts whose row totals are published (on the page or in summary.json).

    Cells under k show "<k" (primary suppression), unless the row total would then give one of them away (a single
    hidden cell, or bounds that leave one value: "<3" cells adding up to 0 or to 2 x 2). Such a row hides its small
    cells and the next-smallest other cells as SUPPRESSED_SECONDARY (complementary suppression), a mark that says
    nothing about the size of the cell, until no hidden cell follows from the total (at least two hidden cells
    with a positive sum). A reader is assumed to know that "<k" is 0..k-1 and that every count is at least 0.
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"k = {k}: the smallest cell shown must be at least 1")
    values = counts.astype("int64")
    shown = values.astype(object).map(lambda v: f"{v:,d}")
    for r in range(len(values)):
        row = values.iloc[r].to_numpy()
        small = [j for j in range(len(row)) if row[j] < k]
        if not small:
            continue
        ranges = interval_given_total([0] * len(small), [k - 1] * len(small), float(row[small].sum()))
        if all(lo < hi for lo, hi in ranges):
            for j in small:
                shown.iat[r, j] = f"<{k}"
            continue
        hidden = set(small)
        visible = sorted((j for j in range(len(row)) if j not in hidden), key=lambda j: (row[j], j))
        while visible and (len(hidden) < 2 or row[sorted(hidden)].sum() == 0):
            hidden.add(visible.pop(0))
        for j in hidden:
            shown.iat[r, j] = SUPPRESSED_SECONDARY
    return shown


def pool_small_units(frame: pd.DataFrame, unit: str, count: str, k: int = 3, label: str = POOLED_LABEL) -> pd.DataFrame:
    """A breakdown by unit with every unit of fewer than k persons pooled into one row `label` (numeric columns
    summed), so that no small unit's figures can be worked out from the total: the pool holds at least two units
    and k persons (the next-smallest units join it when needed). Units of k or more keep their own rows."""
    k = int(k)
    ordered = frame.sort_values([count, unit], kind="stable")
    small = ordered[count] < k
    if not small.any() or len(frame) < 2:
        return frame.copy()
    n_pool = int(small.sum())
    while n_pool < len(ordered) and (n_pool < 2 or ordered[count].iloc[:n_pool].sum() < k):
        n_pool += 1
    pool, kept = ordered.iloc[:n_pool], frame.loc[frame.index.difference(ordered.index[:n_pool])]
    row = {c: (pool[c].sum() if pd.api.types.is_numeric_dtype(pool[c]) else pd.NA) for c in frame.columns}
    row[unit] = label
    return pd.concat([kept.loc[frame.index.intersection(kept.index)], pd.DataFrame([row])], ignore_index=True)


def pooling_note(k: int = 3, label: str = POOLED_LABEL) -> str:
    """The legend under a pooled breakdown (Traditional Chinese, with English)."""
    return (f"少於 {k} 人的單位合併為「{label}」（至少兩個單位、{k} 人以上），以免由合計反推個人。"
            f" Units of fewer than {k} persons are pooled into one row of at least two units and {k} persons.")


def _suppress_counts(values: pd.Series, k: int, label: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="raise")
    text = numbers.map(lambda v: "" if pd.isna(v) else f"{v:,.0f}" if float(v).is_integer() else f"{v:,}")
    return text.where(~(numbers < k).fillna(False).astype(bool), label).astype(object)


def suppression_note(k: int = 3) -> str:
    """The legend to print under a suppressed table (Traditional Chinese, with English)."""
    return (f"「<{k}」表示少於 {k} 人，不顯示實數；「{SUPPRESSED_DERIVED}」表示該列由少於 {k} 人計算而不顯示；"
            f"「{SUPPRESSED_SECONDARY}」表示為免由合計反推少於 {k} 人之值而一併隱藏（不表示大小）。"
            f" Cells of fewer than {k} persons are shown as <{k}; figures derived from them as {SUPPRESSED_DERIVED};"
            f" {SUPPRESSED_SECONDARY}: hidden too (any size), so that no small cell can be worked out from a total.")


# ---------------------------------------------------------------- destruction records
DESTRUCTION_LOG_DIR = "destruction_log"  # data/destruction_log/<dataset>.jsonl: outside raw/ and processed/


def destruction_log(data_dir: Path, dataset: str) -> Path:
    """A dataset's destruction log: <data_dir>/destruction_log/<dataset>.jsonl (never purged or cleaned)."""
    return Path(data_dir) / DESTRUCTION_LOG_DIR / f"{dataset}.jsonl"


def destruction_log_for(processed_dir: Path) -> Path:
    """The destruction log of a processed folder: data/processed/<dataset> -> data/destruction_log/<dataset>.jsonl.

    A processed folder outside that layout (e.g. a temporary one) gets its log beside it, as
    <parent>/destruction_log/<folder name>.jsonl, so deleting the processed folder never deletes the log.
    """
    processed_dir = Path(processed_dir).resolve()
    if processed_dir.parent.name == "processed":
        return destruction_log(processed_dir.parent.parent, processed_dir.name)
    return processed_dir.parent / DESTRUCTION_LOG_DIR / f"{processed_dir.name}.jsonl"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_files(paths: list[Path], root: Path | None = None) -> list[dict]:
    """path (relative to root when given), bytes and sha256 of each existing file, sorted by path."""
    out = []
    for path in sorted(Path(p) for p in paths):
        if not path.is_file():
            continue
        shown = path.relative_to(root).as_posix() if root is not None and path.is_relative_to(root) else str(path)
        out.append({"path": shown, "bytes": path.stat().st_size, "sha256": file_sha256(path)})
    return sorted(out, key=lambda f: f["path"])


def _operator() -> str:
    try:
        return os.environ.get("WORKBENCH_OPERATOR") or getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def record_destruction(log: Path, what: str, reason: str, files: list[Path] | list[dict],
                       subjects: list[str] | None = None, when: str | None = None, **extra) -> dict:
    """Append a destruction record (what, when, by whom, why, file hashes) to the jsonl log; returns it.

    `files` are paths (hashed now) or entries from describe_files() taken before the deletion. Subjects
    (pseudonyms) are not listed: their count and a digest suffice to verify a deletion later.
    """
    entries = [f for f in files if isinstance(f, dict)] + describe_files([f for f in files if not isinstance(f, dict)])
    record = {
        "when": when or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "by": _operator(),
        "what": what,
        "reason": reason,
        **extra,
        "files": entries,
    }
    if subjects is not None:
        record["subjects"] = len(subjects)
        record["subjects_sha256"] = hashlib.sha256("\n".join(sorted(map(str, subjects))).encode()).hexdigest()
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return record


def subject_digest(pseudonyms) -> list[str]:
    """One digest per person for the destruction log (sha256 of a fixed label and the pseudonym, 16 hex): lets a
    later re-ingest find and drop the same people again, without the log holding their pseudonyms."""
    return [hashlib.sha256(b"deleted:" + str(p).encode()).hexdigest()[:16] for p in pseudonyms]


def deleted_subjects(log: Path, store_year: int) -> set[str]:
    """Digests of everyone whose reusable answers the log says were deleted from the carry-over store of a year."""
    log = Path(log)
    if not log.exists():
        return set()
    out: set[str] = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("store_year") == int(store_year):
            out.update(record.get("subject_digests", []))
    return out


# ---------------------------------------------------------------- retention and purge
RETENTION_FILE = "retention.yaml"


def _date(value, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (29 Feb -> 28 Feb)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retention_path(data_dir: Path | None = None) -> Path:
    """data/reference/retention.yaml of the data folder, else the repository's."""
    local = Path(data_dir or config.DATA) / "reference" / RETENTION_FILE
    return local if local.exists() else config.REFERENCE / RETENTION_FILE


def retention(dataset: str, year: int, data_dir: Path | None = None) -> dict:
    """Retention terms of a dataset's survey year: project_end, retain_until, log_retention_years, source file."""
    path = retention_path(data_dir)
    conf = reference.load_yaml(path)
    retain_years = int(conf.get("retain_years_after_project_end", 1))
    log_years = int(conf.get("log_retention_years", 1))
    if log_years < 1:
        raise ValueError(f"{path}: log_retention_years = {log_years}; destruction records are kept at least 1 year")
    datasets = conf.get("datasets") or {}
    if dataset not in datasets:
        raise ValueError(f"{path}: no retention terms for dataset '{dataset}' (has {sorted(datasets)}); add them")
    years = (datasets[dataset] or {}).get("years") or {}
    terms = years.get(int(year), years.get(str(year)))
    if not terms or "project_end" not in terms:
        raise ValueError(f"{path}: dataset '{dataset}' has no project_end for {year} (years: {sorted(years)}); "
                         "add it")
    end = _date(terms["project_end"], f"{path}: datasets.{dataset}.years.{year}.project_end")
    return {"dataset": dataset, "year": int(year), "project_end": end, "retain_until": add_years(end, retain_years),
            "retain_years_after_project_end": retain_years, "log_retention_years": log_years, "source": path}


def purge_targets(data_dir: Path, dataset: str, year: int) -> list[Path]:
    """Folders holding a year's personal data: raw year, processed year (with business travel), carry-over store,
    and leftovers of interrupted runs."""
    raw, processed = Path(data_dir) / "raw" / dataset, Path(data_dir) / "processed" / dataset
    found = [raw / str(year), processed / str(year), processed / "carryover" / str(year)]
    found += sorted(processed.glob(f".{year}.tmp-*")) + sorted(processed.glob(f".{year}.old"))
    found += sorted((processed / "carryover").glob(f".{year}.old"))
    return [p for p in found if p.exists()]


def current_date() -> dt.date:
    """Today's date, the one a purge compares with the retention date (tests replace this function)."""
    return dt.date.today()


def purge(dataset: str, year: int, data_dir: Path, dry_run: bool = False, today: dt.date | None = None,
          out=None) -> dict | None:
    """Delete a year's raw and processed personal data past its retention date and log the destruction.

    Refuses (ValueError) on or before the retention date; `dry_run` lists what would go and deletes nothing.
    Returns the destruction record (None on a dry run or when nothing is left to delete).
    """
    out = out or sys.stdout
    data_dir = Path(data_dir).resolve()
    terms = retention(dataset, year, data_dir)
    today = today or current_date()
    log = destruction_log(data_dir, dataset)
    targets = purge_targets(data_dir, dataset, year)
    files = describe_files([f for t in targets for f in ([t] if t.is_file() else t.rglob("*"))], root=data_dir)
    print(f"{dataset} {year}: project ended {terms['project_end']}, data kept until {terms['retain_until']} "
          f"({terms['source']})", file=out)
    for entry in files:
        print(f"  {'would delete' if dry_run else 'delete'} {entry['path']} ({entry['bytes']} bytes, "
              f"sha256 {entry['sha256'][:12]}…)", file=out)
    allowed = today > terms["retain_until"]
    if not allowed:
        raise ValueError(f"{dataset} {year}: personal data must be kept until {terms['retain_until']} (project end "
                         f"{terms['project_end']} + {terms['retain_years_after_project_end']} year(s), "
                         f"{terms['source']}); today is {today}, purge refused")
    if not targets:
        print(f"{dataset} {year}: nothing left to delete (already purged? see {log})", file=out)
        return None
    if dry_run:
        print(f"dry run: {len(files)} file(s) in {len(targets)} folder(s) would be deleted; a record would be "
              f"appended to {log}", file=out)
        return None
    # the record goes first: a deletion must never happen unrecorded (its hashes were taken above)
    when = dt.datetime.now(dt.timezone.utc)
    record = record_destruction(
        log, what=f"dataset {dataset}, survey year {year}: raw and processed personal data "
                  f"({len(files)} files in {', '.join(t.relative_to(data_dir).as_posix() for t in targets)})",
        reason=f"retention: project ended {terms['project_end']}, kept until {terms['retain_until']}",
        files=files, when=when.isoformat(timespec="seconds"), dataset=dataset, year=int(year),
        record_kept_until=add_years(when.date(), terms["log_retention_years"]).isoformat())
    for target in targets:
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    left = [t.relative_to(data_dir).as_posix() for t in targets if t.exists()]
    if left:
        record_destruction(log, what=f"dataset {dataset}, survey year {year}: purge INCOMPLETE, still present: {left}",
                           reason="deletion failed; run the purge again", files=[], dataset=dataset, year=int(year))
        raise OSError(f"{dataset} {year}: could not delete {left}; recorded in {log}, run the purge again")
    print(f"deleted {len(files)} file(s); destruction record appended to {log}", file=out)
    return record


def purge_cli(args) -> int:
    """`python -m helpers purge --dataset D --year Y [--dry-run]`: 0 when done (or listed), 2 when refused."""
    year = config.to_gregorian(args.year)
    data_dir = getattr(args, "data_dir", None) or config.DATA
    purge(args.dataset, year, data_dir, dry_run=bool(args.dry_run))
    return 0
